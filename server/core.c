#include "core.h"
#include "../common/xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/vec.h"
#include "route.h"

/* Bytes a link may have queued before pushes to it pause: keeps memory
 * bounded when a neighbour catches up on a long log (a server with four
 * links catching others up holds at most about 4 x this), while a few
 * frames in flight keep the link busy. */
#define CORE_LINK_BUDGET (512u << 10)

/* Hearsay about a live neighbour, kept aside (see on_lsa). */
typedef struct lsa_copy {
    bool set;
    uint64_t from; /* the neighbour that relayed it */
    uint64_t inc, seq;
    uint64_t *nb;
    size_t n_nb;
} lsa_copy;

/* How far an LSA relayed about a neighbour may be ahead of the last one the
 * neighbour sent itself: each link change adds one, and only the few made
 * while its link to us was going down can be missed. */
#define CORE_LSA_SEQ_JUMP 64

typedef struct neighbour {
    uint64_t peer;
    uint64_t inc; /* the incarnation its hello announced */
    uint64_t heard_seq; /* seq of its own latest LSA on this link; 0: none yet */
    lsa_copy pending;
    vclock *known; /* what the peer is known to hold: its clock or what we sent */
    /* Memo of responsible(origin, peer) for the current routes: origin ->
     * RESP_NO or RESP_YES (a vclock used as a sparse map). Computing it
     * walks the link-state graph; ticks ask it for every origin and
     * neighbour, so it is remembered until the routes change. */
    vclock *resp;
    bool ack_due;
    /* A one-way link (core_link_oneway): not advertised, not routed. */
    bool hold_out, hold_in;
} neighbour;

enum { RESP_NO = 1, RESP_YES = 2 };

struct core {
    uint64_t self;
    char run[PEERMSG_RUN_MAX + 1]; /* our run id, sent in hello */
    /* Set once a peer proves this server's store lost writes of its own;
     * the server must stop before it numbers a write twice. */
    bool damaged;
    dkv_err damage;
    store *st;
    core_ops ops;
    record_meta meta;
    route *rt;
    uint64_t lsa_seq;
    neighbour *nb;
    size_t n_nb, cap_nb;
    bool dirty;
    peermsg_upd_builder ub;
    core_counters counters;
    uint64_t resp_tree; /* route_tree_hash the memos belong to */
    /* Our links changed since we last advertised them. Advertising once per
     * tick, not once per link event, keeps a server that links to N peers
     * at once from flooding N LSAs through the whole cluster. */
    bool lsa_due;
    /* LSAs to flood at the next tick: id -> (the peer it came from) + 1. */
    vclock *lsa_fwd;
};

static void forget_nb(neighbour *n)
{
    vclock_free(n->known);
    vclock_free(n->resp);
    free(n->pending.nb);
}

core *core_new(uint64_t self, store *st, const core_ops *ops, dkv_err *err)
{
    core *c = xcalloc(1, sizeof *c);
    c->self = self;
    c->st = st;
    c->ops = *ops;
    c->meta.vc = vclock_new();
    bool found;
    if (store_load_meta(st, &c->meta, &found, err) < 0) {
        core_free(c);
        return NULL;
    }
    /* A new incarnation makes this run's LSAs supersede the last run's. */
    if (c->meta.incarnation >= DKV_INC_MAX || c->meta.lamport > DKV_COUNTER_MAX) {
        dkv_err_set(err, "stored counters are out of range (incarnation %" PRIu64
                         ", Lamport %" PRIu64 ")",
                    c->meta.incarnation, c->meta.lamport);
        core_free(c);
        return NULL;
    }
    c->meta.incarnation++;
    if (store_save_meta(st, &c->meta, err) < 0) {
        core_free(c);
        return NULL;
    }
    c->rt = route_new(self);
    c->lsa_fwd = vclock_new();
    peermsg_upd_init(&c->ub);
    route_lsa mine = {self, c->meta.incarnation, ++c->lsa_seq, NULL, 0};
    route_update(c->rt, &mine);
    return c;
}

void core_free(core *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_nb; i++)
        forget_nb(&c->nb[i]);
    free(c->nb);
    vclock_free(c->meta.vc);
    route_free(c->rt);
    vclock_free(c->lsa_fwd);
    peermsg_upd_free(&c->ub);
    free(c);
}

