/* master: reads a command script on stdin, runs it against a cluster it
 * starts itself, prints get/printStore results on stdout (flushed after
 * every command) and everything else on stderr. When stdin is a terminal,
 * it reads the commands at a prompt (prompt.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
#include "results.h"
#include "output.h"
#include "prompt.h"
#include "stats.h"
#include "script.h"

/* The signal that stops the run (SIGINT, SIGTERM, SIGHUP), and the flag
 * the cluster's calls and waits watch: set together, but the flag is
 * cleared again for the shutdown, which a second signal cuts short. */
static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t cancel_calls;
/* At the prompt, SIGINT cancels the command under way (or the line being
 * typed) and the session goes on: set while that holds, and `interrupted`
 * records that it came. */
static volatile sig_atomic_t sigint_cancels;
static volatile sig_atomic_t interrupted;
/* Once stopping, wakes the master every WAKE_NS: a signal that lands just
 * before a blocking call starts would otherwise not interrupt it. */
static timer_t wake_timer;
static bool have_wake_timer;
#define WAKE_NS (50 * 1000 * 1000)

static void arm_wake_timer(long ns)
{
    struct itimerspec its = {{0, ns}, {0, ns}};
    if (have_wake_timer)
        timer_settime(wake_timer, 0, &its, NULL); /* async-signal-safe */
}

static void on_stop(int sig)
{
    if (sig == SIGINT && sigint_cancels)
        interrupted = 1;
    else
        stop_signal = sig;
    cancel_calls = 1;
    arm_wake_timer(WAKE_NS);
}

/* The prompt's SIGINT was dealt with: the next command runs uncancelled. */
static void end_interrupt(void)
{
    arm_wake_timer(0);
    interrupted = 0;
    if (!stop_signal)
        cancel_calls = 0;
}

static void on_wake(int sig) { (void)sig; }

/* SIGINT, SIGTERM and SIGHUP stop the run; without SA_RESTART, so that a
 * blocking call returns EINTR. SIGPIPE is ignored: a closed stdout is an
 * output error. */
static void install_signals(void)
{
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM};
    have_wake_timer = timer_create(CLOCK_MONOTONIC, &ev, &wake_timer) == 0;
    if (!have_wake_timer)
        fprintf(stderr, "master: timer_create: %s (a signal may wait for a call's timeout)\n",
                strerror(errno));
    struct sigaction sa = {.sa_handler = on_wake};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The script is over: the shutdown's calls must not give up, unless
 * another signal comes. */
static void end_cancel(void)
{
    sigint_cancels = 0;
    arm_wake_timer(0);
    cancel_calls = 0;
}

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
            "  --out DIR               write the run's results folder: script, stdout, stderr,\n"
            "                          history, check verdict, stats, server logs, plots and\n"
            "                          a timeline page (DIR/index.html)\n"
            "  --valgrind-servers      run every server under valgrind's memcheck\n"
            "  --show FILE             write showServer's views to FILE (default: stderr)\n"
            "  --trace                 servers log every frame sent or received on a peer\n"
            "                          link (RUN_DIR/server-ID.log)\n"
            "  --config FILE           run on the machines of this cluster file (JSON; see\n"
            "                          README \"Several machines\"), through their watchdogs\n"
            "  --seed N                seed of the faults' randomness (flakyLink, delayLink's\n"
            "                          jitter; default: a random one, printed on first use)\n"
            "  --echo                  print each command on stdout before its results\n"
            "  --output FORMAT         text (default: key:value lines) or json (one object\n"
            "                          per result line)\n"
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

/* A default run base is shared ground (/tmp): it must be a real
 * directory of this user that nobody else can write, or another user could
 * read the run's data and secret, or plant files in it. Prints why not. */
