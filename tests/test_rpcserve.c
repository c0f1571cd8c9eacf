/* rpcserve: a daemon's handling of one XML-RPC call body (rpc_serve_frame
 * with a method checked by the contract, proto.h), SPEC 3 and 7: a bad
 * request gets an error reply, and no input may crash a daemon. Each call
 * runs in a child process so that a crash fails the test instead of ending
 * the run. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
    char *s = malloc(len), *q = s;
    if (!s)
        abort();
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
        strdup("<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY a \"aaaaaaaaaa\">"
               "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;"
               "&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;"
               "&d;&d;&d;&d;&d;&d;&d;&d;\"><!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">"
               "<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\"><!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;"
               "&g;&g;&g;\"><!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">]><methodCall>"
               "<methodName>put</methodName><params><param><value><string>&i;</string>"
               "</value></param></params></methodCall>"),
        strdup("<?xml version=\"1.0\"?><methodCall><methodName>put</methodName><params>"
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

void add_rpcserve_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"a valid call gets its result", test_valid_call},
        {"bad requests get a fault reply", test_bad_requests_fault},
        {"a malformed <i8> gets a fault, not a crash (xmlrpc-c 1.33)",
         test_bad_i8_does_not_crash},
        {"deep nesting and entity bombs get a fault, not a crash or a stall",
         test_hostile_bodies_fault},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("rpcserve", NULL, NULL, tests);
}
