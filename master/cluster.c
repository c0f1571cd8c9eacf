#define _GNU_SOURCE
#include "cluster.h"
#include "../common/vec.h"
#include "../common/xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/daemon.h"
#include "../common/net.h"
#include "../common/rpc.h"
#include "../common/rpcargs.h"
#include "model.h"

/* Where a daemon listens, and the one persistent connection to it. */
typedef struct endpoint {
    uint64_t id;
    char host[256];
    uint16_t port;
    rpc_client *rpc;
} endpoint;

struct cluster {
    cluster_opts opts;
    char run_id[40]; /* random per run: servers of other runs never link */
    model *m;
    pid_t watchdog_pid;
    rpc_client *watchdog;
    endpoint *ep;
    size_t n_ep, cap_ep;
    cluster_frames retired; /* counters of servers as they were killed */
    rpcflat_msg *reply;     /* the latest put/get reply */
};

static endpoint *ep_find(cluster *c, uint64_t id)
{
    for (size_t i = 0; i < c->n_ep; i++)
        if (c->ep[i].id == id)
            return &c->ep[i];
    return NULL;
}

static endpoint *ep_set(cluster *c, uint64_t id, const char *host, uint16_t port)
{
    endpoint *e = ep_find(c, id);
    if (!e) {
        e = VEC_PUSH(c->ep, c->n_ep, c->cap_ep);
        e->id = id;
    }
    rpc_client_free(e->rpc);
    snprintf(e->host, sizeof e->host, "%s", host);
    e->port = port;
    e->rpc = rpc_client_new(host, port, c->opts.rpc_timeout_ms);
    return e;
}

static int start_watchdog(cluster *c, dkv_err *err)
{
    char exe[4200];
    snprintf(exe, sizeof exe, "%s/watchdog", c->opts.bin_dir);
    const char *argv[16];
    int a = 0;
    argv[a++] = exe;
    argv[a++] = "--run-dir";
    argv[a++] = c->opts.run_dir;
    argv[a++] = "--ready-fd";
    argv[a++] = "3";
    argv[a++] = "--die-with-parent";
    argv[a++] = "--run-id";
    argv[a++] = c->run_id;
    if (c->opts.owns_run_dir)
        argv[a++] = "--remove-run-dir-if-orphaned";
    if (c->opts.valgrind_servers)
        argv[a++] = "--valgrind-servers";
    argv[a] = NULL;
    int ready_fd;
    pid_t pid = daemon_spawn(argv, 0, true, &ready_fd, err);
    if (pid < 0)
        return -1;
    c->watchdog_pid = pid;
    uint16_t port;
    if (daemon_await_ready(ready_fd, 10000, &port, err) < 0)
        return dkv_err_wrap(err, "watchdog");
    c->watchdog = rpc_client_new(c->opts.watchdog_host, port, c->opts.rpc_timeout_ms);
    return 0;
}

/* 128 random bits in hex: two runs on one machine (or a port reused after
 * a kill) never share a run id. */
static int make_run_id(char *out, size_t cap, dkv_err *err)
{
    uint8_t raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return dkv_err_set(err, "cannot make a run id: %s", strerror(errno));
    for (size_t i = 0; i < sizeof raw && 2 * i + 2 < cap; i++)
        snprintf(out + 2 * i, cap - 2 * i, "%02x", raw[i]);
    return 0;
}

cluster *cluster_new(const cluster_opts *opts, dkv_err *err)
{
    cluster *c = xcalloc(1, sizeof *c);
    c->opts = *opts;
    if (make_run_id(c->run_id, sizeof c->run_id, err) < 0) {
        free(c);
        return NULL;
    }
    c->m = model_new();
    c->reply = rpcflat_msg_new();
    c->watchdog_pid = -1;
    if (start_watchdog(c, err) < 0) {
        cluster_free(c);
        return NULL;
    }
    return c;
}

