/* links: see links.h. */
#include "links.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/vec.h"
#include "../common/xalloc.h"
#include "peermsg.h"

struct links_conn {
    void *conn; /* the caller's handle */
    bool outgoing;
    uint64_t peer; /* who is (or should be) on the other end */
    bool hello_seen;
    bool closing; /* closed by this module; links_closed is to come */
    links_conn *prev, *next;
};

/* One frame in a staging queue: its length and when it may leave. */
typedef struct staged {
    size_t len;
    int64_t release_at;
    bool upd; /* a flaky link draws after writes only (see links_fault) */
} staged;

typedef struct peer_link {
    uint64_t peer;
    bool cut;    /* the master cut it: refuse it until uncut */
    bool wanted; /* we should keep an outgoing connection */
    char host[256];
    uint16_t port;
    int64_t retry_at;
    int64_t backoff;
    int64_t dial_started;
    links_conn *conn;    /* the connection carrying the live link, if up */
    links_conn *dialing; /* outgoing connection in progress */
    bool core_up;        /* the core counts the link (not held) */
    /* Faults (links_fault) and the staging queue: frames the core wrote
     * for the peer, each with its release time, oldest first. */
    links_fault fault;
    uint64_t rng;         /* flaky's and jitter's generator */
    buf stage;
    staged *frames;
    size_t head, n_frames, cap_frames;
    size_t stamped;       /* bytes of stage that frames[head..] cover */
    int64_t last_release; /* latest release time given: order is kept */
    bool reset_due;       /* flaky: reset once the connection's output has left */
} peer_link;

struct links {
    uint64_t self;
    links_ops ops;
    logrl *log;
    core *core;
    peer_link *links;
    size_t n_links, cap_links;
    links_conn *conns; /* every record not yet closed */
    int64_t eager_until;    /* until then, push without waiting (see LINKS_EAGER_US) */
    int64_t store_retry_at; /* see LINKS_STORE_RETRY_FIRST_US */
    int64_t store_backoff;
    int64_t push_at;  /* when pending pushes go out; 0: none pending */
    int64_t last_push;
    bool over_budget; /* the last push left work (a link's budget, new routes) */
    int64_t ack_at;   /* when owed acks go out; 0: none owed */
    int64_t lsa_at;   /* when pending LSAs go out; 0: none pending */
    int64_t acks_owed_since; /* when ack_at was set, for the counters */
    links_counters counters;
};

static peer_link *get_link(links *lk, uint64_t peer, bool create)
{
    for (size_t i = 0; i < lk->n_links; i++)
        if (lk->links[i].peer == peer)
            return &lk->links[i];
    if (!create)
        return NULL;
    peer_link *l = VEC_PUSH(lk->links, lk->n_links, lk->cap_links);
    l->peer = peer;
    l->backoff = LINKS_RETRY_FIRST_US;
    return l;
}

static links_io conn_io(links *lk, links_conn *lc)
{
    links_io io;
    lk->ops.io(lk->ops.ctx, lc->conn, &io);
    return io;
}

static buf *conn_out(links *lk, links_conn *lc) { return conn_io(lk, lc).out; }

/* Whether frames for l go through its staging queue: a fault that acts
 * on frames is set, or frames queued under one are still there (they
 * leave first, in order). */
static bool staging(const peer_link *l)
{
    return l->fault.delay_us > 0 || l->fault.jitter_us > 0 || l->fault.flaky_pct > 0 ||
           l->fault.hold_out || buf_unread(&l->stage) > 0;
}

static buf *link_out(void *ctx, uint64_t peer)
{
    links *lk = ctx;
    peer_link *l = get_link(lk, peer, false);
    if (!l || !l->conn || !l->core_up)
        return NULL;
    return staging(l) ? &l->stage : conn_out(lk, l->conn);
}

/* splitmix64: small, fast and good enough to decide which frames a flaky
 * link loses; seeded by the master, so a run can be repeated. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void stage_clear(peer_link *l)
{
    l->reset_due = false;
    buf_clear(&l->stage);
    l->head = l->n_frames = 0;
    l->stamped = 0;
    l->last_release = 0;
}

/* Gives each frame the core appended to l's queue since the last call its
 * release time (now + delay +- jitter, not before the frame ahead). */
