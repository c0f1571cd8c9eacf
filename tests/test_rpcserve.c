/* rpcserve: a daemon's handling of one XML-RPC call body (rpc_serve_frame
 * with a method checked by the contract, proto.h), SPEC 3 and 7: a bad
 * request gets an error reply, and no input may crash a daemon. Each call
 * runs in a child process so that a crash fails the test instead of ending
 * the run. Then the RPC client over authenticated connections: a daemon
 * of another secret, a refusal, a forged or replayed reply, and frames
 * that are not replies (a watchdog's events). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/xalloc.h"
#include "../common/auth.h"
#include "../common/loop.h"
#include "../common/net.h"
#include "../common/proto.h"
#include "tests.h"

/* put(id) -> id: a method outside the contract, described as the
 * contract's are. */
static const proto_field id_field[] = {
    {"id", PROTO_U64, offsetof(proto_id, id), 0, (int64_t)DKV_ID_MAX, false, NULL}};
static const proto_method echo_id = {
    "put", PROTO_OTHER, {.size = sizeof(proto_id), .fields = id_field, .n_fields = 1},
    {.size = sizeof(proto_id), .fields = id_field, .n_fields = 1}, RPC_SHAPE_VALUE};

static int m_put(void *ctx, const void *args, void *reply, void **owned, dkv_err *err)
{
    *(proto_id *)reply = *(const proto_id *)args;
    return 0;
}

/* The outcome of serving one call. */
typedef struct served {
    int ok;          /* the child returned from rpc_serve_frame and exited 0 */
    int how;         /* waitpid status, for messages */
    char reply[4096]; /* the reply frame, NUL-terminated (truncated) */
} served;

static void serve(const char *body, served *r)
{
    memset(r, 0, sizeof *r);
    int fds[2];
    if (pipe(fds) < 0)
        abort();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        close(fds[0]);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2); /* a crash report is expected noise */
        alarm(10);
        static const proto_binding methods[] = {{&echo_id, m_put}};
        rpc_server *srv = proto_server_new(PROTO_OTHER, methods, 1);
        wire_frame f = {.kind = WIRE_CALL,
                        .body = (const uint8_t *)body,
                        .body_len = strlen(body)};
        buf out;
        buf_init(&out);
        rpc_serve_frame(srv, &f, NULL, &out);
        size_t n = buf_unread(&out);
        const uint8_t *p = buf_head(&out);
        while (n > 0) {
            ssize_t w = write(fds[1], p, n);
            if (w <= 0)
                _exit(3);
            p += w;
            n -= (size_t)w;
        }
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fds[0], r->reply + got, sizeof r->reply - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == sizeof r->reply - 1)
            break;
    }
    close(fds[0]);
    /* The frame starts with a binary prefix: make it printable for strstr. */
    for (size_t i = 0; i < got; i++)
        if (r->reply[i] == '\0')
            r->reply[i] = ' ';
    r->reply[got] = '\0';
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        ;
    r->how = st;
    r->ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && got > 0;
}

static const char *call_with(const char *value, char *text, size_t cap)
{
    snprintf(text, cap,
             "<?xml version=\"1.0\"?><methodCall><methodName>put</methodName><params>"
             "<param><value>%s</value></param></params></methodCall>",
             value);
    return text;
}

static void test_valid_call(void)
{
    char body[512];
    served r;
    serve(call_with("<i8>5</i8>", body, sizeof body), &r);
    CU_ASSERT_TRUE(r.ok);
    CU_ASSERT_PTR_NULL(strstr(r.reply, "fault"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.reply, ">5<"));
    serve(call_with("<i4>999</i4>", body, sizeof body), &r);
    CU_ASSERT_TRUE(r.ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.reply, ">999<"));
}

/* Requests that are well-formed XML-RPC but bad arguments, or bad XML-RPC
 * that xmlrpc-c reports properly: a fault reply, no crash. */
static void test_bad_requests_fault(void)
{
    static const char *bad[] = {
        "<i8>1000000000000</i8>", /* above DKV_ID_MAX */
        "<i8>-1</i8>",
        "<string>5</string>",
        "<i4>x</i4>",
        "<int>99999999999</int>",
        "<i8></i8>",
        "<base64>AAAA</base64>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[512];
        served r;
        serve(call_with(bad[i], body, sizeof body), &r);
        CU_ASSERT_TRUE(r.ok);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.reply, "fault"));
        if (!r.ok || !strstr(r.reply, "fault"))
            fprintf(stderr, "\n  %s: status 0x%x, reply '%.200s'\n", bad[i], r.how, r.reply);
    }
    served r;
    serve("not xml at all", &r);
    CU_ASSERT_TRUE(r.ok);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.reply, "fault"));
}

/* xmlrpc-c 1.33 (Debian 12's libxmlrpc3) dereferences a bad pointer while
 * formatting the fault for an <i8> (or <ex:i8>) element whose content is
 * not a valid 64-bit decimal: rpc_serve_frame, hence any server or
 * watchdog, dies of SIGSEGV on such a request, before the contract sees it. */
static void test_bad_i8_does_not_crash(void)
{
    static const char *bad[] = {
        "<i8>x</i8>", "<i8>1x</i8>", "<i8>-</i8>", "<i8>99999999999999999999</i8>",
        "<ex:i8>x</ex:i8>",
        /* Text the parser joins across markup: "1x". */
        "<i8>1<!-- -->x</i8>", "<i8>1<![CDATA[x]]></i8>", "<i8>1<![CDATA[]]>0000000000000000000</i8>",
        "<ex:i8>1<!---->x</ex:i8>",
    };
    int crashed = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[512];
        served r;
        serve(call_with(bad[i], body, sizeof body), &r);
        if (!r.ok || !strstr(r.reply, "fault")) {
            crashed++;
            fprintf(stderr, "\n  %s: %s %d", bad[i],
                    WIFSIGNALED(r.how) ? "killed by signal" : "exit status",
                    WIFSIGNALED(r.how) ? WTERMSIG(r.how) : WEXITSTATUS(r.how));
        }
    }
    if (crashed)
        fprintf(stderr, "\n");
    CU_ASSERT_EQUAL(crashed, 0);
}

/* n copies of open, middle, n copies of close, inside a put call. */
static char *deep_call(const char *open, size_t n, const char *middle, const char *close)
{
    size_t len = 256 + n * (strlen(open) + strlen(close)) + strlen(middle);
    char *s = xmalloc(len), *q = s;
    q = stpcpy(q, "<?xml version=\"1.0\"?><methodCall><methodName>put</methodName><params>"
                  "<param><value>");
    for (size_t i = 0; i < n; i++)
        q = stpcpy(q, open);
    q = stpcpy(q, middle);
    for (size_t i = 0; i < n; i++)
        q = stpcpy(q, close);
    stpcpy(q, "</value></param></params></methodCall>");
    return s;
}

/* Issue 11: 200,000 nested elements or 60,000 nested arrays crashed every
 * daemon (xmlrpc-c frees its tree recursively), and nine levels of
 * entities stalled one for seconds (the child's alarm is 10 s). Each gets
 * a fault that says why, at once. */
static void test_hostile_bodies_fault(void)
{
    char *bodies[] = {
        deep_call("<a>", 200000, "", "</a>"),
        deep_call("<array><data><value>", 60000, "<i4>1</i4>", "</value></data></array>"),
        xstrdup("<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY a \"aaaaaaaaaa\">"
               "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;"
               "&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;"
               "&d;&d;&d;&d;&d;&d;&d;&d;\"><!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">"
               "<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\"><!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;"
               "&g;&g;&g;\"><!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">]><methodCall>"
               "<methodName>put</methodName><params><param><value><string>&i;</string>"
               "</value></param></params></methodCall>"),
        xstrdup("<?xml version=\"1.0\"?><methodCall><methodName>put</methodName><params>"
               "<param><value><string>&undefined;</string></value></param></params>"
               "</methodCall>"),
    };
    static const char *why[] = {"nested deeper than 32 levels", "nested deeper than 32 levels",
                                "DOCTYPE", "undefined entity"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        served r;
        serve(bodies[i], &r);
        CU_ASSERT_TRUE(r.ok);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.reply, "malformed XML-RPC request"));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.reply, why[i]));
        if (!r.ok || !strstr(r.reply, why[i]))
            fprintf(stderr, "\n  body %zu: status 0x%x, reply '%.300s'\n", i, r.how, r.reply);
        free(bodies[i]);
    }
}


