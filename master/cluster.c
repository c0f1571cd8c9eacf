#define _GNU_SOURCE
#include "cluster.h"
#include "../common/vec.h"
#include "../common/xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/auth.h"
#include "../common/daemon.h"
#include "../common/net.h"
#include "../common/proto.h"
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
    char secret_file[PATH_MAX];
    auth_key *key; /* the cluster's: every call proves it */
    pid_t watchdog_pid;
    rpc_client *watchdog;
    endpoint *ep;
    size_t n_ep, cap_ep;
    cluster_frames retired; /* counters of servers as they were killed */
};

static endpoint *ep_find(cluster *c, uint64_t id)
{
    for (size_t i = 0; i < c->n_ep; i++)
        if (c->ep[i].id == id)
            return &c->ep[i];
    return NULL;
}

/* The master's call to a client waits this much longer than the client's
 * call to its server, which the client bounds by --rpc-timeout: the client
 * gives up first and says which server did not answer. */
#define CLIENT_RELAY_MARGIN_MS 1000

/* A connection that names its daemon in messages and gives up when the
 * master is stopped by a signal. */
static rpc_client *connect_daemon(cluster *c, const char *host, uint16_t port, int timeout_ms,
                                  const char *name)
{
    rpc_client *rpc = rpc_client_new(host, port, timeout_ms, c->key);
    rpc_client_set_name(rpc, name);
    rpc_client_set_cancel(rpc, c->opts.cancel);
    return rpc;
}

static endpoint *ep_set(cluster *c, bool server, uint64_t id, const char *host, uint16_t port)
{
    endpoint *e = ep_find(c, id);
    if (!e) {
        e = VEC_PUSH(c->ep, c->n_ep, c->cap_ep);
        e->id = id;
    }
    rpc_client_free(e->rpc);
    snprintf(e->host, sizeof e->host, "%s", host);
    e->port = port;
    char name[40];
    snprintf(name, sizeof name, "%s %" PRIu64, server ? "server" : "client", id);
    int timeout_ms = c->opts.rpc_timeout_ms + (server ? 0 : CLIENT_RELAY_MARGIN_MS);
    e->rpc = connect_daemon(c, host, port, timeout_ms, name);
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
    argv[a++] = "--secret-file";
    argv[a++] = c->secret_file;
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
    c->watchdog =
        connect_daemon(c, c->opts.watchdog_host, port, c->opts.rpc_timeout_ms, "the watchdog");
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

/* The cluster secret: the one given, or a fresh one for this run (a
 * reused run directory's old secret is replaced), mode 0600. Only its path
 * is ever passed on. */
static int load_secret(cluster *c, dkv_err *err)
{
    if (c->opts.secret_file) {
        snprintf(c->secret_file, sizeof c->secret_file, "%s", c->opts.secret_file);
    } else {
        if (snprintf(c->secret_file, sizeof c->secret_file, "%s/secret", c->opts.run_dir) >=
            (int)sizeof c->secret_file)
            return dkv_err_set(err, "run directory %s: path too long", c->opts.run_dir);
        if (unlink(c->secret_file) < 0 && errno != ENOENT)
            return dkv_err_set(err, "cannot replace %s: %s", c->secret_file, strerror(errno));
        if (auth_secret_create(c->secret_file, err) < 0)
            return -1;
    }
    c->key = auth_key_load(c->secret_file, err);
    return c->key ? 0 : -1;
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
    c->watchdog_pid = -1;
    if (load_secret(c, err) < 0 || start_watchdog(c, err) < 0) {
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
        bool done =
            c->watchdog && proto_watchdog_shutdown_call(c->watchdog, NULL, NULL, &err) == 0;
        /* The watchdog kills its children before it answers; if it cannot be
         * reached, SIGKILL it and its children die with it. */
        if (!done || !wait_exit(c->watchdog_pid, 5000)) {
            kill(c->watchdog_pid, SIGKILL);
            wait_exit(c->watchdog_pid, 5000);
        }
    }
    for (size_t i = 0; i < c->n_ep; i++)
        rpc_client_free(c->ep[i].rpc);
    free(c->ep);
    rpc_client_free(c->watchdog);
    auth_key_free(c->key);
    model_free(c->m);
    free(c);
}

static void add_frames(cluster *c, uint64_t id, cluster_frames *out);


/* ---- helpers ---- */

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
    return proto_server_connect_call(d->rpc, &(proto_peer){target, t->host, t->port}, NULL, err);
}

/* Asks the watchdog to start a server or client and records where it
 * listens: the watchdog says which host and port. */
