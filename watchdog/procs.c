#define _GNU_SOURCE
#include "procs.h"
#include "../common/vec.h"
#include "../common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/daemon.h"
#include "../common/pidfile.h"

typedef struct child {
    procs_kind kind;
    uint64_t id;
    pid_t pid;
    off_t log_start; /* its log's size when it started: its own lines follow */
} child;

struct procs {
    bool valgrind_servers;
    bool trace; /* servers log every peer frame */
    char run_id[80];
    char secret_file[4096];
    char bin_dir[4096];
    char run_dir[4096];
    char host[256];
    child *c;
    size_t n, cap;
    size_t max; /* processes at once */
};

procs *procs_new(const char *bin_dir, const char *run_dir, const char *child_host)
{
    procs *p = xcalloc(1, sizeof *p);
    snprintf(p->bin_dir, sizeof p->bin_dir, "%s", bin_dir);
    snprintf(p->run_dir, sizeof p->run_dir, "%s", run_dir);
    snprintf(p->host, sizeof p->host, "%s", child_host);
    p->max = PROCS_DEFAULT_MAX;
    return p;
}

void procs_free(procs *p)
{
    if (!p)
        return;
    procs_kill_all(p);
    free(p->c);
    free(p);
}

static void child_name(const child *c, char *out, size_t cap)
{
    snprintf(out, cap, "%s-%" PRIu64, c->kind == PROCS_SERVER ? "server" : "client", c->id);
}

static child *find(const procs *p, uint64_t id)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->c[i].id == id)
            return &p->c[i];
    return NULL;
}

void procs_set_valgrind(procs *p, bool on) { p->valgrind_servers = on; }
void procs_set_trace(procs *p, bool on) { p->trace = on; }

void procs_log_path(const procs *p, procs_kind kind, uint64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s-%" PRIu64 ".log", p->run_dir,
             kind == PROCS_SERVER ? "server" : "client", id);
}

/* How much of a log's end is searched for a report, and how many of its
 * lines are passed on: a report ends a process's life, so it is at the
 * end, and a few hundred lines hold one whole. */
#define REPORT_TAIL_BYTES (256 * 1024)
#define REPORT_MAX_LINES 400

/* A sanitizer's or valgrind's report (the lines tests look for). */
static bool report_line(const char *line)
{
    int n = 0;
    return (sscanf(line, "==%*d==%n", &n) == 0 && n > 0) || strstr(line, "Sanitizer") ||
           strstr(line, "runtime error:");
}

/* A child's log is its stderr, which nobody else reads: when the child
 * ends, a sanitizer's or valgrind's report in what it wrote is passed on
 * to the watchdog's stderr (the master's, for its own watchdog) as it is,
 * from the report's first line on, so that nothing of it goes unseen. */
