/* Fuzzes the path every RPC frame takes into a daemon: wire_decode over a
 * stream of frames, then the body screen (rpc_body_check), then, for a
 * body the screen passes, xmlrpc-c's parser and rpcflat's. Oracles:
 * - nothing the screen passes may crash xmlrpc-c (which builds and frees
 *   its element tree recursively) or stall it (libFuzzer's -timeout);
 * - the expat parser inside xmlrpc-c, run on a passed body with handlers,
 *   never sees elements nested deeper than RPC_MAX_DEPTH, more elements
 *   than the bound the screen was given, a DOCTYPE or a processing
 *   instruction: the screen's one-pass count must agree with a real
 *   parser up to the parser's first error;
 * - rpcflat returns 0 or -1 and reads nothing outside the body.
 *
 * An input is a stream of frames; when none decodes, the whole input is
 * one body. An input starting with 'N' describes deep nesting, which a
 * mutator rarely builds: N, two bytes of depth (big-endian), one byte
 * choosing the element that repeats, then the text that goes in the
 * middle. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmlrpc-c/base.h>

#include "../../common/rpc.h"
#include "../../common/rpcflat.h"
#include "../../common/wire.h"
#include "../../common/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The expat fork inside libxmlrpc_xmlparse. Its header is not installed;
 * these are the expat 1.x calls, whose signatures expat has kept. The
 * length is declared size_t: right whether the library takes an int or a
 * size_t, for bodies below 2 GiB. check_oracle_works proves them at start. */
typedef void *expat_parser;
typedef void (*expat_start_fn)(void *user, const char *name, const char **atts);
typedef void (*expat_end_fn)(void *user, const char *name);
typedef void (*expat_doctype_fn)(void *user, const char *name);
typedef void (*expat_doctype_end_fn)(void *user);
typedef void (*expat_pi_fn)(void *user, const char *target, const char *data);
expat_parser xmlrpc_XML_ParserCreate(const char *encoding);
void xmlrpc_XML_ParserFree(expat_parser p);
void xmlrpc_XML_SetUserData(expat_parser p, void *user);
void xmlrpc_XML_SetElementHandler(expat_parser p, expat_start_fn start, expat_end_fn end);
void xmlrpc_XML_SetDoctypeDeclHandler(expat_parser p, expat_doctype_fn start,
                                      expat_doctype_end_fn end);
void xmlrpc_XML_SetProcessingInstructionHandler(expat_parser p, expat_pi_fn pi);
int xmlrpc_XML_Parse(expat_parser p, const char *s, size_t len, int final);

typedef struct seen {
    unsigned depth, max_depth;
    size_t elements;
    bool doctype, pi;
} seen;

static void on_start(void *user, const char *name, const char **atts)
{
    (void)name;
    (void)atts;
    seen *s = user;
    s->elements++;
    if (++s->depth > s->max_depth)
        s->max_depth = s->depth;
}

static void on_end(void *user, const char *name)
{
    (void)name;
    ((seen *)user)->depth--;
}

static void on_doctype(void *user, const char *name)
{
    (void)name;
    ((seen *)user)->doctype = true;
}

static void on_doctype_end(void *user) { (void)user; }

static void on_pi(void *user, const char *target, const char *pi_data)
{
    (void)target;
    (void)pi_data;
    ((seen *)user)->pi = true;
}

static seen expat_sees(const char *xml, size_t len)
{
    seen s = {0};
    expat_parser p = xmlrpc_XML_ParserCreate(NULL);
    if (!p)
        abort();
    xmlrpc_XML_SetUserData(p, &s);
    xmlrpc_XML_SetElementHandler(p, on_start, on_end);
    xmlrpc_XML_SetDoctypeDeclHandler(p, on_doctype, on_doctype_end);
    xmlrpc_XML_SetProcessingInstructionHandler(p, on_pi);
    xmlrpc_XML_Parse(p, xml, len, 1);
    xmlrpc_XML_ParserFree(p);
    return s;
}

