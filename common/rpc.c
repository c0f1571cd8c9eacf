#define _GNU_SOURCE
#include "rpc.h"
#include "xalloc.h"

#include <poll.h>
#include <stdbool.h>
#include <strings.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "net.h"
#include "rpcargs.h"

struct rpc_client {
    char host[256];
    uint16_t port;
    int timeout_ms;
    int fd;
    buf in, out;
};

/* Every body is screened before it reaches xmlrpc-c, which is not safe on
 * hostile input:
 * - it crashes (inside its own error reporting) on an <i8> whose text is
 *   not a valid 64-bit decimal: every i8 element must hold -?[0-9]{1,19}
 *   within range;
 * - it builds, and frees, its element tree recursively: a body nested
 *   100,000 deep overflows the stack, so nesting is bounded (RPC_MAX_DEPTH);
 * - its parser expands internal entities without limit (a 533-byte
 *   "billion laughs" body stalls a daemon for seconds): no DOCTYPE or other
 *   markup declaration is accepted, nor a reference to an entity other than
 *   the five predefined ones or a character reference, nor a processing
 *   instruction other than the leading XML declaration;
 * - its element tree costs some 200 bytes per element: a 30 MB call of a
 *   million tiny elements took a server to 700 MB, so a call (not a reply:
 *   the master reads dump pages of many small entries) may hold at most
 *   RPC_MAX_CALL_ELEMENTS elements;
 * - only 8-bit XML is read as we mean it: no NUL, no byte-order mark, no
 *   declared encoding other than UTF-8.
 * XML-RPC needs none of what is refused, and our encoders never write it.
 * One pass, no recursion: comments and CDATA sections are skipped whole, and
 * tags are scanned to their '>' with quoted attribute values honoured, so
 * the depth counted here is the depth the parser reaches before it stops at
 * the first error, if any. */
static bool is_xml_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static bool i8_text_ok(const char *p, size_t n)
{
    size_t i = 0;
    bool neg = n > 0 && p[0] == '-';
    if (neg)
        i++;
    if (n - i < 1 || n - i > 19)
        return false;
    unsigned long long v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (9223372036854775808ULL - d) / 10)
            return false;
        v = v * 10 + d;
    }
    return neg ? v <= 9223372036854775808ULL : v <= 9223372036854775807ULL;
}

