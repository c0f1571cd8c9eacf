/* Fuzzes rpcflat, the hand-written XML-RPC codec (common/rpcflat.h), against
 * its contract: whatever it accepts must mean exactly what xmlrpc-c decodes,
 * and what it writes must read back the same.
 *
 * Every input goes to rpcflat_parse_call and rpcflat_parse_response. An
 * input starting with '<' is the body as it is; any other input is the
 * content of one <value> (after its first byte), wrapped into a call and a
 * response, so that mutations land on the scalars rather than on the
 * envelope. When a parse fails the message must be empty. When it succeeds:
 *   - the values (and method) are encoded again with rpcflat_encode_* and
 *     must parse back identical;
 *   - xmlrpc-c must parse the same body without a fault, to the same method
 *     and the same values (i8/int, boolean, base64, string).
 * Any mismatch aborts, so libFuzzer reports it with the input.
 *
 * xmlrpc-c 1.33 crashes on an <i8> whose text is not a valid 64-bit decimal
 * (see test_rpcserve.c); it only sees bodies rpcflat accepted, whose <i8>
 * elements are all valid. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmlrpc-c/base.h>

#include "../../common/buf.h"
#include "../../common/rpcflat.h"
#include "../flateq.h"
#include "../../common/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rpcflat_msg *msg, *again;
static buf out;

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_rpcflat: %s\n", why);
    abort();
}

/* The parsed message is well formed: booleans 0 or 1, text NUL-terminated
 * ASCII (touching every byte, so that ASan checks the length). */
static void check_msg(const rpcflat_msg *m)
{
    if ((rpcflat_method(m)[0] && rpcflat_count(m) > RPCFLAT_MAX_CALL_VALS) ||
        strlen(rpcflat_method(m)) > RPCFLAT_MAX_METHOD)
        fail("too many values in a call or too long a method name");
    for (size_t i = 0; i < rpcflat_count(m); i++) {
        const rpcflat_val *v = rpcflat_at(m, i);
        switch (v->type) {
        case RPCFLAT_INT: break;
        case RPCFLAT_BOOL:
            if (v->i != 0 && v->i != 1)
                fail("boolean not 0 or 1");
            break;
        case RPCFLAT_BYTES:
        case RPCFLAT_STRING: {
            unsigned acc = 0;
            for (size_t k = 0; k < v->n; k++)
                acc |= v->p[k];
            if (v->p[v->n] != '\0')
                fail("value not NUL-terminated");
            if (v->type == RPCFLAT_STRING && (acc & 0x80))
                fail("non-ASCII string");
            break;
        }
        default: fail("unknown type");
        }
    }
}

/* Encodes m again, parses it, and compares. */
static void check_reencode(const rpcflat_msg *m, bool call)
{
    size_t n = rpcflat_count(m);
    rpcflat_val *vals = xcalloc(n + 1, sizeof *vals);
    for (size_t i = 0; i < n; i++)
        vals[i] = *rpcflat_at(m, i);
    buf_clear(&out);
    if (call)
        rpcflat_encode_call(&out, rpcflat_method(m), vals, n);
    else
        rpcflat_encode_response(&out, vals, n);
    const char *xml = (const char *)buf_head(&out);
    int rc = call ? rpcflat_parse_call(again, xml, buf_unread(&out))
                  : rpcflat_parse_response(again, xml, buf_unread(&out));
    if (rc != 0) {
        fprintf(stderr, "re-encoded: %.*s\n", (int)buf_unread(&out), xml);
        fail("re-encoded message does not parse");
    }
    if (strcmp(rpcflat_method(again), rpcflat_method(m)) != 0 || rpcflat_count(again) != n)
        fail("re-encoded message: other method or count");
    for (size_t i = 0; i < n; i++)
        if (!flateq_val(rpcflat_at(again, i), &vals[i]))
            fail("re-encoded message: other value");
    free(vals);
}

