/* procs: starting, killing and recording the processes a watchdog owns.
 * Only the project's own binaries are started, from the directory of the
 * running executable, with argument vectors built here: never a command
 * string received from outside. Every process is recorded as
 * RUN_DIR/pids/NAME.pid ("PID STARTTIME") so scripts/cleanup can end it
 * later by pid, checking the start time so a reused pid is never hit. */
#ifndef DKV_PROCS_H
#define DKV_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/err.h"

typedef enum procs_kind { PROCS_SERVER, PROCS_CLIENT } procs_kind;

typedef struct procs procs;

/* bin_dir holds the project's binaries; run_dir is where pid records and
 * server data directories live; child_host is the address children listen
 * on. Caller frees with procs_free (which kills every child). */
procs *procs_new(const char *bin_dir, const char *run_dir, const char *child_host);
void procs_free(procs *p);

/* How many processes may run at once when procs_set_max is not called. */
#define PROCS_DEFAULT_MAX 256

/* How to start one process. rejoin (servers): it held data before in this
 * run, so a missing store is damage (server --rejoin). */
typedef struct procs_start_opts {
    bool sync;
    bool rejoin;
    int timeout_ms;
} procs_start_opts;

/* Starts server or client id and waits until it listens; *port is its port.
 * SIGCHLD is blocked meanwhile, so that another child's death cannot cut
 * the wait short.
 * Fails if that id is already running, with the server's own reason when
 * it refuses to start, or when the cap (procs_set_max) of processes
 * running at once is reached: then nothing is started. */
int procs_start(procs *p, procs_kind kind, uint64_t id, const procs_start_opts *o,
                uint16_t *port, pid_t *pid, dkv_err *err);
/* SIGKILLs id and waits until it is gone. */
int procs_kill(procs *p, uint64_t id, dkv_err *err);
/* SIGSTOPs (paused) or SIGCONTs server id: it keeps its sockets and state
 * but runs no code, as a process that hangs or a machine that stalls. Not
 * for clients. */
int procs_pause(procs *p, uint64_t id, bool paused, dkv_err *err);
/* A process of p that ended other than by procs_kill. */
typedef struct procs_death {
    procs_kind kind;
    uint64_t id;
    pid_t pid;
    int code;   /* exit code, -1 when a signal ended it */
    int signal; /* 0 when it exited */
} procs_death;
/* The watchdog reaped pid (waitpid status): true, with *d filled and the
 * process forgotten, when it was one of p's; false otherwise. The watchdog
 * reaps with waitpid(-1) and asks each run in turn. */
bool procs_reaped(procs *p, pid_t pid, int status, procs_death *d);
/* "killed by signal 9 (Killed)", "exited with status 1" */
void procs_death_text(const procs_death *d, char *out, size_t cap);
void procs_kill_all(procs *p);
/* The address children listen on, for whoever must reach them. */
const char *procs_child_host(const procs *p);
/* Caps the processes running at once (servers and clients together), so a
 * script that joins a million ids cannot exhaust the machine. max >= 1. */
void procs_set_max(procs *p, size_t max);
/* How many processes run now. */
size_t procs_count(const procs *p);
/* Runs servers under valgrind (memcheck), for checking them; debugging aid. */
void procs_set_valgrind(procs *p, bool on);
/* Servers started from now on log every peer frame (server --trace). */
void procs_set_trace(procs *p, bool on);
/* Each process's stderr is its log, RUN_DIR/server-ID.log or
 * RUN_DIR/client-ID.log (appended to across restarts); when a process
 * ends, a sanitizer's or valgrind's report in it is copied to the
 * watchdog's stderr. The path of one, into out. */
void procs_log_path(const procs *p, procs_kind kind, uint64_t id, char *out, size_t cap);
/* The run every server started from now on belongs to (server --run-id). */
void procs_set_run_id(procs *p, const char *run_id);
/* The cluster secret's file, which every process started from now on
 * proves its connections with (--secret-file; a path, never the secret). */
void procs_set_secret_file(procs *p, const char *path);

#endif
