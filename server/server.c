/* server: one replica. Wiring of the protocol core to sockets: one poll
 * loop serves RPCs (from clients and the master) and peer links on a single
 * listening port; the first frame of a connection says which it is. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/daemon.h"
#include "../common/ids.h"
#include "../common/logrl.h"
#include "../common/loop.h"
#include "../common/net.h"
#include "../common/proto.h"
#include "../common/stamp.h"
#include "../common/vec.h"
#include "../common/xalloc.h"
#include "core.h"
#include "links.h"
#include "trace.h"

#define DUMP_PAGE_BYTES (1u << 20)

typedef enum conn_kind { CONN_NEW, CONN_RPC, CONN_PEER } conn_kind;

typedef struct conn_info {
    conn_kind kind;
    links_conn *lc; /* CONN_PEER: the links module's record */
    /* --trace: what the links module writes to this peer waits here until
     * the frames are logged and moved to the connection (trace_release),
     * right before the loop sends them; the traced peer connections form
     * a list. Unused without --trace. */
    buf staged;
    loop_conn *conn;
    struct conn_info *prev, *next;
} conn_info;

typedef struct server {
    uint64_t id;
    logrl *log;
    char listen_host[256];
    store *st;
    core *core;
    links *links;
    loop *lp;
    rpc_server *rpc;
    auth_key *key; /* the cluster's: every connection proves it */
    bool trace;     /* --trace: log every peer frame */
    conn_info *traced; /* --trace: the peer connections */
} server;

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static const loop_handlers conn_handlers;

static server *the_server; /* set once in main; handlers reach it through here */

/* ---- --trace ---- */

/* Bytes a traced link may have in the loop's output before its frames
 * wait in staging instead: the core's budget per link (core.c) then sees
 * them and pauses, as without --trace. */
#define TRACE_HOLD_BYTES (256u << 10)

static conn_info *conn_info_new(server *s, conn_kind kind)
{
    conn_info *ci = xcalloc(1, sizeof *ci);
    ci->kind = kind;
    buf_init(&ci->staged);
    if (kind == CONN_PEER && s->trace) {
        ci->next = s->traced;
        if (s->traced)
            s->traced->prev = ci;
        s->traced = ci;
    }
    return ci;
}

/* A connection turned out to carry a peer link: traced from now on. */
static void conn_info_peer(server *s, conn_info *ci)
{
    ci->kind = CONN_PEER;
    if (s->trace && !ci->prev && s->traced != ci) {
        ci->next = s->traced;
        if (s->traced)
            s->traced->prev = ci;
        s->traced = ci;
    }
}

static void conn_info_free(server *s, conn_info *ci)
{
    if (ci->prev)
        ci->prev->next = ci->next;
    else if (s->traced == ci)
        s->traced = ci->next;
    if (ci->next)
        ci->next->prev = ci->prev;
    buf_free(&ci->staged);
    free(ci);
}

/* Logs each frame staged for a traced peer and moves it to the
 * connection's output, unless that is already full (TRACE_HOLD_BYTES). */
static void trace_release(server *s)
{
    for (conn_info *ci = s->traced; ci; ci = ci->next) {
        loop_conn *c = ci->conn;
        if (!c || buf_unread(&ci->staged) == 0 || loop_conn_pending(c) >= TRACE_HOLD_BYTES)
            continue;
        size_t moved = 0;
        for (;;) {
            wire_frame f;
            size_t used;
            dkv_err err;
            int rc = wire_decode(buf_head(&ci->staged) + moved, buf_unread(&ci->staged) - moved,
                                 &f, &used, &err);
            if (rc <= 0)
                break; /* whole frames only: this module wrote them */
            trace_frame(stderr, s->id, true, ci->lc ? links_conn_peer(ci->lc) : 0, &f);
            moved += used;
        }
        buf_append(loop_conn_out(c), buf_head(&ci->staged), moved);
        buf_consume(&ci->staged, moved);
    }
}

