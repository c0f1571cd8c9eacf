/* client: one process per client id. Holds the client's session state and
 * performs put/get against the server it is attached to, on the master's
 * request. One persistent connection to the master, one to the server. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/daemon.h"
#include "../common/ids.h"
#include "../common/loop.h"
#include "../common/net.h"
#include "../common/rpc.h"
#include "../common/rpcargs.h"
#include "../common/token.h"
#include "session.h"

#define MAX_KEY DKV_MAX_KEY
#define MAX_VALUE DKV_MAX_VALUE

typedef struct client {
    uint64_t id;
    session *sess;
    rpc_client *server;   /* NULL when detached */
    uint64_t server_id;
    int server_timeout_ms;
    rpc_server *rpc;
    rpcflat_msg *reply; /* the server's latest reply */
} client;

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static xmlrpc_value *m_attach(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    client *c = ci;
    uint64_t sid;
    char *host = NULL;
    int64_t port;
    if (rpcargs_count(env, p, 3) < 0 || rpcargs_id(env, p, 0, &sid) < 0 ||
        rpcargs_string(env, p, 1, 255, &host) < 0 || rpcargs_int(env, p, 2, 1, 65535, &port) < 0) {
        free(host);
        return NULL;
    }
    rpc_client_free(c->server);
    c->server = rpc_client_new(host, (uint16_t)port, c->server_timeout_ms);
    c->server_id = sid;
    free(host);
    return xmlrpc_bool_new(env, 1);
}

static xmlrpc_value *m_detach(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    client *c = ci;
    if (rpcargs_count(env, p, 0) < 0)
        return NULL;
    rpc_client_free(c->server);
    c->server = NULL;
    return xmlrpc_bool_new(env, 1);
}

/* A call to the server failed: the fault names the server. */
static int server_failed(const client *c, dkv_err *err)
{
    return dkv_err_wrap(err, "server %" PRIu64, c->server_id);
}

static int need_server(const client *c, rpc_flat_reply *reply, dkv_err *err)
{
    if (c->server)
        return 0;
    reply->fault_code = RPCARGS_FAILED;
    return dkv_err_set(err, "client %" PRIu64 " is not connected to a server", c->id);
}

/* A version from the server's reply: values i and i+1 as lamport, origin. */
static int reply_version(const rpcflat_msg *r, size_t i, bool written, dkv_version *v)
{
    const rpcflat_val *l = rpcflat_at(r, i), *o = rpcflat_at(r, i + 1);
    if (l->type != RPCFLAT_INT || o->type != RPCFLAT_INT || l->i < (written ? 1 : 0) ||
        (uint64_t)l->i > DKV_COUNTER_MAX || o->i < 0 || (uint64_t)o->i > DKV_ID_MAX)
        return -1;
    *v = (dkv_version){(uint64_t)l->i, (uint64_t)o->i};
    return 0;
}

/* The session part of every reply: dependency before and after, server. */
static void session_part(const client *c, rpc_flat_reply *reply, dkv_version dep,
                         dkv_version after)
{
    rpcflat_val *v = reply->vals + reply->n;
    v[0] = rpcflat_int((int64_t)dep.lamport);
    v[1] = rpcflat_int((int64_t)dep.origin);
    v[2] = rpcflat_int((int64_t)after.lamport);
    v[3] = rpcflat_int((int64_t)after.origin);
    v[4] = rpcflat_int((int64_t)c->server_id);
    reply->n += 5;
}

/* put(key, value) -> [lamport, origin, dep_lamport, dep_origin,
 *                     after_lamport, after_origin, server] */
static int m_put(void *ci, const rpcflat_msg *args, rpc_flat_reply *reply, dkv_err *err)
{
    client *c = ci;
    if (rpc_flat_args(args, "bb", reply, err) < 0 ||
        rpc_flat_range(args, 0, 0, MAX_KEY, reply, err) < 0 ||
        rpc_flat_range(args, 1, 0, MAX_VALUE, reply, err) < 0 || need_server(c, reply, err) < 0)
        return -1;
    const rpcflat_val *key = rpcflat_at(args, 0), *val = rpcflat_at(args, 1);
    if (token_check("key", key->p, key->n, MAX_KEY, err) < 0 ||
        token_check("value", val->p, val->n, MAX_VALUE, err) < 0) {
        reply->fault_code = RPCARGS_BAD_REQUEST;
        return -1;
    }
    dkv_version dep = session_dep(c->sess, key->p, key->n);
    rpcflat_val call[4] = {*key, *rpcflat_at(args, 1), rpcflat_int((int64_t)dep.lamport),
                           rpcflat_int((int64_t)dep.origin)};
    dkv_version v;
    if (rpc_call_flat(c->server, "put", call, 4, c->reply, err) < 0)
        return server_failed(c, err);
    if (rpcflat_count(c->reply) != 2 || reply_version(c->reply, 0, true, &v) < 0)
        return dkv_err_set(err, "server %" PRIu64 " returned a malformed put result",
                           c->server_id);
    session_observe(c->sess, key->p, key->n, v);
    reply->vals[0] = rpcflat_int((int64_t)v.lamport);
    reply->vals[1] = rpcflat_int((int64_t)v.origin);
    reply->n = 2;
    session_part(c, reply, dep, session_dep(c->sess, key->p, key->n));
    return 0;
}

