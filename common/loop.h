/* loop: a single-threaded poll() event loop over framed connections. Each
 * daemon runs one; there is no thread and no connection per request. Output
 * is buffered per connection and flushed once per iteration, so frames
 * queued in one iteration leave together.
 *
 * Every daemon faces local callers it cannot trust, so the loop bounds what
 * each connection, and all of them together, may hold (loop_limits), and
 * answers excess by slowing or closing the offending connection, never by
 * failing the daemon:
 * - Input: a frame larger than in_free reserves its declared length from
 *   the loop's inbound budget when its prefix arrives; while the budget is
 *   spent the connection is not read. A frame still incomplete
 *   frame_timeout after its first bytes (waiting for budget included)
 *   resets its connection. A frame over max_frame is never
 *   buffered: a call's bytes are read and dropped, then the call gets a
 *   fault naming its size and the limit; any other kind closes the
 *   connection.
 * - Output: a connection with more than out_pause bytes of unsent replies
 *   gets no further call dispatched (its pipelined calls wait unread), and
 *   while all connections' unsent replies exceed out_budget no call is
 *   dispatched anywhere. Output that makes no progress for stall_timeout,
 *   or grows beyond out_max (a peer that never reads), resets its
 *   connection.
 * - Memory: connection buffers are fallible (buf.h): an allocation that
 *   fails closes that connection.
 * - Descriptors: at most max_conns connections; at that cap, or when
 *   accept fails for lack of descriptors, the least recently active idle
 *   connection (nothing buffered either way, idle for idle_evict, and not
 *   marked with loop_conn_set_evictable(c, false)) is closed to make room;
 *   when none is, the listener rests for accept_backoff.
 * Peer links are not subject to the reply backpressure (it applies to
 * frames of kind WIRE_CALL), which would deadlock two servers writing to
 * each other; server/core.c bounds what it queues per link instead.
 *
 * Authentication (loop_set_auth): every connection then runs the
 * handshake of common/auth.h before anything else, as the acceptor when
 * accepted and as the initiator when dialled (loop_add with connecting).
 * Handlers see frames, and a dialled connection's on_connected, only once
 * both ends proved they know the cluster's secret. What handlers append to
 * loop_conn_out is plaintext, sealed into records when it leaves: a whole
 * flush in one record (up to AUTH_SEAL_MAX bytes each). The limits above
 * apply to the plaintext; the records add:
 * - a record longer than in_free reserves its length from the inbound
 *   budget, like a frame (one reservation covers both: the larger);
 * - a connection that has not authenticated within handshake_timeout is
 *   closed, and at the connection cap such connections are closed first,
 *   busy or not, so strangers cannot crowd out the cluster's own callers;
 * - a peer that fails the handshake, or a record that fails its tag, closes
 *   the connection (after a refusal, when the peer speaks the handshake,
 *   or a fault reply, when it sent a call in plain framing) and is logged
 *   on stderr in one line naming the peer's address, rate-limited. */
#ifndef DKV_LOOP_H
#define DKV_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
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

/* What connections may hold; see the top of this file. Times in
 * microseconds. loop_limits_default gives the values the daemons use. */
typedef struct loop_limits {
    size_t max_frame;         /* at most WIRE_MAX_FRAME */
    size_t in_free;           /* buffered without reserving */
    size_t in_budget;         /* shared by all connections; at least max_frame */
    int64_t frame_timeout_us; /* an incomplete frame */
    size_t out_pause;         /* one connection's unsent replies */
    size_t out_budget;        /* all connections' unsent replies */
    size_t out_max;           /* any connection's unsent output */
    int64_t stall_timeout_us; /* unsent output without progress */
    size_t max_conns;         /* 0 when derived from RLIMIT_NOFILE */
    int64_t idle_evict_us;
    int64_t accept_backoff_us;
    int64_t handshake_timeout_us; /* with authentication: until both ends proved the key */
} loop_limits;

void loop_limits_default(loop_limits *lim);

/* Caller frees with loop_free, which closes every connection, calling
 * on_close(c, "shutting down") for each so handlers can free their state.
 * The loop starts with the default limits. */
loop *loop_new(void);
void loop_free(loop *l);
/* Replaces the limits (tests shrink them); out-of-range values are
 * clamped. max_conns 0 derives it from RLIMIT_NOFILE. */
void loop_set_limits(loop *l, const loop_limits *lim);

/* Authenticates every connection added from now on with key, which must
 * outlive the loop (see the top of this file). A build with DKV_NO_AUTH
 * (a benchmark's comparison build, never the default) ignores it. */
void loop_set_auth(loop *l, const auth_key *key);
/* Who logs (e.g. "server 3"), for the lines about refused peers. */
void loop_set_name(loop *l, const char *name);

/* Watches a listening socket; on_accept gets each accepted fd. */
void loop_listen(loop *l, int listen_fd, loop_accept_fn on_accept, void *user);

/* Adds a connected (or, with connecting, still connecting) socket. */
loop_conn *loop_add(loop *l, int fd, bool connecting, const loop_handlers *h, void *user);

void *loop_conn_user(const loop_conn *c);
void loop_conn_set_user(loop_conn *c, void *user);
/* Output buffer: append frames with wire_encode; they leave next iteration. */
buf *loop_conn_out(loop_conn *c);
/* Bytes not yet sent: frames in loop_conn_out and records sealed from them. */
size_t loop_conn_pending(const loop_conn *c);
/* Whether frames flow: the handshake completed, or the loop does not
 * authenticate. */
bool loop_conn_authenticated(const loop_conn *c);
bool loop_conn_closed(const loop_conn *c);
/* Monotonic times (net_now_us) when bytes last arrived on c and last left
 * it; both start at the connection's creation. For keepalives. */
int64_t loop_conn_last_rx(const loop_conn *c);
int64_t loop_conn_last_tx(const loop_conn *c);
/* Connections are evictable by default; a peer link is not (server.c marks
 * it once the peer's hello is accepted). */
void loop_conn_set_evictable(loop_conn *c, bool evictable);
/* Closes after the current dispatch; on_close is called with why. */
void loop_close(loop_conn *c, const char *why);
/* loop_close, but the close is abortive (SO_LINGER 0: the peer gets a
 * reset, and bytes not yet delivered are lost), as a flaky network does. */
void loop_abort(loop_conn *c, const char *why);

/* Connections not yet closed. */
size_t loop_conn_count(const loop *l);

/* Flushes output, waits up to timeout_ms for events and dispatches them.
 * Returns the number of ready descriptors, 0 on timeout, -1 if interrupted.
 * It may return earlier than timeout_ms to enforce the limits' timeouts. */
int loop_run_once(loop *l, int timeout_ms);

#endif
