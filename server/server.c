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
#include "../common/rpc.h"
#include "../common/rpcargs.h"
#include "../common/token.h"
#include "core.h"
#include "links.h"
#include "../common/xalloc.h"

#define MAX_KEY DKV_MAX_KEY
#define MAX_VALUE DKV_MAX_VALUE
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

/* ---- RPC methods ---- */

static xmlrpc_value *fail(xmlrpc_env *env, const dkv_err *err)
{
    xmlrpc_env_set_fault(env, RPCARGS_FAILED, err->msg);
    return NULL;
}

/* put(key, value, dep_lamport, dep_origin) -> [lamport, origin] */
static int m_put_value(void *ci, const rpcflat_msg *args, rpc_flat_reply *reply, dkv_err *err)
{
    server *s = ci;
    if (rpc_flat_args(args, "bbii", reply, err) < 0 ||
        rpc_flat_range(args, 0, 0, MAX_KEY, reply, err) < 0 ||
        rpc_flat_range(args, 1, 0, MAX_VALUE, reply, err) < 0 ||
        rpc_flat_range(args, 2, 0, (int64_t)DKV_COUNTER_MAX, reply, err) < 0 ||
        rpc_flat_range(args, 3, 0, (int64_t)DKV_ID_MAX, reply, err) < 0)
        return -1;
    const rpcflat_val *key = rpcflat_at(args, 0), *val = rpcflat_at(args, 1);
    if (token_check("key", key->p, key->n, MAX_KEY, err) < 0 ||
        token_check("value", val->p, val->n, MAX_VALUE, err) < 0) {
        reply->fault_code = RPCARGS_BAD_REQUEST;
        return -1;
    }
    dkv_version dep = {(uint64_t)rpcflat_at(args, 2)->i, (uint64_t)rpcflat_at(args, 3)->i};
    dkv_version v;
    if (core_put(s->core, key->p, key->n, val->p, val->n, dep, &v, err) < 0)
        return -1;
    reply->vals[0] = rpcflat_int((int64_t)v.lamport);
    reply->vals[1] = rpcflat_int((int64_t)v.origin);
    reply->n = 2;
    return 0;
}

/* get(key) -> [found, value, lamport, origin] */
static int m_get_value(void *ci, const rpcflat_msg *args, rpc_flat_reply *reply, dkv_err *err)
{
    server *s = ci;
    if (rpc_flat_args(args, "b", reply, err) < 0 ||
        rpc_flat_range(args, 0, 0, MAX_KEY, reply, err) < 0)
        return -1;
    const rpcflat_val *key = rpcflat_at(args, 0);
    if (token_check("key", key->p, key->n, MAX_KEY, err) < 0) {
        reply->fault_code = RPCARGS_BAD_REQUEST;
        return -1;
    }
    bool found;
    dkv_version v = {0, 0};
    uint8_t *val = NULL;
    size_t vl = 0;
    if (core_get(s->core, key->p, key->n, &found, &v, &val, &vl, err) < 0)
        return -1;
    reply->owned = val;
    reply->vals[0] = rpcflat_bool(found);
    reply->vals[1] = rpcflat_bytes(found ? val : (const uint8_t *)"", found ? vl : 0);
    reply->vals[2] = rpcflat_int((int64_t)v.lamport);
    reply->vals[3] = rpcflat_int((int64_t)v.origin);
    reply->n = 4;
    return 0;
}

typedef struct dump_ctx {
    xmlrpc_env *env;
    xmlrpc_value *list;
    size_t bytes;
    bool more;
} dump_ctx;

static int dump_one(void *user, const uint8_t *key, size_t kl, dkv_version v, const uint8_t *val,
                    size_t vl)
{
    dump_ctx *d = user;
    if (d->bytes > 0 && d->bytes + kl + vl > DUMP_PAGE_BYTES) {
        d->more = true;
        return 1;
    }
    xmlrpc_value *pair = xmlrpc_build_value(d->env, "(66II)", key, kl, val, vl,
                                            (xmlrpc_int64)v.lamport, (xmlrpc_int64)v.origin);
    if (d->env->fault_occurred)
        return 1;
    xmlrpc_array_append_item(d->env, d->list, pair);
    xmlrpc_DECREF(pair);
    d->bytes += kl + vl;
    return d->env->fault_occurred;
}