static void stage_stamp(links *lk, peer_link *l, int64_t now)
{
    while (buf_unread(&l->stage) - l->stamped >= 4) {
        const uint8_t *p = buf_head(&l->stage) + l->stamped;
        size_t len = 4 + (size_t)dkv_get_u32(p);
        if (buf_unread(&l->stage) - l->stamped < len)
            break; /* the core writes whole frames: cannot happen */
        int64_t at = now + l->fault.delay_us;
        if (l->fault.jitter_us > 0)
            at += (int64_t)(next_random(&l->rng) % (uint64_t)(2 * l->fault.jitter_us + 1)) -
                  l->fault.jitter_us;
        if (at < now)
            at = now;
        if (at < l->last_release)
            at = l->last_release;
        l->last_release = at;
        if (l->head > 0 && l->head * 2 >= l->n_frames) {
            /* Keep the queue's record from growing under steady traffic. */
            memmove(l->frames, l->frames + l->head, (l->n_frames - l->head) * sizeof *l->frames);
            l->n_frames -= l->head;
            l->head = 0;
        }
        *VEC_PUSH(l->frames, l->n_frames, l->cap_frames) =
            (staged){len, at, peermsg_frame_is_upd(p, len)};
        l->stamped += len;
        lk->counters.staged_frames++;
    }
}

static void reset_conn(links *lk, links_conn *lc, const char *why)
{
    if (lc->closing)
        return;
    lc->closing = true;
    if (lk->ops.reset)
        lk->ops.reset(lk->ops.ctx, lc->conn, why);
    else
        lk->ops.close(lk->ops.ctx, lc->conn, why);
}

/* Moves the frames of l's queue that are due to its connection, while the
 * connection's output is within its budget. On a flaky link a draw after
 * each frame may doom the connection: it is reset once its output has
 * left (so the peer gets that frame, and the rest is lost, as when a
 * network breaks a connection). Returns when it is next due (INT64_MAX:
 * nothing queued). */
static int64_t stage_release(links *lk, peer_link *l, int64_t now)
{
    /* hold_out: everything waits for the block to end (links_set_fault). */
    if (!l->conn || l->conn->closing || !l->core_up || l->fault.hold_out)
        return INT64_MAX;
    /* Output that has not left wakes the caller when it leaves (a timer
     * would spin while a partition holds it back). */
    if (l->reset_due) {
        if (conn_io(lk, l->conn).pending > 0)
            return INT64_MAX;
        lk->counters.flaky_resets++;
        reset_conn(lk, l->conn, "flaky link: reset after a frame");
        return INT64_MAX;
    }
    while (l->head < l->n_frames) {
        const staged *f = &l->frames[l->head];
        if (f->release_at > now)
            return f->release_at;
        buf *out = conn_out(lk, l->conn);
        if (conn_io(lk, l->conn).pending >= LINKS_STAGE_OUT_BUDGET)
            return INT64_MAX;
        bool upd = f->upd;
        buf_append(out, buf_head(&l->stage), f->len);
        buf_consume(&l->stage, f->len);
        l->stamped -= f->len;
        l->head++;
        if (l->head == l->n_frames)
            l->head = l->n_frames = 0;
        if (upd && l->fault.flaky_pct > 0 &&
            next_random(&l->rng) % 100 < (uint64_t)l->fault.flaky_pct) {
            l->reset_due = true;
            return INT64_MAX;
        }
    }
    return INT64_MAX;
}

static links_conn *conn_new(links *lk, bool outgoing, uint64_t peer)
{
    links_conn *lc = xcalloc(1, sizeof *lc);
    lc->outgoing = outgoing;
    lc->peer = peer;
    lc->next = lk->conns;
    if (lk->conns)
        lk->conns->prev = lc;
    lk->conns = lc;
    return lc;
}

static void conn_free(links *lk, links_conn *lc)
{
    if (lc->prev)
        lc->prev->next = lc->next;
    else
        lk->conns = lc->next;
    if (lc->next)
        lc->next->prev = lc->prev;
    free(lc);
}

static void close_conn(links *lk, links_conn *lc, const char *why)
{
    if (lc->closing)
        return;
    lc->closing = true;
    lk->ops.close(lk->ops.ctx, lc->conn, why);
}

