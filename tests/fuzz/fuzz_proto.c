/* Fuzzes what every daemon does with a call body before a method runs
 * (common/proto.h over common/rpc.h): rpc_serve_frame on the proto server
 * of a daemon of the contract, which decodes the body with rpcflat or,
 * after the screen, xmlrpc-c, and then the arguments by the method's
 * layout, refusing any value outside its limits. Oracles:
 * - what the contract accepts reaches the handler decoded and within every
 *   limit: the handler flattens the args struct again, decodes that (it
 *   must pass) and flattens the result, and the two flat forms must be
 *   equal;
 * - the reply is a well-formed response or fault: rpcflat reads it, or
 *   xmlrpc-c does without an error of its own;
 * - the body read as a watchdog's died event (the master's side), when it
 *   is one, encodes and reads back the same;
 * - nothing crashes, reads out of bounds or leaks.
 *
 * xmlrpc-c is not instrumented, so libFuzzer gets no coverage from inside
 * its parser and would almost never assemble a valid call from nothing. So
 * after a first byte that picks the daemon, the rest is either the body as
 * it is (when it starts with '<') or a description of one: a byte picks the
 * method of the contract, then each parameter is a type byte, a length byte
 * and that many bytes of content, written unescaped into its element, so
 * the content can still be anything (digits, base64, entities, '<',
 * control bytes).
 *
 * xmlrpc-c 1.33 (Debian 12) crashes on an <i8> whose content is not a
 * valid 64-bit decimal (tests/test_rpcserve.c); the screen in front of it
 * must refuse those, and this target would find one it lets through. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmlrpc-c/base.h>

#include "../../common/buf.h"
#include "../../common/proto.h"
#include "../../common/rpc.h"
#include "../../common/wire.h"
#include "../../common/xalloc.h"
#include "../flateq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_proto: %s\n", why);
    abort();
}

static void *heap(void *ctx, size_t n)
{
    void **mem = ctx;
    *mem = xcalloc(1, n);
    return *mem;
}

/* The flat form of args by m's layout, in a malloc'ed array. */
static rpcflat_val *flat_of(const proto_method *m, const void *args, size_t *n)
{
    *n = proto_count(&m->args, args);
    rpcflat_val *vals = xcalloc(*n + 1, sizeof *vals);
    proto_flatten(&m->args, args, vals);
    return vals;
}

