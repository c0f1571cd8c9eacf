#define _GNU_SOURCE
#include "loop.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "logrl.h"
#include "net.h"
#include "vec.h"
#include "rpcflat.h"

/* Bytes read per recv when no large frame is being received. */
#define IN_CHUNK (64u << 10)
/* Descriptors left to the rest of a process when max_conns is derived:
 * LevelDB keeps up to 64 table files open (server/store.c) besides its
 * log, manifest and lock; the watchdog holds pipes to its children; and
 * stdio, the listener and links being dialled need some too. */
#define FD_RESERVE 128
/* More connections than this would only add memory (in_free each). */
#define MAX_CONNS_CEILING 1024
/* Plaintext sealed at a time while output drains: whole records, few
 * enough that the sealed copy of a multi-MiB reply never exists at once
 * (and small enough that its buffer is kept, see buf.c). */
#define SEAL_SLICE (3 * (size_t)AUTH_SEAL_MAX)
/* What a refused connection's input may still be read before it is
 * closed, so that the close is a FIN behind the refusal rather than a
 * reset that could discard it. */
#define REFUSE_DRAIN (256u << 10)

struct loop_conn {
    loop *owner;
    int fd;
    bool connecting;
    bool closing;
    bool close_reported;
    bool evictable;
    bool carries_calls; /* has sent a call: its output counts as replies */
    bool starved;       /* its next frame waits for inbound budget */
    bool backlog;       /* a whole call waits in `in` (dispatch is paused) */
    bool reset;         /* closed for breaking a limit: reset, not shut down */
    bool authed;        /* frames flow: the handshake completed, or no auth */
    bool initiator;     /* dialled by this loop (it starts the handshake) */
    bool watched;       /* fd is in the loop's epoll set, for `watching` */
    uint32_t watching;  /* the events asked for there */
    char why[DKV_ERR_MAX]; /* the longest reason given is a dkv_err message */
    const loop_handlers *h;
    void *user;
    buf in, out;         /* plaintext frames */
    auth_session *auth;  /* NULL when the loop does not authenticate */
    buf raw_in, raw_out; /* with auth: bytes as they travel (handshake, records) */
    int64_t auth_since;  /* when the handshake began */
    char peer[72];       /* the peer's address, for log lines */
    size_t reserved;     /* inbound budget held: the larger of the two needs */
    size_t frame_need;   /* budget the frame at the head of in needs (0: none) */
    size_t record_need;  /* budget the record at the head of raw_in needs */
    size_t discard;      /* bytes of an oversized call still to drop */
    size_t discard_len;  /* that call's declared length */
    int64_t frame_since; /* when the incomplete frame at the head of in began; 0: none */
    int64_t active_at;   /* when a byte was last read or written */
    int64_t out_since;   /* last progress of pending output; 0: none pending */
    int64_t last_rx_us, last_tx_us; /* when bytes last came in, went out */
};

struct loop {
    loop_conn **conns;
    size_t n, cap;
    size_t n_open; /* connections not closing */
    int listen_fd;
    loop_accept_fn on_accept;
    void *accept_user;
    /* epoll rather than poll: a wakeup costs the ready descriptors, not
     * all of them (a server with 31 links woke for each frame and had the
     * kernel look at every socket). */
    int epfd;
    bool listen_watched;
    struct epoll_event *evs;
    size_t ev_cap;
    loop_limits lim;
    size_t in_reserved; /* inbound budget held by all connections */
    size_t reply_out;   /* unsent output of connections that carry calls */
    int64_t now;        /* this iteration's clock: one reading per wakeup */
    int64_t listen_rest_until;
    const auth_key *key; /* NULL: connections are not authenticated */
    logrl *log;
    char name[64];
};

void loop_limits_default(loop_limits *lim)
{
    *lim = (loop_limits){
        .max_frame = WIRE_MAX_FRAME,
        /* Small frames (every put and get of small values, acks, LSAs)
         * never touch the budget. */
        .in_free = 64u << 10,
        /* Two largest frames at once; a third waits. */
        .in_budget = 64u << 20,
        /* A legitimate frame crosses loopback in milliseconds; callers
         * time out after 10 s by default. */
        .frame_timeout_us = 20 * 1000000LL,
        .out_pause = 1u << 20,
        .out_budget = 64u << 20,
        /* A link queues at most its budget (core.c) plus one frame. */
        .out_max = 2 * (size_t)WIRE_MAX_FRAME,
        .stall_timeout_us = 20 * 1000000LL,
        .max_conns = 0,
        .idle_evict_us = 1000000,
        .accept_backoff_us = 100000,
        /* The handshake takes one round trip; a caller that has not
         * finished it in 5 s is not one of ours. */
        .handshake_timeout_us = 5 * 1000000LL,
    };
}