/* ---- links_ops: the links module's connections are the loop's ---- */

static void *peer_dial(void *ctx, links_conn *lc, const char *host, uint16_t port)
{
    server *s = ctx;
    dkv_err err;
    int fd = net_connect_start(host, port, &err);
    if (fd < 0)
        return NULL;
    conn_info *ci = conn_info_new(s, CONN_PEER);
    ci->lc = lc;
    ci->conn = loop_add(s->lp, fd, true, &conn_handlers, ci);
    return ci->conn;
}

static void peer_close(void *ctx, void *conn, const char *why)
{
    (void)ctx;
    loop_close(conn, why);
}

static void peer_reset(void *ctx, void *conn, const char *why)
{
    (void)ctx;
    loop_abort(conn, why);
}

static void peer_io(void *ctx, void *conn, links_io *io)
{
    server *s = ctx;
    *io = (links_io){loop_conn_out(conn), loop_conn_pending(conn), loop_conn_last_rx(conn),
                     loop_conn_last_tx(conn)};
    if (s->trace) {
        conn_info *ci = loop_conn_user(conn);
        io->out = &ci->staged;
        io->pending += buf_unread(&ci->staged);
    }
}

static void peer_live(void *ctx, void *conn)
{
    (void)ctx;
    loop_conn_set_evictable(conn, false); /* a peer link is never closed to make room */
}

/* ---- loop handlers ---- */

static void on_connected(loop_conn *c)
{
    const conn_info *ci = loop_conn_user(c);
    links_connected(the_server->links, ci->lc);
}

static void on_frame(loop_conn *c, const wire_frame *f)
{
    server *s = the_server;
    conn_info *ci = loop_conn_user(c);
    if (ci->kind == CONN_NEW) {
        ci->kind = f->kind == WIRE_PEER ? CONN_PEER : CONN_RPC;
        if (ci->kind == CONN_PEER) {
            conn_info_peer(s, ci);
            ci->lc = links_accept(s->links, c);
        }
    }
    if (ci->kind == CONN_RPC && f->kind == WIRE_CALL)
        rpc_serve_frame(s->rpc, f, s, loop_conn_out(c));
    else if (ci->kind == CONN_PEER && f->kind == WIRE_PEER) {
        if (s->trace)
            trace_frame(stderr, s->id, false, links_conn_peer(ci->lc), f);
        links_frame(s->links, ci->lc, f, net_now_us());
    }
    else
        loop_close(c, "unexpected frame kind");
}

static void on_close(loop_conn *c, const char *why)
{
    (void)why;
    conn_info *ci = loop_conn_user(c);
    if (ci->lc)
        links_closed(the_server->links, ci->lc, net_now_us());
    conn_info_free(the_server, ci);
}

static const loop_handlers conn_handlers = {on_frame, on_close, on_connected};

static void on_accept(loop *lp, int fd, void *user)
{
    conn_info *ci = conn_info_new(user, CONN_NEW);
    ci->conn = loop_add(lp, fd, false, &conn_handlers, ci);
}

/* ---- RPC methods (their layouts and limits: common/proto.h) ---- */

static int m_put(void *ctx, const proto_server_put_args *a, proto_server_put_reply *r,
                 void **owned, dkv_err *err)
{
    server *s = ctx;
    return core_put(s->core, a->key.p, a->key.n, a->value.p, a->value.n, a->dep, &r->version,
                    err);
}

static int m_get(void *ctx, const proto_server_get_args *a, proto_server_get_reply *r,
                 void **owned, dkv_err *err)
{
    server *s = ctx;
    uint8_t *val = NULL;
    size_t vl = 0;
    if (core_get(s->core, a->key.p, a->key.n, &r->found, &r->version, &val, &vl, err) < 0)
        return -1;
    *owned = val;
    r->value = (proto_bytes){val, r->found ? vl : 0};
    return 0;
}

/* A dump page as it is collected: entries' bytes at offsets into data,
 * which moves as it grows. */
