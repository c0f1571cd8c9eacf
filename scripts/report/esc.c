#include "esc.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when there is none
 * (a stray continuation, an overlong form, a surrogate, past U+10FFFF,
 * cut short). */
static size_t utf8_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[k] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void esc_html(FILE *f, const uint8_t *p, size_t n, size_t max)
{
    size_t end = max && n > max ? max : n;
    for (size_t i = 0; i < end;) {
        uint8_t c = p[i];
        switch (c) {
        case '&': fputs("&amp;", f); i++; continue;
        case '<': fputs("&lt;", f); i++; continue;
        case '>': fputs("&gt;", f); i++; continue;
        case '"': fputs("&quot;", f); i++; continue;
        case '\'': fputs("&#39;", f); i++; continue;
        case '\\': fputs("\\x5c", f); i++; continue;
        default: break;
        }
        if (c >= 0x20 && c < 0x7f) {
            fputc(c, f);
            i++;
            continue;
        }
        size_t len = c >= 0x80 ? utf8_len(p + i, n - i) : 0;
        if (len) {
            fwrite(p + i, 1, len, f);
            i += len;
        } else {
            fprintf(f, "\\x%02x", c);
            i++;
        }
    }
    if (end < n)
        fputs("...", f);
}

void esc_html_str(FILE *f, const char *s) { esc_html(f, (const uint8_t *)s, strlen(s), 0); }