/* get(key) -> [status, value, found, lamport, origin, dep_lamport,
 *              dep_origin, after_lamport, after_origin, server]
 * status is "ok", "ERR_KEY" or "ERR_DEP" (session_check_read). */
static int m_get(void *ci, const rpcflat_msg *args, rpc_flat_reply *reply, dkv_err *err)
{
    client *c = ci;
    if (rpc_flat_args(args, "b", reply, err) < 0 ||
        rpc_flat_range(args, 0, 0, MAX_KEY, reply, err) < 0 || need_server(c, reply, err) < 0)
        return -1;
    const rpcflat_val *key = rpcflat_at(args, 0);
    if (token_check("key", key->p, key->n, MAX_KEY, err) < 0) {
        reply->fault_code = RPCARGS_BAD_REQUEST;
        return -1;
    }
    if (rpc_call_flat(c->server, "get", key, 1, c->reply, err) < 0)
        return server_failed(c, err);
    const rpcflat_msg *r = c->reply;
    dkv_version sv;
    if (rpcflat_count(r) != 4 || rpcflat_at(r, 0)->type != RPCFLAT_BOOL ||
        rpcflat_at(r, 1)->type != RPCFLAT_BYTES || reply_version(r, 2, false, &sv) < 0 ||
        (rpcflat_at(r, 0)->i && sv.lamport == 0))
        return dkv_err_set(err, "server %" PRIu64 " returned a malformed get result",
                           c->server_id);
    bool found = rpcflat_at(r, 0)->i != 0;
    dkv_version dep = session_dep(c->sess, key->p, key->n);
    session_read outcome = session_check_read(c->sess, key->p, key->n, found, sv);
    const char *status = outcome == SESSION_READ_OK        ? "ok"
                         : outcome == SESSION_READ_ERR_KEY ? "ERR_KEY"
                                                           : "ERR_DEP";
    reply->vals[0] = rpcflat_string(status);
    reply->vals[1] = *rpcflat_at(r, 1); /* lives in c->reply until the next call */
    reply->vals[2] = rpcflat_bool(found);
    reply->vals[3] = rpcflat_int((int64_t)sv.lamport);
    reply->vals[4] = rpcflat_int((int64_t)sv.origin);
    reply->n = 5;
    session_part(c, reply, dep, session_dep(c->sess, key->p, key->n));
    return 0;
}

static xmlrpc_value *m_ping(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    (void)p;
    client *c = ci;
    return xmlrpc_i8_new(env, (xmlrpc_int64)c->id);
}

static const rpc_method methods[] = {
    {"attach", m_attach}, {"detach", m_detach}, {"ping", m_ping}};
/* The put/get path: decoded without xmlrpc-c when the body allows. */
static const rpc_flat_method flat_methods[] = {{"put", m_put, "bb"}, {"get", m_get, "b"}};

static void usage(void)
{
    fprintf(stderr, "usage: client --id ID [--listen HOST] [--ready-fd FD] "
                    "[--server-timeout-ms MS]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"id", required_argument, 0, 'i'},
                                         {"listen", required_argument, 0, 'l'},
                                         {"ready-fd", required_argument, 0, 'r'},
                                         {"server-timeout-ms", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    client c;
    memset(&c, 0, sizeof c);
    c.server_timeout_ms = 5000;
    const char *listen_host = "127.0.0.1", *id_text = NULL;
    int ready_fd = -1;
    dkv_err err;
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        uint64_t v;
        switch (o) {
        case 'i': id_text = optarg; break;
        case 'l': listen_host = optarg; break;
        case 'r':
        case 't':
            if (ids_parse_u64(optarg, 1 << 30, &v, &err) < 0) {
                fprintf(stderr, "client: %s\n", err.msg);
                return 2;
            }
            if (o == 'r')
                ready_fd = (int)v;
            else
                c.server_timeout_ms = (int)v;
            break;
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    if (!id_text || optind != argc || ids_parse(id_text, &c.id, &err) < 0) {
        usage();
        return 2;
    }
    daemon_install_signals(on_signal);
    rpc_global_init();
    c.sess = session_new();
    c.rpc = rpc_server_new(methods, sizeof methods / sizeof methods[0], flat_methods,
                           sizeof flat_methods / sizeof flat_methods[0]);
    c.reply = rpcflat_msg_new();
    uint16_t port;
    int lfd = net_listen(listen_host, 0, &port, &err);
    if (lfd < 0) {
        fprintf(stderr, "client %" PRIu64 ": %s\n", c.id, err.msg);
        return 1;
    }
    loop *lp = loop_new();
    rpc_listener *ls = rpc_listen(lp, lfd, c.rpc, &c);
    daemon_report_ready(ready_fd, port);
    while (!stop_requested)
        loop_run_once(lp, 1000);
    loop_free(lp);
    rpc_listener_free(ls);
    rpc_client_free(c.server);
    session_free(c.sess);
    rpc_server_free(c.rpc);
    rpcflat_msg_free(c.reply);
    return 0;
}
