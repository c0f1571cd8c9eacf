/* Fuzzes the XML-RPC argument validators the daemons run on every request:
 * a call body goes through xmlrpc_parse_call, and every rpcargs helper is
 * run on every parameter (and one past the end). Each helper must either
 * succeed with a value within its bounds and no fault, or fail with -1 and a
 * fault set; everything it hands out is freed, so LeakSanitizer sees leaks.
 *
 * xmlrpc-c is not instrumented, so libFuzzer gets no coverage from inside
 * the parser and would almost never assemble a valid call from nothing. So
 * an input starting with '<' is the call body as it is, and any other input
 * describes one: after a first byte (the method name's length), each
 * parameter is a type byte, a length byte and that many bytes of content,
 * written unescaped into the element, so the content can still be anything
 * (digits, base64, entities, '<', control bytes).
 *
 * xmlrpc-c 1.33 (Debian 12) itself crashes (SIGSEGV in the fault message of
 * its <i8> parser) on an <i8> or <ex:i8> element whose content is not a
 * valid 64-bit decimal, e.g. <i8>x</i8>, <i8>1x</i8>, <i8>-</i8> or
 * <i8>99999999999999999999</i8>. tests/test_rpcserve.c holds that as a
 * crash of the daemons, which screen every body with rpc_body_is_safe first;
 * this target applies the same screen, so it also checks that whatever the
 * screen lets through does not crash the library. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xmlrpc-c/base.h>

#include "../../common/buf.h"

#include "../../common/ids.h"
#include "../../common/rpc.h"
#include "../../common/rpcargs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fresh env per helper call, as in the daemons' method handlers. Checks
 * that rc and env agree. */
#define CHECKED(rc_expr, env)                                                                      \
    do {                                                                                           \
        int rc_ = (rc_expr);                                                                       \
        if (rc_ != 0 && rc_ != -1)                                                                 \
            abort();                                                                               \
        if ((rc_ == 0) == ((env)->fault_occurred != 0))                                            \
            abort();                                                                               \
    } while (0)

static void check_item(xmlrpc_value *params, int i)
{
    xmlrpc_env env;

    xmlrpc_env_init(&env);
    uint64_t id = UINT64_MAX;
    int rc = rpcargs_id(&env, params, i, &id);
    CHECKED(rc, &env);
    if (rc == 0 && id > DKV_ID_MAX)
        abort();
    xmlrpc_env_clean(&env);

    static const int64_t bounds[][2] = {
        {INT64_MIN, INT64_MAX}, {0, 65535}, {-5, 5}, {1, 0} /* empty range */,
    };
    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
        xmlrpc_env_init(&env);
        int64_t x = 0;
        rc = rpcargs_int(&env, params, i, bounds[b][0], bounds[b][1], &x);
        CHECKED(rc, &env);
        if (rc == 0 && (x < bounds[b][0] || x > bounds[b][1]))
            abort();
        xmlrpc_env_clean(&env);
    }

    static const size_t maxes[] = {0, 3, 64, SIZE_MAX};
    for (size_t k = 0; k < sizeof maxes / sizeof maxes[0]; k++) {
        xmlrpc_env_init(&env);
        unsigned char *bytes = NULL;
        size_t len = SIZE_MAX;
        rc = rpcargs_bytes(&env, params, i, maxes[k], &bytes, &len);
        CHECKED(rc, &env);
        if (rc == 0) {
            if (len > maxes[k] || (len && !bytes))
                abort();
            if (len) /* touch every byte: ASan checks the length */
                bytes[len - 1] = bytes[0];
            free(bytes);
        }
        xmlrpc_env_clean(&env);

        xmlrpc_env_init(&env);
        char *str = NULL;
        rc = rpcargs_string(&env, params, i, maxes[k], &str);
        CHECKED(rc, &env);
        if (rc == 0) {
            if (!str)
                abort();
            size_t n = strlen(str);
            if (n > maxes[k])
                abort();
            for (size_t c = 0; c < n; c++)
                if ((unsigned char)str[c] < 0x20)
                    abort();
            free(str);
        }
        xmlrpc_env_clean(&env);
    }

    /* Result structs: the item itself, when there is one. */
    xmlrpc_env_init(&env);
    xmlrpc_value *v = NULL;
    xmlrpc_array_read_item(&env, params, (unsigned)i, &v);
    int ok = !env.fault_occurred;
    xmlrpc_env_clean(&env);
    if (ok && v) {
        static const char *names[] = {"port", "pid", "", "x"};
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            xmlrpc_env_init(&env);
            int64_t x;
            rc = rpcargs_struct_int(&env, v, names[k], &x);
            if (rc != 0 && rc != -1)
                abort();
            xmlrpc_env_clean(&env);
        }
        xmlrpc_DECREF(v);
    }
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
    {"<value><struct><member><name>", "</name><value><i8>1</i8></value></member></struct></value>"},
    {"<value><array><data><value><i4>", "</i4></value></data></array></value>"},
    {"<value><boolean>", "</boolean></value>"},
    {"<value><double>", "</double></value>"},
    {"<value><nil/>", "</value>"},
    {"<value><dateTime.iso8601>", "</dateTime.iso8601></value>"},
};
#define NWRAPS (sizeof wraps / sizeof wraps[0])

static void put_str(buf *b, const char *s) { buf_append(b, s, strlen(s)); }

/* Builds a call body from the description in data (see the top). */
static void describe(buf *b, const uint8_t *data, size_t size)
{
    put_str(b, "<?xml version=\"1.0\"?><methodCall><methodName>");
    size_t name_len = size ? data[0] % 8 : 0;
    buf_append(b, "putstore", name_len);
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

static void run_call(const char *xml, size_t len)
{
    /* The daemons' own screen (common/rpc.c): what it lets through must
     * never crash xmlrpc-c. */
    if (!rpc_body_is_safe(xml, len))
        return;
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    const char *method = NULL;
    xmlrpc_value *params = NULL;
    xmlrpc_parse_call(&env, xml, len, &method, &params);
    if (env.fault_occurred) {
        xmlrpc_env_clean(&env);
        return;
    }
    xmlrpc_env_clean(&env);

    xmlrpc_env_init(&env);
    int n = xmlrpc_array_size(&env, params);
    if (env.fault_occurred)
        abort(); /* xmlrpc_parse_call promises an array */
    xmlrpc_env_clean(&env);
    const int wants[] = {0, 1, 2, 3, n - 1, n, n + 1};
    for (size_t w = 0; w < sizeof wants / sizeof wants[0]; w++) {
        xmlrpc_env_init(&env);
        int rc = rpcargs_count(&env, params, wants[w]);
        CHECKED(rc, &env);
        if ((rc == 0) != (wants[w] == n))
            abort();
        xmlrpc_env_clean(&env);
    }
    int last = n < 16 ? n : 16; /* one past the end when n is small */
    for (int i = 0; i <= last; i++)
        check_item(params, i);
    if (n > 16)
        check_item(params, n); /* past the end of a long array */

    xmlrpc_DECREF(params);
    free((void *)method);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size && data[0] == '<') {
        run_call((const char *)data, size);
        return 0;
    }
    buf b;
    buf_init(&b);
    describe(&b, data, size);
    run_call((const char *)buf_head(&b), buf_unread(&b));
    buf_free(&b);
    return 0;
}