/* One page of the store, in key order, after `after` (when has_after). */
static xmlrpc_value *m_dump(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    server *s = ci;
    unsigned char *after = NULL;
    size_t al;
    int64_t has_after;
    if (rpcargs_count(env, p, 2) < 0 || rpcargs_bytes(env, p, 0, MAX_KEY, &after, &al) < 0 ||
        rpcargs_int(env, p, 1, 0, 1, &has_after) < 0) {
        free(after);
        return NULL;
    }
    dump_ctx d = {env, xmlrpc_array_new(env), 0, false};
    dkv_err err;
    if (core_scan(s->core, after, al, has_after, dump_one, &d, &err) < 0)
        fail(env, &err);
    free(after);
    xmlrpc_value *res = NULL;
    if (!env->fault_occurred)
        res = xmlrpc_build_value(env, "{s:A,s:b}", "entries", d.list, "more", (xmlrpc_bool)d.more);
    xmlrpc_DECREF(d.list);
    return res;
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
/* digest() -> [vc, links, group, queued]. Polled by stabilize, so it is
 * on the fast path too. */
static int m_digest(void *ci, const rpcflat_msg *args, rpc_flat_reply *reply, dkv_err *err)
{
    server *s = ci;
    if (rpc_flat_args(args, "", reply, err) < 0)
        return -1;
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
    reply->owned = block;
    reply->vals[0] = rpcflat_string(block);
    reply->vals[1] = rpcflat_string(block + lv);
    reply->vals[2] = rpcflat_string(block + lv + ll);
    reply->vals[3] = rpcflat_int(queued);
    reply->n = 4;
    return 0;
}

/* Reads one (peer, host, port) link description from params. */
static int link_args(xmlrpc_env *env, xmlrpc_value *p, server *s, uint64_t *peer, char **host,
                     int64_t *port)
{
    *host = NULL;
    if (rpcargs_count(env, p, 3) < 0 || rpcargs_id(env, p, 0, peer) < 0 ||
        rpcargs_string(env, p, 1, 255, host) < 0 || rpcargs_int(env, p, 2, 1, 65535, port) < 0)
        return -1;
    if (*peer == s->id) {
        xmlrpc_env_set_fault(env, RPCARGS_BAD_REQUEST, "a server cannot link to itself");
        return -1;
    }
    return 0;
}

static xmlrpc_value *m_connect(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    server *s = ci;
    uint64_t peer;
    char *host;
    int64_t port;
    if (link_args(env, p, s, &peer, &host, &port) == 0)
        links_want(s->links, peer, host, (uint16_t)port, net_now_us());
    free(host);
    return env->fault_occurred ? NULL : xmlrpc_bool_new(env, 1);
}

/* connect for many peers in one call: params is one array of
 * [peer, host, port] arrays. All are checked before any is used. */
static xmlrpc_value *m_connect_all(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    server *s = ci;
    xmlrpc_value *list = NULL;
    if (rpcargs_count(env, p, 1) < 0)
        return NULL;
    xmlrpc_array_read_item(env, p, 0, &list);
    if (env->fault_occurred)
        return NULL;
    int n = xmlrpc_value_type(list) == XMLRPC_TYPE_ARRAY ? xmlrpc_array_size(env, list) : -1;
    if (n < 0)
        xmlrpc_env_set_fault(env, RPCARGS_BAD_REQUEST, "argument 1 is not a list");
    for (int pass = 0; pass < 2 && !env->fault_occurred; pass++)
        for (int i = 0; i < n && !env->fault_occurred; i++) {
            xmlrpc_value *item = NULL;
            xmlrpc_array_read_item(env, list, (unsigned)i, &item);
            uint64_t peer;
            char *host = NULL;
            int64_t port;
            if (!env->fault_occurred && link_args(env, item, s, &peer, &host, &port) == 0 &&
                pass == 1)
                links_want(s->links, peer, host, (uint16_t)port, net_now_us());
            free(host);
            if (item)
                xmlrpc_DECREF(item);
        }
    xmlrpc_DECREF(list);
    return env->fault_occurred ? NULL : xmlrpc_bool_new(env, 1);
}

static xmlrpc_value *m_cut(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci, bool cut)
{
    (void)si;
    server *s = ci;
    uint64_t peer;
    if (rpcargs_count(env, p, 1) < 0 || rpcargs_id(env, p, 0, &peer) < 0)
        return NULL;
    links_cut(s->links, peer, cut);
    return xmlrpc_bool_new(env, 1);
}

static xmlrpc_value *m_cut_link(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    return m_cut(env, p, si, ci, true);
}

static xmlrpc_value *m_uncut_link(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    return m_cut(env, p, si, ci, false);
}

/* forget(peer): the peer was killed; stop dialling its old address, which
 * may soon belong to someone else. A later connect gives the new one. */
static xmlrpc_value *m_forget(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    server *s = ci;
    uint64_t peer;
    if (rpcargs_count(env, p, 1) < 0 || rpcargs_id(env, p, 0, &peer) < 0)
        return NULL;
    links_forget(s->links, peer);
    return xmlrpc_bool_new(env, 1);
}

static xmlrpc_value *m_stats(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    server *s = ci;
    if (rpcargs_count(env, p, 0) < 0)
        return NULL;
    const core_counters *k = core_get_counters(s->core);
    return xmlrpc_build_value(env, "{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "hello",
                              (xmlrpc_int64)k->hello, "upd", (xmlrpc_int64)k->upd, "ack",
                              (xmlrpc_int64)k->ack, "lsa", (xmlrpc_int64)k->lsa, "updates_sent",
                              (xmlrpc_int64)k->updates_sent, "updates_applied",
                              (xmlrpc_int64)k->updates_applied, "duplicates",
                              (xmlrpc_int64)k->duplicates);
}

static xmlrpc_value *m_ping(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    (void)p;
    server *s = ci;
    return xmlrpc_i8_new(env, (xmlrpc_int64)s->id);
}

static const rpc_method methods[] = {
    {"dump", m_dump},        {"connect", m_connect},
    {"connect_all", m_connect_all}, {"cut", m_cut_link},
    {"uncut", m_uncut_link}, {"stats", m_stats},   {"ping", m_ping},
    {"forget", m_forget},
};
/* The put/get path: decoded without xmlrpc-c when the body allows. */
static const rpc_flat_method flat_methods[] = {
    {"put", m_put_value, "bbii"}, {"get", m_get_value, "b"}, {"digest", m_digest, ""}};

static void usage(void)
{
    fprintf(stderr, "usage: server --id ID --data DIR [--listen HOST] [--ready-fd FD] [--sync]\n"
                    "              [--run-id RUN] [--rejoin]\n");
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
        dkv_err err;
        if (store_take_warning(s->st, &err))
            logrl_printf(s->log, now, "server %" PRIu64 ": %s", s->id, err.msg);
        int64_t wait_us = links_tick(s->links, now) - now;
        loop_run_once(s->lp, (int)(wait_us > 0 ? (wait_us + 999) / 1000 : 0));
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"id", required_argument, 0, 'i'},     {"data", required_argument, 0, 'd'},
        {"listen", required_argument, 0, 'l'}, {"ready-fd", required_argument, 0, 'r'},
        {"sync", no_argument, 0, 's'},         {"help", no_argument, 0, 'h'},
        {"run-id", required_argument, 0, 'R'}, {"rejoin", no_argument, 0, 'j'},
        {0, 0, 0, 0}};
    server s;
    memset(&s, 0, sizeof s);
    snprintf(s.listen_host, sizeof s.listen_host, "127.0.0.1");
    const char *data = NULL, *id_text = NULL, *run_id = "";
    int ready_fd = -1;
    bool sync = false, rejoin = false;
    dkv_err err;
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        uint64_t v;
        switch (o) {
        case 'i': id_text = optarg; break;
        case 'd': data = optarg; break;
        case 'l': snprintf(s.listen_host, sizeof s.listen_host, "%s", optarg); break;
        case 'r':
            if (ids_parse_u64(optarg, 1 << 20, &v, &err) < 0) {
                fprintf(stderr, "server: --ready-fd: %s\n", err.msg);
                return 2;
            }
            ready_fd = (int)v;
            break;
        case 's': sync = true; break;
        case 'R': run_id = optarg; break;
        case 'j': rejoin = true; break;
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    if (!id_text || !data || optind != argc) {
        usage();
        return 2;
    }
    if (ids_parse(id_text, &s.id, &err) < 0) {
        fprintf(stderr, "server: --id: %s\n", err.msg);
        return 2;
    }
    if (!peermsg_run_id_valid(run_id)) {
        fprintf(stderr, "server: --run-id: at most %d letters, digits, '-' or '_'\n",
                PEERMSG_RUN_MAX);
        return 2;
    }
    daemon_install_signals(on_signal);
    rpc_global_init();
    the_server = &s;
    s.st = store_open(data, &(store_options){.sync = sync, .must_exist = rejoin, .self = s.id},
                      &err);
    if (!s.st)
        return start_failed(&s, ready_fd, &err);
    s.log = logrl_new(stderr, 1000000);
    links_ops ops = {&s, peer_dial, peer_close, peer_io, peer_live};
    s.links = links_new(&(links_config){s.id, run_id, s.st, s.log}, &ops, &err);
    if (!s.links) {
        logrl_free(s.log);
        store_close(s.st);
        return start_failed(&s, ready_fd, &err);
    }
    s.core = links_core(s.links);
    uint16_t port;
    int lfd = net_listen(s.listen_host, 0, &port, &err);
    if (lfd < 0) {
        links_free(s.links);
        logrl_free(s.log);
        store_close(s.st);
        return start_failed(&s, ready_fd, &err);
    }
    s.lp = loop_new();
    loop_listen(s.lp, lfd, on_accept, &s);
    s.rpc = rpc_server_new(methods, sizeof methods / sizeof methods[0], flat_methods,
                           sizeof flat_methods / sizeof flat_methods[0]);
    daemon_report_ready(ready_fd, port);

    int status = serve(&s);
    /* The loop goes first: closing its connections ends their links. */
    loop_free(s.lp);
    links_free(s.links);
    store_close(s.st);
    rpc_server_free(s.rpc);
    logrl_free(s.log);
    return status;
}
