/* net: TCP sockets. Every socket gets TCP_NODELAY: small request/response
 * frames would otherwise stall on Nagle's algorithm. Addresses always come
 * from the caller (arguments or configuration), never from a default. */
#ifndef DKV_NET_H
#define DKV_NET_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "wire.h"

/* Monotonic clock. */
int64_t net_now_us(void);

/* Listens on host:port (port 0 picks a free one; the port chosen is stored
 * in *bound_port). Returns a non-blocking fd or -1. */
int net_listen(const char *host, uint16_t port, uint16_t *bound_port, dkv_err *err);

/* Starts a non-blocking connect; the fd becomes writable when done (check
 * with net_connect_result). Returns the fd or -1. */
int net_connect_start(const char *host, uint16_t port, dkv_err *err);
/* 0 when the connect finished successfully, -1 with err otherwise. */
int net_connect_result(int fd, dkv_err *err);

/* Connects, waiting at most timeout_ms. Returns a blocking fd or -1. */
int net_connect(const char *host, uint16_t port, int timeout_ms, dkv_err *err);

/* 0, or -1 with err. nodelay succeeds on a socket that is not TCP (there
 * is no delay to turn off). */
int net_set_nonblock(int fd, dkv_err *err);
int net_set_nodelay(int fd, dkv_err *err);
/* TCP keepalive: after idle_s without traffic, a probe every interval_s;
 * after count unanswered ones (or as long with data unacknowledged) the
 * connection fails with ETIMEDOUT. For control connections whose far end
 * may vanish without a FIN (a machine cut off or powered down). */
int net_set_keepalive(int fd, int idle_s, int interval_s, int count, dkv_err *err);

/* Blocking helpers with an absolute deadline (net_now_us based). */
/* Waits until fd has one of the poll events. Returns 0, or -1 with err at
 * deadline_us ("timed out"), on a poll error, or when a signal interrupts
 * the wait (a caller's stop flag is then due a look). */
int net_wait_fd(int fd, short events, int64_t deadline_us, dkv_err *err);
int net_write_all(int fd, const void *p, size_t n, int64_t deadline_us, dkv_err *err);
/* Reads one whole frame into in (which may already hold bytes); on success
 * *frame points into in and *consumed says how much to consume after use. */
int net_read_frame(int fd, buf *in, wire_frame *frame, size_t *consumed, int64_t deadline_us,
                   dkv_err *err);

#endif
