#define _GNU_SOURCE /* fopencookie */
#include "results.h"
#include "../common/xalloc.h"
#include "../common/fdio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct results {
    char dir[PATH_MAX], hist[PATH_MAX + 32], bin_dir[PATH_MAX];
    FILE *script;
    /* stdout tee: the stream that replaced stdout, the one it replaced,
     * and stdout.txt. */
    FILE *tee_out, *real_out, *out_copy;
    /* stderr tee: fd 2 is the pipe's write end; the pump thread copies
     * the read end to the saved descriptor and stderr.txt. */
    int saved_err, pipe_r, err_copy;
    pthread_t pump;
    bool pumping, finished;
    atomic_bool stopping;
    /* The pump holds bytes it read and has not written yet. */
    atomic_bool pump_busy;
    /* A copy that could not be written whole (the terminal got it all):
     * said when the folder is finished. */
    bool out_copy_failed;
    atomic_bool err_copy_failed;
    bool script_failed;
};

/* The real stdout first: its failure is the stream's failure, as without
 * --out (the master stops on it). The copy is best effort. */
static ssize_t tee_write(void *cookie, const char *buf, size_t n)
{
    results *r = cookie;
    if (fdio_write_all(STDOUT_FILENO, buf, n) < 0)
        return -1;
    if (fwrite(buf, 1, n, r->out_copy) != n)
        r->out_copy_failed = true;
    return (ssize_t)n;
}

/* Copies what arrives on the pipe until every writer closed it, or, once
 * the master stopped writing, until it has been quiet for 100 ms (a child
 * may still hold the descriptor). */
static void *pump_stderr(void *arg)
{
    results *r = arg;
    char buf[8192];
    bool quiet_end = false;
    for (;;) {
        struct pollfd p = {.fd = r->pipe_r, .events = POLLIN};
        int n = poll(&p, 1, 100);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (n == 0) {
            if (atomic_load(&r->stopping)) {
                quiet_end = true;
                break;
            }
            continue;
        }
        atomic_store(&r->pump_busy, true);
        ssize_t got = read(r->pipe_r, buf, sizeof buf);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
            atomic_store(&r->pump_busy, false);
            continue;
        }
        if (got <= 0)
            break;
        fdio_write_all(r->saved_err, buf, (size_t)got); /* nobody to tell if it fails */
        if (fdio_write_all(r->err_copy, buf, (size_t)got) < 0)
            atomic_store(&r->err_copy_failed, true);
        atomic_store(&r->pump_busy, false);
    }
    /* Ending before the master stopped writing (a read error): give it its
     * stderr back, or it would block once the pipe is full. */
    if (!quiet_end && !atomic_load(&r->stopping))
        dup2(r->saved_err, STDERR_FILENO);
    atomic_store(&r->pump_busy, false);
    return NULL;
}

