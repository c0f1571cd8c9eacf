#include "daemon.h"

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
    ssize_t w = write(fd, line, (size_t)n);
    (void)w;
    close(fd);
}

int daemon_await_ready(int fd, int timeout_ms, uint16_t *port, dkv_err *err)
{
    char line[16];
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
            if (ids_parse_u64(line, 65535, &p64, err) == 0 && p64 > 0) {
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
