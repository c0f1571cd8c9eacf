#define _GNU_SOURCE
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


int64_t net_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int set_blocking_mode(int fd, bool nonblock, dkv_err *err)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, nonblock ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) < 0)
        return dkv_err_set(err, "cannot make socket %d %sblocking: %s", fd,
                           nonblock ? "non-" : "", strerror(errno));
    return 0;
}

int net_set_nonblock(int fd, dkv_err *err) { return set_blocking_mode(fd, true, err); }

int net_set_nodelay(int fd, dkv_err *err)
{
    int one = 1;
    /* A socket that is not TCP (a socketpair in tests) has no Nagle delay
     * to turn off. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 && errno != EOPNOTSUPP)
        return dkv_err_set(err, "cannot set TCP_NODELAY on socket %d: %s", fd, strerror(errno));
    return 0;
}

int net_set_keepalive(int fd, int idle_s, int interval_s, int count, dkv_err *err)
{
    int one = 1;
    /* Unacknowledged data is bounded too: keepalive probes only start on an
     * idle connection, and a cut in the middle of a send would otherwise
     * wait for TCP's retransmissions (many minutes). */
    unsigned user_timeout_ms = (unsigned)(idle_s + interval_s * count) * 1000u;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms,
                   sizeof user_timeout_ms) < 0)
        return dkv_err_set(err, "cannot set TCP keepalive on socket %d: %s", fd,
                           strerror(errno));
    return 0;
}

static int resolve(const char *host, uint16_t port, bool passive, struct addrinfo **res,
                   dkv_err *err)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    char ps[8];
    snprintf(ps, sizeof ps, "%u", port);
    int rc = getaddrinfo(host, ps, &hints, res);
    if (rc != 0)
        return dkv_err_set(err, "cannot resolve '%s': %s", host, gai_strerror(rc));
    return 0;
}

/* Prepares a fresh socket for address ai: 0, or -1 with errno set. */
typedef int (*socket_setup)(int fd, const struct addrinfo *ai);

static int setup_listen(int fd, const struct addrinfo *ai)
{
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
                   bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0
               ? 0
               : -1;
}

static int setup_connect(int fd, const struct addrinfo *ai)
{
    return net_set_nodelay(fd, NULL) == 0 &&
                   (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS)
               ? 0
               : -1;
}

/* A socket (of SOCK_STREAM | flags) on the first address of host:port that
 * setup takes; -1 with err naming what it was doing and the last failure. */
static int first_socket(const char *host, uint16_t port, bool passive, int flags,
                        socket_setup setup, const char *doing, dkv_err *err)
{
    struct addrinfo *res;
    if (resolve(host, port, passive, &res, err) < 0)
        return -1;
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | flags, 0);
        if (fd >= 0 && setup(fd, ai) == 0)
            break;
        saved = errno;
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return dkv_err_set(err, "cannot %s %s:%u: %s", doing, host, port, strerror(saved));
    return fd;
}

int net_listen(const char *host, uint16_t port, uint16_t *bound_port, dkv_err *err)
{
    int fd = first_socket(host, port, true, SOCK_CLOEXEC, setup_listen, "listen on", err);
    if (fd < 0)
        return -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        int saved = errno;
        close(fd);
        return dkv_err_set(err, "cannot learn the port bound on %s: %s", host, strerror(saved));
    }
    *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                  : ((struct sockaddr_in *)&ss)->sin_port);
    if (net_set_nonblock(fd, err) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int net_connect_start(const char *host, uint16_t port, dkv_err *err)
{
    return first_socket(host, port, false, SOCK_CLOEXEC | SOCK_NONBLOCK, setup_connect,
                        "connect to", err);
}

int net_connect_result(int fd, dkv_err *err)
{
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
    if (soerr)
        return dkv_err_set(err, "connect failed: %s", strerror(soerr));
    return 0;
}

int net_wait_fd(int fd, short events, int64_t deadline_us, dkv_err *err)
{
    for (;;) {
        int64_t left = deadline_us - net_now_us();
        if (left <= 0)
            return dkv_err_set(err, "timed out");
        struct pollfd pfd = {.fd = fd, .events = events};
        int rc = poll(&pfd, 1, (int)((left + 999) / 1000));
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return dkv_err_set(err, "poll: %s", strerror(errno));
        if (rc < 0)
            return dkv_err_set(err, "interrupted");
    }
}

int net_connect(const char *host, uint16_t port, int timeout_ms, dkv_err *err)
{
    int fd = net_connect_start(host, port, err);
    if (fd < 0)
        return -1;
    if (net_wait_fd(fd, POLLOUT, net_now_us() + (int64_t)timeout_ms * 1000, err) < 0 ||
        net_connect_result(fd, err) < 0) {
        close(fd);
        return dkv_err_wrap(err, "cannot connect to %s:%u", host, port);
    }
    if (set_blocking_mode(fd, false, err) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int net_write_all(int fd, const void *p, size_t n, int64_t deadline_us, dkv_err *err)
{
    const uint8_t *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            c += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (net_wait_fd(fd, POLLOUT, deadline_us, err) < 0)
                return -1;
            continue;
        }
        if (w < 0 && errno == EINTR)
            return dkv_err_set(err, "interrupted");
        return dkv_err_set(err, "send: %s", w < 0 ? strerror(errno) : "closed");
    }
    return 0;
}

int net_read_frame(int fd, buf *in, wire_frame *frame, size_t *consumed, int64_t deadline_us,
                   dkv_err *err)
{
    for (;;) {
        int rc = wire_decode(buf_head(in), buf_unread(in), frame, consumed, err);
        if (rc != 0)
            return rc > 0 ? 0 : -1;
        buf_reserve(in, 64 * 1024);
        ssize_t r = recv(fd, in->data + in->len, in->cap - in->len, MSG_DONTWAIT);
        if (r > 0) {
            in->len += (size_t)r;
            continue;
        }
        if (r == 0)
            return dkv_err_set(err, "connection closed by peer");
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (net_wait_fd(fd, POLLIN, deadline_us, err) < 0)
                return -1;
            continue;
        }
        if (errno == EINTR)
            return dkv_err_set(err, "interrupted");
        return dkv_err_set(err, "recv: %s", strerror(errno));
    }
}