/* Waits for pid to exit for at most timeout_ms; true when it did. */
static bool wait_exit(pid_t pid, int timeout_ms)
{
    int64_t deadline = net_now_us() + (int64_t)timeout_ms * 1000;
    for (int64_t delay = 200; net_now_us() < deadline; delay = delay < 20000 ? delay * 2 : delay) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return true;
        struct timespec ts = {0, delay * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

void cluster_free(cluster *c)
{
    if (!c)
        return;
    if (c->watchdog_pid > 0) {
        dkv_err err;
        xmlrpc_value *r = c->watchdog ? rpc_callf(c->watchdog, &err, "shutdown", "()") : NULL;
        if (r)
            xmlrpc_DECREF(r);
        /* The watchdog kills its children before it answers; if it cannot be
         * reached, SIGKILL it and its children die with it. */
        if (!r || !wait_exit(c->watchdog_pid, 5000)) {
            kill(c->watchdog_pid, SIGKILL);
            wait_exit(c->watchdog_pid, 5000);
        }
    }
    for (size_t i = 0; i < c->n_ep; i++)
        rpc_client_free(c->ep[i].rpc);
    free(c->ep);
    rpc_client_free(c->watchdog);
    model_free(c->m);
    rpcflat_msg_free(c->reply);
    free(c);
}

static void add_frames(cluster *c, uint64_t id, cluster_frames *out);

static char *read_string_member(xmlrpc_value *s, const char *name)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_value *v = NULL;
    const char *str = NULL;
    xmlrpc_struct_find_value(&env, s, name, &v);
    if (!env.fault_occurred && v && xmlrpc_value_type(v) == XMLRPC_TYPE_STRING)
        xmlrpc_read_string(&env, v, &str);
    if (v)
        xmlrpc_DECREF(v);
    xmlrpc_env_clean(&env);
    return (char *)str;
}


/* ---- helpers ---- */

static int drop_result(xmlrpc_value *r)
{
    if (!r)
        return -1;
    xmlrpc_DECREF(r);
    return 0;
}

static int need_live_server(cluster *c, uint64_t id, dkv_err *err)
{
    model_role role = model_role_of(c->m, id);
    if (role == MODEL_ROLE_CLIENT)
        return dkv_err_set(err, "%" PRIu64 " is a client, not a server", id);
    if (role == MODEL_ROLE_NONE)
        return dkv_err_set(err, "server %" PRIu64 " does not exist (use joinServer first)", id);
    if (!model_server_live(c->m, id))
        return dkv_err_set(err, "server %" PRIu64 " is not live (it was killed)", id);
    return 0;
}

static int need_client(cluster *c, uint64_t id, dkv_err *err)
{
    model_role role = model_role_of(c->m, id);
    if (role == MODEL_ROLE_SERVER)
        return dkv_err_set(err, "%" PRIu64 " is a server, not a client", id);
    if (role == MODEL_ROLE_NONE)
        return dkv_err_set(err, "client %" PRIu64 " does not exist (use joinClient first)", id);
    return 0;
}

/* ---- commands ---- */

static int link_servers(cluster *c, uint64_t dialer, uint64_t target, dkv_err *err)
{
    endpoint *d = ep_find(c, dialer), *t = ep_find(c, target);
    return drop_result(rpc_callf(d->rpc, err, "connect", "(Isi)", (xmlrpc_int64)target, t->host,
                                 (int)t->port));
}

/* Asks the watchdog to start a server or client and records where it
 * listens: the watchdog says which host and port. */
static int start_process(cluster *c, const char *kind, uint64_t id, bool sync, dkv_err *err)
{
    /* A server id seen before in this run held data: its store must be
     * there, or the server refuses to start (a wiped directory). */
    int rejoin = strcmp(kind, "server") == 0 && model_role_of(c->m, id) == MODEL_ROLE_SERVER;
    xmlrpc_value *r = rpc_callf(c->watchdog, err, "start", "(sIii)", kind, (xmlrpc_int64)id,
                                (int)sync, rejoin);
    if (!r)
        return -1;
    int64_t port = 0;
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    char *host = read_string_member(r, "host");
    int bad = rpcargs_struct_int(&env, r, "port", &port) < 0 || port <= 0 || port > 65535 ||
              !host || !*host;
    xmlrpc_env_clean(&env);
    xmlrpc_DECREF(r);
    if (!bad)
        ep_set(c, id, host, (uint16_t)port);
    free(host);
    if (bad)
        return dkv_err_set(err, "watchdog returned a malformed start result");
    return 0;
}

static int join_server(cluster *c, uint64_t id, dkv_err *err)
{
    model_role role = model_role_of(c->m, id);
    if (role == MODEL_ROLE_CLIENT)
        return dkv_err_set(err, "%" PRIu64 " is a client; an id cannot be both", id);
    if (model_server_live(c->m, id))
        return dkv_err_set(err, "server %" PRIu64 " is already live", id);
    if (start_process(c, "server", id, c->opts.sync, err) < 0)
        return -1;

    size_t n = model_live_servers(c->m, NULL, 0);
    uint64_t *live = xcalloc(n + 1, sizeof *live);
    model_live_servers(c->m, live, n);
    int rc = 0;
    /* A rejoin restores every link: peers that had cut this id forget it. */
    for (size_t i = 0; i < n && rc == 0; i++)
        if (model_is_cut(c->m, live[i], id))
            rc = drop_result(rpc_callf(ep_find(c, live[i])->rpc, err, "uncut", "(I)",
                                       (xmlrpc_int64)id));
    model_server_up(c->m, id);
    /* One call hands the new server every peer to dial. */
    if (rc == 0 && n > 0) {
        xmlrpc_env env;
        xmlrpc_env_init(&env);
        xmlrpc_value *list = xmlrpc_array_new(&env);
        for (size_t i = 0; i < n && !env.fault_occurred; i++) {
            endpoint *t = ep_find(c, live[i]);
            xmlrpc_value *item = xmlrpc_build_value(&env, "(Isi)", (xmlrpc_int64)live[i],
                                                    t->host, (int)t->port);
            if (!env.fault_occurred) {
                xmlrpc_array_append_item(&env, list, item);
                xmlrpc_DECREF(item);
            }
        }
        if (env.fault_occurred)
            rc = dkv_err_set(err, "cannot build the peer list: %s", env.fault_string);
        else
            rc = drop_result(rpc_callf(ep_find(c, id)->rpc, err, "connect_all", "(A)", list));
        xmlrpc_DECREF(list);
        xmlrpc_env_clean(&env);
    }
    /* Clients attached to this id follow it to its new address. */
    size_t nc = model_clients_of(c->m, id, NULL, 0);
    uint64_t *cl = xcalloc(nc + 1, sizeof *cl);
    model_clients_of(c->m, id, cl, nc);
    endpoint *me = ep_find(c, id);
    for (size_t i = 0; i < nc && rc == 0; i++)
        rc = drop_result(rpc_callf(ep_find(c, cl[i])->rpc, err, "attach", "(Isi)",
                                   (xmlrpc_int64)id, me->host, (int)me->port));
    free(cl);
    free(live);
    return rc;
}

static int kill_server(cluster *c, uint64_t id, dkv_err *err)
{
    if (need_live_server(c, id, err) < 0)
        return -1;
    if (c->opts.count_frames)
        add_frames(c, id, &c->retired); /* its counters die with it */
    if (drop_result(rpc_callf(c->watchdog, err, "kill", "(I)", (xmlrpc_int64)id)) < 0)
        return -1;
    model_server_down(c->m, id);
    /* Its old port may be bound by anyone next: the others stop dialling
     * it (a rejoin hands them the new address). */
    size_t n = model_live_servers(c->m, NULL, 0);
    uint64_t *live = xcalloc(n + 1, sizeof *live);
    model_live_servers(c->m, live, n);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = drop_result(rpc_callf(ep_find(c, live[i])->rpc, err, "forget", "(I)",
                                   (xmlrpc_int64)id));
    free(live);
    return rc;
}

static int join_client(cluster *c, uint64_t cid, uint64_t sid, dkv_err *err)
{
    if (model_role_of(c->m, cid) == MODEL_ROLE_SERVER)
        return dkv_err_set(err, "%" PRIu64 " is a server; an id cannot be both", cid);
    if (cid == sid)
        return dkv_err_set(err, "a client cannot join itself");
    if (need_live_server(c, sid, err) < 0)
        return -1;
    if (model_role_of(c->m, cid) == MODEL_ROLE_NONE) {
        if (start_process(c, "client", cid, false, err) < 0)
            return -1;
        model_client_add(c->m, cid);
    }
    endpoint *s = ep_find(c, sid);
    if (drop_result(rpc_callf(ep_find(c, cid)->rpc, err, "attach", "(Isi)", (xmlrpc_int64)sid,
                              s->host, (int)s->port)) < 0)
        return -1;
    model_client_attach(c->m, cid, sid);
    return 0;
}

static int change_link(cluster *c, uint64_t a, uint64_t b, bool create, dkv_err *err)
{
    if (a == b)
        return dkv_err_set(err, "both ids are %" PRIu64, a);
    model_role ra = model_role_of(c->m, a), rb = model_role_of(c->m, b);
    if (ra == MODEL_ROLE_NONE || rb == MODEL_ROLE_NONE)
        return dkv_err_set(err, "%" PRIu64 " is neither a server nor a client",
                           ra == MODEL_ROLE_NONE ? a : b);
    if (ra == MODEL_ROLE_CLIENT && rb == MODEL_ROLE_CLIENT)
        return dkv_err_set(err, "%" PRIu64 " and %" PRIu64 " are both clients", a, b);
    if (ra == MODEL_ROLE_CLIENT || rb == MODEL_ROLE_CLIENT) {
        uint64_t cid = ra == MODEL_ROLE_CLIENT ? a : b, sid = ra == MODEL_ROLE_CLIENT ? b : a;
        if (create)
            return join_client(c, cid, sid, err);
        uint64_t cur;
        if (!model_client_server(c->m, cid, &cur) || cur != sid)
            return 0; /* no such link: nothing to cut */
        if (drop_result(rpc_callf(ep_find(c, cid)->rpc, err, "detach", "()")) < 0)
            return -1;
        model_client_detach(c->m, cid);
        return 0;
    }
    if (need_live_server(c, a, err) < 0 || need_live_server(c, b, err) < 0)
        return -1;
    if (!create) {
        model_set_cut(c->m, a, b, true);
        if (drop_result(rpc_callf(ep_find(c, a)->rpc, err, "cut", "(I)", (xmlrpc_int64)b)) < 0 ||
            drop_result(rpc_callf(ep_find(c, b)->rpc, err, "cut", "(I)", (xmlrpc_int64)a)) < 0)
            return -1;
        return 0;
    }
    model_set_cut(c->m, a, b, false);
    if (drop_result(rpc_callf(ep_find(c, b)->rpc, err, "uncut", "(I)", (xmlrpc_int64)a)) < 0)
        return -1;
    return link_servers(c, a, b, err);
}

/* ---- stabilize ---- */

typedef struct digest {
    char *vc, *links, *group;
    int64_t queued;
    bool ok;
    char error[DKV_ERR_MAX];
} digest;

static void digest_clear(digest *d)
{
    free(d->vc);
    free(d->links);
    free(d->group);
    memset(d, 0, sizeof *d);
}

static char *dup_string(const rpcflat_val *v)
{
    return v->type == RPCFLAT_STRING ? xstrdup((const char *)v->p) : NULL;
}

static void fetch_digest(cluster *c, uint64_t id, digest *d)
{
    digest_clear(d);
    dkv_err err;
    if (rpc_call_flat(ep_find(c, id)->rpc, "digest", NULL, 0, c->reply, &err) < 0) {
        snprintf(d->error, sizeof d->error, "%s", err.msg);
        return;
    }
    const rpcflat_msg *r = c->reply;
    if (rpcflat_count(r) == 4) {
        d->vc = dup_string(rpcflat_at(r, 0));
        d->links = dup_string(rpcflat_at(r, 1));
        d->group = dup_string(rpcflat_at(r, 2));
        d->queued = rpcflat_at(r, 3)->type == RPCFLAT_INT ? rpcflat_at(r, 3)->i : -1;
    }
    d->ok = d->vc && d->links && d->group;
    if (!d->ok)
        snprintf(d->error, sizeof d->error, "malformed digest");
}

static void append_id(char **s, size_t *len, size_t *cap, uint64_t id)
{
    *s = vec_reserve(*s, cap, *len + 24, 1);
    *len += (size_t)sprintf(*s + *len, "%s%" PRIu64, *len ? "," : "", id);
}

/* Why stabilize gave up, by server id: who did not answer, whose links or
 * view of the group are not what the topology says, who still has bytes
 * queued, and which servers of a group hold a different clock than its
 * lowest id. Short items first, so the message is useful when cut. */
static void unsettled_report(const uint64_t *ids, size_t n, const size_t *grp, const digest *d,
                             char *const *want_links, char *const *want_group, int timeout_ms,
                             dkv_err *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    fprintf(m, "not stable after %d ms:", timeout_ms);
    for (size_t i = 0; i < n; i++)
        if (!d[i].ok)
            fprintf(m, " server %" PRIu64 " did not answer (%s);", ids[i], d[i].error);
    for (size_t i = 0; i < n; i++) {
        if (!d[i].ok)
            continue;
        if (strcmp(d[i].links, want_links[i]) != 0)
            fprintf(m, " server %" PRIu64 " links [%s], want [%s];", ids[i], d[i].links,
                    want_links[i]);
        if (strcmp(d[i].group, want_group[i]) != 0)
            fprintf(m, " server %" PRIu64 " sees group [%s], want [%s];", ids[i], d[i].group,
                    want_group[i]);
        if (d[i].queued != 0)
            fprintf(m, " server %" PRIu64 " has %" PRId64 " bytes queued;", ids[i], d[i].queued);
    }
    for (size_t i = 0; i < n; i++) {
        size_t first = i; /* the group's lowest id that answered */
        for (size_t j = 0; j < i; j++)
            if (grp[j] == grp[i] && d[j].ok) {
                first = j;
                break;
            }
        if (first != i && d[i].ok && strcmp(d[i].vc, d[first].vc) != 0)
            fprintf(m, " server %" PRIu64 " clock [%s] differs from server %" PRIu64 "'s [%s];",
                    ids[i], d[i].vc, ids[first], d[first].vc);
    }
    fclose(m);
    dkv_err_set(err, "%s", text);
    free(text);
}

static int cluster_stabilize(cluster *c, cluster_result *res, dkv_err *err)
{
    size_t n = model_live_servers(c->m, NULL, 0);
    uint64_t *ids = xcalloc(n + 1, sizeof *ids);
    size_t *grp = xcalloc(n + 1, sizeof *grp);
    model_live_servers(c->m, ids, n);
    res->servers = ids;
    res->group_of = grp;
    res->n_servers = n;
    res->n_groups = model_groups(c->m, grp, n);
    /* What each server should report once settled. */
    char **want_links = xcalloc(n + 1, sizeof *want_links);
    char **want_group = xcalloc(n + 1, sizeof *want_group);
    digest *d = xcalloc(n + 1, sizeof *d);
    for (size_t i = 0; i < n; i++) {
        size_t ll = 0, lc = 0, gl = 0, gc = 0;
        want_links[i] = xcalloc(1, 1);
        want_group[i] = xcalloc(1, 1);
        for (size_t j = 0; j < n; j++) {
            if (j != i && !model_is_cut(c->m, ids[i], ids[j]))
                append_id(&want_links[i], &ll, &lc, ids[j]);
            if (grp[j] == grp[i])
                append_id(&want_group[i], &gl, &gc, ids[j]);
        }
    }
    int64_t deadline = net_now_us() + (int64_t)c->opts.stabilize_timeout_ms * 1000;
    int64_t delay = 100;
    int rc = -1;
    for (;;) {
        bool settled = true;
        for (size_t i = 0; i < n; i++) {
            fetch_digest(c, ids[i], &d[i]);
            if (!d[i].ok || strcmp(d[i].links, want_links[i]) != 0 ||
                strcmp(d[i].group, want_group[i]) != 0 || d[i].queued != 0)
                settled = false;
        }
        for (size_t i = 0; i < n && settled; i++)
            for (size_t j = 0; j < i && settled; j++)
                if (grp[j] == grp[i] && strcmp(d[i].vc, d[j].vc) != 0)
                    settled = false;
        if (settled) {
            rc = 0;
            break;
        }
        if (net_now_us() + delay > deadline) {
            unsettled_report(ids, n, grp, d, want_links, want_group, c->opts.stabilize_timeout_ms,
                             err);
            break;
        }
        struct timespec ts = {0, delay * 1000};
        nanosleep(&ts, NULL);
        if (delay < 5000)
            delay *= 2;
    }
    for (size_t i = 0; i < n; i++) {
        digest_clear(&d[i]);
        free(want_links[i]);
        free(want_group[i]);
    }
    free(d);
    free(want_links);
    free(want_group);
    return rc;
}

/* ---- data commands ---- */

/* Appends one dumped entry to res (key and value owned, like the dump's). */
static void add_entry(cluster_result *res, uint8_t *key, size_t key_len, uint8_t *value,
                      size_t value_len, dkv_version version)
{
    *VEC_PUSH(res->entries, res->n_entries, res->cap_entries) =
        (cluster_entry){key, value, key_len, value_len, version};
}

static int print_store(cluster *c, uint64_t id, FILE *out, cluster_result *res, dkv_err *err)
{
    if (need_live_server(c, id, err) < 0)
        return -1;
    endpoint *e = ep_find(c, id);
    unsigned char *after = NULL;
    size_t after_len = 0;
    bool has_after = false, more = true;
    int rc = 0;
    /* Collect the whole store first, so a failure prints nothing partial. */
    while (more && rc == 0) {
        xmlrpc_value *r = rpc_callf(e->rpc, err, "dump", "(6i)", after ? after : (unsigned char *)"",
                                    after_len, (int)has_after);
        if (!r) {
            rc = -1;
            break;
        }
        xmlrpc_env env;
        xmlrpc_env_init(&env);
        xmlrpc_value *entries = NULL, *morev = NULL;
        xmlrpc_bool mb = 0;
        xmlrpc_struct_find_value(&env, r, "entries", &entries);
        xmlrpc_struct_find_value(&env, r, "more", &morev);
        if (morev)
            xmlrpc_read_bool(&env, morev, &mb);
        more = mb;
        int ne = entries ? xmlrpc_array_size(&env, entries) : -1;
        if (env.fault_occurred || ne < 0) {
            rc = dkv_err_set(err, "malformed dump from server %" PRIu64, id);
            ne = 0;
        }
        for (int i = 0; i < ne && rc == 0; i++) {
            xmlrpc_value *pair = NULL;
            xmlrpc_array_read_item(&env, entries, (unsigned)i, &pair);
            const unsigned char *k = NULL, *v = NULL;
            size_t kl = 0, vl = 0;
            xmlrpc_int64 lamport = 0, origin = 0;
            if (!env.fault_occurred)
                xmlrpc_decompose_value(&env, pair, "(66II)", &k, &kl, &v, &vl, &lamport, &origin);
            if (env.fault_occurred) {
                rc = dkv_err_set(err, "malformed dump entry from server %" PRIu64, id);
            } else {
                add_entry(res, (uint8_t *)k, kl, (uint8_t *)v, vl,
                          (dkv_version){(uint64_t)lamport, (uint64_t)origin});
                after = (unsigned char *)k; /* the next page starts after it */
                after_len = kl;
                has_after = true;
            }
            if (pair)
                xmlrpc_DECREF(pair);
        }
        if (ne == 0)
            more = false;
        if (entries)
            xmlrpc_DECREF(entries);
        if (morev)
            xmlrpc_DECREF(morev);
        xmlrpc_env_clean(&env);
        xmlrpc_DECREF(r);
    }
    if (rc < 0)
        return -1;
    res->has_store = true;
    for (size_t i = 0; i < res->n_entries; i++) {
        const cluster_entry *en = &res->entries[i];
        fwrite(en->key, 1, en->key_len, out);
        fputc(':', out);
        fwrite(en->value, 1, en->value_len, out);
        fputc('\n', out);
    }
    return 0;
}

static int client_endpoint(cluster *c, uint64_t cid, endpoint **e, cluster_result *res,
                           dkv_err *err)
{
    if (need_client(c, cid, err) < 0)
        return -1;
    uint64_t sid;
    if (!model_client_server(c->m, cid, &sid))
        return dkv_err_set(err, "client %" PRIu64 " is not connected to a server", cid);
    res->has_server = true;
    res->server = sid;
    if (!model_server_live(c->m, sid))
        return dkv_err_set(err, "client %" PRIu64 "'s server %" PRIu64 " is not live", cid, sid);
    *e = ep_find(c, cid);
    return 0;
}

/* Reply items i, i+1 as a version; (0, 0) when they are not one. */
static dkv_version reply_version(const rpcflat_msg *r, size_t i)
{
    if (i + 1 >= rpcflat_count(r))
        return (dkv_version){0, 0};
    const rpcflat_val *l = rpcflat_at(r, i), *o = rpcflat_at(r, i + 1);
    if (l->type != RPCFLAT_INT || o->type != RPCFLAT_INT || l->i < 0 || o->i < 0)
        return (dkv_version){0, 0};
    return (dkv_version){(uint64_t)l->i, (uint64_t)o->i};
}

/* The tail every put/get reply ends with (client/main.c): the session's
 * dependency before and after, and the server the client used (the
 * history records what happened, not what the model expected). */
static void record_session(const rpcflat_msg *r, size_t i, cluster_result *res)
{
    res->has_reply = true;
    res->dep_before = reply_version(r, i);
    res->dep_after = reply_version(r, i + 2);
    const rpcflat_val *sid = rpcflat_at(r, i + 4);
    if (sid->type == RPCFLAT_INT && sid->i >= 0)
        res->server = (uint64_t)sid->i;
}

/* Refused here, with the limit named, rather than by the daemons. */
static int check_sizes(const script_cmd *cmd, dkv_err *err)
{
    if (cmd->key_len > DKV_MAX_KEY)
        return dkv_err_set(err, "key of %zu bytes exceeds the limit of %u bytes", cmd->key_len,
                           DKV_MAX_KEY);
    if (cmd->value_len > DKV_MAX_VALUE)
        return dkv_err_set(err, "value of %zu bytes exceeds the limit of %u bytes",
                           cmd->value_len, DKV_MAX_VALUE);
    return 0;
}

static int do_put(cluster *c, const script_cmd *cmd, cluster_result *res, dkv_err *err)
{
    endpoint *e;
    if (check_sizes(cmd, err) < 0 || client_endpoint(c, cmd->id[0], &e, res, err) < 0)
        return -1;
    rpcflat_val args[2] = {rpcflat_bytes(cmd->key, cmd->key_len),
                           rpcflat_bytes(cmd->value, cmd->value_len)};
    if (rpc_call_flat(e->rpc, "put", args, 2, c->reply, err) < 0)
        return -1;
    dkv_version v = reply_version(c->reply, 0);
    if (rpcflat_count(c->reply) != 7 || dkv_version_is_none(v))
        return dkv_err_set(err, "client %" PRIu64 " returned a malformed put result", cmd->id[0]);
    res->version = v;
    record_session(c->reply, 2, res);
    return 0;
}

static int do_get(cluster *c, const script_cmd *cmd, FILE *out, cluster_result *res,
                  dkv_err *err)
{
    endpoint *e;
    if (check_sizes(cmd, err) < 0 || client_endpoint(c, cmd->id[0], &e, res, err) < 0)
        return -1;
    rpcflat_val arg = rpcflat_bytes(cmd->key, cmd->key_len);
    if (rpc_call_flat(e->rpc, "get", &arg, 1, c->reply, err) < 0)
        return -1;
    const rpcflat_msg *r = c->reply;
    const char *status = rpcflat_count(r) == 10 && rpcflat_at(r, 0)->type == RPCFLAT_STRING
                             ? (const char *)rpcflat_at(r, 0)->p
                             : "";
    const rpcflat_val *val = rpcflat_count(r) == 10 ? rpcflat_at(r, 1) : NULL;
    bool ok = strcmp(status, "ok") == 0;
    if ((!ok && strcmp(status, "ERR_KEY") != 0 && strcmp(status, "ERR_DEP") != 0) ||
        val->type != RPCFLAT_BYTES)
        return dkv_err_set(err, "malformed get result from client %" PRIu64, cmd->id[0]);
    res->get_status = ok ? "ok" : strcmp(status, "ERR_KEY") == 0 ? "ERR_KEY" : "ERR_DEP";
    fwrite(cmd->key, 1, cmd->key_len, out);
    fputc(':', out);
    if (ok)
        fwrite(val->p, 1, val->n, out);
    else
        fputs(status, out);
    fputc('\n', out);
    if (ok) {
        res->value = val->p;
        res->value_len = val->n;
    }
    res->version = reply_version(r, 3);
    record_session(r, 5, res);
    return 0;
}

void cluster_result_clear(cluster_result *res)
{
    free(res->servers);
    free(res->group_of);
    for (size_t i = 0; i < res->n_entries; i++) {
        free(res->entries[i].key);
        free(res->entries[i].value);
    }
    free(res->entries);
    memset(res, 0, sizeof *res);
}

int cluster_exec(cluster *c, const script_cmd *cmd, FILE *out, cluster_result *res,
                 dkv_err *err)
{
    cluster_result_clear(res);
    switch (cmd->kind) {
    case SCRIPT_CMD_NONE: return 0;
    case SCRIPT_CMD_JOIN_SERVER: return join_server(c, cmd->id[0], err);
    case SCRIPT_CMD_KILL_SERVER: return kill_server(c, cmd->id[0], err);
    case SCRIPT_CMD_JOIN_CLIENT: return join_client(c, cmd->id[0], cmd->id[1], err);
    case SCRIPT_CMD_BREAK_CONNECTION:
    case SCRIPT_CMD_CREATE_CONNECTION:
        return change_link(c, cmd->id[0], cmd->id[1], cmd->kind == SCRIPT_CMD_CREATE_CONNECTION,
                           err);
    case SCRIPT_CMD_STABILIZE: return cluster_stabilize(c, res, err);
    case SCRIPT_CMD_PRINT_STORE: return print_store(c, cmd->id[0], out, res, err);
    case SCRIPT_CMD_PUT: return do_put(c, cmd, res, err);
    case SCRIPT_CMD_GET: return do_get(c, cmd, out, res, err);
    }
    return dkv_err_set(err, "unknown command");
}

/* Adds a server's frame counters to out. */
static void add_frames(cluster *c, uint64_t id, cluster_frames *out)
{
    dkv_err err;
    endpoint *e = ep_find(c, id);
    xmlrpc_value *r = e ? rpc_callf(e->rpc, &err, "stats", "()") : NULL;
    if (!r)
        return;
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    int64_t v;
    if (rpcargs_struct_int(&env, r, "hello", &v) == 0) out->hello += v;
    if (rpcargs_struct_int(&env, r, "upd", &v) == 0) out->upd += v;
    if (rpcargs_struct_int(&env, r, "ack", &v) == 0) out->ack += v;
    if (rpcargs_struct_int(&env, r, "lsa", &v) == 0) out->lsa += v;
    if (rpcargs_struct_int(&env, r, "updates_sent", &v) == 0) out->updates_sent += v;
    xmlrpc_env_clean(&env);
    xmlrpc_DECREF(r);
}

void cluster_frames_total(cluster *c, cluster_frames *out)
{
    *out = c->retired;
    size_t n = model_live_servers(c->m, NULL, 0);
    uint64_t *ids = xcalloc(n + 1, sizeof *ids);
    model_live_servers(c->m, ids, n);
    for (size_t i = 0; i < n; i++)
        add_frames(c, ids[i], out);
    free(ids);
}