/* The handler of every method: see the oracles above. */
static int check_args(const proto_method *m, const void *args)
{
    size_t n, n2;
    rpcflat_val *vals = flat_of(m, args, &n);
    rpcflat_msg *msg = rpcflat_msg_new();
    for (size_t i = 0; i < n; i++)
        if (rpcflat_msg_add(msg, vals[i]) < 0)
            fail("out of memory");
    void *again = xcalloc(1, m->args.size), *group = NULL;
    dkv_err err;
    if (proto_decode(&m->args, msg, true, m->name, again, heap, &group, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        fail("accepted arguments do not decode again");
    }
    rpcflat_val *vals2 = flat_of(m, again, &n2);
    if (n2 != n)
        fail("arguments decoded again: another count");
    for (size_t i = 0; i < n; i++)
        if (!flateq_val(&vals[i], &vals2[i]))
            fail("arguments decoded again: another value");
    free(vals);
    free(vals2);
    free(group);
    free(again);
    rpcflat_msg_free(msg);
    return 0;
}

#define CHECKER(name, A, R)                                                                    \
    __attribute__((unused)) static int check_##name(void *ctx, const void *args, void *reply,  \
                                                    void **owned, dkv_err *err)                \
    {                                                                                          \
        return check_args(&proto_##name, args);                                                \
    }
PROTO_METHODS(CHECKER)
#undef CHECKER

/* Every method but ping (which every server has built in). */
static const proto_binding every[] = {
#define BIND(name, A, R) {&proto_##name, check_##name},
    PROTO_METHODS(BIND)
#undef BIND
};
#define N_EVERY (sizeof every / sizeof every[0])

static const proto_daemon daemons[] = {PROTO_SERVER, PROTO_CLIENT, PROTO_WATCHDOG};
static rpc_server *servers[3];
static proto_binding bound[3][N_EVERY];

static void init(void)
{
    rpc_global_init();
    for (size_t d = 0; d < 3; d++) {
        size_t n = 0;
        for (size_t i = 0; i < N_EVERY; i++)
            if ((every[i].method->daemons & daemons[d]) && every[i].method != &proto_ping)
                bound[d][n++] = every[i];
        servers[d] = proto_server_new(daemons[d], bound[d], n);
    }
}

/* The reply frame in out is one whole frame holding a response or fault
 * that a reader takes. */
static void check_reply(const buf *out)
{
    wire_frame f;
    size_t used;
    dkv_err err;
    if (wire_decode(buf_head(out), buf_unread(out), &f, &used, &err) != 1 ||
        used != buf_unread(out) || f.kind != WIRE_REPLY)
        fail("not one reply frame");
    rpcflat_msg *m = rpcflat_msg_new();
    int rc = rpcflat_parse_response(m, (const char *)f.body, f.body_len);
    rpcflat_msg_free(m);
    if (rc == 0)
        return;
    if (!rpc_body_is_safe((const char *)f.body, f.body_len))
        fail("a reply the screen refuses");
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_value *result = NULL;
    int code = 0;
    const char *fault = NULL;
    xmlrpc_parse_response2(&env, (const char *)f.body, f.body_len, &result, &code, &fault);
    if (env.fault_occurred) {
        fprintf(stderr, "%s\n%.*s\n", env.fault_string, (int)f.body_len, f.body);
        fail("xmlrpc-c cannot read the reply");
    }
    if (result)
        xmlrpc_DECREF(result);
    free((void *)fault);
    xmlrpc_env_clean(&env);
}

/* The same body read as a watchdog's event (master side): when it is
 * one, encoding it again gives an event that reads back the same. */
static void check_event(const uint8_t *body, size_t len)
{
    proto_watchdog_died_event d, d2;
    dkv_err err;
    if (proto_decode_event(&proto_event_died, body, len, &d, &err) < 0)
        return;
    buf out;
    buf_init(&out);
    proto_encode_event(&out, &proto_event_died, &d);
    wire_frame f;
    size_t used;
    if (wire_decode(buf_head(&out), buf_unread(&out), &f, &used, &err) != 1 ||
        f.kind != WIRE_EVENT ||
        proto_decode_event(&proto_event_died, f.body, f.body_len, &d2, &err) < 0 ||
        d.kind != d2.kind || d.id != d2.id || d.pid != d2.pid || d.code != d2.code ||
        d.signal != d2.signal)
        fail("an event does not survive encoding");
    buf_free(&out);
}

/* The element around each kind of parameter: open, then close. */
static const char *const wraps[][2] = {
    {"<value><i4>", "</i4></value>"},
    {"<value><int>", "</int></value>"},
    {"<value><i8>", "</i8></value>"},
    {"<value><ex:i8>", "</ex:i8></value>"},
    {"<value><string>", "</string></value>"},
    {"<value>", "</value>"},
    {"<value><base64>", "</base64></value>"},
    {"<value><struct><member><name>port</name><value><i4>",
     "</i4></value></member></struct></value>"},
    {"<value><array><data><value><i4>", "</i4></value></data></array></value>"},
    {"<value><boolean>", "</boolean></value>"},
    {"<value><double>", "</double></value>"},
    {"<value><nil/>", "</value>"},
};
#define NWRAPS (sizeof wraps / sizeof wraps[0])

static void put_str(buf *b, const char *s) { buf_append(b, s, strlen(s)); }

/* Builds a call body from the description in data (see the top). */
static void describe(buf *b, const uint8_t *data, size_t size)
{
    put_str(b, "<?xml version=\"1.0\"?><methodCall><methodName>");
    /* One more than the methods: the watchdog's died event. */
    size_t pick = size ? data[0] % (N_EVERY + 1) : 0;
    put_str(b, pick < N_EVERY ? every[pick].method->name : proto_event_died.name);
    put_str(b, "</methodName><params>");
    size_t i = size ? 1 : 0;
    while (i + 1 < size) {
        size_t kind = data[i] % NWRAPS, len = data[i + 1];
        i += 2;
        if (len > size - i)
            len = size - i;
        put_str(b, "<param>");
        put_str(b, wraps[kind][0]);
        buf_append(b, data + i, len);
        put_str(b, wraps[kind][1]);
        put_str(b, "</param>");
        i += len;
    }
    put_str(b, "</params></methodCall>");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!servers[0])
        init();
    if (size == 0)
        return 0;
    rpc_server *s = servers[data[0] % 3];
    data++;
    size--;
    buf body, out;
    buf_init(&body);
    buf_init(&out);
    if (size && data[0] == '<')
        buf_append(&body, data, size);
    else
        describe(&body, data, size);
    /* In a block of exactly its length, so that ASan sees a read past it. */
    size_t len = buf_unread(&body);
    uint8_t *exact = xmemdup(buf_head(&body), len);
    wire_frame call = {.kind = WIRE_CALL, .body = exact, .body_len = len};
    rpc_serve_frame(s, &call, NULL, &out);
    check_reply(&out);
    check_event(exact, len);
    free(exact);
    buf_free(&body);
    buf_free(&out);
    return 0;
}