uint64_t core_self(const core *c) { return c->self; }

void core_set_run_id(core *c, const char *run)
{
    snprintf(c->run, sizeof c->run, "%s", peermsg_run_id_valid(run) ? run : "");
}

const char *core_run_id(const core *c) { return c->run; }

const char *core_damage(const core *c) { return c->damaged ? c->damage.msg : NULL; }

/* A peer holds more writes of our own origin than we do: only this server
 * numbers them, so our store lost some. Numbering new writes from here
 * would reuse (origin, seq) pairs, so the core refuses to go on. */
static int check_own_seq(core *c, uint64_t peer, uint64_t peer_has, dkv_err *err)
{
    uint64_t mine = vclock_get(c->meta.vc, c->self);
    if (peer_has <= mine)
        return 0;
    if (!c->damaged) {
        c->damaged = true;
        dkv_err_set(&c->damage,
                    "server %" PRIu64 " holds %" PRIu64 " writes of server %" PRIu64
                    ", whose own store has only %" PRIu64 ": the store lost writes",
                    peer, peer_has, c->self, mine);
    }
    return dkv_err_set(err, "%s", c->damage.msg);
}
uint64_t core_incarnation(const core *c) { return c->meta.incarnation; }
const vclock *core_vclock(const core *c) { return c->meta.vc; }
uint64_t core_lamport(const core *c) { return c->meta.lamport; }
const core_counters *core_get_counters(const core *c) { return &c->counters; }

static neighbour *find_nb(core *c, uint64_t peer)
{
    for (size_t i = 0; i < c->n_nb; i++)
        if (c->nb[i].peer == peer)
            return &c->nb[i];
    return NULL;
}

void core_hello(core *c, uint64_t to, buf *out)
{
    vclock *li = vclock_new(), *ls = vclock_new();
    for (size_t i = 0; i < route_lsa_count(c->rt); i++) {
        route_lsa l = route_lsa_at(c->rt, i);
        if (l.incarnation > 0 && l.seq > 0) { /* a clock holds no zeros */
            vclock_set(li, l.id, l.incarnation);
            vclock_set(ls, l.id, l.seq);
        }
    }
    peermsg_encode_hello(out, c->run, c->self, to, c->meta.incarnation, c->meta.vc, li, ls);
    vclock_free(li);
    vclock_free(ls);
    c->counters.hello++;
}

/* Whether a neighbour whose hello summed up its LSA database as hello's
 * lsa_inc/lsa_seq already holds lsa or a newer one. */
static bool peer_has_lsa(const peermsg *hello, const route_lsa *lsa)
{
    if (!hello->lsa_inc || !hello->lsa_seq)
        return false;
    uint64_t inc = vclock_get(hello->lsa_inc, lsa->id);
    uint64_t seq = vclock_get(hello->lsa_seq, lsa->id);
    return inc > lsa->incarnation || (inc == lsa->incarnation && seq >= lsa->seq);
}

static void send_lsa(core *c, uint64_t to, const route_lsa *lsa)
{
    buf *out = c->ops.link_out(c->ops.ctx, to);
    if (out) {
        peermsg_encode_lsa(out, lsa);
        c->counters.lsa++;
    }
}

static route_lsa find_lsa(core *c, uint64_t id)
{
    for (size_t i = 0; i < route_lsa_count(c->rt); i++) {
        route_lsa l = route_lsa_at(c->rt, i);
        if (l.id == id)
            return l;
    }
    return (route_lsa){0};
}

/* Whether neighbour x certainly has lsa, which came to us from `from`: x
 * sent it, is its originator, or is one of the originator's neighbours and
 * we had it from the originator itself, who sends each LSA to every
 * neighbour it lists (advertise_self). Without the last rule a complete
 * graph of N servers floods every LSA N^2 times; with it, N-1. Should the
 * originator's frame to x be lost, its link to x is down, and the LSA
 * saying so reaches x through us; a link coming up exchanges all LSAs. */
static bool lsa_reached(const route_lsa *lsa, uint64_t from, uint64_t x)
{
    if (x == from || x == lsa->id)
        return true;
    if (from != lsa->id)
        return false;
    for (size_t i = 0; i < lsa->n_neighbours; i++)
        if (lsa->neighbours[i] == x)
            return true;
    return false;
}