static void check_array(xmlrpc_value *arr, const rpcflat_msg *m)
{
    if (!arr || xmlrpc_value_type(arr) != XMLRPC_TYPE_ARRAY)
        fail("xmlrpc-c: not an array");
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    int size = xmlrpc_array_size(&env, arr);
    if (env.fault_occurred || size < 0 || (size_t)size != rpcflat_count(m))
        fail("xmlrpc-c: another number of values");
    for (int i = 0; i < size; i++) {
        xmlrpc_value *item = NULL;
        xmlrpc_array_read_item(&env, arr, (unsigned)i, &item);
        if (env.fault_occurred || !item)
            fail("xmlrpc-c: cannot read an item");
        if (!flateq_xmlrpc(item, rpcflat_at(m, (size_t)i))) {
            fprintf(stderr, "value %d differs (rpcflat type %d)\n", i + 1,
                    (int)rpcflat_at(m, (size_t)i)->type);
            fail("xmlrpc-c reads another value");
        }
        xmlrpc_DECREF(item);
    }
    xmlrpc_env_clean(&env);
}

/* xmlrpc-c must read the body rpcflat accepted to the same thing. */
static void check_xmlrpc(const char *xml, size_t len, const rpcflat_msg *m, bool call)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    if (call) {
        const char *method = NULL;
        xmlrpc_value *params = NULL;
        xmlrpc_parse_call(&env, xml, len, &method, &params);
        if (env.fault_occurred) {
            fprintf(stderr, "xmlrpc-c: %s\n", env.fault_string);
            fail("rpcflat accepted a call xmlrpc-c refuses");
        }
        if (!method || strcmp(method, rpcflat_method(m)) != 0)
            fail("xmlrpc-c reads another method name");
        check_array(params, m);
        xmlrpc_DECREF(params);
        free((void *)method);
    } else {
        xmlrpc_value *result = NULL;
        int code = 0;
        const char *fault = NULL;
        xmlrpc_parse_response2(&env, xml, len, &result, &code, &fault);
        if (env.fault_occurred) {
            fprintf(stderr, "xmlrpc-c: %s\n", env.fault_string);
            fail("rpcflat accepted a response xmlrpc-c refuses");
        }
        if (fault)
            fail("rpcflat accepted a fault");
        check_array(result, m);
        xmlrpc_DECREF(result);
    }
    xmlrpc_env_clean(&env);
}

static void run(const char *xml, size_t len, bool call)
{
    /* An exact copy: ASan sees any read past the end. */
    char *copy = xmalloc(len ? len : 1);
    if (len)
        memcpy(copy, xml, len);
    int rc = call ? rpcflat_parse_call(msg, copy, len) : rpcflat_parse_response(msg, copy, len);
    if (rc != 0 && rc != -1)
        fail("parse returned neither 0 nor -1");
    if (rc < 0) {
        if (rpcflat_count(msg) != 0 || rpcflat_method(msg)[0] != '\0')
            fail("a failed parse left values behind");
    } else {
        if (!call && rpcflat_method(msg)[0] != '\0')
            fail("a response with a method name");
        if (call && rpcflat_method(msg)[0] == '\0')
            fail("a call without a method name");
        check_msg(msg);
        check_reencode(msg, call);
        check_xmlrpc(copy, len, msg, call);
    }
    free(copy);
}

static void put_str(buf *b, const char *s) { buf_append(b, s, strlen(s)); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!msg) {
        msg = rpcflat_msg_new();
        again = rpcflat_msg_new();
        buf_init(&out);
    }
    if (size && data[0] == '<') {
        run((const char *)data, size, true);
        run((const char *)data, size, false);
        return 0;
    }
    const uint8_t *v = size ? data + 1 : data;
    size_t vn = size ? size - 1 : 0;
    buf b;
    buf_init(&b);
    put_str(&b, "<?xml version=\"1.0\"?><methodCall><methodName>m.x_1</methodName><params>"
                "<param><value>");
    buf_append(&b, v, vn);
    put_str(&b, "</value></param></params></methodCall>");
    run((const char *)buf_head(&b), buf_unread(&b), true);
    buf_clear(&b);
    put_str(&b, "<methodResponse><params><param><value><array><data><value>");
    buf_append(&b, v, vn);
    put_str(&b, "</value></data></array></value></param></params></methodResponse>");
    run((const char *)buf_head(&b), buf_unread(&b), false);
    buf_free(&b);
    return 0;
}