static void relay_report(const procs *p, const child *c)
{
    char path[4300];
    procs_log_path(p, c->kind, c->id, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    fseeko(f, 0, SEEK_END);
    off_t end = ftello(f), from = c->log_start;
    if (end - from > REPORT_TAIL_BYTES)
        from = end - REPORT_TAIL_BYTES;
    fseeko(f, from, SEEK_SET);
    char *line = NULL;
    size_t cap = 0;
    int shown = 0;
    while (getline(&line, &cap, f) >= 0 && shown < REPORT_MAX_LINES) {
        if (shown == 0 && !report_line(line))
            continue;
        if (shown++ == 0)
            fprintf(stderr, "watchdog: %s %" PRIu64 " (pid %d) reported errors; its log: %s\n",
                    c->kind == PROCS_SERVER ? "server" : "client", c->id, (int)c->pid, path);
        fputs(line, stderr);
    }
    free(line);
    fclose(f);
}

void procs_set_run_id(procs *p, const char *run_id)
{
    snprintf(p->run_id, sizeof p->run_id, "%s", run_id);
}

void procs_set_secret_file(procs *p, const char *path)
{
    snprintf(p->secret_file, sizeof p->secret_file, "%s", path);
}

void procs_set_max(procs *p, size_t max) { p->max = max; }

size_t procs_count(const procs *p) { return p->n; }

const char *procs_child_host(const procs *p) { return p->host; }

static void forget(procs *p, child *c)
{
    relay_report(p, c);
    char name[64];
    dkv_err err;
    child_name(c, name, sizeof name);
    if (pidfile_remove(p->run_dir, name, &err) < 0)
        fprintf(stderr, "watchdog: %s\n", err.msg);
    *c = p->c[--p->n];
}

int procs_start(procs *p, procs_kind kind, uint64_t id, const procs_start_opts *o,
                uint16_t *port, pid_t *pid_out, dkv_err *err)
{
    if (find(p, id))
        return dkv_err_set(err, "id %" PRIu64 " is already running", id);
    if (p->n >= p->max)
        return dkv_err_set(err,
                           "watchdog: at most %zu processes at a time (--max-procs); %s %" PRIu64
                           " refused",
                           p->max, kind == PROCS_SERVER ? "server" : "client", id);
    char exe[4200], idtext[32], data[4200];
    snprintf(exe, sizeof exe, "%s/%s", p->bin_dir, kind == PROCS_SERVER ? "server" : "client");
    snprintf(idtext, sizeof idtext, "%" PRIu64, id);
    snprintf(data, sizeof data, "%s/server-%" PRIu64, p->run_dir, id);
    const char *argv[24];
    int a = 0;
    if (kind == PROCS_SERVER && p->valgrind_servers) {
        argv[a++] = "valgrind";
        argv[a++] = "-q";
        argv[a++] = "--error-exitcode=99";
        argv[a++] = "--leak-check=full";
        argv[a++] = "--errors-for-leak-kinds=definite";
    }
    argv[a++] = exe;
    argv[a++] = "--id";
    argv[a++] = idtext;
    argv[a++] = "--listen";
    argv[a++] = p->host;
    argv[a++] = "--ready-fd";
    argv[a++] = "3";
    argv[a++] = "--secret-file";
    argv[a++] = p->secret_file;
    if (kind == PROCS_SERVER) {
        argv[a++] = "--data";
        argv[a++] = data;
        argv[a++] = "--run-id";
        argv[a++] = p->run_id;
        if (o->sync)
            argv[a++] = "--sync";
        if (o->rejoin)
            argv[a++] = "--rejoin";
        if (p->trace)
            argv[a++] = "--trace";
    }
    argv[a] = NULL;

    /* Its stderr is its log, appended to across restarts. */
    char log[4300];
    procs_log_path(p, kind, id, log, sizeof log);
    int log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0)
        return dkv_err_set(err, "cannot open the log %s: %s", log, strerror(errno));
    off_t log_start = lseek(log_fd, 0, SEEK_END);
    int ready_fd;
    /* Children die with the watchdog, even when it is SIGKILLed. */
    pid_t pid = daemon_spawn_logged(argv, SIGKILL, false, log_fd, &ready_fd, err);
    close(log_fd);
    if (pid < 0)
        return -1;
    child *c = VEC_PUSH(p->c, p->n, p->cap);
    c->kind = kind;
    c->id = id;
    c->pid = pid;
    c->log_start = log_start < 0 ? 0 : log_start;
    char name[64];
    dkv_err rec_err;
    child_name(c, name, sizeof name);
    /* The child runs all the same; only the safety net is missing. */
    if (pidfile_record(p->run_dir, name, pid, &rec_err) < 0)
        fprintf(stderr, "watchdog: %s (scripts/cleanup will not find it)\n", rec_err.msg);
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    int ready = daemon_await_ready(ready_fd, o->timeout_ms, port, err);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (ready < 0) {
        dkv_err_wrap(err, "%s %" PRIu64, kind == PROCS_SERVER ? "server" : "client", id);
        procs_kill(p, id, NULL);
        return -1;
    }
    *pid_out = pid;
    return 0;
}

int procs_kill(procs *p, uint64_t id, dkv_err *err)
{
    child *c = find(p, id);
    if (!c)
        return dkv_err_set(err, "id %" PRIu64 " is not running here", id);
    kill(c->pid, SIGKILL);
    while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    forget(p, c);
    return 0;
}

int procs_pause(procs *p, uint64_t id, bool paused, dkv_err *err)
{
    child *c = find(p, id);
    if (!c)
        return dkv_err_set(err, "id %" PRIu64 " is not running here", id);
    if (c->kind != PROCS_SERVER)
        return dkv_err_set(err, "%" PRIu64 " is a client; only servers are paused", id);
    if (kill(c->pid, paused ? SIGSTOP : SIGCONT) < 0)
        return dkv_err_set(err, "cannot signal server %" PRIu64 ": %s", id, strerror(errno));
    return 0;
}

bool procs_reaped(procs *p, pid_t pid, int status, procs_death *d)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->c[i].pid == pid) {
            *d = (procs_death){p->c[i].kind, p->c[i].id, pid,
                               WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                               WIFSIGNALED(status) ? WTERMSIG(status) : 0};
            forget(p, &p->c[i]);
            return true;
        }
    return false;
}

void procs_death_text(const procs_death *d, char *out, size_t cap)
{
    if (d->signal)
        snprintf(out, cap, "killed by signal %d (%s)", d->signal, strsignal(d->signal));
    else
        snprintf(out, cap, "exited with status %d", d->code);
}

void procs_kill_all(procs *p)
{
    /* SIGTERM first so servers and clients close LevelDB and report leaks
     * (sanitizers, valgrind) on the way out; SIGKILL whoever lingers. */
    for (size_t i = 0; i < p->n; i++) {
        kill(p->c[i].pid, SIGTERM);
        /* A paused (stopped) process gets SIGTERM only once it continues. */
        kill(p->c[i].pid, SIGCONT);
    }
    for (int tries = 0; tries < 300 && p->n > 0; tries++) {
        for (size_t i = 0; i < p->n;) {
            pid_t r = waitpid(p->c[i].pid, NULL, WNOHANG);
            if (r == p->c[i].pid || (r < 0 && errno == ECHILD))
                forget(p, &p->c[i]);
            else
                i++;
        }
        if (p->n > 0)
            usleep(10000);
    }
    for (size_t i = 0; i < p->n; i++)
        kill(p->c[i].pid, SIGKILL);
    while (p->n > 0) {
        while (waitpid(p->c[0].pid, NULL, 0) < 0 && errno == EINTR)
            ;
        forget(p, &p->c[0]);
    }
}