/* Whether the link to n counts for routing: not one-way. */
static bool routed(const neighbour *n) { return !n->hold_out && !n->hold_in; }

/* Re-advertises this server's links to every neighbour. One-way links are
 * left out, so no spanning tree uses them. */
static void advertise_self(core *c)
{
    uint64_t *ids = xcalloc(c->n_nb ? c->n_nb : 1, sizeof *ids);
    size_t n_ids = 0;
    for (size_t i = 0; i < c->n_nb; i++)
        if (routed(&c->nb[i]))
            ids[n_ids++] = c->nb[i].peer;
    route_lsa mine = {c->self, c->meta.incarnation, ++c->lsa_seq, ids, n_ids};
    route_update(c->rt, &mine);
    free(ids);
    route_lsa stored = find_lsa(c, c->self);
    for (size_t i = 0; i < c->n_nb; i++)
        send_lsa(c, c->nb[i].peer, &stored);
    c->dirty = true;
}

int core_link_up(core *c, uint64_t peer, const peermsg *hello, dkv_err *err)
{
    if (check_own_seq(c, peer, vclock_get(hello->vc, c->self), err) < 0)
        return -1;
    neighbour *n = find_nb(c, peer);
    if (!n) {
        n = VEC_PUSH(c->nb, c->n_nb, c->cap_nb);
        n->peer = peer;
        n->known = vclock_new();
        n->resp = vclock_new();
    }
    vclock_copy(n->known, hello->vc);
    n->inc = hello->inc;
    n->ack_due = false;
    c->lsa_due = true;
    /* Database exchange: the new neighbour learns every LSA we hold that
     * its hello did not list (ours goes out with lsa_due). Without the
     * summary, a server joining a complete graph of k would be sent k LSAs
     * by each of its k new neighbours. */
    for (size_t i = 0; i < route_lsa_count(c->rt); i++) {
        route_lsa l = route_lsa_at(c->rt, i);
        if (l.id != c->self && !peer_has_lsa(hello, &l))
            send_lsa(c, peer, &l);
    }
    return 0;
}

static void keep_lsa_changed(core *c, uint64_t id, uint64_t from)
{
    /* Forwarded at the next tick: during churn (a server joining links to
     * everyone at once) each neighbour then gets the newest LSAs in one
     * burst instead of one wakeup per LSA. */
    vclock_set(c->lsa_fwd, id, from + 1);
    c->dirty = true;
}

/* What others said about n while it spoke for itself may be newer (it
 * changed its links as ours went down or was held, and could no longer
 * tell us): plausible hearsay counts now. */
static void take_hearsay(core *c, neighbour *n)
{
    lsa_copy *p = &n->pending;
    if (p->set && p->inc == n->inc && p->seq <= n->heard_seq + CORE_LSA_SEQ_JUMP) {
        route_lsa l = {n->peer, p->inc, p->seq, p->nb, p->n_nb};
        if (route_update(c->rt, &l))
            keep_lsa_changed(c, n->peer, p->from);
    }
    p->set = false;
}

void core_link_down(core *c, uint64_t peer)
{
    for (size_t i = 0; i < c->n_nb; i++)
        if (c->nb[i].peer == peer) {
            neighbour *n = &c->nb[i];
            take_hearsay(c, n);
            forget_nb(n);
            c->nb[i] = c->nb[--c->n_nb];
            c->lsa_due = true;
            return;
        }
}

void core_link_oneway(core *c, uint64_t peer, bool hold_out, bool hold_in)
{
    neighbour *n = find_nb(c, peer);
    if (!n || (n->hold_out == hold_out && n->hold_in == hold_in))
        return;
    /* Acks to it wait for the end of the block: one then says it all. */
    n->ack_due = !hold_out && (n->ack_due || n->hold_out);
    n->hold_out = hold_out;
    n->hold_in = hold_in;
    /* Its own LSAs no longer reach us: what others relay about it counts. */
    if (hold_in)
        take_hearsay(c, n);
    c->lsa_due = true;
    c->dirty = true;
}

/* An LSA about server m->id, relayed by neighbour `from`. A live
 * neighbour is the authority on itself: once it has sent its own LSA on
 * this link, hearsay about it is only kept aside (a forged message with a
 * huge incarnation would otherwise win for good), and weighed when the
 * link goes down. Before that first LSA, hearsay is all there is. */
