/* master: reads a command script on stdin, runs it against a cluster it
 * starts itself, prints get/printStore results on stdout (flushed after
 * every command) and everything else on stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/daemon.h"
#include "../common/ids.h"
#include "../common/pidfile.h"
#include "../common/rpc.h"
#include "../common/net.h"
#include "cluster.h"
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
    unlink(probe);
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

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"stabilize-timeout", required_argument, 0, 's'},
                                         {"rpc-timeout", required_argument, 0, 't'},
                                         {"run-dir", required_argument, 0, 'd'},
                                         {"keep", no_argument, 0, 'k'},
                                         {"sync", no_argument, 0, 'y'},
                                         {"valgrind-servers", no_argument, 0, 'v'},
                                         {"history", required_argument, 0, 'H'},
                                         {"stats", no_argument, 0, 'S'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    cluster_opts co = {.rpc_timeout_ms = 10000, .stabilize_timeout_ms = 10000,
                       .watchdog_host = "127.0.0.1"};
    const char *user_run_dir = NULL;
    bool keep = false, want_stats = false;
    const char *history_path = NULL;
    dkv_err err;
    for (int o; (o = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        uint64_t v;
        switch (o) {
        case 's':
        case 't':
            if (ids_parse_u64(optarg, 3600 * 1000, &v, &err) < 0 || v == 0) {
                fprintf(stderr, "master: %s: expected milliseconds from 1 to 3600000\n",
                        o == 's' ? "--stabilize-timeout" : "--rpc-timeout");
                return 2;
            }
            if (o == 's')
                co.stabilize_timeout_ms = (int)v;
            else
                co.rpc_timeout_ms = (int)v;
            break;
        case 'd': user_run_dir = optarg; break;
        case 'k': keep = true; break;
        case 'y': co.sync = true; break;
        case 'v': co.valgrind_servers = true; break;
        case 'H': history_path = optarg; break;
        case 'S': want_stats = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "master: unexpected argument '%s' (the script comes on stdin)\n",
                argv[optind]);
        usage(stderr);
        return 2;
    }

    char self[PATH_MAX], bin_dir[PATH_MAX], run_dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "master: cannot find its own executable\n");
        return 2;
    }
    self[n] = '\0';
    snprintf(bin_dir, sizeof bin_dir, "%s", dirname(self));
    if (user_run_dir) {
        if (check_usable_dir("--run-dir", user_run_dir) < 0)
            return 2;
        if (!realpath(user_run_dir, run_dir)) {
            fprintf(stderr, "master: --run-dir %s: %s\n", user_run_dir, strerror(errno));
            return 2;
        }
        keep = true;
    } else if (make_run_dir(run_dir, sizeof run_dir) < 0) {
        return 2;
    }
    daemon_install_signals(on_signal);
    rpc_global_init();
    if (pidfile_record(run_dir, "master", getpid(), &err) < 0)
        fprintf(stderr, "master: %s (scripts/cleanup will not find this process)\n", err.msg);
    if (keep) {
        /* Tells scripts/cleanup to leave this directory's data alone. */
        char marker[PATH_MAX + 8];
        snprintf(marker, sizeof marker, "%s/KEEP", run_dir);
        FILE *f = fopen(marker, "w");
        if (f)
            fclose(f);
    }
    co.run_dir = run_dir;
    co.bin_dir = bin_dir;
    co.owns_run_dir = !keep;

    history *hist = NULL;
    if (history_path && !(hist = history_open(history_path, &err))) {
        fprintf(stderr, "master: %s\n", err.msg);
        return 2;
    }
    stats *st = want_stats ? stats_new() : NULL;
    co.count_frames = want_stats;
    int64_t run_start = net_now_us();
    int status = 0;
    cluster *c = cluster_new(&co, &err);
    if (!c) {
        fprintf(stderr, "master: cannot start the cluster: %s\n", err.msg);
        status = 1;
    }
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    while (c && !stop_signal) {
        errno = 0;
        ssize_t len = getline(&line, &cap, stdin);
        if (len < 0)
            break;
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        json_t *rec = NULL;
        if (hist) {
            rec = json_object();
            json_object_set_new(rec, "line", json_integer(lineno));
            json_object_set_new(rec, "text", history_bytes((uint8_t *)line, (size_t)len));
        }
        script_cmd cmd;
        int64_t t0 = net_now_us();
        bool ok = script_parse(line, (size_t)len, &cmd, &err) == 0 &&
                  cluster_exec(c, &cmd, stdout, rec, &err) == 0;
        int64_t t1 = net_now_us();
        fflush(stdout);
        if (!ok) {
            /* The name is script text when the word is unknown: echoed cut
             * short and escaped. */
            char name[SCRIPT_ECHO_SIZE];
            script_echo(name, sizeof name, cmd.name, strlen(cmd.name));
            fprintf(stderr, "master: line %ld: %s: %s\n", lineno, *name ? name : "?", err.msg);
            status = 1;
        }
        if (st && (cmd.kind != SCRIPT_CMD_NONE || !ok))
            stats_add(st, cmd.kind, t1 - t0, ok, cluster_last_get_status(c));
        if (rec && (cmd.kind != SCRIPT_CMD_NONE || !ok)) {
            json_object_set_new(rec, "cmd", history_bytes((const uint8_t *)cmd.name,
                                                          strlen(cmd.name)));
            json_object_set_new(rec, "start_us", json_integer(t0));
            json_object_set_new(rec, "end_us", json_integer(t1));
            json_object_set_new(rec, "ok", json_boolean(ok));
            if (!ok)
                json_object_set_new(rec, "error", json_string(err.msg));
            if (hist && history_write(hist, rec, &err) < 0) {
                fprintf(stderr, "master: %s\n", err.msg);
                status = 1;
            }
        }
        json_decref(rec);
    }
    free(line);
    if (stop_signal)
        fprintf(stderr, "master: stopped by signal %d; shutting down\n", (int)stop_signal);
    if (hist) {
        /* Marks the history complete, so a checker can tell a cut one. */
        json_t *end = json_pack("{s:I,s:s,s:s,s:b,s:i,s:b}", "line", (json_int_t)lineno + 1,
                                "text", "", "cmd", "end", "ok", 1, "exit",
                                stop_signal ? 1 : status, "interrupted", stop_signal != 0);
        if (history_write(hist, end, &err) < 0)
            fprintf(stderr, "master: %s\n", err.msg);
        json_decref(end);
    }
    if (st) {
        cluster_frames frames = {0};
        if (c)
            cluster_frames_total(c, &frames);
        stats_print(st, stderr, net_now_us() - run_start, c ? &frames : NULL);
        stats_free(st);
    }
    history_close(hist);
    cluster_free(c);
    if (pidfile_remove(run_dir, "master", &err) < 0)
        fprintf(stderr, "master: %s\n", err.msg);
    if (!keep)
        daemon_remove_tree(run_dir);
    else
        fprintf(stderr, "master: run directory kept: %s\n", run_dir);
    return stop_signal ? 1 : status;
}
