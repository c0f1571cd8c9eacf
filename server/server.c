/* server: one replica. Wiring of the protocol core to sockets: one poll
 * loop serves RPCs (from clients and the master) and peer links on a single
 * listening port; the first frame of a connection says which it is. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/daemon.h"
#include "../common/ids.h"
#include "../common/logrl.h"
#include "../common/loop.h"
#include "../common/net.h"
#include "../common/proto.h"
#include "../common/vec.h"
#include "../common/xalloc.h"
#include "core.h"
#include "links.h"

#define DUMP_PAGE_BYTES (1u << 20)

typedef enum conn_kind { CONN_NEW, CONN_RPC, CONN_PEER } conn_kind;

typedef struct conn_info {
    conn_kind kind;
    links_conn *lc; /* CONN_PEER: the links module's record */
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
} server;

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static const loop_handlers conn_handlers;

static server *the_server; /* set once in main; handlers reach it through here */

/* ---- links_ops: the links module's connections are the loop's ---- */

static void *peer_dial(void *ctx, links_conn *lc, const char *host, uint16_t port)
{
    server *s = ctx;
    dkv_err err;
    int fd = net_connect_start(host, port, &err);
    if (fd < 0)
        return NULL;
    conn_info *ci = xcalloc(1, sizeof *ci);
    ci->kind = CONN_PEER;
    ci->lc = lc;
    return loop_add(s->lp, fd, true, &conn_handlers, ci);
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
    (void)ctx;
    *io = (links_io){loop_conn_out(conn), loop_conn_pending(conn), loop_conn_last_rx(conn),
                     loop_conn_last_tx(conn)};
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
        if (ci->kind == CONN_PEER)
            ci->lc = links_accept(s->links, c);
    }
    if (ci->kind == CONN_RPC && f->kind == WIRE_CALL)
        rpc_serve_frame(s->rpc, f, s, loop_conn_out(c));
    else if (ci->kind == CONN_PEER && f->kind == WIRE_PEER)
        links_frame(s->links, ci->lc, f, net_now_us());
    else
        loop_close(c, "unexpected frame kind");
}

static void on_close(loop_conn *c, const char *why)
{
    (void)why;
    conn_info *ci = loop_conn_user(c);
    if (ci->lc)
        links_closed(the_server->links, ci->lc, net_now_us());
    free(ci);
}

static const loop_handlers conn_handlers = {on_frame, on_close, on_connected};

static void on_accept(loop *lp, int fd, void *user)
{
    (void)user;
    conn_info *ci = xcalloc(1, sizeof *ci);
    loop_add(lp, fd, false, &conn_handlers, ci);
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
 * as the link-state database sees it, and bytes still queued to peers. */
static int m_digest(void *ctx, const proto_none *a, proto_server_digest_reply *r, void **owned,
                    dkv_err *err)
{
    server *s = ctx;
    int64_t queued = links_digest(s->links, net_now_us());
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
                     a->seed};
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
                                    k->duplicates};
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
PROTO_SERVE(server_link_fault, m_link_fault)
static const proto_binding methods[] = {
    PROTO_BINDING(server_put),     PROTO_BINDING(server_get),
    PROTO_BINDING(server_digest),  PROTO_BINDING(server_dump),
    PROTO_BINDING(server_connect), PROTO_BINDING(server_connect_all),
    PROTO_BINDING(server_cut),     PROTO_BINDING(server_uncut),
    PROTO_BINDING(server_forget),  PROTO_BINDING(server_stats),
    PROTO_BINDING(server_link_fault),
};

static void usage(void)
{
    fprintf(stderr, "usage: server --id ID --data DIR --secret-file FILE [--listen HOST]\n"
                    "              [--ready-fd FD] [--sync] [--run-id RUN] [--rejoin]\n");
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
        {"secret-file", required_argument, 0, 'k'}, {0, 0, 0, 0}};
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
    daemon_install_signals(on_signal);
    rpc_global_init();
    the_server = &s;
    dkv_err err;
    if (start_server(&s, &args, &err) < 0) {
        auth_key_free(s.key);
        return start_failed(&s, args.ready_fd, &err);
    }

    status = serve(&s);
    /* The loop goes first: closing its connections ends their links. */
    loop_free(s.lp);
    links_free(s.links);
    store_close(s.st);
    rpc_server_free(s.rpc);
    logrl_free(s.log);
    auth_key_free(s.key);
    return status;
}