static int on_lsa(core *c, neighbour *from, const peermsg *m, dkv_err *err)
{
    if (m->id == c->self)
        return 0; /* our own LSAs come only from us */
    route_lsa l = {m->id, m->inc, m->seq, m->nb, m->n_nb};
    if (m->id == from->peer) {
        if (m->inc != from->inc)
            return dkv_err_set(err, "LSA of incarnation %" PRIu64 " after a hello of %" PRIu64,
                               m->inc, from->inc);
        from->heard_seq = m->seq;
        if (route_replace(c->rt, &l))
            keep_lsa_changed(c, m->id, from->peer);
        return 0;
    }
    neighbour *about = find_nb(c, m->id);
    if (about && about->heard_seq && !about->hold_in) {
        lsa_copy *p = &about->pending;
        if (m->inc == about->inc && m->seq > about->heard_seq && (!p->set || m->seq > p->seq)) {
            free(p->nb);
            *p = (lsa_copy){true, from->peer, m->inc, m->seq,
                            xcalloc(m->n_nb ? m->n_nb : 1, sizeof *p->nb), m->n_nb};
            if (!p->nb)
                abort();
            if (m->n_nb)
                memcpy(p->nb, m->nb, m->n_nb * sizeof *p->nb);
        }
        return 0;
    }
    if (route_update(c->rt, &l))
        keep_lsa_changed(c, m->id, from->peer);
    return 0;
}

static int on_updates(core *c, neighbour *from, const peermsg *m, dkv_err *err)
{
    dkv_update *accepted = xcalloc(m->n_upd, sizeof *accepted);
    vclock *saved_vc = vclock_dup(c->meta.vc);
    uint64_t saved_lamport = c->meta.lamport;
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < m->n_upd; i++) {
        const dkv_update *u = &m->upd[i];
        uint64_t have = vclock_get(c->meta.vc, u->origin);
        if (vclock_get(from->known, u->origin) < u->seq)
            vclock_set(from->known, u->origin, u->seq);
        if (u->seq <= have) {
            c->counters.duplicates++;
            continue;
        }
        if (u->origin == c->self) {
            rc = check_own_seq(c, from->peer, u->seq, err);
            break;
        }
        if (u->seq != have + 1) {
            rc = dkv_err_set(err, "update %" PRIu64 ":%" PRIu64 " skips ahead of %" PRIu64,
                             u->origin, u->seq, have);
            break;
        }
        accepted[n++] = *u;
        vclock_set(c->meta.vc, u->origin, u->seq);
        if (u->lamport > c->meta.lamport)
            c->meta.lamport = u->lamport;
    }
    /* Updates accepted before a bad one are valid: keep them. Roll back only
     * what failed to become durable. */
    dkv_err store_err;
    if (n > 0 && store_apply(c->st, accepted, n, &c->meta, &store_err) < 0) {
        vclock_copy(c->meta.vc, saved_vc);
        c->meta.lamport = saved_lamport;
        dkv_err_set(err, "%s", store_err.msg);
        rc = CORE_LOCAL_FAILURE;
    } else if (n > 0) {
        c->counters.updates_applied += n;
        c->dirty = true;
    }
    /* Acks are cumulative: to a peer we hold frames for, one goes when the
     * block ends (core_link_oneway) instead of one per frame, held. */
    if (!from->hold_out)
        from->ack_due = true;
    vclock_free(saved_vc);
    free(accepted);
    return rc;
}

int core_on_message(core *c, uint64_t peer, const peermsg *m, dkv_err *err)
{
    neighbour *n = find_nb(c, peer);
    if (!n)
        return dkv_err_set(err, "message from %" PRIu64 ", which is not a neighbour", peer);
    switch (m->type) {
    case PEERMSG_UPD:
        return on_updates(c, n, m, err);
    case PEERMSG_ACK:
        if (check_own_seq(c, peer, vclock_get(m->vc, c->self), err) < 0)
            return -1;
        vclock_merge(n->known, m->vc);
        return 0;
    case PEERMSG_PING:
        return 0;
    case PEERMSG_LSA:
        return on_lsa(c, n, m, err);
    case PEERMSG_HELLO:
        return dkv_err_set(err, "second hello from %" PRIu64, peer);
    }
    return dkv_err_set(err, "unknown message");
}

