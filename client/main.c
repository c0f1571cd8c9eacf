/* client: one process per client id. Holds the client's session state and
 * performs put/get against the server it is attached to, on the master's
 * request. One persistent connection to the master, one to the server. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/daemon.h"
#include "../common/ids.h"
#include "../common/loop.h"
#include "../common/net.h"
#include "../common/proto.h"
#include "../common/stamp.h"
#include "session.h"

typedef struct client {
    uint64_t id;
    session *sess;
    rpc_client *server;   /* NULL when detached */
    uint64_t server_id;
    rpc_server *rpc;
    auth_key *key; /* the cluster's: proves every connection, both ways */
} client;

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

/* The master says which server to use and how long a call to it may
 * take: its own --rpc-timeout, so that the client gives up on the server
 * (and says so) before the master gives up on the client. */
static int m_attach(void *ctx, const proto_client_attach_args *a, proto_none *r, void **owned,
                    dkv_err *err)
{
    client *c = ctx;
    rpc_client_free(c->server);
    c->server = rpc_client_new(a->host, a->port, (int)a->timeout_ms, c->key);
    char name[40];
    snprintf(name, sizeof name, "server %" PRIu64, a->id);
    rpc_client_set_name(c->server, name);
    c->server_id = a->id;
    return 0;
}

static int m_detach(void *ctx, const proto_none *a, proto_none *r, void **owned, dkv_err *err)
{
    client *c = ctx;
    rpc_client_free(c->server);
    c->server = NULL;
    return 0;
}

/* A put to the server failed (the message names the server). When the
 * request reached it and no answer said what became of it, the write may
 * have been applied: the master's caller must not take it as undone. */
static int put_failed(const client *c, dkv_err *err)
{
    if (!rpc_client_outcome_unknown(c->server))
        return -1;
    dkv_err why = *err;
    return dkv_err_set(err, "%s; the write may or may not have happened", why.msg);
}

/* The master names this client in front of every message it returns. */
static int need_server(const client *c, dkv_err *err)
{
    if (c->server)
        return 0;
    return dkv_err_set(err, "not connected to a server");
}

static int m_put(void *ctx, const proto_client_put_args *a, proto_client_put_reply *r,
                 void **owned, dkv_err *err)
{
    client *c = ctx;
    if (need_server(c, err) < 0)
        return -1;
    proto_server_put_args call = {a->key, a->value, session_dep(c->sess, a->key.p, a->key.n)};
    proto_server_put_reply got;
    if (proto_server_put_call(c->server, &call, &got, err) < 0)
        return put_failed(c, err);
    session_observe(c->sess, a->key.p, a->key.n, got.version);
    *r = (proto_client_put_reply){got.version, call.dep,
                                  session_dep(c->sess, a->key.p, a->key.n), c->server_id};
    return 0;
}

static int m_get(void *ctx, const proto_client_get_args *a, proto_client_get_reply *r,
                 void **owned, dkv_err *err)
{
    client *c = ctx;
    if (need_server(c, err) < 0)
        return -1;
    proto_server_get_reply got; /* its value lives in c->server until the next call */
    if (proto_server_get_call(c->server, &(proto_server_get_args){a->key}, &got, err) < 0)
        return -1;
    dkv_version dep = session_dep(c->sess, a->key.p, a->key.n);
    session_read outcome = session_check_read(c->sess, a->key.p, a->key.n, got.found,
                                              got.version);
    r->status = outcome == SESSION_READ_OK        ? PROTO_READ_OK
                : outcome == SESSION_READ_ERR_KEY ? PROTO_READ_ERR_KEY
                                                  : PROTO_READ_ERR_DEP;
    r->value = got.value;
    r->found = got.found;
    r->version = got.version;
    r->dep_before = dep;
    r->dep_after = session_dep(c->sess, a->key.p, a->key.n);
    r->server = c->server_id;
    return 0;
}

PROTO_SERVE(client_attach, m_attach)
PROTO_SERVE(client_detach, m_detach)
PROTO_SERVE(client_put, m_put)
PROTO_SERVE(client_get, m_get)
static const proto_binding methods[] = {
    PROTO_BINDING(client_attach),
    PROTO_BINDING(client_detach),
    PROTO_BINDING(client_put),
    PROTO_BINDING(client_get),
};

static void usage(void)
{
    fprintf(stderr, "usage: client --id ID --secret-file FILE [--listen HOST] [--ready-fd FD]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"id", required_argument, 0, 'i'},
                                         {"listen", required_argument, 0, 'l'},
                                         {"ready-fd", required_argument, 0, 'r'},
                                         {"secret-file", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    client c;
    memset(&c, 0, sizeof c);
    const char *listen_host = "127.0.0.1", *id_text = NULL, *secret_file = NULL;
    int ready_fd = -1;
    dkv_err err;
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        uint64_t v;
        switch (o) {
        case 'i': id_text = optarg; break;
        case 'l': listen_host = optarg; break;
        case 'r':
            if (ids_parse_u64(optarg, 1 << 30, &v, &err) < 0) {
                fprintf(stderr, "client: %s\n", err.msg);
                return 2;
            }
            ready_fd = (int)v;
            break;
        case 'k': secret_file = optarg; break;
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    if (!id_text || !secret_file || optind != argc || ids_parse(id_text, &c.id, &err) < 0) {
        usage();
        return 2;
    }
    /* stderr is this client's log (RUN_DIR/client-ID.log, see the
     * watchdog): every line gets a timestamp. */
    FILE *plain_stderr = stderr, *log = stamp_open(STDERR_FILENO);
    if (log)
        stderr = log;
    if (!(c.key = auth_key_load(secret_file, &err))) {
        if (ready_fd < 0) /* else whoever started us says it */
            fprintf(stderr, "client %" PRIu64 ": %s\n", c.id, err.msg);
        daemon_report_failure(ready_fd, err.msg);
        return 1;
    }
    daemon_install_signals(on_signal);
    rpc_global_init();
    c.sess = session_new();
    c.rpc = proto_server_new(PROTO_CLIENT, methods, sizeof methods / sizeof methods[0]);
    uint16_t port;
    int lfd = net_listen(listen_host, 0, &port, &err);
    if (lfd < 0) {
        fprintf(stderr, "client %" PRIu64 ": %s\n", c.id, err.msg);
        return 1;
    }
    loop *lp = loop_new();
    loop_set_auth(lp, c.key);
    char name[64];
    snprintf(name, sizeof name, "client %" PRIu64, c.id);
    loop_set_name(lp, name);
    rpc_listener *ls = rpc_listen(lp, lfd, c.rpc, &c);
    fprintf(stderr, "client %" PRIu64 ": started (pid %d), listening on %s:%u\n", c.id,
            (int)getpid(), listen_host, port);
    daemon_report_ready(ready_fd, port);
    while (!stop_requested)
        loop_run_once(lp, 1000);
    fprintf(stderr, "client %" PRIu64 ": stopping\n", c.id);
    loop_free(lp);
    rpc_listener_free(ls);
    rpc_client_free(c.server);
    session_free(c.sess);
    rpc_server_free(c.rpc);
    auth_key_free(c.key);
    if (log) {
        stderr = plain_stderr;
        fclose(log);
    }
    return 0;
}
