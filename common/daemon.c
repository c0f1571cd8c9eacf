#define _GNU_SOURCE
#include "daemon.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ids.h"
#include "net.h"

void daemon_install_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void daemon_report_ready(int fd, uint16_t port)
{
    char line[16];
    int n = snprintf(line, sizeof line, "%u\n", port);
    if (fd < 0) {
        fputs(line, stdout);
        fflush(stdout);
        return;
    }
    if (write(fd, line, (size_t)n) != (ssize_t)n)
        fprintf(stderr, "%s: cannot report readiness on fd %d: %s\n",
                program_invocation_short_name, fd, strerror(errno));
    close(fd);
}

void daemon_report_failure(int fd, const char *why)
{
    if (fd < 0)
        return;
    char line[DKV_ERR_MAX + 8];
    int n = snprintf(line, sizeof line, "error %s", why);
    if (n < 0 || (size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    for (int i = 6; i < n; i++)
        if (line[i] == '\n' || line[i] == '\0')
            line[i] = ' ';
    line[n] = '\n';
    if (write(fd, line, (size_t)n + 1) != (ssize_t)n + 1)
        fprintf(stderr, "%s: cannot report a failed start on fd %d: %s\n",
                program_invocation_short_name, fd, strerror(errno));
    close(fd);
}

int daemon_await_ready(int fd, int timeout_ms, uint16_t *port, dkv_err *err)
{
    char line[DKV_ERR_MAX + 16];
    size_t got = 0;
    int64_t deadline = net_now_us() + (int64_t)timeout_ms * 1000;
    int rc = -1;
    for (;;) {
        int64_t left = deadline - net_now_us();
        if (left <= 0) {
            dkv_err_set(err, "did not become ready within %d ms", timeout_ms);
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)(left / 1000) + 1);
        if (pr < 0 && errno == EINTR) {
            dkv_err_set(err, "interrupted");
            break;
        }
        if (pr <= 0)
            continue;
        ssize_t r = read(fd, line + got, sizeof line - 1 - got);
        if (r <= 0) {
            dkv_err_set(err, "exited before becoming ready");
            break;
        }
        got += (size_t)r;
        line[got] = '\0';
        char *nl = strchr(line, '\n');
        if (nl) {
            *nl = '\0';
            uint64_t p64;
            if (strncmp(line, "error ", 6) == 0) {
                dkv_err_set(err, "%s", line + 6);
            } else if (ids_parse_u64(line, 65535, &p64, err) == 0 && p64 > 0) {
                *port = (uint16_t)p64;
                rc = 0;
            } else {
                dkv_err_set(err, "reported a bad port '%s'", line);
            }
            break;
        }
        if (got >= sizeof line - 1) {
            dkv_err_set(err, "reported a malformed ready line");
            break;
        }
    }
    close(fd);
    return rc;
}

pid_t daemon_spawn(const char *const argv[], int death_signal, bool ignore_sigint,
                   int *ready_fd, dkv_err *err)
{
    return daemon_spawn_logged(argv, death_signal, ignore_sigint, -1, ready_fd, err);
}

pid_t daemon_spawn_logged(const char *const argv[], int death_signal, bool ignore_sigint,
                          int log_fd, int *ready_fd, dkv_err *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return dkv_err_set(err, "pipe: %s", strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return dkv_err_set(err, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        if (death_signal) {
            if (prctl(PR_SET_PDEATHSIG, death_signal) < 0)
                fprintf(stderr, "%s: a new child cannot ask to die with it: %s\n",
                        program_invocation_short_name, strerror(errno));
            if (getppid() != parent)
                _exit(1);
        }
        /* dup2 clears close-on-exec on fd 3. */
        if ((log_fd >= 0 && log_fd != 2 && dup2(log_fd, 2) < 0) ||
            (fds[1] == 3 ? fcntl(3, F_SETFD, 0) : dup2(fds[1], 3)) < 0 || dup2(2, 1) < 0) {
            fprintf(stderr, "cannot set up the descriptors of %s: %s\n", argv[0],
                    strerror(errno));
            _exit(127);
        }
        signal(SIGPIPE, SIG_DFL);
        if (ignore_sigint) {
            signal(SIGINT, SIG_IGN);
            /* And out of the terminal's process group, which a ^C
             * signals whole: the child may install its own SIGINT
             * handler, and so do the processes it starts. */
            setpgid(0, 0);
        }
        if (strchr(argv[0], '/'))
            execv(argv[0], (char *const *)argv);
        else
            execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "cannot start %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    *ready_fd = fds[0];
    return pid;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) < 0 && errno != ENOENT)
        fprintf(stderr, "%s: cannot remove %s: %s\n", program_invocation_short_name, path,
                strerror(errno));
    return 0;
}

void daemon_remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }
