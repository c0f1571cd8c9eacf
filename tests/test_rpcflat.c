/* rpcflat: the hand-written XML-RPC codec for flat lists of scalars, and
 * the rpc layer over it (rpc_server, rpc_serve_frame, rpc_call_flat with
 * its result shapes). rpcflat.h's contract: what it writes any
 * XML-RPC library reads; what it reads is a strict subset of XML-RPC, and
 * whatever it accepts must mean exactly what xmlrpc-c would decode. So
 * values are checked against xmlrpc-c both ways, and everything outside
 * the subset must give -1 with an empty message.
 *
 * xmlrpc-c 1.33 crashes on a malformed <i8> (see test_rpcserve.c): it only
 * sees bodies rpcflat accepted or that xmlrpc-c wrote itself. Every input
 * handed to rpcflat lives in a buffer of exactly its length, so that the
 * ASan build catches a read past the end. */
#define _GNU_SOURCE /* memmem */
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xmlrpc-c/base.h>

#include "../common/net.h"
#include "../common/rpc.h"
#include "../common/rpcflat.h"
#include "../common/wire.h"
#include "flateq.h"
#include "tests.h"
#include "../common/xalloc.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))
/* printf arguments for "%.*s": at most 400 bytes of a buf. */
#define SHOWN(b) (int)(buf_unread(b) < 400 ? buf_unread(b) : 400), (const char *)buf_head(b)

/* ---- helpers ------------------------------------------------------------ */

/* m holds exactly want[0..n); parsed bytes and strings are NUL-terminated. */
static bool msg_is(const rpcflat_msg *m, const rpcflat_val *want, size_t n)
{
    if (rpcflat_count(m) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        const rpcflat_val *v = rpcflat_at(m, i);
        if (!flateq_val(v, &want[i]))
            return false;
        if ((v->type == RPCFLAT_BYTES || v->type == RPCFLAT_STRING) && v->p[v->n] != '\0')
            return false;
    }
    return true;
}

/* A malloc'ed copy of exactly len bytes (no NUL after it). */
static char *exact(const void *p, size_t len)
{
    char *c = xmalloc(len ? len : 1);
    if (len)
        memcpy(c, p, len);
    return c;
}

static int parse_call_exact(rpcflat_msg *m, const void *xml, size_t len)
{
    char *c = exact(xml, len);
    int rc = rpcflat_parse_call(m, c, len);
    free(c);
    return rc;
}

static int parse_response_exact(rpcflat_msg *m, const void *xml, size_t len)
{
    char *c = exact(xml, len);
    int rc = rpcflat_parse_response(m, c, len);
    free(c);
    return rc;
}

/* Whether an xmlrpc-c array holds exactly want[0..n). */
static bool xarray_is(xmlrpc_value *arr, const rpcflat_val *want, size_t n)
{
    if (!arr || xmlrpc_value_type(arr) != XMLRPC_TYPE_ARRAY)
        return false;
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    bool ok = xmlrpc_array_size(&env, arr) == (int)n && !env.fault_occurred;
    for (size_t i = 0; i < n && ok; i++) {
        xmlrpc_value *item = NULL;
        xmlrpc_array_read_item(&env, arr, (unsigned)i, &item);
        ok = !env.fault_occurred && flateq_xmlrpc(item, &want[i]);
        if (item)
            xmlrpc_DECREF(item);
    }
    xmlrpc_env_clean(&env);
    return ok;
}

/* The xmlrpc-c array of vals. Integers that fit in 32 bits become <i4>
 * when small_ints is set, <i8> otherwise. Caller decrefs. */
static xmlrpc_value *xarray_of(const rpcflat_val *vals, size_t n, bool small_ints)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_value *arr = xmlrpc_array_new(&env);
    for (size_t i = 0; i < n && !env.fault_occurred; i++) {
        const rpcflat_val *v = &vals[i];
        xmlrpc_value *x;
        switch (v->type) {
        case RPCFLAT_INT:
            x = small_ints && v->i >= INT32_MIN && v->i <= INT32_MAX
                    ? xmlrpc_int_new(&env, (int)v->i)
                    : xmlrpc_i8_new(&env, v->i);
            break;
        case RPCFLAT_BOOL: x = xmlrpc_bool_new(&env, v->i != 0); break;
        case RPCFLAT_BYTES: x = xmlrpc_base64_new(&env, v->n, v->p); break;
        default: x = xmlrpc_string_new_lp(&env, v->n, (const char *)v->p); break;
        }
        if (x) {
            xmlrpc_array_append_item(&env, arr, x);
            xmlrpc_DECREF(x);
        }
    }
    if (env.fault_occurred)
        abort();
    xmlrpc_env_clean(&env);
    return arr;
}

/* xmlrpc-c's serialization of a call or a response (an array), in a buf. */
static void xserialize(buf *out, const char *method, const rpcflat_val *vals, size_t n,
                       bool small_ints, xmlrpc_dialect dialect)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_value *arr = xarray_of(vals, n, small_ints);
    xmlrpc_mem_block *mb = xmlrpc_mem_block_new(&env, 0);
    if (method)
        xmlrpc_serialize_call2(&env, mb, method, arr, dialect);
    else
        xmlrpc_serialize_response2(&env, mb, arr, dialect);
    if (env.fault_occurred)
        abort();
    buf_clear(out);
    buf_append(out, xmlrpc_mem_block_contents(mb), xmlrpc_mem_block_size(mb));
    xmlrpc_mem_block_free(mb);
    xmlrpc_DECREF(arr);
    xmlrpc_env_clean(&env);
}

/* Whether xmlrpc-c parses xml as a call of method with exactly vals. */
static bool xmlrpc_call_is(const char *xml, size_t len, const char *method,
                           const rpcflat_val *vals, size_t n)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    const char *name = NULL;
    xmlrpc_value *params = NULL;
    xmlrpc_parse_call(&env, xml, len, &name, &params);
    bool ok = !env.fault_occurred && name && strcmp(name, method) == 0 &&
              xarray_is(params, vals, n);
    if (env.fault_occurred)
        fprintf(stderr, "\n  xmlrpc_parse_call: %s\n", env.fault_string);
    if (params)
        xmlrpc_DECREF(params);
    free((void *)name);
    xmlrpc_env_clean(&env);
    return ok;
}

/* Whether xmlrpc-c parses xml as a response holding an array of vals. */
static bool xmlrpc_response_is(const char *xml, size_t len, const rpcflat_val *vals, size_t n)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_value *result = NULL;
    int code = 0;
    const char *fault = NULL;
    xmlrpc_parse_response2(&env, xml, len, &result, &code, &fault);
    bool ok = !env.fault_occurred && !fault && xarray_is(result, vals, n);
    if (env.fault_occurred)
        fprintf(stderr, "\n  xmlrpc_parse_response2: %s\n", env.fault_string);
    if (result)
        xmlrpc_DECREF(result);
    free((void *)fault);
    xmlrpc_env_clean(&env);
    return ok;
}

/* xmlrpc-c's reading of a fault response: 0 with *code and *msg
 * (malloc'ed), -1 when it is not a fault. */
static int xmlrpc_fault_of(const char *xml, size_t len, int *code, char **msg)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_value *result = NULL;
    const char *fault = NULL;
    *code = 0;
    *msg = NULL;
    xmlrpc_parse_response2(&env, xml, len, &result, code, &fault);
    int rc = !env.fault_occurred && fault ? 0 : -1;
    if (result)
        xmlrpc_DECREF(result);
    *msg = (char *)fault;
    xmlrpc_env_clean(&env);
    return rc;
}

/* 100 KiB of every byte value, and the 256 byte values in order. */
static uint8_t big[100 << 10];
static uint8_t all_bytes[256];

static int suite_init(void)
{
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + (i >> 8));
    for (size_t i = 0; i < 256; i++)
        all_bytes[i] = (uint8_t)i;
    rpc_global_init();
    return 0;
}

/* Encodes vals as a call and as a response, parses both back, and (when
 * check_xmlrpc) has xmlrpc-c read both too. */