int core_put(core *c, const uint8_t *key, size_t key_len, const uint8_t *value,
             size_t value_len, dkv_version dep, dkv_version *out, dkv_err *err)
{
    /* Move past the client's dependency first, so the write is ordered after
     * what its writer has seen even if this server has not seen it yet. */
    if (c->damaged)
        return dkv_err_set(err, "%s", c->damage.msg);
    if (dep.lamport > c->meta.lamport + DKV_DEP_SLACK || dep.lamport >= DKV_COUNTER_MAX)
        return dkv_err_set(err, "implausible dependency: Lamport counter %" PRIu64
                                " is far above this server's %" PRIu64,
                           dep.lamport, c->meta.lamport);
    uint64_t lamport = (dep.lamport > c->meta.lamport ? dep.lamport : c->meta.lamport) + 1;
    uint64_t seq = vclock_get(c->meta.vc, c->self) + 1;
    if (lamport > DKV_COUNTER_MAX || seq > DKV_COUNTER_MAX)
        return dkv_err_set(err, "this server's counters are exhausted");
    dkv_update u = {c->self, seq, lamport, key, key_len, value, value_len};
    uint64_t saved_lamport = c->meta.lamport;
    c->meta.lamport = lamport;
    vclock_set(c->meta.vc, c->self, seq);
    /* lamport is above every version this server has seen, the stored
     * one of key included: no need to read it. */
    if (store_apply_newest(c->st, &u, &c->meta, err) < 0) {
        c->meta.lamport = saved_lamport;
        vclock_set(c->meta.vc, c->self, seq - 1);
        return -1;
    }
    c->dirty = true;
    *out = record_update_version(&u);
    return 0;
}

/* Reads go through the core, which owns the store while it runs, so that
 * the core alone decides what a read sees. */
int core_get(core *c, const uint8_t *key, size_t key_len, bool *found, dkv_version *v,
             uint8_t **value, size_t *value_len, dkv_err *err)
{
    return store_get(c->st, key, key_len, found, v, value, value_len, err);
}

int core_scan(core *c, const uint8_t *after, size_t after_len, bool has_after, store_scan_fn fn,
              void *user, dkv_err *err)
{
    return store_scan(c->st, after, after_len, has_after, fn, user, err);
}

/* Does this server send origin's writes to peer? Down the origin's tree
 * when the origin is reachable; otherwise (its writes outlive it) to every
 * neighbour that lacks them. A neighbour that holds its frames to us gets
 * every write it lacks: its routing does not count the link, so no tree
 * asks us, and this is the one way its data can cross. */
static bool responsible(core *c, uint64_t origin, neighbour *n)
{
    if (n->hold_in)
        return true;
    uint64_t memo = vclock_get(n->resp, origin);
    if (memo)
        return memo == RESP_YES;
    bool yes = !route_in_component(c->rt, origin) ||
               route_is_parent(c->rt, origin, c->self, n->peer);
    vclock_set(n->resp, origin, yes ? RESP_YES : RESP_NO);
    return yes;
}

/* Pushes origin's writes (known, have] to n; false if the budget ran out. */
static bool push_origin(core *c, neighbour *n, buf *out, uint64_t origin, uint64_t have)
{
    uint64_t k = vclock_get(n->known, origin);
    bool done = true;
    while (k < have) {
        if (buf_unread(out) >= CORE_LINK_BUDGET) {
            done = false;
            break;
        }
        dkv_update u;
        uint8_t *owned = NULL;
        bool found = false;
        dkv_err err;
        int rc = store_log_get(c->st, origin, k + 1, &u, &owned, &found, &err);
        if (rc < 0 || !found) {
            /* The log keeps every write the clock counts, so a missing or
             * unreadable entry is a damaged store: the core stops pushing
             * (a retry would only fail again) and the server stops, saying
             * why, rather than send a gap. */
            if (!c->damaged) {
                c->damaged = true;
                if (rc == 0)
                    dkv_err_set(&err, "missing");
                c->damage = err;
                dkv_err_wrap(&c->damage, "the write log cannot give update %" PRIu64 ":%" PRIu64,
                             origin, k + 1);
            }
            break;
        }
        peermsg_upd_add(&c->ub, &u);
        free(owned);
        k++;
        c->counters.updates_sent++;
        if (peermsg_upd_full(&c->ub)) {
            peermsg_upd_flush(&c->ub, out);
            c->counters.upd++;
        }
    }
    vclock_set(n->known, origin, k);
    return done;
}

