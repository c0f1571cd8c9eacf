/* bench-floor: the 2-hop round-trip floor a `put` cannot beat.
 *
 * A `put` crosses master -> client -> server and back, strictly in sequence.
 * This program measures the same shape with nothing else in it: A (this
 * process) calls B, whose handler calls C and then returns. B and C are
 * forked children, each single-threaded, listening on a free loopback port
 * (port 0) that they report through a pipe. Two transports:
 *
 *   xmlrpc  XML-RPC encoded and decoded by xmlrpc-c (its registry on the
 *           serving side, common/loop.h for the connections), in the
 *           product's wire frames over one persistent TCP connection per
 *           pair. The payload travels as one base64 parameter.
 *   flat    the same framing and XML-RPC, encoded and decoded by the
 *           product's own codec (common/rpcflat.h, rpc_call_flat and
 *           rpc_serve_frame) instead of xmlrpc-c: what a put actually pays
 *           per hop.
 *   tcp     raw TCP, TCP_NODELAY, a 4-byte big-endian length prefix and the
 *           payload, sent with one write; the reply is 8 bytes.
 *
 * With --secret-file FILE, xmlrpc and flat connections authenticate as the
 * daemons' do (common/auth.h: a handshake per connection, a record per
 * message); the lines then say auth=1.
 *
 * For each transport and payload size: a warm-up, then sequential calls.
 * One line per measurement on stdout:
 *
 *   floor transport=xmlrpc size=10 calls=2000 median_us=98.1 p99_us=140.2
 *         median_rate_per_s=10194 calls_per_s=9870            (on one line)
 *
 * (default sizes 10, 100 and 10240 bytes: the values of the workloads).
 * median_rate_per_s is 1 s / median_us: the floor rate, robust against
 * other load on the machine; calls_per_s is calls divided by the elapsed
 * time of the measured calls, tail included.
 * Exit status 0 on success, 1 when a call failed, 2 on a usage error. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <xmlrpc-c/server.h>

#include "../common/daemon.h"
#include "../common/ids.h"
#include "../common/loop.h"
#include "../common/net.h"
#include "../common/rpc.h"
#include "../common/xalloc.h"

#define MAX_PAYLOAD (16u << 20)
#define READY_TIMEOUT_MS 5000
#define CALL_TIMEOUT_MS 10000

/* ---- children ---------------------------------------------------------- */

/* Dies with the bench process, whatever happens to it. */
static void child_setup(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    signal(SIGPIPE, SIG_IGN);
}

typedef struct xr_node {
    xmlrpc_registry *registry; /* xmlrpc */
    rpc_server *rpc;           /* flat */
    rpc_client *next;          /* B: the connection to C; C: NULL */
} xr_node;

static xr_node the_node;
/* --secret-file: the xmlrpc and flat connections authenticate. */
static auth_key *the_key;

/* Handler of both B and C: takes the payload out (a copy, like the product's
 * argument checks); B passes it on to C. Returns the payload's length. */
static xmlrpc_value *m_put(xmlrpc_env *env, xmlrpc_value *p, void *si, void *ci)
{
    (void)si;
    xr_node *n = ci;
    const unsigned char *data = NULL;
    size_t len = 0;
    xmlrpc_decompose_value(env, p, "(6)", &data, &len);
    if (env->fault_occurred)
        return NULL;
    if (n->next) {
        dkv_err err;
        xmlrpc_value *r = rpc_callf(n->next, &err, "put", "(6)", data, len);
        if (!r) {
            free((void *)data);
            xmlrpc_env_set_fault(env, 1, err.msg);
            return NULL;
        }
        xmlrpc_DECREF(r);
    }
    free((void *)data);
    return xmlrpc_i8_new(env, (xmlrpc_int64)len);
}

/* The flat transport's handler: the same work through rpcflat. */
static int m_put_flat(const void *info, void *ci, const rpcflat_msg *args, buf *out,
                      rpc_fault *fault)
{
    xr_node *n = ci;
    const rpcflat_val *data = rpcflat_count(args) == 1 ? rpcflat_at(args, 0) : NULL;
    if (!data || data->type != RPCFLAT_BYTES) {
        fault->code = RPCFLAT_FAULT_BAD_REQUEST;
        return dkv_err_set(&fault->err, "put takes one base64 argument");
    }
    const rpcflat_msg *reply;
    if (n->next && rpc_call_flat(n->next, "put", data, 1, NULL, &reply, &fault->err) < 0)
        return -1;
    rpcflat_val len = rpcflat_int((int64_t)data->n);
    rpcflat_encode_response(out, &len, 1);
    return 0;
}

