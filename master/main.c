/* master: reads a command script on stdin, runs it against a cluster it
 * starts itself, prints get/printStore results on stdout (flushed after
 * every command) and everything else on stderr. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "../common/auth.h"
#include "../common/daemon.h"
#include "../common/ids.h"
#include "../common/pidfile.h"
#include "../common/rpc.h"
#include "../common/xalloc.h"
#include "../common/net.h"
#include "cluster.h"
#include "config.h"
#include "history.h"
#include "stats.h"
#include "script.h"

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

static void usage(FILE *f)
{
    fprintf(f,
            "usage: master [options] < script\n"
            "  --stabilize-timeout MS  bound for stabilize (default 10000)\n"
            "  --rpc-timeout MS        bound for each call to a daemon (default 10000)\n"
            "  --run-dir DIR           keep servers' data in DIR (created if needed, kept,\n"
            "                          reused by a later run with the same DIR)\n"
            "  --keep                  keep the fresh run directory at exit\n"
            "  --sync                  fsync every write (default: written to LevelDB's\n"
            "                          log before the reply; survives a killed process)\n"
            "  --history FILE          write one JSON line per executed command to FILE\n"
            "  --stats                 print throughput, latencies, frames per put on stderr\n"
            "  --valgrind-servers      run every server under valgrind's memcheck\n"
            "  --config FILE           run on the machines of this cluster file (JSON; see\n"
            "                          README \"Several machines\"), through their watchdogs\n"
            "  --help                  this text\n");
}


/* Whether dir can hold a run: a directory (made when missing) in which
 * files can be created, which is tried, because permission bits tell
 * nothing of a read-only mount or an immutable directory (and root passes
 * them all). Otherwise prints one message naming what (the option or
 * variable), dir and the reason, rather than letting a server fail later
 * with "No such file or directory" or "NotFound .../LOCK". */
static int check_usable_dir(const char *what, const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0700) < 0) {
        int e = errno;
        if (stat(dir, &st) < 0) {
            fprintf(stderr, "master: %s %s: cannot create: %s\n", what, dir, strerror(e));
            return -1;
        }
    }
    if (stat(dir, &st) < 0) {
        fprintf(stderr, "master: %s %s: %s\n", what, dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "master: %s %s: not a directory\n", what, dir);
        return -1;
    }
    char probe[PATH_MAX];
    if (snprintf(probe, sizeof probe, "%s/.write-test-XXXXXX", dir) >= (int)sizeof probe) {
        fprintf(stderr, "master: %s %s: path too long\n", what, dir);
        return -1;
    }
    int fd = mkstemp(probe);
    if (fd < 0) {
        fprintf(stderr, "master: %s %s: not writable: %s\n", what, dir, strerror(errno));
        return -1;
    }
    close(fd);
    if (unlink(probe) < 0)
        fprintf(stderr, "master: cannot remove %s: %s\n", probe, strerror(errno));
    return 0;
}

