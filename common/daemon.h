/* daemon: start-up and shutdown helpers shared by the server, client and
 * watchdog processes. */
#ifndef DKV_DAEMON_H
#define DKV_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* Installs handler for SIGINT and SIGTERM (without SA_RESTART, so blocking
 * calls return EINTR) and ignores SIGPIPE. */
void daemon_install_signals(void (*handler)(int));

/* Tells the parent, over the pipe fd it passed, that we are ready to serve
 * on port: writes "port\n" and closes fd. fd < 0 prints the port on stdout.
 * A failed write is logged on stderr (the parent then sees no port). */
void daemon_report_ready(int fd, uint16_t port);

/* Tells the parent, over the same pipe, why we cannot start: writes
 * "error WHY\n" and closes fd (nothing when fd < 0). daemon_await_ready
 * then fails with WHY as its message. */
void daemon_report_failure(int fd, const char *why);

/* Starts argv[0] (a path, or a name looked up in PATH) as a child whose
 * fd 3 is a pipe for daemon_report_ready and whose stdout goes to our
 * stderr (stdout is for results only). With death_signal, the child gets
 * it when we die. With ignore_sigint, a terminal's ^C reaches only us (the
 * child ignores SIGINT and leads a process group of its own).
 * Returns the pid and sets *ready_fd (for daemon_await_ready), or -1. */
pid_t daemon_spawn(const char *const argv[], int death_signal, bool ignore_sigint,
                   int *ready_fd, dkv_err *err);

/* daemon_spawn, but the child's stderr (and stdout) go to log_fd (its log
 * file) when log_fd >= 0. */
pid_t daemon_spawn_logged(const char *const argv[], int death_signal, bool ignore_sigint,
                          int log_fd, int *ready_fd, dkv_err *err);

/* Removes path and everything below it, as far as possible; what cannot
 * be removed is named on stderr. */
void daemon_remove_tree(const char *path);

/* Reads the "port\n" line a child writes with daemon_report_ready, waiting
 * at most timeout_ms. Closes fd. */
int daemon_await_ready(int fd, int timeout_ms, uint16_t *port, dkv_err *err);

#endif
