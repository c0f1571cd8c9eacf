/* loop: the limits a daemon's event loop puts on each connection and on
 * all of them (issue 11): oversized calls answered with a fault, oversized
 * peer frames closed, incomplete frames timed out, the inbound budget,
 * reply backpressure, stalled and runaway output, allocation failure,
 * the connection cap with eviction of idle connections, and the listener's
 * rest when descriptors run out. Each test drives a loop in-process over
 * socketpairs or loopback with shrunken limits, and waits for conditions
 * with a bounded deadline. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/xalloc.h"
#include "../common/auth.h"
#include "../common/loop.h"
#include "../common/net.h"
#include "tests.h"

/* Under AddressSanitizer (make test) a failed allocation aborts unless
 * told otherwise; test_allocation_failure_closes needs malloc to return
 * NULL as it does in the daemons' release builds. Only this test binary
 * gets the option. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

/* What the handlers saw on one connection. */
typedef struct conn_log {
    int frames;        /* frames dispatched */
    int calls;         /* of which calls */
    size_t reply_size; /* each call is answered with a reply of this many bytes */
    bool closed;
    char why[160];
} conn_log;

static void on_frame(loop_conn *c, const wire_frame *f)
{
    conn_log *lg = loop_conn_user(c);
    lg->frames++;
    if (f->kind != WIRE_CALL)
        return;
    lg->calls++;
    buf *out = loop_conn_out(c);
    size_t start = wire_begin(out, WIRE_REPLY);
    for (size_t i = 0; i < lg->reply_size; i++)
        buf_append(out, "r", 1);
    wire_finish(out, start);
}

static void on_close(loop_conn *c, const char *why)
{
    conn_log *lg = loop_conn_user(c);
    lg->closed = true;
    snprintf(lg->why, sizeof lg->why, "%s", why);
}

static const loop_handlers handlers = {on_frame, on_close, NULL};

/* Limits small enough to reach in a test, timeouts long enough not to
 * fire by accident. */
static loop_limits test_limits(void)
{
    loop_limits lim;
    loop_limits_default(&lim);
    lim.max_frame = 8192;
    lim.in_free = 1024;
    lim.in_budget = 8192 + 4;
    lim.out_pause = 4096;
    lim.out_budget = 1 << 20;
    lim.max_conns = 64;
    return lim;
}

/* A loop with the test limits. */
static loop *test_loop(void)
{
    loop *l = loop_new();
    loop_limits lim = test_limits();
    loop_set_limits(l, &lim);
    return l;
}

/* A loop end (added to l) and a test end (returned, non-blocking), with
 * small socket buffers so that unread output stays in the loop. */
static int pair(loop *l, conn_log *lg, loop_conn **conn)
{
    int sv[2];
    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    loop_conn *c = loop_add(l, sv[0], false, &handlers, lg);
    if (conn)
        *conn = c;
    CU_ASSERT_FATAL(net_set_nonblock(sv[1], NULL) == 0);
    return sv[1];
}

typedef bool (*cond_fn)(void *arg);

/* Runs the loop until cond holds or ms pass; returns whether it held. */
static bool run_until(loop *l, cond_fn cond, void *arg, int ms)
{
    int64_t deadline = net_now_us() + (int64_t)ms * 1000;
    while (!cond(arg)) {
        if (net_now_us() > deadline)
            return false;
        loop_run_once(l, 10);
    }
    return true;
}

static bool is_closed(void *arg) { return ((conn_log *)arg)->closed; }

/* The loop closes the connection lg logs, saying why (a text in its
 * reason). */
static void expect_closed(loop *l, conn_log *lg, const char *why)
{
    CU_ASSERT_TRUE(run_until(l, is_closed, lg, 5000));
    CU_ASSERT_PTR_NOT_NULL(strstr(lg->why, why));
}

/* The loop closes the connection lg logs before its handler saw a frame. */
static void expect_closed_unheard(loop *l, conn_log *lg)
{
    CU_ASSERT_TRUE(run_until(l, is_closed, lg, 5000));
    CU_ASSERT_EQUAL(lg->frames, 0);
}

/* Writes all of p to the test end, running the loop while the socket is
 * full. false if that took longer than ms. */
static bool pump_write(loop *l, int fd, const void *p, size_t n, int ms)
{
    const char *q = p;
    int64_t deadline = net_now_us() + (int64_t)ms * 1000;
    while (n > 0) {
        ssize_t w = send(fd, q, n, MSG_NOSIGNAL);
        if (w > 0) {
            q += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN)
            return false;
        if (net_now_us() > deadline)
            return false;
        loop_run_once(l, 1);
    }
    return true;
}

static void frame_prefix(uint8_t *p, size_t len, char kind)
{
    dkv_put_u32(p, (uint32_t)(len + 5));
    p[4] = (uint8_t)kind;
    dkv_put_u32(p + 5, 0);
}

/* A whole frame of kind with a body of n bytes, malloc'ed. */
static uint8_t *make_frame(char kind, size_t n, size_t *total)
{
    *total = WIRE_PREFIX + n;
    uint8_t *p = xmalloc(*total);
    frame_prefix(p, n, kind);
    memset(p + WIRE_PREFIX, 'b', n);
    return p;
}

