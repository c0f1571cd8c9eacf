/* history: the record of a run, one JSON object per executed command, as
 * JSON lines (master --history FILE). bin/check reads it back.
 *
 * Fields (absent when they do not apply):
 *   line, text, cmd         script line number, the line, the command name
 *   start_us, end_us        monotonic microseconds
 *   ok, error               outcome; error holds the message of a failure
 *   client, server, a, b    ids involved (a, b: the two ids of a link command)
 *   key, value              bytes: a JSON string when valid UTF-8, else
 *                           {"hex": "..."}
 *   version                 put: the version assigned; get: the server's
 *                           version ([lamport, origin], null when none)
 *   dep_before, dep_after   the client's dependency on key around a put/get
 *   result                  get: "ok", "ERR_KEY" or "ERR_DEP"
 *   groups                  stabilize: connected groups of live servers
 *                           (paused ones left out)
 *   ms, jitter_ms, pct      delayLink, flakyLink, sleep: their numbers
 *   seed                    delayLink with jitter, flakyLink: the run's
 *                           seed (a decimal string; master --seed)
 *   store                   printStore: [[key, value, version], ...];
 *                           joinServer: what the server held when it
 *                           started, from before this run (a reused
 *                           --run-dir), when it held anything
 *
 * What happened outside the script (cluster_event) gets a record of its
 * own, with the line of the command before which, or during which, the
 * master noticed it (written after that command's record), empty text:
 *   cmd "died"   server or client: the id; cause: "killed by signal 9"
 *   cmd "lost"   machine, why; servers, clients: the ids that were running
 *                there, all dead since
 *   cmd "back"   machine, kept: a lost machine's watchdog answered again and
 *                the run was begun there again; kept: with its directory
 *
 * The last record has cmd "end" (with "exit", the master's exit status, and
 * "interrupted"); a history without it was cut short.
 *
 * A record is built from the parsed command (ids, key, value) and what
 * cluster_exec says it did (cluster_result), so the cluster knows nothing
 * of this format.
 */
#ifndef DKV_HISTORY_H
#define DKV_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "cluster.h"
#include "script.h"

typedef struct history history;

/* One script line as executed. */
typedef struct history_line {
    long number;
    const uint8_t *text; /* the line as read, without its newline */
    size_t len;
    const script_cmd *cmd;       /* as parsed (its name even when parsing failed) */
    const cluster_result *res;   /* NULL when the line did not parse */
    int64_t start_us, end_us;    /* monotonic */
    bool ok;
    const char *error;           /* when !ok */
} history_line;

/* Creates (truncates) path. NULL with err on failure; caller frees with
 * history_close. */
history *history_open(const char *path, dkv_err *err);
void history_close(history *h);

/* Appends the record of one line, flushed, so a crash leaves whole lines. */
int history_write_line(history *h, const history_line *l, dkv_err *err);
/* Appends the record of an event noticed at script line `line`. */
int history_write_event(history *h, long line, const cluster_event *e, dkv_err *err);
/* Appends the closing record: the line after the last (last_line + 1), the
 * master's exit status, and whether a signal stopped it. */
int history_write_end(history *h, long last_line, int exit_status, bool interrupted,
                      dkv_err *err);

#endif
