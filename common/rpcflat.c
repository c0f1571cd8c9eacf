#include "rpcflat.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rpcflat_msg {
    char method[RPCFLAT_MAX_METHOD + 1];
    rpcflat_val *vals;
    size_t n, cap;
    /* Decoded bytes and strings. Sized before a parse so that it never
     * moves while values point into it (decoding never grows the text). */
    uint8_t *arena;
    size_t arena_len, arena_cap;
};

rpcflat_val rpcflat_string(const char *s)
{
    return (rpcflat_val){.type = RPCFLAT_STRING, .p = (const uint8_t *)s, .n = strlen(s)};
}

rpcflat_msg *rpcflat_msg_new(void)
{
    rpcflat_msg *m = xcalloc(1, sizeof *m);
    return m;
}

void rpcflat_msg_free(rpcflat_msg *m)
{
    if (!m)
        return;
    free(m->vals);
    free(m->arena);
    free(m);
}

void rpcflat_msg_reset(rpcflat_msg *m)
{
    m->method[0] = '\0';
    m->n = 0;
    m->arena_len = 0;
}

const char *rpcflat_method(const rpcflat_msg *m) { return m->method; }
size_t rpcflat_count(const rpcflat_msg *m) { return m->n; }
const rpcflat_val *rpcflat_at(const rpcflat_msg *m, size_t i) { return &m->vals[i]; }

/* false when out of memory: a daemon refuses the message, not dies. */
static bool arena_need(rpcflat_msg *m, size_t total)
{
    if (total <= m->arena_cap)
        return true;
    uint8_t *p = realloc(m->arena, total);
    if (!p)
        return false;
    m->arena = p;
    m->arena_cap = total;
    return true;
}

/* Room for one more value; false when out of memory. */
static bool vals_room(rpcflat_msg *m)
{
    if (m->n < m->cap)
        return true;
    size_t cap = m->cap ? m->cap * 2 : 16;
    rpcflat_val *p = realloc(m->vals, cap * sizeof *p);
    if (!p)
        return false;
    m->vals = p;
    m->cap = cap;
    return true;
}

int rpcflat_msg_add(rpcflat_msg *m, rpcflat_val v)
{
    if (!vals_room(m))
        return RPCFLAT_NO_MEMORY;
    if (v.type == RPCFLAT_BYTES || v.type == RPCFLAT_STRING) {
        /* Earlier values point into the arena: move them along if it moves. */
        uint8_t *old = m->arena;
        if (!arena_need(m, m->arena_len + v.n + 1))
            return RPCFLAT_NO_MEMORY;
        for (size_t i = 0; i < m->n && old && m->arena != old; i++)
            if (m->vals[i].type == RPCFLAT_BYTES || m->vals[i].type == RPCFLAT_STRING)
                m->vals[i].p = m->arena + (m->vals[i].p - old);
        uint8_t *dst = m->arena + m->arena_len;
        if (v.n)
            memcpy(dst, v.p, v.n);
        dst[v.n] = '\0';
        m->arena_len += v.n + 1;
        v.p = dst;
    }
    m->vals[m->n++] = v;
    return 0;
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

/* Consumes lit when the text continues with it. */
static bool take(cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool take_ws(cursor *c, const char *lit)
{
    skip_ws(c);
    return take(c, lit);
}

/* The XML declaration is optional; only the two usual ones are accepted. */
static bool prolog(cursor *c)
{
    if (!take(c, "<?"))
        return true;
    return take(c, "xml version=\"1.0\"?>") ||
           take(c, "xml version=\"1.0\" encoding=\"UTF-8\"?>");
}

/* Text up to the next '<': ASCII without control bytes other than tab and
 * newline (a CR would be folded by a real XML parser), with the five named
 * entities decoded into dst. "]]>" is not allowed in XML text; ']' is
 * refused outright to keep this simple. Returns the decoded length or -1. */
static long text(cursor *c, uint8_t *dst)
{
    size_t n = 0;
    while (c->p < c->end && *c->p != '<') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '&') {
            static const struct {
                const char *name;
                char ch;
            } ents[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'},
                        {"&apos;", '\''}};
            size_t k = 0;
            while (k < 5 && !take(c, ents[k].name))
                k++;
            if (k == 5)
                return -1;
            dst[n++] = (uint8_t)ents[k].ch;
            continue;
        }
        if ((ch < 0x20 && ch != '\t' && ch != '\n') || ch >= 0x7f || ch == ']')
            return -1;
        dst[n++] = ch;
        c->p++;
    }
    return c->p < c->end ? (long)n : -1;
}