static bool starts(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* Length of the reference at p ('&'): a predefined entity or a character
 * reference; 0 for anything else. */
static size_t reference_len(const char *p, const char *end)
{
    static const char *const predefined[] = {"&lt;", "&gt;", "&amp;", "&quot;", "&apos;"};
    for (size_t k = 0; k < sizeof predefined / sizeof predefined[0]; k++)
        if (starts(p, end, predefined[k]))
            return strlen(predefined[k]);
    const char *q = p + 1;
    if (q >= end || *q != '#')
        return 0;
    q++;
    bool hex = q < end && *q == 'x';
    if (hex)
        q++;
    const char *digits = q;
    while (q < end && q - digits < 8 &&
           ((*q >= '0' && *q <= '9') ||
            (hex && ((*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F')))))
        q++;
    return q > digits && q < end && *q == ';' ? (size_t)(q + 1 - p) : 0;
}

/* Checks every reference in [p, end). */
static int references_ok(const char *p, const char *end, dkv_err *err)
{
    for (const char *amp; p < end && (amp = memchr(p, '&', (size_t)(end - p)));) {
        size_t n = reference_len(amp, end);
        if (n == 0)
            return dkv_err_set(err, "a reference to an undefined entity");
        p = amp + n;
    }
    return 0;
}

/* The leading XML declaration (the only processing instruction accepted),
 * which may declare UTF-8 and nothing else. Returns where the body goes on. */
static const char *xml_declaration(const char *xml, const char *end, dkv_err *err)
{
    if (!starts(xml, end, "<?"))
        return xml;
    const char *close = memmem(xml, (size_t)(end - xml), "?>", 2);
    if (!starts(xml, end, "<?xml") || xml + 5 >= end || !is_xml_space(xml[5]) || !close) {
        dkv_err_set(err, "processing instructions are not accepted");
        return NULL;
    }
    const char *enc = memmem(xml, (size_t)(close - xml), "encoding", 8);
    if (enc) {
        const char *q = enc + 8;
        while (q < close && (is_xml_space(*q) || *q == '=' || *q == '"' || *q == '\''))
            q++;
        if (close - q < 5 || strncasecmp(q, "UTF-8", 5) != 0) {
            dkv_err_set(err, "only UTF-8 is accepted");
            return NULL;
        }
    }
    return close + 2;
}

/* An <i8> or <ex:i8> start tag [name, gt): no attributes, and its content
 * plain text (the parser joins text across comments and CDATA sections, so
 * the next markup must be the element's end tag) holding a valid 64-bit
 * decimal. */
static int i8_ok(const char *name, const char *gt, const char *end, dkv_err *err)
{
    size_t nl = starts(name, gt, "ex:i8") ? 5 : starts(name, gt, "i8") ? 2 : 0;
    if (nl == 0 || (name + nl < gt && !is_xml_space(name[nl]) && name[nl] != '/'))
        return 0; /* another element, e.g. <i8x> */
    for (const char *q = name + nl; q < gt; q++)
        if (!is_xml_space(*q))
            return dkv_err_set(err, "an i8 element with attributes or without text");
    const char *text = gt + 1;
    const char *close = memchr(text, '<', (size_t)(end - text));
    if (!close || !i8_text_ok(text, (size_t)(close - text)) || !starts(close + 1, end, "/") ||
        !starts(close + 2, end, nl == 5 ? "ex:i8" : "i8"))
        return dkv_err_set(err, "an i8 element that is not a 64-bit integer");
    return 0;
}

int rpc_body_check(const char *xml, size_t len, size_t max_elements, dkv_err *err)
{
    if (memchr(xml, '\0', len))
        return dkv_err_set(err, "a NUL byte");
    if ((len >= 2 && (unsigned char)xml[0] >= 0xfe) || (len >= 3 && (unsigned char)xml[0] == 0xef))
        return dkv_err_set(err, "a byte-order mark (only 8-bit XML is accepted)");
    const char *end = xml + len;
    const char *p = xml_declaration(xml, end, err);
    if (!p)
        return -1;
    unsigned depth = 0;
    size_t elements = 0;
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (references_ok(p, lt ? lt : end, err) < 0)
            return -1;
        if (!lt)
            break;
        p = lt + 1;
        if (starts(p, end, "!--")) {
            const char *close = memmem(p + 3, (size_t)(end - p - 3), "-->", 3);
            if (!close)
                return dkv_err_set(err, "an unterminated comment");
            p = close + 3;
            continue;
        }
        if (starts(p, end, "![CDATA[")) {
            const char *close = memmem(p + 8, (size_t)(end - p - 8), "]]>", 3);
            if (!close)
                return dkv_err_set(err, "an unterminated CDATA section");
            p = close + 3;
            continue;
        }
        if (starts(p, end, "!"))
            return dkv_err_set(err, "a DOCTYPE or markup declaration");
        if (starts(p, end, "?"))
            return dkv_err_set(err, "processing instructions are not accepted");
        bool closing = starts(p, end, "/");
        const char *name = closing ? p + 1 : p;
        /* To the tag's '>': a quoted attribute value may hold '>' (and
         * references), never '<'. */
        const char *q = name;
        char quote = 0;
        for (; q < end; q++) {
            if (*q == '<')
                return dkv_err_set(err, "'<' inside a tag");
            if (quote) {
                if (*q == quote)
                    quote = 0;
                else if (*q == '&' && reference_len(q, end) == 0)
                    return dkv_err_set(err, "a reference to an undefined entity");
            } else if (*q == '"' || *q == '\'') {
                quote = *q;
            } else if (*q == '>') {
                break;
            }
        }
        if (q >= end)
            return dkv_err_set(err, "an unterminated tag");
        if (closing) {
            if (depth == 0)
                return dkv_err_set(err, "an end tag without a start tag");
            depth--;
        } else {
            if (depth + 1 > RPC_MAX_DEPTH)
                return dkv_err_set(err, "elements nested deeper than %d levels", RPC_MAX_DEPTH);
            if (++elements > max_elements)
                return dkv_err_set(err, "more than %zu elements", max_elements);
            if (q[-1] != '/') /* not an empty-element tag */
                depth++;
            if (i8_ok(name, q, end, err) < 0)
                return -1;
        }
        p = q + 1;
    }
    return 0;
}

bool rpc_body_is_safe(const char *xml, size_t len)
{
    dkv_err err;
    return rpc_body_check(xml, len, SIZE_MAX, &err) == 0;
}

void rpc_global_init(void)
{
    xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, WIRE_MAX_FRAME);
}

rpc_client *rpc_client_new(const char *host, uint16_t port, int timeout_ms)
{
    rpc_client *c = xcalloc(1, sizeof *c);
    snprintf(c->host, sizeof c->host, "%s", host);
    c->port = port;
    c->timeout_ms = timeout_ms;
    c->fd = -1;
    buf_init(&c->in);
    buf_init(&c->out);
    return c;
}

static void drop_connection(rpc_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    buf_clear(&c->in);
}

void rpc_client_free(rpc_client *c)
{
    if (!c)
        return;
    drop_connection(c);
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
}

/* A kept-alive connection whose peer went away reads as EOF: find that out
 * before sending, so a request is never sent into a dead socket (and never
 * retried after it may have been executed). */
static void drop_if_stale(rpc_client *c)
{
    if (c->fd < 0)
        return;
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    if (poll(&pfd, 1, 0) > 0)
        drop_connection(c);
}

/* Consumes a reply frame unless the connection was dropped meanwhile
 * (which empties the input buffer). */
static void finish_reply(rpc_client *c, size_t used)
{
    if (c->fd >= 0)
        buf_consume(&c->in, used);
}

/* One scalar decoded by xmlrpc-c, as a flat value. Bytes and strings are
 * malloc'ed by xmlrpc-c: release them with flat_scalar_done. */
static int flat_scalar(xmlrpc_env *env, xmlrpc_value *v, rpcflat_val *out)
{
    *out = rpcflat_int(0);
    switch (xmlrpc_value_type(v)) {
    case XMLRPC_TYPE_I8: {
        xmlrpc_int64 i;
        xmlrpc_read_i8(env, v, &i);
        *out = rpcflat_int(i);
        break;
    }
    case XMLRPC_TYPE_INT: {
        int i;
        xmlrpc_read_int(env, v, &i);
        *out = rpcflat_int(i);
        break;
    }
    case XMLRPC_TYPE_BOOL: {
        xmlrpc_bool b;
        xmlrpc_read_bool(env, v, &b);
        *out = rpcflat_bool(b);
        break;
    }
    case XMLRPC_TYPE_BASE64: {
        const unsigned char *p = NULL;
        size_t n = 0;
        xmlrpc_read_base64(env, v, &n, &p);
        *out = rpcflat_bytes(p, n);
        break;
    }
    case XMLRPC_TYPE_STRING: {
        const char *p = NULL;
        size_t n = 0;
        xmlrpc_read_string_lp(env, v, &n, &p);
        *out = (rpcflat_val){.type = RPCFLAT_STRING, .p = (const uint8_t *)p, .n = n};
        break;
    }
    default: return -1;
    }
    return env->fault_occurred ? -1 : 0;
}

static void flat_scalar_done(rpcflat_val *v)
{
    if (v->type == RPCFLAT_BYTES || v->type == RPCFLAT_STRING)
        free((void *)v->p);
    v->p = NULL;
}

/* Sends the body (already framed in c->out) and reads the reply frame.
 * On success *f points into c->in; the caller consumes *used bytes. */
static int exchange(rpc_client *c, const char *method, wire_frame *f, size_t *used,
                    dkv_err *err)
{
    int64_t deadline = net_now_us() + (int64_t)c->timeout_ms * 1000;
    drop_if_stale(c);
    if (c->fd < 0) {
        int remaining_ms = (int)((deadline - net_now_us()) / 1000);
        c->fd = net_connect(c->host, c->port, remaining_ms > 0 ? remaining_ms : 1, err);
        if (c->fd < 0)
            return -1;
    }
    if (net_write_all(c->fd, buf_head(&c->out), buf_unread(&c->out), deadline, err) < 0 ||
        net_read_frame(c->fd, &c->in, f, used, deadline, err) < 0) {
        drop_connection(c);
        return dkv_err_wrap(err, "%s to %s:%u", method, c->host, c->port);
    }
    if (f->kind != WIRE_REPLY) {
        drop_connection(c);
        return dkv_err_set(err, "%s to %s:%u: unexpected frame kind", method, c->host, c->port);
    }
    return 0;
}

/* Decodes a reply body with xmlrpc-c. A fault becomes -1 with its string;
 * a body xmlrpc-c cannot read drops the connection. */
static int parse_with_xmlrpc(rpc_client *c, const char *method, const wire_frame *f,
                             xmlrpc_value **result, dkv_err *err)
{
    dkv_err why;
    if (rpc_body_check((const char *)f->body, f->body_len, SIZE_MAX, &why) < 0) {
        drop_connection(c);
        return dkv_err_set(err, "%s to %s:%u: malformed reply: %s", method, c->host, c->port,
                           why.msg);
    }
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    int fault_code = 0;
    const char *fault_string = NULL;
    xmlrpc_parse_response2(&env, (const char *)f->body, f->body_len, result, &fault_code,
                           &fault_string);
    int rc = 0;
    if (env.fault_occurred) {
        /* The connection stays usable only while replies make sense. */
        dkv_err_set(err, "%s: %s", method, env.fault_string);
        drop_connection(c);
        rc = -1;
    } else if (fault_string) {
        dkv_err_set(err, "%s", fault_string);
        free((void *)fault_string);
        rc = -1;
    }
    xmlrpc_env_clean(&env);
    return rc;
}

int rpc_call(rpc_client *c, const char *method, xmlrpc_value *params, xmlrpc_value **result,
             dkv_err *err)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_mem_block *xml = xmlrpc_mem_block_new(&env, 0);
    if (!env.fault_occurred)
        xmlrpc_serialize_call2(&env, xml, method, params, xmlrpc_dialect_i8);
    if (env.fault_occurred) {
        dkv_err_set(err, "%s: %s", method, env.fault_string);
        if (xml)
            xmlrpc_mem_block_free(xml);
        xmlrpc_env_clean(&env);
        return -1;
    }
    buf_clear(&c->out);
    wire_encode(&c->out, WIRE_CALL, NULL, 0, xmlrpc_mem_block_contents(xml),
                xmlrpc_mem_block_size(xml));
    xmlrpc_mem_block_free(xml);
    xmlrpc_env_clean(&env);

    wire_frame f;
    size_t used;
    if (exchange(c, method, &f, &used, err) < 0)
        return -1;
    int rc = parse_with_xmlrpc(c, method, &f, result, err);
    finish_reply(c, used);
    return rc;
}

/* xmlrpc-c decoded a result: it must be an array of scalars. */
static int flat_from_xmlrpc(xmlrpc_value *v, rpcflat_msg *m)
{
    rpcflat_msg_reset(m);
    if (xmlrpc_value_type(v) != XMLRPC_TYPE_ARRAY)
        return -1;
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    int size = xmlrpc_array_size(&env, v);
    int rc = env.fault_occurred ? -1 : 0;
    for (int i = 0; i < size && rc == 0; i++) {
        xmlrpc_value *item = NULL;
        xmlrpc_array_read_item(&env, v, i, &item);
        rpcflat_val fv = rpcflat_int(0);
        if (env.fault_occurred || flat_scalar(&env, item, &fv) < 0 || rpcflat_msg_add(m, fv) < 0)
            rc = -1;
        flat_scalar_done(&fv);
        if (item)
            xmlrpc_DECREF(item);
    }
    xmlrpc_env_clean(&env);
    if (rc < 0)
        rpcflat_msg_reset(m);
    return rc;
}

int rpc_call_flat(rpc_client *c, const char *method, const rpcflat_val *args, size_t n,
                  rpcflat_msg *reply, dkv_err *err)
{
    buf_clear(&c->out);
    size_t start = wire_begin(&c->out, WIRE_CALL);
    rpcflat_encode_call(&c->out, method, args, n);
    wire_finish(&c->out, start);

    wire_frame f;
    size_t used;
    if (exchange(c, method, &f, &used, err) < 0)
        return -1;
    int rc = rpcflat_parse_response(reply, (const char *)f.body, f.body_len);
    if (rc == RPCFLAT_NO_MEMORY) {
        rc = dkv_err_set(err, "%s to %s:%u: out of memory for the reply", method, c->host,
                         c->port);
    } else if (rc < 0) {
        xmlrpc_value *result = NULL;
        rc = parse_with_xmlrpc(c, method, &f, &result, err);
        if (rc == 0 && flat_from_xmlrpc(result, reply) < 0)
            rc = dkv_err_set(err, "%s to %s:%u: the result is not a list of scalars", method,
                             c->host, c->port);
        if (result)
            xmlrpc_DECREF(result);
    }
    finish_reply(c, used);
    return rc;
}

xmlrpc_value *rpc_callf(rpc_client *c, dkv_err *err, const char *method, const char *format,
                        ...)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    va_list ap;
    va_start(ap, format);
    xmlrpc_value *params = NULL;
    const char *tail = NULL;
    xmlrpc_build_value_va(&env, format, ap, &params, &tail);
    va_end(ap);
    if (env.fault_occurred) {
        dkv_err_set(err, "%s: cannot build arguments: %s", method, env.fault_string);
        xmlrpc_env_clean(&env);
        return NULL;
    }
    xmlrpc_env_clean(&env);
    xmlrpc_value *result = NULL;
    int rc = rpc_call(c, method, params, &result, err);
    xmlrpc_DECREF(params);
    return rc == 0 ? result : NULL;
}

struct rpc_server {
    xmlrpc_registry *registry;
    const rpc_flat_method *flat;
    size_t n_flat;
    rpcflat_msg *args; /* reused for every flat call */
};

static const rpc_flat_method *find_flat(const rpc_server *s, const char *name)
{
    for (size_t i = 0; i < s->n_flat; i++)
        if (strcmp(s->flat[i].name, name) == 0)
            return &s->flat[i];
    return NULL;
}

/* A call of fm with n arguments: -1 with err when fm takes another number. */
static int check_arity(const rpc_flat_method *fm, size_t n, dkv_err *err)
{
    size_t want = fm->types ? strlen(fm->types) : 0;
    if (!fm->types || n == want)
        return 0;
    return dkv_err_set(err, "%s takes %zu argument%s, got %zu", fm->name, want,
                       want == 1 ? "" : "s", n);
}

/* Runs a flat method: the reply's values, or -1 with a fault code. */
static int run_flat(const rpc_flat_method *fm, void *call_info, const rpcflat_msg *args,
                    rpc_flat_reply *reply, dkv_err *err)
{
    memset(reply, 0, sizeof *reply);
    if (fm->types && (check_arity(fm, rpcflat_count(args), err) < 0 ||
                      rpc_flat_args(args, fm->types, reply, err) < 0)) {
        reply->fault_code = RPCARGS_BAD_REQUEST;
        return -1;
    }
    if (fm->fn(call_info, args, reply, err) < 0) {
        if (reply->fault_code == 0)
            reply->fault_code = RPCARGS_FAILED;
        return -1;
    }
    return 0;
}

static const char *non_scalar_name(xmlrpc_value *v)
{
    switch (v ? xmlrpc_value_type(v) : XMLRPC_TYPE_DEAD) {
    case XMLRPC_TYPE_ARRAY: return "an array";
    case XMLRPC_TYPE_STRUCT: return "a struct";
    case XMLRPC_TYPE_DOUBLE: return "a double";
    case XMLRPC_TYPE_DATETIME: return "a date";
    case XMLRPC_TYPE_NIL: return "nil";
    default: return "a value of another type";
    }
}

/* A flat method reached through xmlrpc-c (a body rpcflat does not read):
 * the same method on the same values, the result as an xmlrpc-c array. */
static xmlrpc_value *flat_adapter(xmlrpc_env *env, xmlrpc_value *params, void *server_info,
                                  void *call_info)
{
    const rpc_flat_method *fm = server_info;
    rpcflat_msg *args = rpcflat_msg_new();
    xmlrpc_value *result = NULL;
    int size = xmlrpc_array_size(env, params);
    dkv_err arity;
    if (!env->fault_occurred && check_arity(fm, (size_t)size, &arity) < 0)
        xmlrpc_env_set_fault(env, RPCARGS_BAD_REQUEST, arity.msg);
    else if (!env->fault_occurred && size > RPCFLAT_MAX_CALL_VALS)
        xmlrpc_env_set_fault_formatted(env, RPCARGS_BAD_REQUEST,
                                       "%s takes at most %d arguments, got %d", fm->name,
                                       RPCFLAT_MAX_CALL_VALS, size);
    for (int i = 0; i < size && !env->fault_occurred; i++) {
        xmlrpc_value *item = NULL;
        xmlrpc_array_read_item(env, params, i, &item);
        rpcflat_val v = rpcflat_int(0);
        int added = 0;
        if (!env->fault_occurred && flat_scalar(env, item, &v) < 0 && !env->fault_occurred)
            xmlrpc_env_set_fault_formatted(env, RPCARGS_BAD_REQUEST,
                                           "argument %d: expected a scalar, got %s", i + 1,
                                           non_scalar_name(item));
        else if (!env->fault_occurred && (added = rpcflat_msg_add(args, v)) < 0)
            xmlrpc_env_set_fault(env, RPCARGS_FAILED,
                                 added == RPCFLAT_NO_MEMORY ? "out of memory for the request"
                                                            : "too many arguments");
        flat_scalar_done(&v);
        if (item)
            xmlrpc_DECREF(item);
    }
    rpc_flat_reply reply;
    dkv_err err;
    if (env->fault_occurred) {
        /* the fault is already set */
    } else if (run_flat(fm, call_info, args, &reply, &err) < 0) {
        xmlrpc_env_set_fault(env, reply.fault_code, err.msg);
        free(reply.owned);
    } else {
        result = xmlrpc_array_new(env);
        for (size_t i = 0; i < reply.n && !env->fault_occurred; i++) {
            const rpcflat_val *v = &reply.vals[i];
            xmlrpc_value *item =
                v->type == RPCFLAT_INT    ? xmlrpc_i8_new(env, v->i)
                : v->type == RPCFLAT_BOOL ? xmlrpc_bool_new(env, v->i != 0)
                : v->type == RPCFLAT_BYTES
                    ? xmlrpc_base64_new(env, v->n, v->p)
                    : xmlrpc_string_new_lp(env, v->n, (const char *)v->p);
            if (item) {
                xmlrpc_array_append_item(env, result, item);
                xmlrpc_DECREF(item);
            }
        }
        free(reply.owned);
        if (env->fault_occurred && result) {
            xmlrpc_DECREF(result);
            result = NULL;
        }
    }
    rpcflat_msg_free(args);
    return result;
}

static const struct {
    char letter;
    const char *name;
} flat_types[] = {[RPCFLAT_INT] = {'i', "an integer"},
                  [RPCFLAT_BYTES] = {'b', "base64"},
                  [RPCFLAT_STRING] = {'s', "a string"},
                  [RPCFLAT_BOOL] = {'t', "a boolean"}};

int rpc_flat_args(const rpcflat_msg *args, const char *types, rpc_flat_reply *reply,
                  dkv_err *err)
{
    size_t n = strlen(types);
    reply->fault_code = RPCARGS_BAD_REQUEST;
    if (rpcflat_count(args) != n)
        return dkv_err_set(err, "expected %zu arguments, got %zu", n, rpcflat_count(args));
    for (size_t i = 0; i < n; i++) {
        rpcflat_type got = rpcflat_at(args, i)->type;
        if (flat_types[got].letter == types[i])
            continue;
        const char *want = "?";
        for (size_t t = 0; t < sizeof flat_types / sizeof flat_types[0]; t++)
            if (flat_types[t].letter == types[i])
                want = flat_types[t].name;
        return dkv_err_set(err, "argument %zu: expected %s, got %s", i + 1, want,
                           flat_types[got].name);
    }
    reply->fault_code = 0;
    return 0;
}

int rpc_flat_range(const rpcflat_msg *args, size_t i, int64_t min, int64_t max,
                   rpc_flat_reply *reply, dkv_err *err)
{
    const rpcflat_val *v = rpcflat_at(args, i);
    if (v->type == RPCFLAT_INT && (v->i < min || v->i > max)) {
        reply->fault_code = RPCARGS_BAD_REQUEST;
        return dkv_err_set(err, "argument %zu: %lld is out of range [%lld, %lld]", i + 1,
                           (long long)v->i, (long long)min, (long long)max);
    }
    if ((v->type == RPCFLAT_BYTES || v->type == RPCFLAT_STRING) && v->n > (uint64_t)max) {
        reply->fault_code = RPCARGS_BAD_REQUEST;
        return dkv_err_set(err, "argument %zu: %zu bytes exceed the limit of %lld", i + 1, v->n,
                           (long long)max);
    }
    return 0;
}

rpc_server *rpc_server_new(const rpc_method *methods, size_t n, const rpc_flat_method *flat,
                           size_t n_flat)
{
    rpc_server *s = xcalloc(1, sizeof *s);
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    s->registry = xmlrpc_registry_new(&env);
    for (size_t i = 0; i < n && !env.fault_occurred; i++) {
        struct xmlrpc_method_info3 info = {.methodName = methods[i].name,
                                           .methodFunction = methods[i].fn};
        xmlrpc_registry_add_method3(&env, s->registry, &info);
    }
    for (size_t i = 0; i < n_flat && !env.fault_occurred; i++) {
        struct xmlrpc_method_info3 info = {.methodName = flat[i].name,
                                           .methodFunction = flat_adapter,
                                           .serverInfo = (void *)&flat[i]};
        xmlrpc_registry_add_method3(&env, s->registry, &info);
    }
    if (env.fault_occurred) {
        fprintf(stderr, "cannot build RPC registry: %s\n", env.fault_string);
        abort();
    }
    xmlrpc_env_clean(&env);
    s->flat = flat;
    s->n_flat = n_flat;
    s->args = rpcflat_msg_new();
    return s;
}

void rpc_server_free(rpc_server *s)
{
    if (!s)
        return;
    xmlrpc_registry_free(s->registry);
    rpcflat_msg_free(s->args);
    free(s);
}

/* The fast path: a flat body for a flat method. false when it is not one. */
static bool serve_flat(rpc_server *s, const wire_frame *frame, void *call_info, buf *out)
{
    if (s->n_flat == 0)
        return false;
    int rc = rpcflat_parse_call(s->args, (const char *)frame->body, frame->body_len);
    if (rc == RPCFLAT_NO_MEMORY) {
        size_t start = wire_begin(out, WIRE_REPLY);
        rpcflat_encode_fault(out, RPCARGS_FAILED, "out of memory for the request");
        wire_finish(out, start);
        return true;
    }
    if (rc < 0)
        return false;
    const rpc_flat_method *fm = find_flat(s, rpcflat_method(s->args));
    if (!fm)
        return false;
    rpc_flat_reply reply;
    dkv_err err;
    size_t start = wire_begin(out, WIRE_REPLY);
    if (run_flat(fm, call_info, s->args, &reply, &err) < 0)
        rpcflat_encode_fault(out, reply.fault_code, err.msg);
    else
        rpcflat_encode_response(out, reply.vals, reply.n);
    wire_finish(out, start);
    free(reply.owned);
    return true;
}

void rpc_serve_frame(rpc_server *s, const wire_frame *frame, void *call_info, buf *out)
{
    if (serve_flat(s, frame, call_info, out))
        return;
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_mem_block *reply = NULL;
    dkv_err err;
    if (rpc_body_check((const char *)frame->body, frame->body_len, RPC_MAX_CALL_ELEMENTS,
                       &err) < 0)
        xmlrpc_env_set_fault_formatted(&env, RPCARGS_BAD_REQUEST,
                                       "malformed XML-RPC request: %s", err.msg);
    else
        xmlrpc_registry_process_call2(&env, s->registry, (const char *)frame->body,
                                      frame->body_len, call_info, &reply);
    if (env.fault_occurred) {
        /* Only failures to produce any response land here (e.g. out of
         * memory); answer with a fault built by hand. */
        xmlrpc_env fenv;
        xmlrpc_env_init(&fenv);
        reply = xmlrpc_mem_block_new(&fenv, 0);
        if (!fenv.fault_occurred)
            xmlrpc_serialize_fault(&fenv, reply, &env);
        xmlrpc_env_clean(&fenv);
    }
    if (reply) {
        wire_encode(out, WIRE_REPLY, NULL, 0, xmlrpc_mem_block_contents(reply),
                    xmlrpc_mem_block_size(reply));
        xmlrpc_mem_block_free(reply);
    }
    xmlrpc_env_clean(&env);
}

struct rpc_listener {
    rpc_server *server;
    void *call_info;
};

static void listener_frame(loop_conn *c, const wire_frame *f)
{
    rpc_listener *ls = loop_conn_user(c);
    if (f->kind != WIRE_CALL) {
        loop_close(c, "expected an RPC call");
        return;
    }
    rpc_serve_frame(ls->server, f, ls->call_info, loop_conn_out(c));
}

static void listener_close(loop_conn *c, const char *why)
{
    (void)c;
    (void)why;
}

static const loop_handlers listener_handlers = {listener_frame, listener_close, NULL};

static void listener_accept(loop *l, int fd, void *user)
{
    loop_add(l, fd, false, &listener_handlers, user);
}

rpc_listener *rpc_listen(loop *l, int listen_fd, rpc_server *server, void *call_info)
{
    rpc_listener *ls = xcalloc(1, sizeof *ls);
    ls->server = server;
    ls->call_info = call_info;
    loop_listen(l, listen_fd, listener_accept, ls);
    return ls;
}

void rpc_listener_free(rpc_listener *ls) { free(ls); }
