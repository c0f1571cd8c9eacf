/* watchdog: one per machine. Starts and kills the server and client
 * processes placed on its machine, for the master whose run is bound to
 * the control connection the request came on (runs.h), and tells that
 * master when one of them dies on its own.
 *
 * Standing (a service; --data-dir, or the default one): runs for days in
 * the foreground, logging one line to stderr per run begun or ended and
 * per process started, killed or dead, and serves one master after
 * another, several at once, each run isolated in DATA/run-ID.
 * Local (--run-dir: the master's own watchdog): one run in that
 * directory, quiet, gone with its master. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "../common/auth.h"
#include "../common/daemon.h"
#include "../common/ids.h"
#include "../common/loop.h"
#include "../common/net.h"
#include "../common/pidfile.h"
#include "../common/proto.h"
#include "../common/xalloc.h"
#include "runs.h"

/* A master's control connection is declared gone after this long without
 * an answer to keepalive probes: 1 s idle, then 3 probes 1 s apart. */
#define CONTROL_KEEPALIVE_IDLE_S 1
#define CONTROL_KEEPALIVE_INTERVAL_S 1
#define CONTROL_KEEPALIVE_COUNT 3

typedef struct watchdog {
    runs *rs;
    rpc_server *rpc;
    const char *child_host;
    bool standing; /* a service: log every run and process */
    bool exit_now; /* local: the run is over, and so is the watchdog */
} watchdog;

/* One accepted connection: a master's control connection once it has
 * called run_begin. */
typedef struct control {
    watchdog *w;
    loop_conn *lc;
    run *r;
    char peer[80];
} control;

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t child_exited;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }
static void on_child(int sig) { (void)sig; child_exited = 1; }

static const char *kind_name(procs_kind k) { return k == PROCS_SERVER ? "server" : "client"; }

/* The run a request acts in: the one bound to its connection, or, on the
 * master's own watchdog, its one run (tools call start without
 * run_begin). */
static run *run_of(control *ctl, dkv_err *err)
{
    run *r = ctl->r ? ctl->r : runs_local(ctl->w->rs);
    if (!r)
        dkv_err_set(err, "no run begun on this connection (call run_begin first)");
    return r;
}

static int m_run_begin(void *ctx, const proto_watchdog_run_begin_args *a,
                       proto_watchdog_run_begin_reply *r, void **owned, dkv_err *err)
{
    control *ctl = ctx;
    watchdog *w = ctl->w;
    if (ctl->r)
        return dkv_err_set(err, "this connection began run %s already", run_id(ctl->r));
    bool resumed;
    runs_opts o = {a->sync, a->keep, a->valgrind, a->trace};
    run *rn = runs_begin(w->rs, a->run_id, &o, &resumed, err);
    if (!rn) {
        if (w->standing)
            fprintf(stderr, "watchdog: run %s from %s refused: %s\n", a->run_id, ctl->peer,
                    err->msg);
        return -1;
    }
    run_set_owner(rn, ctl);
    ctl->r = rn;
    r->host = w->child_host;
    r->resumed = resumed;
    r->dir = run_dir(rn);
    if (w->standing)
        fprintf(stderr, "watchdog: run %s begun by %s in %s%s\n", a->run_id, ctl->peer,
                run_dir(rn), resumed ? " (its directory was there: resumed)" : "");
    return 0;
}

/* Ends the run bound to ctl, if any. */
static void end_run(control *ctl, const char *why)
{
    if (!ctl->r)
        return;
    watchdog *w = ctl->w;
    runs_end(w->rs, ctl->r, why, w->standing);
    ctl->r = NULL;
    if (!w->standing)
        w->exit_now = true; /* the master's own watchdog ends with its run */
}

static int m_run_end(void *ctx, const proto_none *a, proto_none *r, void **owned, dkv_err *err)
{
    end_run(ctx, "its master ended it");
    return 0;
}

