/* pidfile: records of the processes of a run, RUN_DIR/pids/NAME.pid holding
 * "PID STARTTIME" (STARTTIME from /proc/PID/stat), so scripts/cleanup can
 * end them later by pid without ever hitting a reused pid; and the one
 * reader of /proc/PID/stat in C, which gives that start time. */
#ifndef DKV_PIDFILE_H
#define DKV_PIDFILE_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

/* What the C code reads of /proc/PID/stat. */
typedef struct pidfile_stat {
    char state;                 /* field 3: R, S, D, Z (zombie), X (dead), ... */
    unsigned long long utime;   /* field 14, clock ticks */
    unsigned long long stime;   /* field 15, clock ticks */
    unsigned long long started; /* field 22: start time, clock ticks since boot */
} pidfile_stat;

/* 0, or -1 with err when pid is gone or its stat cannot be parsed. */
int pidfile_read_stat(pid_t pid, pidfile_stat *out, dkv_err *err);

/* Writes RUN_DIR/pids/NAME.pid for pid. -1 with err when it cannot: the
 * caller logs it, since scripts/cleanup would then not find the process. */
int pidfile_record(const char *run_dir, const char *name, pid_t pid, dkv_err *err);
/* Removes the record; one already gone is no failure. */
int pidfile_remove(const char *run_dir, const char *name, dkv_err *err);

#endif
