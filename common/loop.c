#define _GNU_SOURCE
#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

struct loop_conn {
    loop *owner;
    int fd;
    bool connecting;
    bool closing;
    bool close_reported;
    char why[160];
    const loop_handlers *h;
    void *user;
    buf in, out;
    int64_t last_rx_us, last_tx_us; /* when bytes last came in, went out */
};

struct loop {
    loop_conn **conns;
    size_t n, cap;
    int listen_fd;
    loop_accept_fn on_accept;
    void *accept_user;
    struct pollfd *pfds;
    size_t pfd_cap;
};

loop *loop_new(void)
{
    loop *l = calloc(1, sizeof *l);
    if (!l)
        abort();
    l->listen_fd = -1;
    return l;
}

static void conn_destroy(loop_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
}

static void report_close(loop_conn *c);

void loop_free(loop *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        loop_close(l->conns[i], "shutting down");
        report_close(l->conns[i]);
    }
    for (size_t i = 0; i < l->n; i++)
        conn_destroy(l->conns[i]);
    if (l->listen_fd >= 0)
        close(l->listen_fd);
    free(l->conns);
    free(l->pfds);
    free(l);
}

void loop_listen(loop *l, int listen_fd, loop_accept_fn on_accept, void *user)
{
    l->listen_fd = listen_fd;
    l->on_accept = on_accept;
    l->accept_user = user;
}

loop_conn *loop_add(loop *l, int fd, bool connecting, const loop_handlers *h, void *user)
{
    loop_conn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->owner = l;
    c->fd = fd;
    c->connecting = connecting;
    c->h = h;
    c->user = user;
    buf_init(&c->in);
    buf_init(&c->out);
    c->last_rx_us = c->last_tx_us = net_now_us();
    net_set_nonblock(fd);
    net_set_nodelay(fd);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->conns = realloc(l->conns, l->cap * sizeof *l->conns);
        if (!l->conns)
            abort();
    }
    l->conns[l->n++] = c;
    return c;
}

void *loop_conn_user(const loop_conn *c) { return c->user; }
void loop_conn_set_user(loop_conn *c, void *user) { c->user = user; }
buf *loop_conn_out(loop_conn *c) { return &c->out; }
size_t loop_conn_pending(const loop_conn *c) { return buf_unread(&c->out); }
bool loop_conn_closed(const loop_conn *c) { return c->closing; }
int64_t loop_conn_last_rx(const loop_conn *c) { return c->last_rx_us; }
int64_t loop_conn_last_tx(const loop_conn *c) { return c->last_tx_us; }

void loop_close(loop_conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    snprintf(c->why, sizeof c->why, "%s", why);
}

static void report_close(loop_conn *c)
{
    if (!c->close_reported) {
        c->close_reported = true;
        if (c->h->on_close)
            c->h->on_close(c, c->why);
    }
}

static void flush(loop_conn *c)
{
    while (!c->closing && !c->connecting && buf_unread(&c->out) > 0) {
        ssize_t w = send(c->fd, buf_head(&c->out), buf_unread(&c->out),
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            buf_consume(&c->out, (size_t)w);
            c->last_tx_us = net_now_us();
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        loop_close(c, w < 0 ? strerror(errno) : "send returned 0");
    }
}

static void read_ready(loop_conn *c)
{
    for (int rounds = 0; rounds < 16 && !c->closing; rounds++) {
        buf_reserve(&c->in, 64 * 1024);
        ssize_t r = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, MSG_DONTWAIT);
        if (r == 0) {
            loop_close(c, "connection closed by peer");
            break;
        }
        if (r < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                loop_close(c, strerror(errno));
            break;
        }
        c->in.len += (size_t)r;
        c->last_rx_us = net_now_us();
        if ((size_t)r < 64 * 1024)
            break;
    }
    for (;;) {
        if (c->closing)
            return;
        wire_frame f;
        size_t used;
        dkv_err err;
        int rc = wire_decode(buf_head(&c->in), buf_unread(&c->in), &f, &used, &err);
        if (rc == 0)
            return;
        if (rc < 0) {
            loop_close(c, err.msg);
            return;
        }
        c->h->on_frame(c, &f);
        buf_consume(&c->in, used);
    }
}

int loop_run_once(loop *l, int timeout_ms)
{
    for (size_t i = 0; i < l->n; i++)
        flush(l->conns[i]);

    size_t need = l->n + 1;
    if (l->pfd_cap < need) {
        l->pfd_cap = need * 2;
        l->pfds = realloc(l->pfds, l->pfd_cap * sizeof *l->pfds);
        if (!l->pfds)
            abort();
    }
    size_t np = 0;
    bool any_closing = false;
    if (l->listen_fd >= 0)
        l->pfds[np++] = (struct pollfd){.fd = l->listen_fd, .events = POLLIN};
    size_t first_conn = np;
    for (size_t i = 0; i < l->n; i++) {
        loop_conn *c = l->conns[i];
        short ev = POLLIN;
        if (c->connecting || buf_unread(&c->out) > 0)
            ev |= POLLOUT;
        if (c->closing)
            any_closing = true;
        l->pfds[np++] = (struct pollfd){.fd = c->closing ? -1 : c->fd, .events = ev};
    }
    int rc = poll(l->pfds, np, any_closing ? 0 : timeout_ms);
    if (rc < 0 && errno != EINTR)
        rc = 0;
    size_t nconns = l->n; /* handlers may add connections; they wait a round */
    if (rc > 0) {
        if (l->listen_fd >= 0 && (l->pfds[0].revents & POLLIN)) {
            for (int k = 0; k < 64; k++) {
                int fd = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0)
                    break;
                l->on_accept(l, fd, l->accept_user);
            }
        }
        for (size_t i = 0; i < nconns; i++) {
            loop_conn *c = l->conns[i];
            short re = l->pfds[first_conn + i].revents;
            if (!re || c->closing)
                continue;
            if (c->connecting && (re & (POLLOUT | POLLERR | POLLHUP))) {
                dkv_err err;
                if (net_connect_result(c->fd, &err) < 0) {
                    loop_close(c, err.msg);
                    continue;
                }
                c->connecting = false;
                if (c->h->on_connected)
                    c->h->on_connected(c);
                continue;
            }
            if (re & (POLLIN | POLLHUP | POLLERR))
                read_ready(c);
            if ((re & POLLOUT) && !c->closing)
                flush(c);
        }
    }
    /* Reap closed connections; on_close may close others, so loop. */
    for (bool again = true; again;) {
        again = false;
        for (size_t i = 0; i < l->n; i++) {
            loop_conn *c = l->conns[i];
            if (c->closing && !c->close_reported) {
                report_close(c);
                again = true;
            }
        }
    }
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->conns[i]->closing)
            conn_destroy(l->conns[i]);
        else
            l->conns[w++] = l->conns[i];
    }
    l->n = w;
    return rc < 0 ? -1 : rc;
}