/* The oracle must see what it should, or every run would pass vacuously. */
static void check_oracle_works(void)
{
    static const char doc[] = "<?xml version=\"1.0\"?><!DOCTYPE a><a><b><c/></b><?p x?><b/></a>";
    seen s = expat_sees(doc, sizeof doc - 1);
    if (s.max_depth != 3 || s.elements != 4 || !s.doctype || !s.pi || s.depth != 0) {
        fprintf(stderr, "expat oracle: depth %u, %zu elements, doctype %d, pi %d\n", s.max_depth,
                s.elements, s.doctype, s.pi);
        abort();
    }
}

static rpcflat_msg *msg;

static void check_body(const char *body, size_t len)
{
    /* An exact copy: ASan sees any read past the end. */
    char *xml = xmalloc(len ? len : 1);
    memcpy(xml, body, len);
    /* The bound a daemon gives calls, and a small one that inputs reach. */
    static const size_t bounds[] = {RPC_MAX_CALL_ELEMENTS, 40};
    bool passed = false;
    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
        dkv_err err;
        if (rpc_body_check(xml, len, bounds[b], &err) < 0)
            continue;
        passed = true;
        seen s = expat_sees(xml, len);
        if (s.max_depth > RPC_MAX_DEPTH || s.elements > bounds[b] || s.doctype || s.pi) {
            fprintf(stderr, "screen passed: depth %u, %zu elements (bound %zu), doctype %d, pi %d\n",
                    s.max_depth, s.elements, bounds[b], s.doctype, s.pi);
            abort();
        }
    }
    if (passed) {
        xmlrpc_env env;
        xmlrpc_env_init(&env);
        const char *method = NULL;
        xmlrpc_value *params = NULL;
        xmlrpc_parse_call(&env, xml, len, &method, &params);
        if (!env.fault_occurred) {
            xmlrpc_DECREF(params);
            free((void *)method);
        }
        xmlrpc_env_clean(&env);
        xmlrpc_env_init(&env);
        xmlrpc_value *result = NULL;
        int code = 0;
        const char *fault = NULL;
        xmlrpc_parse_response2(&env, xml, len, &result, &code, &fault);
        if (result)
            xmlrpc_DECREF(result);
        free((void *)fault);
        xmlrpc_env_clean(&env);
    }
    /* rpcflat reads before the screen in a daemon: any body. */
    int rc = rpcflat_parse_call(msg, xml, len);
    int rr = rpcflat_parse_response(msg, xml, len);
    if ((rc != 0 && rc != -1) || (rr != 0 && rr != -1))
        abort();
    free(xml);
}

static const char *const repeats[][2] = {
    {"<value>", "</value>"},
    {"<array><data><value>", "</value></data></array>"},
    {"<a>", "</a>"},
    {"<struct><member><name>n</name><value>", "</value></member></struct>"},
    {"<a x='>'>", "</a>"},
    {"<!--<a>--><a>", "</a>"},
};

static void nested(const uint8_t *data, size_t size)
{
    if (size < 4)
        return;
    size_t depth = (size_t)data[1] << 8 | data[2];
    const char *const *r = repeats[data[3] % (sizeof repeats / sizeof repeats[0])];
    buf b;
    buf_init(&b);
    static const char head[] =
        "<?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params><param>";
    static const char tail[] = "</param></params></methodCall>";
    buf_append(&b, head, sizeof head - 1);
    for (size_t i = 0; i < depth; i++)
        buf_append(&b, r[0], strlen(r[0]));
    buf_append(&b, data + 4, size - 4);
    for (size_t i = 0; i < depth; i++)
        buf_append(&b, r[1], strlen(r[1]));
    buf_append(&b, tail, sizeof tail - 1);
    check_body((const char *)buf_head(&b), buf_unread(&b));
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!msg) {
        check_oracle_works();
        msg = rpcflat_msg_new();
    }
    if (size && data[0] == 'N') {
        nested(data, size);
        return 0;
    }
    int frames = 0;
    wire_frame f;
    size_t used;
    for (size_t off = 0; wire_decode(data + off, size - off, &f, &used, NULL) == 1; off += used) {
        check_body((const char *)f.body, f.body_len);
        frames++;
    }
    if (frames == 0)
        check_body((const char *)data, size);
    return 0;
}
