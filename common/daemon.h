/* daemon: start-up and shutdown helpers shared by the server, client and
 * watchdog processes. */
#ifndef DKV_DAEMON_H
#define DKV_DAEMON_H

#include <stdint.h>

#include "err.h"

/* Installs handler for SIGINT and SIGTERM (without SA_RESTART, so blocking
 * calls return EINTR) and ignores SIGPIPE. */
void daemon_install_signals(void (*handler)(int));

/* Tells the parent, over the pipe fd it passed, that we are ready to serve
 * on port: writes "port\n" and closes fd. fd < 0 prints the port on stdout. */
void daemon_report_ready(int fd, uint16_t port);

/* Reads the "port\n" line a child writes with daemon_report_ready, waiting
 * at most timeout_ms. Closes fd. */
int daemon_await_ready(int fd, int timeout_ms, uint16_t *port, dkv_err *err);

#endif