/* Base64 digit values; -1 for every other byte. */
static const int8_t b64_digit[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

/* Base64 up to the next '<', whitespace allowed anywhere. Only canonical
 * input is taken: whole quads, '=' padding at the very end. */
static long base64(cursor *c, uint8_t *dst)
{
    size_t n = 0, pad = 0;
    const unsigned char *p = (const unsigned char *)c->p, *end = (const unsigned char *)c->end;
    unsigned quad[4];
    int q = 0;
    while (p < end && *p != '<') {
        /* Fast path: four digits in a row, as between line breaks. */
        if (q == 0 && end - p >= 4) {
            int a = b64_digit[p[0]], b = b64_digit[p[1]], d2 = b64_digit[p[2]],
                d3 = b64_digit[p[3]];
            if ((a | b | d2 | d3) >= 0) {
                uint32_t w = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)d2 << 6 |
                             (uint32_t)d3;
                dst[n++] = (uint8_t)(w >> 16);
                dst[n++] = (uint8_t)(w >> 8);
                dst[n++] = (uint8_t)w;
                p += 4;
                continue;
            }
        }
        unsigned char ch = *p++;
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        int v;
        if (ch == '=') {
            if (q < 2)
                return -1;
            pad++;
            v = 0;
        } else {
            v = b64_digit[ch];
            if (pad || v < 0)
                return -1;
        }
        quad[q++] = (unsigned)v;
        if (q == 4) {
            uint32_t w = quad[0] << 18 | quad[1] << 12 | quad[2] << 6 | quad[3];
            dst[n++] = (uint8_t)(w >> 16);
            if (pad < 2)
                dst[n++] = (uint8_t)(w >> 8);
            if (pad < 1)
                dst[n++] = (uint8_t)w;
            q = 0;
            if (pad)
                break;
        }
    }
    c->p = (const char *)p;
    if (pad) /* nothing but whitespace may follow the padding */
        skip_ws(c);
    if (q != 0 || c->p >= c->end || *c->p != '<')
        return -1;
    return (long)n;
}