static size_t conns_from_rlimit(void)
{
    struct rlimit rl;
    size_t nofile = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        nofile = rl.rlim_cur == RLIM_INFINITY ? MAX_CONNS_CEILING + FD_RESERVE
                                              : (size_t)rl.rlim_cur;
    size_t n = nofile > 2 * FD_RESERVE ? nofile - FD_RESERVE : nofile / 2;
    if (n > MAX_CONNS_CEILING)
        n = MAX_CONNS_CEILING;
    return n < 4 ? 4 : n;
}

void loop_set_limits(loop *l, const loop_limits *lim)
{
    l->lim = *lim;
    if (l->lim.max_frame == 0 || l->lim.max_frame > WIRE_MAX_FRAME)
        l->lim.max_frame = WIRE_MAX_FRAME;
    /* A frame (or record) bigger than the whole budget would wait for
     * ever. */
    if (l->lim.in_budget < l->lim.max_frame + 4)
        l->lim.in_budget = l->lim.max_frame + 4;
    if (l->key && l->lim.in_budget < AUTH_RECORD_MAX + AUTH_RECORD_OVERHEAD)
        l->lim.in_budget = AUTH_RECORD_MAX + AUTH_RECORD_OVERHEAD;
    if (l->lim.handshake_timeout_us <= 0)
        l->lim.handshake_timeout_us = 5 * 1000000LL;
    if (l->lim.in_free < WIRE_PREFIX)
        l->lim.in_free = WIRE_PREFIX;
    if (l->lim.max_conns == 0)
        l->lim.max_conns = conns_from_rlimit();
}

loop *loop_new(void)
{
    loop *l = xcalloc(1, sizeof *l);
    l->listen_fd = -1;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        /* Only out of memory or descriptors, before any work started. */
        perror("epoll_create1");
        abort();
    }
    l->now = net_now_us();
    snprintf(l->name, sizeof l->name, "%s", program_invocation_short_name);
    loop_limits lim;
    loop_limits_default(&lim);
    loop_set_limits(l, &lim);
    return l;
}

/* Takes c's descriptor out of the epoll set, before it is closed: a
 * descriptor also held by a child between fork and exec would otherwise
 * stay in the set, and report events for a connection that is gone. */
static void unwatch(loop_conn *c)
{
    if (c->watched)
        (void)epoll_ctl(c->owner->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->watched = false;
}

static void conn_free(loop_conn *c)
{
    unwatch(c);
    if (c->fd >= 0 && c->reset) {
        /* A connection closed for breaking a limit usually has output the
         * other end does not read: a plain close would leave it to the
         * kernel, queued in front of the FIN, for minutes. */
        struct linger now = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
    }
    if (c->fd >= 0)
        close(c->fd);
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->raw_in);
    buf_free(&c->raw_out);
    auth_session_free(c->auth);
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
        conn_free(l->conns[i]);
    if (l->listen_fd >= 0)
        close(l->listen_fd);
    close(l->epfd);
    free(l->conns);
    free(l->evs);
    logrl_free(l->log);
    free(l);
}

void loop_set_auth(loop *l, const auth_key *key)
{
#ifdef DKV_NO_AUTH
    (void)l;
    (void)key;
#else
    l->key = key;
    if (!l->log)
        l->log = logrl_new(stderr, 1000000);
    loop_set_limits(l, &l->lim);
#endif
}

void loop_set_name(loop *l, const char *name)
{
    dkv_err_mark_cut(l->name, sizeof l->name, snprintf(l->name, sizeof l->name, "%s", name));
}

/* The address at the other end of fd, as HOST:PORT. */
static void peer_text(int fd, char *out, size_t cap)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    char host[INET6_ADDRSTRLEN] = "?";
    snprintf(out, cap, "an unknown address");
    if (getpeername(fd, (struct sockaddr *)&sa, &len) < 0)
        return;
    if (sa.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        snprintf(out, cap, "%s:%u", host, ntohs(a->sin_port));
    } else if (sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&sa;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, ntohs(a->sin6_port));
    } else {
        snprintf(out, cap, "a local socket");
    }
}

