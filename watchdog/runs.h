/* runs: the runs a watchdog serves, each with its own directory, its own
 * processes (procs.h) and its own run id, so that two masters can use one
 * standing watchdog at once without seeing each other's processes.
 *
 * Two layouts:
 * - standing (a data directory): run ID lives in DATA/run-ID, made by
 *   runs_begin and removed when the run ends unless it asked to be kept;
 *   directories left by a watchdog that crashed wait a grace period for
 *   their master to begin the run again (it finds its servers' data),
 *   then are removed;
 * - local (the master's own watchdog, a run directory): one run, in that
 *   directory, which exists from the start (tools may call start without
 *   run_begin) and which the master removes itself.
 * The cap on processes (--max-procs) counts the processes of every run. */
#ifndef DKV_RUNS_H
#define DKV_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/err.h"
#include "procs.h"

typedef struct runs_config {
    const char *bin_dir;    /* the project's binaries */
    const char *data_dir;   /* standing: runs in DATA/run-ID (NULL: local) */
    const char *run_dir;    /* local: the one run's directory */
    const char *run_id;     /* local: its id ("" when none was given) */
    const char *secret_file; /* the cluster's, handed to every child by path */
    const char *child_host; /* where children listen */
    size_t max_procs;
    bool valgrind;          /* every run's servers under valgrind */
    int start_timeout_ms;
    int64_t orphan_grace_us; /* standing: how long a crashed watchdog's run waits */
} runs_config;

typedef struct runs runs;
typedef struct run run;

/* Caller frees with runs_free, which ends every run. Standing: data_dir
 * is made (0700) when missing, and run directories left there by a
 * crashed watchdog are adopted as orphans. NULL with err when data_dir is
 * unusable. */
runs *runs_new(const runs_config *cfg, int64_t now_us, dkv_err *err);
void runs_free(runs *rs);

/* Options of a run (run_begin). */
typedef struct runs_opts {
    bool sync, keep, valgrind, trace;
} runs_opts;

/* Begins run id (hex digits, checked by the contract), or takes up the
 * local run or an orphan of that id (*resumed: its directory was there).
 * Fails when the run is in progress already (owned). */
run *runs_begin(runs *rs, const char *id, const runs_opts *o, bool *resumed, dkv_err *err);
/* The local run (NULL when standing). */
run *runs_local(runs *rs);
/* Ends r: SIGTERM then SIGKILL to its processes; its directory is removed
 * unless it was kept or is the local run (which the master removes).
 * Writes one line to log (NULL: none) saying why. r is freed unless it is
 * the local run, which stays (unowned) for the next master. */
void runs_end(runs *rs, run *r, const char *why, bool log);

/* Who the run is bound to (the control connection), NULL when nobody. */
void run_set_owner(run *r, void *owner);
void *run_owner(const run *r);
const char *run_id(const run *r);
const char *run_dir(const run *r);
bool run_sync(const run *r);

/* Starts or kills a process of r (procs_start, procs_kill), within the
 * cap of processes counted over every run. */
int run_start(runs *rs, run *r, procs_kind kind, uint64_t id, bool sync, bool rejoin,
              uint16_t *port, pid_t *pid, dkv_err *err);
int run_kill(run *r, uint64_t id, dkv_err *err);
int run_pause(run *r, uint64_t id, bool paused, dkv_err *err);

/* pid was reaped (waitpid status): the run it belonged to, with *d, or
 * NULL when it was no run's. */
run *runs_reaped(runs *rs, pid_t pid, int status, procs_death *d);
/* Removes orphans whose grace period is over. */
void runs_tick(runs *rs, int64_t now_us);
size_t runs_count(const runs *rs);

#endif