/* Sends a frame of kind with a body of n bytes from the test end. */
static void send_frame(loop *l, int fd, char kind, size_t n)
{
    size_t total;
    uint8_t *p = make_frame(kind, n, &total);
    CU_ASSERT_TRUE(pump_write(l, fd, p, total, 5000));
    free(p);
}

/* Reads whatever the loop sent to the test end into b (running the loop
 * meanwhile) until b holds a whole frame or ms pass. */
static bool read_frame(loop *l, int fd, buf *b, wire_frame *f, size_t *used, int ms)
{
    int64_t deadline = net_now_us() + (int64_t)ms * 1000;
    for (;;) {
        dkv_err err;
        if (wire_decode(buf_head(b), buf_unread(b), f, used, &err) == 1)
            return true;
        buf_reserve(b, 65536);
        ssize_t r = recv(fd, b->data + b->len, b->cap - b->len, 0);
        if (r > 0) {
            b->len += (size_t)r;
            continue;
        }
        if (r == 0 || errno != EAGAIN || net_now_us() > deadline)
            return false;
        loop_run_once(l, 1);
    }
}

/* The next frame from the loop (read into in, then consumed) is a fault
 * whose message holds text. */
static void expect_fault(loop *l, int fd, buf *in, const char *text)
{
    wire_frame f;
    size_t used;
    CU_ASSERT_TRUE_FATAL(read_frame(l, fd, in, &f, &used, 5000));
    CU_ASSERT_EQUAL(f.kind, WIRE_REPLY);
    char body[600] = {0};
    memcpy(body, f.body, f.body_len < sizeof body - 1 ? f.body_len : sizeof body - 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "<fault>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, text));
    buf_consume(in, used);
}

static void test_oversized_call_gets_fault(void)
{
    loop *l = test_loop();
    conn_log lg = {0};
    int fd = pair(l, &lg, NULL);
    /* Far over the limit: never buffered, so the budget is no concern. */
    send_frame(l, fd, 'C', 100000);
    buf in;
    buf_init(&in);
    expect_fault(l, fd, &in, "request of 100005 bytes exceeds the limit of 8192 bytes");
    wire_frame f;
    size_t used;
    CU_ASSERT_EQUAL(lg.frames, 0);
    /* The connection goes on: the next call is served. */
    send_frame(l, fd, 'C', 10);
    CU_ASSERT_TRUE(read_frame(l, fd, &in, &f, &used, 5000));
    CU_ASSERT_EQUAL(lg.calls, 1);
    CU_ASSERT_FALSE(lg.closed);
    buf_free(&in);
    close(fd);
    loop_free(l);
}

static void test_oversized_peer_frame_closes(void)
{
    loop *l = test_loop();
    conn_log lg = {0};
    int fd = pair(l, &lg, NULL);
    uint8_t prefix[WIRE_PREFIX];
    frame_prefix(prefix, 9000, 'P');
    CU_ASSERT_TRUE(pump_write(l, fd, prefix, sizeof prefix, 5000));
    expect_closed(l, &lg, "frame of 9005 bytes exceeds the limit of 8192");
    close(fd);
    loop_free(l);
}

static void test_incomplete_frame_times_out(void)
{
    loop *l = loop_new();
    loop_limits lim = test_limits();
    lim.frame_timeout_us = 100000;
    loop_set_limits(l, &lim);
    conn_log small = {0}, large = {0}, idle = {0};
    int fd_small = pair(l, &small, NULL);
    int fd_large = pair(l, &large, NULL);
    int fd_idle = pair(l, &idle, NULL);
    uint8_t p[WIRE_PREFIX + 100];
    frame_prefix(p, 200, 'C'); /* 100 of 200 bytes: a small frame */
    CU_ASSERT_TRUE(pump_write(l, fd_small, p, sizeof p, 5000));
    frame_prefix(p, 5000, 'C'); /* a large one, holding the budget */
    CU_ASSERT_TRUE(pump_write(l, fd_large, p, sizeof p, 5000));
    int64_t t0 = net_now_us();
    CU_ASSERT_TRUE(run_until(l, is_closed, &small, 5000));
    CU_ASSERT_TRUE(run_until(l, is_closed, &large, 5000));
    CU_ASSERT_TRUE(net_now_us() - t0 >= 90000);
    CU_ASSERT_PTR_NOT_NULL(strstr(small.why, "frame still incomplete after 100 ms"));
    CU_ASSERT_PTR_NOT_NULL(strstr(large.why, "incomplete"));
    /* A connection between frames is not timed out. */
    CU_ASSERT_FALSE(idle.closed);
    close(fd_small);
    close(fd_large);
    close(fd_idle);
    loop_free(l);
}

/* Two large frames, room in the budget for one: the second waits unread
 * until the first is complete, then goes through. */
static void test_inbound_budget(void)
{
    loop *l = test_loop();
    conn_log a = {0}, b = {0};
    int fd_a = pair(l, &a, NULL);
    int fd_b = pair(l, &b, NULL);
    size_t n;
    uint8_t *fa = make_frame('C', 6000, &n);
    uint8_t *fb = make_frame('C', 6000, &n);
    CU_ASSERT_TRUE(pump_write(l, fd_a, fa, n / 2, 5000));
    for (int i = 0; i < 5; i++)
        loop_run_once(l, 1);
    /* b sends all of its frame while a holds the budget. */
    size_t sent = 0;
    for (int i = 0; i < 200 && sent < n; i++) {
        ssize_t w = send(fd_b, fb + sent, n - sent, MSG_NOSIGNAL);
        if (w > 0)
            sent += (size_t)w;
        loop_run_once(l, 1);
    }
    CU_ASSERT_EQUAL(b.frames, 0);
    CU_ASSERT_FALSE(b.closed);
    /* a completes: the budget goes to b. */
    CU_ASSERT_TRUE(pump_write(l, fd_a, fa + n / 2, n - n / 2, 5000));
    CU_ASSERT_TRUE(pump_write(l, fd_b, fb + sent, n - sent, 5000));
    int64_t deadline = net_now_us() + 5000000;
    while ((a.frames < 1 || b.frames < 1) && net_now_us() < deadline)
        loop_run_once(l, 10);
    CU_ASSERT_EQUAL(a.frames, 1);
    CU_ASSERT_EQUAL(b.frames, 1);
    free(fa);
    free(fb);
    close(fd_a);
    close(fd_b);
    loop_free(l);
}

/* A caller that pipelines calls without reading replies gets one call
 * answered beyond out_pause; the rest wait, and go on once it reads. */
static void test_reply_backpressure(void)
{
    loop *l = test_loop();
    conn_log lg = {.reply_size = 100000};
    int fd = pair(l, &lg, NULL);
    size_t n;
    uint8_t *call = make_frame('C', 20, &n);
    for (int i = 0; i < 10; i++)
        CU_ASSERT_TRUE(pump_write(l, fd, call, n, 5000));
    for (int i = 0; i < 20; i++)
        loop_run_once(l, 1);
    CU_ASSERT_EQUAL(lg.calls, 1);
    CU_ASSERT_TRUE(loop_conn_count(l) == 1);
    /* Reading the replies lets every call through. */
    buf in;
    buf_init(&in);
    for (int i = 0; i < 10; i++) {
        wire_frame f;
        size_t used;
        CU_ASSERT_FATAL(read_frame(l, fd, &in, &f, &used, 5000));
        CU_ASSERT_EQUAL(f.body_len, 100000);
        buf_consume(&in, used);
    }
    CU_ASSERT_EQUAL(lg.calls, 10);
    CU_ASSERT_FALSE(lg.closed);
    buf_free(&in);
    free(call);
    close(fd);
    loop_free(l);
}

/* Over the loop's reply budget, no connection gets a call dispatched, not
 * even one without unsent output. */
static void test_reply_budget(void)
{
    loop *l = loop_new();
    loop_limits lim = test_limits();
    lim.out_budget = 150000;
    loop_set_limits(l, &lim);
    conn_log a = {.reply_size = 100000}, b = {.reply_size = 100000}, c = {.reply_size = 10};
    int fd_a = pair(l, &a, NULL), fd_b = pair(l, &b, NULL), fd_c = pair(l, &c, NULL);
    size_t n;
    uint8_t *call = make_frame('C', 20, &n);
    CU_ASSERT_TRUE(pump_write(l, fd_a, call, n, 5000));
    CU_ASSERT_TRUE(pump_write(l, fd_b, call, n, 5000));
    for (int i = 0; i < 10; i++)
        loop_run_once(l, 1);
    CU_ASSERT_EQUAL(a.calls + b.calls, 2);
    CU_ASSERT_TRUE(pump_write(l, fd_c, call, n, 5000));
    for (int i = 0; i < 10; i++)
        loop_run_once(l, 1);
    CU_ASSERT_EQUAL(c.calls, 0);
    /* a reads its reply: under budget again, c is served. */
    buf in;
    buf_init(&in);
    wire_frame f;
    size_t used;
    CU_ASSERT_TRUE(read_frame(l, fd_a, &in, &f, &used, 5000));
    int64_t deadline = net_now_us() + 5000000;
    while (c.calls == 0 && net_now_us() < deadline)
        loop_run_once(l, 10);
    CU_ASSERT_EQUAL(c.calls, 1);
    buf_free(&in);
    free(call);
    close(fd_a);
    close(fd_b);
    close(fd_c);
    loop_free(l);
}

static void test_stalled_output_closes(void)
{
    loop *l = loop_new();
    loop_limits lim = test_limits();
    lim.stall_timeout_us = 100000;
    loop_set_limits(l, &lim);
    conn_log lg = {.reply_size = 100000};
    int fd = pair(l, &lg, NULL);
    send_frame(l, fd, 'C', 20);
    expect_closed(l, &lg, "no progress");
    close(fd);
    loop_free(l);
}

/* Output queued beyond out_max (a peer that never reads, while the
 * daemon keeps queueing) closes the connection. */
static void test_runaway_output_closes(void)
{
    loop *l = loop_new();
    loop_limits lim = test_limits();
    lim.out_max = 50000;
    loop_set_limits(l, &lim);
    conn_log lg = {0};
    loop_conn *c;
    int fd = pair(l, &lg, &c);
    static uint8_t chunk[20000];
    for (int i = 0; i < 10 && !lg.closed; i++) {
        wire_encode(loop_conn_out(c), WIRE_PEER, NULL, 0, chunk, sizeof chunk);
        loop_run_once(l, 1);
    }
    CU_ASSERT_TRUE(lg.closed);
    CU_ASSERT_PTR_NOT_NULL(strstr(lg.why, "does not read"));
    close(fd);
    loop_free(l);
}

/* In a child whose address space is capped just above what it uses: a
 * frame whose buffer cannot be allocated closes its connection, and the
 * loop goes on serving another. */
static void test_allocation_failure_closes(void)
{
    pid_t pid = tests_fork();
    if (pid == 0) {
        alarm(20);
        loop *l = loop_new();
        loop_limits lim = test_limits();
        lim.max_frame = WIRE_MAX_FRAME;
        lim.in_budget = 4 * (size_t)WIRE_MAX_FRAME;
        loop_set_limits(l, &lim);
        conn_log big = {0}, small = {0};
        int fd_big = pair(l, &big, NULL), fd_small = pair(l, &small, NULL);
        /* Every allocation from here on must fit in 8 MiB more. */
        long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (!f || fscanf(f, "%ld", &pages) != 1)
            _exit(10);
        fclose(f);
        struct rlimit rl;
        getrlimit(RLIMIT_AS, &rl);
        rl.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (8u << 20);
        if (setrlimit(RLIMIT_AS, &rl) < 0)
            _exit(11);
        /* Its buffer grows as its bytes arrive. */
        static uint8_t p[WIRE_PREFIX + (1u << 20)];
        frame_prefix(p, 30u << 20, 'C');
        if (!pump_write(l, fd_big, p, sizeof p, 5000) && !big.closed)
            _exit(12);
        if (!run_until(l, is_closed, &big, 5000) || !strstr(big.why, "out of memory")) {
            fprintf(stderr, "\n  big: closed %d, '%s'\n", big.closed, big.why);
            _exit(13);
        }
        uint8_t q[WIRE_PREFIX + 10] = {0};
        frame_prefix(q, 10, 'C');
        if (!pump_write(l, fd_small, q, sizeof q, 5000))
            _exit(14);
        int64_t deadline = net_now_us() + 5000000;
        while (small.calls == 0 && net_now_us() < deadline)
            loop_run_once(l, 10);
        _exit(small.calls == 1 && !small.closed ? 0 : 15);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "\n  child status 0x%x\n", status);
}

/* The connections a listener accepted, in order. */
typedef struct accepted {
    int n;
    loop_conn *conns[8];
    conn_log logs[8];
} accepted;

static void accept_logged(loop *l, int fd, void *user)
{
    accepted *a = user;
    CU_ASSERT_FATAL(a->n < 8);
    a->conns[a->n] = loop_add(l, fd, false, &handlers, &a->logs[a->n]);
    a->n++;
}

/* Caps l at three connections, idle ones evictable after 50 ms, and has it
 * listen on a loopback port (returned), logging what it accepts in a. The
 * loop owns the listening socket. */
static uint16_t listen_capped(loop *l, accepted *a)
{
    loop_limits lim = test_limits();
    lim.max_conns = 3;
    lim.idle_evict_us = 50000;
    loop_set_limits(l, &lim);
    uint16_t port;
    loop_listen(l, tests_listen(&port), accept_logged, a);
    return port;
}

static int connect_to(uint16_t port)
{
    dkv_err err;
    int fd = net_connect("127.0.0.1", port, 2000, &err);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(net_set_nonblock(fd, NULL) == 0);
    return fd;
}

typedef struct accept_wait {
    const accepted *a;
    int n;
} accept_wait;

static bool accepted_n(void *arg)
{
    const accept_wait *w = arg;
    return w->a->n >= w->n;
}

static void run_for(loop *l, int ms)
{
    int64_t until = net_now_us() + (int64_t)ms * 1000;
    while (net_now_us() < until)
        loop_run_once(l, 5);
}

/* At the connection cap the least recently active idle connection makes
 * room for a newcomer; one marked not evictable never does. */
static void test_cap_evicts_idle(void)
{
    loop *l = loop_new();
    accepted a = {0};
    uint16_t port = listen_capped(l, &a);
    int fds[4];
    for (int i = 0; i < 3; i++) {
        fds[i] = connect_to(port);
        accept_wait w = {&a, i + 1};
        CU_ASSERT_FATAL(run_until(l, accepted_n, &w, 5000));
    }
    loop_conn_set_evictable(a.conns[0], false); /* the oldest: a peer link */
    run_for(l, 60);
    /* Connection 1 is active again: connection 2 is now the least recent. */
    uint8_t call[WIRE_PREFIX];
    frame_prefix(call, 0, 'C');
    CU_ASSERT_TRUE(pump_write(l, fds[1], call, sizeof call, 5000));
    buf in;
    buf_init(&in);
    wire_frame f;
    size_t used;
    CU_ASSERT_TRUE(read_frame(l, fds[1], &in, &f, &used, 5000));
    buf_free(&in);
    run_for(l, 60);
    fds[3] = connect_to(port);
    accept_wait w = {&a, 4};
    CU_ASSERT_TRUE(run_until(l, accepted_n, &w, 5000));
    CU_ASSERT_TRUE(a.logs[2].closed);
    CU_ASSERT_PTR_NOT_NULL(strstr(a.logs[2].why, "make room"));
    CU_ASSERT_FALSE(a.logs[0].closed);
    CU_ASSERT_FALSE(a.logs[1].closed);
    CU_ASSERT_EQUAL(loop_conn_count(l), 3);
    /* No connection left that may be closed: the newcomer is closed at
     * once. */
    loop_conn_set_evictable(a.conns[1], false);
    loop_conn_set_evictable(a.conns[3], false); /* however slow this machine is */
    int late = connect_to(port);
    int64_t deadline = net_now_us() + 5000000;
    char byte;
    ssize_t r;
    while ((r = recv(late, &byte, 1, 0)) < 0 && errno == EAGAIN && net_now_us() < deadline)
        loop_run_once(l, 5);
    CU_ASSERT_EQUAL(r, 0);
    CU_ASSERT_EQUAL(a.n, 4);
    CU_ASSERT_EQUAL(loop_conn_count(l), 3);
    close(late);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    loop_free(l);
}

/* Out of descriptors, accept fails with EMFILE and the listener stays
 * readable: the loop must rest it rather than spin. A child with a low
 * RLIMIT_NOFILE runs the loop; the parent connects. */
static void test_emfile_does_not_spin(void)
{
    uint16_t port;
    int lfd = tests_listen(&port);
    int report[2];
    CU_ASSERT_FATAL(pipe(report) == 0);
    int clients[20];
    for (int i = 0; i < 20; i++)
        clients[i] = connect_to(port); /* complete in the backlog */
    pid_t pid = tests_fork();
    if (pid == 0) {
        alarm(20);
        for (int i = 0; i < 20; i++)
            close(clients[i]);
        close(report[0]);
        loop *l = loop_new();
        loop_limits lim = test_limits();
        lim.max_conns = 1000;
        lim.idle_evict_us = 60 * 1000000LL;
        loop_set_limits(l, &lim);
        accepted a = {0};
        loop_listen(l, lfd, accept_logged, &a);
        /* Room for at most three more descriptors. */
        int highest = dup(0);
        close(highest);
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = (rlim_t)highest + 3;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            _exit(11);
        int iterations = 0;
        int64_t until = net_now_us() + 500000;
        while (net_now_us() < until) {
            loop_run_once(l, 1000);
            iterations++;
        }
        char line[64];
        int n = snprintf(line, sizeof line, "%d %d\n", a.n, iterations);
        if (write(report[1], line, (size_t)n) != n)
            _exit(12);
        _exit(0);
    }
    close(report[1]);
    char line[64] = {0};
    ssize_t r = read(report[0], line, sizeof line - 1);
    int status = 0;
    waitpid(pid, &status, 0);
    close(report[0]);
    close(lfd);
    for (int i = 0; i < 20; i++)
        close(clients[i]);
    int got = -1, iterations = -1;
    CU_ASSERT_TRUE(r > 0 && sscanf(line, "%d %d", &got, &iterations) == 2);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* A few accepted, then rests of 100 ms: a handful of wakeups in
     * 500 ms where a spinning loop makes hundreds of thousands. */
    CU_ASSERT_TRUE(got >= 1 && got <= 3);
    CU_ASSERT_TRUE(iterations > 0 && iterations < 100);
    if (got < 1 || got > 3 || iterations >= 100)
        fprintf(stderr, "\n  accepted %d, %d iterations in 500 ms\n", got, iterations);
}


/* ---- authentication (loop_set_auth) ---- */

/* The test's end of an authenticated connection, driven by hand. */
typedef struct peer_end {
    auth_session *s;
    int fd;
    buf raw;   /* received, not yet taken by the session */
    buf plain; /* payloads received */
    buf sent;  /* every byte sent, for replays */
    bool failed, closed;
    dkv_err err;
} peer_end;

static void pe_init(peer_end *p, int fd, const auth_key *k)
{
    memset(p, 0, sizeof *p);
    p->fd = fd;
    p->s = auth_session_new(k, true);
    buf_init(&p->raw);
    buf_init(&p->plain);
    buf_init(&p->sent);
}

static void pe_free(peer_end *p)
{
    auth_session_free(p->s);
    buf_free(&p->raw);
    buf_free(&p->plain);
    buf_free(&p->sent);
    close(p->fd);
}

/* Sends b's bytes (and keeps a copy in p->sent), running the loop. */
static bool pe_send_raw(loop *l, peer_end *p, const void *data, size_t n)
{
    buf_append(&p->sent, data, n);
    return pump_write(l, p->fd, data, n, 5000);
}

/* Reads what the loop sent and feeds the session (answers go out at once)
 * until cond(p) holds or ms pass, running the loop meanwhile. */
static bool pe_pump(loop *l, peer_end *p, bool (*cond)(const peer_end *), int ms)
{
    int64_t deadline = net_now_us() + (int64_t)ms * 1000;
    while (!cond(p)) {
        if (net_now_us() > deadline)
            return false;
        loop_run_once(l, 1);
        buf_reserve(&p->raw, 65536);
        ssize_t r = recv(p->fd, p->raw.data + p->raw.len, p->raw.cap - p->raw.len, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
            p->closed = true;
            continue;
        }
        if (r < 0 || p->failed)
            continue;
        p->raw.len += (size_t)r;
        buf answers;
        buf_init(&answers);
        ssize_t used = auth_session_input(p->s, buf_head(&p->raw), buf_unread(&p->raw), &p->plain,
                                          &answers, &p->err);
        if (used < 0)
            p->failed = true;
        else
            buf_consume(&p->raw, (size_t)used);
        if (buf_unread(&answers))
            pe_send_raw(l, p, buf_head(&answers), buf_unread(&answers));
        buf_free(&answers);
    }
    return true;
}

static bool pe_ready(const peer_end *p) { return auth_session_ready(p->s) || p->failed || p->closed; }
static bool pe_has_frame(const peer_end *p)
{
    wire_frame f;
    size_t used;
    dkv_err err;
    return p->failed || p->closed ||
           wire_decode(buf_head(&p->plain), buf_unread(&p->plain), &f, &used, &err) == 1;
}

/* Starts the handshake and completes it (or fails). */
static bool pe_handshake(loop *l, peer_end *p)
{
    buf b;
    buf_init(&b);
    auth_session_start(p->s, &b);
    bool ok = pe_send_raw(l, p, buf_head(&b), buf_unread(&b));
    buf_free(&b);
    return ok && pe_pump(l, p, pe_ready, 5000) && auth_session_ready(p->s);
}

/* A test end on a new connection of l (logged in lg) that authenticates
 * with k; whether the handshake completed. */
static bool pe_connect(loop *l, conn_log *lg, peer_end *p, const auth_key *k)
{
    pe_init(p, pair(l, lg, NULL), k);
    return pe_handshake(l, p);
}

/* Seals a call frame of n body bytes (a flipped byte at flip, unless
 * SIZE_MAX) and sends it. */
static bool pe_call(loop *l, peer_end *p, size_t n, size_t flip)
{
    size_t total;
    uint8_t *frame = make_frame('C', n, &total);
    buf rec;
    buf_init(&rec);
    auth_session_seal(p->s, frame, total, &rec);
    if (flip != SIZE_MAX)
        buf_head(&rec)[flip] ^= 0x20;
    bool ok = pe_send_raw(l, p, buf_head(&rec), buf_unread(&rec));
    buf_free(&rec);
    free(frame);
    return ok;
}

static loop *auth_loop(const auth_key *k)
{
    loop *l = test_loop();
    loop_set_auth(l, k);
    loop_set_name(l, "test loop");
    return l;
}

/* Calls reach the handler only after the handshake, and their replies come
 * back sealed; a large record (over in_free) goes through too. */
static void test_auth_handshake_then_calls(void)
{
    auth_key *k = auth_key_from_bytes("secret of the test cluster", 26);
    loop *l = auth_loop(k);
    conn_log lg = {.reply_size = 3000};
    loop_conn *c;
    peer_end p;
    pe_init(&p, pair(l, &lg, &c), k);
    CU_ASSERT_FALSE(loop_conn_authenticated(c));
    CU_ASSERT_TRUE_FATAL(pe_handshake(l, &p));
    CU_ASSERT_TRUE(pe_call(l, &p, 10, SIZE_MAX));
    CU_ASSERT_TRUE(pe_pump(l, &p, pe_has_frame, 5000));
    CU_ASSERT_TRUE(loop_conn_authenticated(c));
    wire_frame f;
    size_t used;
    dkv_err err;
    CU_ASSERT_EQUAL_FATAL(wire_decode(buf_head(&p.plain), buf_unread(&p.plain), &f, &used, &err), 1);
    CU_ASSERT_EQUAL(f.kind, WIRE_REPLY);
    CU_ASSERT_EQUAL(f.body_len, 3000);
    buf_consume(&p.plain, used);
    CU_ASSERT_TRUE(pe_call(l, &p, 6000, SIZE_MAX)); /* one record of 6029 bytes */
    CU_ASSERT_TRUE(pe_pump(l, &p, pe_has_frame, 5000));
    CU_ASSERT_EQUAL(lg.calls, 2);
    CU_ASSERT_FALSE(lg.closed);
    pe_free(&p);
    loop_free(l);
    auth_key_free(k);
}

/* A call in plain framing gets a fault naming what is missing, and the
 * connection closes; the handler never sees it. */
static void test_auth_plain_call_refused(void)
{
    auth_key *k = auth_key_from_bytes("secret of the test cluster", 26);
    loop *l = auth_loop(k);
    conn_log lg = {0};
    int fd = pair(l, &lg, NULL);
    send_frame(l, fd, 'C', 10);
    buf in;
    buf_init(&in);
    expect_fault(l, fd, &in, "prove they know the cluster secret");
    expect_closed_unheard(l, &lg);
    buf_free(&in);
    close(fd);
    loop_free(l);
    auth_key_free(k);
}

/* Another secret: the caller finds the loop's proof wrong and says so; the
 * loop closes. A caller whose own proof is wrong gets the loop's refusal.
 * Neither reaches the handler. */
static void test_auth_wrong_secret_refused(void)
{
    auth_key *k = auth_key_from_bytes("secret of the test cluster", 26);
    auth_key *other = auth_key_from_bytes("secret of another cluster", 25);
    loop *l = auth_loop(k);
    conn_log lg = {0};
    peer_end p;
    CU_ASSERT_FALSE(pe_connect(l, &lg, &p, other));
    CU_ASSERT_TRUE(p.failed);
    CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "the cluster secret does not match"));
    expect_closed(l, &lg, "refused by the peer: the cluster secret does not match");
    CU_ASSERT_EQUAL(lg.frames, 0);
    pe_free(&p);

    /* Right key, fake last message: the loop's refusal arrives. */
    conn_log lg2 = {0};
    int fd = pair(l, &lg2, NULL);
    auth_session *s = auth_session_new(k, true);
    buf b;
    buf_init(&b);
    auth_session_start(s, &b);
    CU_ASSERT_TRUE(pump_write(l, fd, buf_head(&b), buf_unread(&b), 5000));
    uint8_t fake[37] = "DKA1F";
    CU_ASSERT_TRUE(pump_write(l, fd, fake, sizeof fake, 5000));
    buf_clear(&b);
    int64_t deadline = net_now_us() + 5000000;
    for (ssize_t r = 1; r != 0 && net_now_us() < deadline;) {
        loop_run_once(l, 1);
        buf_reserve(&b, 4096);
        r = recv(fd, b.data + b.len, b.cap - b.len, 0);
        if (r > 0)
            b.len += (size_t)r;
        else if (r < 0 && errno != EAGAIN)
            break;
    }
    /* The acceptor's message (69 bytes), then "DKA1" 'X' and reason 1. */
    CU_ASSERT_EQUAL(buf_unread(&b), 69 + 6);
    if (buf_unread(&b) == 75)
        CU_ASSERT(memcmp(buf_head(&b) + 69, "DKA1X\x01", 6) == 0);
    expect_closed_unheard(l, &lg2);
    buf_free(&b);
    auth_session_free(s);
    close(fd);
    loop_free(l);
    auth_key_free(k);
    auth_key_free(other);
}