links *links_new(const links_config *cfg, const links_ops *ops, dkv_err *err)
{
    links *lk = xcalloc(1, sizeof *lk);
    lk->self = cfg->self;
    lk->ops = *ops;
    lk->log = cfg->log;
    core_ops cops = {lk, link_out};
    lk->core = core_new(cfg->self, cfg->st, &cops, err);
    if (!lk->core) {
        free(lk);
        return NULL;
    }
    core_set_run_id(lk->core, cfg->run_id ? cfg->run_id : "");
    return lk;
}

void links_free(links *lk)
{
    if (!lk)
        return;
    while (lk->conns)
        conn_free(lk, lk->conns);
    core_free(lk->core);
    for (size_t i = 0; i < lk->n_links; i++) {
        buf_free(&lk->links[i].stage);
        free(lk->links[i].frames);
    }
    free(lk->links);
    free(lk);
}

core *links_core(links *lk) { return lk->core; }
const links_counters *links_get_counters(const links *lk) { return &lk->counters; }

static void dial(links *lk, peer_link *l, int64_t now)
{
    l->retry_at = now + l->backoff;
    if (l->backoff < LINKS_RETRY_MAX_US)
        l->backoff *= 2;
    lk->counters.dials++;
    links_conn *lc = conn_new(lk, true, l->peer);
    lc->conn = lk->ops.dial(lk->ops.ctx, lc, l->host, l->port);
    if (!lc->conn) {
        conn_free(lk, lc);
        return;
    }
    l->dialing = lc;
    l->dial_started = now;
}

void links_connected(links *lk, links_conn *lc)
{
    core_hello(lk->core, lc->peer, conn_out(lk, lc));
}

links_conn *links_accept(links *lk, void *conn)
{
    links_conn *lc = conn_new(lk, false, 0);
    lc->conn = conn;
    return lc;
}

static void refuse_hello(links *lk, links_conn *lc, const char *why)
{
    lk->counters.hellos_refused++;
    close_conn(lk, lc, why);
}

static void on_hello(links *lk, links_conn *lc, const peermsg *m, int64_t now)
{
    if (strcmp(m->run, core_run_id(lk->core)) != 0) {
        /* Another run's server at an address we were given (a port reused
         * after a kill): never link, never take its writes. */
        if (lk->log)
            logrl_printf(lk->log, now, "server %" PRIu64 ": refused server %" PRIu64
                         " of another run ('%s')", lk->self, m->id, m->run);
        refuse_hello(lk, lc, "peer belongs to another run");
        return;
    }
    /* A stale address may now belong to another server: both ends check. */
    if ((lc->outgoing && m->id != lc->peer) || m->to != lk->self || m->id == lk->self) {
        refuse_hello(lk, lc, "wrong server at that address");
        return;
    }
    if (now < lk->store_retry_at) {
        refuse_hello(lk, lc, "this server's store is failing; retry later");
        return;
    }
    peer_link *l = get_link(lk, m->id, true);
    if (l->cut) {
        refuse_hello(lk, lc, "link is cut");
        return;
    }
    if (l->fault.held) {
        refuse_hello(lk, lc, "link is held");
        return;
    }
    if (l->conn) {
        /* The live link wins over a second connection claiming the same
         * peer: that is a restarted peer whose old link has not closed here
         * yet (it retries), or an impostor, which must not lock the real
         * peer out. A ping makes a dead old link fail fast. */
        peermsg_encode_ping(conn_out(lk, l->conn));
        lk->counters.live_link_wins++;
        refuse_hello(lk, lc, "link already live");
        return;
    }
    lc->peer = m->id;
    lc->hello_seen = true;
    if (!lc->outgoing)
        core_hello(lk->core, m->id, conn_out(lk, lc));
    if (l->dialing == lc)
        l->dialing = NULL;
    /* The link is live before the core hears of it: core_link_up sends the
     * peer the LSAs it lacks through link_out. */
    l->conn = lc;
    l->core_up = true;
    stage_clear(l);
    if (lk->ops.live)
        lk->ops.live(lk->ops.ctx, lc->conn); /* e.g. never closed to make room */
    l->backoff = LINKS_RETRY_FIRST_US;
    lk->counters.links_up++;
    dkv_err err;
    if (core_link_up(lk->core, l->peer, m, &err) < 0) {
        if (lk->log)
            logrl_printf(lk->log, now, "server %" PRIu64 ": %s", lk->self, err.msg);
        l->conn = NULL;
        l->core_up = false;
        close_conn(lk, lc, "this server's store lost writes");
        return;
    }
    /* Before the core advertises the link (its LSA waits for a tick). */
    core_link_oneway(lk->core, l->peer, l->fault.hold_out, l->fault.hold_in);
}

/* This server failed to store what a peer sent: pause links (see
 * LINKS_STORE_RETRY_FIRST_US). */
static void store_failed(links *lk, int64_t now)
{
    lk->counters.store_failures++;
    lk->store_backoff = lk->store_backoff ? lk->store_backoff * 2 : LINKS_STORE_RETRY_FIRST_US;
    if (lk->store_backoff > LINKS_STORE_RETRY_MAX_US)
        lk->store_backoff = LINKS_STORE_RETRY_MAX_US;
    lk->store_retry_at = now + lk->store_backoff;
}

void links_frame(links *lk, links_conn *lc, const wire_frame *f, int64_t now)
{
    peermsg m;
    dkv_err err;
    if (peermsg_decode(f, &m, &err) < 0) {
        if (lk->log)
            logrl_printf(lk->log, now, "server %" PRIu64 ": bad frame from %" PRIu64 ": %s",
                         lk->self, lc->peer, err.msg);
        lk->counters.protocol_drops++;
        char why[DKV_ERR_MAX + 32];
        snprintf(why, sizeof why, "malformed peer frame: %s", err.msg);
        close_conn(lk, lc, why);
        return;
    }
    if (!lc->hello_seen) {
        if (m.type == PEERMSG_HELLO)
            on_hello(lk, lc, &m, now);
        else
            refuse_hello(lk, lc, "peer did not start with hello");
    } else {
        peer_link *l = get_link(lk, lc->peer, false);
        int rc;
        if (!l || l->conn != lc) {
            lk->counters.protocol_drops++;
            close_conn(lk, lc, "stale link");
        } else if (!l->core_up) {
            lk->counters.held_drops++; /* a held link carries keepalive only */
        } else if ((rc = core_on_message(lk->core, lc->peer, &m, &err)) < 0) {
            if (rc == CORE_LOCAL_FAILURE)
                store_failed(lk, now);
            if (lk->log)
                logrl_printf(lk->log, now, "server %" PRIu64 ": link to %" PRIu64 " dropped: %s",
                             lk->self, lc->peer, err.msg);
            lk->counters.protocol_drops += rc != CORE_LOCAL_FAILURE;
            char why[DKV_ERR_MAX + 32];
            snprintf(why, sizeof why, "%s: %s",
                     rc == CORE_LOCAL_FAILURE ? "local store failure" : "protocol error", err.msg);
            close_conn(lk, lc, why);
        }
    }
    peermsg_clear(&m);
    /* What the core wrote meanwhile (acks, LSAs) is queued as of now. */
    for (size_t i = 0; i < lk->n_links; i++)
        if (buf_unread(&lk->links[i].stage) > lk->links[i].stamped)
            stage_stamp(lk, &lk->links[i], now);
}

void links_closed(links *lk, links_conn *lc, int64_t now)
{
    peer_link *l = get_link(lk, lc->peer, false);
    if (l && l->dialing == lc)
        l->dialing = NULL;
    if (l && l->conn == lc) {
        l->conn = NULL;
        if (l->core_up)
            core_link_down(lk->core, l->peer);
        l->core_up = false;
        /* Lost with the connection, as in flight: the next link's hello
         * says what the peer lacks. */
        stage_clear(l);
        l->retry_at = now + l->backoff;
    }
    conn_free(lk, lc);
}

int64_t links_digest(links *lk, int64_t now)
{
    lk->eager_until = now + LINKS_EAGER_US;
    int64_t queued = 0;
    for (size_t i = 0; i < lk->n_links; i++) {
        const peer_link *l = &lk->links[i];
        if (!l->conn)
            continue;
        queued += (int64_t)conn_io(lk, l->conn).pending;
        /* Frames held by a one-way block wait for unblockLink, not for
         * stabilize. */
        if (!l->fault.hold_out)
            queued += (int64_t)buf_unread(&l->stage);
    }
    return queued;
}