static int make_run_dir(char *out, size_t cap)
{
    const char *base = getenv("DAADKVS_RUN_BASE");
    const char *what = "DAADKVS_RUN_BASE";
    char def[PATH_MAX];
    if (!base || !*base) {
        const char *tmp = getenv("TMPDIR");
        snprintf(def, sizeof def, "%s/daadkvs", tmp && *tmp ? tmp : "/tmp");
        base = def;
        what = tmp && *tmp ? "run base (from TMPDIR)" : "run base";
    }
    if (check_usable_dir(what, base) < 0)
        return -1;
    if (snprintf(out, cap, "%s/run-XXXXXX", base) >= (int)cap) {
        fprintf(stderr, "master: %s %s: path too long\n", what, base);
        return -1;
    }
    if (!mkdtemp(out)) {
        fprintf(stderr, "master: cannot create a run directory under %s: %s\n", base,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* What the command line asks for. */
typedef struct master_opts {
    cluster_opts cluster;
    const char *user_run_dir; /* --run-dir, or NULL for a fresh one */
    const char *history_path;
    const char *config_path; /* --config, or NULL: everything local */
    bool keep, want_stats;
} master_opts;

/* Reads the options into o. False when the master must exit at once, with
 * *status (0 after --help, 2 on a usage error). */
static bool parse_options(int argc, char **argv, master_opts *o, int *status)
{
    static const struct option opts[] = {{"stabilize-timeout", required_argument, 0, 's'},
                                         {"rpc-timeout", required_argument, 0, 't'},
                                         {"run-dir", required_argument, 0, 'd'},
                                         {"keep", no_argument, 0, 'k'},
                                         {"sync", no_argument, 0, 'y'},
                                         {"valgrind-servers", no_argument, 0, 'v'},
                                         {"history", required_argument, 0, 'H'},
                                         {"stats", no_argument, 0, 'S'},
                                         {"config", required_argument, 0, 'C'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    *o = (master_opts){.cluster = {.rpc_timeout_ms = 10000, .stabilize_timeout_ms = 10000,
                                   .watchdog_host = "127.0.0.1"}};
    *status = 2;
    dkv_err err;
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        uint64_t v;
        switch (c) {
        case 's':
        case 't':
            if (ids_parse_u64(optarg, 3600 * 1000, &v, &err) < 0 || v == 0) {
                fprintf(stderr, "master: %s: expected milliseconds from 1 to 3600000\n",
                        c == 's' ? "--stabilize-timeout" : "--rpc-timeout");
                return false;
            }
            if (c == 's')
                o->cluster.stabilize_timeout_ms = (int)v;
            else
                o->cluster.rpc_timeout_ms = (int)v;
            break;
        case 'd': o->user_run_dir = optarg; break;
        case 'k': o->keep = true; break;
        case 'y': o->cluster.sync = true; break;
        case 'v': o->cluster.valgrind_servers = true; break;
        case 'H': o->history_path = optarg; break;
        case 'S': o->want_stats = true; break;
        case 'C': o->config_path = optarg; break;
        case 'h': usage(stdout); *status = 0; return false;
        default: usage(stderr); return false;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "master: unexpected argument '%s' (the script comes on stdin)\n",
                argv[optind]);
        usage(stderr);
        return false;
    }
    if (o->config_path && o->user_run_dir) {
        fprintf(stderr, "master: --run-dir does not apply with --config: each watchdog keeps "
                        "the run under its own --data-dir (--keep keeps it there)\n");
        return false;
    }
    return true;
}

/* --config: the cluster file and its secret, checked before anything
 * starts. NULL after printing why. */
static config *load_config(const char *path)
{
    dkv_err err;
    config *cfg = config_load(path, &err);
    if (!cfg) {
        fprintf(stderr, "master: %s\n", err.msg);
        return NULL;
    }
    /* TODO(auth): hand the key to the cluster (rpc_client_new) once the
     * transport authenticates; loaded now so a bad secret stops the start. */
    auth_key *key = auth_key_load(config_secret_file(cfg), &err);
    if (!key) {
        fprintf(stderr, "master: %s: secret_file: %s\n", path, err.msg);
        config_free(cfg);
        return NULL;
    }
    auth_key_free(key);
    return cfg;
}

/* Finds the directory of the master's own binary (where the other
 * binaries are) and the run directory: --run-dir, kept, or a fresh one.
 * Prints why on failure. */
static int find_dirs(master_opts *o, char *bin_dir, char *run_dir)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "master: cannot find its own executable\n");
        return -1;
    }
    self[n] = '\0';
    snprintf(bin_dir, PATH_MAX, "%s", dirname(self));
    if (!o->user_run_dir)
        return make_run_dir(run_dir, PATH_MAX);
    if (check_usable_dir("--run-dir", o->user_run_dir) < 0)
        return -1;
    if (!realpath(o->user_run_dir, run_dir)) {
        fprintf(stderr, "master: --run-dir %s: %s\n", o->user_run_dir, strerror(errno));
        return -1;
    }
    o->keep = true;
    return 0;
}

/* Tells scripts/cleanup to leave this run directory's data alone. */
static void mark_kept(const char *run_dir)
{
    char marker[PATH_MAX + 8];
    snprintf(marker, sizeof marker, "%s/KEEP", run_dir);
    FILE *f = fopen(marker, "w");
    if (!f || fclose(f) != 0)
        fprintf(stderr, "master: cannot write %s (scripts/cleanup may remove the data): %s\n",
                marker, strerror(errno));
}

/* Where the lines' outcomes go besides stdout and stderr. */
typedef struct run {
    cluster *c;
    history *hist; /* NULL without --history */
    stats *st;     /* NULL without --stats */
    cluster_result res;
    long lineno;
    int status; /* the master's exit status so far */
} run;

/* Reports what happened outside the script, noticed at script line `line`:
 * one line on stderr each, and a history record. */
static void report_events(run *r, long line)
{
    const cluster_event *ev;
    size_t n = cluster_events(r->c, &ev);
    for (size_t i = 0; i < n; i++) {
        const cluster_event *e = &ev[i];
        if (e->kind == CLUSTER_EV_DIED && e->server)
            fprintf(stderr, "master: server %" PRIu64 " died (%s); treated as killed\n", e->id,
                    e->cause);
        else if (e->kind == CLUSTER_EV_DIED)
            fprintf(stderr,
                    "master: client %" PRIu64 " died (%s); its session is gone (joinClient "
                    "starts it again)\n",
                    e->id, e->cause);
        else if (e->kind == CLUSTER_EV_LOST)
            fprintf(stderr,
                    "master: %s is unreachable: %s; its %zu servers and %zu clients are "
                    "treated as dead\n",
                    e->machine, e->why, e->n_servers, e->n_clients);
        else
            fprintf(stderr, "master: %s is back; %s\n", e->machine,
                    e->kept ? "the run's directory was kept: its servers rejoin with their data"
                            : "its watchdog had ended the run: its former servers cannot rejoin");
        dkv_err err;
        if (r->hist && history_write_event(r->hist, line, e, &err) < 0) {
            fprintf(stderr, "master: %s\n", err.msg);
            r->status = 1;
        }
    }
    cluster_events_clear(r->c);
}

/* Executes one script line (len bytes, no newline, NUL-terminated) and
 * reports it: stdout, an error line, stats, the history. */
static void run_line(run *r, char *line, size_t len)
{
    dkv_err err;
    script_cmd cmd;
    /* Parsing cuts the line into tokens in place: the history keeps it as
     * read. */
    uint8_t *text = r->hist ? xmemdup(line, len) : NULL;
    int64_t t0 = net_now_us();
    bool parsed = script_parse(line, len, &cmd, &err) == 0;
    if (parsed && cmd.kind != SCRIPT_CMD_NONE) {
        /* Deaths and lost machines first, so the command sees them. */
        cluster_poll(r->c);
        report_events(r, r->lineno);
    }
    bool ok = parsed && cluster_exec(r->c, &cmd, stdout, &r->res, &err) == 0;
    int64_t t1 = net_now_us();
    fflush(stdout);
    if (!ok) {
        /* The name is script text when the word is unknown: echoed cut
         * short and escaped. */
        char name[SCRIPT_ECHO_SIZE];
        script_echo(name, sizeof name, cmd.name, strlen(cmd.name));
        fprintf(stderr, "master: line %ld: %s: %s\n", r->lineno, *name ? name : "?", err.msg);
        r->status = 1;
    }
    if (cmd.kind == SCRIPT_CMD_NONE && ok) {
        free(text);
        return; /* a blank line or a comment */
    }
    if (r->st)
        stats_add(r->st, cmd.kind, t1 - t0, ok, parsed ? r->res.get_status : NULL);
    if (!r->hist) {
        report_events(r, r->lineno);
        return;
    }
    history_line hl = {.number = r->lineno,
                       .text = text,
                       .len = len,
                       .cmd = &cmd,
                       .res = parsed ? &r->res : NULL,
                       .start_us = t0,
                       .end_us = t1,
                       .ok = ok,
                       .error = ok ? NULL : err.msg};
    if (history_write_line(r->hist, &hl, &err) < 0) {
        fprintf(stderr, "master: %s\n", err.msg);
        r->status = 1;
    }
    free(text);
    report_events(r, r->lineno); /* noticed during the command */
}

/* Runs the script on stdin until its end or a signal. */
static void run_script(run *r)
{
    char *line = NULL;
    size_t cap = 0;
    while (!stop_signal) {
        errno = 0;
        ssize_t len = getline(&line, &cap, stdin);
        if (len < 0)
            break;
        r->lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        run_line(r, line, (size_t)len);
    }
    free(line);
}

int main(int argc, char **argv)
{
    master_opts o;
    int status;
    if (!parse_options(argc, argv, &o, &status))
        return status;
    if (o.config_path && !(o.cluster.cfg = load_config(o.config_path)))
        return 2;
    /* With a cluster file --keep keeps the run on the machines; the local
     * directory holds only the master's pid record. */
    o.cluster.keep = o.keep;
    if (o.config_path)
        o.keep = false;
    /* With a cluster file nothing of the run is on this machine: no run
     * directory here (each watchdog has its own). */
    bool local = !o.config_path;
    char bin_dir[PATH_MAX] = "", run_dir[PATH_MAX] = "";
    if (local && find_dirs(&o, bin_dir, run_dir) < 0)
        return 2;
    daemon_install_signals(on_signal);
    rpc_global_init();
    dkv_err err;
    if (local && pidfile_record(run_dir, "master", getpid(), &err) < 0)
        fprintf(stderr, "master: %s (scripts/cleanup will not find this process)\n", err.msg);
    if (o.keep)
        mark_kept(run_dir);
    o.cluster.run_dir = run_dir;
    o.cluster.bin_dir = bin_dir;
    o.cluster.owns_run_dir = !o.keep;
    o.cluster.count_frames = o.want_stats;

    run r = {0};
    if (o.history_path && !(r.hist = history_open(o.history_path, &err))) {
        fprintf(stderr, "master: %s\n", err.msg);
        config_free(o.cluster.cfg);
        return 2;
    }
    r.st = o.want_stats ? stats_new() : NULL;
    int64_t run_start = net_now_us();
    r.c = cluster_new(&o.cluster, &err);
    if (r.c)
        run_script(&r);
    else {
        fprintf(stderr, "master: cannot start the cluster: %s\n", err.msg);
        /* With a cluster file: a watchdog unreachable or refusing, at start. */
        r.status = o.cluster.cfg ? 2 : 1;
    }
    if (stop_signal)
        fprintf(stderr, "master: stopped by signal %d; shutting down\n", (int)stop_signal);
    int exit_status = stop_signal ? 1 : r.status;
    /* Marks the history complete, so a checker can tell a cut one. */
    if (r.hist && history_write_end(r.hist, r.lineno, exit_status, stop_signal != 0, &err) < 0)
        fprintf(stderr, "master: %s\n", err.msg);
    if (r.st) {
        cluster_frames frames = {0};
        if (r.c)
            cluster_frames_total(r.c, &frames);
        stats_print(r.st, stderr, net_now_us() - run_start, r.c ? &frames : NULL);
        stats_free(r.st);
    }
    cluster_result_clear(&r.res);
    history_close(r.hist);
    cluster_free(r.c);
    config_free(o.cluster.cfg);
    if (local && pidfile_remove(run_dir, "master", &err) < 0)
        fprintf(stderr, "master: %s\n", err.msg);
    if (local && !o.keep)
        daemon_remove_tree(run_dir);
    else if (local)
        fprintf(stderr, "master: run directory kept: %s\n", run_dir);
    return exit_status;
}