typedef struct dump_ctx {
    struct dump_item {
        size_t key, kl, val, vl;
        dkv_version v;
    } *items;
    size_t n, cap;
    buf data;
    bool more;
} dump_ctx;

static int dump_one(void *user, const uint8_t *key, size_t kl, dkv_version v, const uint8_t *val,
                    size_t vl)
{
    dump_ctx *d = user;
    if (d->data.len > 0 && d->data.len + kl + vl > DUMP_PAGE_BYTES) {
        d->more = true;
        return 1;
    }
    size_t at = d->data.len;
    *VEC_PUSH(d->items, d->n, d->cap) = (struct dump_item){at, kl, at + kl, vl, v};
    buf_append(&d->data, key, kl);
    buf_append(&d->data, val, vl);
    return 0;
}

/* One page of the store, in key order, after `after` (when has_after). */
static int m_dump(void *ctx, const proto_server_dump_args *a, proto_server_dump_reply *r,
                  void **owned, dkv_err *err)
{
    server *s = ctx;
    dump_ctx d = {0};
    buf_init(&d.data);
    int rc = core_scan(s->core, a->after.p, a->after.n, a->has_after, dump_one, &d, err);
    if (rc == 0) {
        /* One block owns the entries and their bytes until the reply is
         * encoded. */
        proto_entry *e = xmalloc(d.n * sizeof *e + d.data.len);
        uint8_t *bytes = (uint8_t *)(e + d.n);
        if (d.data.len)
            memcpy(bytes, d.data.data, d.data.len);
        for (size_t i = 0; i < d.n; i++)
            e[i] = (proto_entry){{bytes + d.items[i].key, d.items[i].kl},
                                 {bytes + d.items[i].val, d.items[i].vl},
                                 d.items[i].v};
        *owned = e;
        r->entries = e;
        r->n_entries = d.n;
        r->more = d.more;
    }
    free(d.items);
    buf_free(&d.data);
    return rc;
}

static char *format_ids(const uint64_t *ids, size_t n)
{
    char *out = xmalloc(n * 21 + 1);
    char *q = out;
    *q = '\0';
    for (size_t i = 0; i < n; i++)
        q += sprintf(q, "%s%" PRIu64, i ? "," : "", ids[i]);
    return out;
}

/* What stabilize compares: the clock, the live links, the reachable group
 * as the link-state database sees it, and bytes still queued to peers. An
 * LSA about to leave (within LINKS_LSA_DELAY_US) counts as a queued byte:
 * a link change that leaves the group as it was must still reach every
 * link-state database before stabilize returns, or showServer right after
 * it would show an LSA that is about to change. */
static int m_digest(void *ctx, const proto_none *a, proto_server_digest_reply *r, void **owned,
                    dkv_err *err)
{
    server *s = ctx;
    int64_t queued = links_digest(s->links, net_now_us()) + core_lsas_due(s->core);
    size_t nn = core_neighbours(s->core, NULL, 0);
    uint64_t *ids = xcalloc(nn + 1, sizeof *ids);
    nn = core_neighbours(s->core, ids, nn);
    char *neighbours = format_ids(ids, nn);
    free(ids);
    size_t ng = core_component(s->core, NULL, 0);
    ids = xcalloc(ng + 1, sizeof *ids);
    core_component(s->core, ids, ng);
    char *group = format_ids(ids, ng);
    free(ids);
    char *vc = vclock_format(core_vclock(s->core));
    /* One block owns the three strings until the reply is encoded. */
    size_t lv = strlen(vc) + 1, ll = strlen(neighbours) + 1, lg = strlen(group) + 1;
    char *block = xmalloc(lv + ll + lg);
    memcpy(block, vc, lv);
    memcpy(block + lv, neighbours, ll);
    memcpy(block + lv + ll, group, lg);
    free(vc);
    free(neighbours);
    free(group);
    *owned = block;
    *r = (proto_server_digest_reply){block, block + lv, block + lv + ll, queued};
    return 0;
}