void links_want(links *lk, uint64_t peer, const char *host, uint16_t port, int64_t now)
{
    peer_link *l = get_link(lk, peer, true);
    l->cut = false;
    l->wanted = true;
    snprintf(l->host, sizeof l->host, "%s", host);
    l->port = port;
    l->backoff = LINKS_RETRY_FIRST_US;
    if (!l->conn && !l->dialing && !l->fault.held)
        dial(lk, l, now);
}

void links_cut(links *lk, uint64_t peer, bool cut)
{
    peer_link *l = get_link(lk, peer, true);
    l->cut = cut;
    if (cut) {
        l->wanted = false;
        if (l->conn)
            close_conn(lk, l->conn, "cut by the master");
        if (l->dialing)
            close_conn(lk, l->dialing, "cut by the master");
    }
}

void links_forget(links *lk, uint64_t peer)
{
    peer_link *l = get_link(lk, peer, false);
    if (l) {
        l->wanted = false;
        l->host[0] = '\0';
        l->port = 0;
        if (l->dialing)
            close_conn(lk, l->dialing, "peer forgotten");
        if (l->conn)
            close_conn(lk, l->conn, "peer forgotten");
    }
}

/* A link we should have, that is down and not being dialled. */
static bool needs_dial(const peer_link *l)
{
    return l->wanted && !l->cut && !l->fault.held && !l->conn && !l->dialing;
}

void links_set_fault(links *lk, uint64_t peer, const links_fault *f)
{
    peer_link *l = get_link(lk, peer, true);
    bool was_held = l->fault.held;
    if (f->seed != l->fault.seed || l->rng == 0)
        l->rng = f->seed;
    l->fault = *f;
    if (l->conn && l->core_up)
        core_link_oneway(lk->core, peer, f->hold_out, f->hold_in);
    if (f->held && !was_held) {
        if (l->conn && l->core_up) {
            core_link_down(lk->core, peer);
            l->core_up = false;
        }
        stage_clear(l);
        if (l->dialing)
            close_conn(lk, l->dialing, "link held by the master");
    } else if (!f->held && was_held) {
        /* Back through a fresh hello, which tells each side what the other
         * lacks; the side that dials redials. */
        if (l->conn)
            close_conn(lk, l->conn, "link released by the master");
        l->backoff = LINKS_RETRY_FIRST_US;
        l->retry_at = 0; /* dialled at the next tick, not after an old backoff */
    }
}

/* Dials links that are due, drops links and dials that went silent, pings
 * idle links. Returns when it next has something to do. */
static int64_t tend_links(links *lk, int64_t now)
{
    int64_t t = now + 1000000;
    for (size_t i = 0; i < lk->n_links; i++) {
        peer_link *l = &lk->links[i];
        if (needs_dial(l) && l->retry_at <= now && now >= lk->store_retry_at)
            dial(lk, l, now);
        if (needs_dial(l)) {
            int64_t at = l->retry_at > lk->store_retry_at ? l->retry_at : lk->store_retry_at;
            if (at < t)
                t = at;
        }
        if (l->dialing) {
            if (now - l->dial_started >= LINKS_DIAL_TIMEOUT_US) {
                lk->counters.dial_timeouts++;
                close_conn(lk, l->dialing, "no hello in time");
            }
            else if (l->dial_started + LINKS_DIAL_TIMEOUT_US < t)
                t = l->dial_started + LINKS_DIAL_TIMEOUT_US;
        }
        if (!l->conn || l->conn->closing)
            continue;
        links_io io = conn_io(lk, l->conn);
        int64_t rx = io.last_rx, tx = io.last_tx;
        /* A held link's peer may be paused (stopped): its silence is
         * expected, and the link is released through a new connection. */
        if (now - rx >= LINKS_DEAD_US && !l->fault.held) {
            if (lk->log)
                logrl_printf(lk->log, now, "server %" PRIu64 ": link to %" PRIu64
                             " dropped: nothing received for %d ms", lk->self, l->peer,
                             LINKS_DEAD_US / 1000);
            lk->counters.silent_drops++;
            close_conn(lk, l->conn, "peer silent");
            continue;
        }
        if (now - tx >= LINKS_PING_US && io.pending == 0) {
            peermsg_encode_ping(io.out);
            lk->counters.pings++;
            tx = now;
        }
        /* A ping held back by unsent output waits for it to leave, which
         * wakes the caller anyway: a wakeup at once would spin until then. */
        if (tx + LINKS_PING_US > now && tx + LINKS_PING_US < t)
            t = tx + LINKS_PING_US;
        if (rx + LINKS_DEAD_US < t && !l->fault.held)
            t = rx + LINKS_DEAD_US;
    }
    return t;
}

