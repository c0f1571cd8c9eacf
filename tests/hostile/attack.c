/* attack: the hostile-input tool of tests/hostile.sh. Each subcommand
 * replays one kind of attack on a live daemon over loopback, or observes a
 * daemon from outside (/proc), or reads a master history; the driver
 * decides what passes. Connections that an attack holds open stay open
 * until --hold runs out or the driver kills the tool.
 *
 *   attack call [-t MS] [-r] HOST PORT METHOD [ARG...]   one XML-RPC call
 *       ARG is i:N, b:TEXT (C escapes), bn:N (N bytes of 'v'), s:TEXT, t:0|1.
 *       Prints "ok VALUES..." (exit 0), "fault VALUES..." (1), "error: MSG"
 *       (2) or "timeout: MSG" (3). -r retries a refused or dropped
 *       connection until the deadline.
 *   attack nest [-t MS] HOST PORT elements|arrays N      deeply nested call
 *   attack bomb [-t MS] HOST PORT LEVELS                 internal-entity bomb
 *   attack frames [-t MS] [-w PID] [-c MS] [-H MS] HOST PORT CONNS DECLARE SEND
 *       CONNS connections each send SEND bytes of one call frame whose
 *       length field says DECLARE; -w samples PID's RSS meanwhile, -c waits
 *       that long for the daemon to close them.
 *   attack pipeline [-H MS] HOST PORT KEY N              N gets, never read
 *   attack hog [-H MS] HOST PORT N                       N idle connections
 *   attack peer [-t MS] HOST PORT h:HEADER [b:BODY]...   peer frames, then
 *       prints each frame received ("recv HEADER") until closed or -t MS
 *   attack record FILE [-t MS] HOST PORT METHOD [ARG...]  a call like `call`,
 *       whose connection (handshake and records, as sent) is saved to FILE
 *   attack replay [-t MS] FILE HOST PORT  sends FILE's bytes as they are on a
 *       new connection; prints "refused REASON" (exit 0) when the daemon
 *       refuses the handshake, else what happened (exit 1)
 *   attack flip [-t MS] HOST PORT METHOD [ARG...]  a call whose record has a
 *       flipped byte; "closed" (exit 0) when the daemon closes without an
 *       answer, else "answered ..." (exit 1)
 *   attack flood [-H MS] HOST PORT N   keeps N connections that never
 *       authenticate open for MS, reopening those the daemon closes (at
 *       most every 100 ms); prints what it opened, then "reopened N" as N
 *       grows
 *   attack listen PORT MS       exit 1 if anything connects to PORT in MS
 *   attack port PID | rss PID | cpu PID MS
 *   attack settle PID MAX_KB QUIET_MS DEADLINE_MS
 *       waits until PID's CPU use over QUIET_MS falls under 10%: exit 0,
 *       1 as soon as its RSS exceeds MAX_KB, 3 still busy at the deadline
 *   attack history FILE         see histscan.h
 * Every wait is bounded. Usage errors exit 2, like the other programs.
 *
 * The daemons serve only callers that prove they know the cluster secret:
 * with $DAADKVS_SECRET_FILE set, every connection of call, nest, bomb,
 * frames, pipeline, peer, record and flip authenticates (an insider's
 * attacks); without it they go plain (a stranger's). hog and flood never
 * authenticate. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/xalloc.h"
#include "../../common/buf.h"
#include "../../common/err.h"
#include "../../common/ids.h"
#include "../../common/net.h"
#include "../../common/wire.h"
#include "aconn.h"
#include "histscan.h"
#include "procinfo.h"
#include "xrpc.h"

#define EXIT_FAULT 1
#define EXIT_USAGE 2
#define EXIT_TIMEOUT 3
/* frames: how long no byte may leave before the daemon counts as not
 * reading (it applies back-pressure, which is a fine defence). */
#define STALL_US 1000000

/* $DAADKVS_SECRET_FILE's key, or NULL: connections go plain. */
static auth_key *the_key;