static int not_self(const server *s, const proto_peer *p, dkv_err *err)
{
    if (p->id == s->id) {
        dkv_err_set(err, "a server cannot link to itself");
        return PROTO_REFUSED;
    }
    return 0;
}

static int m_connect(void *ctx, const proto_peer *a, proto_none *r, void **owned, dkv_err *err)
{
    server *s = ctx;
    int rc = not_self(s, a, err);
    if (rc == 0)
        links_want(s->links, a->id, a->host, a->port, net_now_us());
    return rc;
}

/* connect for many peers in one call. All are checked before any is used. */
static int m_connect_all(void *ctx, const proto_server_connect_all_args *a, proto_none *r,
                         void **owned, dkv_err *err)
{
    server *s = ctx;
    for (size_t i = 0; i < a->n_peers; i++)
        if (not_self(s, &a->peers[i], err) < 0)
            return PROTO_REFUSED;
    for (size_t i = 0; i < a->n_peers; i++)
        links_want(s->links, a->peers[i].id, a->peers[i].host, a->peers[i].port, net_now_us());
    return 0;
}

static int m_cut(void *ctx, const proto_id *a, proto_none *r, void **owned, dkv_err *err)
{
    server *s = ctx;
    links_cut(s->links, a->id, true);
    return 0;
}

static int m_uncut(void *ctx, const proto_id *a, proto_none *r, void **owned, dkv_err *err)
{
    server *s = ctx;
    links_cut(s->links, a->id, false);
    return 0;
}

/* forget(peer): the peer was killed; stop dialling its old address, which
 * may soon belong to someone else. A later connect gives the new one. */
static int m_forget(void *ctx, const proto_id *a, proto_none *r, void **owned, dkv_err *err)
{
    server *s = ctx;
    links_forget(s->links, a->id);
    return 0;
}

/* link_fault(peer, ...): how the link to peer misbehaves (links_set_fault). */
static int m_link_fault(void *ctx, const proto_server_link_fault_args *a, proto_none *r,
                        void **owned, dkv_err *err)
{
    server *s = ctx;
    if (a->peer == s->id) {
        dkv_err_set(err, "a server has no link to itself");
        return PROTO_REFUSED;
    }
    links_fault f = {a->delay_ms * 1000, a->jitter_ms * 1000, (int)a->flaky_pct, a->held,
                     a->seed, a->hold_out, a->hold_in};
    links_set_fault(s->links, a->peer, &f);
    return 0;
}

static int m_stats(void *ctx, const proto_none *a, proto_server_stats_reply *r, void **owned,
                   dkv_err *err)
{
    server *s = ctx;
    const core_counters *k = core_get_counters(s->core);
    *r = (proto_server_stats_reply){k->hello,        k->upd,
                                    k->ack,          k->lsa,
                                    k->updates_sent, k->updates_applied,
                                    k->duplicates,
                                    links_get_counters(s->links)->pings};
    return 0;
}

/* ---- show: the server's view, for showServer ---- */

static int cmp_id(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every server the view names: linked, in the link-state database or
 * counted by the clock; ascending, each once. Returns the count. */
static size_t view_ids(server *s, uint64_t **out)
{
    const vclock *vc = core_vclock(s->core);
    size_t nl = links_count(s->links), na = core_lsa_count(s->core), nv = vclock_size(vc);
    uint64_t *ids = xcalloc(nl + na + nv + 1, sizeof *ids);
    size_t n = 0;
    for (size_t i = 0; i < nl; i++)
        ids[n++] = links_view_at(s->links, i).peer;
    for (size_t i = 0; i < na; i++)
        ids[n++] = core_lsa_at(s->core, i).id;
    for (size_t i = 0; i < nv; i++)
        ids[n++] = vclock_at(vc, i).id;
    ids[n++] = s->id;
    qsort(ids, n, sizeof *ids, cmp_id);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || ids[u - 1] != ids[i])
            ids[u++] = ids[i];
    *out = ids;
    return u;
}