int64_t links_tick(links *lk, int64_t now)
{
    int64_t wake = tend_links(lk, now);
    core *c = lk->core;
    links_counters *k = &lk->counters;
    /* LSAs first: advertising a link change may give writes to push. */
    bool lsas = lk->lsa_at && now >= lk->lsa_at;
    if (lsas) {
        core_send_lsas(c);
        lk->lsa_at = 0;
    }
    if (!lk->lsa_at && core_lsas_due(c))
        lk->lsa_at = now + LINKS_LSA_DELAY_US;
    if (!lk->push_at && core_has_work(c))
        lk->push_at = lk->last_push + LINKS_PUSH_INTERVAL_US > now ? lk->last_push + LINKS_PUSH_INTERVAL_US
                                                             : now;
    if (!lk->ack_at && core_acks_due(c)) {
        lk->ack_at = now + LINKS_ACK_DELAY_US;
        lk->acks_owed_since = now;
    }
    if (now < lk->eager_until) {
        if (lk->push_at && !lk->over_budget) {
            k->eager_pushes += lk->push_at > now;
            lk->push_at = now;
        }
        if (lk->ack_at)
            lk->ack_at = now;
    }
    bool acks = lk->ack_at && now >= lk->ack_at;
    bool push = lk->push_at && now >= lk->push_at;
    if (push || acks) {
        bool more = core_tick_acks(c, acks);
        if (push) {
            lk->over_budget = more;
            lk->push_at = more ? now + LINKS_PUSH_RETRY_US : 0;
            lk->last_push = now;
            k->pushes++;
            k->pushes_retried += more;
        }
        if (acks) {
            lk->ack_at = 0;
            k->ack_sends++;
            k->acks_deferred += now - lk->acks_owed_since >= LINKS_ACK_DELAY_US;
        }
    } else if (lsas) {
        k->lsa_only_sends++;
    }
    for (size_t i = 0; i < lk->n_links; i++) {
        peer_link *l = &lk->links[i];
        if (buf_unread(&l->stage) == 0 && !l->reset_due)
            continue;
        stage_stamp(lk, l, now);
        int64_t at = stage_release(lk, l, now);
        if (at < wake)
            wake = at;
    }
    if (lk->push_at && lk->push_at < wake)
        wake = lk->push_at;
    if (lk->ack_at && lk->ack_at < wake)
        wake = lk->ack_at;
    if (lk->lsa_at && lk->lsa_at < wake)
        wake = lk->lsa_at;
    return wake;
}

bool links_busy(const links *lk)
{
    return lk->push_at || lk->ack_at || lk->lsa_at || core_has_work(lk->core) ||
           core_acks_due(lk->core) || core_lsas_due(lk->core);
}

bool links_live(const links *lk, uint64_t peer)
{
    for (size_t i = 0; i < lk->n_links; i++)
        if (lk->links[i].peer == peer)
            return lk->links[i].conn && !lk->links[i].conn->closing && lk->links[i].core_up;
    return false;
}

size_t links_count(const links *lk) { return lk->n_links; }

links_view links_view_at(links *lk, size_t i)
{
    const peer_link *l = &lk->links[i];
    links_view v = {l->peer, LINKS_DOWN, 0, 0};
    if (l->fault.held || l->fault.hold_out) {
        /* Blocked both ways or a paused peer: keepalive only; blocked
         * from here: this server's frames wait (the peer's still come). */
        v.state = LINKS_HELD;
    } else if (l->conn && !l->conn->closing) {
        links_io io = conn_io(lk, l->conn);
        v.state = LINKS_UP;
        v.last_rx = io.last_rx;
        v.pending = io.pending;
    } else if (l->cut) {
        v.state = LINKS_HELD;
    } else if (l->dialing) {
        v.state = LINKS_DIALLING;
    }
    return v;
}

uint64_t links_conn_peer(const links_conn *lc) { return lc->peer; }
