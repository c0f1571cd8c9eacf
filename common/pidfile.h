/* pidfile: records of the processes of a run, RUN_DIR/pids/NAME.pid holding
 * "PID STARTTIME" (STARTTIME from /proc/PID/stat), so scripts/cleanup can
 * end them later by pid without ever hitting a reused pid. */
#ifndef DKV_PIDFILE_H
#define DKV_PIDFILE_H

#include <sys/types.h>

#include "err.h"

int pidfile_record(const char *run_dir, const char *name, pid_t pid, dkv_err *err);
void pidfile_remove(const char *run_dir, const char *name);

#endif
