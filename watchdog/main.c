/* watchdog: one per machine. Starts and kills the server and client
 * processes placed on its machine, on the master's request. Listens on
 * loopback unless told otherwise. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "../common/daemon.h"
#include "../common/ids.h"
#include "../common/loop.h"
#include "../common/net.h"
#include "../common/pidfile.h"
#include "../common/proto.h"
#include "procs.h"

typedef struct watchdog {
    procs *children;
    rpc_server *rpc;
    int start_timeout_ms;
    bool shutdown;
} watchdog;

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static int m_start(void *ctx, const proto_watchdog_start_args *a, proto_watchdog_start_reply *r,
                   void **owned, dkv_err *err)
{
    watchdog *w = ctx;
    procs_kind k = a->kind == PROTO_KIND_SERVER ? PROCS_SERVER : PROCS_CLIENT;
    procs_start_opts so = {a->sync, a->rejoin, w->start_timeout_ms};
    pid_t pid;
    if (procs_start(w->children, k, a->id, &so, &r->port, &pid, err) < 0)
        return -1;
    r->pid = pid;
    r->host = procs_child_host(w->children);
    return 0;
}

static int m_kill(void *ctx, const proto_id *a, proto_none *r, void **owned, dkv_err *err)
{
    watchdog *w = ctx;
    return procs_kill(w->children, a->id, err);
}

static int m_shutdown(void *ctx, const proto_none *a, proto_none *r, void **owned,
                      dkv_err *err)
{
    watchdog *w = ctx;
    procs_kill_all(w->children);
    w->shutdown = true;
    return 0;
}

PROTO_SERVE(watchdog_start, m_start)
PROTO_SERVE(watchdog_kill, m_kill)
PROTO_SERVE(watchdog_shutdown, m_shutdown)
static const proto_binding methods[] = {
    PROTO_BINDING(watchdog_start),
    PROTO_BINDING(watchdog_kill),
    PROTO_BINDING(watchdog_shutdown),
};

static void usage(void)
{
    fprintf(stderr, "usage: watchdog --run-dir DIR --secret-file FILE [--listen HOST]\n"
                    "                [--child-listen HOST]\n"
                    "                [--ready-fd FD] [--die-with-parent] [--remove-run-dir-if-orphaned]\n"
                    "                [--valgrind-servers] [--max-procs N] [--run-id RUN]\n"
                    "  --max-procs N  servers and clients running at once (default %d)\n",
            PROCS_DEFAULT_MAX);
}

/* The command line. */
typedef struct watchdog_args {
    const char *run_dir, *listen_host, *child_host, *run_id, *secret_file;
    int ready_fd;
    size_t max_procs;
    bool die_with_parent, remove_if_orphaned, valgrind;
} watchdog_args;

/* Reads the options into a. False when the watchdog must exit at once,
 * with *status (0 after --help, 2 on a usage error). */