/* A connection recorded byte for byte (handshake and a call) and replayed
 * on a new connection is refused: the loop's fresh nonce makes the old
 * proof wrong. The call runs once. */
static void test_auth_replay_refused(void)
{
    auth_key *k = auth_key_from_bytes("secret of the test cluster", 26);
    loop *l = auth_loop(k);
    conn_log lg = {0};
    peer_end p;
    CU_ASSERT_TRUE_FATAL(pe_connect(l, &lg, &p, k));
    CU_ASSERT_TRUE(pe_call(l, &p, 10, SIZE_MAX));
    CU_ASSERT_TRUE(pe_pump(l, &p, pe_has_frame, 5000));
    CU_ASSERT_EQUAL(lg.calls, 1);
    conn_log lg2 = {0};
    int fd = pair(l, &lg2, NULL);
    CU_ASSERT_TRUE(pump_write(l, fd, buf_head(&p.sent), buf_unread(&p.sent), 5000));
    expect_closed(l, &lg2, "the cluster secret does not match");
    CU_ASSERT_EQUAL(lg2.calls, 0);
    CU_ASSERT_EQUAL(lg.calls, 1);
    /* Replayed on the same connection, the record fails its counter. */
    CU_ASSERT_TRUE(pump_write(l, p.fd, buf_head(&p.sent) + 37 + 37,
                              buf_unread(&p.sent) - 37 - 37, 5000));
    expect_closed(l, &lg, "authentication tag");
    CU_ASSERT_EQUAL(lg.calls, 1);
    close(fd);
    pe_free(&p);
    loop_free(l);
    auth_key_free(k);
}

/* A record with one byte flipped closes the connection; its call does not
 * run. */
static void test_auth_flipped_record_closes(void)
{
    auth_key *k = auth_key_from_bytes("secret of the test cluster", 26);
    loop *l = auth_loop(k);
    /* Record: length (4 bytes), a 19-byte frame, the tag (16). A changed
     * length would make the record wait for bytes that never come. */
    static const size_t flips[] = {4, 12, 22, 30, 38};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        size_t flip = flips[i];
        conn_log lg = {0};
        peer_end p;
        CU_ASSERT_TRUE_FATAL(pe_connect(l, &lg, &p, k));
        CU_ASSERT_TRUE(pe_call(l, &p, 10, flip));
        expect_closed_unheard(l, &lg);
        pe_free(&p);
    }
    loop_free(l);
    auth_key_free(k);
}

/* A connection that does not authenticate in time is closed. */
static void test_auth_handshake_timeout(void)
{
    auth_key *k = auth_key_from_bytes("secret of the test cluster", 26);
    loop *l = auth_loop(k);
    loop_limits lim = test_limits();
    lim.handshake_timeout_us = 100000;
    loop_set_limits(l, &lim);
    conn_log silent = {0}, slow = {0};
    int fd1 = pair(l, &silent, NULL), fd2 = pair(l, &slow, NULL);
    CU_ASSERT_TRUE(pump_write(l, fd2, "DKA1I", 5, 5000)); /* and no more */
    int64_t t0 = net_now_us();
    CU_ASSERT_TRUE(run_until(l, is_closed, &silent, 5000));
    CU_ASSERT_TRUE(run_until(l, is_closed, &slow, 5000));
    CU_ASSERT_TRUE(net_now_us() - t0 >= 90000);
    CU_ASSERT_PTR_NOT_NULL(strstr(silent.why, "no proof of the cluster secret"));
    close(fd1);
    close(fd2);
    loop_free(l);
    auth_key_free(k);
}