bool core_has_work(const core *c) { return c->dirty; }

bool core_acks_due(const core *c)
{
    for (size_t i = 0; i < c->n_nb; i++)
        if (c->nb[i].ack_due)
            return true;
    return false;
}

bool core_tick(core *c) { return core_tick_acks(c, true); }

bool core_lsas_due(const core *c) { return c->lsa_due || vclock_size(c->lsa_fwd) > 0; }

void core_send_lsas(core *c)
{
    if (c->lsa_due) {
        c->lsa_due = false;
        advertise_self(c);
    }
    for (size_t k = 0; k < vclock_size(c->lsa_fwd); k++) {
        vclock_entry e = vclock_at(c->lsa_fwd, k);
        route_lsa stored = find_lsa(c, e.id);
        for (size_t i = 0; i < c->n_nb; i++)
            if (!lsa_reached(&stored, e.seq - 1, c->nb[i].peer))
                send_lsa(c, c->nb[i].peer, &stored);
    }
    vclock_clear(c->lsa_fwd);
}

bool core_tick_acks(core *c, bool send_acks)
{
    core_send_lsas(c);
    bool more = false;
    bool push = c->dirty;
    c->dirty = false;
    if (c->resp_tree != route_tree_hash(c->rt)) {
        /* New forwarding duties. A neighbour this server now feeds may have
         * received much from others: tell every neighbour our clock first
         * and push on the next tick, by when their clocks (sent likewise)
         * have arrived, so little is sent twice. */
        c->resp_tree = route_tree_hash(c->rt);
        for (size_t i = 0; i < c->n_nb; i++) {
            vclock_clear(c->nb[i].resp);
            buf *out = c->ops.link_out(c->ops.ctx, c->nb[i].peer);
            if (out && !c->nb[i].hold_out) {
                peermsg_encode_ack(out, c->meta.vc);
                c->counters.ack++;
                c->nb[i].ack_due = false;
            }
        }
        c->dirty = true;
        return true;
    }
    for (size_t i = 0; i < c->n_nb; i++) {
        neighbour *n = &c->nb[i];
        buf *out = c->ops.link_out(c->ops.ctx, n->peer);
        if (!out)
            continue;
        if (push && !c->damaged) {
            size_t nv = vclock_size(c->meta.vc);
            for (size_t j = 0; j < nv && !c->damaged; j++) {
                vclock_entry e = vclock_at(c->meta.vc, j);
                if (vclock_get(n->known, e.id) >= e.seq || !responsible(c, e.id, n))
                    continue;
                /* A held link's budget frees only when the block ends
                 * (core_link_oneway then pushes again): no retry till then. */
                if (!push_origin(c, n, out, e.id, e.seq) && !n->hold_out)
                    more = true;
            }
            if (c->ub.n) {
                peermsg_upd_flush(&c->ub, out);
                c->counters.upd++;
            }
        }
        if (n->ack_due && send_acks) {
            peermsg_encode_ack(out, c->meta.vc);
            c->counters.ack++;
            n->ack_due = false;
        }
    }
    if (more)
        c->dirty = true;
    return more;
}

size_t core_neighbours(const core *c, uint64_t *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n_nb; i++) {
        if (!routed(&c->nb[i]))
            continue;
        if (k < cap)
            out[k] = c->nb[i].peer;
        k++;
    }
    /* Insertion sort: the list is short. */
    size_t m = k < cap ? k : cap;
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
            uint64_t t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return k;
}

size_t core_component(core *c, uint64_t *out, size_t cap)
{
    return route_component(c->rt, out, cap);
}

size_t core_lsa_count(const core *c) { return route_lsa_count(c->rt); }
route_lsa core_lsa_at(const core *c, size_t i) { return route_lsa_at(c->rt, i); }
bool core_tree_parent(core *c, uint64_t id, uint64_t *parent)
{
    return route_tree_parent(c->rt, id, parent);
}