static void round_trip(const rpcflat_val *vals, size_t n, bool check_xmlrpc, const char *what)
{
    static const char method[] = "test.method_1";
    buf b;
    buf_init(&b);
    rpcflat_msg *m = rpcflat_msg_new();

    rpcflat_encode_call(&b, method, vals, n);
    int rc = parse_call_exact(m, buf_head(&b), buf_unread(&b));
    bool ok = rc == 0 && strcmp(rpcflat_method(m), method) == 0 && msg_is(m, vals, n);
    CU_ASSERT_TRUE(ok);
    if (!ok)
        fprintf(stderr, "\n  %s: call round trip failed (rc %d): %.*s\n", what, rc,
                SHOWN(&b));
    if (check_xmlrpc) {
        ok = xmlrpc_call_is((const char *)buf_head(&b), buf_unread(&b), method, vals, n);
        CU_ASSERT_TRUE(ok);
        if (!ok)
            fprintf(stderr, "\n  %s: xmlrpc-c reads our call differently: %.*s\n", what,
                    SHOWN(&b));
    }

    buf_clear(&b);
    rpcflat_encode_response(&b, vals, n);
    rc = parse_response_exact(m, buf_head(&b), buf_unread(&b));
    ok = rc == 0 && strcmp(rpcflat_method(m), "") == 0 && msg_is(m, vals, n);
    CU_ASSERT_TRUE(ok);
    if (!ok)
        fprintf(stderr, "\n  %s: response round trip failed (rc %d): %.*s\n", what, rc,
                SHOWN(&b));
    if (check_xmlrpc) {
        ok = xmlrpc_response_is((const char *)buf_head(&b), buf_unread(&b), vals, n);
        CU_ASSERT_TRUE(ok);
        if (!ok)
            fprintf(stderr, "\n  %s: xmlrpc-c reads our response differently: %.*s\n", what,
                    SHOWN(&b));
    }
    rpcflat_msg_free(m);
    buf_free(&b);
}

/* ---- round trips ---------------------------------------------------------- */

static void test_round_trip_scalars(void)
{
    const rpcflat_val vals[] = {
        rpcflat_int(0),        rpcflat_int(-1),          rpcflat_int(1),
        rpcflat_int(1234567),  rpcflat_int(-123456),     rpcflat_bool(true),
        rpcflat_bool(false),   rpcflat_bytes("", 0),     rpcflat_bytes("x", 1),
        rpcflat_string(""),    rpcflat_string("a<b>&c\"'"), rpcflat_string("tab\there\nnl\n"),
        rpcflat_string("]]>"), /* ']' is written raw: the parser refuses it */
    };
    /* Every value alone, then all together (minus the ']' one). */
    for (size_t i = 0; i + 1 < NELEMS(vals); i++)
        round_trip(&vals[i], 1, true, "one scalar");
    round_trip(vals, NELEMS(vals) - 1, true, "all scalars");
    round_trip(NULL, 0, true, "no values");
    /* rpcflat_bool normalises; a parsed boolean is 0 or 1. */
    CU_ASSERT_EQUAL(rpcflat_bool(true).i, 1);
}

/* Strings and bytes the writer has to escape or pad. */
static void test_round_trip_bytes(void)
{
    round_trip((rpcflat_val[]){rpcflat_bytes(all_bytes, 256)}, 1, true, "all byte values");
    for (size_t n = 1; n <= 5; n++) { /* every padding case, twice */
        round_trip((rpcflat_val[]){rpcflat_bytes(all_bytes + 250, n)}, 1, true, "short bytes");
        round_trip((rpcflat_val[]){rpcflat_bytes(all_bytes, n)}, 1, true, "short bytes");
    }
    round_trip((rpcflat_val[]){rpcflat_bytes(big, sizeof big)}, 1, true, "100 KiB");
    /* Several big values in one message: the arena holds them all. */
    round_trip((rpcflat_val[]){rpcflat_bytes(big, sizeof big), rpcflat_string("s"),
                               rpcflat_bytes(big + 1, sizeof big - 1), rpcflat_int(7)},
               4, true, "two 100 KiB values");
}

/* Messages grow past any fixed size; a call holds at most
 * RPCFLAT_MAX_CALL_VALS values to be read as flat, a response any number. */
static void test_round_trip_many(void)
{
    size_t n = RPCFLAT_MAX_CALL_VALS + 1;
    rpcflat_val *vals = xcalloc(n, sizeof *vals);
    for (size_t i = 0; i < n; i++)
        vals[i] = i % 2 ? rpcflat_int((int64_t)i) : rpcflat_bytes(all_bytes, i % 256);
    round_trip(vals, 16, true, "16 values");
    round_trip(vals, 1000, true, "1,000 values");
    round_trip(vals, RPCFLAT_MAX_CALL_VALS, false, "the most values of a call");
    buf b;
    buf_init(&b);
    rpcflat_msg *m = rpcflat_msg_new();
    rpcflat_encode_call(&b, "m", vals, n);
    CU_ASSERT_EQUAL(parse_call_exact(m, buf_head(&b), buf_unread(&b)), -1);
    CU_ASSERT_EQUAL(rpcflat_count(m), 0);
    buf_clear(&b);
    rpcflat_encode_response(&b, vals, n);
    CU_ASSERT_EQUAL(parse_response_exact(m, buf_head(&b), buf_unread(&b)), 0);
    CU_ASSERT_TRUE(msg_is(m, vals, n));
    rpcflat_msg_free(m);
    buf_free(&b);
    free(vals);
}

/* Strings that XML-RPC text cannot carry come out as '?', as documented. */
static void test_encode_replaces_unsafe_text(void)
{
    buf b;
    buf_init(&b);
    rpcflat_msg *m = rpcflat_msg_new();
    const rpcflat_val v = rpcflat_string("a\rb\x01" "c\x7f" "d\xc3\xa9");
    rpcflat_encode_call(&b, "m", &v, 1);
    CU_ASSERT_EQUAL(parse_call_exact(m, buf_head(&b), buf_unread(&b)), 0);
    const rpcflat_val want = rpcflat_string("a?b?c?d??");
    CU_ASSERT_TRUE(msg_is(m, &want, 1));
    CU_ASSERT_TRUE(xmlrpc_call_is((const char *)buf_head(&b), buf_unread(&b), "m", &want, 1));
    rpcflat_msg_free(m);
    buf_free(&b);
}

/* rpcflat_int writes every integer as an <i8> in a fixed snprintf buffer:
 * char num[32] for "<value><i8>%lld</i8></value>", 24 characters besides
 * the number, so any integer of 8 or more characters (12345678, -1234567,
 * DKV_ID_MAX, INT64_MIN) is cut short, its "</i8></value>" lost: the body
 * is malformed XML, refused by rpcflat and by xmlrpc-c alike. */
static void test_round_trip_long_ints(void)
{
    const rpcflat_val vals[] = {
        rpcflat_int(12345678), rpcflat_int(-1234567), rpcflat_int(999999999999),
        rpcflat_int(INT64_MIN), rpcflat_int(INT64_MAX), rpcflat_int(INT32_MIN),
    };
    for (size_t i = 0; i < NELEMS(vals); i++)
        round_trip(&vals[i], 1, true, "long integer");
}

/* ---- interop: xmlrpc-c writes, rpcflat reads ------------------------------- */

/* xmlrpc-c's own serialization of each group, with ints as <i4> and as
 * <i8>, must parse with rpcflat to the same values. */
static void interop_from_xmlrpc(const rpcflat_val *vals, size_t n, const char *what)
{
    static const char method[] = "kv.put_2";
    buf b;
    buf_init(&b);
    rpcflat_msg *m = rpcflat_msg_new();
    for (int small = 0; small < 2; small++) {
        xserialize(&b, method, vals, n, small, xmlrpc_dialect_i8);
        int rc = parse_call_exact(m, buf_head(&b), buf_unread(&b));
        bool ok = rc == 0 && strcmp(rpcflat_method(m), method) == 0 && msg_is(m, vals, n);
        CU_ASSERT_TRUE(ok);
        if (!ok)
            fprintf(stderr, "\n  %s: xmlrpc-c's call (rc %d): %.*s\n", what, rc,
                    SHOWN(&b));
        xserialize(&b, NULL, vals, n, small, xmlrpc_dialect_i8);
        rc = parse_response_exact(m, buf_head(&b), buf_unread(&b));
        ok = rc == 0 && msg_is(m, vals, n);
        CU_ASSERT_TRUE(ok);
        if (!ok)
            fprintf(stderr, "\n  %s: xmlrpc-c's response (rc %d): %.*s\n", what, rc,
                    SHOWN(&b));
    }
    rpcflat_msg_free(m);
    buf_free(&b);
}