/* ---- the client over authenticated connections ---- */

static int m_echo(const void *info, void *ci, const rpcflat_msg *args, buf *out,
                  rpc_fault *fault)
{
    rpcflat_encode_response(out, rpcflat_at(args, 0), rpcflat_count(args) ? 1 : 0);
    return 0;
}

/* The kind of the frames a daemon pushes unasked: WIRE_EVENT (a
 * watchdog's events), or WIRE_PEER, a kind no client expects. Set before
 * the child is forked. */
static enum wire_kind pushed_kind = WIRE_EVENT;

static void put_event(buf *out, const char *text)
{
    wire_encode(out, pushed_kind, NULL, 0, text, strlen(text));
}

static rpc_server *echo_server;

/* A daemon's connection that also pushes events: one before each reply,
 * one after. */
static void events_frame(loop_conn *c, const wire_frame *f)
{
    put_event(loop_conn_out(c), "before");
    rpc_serve_frame(echo_server, f, NULL, loop_conn_out(c));
    put_event(loop_conn_out(c), "after");
}

static void events_close(loop_conn *c, const char *why) {}
static const loop_handlers events_handlers = {events_frame, events_close, NULL};

static void events_accept(loop *l, int fd, void *user)
{
    loop_add(l, fd, false, &events_handlers, NULL);
}

/* The child: an authenticating loop serving echo (with events when asked)
 * until killed. */
static pid_t serve_loop(const auth_key *k, bool events, uint16_t *port)
{
    int lfd = tests_listen(port);
    pid_t pid = tests_fork();
    if (pid == 0) {
        alarm(20);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2); /* its log lines about refused callers are expected */
        static const rpc_method methods[] = {{"echo", m_echo, NULL}};
        echo_server = rpc_server_new(methods, 1);
        loop *l = loop_new();
        loop_set_auth(l, k);
        if (events)
            loop_listen(l, lfd, events_accept, NULL);
        else
            rpc_listen(l, lfd, echo_server, NULL);
        for (;;)
            loop_run_once(l, 100);
    }
    close(lfd);
    return pid;
}

