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
#include "session.h"

#define MAX_KEY (64u << 10)
#define MAX_VALUE (16u << 20)

typedef struct client {
    uint64_t id;
    session *sess;
    rpc_client *server;   /* NULL when detached */
    uint64_t server_id;
    int server_timeout_ms;
    xmlrpc_registry *reg;
} client;

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static xmlrpc_value *fault(xmlrpc_env *env, const char *msg)
{
    xmlrpc_env_set_fault(env, RPCARGS_FAILED, msg);
    return NULL;
}

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
static void server_fault(xmlrpc_env *env, const client *c, const dkv_err *err)
{
    char msg[DKV_ERR_MAX + 64];
    snprintf(msg, sizeof msg, "server %" PRIu64 ": %s", c->server_id, err->msg);
    fault(env, msg);
}

static int need_server(xmlrpc_env *env, client *c)
{
    if (c->server)
        return 0;
    char msg[96];
    snprintf(msg, sizeof msg, "client %" PRIu64 " is not connected to a server", c->id);
    fault(env, msg);
    return -1;
}

static xmlrpc_value *m_put(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    client *c = ci;
    unsigned char *key = NULL, *val = NULL;
    size_t kl, vl;
    xmlrpc_value *res = NULL;
    if (rpcargs_count(env, p, 2) < 0 || rpcargs_bytes(env, p, 0, MAX_KEY, &key, &kl) < 0 ||
        rpcargs_bytes(env, p, 1, MAX_VALUE, &val, &vl) < 0 || need_server(env, c) < 0)
        goto out;
    dkv_version dep = session_dep(c->sess, key, kl);
    dkv_err err;
    xmlrpc_value *r = rpc_callf(c->server, &err, "put", "(66II)", key, kl, val, vl,
                                (xmlrpc_int64)dep.lamport, (xmlrpc_int64)dep.origin);
    if (!r) {
        server_fault(env, c, &err);
        goto out;
    }
    int64_t lamport = 0, origin = 0;
    if (rpcargs_struct_int(env, r, "lamport", &lamport) < 0 ||
        rpcargs_struct_int(env, r, "origin", &origin) < 0 || lamport <= 0 || origin < 0) {
        xmlrpc_DECREF(r);
        if (!env->fault_occurred)
            fault(env, "server returned a malformed put result");
        goto out;
    }
    xmlrpc_DECREF(r);
    dkv_version v = {(uint64_t)lamport, (uint64_t)origin};
    session_observe(c->sess, key, kl, v);
    dkv_version after = session_dep(c->sess, key, kl);
    res = xmlrpc_build_value(env, "{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "lamport",
                             (xmlrpc_int64)v.lamport, "origin", (xmlrpc_int64)v.origin,
                             "dep_lamport", (xmlrpc_int64)dep.lamport, "dep_origin",
                             (xmlrpc_int64)dep.origin, "after_lamport",
                             (xmlrpc_int64)after.lamport, "after_origin",
                             (xmlrpc_int64)after.origin, "server", (xmlrpc_int64)c->server_id);
out:
    free(key);
    free(val);
    return res;
}

static xmlrpc_value *m_get(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    client *c = ci;
    unsigned char *key = NULL;
    size_t kl;
    xmlrpc_value *res = NULL, *r = NULL, *valv = NULL;
    if (rpcargs_count(env, p, 1) < 0 || rpcargs_bytes(env, p, 0, MAX_KEY, &key, &kl) < 0 ||
        need_server(env, c) < 0)
        goto out;
    dkv_err err;
    r = rpc_callf(c->server, &err, "get", "(6)", key, kl);
    if (!r) {
        server_fault(env, c, &err);
        goto out;
    }
    int64_t lamport = 0, origin = 0;
    xmlrpc_bool found = 0;
    if (xmlrpc_value_type(r) == XMLRPC_TYPE_STRUCT) {
        xmlrpc_value *fv = NULL;
        xmlrpc_struct_find_value(env, r, "found", &fv);
        if (fv) {
            xmlrpc_read_bool(env, fv, &found);
            xmlrpc_DECREF(fv);
        }
        xmlrpc_struct_find_value(env, r, "value", &valv);
    }
    if (env->fault_occurred || !valv || xmlrpc_value_type(valv) != XMLRPC_TYPE_BASE64 ||
        rpcargs_struct_int(env, r, "lamport", &lamport) < 0 ||
        rpcargs_struct_int(env, r, "origin", &origin) < 0 || lamport < 0 || origin < 0 ||
        (found && lamport == 0)) {
        if (!env->fault_occurred)
            fault(env, "server returned a malformed get result");
        goto out;
    }
    dkv_version dep = session_dep(c->sess, key, kl);
    dkv_version sv = {(uint64_t)lamport, (uint64_t)origin};
    session_read outcome = session_check_read(c->sess, key, kl, found, sv);
    const char *status = outcome == SESSION_READ_OK        ? "ok"
                         : outcome == SESSION_READ_ERR_KEY ? "ERR_KEY"
                                                           : "ERR_DEP";
    dkv_version after = session_dep(c->sess, key, kl);
    res = xmlrpc_build_value(env, "{s:s,s:V,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "status",
                             status, "value", valv, "found", found, "lamport",
                             (xmlrpc_int64)sv.lamport, "origin", (xmlrpc_int64)sv.origin,
                             "dep_lamport", (xmlrpc_int64)dep.lamport, "dep_origin",
                             (xmlrpc_int64)dep.origin, "after_lamport",
                             (xmlrpc_int64)after.lamport, "after_origin",
                             (xmlrpc_int64)after.origin, "server", (xmlrpc_int64)c->server_id);
out:
    if (valv)
        xmlrpc_DECREF(valv);
    if (r)
        xmlrpc_DECREF(r);
    free(key);
    return res;
}

static xmlrpc_value *m_ping(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    (void)p;
    client *c = ci;
    return xmlrpc_i8_new(env, (xmlrpc_int64)c->id);
}

static const rpc_method methods[] = {
    {"attach", m_attach}, {"detach", m_detach}, {"put", m_put}, {"get", m_get}, {"ping", m_ping},
};

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
    c.reg = rpc_registry_new(methods, sizeof methods / sizeof methods[0]);
    uint16_t port;
    int lfd = net_listen(listen_host, 0, &port, &err);
    if (lfd < 0) {
        fprintf(stderr, "client %" PRIu64 ": %s\n", c.id, err.msg);
        return 1;
    }
    loop *lp = loop_new();
    rpc_listener *ls = rpc_listen(lp, lfd, c.reg, &c);
    daemon_report_ready(ready_fd, port);
    while (!stop_requested)
        loop_run_once(lp, 1000);
    loop_free(lp);
    rpc_listener_free(ls);
    rpc_client_free(c.server);
    session_free(c.sess);
    xmlrpc_registry_free(c.reg);
    return 0;
}
