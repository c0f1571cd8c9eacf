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
#include "config.h"
#include "script.h"

typedef struct cluster_opts {
    const char *run_dir;     /* local: where servers keep their data */
    const char *bin_dir;     /* local: where the project's binaries are */
    const char *watchdog_host; /* local: where the local watchdog listens */
    /* --config: the machines, each with a standing watchdog, and where ids
     * run (config_place); NULL: one local watchdog, started here. */
    config *cfg;
    bool keep;               /* --config: every watchdog keeps the run's directory */
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
    /* The run goes on after a cancelled command (the master's prompt):
     * calls to the watchdogs are then not given up (they are short and
     * bounded), since a dropped control connection ends the run. */
    bool cancel_spares_control;
    /* The cluster secret's file (every daemon proves it); NULL: a fresh
     * one is made as RUN_DIR/secret, mode 0600, for this run alone. */
    const char *secret_file;
    /* Servers log every peer frame (--trace, server --trace). */
    bool trace;
    /* Where showServer prints (--show FILE); NULL: stderr. */
    FILE *show;
    /* --seed: the faults' randomness (flakyLink, delayLink's jitter); when
     * not given, a random seed, printed on stderr when first used. */
    uint64_t seed;
    bool seed_given;
} cluster_opts;

typedef struct cluster cluster;

/* Starts the local watchdog (which dies with this process), or, with a
 * config, connects to every machine's watchdog; either way begins the run
 * on each (run_begin), so that an unreachable watchdog or a refused run is
 * reported before any command runs. NULL with err (naming the machine) on
 * failure; caller frees with cluster_free, which ends the run everywhere. */
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
    /* delayLink, flakyLink: the run's seed, which their randomness derives
     * from (the history records it, so a run can be repeated). */
    bool has_seed;
    uint64_t seed;
} cluster_result;

/* Frees what res holds and zeroes it (a zeroed res holds nothing). */
void cluster_result_clear(cluster_result *res);

/* Executes one parsed command, printing results (printStore, get) on out,
 * and describes what it did in res (cleared first). -1 with err when it
 * cannot be carried out; res then says how far it got. */
int cluster_exec(cluster *c, const script_cmd *cmd, FILE *out, cluster_result *res,
                 dkv_err *err);

/* What happened outside the script, noticed by the master: a process that
 * died other than by killServer (its watchdog reaped it), or a machine
 * whose watchdog's control connection closed or stopped answering
 * keepalive (every process placed there is then dead). The model already
 * treats them so: a died server as killed, a died client as gone (the next
 * joinClient starts it again, with a fresh session), the ids of a lost
 * machine likewise, and commands for them fail naming the machine. A lost
 * machine is tried again when a command needs it (back). */
typedef enum cluster_event_kind {
    CLUSTER_EV_DIED,
    CLUSTER_EV_LOST,
    CLUSTER_EV_BACK, /* a lost machine answered again, and the run was begun there again */
} cluster_event_kind;
typedef struct cluster_event {
    cluster_event_kind kind;
    int64_t at_us;            /* monotonic, when the master noticed */
    char machine[320];        /* "machine m2 (10.0.0.2:7401)" */
    /* died: */
    bool server;              /* a server, else a client */
    uint64_t id;
    char cause[128];          /* "killed by signal 9 (Killed)", "exited with status 1" */
    /* lost: why, and the servers and clients that were running there */
    char why[DKV_ERR_MAX];
    uint64_t *servers, *clients;
    size_t n_servers, n_clients;
    /* back: the run's directory was still there (its servers rejoin with
     * their data; otherwise those servers cannot rejoin) */
    bool kept;
} cluster_event;

/* Reads, without waiting, what the watchdogs reported and whether their
 * connections are alive, and applies it (the master calls it before each
 * command; commands call it too, so stabilize stops waiting for a server
 * that died meanwhile). */
void cluster_poll(cluster *c);
/* The events noticed since cluster_events_clear, oldest first. */
size_t cluster_events(const cluster *c, const cluster_event **events);
void cluster_events_clear(cluster *c);

/* Frames sent by type, summed over every server of the run (killed ones
 * included, as of their last stats call). */
typedef struct cluster_frames {
    int64_t hello, upd, ack, lsa, ping, updates_sent;
} cluster_frames;
void cluster_frames_total(cluster *c, cluster_frames *out);

#endif