static proto_link link_kind(links_state st)
{
    switch (st) {
    case LINKS_UP: return PROTO_LINK_UP;
    case LINKS_DIALLING: return PROTO_LINK_DIALLING;
    case LINKS_HELD: return PROTO_LINK_HELD;
    case LINKS_DOWN: break;
    }
    return PROTO_LINK_DOWN;
}

/* Fills node n (of id) but for its LSA's neighbours; adds its link's
 * queued bytes to *queued. */
static void view_node(server *s, proto_show_node *n, uint64_t id, const uint64_t *group,
                      size_t ng, int64_t now, int64_t *queued)
{
    *n = (proto_show_node){.id = id, .heard_ms = -1, .lsa_nb = ""};
    for (size_t i = 0; i < links_count(s->links); i++) {
        links_view v = links_view_at(s->links, i);
        if (v.peer != id)
            continue;
        n->link = link_kind(v.state);
        if (v.state == LINKS_UP) {
            n->heard_ms = now > v.last_rx ? (now - v.last_rx) / 1000 : 0;
            *queued += (int64_t)v.pending;
        }
    }
    n->in_group = bsearch(&id, group, ng, sizeof *group, cmp_id) != NULL;
    n->has_parent = n->in_group && core_tree_parent(s->core, id, &n->parent);
    n->applied = vclock_get(core_vclock(s->core), id);
}

static int m_show(void *ctx, const proto_none *a, proto_server_show_reply *r, void **owned,
                  dkv_err *err)
{
    server *s = ctx;
    int64_t now = net_now_us();
    uint64_t *ids;
    size_t n = view_ids(s, &ids);
    size_t ng = core_component(s->core, NULL, 0);
    uint64_t *group = xcalloc(ng + 1, sizeof *group);
    core_component(s->core, group, ng);
    /* Each id's LSA (its index, or SIZE_MAX) and its neighbours as text,
     * at an offset into one buffer. */
    buf text;
    buf_init(&text);
    size_t *lsa = xcalloc(n + 1, sizeof *lsa), *nb_at = xcalloc(n + 1, sizeof *nb_at);
    size_t na = core_lsa_count(s->core);
    for (size_t i = 0; i < n; i++) {
        lsa[i] = SIZE_MAX;
        for (size_t k = 0; k < na && lsa[i] == SIZE_MAX; k++) {
            route_lsa l = core_lsa_at(s->core, k);
            if (l.id != ids[i])
                continue;
            lsa[i] = k;
            nb_at[i] = text.len;
            char *t = format_ids(l.neighbours, l.n_neighbours);
            buf_append(&text, t, strlen(t) + 1);
            free(t);
        }
    }
    /* One block owns the nodes and their text until the reply is encoded. */
    proto_show_node *nodes = xmalloc(n * sizeof *nodes + text.len + 1);
    char *chars = (char *)(nodes + n);
    if (text.len)
        memcpy(chars, text.data, text.len);
    *r = (proto_server_show_reply){s->id, core_incarnation(s->core), core_lamport(s->core), 0,
                                   nodes, n};
    for (size_t i = 0; i < n; i++) {
        proto_show_node *nd = &nodes[i];
        view_node(s, nd, ids[i], group, ng, now, &r->queued);
        if (lsa[i] == SIZE_MAX)
            continue;
        route_lsa l = core_lsa_at(s->core, lsa[i]);
        nd->has_lsa = true;
        nd->lsa_inc = l.incarnation;
        nd->lsa_seq = l.seq;
        nd->lsa_nb = chars + nb_at[i];
    }
    *owned = nodes;
    free(lsa);
    free(nb_at);
    buf_free(&text);
    free(group);
    free(ids);
    return 0;
}

