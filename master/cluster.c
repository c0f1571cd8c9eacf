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
#include "../common/vclock.h"
#include "model.h"
#include "show.h"

/* Control connections notice a vanished watchdog within
 * idle + interval * count seconds (net_set_keepalive). */
#define CONTROL_KEEPALIVE_IDLE_S 1
#define CONTROL_KEEPALIVE_INTERVAL_S 1
#define CONTROL_KEEPALIVE_COUNT 3

/* A machine: its watchdog, and the control connection the run is bound
 * to. Local mode has one, "local", whose watchdog the master started. */
typedef struct machine {
    char name[64];
    char host[256];
    uint16_t port;
    char label[320]; /* "machine m2 (10.0.0.2:7401)", for messages */
    rpc_client *rpc;
    pid_t pid;       /* local: the watchdog started here; -1 otherwise */
    bool lost;
    char why[DKV_ERR_MAX]; /* why it was lost */
    int64_t last_try_us;   /* lost: when the master last tried to get it back */
    bool last_try_slow;    /* and that try waited long (a cut network) */
} machine;

/* A lost machine is tried again when a command needs it; after a try that
 * waited for a timeout (a cut network), not again for this long. */
#define MACHINE_RETRY_US 2000000
#define MACHINE_SLOW_TRY_US 500000

/* Where a daemon listens, and the one persistent connection to it. */
typedef struct endpoint {
    uint64_t id;
    char host[256];
    uint16_t port;
    rpc_client *rpc;
    size_t machine; /* where it runs */
    int64_t pid;    /* of the process now, to match died events */
    bool running;   /* its process is up (as far as the master knows) */
    bool died;      /* a server that died outside the script, not yet killed or rejoined */
    bool data_gone; /* a server whose machine came back without the run's directory */
    char cause[128]; /* why it died */
    long paused_line; /* a paused server: the script line that paused it */
    bool faulted;     /* a server some link fault was set on: a rejoin clears them */
} endpoint;

/* delayLink and flakyLink of one direction of a link. */
typedef struct link_fault {
    uint64_t from, to;
    int64_t delay_ms, jitter_ms, flaky_pct;
} link_fault;

