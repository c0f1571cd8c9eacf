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
#include "../common/rpc.h"
#include "../common/rpcargs.h"
#include "procs.h"

typedef struct watchdog {
    procs *children;
    rpc_server *rpc;
    int start_timeout_ms;
    bool shutdown;
} watchdog;

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static xmlrpc_value *m_start(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    watchdog *w = ci;
    char *kind = NULL;
    uint64_t id;
    int64_t sync, rejoin;
    if (rpcargs_count(env, p, 4) < 0 || rpcargs_string(env, p, 0, 16, &kind) < 0 ||
        rpcargs_id(env, p, 1, &id) < 0 || rpcargs_int(env, p, 2, 0, 1, &sync) < 0 ||
        rpcargs_int(env, p, 3, 0, 1, &rejoin) < 0) {
        free(kind);
        return NULL;
    }
    procs_kind k;
    if (strcmp(kind, "server") == 0)
        k = PROCS_SERVER;
    else if (strcmp(kind, "client") == 0)
        k = PROCS_CLIENT;
    else {
        free(kind);
        xmlrpc_env_set_fault(env, RPCARGS_BAD_REQUEST, "kind must be 'server' or 'client'");
        return NULL;
    }
    free(kind);
    uint16_t port;
    pid_t pid;
    dkv_err err;
    procs_start_opts so = {sync != 0, rejoin != 0, w->start_timeout_ms};
    if (procs_start(w->children, k, id, &so, &port, &pid, &err) < 0) {
        xmlrpc_env_set_fault(env, RPCARGS_FAILED, err.msg);
        return NULL;
    }
    return xmlrpc_build_value(env, "{s:i,s:i,s:s}", "port", (int)port, "pid", (int)pid, "host",
                              procs_child_host(w->children));
}

static xmlrpc_value *m_kill(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    watchdog *w = ci;
    uint64_t id;
    if (rpcargs_count(env, p, 1) < 0 || rpcargs_id(env, p, 0, &id) < 0)
        return NULL;
    dkv_err err;
    if (procs_kill(w->children, id, &err) < 0) {
        xmlrpc_env_set_fault(env, RPCARGS_FAILED, err.msg);
        return NULL;
    }
    return xmlrpc_bool_new(env, 1);
}

static xmlrpc_value *m_shutdown(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    (void)p;
    watchdog *w = ci;
    procs_kill_all(w->children);
    w->shutdown = true;
    return xmlrpc_bool_new(env, 1);
}

static xmlrpc_value *m_ping(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    (void)p;
    (void)ci;
    return xmlrpc_int_new(env, (int)getpid());
}

static const rpc_method methods[] = {
    {"start", m_start}, {"kill", m_kill}, {"shutdown", m_shutdown}, {"ping", m_ping}};


static void usage(void)
{
    fprintf(stderr, "usage: watchdog --run-dir DIR [--listen HOST] [--child-listen HOST]\n"
                    "                [--ready-fd FD] [--die-with-parent] [--remove-run-dir-if-orphaned]\n"
                    "                [--valgrind-servers] [--max-procs N] [--run-id RUN]\n"
                    "  --max-procs N  servers and clients running at once (default %d)\n",
            PROCS_DEFAULT_MAX);
}

/* The command line. */
typedef struct watchdog_args {
    const char *run_dir, *listen_host, *child_host, *run_id;
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
        case 'h': usage(); *status = 0; return false;
        default: usage(); return false;
        }
    }
    if (!a->run_dir || optind != argc) {
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

    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "watchdog: cannot find its own executable\n");
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
    if (a.valgrind)
        w.start_timeout_ms = 60000;
    w.rpc = rpc_server_new(methods, sizeof methods / sizeof methods[0], NULL, 0);
    if (pidfile_record(run_dir, "watchdog", getpid(), &err) < 0)
        fprintf(stderr, "watchdog: %s (scripts/cleanup will not find this process)\n", err.msg);

    uint16_t port;
    int lfd = net_listen(a.listen_host, 0, &port, &err);
    if (lfd < 0) {
        fprintf(stderr, "watchdog: %s\n", err.msg);
        return 1;
    }
    loop *lp = loop_new();
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
    return 0;
}