PROTO_SERVE(server_put, m_put)
PROTO_SERVE(server_get, m_get)
PROTO_SERVE(server_digest, m_digest)
PROTO_SERVE(server_dump, m_dump)
PROTO_SERVE(server_connect, m_connect)
PROTO_SERVE(server_connect_all, m_connect_all)
PROTO_SERVE(server_cut, m_cut)
PROTO_SERVE(server_uncut, m_uncut)
PROTO_SERVE(server_forget, m_forget)
PROTO_SERVE(server_stats, m_stats)
PROTO_SERVE(server_show, m_show)
PROTO_SERVE(server_link_fault, m_link_fault)
static const proto_binding methods[] = {
    PROTO_BINDING(server_put),     PROTO_BINDING(server_get),
    PROTO_BINDING(server_digest),  PROTO_BINDING(server_dump),
    PROTO_BINDING(server_connect), PROTO_BINDING(server_connect_all),
    PROTO_BINDING(server_cut),     PROTO_BINDING(server_uncut),
    PROTO_BINDING(server_forget),  PROTO_BINDING(server_stats),
    PROTO_BINDING(server_show),
    PROTO_BINDING(server_link_fault),
};

static void usage(void)
{
    fprintf(stderr, "usage: server --id ID --data DIR --secret-file FILE [--listen HOST]\n"
                    "              [--ready-fd FD] [--sync] [--run-id RUN] [--rejoin] [--trace]\n");
}

/* Start-up failed: say why to whoever waits on ready_fd (the watchdog
 * passes it on), or on stderr when started by hand. */
static int start_failed(const server *s, int ready_fd, const dkv_err *err)
{
    if (ready_fd < 0)
        fprintf(stderr, "server %" PRIu64 ": %s\n", s->id, err->msg);
    daemon_report_failure(ready_fd, err->msg);
    return 1;
}

/* The server's loop: the links' timers, then the sockets, until a signal
 * or a damaged store stops it. Returns the exit status. */
static int serve(server *s)
{
    while (!stop_requested) {
        int64_t now = net_now_us();
        if (core_damage(s->core)) {
            fprintf(stderr, "server %" PRIu64 ": stopping: %s\n", s->id, core_damage(s->core));
            return 1;
        }
        int64_t wait_us = links_tick(s->links, now) - now;
        if (s->trace)
            trace_release(s); /* what the loop sends next, logged first */
        loop_run_once(s->lp, (int)(wait_us > 0 ? (wait_us + 999) / 1000 : 0));
    }
    return 0;
}

/* The command line, beyond what goes into the server itself. */
typedef struct server_args {
    const char *data, *run_id, *secret_file;
    int ready_fd;
    bool sync, rejoin;
} server_args;

/* Reads the options into s (id, listen host) and a. False when the server
 * must exit at once, with *status (0 after --help, 2 on a usage error). */
static bool parse_args(int argc, char **argv, server *s, server_args *a, int *status)
{
    static const struct option opts[] = {
        {"id", required_argument, 0, 'i'},     {"data", required_argument, 0, 'd'},
        {"listen", required_argument, 0, 'l'}, {"ready-fd", required_argument, 0, 'r'},
        {"sync", no_argument, 0, 's'},         {"help", no_argument, 0, 'h'},
        {"run-id", required_argument, 0, 'R'}, {"rejoin", no_argument, 0, 'j'},
        {"secret-file", required_argument, 0, 'k'}, {"trace", no_argument, 0, 't'},
        {0, 0, 0, 0}};
    snprintf(s->listen_host, sizeof s->listen_host, "127.0.0.1");
    *a = (server_args){.run_id = "", .ready_fd = -1};
    *status = 2;
    const char *id_text = NULL;
    dkv_err err;
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        uint64_t v;
        switch (o) {
        case 'i': id_text = optarg; break;
        case 'd': a->data = optarg; break;
        case 'l': snprintf(s->listen_host, sizeof s->listen_host, "%s", optarg); break;
        case 'r':
            if (ids_parse_u64(optarg, 1 << 20, &v, &err) < 0) {
                fprintf(stderr, "server: --ready-fd: %s\n", err.msg);
                return false;
            }
            a->ready_fd = (int)v;
            break;
        case 's': a->sync = true; break;
        case 'R': a->run_id = optarg; break;
        case 'j': a->rejoin = true; break;
        case 'k': a->secret_file = optarg; break;
        case 't': s->trace = true; break;
        case 'h': usage(); *status = 0; return false;
        default: usage(); return false;
        }
    }
    if (!id_text || !a->data || !a->secret_file || optind != argc) {
        usage();
        return false;
    }
    if (ids_parse(id_text, &s->id, &err) < 0) {
        fprintf(stderr, "server: --id: %s\n", err.msg);
        return false;
    }
    if (!peermsg_run_id_valid(a->run_id)) {
        fprintf(stderr, "server: --run-id: at most %d letters, digits, '-' or '_'\n",
                PEERMSG_RUN_MAX);
        return false;
    }
    return true;
}