static bool integer(cursor *c, int64_t min, int64_t max, int64_t *out)
{
    bool neg = c->p < c->end && *c->p == '-';
    if (neg)
        c->p++;
    uint64_t v = 0;
    size_t digits = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned d = (unsigned)(*c->p++ - '0');
        if (++digits > 19 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (digits == 0 || v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
        return false;
    int64_t s = neg ? (int64_t)(0 - v) : (int64_t)v;
    if (s < min || s > max)
        return false;
    *out = s;
    return true;
}

/* The scalar types this codec reads, with the range an integer may take. */
static const struct scalar_tag {
    const char *open, *close;
    rpcflat_type type;
    int64_t min, max;
} scalar_tags[] = {
    {"<i8>", "</i8>", RPCFLAT_INT, INT64_MIN, INT64_MAX},
    {"<ex:i8>", "</ex:i8>", RPCFLAT_INT, INT64_MIN, INT64_MAX},
    {"<i4>", "</i4>", RPCFLAT_INT, INT32_MIN, INT32_MAX},
    {"<int>", "</int>", RPCFLAT_INT, INT32_MIN, INT32_MAX},
    {"<boolean>", "</boolean>", RPCFLAT_BOOL, 0, 1},
    {"<base64>", "</base64>", RPCFLAT_BYTES, 0, 0},
    {"<string>", "</string>", RPCFLAT_STRING, 0, 0},
};

/* One <value>...</value> holding a scalar, decoded into the arena: 1, 0
 * when it is not one, RPCFLAT_NO_MEMORY. */
static int value(cursor *c, rpcflat_msg *m)
{
    if (!take_ws(c, "<value>"))
        return 0;
    if (!vals_room(m))
        return RPCFLAT_NO_MEMORY;
    rpcflat_val *v = &m->vals[m->n];
    uint8_t *dst = m->arena + m->arena_len;
    const struct scalar_tag *tag = NULL;
    for (size_t k = 0; k < sizeof scalar_tags / sizeof scalar_tags[0] && !tag; k++)
        if (take(c, scalar_tags[k].open))
            tag = &scalar_tags[k];
    /* An untyped value is a string. Any other type, or whitespace before a
     * type element, fails here and goes to the full parser. */
    v->type = tag ? tag->type : RPCFLAT_STRING;
    long len = 0;
    if (v->type == RPCFLAT_BOOL) {
        /* xmlrpc-c takes exactly "0" or "1", not "01" or "-0". */
        if (c->end - c->p < 1 || (*c->p != '0' && *c->p != '1'))
            return 0;
        v->i = *c->p++ == '1';
    } else if (v->type == RPCFLAT_INT) {
        if (!integer(c, tag->min, tag->max, &v->i))
            return 0;
    } else {
        len = v->type == RPCFLAT_BYTES ? base64(c, dst) : text(c, dst);
        if (len < 0)
            return 0;
        dst[len] = '\0';
        v->p = dst;
        v->n = (size_t)len;
    }
    if ((tag && !take(c, tag->close)) || !take(c, "</value>"))
        return 0;
    if (v->type == RPCFLAT_BYTES || v->type == RPCFLAT_STRING)
        m->arena_len += (size_t)len + 1;
    m->n++;
    return 1;
}

static bool begin_parse(rpcflat_msg *m, size_t len)
{
    rpcflat_msg_reset(m);
    /* Decoded data is never longer than its text, and the NUL after each
     * value fits in the "<value></value>" around it. */
    return arena_need(m, len + 1);
}

/* Empties m; returns rc (-1, or RPCFLAT_NO_MEMORY). */
static int fail(rpcflat_msg *m, int rc)
{
    rpcflat_msg_reset(m);
    return rc;
}

static bool at_end(cursor *c)
{
    skip_ws(c);
    return c->p == c->end;
}

int rpcflat_parse_call(rpcflat_msg *m, const char *xml, size_t len)
{
    if (!begin_parse(m, len))
        return RPCFLAT_NO_MEMORY;
    cursor c = {xml, xml + len};
    if (!prolog(&c) || !take_ws(&c, "<methodCall>") || !take_ws(&c, "<methodName>"))
        return fail(m, -1);
    size_t nl = 0;
    while (c.p < c.end && *c.p != '<') {
        char ch = *c.p++;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '.';
        if (!ok || nl == RPCFLAT_MAX_METHOD)
            return fail(m, -1);
        m->method[nl++] = ch;
    }
    m->method[nl] = '\0';
    if (nl == 0 || !take(&c, "</methodName>") || !take_ws(&c, "<params>"))
        return fail(m, -1);
    while (take_ws(&c, "<param>")) {
        int rc = m->n < RPCFLAT_MAX_CALL_VALS ? value(&c, m) : 0;
        if (rc <= 0)
            return fail(m, rc < 0 ? rc : -1);
        if (!take_ws(&c, "</param>"))
            return fail(m, -1);
    }
    if (!take(&c, "</params>") || !take_ws(&c, "</methodCall>") || !at_end(&c))
        return fail(m, -1);
    return 0;
}

int rpcflat_parse_response(rpcflat_msg *m, const char *xml, size_t len)
{
    if (!begin_parse(m, len))
        return RPCFLAT_NO_MEMORY;
    cursor c = {xml, xml + len};
    if (!prolog(&c) || !take_ws(&c, "<methodResponse>") || !take_ws(&c, "<params>") ||
        !take_ws(&c, "<param>") || !take_ws(&c, "<value>") || !take_ws(&c, "<array>") ||
        !take_ws(&c, "<data>"))
        return fail(m, -1);
    for (;;) {
        skip_ws(&c);
        if (take(&c, "</data>"))
            break;
        int rc = value(&c, m);
        if (rc <= 0)
            return fail(m, rc < 0 ? rc : -1);
    }
    if (!take_ws(&c, "</array>") || !take_ws(&c, "</value>") || !take_ws(&c, "</param>") ||
        !take_ws(&c, "</params>") || !take_ws(&c, "</methodResponse>") || !at_end(&c))
        return fail(m, -1);
    return 0;
}

/* ---- encoding ---------------------------------------------------------- */

static void put_str(buf *out, const char *s) { buf_append(out, s, strlen(s)); }

static void put_text(buf *out, const uint8_t *p, size_t n)
{
    buf_reserve(out, n);
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        char bad[1] = {'?'};
        switch (p[i]) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        default:
            if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n') || p[i] >= 0x7f)
                rep = bad;
        }
        if (!rep)
            continue;
        buf_append(out, p + from, i - from);
        buf_append(out, rep, rep == bad ? 1 : strlen(rep));
        from = i + 1;
    }
    buf_append(out, p + from, n - from);
}

