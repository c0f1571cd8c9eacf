/* loop: a single-threaded poll() event loop over framed connections. Each
 * daemon runs one; there is no thread and no connection per request. Output
 * is buffered per connection and flushed once per iteration, so frames
 * queued in one iteration leave together. */
#ifndef DKV_LOOP_H
#define DKV_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "wire.h"

typedef struct loop loop;
typedef struct loop_conn loop_conn;

typedef struct loop_handlers {
    /* A whole frame arrived. The frame's bytes are valid during the call. */
    void (*on_frame)(loop_conn *c, const wire_frame *f);
    /* The connection is gone (peer closed, error, or loop_close); called once. */
    void (*on_close)(loop_conn *c, const char *why);
    /* An outgoing connection finished connecting (optional). */
    void (*on_connected)(loop_conn *c);
} loop_handlers;

typedef void (*loop_accept_fn)(loop *l, int fd, void *user);

/* Caller frees with loop_free, which closes every connection, calling
 * on_close(c, "shutting down") for each so handlers can free their state. */
loop *loop_new(void);
void loop_free(loop *l);

/* Watches a listening socket; on_accept gets each accepted fd. */
void loop_listen(loop *l, int listen_fd, loop_accept_fn on_accept, void *user);

/* Adds a connected (or, with connecting, still connecting) socket. */
loop_conn *loop_add(loop *l, int fd, bool connecting, const loop_handlers *h, void *user);

void *loop_conn_user(const loop_conn *c);
void loop_conn_set_user(loop_conn *c, void *user);
/* Output buffer: append frames with wire_encode; they leave next iteration. */
buf *loop_conn_out(loop_conn *c);
size_t loop_conn_pending(const loop_conn *c);
bool loop_conn_closed(const loop_conn *c);
/* Monotonic times (net_now_us) when bytes last arrived on c and last left
 * it; both start at the connection's creation. For keepalives. */
int64_t loop_conn_last_rx(const loop_conn *c);
int64_t loop_conn_last_tx(const loop_conn *c);
/* Closes after the current dispatch; on_close is called with why. */
void loop_close(loop_conn *c, const char *why);

/* Flushes output, waits up to timeout_ms for events and dispatches them.
 * Returns the number of ready descriptors, 0 on timeout, -1 if interrupted. */
int loop_run_once(loop *l, int timeout_ms);

#endif