/* At the cap, connections that have not authenticated go first, busy or
 * not and however recent, before an authenticated one that is idle. */
static void test_auth_strangers_evicted_first(void)
{
    auth_key *k = auth_key_from_bytes("secret of the test cluster", 26);
    loop *l = auth_loop(k);
    accepted a = {0};
    uint16_t port = listen_capped(l, &a);
    peer_end member;
    pe_init(&member, connect_to(port), k);
    accept_wait w = {&a, 1};
    CU_ASSERT_FATAL(run_until(l, accepted_n, &w, 5000));
    CU_ASSERT_TRUE_FATAL(pe_handshake(l, &member));
    run_for(l, 60); /* the member is idle now */
    int strangers[3];
    for (int i = 0; i < 2; i++) {
        strangers[i] = connect_to(port);
        w.n = i + 2;
        CU_ASSERT_FATAL(run_until(l, accepted_n, &w, 5000));
        CU_ASSERT_TRUE(pump_write(l, strangers[i], "DKA1", 4, 5000)); /* busy */
    }
    strangers[2] = connect_to(port);
    w.n = 4;
    CU_ASSERT_TRUE(run_until(l, accepted_n, &w, 5000));
    CU_ASSERT_TRUE(a.logs[1].closed); /* the oldest stranger */
    CU_ASSERT_PTR_NOT_NULL(strstr(a.logs[1].why, "before it authenticated"));
    CU_ASSERT_FALSE(a.logs[0].closed);
    CU_ASSERT_FALSE(a.logs[2].closed);
    CU_ASSERT_EQUAL(loop_conn_count(l), 3);
    for (int i = 0; i < 3; i++)
        close(strangers[i]);
    pe_free(&member);
    loop_free(l);
    auth_key_free(k);
}