/* xmlrpc-c's registry serves the body, as an xmlrpc-c server would. */
static void xr_serve_frame(const wire_frame *f, buf *out)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_mem_block *reply = NULL;
    xmlrpc_registry_process_call2(&env, the_node.registry, (const char *)f->body, f->body_len,
                                  &the_node, &reply);
    if (!env.fault_occurred && reply) {
        wire_encode(out, WIRE_REPLY, NULL, 0, xmlrpc_mem_block_contents(reply),
                    xmlrpc_mem_block_size(reply));
        xmlrpc_mem_block_free(reply);
    }
    xmlrpc_env_clean(&env);
}

static void xr_on_frame(loop_conn *lc, const wire_frame *f)
{
    if (f->kind != WIRE_CALL) {
        loop_close(lc, "expected an RPC call");
        return;
    }
    if (the_node.rpc)
        rpc_serve_frame(the_node.rpc, f, &the_node, loop_conn_out(lc));
    else
        xr_serve_frame(f, loop_conn_out(lc));
}

static void xr_on_close(loop_conn *lc, const char *why)
{
    (void)lc;
    (void)why;
}

static const loop_handlers xr_handlers = {xr_on_frame, xr_on_close, NULL};

static void xr_on_accept(loop *lp, int fd, void *user)
{
    (void)user;
    loop_add(lp, fd, false, &xr_handlers, NULL);
}

static void xr_serve(int ready_fd, uint16_t next_port, bool flat)
{
    static const rpc_method flat_methods[] = {{"put", m_put_flat, NULL}};
    rpc_global_init();
    if (flat) {
        the_node.rpc = rpc_server_new(flat_methods, 1);
    } else {
        xmlrpc_env env;
        xmlrpc_env_init(&env);
        the_node.registry = xmlrpc_registry_new(&env);
        struct xmlrpc_method_info3 info = {.methodName = "put", .methodFunction = m_put};
        xmlrpc_registry_add_method3(&env, the_node.registry, &info);
        if (env.fault_occurred) {
            fprintf(stderr, "bench-floor: %s\n", env.fault_string);
            _exit(1);
        }
        xmlrpc_env_clean(&env);
    }
    the_node.next =
        next_port ? rpc_client_new("127.0.0.1", next_port, CALL_TIMEOUT_MS, the_key) : NULL;
    dkv_err err;
    uint16_t port;
    int lfd = net_listen("127.0.0.1", 0, &port, &err);
    if (lfd < 0) {
        fprintf(stderr, "bench-floor: %s\n", err.msg);
        _exit(1);
    }
    loop *lp = loop_new();
    if (the_key)
        loop_set_auth(lp, the_key);
    loop_listen(lp, lfd, xr_on_accept, NULL);
    daemon_report_ready(ready_fd, port);
    for (;;)
        loop_run_once(lp, 1000);
}

static void xr_child(int ready_fd, uint16_t next_port) { xr_serve(ready_fd, next_port, false); }
static void flat_child(int ready_fd, uint16_t next_port) { xr_serve(ready_fd, next_port, true); }