static void test_interop_from_xmlrpc(void)
{
    const rpcflat_val ints[] = {
        rpcflat_int(0),         rpcflat_int(-1),        rpcflat_int(INT64_MIN),
        rpcflat_int(INT64_MAX), rpcflat_int(INT32_MIN), rpcflat_int(INT32_MAX),
        rpcflat_int(12345678),  rpcflat_bool(true),     rpcflat_bool(false),
    };
    interop_from_xmlrpc(ints, NELEMS(ints), "integers and booleans");
    const rpcflat_val strs[] = {
        rpcflat_string(""), rpcflat_string("a<b>&c\"'"), rpcflat_string("tab\there\nnl\n"),
        rpcflat_string("plain words"),
    };
    interop_from_xmlrpc(strs, NELEMS(strs), "strings");
    /* xmlrpc-c breaks base64 into lines of 76 characters (57 bytes). */
    const rpcflat_val bytes[] = {
        rpcflat_bytes("", 0),          rpcflat_bytes(all_bytes, 1),
        rpcflat_bytes(all_bytes, 2),   rpcflat_bytes(all_bytes, 3),
        rpcflat_bytes(all_bytes, 4),   rpcflat_bytes(all_bytes, 5),
        rpcflat_bytes(all_bytes, 57),  rpcflat_bytes(all_bytes, 58),
        rpcflat_bytes(all_bytes, 114), rpcflat_bytes(all_bytes, 256),
        rpcflat_bytes(big, sizeof big),
    };
    interop_from_xmlrpc(bytes, NELEMS(bytes), "bytes");
    buf b;
    buf_init(&b);
    xserialize(&b, "m", bytes + 9, 1, false, xmlrpc_dialect_i8);
    CU_ASSERT_PTR_NOT_NULL(memmem(buf_head(&b), buf_unread(&b), "\r\n", 2));
    buf_free(&b);
}

/* ---- interop: rpcflat writes, xmlrpc-c reads ------------------------------- */

static void test_interop_to_xmlrpc(void)
{
    /* Long integers have a test of their own. */
    const rpcflat_val vals[] = {
        rpcflat_int(0),          rpcflat_int(-1),          rpcflat_int(1234567),
        rpcflat_bool(true),      rpcflat_bool(false),      rpcflat_bytes("", 0),
        rpcflat_bytes(all_bytes, 256), rpcflat_bytes(all_bytes, 58),
        rpcflat_string(""),      rpcflat_string("a<b>&c\"'"), rpcflat_string("t\tn\n"),
        rpcflat_bytes(big, sizeof big),
    };
    round_trip(vals, NELEMS(vals), true, "to xmlrpc-c");
    /* A method name with every character the parser takes. */
    static const char name[] = "Az09_.x";
    buf b;
    buf_init(&b);
    rpcflat_encode_call(&b, name, vals, 3);
    CU_ASSERT_TRUE(xmlrpc_call_is((const char *)buf_head(&b), buf_unread(&b), name, vals, 3));
    buf_free(&b);
}

static void test_fault(void)
{
    static const struct {
        int code;
        const char *msg;
    } faults[] = {{400, "argument 2: expected base64, got an integer"},
                  {500, "a<b>&c\"' \t\n"},
                  {-2147483647 - 1, ""},
                  {2147483647, "x"}};
    buf b;
    buf_init(&b);
    rpcflat_msg *m = rpcflat_msg_new();
    for (size_t i = 0; i < NELEMS(faults); i++) {
        buf_clear(&b);
        rpcflat_encode_fault(&b, faults[i].code, faults[i].msg);
        int code;
        char *msg;
        CU_ASSERT_EQUAL(xmlrpc_fault_of((const char *)buf_head(&b), buf_unread(&b), &code, &msg),
                        0);
        CU_ASSERT_EQUAL(code, faults[i].code);
        CU_ASSERT_TRUE(msg && strcmp(msg, faults[i].msg) == 0);
        free(msg);
        /* A fault is not a flat result: -1, and the message is empty. */
        const rpcflat_val one = rpcflat_int(1);
        rpcflat_msg_add(m, one);
        CU_ASSERT_EQUAL(parse_response_exact(m, buf_head(&b), buf_unread(&b)), -1);
        CU_ASSERT_EQUAL(rpcflat_count(m), 0);
        CU_ASSERT_EQUAL(parse_call_exact(m, buf_head(&b), buf_unread(&b)), -1);
    }
    /* xmlrpc-c's own fault too. */
    xmlrpc_env env, fenv;
    xmlrpc_env_init(&env);
    xmlrpc_env_init(&fenv);
    xmlrpc_env_set_fault(&fenv, 500, "boom");
    xmlrpc_mem_block *mb = xmlrpc_mem_block_new(&env, 0);
    xmlrpc_serialize_fault(&env, mb, &fenv);
    CU_ASSERT_FALSE(env.fault_occurred);
    CU_ASSERT_EQUAL(parse_response_exact(m, xmlrpc_mem_block_contents(mb),
                                         xmlrpc_mem_block_size(mb)),
                    -1);
    xmlrpc_mem_block_free(mb);
    xmlrpc_env_clean(&fenv);
    xmlrpc_env_clean(&env);
    rpcflat_msg_free(m);
    buf_free(&b);
}

/* ---- the subset: what rpcflat refuses ------------------------------------ */

/* Parses a valid call first (so the message is not empty), then xml: it
 * must give -1 and leave the message empty. */
static bool refused(bool call, const char *xml, size_t len)
{
    static const char good[] = "<methodCall><methodName>g</methodName><params><param>"
                               "<value><string>s</string></value></param></params></methodCall>";
    static const char good_r[] = "<methodResponse><params><param><value><array><data><value>"
                                 "<string>s</string></value></data></array></value></param>"
                                 "</params></methodResponse>";
    rpcflat_msg *m = rpcflat_msg_new();
    int pre = call ? parse_call_exact(m, good, strlen(good))
                   : parse_response_exact(m, good_r, strlen(good_r));
    int rc = call ? parse_call_exact(m, xml, len) : parse_response_exact(m, xml, len);
    bool ok = pre == 0 && rc == -1 && rpcflat_count(m) == 0 && rpcflat_method(m)[0] == '\0';
    if (!ok)
        fprintf(stderr, "\n  accepted (%s, rc %d, count %zu): '%.*s'\n",
                call ? "call" : "response", rc, rpcflat_count(m), (int)(len > 300 ? 300 : len),
                xml);
    rpcflat_msg_free(m);
    return ok;
}

static void check_refused(bool call, const char *xml)
{
    CU_ASSERT_TRUE(refused(call, xml, strlen(xml)));
}

static char *call_of(const char *params_inner)
{
    static char text[4096];
    snprintf(text, sizeof text,
             "<?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params>"
             "<param>%s</param></params></methodCall>",
             params_inner);
    return text;
}

static char *response_of(const char *data_inner)
{
    static char text[4096];
    snprintf(text, sizeof text,
             "<?xml version=\"1.0\"?><methodResponse><params><param><value><array><data>"
             "%s</data></array></value></param></params></methodResponse>",
             data_inner);
    return text;
}

/* Every prefix of a valid message short of its closing tag is refused;
 * every longer one (only trailing "\r\n" is left out) is accepted. */