static int m_start(void *ctx, const proto_watchdog_start_args *a, proto_watchdog_start_reply *r,
                   void **owned, dkv_err *err)
{
    control *ctl = ctx;
    run *rn = run_of(ctl, err);
    if (!rn)
        return -1;
    procs_kind k = a->kind == PROTO_KIND_SERVER ? PROCS_SERVER : PROCS_CLIENT;
    pid_t pid;
    if (run_start(ctl->w->rs, rn, k, a->id, a->sync, a->rejoin, &r->port, &pid, err) < 0) {
        if (ctl->w->standing)
            fprintf(stderr, "watchdog: run %s: %s %" PRIu64 " did not start: %s\n", run_id(rn),
                    kind_name(k), a->id, err->msg);
        return -1;
    }
    r->pid = pid;
    r->host = ctl->w->child_host;
    if (ctl->w->standing)
        fprintf(stderr, "watchdog: run %s: %s %" PRIu64 " started (pid %d, port %u)\n",
                run_id(rn), kind_name(k), a->id, (int)pid, r->port);
    return 0;
}

static int m_kill(void *ctx, const proto_id *a, proto_none *r, void **owned, dkv_err *err)
{
    control *ctl = ctx;
    run *rn = run_of(ctl, err);
    if (!rn || run_kill(rn, a->id, err) < 0)
        return -1;
    if (ctl->w->standing)
        fprintf(stderr, "watchdog: run %s: %" PRIu64 " killed\n", run_id(rn), a->id);
    return 0;
}

static int m_pause(void *ctx, const proto_watchdog_pause_args *a, proto_none *r, void **owned,
                   dkv_err *err)
{
    control *ctl = ctx;
    run *rn = run_of(ctl, err);
    if (!rn || run_pause(rn, a->id, a->paused, err) < 0)
        return -1;
    if (ctl->w->standing)
        fprintf(stderr, "watchdog: run %s: %" PRIu64 " %s\n", run_id(rn), a->id,
                a->paused ? "paused" : "resumed");
    return 0;
}

/* Standing: ends the caller's run (a master cannot stop a service).
 * Local: ends everything, and the watchdog exits. */
static int m_shutdown(void *ctx, const proto_none *a, proto_none *r, void **owned,
                      dkv_err *err)
{
    control *ctl = ctx;
    watchdog *w = ctl->w;
    if (w->standing) {
        end_run(ctl, "its master shut it down");
        return 0;
    }
    run *rn = runs_local(w->rs);
    runs_end(w->rs, rn, "shutdown", false);
    ctl->r = NULL;
    w->exit_now = true;
    return 0;
}

PROTO_SERVE(watchdog_start, m_start)
PROTO_SERVE(watchdog_kill, m_kill)
PROTO_SERVE(watchdog_pause, m_pause)
PROTO_SERVE(watchdog_shutdown, m_shutdown)
PROTO_SERVE(watchdog_run_begin, m_run_begin)
PROTO_SERVE(watchdog_run_end, m_run_end)
static const proto_binding methods[] = {
    PROTO_BINDING(watchdog_start),     PROTO_BINDING(watchdog_kill), PROTO_BINDING(watchdog_pause),
    PROTO_BINDING(watchdog_shutdown),  PROTO_BINDING(watchdog_run_begin),
    PROTO_BINDING(watchdog_run_end),
};

/* ---- connections ---- */

static void control_frame(loop_conn *lc, const wire_frame *f)
{
    control *ctl = loop_conn_user(lc);
    if (f->kind != WIRE_CALL) {
        loop_close(lc, "expected an RPC call");
        return;
    }
    rpc_serve_frame(ctl->w->rpc, f, ctl, loop_conn_out(lc));
}

static void control_close(loop_conn *lc, const char *why)
{
    control *ctl = loop_conn_user(lc);
    if (ctl->r) {
        char text[300];
        snprintf(text, sizeof text, "its master's connection from %s closed: %s", ctl->peer, why);
        end_run(ctl, text);
    }
    free(ctl);
}

static const loop_handlers control_handlers = {control_frame, control_close, NULL};

static void peer_name(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
            port = ntohs(in->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
            port = ntohs(in6->sin6_port);
        }
    }
    snprintf(out, cap, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, port);
}

static void control_accept(loop *l, int fd, void *user)
{
    dkv_err err;
    /* A master that vanishes without a FIN (a cut network, a machine
     * powered off) ends its run within a few seconds all the same. */
    if (net_set_keepalive(fd, CONTROL_KEEPALIVE_IDLE_S, CONTROL_KEEPALIVE_INTERVAL_S,
                          CONTROL_KEEPALIVE_COUNT, &err) < 0)
        fprintf(stderr, "watchdog: %s\n", err.msg);
    control *ctl = xcalloc(1, sizeof *ctl);
    ctl->w = user;
    peer_name(fd, ctl->peer, sizeof ctl->peer);
    ctl->lc = loop_add(l, fd, false, &control_handlers, ctl);
}