/* Opens the store, starts the links (and their core) and listens; reports
 * the port on a->ready_fd. -1 with err when any of it fails (nothing is
 * left open). */
static int start_server(server *s, const server_args *a, dkv_err *err)
{
    s->key = auth_key_load(a->secret_file, err);
    if (!s->key)
        return -1;
    s->st = store_open(a->data,
                       &(store_options){.sync = a->sync, .must_exist = a->rejoin, .self = s->id},
                       err);
    if (!s->st)
        return -1;
    s->log = logrl_new(stderr, 1000000);
    links_ops ops = {s, peer_dial, peer_close, peer_io, peer_live, peer_reset};
    s->links = links_new(&(links_config){s->id, a->run_id, s->st, s->log}, &ops, err);
    if (!s->links) {
        logrl_free(s->log);
        store_close(s->st);
        return -1;
    }
    s->core = links_core(s->links);
    uint16_t port;
    int lfd = net_listen(s->listen_host, 0, &port, err);
    if (lfd < 0) {
        links_free(s->links);
        logrl_free(s->log);
        store_close(s->st);
        return -1;
    }
    s->lp = loop_new();
    loop_set_auth(s->lp, s->key);
    char name[64];
    snprintf(name, sizeof name, "server %" PRIu64, s->id);
    loop_set_name(s->lp, name);
    loop_listen(s->lp, lfd, on_accept, s);
    s->rpc = proto_server_new(PROTO_SERVER, methods, sizeof methods / sizeof methods[0]);
    fprintf(stderr, "server %" PRIu64 ": started (pid %d), listening on %s:%u, incarnation %" PRIu64
                    "%s\n",
            s->id, (int)getpid(), s->listen_host, port, core_incarnation(s->core),
            s->trace ? ", tracing peer frames" : "");
    daemon_report_ready(a->ready_fd, port);
    return 0;
}

int main(int argc, char **argv)
{
    server s;
    memset(&s, 0, sizeof s);
    server_args args;
    int status;
    if (!parse_args(argc, argv, &s, &args, &status))
        return status;
    /* stderr is this server's log (the watchdog points it at
     * RUN_DIR/server-ID.log): every line gets a timestamp. Whatever
     * writes to fd 2 directly (a sanitizer, valgrind) goes unstamped. */
    FILE *plain_stderr = stderr, *log = stamp_open(STDERR_FILENO);
    if (log)
        stderr = log;
    daemon_install_signals(on_signal);
    rpc_global_init();
    the_server = &s;
    dkv_err err;
    if (start_server(&s, &args, &err) < 0) {
        auth_key_free(s.key);
        status = start_failed(&s, args.ready_fd, &err);
    } else {
        status = serve(&s);
        fprintf(stderr, "server %" PRIu64 ": stopping (exit status %d)\n", s.id, status);
        /* The loop goes first: closing its connections ends their links. */
        loop_free(s.lp);
        links_free(s.links);
        store_close(s.st);
        rpc_server_free(s.rpc);
        logrl_free(s.log);
        auth_key_free(s.key);
    }
    if (log) {
        stderr = plain_stderr;
        fclose(log);
    }
    return status;
}