static int usage(const char *what)
{
    fprintf(stderr, "attack: %s (see the comment at the top of tests/hostile/attack.c)\n", what);
    return EXIT_USAGE;
}

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    dkv_err err;
    if (ids_parse_u64(s, max, out, &err) < 0) {
        fprintf(stderr, "attack: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
    uint64_t v;
    if (parse_uint(s, 65535, &v) < 0 || v == 0)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

/* Common options: -t MS, -H MS, -w PID, -c MS, -r. Returns optind. */
typedef struct opts {
    int64_t timeout_ms, hold_ms, close_wait_ms;
    pid_t watch;
    bool retry;
} opts;

static int parse_opts(int argc, char **argv, opts *o)
{
    optind = 1;
    for (int c; (c = getopt(argc, argv, "+t:H:w:c:r")) != -1;) {
        uint64_t v;
        if (c == 'r') {
            o->retry = true;
            continue;
        }
        if (c == '?' || parse_uint(optarg, 1u << 30, &v) < 0)
            return -1;
        if (c == 't')
            o->timeout_ms = (int64_t)v;
        else if (c == 'H')
            o->hold_ms = (int64_t)v;
        else if (c == 'c')
            o->close_wait_ms = (int64_t)v;
        else if (c == 'w')
            o->watch = (pid_t)v;
    }
    return optind;
}

static void sleep_ms(int64_t ms)
{
    if (ms > 0)
        poll(NULL, 0, (int)ms);
}

/* Keeps the process (and its connections) alive for hold_ms. */
static void hold(int64_t hold_ms)
{
    int64_t until = net_now_us() + hold_ms * 1000;
    for (int64_t left; (left = until - net_now_us()) > 0;)
        sleep_ms((left + 999) / 1000);
}

static int send_call(aconn *c, const buf *body, int64_t deadline, dkv_err *err)
{
    buf frame;
    buf_init(&frame);
    wire_encode(&frame, WIRE_CALL, NULL, 0, body->data, body->len);
    int rc = aconn_send(c, frame.data, frame.len, deadline, err);
    buf_free(&frame);
    return rc;
}

/* ---- call ---- */

/* Whether a failure with this message could go away on a retry: a refused
 * or dropped connection may, a refused proof or a timeout does not. */
static bool is_transient(const char *msg)
{
    return !strstr(msg, "timed out") && !strstr(msg, "secret") && !strstr(msg, "authentic");
}

/* One attempt; 0 with the reply printed, or -1 with err (and *transient
 * when a retry could help). With record_to, the connection's bytes as
 * sent go to that file. */
static int call_once(const char *host, uint16_t port, const buf *body, int64_t deadline,
                     bool *transient, int *status, const char *record_to, dkv_err *err)
{
    *transient = false;
    if (deadline <= net_now_us())
        return dkv_err_set(err, "timed out");
    aconn c;
    if (aconn_open(&c, host, port, the_key, record_to != NULL, deadline, err) < 0) {
        *transient = is_transient(err->msg);
        return -1;
    }
    wire_frame f;
    size_t used;
    int rc = -1;
    if (send_call(&c, body, deadline, err) < 0 ||
        aconn_read_frame(&c, &f, &used, deadline, err) < 0) {
        *transient = is_transient(err->msg);
    } else if (f.kind != WIRE_REPLY) {
        dkv_err_set(err, "answer is a frame of kind 0x%02x, not a reply", f.kind);
    } else {
        xrpc_reply r;
        xrpc_reply_init(&r);
        if (xrpc_read_reply(&r, (const char *)f.body, f.body_len, err) == 0) {
            printf("%s %s\n", r.fault ? "fault" : "ok", (const char *)r.text.data);
            *status = r.fault ? EXIT_FAULT : 0;
            rc = 0;
        }
        xrpc_reply_free(&r);
    }
    if (rc == 0 && record_to) {
        FILE *out = fopen(record_to, "w");
        if (!out || fwrite(buf_head(&c.sent), 1, buf_unread(&c.sent), out) != buf_unread(&c.sent) ||
            fclose(out) != 0)
            rc = dkv_err_set(err, "cannot write %s", record_to);
    }
    aconn_close(&c);
    return rc;
}

/* call, or record when record_to names the file for the connection. */
static int call_or_record(int argc, char **argv, const char *record_to)
{
    opts o = {.timeout_ms = 2000};
    int i = parse_opts(argc, argv, &o);
    uint16_t port;
    if (i < 0 || argc - i < 3 || parse_port(argv[i + 1], &port) < 0)
        return usage("call [-t MS] [-r] HOST PORT METHOD [ARG...]");
    buf body;
    buf_init(&body);
    dkv_err err;
    if (xrpc_build_call(&body, argv[i + 2], argv + i + 3, (size_t)(argc - i - 3), &err) < 0) {
        buf_free(&body);
        return usage(err.msg);
    }
    int64_t deadline = net_now_us() + o.timeout_ms * 1000;
    int status = EXIT_USAGE;
    for (;;) {
        bool transient;
        if (call_once(argv[i], port, &body, deadline, &transient, &status, record_to, &err) == 0)
            break;
        bool late = net_now_us() >= deadline || strstr(err.msg, "timed out");
        if (!o.retry || !transient || late) {
            status = late ? EXIT_TIMEOUT : EXIT_USAGE;
            printf("%s: %s\n", late ? "timeout" : "error", err.msg);
            break;
        }
        sleep_ms(20);
    }
    buf_free(&body);
    return status;
}

static int cmd_call(int argc, char **argv) { return call_or_record(argc, argv, NULL); }

static int cmd_record(int argc, char **argv)
{
    if (argc < 2)
        return usage("record FILE [-t MS] HOST PORT METHOD [ARG...]");
    const char *file = argv[1];
    argv[1] = argv[0];
    return call_or_record(argc - 1, argv + 1, file);
}

/* ---- payload attacks that wait for one answer ---- */

/* Sends body as one call and reports what came back, within timeout_ms. */
static void send_and_report(const char *host, uint16_t port, const buf *body, int64_t timeout_ms)
{
    int64_t start = net_now_us(), deadline = start + timeout_ms * 1000;
    dkv_err err;
    aconn c;
    if (aconn_open(&c, host, port, the_key, false, deadline, &err) < 0) {
        printf("connect failed: %s\n", err.msg);
        return;
    }
    if (send_call(&c, body, deadline, &err) < 0) {
        printf("send failed after %lld ms: %s\n", (long long)(net_now_us() - start) / 1000,
               err.msg);
        aconn_close(&c);
        return;
    }
    printf("sent %zu bytes\n", body->len);
    fflush(stdout);
    wire_frame f;
    size_t used;
    if (aconn_read_frame(&c, &f, &used, deadline, &err) < 0) {
        printf("no reply after %lld ms: %s\n", (long long)(net_now_us() - start) / 1000,
               err.msg);
    } else {
        xrpc_reply r;
        xrpc_reply_init(&r);
        if (xrpc_read_reply(&r, (const char *)f.body, f.body_len, &err) < 0)
            printf("unreadable reply: %s\n", err.msg);
        else
            printf("reply after %lld ms: %s %.200s\n", (long long)(net_now_us() - start) / 1000,
                   r.fault ? "fault" : "ok", (const char *)r.text.data);
        xrpc_reply_free(&r);
    }
    aconn_close(&c);
}

static void append_times(buf *b, const char *s, uint64_t times)
{
    size_t n = strlen(s);
    buf_reserve(b, n * times);
    for (uint64_t k = 0; k < times; k++)
        buf_append(b, s, n);
}

static void append_text(buf *b, const char *s) { buf_append(b, s, strlen(s)); }

static int cmd_nest(int argc, char **argv)
{
    opts o = {.timeout_ms = 3000};
    int i = parse_opts(argc, argv, &o);
    uint16_t port;
    uint64_t depth;
    if (i < 0 || argc - i != 4 || parse_port(argv[i + 1], &port) < 0 ||
        parse_uint(argv[i + 3], 10000000, &depth) < 0)
        return usage("nest [-t MS] HOST PORT elements|arrays N");
    const char *shape = argv[i + 2];
    buf body;
    buf_init(&body);
    append_text(&body, "<?xml version=\"1.0\"?><methodCall><methodName>ping</methodName>"
                       "<params><param>");
    if (strcmp(shape, "elements") == 0) {
        /* 7 bytes a level: 200,000 levels make a 1.4 MB body. */
        append_text(&body, "<value>");
        append_times(&body, "<a>", depth);
        append_times(&body, "</a>", depth);
        append_text(&body, "</value>");
    } else if (strcmp(shape, "arrays") == 0) {
        append_times(&body, "<value><array><data>", depth);
        append_times(&body, "</data></array></value>", depth);
    } else {
        buf_free(&body);
        return usage("nest: the shape is elements or arrays");
    }
    append_text(&body, "</param></params></methodCall>");
    send_and_report(argv[i], port, &body, o.timeout_ms);
    buf_free(&body);
    return 0;
}

/* The classic "billion laughs": each level is ten references to the one
 * below, so LEVELS levels expand to 3 * 10^LEVELS bytes. */
static int cmd_bomb(int argc, char **argv)
{
    opts o = {.timeout_ms = 10000};
    int i = parse_opts(argc, argv, &o);
    uint16_t port;
    uint64_t levels;
    if (i < 0 || argc - i != 3 || parse_port(argv[i + 1], &port) < 0 ||
        parse_uint(argv[i + 2], 20, &levels) < 0 || levels < 1)
        return usage("bomb [-t MS] HOST PORT LEVELS (1..20)");
    buf body;
    buf_init(&body);
    append_text(&body, "<?xml version=\"1.0\"?>\n<!DOCTYPE methodCall [\n<!ENTITY a \"lol\">\n");
    for (uint64_t l = 1; l <= levels; l++) {
        char line[128];
        char name = (char)('a' + l), below = (char)('a' + l - 1);
        int n = snprintf(line, sizeof line, "<!ENTITY %c \"", name);
        for (int k = 0; k < 10; k++)
            n += snprintf(line + n, sizeof line - (size_t)n, "&%c;", below);
        snprintf(line + n, sizeof line - (size_t)n, "\">\n");
        append_text(&body, line);
    }
    char top[128];
    snprintf(top, sizeof top,
             "]>\n<methodCall><methodName>&%c;</methodName><params></params></methodCall>\n",
             (char)('a' + levels));
    append_text(&body, top);
    send_and_report(argv[i], port, &body, o.timeout_ms);
    buf_free(&body);
    return 0;
}

/* ---- attacks that hold connections ---- */

/* A connection (authenticated with the_key) made non-blocking. */
static int open_nonblocking(aconn *c, const char *host, uint16_t port, int timeout_ms,
                            dkv_err *err)
{
    if (aconn_open(c, host, port, the_key, false, net_now_us() + timeout_ms * 1000LL, err) < 0)
        return -1;
    if (net_set_nonblock(c->fd, err) < 0) {
        aconn_close(c);
        return -1;
    }
    return 0;
}

static bool send_failed_closed(int e)
{
    return e == EPIPE || e == ECONNRESET || e == ENOTCONN;
}

static int cmd_frames(int argc, char **argv)
{
    opts o = {.timeout_ms = 15000};
    int i = parse_opts(argc, argv, &o);
    uint16_t port;
    uint64_t conns, declare, total;
    if (i < 0 || argc - i != 5 || parse_port(argv[i + 1], &port) < 0 ||
        parse_uint(argv[i + 2], 1000, &conns) < 0 || conns == 0 ||
        parse_uint(argv[i + 3], UINT32_MAX, &declare) < 0 ||
        parse_uint(argv[i + 4], 1u << 30, &total) < 0 || total < WIRE_PREFIX)
        return usage("frames [-t MS] [-w PID] [-c MS] [-H MS] HOST PORT CONNS DECLARE SEND");
    aconn *cs = xcalloc(conns, sizeof *cs);
    buf *pend = xcalloc(conns, sizeof *pend); /* wire bytes of the chunk being sent */
    uint64_t *left = xcalloc(conns, sizeof *left); /* frame bytes not yet in pend */
    bool *closed = xcalloc(conns, sizeof *closed);
    enum { CHUNK = 256 * 1024 };
    uint8_t *filler = xmalloc(CHUNK);
    struct pollfd *pfd = xcalloc(conns, sizeof *pfd);
    if (!cs || !pend || !left || !closed || !filler || !pfd)
        abort();
    memset(filler, 'x', CHUNK);
    /* The prefix opens a call frame with no header; the rest is body. */
    dkv_put_u32(filler, (uint32_t)declare);
    filler[4] = WIRE_CALL;
    dkv_put_u32(filler + 5, 0);
    memcpy(filler + WIRE_PREFIX, "<?xml version=\"1.0\"?><methodCall>", 33);
    dkv_err err;
    for (uint64_t k = 0; k < conns; k++) {
        buf_init(&pend[k]);
        left[k] = total;
        if (open_nonblocking(&cs[k], argv[i], port, 2000, &err) < 0) {
            cs[k].fd = -1;
            printf("connect %llu failed: %s\n", (unsigned long long)k, err.msg);
            closed[k] = true;
            left[k] = 0;
        }
    }
    int64_t deadline = net_now_us() + o.timeout_ms * 1000, next_sample = 0;
    /* A daemon that stops reading (back-pressure) ends the sending early. */
    int64_t last_progress = net_now_us();
    bool stalled = false;
    long peak = 0;
    uint64_t sent = 0;
    for (;;) {
        int64_t now = net_now_us();
        if (now - last_progress > STALL_US) {
            stalled = true;
            break;
        }
        if (o.watch && now >= next_sample) {
            long rss = procinfo_rss_kb(o.watch);
            peak = rss > peak ? rss : peak;
            next_sample = now + 10000;
        }
        nfds_t n = 0;
        for (uint64_t k = 0; k < conns; k++)
            if ((left[k] > 0 || buf_unread(&pend[k])) && !closed[k])
                pfd[n++] = (struct pollfd){.fd = cs[k].fd, .events = POLLOUT};
        if (n == 0 || now >= deadline)
            break;
        if (poll(pfd, n, 10) <= 0)
            continue;
        for (nfds_t p = 0; p < n; p++) {
            uint64_t k = 0;
            while (cs[k].fd != pfd[p].fd)
                k++;
            if (pfd[p].revents & (POLLERR | POLLHUP)) {
                closed[k] = true;
                continue;
            }
            if (!(pfd[p].revents & POLLOUT))
                continue;
            if (!buf_unread(&pend[k])) {
                /* The first chunk of a connection starts with the prefix. */
                size_t at = (size_t)(total - left[k]);
                size_t from = at < CHUNK ? at : WIRE_PREFIX + 33;
                size_t len = CHUNK - from < left[k] ? CHUNK - from : (size_t)left[k];
                buf_clear(&pend[k]);
                aconn_wrap(&cs[k], filler + from, len, &pend[k]);
                left[k] -= len;
            }
            ssize_t w = send(cs[k].fd, buf_head(&pend[k]), buf_unread(&pend[k]),
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                buf_consume(&pend[k], (size_t)w);
                sent += (uint64_t)w;
                last_progress = now;
            } else if (w < 0 && send_failed_closed(errno)) {
                closed[k] = true;
            }
        }
    }
    /* Those still open: does the daemon close them within close_wait_ms? */
    int64_t close_deadline = net_now_us() + o.close_wait_ms * 1000;
    for (int64_t now; (now = net_now_us()) < close_deadline;) {
        nfds_t n = 0;
        for (uint64_t k = 0; k < conns; k++)
            if (!closed[k])
                pfd[n++] = (struct pollfd){.fd = cs[k].fd, .events = POLLIN};
        if (n == 0)
            break;
        if (poll(pfd, n, (int)((close_deadline - now) / 1000) + 1) <= 0)
            continue;
        for (nfds_t p = 0; p < n; p++) {
            char junk[4096];
            uint64_t k = 0;
            while (cs[k].fd != pfd[p].fd)
                k++;
            if (pfd[p].revents && recv(cs[k].fd, junk, sizeof junk, MSG_DONTWAIT) <= 0)
                closed[k] = true;
        }
    }
    uint64_t n_closed = 0;
    for (uint64_t k = 0; k < conns; k++)
        n_closed += closed[k];
    if (o.watch) {
        long rss = procinfo_rss_kb(o.watch);
        peak = rss > peak ? rss : peak;
    }
    printf("sent %llu bytes%s, closed %llu of %llu, peak_rss_kb %ld\n",
           (unsigned long long)sent, stalled ? " (then the daemon stopped reading)" : "",
           (unsigned long long)n_closed, (unsigned long long)conns, peak);
    fflush(stdout);
    hold(o.hold_ms);
    for (uint64_t k = 0; k < conns; k++) {
        if (cs[k].fd >= 0)
            aconn_close(&cs[k]);
        buf_free(&pend[k]);
    }
    free(cs);
    free(pend);
    free(left);
    free(closed);
    free(filler);
    free(pfd);
    return 0;
}

static int cmd_pipeline(int argc, char **argv)
{
    opts o = {.timeout_ms = 5000};
    int i = parse_opts(argc, argv, &o);
    uint16_t port;
    uint64_t count;
    if (i < 0 || argc - i != 4 || parse_port(argv[i + 1], &port) < 0 ||
        parse_uint(argv[i + 3], 100000, &count) < 0)
        return usage("pipeline [-H MS] HOST PORT KEY N");
    char spec[512];
    snprintf(spec, sizeof spec, "b:%s", argv[i + 2]);
    char *specs[] = {spec};
    buf body, frames;
    buf_init(&body);
    buf_init(&frames);
    dkv_err err;
    if (xrpc_build_call(&body, "get", specs, 1, &err) < 0) {
        buf_free(&body);
        return usage(err.msg);
    }
    for (uint64_t k = 0; k < count; k++)
        wire_encode(&frames, WIRE_CALL, NULL, 0, body.data, body.len);
    int64_t deadline = net_now_us() + o.timeout_ms * 1000;
    aconn c;
    bool open = aconn_open(&c, argv[i], port, the_key, false, deadline, &err) == 0;
    if (!open || aconn_send(&c, frames.data, frames.len, deadline, &err) < 0)
        printf("not sent: %s\n", err.msg);
    else
        printf("sent %llu gets (%zu bytes), reading none\n", (unsigned long long)count,
               frames.len);
    fflush(stdout);
    buf_free(&body);
    buf_free(&frames);
    hold(o.hold_ms);
    if (open)
        aconn_close(&c);
    return 0;
}

static int cmd_hog(int argc, char **argv)
{
    opts o = {0};
    int i = parse_opts(argc, argv, &o);
    uint16_t port;
    uint64_t count;
    if (i < 0 || argc - i != 3 || parse_port(argv[i + 1], &port) < 0 ||
        parse_uint(argv[i + 2], 1000, &count) < 0)
        return usage("hog [-H MS] HOST PORT N");
    int *fds = xcalloc(count ? count : 1, sizeof *fds);
    struct pollfd *pfd = xcalloc(count ? count : 1, sizeof *pfd);
    uint64_t refused = 0, open = 0;
    dkv_err err;
    for (uint64_t k = 0; k < count; k++) {
        fds[k] = net_connect(argv[i], port, 1000, &err);
        if (fds[k] >= 0 && net_set_nonblock(fds[k], &err) < 0) {
            close(fds[k]);
            fds[k] = -1;
        }
        if (fds[k] < 0)
            refused++;
    }
    /* Connections the daemon accepts and closes show up within this. */
    int64_t settle = net_now_us() + 1000000;
    for (int64_t now; (now = net_now_us()) < settle;) {
        nfds_t n = 0;
        for (uint64_t k = 0; k < count; k++)
            if (fds[k] >= 0)
                pfd[n++] = (struct pollfd){.fd = fds[k], .events = POLLIN};
        if (n == 0)
            break;
        if (poll(pfd, n, (int)((settle - now) / 1000) + 1) <= 0)
            continue;
        for (nfds_t p = 0; p < n; p++) {
            char junk[256];
            uint64_t k = 0;
            while (fds[k] != pfd[p].fd)
                k++;
            if (pfd[p].revents && recv(fds[k], junk, sizeof junk, MSG_DONTWAIT) <= 0) {
                close(fds[k]);
                fds[k] = -1;
            }
        }
    }
    for (uint64_t k = 0; k < count; k++)
        open += fds[k] >= 0;
    printf("open %llu closed-by-daemon %llu refused %llu\n", (unsigned long long)open,
           (unsigned long long)(count - open - refused), (unsigned long long)refused);
    fflush(stdout);
    hold(o.hold_ms);
    for (uint64_t k = 0; k < count; k++)
        if (fds[k] >= 0)
            close(fds[k]);
    free(fds);
    free(pfd);
    return 0;
}

static int cmd_peer(int argc, char **argv)
{
    opts o = {.timeout_ms = 2000};
    int i = parse_opts(argc, argv, &o);
    uint16_t port;
    if (i < 0 || argc - i < 3 || parse_port(argv[i + 1], &port) < 0)
        return usage("peer [-t MS] HOST PORT h:HEADER [b:BODY]...");
    buf out;
    buf_init(&out);
    dkv_err err;
    /* Each h: starts a frame; a b: right after it gives that frame a body. */
    for (int k = i + 2; k < argc; k++) {
        if (strncmp(argv[k], "h:", 2) != 0) {
            buf_free(&out);
            return usage("peer: frames are h:HEADER, each optionally followed by b:BODY");
        }
        const char *hdr = argv[k] + 2;
        buf body;
        buf_init(&body);
        if (k + 1 < argc && strncmp(argv[k + 1], "b:", 2) == 0 &&
            xrpc_unescape(argv[++k] + 2, &body, &err) < 0) {
            buf_free(&body);
            buf_free(&out);
            return usage(err.msg);
        }
        wire_encode(&out, WIRE_PEER, hdr, strlen(hdr), body.data, body.len);
        buf_free(&body);
    }
    int64_t deadline = net_now_us() + o.timeout_ms * 1000;
    aconn c;
    bool open = aconn_open(&c, argv[i], port, the_key, false, net_now_us() + 2000000, &err) == 0;
    if (!open || aconn_send(&c, out.data, out.len, deadline, &err) < 0) {
        printf("not sent: %s\n", err.msg);
        buf_free(&out);
        if (open)
            aconn_close(&c);
        return 0;
    }
    buf_free(&out);
    printf("sent\n");
    fflush(stdout);
    for (;;) {
        wire_frame f;
        size_t used;
        if (aconn_read_frame(&c, &f, &used, deadline, &err) < 0) {
            printf("%s\n", strstr(err.msg, "timed out") ? "open" : "closed");
            break;
        }
        printf("recv %.*s\n", (int)(f.hdr_len < 300 ? f.hdr_len : 300), (const char *)f.hdr);
        fflush(stdout);
        buf_consume(&c.in, used);
    }
    aconn_close(&c);
    return 0;
}


/* ---- authentication ---- */

static int read_file(const char *path, buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char chunk[65536];
    for (size_t n; (n = fread(chunk, 1, sizeof chunk, f)) > 0;)
        buf_append(out, chunk, n);
    int rc = ferror(f) ? -1 : 0;
    fclose(f);
    return rc;
}

static int cmd_replay(int argc, char **argv)
{
    opts o = {.timeout_ms = 3000};
    int i = parse_opts(argc, argv, &o);
    uint16_t port;
    if (i < 0 || argc - i != 3 || parse_port(argv[i + 2], &port) < 0)
        return usage("replay [-t MS] FILE HOST PORT");
    buf rec, got;
    buf_init(&rec);
    buf_init(&got);
    if (read_file(argv[i], &rec) < 0 || buf_unread(&rec) == 0) {
        buf_free(&rec);
        return usage("replay: cannot read the recording");
    }
    dkv_err err;
    int64_t deadline = net_now_us() + o.timeout_ms * 1000;
    int fd = net_connect(argv[i + 1], port, 2000, &err);
    if (fd < 0) {
        printf("connect failed: %s\n", err.msg);
        buf_free(&rec);
        return EXIT_FAULT;
    }
    /* Byte for byte, as recorded; the daemon may close before the end. */
    net_write_all(fd, buf_head(&rec), buf_unread(&rec), deadline, &err);
    bool closed = false;
    while (!closed && net_now_us() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        buf_reserve(&got, 65536);
        ssize_t r = recv(fd, got.data + got.len, got.cap - got.len, MSG_DONTWAIT);
        if (r > 0)
            got.len += (size_t)r;
        else if (r == 0 || (errno != EAGAIN && errno != EINTR))
            closed = true;
    }
    close(fd);
    /* The daemon's handshake message (nonce and proof: 69 bytes), then
     * its refusal, "DKA1" 'X' and a reason. */
    const uint8_t *p = buf_head(&got);
    size_t n = buf_unread(&got), off = n >= 69 && memcmp(p, "DKA1A", 5) == 0 ? 69 : 0;
    int status = EXIT_FAULT;
    if (n - off >= 6 && memcmp(p + off, "DKA1X", 5) == 0) {
        printf("refused %u%s\n", p[off + 5], closed ? ", closed" : ", still open");
        status = 0;
    } else if (n > off) {
        printf("answered %zu bytes after the handshake\n", n - off);
    } else {
        printf("%s without a refusal\n", closed ? "closed" : "open");
    }
    buf_free(&rec);
    buf_free(&got);
    return status;
}

static int cmd_flip(int argc, char **argv)
{
    opts o = {.timeout_ms = 3000};
    int i = parse_opts(argc, argv, &o);
    uint16_t port;
    if (i < 0 || argc - i < 3 || parse_port(argv[i + 1], &port) < 0)
        return usage("flip [-t MS] HOST PORT METHOD [ARG...]");
    if (!the_key)
        return usage("flip: needs the secret ($DAADKVS_SECRET_FILE)");
    buf body, frame, rec;
    buf_init(&body);
    buf_init(&frame);
    buf_init(&rec);
    dkv_err err;
    if (xrpc_build_call(&body, argv[i + 2], argv + i + 3, (size_t)(argc - i - 3), &err) < 0) {
        buf_free(&body);
        return usage(err.msg);
    }
    wire_encode(&frame, WIRE_CALL, NULL, 0, body.data, body.len);
    int64_t deadline = net_now_us() + o.timeout_ms * 1000;
    aconn c;
    int status = EXIT_FAULT;
    if (aconn_open(&c, argv[i], port, the_key, false, deadline, &err) < 0) {
        printf("connect failed: %s\n", err.msg);
    } else {
        aconn_wrap(&c, buf_head(&frame), buf_unread(&frame), &rec);
        buf_head(&rec)[4 + WIRE_PREFIX + 20] ^= 0x01; /* inside the XML body */
        wire_frame f;
        size_t used;
        if (aconn_send_raw(&c, buf_head(&rec), buf_unread(&rec), deadline, &err) == 0 &&
            aconn_read_frame(&c, &f, &used, deadline, &err) == 0) {
            printf("answered: a frame of %zu bytes\n", used);
        } else if (strstr(err.msg, "timed out")) {
            printf("open: no answer and not closed\n");
        } else {
            printf("closed (%s)\n", err.msg);
            status = 0;
        }
        aconn_close(&c);
    }
    buf_free(&body);
    buf_free(&frame);
    buf_free(&rec);
    return status;
}

static int cmd_flood(int argc, char **argv)
{
    opts o = {0};
    int i = parse_opts(argc, argv, &o);
    uint16_t port;
    uint64_t count;
    if (i < 0 || argc - i != 3 || parse_port(argv[i + 1], &port) < 0 ||
        parse_uint(argv[i + 2], 5000, &count) < 0 || count == 0)
        return usage("flood [-H MS] HOST PORT N");
    int *fds = xmalloc(count * sizeof *fds);
    struct pollfd *pfd = xcalloc(count, sizeof *pfd);
    dkv_err err;
    uint64_t opened = 0, failed = 0, reopened = 0;
    for (uint64_t k = 0; k < count; k++) {
        fds[k] = net_connect_start(argv[i], port, &err);
        opened += fds[k] >= 0;
        failed += fds[k] < 0;
    }
    printf("flooding: %llu connections (%llu failed)\n", (unsigned long long)opened,
           (unsigned long long)failed);
    fflush(stdout);
    int64_t until = net_now_us() + o.hold_ms * 1000, next_refill = 0;
    uint64_t told = 0;
    for (int64_t now; (now = net_now_us()) < until;) {
        if (now >= next_refill) {
            for (uint64_t k = 0; k < count; k++)
                if (fds[k] < 0 && (fds[k] = net_connect_start(argv[i], port, &err)) >= 0)
                    reopened++;
            next_refill = now + 100000;
            if (reopened != told) /* progress, for the driver to wait on */
                printf("reopened %llu closed by the daemon\n", (unsigned long long)(told = reopened));
        }
        nfds_t n = 0;
        for (uint64_t k = 0; k < count; k++)
            if (fds[k] >= 0)
                pfd[n++] = (struct pollfd){.fd = fds[k], .events = POLLIN};
        if (poll(pfd, n, 20) <= 0)
            continue;
        for (nfds_t p = 0; p < n; p++) {
            if (!pfd[p].revents)
                continue;
            char junk[256];
            ssize_t r = recv(pfd[p].fd, junk, sizeof junk, MSG_DONTWAIT);
            if (r > 0 || (r < 0 && errno == EAGAIN))
                continue;
            for (uint64_t k = 0; k < count; k++)
                if (fds[k] == pfd[p].fd) {
                    close(fds[k]);
                    fds[k] = -1;
                }
        }
    }
    printf("reopened %llu closed by the daemon\n", (unsigned long long)reopened);
    for (uint64_t k = 0; k < count; k++)
        if (fds[k] >= 0)
            close(fds[k]);
    free(fds);
    free(pfd);
    return 0;
}

/* ---- observation ---- */

static int cmd_listen(int argc, char **argv)
{
    uint16_t port;
    uint64_t ms;
    if (argc != 3 || parse_port(argv[1], &port) < 0 || parse_uint(argv[2], 600000, &ms) < 0)
        return usage("listen PORT MS");
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
        printf("cannot listen on port %u: %s\n", port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return EXIT_USAGE;
    }
    printf("listening\n");
    fflush(stdout);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int64_t deadline = net_now_us() + (int64_t)ms * 1000;
    int status = 0;
    for (int64_t now; status == 0 && (now = net_now_us()) < deadline;)
        if (poll(&p, 1, (int)((deadline - now) / 1000) + 1) > 0) {
            int c = accept(fd, NULL, NULL);
            printf("connection arrived after %lld ms\n",
                   (long long)(ms - (deadline - net_now_us()) / 1000));
            if (c >= 0)
                close(c);
            status = EXIT_FAULT;
        }
    if (status == 0)
        printf("no connection in %llu ms\n", (unsigned long long)ms);
    close(fd);
    return status;
}

static int pid_arg(const char *s, pid_t *pid)
{
    uint64_t v;
    if (parse_uint(s, 1u << 30, &v) < 0 || v == 0)
        return -1;
    *pid = (pid_t)v;
    return 0;
}

static int cmd_port(int argc, char **argv)
{
    pid_t pid;
    if (argc != 2 || pid_arg(argv[1], &pid) < 0)
        return usage("port PID");
    int port = procinfo_listen_port(pid);
    if (port < 0)
        return EXIT_FAULT;
    printf("%d\n", port);
    return 0;
}

static int cmd_rss(int argc, char **argv)
{
    pid_t pid;
    if (argc != 2 || pid_arg(argv[1], &pid) < 0)
        return usage("rss PID");
    long kb = procinfo_rss_kb(pid);
    if (kb < 0)
        return EXIT_FAULT;
    printf("%ld\n", kb);
    return 0;
}

static int cmd_cpu(int argc, char **argv)
{
    pid_t pid;
    uint64_t ms;
    if (argc != 3 || pid_arg(argv[1], &pid) < 0 || parse_uint(argv[2], 60000, &ms) < 0 || !ms)
        return usage("cpu PID MS");
    int64_t c0 = procinfo_cpu_us(pid), t0 = net_now_us();
    sleep_ms((int64_t)ms);
    int64_t c1 = procinfo_cpu_us(pid), t1 = net_now_us();
    if (c0 < 0 || c1 < 0 || !procinfo_alive(pid)) {
        printf("gone\n");
        return EXIT_FAULT;
    }
    printf("%lld\n", (long long)((c1 - c0) * 100 / (t1 - t0)));
    return 0;
}

static int cmd_settle(int argc, char **argv)
{
    pid_t pid;
    uint64_t max_kb, quiet_ms, deadline_ms;
    if (argc != 5 || pid_arg(argv[1], &pid) < 0 || parse_uint(argv[2], 1u << 30, &max_kb) < 0 ||
        parse_uint(argv[3], 60000, &quiet_ms) < 0 || parse_uint(argv[4], 600000, &deadline_ms) < 0)
        return usage("settle PID MAX_KB QUIET_MS DEADLINE_MS");
    enum { STEP_MS = 20 };
    size_t cap = deadline_ms / STEP_MS + 2;
    int64_t *at = xcalloc(cap, sizeof *at), *cpu = xcalloc(cap, sizeof *cpu);
    long peak = 0;
    int status = EXIT_TIMEOUT;
    const char *what = "still busy at the deadline";
    for (size_t n = 0; n < cap; n++) {
        at[n] = net_now_us();
        cpu[n] = procinfo_cpu_us(pid);
        long rss = procinfo_rss_kb(pid);
        peak = rss > peak ? rss : peak;
        if (cpu[n] < 0 || rss < 0 || !procinfo_alive(pid)) {
            status = EXIT_FAULT, what = "process gone";
            break;
        }
        if ((uint64_t)rss > max_kb) {
            status = EXIT_FAULT, what = "over the RSS bound";
            break;
        }
        /* The sample QUIET_MS ago, if there is one. */
        size_t k = n;
        while (k > 0 && at[n] - at[k] < (int64_t)quiet_ms * 1000)
            k--;
        if (at[n] - at[k] >= (int64_t)quiet_ms * 1000 &&
            (cpu[n] - cpu[k]) * 10 < at[n] - at[k]) {
            status = 0, what = "settled";
            break;
        }
        sleep_ms(STEP_MS);
    }
    printf("%s, peak_rss_kb %ld\n", what, peak);
    free(at);
    free(cpu);
    return status;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"call", cmd_call},       {"nest", cmd_nest},     {"bomb", cmd_bomb},
                {"frames", cmd_frames},   {"pipeline", cmd_pipeline}, {"hog", cmd_hog},
                {"peer", cmd_peer},       {"listen", cmd_listen}, {"port", cmd_port},
                {"rss", cmd_rss},         {"cpu", cmd_cpu},       {"settle", cmd_settle},
                {"record", cmd_record},   {"replay", cmd_replay}, {"flip", cmd_flip},
                {"flood", cmd_flood}};
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *secret = getenv("DAADKVS_SECRET_FILE");
    dkv_err err;
    if (secret && *secret && !(the_key = auth_key_load(secret, &err))) {
        fprintf(stderr, "attack: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if (argc < 2)
        return usage("no subcommand");
    if (strcmp(argv[1], "history") == 0)
        return argc == 3 ? histscan_run(argv[2], stdout) : usage("history FILE");
    for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++)
        if (strcmp(argv[1], cmds[k].name) == 0) {
            int status = cmds[k].fn(argc - 1, argv + 1);
            auth_key_free(the_key);
            return status;
        }
    auth_key_free(the_key);
    return usage("unknown subcommand");
}