/* Reaps every child that ended; tells the master of a process that died
 * other than by kill. */
static void reap_children(watchdog *w)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        procs_death d;
        run *r = runs_reaped(w->rs, pid, status, &d);
        if (!r)
            continue;
        control *ctl = run_owner(r);
        char how[128];
        procs_death_text(&d, how, sizeof how);
        if (w->standing || !ctl)
            fprintf(stderr, "watchdog: run %s: %s %" PRIu64 " (pid %d) died: %s\n", run_id(r),
                    kind_name(d.kind), d.id, (int)pid, how);
        if (!ctl)
            continue;
        proto_watchdog_died_event ev = {
            d.kind == PROCS_SERVER ? PROTO_KIND_SERVER : PROTO_KIND_CLIENT, d.id, pid, d.code,
            d.signal};
        proto_encode_event(loop_conn_out(ctl->lc), &proto_event_died, &ev);
    }
}

/* ---- options ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: watchdog --listen HOST:PORT --secret-file FILE [--advertise HOST]\n"
            "                [--data-dir DIR] [--max-procs N] [--orphan-grace S]\n"
            "       watchdog --run-dir DIR --secret-file FILE [--listen HOST[:PORT]] [--run-id RUN]\n"
            "                [--ready-fd FD]\n"
            "                [--die-with-parent] [--remove-run-dir-if-orphaned]\n"
            "                [--valgrind-servers] [--max-procs N]\n"
            "  --listen HOST:PORT  where masters connect (port 0: any free one, printed on\n"
            "                      stdout, or written to --ready-fd)\n"
            "  --advertise HOST    where this machine's servers and clients listen, and are\n"
            "                      reached by the others (default: the --listen host)\n"
            "  --data-dir DIR      runs live in DIR/run-ID (default $TMPDIR/daadkvs-watchdog-UID)\n"
            "  --max-procs N       servers and clients running at once, all runs (default %d)\n"
            "  --orphan-grace S    how long a run left by a crashed watchdog waits for its\n"
            "                      master before it is removed (default 60)\n"
            "  --run-dir DIR       the master's own watchdog: one run, in DIR\n",
            PROCS_DEFAULT_MAX);
}

/* The command line. */
typedef struct watchdog_args {
    const char *run_dir, *data_dir, *secret_file, *run_id;
    char listen_host[256], advertise[256];
    uint16_t listen_port;
    int ready_fd;
    size_t max_procs;
    int64_t orphan_grace_s;
    bool die_with_parent, remove_if_orphaned, valgrind;
} watchdog_args;

/* "HOST", "HOST:PORT" or "[IPv6]:PORT" (HOST alone: port 0). */
static int parse_listen(const char *s, watchdog_args *a)
{
    const char *colon = strrchr(s, ':');
    const char *host = s, *host_end = s + strlen(s);
    uint64_t port = 0;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1 || (close[1] != '\0' && close[1] != ':'))
            return -1;
        host = s + 1;
        host_end = close;
        colon = close[1] == ':' ? close + 1 : NULL;
    } else if (colon && strchr(s, ':') != colon) {
        colon = NULL; /* a bare IPv6 address */
    } else if (colon) {
        host_end = colon;
    }
    if (colon && ids_parse_u64(colon + 1, 65535, &port, NULL) < 0)
        return -1;
    size_t n = (size_t)(host_end - host);
    if (n == 0 || n >= sizeof a->listen_host)
        return -1;
    memcpy(a->listen_host, host, n);
    a->listen_host[n] = '\0';
    a->listen_port = (uint16_t)port;
    return 0;
}

static bool number_arg(const char *name, const char *text, uint64_t lo, uint64_t hi,
                       uint64_t *v)
{
    if (ids_parse_u64(text, hi, v, NULL) < 0 || *v < lo) {
        fprintf(stderr, "watchdog: %s: expected a number from %" PRIu64 " to %" PRIu64 "\n",
                name, lo, hi);
        return false;
    }
    return true;
}