/* What a dialled connection saw. */
typedef struct dial_log {
    conn_log lg;
    int connected;
} dial_log;

static void on_dial_connected(loop_conn *c)
{
    dial_log *d = loop_conn_user(c);
    d->connected++;
    /* A call as the first thing: it must go sealed after the handshake. */
    size_t start = wire_begin(loop_conn_out(c), WIRE_CALL);
    buf_append(loop_conn_out(c), "hi", 2);
    wire_finish(loop_conn_out(c), start);
}

static const loop_handlers dial_handlers = {on_frame, on_close, on_dial_connected};

static bool dial_answered(void *arg)
{
    const dial_log *d = arg;
    return d->lg.frames > 0 || d->lg.closed;
}

/* Two loops: one dials the other. on_connected comes once both proved the
 * key, and frames flow; with different keys neither side sees a frame and
 * on_connected never comes. */
static void test_auth_dialled(void)
{
    auth_key *k = auth_key_from_bytes("secret of the test cluster", 26);
    auth_key *other = auth_key_from_bytes("secret of another cluster", 25);
    for (int same = 1; same >= 0; same--) {
        loop *server = auth_loop(k), *dialer = auth_loop(same ? k : other);
        uint16_t port;
        dkv_err err;
        int lfd = tests_listen(&port);
        accepted a = {0};
        loop_listen(server, lfd, accept_logged, &a);
        int fd = net_connect_start("127.0.0.1", port, &err);
        CU_ASSERT_FATAL(fd >= 0);
        dial_log d = {0};
        loop_add(dialer, fd, true, &dial_handlers, &d);
        int64_t deadline = net_now_us() + 5000000;
        while (!dial_answered(&d) && net_now_us() < deadline) {
            loop_run_once(server, 1);
            loop_run_once(dialer, 1);
        }
        if (same) {
            CU_ASSERT_EQUAL(d.connected, 1);
            CU_ASSERT_EQUAL(a.logs[0].calls, 1);
            CU_ASSERT_EQUAL(d.lg.frames, 1); /* the reply */
        } else {
            CU_ASSERT_EQUAL(d.connected, 0);
            CU_ASSERT_TRUE(d.lg.closed);
            CU_ASSERT_PTR_NOT_NULL(strstr(d.lg.why, "the cluster secret does not match"));
            while (a.n > 0 && !a.logs[0].closed && net_now_us() < deadline)
                loop_run_once(server, 1);
            CU_ASSERT_EQUAL(a.logs[0].frames, 0);
        }
        loop_free(dialer);
        loop_free(server);
    }
    auth_key_free(k);
    auth_key_free(other);
}

