#define _GNU_SOURCE
#include "rpc.h"
#include "xalloc.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <strings.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"
#include "net.h"

struct rpc_client {
    char host[256];
    uint16_t port;
    int timeout_ms;
    char name[272]; /* what messages call the callee: "server 3", else HOST:PORT */
    bool named;
    const volatile sig_atomic_t *cancel; /* see rpc_client_set_cancel */
    bool outcome_unknown; /* the last call failed after its request was sent */
    int fd;
    buf in, out;          /* plaintext frames: replies read, the call to send */
    const auth_key *key;  /* NULL: plain framing, no authentication */
    auth_session *auth;   /* the connection's, while connected with key */
    buf raw;              /* with key: bytes read, before the session took them */
    buf sealed;           /* with key: what is sent (handshake messages, records) */
    /* A control connection (rpc_client_set_control): */
    int ka_idle_s, ka_interval_s, ka_count; /* TCP keepalive; 0: none */
    bool pinned, connected_once;
    char lost[DKV_ERR_MAX]; /* why the connection was lost, once it was */
    buf events;             /* queued event bodies, each u32 length + bytes */
    rpcflat_msg *reply; /* the latest flat reply */
    void *scratch;      /* see rpc_client_scratch */
    size_t scratch_cap;
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

/* Just past the first close (three bytes) in [p, end), or NULL. */
static const char *past_section(const char *p, const char *end, const char *close)
{
    const char *at = memmem(p, (size_t)(end - p), close, 3);
    return at ? at + 3 : NULL;
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

/* Whether p[0..n) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). The screen reads bytes, the parser
 * behind it reads UTF-8 and takes a lead byte's next one to three bytes
 * whatever they are; on malformed text a '<' would then start a tag for one
 * and not for the other, and the nesting the screen counted would not be
 * the parser's. */
static bool utf8_ok(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xbf; /* range of the first continuation byte */
        if (c >= 0xc2 && c <= 0xdf)
            need = 1;
        else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else {
            return false;
        }
        if (n - i <= need || p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= need; k++)
            if (p[i + k] < 0x80 || p[i + k] > 0xbf)
                return false;
        i += need + 1;
    }
    return true;
}

int rpc_body_check(const char *xml, size_t len, size_t max_elements, dkv_err *err)
{
    if (memchr(xml, '\0', len))
        return dkv_err_set(err, "a NUL byte");
    if ((len >= 2 && (unsigned char)xml[0] >= 0xfe) || (len >= 3 && (unsigned char)xml[0] == 0xef))
        return dkv_err_set(err, "a byte-order mark (only 8-bit XML is accepted)");
    if (!utf8_ok((const unsigned char *)xml, len))
        return dkv_err_set(err, "bytes that are not UTF-8");
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
        bool comment = starts(p, end, "!--"), cdata = starts(p, end, "![CDATA[");
        if (comment || cdata) {
            p = comment ? past_section(p + 3, end, "-->") : past_section(p + 8, end, "]]>");
            if (!p)
                return dkv_err_set(err, comment ? "an unterminated comment"
                                                : "an unterminated CDATA section");
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

rpc_client *rpc_client_new(const char *host, uint16_t port, int timeout_ms, const auth_key *key)
{
    rpc_client *c = xcalloc(1, sizeof *c);
    snprintf(c->host, sizeof c->host, "%s", host);
    c->port = port;
    c->timeout_ms = timeout_ms;
    snprintf(c->name, sizeof c->name, "%s:%u", c->host, port);
    c->fd = -1;
#ifndef DKV_NO_AUTH
    c->key = key;
#else
    (void)key;
#endif
    buf_init(&c->in);
    buf_init(&c->out);
    buf_init(&c->raw);
    buf_init(&c->sealed);
    buf_init(&c->events);
    c->reply = rpcflat_msg_new();
    return c;
}

void rpc_client_set_name(rpc_client *c, const char *name)
{
    snprintf(c->name, sizeof c->name, "%s", name);
    c->named = true;
}

void rpc_client_set_cancel(rpc_client *c, const volatile sig_atomic_t *flag) { c->cancel = flag; }

bool rpc_client_outcome_unknown(const rpc_client *c) { return c->outcome_unknown; }

static bool cancelled(const rpc_client *c) { return c->cancel && *c->cancel; }

void rpc_client_set_control(rpc_client *c, int idle_s, int interval_s, int count)
{
    c->pinned = true;
    c->ka_idle_s = idle_s;
    c->ka_interval_s = interval_s;
    c->ka_count = count;
}

void *rpc_client_scratch(rpc_client *c, size_t n)
{
    if (n > c->scratch_cap) {
        free(c->scratch);
        c->scratch = xmalloc(n);
        c->scratch_cap = n;
    }
    if (n)
        memset(c->scratch, 0, n);
    return c->scratch;
}

static void drop_connection(rpc_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    buf_clear(&c->in);
    buf_clear(&c->raw);
    buf_clear(&c->sealed);
    auth_session_free(c->auth);
    c->auth = NULL;
}

/* Drops the connection, remembering why (a control connection stays lost). */
static void lose_connection(rpc_client *c, const char *why)
{
    if (c->fd >= 0 && !c->lost[0])
        snprintf(c->lost, sizeof c->lost, "%s", why);
    drop_connection(c);
}

/* Queues an event frame's body; events are kept in arrival order. */
static void queue_event(rpc_client *c, const wire_frame *f)
{
    buf_append_u32(&c->events, (uint32_t)f->body_len);
    buf_append(&c->events, f->body, f->body_len);
}

void rpc_client_free(rpc_client *c)
{
    if (!c)
        return;
    drop_connection(c);
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->raw);
    buf_free(&c->sealed);
    buf_free(&c->events);
    rpcflat_msg_free(c->reply);
    free(c->scratch);
    free(c);
}

/* The bytes in c->raw go through the session: handshake messages (its
 * answers join c->sealed), then records, whose payloads join c->in. -1
 * with err when the peer fails the handshake, refuses us or sends a record
 * that fails its tag; a refusal of ours is sent first, so that the daemon
 * can log why. */
static int take_raw(rpc_client *c, dkv_err *err)
{
    ssize_t used = auth_session_input(c->auth, buf_head(&c->raw), buf_unread(&c->raw), &c->in,
                                      &c->sealed, err);
    if (used < 0) {
        if (buf_unread(&c->sealed))
            (void)!send(c->fd, buf_head(&c->sealed), buf_unread(&c->sealed),
                        MSG_NOSIGNAL | MSG_DONTWAIT);
        return -1;
    }
    buf_consume(&c->raw, (size_t)used);
    return 0;
}

/* Waits until c->fd has something to read, until deadline. 0, or -1
 * with err. */
static int await_input(rpc_client *c, int64_t deadline, dkv_err *err)
{
    int64_t left = deadline - net_now_us();
    if (left <= 0)
        return dkv_err_set(err, "timed out");
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int rc = poll(&pfd, 1, (int)((left + 999) / 1000));
    if (rc < 0 && errno == EINTR)
        return dkv_err_set(err, "interrupted");
    if (rc < 0)
        return dkv_err_set(err, "poll: %s", strerror(errno));
    return 0;
}

/* Reads what has arrived into c->in (through the session, with a key),
 * waiting for it until deadline when wait is set. Returns 1 when bytes
 * came, 0 when none had (without wait), -1 with err when the connection
 * closed or failed, or the wait ran out. poll_first (with wait) waits
 * before the first read: right after a request its reply cannot be there
 * yet, and reading first would cost a system call that fails with EAGAIN
 * on every call. */
static int receive(rpc_client *c, bool wait, bool poll_first, int64_t deadline, dkv_err *err)
{
    buf *into = c->auth ? &c->raw : &c->in;
    if (wait && poll_first && await_input(c, deadline, err) < 0)
        return -1;
    for (;;) {
        buf_reserve(into, 64 * 1024);
        ssize_t r = recv(c->fd, into->data + into->len, into->cap - into->len, MSG_DONTWAIT);
        if (r > 0) {
            into->len += (size_t)r;
            return c->auth && take_raw(c, err) < 0 ? -1 : 1;
        }
        if (r == 0)
            return dkv_err_set(err, c->auth && !auth_session_ready(c->auth)
                                        ? "connection closed during the authentication "
                                          "handshake (by a daemon without authentication?)"
                                        : "connection closed by peer");
        if (errno == EINTR)
            return dkv_err_set(err, "interrupted");
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return dkv_err_set(err, "recv: %s", strerror(errno));
        if (!wait)
            return 0;
        if (await_input(c, deadline, err) < 0)
            return -1;
    }
}

/* Connects and, with a key, proves it (the handshake's last message waits
 * in c->sealed, to leave with the first call). -1 with err, unconnected. */
static int connect_to(rpc_client *c, int64_t deadline, dkv_err *err)
{
    int remaining_ms = (int)((deadline - net_now_us()) / 1000);
    c->fd = net_connect(c->host, c->port, remaining_ms > 0 ? remaining_ms : 1, err);
    if (c->fd < 0)
        return -1;
    c->connected_once = true;
    if (c->ka_count > 0 &&
        net_set_keepalive(c->fd, c->ka_idle_s, c->ka_interval_s, c->ka_count, err) < 0) {
        lose_connection(c, err->msg);
        return -1;
    }
    if (!c->key)
        return 0;
    c->auth = auth_session_new(c->key, true);
    auth_session_start(c->auth, &c->sealed);
    int rc = net_write_all(c->fd, buf_head(&c->sealed), buf_unread(&c->sealed), deadline, err);
    buf_clear(&c->sealed);
    while (rc == 0 && !auth_session_ready(c->auth))
        rc = receive(c, true, false, deadline, err) < 0 ? -1 : 0;
    if (rc < 0)
        drop_connection(c);
    return rc;
}

/* Reads whole frames: events (a watchdog's) are queued. Returns 1 when a
 * reply frame waits at the head of c->in (*f, *used), 0 when no whole frame
 * is left, -1 with err for a malformed frame or one of another kind. */
static int next_reply(rpc_client *c, wire_frame *f, size_t *used, dkv_err *err)
{
    for (;;) {
        int rc = wire_decode(buf_head(&c->in), buf_unread(&c->in), f, used, err);
        if (rc <= 0)
            return rc;
        if (f->kind == WIRE_REPLY)
            return 1;
        if (f->kind != WIRE_EVENT)
            return dkv_err_set(err, "unexpected frame kind");
        queue_event(c, f);
        buf_consume(&c->in, *used);
    }
}

/* Reads, without waiting, what arrived while no call was waiting: events
 * are queued; EOF, an error (a keepalive timeout) or a reply no call asked
 * for drops the connection, remembering why. A kept-alive connection whose
 * peer went away reads as EOF: this finds that out before sending, so a
 * request is never sent into a dead socket (and never retried after it may
 * have been executed). */
static void read_unasked(rpc_client *c)
{
    wire_frame f;
    size_t used;
    dkv_err why;
    while (c->fd >= 0) {
        int rc = next_reply(c, &f, &used, &why);
        if (rc > 0)
            rc = dkv_err_set(&why, "a reply that no call asked for");
        else if (rc == 0 && (rc = receive(c, false, false, 0, &why)) == 0)
            return;
        if (rc < 0)
            lose_connection(c, why.msg);
    }
}

int rpc_client_poll(rpc_client *c, dkv_err *err)
{
    read_unasked(c);
    if (c->fd < 0 && c->pinned && c->connected_once)
        return dkv_err_set(err, "%s", c->lost[0] ? c->lost : "connection lost");
    return 0;
}

bool rpc_client_connected(const rpc_client *c) { return c->fd >= 0; }

int rpc_client_next_event(rpc_client *c, const uint8_t **body, size_t *len)
{
    if (buf_unread(&c->events) < 4)
        return 0;
    const uint8_t *head = buf_head(&c->events);
    *len = dkv_get_u32(head);
    *body = head + 4;
    buf_consume(&c->events, 4 + *len);
    return 1;
}

/* Consumes a reply frame unless the connection was dropped meanwhile
 * (which empties the input buffer). */
static void finish_reply(rpc_client *c, size_t used)
{
    if (c->fd >= 0)
        buf_consume(&c->in, used);
}

/* What v is, for messages: "an array", "a double", ... */
static const char *type_name(xmlrpc_value *v)
{
    switch (v ? xmlrpc_value_type(v) : XMLRPC_TYPE_DEAD) {
    case XMLRPC_TYPE_INT:
    case XMLRPC_TYPE_I8: return "an integer";
    case XMLRPC_TYPE_BOOL: return "a boolean";
    case XMLRPC_TYPE_BASE64: return "base64";
    case XMLRPC_TYPE_STRING: return "a string";
    case XMLRPC_TYPE_ARRAY: return "an array";
    case XMLRPC_TYPE_STRUCT: return "a struct";
    case XMLRPC_TYPE_DOUBLE: return "a double";
    case XMLRPC_TYPE_DATETIME: return "a date";
    case XMLRPC_TYPE_NIL: return "nil";
    default: return "a value of another type";
    }
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

/* Sends the body (already framed in c->out; sealed into a record on an
 * authenticated connection) and reads the reply frame. On success *f
 * points into c->in; the caller consumes *used bytes. Messages name the
 * callee by c->name; whether a failed call may have been carried out is
 * left in c->outcome_unknown: a request cut short is dropped by the callee
 * with the connection, a whole one may have run. */
static int exchange(rpc_client *c, const char *method, wire_frame *f, size_t *used,
                    dkv_err *err)
{
    c->outcome_unknown = false;
    if (cancelled(c))
        return dkv_err_set(err, "interrupted by a signal before calling %s", c->name);
    int64_t deadline = net_now_us() + (int64_t)c->timeout_ms * 1000;
    read_unasked(c);
    if (c->fd < 0 && c->pinned && c->connected_once)
        return dkv_err_set(err, "%s to %s: the connection was lost: %s", method, c->name,
                           c->lost[0] ? c->lost : "closed");
    if (c->fd < 0 && connect_to(c, deadline, err) < 0) {
        /* Nothing of the call was sent: its outcome is known. */
        if (cancelled(c))
            return dkv_err_set(err, "interrupted by a signal while calling %s", c->name);
        if (net_now_us() >= deadline)
            return dkv_err_set(err, "no answer from %s within %d ms", c->name, c->timeout_ms);
        return c->named ? dkv_err_wrap(err, "%s", c->name)
                        : dkv_err_wrap(err, "%s to %s", method, c->name);
    }
    const buf *req = &c->out;
    if (c->auth) {
        auth_session_seal(c->auth, buf_head(&c->out), buf_unread(&c->out), &c->sealed);
        req = &c->sealed;
    }
    int rc = net_write_all(c->fd, buf_head(req), buf_unread(req), deadline, err);
    buf_clear(&c->sealed);
    if (rc < 0) {
        lose_connection(c, err->msg);
        if (cancelled(c))
            return dkv_err_set(err, "interrupted by a signal while calling %s", c->name);
        return dkv_err_wrap(err, "cannot send %s to %s", method, c->name);
    }
    /* What is read here was not there before the request left (or did
     * not make a whole frame): wait first. */
    while ((rc = next_reply(c, f, used, err)) == 0)
        if (receive(c, true, true, deadline, err) < 0) {
            rc = -1;
            break;
        }
    if (rc < 0) {
        lose_connection(c, err->msg);
        c->outcome_unknown = true;
        if (cancelled(c))
            return dkv_err_set(err, "interrupted by a signal before %s answered", c->name);
        if (net_now_us() >= deadline)
            return dkv_err_set(err, "no answer from %s within %d ms", c->name, c->timeout_ms);
        return dkv_err_wrap(err, "lost the connection to %s before it answered", c->name);
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
        c->outcome_unknown = true;
        return dkv_err_set(err, "%s sent a malformed reply to %s: %s", c->name, method, why.msg);
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
        dkv_err_set(err, "%s sent a malformed reply to %s: %s", c->name, method,
                    env.fault_string);
        drop_connection(c);
        c->outcome_unknown = true;
        rc = -1;
    } else if (fault_string) {
        /* The callee's own words, said to be its own when it has a name. */
        if (c->named)
            dkv_err_set(err, "%s: %s", c->name, fault_string);
        else
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

/* Adds scalar v to m: 0, or -1 with err when v is not a scalar. */
static int add_scalar(rpcflat_msg *m, xmlrpc_value *v, dkv_err *err)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    rpcflat_val fv = rpcflat_int(0);
    int rc = 0;
    if (flat_scalar(&env, v, &fv) < 0)
        rc = dkv_err_set(err, "expected a scalar, got %s", type_name(v));
    else if (rpcflat_msg_add(m, fv) < 0)
        rc = dkv_err_set(err, "out of memory");
    flat_scalar_done(&fv);
    xmlrpc_env_clean(&env);
    return rc;
}

/* Adds the scalar items of array v to m, of which there must be want
 * (SIZE_MAX: any number): 0, or -1 with err. */
static int add_array(rpcflat_msg *m, xmlrpc_value *v, size_t want, dkv_err *err)
{
    if (xmlrpc_value_type(v) != XMLRPC_TYPE_ARRAY)
        return dkv_err_set(err, "expected an array, got %s", type_name(v));
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    int size = xmlrpc_array_size(&env, v);
    int rc = env.fault_occurred ? dkv_err_set(err, "%s", env.fault_string) : 0;
    if (rc == 0 && want != SIZE_MAX && (size_t)size != want)
        rc = dkv_err_set(err, "expected an array of %zu items, got %d", want, size);
    for (int i = 0; i < size && rc == 0; i++) {
        xmlrpc_value *item = NULL;
        xmlrpc_array_read_item(&env, v, i, &item);
        rc = env.fault_occurred ? dkv_err_set(err, "%s", env.fault_string)
                                : add_scalar(m, item, err);
        if (item)
            xmlrpc_DECREF(item);
    }
    xmlrpc_env_clean(&env);
    return rc;
}

/* Member name of struct v, which must be there: NULL with err otherwise.
 * Caller decrefs. */
static xmlrpc_value *member(xmlrpc_value *v, const char *name, dkv_err *err)
{
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    xmlrpc_value *m = NULL;
    xmlrpc_struct_find_value(&env, v, name, &m);
    if (env.fault_occurred || !m)
        dkv_err_set(err, "no member '%s'", name);
    xmlrpc_env_clean(&env);
    return m;
}

/* A result xmlrpc-c decoded, read into m by shape: 0, or -1 with err. */
static int flat_from_xmlrpc(xmlrpc_value *v, const rpc_shape *shape, rpcflat_msg *m,
                            dkv_err *err)
{
    rpcflat_msg_reset(m);
    int rc = 0;
    switch (shape->kind) {
    case RPC_SHAPE_LIST: rc = add_array(m, v, SIZE_MAX, err); break;
    case RPC_SHAPE_VALUE: rc = add_scalar(m, v, err); break;
    case RPC_SHAPE_ANY: break;
    case RPC_SHAPE_STRUCT:
        if (xmlrpc_value_type(v) != XMLRPC_TYPE_STRUCT) {
            rc = dkv_err_set(err, "expected a struct, got %s", type_name(v));
            break;
        }
        for (size_t i = 0; i < shape->n_members && rc == 0; i++) {
            xmlrpc_value *item = member(v, shape->members[i], err);
            rc = item ? add_scalar(m, item, err) : -1;
            if (item)
                xmlrpc_DECREF(item);
        }
        if (rc == 0 && shape->group) {
            xmlrpc_value *list = member(v, shape->group, err);
            if (!list) {
                rc = -1;
                break;
            }
            xmlrpc_env env;
            xmlrpc_env_init(&env);
            int size = xmlrpc_value_type(list) == XMLRPC_TYPE_ARRAY
                           ? xmlrpc_array_size(&env, list)
                           : -1;
            if (size < 0 || env.fault_occurred)
                rc = dkv_err_set(err, "member '%s' is not an array", shape->group);
            for (int i = 0; i < size && rc == 0; i++) {
                xmlrpc_value *item = NULL;
                xmlrpc_array_read_item(&env, list, i, &item);
                rc = env.fault_occurred ? dkv_err_set(err, "%s", env.fault_string)
                                        : add_array(m, item, shape->group_width, err);
                if (item)
                    xmlrpc_DECREF(item);
            }
            xmlrpc_env_clean(&env);
            xmlrpc_DECREF(list);
        }
        break;
    }
    if (rc < 0)
        rpcflat_msg_reset(m);
    return rc;
}

int rpc_call_flat(rpc_client *c, const char *method, const rpcflat_val *args, size_t n,
                  const rpc_shape *shape, const rpcflat_msg **reply, dkv_err *err)
{
    static const rpc_shape list = {.kind = RPC_SHAPE_LIST};
    if (!shape)
        shape = &list;
    buf_clear(&c->out);
    size_t start = wire_begin(&c->out, WIRE_CALL);
    rpcflat_encode_call(&c->out, method, args, n);
    wire_finish(&c->out, start);

    wire_frame f;
    size_t used;
    if (exchange(c, method, &f, &used, err) < 0)
        return -1;
    /* Only an array of scalars can be flat; other shapes go to xmlrpc-c. */
    int rc = shape->kind == RPC_SHAPE_LIST
                 ? rpcflat_parse_response(c->reply, (const char *)f.body, f.body_len)
                 : -1;
    if (rc == RPCFLAT_NO_MEMORY) {
        c->outcome_unknown = true;
        rc = dkv_err_set(err, "out of memory for the reply of %s to %s", c->name, method);
    } else if (rc < 0) {
        xmlrpc_value *result = NULL;
        dkv_err why;
        rc = parse_with_xmlrpc(c, method, &f, &result, err);
        if (rc == 0 && flat_from_xmlrpc(result, shape, c->reply, &why) < 0) {
            c->outcome_unknown = true;
            rc = dkv_err_set(err, "%s answered %s with an unexpected result: %s", c->name,
                             method, why.msg);
        }
        if (result)
            xmlrpc_DECREF(result);
    }
    finish_reply(c, used);
    if (rc == 0)
        *reply = c->reply;
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
    rpc_method *methods;
    size_t n;
    rpcflat_msg *args; /* reused for every call */
};

static const rpc_method *find_method(const rpc_server *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->methods[i].name, name) == 0)
            return &s->methods[i];
    return NULL;
}

rpc_server *rpc_server_new(const rpc_method *methods, size_t n)
{
    rpc_server *s = xcalloc(1, sizeof *s);
    s->methods = xmemdup(methods, n * sizeof *methods);
    s->n = n;
    s->args = rpcflat_msg_new();
    return s;
}

void rpc_server_free(rpc_server *s)
{
    if (!s)
        return;
    rpcflat_msg_free(s->args);
    free(s->methods);
    free(s);
}

/* Reads a call's parameters, decoded by xmlrpc-c, as flat values. */
static int flat_params(xmlrpc_value *params, rpcflat_msg *m, rpc_fault *fault)
{
    rpcflat_msg_reset(m);
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    int size = xmlrpc_array_size(&env, params);
    int rc = env.fault_occurred ? -1 : 0;
    fault->code = RPCFLAT_FAULT_BAD_REQUEST;
    if (rc < 0)
        dkv_err_set(&fault->err, "the parameters are not an array");
    for (int i = 0; i < size && rc == 0; i++) {
        xmlrpc_value *item = NULL;
        xmlrpc_array_read_item(&env, params, i, &item);
        rpcflat_val v = rpcflat_int(0);
        int added = 0;
        if (env.fault_occurred) {
            rc = dkv_err_set(&fault->err, "argument %d: %s", i + 1, env.fault_string);
        } else if (flat_scalar(&env, item, &v) < 0) {
            rc = dkv_err_set(&fault->err, "argument %d: expected a scalar, got %s", i + 1,
                             type_name(item));
        } else if ((added = rpcflat_msg_add(m, v)) < 0) {
            fault->code = RPCFLAT_FAULT_FAILED;
            rc = dkv_err_set(&fault->err, "out of memory for the request");
        }
        flat_scalar_done(&v);
        if (item)
            xmlrpc_DECREF(item);
    }
    xmlrpc_env_clean(&env);
    return rc;
}

/* Decodes a call body rpcflat does not read with xmlrpc-c, after the
 * screen: the method's name in *name (caller frees) and its arguments in
 * s->args; -1 with fault otherwise. xmlrpc-c's faults keep its codes and
 * words, as its registry would answer. */
static int decode_with_xmlrpc(rpc_server *s, const wire_frame *frame, char **name,
                              rpc_fault *fault)
{
    *name = NULL;
    fault->code = RPCFLAT_FAULT_BAD_REQUEST;
    if (rpc_body_check((const char *)frame->body, frame->body_len, RPC_MAX_CALL_ELEMENTS,
                       &fault->err) < 0)
        return dkv_err_wrap(&fault->err, "malformed XML-RPC request");
    xmlrpc_env env;
    xmlrpc_env_init(&env);
    const char *method = NULL;
    xmlrpc_value *params = NULL;
    xmlrpc_parse_call(&env, (const char *)frame->body, frame->body_len, &method, &params);
    int rc = 0;
    if (env.fault_occurred) {
        fault->code = env.fault_code;
        rc = dkv_err_set(&fault->err, "Call XML not a proper XML-RPC call.  %s",
                         env.fault_string);
    } else {
        *name = (char *)method;
        rc = find_method(s, method) ? flat_params(params, s->args, fault) : 0;
    }
    if (params)
        xmlrpc_DECREF(params);
    xmlrpc_env_clean(&env);
    return rc;
}

void rpc_serve_frame(rpc_server *s, const wire_frame *frame, void *call_info, buf *out)
{
    rpc_fault fault = {.code = RPCFLAT_FAULT_FAILED};
    char *name = NULL;
    int rc = rpcflat_parse_call(s->args, (const char *)frame->body, frame->body_len);
    if (rc == RPCFLAT_NO_MEMORY)
        rc = dkv_err_set(&fault.err, "out of memory for the request");
    else if (rc < 0)
        rc = decode_with_xmlrpc(s, frame, &name, &fault);
    const char *method = name ? name : rpcflat_method(s->args);
    const rpc_method *m = rc == 0 ? find_method(s, method) : NULL;
    if (rc == 0 && !m) {
        fault.code = XMLRPC_NO_SUCH_METHOD_ERROR;
        rc = dkv_err_set(&fault.err, "Method '%s' not defined", method);
    }
    size_t start = wire_begin(out, WIRE_REPLY);
    size_t body = buf_unread(out); /* relative: appending may compact out */
    if (rc == 0 && m->fn(m->info, call_info, s->args, out, &fault) < 0) {
        if (!buf_failed(out))
            out->len = out->off + body; /* drop a partial result */
        rc = -1;
    }
    if (rc < 0)
        rpcflat_encode_fault(out, fault.code, fault.err.msg);
    wire_finish(out, start);
    free(name);
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