static bool parse_args(int argc, char **argv, watchdog_args *a, int *status)
{
    static const struct option opts[] = {{"run-dir", required_argument, 0, 'd'},
                                         {"listen", required_argument, 0, 'l'},
                                         {"child-listen", required_argument, 0, 'c'},
                                         {"ready-fd", required_argument, 0, 'r'},
                                         {"die-with-parent", no_argument, 0, 'p'},
                                         {"remove-run-dir-if-orphaned", no_argument, 0, 'o'},
                                         {"valgrind-servers", no_argument, 0, 'v'},
                                         {"run-id", required_argument, 0, 'R'},
                                         {"max-procs", required_argument, 0, 'm'},
                                         {"secret-file", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    *a = (watchdog_args){.listen_host = "127.0.0.1", .run_id = "", .ready_fd = -1,
                         .max_procs = PROCS_DEFAULT_MAX};
    *status = 2;
    dkv_err err;
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        uint64_t v;
        switch (o) {
        case 'd': a->run_dir = optarg; break;
        case 'l': a->listen_host = optarg; break;
        case 'c': a->child_host = optarg; break;
        case 'r':
            if (ids_parse_u64(optarg, 1 << 20, &v, &err) < 0) {
                fprintf(stderr, "watchdog: --ready-fd: %s\n", err.msg);
                return false;
            }
            a->ready_fd = (int)v;
            break;
        case 'm':
            if (ids_parse_u64(optarg, 1 << 20, &v, &err) < 0 || v == 0) {
                fprintf(stderr, "watchdog: --max-procs: expected a number from 1 to %d\n",
                        1 << 20);
                return false;
            }
            a->max_procs = (size_t)v;
            break;
        case 'p': a->die_with_parent = true; break;
        case 'o': a->remove_if_orphaned = true; break;
        case 'v': a->valgrind = true; break;
        case 'R': a->run_id = optarg; break;
        case 'k': a->secret_file = optarg; break;
        case 'h': usage(); *status = 0; return false;
        default: usage(); return false;
        }
    }
    if (!a->run_dir || !a->secret_file || optind != argc) {
        usage();
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    watchdog_args a;
    int status;
    if (!parse_args(argc, argv, &a, &status))
        return status;
    const char *run_dir = a.run_dir;
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
    daemon_install_signals(on_signal);
    rpc_global_init();
    /* Checked now, and handed on to the children by its full path. */
    char secret_path[PATH_MAX];
    auth_key *key = auth_key_load(a.secret_file, &err);
    if (!key || !realpath(a.secret_file, secret_path)) {
        fprintf(stderr, "watchdog: %s\n", key ? strerror(errno) : err.msg);
        auth_key_free(key);
        return 1;
    }

    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "watchdog: cannot find its own executable\n");
        auth_key_free(key);
        return 1;
    }
    self[n] = '\0';
    watchdog w;
    memset(&w, 0, sizeof w);
    w.start_timeout_ms = 10000;
    w.children = procs_new(dirname(self), run_dir, a.child_host ? a.child_host : a.listen_host);
    procs_set_valgrind(w.children, a.valgrind);
    procs_set_run_id(w.children, a.run_id);
    procs_set_max(w.children, a.max_procs);
    procs_set_secret_file(w.children, secret_path);
    if (a.valgrind)
        w.start_timeout_ms = 60000;
    w.rpc = proto_server_new(PROTO_WATCHDOG, methods, sizeof methods / sizeof methods[0]);
    if (pidfile_record(run_dir, "watchdog", getpid(), &err) < 0)
        fprintf(stderr, "watchdog: %s (scripts/cleanup will not find this process)\n", err.msg);

    uint16_t port;
    int lfd = net_listen(a.listen_host, 0, &port, &err);
    if (lfd < 0) {
        fprintf(stderr, "watchdog: %s\n", err.msg);
        procs_free(w.children);
        rpc_server_free(w.rpc);
        auth_key_free(key);
        return 1;
    }
    loop *lp = loop_new();
    loop_set_auth(lp, key);
    rpc_listener *ls = rpc_listen(lp, lfd, w.rpc, &w);
    daemon_report_ready(a.ready_fd, port);
    while (!stop_requested && !w.shutdown) {
        loop_run_once(lp, 200);
        procs_reap(w.children);
    }
    if (w.shutdown)
        loop_run_once(lp, 0); /* deliver the shutdown reply */
    procs_free(w.children);
    if (pidfile_remove(run_dir, "watchdog", &err) < 0)
        fprintf(stderr, "watchdog: %s\n", err.msg);
    if (a.remove_if_orphaned && getppid() != parent) {
        /* The master died without cleaning up; its run is over. */
        daemon_remove_tree(run_dir);
    }
    loop_free(lp);
    rpc_listener_free(ls);
    rpc_server_free(w.rpc);
    auth_key_free(key);
    return 0;
}
