#define _GNU_SOURCE
#include "rpc.h"

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

struct rpc_client {
    char host[256];
    uint16_t port;
    int timeout_ms;
    int fd;
    buf in, out;
};

/* xmlrpc-c 1.33 crashes (inside its own error reporting) on an <i8> whose
 * text is not a valid 64-bit decimal. Every body is screened before it
 * reaches the library: plain 8-bit XML only (no NUL, no byte-order mark, no
 * other declared encoding), and every i8 element holding -?[0-9]{1,19}
 * within range. Our own encoder always satisfies this. */
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

bool rpc_body_is_safe(const char *xml, size_t len)
{
    if (memchr(xml, '\0', len) || (len >= 2 && (unsigned char)xml[0] >= 0xfe) ||
        (len >= 3 && (unsigned char)xml[0] == 0xef))
        return false;
    const char *end = xml + len;
    const char *enc = memmem(xml, len, "encoding", 8);
    if (enc) {
        const char *q = enc + 8;
        while (q < end && (is_xml_space(*q) || *q == '=' || *q == '"' || *q == '\''))
            q++;
        if (end - q < 5 || strncasecmp(q, "UTF-8", 5) != 0)
            return false;
    }
    for (const char *p = xml; p < end;) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt)
            break;
        const char *name = lt + 1;
        if (name < end && *name == '/')
            name++;
        size_t rest = (size_t)(end - name);
        size_t nl = rest >= 5 && memcmp(name, "ex:i8", 5) == 0 ? 5
                    : rest >= 2 && memcmp(name, "i8", 2) == 0 ? 2 : 0;
        p = lt + 1;
        if (nl == 0 || name != lt + 1)
            continue;
        const char *q = name + nl;
        if (q < end && !is_xml_space(*q) && *q != '>' && *q != '/')
            continue; /* a longer element name, e.g. <i8x> */
        while (q < end && is_xml_space(*q))
            q++;
        if (q >= end || *q != '>')
            return false; /* attributes or an empty element */
        const char *text = q + 1;
        const char *close = memchr(text, '<', (size_t)(end - text));
        if (!close || !i8_text_ok(text, (size_t)(close - text)))
            return false;
        p = close;
    }
    return true;
}

void rpc_global_init(void)
{
    xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, WIRE_MAX_FRAME);
}

rpc_client *rpc_client_new(const char *host, uint16_t port, int timeout_ms)
{
    rpc_client *c = calloc(1, sizeof *c);
    if (!c)
        abort();
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

int rpc_call(rpc_client *c, const char *method, xmlrpc_value *params, xmlrpc_value **result,
             dkv_err *err)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    int64_t deadline = net_now_us() + (int64_t)c->timeout_ms * 1000;
    int rc = -1;

    xmlrpc_mem_block *xml = xmlrpc_mem_block_new(&env, 0);
    if (env.fault_occurred)
        goto out_env;
    xmlrpc_serialize_call2(&env, xml, method, params, xmlrpc_dialect_i8);
    if (env.fault_occurred)
        goto out_xml;
    buf_clear(&c->out);
    wire_encode(&c->out, WIRE_CALL, NULL, 0, xmlrpc_mem_block_contents(xml),
                xmlrpc_mem_block_size(xml));

    drop_if_stale(c);
    if (c->fd < 0) {
        int remaining_ms = (int)((deadline - net_now_us()) / 1000);
        c->fd = net_connect(c->host, c->port, remaining_ms > 0 ? remaining_ms : 1, err);
        if (c->fd < 0)
            goto out_xml_noenv;
    }
    wire_frame f;
    size_t used;
    if (net_write_all(c->fd, buf_head(&c->out), buf_unread(&c->out), deadline, err) < 0 ||
        net_read_frame(c->fd, &c->in, &f, &used, deadline, err) < 0) {
        drop_connection(c);
        dkv_err_wrap(err, "%s to %s:%u", method, c->host, c->port);
        goto out_xml_noenv;
    }
    if (f.kind != WIRE_REPLY) {
        drop_connection(c);
        dkv_err_set(err, "%s to %s:%u: unexpected frame kind", method, c->host, c->port);
        goto out_xml_noenv;
    }
    int fault_code = 0;
    const char *fault_string = NULL;
    if (!rpc_body_is_safe((const char *)f.body, f.body_len)) {
        buf_consume(&c->in, used);
        drop_connection(c);
        dkv_err_set(err, "%s to %s:%u: malformed reply", method, c->host, c->port);
        goto out_xml_noenv;
    }
    xmlrpc_parse_response2(&env, (const char *)f.body, f.body_len, result, &fault_code,
                           &fault_string);
    buf_consume(&c->in, used);
    if (env.fault_occurred) {
        drop_connection(c);
        goto out_xml;
    }
    if (fault_string) {
        dkv_err_set(err, "%s", fault_string);
        free((void *)fault_string);
        goto out_xml_noenv;
    }
    rc = 0;
    goto out_xml_noenv;

out_xml:
    dkv_err_set(err, "%s: %s", method, env.fault_string);
out_xml_noenv:
    xmlrpc_mem_block_free(xml);
    xmlrpc_env_clean(&env);
    return rc;
out_env:
    dkv_err_set(err, "%s: %s", method, env.fault_string);
    xmlrpc_env_clean(&env);
    return -1;
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

void rpc_serve_frame(xmlrpc_registry *registry, const wire_frame *frame, void *call_info,
                     buf *out)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_mem_block *reply = NULL;
    if (!rpc_body_is_safe((const char *)frame->body, frame->body_len))
        xmlrpc_env_set_fault(&env, 400, "malformed XML-RPC request");
    else
        xmlrpc_registry_process_call2(&env, registry, (const char *)frame->body,
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

xmlrpc_registry *rpc_registry_new(const rpc_method *methods, size_t n)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_registry *reg = xmlrpc_registry_new(&env);
    for (size_t i = 0; i < n && !env.fault_occurred; i++) {
        struct xmlrpc_method_info3 info = {.methodName = methods[i].name,
                                           .methodFunction = methods[i].fn};
        xmlrpc_registry_add_method3(&env, reg, &info);
    }
    if (env.fault_occurred) {
        fprintf(stderr, "cannot build RPC registry: %s\n", env.fault_string);
        abort();
    }
    xmlrpc_env_clean(&env);
    return reg;
}

struct rpc_listener {
    xmlrpc_registry *registry;
    void *call_info;
};

static void listener_frame(loop_conn *c, const wire_frame *f)
{
    rpc_listener *ls = loop_conn_user(c);
    if (f->kind != WIRE_CALL) {
        loop_close(c, "expected an RPC call");
        return;
    }
    rpc_serve_frame(ls->registry, f, ls->call_info, loop_conn_out(c));
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

rpc_listener *rpc_listen(loop *l, int listen_fd, xmlrpc_registry *registry, void *call_info)
{
    rpc_listener *ls = calloc(1, sizeof *ls);
    if (!ls)
        abort();
    ls->registry = registry;
    ls->call_info = call_info;
    loop_listen(l, listen_fd, listener_accept, ls);
    return ls;
}

void rpc_listener_free(rpc_listener *ls) { free(ls); }