static void truncations(bool call, const char *xml, size_t len, const char *closing)
{
    const char *end = strstr(xml, closing);
    CU_ASSERT_PTR_NOT_NULL_FATAL(end);
    size_t whole = (size_t)(end - xml) + strlen(closing);
    rpcflat_msg *m = rpcflat_msg_new();
    unsigned bad = 0;
    for (size_t k = 0; k <= len; k++) {
        if (k < whole) {
            if (!refused(call, xml, k))
                bad++;
        } else {
            int rc = call ? parse_call_exact(m, xml, k) : parse_response_exact(m, xml, k);
            if (rc != 0)
                bad++;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    rpcflat_msg_free(m);
}

static void test_truncations(void)
{
    const rpcflat_val vals[] = {rpcflat_int(-42), rpcflat_bool(true),
                                rpcflat_bytes(all_bytes + 100, 5),
                                rpcflat_string("a&b<c>"), rpcflat_string("")};
    buf b;
    buf_init(&b);
    rpcflat_encode_call(&b, "kv.put", vals, NELEMS(vals));
    buf_append(&b, "", 1);
    truncations(true, (const char *)buf_head(&b), buf_unread(&b) - 1, "</methodCall>");
    buf_clear(&b);
    rpcflat_encode_response(&b, vals, NELEMS(vals));
    buf_append(&b, "", 1);
    truncations(false, (const char *)buf_head(&b), buf_unread(&b) - 1, "</methodResponse>");
    /* xmlrpc-c's own layout, with its line breaks. */
    xserialize(&b, "kv.put", vals, NELEMS(vals), true, xmlrpc_dialect_i8);
    buf_append(&b, "", 1);
    truncations(true, (const char *)buf_head(&b), buf_unread(&b) - 1, "</methodCall>");
    xserialize(&b, NULL, vals, NELEMS(vals), true, xmlrpc_dialect_i8);
    buf_append(&b, "", 1);
    truncations(false, (const char *)buf_head(&b), buf_unread(&b) - 1, "</methodResponse>");
    buf_free(&b);
}

/* Values outside the subset, whether or not they are valid XML-RPC. */
static const char *const bad_values[] = {
    "<value><i8>9223372036854775808</i8></value>",
    "<value><i8>-9223372036854775809</i8></value>",
    "<value><i8>18446744073709551616</i8></value>",
    "<value><i8>99999999999999999999</i8></value>",
    "<value><i8>00000000000000000001</i8></value>", /* 20 digits */
    "<value><i4>2147483648</i4></value>",
    "<value><i4>-2147483649</i4></value>",
    "<value><int>2147483648</int></value>",
    "<value><int>9223372036854775807</int></value>",
    "<value><i8></i8></value>",
    "<value><i4></i4></value>",
    "<value><i8>+5</i8></value>",
    "<value><i4>+5</i4></value>",
    "<value><i8>-</i8></value>",
    "<value><i8>--1</i8></value>",
    "<value><i8> 5</i8></value>",
    "<value><i8>5 </i8></value>",
    "<value><i8>0x10</i8></value>",
    "<value><i8>1.0</i8></value>",
    "<value><i8>1e3</i8></value>",
    "<value><boolean>2</boolean></value>",
    "<value><boolean>-1</boolean></value>",
    "<value><boolean>true</boolean></value>",
    "<value><boolean></boolean></value>",
    "<value><base64>Q!==</base64></value>",
    "<value><base64>Q===</base64></value>",
    "<value><base64>QQ=A</base64></value>",
    "<value><base64>QQQ</base64></value>",
    "<value><base64>Q</base64></value>",
    "<value><base64>QQQQQ</base64></value>",
    "<value><base64>QQ==QQ==</base64></value>",
    "<value><base64>QQ==Q</base64></value>",
    "<value><base64>QQ==x</base64></value>",
    "<value><base64>=</base64></value>",
    "<value><base64>====</base64></value>",
    "<value><base64>QQ-_</base64></value>",
    "<value><base64>QQ==&amp;</base64></value>",
    "<value><base64>QUJD\x80</base64></value>",
    "<value><double>1.5</double></value>",
    "<value><struct><member><name>a</name><value><i4>1</i4></value></member></struct></value>",
    "<value><array><data><value><i4>1</i4></value></data></array></value>",
    "<value><array><data></data></array></value>",
    "<value><nil/></value>",
    "<value><ex:nil/></value>",
    "<value><dateTime.iso8601>20240101T00:00:00</dateTime.iso8601></value>",
    "<value a=\"1\"><i8>1</i8></value>",
    "<value a=\"1\">x</value>",
    "<value><i8 a=\"1\">1</i8></value>",
    "<value><string a=\"1\">x</string></value>",
    "<value ><i8>1</i8></value>",
    "<value><i8>1</i8 ></value>",
    "<value><!-- c --><i8>1</i8></value>",
    "<value><string>a<!-- c -->b</string></value>",
    "<value><string><![CDATA[x]]></string></value>",
    "<value><string>a<?pi x?>b</string></value>",
    "<value><string>&#65;</string></value>",
    "<value><string>&#x41;</string></value>",
    "<value>&#65;</value>",
    "<value><string>&foo;</string></value>",
    "<value><string>&lt</string></value>",
    "<value><string>&LT;</string></value>",
    "<value><string>&</string></value>",
    "<value><string>a]b</string></value>",
    "<value><string>]]></string></value>",
    "<value>]</value>",
    "<value><string>a\rb</string></value>",
    "<value><string>a\r\nb</string></value>",
    "<value><string>a\x80" "b</string></value>",
    "<value><string>caf\xc3\xa9</string></value>",
    "<value><string>a\x01" "b</string></value>",
    "<value><string>a\x7f" "b</string></value>",
    "<value><string>\xef\xbb\xbf</string></value>",
    "<value> <i8>1</i8></value>",
    "<value>\n<string>x</string></value>",
    "<value><i8>1</i8> </value>",
    "<value><string>x</string>\n</value>",
    "<value><string>x</string><string>y</string></value>",
    "<value><i8>1</i4></value>",
    "<value><string>x</value>",
    "<value><string>x</strin></value>",
    "<value/>",
    "<value><string/></value>",
    "<value><i8/></value>",
    "<VALUE><i8>1</i8></VALUE>",
    "<value><I8>1</I8></value>",
    "<value><String>x</String></value>",
    "<value><i16>1</i16></value>",
    "<value><i8x>1</i8x></value>",
    "<value><ex:i4>1</ex:i4></value>",
    "<value><i8>1</i8></value>x",
    "<value>x",
    "x",
    "<param>",
    "<value><i8>1",
};

static void test_refuses_bad_values(void)
{
    unsigned bad = 0;
    for (size_t i = 0; i < NELEMS(bad_values); i++) {
        if (!refused(true, call_of(bad_values[i]), strlen(call_of(bad_values[i]))))
            bad++;
        if (!refused(false, response_of(bad_values[i]), strlen(response_of(bad_values[i]))))
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* Two values in one <param>: only an array's data holds several. */
    check_refused(true, call_of("<value><i8>1</i8></value><value><i8>2</i8></value>"));
    check_refused(true, call_of(""));
    check_refused(false, response_of("<param><value><i8>1</i8></value></param>"));
}

/* A whole call or response in a shape outside the subset. */
static void test_refuses_bad_messages(void)
{
    static const char *const calls[] = {
        "",
        "<",
        "<methodCall>",
        "<methodCall><methodName></methodName><params></params></methodCall>",
        "<methodCall><methodName>a b</methodName><params></params></methodCall>",
        "<methodCall><methodName> m</methodName><params></params></methodCall>",
        "<methodCall><methodName>m </methodName><params></params></methodCall>",
        "<methodCall><methodName>a&amp;b</methodName><params></params></methodCall>",
        "<methodCall><methodName>a/b</methodName><params></params></methodCall>",
        "<methodCall><methodName>a-b</methodName><params></params></methodCall>",
        "<methodCall><methodName>caf\xc3\xa9</methodName><params></params></methodCall>",
        "<methodCall><methodName>m</methodName></methodCall>",
        "<methodCall><methodName>m</methodName><params></params></methodCall>x",
        "<methodCall><methodName>m</methodName><params></params></methodCall><a/>",
        "<methodCall><methodName>m</methodName><params></params></methodCall><!-- c -->",
        "<methodCall><methodName>m</methodName><params></params></methodCall>"
        "<methodCall><methodName>m</methodName><params></params></methodCall>",
        "<methodCall><methodName>m</methodName><params></params>",
        "<methodCall><methodName>m</methodName><params></params></methodCall",
        "<methodCall><methodName>m</methodName><methodName>n</methodName><params></params>"
        "</methodCall>",
        "<methodCall><params></params><methodName>m</methodName></methodCall>",
        "<methodCall><methodName>m</methodName><params><param></param></params></methodCall>",
        "<methodCall><methodName>m</methodName><params><params></params></params></methodCall>",
        "<methodCall xmlns=\"x\"><methodName>m</methodName><params></params></methodCall>",
        "<methodCall ><methodName>m</methodName><params></params></methodCall>",
        "<methodcall><methodName>m</methodName><params></params></methodcall>",
        "<?xml version=\"1.1\"?><methodCall><methodName>m</methodName><params></params>"
        "</methodCall>",
        "<?xml version='1.0'?><methodCall><methodName>m</methodName><params></params>"
        "</methodCall>",
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall><methodName>m</methodName>"
        "<params></params></methodCall>",
        " <?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params></params>"
        "</methodCall>",
        "\xef\xbb\xbf<methodCall><methodName>m</methodName><params></params></methodCall>",
        "<!DOCTYPE methodCall><methodCall><methodName>m</methodName><params></params>"
        "</methodCall>",
        "<!-- c --><methodCall><methodName>m</methodName><params></params></methodCall>",
        "<methodResponse><params><param><value><array><data></data></array></value></param>"
        "</params></methodResponse>",
    };
    for (size_t i = 0; i < NELEMS(calls); i++)
        check_refused(true, calls[i]);

    /* NUL bytes, after the message and inside it. */
    static const char nul_after[] =
        "<methodCall><methodName>m</methodName><params></params></methodCall>\0";
    CU_ASSERT_TRUE(refused(true, nul_after, sizeof nul_after - 1));
    static const char nul_inside[] = "<methodCall><methodName>m</methodName><params><param>"
                                     "<value>a\0b</value></param></params></methodCall>";
    CU_ASSERT_TRUE(refused(true, nul_inside, sizeof nul_inside - 1));

    /* Method names: 64 characters pass, 65 do not. */
    char name[RPCFLAT_MAX_METHOD + 2], text[256];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(text, sizeof text,
             "<methodCall><methodName>%s</methodName><params></params></methodCall>", name);
    check_refused(true, text);
    name[RPCFLAT_MAX_METHOD] = '\0';
    snprintf(text, sizeof text,
             "<methodCall><methodName>%s</methodName><params></params></methodCall>", name);
    rpcflat_msg *m = rpcflat_msg_new();
    CU_ASSERT_EQUAL(parse_call_exact(m, text, strlen(text)), 0);
    CU_ASSERT_STRING_EQUAL(rpcflat_method(m), name);

    /* RPCFLAT_MAX_CALL_VALS params pass, one more does not; a response
     * of as many values passes. */
    for (int extra = 0; extra < 2; extra++) {
        buf b;
        buf_init(&b);
        const char *head = "<methodCall><methodName>m</methodName><params>";
        buf_append(&b, head, strlen(head));
        for (int i = 0; i < RPCFLAT_MAX_CALL_VALS + extra; i++) {
            const char *p = "<param><value><i4>1</i4></value></param>";
            buf_append(&b, p, strlen(p));
        }
        buf_append(&b, "</params></methodCall>", 22);
        if (extra) {
            CU_ASSERT_TRUE(refused(true, (const char *)buf_head(&b), buf_unread(&b)));
        } else {
            CU_ASSERT_EQUAL(parse_call_exact(m, buf_head(&b), buf_unread(&b)), 0);
        }
        buf_clear(&b);
        head = "<methodResponse><params><param><value><array><data>";
        buf_append(&b, head, strlen(head));
        for (int i = 0; i < RPCFLAT_MAX_CALL_VALS + extra; i++)
            buf_append(&b, "<value>v</value>", 16);
        const char *tail = "</data></array></value></param></params></methodResponse>";
        buf_append(&b, tail, strlen(tail));
        CU_ASSERT_EQUAL(parse_response_exact(m, buf_head(&b), buf_unread(&b)), 0);
        CU_ASSERT_EQUAL(rpcflat_count(m), (size_t)RPCFLAT_MAX_CALL_VALS + (size_t)extra);
        buf_free(&b);
    }
    rpcflat_msg_free(m);

    static const char *const responses[] = {
        "",
        "<methodResponse><params><param><value><i8>1</i8></value></param></params>"
        "</methodResponse>",
        "<methodResponse><params><param><value><array><data></data></array></value></param>"
        "<param><value><i8>1</i8></value></param></params></methodResponse>",
        "<methodResponse><params></params></methodResponse>",
        "<methodResponse><params><param><value><array><data></data></array></value></param>"
        "</params></methodResponse>x",
        "<methodResponse><params><param><value><array><data></array></value></param>"
        "</params></methodResponse>",
        "<methodResponse><params><param><value><array></array></value></param>"
        "</params></methodResponse>",
        "<methodResponse><params><param><value><struct></struct></value></param>"
        "</params></methodResponse>",
        "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1"
        "</int></value></member><member><name>faultString</name><value><string>x</string>"
        "</value></member></struct></value></fault></methodResponse>",
        "<methodCall><methodName>m</methodName><params></params></methodCall>",
    };
    for (size_t i = 0; i < NELEMS(responses); i++)
        check_refused(false, responses[i]);
}

/* Inputs at the edges of the subset that rpcflat accepts: xmlrpc-c must
 * read each one the same way. Returns false (and prints) on a mismatch;
 * inputs rpcflat refuses pass. */
static bool agrees_with_xmlrpc(bool call, const char *xml)
{
    size_t len = strlen(xml);
    rpcflat_msg *m = rpcflat_msg_new();
    int rc = call ? parse_call_exact(m, xml, len) : parse_response_exact(m, xml, len);
    bool ok = true;
    if (rc == 0) {
        size_t n = rpcflat_count(m);
        rpcflat_val *vals = xcalloc(n + 1, sizeof *vals);
        for (size_t i = 0; i < n; i++)
            vals[i] = *rpcflat_at(m, i);
        ok = call ? xmlrpc_call_is(xml, len, rpcflat_method(m), vals, n)
                  : xmlrpc_response_is(xml, len, vals, n);
        free(vals);
        if (!ok)
            fprintf(stderr, "\n  rpcflat and xmlrpc-c disagree on '%s'\n", xml);
    }
    rpcflat_msg_free(m);
    return ok;
}

static const char *const edge_values[] = {
    "<value><i8>-0</i8></value>",
    "<value><i8>007</i8></value>",
    "<value><i8>0000000000000000009</i8></value>",
    "<value><i8>-9223372036854775808</i8></value>",
    "<value><ex:i8>-5</ex:i8></value>",
    "<value><i4>-0</i4></value>",
    "<value><i4>-2147483648</i4></value>",
    "<value><int>0000000000000000007</int></value>",
    "<value><boolean>1</boolean></value>",
    "<value><boolean>0</boolean></value>",
    "<value><base64></base64></value>",
    "<value><base64>QR==</base64></value>",
    "<value><base64>QUJ=</base64></value>",
    "<value><base64> Q R\tE\r\n= </base64></value>",
    "<value><base64>QQ=\n=</base64></value>",
    "<value><base64>\r\nQUJD\r\nQUJD\r\n</base64></value>",
    "<value></value>",
    "<value>\t\n</value>",
    "<value>untyped &amp; &lt;text&gt;</value>",
    "<value><string>&quot;&apos;&amp;&lt;&gt;</string></value>",
    "<value><string>\"'></string></value>",
    "<value><string>  spaces  </string></value>",
    "<value><string>\n</string></value>",
};

static void test_edges_agree(void)
{
    unsigned bad = 0;
    for (size_t i = 0; i < NELEMS(edge_values); i++) {
        rpcflat_msg *m = rpcflat_msg_new();
        /* These are all in the subset. */
        if (parse_call_exact(m, call_of(edge_values[i]), strlen(call_of(edge_values[i]))) != 0) {
            fprintf(stderr, "\n  refused: %s\n", edge_values[i]);
            bad++;
        }
        rpcflat_msg_free(m);
        if (!agrees_with_xmlrpc(true, call_of(edge_values[i])))
            bad++;
        if (!agrees_with_xmlrpc(false, response_of(edge_values[i])))
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    static const char *const layouts[] = {
        "<?xml version=\"1.0\"?>\n<methodCall>\n <methodName>m.x_1</methodName>\n <params>\n"
        "  <param>\n   <value><i4>1</i4></value>\n  </param>\n </params>\n</methodCall>\n\n",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodCall><methodName>m</methodName>"
        "<params></params></methodCall>",
        "<methodCall><methodName>m</methodName><params> </params> </methodCall>",
    };
    for (size_t i = 0; i < NELEMS(layouts); i++) {
        rpcflat_msg *m = rpcflat_msg_new();
        CU_ASSERT_EQUAL(parse_call_exact(m, layouts[i], strlen(layouts[i])), 0);
        rpcflat_msg_free(m);
        CU_ASSERT_TRUE(agrees_with_xmlrpc(true, layouts[i]));
    }
}

/* rpcflat's integer() takes any decimal within the range, and <boolean>
 * shares it with the range [0, 1]: so "<boolean>01</boolean>",
 * "<boolean>00</boolean>" and "<boolean>-0</boolean>" parse as booleans,
 * while xmlrpc-c refuses them ("content must be either '0' or '1'"). A
 * body the daemon should fault is served as a valid call. */
static void test_boolean_subset(void)
{
    static const char *const v[] = {
        "<value><boolean>01</boolean></value>",
        "<value><boolean>00</boolean></value>",
        "<value><boolean>-0</boolean></value>",
    };
    for (size_t i = 0; i < NELEMS(v); i++) {
        CU_ASSERT_TRUE(agrees_with_xmlrpc(true, call_of(v[i])));
        CU_ASSERT_TRUE(agrees_with_xmlrpc(false, response_of(v[i])));
    }
}

/* ---- responses of other shapes ---------------------------------------------- */

/* A struct with a scalar member and an array of arrays, and a bare
 * scalar: xmlrpc-c reads what the piecewise writer wrote; rpcflat refuses
 * both (they are not arrays of scalars). */
static void test_encode_shapes(void)
{
    buf b;
    buf_init(&b);
    rpcflat_encode_response_begin(&b);
    rpcflat_encode_struct_begin(&b);
    rpcflat_encode_member_begin(&b, "entries");
    rpcflat_encode_array_begin(&b);
    for (int i = 0; i < 2; i++) {
        rpcflat_encode_array_begin(&b);
        rpcflat_val k = rpcflat_bytes(i ? "k<1>" : "", i ? 4 : 0), n = rpcflat_int(-i);
        rpcflat_encode_value(&b, &k);
        rpcflat_encode_value(&b, &n);
        rpcflat_encode_array_end(&b);
    }
    rpcflat_encode_array_end(&b);
    rpcflat_encode_member_end(&b);
    rpcflat_encode_member_begin(&b, "more");
    rpcflat_val t = rpcflat_bool(true);
    rpcflat_encode_value(&b, &t);
    rpcflat_encode_member_end(&b);
    rpcflat_encode_struct_end(&b);
    rpcflat_encode_response_end(&b);

    rpcflat_msg *m = rpcflat_msg_new();
    CU_ASSERT_EQUAL(parse_response_exact(m, buf_head(&b), buf_unread(&b)), -1);
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_value *result = NULL;
    int code = 0;
    const char *fault = NULL;
    xmlrpc_parse_response2(&env, (const char *)buf_head(&b), buf_unread(&b), &result, &code,
                           &fault);
    CU_ASSERT_FALSE_FATAL(env.fault_occurred || fault);
    xmlrpc_value *entries = NULL;
    xmlrpc_bool more = 0;
    xmlrpc_decompose_value(&env, result, "{s:A,s:b,*}", "entries", &entries, "more", &more);
    CU_ASSERT_FALSE(env.fault_occurred);
    CU_ASSERT_TRUE(more);
    for (int i = 0; i < 2 && !env.fault_occurred; i++) {
        xmlrpc_value *pair = NULL;
        xmlrpc_array_read_item(&env, entries, (unsigned)i, &pair);
        const rpcflat_val want[] = {rpcflat_bytes(i ? "k<1>" : "", i ? 4 : 0),
                                    rpcflat_int(-i)};
        CU_ASSERT_TRUE(!env.fault_occurred && xarray_is(pair, want, 2));
        if (pair)
            xmlrpc_DECREF(pair);
    }
    if (entries)
        xmlrpc_DECREF(entries);
    xmlrpc_DECREF(result);

    /* A bare scalar. */
    buf_clear(&b);
    rpcflat_encode_response_begin(&b);
    rpcflat_val v = rpcflat_int(INT64_MAX);
    rpcflat_encode_value(&b, &v);
    rpcflat_encode_response_end(&b);
    CU_ASSERT_EQUAL(parse_response_exact(m, buf_head(&b), buf_unread(&b)), -1);
    result = NULL;
    xmlrpc_parse_response2(&env, (const char *)buf_head(&b), buf_unread(&b), &result, &code,
                           &fault);
    CU_ASSERT_FALSE_FATAL(env.fault_occurred || fault);
    CU_ASSERT_TRUE(flateq_xmlrpc(result, &v));
    xmlrpc_DECREF(result);
    xmlrpc_env_clean(&env);
    rpcflat_msg_free(m);
    buf_free(&b);
}

/* ---- rpcflat_msg_add -------------------------------------------------------- */

static void test_msg_add(void)
{
    rpcflat_msg *m = rpcflat_msg_new();
    enum { N = 40 };
    rpcflat_val want[N];
    /* Values that grow the arena again and again: earlier ones follow. */
    for (size_t i = 0; i < N; i++) {
        want[i] = i % 3 == 2 ? rpcflat_int(-(int64_t)i)
                  : i % 3    ? rpcflat_bytes(big, ((size_t)1 << (i % 17)) % sizeof big)
                             : rpcflat_string("str");
        CU_ASSERT_EQUAL(rpcflat_msg_add(m, want[i]), 0);
    }
    CU_ASSERT_TRUE(msg_is(m, want, N));
    for (size_t i = 0; i < N; i++)
        if (want[i].type != RPCFLAT_INT) /* copied in, not pointing at the source */
            CU_ASSERT_PTR_NOT_EQUAL(rpcflat_at(m, i)->p, want[i].p);
    rpcflat_msg_reset(m);
    CU_ASSERT_EQUAL(rpcflat_count(m), 0);
    CU_ASSERT_EQUAL(rpcflat_msg_add(m, rpcflat_bytes(NULL, 0)), 0);
    CU_ASSERT_EQUAL(rpcflat_at(m, 0)->n, 0);
    rpcflat_msg_free(m);
    rpcflat_msg_free(NULL);
}

/* ---- rpc_serve_frame and rpc_call_flat ----------------------------------------- */

/* echo(any...): the arguments back, as an array; counts calls in *info. */
static int f_echo(const void *info, void *ci, const rpcflat_msg *args, buf *out,
                  rpc_fault *fault)
{
    if (ci)
        (*(int *)ci)++;
    size_t n = rpcflat_count(args);
    rpcflat_val *vals = xcalloc(n + 1, sizeof *vals);
    for (size_t i = 0; i < n; i++)
        vals[i] = *rpcflat_at(args, i);
    rpcflat_encode_response(out, vals, n);
    free(vals);
    return 0;
}

/* fail(any...): a fault, after writing part of a result (which must be
 * dropped). */
static int f_fail(const void *info, void *ci, const rpcflat_msg *args, buf *out,
                  rpc_fault *fault)
{
    rpcflat_encode_response_begin(out);
    fault->code = RPCFLAT_FAULT_FAILED;
    return dkv_err_set(&fault->err, "no luck <&> with %zu arguments", rpcflat_count(args));
}

/* xmlrpc_build_value's arguments for f_raw's formats: one format, one
 * fixed set of values (a varargs call needs them spelled out). */
static xmlrpc_value *raw_value(xmlrpc_env *env, const char *format)
{
    if (strcmp(format, "(s)") == 0)
        return xmlrpc_build_value(env, format, "caf\xc3\xa9");
    if (strcmp(format, "(d)") == 0)
        return xmlrpc_build_value(env, format, 1.5);
    if (strcmp(format, "(si)") == 0)
        return xmlrpc_build_value(env, format, "plain", 7);
    if (strcmp(format, "{s:i,s:s,s:((6)(6))}") == 0)
        return xmlrpc_build_value(env, format, "n", 5, "s", "text", "g", "ab", (size_t)2,
                                  "c", (size_t)1);
    return xmlrpc_build_value(env, format, 42);
}

/* A result written by xmlrpc-c that rpcflat does not read: the value
 * info's format builds. */
static int f_raw(const void *info, void *ci, const rpcflat_msg *args, buf *out,
                 rpc_fault *fault)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_value *v = raw_value(&env, info);
    xmlrpc_mem_block *mb = xmlrpc_mem_block_new(&env, 0);
    xmlrpc_serialize_response2(&env, mb, v, xmlrpc_dialect_i8);
    if (env.fault_occurred)
        abort();
    buf_append(out, xmlrpc_mem_block_contents(mb), xmlrpc_mem_block_size(mb));
    xmlrpc_mem_block_free(mb);
    xmlrpc_DECREF(v);
    xmlrpc_env_clean(&env);
    return 0;
}

static const rpc_method test_methods[] = {
    {"echo", f_echo, NULL},
    {"fail", f_fail, NULL},
    {"utf8", f_raw, "(s)"}, /* formats of raw_value */
    {"double", f_raw, "(d)"},
    {"plain", f_raw, "(si)"},
    {"struct", f_raw, "{s:i,s:s,s:((6)(6))}"},
    {"scalar", f_raw, "i"},
};

/* Serves body into out, which already holds some consumed and unread
 * bytes (so that appending the reply compacts it), and returns the reply
 * body (malloc'ed, *len long). */
static char *serve_body(rpc_server *s, const void *body, size_t len, void *ci, size_t *out_len)
{
    buf out;
    buf_init(&out);
    char junk[200];
    memset(junk, 'j', sizeof junk);
    buf_append(&out, junk, sizeof junk);
    buf_consume(&out, 150);
    char *copy = exact(body, len);
    wire_frame call = {.kind = WIRE_CALL, .body = (const uint8_t *)copy, .body_len = len};
    rpc_serve_frame(s, &call, ci, &out);
    free(copy);
    char *res = NULL;
    *out_len = 0;
    wire_frame f;
    size_t used = 0;
    dkv_err err;
    CU_ASSERT_TRUE_FATAL(buf_unread(&out) > 50);
    CU_ASSERT_EQUAL(memcmp(buf_head(&out), junk, 50), 0);
    int rc = wire_decode(buf_head(&out) + 50, buf_unread(&out) - 50, &f, &used, &err);
    CU_ASSERT_EQUAL(rc, 1);
    if (rc == 1) {
        CU_ASSERT_EQUAL(used, buf_unread(&out) - 50);
        CU_ASSERT_EQUAL(f.kind, WIRE_REPLY);
        CU_ASSERT_EQUAL(f.hdr_len, 0);
        res = exact(f.body, f.body_len);
        *out_len = f.body_len;
    }
    buf_free(&out);
    return res;
}

/* xmlrpc-c reads the reply as a fault of code with a message holding
 * words. */
static bool is_fault(const char *reply, size_t len, int code, const char *words)
{
    int got = 0;
    char *msg = NULL;
    bool ok = reply && xmlrpc_fault_of(reply, len, &got, &msg) == 0 && got == code && msg &&
              strstr(msg, words);
    if (!ok)
        fprintf(stderr, "\n  wanted fault %d '%s', got %d '%s'\n", code, words, got,
                msg ? msg : "(none)");
    free(msg);
    return ok;
}

static void test_serve(void)
{
    rpc_server *s = rpc_server_new(test_methods, NELEMS(test_methods));
    const rpcflat_val vals[] = {rpcflat_int(-3), rpcflat_bool(true), rpcflat_bytes(big, 3000),
                                rpcflat_string("a<&>b"), rpcflat_string("")};
    buf b, want;
    buf_init(&b);
    buf_init(&want);
    rpcflat_encode_response(&want, vals, NELEMS(vals));
    int calls = 0;

    /* A flat body: the reply is exactly what rpcflat writes. */
    rpcflat_encode_call(&b, "echo", vals, NELEMS(vals));
    size_t len;
    char *reply = serve_body(s, buf_head(&b), buf_unread(&b), &calls, &len);
    CU_ASSERT_EQUAL(calls, 1);
    CU_ASSERT_TRUE(reply && len == buf_unread(&want) && memcmp(reply, buf_head(&want), len) == 0);
    CU_ASSERT_TRUE(reply && xmlrpc_response_is(reply, len, vals, NELEMS(vals)));
    free(reply);

    /* The same call in bodies rpcflat refuses: xmlrpc-c's apache dialect
     * (<ex:i8> with a namespace attribute) and its own layout with a space
     * before a type element. Same values through xmlrpc-c, and the very
     * same reply. */
    for (int form = 0; form < 2; form++) {
        xserialize(&b, "echo", vals, NELEMS(vals), false,
                   form ? xmlrpc_dialect_i8 : xmlrpc_dialect_apache);
        if (form) {
            const char *at = memmem(buf_head(&b), buf_unread(&b), "<value><i8>", 11);
            CU_ASSERT_PTR_NOT_NULL_FATAL(at);
            size_t off = (size_t)(at - (const char *)buf_head(&b)) + 7;
            buf edited;
            buf_init(&edited);
            buf_append(&edited, buf_head(&b), off);
            buf_append(&edited, " ", 1);
            buf_append(&edited, buf_head(&b) + off, buf_unread(&b) - off);
            buf_clear(&b);
            buf_append(&b, buf_head(&edited), buf_unread(&edited));
            buf_free(&edited);
        }
        rpcflat_msg *m = rpcflat_msg_new();
        CU_ASSERT_EQUAL(parse_call_exact(m, buf_head(&b), buf_unread(&b)), -1);
        rpcflat_msg_free(m);
        reply = serve_body(s, buf_head(&b), buf_unread(&b), &calls, &len);
        CU_ASSERT_EQUAL(calls, 2 + form);
        CU_ASSERT_TRUE(reply && len == buf_unread(&want) &&
                       memcmp(reply, buf_head(&want), len) == 0);
        free(reply);
    }

    /* A method's fault, with what it wrote before dropped; on both paths. */
    for (int path = 0; path < 2; path++) {
        if (path == 0) {
            buf_clear(&b);
            rpcflat_encode_call(&b, "fail", vals, 2);
        } else {
            xserialize(&b, "fail", vals, 2, false, xmlrpc_dialect_apache);
        }
        reply = serve_body(s, buf_head(&b), buf_unread(&b), NULL, &len);
        CU_ASSERT_TRUE(is_fault(reply, len, RPCFLAT_FAULT_FAILED, "no luck <&> with 2 arguments"));
        CU_ASSERT_TRUE(reply && !memmem(reply, len, "<params>", 8));
        free(reply);
    }

    /* An unknown method, flat or not, gets xmlrpc-c's fault. */
    for (int path = 0; path < 2; path++) {
        if (path == 0) {
            buf_clear(&b);
            rpcflat_encode_call(&b, "nosuch", vals, 1);
        } else {
            xserialize(&b, "nosuch", vals, 1, false, xmlrpc_dialect_apache);
        }
        reply = serve_body(s, buf_head(&b), buf_unread(&b), NULL, &len);
        CU_ASSERT_TRUE(is_fault(reply, len, XMLRPC_NO_SUCH_METHOD_ERROR,
                                "Method 'nosuch' not defined"));
        free(reply);
    }

    /* Not XML-RPC: xmlrpc-c's parse fault. */
    reply = serve_body(s, "<methodCall>", 12, NULL, &len);
    CU_ASSERT_TRUE(is_fault(reply, len, XMLRPC_PARSE_ERROR, "not a proper XML-RPC call"));
    free(reply);

    /* A struct where a scalar belongs (only xmlrpc-c reads it). */
    static const char body[] =
        "<?xml version=\"1.0\"?><methodCall><methodName>echo</methodName><params>"
        "<param><value><i4>1</i4></value></param><param><value><struct><member><name>a"
        "</name><value><i4>1</i4></value></member></struct></value></param></params>"
        "</methodCall>";
    reply = serve_body(s, body, sizeof body - 1, NULL, &len);
    CU_ASSERT_TRUE(is_fault(reply, len, RPCFLAT_FAULT_BAD_REQUEST,
                            "argument 2: expected a scalar, got a struct"));
    free(reply);

    /* More arguments than a flat call holds: xmlrpc-c reads them all. */
    size_t n = RPCFLAT_MAX_CALL_VALS + 1;
    rpcflat_val *many = xcalloc(n, sizeof *many);
    for (size_t i = 0; i < n; i++)
        many[i] = rpcflat_int((int64_t)i);
    buf_clear(&b);
    rpcflat_encode_call(&b, "echo", many, n);
    calls = 0;
    reply = serve_body(s, buf_head(&b), buf_unread(&b), &calls, &len);
    CU_ASSERT_EQUAL(calls, 1);
    rpcflat_msg *m = rpcflat_msg_new();
    CU_ASSERT_TRUE(reply && parse_response_exact(m, reply, len) == 0 && msg_is(m, many, n));
    rpcflat_msg_free(m);
    free(reply);
    free(many);

    buf_free(&b);
    buf_free(&want);
    rpc_server_free(s);
}

/* The child: serves calls on one connection until EOF. */
static void serve_child(int lfd)
{
    alarm(20);
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    if (poll(&p, 1, 10000) != 1)
        _exit(3);
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        _exit(3);
    rpc_server *s = rpc_server_new(test_methods, NELEMS(test_methods));
    buf in, out;
    buf_init(&in);
    buf_init(&out);
    for (;;) {
        wire_frame f;
        size_t used;
        dkv_err err;
        int64_t deadline = net_now_us() + 10 * 1000000LL;
        if (net_read_frame(fd, &in, &f, &used, deadline, &err) < 0)
            _exit(0); /* EOF: the parent is done */
        buf_clear(&out);
        rpc_serve_frame(s, &f, NULL, &out);
        buf_consume(&in, used);
        if (net_write_all(fd, buf_head(&out), buf_unread(&out), deadline, &err) < 0)
            _exit(4);
    }
}

static void test_call_flat(void)
{
    dkv_err err;
    uint16_t port = 0;
    int lfd = tests_listen(&port);
    pid_t pid = tests_fork();
    if (pid == 0)
        serve_child(lfd);
    close(lfd);

    rpc_client *c = rpc_client_new("127.0.0.1", port, 10000, NULL);
    const rpcflat_msg *reply = NULL;
    const rpcflat_val vals[] = {rpcflat_int(-3), rpcflat_bool(false), rpcflat_bytes(big, 9000),
                                rpcflat_string("t\tn\n<&>")};
    /* Flat both ways. */
    CU_ASSERT_EQUAL(rpc_call_flat(c, "echo", vals, NELEMS(vals), NULL, &reply, &err), 0);
    CU_ASSERT_TRUE(reply && msg_is(reply, vals, NELEMS(vals)));
    CU_ASSERT_EQUAL(rpc_call_flat(c, "echo", NULL, 0, NULL, &reply, &err), 0);
    CU_ASSERT_EQUAL(rpcflat_count(reply), 0);
    /* A fault: -1 with its message, and the connection still works. */
    CU_ASSERT_EQUAL(rpc_call_flat(c, "fail", vals, 1, NULL, &reply, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no luck <&> with 1 arguments"));
    /* Replies rpcflat does not read go through xmlrpc-c. */
    CU_ASSERT_EQUAL(rpc_call_flat(c, "utf8", NULL, 0, NULL, &reply, &err), 0);
    const rpcflat_val utf8 = rpcflat_string("caf\xc3\xa9");
    CU_ASSERT_TRUE(msg_is(reply, &utf8, 1));
    CU_ASSERT_EQUAL(rpc_call_flat(c, "double", NULL, 0, NULL, &reply, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "expected a scalar, got a double"));
    CU_ASSERT_EQUAL(rpc_call_flat(c, "plain", NULL, 0, NULL, &reply, &err), 0);
    const rpcflat_val plain[] = {rpcflat_string("plain"), rpcflat_int(7)};
    CU_ASSERT_TRUE(msg_is(reply, plain, 2));

    /* Other shapes, read by name and in order. */
    static const char *const members[] = {"s", "n"};
    rpc_shape st = {RPC_SHAPE_STRUCT, members, 2, "g", 1};
    CU_ASSERT_EQUAL(rpc_call_flat(c, "struct", NULL, 0, &st, &reply, &err), 0);
    const rpcflat_val in_order[] = {rpcflat_string("text"), rpcflat_int(5),
                                    rpcflat_bytes("ab", 2), rpcflat_bytes("c", 1)};
    CU_ASSERT_TRUE(msg_is(reply, in_order, 4));
    static const char *const missing[] = {"s", "x"};
    st.members = missing;
    CU_ASSERT_EQUAL(rpc_call_flat(c, "struct", NULL, 0, &st, &reply, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no member 'x'"));
    st = (rpc_shape){RPC_SHAPE_STRUCT, members, 2, "g", 2};
    CU_ASSERT_EQUAL(rpc_call_flat(c, "struct", NULL, 0, &st, &reply, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "expected an array of 2 items, got 1"));
    st = (rpc_shape){RPC_SHAPE_STRUCT, members, 2, "s", 1};
    CU_ASSERT_EQUAL(rpc_call_flat(c, "struct", NULL, 0, &st, &reply, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "member 's' is not an array"));
    CU_ASSERT_EQUAL(rpc_call_flat(c, "plain", NULL, 0, &st, &reply, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "expected a struct, got an array"));
    rpc_shape value = {.kind = RPC_SHAPE_VALUE};
    CU_ASSERT_EQUAL(rpc_call_flat(c, "scalar", NULL, 0, &value, &reply, &err), 0);
    const rpcflat_val answer = rpcflat_int(42);
    CU_ASSERT_TRUE(msg_is(reply, &answer, 1));
    CU_ASSERT_EQUAL(rpc_call_flat(c, "plain", NULL, 0, &value, &reply, &err), -1);
    rpc_shape any = {.kind = RPC_SHAPE_ANY};
    CU_ASSERT_EQUAL(rpc_call_flat(c, "plain", NULL, 0, &any, &reply, &err), 0);
    CU_ASSERT_EQUAL(rpcflat_count(reply), 0);
    /* A list reply where a scalar is: not a list. */
    CU_ASSERT_EQUAL(rpc_call_flat(c, "scalar", NULL, 0, NULL, &reply, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "expected an array, got an integer"));

    /* The scratch memory is zeroed. */
    uint8_t *p = rpc_client_scratch(c, 100);
    CU_ASSERT_TRUE(p[0] == 0 && p[99] == 0);
    memset(p, 1, 100);
    p = rpc_client_scratch(c, 50);
    CU_ASSERT_TRUE(p[0] == 0 && p[49] == 0);

    /* Still the one connection after all that. */
    CU_ASSERT_EQUAL(rpc_call_flat(c, "echo", vals, 2, NULL, &reply, &err), 0);
    CU_ASSERT_TRUE(msg_is(reply, vals, 2));

    rpc_client_free(c); /* EOF ends the child */
    int st_ = 0;
    while (waitpid(pid, &st_, 0) < 0)
        ;
    CU_ASSERT_TRUE(WIFEXITED(st_) && WEXITSTATUS(st_) == 0);
}

void add_rpcflat_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"round trip of every scalar type", test_round_trip_scalars},
        {"round trip of bytes: every value, padding, 100 KiB", test_round_trip_bytes},
        {"round trip of many values; the bound of a call", test_round_trip_many},
        {"unsafe string bytes are written as '?'", test_encode_replaces_unsafe_text},
        {"integers of any length, INT64_MIN and INT64_MAX included",
         test_round_trip_long_ints},
        {"xmlrpc-c's calls and responses parse to the same values", test_interop_from_xmlrpc},
        {"xmlrpc-c reads our calls and responses to the same values", test_interop_to_xmlrpc},
        {"faults: xmlrpc-c reads ours; rpcflat refuses any", test_fault},
        {"every truncation is refused", test_truncations},
        {"values outside the subset are refused", test_refuses_bad_values},
        {"messages outside the subset are refused", test_refuses_bad_messages},
        {"edge inputs rpcflat accepts mean the same to xmlrpc-c", test_edges_agree},
        {"<boolean> is exactly 0 or 1, as xmlrpc-c reads it",
         test_boolean_subset},
        {"struct and scalar responses, written piecewise, are read by xmlrpc-c",
         test_encode_shapes},
        {"rpcflat_msg_add copies values", test_msg_add},
        {"rpc_serve_frame: any encoding, the same reply; faults", test_serve},
        {"rpc_call_flat against a served child: every shape", test_call_flat},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("rpcflat", suite_init, NULL, tests);
}