static int check_own_dir(const char *what, const char *dir)
{
    struct stat st;
    if (lstat(dir, &st) < 0) {
        fprintf(stderr, "master: %s %s: %s\n", what, dir, strerror(errno));
        return -1;
    }
    const char *fix = "remove it, or set DAADKVS_RUN_BASE to a directory of yours";
    if (S_ISLNK(st.st_mode)) {
        fprintf(stderr, "master: %s %s is a symbolic link; %s\n", what, dir, fix);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        fprintf(stderr, "master: %s %s belongs to uid %u, not to you (uid %u); %s\n", what, dir,
                (unsigned)st.st_uid, (unsigned)geteuid(), fix);
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        fprintf(stderr,
                "master: %s %s is writable by other users (mode %04o); chmod go-w it, or set "
                "DAADKVS_RUN_BASE\n",
                what, dir, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

/* The run base: DAADKVS_RUN_BASE when set; else $XDG_RUNTIME_DIR/daadkvs
 * when that is an absolute directory of this user (a login's private
 * runtime directory); else ${TMPDIR:-/tmp}/daadkvs-UID. One per user, so
 * users never meet in it. Fills base and what (how to name it). */
static bool run_base(char *base, size_t cap, const char **what)
{
    const char *env = getenv("DAADKVS_RUN_BASE");
    if (env && *env) {
        snprintf(base, cap, "%s", env);
        *what = "DAADKVS_RUN_BASE";
        return false;
    }
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    struct stat st;
    if (xdg && xdg[0] == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) &&
        st.st_uid == geteuid()) {
        snprintf(base, cap, "%s/daadkvs", xdg);
        *what = "run base (from XDG_RUNTIME_DIR)";
        return true;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(base, cap, "%s/daadkvs-%u", tmp && *tmp ? tmp : "/tmp", (unsigned)geteuid());
    *what = tmp && *tmp ? "run base (from TMPDIR)" : "run base";
    return true;
}

static int make_run_dir(char *out, size_t cap)
{
    char base[PATH_MAX];
    const char *what;
    bool shared = run_base(base, sizeof base, &what);
    /* Whose it is comes first: a stranger's directory is refused as such,
     * and nothing is written into it. A failed mkdir is explained below. */
    struct stat st;
    if (shared && (mkdir(base, 0700) == 0 || lstat(base, &st) == 0) &&
        check_own_dir(what, base) < 0)
        return -1;
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
    const char *show_path;   /* --show, or NULL: showServer prints on stderr */
    const char *out_dir;     /* --out, or NULL */
    bool keep, want_stats;
    bool echo;               /* --echo */
    output_format format;    /* --output */
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
                                         {"show", required_argument, 0, 'W'},
                                         {"trace", no_argument, 0, 'T'},
                                         {"out", required_argument, 0, 'O'},
                                         {"seed", required_argument, 0, 'R'},
                                         {"echo", no_argument, 0, 'e'},
                                         {"output", required_argument, 0, 'o'},
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
        case 'W': o->show_path = optarg; break;
        case 'T': o->cluster.trace = true; break;
        case 'O': o->out_dir = optarg; break;
        case 'R':
            if (ids_parse_u64(optarg, UINT64_MAX, &o->cluster.seed, &err) < 0) {
                fprintf(stderr, "master: --seed: expected a non-negative decimal number\n");
                return false;
            }
            o->cluster.seed_given = true;
            break;
        case 'e': o->echo = true; break;
        case 'o':
            if (output_parse_format(optarg, &o->format, &err) < 0) {
                fprintf(stderr, "master: --output %s: %s\n", optarg, err.msg);
                return false;
            }
            break;
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
    /* Loaded here too so a bad secret stops the start with the cluster
     * file's name; the cluster loads it again to prove it on each call. */
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
    stats *st;     /* NULL without --stats and --out */
    results *out;  /* NULL without --out */
    output *shown; /* how results are shown on stdout */
    cluster_result res;
    long lineno;
    int status;        /* the master's exit status so far */
    bool output_lost;  /* stdout failed: the run stops */
    /* stdin is a terminal: commands come from the prompt, help goes to
     * the terminal, and a failed command does not change the exit status
     * (it was shown at once, and the session goes on). */
    bool interactive;
    FILE *term;  /* at the prompt: where the prompt and help go */
    bool echo; /* --echo: keep each line as read, to show it */
} run;

/* Flushes the results of a command. Results that cannot be written (a
 * full disk, a closed pipe) make the rest of the run pointless: one
 * message, and the run stops. */
static void flush_results(run *r)
{
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return;
    fprintf(stderr, "master: line %ld: cannot write results to stdout: %s; stopping\n",
            r->lineno, errno ? strerror(errno) : "write error");
    r->output_lost = true;
    r->status = 1;
}

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
    if (r->out)
        results_script_line(r->out, line, len);
    /* Parsing cuts the line into tokens in place: the history and the echo
     * keep it as read. */
    uint8_t *text = r->hist || r->echo ? xmemdup(line, len) : NULL;
    int64_t t0 = net_now_us();
    bool parsed = script_parse(line, len, &cmd, &err) == 0;
    cmd.line = r->lineno;
    if (!parsed || cmd.kind != SCRIPT_CMD_NONE) {
        output_echo(r->shown, r->lineno, (const char *)text, len);
        flush_results(r); /* before any message on stderr about it */
    }
    if (cmd.kind == SCRIPT_CMD_HELP) {
        /* Not a cluster command: no stats, no history record, failed or
         * not. */
        if (parsed) {
            script_print_help(r->term ? r->term : stderr, (const char *)cmd.key);
            fflush(r->term ? r->term : stderr);
        } else {
            output_failure(r->shown, r->lineno, "help", err.msg);
            flush_results(r);
            fprintf(stderr, "master: line %ld: help: %s\n", r->lineno, err.msg);
            if (!r->interactive)
                r->status = 1;
        }
        flush_results(r);
        free(text);
        return;
    }
    if (parsed && cmd.kind != SCRIPT_CMD_NONE) {
        /* Deaths and lost machines first, so the command sees them. */
        cluster_poll(r->c);
        report_events(r, r->lineno);
    }
    bool ok = parsed &&
              cluster_exec(r->c, &cmd, output_results_stream(r->shown), &r->res, &err) == 0;
    int64_t t1 = net_now_us();
    if (ok)
        output_result(r->shown, r->lineno, &cmd, &r->res);
    /* The name is script text when the word is unknown: echoed cut short
     * and escaped. */
    char name[SCRIPT_ECHO_SIZE];
    if (!ok) {
        script_echo(name, sizeof name, cmd.name, strlen(cmd.name));
        output_failure(r->shown, r->lineno, *name ? name : "?", err.msg);
    }
    flush_results(r);
    if (!ok) {
        fprintf(stderr, "master: line %ld: %s: %s\n", r->lineno, *name ? name : "?", err.msg);
        if (!r->interactive)
            r->status = 1;
    }
    if (cmd.kind == SCRIPT_CMD_NONE && ok) {
        free(text);
        return; /* a blank line or a comment */
    }
    if (r->st)
        stats_add(r->st, cmd.kind, t1 - t0, ok, parsed ? r->res.get_status : NULL);
    if (!r->hist) {
        free(text);
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

/* A UTF-8 byte order mark opening the script (as some editors write) is
 * not part of its first command. */
static size_t skip_bom(const run *r, char *line, size_t len)
{
    size_t bom = r->lineno == 1 ? script_bom_len(line, len) : 0;
    if (bom)
        memmove(line, line + bom, len - bom + 1); /* with the NUL */
    return len - bom;
}

/* Runs the script on stdin until its end, a signal or an output error. */
static void run_script(run *r)
{
    char *line = NULL;
    size_t cap = 0;
    while (!stop_signal && !r->output_lost) {
        errno = 0;
        ssize_t len = getline(&line, &cap, stdin);
        if (len < 0) {
            if (ferror(stdin) && !stop_signal) {
                fprintf(stderr, "master: cannot read the script after line %ld: %s\n",
                        r->lineno, strerror(errno));
                r->status = 1;
            }
            break;
        }
        r->lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        run_line(r, line, skip_bom(r, line, (size_t)len));
        results_sync_stderr(r->out); /* its messages before the next line's results */
    }
    free(line);
}

/* Where the prompt's history is kept between sessions:
 * $XDG_STATE_HOME/daadkvs/history, or ~/.local/state/daadkvs/history (the
 * directories made, mode 0700); NULL (memory only) when neither can be
 * had, with a note. The caller frees it. */
static char *prompt_history_file(void)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[PATH_MAX];
    int n;
    if (state && state[0] == '/')
        n = snprintf(dir, sizeof dir, "%s/daadkvs", state);
    else if (home && home[0] == '/')
        n = snprintf(dir, sizeof dir, "%s/.local/state/daadkvs", home);
    else
        return NULL;
    if (n < 0 || (size_t)n + sizeof "/history" > sizeof dir)
        return NULL;
    /* mkdir -p, each level 0700 when made. */
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            fprintf(stderr, "master: %s: %s; the prompt's history is kept in memory only\n",
                    dir, strerror(errno));
            return NULL;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    strcat(dir, "/history");
    return xstrdup(dir);
}


/* The terminal the prompt writes to: a stream of its own on stdout's
 * terminal, or stderr's, so that --out's copies (which replace stdout and
 * fd 2) never see the prompt. NULL: none could be had (stderr is used). */
static FILE *open_terminal(void)
{
    int fd = isatty(STDOUT_FILENO) ? STDOUT_FILENO : STDERR_FILENO;
    int copy = dup(fd);
    FILE *f = copy >= 0 ? fdopen(copy, "w") : NULL;
    if (!f && copy >= 0)
        close(copy);
    return f;
}

static void close_terminal(FILE *term)
{
    if (term)
        fclose(term);
}

/* Reads commands at a prompt on the terminal until Ctrl-D, a stopping
 * signal or an output error. Ctrl-C drops the line being typed, or
 * cancels the command under way (it fails, "interrupted by a signal"),
 * and the prompt comes back. */
static void run_prompt(run *r, FILE *term)
{
    r->term = term;
    dkv_err err;
    char *hist_file = prompt_history_file();
    prompt *p = prompt_new("daadkvs> ", stdin, term, hist_file, &err);
    free(hist_file);
    if (!p) {
        fprintf(stderr, "master: %s; reading commands without a prompt\n", err.msg);
        r->interactive = false;
        r->term = NULL;
        sigint_cancels = 0;
        run_script(r);
        return;
    }
    fprintf(term, "Daadkvs: type 'help' for the commands, Ctrl-D to end.\n");
    fflush(term);
    if (interrupted)
        end_interrupt(); /* a ^C while the cluster started is spent */
    while (!stop_signal && !r->output_lost) {
        prompt_status st;
        char *line;
        size_t len;
        if (prompt_read(p, &st, &line, &len, &err) < 0) {
            fprintf(stderr, "master: %s\n", err.msg);
            r->status = 1;
            break;
        }
        if (st == PROMPT_EOF) {
            fputc('\n', term); /* the shell's prompt on a line of its own */
            break;
        }
        if (st == PROMPT_INTERRUPTED) {
            if (interrupted)
                fputs("^C\n", term); /* a fresh prompt below the dropped line */
            end_interrupt();
            continue;
        }
        prompt_remember(p, line);
        r->lineno++;
        run_line(r, line, skip_bom(r, line, len));
        results_sync_stderr(r->out); /* its messages before the next prompt */
        /* A cancelled command said so in its message. */
        if (interrupted)
            end_interrupt();
    }
    fflush(term);
    prompt_free(p);
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
    if (o.cluster.cfg)
        o.cluster.secret_file = config_secret_file(o.cluster.cfg);
    if (o.config_path)
        o.keep = false;
    dkv_err err;
    run r = {.interactive = isatty(STDIN_FILENO) == 1, .echo = o.echo};
    /* The prompt's terminal, taken before --out puts its copies between
     * the master and fds 1 and 2. */
    FILE *term = r.interactive ? open_terminal() : NULL;
    /* --out first: it tees stdout and stderr, and holds the history unless
     * --history names another file. */
    if (o.out_dir && !(r.out = results_open(o.out_dir, &err))) {
        fprintf(stderr, "master: %s\n", err.msg);
        close_terminal(term);
        config_free(o.cluster.cfg);
        return 2;
    }
    if (!(r.shown = output_new(stdout, o.format, o.echo, &err))) {
        results_free(r.out);
        close_terminal(term);
        fprintf(stderr, "master: %s\n", err.msg);
        config_free(o.cluster.cfg);
        return 2;
    }
    if (r.out && !o.history_path)
        o.history_path = results_history_path(r.out);
    /* Before the run directory exists, so that a bad path leaves nothing. */
    if (o.history_path && !(r.hist = history_open(o.history_path, &err))) {
        fprintf(stderr, "master: %s\n", err.msg);
        output_free(r.shown);
        results_free(r.out);
        close_terminal(term);
        config_free(o.cluster.cfg);
        return 2;
    }
    /* Likewise the --show stream. */
    if (o.show_path && !(o.cluster.show = fopen(o.show_path, "w"))) {
        fprintf(stderr, "master: cannot write --show %s: %s\n", o.show_path, strerror(errno));
        history_close(r.hist);
        output_free(r.shown);
        results_free(r.out);
        close_terminal(term);
        config_free(o.cluster.cfg);
        return 2;
    }
    /* With a cluster file nothing of the run is on this machine: no run
     * directory here (each watchdog has its own). */
    bool local = !o.config_path;
    char bin_dir[PATH_MAX] = "", run_dir[PATH_MAX] = "";
    if (local && find_dirs(&o, bin_dir, run_dir) < 0) {
        history_close(r.hist);
        if (o.cluster.show)
            fclose(o.cluster.show);
        output_free(r.shown);
        results_free(r.out);
        close_terminal(term);
        return 2;
    }
    /* First: scripts/cleanup takes a run without a live master for an
     * orphan. */
    if (local && pidfile_record(run_dir, "master", getpid(), &err) < 0)
        fprintf(stderr, "master: %s (scripts/cleanup will not find this process)\n", err.msg);
    /* At the prompt a ^C cancels the command, not the session. */
    sigint_cancels = r.interactive;
    install_signals();
    rpc_global_init();
    if (o.keep)
        mark_kept(run_dir);
    o.cluster.run_dir = run_dir;
    o.cluster.bin_dir = bin_dir;
    o.cluster.owns_run_dir = !o.keep;
    o.cluster.count_frames = o.want_stats || r.out;
    o.cluster.record_initial_stores = r.hist != NULL;
    o.cluster.cancel = &cancel_calls;
    o.cluster.cancel_spares_control = r.interactive;

    r.st = o.want_stats || r.out ? stats_new() : NULL;
    int64_t run_start = net_now_us();
    r.c = cluster_new(&o.cluster, &err);
    if (r.c && r.interactive) {
        /* Typed text in the user's character set; the prompt and what it
         * echoes go to the terminal, even when stdout is redirected. */
        setlocale(LC_CTYPE, "");
        run_prompt(&r, term ? term : stderr);
    } else if (r.c) {
        run_script(&r);
    } else {
        fprintf(stderr, "master: cannot start the cluster: %s\n", err.msg);
        /* With a cluster file: a watchdog unreachable or refusing, at start. */
        r.status = o.cluster.cfg ? 2 : 1;
    }
    end_cancel();
    if (stop_signal)
        fprintf(stderr, "master: stopped by SIG%s; shutting down\n",
                stop_signal == SIGINT    ? "INT"
                : stop_signal == SIGTERM ? "TERM"
                                         : "HUP");
    int exit_status = stop_signal ? 1 : r.status;
    /* Marks the history complete, so a checker can tell a cut one. */
    if (r.hist && history_write_end(r.hist, r.lineno, exit_status, stop_signal != 0, &err) < 0)
        fprintf(stderr, "master: %s\n", err.msg);
    if (r.st) {
        cluster_frames frames = {0};
        if (r.c)
            cluster_frames_total(r.c, &frames);
        int64_t wall = net_now_us() - run_start;
        if (o.want_stats)
            stats_print(r.st, stderr, wall, r.c ? &frames : NULL);
        if (r.out && results_write_stats(r.out, r.st, wall, r.c ? &frames : NULL, &err) < 0) {
            fprintf(stderr, "master: %s\n", err.msg);
            exit_status = exit_status ? exit_status : 1;
        }
        stats_free(r.st);
    }
    cluster_result_clear(&r.res);
    output_free(r.shown);
    history_close(r.hist);
    cluster_free(r.c);
    if (o.cluster.show && fclose(o.cluster.show) != 0)
        fprintf(stderr, "master: cannot write --show %s: %s\n", o.show_path, strerror(errno));
    config_free(o.cluster.cfg);
    /* The servers' logs, before their run directory goes. */
    if (r.out && local && results_collect_logs(r.out, run_dir, &err) < 0)
        fprintf(stderr, "master: --out: %s\n", err.msg);
    if (local && pidfile_remove(run_dir, "master", &err) < 0)
        fprintf(stderr, "master: %s\n", err.msg);
    if (local && !o.keep)
        daemon_remove_tree(run_dir);
    else if (local)
        fprintf(stderr, "master: run directory kept: %s\n", run_dir);
    if (r.out) {
        if (results_finish(r.out, o.history_path, &err) < 0) {
            fprintf(stderr, "master: %s\n", err.msg);
            exit_status = exit_status ? exit_status : 1;
        } else {
            fprintf(stderr, "master: results in %s/index.html\n", o.out_dir);
        }
        results_free(r.out);
    }
    close_terminal(term);
    return exit_status;
}