static void put_base64(buf *out, const uint8_t *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (buf_reserve(out, (n + 2) / 3 * 4) < 0)
        return; /* a fallible buffer that failed: its owner discards it */
    char *o = (char *)out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = tab[w >> 18];
        *o++ = tab[(w >> 12) & 63];
        *o++ = tab[(w >> 6) & 63];
        *o++ = tab[w & 63];
    }
    if (i < n) {
        uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        *o++ = tab[w >> 18];
        *o++ = tab[(w >> 12) & 63];
        *o++ = i + 1 < n ? tab[(w >> 6) & 63] : '=';
        *o++ = '=';
    }
    out->len = (size_t)((uint8_t *)o - out->data);
}

static void put_value(buf *out, const rpcflat_val *v)
{
    char num[64]; /* the tags and 20 characters of INT64_MIN */
    switch (v->type) {
    case RPCFLAT_INT:
        snprintf(num, sizeof num, "<value><i8>%lld</i8></value>", (long long)v->i);
        put_str(out, num);
        break;
    case RPCFLAT_BOOL:
        put_str(out, v->i ? "<value><boolean>1</boolean></value>"
                           : "<value><boolean>0</boolean></value>");
        break;
    case RPCFLAT_BYTES:
        put_str(out, "<value><base64>");
        put_base64(out, v->p, v->n);
        put_str(out, "</base64></value>");
        break;
    case RPCFLAT_STRING:
        put_str(out, "<value><string>");
        put_text(out, v->p, v->n);
        put_str(out, "</string></value>");
        break;
    }
}

static void put_prolog(buf *out, const char *root)
{
    put_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<");
    put_str(out, root);
    put_str(out, ">");
}

void rpcflat_encode_call(buf *out, const char *method, const rpcflat_val *vals, size_t n)
{
    put_prolog(out, "methodCall");
    put_str(out, "<methodName>");
    put_text(out, (const uint8_t *)method, strlen(method));
    put_str(out, "</methodName><params>");
    for (size_t i = 0; i < n; i++) {
        put_str(out, "<param>");
        put_value(out, &vals[i]);
        put_str(out, "</param>");
    }
    put_str(out, "</params></methodCall>\r\n");
}

void rpcflat_encode_response_begin(buf *out)
{
    put_prolog(out, "methodResponse");
    put_str(out, "<params><param>");
}

void rpcflat_encode_response_end(buf *out)
{
    put_str(out, "</param></params></methodResponse>\r\n");
}

void rpcflat_encode_value(buf *out, const rpcflat_val *v) { put_value(out, v); }
void rpcflat_encode_array_begin(buf *out) { put_str(out, "<value><array><data>"); }
void rpcflat_encode_array_end(buf *out) { put_str(out, "</data></array></value>"); }
void rpcflat_encode_struct_begin(buf *out) { put_str(out, "<value><struct>"); }
void rpcflat_encode_struct_end(buf *out) { put_str(out, "</struct></value>"); }

void rpcflat_encode_member_begin(buf *out, const char *name)
{
    put_str(out, "<member><name>");
    put_text(out, (const uint8_t *)name, strlen(name));
    put_str(out, "</name>");
}

void rpcflat_encode_member_end(buf *out) { put_str(out, "</member>"); }

void rpcflat_encode_response(buf *out, const rpcflat_val *vals, size_t n)
{
    rpcflat_encode_response_begin(out);
    rpcflat_encode_array_begin(out);
    for (size_t i = 0; i < n; i++)
        put_value(out, &vals[i]);
    rpcflat_encode_array_end(out);
    rpcflat_encode_response_end(out);
}

void rpcflat_encode_fault(buf *out, int code, const char *message)
{
    char num[16];
    snprintf(num, sizeof num, "%d", code);
    put_prolog(out, "methodResponse");
    put_str(out, "<fault><value><struct><member><name>faultCode</name><value><int>");
    put_str(out, num);
    put_str(out, "</int></value></member><member><name>faultString</name><value><string>");
    put_text(out, (const uint8_t *)message, strlen(message));
    put_str(out, "</string></value></member></struct></value></fault></methodResponse>\r\n");
}