/* Reads the options into a. False when the watchdog must exit at once,
 * with *status (0 after --help, 2 on a usage error). */
static bool parse_args(int argc, char **argv, watchdog_args *a, int *status)
{
    static const struct option opts[] = {{"run-dir", required_argument, 0, 'd'},
                                         {"data-dir", required_argument, 0, 'D'},
                                         {"listen", required_argument, 0, 'l'},
                                         {"advertise", required_argument, 0, 'a'},
                                         {"child-listen", required_argument, 0, 'a'},
                                         {"secret-file", required_argument, 0, 's'},
                                         {"ready-fd", required_argument, 0, 'r'},
                                         {"die-with-parent", no_argument, 0, 'p'},
                                         {"remove-run-dir-if-orphaned", no_argument, 0, 'o'},
                                         {"valgrind-servers", no_argument, 0, 'v'},
                                         {"run-id", required_argument, 0, 'R'},
                                         {"max-procs", required_argument, 0, 'm'},
                                         {"orphan-grace", required_argument, 0, 'g'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    *a = (watchdog_args){.listen_host = "127.0.0.1", .run_id = "", .ready_fd = -1,
                         .max_procs = PROCS_DEFAULT_MAX, .orphan_grace_s = 60};
    *status = 2;
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        uint64_t v;
        switch (o) {
        case 'd': a->run_dir = optarg; break;
        case 'D': a->data_dir = optarg; break;
        case 'l':
            if (parse_listen(optarg, a) < 0) {
                fprintf(stderr, "watchdog: --listen %s: expected HOST:PORT\n", optarg);
                return false;
            }
            break;
        case 'a':
            if (!*optarg || strlen(optarg) >= sizeof a->advertise) {
                fprintf(stderr, "watchdog: --advertise: expected a host name or address\n");
                return false;
            }
            snprintf(a->advertise, sizeof a->advertise, "%s", optarg);
            break;
        case 's': a->secret_file = optarg; break;
        case 'r':
            if (!number_arg("--ready-fd", optarg, 0, 1 << 20, &v))
                return false;
            a->ready_fd = (int)v;
            break;
        case 'm':
            if (!number_arg("--max-procs", optarg, 1, 1 << 20, &v))
                return false;
            a->max_procs = (size_t)v;
            break;
        case 'g':
            if (!number_arg("--orphan-grace", optarg, 0, 86400 * 7, &v))
                return false;
            a->orphan_grace_s = (int64_t)v;
            break;
        case 'p': a->die_with_parent = true; break;
        case 'o': a->remove_if_orphaned = true; break;
        case 'v': a->valgrind = true; break;
        case 'R': a->run_id = optarg; break;
        case 'h': usage(); *status = 0; return false;
        default: usage(); return false;
        }
    }
    if (optind != argc) {
        usage();
        return false;
    }
    if (a->run_dir && a->data_dir) {
        fprintf(stderr, "watchdog: --run-dir (one local run) and --data-dir exclude each other\n");
        return false;
    }
    if (!a->secret_file) {
        fprintf(stderr, "watchdog: --secret-file is required (the cluster's secret)\n");
        usage();
        return false;
    }
    if (!a->advertise[0]) {
        if (strcmp(a->listen_host, "0.0.0.0") == 0 || strcmp(a->listen_host, "::") == 0) {
            fprintf(stderr, "watchdog: --listen %s: give --advertise HOST, the address the "
                            "other machines reach this one at\n",
                    a->listen_host);
            return false;
        }
        snprintf(a->advertise, sizeof a->advertise, "%s", a->listen_host);
    }
    return true;
}

/* Standing: DIR given, or $TMPDIR/daadkvs-watchdog-UID. */
static const char *data_dir_of(const watchdog_args *a, char *out, size_t cap)
{
    if (a->data_dir)
        return a->data_dir;
    const char *tmp = getenv("TMPDIR");
    snprintf(out, cap, "%s/daadkvs-watchdog-%u", tmp && *tmp ? tmp : "/tmp", (unsigned)getuid());
    return out;
}

/* Serves until a signal, or (local) until the run is over. */
static void serve(watchdog *w, loop *lp)
{
    while (!stop_requested && !w->exit_now) {
        loop_run_once(lp, child_exited ? 0 : 250);
        child_exited = 0;
        reap_children(w);
        runs_tick(w->rs, net_now_us());
    }
    if (w->exit_now)
        loop_run_once(lp, 0); /* deliver the last reply */
}

static void install_child_handler(void)
{
    /* SA_RESTART: reads and waits resume; poll returns, so a death is seen
     * at once (procs_start blocks SIGCHLD while it waits for a child). */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_child;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
}

int main(int argc, char **argv)
{
    watchdog_args a;
    int status;
    if (!parse_args(argc, argv, &a, &status))
        return status;
    dkv_err err;
    pid_t parent = getppid();
    if (a.die_with_parent) {
        /* Local mode: the master started us; when it dies, so do we, and our
         * children follow through their own death signal. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
            fprintf(stderr, "watchdog: cannot ask to die with the master: %s\n", strerror(errno));
        if (getppid() != parent)
            return 1;
    }
    /* Checked now, so that a bad secret file stops the start, and handed
     * on to the children by its full path (never the secret itself). */
    char secret_path[PATH_MAX];
    auth_key *key = auth_key_load(a.secret_file, &err);
    if (!key || !realpath(a.secret_file, secret_path)) {
        fprintf(stderr, "watchdog: %s\n", key ? strerror(errno) : err.msg);
        auth_key_free(key);
        return 1; /* as server and client: the file is wrong, not the usage */
    }
    daemon_install_signals(on_signal);
    install_child_handler();
    rpc_global_init();

    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "watchdog: cannot find its own executable\n");
        auth_key_free(key);
        return 1;
    }
    self[n] = '\0';
    char data_buf[PATH_MAX];
    runs_config rc = {.bin_dir = dirname(self),
                      .data_dir = a.run_dir ? NULL : data_dir_of(&a, data_buf, sizeof data_buf),
                      .run_dir = a.run_dir,
                      .run_id = a.run_id,
                      .secret_file = secret_path,
                      .child_host = a.advertise,
                      .max_procs = a.max_procs,
                      .valgrind = a.valgrind,
                      .start_timeout_ms = a.valgrind ? 60000 : 10000,
                      .orphan_grace_us = a.orphan_grace_s * 1000000};
    watchdog w = {.child_host = a.advertise, .standing = !a.run_dir};
    int lfd = net_listen(a.listen_host, a.listen_port, &a.listen_port, &err);
    if (lfd < 0) {
        fprintf(stderr, "watchdog: %s\n", err.msg);
        auth_key_free(key);
        return 1;
    }
    if (!(w.rs = runs_new(&rc, net_now_us(), &err))) {
        fprintf(stderr, "watchdog: --data-dir %s\n", err.msg);
        close(lfd);
        auth_key_free(key);
        return 1;
    }
    if (a.run_dir && pidfile_record(a.run_dir, "watchdog", getpid(), &err) < 0)
        fprintf(stderr, "watchdog: %s (scripts/cleanup will not find this process)\n", err.msg);
    w.rpc = proto_server_new(PROTO_WATCHDOG, methods, sizeof methods / sizeof methods[0]);
    loop *lp = loop_new();
    loop_set_auth(lp, key);
    loop_listen(lp, lfd, control_accept, &w);
    if (w.standing)
        fprintf(stderr,
                "watchdog: listening on %s:%u; runs in %s; servers and clients listen on %s\n",
                a.listen_host, a.listen_port, rc.data_dir, a.advertise);
    daemon_report_ready(a.ready_fd, a.listen_port);
    serve(&w, lp);
    if (w.standing && stop_requested)
        fprintf(stderr, "watchdog: stopping (signal)\n");
    /* Connections first: closing a master's connection ends its run. */
    loop_free(lp);
    runs_free(w.rs);
    if (a.run_dir && pidfile_remove(a.run_dir, "watchdog", &err) < 0)
        fprintf(stderr, "watchdog: %s\n", err.msg);
    if (a.run_dir && a.remove_if_orphaned && getppid() != parent) {
        /* The master died without cleaning up; its run is over. */
        daemon_remove_tree(a.run_dir);
    }
    rpc_server_free(w.rpc);
    auth_key_free(key);
    return 0;
}