struct cluster {
    cluster_opts opts;
    char run_id[40]; /* random per run: servers of other runs never link */
    model *m;
    char secret_file[PATH_MAX];
    auth_key *key; /* the cluster's: every call proves it */
    machine *mach;
    size_t n_mach;
    endpoint *ep;
    size_t n_ep, cap_ep;
    cluster_frames retired; /* counters of servers as they were killed */
    cluster_event *ev;
    size_t n_ev, cap_ev;
    uint64_t changes; /* deaths and losses applied: stabilize recomputes */
    link_fault *lf;
    size_t n_lf, cap_lf;
    bool seed_shown; /* the random seed was printed */
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

/* One RPC connection to a daemon or a watchdog: it proves the cluster's
 * key, names its callee in messages and gives up when the master is
 * stopped by a signal. */
static rpc_client *dial(cluster *c, const char *host, uint16_t port, int timeout_ms,
                        const char *name)
{
    rpc_client *rpc = rpc_client_new(host, port, timeout_ms, c->key);
    rpc_client_set_name(rpc, name);
    rpc_client_set_cancel(rpc, c->opts.cancel);
    return rpc;
}

static endpoint *ep_set(cluster *c, bool server, uint64_t id, size_t mi, const char *host,
                        uint16_t port, int64_t pid)
{
    endpoint *e = ep_find(c, id);
    if (!e) {
        e = VEC_PUSH(c->ep, c->n_ep, c->cap_ep);
        memset(e, 0, sizeof *e);
        e->id = id;
    }
    rpc_client_free(e->rpc);
    snprintf(e->host, sizeof e->host, "%s", host);
    e->port = port;
    e->machine = mi;
    e->pid = pid;
    e->running = true;
    e->died = false;
    char name[40];
    snprintf(name, sizeof name, "%s %" PRIu64, server ? "server" : "client", id);
    int timeout_ms = c->opts.rpc_timeout_ms + (server ? 0 : CLIENT_RELAY_MARGIN_MS);
    e->rpc = dial(c, host, port, timeout_ms, name);
    return e;
}

static void set_label(machine *m)
{
    bool v6 = strchr(m->host, ':') != NULL;
    snprintf(m->label, sizeof m->label, v6 ? "machine %s ([%s]:%u)" : "machine %s (%s:%u)",
             m->name, m->host, m->port);
}

/* "machine m2 (10.0.0.2:7401) is unreachable: why" into err. */
static int unreachable(const machine *m, dkv_err *err)
{
    return dkv_err_set(err, "%s is unreachable: %s", m->label, m->why);
}

/* Begins the run on machine m (its first call on the control
 * connection); *resumed: the run's directory was there already. */
static int begin_run(cluster *c, machine *m, bool *resumed, dkv_err *err)
{
    m->rpc = dial(c, m->host, m->port, c->opts.rpc_timeout_ms, m->label);
    if (c->opts.cancel_spares_control)
        rpc_client_set_cancel(m->rpc, NULL);
    rpc_client_set_control(m->rpc, CONTROL_KEEPALIVE_IDLE_S, CONTROL_KEEPALIVE_INTERVAL_S,
                           CONTROL_KEEPALIVE_COUNT);
    bool keep = c->opts.cfg ? c->opts.keep : false;
    proto_watchdog_run_begin_args a = {c->run_id, c->opts.sync, keep,
                                       c->opts.cfg && c->opts.valgrind_servers, c->opts.trace};
    proto_watchdog_run_begin_reply r;
    if (proto_watchdog_run_begin_call(m->rpc, &a, &r, err) < 0)
        return -1;
    *resumed = r.resumed;
    if (c->opts.cfg && keep)
        fprintf(stderr, "master: %s keeps the run's directory %s\n", m->label, r.dir);
    return 0;
}

static int start_watchdog(cluster *c, machine *m, bool *resumed, dkv_err *err)
{
    char exe[4200];
    snprintf(exe, sizeof exe, "%s/watchdog", c->opts.bin_dir);
    const char *argv[20];
    int a = 0;
    argv[a++] = exe;
    argv[a++] = "--run-dir";
    argv[a++] = c->opts.run_dir;
    argv[a++] = "--listen";
    argv[a++] = c->opts.watchdog_host;
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
    m->pid = pid;
    if (daemon_await_ready(ready_fd, 10000, &m->port, err) < 0)
        return dkv_err_wrap(err, "watchdog");
    snprintf(m->name, sizeof m->name, "local");
    snprintf(m->host, sizeof m->host, "%s", c->opts.watchdog_host);
    set_label(m);
    return begin_run(c, m, resumed, err) < 0 ? dkv_err_wrap(err, "watchdog") : 0;
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

/* The cluster secret: the one given (--config: every machine's watchdog
 * has it), or a fresh one for this run (a reused run directory's old
 * secret is replaced), mode 0600. Only its path is ever passed on. */
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

/* Connects to every machine of the config and begins the run there. */
static int begin_everywhere(cluster *c, dkv_err *err)
{
    c->n_mach = config_machines(c->opts.cfg);
    c->mach = xcalloc(c->n_mach, sizeof *c->mach);
    for (size_t i = 0; i < c->n_mach; i++) {
        const config_machine *cm = config_machine_at(c->opts.cfg, i);
        machine *m = &c->mach[i];
        snprintf(m->name, sizeof m->name, "%s", cm->name);
        snprintf(m->host, sizeof m->host, "%s", cm->host);
        m->port = cm->port;
        m->pid = -1;
        set_label(m);
    }
    bool resumed;
    for (size_t i = 0; i < c->n_mach; i++)
        if (begin_run(c, &c->mach[i], &resumed, err) < 0)
            return dkv_err_wrap(err, "%s: cannot begin the run", c->mach[i].label);
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
    if (!c->opts.seed_given) {
        /* Random, and printed when first used (fault_seed): --seed repeats it. */
        if (getrandom(&c->opts.seed, sizeof c->opts.seed, 0) != sizeof c->opts.seed)
            c->opts.seed = (uint64_t)net_now_us() ^ ((uint64_t)getpid() << 32);
    }
    int rc = load_secret(c, err);
    if (rc < 0) {
    } else if (opts->cfg) {
        rc = begin_everywhere(c, err);
    } else {
        c->n_mach = 1;
        c->mach = xcalloc(1, sizeof *c->mach);
        c->mach[0].pid = -1;
        bool resumed;
        rc = start_watchdog(c, &c->mach[0], &resumed, err);
    }
    if (rc < 0) {
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

/* Ends the run on m: its watchdog kills the run's processes before it
 * answers. The local watchdog then exits; if it cannot be reached, SIGKILL
 * it and its children die with it. */
static void end_run(machine *m)
{
    dkv_err err;
    bool done = m->rpc && !m->lost &&
                (m->pid > 0 ? proto_watchdog_shutdown_call(m->rpc, NULL, NULL, &err)
                            : proto_watchdog_run_end_call(m->rpc, NULL, NULL, &err)) == 0;
    if (m->pid > 0 && (!done || !wait_exit(m->pid, 5000))) {
        kill(m->pid, SIGKILL);
        wait_exit(m->pid, 5000);
    }
    rpc_client_free(m->rpc);
    m->rpc = NULL;
}

static void clear_event(cluster_event *e)
{
    free(e->servers);
    free(e->clients);
}

void cluster_events_clear(cluster *c)
{
    for (size_t i = 0; i < c->n_ev; i++)
        clear_event(&c->ev[i]);
    c->n_ev = 0;
}

size_t cluster_events(const cluster *c, const cluster_event **events)
{
    *events = c->ev;
    return c->n_ev;
}

void cluster_free(cluster *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_mach; i++)
        end_run(&c->mach[i]);
    for (size_t i = 0; i < c->n_ep; i++)
        rpc_client_free(c->ep[i].rpc);
    free(c->ep);
    free(c->lf);
    free(c->mach);
    cluster_events_clear(c);
    free(c->ev);
    auth_key_free(c->key);
    model_free(c->m);
    free(c);
}

static void add_frames(cluster *c, uint64_t id, cluster_frames *out);

/* ---- what happens outside the script ---- */

static cluster_event *new_event(cluster *c, cluster_event_kind kind, const machine *m)
{
    cluster_event *e = VEC_PUSH(c->ev, c->n_ev, c->cap_ev);
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->at_us = net_now_us();
    snprintf(e->machine, sizeof e->machine, "%s", m->label);
    return e;
}

/* Live servers stop dialling a server that is gone (its port may be
 * anyone's next), as after killServer. */
static void forget_everywhere(cluster *c, uint64_t id)
{
    size_t n = model_live_servers(c->m, NULL, 0);
    uint64_t *live = xcalloc(n + 1, sizeof *live);
    model_live_servers(c->m, live, n);
    for (size_t i = 0; i < n; i++) {
        endpoint *e = ep_find(c, live[i]);
        dkv_err err;
        /* A paused server would answer nothing: resumeServer tells it. */
        if (e && !c->mach[e->machine].lost && !model_server_paused(c->m, live[i]))
            proto_server_forget_call(e->rpc, &(proto_id){id}, NULL, &err);
    }
    free(live);
}

/* The process of e is gone: a server is down (treated as killed), a
 * client gone (its session with it). */
static void process_gone(cluster *c, endpoint *e)
{
    e->running = false;
    c->changes++;
    if (model_role_of(c->m, e->id) == MODEL_ROLE_SERVER) {
        model_server_down(c->m, e->id);
        forget_everywhere(c, e->id);
    } else {
        model_client_gone(c->m, e->id);
    }
}

static void apply_died(cluster *c, size_t mi, const proto_watchdog_died_event *d)
{
    endpoint *e = ep_find(c, d->id);
    /* An older incarnation's death, reported after a restart: nothing. */
    if (!e || e->machine != mi || e->pid != d->pid || !e->running)
        return;
    cluster_event *ev = new_event(c, CLUSTER_EV_DIED, &c->mach[mi]);
    ev->server = d->kind == PROTO_KIND_SERVER;
    ev->id = d->id;
    if (d->signal)
        snprintf(ev->cause, sizeof ev->cause, "killed by signal %d", (int)d->signal);
    else
        snprintf(ev->cause, sizeof ev->cause, "exited with status %d", (int)d->code);
    snprintf(e->cause, sizeof e->cause, "%s", ev->cause);
    e->died = ev->server;
    process_gone(c, e);
}

/* The watchdog of machine mi is gone: so is every process placed there. */
static void lose_machine(cluster *c, size_t mi, const char *why)
{
    machine *m = &c->mach[mi];
    if (m->lost)
        return;
    m->lost = true;
    snprintf(m->why, sizeof m->why, "%s", why);
    cluster_event *ev = new_event(c, CLUSTER_EV_LOST, m);
    snprintf(ev->why, sizeof ev->why, "%s", why);
    size_t cap_s = 0, cap_c = 0;
    for (size_t i = 0; i < c->n_ep; i++) {
        endpoint *e = &c->ep[i];
        if (e->machine != mi || !e->running)
            continue;
        if (model_role_of(c->m, e->id) == MODEL_ROLE_SERVER)
            *VEC_PUSH(ev->servers, ev->n_servers, cap_s) = e->id;
        else
            *VEC_PUSH(ev->clients, ev->n_clients, cap_c) = e->id;
        e->running = false;
        if (model_role_of(c->m, e->id) == MODEL_ROLE_SERVER)
            model_server_down(c->m, e->id);
        else
            model_client_gone(c->m, e->id);
    }
    c->changes++;
    for (size_t i = 0; i < ev->n_servers; i++)
        forget_everywhere(c, ev->servers[i]);
}

/* Applies the events queued on machine mi's control connection. */
static void drain_events(cluster *c, size_t mi)
{
    const uint8_t *body;
    size_t len;
    while (c->mach[mi].rpc && rpc_client_next_event(c->mach[mi].rpc, &body, &len) == 1) {
        proto_watchdog_died_event d;
        dkv_err err;
        if (proto_decode_event(&proto_event_died, body, len, &d, &err) == 0)
            apply_died(c, mi, &d);
        else
            fprintf(stderr, "master: %s sent an event the master cannot read: %s\n",
                    c->mach[mi].label, err.msg);
    }
}

/* Polls machine mi: its events, and whether its watchdog is still there. */
static void poll_machine(cluster *c, size_t mi)
{
    machine *m = &c->mach[mi];
    if (m->lost || !m->rpc)
        return;
    dkv_err err;
    int rc = rpc_client_poll(m->rpc, &err);
    drain_events(c, mi);
    if (rc < 0)
        lose_machine(c, mi, err.msg);
}

void cluster_poll(cluster *c)
{
    for (size_t i = 0; i < c->n_mach; i++)
        poll_machine(c, i);
}

/* After a failed call to the watchdog of mi: events that came with it are
 * applied, and a connection gone means the machine is lost; err then names
 * the machine. */
static int watchdog_failed(cluster *c, size_t mi, dkv_err *err)
{
    machine *m = &c->mach[mi];
    drain_events(c, mi);
    if (!rpc_client_connected(m->rpc)) {
        lose_machine(c, mi, err->msg);
        return unreachable(m, err);
    }
    return -1;
}

/* After a failed call to daemon e: if its machine turns out to be lost,
 * err says so. */
static int daemon_failed(cluster *c, const endpoint *e, dkv_err *err)
{
    poll_machine(c, e->machine);
    if (c->mach[e->machine].lost)
        return unreachable(&c->mach[e->machine], err);
    return -1;
}

/* Tries to get lost machine mi back, when a command needs it: its
 * watchdog may have been restarted (the local one is started again here)
 * or the network healed. The run is begun again with the same id; when
 * its directory was still there (the watchdog was killed, not ended) its
 * servers rejoin with their data, otherwise those servers cannot rejoin. */
static int reconnect(cluster *c, size_t mi, dkv_err *err)
{
    machine *m = &c->mach[mi];
    int64_t now = net_now_us();
    if (m->last_try_slow && now - m->last_try_us < MACHINE_RETRY_US)
        return unreachable(m, err);
    m->last_try_us = now;
    rpc_client_free(m->rpc);
    m->rpc = NULL;
    bool resumed = false;
    dkv_err why;
    int rc;
    if (m->pid > 0) {
        kill(m->pid, SIGKILL);
        wait_exit(m->pid, 5000);
        m->pid = -1;
        rc = start_watchdog(c, m, &resumed, &why);
        resumed = true; /* the run directory is the master's: still there */
    } else {
        rc = begin_run(c, m, &resumed, &why);
    }
    m->last_try_slow = net_now_us() - now > MACHINE_SLOW_TRY_US;
    if (rc < 0) {
        snprintf(m->why, sizeof m->why, "%s", why.msg);
        return unreachable(m, err);
    }
    m->lost = false;
    cluster_event *ev = new_event(c, CLUSTER_EV_BACK, m);
    ev->kept = resumed;
    for (size_t i = 0; i < c->n_ep && !resumed; i++)
        if (c->ep[i].machine == mi && model_role_of(c->m, c->ep[i].id) == MODEL_ROLE_SERVER)
            c->ep[i].data_gone = true;
    return 0;
}

/* ---- helpers ---- */

/* Why server id, which the model has down, is not live. */
static int server_not_live(cluster *c, uint64_t id, dkv_err *err)
{
    endpoint *e = ep_find(c, id);
    if (e && c->mach[e->machine].lost)
        return dkv_err_set(err, "server %" PRIu64 " is on %s, which is unreachable: %s", id,
                           c->mach[e->machine].label, c->mach[e->machine].why);
    /* Why it died is in its log: on this machine, in the run directory. */
    if (e && e->died && !c->opts.cfg)
        return dkv_err_set(err, "server %" PRIu64 " is not live (it died: %s; its log: %s/server-%" PRIu64
                                ".log)",
                           id, e->cause, c->opts.run_dir, id);
    if (e && e->died)
        return dkv_err_set(err, "server %" PRIu64 " is not live (it died: %s)", id, e->cause);
    return dkv_err_set(err, "server %" PRIu64 " is not live (it was killed)", id);
}

static int need_live_server(cluster *c, uint64_t id, dkv_err *err)
{
    model_role role = model_role_of(c->m, id);
    if (role == MODEL_ROLE_CLIENT)
        return dkv_err_set(err, "%" PRIu64 " is a client, not a server", id);
    if (role == MODEL_ROLE_NONE)
        return dkv_err_set(err, "server %" PRIu64 " does not exist (use joinServer first)", id);
    if (!model_server_live(c->m, id))
        return server_not_live(c, id, err);
    return 0;
}

/* A paused server answers nothing: a command that needs it fails at once,
 * rather than after a call's timeout. */
static int need_unpaused(cluster *c, uint64_t id, dkv_err *err)
{
    if (!model_server_paused(c->m, id))
        return 0;
    endpoint *e = ep_find(c, id);
    return dkv_err_set(err, "server %" PRIu64 " is paused (pauseServer at line %ld)", id,
                       e ? e->paused_line : 0L);
}

static int need_running_server(cluster *c, uint64_t id, dkv_err *err)
{
    return need_live_server(c, id, err) < 0 ? -1 : need_unpaused(c, id, err);
}

static int need_client(cluster *c, uint64_t id, dkv_err *err)
{
    model_role role = model_role_of(c->m, id);
    if (role == MODEL_ROLE_SERVER)
        return dkv_err_set(err, "%" PRIu64 " is a server, not a client", id);
    if (role == MODEL_ROLE_NONE)
        return dkv_err_set(err, "client %" PRIu64 " does not exist (use joinClient first)", id);
    if (!model_client_running(c->m, id)) {
        endpoint *e = ep_find(c, id);
        if (e && c->mach[e->machine].lost)
            return dkv_err_set(err, "client %" PRIu64 " is on %s, which is unreachable: %s", id,
                               c->mach[e->machine].label, c->mach[e->machine].why);
        return dkv_err_set(err,
                           "client %" PRIu64 " is not running (it died: %s); joinClient starts "
                           "it again",
                           id, e ? e->cause : "?");
    }
    return 0;
}

/* ---- commands ---- */

/* Calls on a server; a failure names the machine when it is lost. */
#define SERVER_CALL(c, e, call) ((call) < 0 ? daemon_failed(c, e, err) : 0)

static int link_servers(cluster *c, uint64_t dialer, uint64_t target, dkv_err *err)
{
    endpoint *d = ep_find(c, dialer), *t = ep_find(c, target);
    return SERVER_CALL(c, d,
                       proto_server_connect_call(d->rpc, &(proto_peer){target, t->host, t->port},
                                                 NULL, err));
}

/* Where id runs: the config's placement (a client beside the server it
 * first joins, unless placed), or the one local machine. */
static int place(cluster *c, uint64_t id, bool server, uint64_t sid, size_t *mi, dkv_err *err)
{
    endpoint *known = ep_find(c, id);
    if (known) {
        *mi = known->machine;
        return 0;
    }
    if (!c->opts.cfg) {
        *mi = 0;
        return 0;
    }
    endpoint *s = server ? NULL : ep_find(c, sid);
    return config_place(c->opts.cfg, id, server, s ? s->machine : 0, mi, err);
}

/* Asks the watchdog of id's machine to start a server or client and
 * records where it listens: the watchdog says which host and port. */
static int start_process(cluster *c, bool server, uint64_t id, uint64_t sid, dkv_err *err)
{
    size_t mi;
    if (place(c, id, server, sid, &mi, err) < 0)
        return -1;
    machine *m = &c->mach[mi];
    poll_machine(c, mi);
    if (m->lost && reconnect(c, mi, err) < 0)
        return -1;
    endpoint *known = ep_find(c, id);
    if (known && known->data_gone)
        return dkv_err_set(err,
                           "server %" PRIu64 " cannot rejoin: its data on %s is gone (its "
                           "watchdog ended the run while the machine was unreachable)",
                           id, m->label);
    /* A server id seen before in this run held data: its store must be
     * there, or the server refuses to start (a wiped directory). */
    bool rejoin = server && model_role_of(c->m, id) == MODEL_ROLE_SERVER;
    proto_watchdog_start_args a = {server ? PROTO_KIND_SERVER : PROTO_KIND_CLIENT, id,
                                   c->opts.sync, rejoin};
    proto_watchdog_start_reply r;
    if (proto_watchdog_start_call(m->rpc, &a, &r, err) < 0)
        return watchdog_failed(c, mi, err);
    drain_events(c, mi);
    ep_set(c, server, id, mi, r.host, r.port, r.pid);
    return 0;
}

/* Tells client cid to use server sid, with the master's call timeout. */
static int attach_client(cluster *c, uint64_t cid, uint64_t sid, dkv_err *err)
{
    endpoint *s = ep_find(c, sid);
    endpoint *ce = ep_find(c, cid);
    proto_client_attach_args a = {sid, s->host, s->port, c->opts.rpc_timeout_ms};
    return SERVER_CALL(c, ce, proto_client_attach_call(ce->rpc, &a, NULL, err));
}

static int collect_store(cluster *c, uint64_t id, cluster_result *res, dkv_err *err);
static int rejoin_faults(cluster *c, uint64_t id, const uint64_t *live, size_t n, dkv_err *err);

static int join_server(cluster *c, uint64_t id, cluster_result *res, dkv_err *err)
{
    model_role role = model_role_of(c->m, id);
    if (role == MODEL_ROLE_CLIENT)
        return dkv_err_set(err, "%" PRIu64 " is a client; an id cannot be both", id);
    if (model_server_live(c->m, id))
        return dkv_err_set(err, "server %" PRIu64 " is already live", id);
    if (start_process(c, true, id, 0, err) < 0)
        return -1;

    size_t n = model_live_servers(c->m, NULL, 0);
    uint64_t *live = xcalloc(n + 1, sizeof *live);
    model_live_servers(c->m, live, n);
    int rc = 0;
    /* A rejoin restores every link: peers that had cut this id forget it
     * (a paused one when it resumes). */
    for (size_t i = 0; i < n && rc == 0; i++)
        if (model_is_cut(c->m, live[i], id) && !model_server_paused(c->m, live[i])) {
            endpoint *e = ep_find(c, live[i]);
            rc = SERVER_CALL(c, e, proto_server_uncut_call(e->rpc, &(proto_id){id}, NULL, err));
        }
    model_server_up(c->m, id);
    /* A reused run directory may hold data of earlier runs: the history
     * records what the store held before anything of this run reached it
     * (no peer knows its address yet), so a checker knows those writes. */
    if (rc == 0 && c->opts.record_initial_stores && role == MODEL_ROLE_NONE) {
        if (collect_store(c, id, res, err) < 0)
            rc = dkv_err_wrap(err, "cannot read what server %" PRIu64 " held at start", id);
        res->has_store = rc == 0 && res->n_entries > 0;
    }
    endpoint *me = ep_find(c, id);
    /* Link faults of its earlier life are gone; its links to paused
     * servers are held until they resume (before it dials them). */
    if (rc == 0)
        rc = rejoin_faults(c, id, live, n, err);
    /* One call hands the new server every peer to dial. */
    if (rc == 0 && n > 0) {
        proto_peer *peers = xcalloc(n, sizeof *peers);
        for (size_t i = 0; i < n; i++) {
            endpoint *t = ep_find(c, live[i]);
            peers[i] = (proto_peer){live[i], t->host, t->port};
        }
        rc = SERVER_CALL(c, me,
                         proto_server_connect_all_call(
                             me->rpc, &(proto_server_connect_all_args){peers, n}, NULL, err));
        free(peers);
    }
    /* Running clients attached to this id follow it to its new address. */
    size_t nc = model_clients_of(c->m, id, NULL, 0);
    uint64_t *cl = xcalloc(nc + 1, sizeof *cl);
    model_clients_of(c->m, id, cl, nc);
    for (size_t i = 0; i < nc && rc == 0; i++)
        if (ep_find(c, cl[i])->running)
            rc = attach_client(c, cl[i], id, err);
    free(cl);
    free(live);
    return rc;
}

/* ---- faults ---- */

static link_fault *find_fault(cluster *c, uint64_t from, uint64_t to)
{
    for (size_t i = 0; i < c->n_lf; i++)
        if (c->lf[i].from == from && c->lf[i].to == to)
            return &c->lf[i];
    return NULL;
}

/* The seed of the from->to link's generator: the run's seed mixed with
 * both ids, so links draw independently and a run can be repeated. */
static uint64_t link_seed(const cluster *c, uint64_t from, uint64_t to)
{
    uint64_t z = c->opts.seed ^ (from * UINT64_C(0x9e3779b97f4a7c15)) ^
                 (to * UINT64_C(0xc2b2ae3d27d4eb4f));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return (z ^ (z >> 31)) & (uint64_t)INT64_MAX;
}

/* Tells server from how its link to `to` misbehaves now: delay and flaky
 * from the table, held when the model says so. A paused server hears it
 * when it resumes. */
static int push_fault(cluster *c, uint64_t from, uint64_t to, dkv_err *err)
{
    if (model_server_paused(c->m, from))
        return 0;
    endpoint *e = ep_find(c, from);
    const link_fault *f = find_fault(c, from, to);
    /* Blocked one way only: each end holds its own direction, or is told
     * that the peer holds it (links_fault). */
    bool held = model_is_held(c->m, from, to);
    proto_server_link_fault_args a = {to,
                                      f ? f->delay_ms : 0,
                                      f ? f->jitter_ms : 0,
                                      f ? f->flaky_pct : 0,
                                      held,
                                      !held && model_is_blocked(c->m, from, to),
                                      !held && model_is_blocked(c->m, to, from),
                                      link_seed(c, from, to)};
    e->faulted = true;
    endpoint *t = ep_find(c, to);
    if (t)
        t->faulted = true;
    return SERVER_CALL(c, e, proto_server_link_fault_call(e->rpc, &a, NULL, err));
}

/* A (re)joining server id: the table forgets its link faults; every live
 * peer that had one with it hears they are gone, and it holds its links
 * to paused servers. */
static int rejoin_faults(cluster *c, uint64_t id, const uint64_t *live, size_t n, dkv_err *err)
{
    endpoint *me = ep_find(c, id);
    bool had = me->faulted;
    me->faulted = false;
    size_t w = 0;
    for (size_t i = 0; i < c->n_lf; i++)
        if (c->lf[i].from != id && c->lf[i].to != id)
            c->lf[w++] = c->lf[i];
    c->n_lf = w;
    for (size_t i = 0; i < n; i++) {
        if (live[i] == id)
            continue;
        if (had && push_fault(c, live[i], id, err) < 0)
            return -1;
        if (model_server_paused(c->m, live[i]) && push_fault(c, id, live[i], err) < 0)
            return -1;
    }
    return 0;
}

static uint64_t fault_seed(cluster *c)
{
    if (!c->opts.seed_given && !c->seed_shown) {
        fprintf(stderr, "master: faults draw from seed %" PRIu64 " (--seed %" PRIu64
                        " repeats them)\n", c->opts.seed, c->opts.seed);
        c->seed_shown = true;
    }
    return c->opts.seed;
}

/* Both ids are running servers, distinct. */
static int need_link(cluster *c, uint64_t a, uint64_t b, dkv_err *err)
{
    if (a == b)
        return dkv_err_set(err, "both ids are %" PRIu64, a);
    return need_running_server(c, a, err) < 0 || need_running_server(c, b, err) < 0 ? -1 : 0;
}

static size_t live_servers(cluster *c, uint64_t **out)
{
    size_t n = model_live_servers(c->m, NULL, 0);
    *out = xcalloc(n + 1, sizeof **out);
    model_live_servers(c->m, *out, n);
    return n;
}

static int pause_server(cluster *c, const script_cmd *cmd, dkv_err *err)
{
    uint64_t id = cmd->id[0];
    if (need_live_server(c, id, err) < 0)
        return -1;
    endpoint *e = ep_find(c, id);
    if (model_server_paused(c->m, id))
        return dkv_err_set(err, "server %" PRIu64 " is already paused (pauseServer at line %ld)",
                           id, e->paused_line);
    machine *m = &c->mach[e->machine];
    if (proto_watchdog_pause_call(m->rpc, &(proto_watchdog_pause_args){id, true}, NULL, err) <
        0)
        return watchdog_failed(c, e->machine, err);
    model_set_paused(c->m, id, true);
    e->paused_line = cmd->line;
    /* Its peers hold their links to it: out of routing and groups at once,
     * rather than after keepalive gives up on it. */
    uint64_t *live;
    size_t n = live_servers(c, &live);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (live[i] != id)
            rc = push_fault(c, live[i], id, err);
    free(live);
    return rc;
}

static int resume_server(cluster *c, uint64_t id, dkv_err *err)
{
    if (need_live_server(c, id, err) < 0)
        return -1;
    if (!model_server_paused(c->m, id))
        return dkv_err_set(err, "server %" PRIu64 " is not paused", id);
    endpoint *e = ep_find(c, id);
    machine *m = &c->mach[e->machine];
    if (proto_watchdog_pause_call(m->rpc, &(proto_watchdog_pause_args){id, false}, NULL, err) <
        0)
        return watchdog_failed(c, e->machine, err);
    model_set_paused(c->m, id, false);
    /* What it missed: servers killed meanwhile (their ports may be anyone's
     * now), cuts a rejoin cleared, and its own link faults. */
    int rc = 0;
    for (size_t i = 0; i < c->n_ep && rc == 0; i++) {
        uint64_t o = c->ep[i].id;
        if (o == id || model_role_of(c->m, o) != MODEL_ROLE_SERVER)
            continue;
        if (!model_server_live(c->m, o))
            rc = SERVER_CALL(c, e, proto_server_forget_call(e->rpc, &(proto_id){o}, NULL, err));
        else if (!model_is_cut(c->m, id, o))
            rc = SERVER_CALL(c, e, proto_server_uncut_call(e->rpc, &(proto_id){o}, NULL, err));
        if (rc == 0 && (e->faulted || c->ep[i].faulted))
            rc = push_fault(c, id, o, err);
    }
    /* Then its peers release their links to it. */
    uint64_t *live;
    size_t n = live_servers(c, &live);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (live[i] != id)
            rc = push_fault(c, live[i], id, err);
    free(live);
    if (rc != 0) {
        /* Some peers may still hold their links to it: it stays paused for
         * the master, so that resumeServer can be given again. */
        model_set_paused(c->m, id, true);
        dkv_err_wrap(err, "server %" PRIu64 " still counts as paused (resumeServer again)", id);
    }
    return rc;
}

static int set_link_fault(cluster *c, const script_cmd *cmd, cluster_result *res, dkv_err *err)
{
    uint64_t a = cmd->id[0], b = cmd->id[1];
    if (need_link(c, a, b, err) < 0)
        return -1;
    link_fault *f = find_fault(c, a, b);
    if (!f) {
        f = VEC_PUSH(c->lf, c->n_lf, c->cap_lf);
        *f = (link_fault){a, b, 0, 0, 0};
    }
    if (cmd->kind == SCRIPT_CMD_DELAY_LINK) {
        f->delay_ms = (int64_t)cmd->num[0];
        f->jitter_ms = (int64_t)cmd->num[1];
    } else {
        f->flaky_pct = (int64_t)cmd->num[0];
    }
    if (f->jitter_ms > 0 || f->flaky_pct > 0) {
        res->has_seed = true;
        res->seed = fault_seed(c);
    }
    return push_fault(c, a, b, err);
}

static int block_link(cluster *c, uint64_t a, uint64_t b, bool block, dkv_err *err)
{
    if (need_link(c, a, b, err) < 0)
        return -1;
    /* Directed: unblockLink a b releases the a->b block only. Both ends
     * hear of it: a holds its frames to b, b sends a what a lacks, and
     * neither routes over the link (a blocked one counts as cut for
     * stabilize's groups). a first, so that an unblock releases a's held
     * frames before b routes over the link again. */
    model_set_blocked(c->m, a, b, block);
    return push_fault(c, a, b, err) < 0 ? -1 : push_fault(c, b, a, err);
}

/* sleep MS: waits, in slices, so that a signal ends it at once. */
static int sleep_ms(cluster *c, uint64_t ms, dkv_err *err)
{
    int64_t until = net_now_us() + (int64_t)ms * 1000;
    for (int64_t now; (now = net_now_us()) < until;) {
        if (c->opts.cancel && *c->opts.cancel)
            return dkv_err_set(err, "interrupted by a signal");
        int64_t left = until - now < 20000 ? until - now : 20000;
        struct timespec ts = {0, (long)left * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int kill_server(cluster *c, uint64_t id, dkv_err *err)
{
    endpoint *e = ep_find(c, id);
    /* It died already (the master said so): the script's wish holds. */
    if (e && e->died && !model_server_live(c->m, id) && !c->mach[e->machine].lost) {
        e->died = false;
        return 0;
    }
    if (need_live_server(c, id, err) < 0)
        return -1;
    if (c->opts.count_frames)
        add_frames(c, id, &c->retired); /* its counters die with it */
    machine *m = &c->mach[e->machine];
    if (proto_watchdog_kill_call(m->rpc, &(proto_id){id}, NULL, err) < 0) {
        watchdog_failed(c, e->machine, err);
        /* It died before the kill came: the master heard of it now. */
        if (!model_server_live(c->m, id) && !m->lost && e->died) {
            e->died = false;
            return 0;
        }
        return -1;
    }
    drain_events(c, e->machine);
    e->running = false;
    model_server_down(c->m, id);
    /* Its old port may be bound by anyone next: the others stop dialling
     * it (a rejoin hands them the new address). */
    size_t n = model_live_servers(c->m, NULL, 0);
    uint64_t *live = xcalloc(n + 1, sizeof *live);
    model_live_servers(c->m, live, n);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        endpoint *o = ep_find(c, live[i]);
        if (model_server_paused(c->m, live[i]))
            continue; /* told when it resumes */
        rc = SERVER_CALL(c, o, proto_server_forget_call(o->rpc, &(proto_id){id}, NULL, err));
    }
    free(live);
    return rc;
}

static int join_client(cluster *c, uint64_t cid, uint64_t sid, dkv_err *err)
{
    if (model_role_of(c->m, cid) == MODEL_ROLE_SERVER)
        return dkv_err_set(err, "%" PRIu64 " is a server; an id cannot be both", cid);
    if (cid == sid)
        return dkv_err_set(err, "a client cannot join itself");
    if (need_running_server(c, sid, err) < 0)
        return -1;
    if (!model_client_running(c->m, cid)) {
        /* New, or gone (died, machine lost): a fresh process, a fresh session. */
        if (start_process(c, false, cid, sid, err) < 0)
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
        endpoint *ce = ep_find(c, cid);
        if (SERVER_CALL(c, ce, proto_client_detach_call(ce->rpc, NULL, NULL, err)) < 0)
            return -1;
        model_client_detach(c->m, cid);
        return 0;
    }
    if (need_running_server(c, a, err) < 0 || need_running_server(c, b, err) < 0)
        return -1;
    endpoint *ea = ep_find(c, a), *eb = ep_find(c, b);
    if (!create) {
        model_set_cut(c->m, a, b, true);
        if (SERVER_CALL(c, ea, proto_server_cut_call(ea->rpc, &(proto_id){b}, NULL, err)) < 0 ||
            SERVER_CALL(c, eb, proto_server_cut_call(eb->rpc, &(proto_id){a}, NULL, err)) < 0)
            return -1;
        return 0;
    }
    model_set_cut(c->m, a, b, false);
    if (SERVER_CALL(c, eb, proto_server_uncut_call(eb->rpc, &(proto_id){a}, NULL, err)) < 0)
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
    endpoint *e = ep_find(c, id);
    if (proto_server_digest_call(e->rpc, NULL, &r, &err) < 0) {
        daemon_failed(c, e, &err);
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

/* What stabilize waits for: the live servers, their groups, and what each
 * should report once settled. Rebuilt when a server dies or a machine is
 * lost meanwhile. */
typedef struct target {
    uint64_t *ids;
    size_t *grp;
    size_t n, n_groups;
    char **want_links, **want_group;
    digest *d;
    /* Links blocked one way, as (i, j): j's frames reach i, so i must
     * hold all that j holds (j's group sends it nowhere else). */
    size_t (*feeds)[2];
    size_t n_feeds, cap_feeds;
} target;

static void target_clear(target *t)
{
    for (size_t i = 0; i < t->n; i++) {
        digest_clear(&t->d[i]);
        free(t->want_links[i]);
        free(t->want_group[i]);
    }
    free(t->ids);
    free(t->grp);
    free(t->want_links);
    free(t->want_group);
    free(t->d);
    free(t->feeds);
    memset(t, 0, sizeof *t);
}

static void target_build(cluster *c, target *t)
{
    /* A paused server answers nothing and its links are held: it is left
     * out, and the others' groups are those without it. */
    size_t all = model_live_servers(c->m, NULL, 0);
    uint64_t *ids = xcalloc(all + 1, sizeof *ids);
    size_t *grp = xcalloc(all + 1, sizeof *grp);
    size_t *renum = xcalloc(all + 1, sizeof *renum);
    model_live_servers(c->m, ids, all);
    size_t groups = model_groups(c->m, grp, all);
    for (size_t g = 0; g < groups; g++)
        renum[g] = (size_t)-1;
    size_t n = 0, n_groups = 0;
    for (size_t i = 0; i < all; i++) {
        if (model_server_paused(c->m, ids[i]))
            continue;
        if (renum[grp[i]] == (size_t)-1)
            renum[grp[i]] = n_groups++;
        ids[n] = ids[i];
        grp[n] = renum[grp[i]];
        n++;
    }
    free(renum);
    t->n = n;
    t->ids = ids;
    t->grp = grp;
    t->n_groups = n_groups;
    t->want_links = xcalloc(n + 1, sizeof *t->want_links);
    t->want_group = xcalloc(n + 1, sizeof *t->want_group);
    t->d = xcalloc(n + 1, sizeof *t->d);
    for (size_t i = 0; i < n; i++) {
        size_t ll = 0, lc = 0, gl = 0, gc = 0;
        t->want_links[i] = xcalloc(1, 1);
        t->want_group[i] = xcalloc(1, 1);
        for (size_t j = 0; j < n; j++) {
            if (j != i && !model_is_apart(c->m, t->ids[i], t->ids[j]))
                append_id(&t->want_links[i], &ll, &lc, t->ids[j]);
            if (t->grp[j] == t->grp[i])
                append_id(&t->want_group[i], &gl, &gc, t->ids[j]);
            if (j != i && model_is_blocked(c->m, t->ids[i], t->ids[j]) &&
                !model_is_blocked(c->m, t->ids[j], t->ids[i]) &&
                !model_is_cut(c->m, t->ids[i], t->ids[j])) {
                size_t *f = *VEC_PUSH(t->feeds, t->n_feeds, t->cap_feeds);
                f[0] = i;
                f[1] = j;
            }
        }
    }
}

/* Whether clock text a holds all that clock text b holds. */
static bool vc_text_covers(const char *a, const char *b)
{
    vclock *va = vclock_new(), *vb = vclock_new();
    dkv_err err;
    bool yes = vclock_parse(a, va, &err) == 0 && vclock_parse(b, vb, &err) == 0 &&
               vclock_covers(va, vb);
    vclock_free(va);
    vclock_free(vb);
    return yes;
}

/* A one-way link still carries data: stabilize waits until it crossed,
 * or the receiver's data would change after stabilize returned. */
static bool feeds_done(const target *t, size_t k)
{
    size_t i = t->feeds[k][0], j = t->feeds[k][1];
    return t->d[i].ok && t->d[j].ok && vc_text_covers(t->d[i].vc, t->d[j].vc);
}

/* ids as "3", "3 and 5", "3, 5 and 8". */
static void print_ids(FILE *m, const uint64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(m, "%s%" PRIu64, i == 0 ? "" : i + 1 == n ? " and " : ", ", ids[i]);
}

/* Why stabilize gave up, by server id: the servers it cannot reach (and
 * the first reason), then, per group, the servers whose data differs from
 * the group's lowest id that answered, then links or group views that are
 * not what the topology says, and bytes still queued. Clocks are left
 * out: with many servers they made one unreadable line. */
static void unsettled_report(const target *t, int timeout_ms, dkv_err *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    uint64_t *list = xcalloc(t->n + 1, sizeof *list);
    size_t k = 0;
    const char *first_error = NULL;
    uint64_t first_id = 0;
    fprintf(m, "not stable after %d ms:", timeout_ms);
    for (size_t i = 0; i < t->n; i++)
        if (!t->d[i].ok) {
            if (!first_error) {
                first_error = t->d[i].error;
                first_id = t->ids[i];
            }
            list[k++] = t->ids[i];
        }
    if (k > 0) {
        fprintf(m, " cannot reach server%s ", k > 1 ? "s" : "");
        print_ids(m, list, k);
        fprintf(m, " (server %" PRIu64 ": %s);", first_id, first_error);
    }
    for (size_t g = 0; g < t->n_groups; g++) {
        size_t first = t->n; /* the group's lowest id that answered */
        k = 0;
        for (size_t i = 0; i < t->n; i++) {
            if (t->grp[i] != g || !t->d[i].ok)
                continue;
            if (first == t->n)
                first = i;
            else if (strcmp(t->d[i].vc, t->d[first].vc) != 0)
                list[k++] = t->ids[i];
        }
        if (k > 0) {
            fprintf(m, " server%s ", k > 1 ? "s" : "");
            print_ids(m, list, k);
            fprintf(m, " %s other data than server %" PRIu64 ";", k > 1 ? "hold" : "holds",
                    t->ids[first]);
        }
    }
    k = 0;
    for (size_t i = 0; i < t->n; i++) {
        const digest *d = &t->d[i];
        if (!d->ok)
            continue;
        if (strcmp(d->links, t->want_links[i]) != 0)
            fprintf(m, " server %" PRIu64 " links [%s], want [%s];", t->ids[i], d->links,
                    t->want_links[i]);
        if (strcmp(d->group, t->want_group[i]) != 0)
            fprintf(m, " server %" PRIu64 " sees group [%s], want [%s];", t->ids[i], d->group,
                    t->want_group[i]);
        if (d->queued != 0)
            list[k++] = t->ids[i];
    }
    if (k > 0) {
        fprintf(m, " server%s ", k > 1 ? "s" : "");
        print_ids(m, list, k);
        fprintf(m, " still %s bytes queued;", k > 1 ? "have" : "has");
    }
    for (size_t f = 0; f < t->n_feeds; f++)
        if (t->d[t->feeds[f][0]].ok && t->d[t->feeds[f][1]].ok && !feeds_done(t, f))
            fprintf(m, " server %" PRIu64 " lacks data of server %" PRIu64
                       " (blocked towards it);",
                    t->ids[t->feeds[f][0]], t->ids[t->feeds[f][1]]);
    fclose(m);
    /* Without the last ';'. */
    if (len > 0 && text[len - 1] == ';')
        text[len - 1] = '\0';
    dkv_err_set(err, "%s", text);
    free(text);
    free(list);
}

static bool settled(const target *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (!t->d[i].ok || strcmp(t->d[i].links, t->want_links[i]) != 0 ||
            strcmp(t->d[i].group, t->want_group[i]) != 0 || t->d[i].queued != 0)
            return false;
    for (size_t i = 0; i < t->n; i++)
        for (size_t j = 0; j < i; j++)
            if (t->grp[j] == t->grp[i] && strcmp(t->d[i].vc, t->d[j].vc) != 0)
                return false;
    for (size_t k = 0; k < t->n_feeds; k++)
        if (!feeds_done(t, k))
            return false;
    return true;
}

static int cluster_stabilize(cluster *c, cluster_result *res, dkv_err *err)
{
    target t = {0};
    uint64_t built_at = c->changes;
    target_build(c, &t);
    int64_t deadline = net_now_us() + (int64_t)c->opts.stabilize_timeout_ms * 1000;
    int64_t delay = 100;
    int rc = -1;
    for (;;) {
        /* A server that died meanwhile is not waited for. */
        cluster_poll(c);
        if (c->changes != built_at) {
            target_clear(&t);
            built_at = c->changes;
            target_build(c, &t);
        }
        for (size_t i = 0; i < t.n; i++)
            fetch_digest(c, t.ids[i], &t.d[i]);
        if (c->changes != built_at)
            continue;
        if (settled(&t)) {
            rc = 0;
            break;
        }
        if (c->opts.cancel && *c->opts.cancel) {
            dkv_err_set(err, "interrupted by a signal before the servers settled");
            break;
        }
        if (net_now_us() + delay > deadline) {
            unsettled_report(&t, c->opts.stabilize_timeout_ms, err);
            break;
        }
        struct timespec ts = {0, delay * 1000};
        nanosleep(&ts, NULL);
        if (delay < 5000)
            delay *= 2;
    }
    /* The groups it waited for (the history records them). */
    res->servers = t.ids;
    res->group_of = t.grp;
    res->n_servers = t.n;
    res->n_groups = t.n_groups;
    t.ids = NULL;
    t.grp = NULL;
    target_clear(&t);
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
            return daemon_failed(c, e, err);
        for (size_t i = 0; i < r.n_entries; i++)
            add_entry(res, &r.entries[i]);
        more = r.more && r.n_entries > 0;
    }
    return 0;
}

static int print_store(cluster *c, uint64_t id, FILE *out, cluster_result *res, dkv_err *err)
{
    if (need_running_server(c, id, err) < 0)
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
    if (!model_server_live(c->m, sid)) {
        endpoint *s = ep_find(c, sid);
        if (s && c->mach[s->machine].lost)
            return dkv_err_set(err, "client %" PRIu64 "'s server %" PRIu64
                                    " is on %s, which is unreachable: %s",
                               cid, sid, c->mach[s->machine].label, c->mach[s->machine].why);
        return dkv_err_set(err, "client %" PRIu64 "'s server %" PRIu64 " is not live", cid, sid);
    }
    if (model_server_paused(c->m, sid)) {
        endpoint *s = ep_find(c, sid);
        return dkv_err_set(err,
                           "client %" PRIu64 "'s server %" PRIu64
                           " is paused (pauseServer at line %ld)",
                           cid, sid, s ? s->paused_line : 0L);
    }
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
        bool unknown = rpc_client_outcome_unknown(e->rpc);
        daemon_failed(c, e, err);
        /* A message from the client says so itself when it applies. */
        if (!unknown)
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
        return daemon_failed(c, e, err);
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

/* showServer: the server's view, on stderr or the --show stream (never
 * stdout, which carries key:value lines only). */
static int show_server(cluster *c, uint64_t id, dkv_err *err)
{
    if (need_running_server(c, id, err) < 0)
        return -1;
    endpoint *e = ep_find(c, id);
    proto_server_show_reply r;
    if (SERVER_CALL(c, e, proto_server_show_call(e->rpc, NULL, &r, err)) < 0)
        return -1;
    FILE *f = c->opts.show ? c->opts.show : stderr;
    show_print(f, &r);
    if (fflush(f) != 0 || ferror(f))
        return dkv_err_set(err, "cannot write the view: %s", strerror(errno));
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
    case SCRIPT_CMD_SHOW_SERVER: return show_server(c, cmd->id[0], err);
    case SCRIPT_CMD_PAUSE_SERVER: return pause_server(c, cmd, err);
    case SCRIPT_CMD_RESUME_SERVER: return resume_server(c, cmd->id[0], err);
    case SCRIPT_CMD_DELAY_LINK:
    case SCRIPT_CMD_FLAKY_LINK: return set_link_fault(c, cmd, res, err);
    case SCRIPT_CMD_BLOCK_LINK:
    case SCRIPT_CMD_UNBLOCK_LINK:
        return block_link(c, cmd->id[0], cmd->id[1], cmd->kind == SCRIPT_CMD_BLOCK_LINK, err);
    case SCRIPT_CMD_SLEEP: return sleep_ms(c, cmd->num[0], err);
    case SCRIPT_CMD_HELP: return 0; /* the master answers it */
    }
    return dkv_err_set(err, "unknown command");
}

/* Adds a server's frame counters to out. */
static void add_frames(cluster *c, uint64_t id, cluster_frames *out)
{
    dkv_err err;
    endpoint *e = ep_find(c, id);
    proto_server_stats_reply r;
    if (!e || !e->running || model_server_paused(c->m, id) || proto_server_stats_call(e->rpc, NULL, &r, &err) < 0)
        return;
    out->hello += (int64_t)r.hello;
    out->upd += (int64_t)r.upd;
    out->ack += (int64_t)r.ack;
    out->lsa += (int64_t)r.lsa;
    out->ping += (int64_t)r.ping;
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