static int start_process(cluster *c, const char *kind, uint64_t id, bool sync, dkv_err *err)
{
    /* A server id seen before in this run held data: its store must be
     * there, or the server refuses to start (a wiped directory). */
    bool server = strcmp(kind, "server") == 0;
    bool rejoin = server && model_role_of(c->m, id) == MODEL_ROLE_SERVER;
    proto_watchdog_start_args a = {server ? PROTO_KIND_SERVER : PROTO_KIND_CLIENT, id, sync,
                                   rejoin};
    proto_watchdog_start_reply r;
    if (proto_watchdog_start_call(c->watchdog, &a, &r, err) < 0)
        return -1;
    ep_set(c, server, id, r.host, r.port);
    return 0;
}

/* Tells client cid to use server sid, with the master's call timeout. */
static int attach_client(cluster *c, uint64_t cid, uint64_t sid, dkv_err *err)
{
    endpoint *s = ep_find(c, sid);
    proto_client_attach_args a = {sid, s->host, s->port, c->opts.rpc_timeout_ms};
    return proto_client_attach_call(ep_find(c, cid)->rpc, &a, NULL, err);
}

static int collect_store(cluster *c, uint64_t id, cluster_result *res, dkv_err *err);

static int join_server(cluster *c, uint64_t id, cluster_result *res, dkv_err *err)
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
            rc = proto_server_uncut_call(ep_find(c, live[i])->rpc, &(proto_id){id}, NULL, err);
    model_server_up(c->m, id);
    /* A reused run directory may hold data of earlier runs: the history
     * records what the store held before anything of this run reached it
     * (no peer knows its address yet), so a checker knows those writes. */
    if (rc == 0 && c->opts.record_initial_stores && role == MODEL_ROLE_NONE) {
        if (collect_store(c, id, res, err) < 0)
            rc = dkv_err_wrap(err, "cannot read what server %" PRIu64 " held at start", id);
        res->has_store = rc == 0 && res->n_entries > 0;
    }
    /* One call hands the new server every peer to dial. */
    if (rc == 0 && n > 0) {
        proto_peer *peers = xcalloc(n, sizeof *peers);
        for (size_t i = 0; i < n; i++) {
            endpoint *t = ep_find(c, live[i]);
            peers[i] = (proto_peer){live[i], t->host, t->port};
        }
        rc = proto_server_connect_all_call(ep_find(c, id)->rpc,
                                           &(proto_server_connect_all_args){peers, n}, NULL, err);
        free(peers);
    }
    /* Clients attached to this id follow it to its new address. */
    size_t nc = model_clients_of(c->m, id, NULL, 0);
    uint64_t *cl = xcalloc(nc + 1, sizeof *cl);
    model_clients_of(c->m, id, cl, nc);
    for (size_t i = 0; i < nc && rc == 0; i++)
        rc = attach_client(c, cl[i], id, err);
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
    if (proto_watchdog_kill_call(c->watchdog, &(proto_id){id}, NULL, err) < 0)
        return -1;
    model_server_down(c->m, id);
    /* Its old port may be bound by anyone next: the others stop dialling
     * it (a rejoin hands them the new address). */
    size_t n = model_live_servers(c->m, NULL, 0);
    uint64_t *live = xcalloc(n + 1, sizeof *live);
    model_live_servers(c->m, live, n);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = proto_server_forget_call(ep_find(c, live[i])->rpc, &(proto_id){id}, NULL, err);
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
    if (attach_client(c, cid, sid, err) < 0)
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
        if (proto_client_detach_call(ep_find(c, cid)->rpc, NULL, NULL, err) < 0)
            return -1;
        model_client_detach(c->m, cid);
        return 0;
    }
    if (need_live_server(c, a, err) < 0 || need_live_server(c, b, err) < 0)
        return -1;
    if (!create) {
        model_set_cut(c->m, a, b, true);
        if (proto_server_cut_call(ep_find(c, a)->rpc, &(proto_id){b}, NULL, err) < 0 ||
            proto_server_cut_call(ep_find(c, b)->rpc, &(proto_id){a}, NULL, err) < 0)
            return -1;
        return 0;
    }
    model_set_cut(c->m, a, b, false);
    if (proto_server_uncut_call(ep_find(c, b)->rpc, &(proto_id){a}, NULL, err) < 0)
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