void add_loop_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"an oversized call is dropped unbuffered and gets a fault", test_oversized_call_gets_fault},
        {"an oversized peer frame closes the connection", test_oversized_peer_frame_closes},
        {"a frame still incomplete after the timeout closes", test_incomplete_frame_times_out},
        {"a large frame waits for inbound budget", test_inbound_budget},
        {"pipelined calls wait while replies are unread", test_reply_backpressure},
        {"no call is dispatched over the reply budget", test_reply_budget},
        {"output without progress closes after the stall timeout", test_stalled_output_closes},
        {"output beyond out_max closes", test_runaway_output_closes},
        {"a failed allocation closes the connection, not the daemon",
         test_allocation_failure_closes},
        {"at the cap the least recently active idle connection goes", test_cap_evicts_idle},
        {"out of descriptors the listener rests instead of spinning", test_emfile_does_not_spin},
        {"auth: calls flow only after the handshake, sealed both ways",
         test_auth_handshake_then_calls},
        {"auth: a plain call gets a fault and the connection closes", test_auth_plain_call_refused},
        {"auth: another secret is refused, with a refusal message", test_auth_wrong_secret_refused},
        {"auth: a recorded connection replayed is refused", test_auth_replay_refused},
        {"auth: a record with a flipped byte closes the connection",
         test_auth_flipped_record_closes},
        {"auth: no proof within the handshake timeout closes", test_auth_handshake_timeout},
        {"auth: strangers are evicted first at the cap", test_auth_strangers_evicted_first},
        {"auth: dialled connections prove the key before on_connected", test_auth_dialled},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("loop", NULL, NULL, tests);
}
