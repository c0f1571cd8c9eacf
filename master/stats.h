/* stats: the summary `master --stats` prints on stderr at EOF, and the same
 * figures as JSON (`master --out DIR` writes DIR/stats.json): commands per
 * second, latency percentiles per command kind, stabilize durations,
 * replication frames per put and the ERR_DEP rate.
 *
 * Latencies are those of successful commands only: a failed command may
 * have given up at once (a dead server) or after a timeout, and neither
 * says how long the command takes. Failures are counted apart, per kind.
 * "Messages per put" counts replication frames only (upd, ack); join and
 * link-state frames (hello, lsa, ping) are reported apart, since they
 * depend on the topology's changes rather than on the puts. */
#ifndef DKV_STATS_H
#define DKV_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/err.h"
#include "cluster.h"
#include "script.h"

typedef struct stats stats;

/* Caller frees with stats_free. */
stats *stats_new(void);
void stats_free(stats *s);
/* One executed command; get_result is "ok"/"ERR_KEY"/"ERR_DEP" for gets. */
void stats_add(stats *s, script_kind kind, int64_t dur_us, bool ok, const char *get_result);
/* The summary as text lines ("stats: ..."); frames NULL when unknown. */
void stats_print(stats *s, FILE *f, int64_t wall_us, const cluster_frames *frames);
/* The same figures as one JSON object. -1 with err when f fails. */
int stats_write_json(stats *s, FILE *f, int64_t wall_us, const cluster_frames *frames,
                     dkv_err *err);

#endif