void loop_listen(loop *l, int listen_fd, loop_accept_fn on_accept, void *user)
{
    l->listen_fd = listen_fd;
    l->on_accept = on_accept;
    l->accept_user = user;
}

loop_conn *loop_add(loop *l, int fd, bool connecting, const loop_handlers *h, void *user)
{
    loop_conn *c = xcalloc(1, sizeof *c);
    c->owner = l;
    c->fd = fd;
    c->connecting = connecting;
    c->evictable = true;
    c->h = h;
    c->user = user;
    c->active_at = l->now;
    buf_init(&c->in);
    buf_init(&c->out);
    c->last_rx_us = c->last_tx_us = l->now;
    buf_set_fallible(&c->in);
    buf_set_fallible(&c->out);
    c->authed = !l->key;
    if (l->key) {
        c->initiator = connecting;
        c->auth = auth_session_new(l->key, connecting);
        c->auth_since = l->now;
        buf_init(&c->raw_in);
        buf_init(&c->raw_out);
        buf_set_fallible(&c->raw_in);
        buf_set_fallible(&c->raw_out);
        peer_text(fd, c->peer, sizeof c->peer);
    }
    dkv_err err;
    bool usable = net_set_nonblock(fd, &err) == 0 && net_set_nodelay(fd, &err) == 0;
    l->conns = vec_reserve(l->conns, &l->cap, l->n + 1, sizeof *l->conns);
    l->conns[l->n++] = c;
    l->n_open++;
    if (!usable)
        loop_close(c, err.msg); /* a blocking socket would stall the whole loop */
    return c;
}

void *loop_conn_user(const loop_conn *c) { return c->user; }
void loop_conn_set_user(loop_conn *c, void *user) { c->user = user; }
buf *loop_conn_out(loop_conn *c) { return &c->out; }

/* Output not yet sent: plaintext and the records sealed from it. */
static size_t out_pending(const loop_conn *c)
{
    return buf_unread(&c->out) + buf_unread(&c->raw_out);
}

size_t loop_conn_pending(const loop_conn *c) { return out_pending(c); }
bool loop_conn_authenticated(const loop_conn *c) { return c->authed; }
bool loop_conn_closed(const loop_conn *c) { return c->closing; }
int64_t loop_conn_last_rx(const loop_conn *c) { return c->last_rx_us; }
int64_t loop_conn_last_tx(const loop_conn *c) { return c->last_tx_us; }
void loop_conn_set_evictable(loop_conn *c, bool evictable) { c->evictable = evictable; }
size_t loop_conn_count(const loop *l) { return l->n_open; }

static void release_budget(loop_conn *c)
{
    c->owner->in_reserved -= c->reserved;
    c->reserved = 0;
    c->frame_need = c->record_need = 0;
}

/* Holds from the inbound budget what c's input needs now: the larger of
 * frame_need and record_need (the frame's bytes arrive inside records, so
 * one reservation covers both). false when the budget cannot give it: c
 * then holds nothing and is starved (not read) until some is released. */
static bool settle_budget(loop_conn *c)
{
    loop *l = c->owner;
    size_t need = c->frame_need > c->record_need ? c->frame_need : c->record_need;
    bool fits = need <= c->reserved || l->in_reserved - c->reserved + need <= l->lim.in_budget;
    l->in_reserved -= c->reserved;
    c->reserved = fits ? need : 0;
    l->in_reserved += c->reserved;
    c->starved = !fits;
    return fits;
}

/* Closes c for breaking a limit. */
static void reset_conn(loop_conn *c, const char *why)
{
    if (!c->closing)
        c->reset = true;
    loop_close(c, why);
}

void loop_close(loop_conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    c->owner->n_open--;
    release_budget(c);
    dkv_err_mark_cut(c->why, sizeof c->why, snprintf(c->why, sizeof c->why, "%s", why));
}

