#define _GNU_SOURCE /* memmem */
#include "xrpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/ids.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void xrpc_base64_encode(buf *out, const uint8_t *p, size_t n)
{
    buf_reserve(out, (n + 2) / 3 * 4);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {b64_alphabet[(v >> 18) & 63], b64_alphabet[(v >> 12) & 63],
                     i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=',
                     i + 2 < n ? b64_alphabet[v & 63] : '='};
        buf_append(out, q, 4);
    }
}

static int b64_index(char c)
{
    const char *at = c ? strchr(b64_alphabet, c) : NULL;
    return at ? (int)(at - b64_alphabet) : -1;
}

int xrpc_base64_decode(buf *out, const char *p, size_t n)
{
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=')
            break;
        int v = b64_index(c);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            uint8_t byte = (uint8_t)(acc >> bits);
            buf_append(out, &byte, 1);
        }
    }
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int xrpc_unescape(const char *text, buf *out, dkv_err *err)
{
    for (const char *p = text; *p; p++) {
        uint8_t c = (uint8_t)*p;
        if (c == '\\') {
            p++;
            switch (*p) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '0': c = 0; break;
            case '\\': c = '\\'; break;
            case 'x': {
                int hi = hex_digit(p[1]), lo = hi < 0 ? -1 : hex_digit(p[2]);
                if (lo < 0)
                    return dkv_err_set(err, "bad \\x escape in '%.40s'", text);
                c = (uint8_t)(hi * 16 + lo);
                p += 2;
                break;
            }
            default: return dkv_err_set(err, "bad escape in '%.40s'", text);
            }
        }
        buf_append(out, &c, 1);
    }
    return 0;
}

static void append_str(buf *out, const char *s) { buf_append(out, s, strlen(s)); }

static void append_xml_escaped(buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            append_str(out, "&lt;");
        else if (*s == '&')
            append_str(out, "&amp;");
        else if (*s == '>')
            append_str(out, "&gt;");
        else
            buf_append(out, s, 1);
    }
}

/* One <param> for spec TYPE:TEXT. */
static int append_param(buf *out, const char *spec, dkv_err *err)
{
    const char *colon = strchr(spec, ':');
    if (!colon)
        return dkv_err_set(err, "argument '%.40s' is not TYPE:TEXT", spec);
    size_t tl = (size_t)(colon - spec);
    const char *text = colon + 1;
    append_str(out, "<param><value>");
    if (tl == 1 && spec[0] == 'i') {
        char *end;
        long long v = strtoll(text, &end, 10);
        if (!*text || *end)
            return dkv_err_set(err, "'%.40s' is not an integer", text);
        char num[32];
        snprintf(num, sizeof num, "<i8>%lld</i8>", v);
        append_str(out, num);
    } else if (tl == 1 && spec[0] == 'b') {
        buf raw;
        buf_init(&raw);
        if (xrpc_unescape(text, &raw, err) < 0) {
            buf_free(&raw);
            return -1;
        }
        append_str(out, "<base64>");
        xrpc_base64_encode(out, raw.data, raw.len);
        append_str(out, "</base64>");
        buf_free(&raw);
    } else if (tl == 2 && memcmp(spec, "bn", 2) == 0) {
        uint64_t count;
        if (ids_parse_u64(text, 1u << 30, &count, err) < 0)
            return -1;
        uint8_t *raw = malloc(count ? count : 1);
        if (!raw)
            return dkv_err_set(err, "out of memory");
        memset(raw, 'v', count);
        append_str(out, "<base64>");
        xrpc_base64_encode(out, raw, count);
        append_str(out, "</base64>");
        free(raw);
    } else if (tl == 1 && spec[0] == 's') {
        append_str(out, "<string>");
        append_xml_escaped(out, text);
        append_str(out, "</string>");
    } else if (tl == 1 && spec[0] == 't' && (strcmp(text, "0") == 0 || strcmp(text, "1") == 0)) {
        append_str(out, "<boolean>");
        append_str(out, text);
        append_str(out, "</boolean>");
    } else {
        return dkv_err_set(err, "argument '%.40s': unknown type or bad value", spec);
    }
    append_str(out, "</value></param>");
    return 0;
}

int xrpc_build_call(buf *out, const char *method, char *const specs[], size_t n, dkv_err *err)
{
    append_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodCall><methodName>");
    append_xml_escaped(out, method);
    append_str(out, "</methodName>\r\n<params>");
    for (size_t i = 0; i < n; i++)
        if (append_param(out, specs[i], err) < 0)
            return -1;
    append_str(out, "</params>\r\n</methodCall>\r\n");
    return 0;
}

void xrpc_reply_init(xrpc_reply *r)
{
    r->fault = false;
    buf_init(&r->text);
}

