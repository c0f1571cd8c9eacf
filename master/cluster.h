/* cluster: executes script commands against the real processes: asks the
 * watchdog to start and kill servers and clients, tells servers which links
 * to make or cut, relays put/get through client processes, and runs
 * stabilize by polling server digests. */
#ifndef DKV_CLUSTER_H
#define DKV_CLUSTER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/err.h"
#include "../common/version.h"
#include "script.h"

typedef struct cluster_opts {
    const char *run_dir;     /* where servers keep their data */
    const char *bin_dir;     /* where the project's binaries are */
    const char *watchdog_host; /* where the local watchdog listens */
    int rpc_timeout_ms;      /* per call to a daemon */
    int stabilize_timeout_ms;
    bool sync;               /* fsync every write */
    bool owns_run_dir;       /* the watchdog removes run_dir if the master dies */
    bool valgrind_servers;   /* run servers under valgrind (checking aid) */
    bool count_frames;       /* keep servers' frame counters across kills (--stats) */
    /* Read a server's store when it first joins in this run (--history:
     * a reused run directory's data; see cluster_result.has_store). */
    bool record_initial_stores;
    /* Set by the master's signal handler: calls and waits give up. NULL:
     * never. */
    const volatile sig_atomic_t *cancel;
    /* The cluster secret's file (every daemon proves it); NULL: a fresh
     * one is made as RUN_DIR/secret, mode 0600, for this run alone. */
    const char *secret_file;
} cluster_opts;

typedef struct cluster cluster;

/* Starts the local watchdog (which dies with this process). NULL with err on
 * failure; caller frees with cluster_free, which ends every process. */
cluster *cluster_new(const cluster_opts *opts, dkv_err *err);
void cluster_free(cluster *c);

/* One key of a printStore, with the version its server holds. */
typedef struct cluster_entry {
    uint8_t *key, *value;
    size_t key_len, value_len;
    dkv_version version;
} cluster_entry;

/* What a command did, beyond what the command itself says (its ids, key
 * and value), as far as it got: what the history records (history.h) and
 * --stats counts. Filled by cluster_exec; fields that do not apply stay
 * zero. */
typedef struct cluster_result {
    /* put, get: the server the client used (its answer, else the model's
     * view), known once the client was found attached. */
    bool has_server;
    uint64_t server;
    /* put, get: the client answered; then the version (put: assigned; get:
     * the server's, none when it has none) and the client's dependency on
     * the key before and after (none: none). */
    bool has_reply;
    dkv_version version, dep_before, dep_after;
    /* get: "ok", "ERR_KEY" or "ERR_DEP", and with "ok" the value, which
     * points into the cluster's reply buffer until the next cluster_exec. */
    const char *get_status;
    const uint8_t *value;
    size_t value_len;
    /* stabilize: the live servers (ascending) and the connected group of
     * each (0-based, groups numbered by lowest member). */
    uint64_t *servers;
    size_t *group_of;
    size_t n_servers, n_groups;
    /* printStore, when it succeeded: the store, sorted by key. joinServer
     * with record_initial_stores, the first in this run: what the server
     * held when it started, when it held anything. */
    bool has_store;
    cluster_entry *entries;
    size_t n_entries, cap_entries;
} cluster_result;

/* Frees what res holds and zeroes it (a zeroed res holds nothing). */
void cluster_result_clear(cluster_result *res);

/* Executes one parsed command, printing results (printStore, get) on out,
 * and describes what it did in res (cleared first). -1 with err when it
 * cannot be carried out; res then says how far it got. */
int cluster_exec(cluster *c, const script_cmd *cmd, FILE *out, cluster_result *res,
                 dkv_err *err);

/* Frames sent by type, summed over every server of the run (killed ones
 * included, as of their last stats call). */
typedef struct cluster_frames {
    int64_t hello, upd, ack, lsa, updates_sent;
} cluster_frames;
void cluster_frames_total(cluster *c, cluster_frames *out);

#endif