void loop_abort(loop_conn *c, const char *why)
{
    if (c->closing)
        return;
    struct linger lg = {1, 0};
    (void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    loop_close(c, why);
}

static void report_close(loop_conn *c)
{
    if (!c->close_reported) {
        c->close_reported = true;
        if (c->h->on_close)
            c->h->on_close(c, c->why);
    }
}

/* Whether c's input is read and its frames dispatched this iteration. */
static bool reading(const loop_conn *c)
{
    return !c->closing && !c->connecting && !c->starved && !c->backlog;
}

/* With authentication, the plaintext leaves as records: when the sealed
 * bytes have gone, the next slice of out is sealed (all of it, as one
 * record, when it is small). */
static void seal_output(loop_conn *c)
{
    size_t n = buf_unread(&c->out);
    if (n > SEAL_SLICE)
        n = SEAL_SLICE;
    auth_session_seal(c->auth, buf_head(&c->out), n, &c->raw_out);
    buf_consume(&c->out, n);
}

static void flush(loop_conn *c)
{
    loop *l = c->owner;
    if (c->closing || c->connecting)
        return;
    if (buf_failed(&c->out) || buf_failed(&c->raw_out)) {
        reset_conn(c, "out of memory for output");
        return;
    }
    size_t pending = out_pending(c);
    if (pending == 0) {
        c->out_since = 0;
        return;
    }
    if (pending > l->lim.out_max) {
        char why[128];
        snprintf(why, sizeof why, "%zu bytes of output unsent, more than %zu: the other end "
                 "does not read", pending, l->lim.out_max);
        reset_conn(c, why);
        return;
    }
    if (c->out_since == 0)
        c->out_since = l->now;
    buf *src = c->auth ? &c->raw_out : &c->out;
    for (;;) {
        if (c->auth && c->authed && buf_unread(src) == 0 && buf_unread(&c->out) > 0) {
            seal_output(c);
            if (buf_failed(src)) {
                reset_conn(c, "out of memory for output");
                return;
            }
        }
        if (buf_unread(src) == 0)
            break;
        ssize_t w = send(c->fd, buf_head(src), buf_unread(src), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            buf_consume(src, (size_t)w);
            c->out_since = c->active_at = c->last_tx_us = l->now;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        loop_close(c, w < 0 ? strerror(errno) : "send returned 0");
        return;
    }
    if (out_pending(c) == 0)
        c->out_since = 0;
    else if (l->now - c->out_since > l->lim.stall_timeout_us)
        reset_conn(c, "output made no progress: the other end does not read");
}

/* The frame at the head of c->in is total bytes long: a large one needs
 * inbound budget before it is read further. false: none is left. */
static bool reserve_budget(loop_conn *c, size_t total)
{
    c->frame_need = total > c->owner->lim.in_free ? total : 0;
    return settle_budget(c);
}

/* A call over the size limit, its bytes all dropped: answer it. */
static void refuse_oversized(loop_conn *c)
{
    char msg[160];
    snprintf(msg, sizeof msg, "request of %zu bytes exceeds the limit of %zu bytes",
             c->discard_len, c->owner->lim.max_frame);
    size_t start = wire_begin(&c->out, WIRE_REPLY);
    rpcflat_encode_fault(&c->out, RPCFLAT_FAULT_BAD_REQUEST, msg);
    wire_finish(&c->out, start);
}

/* Whether a call may be dispatched on c now (see loop.h, Output). */
static bool calls_paused(const loop_conn *c)
{
    const loop *l = c->owner;
    return out_pending(c) > l->lim.out_pause || l->reply_out > l->lim.out_budget;
}

/* Whether c holds part of a frame or record still to come. */
static bool input_incomplete(const loop_conn *c)
{
    return buf_unread(&c->in) || c->discard || (c->authed && buf_unread(&c->raw_in));
}

/* Dispatches the whole frames buffered in c->in, as far as the limits
 * allow. */
static void process_input(loop_conn *c)
{
    loop *l = c->owner;
    c->backlog = false;
    while (!c->closing) {
        size_t unread = buf_unread(&c->in);
        if (c->discard) {
            size_t drop = c->discard < unread ? c->discard : unread;
            buf_consume(&c->in, drop);
            c->discard -= drop;
            if (c->discard)
                break;
            refuse_oversized(c);
            c->frame_since = 0;
            continue;
        }
        if (unread < 5)
            break;
        const uint8_t *head = buf_head(&c->in);
        size_t total = 4 + (size_t)dkv_get_u32(head);
        if (total - 4 > l->lim.max_frame) {
            if (head[4] == WIRE_CALL) {
                c->carries_calls = true;
                c->discard = total;
                c->discard_len = total - 4;
                continue;
            }
            char why[128];
            snprintf(why, sizeof why, "frame of %zu bytes exceeds the limit of %zu bytes",
                     total - 4, l->lim.max_frame);
            reset_conn(c, why);
            break;
        }
        if (!reserve_budget(c, total))
            break;
        wire_frame f;
        size_t used;
        dkv_err err;
        int rc = wire_decode(head, unread, &f, &used, &err);
        if (rc == 0)
            break;
        if (rc < 0) {
            loop_close(c, err.msg);
            break;
        }
        if (f.kind == WIRE_CALL) {
            if (calls_paused(c)) {
                c->backlog = true;
                break;
            }
            c->carries_calls = true;
        }
        size_t out_before = buf_unread(&c->out);
        c->h->on_frame(c, &f);
        if (c->carries_calls && buf_unread(&c->out) > out_before)
            l->reply_out += buf_unread(&c->out) - out_before;
        buf_consume(&c->in, used);
        c->frame_need = 0;
        settle_budget(c);
        c->frame_since = 0;
        if (buf_failed(&c->out))
            reset_conn(c, "out of memory for output");
    }
    /* A multi-MiB frame was consumed: give its memory back. */
    if (!c->frame_need)
        buf_shrink(&c->in);
    if (!c->closing && !c->backlog && input_incomplete(c) && !c->frame_since)
        c->frame_since = l->now;
}

/* A plaintext caller of an authenticating daemon: a call in our framing
 * gets a fault that says what is missing, rather than a bare close. */
static void fault_plain_caller(loop_conn *c)
{
    const uint8_t *p = buf_head(&c->raw_in);
    if (c->initiator || buf_unread(&c->raw_in) < 5 || p[4] != WIRE_CALL)
        return;
    size_t start = wire_begin(&c->raw_out, WIRE_REPLY);
    rpcflat_encode_fault(&c->raw_out, RPCFLAT_FAULT_BAD_REQUEST,
                         "this daemon serves only callers that prove they know the cluster "
                         "secret (the authentication handshake of common/auth.h; "
                         "--secret-file)");
    wire_finish(&c->raw_out, start);
}

/* Says what is left to say (a refusal, a fault), reads and drops what the
 * peer sent (a close with unread input would be a reset, which may
 * overtake the refusal), and closes, not resetting. */
static void close_refused(loop_conn *c, const char *why)
{
    if (buf_unread(&c->raw_out) && !buf_failed(&c->raw_out) &&
        send(c->fd, buf_head(&c->raw_out), buf_unread(&c->raw_out),
             MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
        c->last_tx_us = c->owner->now;
    char junk[16384];
    for (size_t drained = 0; drained < REFUSE_DRAIN;) {
        ssize_t r = recv(c->fd, junk, sizeof junk, MSG_DONTWAIT);
        if (r <= 0)
            break;
        drained += (size_t)r;
    }
    loop_close(c, why);
}

/* The handshake failed, or a record: one log line (rate-limited per kind)
 * naming the peer, then the connection closes. */
static void refuse(loop_conn *c, const dkv_err *err)
{
    loop *l = c->owner;
    const char *dir = c->initiator ? "to" : "from";
    switch (auth_session_failure(c->auth)) {
    case AUTH_FAIL_PROTOCOL:
        fault_plain_caller(c);
        logrl_printf(l->log, l->now, "%s: refused the connection %s %s: %s", l->name, dir,
                     c->peer, err->msg);
        break;
    case AUTH_FAIL_SECRET:
        logrl_printf(l->log, l->now, "%s: connection %s %s refused: %s", l->name, dir, c->peer,
                     err->msg);
        break;
    case AUTH_FAIL_REFUSED:
        logrl_printf(l->log, l->now, "%s: connection %s %s: %s", l->name, dir, c->peer,
                     err->msg);
        break;
    default:
        logrl_printf(l->log, l->now, "%s: closed the connection %s %s: %s", l->name, dir,
                     c->peer, err->msg);
        break;
    }
    close_refused(c, err->msg);
}

/* With authentication: the bytes in raw_in go through the session,
 * handshake messages first (its answers go to raw_out), then records,
 * whose payloads join the plaintext in c->in. Reserves budget for a large
 * record at the head of raw_in. false when the connection was closed. */
static bool take_raw(loop_conn *c)
{
    loop *l = c->owner;
    dkv_err err;
    ssize_t used = auth_session_input(c->auth, buf_head(&c->raw_in), buf_unread(&c->raw_in),
                                      &c->in, &c->raw_out, &err);
    if (used < 0) {
        refuse(c, &err);
        return false;
    }
    buf_consume(&c->raw_in, (size_t)used);
    if (buf_failed(&c->in) || buf_failed(&c->raw_out)) {
        reset_conn(c, "out of memory for input");
        return false;
    }
    if (!c->authed && auth_session_ready(c->auth)) {
        c->authed = true;
        c->frame_since = 0;
        if (c->initiator && c->h->on_connected)
            c->h->on_connected(c);
        if (c->closing)
            return false;
    }
    c->record_need = 0;
    if (c->authed && buf_unread(&c->raw_in) >= 4) {
        size_t total = AUTH_RECORD_OVERHEAD + (size_t)dkv_get_u32(buf_head(&c->raw_in));
        if (total > l->lim.in_free)
            c->record_need = total;
    }
    if (!c->record_need)
        buf_shrink(&c->raw_in);
    settle_budget(c);
    return true;
}

/* How many bytes of raw input to ask for: what completes the record at the
 * head of raw_in, when it is large, else up to in_free in all. */
static size_t raw_want(const loop_conn *c)
{
    size_t target = c->record_need ? c->record_need : c->owner->lim.in_free;
    size_t have = buf_unread(&c->raw_in);
    return have < target ? target - have : 1;
}

static void read_ready(loop_conn *c)
{
    loop *l = c->owner;
    for (int rounds = 0; rounds < 16 && reading(c); rounds++) {
        /* Never more than the frame being received, or in_free. */
        size_t unread = buf_unread(&c->in);
        size_t target = c->frame_need ? c->frame_need : l->lim.in_free;
        size_t want = unread < target ? target - unread : 0;
        if (c->discard)
            want = IN_CHUNK;
        else if (want > IN_CHUNK && !c->frame_need)
            want = IN_CHUNK;
        if (want == 0) {
            process_input(c);
            break;
        }
        /* With authentication the bytes arrive as records (or handshake
         * messages), which become plaintext once whole. */
        buf *into = c->auth ? &c->raw_in : &c->in;
        if (c->auth)
            want = raw_want(c);
        if (buf_reserve(into, want) < 0) {
            reset_conn(c, "out of memory for input");
            break;
        }
        ssize_t r = recv(c->fd, into->data + into->len, want, MSG_DONTWAIT);
        if (r == 0) {
            loop_close(c, c->authed ? "connection closed by peer"
                                    : "connection closed by peer before it authenticated");
            break;
        }
        if (r < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                loop_close(c, strerror(errno));
            break;
        }
        into->len += (size_t)r;
        c->active_at = c->last_rx_us = l->now;
        if (c->auth && !take_raw(c))
            break;
        process_input(c);
        if ((size_t)r < want)
            break;
    }
}

/* Closes a connection so that a newcomer gets its descriptor: the oldest
 * accepted one that has not authenticated, busy or not (a stranger's), else
 * the least recently active idle one. false when none qualifies. */
static bool evict_idle(loop *l)
{
    loop_conn *stranger = NULL, *idle = NULL;
    for (size_t i = 0; i < l->n; i++) {
        loop_conn *c = l->conns[i];
        if (c->closing || !c->evictable)
            continue;
        if (!c->authed && !c->initiator) {
            if (!stranger || c->auth_since < stranger->auth_since)
                stranger = c;
            continue;
        }
        if (c->connecting || input_incomplete(c) || out_pending(c) ||
            l->now - c->active_at < l->lim.idle_evict_us)
            continue;
        if (!idle || c->active_at < idle->active_at)
            idle = c;
    }
    loop_conn *victim = stranger ? stranger : idle;
    if (!victim)
        return false;
    loop_close(victim, victim->authed ? "closed to make room for a new connection"
                                      : "closed before it authenticated, to make room for a "
                                        "new connection");
    unwatch(victim);
    close(victim->fd); /* now: the newcomer needs the descriptor */
    victim->fd = -1;
    return true;
}

/* At the cap a newcomer takes the place of an idle connection; with none
 * to close it is closed itself (at once, so it need not wait for a
 * timeout) and the listener rests. The newcomer is accepted before room is
 * made, so that no connection is closed for a caller that is not there;
 * FD_RESERVE leaves the descriptor for that moment. */
static void accept_ready(loop *l)
{
    for (int k = 0; k < 64; k++) {
        int fd = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            /* Out of descriptors (or memory): make room, else rest rather
             * than spin on a listener that stays readable. */
            if ((errno == EMFILE || errno == ENFILE) && evict_idle(l))
                continue;
            l->listen_rest_until = l->now + l->lim.accept_backoff_us;
            return;
        }
        if (l->n_open >= l->lim.max_conns && !evict_idle(l)) {
            close(fd);
            l->listen_rest_until = l->now + l->lim.accept_backoff_us;
            return;
        }
        l->on_accept(l, fd, l->accept_user);
    }
}

/* Starts or checks each connection's clocks; returns the earliest time
 * one of them needs the loop awake. */
static int64_t check_timeouts(loop *l)
{
    int64_t wake = INT64_MAX;
    for (size_t i = 0; i < l->n; i++) {
        loop_conn *c = l->conns[i];
        if (c->closing)
            continue;
        if (!c->authed && !c->connecting) {
            int64_t due = c->auth_since + l->lim.handshake_timeout_us;
            if (l->now >= due) {
                logrl_printf(l->log, l->now, "%s: closed the connection %s %s: no proof of "
                             "the cluster secret within %lld ms", l->name,
                             c->initiator ? "to" : "from", c->peer,
                             (long long)(l->lim.handshake_timeout_us / 1000));
                reset_conn(c, "no proof of the cluster secret in time");
                continue;
            }
            if (due < wake)
                wake = due;
        }
        /* The clock runs while the frame waits for inbound budget too: the
         * wait is then bounded by the timeout of the frames ahead of it,
         * where otherwise a crowd of senders that never finish would hold
         * the budget in turns for ever. */
        if (c->backlog || c->connecting || !c->authed) {
            c->frame_since = 0;
        } else if (input_incomplete(c)) {
            if (!c->frame_since)
                c->frame_since = l->now;
            int64_t due = c->frame_since + l->lim.frame_timeout_us;
            if (l->now >= due) {
                char why[96];
                snprintf(why, sizeof why, "frame still incomplete after %lld ms",
                         (long long)(l->lim.frame_timeout_us / 1000));
                reset_conn(c, why);
                continue;
            }
            if (due < wake)
                wake = due;
        }
        if (c->out_since) {
            int64_t due = c->out_since + l->lim.stall_timeout_us + 1;
            if (due < wake)
                wake = due;
        }
    }
    if (l->listen_rest_until > l->now && l->listen_rest_until < wake)
        wake = l->listen_rest_until;
    return wake;
}

/* Before waiting: output flushed, calls that waited for output to drain
 * and frames that waited for inbound budget given another go. */
static void catch_up(loop *l)
{
    l->reply_out = 0;
    for (size_t i = 0; i < l->n; i++) {
        loop_conn *c = l->conns[i];
        flush(c);
        if (c->carries_calls && !c->closing)
            l->reply_out += out_pending(c);
    }
    for (size_t i = 0; i < l->n; i++) {
        loop_conn *c = l->conns[i];
        if (c->closing)
            continue;
        if (c->backlog)
            process_input(c);
        /* Records may have brought a whole frame before it had budget:
         * it goes as soon as it has, whether or not more bytes come. */
        if (c->starved && settle_budget(c) && buf_unread(&c->in))
            process_input(c);
    }
}

/* Makes the epoll set ask for what fd should be watched for now (0: not
 * watched at all; a closing connection is not, as poll ignored fd -1).
 * Only changes cost a system call. */
static void watch(loop *l, int fd, bool *watched, uint32_t *watching, uint32_t want, void *ptr)
{
    if (!want) {
        if (*watched)
            (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
        *watched = false;
        return;
    }
    if (*watched && *watching == want)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = ptr};
    if (epoll_ctl(l->epfd, *watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) == 0) {
        *watched = true;
        *watching = want;
    } else if (*watched) {
        /* A failed change leaves the old mask: out of the set, so that the
         * caller sees it unwatched rather than half heard. */
        (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
        *watched = false;
    }
}

/* Brings the epoll set up to date (the listener's entry points at l, a
 * connection's at it) and returns how long the wait may last. A
 * connection that cannot be watched (epoll_ctl failed: out of memory) is
 * closed, rather than left unheard. */
static int update_watches(loop *l, int timeout_ms, int64_t wake)
{
    bool any_closing = false;
    if (l->listen_fd >= 0) {
        bool resting = l->now < l->listen_rest_until;
        uint32_t listen_watching = EPOLLIN;
        watch(l, l->listen_fd, &l->listen_watched, &listen_watching, resting ? 0 : EPOLLIN, l);
    }
    for (size_t i = 0; i < l->n; i++) {
        loop_conn *c = l->conns[i];
        /* Errors and hang-ups are always reported, even with no event
         * asked for, as poll did. */
        uint32_t ev = reading(c) ? EPOLLIN : 0;
        /* Plaintext waits for the handshake; only what can leave counts. */
        if (c->connecting || buf_unread(&c->raw_out) > 0 || (c->authed && buf_unread(&c->out) > 0))
            ev |= EPOLLOUT;
        if (c->closing) {
            any_closing = true;
            unwatch(c);
            continue;
        }
        /* A connection asking for nothing still hears errors and hang-ups
         * (poll reported them too): it stays in the set. */
        if (!ev)
            ev = EPOLLERR;
        watch(l, c->fd, &c->watched, &c->watching, ev, c);
        if (!c->watched) {
            loop_close(c, "cannot watch the connection (epoll_ctl failed)");
            any_closing = true; /* reported this round, not after the wait */
        }
    }
    int wait_ms = any_closing ? 0 : timeout_ms;
    if (wake != INT64_MAX) {
        int64_t until_ms = (wake - l->now + 999) / 1000;
        if (wait_ms < 0 || until_ms < wait_ms)
            wait_ms = until_ms < 0 ? 0 : (int)until_ms;
    }
    return wait_ms;
}

/* poll's bits for epoll's. */
static short poll_events(uint32_t ev)
{
    return (short)(((ev & EPOLLIN) ? POLLIN : 0) | ((ev & EPOLLOUT) ? POLLOUT : 0) |
                   ((ev & EPOLLERR) ? POLLERR : 0) | ((ev & EPOLLHUP) ? POLLHUP : 0));
}

/* One connection's poll events. */
static void dispatch(loop *l, loop_conn *c, short re)
{
    if (c->connecting && (re & (POLLOUT | POLLERR | POLLHUP))) {
        dkv_err err;
        if (net_connect_result(c->fd, &err) < 0) {
            loop_close(c, err.msg);
            return;
        }
        c->connecting = false;
        c->active_at = l->now;
        if (c->auth) {
            /* Connected is not yet usable: it is once the handshake is done
             * (take_raw calls on_connected then). */
            peer_text(c->fd, c->peer, sizeof c->peer);
            c->auth_since = l->now;
            auth_session_start(c->auth, &c->raw_out);
            flush(c);
        } else if (c->h->on_connected) {
            c->h->on_connected(c);
        }
        return;
    }
    if (re & (POLLIN | POLLHUP | POLLERR)) {
        if (reading(c))
            read_ready(c);
        else if (re & (POLLHUP | POLLERR))
            loop_close(c, "connection reset");
    }
    if ((re & POLLOUT) && !c->closing)
        flush(c);
}

/* Reports and frees closed connections; on_close may close others. */
static void reap_closed(loop *l)
{
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
            conn_free(l->conns[i]);
        else
            l->conns[w++] = l->conns[i];
    }
    l->n = w;
}

int loop_run_once(loop *l, int timeout_ms)
{
    l->now = net_now_us();
    catch_up(l);
    int64_t wake = check_timeouts(l);
    int wait_ms = update_watches(l, timeout_ms, wake);
    l->evs = vec_reserve(l->evs, &l->ev_cap, l->n + 1, sizeof *l->evs);
    int rc = epoll_wait(l->epfd, l->evs, (int)(l->n + 1), wait_ms);
    if (rc < 0 && errno != EINTR)
        rc = 0;
    l->now = net_now_us();
    /* Connections that handlers add now wait a round (they are not in the
     * set yet); none is freed before reap_closed. The listener first. */
    for (int i = 0; i < rc; i++)
        if (l->evs[i].data.ptr == l && (l->evs[i].events & EPOLLIN))
            accept_ready(l);
    for (int i = 0; i < rc; i++) {
        if (l->evs[i].data.ptr == l)
            continue;
        loop_conn *c = l->evs[i].data.ptr;
        short re = poll_events(l->evs[i].events);
        if (re && !c->closing)
            dispatch(l, c, re);
    }
    check_timeouts(l);
    reap_closed(l);
    return rc < 0 ? -1 : rc;
}