static void fetch_digest(cluster *c, uint64_t id, digest *d)
{
    digest_clear(d);
    dkv_err err;
    proto_server_digest_reply r;
    if (proto_server_digest_call(ep_find(c, id)->rpc, NULL, &r, &err) < 0) {
        snprintf(d->error, sizeof d->error, "%s", err.msg);
        return;
    }
    d->vc = xstrdup(r.vc);
    d->links = xstrdup(r.links);
    d->group = xstrdup(r.group);
    d->queued = r.queued;
    d->ok = true;
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
        if (c->opts.cancel && *c->opts.cancel) {
            dkv_err_set(err, "interrupted by a signal before the servers settled");
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

/* Appends a copy of one dumped entry to res (the reply's bytes are gone
 * at the next call). */
static void add_entry(cluster_result *res, const proto_entry *en)
{
    *VEC_PUSH(res->entries, res->n_entries, res->cap_entries) =
        (cluster_entry){xmemdup(en->key.p, en->key.n), xmemdup(en->value.p, en->value.n),
                        en->key.n, en->value.n, en->version};
}

/* Reads server id's whole store into res->entries, page by page. */
static int collect_store(cluster *c, uint64_t id, cluster_result *res, dkv_err *err)
{
    endpoint *e = ep_find(c, id);
    bool more = true;
    while (more) {
        proto_server_dump_reply r;
        proto_server_dump_args a = {{NULL, 0}, res->n_entries > 0};
        if (res->n_entries > 0) {
            /* The next page starts after the last key. */
            const cluster_entry *last = &res->entries[res->n_entries - 1];
            a.after = (proto_bytes){last->key, last->key_len};
        }
        if (proto_server_dump_call(e->rpc, &a, &r, err) < 0)
            return -1;
        for (size_t i = 0; i < r.n_entries; i++)
            add_entry(res, &r.entries[i]);
        more = r.more && r.n_entries > 0;
    }
    return 0;
}

static int print_store(cluster *c, uint64_t id, FILE *out, cluster_result *res, dkv_err *err)
{
    if (need_live_server(c, id, err) < 0)
        return -1;
    /* Collect the whole store first, so a failure prints nothing partial. */
    if (collect_store(c, id, res, err) < 0)
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

/* What every put/get reply ends with (client/main.c): the session's
 * dependency before and after, and the server the client used (the
 * history records what happened, not what the model expected). */
static void record_session(dkv_version dep_before, dkv_version dep_after, uint64_t server,
                           cluster_result *res)
{
    res->has_reply = true;
    res->dep_before = dep_before;
    res->dep_after = dep_after;
    res->server = server;
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
    proto_client_put_args a = {{cmd->key, cmd->key_len}, {cmd->value, cmd->value_len}};
    proto_client_put_reply r;
    if (proto_client_put_call(e->rpc, &a, &r, err) < 0) {
        /* A message from the client says so itself when it applies. */
        if (!rpc_client_outcome_unknown(e->rpc))
            return -1;
        dkv_err why = *err;
        return dkv_err_set(err, "%s; the write may or may not have happened", why.msg);
    }
    res->version = r.version;
    record_session(r.dep_before, r.dep_after, r.server, res);
    return 0;
}

static int do_get(cluster *c, const script_cmd *cmd, FILE *out, cluster_result *res,
                  dkv_err *err)
{
    endpoint *e;
    if (check_sizes(cmd, err) < 0 || client_endpoint(c, cmd->id[0], &e, res, err) < 0)
        return -1;
    proto_client_get_reply r;
    if (proto_client_get_call(e->rpc, &(proto_client_get_args){{cmd->key, cmd->key_len}}, &r,
                              err) < 0)
        return -1;
    bool ok = r.status == PROTO_READ_OK;
    const char *status = proto_read_name(r.status);
    res->get_status = status;
    fwrite(cmd->key, 1, cmd->key_len, out);
    fputc(':', out);
    if (ok)
        fwrite(r.value.p, 1, r.value.n, out);
    else
        fputs(status, out);
    fputc('\n', out);
    if (ok) {
        res->value = r.value.p;
        res->value_len = r.value.n;
    }
    res->version = r.version;
    record_session(r.dep_before, r.dep_after, r.server, res);
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
    case SCRIPT_CMD_JOIN_SERVER: return join_server(c, cmd->id[0], res, err);
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
    proto_server_stats_reply r;
    if (!e || proto_server_stats_call(e->rpc, NULL, &r, &err) < 0)
        return;
    out->hello += (int64_t)r.hello;
    out->upd += (int64_t)r.upd;
    out->ack += (int64_t)r.ack;
    out->lsa += (int64_t)r.lsa;
    out->updates_sent += (int64_t)r.updates_sent;
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
