/* stats: the summary `master --stats` prints on stderr at EOF: commands per
 * second, latency percentiles per command kind, stabilize durations,
 * replication frames per put and the ERR_DEP rate. */
#ifndef DKV_STATS_H
#define DKV_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cluster.h"
#include "script.h"

typedef struct stats stats;

/* Caller frees with stats_free. */
stats *stats_new(void);
void stats_free(stats *s);
/* One executed command; get_result is "ok"/"ERR_KEY"/"ERR_DEP" for gets. */
void stats_add(stats *s, script_kind kind, int64_t dur_us, bool ok, const char *get_result);
void stats_print(stats *s, FILE *f, int64_t wall_us, const cluster_frames *frames);

#endif