static void end_child(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

static int echo(rpc_client *c, int64_t v, dkv_err *err)
{
    const rpcflat_msg *reply;
    rpcflat_val arg = rpcflat_int(v);
    if (rpc_call_flat(c, "echo", &arg, 1, NULL, &reply, err) < 0)
        return -1;
    const rpcflat_val *got = rpcflat_count(reply) == 1 ? rpcflat_at(reply, 0) : NULL;
    return got && got->type == RPCFLAT_INT && got->i == v ? 0 : dkv_err_set(err, "wrong echo");
}

static void test_client_secret(void)
{
    auth_key *k = auth_key_from_bytes("the daemon's cluster secret", 27);
    auth_key *other = auth_key_from_bytes("another cluster's secret", 24);
    uint16_t port;
    pid_t pid = serve_loop(k, false, &port);
    dkv_err err;
    rpc_client *c = rpc_client_new("127.0.0.1", port, 5000, k);
    CU_ASSERT_EQUAL(echo(c, 41, &err), 0);
    CU_ASSERT_EQUAL(echo(c, 42, &err), 0);
    rpc_client_free(c);
    /* Another secret: the daemon's proof fails with ours. */
    c = rpc_client_new("127.0.0.1", port, 5000, other);
    CU_ASSERT_EQUAL(echo(c, 1, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "echo to 127.0.0.1:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "the cluster secret does not match"));
    rpc_client_free(c);
    /* No secret at all: the daemon says what it wants. */
    c = rpc_client_new("127.0.0.1", port, 5000, NULL);
    CU_ASSERT_EQUAL(echo(c, 1, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "prove they know the cluster secret"));
    rpc_client_free(c);
    end_child(pid);
    auth_key_free(k);
    auth_key_free(other);
}

/* The events queued on c, joined with commas. */
static void drain_events(rpc_client *c, buf *seen)
{
    const uint8_t *body;
    size_t len;
    while (rpc_client_next_event(c, &body, &len)) {
        buf_append(seen, body, len);
        buf_append(seen, ",", 1);
    }
}

static void test_client_events(void)
{
    auth_key *k = auth_key_from_bytes("the daemon's cluster secret", 27);
    uint16_t port;
    /* A frame of a kind no caller expects fails the call. */
    pushed_kind = WIRE_PEER;
    pid_t pid = serve_loop(k, true, &port);
    dkv_err err;
    rpc_client *c = rpc_client_new("127.0.0.1", port, 5000, k);
    CU_ASSERT_EQUAL(echo(c, 7, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unexpected frame kind"));
    rpc_client_free(c);
    end_child(pid);
    /* Events are queued in order, around the replies, and the connection
     * stays. */
    pushed_kind = WIRE_EVENT;
    pid = serve_loop(k, true, &port);
    buf seen;
    buf_init(&seen);
    c = rpc_client_new("127.0.0.1", port, 5000, k);
    CU_ASSERT_EQUAL(echo(c, 1, &err), 0);
    CU_ASSERT_EQUAL(echo(c, 2, &err), 0);
    CU_ASSERT(rpc_client_connected(c));
    /* The last "after" arrives unasked: poll reads it. */
    int64_t deadline = net_now_us() + 5000000;
    drain_events(c, &seen);
    while (buf_unread(&seen) < strlen("before,after,before,after,") && net_now_us() < deadline) {
        CU_ASSERT_EQUAL_FATAL(rpc_client_poll(c, &err), 0);
        drain_events(c, &seen);
        poll(NULL, 0, 1);
    }
    buf_append(&seen, "", 1);
    CU_ASSERT_STRING_EQUAL((const char *)buf_head(&seen), "before,after,before,after,");
    buf_free(&seen);
    rpc_client_free(c);
    end_child(pid);
    auth_key_free(k);
}

/* What a scripted daemon does wrong. */
enum { SCRIPT_REFUSE, SCRIPT_FLIP, SCRIPT_REPLAY };

/* Reads from fd until the session yields a whole frame in plain (or the
 * handshake's answers, which are sent). false on failure. */
static bool scripted_read(int fd, auth_session *s, buf *raw, buf *plain)
{
    for (;;) {
        wire_frame f;
        size_t used;
        dkv_err err;
        if (wire_decode(buf_head(plain), buf_unread(plain), &f, &used, &err) == 1)
            return true;
        buf_reserve(raw, 65536);
        ssize_t r = recv(fd, raw->data + raw->len, raw->cap - raw->len, 0);
        if (r <= 0)
            return false;
        raw->len += (size_t)r;
        buf out;
        buf_init(&out);
        ssize_t n = auth_session_input(s, buf_head(raw), buf_unread(raw), plain, &out, &err);
        if (n < 0 || (buf_unread(&out) && write(fd, buf_head(&out), buf_unread(&out)) < 0))
            return false;
        buf_consume(raw, (size_t)n);
        buf_free(&out);
    }
}

/* A daemon, by hand, that refuses the handshake, or answers a call with a
 * record it damaged, or (on its second connection) with the record it sent
 * on the first. Serves two connections, then exits. */
static void scripted_daemon(int lfd, const auth_key *k, int mode)
{
    alarm(20);
    buf saved;
    buf_init(&saved);
    for (int conn = 0; conn < 2; conn++) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        poll(&p, 1, 10000);
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            _exit(3);
        auth_session *s = auth_session_new(k, false);
        buf raw, plain, rec;
        buf_init(&raw);
        buf_init(&plain);
        buf_init(&rec);
        if (mode == SCRIPT_REFUSE) {
            uint8_t hello[37];
            if (recv(fd, hello, sizeof hello, MSG_WAITALL) != 37 || write(fd, "DKA1X\x01", 6) != 6)
                _exit(4);
        } else if (scripted_read(fd, s, &raw, &plain)) {
            buf reply;
            buf_init(&reply);
            size_t start = wire_begin(&reply, WIRE_REPLY);
            rpcflat_val v = rpcflat_int(1);
            rpcflat_encode_response(&reply, &v, 1);
            wire_finish(&reply, start);
            auth_session_seal(s, buf_head(&reply), buf_unread(&reply), &rec);
            if (mode == SCRIPT_FLIP)
                buf_head(&rec)[10] ^= 1;
            if (conn == 0)
                buf_append(&saved, buf_head(&rec), buf_unread(&rec));
            const buf *send_this = mode == SCRIPT_REPLAY && conn == 1 ? &saved : &rec;
            if (write(fd, buf_head(send_this), buf_unread(send_this)) < 0)
                _exit(5);
            buf_free(&reply);
        }
        /* Until the client closes (a close with its bytes unread could
         * reset what it has not read yet). */
        char junk[256];
        while (recv(fd, junk, sizeof junk, 0) > 0)
            ;
        close(fd);
        auth_session_free(s);
        buf_free(&raw);
        buf_free(&plain);
        buf_free(&rec);
    }
    _exit(0);
}

static void test_client_refused_forged_replayed(void)
{
    auth_key *k = auth_key_from_bytes("the daemon's cluster secret", 27);
    static const char *const want[] = {
        "refused by the peer: the cluster secret does not match",
        "failed its authentication tag",
        "failed its authentication tag",
    };
    for (int mode = SCRIPT_REFUSE; mode <= SCRIPT_REPLAY; mode++) {
        dkv_err err;
        uint16_t port;
        int lfd = tests_listen(&port);
        pid_t pid = tests_fork();
        if (pid == 0)
            scripted_daemon(lfd, k, mode);
        close(lfd);
        rpc_client *c = rpc_client_new("127.0.0.1", port, 5000, k);
        if (mode == SCRIPT_REPLAY) {
            /* The first answer is genuine; then the client reconnects. */
            CU_ASSERT_EQUAL(echo(c, 1, &err), 0);
            rpc_client_free(c);
            c = rpc_client_new("127.0.0.1", port, 5000, k);
        }
        CU_ASSERT_EQUAL(echo(c, 1, &err), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want[mode]));
        if (!strstr(err.msg, want[mode]))
            fprintf(stderr, "\n  mode %d: %s\n", mode, err.msg);
        rpc_client_free(c); /* the connection was dropped: the daemon's read ends */
        if (mode == SCRIPT_FLIP || mode == SCRIPT_REFUSE) {
            c = rpc_client_new("127.0.0.1", port, 5000, k);
            CU_ASSERT_EQUAL(echo(c, 1, &err), -1);
            rpc_client_free(c);
        }
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    auth_key_free(k);
}

void add_rpcserve_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"a valid call gets its result", test_valid_call},
        {"bad requests get a fault reply", test_bad_requests_fault},
        {"a malformed <i8> gets a fault, not a crash (xmlrpc-c 1.33)",
         test_bad_i8_does_not_crash},
        {"deep nesting and entity bombs get a fault, not a crash or a stall",
         test_hostile_bodies_fault},
        {"the client proves the secret; another secret or none is refused", test_client_secret},
        {"the client queues events, refuses other unasked frames", test_client_events},
        {"the client fails on a refusal, a forged and a replayed reply",
         test_client_refused_forged_replayed},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("rpcserve", NULL, NULL, tests);
}
