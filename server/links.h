/* links: a server's links to its peers, and when it sends them what, around
 * its protocol core (core.h): dialling with backoff, the hello exchange and
 * its checks, keepalive, and the timers that batch writes, acks and LSAs
 * (their values, and why, below).
 *
 * Pure: no sockets, no clock, no randomness. The caller owns the
 * connections and the clock. It reports events (the master's requests, a
 * connection made, a peer frame, a connection closed) with the time they
 * happened; this module acts through links_ops (dial, close, write to a
 * connection's output). links_tick runs the timers and says when it is due
 * again. server.c drives it with sockets and net_now_us(); the test fixture
 * drives the same code with simulated connections under virtual time.
 *
 * Connections: the caller's handle (a void *) paired with a links_conn, this
 * module's record of it. An outgoing connection gets its links_conn when the
 * module dials; an accepted one when its first frame shows it is a peer's
 * (links_accept). Every links_conn ends with links_closed. */
#ifndef DKV_LINKS_H
#define DKV_LINKS_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/err.h"
#include "../common/logrl.h"
#include "../common/wire.h"
#include "core.h"
#include "store.h"

/* The timing policy, in microseconds. */

/* First retry of a wanted link that is down, doubling while below the
 * maximum (so at most 1.28 s): fast enough for stabilize after a transient
 * failure, cheap when the peer is dead for good. */
#define LINKS_RETRY_FIRST_US 5000
#define LINKS_RETRY_MAX_US 1000000
/* Pushes to peers (writes and acks) go out at most once per this interval.
 * After a quiet spell the first push leaves at once, so a lone write
 * replicates immediately; under load the writes of one interval share one
 * frame, one wakeup and one LevelDB batch per peer, which is what bounds
 * throughput on a 2-core machine with dozens of servers. A digest request
 * (stabilize) flushes at once, so stabilize does not wait for intervals. */
#define LINKS_PUSH_INTERVAL_US 20000
/* After a digest request, for this long, writes and acks are pushed as soon
 * as they arrive: stabilize polls digests while a backlog crosses the
 * cluster, and a chain of N servers would otherwise wait up to an interval
 * (or a poll) at each of its N-1 hops. */
#define LINKS_EAGER_US 200000
/* LSAs wait this long, so that a burst of link changes (a server joining
 * links to every other at once) leaves as one frame per neighbour. */
#define LINKS_LSA_DELAY_US 1000
/* Acks wait up to this long, then go in bulk (see core_tick_acks). */
#define LINKS_ACK_DELAY_US 50000
/* Retry delay while a link's output is over its budget. */
#define LINKS_PUSH_RETRY_US 1000
/* Keepalive: a link that sent nothing for PING gets a ping; a link that
 * received nothing for DEAD is closed. TCP alone never notices a peer that
 * is paused or cut off by the network, and a dead link would keep a
 * restarted peer out (the live link wins over a second connection). */
#define LINKS_PING_US 500000
#define LINKS_DEAD_US 3000000
/* An outgoing connection that has not completed its hello by then is
 * dropped and redialled (a connect to a cut-off host can hang). */
#define LINKS_DIAL_TIMEOUT_US 2000000
/* After this server failed to store what a peer sent (a full disk), links
 * are refused and not dialled for this long, doubling up to the maximum:
 * otherwise each peer would redial and resend at once, in a loop. */
#define LINKS_STORE_RETRY_FIRST_US 100000
#define LINKS_STORE_RETRY_MAX_US 10000000

/* Most bytes a link's connection may hold unsent before frames of its
 * staging queue (see links_fault) wait: with the core's own budget on the
 * queue, a delayed link holds at most about twice this. */
#define LINKS_STAGE_OUT_BUDGET (512u << 10)

typedef struct links links;
typedef struct links_conn links_conn;

/* What the module sees of a connection. */
typedef struct links_io {
    buf *out;       /* the output buffer: frames appended leave in order */
    size_t pending; /* bytes appended that have not left yet */
    /* When bytes last arrived, and last left (its creation until then). */
    int64_t last_rx, last_tx;
} links_io;

typedef struct links_ops {
    void *ctx;
    /* Starts an outgoing connection to host:port for lc. Returns the
     * caller's handle, or NULL when the attempt failed at once (the link
     * is dialled again after its backoff). The caller later reports
     * links_connected or links_closed for lc. */
    void *(*dial)(void *ctx, links_conn *lc, const char *host, uint16_t port);
    /* Closes conn once the current event is handled; the caller then
     * reports links_closed. Output not yet sent may be dropped. */
    void (*close)(void *ctx, void *conn, const char *why);
    /* Fills io for conn. */
    void (*io)(void *ctx, void *conn, links_io *io);
    /* conn carries a live link from now on (may be NULL). */
    void (*live)(void *ctx, void *conn);
    /* Resets conn (a flaky link): like close, but abortive, so that what
     * is in flight is lost (TCP: SO_LINGER 0). NULL: close is used. */
    void (*reset)(void *ctx, void *conn, const char *why);
} links_ops;

typedef struct links_config {
    uint64_t self;
    const char *run_id; /* sent in every hello; servers of other runs are refused */
    store *st;          /* stays the caller's */
    logrl *log;         /* rate-limited log of dropped links; NULL: none */
} links_config;