static int read_full(int fd, void *p, size_t n)
{
    uint8_t *c = p;
    while (n > 0) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *p, size_t n)
{
    const uint8_t *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one length-prefixed message into *msg (4-byte prefix included). */
static int tcp_read_msg(int fd, buf *msg)
{
    uint8_t pre[4];
    if (read_full(fd, pre, 4) < 0)
        return -1;
    uint32_t len = dkv_get_u32(pre);
    if (len > MAX_PAYLOAD)
        return -1;
    buf_clear(msg);
    buf_reserve(msg, 4 + len);
    memcpy(msg->data, pre, 4);
    if (read_full(fd, msg->data + 4, len) < 0)
        return -1;
    msg->len = 4 + len;
    return 0;
}

static int blocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

static void tcp_child(int ready_fd, uint16_t next_port)
{
    dkv_err err;
    uint16_t port;
    int lfd = net_listen("127.0.0.1", 0, &port, &err);
    if (lfd < 0) {
        fprintf(stderr, "bench-floor: %s\n", err.msg);
        _exit(1);
    }
    blocking(lfd);
    int next = -1;
    if (next_port) {
        next = net_connect("127.0.0.1", next_port, READY_TIMEOUT_MS, &err);
        if (next < 0) {
            fprintf(stderr, "bench-floor: %s\n", err.msg);
            _exit(1);
        }
    }
    daemon_report_ready(ready_fd, port);
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        _exit(1);
    blocking(fd);
    if (net_set_nodelay(fd, NULL) < 0)
        _exit(1);
    buf msg, reply;
    buf_init(&msg);
    buf_init(&reply);
    for (;;) {
        if (tcp_read_msg(fd, &msg) < 0)
            _exit(0); /* the caller hung up */
        if (next >= 0) {
            if (write_full(next, msg.data, msg.len) < 0 || tcp_read_msg(next, &reply) < 0)
                _exit(1);
            if (write_full(fd, reply.data, reply.len) < 0)
                _exit(0);
        } else {
            uint8_t r[12];
            dkv_put_u32(r, 8);
            dkv_put_u64(r + 4, msg.len - 4);
            if (write_full(fd, r, sizeof r) < 0)
                _exit(0);
        }
    }
}

/* Forks one node; returns its pid and sets *port. */
static pid_t spawn(void (*body)(int, uint16_t), uint16_t next_port, uint16_t *port)
{
    int fds[2];
    if (pipe(fds) < 0) {
        perror("bench-floor: pipe");
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench-floor: fork");
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        child_setup(parent);
        body(fds[1], next_port);
        _exit(0);
    }
    close(fds[1]);
    dkv_err err;
    if (daemon_await_ready(fds[0], READY_TIMEOUT_MS, port, &err) < 0) {
        fprintf(stderr, "bench-floor: child %d: %s\n", (int)pid, err.msg);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

static void reap(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
}

/* ---- the caller --------------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const int64_t *sorted, size_t n, double p)
{
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)sorted[rank - 1];
}

/* One call of either transport; 0 on success. */
typedef struct caller {
    rpc_client *rpc; /* xmlrpc, flat */
    int fd;          /* tcp */
    buf msg, reply;
    const uint8_t *payload;
    size_t size;
} caller;

static int call_xmlrpc(caller *c)
{
    dkv_err err;
    xmlrpc_value *r = rpc_callf(c->rpc, &err, "put", "(6)", c->payload, c->size);
    if (!r) {
        fprintf(stderr, "bench-floor: xmlrpc call: %s\n", err.msg);
        return -1;
    }
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_int64 got = -1;
    xmlrpc_read_i8(&env, r, &got);
    xmlrpc_DECREF(r);
    int bad = env.fault_occurred || got != (xmlrpc_int64)c->size;
    xmlrpc_env_clean(&env);
    if (bad) {
        fprintf(stderr, "bench-floor: xmlrpc call: unexpected result\n");
        return -1;
    }
    return 0;
}

static int call_flat(caller *c)
{
    dkv_err err;
    rpcflat_val arg = rpcflat_bytes(c->payload, c->size);
    const rpcflat_msg *r;
    if (rpc_call_flat(c->rpc, "put", &arg, 1, NULL, &r, &err) < 0) {
        fprintf(stderr, "bench-floor: flat call: %s\n", err.msg);
        return -1;
    }
    if (rpcflat_count(r) != 1 || rpcflat_at(r, 0)->type != RPCFLAT_INT ||
        rpcflat_at(r, 0)->i != (int64_t)c->size) {
        fprintf(stderr, "bench-floor: flat call: unexpected result\n");
        return -1;
    }
    return 0;
}

static int call_tcp(caller *c)
{
    if (write_full(c->fd, c->msg.data, c->msg.len) < 0 || tcp_read_msg(c->fd, &c->reply) < 0 ||
        c->reply.len != 12 || dkv_get_u64(c->reply.data + 4) != c->size) {
        fprintf(stderr, "bench-floor: tcp call failed\n");
        return -1;
    }
    return 0;
}

static int measure(const char *transport, size_t size, size_t warmup, size_t calls)
{
    int is_flat = strcmp(transport, "flat") == 0;
    int is_xml = is_flat || strcmp(transport, "xmlrpc") == 0;
    void (*body)(int, uint16_t) = is_flat ? flat_child : is_xml ? xr_child : tcp_child;
    int rc = 1;
    uint16_t cport = 0, bport = 0;
    pid_t cpid = spawn(body, 0, &cport);
    pid_t bpid = cpid > 0 ? spawn(body, cport, &bport) : -1;
    caller c;
    memset(&c, 0, sizeof c);
    c.fd = -1;
    buf_init(&c.msg);
    buf_init(&c.reply);
    uint8_t *payload = xmalloc(size ? size : 1);
    int64_t *lat = xcalloc(calls ? calls : 1, sizeof *lat);
    if (!payload || !lat)
        abort();
    /* Varied bytes, as values are: base64 does the same work for any. */
    for (size_t i = 0; i < size; i++)
        payload[i] = (uint8_t)('a' + (i * 7 + i / 26) % 26);
    c.payload = payload;
    c.size = size;
    if (bpid <= 0)
        goto out;
    if (is_xml) {
        c.rpc = rpc_client_new("127.0.0.1", bport, CALL_TIMEOUT_MS, the_key);
    } else {
        dkv_err err;
        c.fd = net_connect("127.0.0.1", bport, READY_TIMEOUT_MS, &err);
        if (c.fd < 0) {
            fprintf(stderr, "bench-floor: %s\n", err.msg);
            goto out;
        }
        buf_append_u32(&c.msg, (uint32_t)size);
        buf_append(&c.msg, payload, size);
    }
    int (*call)(caller *) = is_flat ? call_flat : is_xml ? call_xmlrpc : call_tcp;
    for (size_t i = 0; i < warmup; i++)
        if (call(&c) < 0)
            goto out;
    int64_t t_start = now_ns();
    for (size_t i = 0; i < calls; i++) {
        int64_t t0 = now_ns();
        if (call(&c) < 0)
            goto out;
        lat[i] = now_ns() - t0;
    }
    int64_t elapsed = now_ns() - t_start;
    qsort(lat, calls, sizeof *lat, cmp_i64);
    double median_ns = pct(lat, calls, 50);
    printf("floor transport=%s size=%zu calls=%zu median_us=%.1f p99_us=%.1f "
           "median_rate_per_s=%.0f calls_per_s=%.0f auth=%d\n",
           transport, size, calls, median_ns / 1e3, pct(lat, calls, 99) / 1e3,
           median_ns > 0 ? 1e9 / median_ns : 0.0,
           elapsed > 0 ? (double)calls * 1e9 / (double)elapsed : 0.0, is_xml && the_key);
    fflush(stdout);
    rc = 0;
out:
    rpc_client_free(c.rpc);
    if (c.fd >= 0)
        close(c.fd);
    buf_free(&c.msg);
    buf_free(&c.reply);
    free(payload);
    free(lat);
    reap(bpid);
    reap(cpid);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench-floor [--calls N] [--warmup N] [--size BYTES]... "
               "[--transport xmlrpc|flat|tcp]...\n"
               "                   [--secret-file FILE]\n"
               "  defaults: --calls 2000 --warmup 200, sizes 10, 100 and 10240, all transports\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"calls", required_argument, 0, 'c'},
                                         {"warmup", required_argument, 0, 'w'},
                                         {"size", required_argument, 0, 's'},
                                         {"transport", required_argument, 0, 't'},
                                         {"secret-file", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    size_t calls = 2000, warmup = 200, sizes[16], n_sizes = 0;
    const char *transports[3];
    size_t n_tr = 0;
    dkv_err err;
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        uint64_t v;
        switch (o) {
        case 'c':
        case 'w':
        case 's':
            if (ids_parse_u64(optarg, o == 's' ? MAX_PAYLOAD : 10000000, &v, &err) < 0 ||
                (o == 'c' && v == 0)) {
                fprintf(stderr, "bench-floor: bad number '%s'\n", optarg);
                return 2;
            }
            if (o == 'c')
                calls = v;
            else if (o == 'w')
                warmup = v;
            else if (n_sizes < sizeof sizes / sizeof sizes[0])
                sizes[n_sizes++] = v;
            break;
        case 't':
        {
            static const char *const known[] = {"xmlrpc", "flat", "tcp"};
            size_t k = 0;
            while (k < 3 && strcmp(optarg, known[k]) != 0)
                k++;
            if (k == 3) {
                fprintf(stderr, "bench-floor: unknown transport '%s'\n", optarg);
                return 2;
            }
            if (n_tr < 3)
                transports[n_tr++] = known[k];
            break;
        }
        case 'k':
            auth_key_free(the_key);
            if (!(the_key = auth_key_load(optarg, &err))) {
                fprintf(stderr, "bench-floor: %s\n", err.msg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (!n_sizes) {
        sizes[n_sizes++] = 10;
        sizes[n_sizes++] = 100;
        sizes[n_sizes++] = 10240;
    }
    if (!n_tr) {
        transports[n_tr++] = "xmlrpc";
        transports[n_tr++] = "flat";
        transports[n_tr++] = "tcp";
    }
    signal(SIGPIPE, SIG_IGN);
    rpc_global_init();
    int status = 0;
    for (size_t t = 0; t < n_tr; t++)
        for (size_t s = 0; s < n_sizes; s++)
            if (measure(transports[t], sizes[s], warmup, calls) != 0)
                status = 1;
    auth_key_free(the_key);
    return status;
}