void results_sync_stderr(results *r)
{
    if (!r || !r->pumping)
        return;
    fflush(stderr);
    /* Bounded: a child writing without pause must not hold the master. */
    for (int i = 0; i < 200; i++) {
        int waiting = 0;
        if (ioctl(r->pipe_r, FIONREAD, &waiting) < 0)
            return;
        if (waiting == 0 && !atomic_load(&r->pump_busy))
            return;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

static FILE *open_in(const results *r, const char *name, dkv_err *err)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", r->dir, name);
    FILE *f = fopen(path, "we");
    if (!f)
        dkv_err_set(err, "--out %s: cannot write %s: %s", r->dir, name, strerror(errno));
    return f;
}

static int start_stderr_tee(results *r, dkv_err *err)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/stderr.txt", r->dir);
    r->err_copy = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (r->err_copy < 0)
        return dkv_err_set(err, "--out %s: cannot write stderr.txt: %s", r->dir, strerror(errno));
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return dkv_err_set(err, "--out: pipe: %s", strerror(errno));
    r->pipe_r = fds[0];
    r->saved_err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (r->saved_err < 0 || dup2(fds[1], STDERR_FILENO) < 0) {
        close(fds[1]);
        return dkv_err_set(err, "--out: cannot redirect stderr: %s", strerror(errno));
    }
    close(fds[1]);
    /* The thread takes no signal: the master's handlers run in main. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&r->pump, NULL, pump_stderr, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        dup2(r->saved_err, STDERR_FILENO);
        return dkv_err_set(err, "--out: cannot start the stderr copy: %s", strerror(rc));
    }
    r->pumping = true;
    return 0;
}

static int start_stdout_tee(results *r, dkv_err *err)
{
    if (!(r->out_copy = open_in(r, "stdout.txt", err)))
        return -1;
    cookie_io_functions_t io = {.write = tee_write};
    r->tee_out = fopencookie(r, "w", io);
    if (!r->tee_out)
        return dkv_err_set(err, "--out: fopencookie: %s", strerror(errno));
    fflush(stdout);
    r->real_out = stdout;
    stdout = r->tee_out;
    return 0;
}

results *results_open(const char *dir, dkv_err *err)
{
    results *r = xcalloc(1, sizeof *r);
    r->pipe_r = r->saved_err = r->err_copy = -1;
    struct stat st;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        dkv_err_set(err, "--out %s: cannot create: %s", dir, strerror(errno));
        goto fail;
    }
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        dkv_err_set(err, "--out %s: not a directory", dir);
        goto fail;
    }
    if (!realpath(dir, r->dir)) {
        dkv_err_set(err, "--out %s: %s", dir, strerror(errno));
        goto fail;
    }
    snprintf(r->hist, sizeof r->hist, "%s/history.jsonl", r->dir);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        dkv_err_set(err, "--out: cannot find the master's own executable");
        goto fail;
    }
    self[n] = '\0';
    snprintf(r->bin_dir, sizeof r->bin_dir, "%s", dirname(self));
    char servers[PATH_MAX + 16];
    snprintf(servers, sizeof servers, "%s/servers", r->dir);
    if (mkdir(servers, 0755) < 0 && errno != EEXIST) {
        dkv_err_set(err, "--out %s: cannot create servers/: %s", dir, strerror(errno));
        goto fail;
    }
    if (!(r->script = open_in(r, "script.txt", err)) || start_stdout_tee(r, err) < 0 ||
        start_stderr_tee(r, err) < 0)
        goto fail;
    return r;
fail:
    results_finish(r, NULL, NULL);
    results_free(r);
    return NULL;
}

const char *results_history_path(const results *r) { return r->hist; }

void results_script_line(results *r, const char *line, size_t len)
{
    fwrite(line, 1, len, r->script);
    fputc('\n', r->script);
}

int results_write_stats(results *r, stats *st, int64_t wall_us, const cluster_frames *frames,
                        dkv_err *err)
{
    FILE *f = open_in(r, "stats.json", err);
    if (!f)
        return -1;
    int rc = stats_write_json(st, f, wall_us, frames, err);
    if (fclose(f) != 0 && rc == 0)
        rc = dkv_err_set(err, "--out: cannot write stats.json: %s", strerror(errno));
    return rc;
}

static int copy_file(const char *from, const char *to, dkv_err *err)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return dkv_err_set(err, "cannot read %s: %s", from, strerror(errno));
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return dkv_err_set(err, "cannot write %s: %s", to, strerror(errno));
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || fdio_write_all(out, buf, (size_t)n) < 0) {
            rc = dkv_err_set(err, "cannot copy %s to %s: %s", from, to, strerror(errno));
            break;
        }
    }
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = dkv_err_set(err, "cannot write %s: %s", to, strerror(errno));
    return rc;
}

int results_collect_logs(results *r, const char *run_dir, dkv_err *err)
{
    DIR *d = opendir(run_dir);
    if (!d)
        return dkv_err_set(err, "--out: cannot read %s: %s", run_dir, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".log") != 0)
            continue;
        char from[PATH_MAX + 300], to[PATH_MAX + 300];
        snprintf(from, sizeof from, "%s/%s", run_dir, e->d_name);
        snprintf(to, sizeof to, "%s/servers/%s", r->dir, e->d_name);
        struct stat st;
        if (stat(from, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (copy_file(from, to, rc == 0 ? err : NULL) < 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

/* Runs argv (argv[0] a program beside the master) with stdout and stderr
 * to out_fd (-1: inherited). Its exit status, or -1. */
static int run_tool(const results *r, const char *const argv[], int out_fd, dkv_err *err)
{
    char prog[PATH_MAX + 32];
    snprintf(prog, sizeof prog, "%s/%s", r->bin_dir, argv[0]);
    pid_t pid = fork();
    if (pid < 0)
        return dkv_err_set(err, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (out_fd >= 0 && (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0))
            _exit(127);
        execv(prog, (char *const *)argv);
        fprintf(stderr, "master: cannot run %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return dkv_err_set(err, "waitpid: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
        return dkv_err_set(err, "%s did not run to its end", prog);
    return WEXITSTATUS(status);
}

/* Ends the tees; safe on a half-opened results. */
static void stop_tees(results *r)
{
    if (r->tee_out) {
        fflush(r->tee_out);
        stdout = r->real_out;
        fclose(r->tee_out);
        r->tee_out = NULL;
    }
    if (r->out_copy) {
        if (ferror(r->out_copy) | (fclose(r->out_copy) != 0))
            r->out_copy_failed = true;
        r->out_copy = NULL;
    }
    /* fd 2 back first, then the pump drains what is left (to the saved
     * descriptor, still open) and ends; only then is that closed. */
    if (r->saved_err >= 0)
        dup2(r->saved_err, STDERR_FILENO);
    if (r->pumping) {
        atomic_store(&r->stopping, true);
        pthread_join(r->pump, NULL);
        r->pumping = false;
    }
    if (r->saved_err >= 0) {
        close(r->saved_err);
        r->saved_err = -1;
    }
    if (r->pipe_r >= 0)
        close(r->pipe_r);
    if (r->err_copy >= 0 && close(r->err_copy) != 0)
        atomic_store(&r->err_copy_failed, true);
    r->pipe_r = r->err_copy = -1;
    if (r->script) {
        if (ferror(r->script) | (fclose(r->script) != 0))
            r->script_failed = true;
        r->script = NULL;
    }
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int results_finish(results *r, const char *history_path, dkv_err *err)
{
    if (r->finished)
        return 0;
    r->finished = true;
    stop_tees(r);
    if (!history_path)
        return 0;
    /* A copy that failed is said last: the rest draws from the history
     * alone, and is made all the same. */
    const char *lost = r->script_failed ? "script.txt"
                       : r->out_copy_failed ? "stdout.txt"
                       : atomic_load(&r->err_copy_failed) ? "stderr.txt"
                                                          : NULL;
    if (!same_file(history_path, r->hist) && copy_file(history_path, r->hist, err) < 0)
        return dkv_err_wrap(err, "--out");
    char path[PATH_MAX + 32], check_json[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/check.txt", r->dir);
    snprintf(check_json, sizeof check_json, "%s/check.json", r->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return dkv_err_set(err, "--out: cannot write %s: %s", path, strerror(errno));
    const char *check_argv[] = {"check", "--json", check_json, r->hist, NULL};
    int st = run_tool(r, check_argv, fd, err);
    if (st >= 0) {
        char verdict[96];
        snprintf(verdict, sizeof verdict, "verdict: %s (bin/check exit status %d)\n",
                 st == 0 ? "valid" : st == 1 ? "invalid" : "undecidable", st);
        fdio_write_all(fd, verdict, strlen(verdict));
    }
    close(fd);
    if (st < 0)
        return dkv_err_wrap(err, "--out: bin/check");
    const char *report_argv[] = {"report", r->hist, check_json, r->dir, NULL};
    int rst = run_tool(r, report_argv, -1, err);
    if (rst < 0)
        return dkv_err_wrap(err, "--out: bin/report");
    if (rst != 0)
        return dkv_err_set(err, "--out: bin/report failed (exit status %d)", rst);
    if (lost)
        return dkv_err_set(err, "--out %s: %s could not be written whole", r->dir, lost);
    return 0;
}

void results_free(results *r)
{
    if (!r)
        return;
    stop_tees(r);
    free(r);
}