/* What happened, for tests and the fixture: each counts events. */
typedef struct links_counters {
    uint64_t dials, dial_timeouts, links_up, hellos_refused, live_link_wins;
    uint64_t pings, silent_drops, protocol_drops, store_failures;
    /* Core ticks that pushed writes; of those, how many left work (a link's
     * output budget was reached, or routes changed) to retry soon, and how
     * many a digest's eager window brought forward. */
    uint64_t pushes, pushes_retried, eager_pushes;
    /* Ticks that sent owed acks; of those, how many had waited the whole
     * ACK delay. LSA timer runs with no push or acks in the same tick. */
    uint64_t ack_sends, acks_deferred, lsa_only_sends;
    /* Faults (links_fault): frames that went through a staging queue,
     * connections a flaky link reset, frames ignored on held links. */
    uint64_t staged_frames, flaky_resets, held_drops;
} links_counters;

/* A core for cfg->self on cfg->st (see core_new), with no links. NULL with
 * err when the core cannot start. Caller frees with links_free, which also
 * frees every links_conn still open (their handles stay the caller's). */
links *links_new(const links_config *cfg, const links_ops *ops, dkv_err *err);
void links_free(links *lk);
core *links_core(links *lk);
const links_counters *links_get_counters(const links *lk);

/* The master's requests. want: keep a link to peer at host:port, dialled
 * now unless up or being dialled (clears a cut). cut: refuse the link and
 * close it, until uncut (cut false). forget: peer is gone; stop dialling
 * its address, which may soon be someone else's. */
void links_want(links *lk, uint64_t peer, const char *host, uint16_t port, int64_t now);
void links_cut(links *lk, uint64_t peer, bool cut);
void links_forget(links *lk, uint64_t peer);
/* How the link to peer misbehaves, set by the master (all zero: not at
 * all). The frames the core writes for peer then go through a staging
 * queue that this module releases to the connection:
 * - delay_us, jitter_us: each frame leaves delay_us + a uniform draw in
 *   [-jitter_us, jitter_us] after it was queued, never before an earlier
 *   frame (order is kept);
 * - flaky_pct: after each write frame (upd) released, the connection is
 *   reset with this probability, once that frame has left (what follows
 *   is lost), from a generator seeded by seed; recovery is the usual
 *   redial, hello and catch-up. Acks and LSAs do not draw: they answer
 *   link changes, so a reset after them would feed itself (each reset
 *   changes links, whose LSAs would reset more) and a cluster with a few
 *   flaky links would never settle;
 * - held: the link is out of routing and groups (the core sees it down)
 *   but its connection stays, carrying keepalive only, and it is not
 *   dialled; frames from the peer are ignored. When held ends the
 *   connection is closed, so the link comes back through a fresh hello
 *   that tells each side what the other lacks;
 * - hold_out (blockLink self peer, one way): every frame the core writes
 *   for peer (writes, acks, LSAs) stays in the staging queue until
 *   hold_out ends, then leaves in order; hello and keepalive pings still
 *   go, and the peer's frames are taken as usual. The core leaves the
 *   link out of routing (core_link_oneway);
 * - hold_in (blockLink peer self): the peer holds its frames; the link
 *   is up and carries this server's frames, but the core leaves it out
 *   of routing and sends the peer every write it lacks.
 * held wins over hold_out and hold_in (the master never sets them
 * together). The queue is bounded by the core's link budget; its bytes
 * count as queued for links_digest, except those hold_out keeps (they
 * wait for the unblock, not for stabilize). */
typedef struct links_fault {
    int64_t delay_us, jitter_us;
    int flaky_pct;
    bool held;
    uint64_t seed;
    bool hold_out, hold_in;
} links_fault;
void links_set_fault(links *lk, uint64_t peer, const links_fault *f);

/* A digest request (stabilize is polling): for a while, writes and acks
 * go out without waiting. Returns the bytes queued on live links. */
int64_t links_digest(links *lk, int64_t now);

/* An accepted connection (handle conn) sent a peer frame: its record, to
 * pass with that frame and every later event. */
links_conn *links_accept(links *lk, void *conn);
/* An outgoing connection finished connecting: the hello goes out. */
void links_connected(links *lk, links_conn *lc);
/* A WIRE_PEER frame arrived on lc. */
void links_frame(links *lk, links_conn *lc, const wire_frame *f, int64_t now);
/* lc's connection is gone, for whatever reason; lc is freed. */
void links_closed(links *lk, links_conn *lc, int64_t now);

/* Does what is due at now: dials, dial timeouts, keepalive, LSAs, pushes
 * and acks. Returns when it is next due (events may make it sooner). */
int64_t links_tick(links *lk, int64_t now);
/* Whether writes, acks or LSAs wait to be sent (keepalive aside). */
bool links_busy(const links *lk);
/* Whether the link to peer is live. */
bool links_live(const links *lk, uint64_t peer);

/* Read-only views, for showServer (server.c) and the trace. */
typedef enum links_state {
    LINKS_DOWN,      /* not live: waiting to redial, or not wanted (forgotten) */
    LINKS_DIALLING,  /* an outgoing connection is under way */
    LINKS_UP,        /* live */
    LINKS_HELD,      /* the master cut or held it (links_fault held or hold_out) */
} links_state;
typedef struct links_view {
    uint64_t peer;
    links_state state;
    int64_t last_rx; /* LINKS_UP: when bytes last arrived on it */
    size_t pending;  /* LINKS_UP: bytes queued on it */
} links_view;
/* The peer links this server knows of, in no particular order: i below
 * links_count. */
size_t links_count(const links *lk);
links_view links_view_at(links *lk, size_t i);
/* The peer on the other end of lc (0 until an accepted one says hello). */
uint64_t links_conn_peer(const links_conn *lc);

#endif
