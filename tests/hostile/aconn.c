#include "aconn.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/net.h"

/* Reads what arrived (waiting until deadline) into c->in, through the
 * session with a key. */
static int receive(aconn *c, int64_t deadline, dkv_err *err)
{
    buf *into = c->s ? &c->raw : &c->in;
    for (;;) {
        buf_reserve(into, 65536);
        ssize_t r = recv(c->fd, into->data + into->len, into->cap - into->len, MSG_DONTWAIT);
        if (r == 0)
            return dkv_err_set(err, "connection closed by peer");
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (net_wait_fd(c->fd, POLLIN, deadline, err) < 0)
                return -1;
            continue;
        }
        if (r < 0)
            return dkv_err_set(err, "recv: %s", strerror(errno));
        into->len += (size_t)r;
        if (!c->s)
            return 0;
        /* The session's answers (its last handshake message, or its
         * refusal when the daemon's proof fails) go out at once. */
        buf answers;
        buf_init(&answers);
        ssize_t used =
            auth_session_input(c->s, buf_head(&c->raw), buf_unread(&c->raw), &c->in, &answers, err);
        if (used >= 0)
            buf_consume(&c->raw, (size_t)used);
        dkv_err send_err;
        int rc = buf_unread(&answers) ? aconn_send_raw(c, buf_head(&answers), buf_unread(&answers),
                                                       deadline, &send_err)
                                      : 0;
        buf_free(&answers);
        if (used < 0)
            return -1;
        return rc < 0 ? dkv_err_set(err, "%s", send_err.msg) : 0;
    }
}

int aconn_open(aconn *c, const char *host, uint16_t port, const auth_key *k, bool record,
               int64_t deadline, dkv_err *err)
{
    memset(c, 0, sizeof *c);
    c->record = record;
    buf_init(&c->raw);
    buf_init(&c->in);
    buf_init(&c->sent);
    int64_t left_ms = (deadline - net_now_us()) / 1000;
    c->fd = net_connect(host, port, left_ms > 0 ? (int)left_ms : 1, err);
    if (c->fd < 0)
        return -1;
    if (!k)
        return 0;
    c->s = auth_session_new(k, true);
    buf hello;
    buf_init(&hello);
    auth_session_start(c->s, &hello);
    int rc = aconn_send_raw(c, buf_head(&hello), buf_unread(&hello), deadline, err);
    buf_free(&hello);
    while (rc == 0 && !auth_session_ready(c->s))
        rc = receive(c, deadline, err);
    if (rc < 0)
        aconn_close(c);
    return rc;
}

void aconn_close(aconn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    auth_session_free(c->s);
    c->s = NULL;
    buf_free(&c->raw);
    buf_free(&c->in);
    buf_free(&c->sent);
}

void aconn_wrap(aconn *c, const void *p, size_t n, buf *out)
{
    if (c->s)
        auth_session_seal(c->s, p, n, out);
    else
        buf_append(out, p, n);
}

int aconn_send_raw(aconn *c, const void *p, size_t n, int64_t deadline, dkv_err *err)
{
    if (c->record)
        buf_append(&c->sent, p, n);
    return net_write_all(c->fd, p, n, deadline, err);
}

int aconn_send(aconn *c, const void *p, size_t n, int64_t deadline, dkv_err *err)
{
    buf b;
    buf_init(&b);
    aconn_wrap(c, p, n, &b);
    int rc = aconn_send_raw(c, buf_head(&b), buf_unread(&b), deadline, err);
    buf_free(&b);
    return rc;
}

int aconn_read_frame(aconn *c, wire_frame *f, size_t *used, int64_t deadline, dkv_err *err)
{
    for (;;) {
        int rc = wire_decode(buf_head(&c->in), buf_unread(&c->in), f, used, err);
        if (rc != 0)
            return rc > 0 ? 0 : -1;
        if (receive(c, deadline, err) < 0)
            return -1;
    }
}