void xrpc_reply_free(xrpc_reply *r) { buf_free(&r->text); }

/* Appends bytes so that the reply stays one line of space-separated
 * tokens: an empty value reads "". */
static void emit_printable(xrpc_reply *r, const uint8_t *p, size_t n)
{
    if (r->text.len > 0)
        buf_append(&r->text, " ", 1);
    if (n == 0)
        buf_append(&r->text, "\"\"", 2);
    for (size_t i = 0; i < n; i++) {
        if (p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\') {
            buf_append(&r->text, &p[i], 1);
        } else {
            char e[5];
            snprintf(e, sizeof e, "\\x%02x", p[i]);
            buf_append(&r->text, e, 4);
        }
    }
}

/* Resolves the five predefined entities and decimal/hex references below
 * 128; anything else is kept as written. */
static void xml_unescape(buf *out, const char *p, size_t n)
{
    static const struct {
        const char *name;
        char c;
    } ents[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < n;) {
        bool done = false;
        for (size_t k = 0; k < sizeof ents / sizeof ents[0] && p[i] == '&'; k++) {
            size_t el = strlen(ents[k].name);
            if (i + el <= n && memcmp(p + i, ents[k].name, el) == 0) {
                buf_append(out, &ents[k].c, 1);
                i += el;
                done = true;
                break;
            }
        }
        if (!done && p[i] == '&' && i + 2 < n && p[i + 1] == '#') {
            const char *semi = memchr(p + i, ';', n - i);
            if (semi) {
                bool hex = p[i + 2] == 'x';
                long v = strtol(p + i + (hex ? 3 : 2), NULL, hex ? 16 : 10);
                if (v > 0 && v < 128) {
                    char c = (char)v;
                    buf_append(out, &c, 1);
                    i = (size_t)(semi - p) + 1;
                    done = true;
                }
            }
        }
        if (!done)
            buf_append(out, &p[i++], 1);
    }
}

static bool is_name(const char *a, size_t al, const char *b)
{
    return al == strlen(b) && memcmp(a, b, al) == 0;
}

int xrpc_read_reply(xrpc_reply *r, const char *xml, size_t n, dkv_err *err)
{
    buf_clear(&r->text);
    r->fault = false;
    if (!memmem(xml, n, "<methodResponse", 15))
        return dkv_err_set(err, "reply is not a methodResponse: %.80s", xml);
    r->fault = memmem(xml, n, "<fault>", 7) != NULL;
    const char *end = xml + n, *p = xml;
    while (p < end && (p = memchr(p, '<', (size_t)(end - p)))) {
        const char *name = p + 1, *q = name;
        while (q < end && (*q == '.' || *q == '_' || *q == '-' || (*q >= '0' && *q <= '9') ||
                           ((*q | 0x20) >= 'a' && (*q | 0x20) <= 'z')))
            q++;
        const char *gt = memchr(q, '>', (size_t)(end - q));
        if (!gt)
            break;
        size_t nl = (size_t)(q - name);
        bool self_closing = gt > name && gt[-1] == '/';
        const char *content = gt + 1;
        const char *cend = content < end ? memchr(content, '<', (size_t)(end - content)) : NULL;
        if (!cend)
            cend = end;
        bool text_leaf = is_name(name, nl, "i4") || is_name(name, nl, "int") ||
                         is_name(name, nl, "i8") || is_name(name, nl, "boolean") ||
                         is_name(name, nl, "double") || is_name(name, nl, "string") ||
                         is_name(name, nl, "dateTime.iso8601");
        bool untyped = is_name(name, nl, "value") && !self_closing &&
                       (size_t)(end - cend) >= 8 && memcmp(cend, "</value>", 8) == 0;
        buf raw;
        buf_init(&raw);
        if (self_closing && (text_leaf || is_name(name, nl, "base64"))) {
            emit_printable(r, NULL, 0);
        } else if (self_closing && is_name(name, nl, "nil")) {
            emit_printable(r, (const uint8_t *)"nil", 3);
        } else if (text_leaf || untyped) {
            xml_unescape(&raw, content, (size_t)(cend - content));
            emit_printable(r, raw.data, raw.len);
            p = cend;
        } else if (is_name(name, nl, "base64")) {
            if (xrpc_base64_decode(&raw, content, (size_t)(cend - content)) < 0) {
                buf_free(&raw);
                return dkv_err_set(err, "bad base64 in the reply");
            }
            emit_printable(r, raw.data, raw.len);
            p = cend;
        }
        buf_free(&raw);
        if (p != cend)
            p = gt + 1;
    }
    buf_append(&r->text, "", 1);
    r->text.len--;
    return 0;
}
