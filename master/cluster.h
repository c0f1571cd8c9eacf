/* cluster: executes script commands against the real processes: asks the
 * watchdog to start and kill servers and clients, tells servers which links
 * to make or cut, relays put/get through client processes, and runs
 * stabilize by polling server digests. */
#ifndef DKV_CLUSTER_H
#define DKV_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "../common/err.h"
#include "script.h"

typedef struct cluster_opts {
    const char *run_dir;     /* where servers keep their data */
    const char *bin_dir;     /* where the project's binaries are */
    const char *watchdog_host; /* where the local watchdog listens */
    int rpc_timeout_ms;      /* per call to a daemon */
    int stabilize_timeout_ms;
    bool sync;               /* fsync every write */
    bool owns_run_dir;
    bool valgrind_servers;   /* run servers under valgrind (checking aid) */
    bool count_frames;       /* keep servers' frame counters across kills (--stats) */       /* the watchdog removes run_dir if the master dies */
} cluster_opts;

typedef struct cluster cluster;

/* Starts the local watchdog (which dies with this process). NULL with err on
 * failure; caller frees with cluster_free, which ends every process. */
cluster *cluster_new(const cluster_opts *opts, dkv_err *err);
void cluster_free(cluster *c);

/* Executes one parsed command, printing results (printStore, get) on out.
 * When rec is not NULL, the command's details are added to it (fields in
 * history.h). -1 with err when it cannot be carried out. */
int cluster_exec(cluster *c, const script_cmd *cmd, FILE *out, json_t *rec, dkv_err *err);
/* The outcome of the latest get ("ok", "ERR_KEY" or "ERR_DEP"); NULL when
 * the latest command was not a successful get. */
const char *cluster_last_get_status(const cluster *c);

/* Frames sent by type, summed over every server of the run (killed ones
 * included, as of their last stats call). */
typedef struct cluster_frames {
    int64_t hello, upd, ack, lsa, updates_sent;
} cluster_frames;
void cluster_frames_total(cluster *c, cluster_frames *out);

#endif
