/* results: the folder `master --out DIR` fills with everything needed to
 * understand a run:
 *   script.txt     the lines read, as read
 *   stdout.txt     what the master printed on stdout (still printed there)
 *   stderr.txt     what the master and its watchdog printed on stderr
 *                  (still printed there)
 *   history.jsonl  the history (master --history)
 *   check.txt      bin/check's paragraphs, summary and verdict line
 *   check.json     the same verdict for programs (bin/check --json)
 *   stats.json     the figures of --stats
 *   servers/       the servers' log files (RUN_DIR/NAME.log), when they write any
 *   index.html, latency.svg, throughput.svg   drawn by bin/report
 *
 * stdout is teed through a stream that writes to the real stdout first, so
 * a failed write is seen by the master's flush as before; stderr is teed at
 * the descriptor, through a pipe and a thread, so the watchdog's messages
 * (a child writing to the inherited descriptor) are caught too. */
#ifndef DKV_RESULTS_H
#define DKV_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "stats.h"

typedef struct results results;

/* Makes dir when missing (it must then be a writable directory), opens its
 * files and starts both tees. NULL with err (nothing started); caller ends
 * it with results_finish and frees it with results_free. */
results *results_open(const char *dir, dkv_err *err);
void results_free(results *r);

/* DIR/history.jsonl: where the master writes the history when --history
 * names no other file. */
const char *results_history_path(const results *r);
/* One line of the script, as read (without its newline). */
void results_script_line(results *r, const char *line, size_t len);
/* Waits (1 ms steps, 200 ms at most) until what the master wrote on
 * stderr has reached the terminal, so that a prompt or the next result
 * comes after it. Nothing without --out (r NULL). */
void results_sync_stderr(results *r);
/* stats.json. -1 with err. */
int results_write_stats(results *r, stats *st, int64_t wall_us, const cluster_frames *frames,
                        dkv_err *err);
/* Copies the *.log files of run_dir into DIR/servers/ (before the run
 * directory is removed). -1 with err naming the first that failed. */
int results_collect_logs(results *r, const char *run_dir, dkv_err *err);
/* Ends the tees (stdout and stderr go only to the terminal again), copies
 * the history from history_path when it is another file, runs bin/check
 * and bin/report (found beside this program) on it. -1 with err when a
 * part of the folder could not be written. */
int results_finish(results *r, const char *history_path, dkv_err *err);

#endif
