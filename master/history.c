#include "history.h"
#include "../common/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct history {
    FILE *f;
};

history *history_open(const char *path, dkv_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        dkv_err_set(err, "cannot write history %s: %s", path, strerror(errno));
        return NULL;
    }
    history *h = xcalloc(1, sizeof *h);
    h->f = f;
    return h;
}

void history_close(history *h)
{
    if (!h)
        return;
    fclose(h->f);
    free(h);
}

int history_write(history *h, json_t *rec, dkv_err *err)
{
    if (json_dumpf(rec, h->f, JSON_COMPACT) < 0 || fputc('\n', h->f) == EOF ||
        fflush(h->f) != 0)
        return dkv_err_set(err, "cannot write history: %s", strerror(errno));
    return 0;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static int valid_utf8(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

json_t *history_bytes(const uint8_t *p, size_t n)
{
    if (valid_utf8(p, n) && !memchr(p, '\0', n))
        return json_stringn((const char *)p, n);
    static const char digits[] = "0123456789abcdef";
    char *hex = xmalloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[p[i] >> 4];
        hex[2 * i + 1] = digits[p[i] & 15];
    }
    hex[2 * n] = '\0';
    json_t *o = json_pack("{s:s}", "hex", hex);
    free(hex);
    return o;
}

json_t *history_version(dkv_version v)
{
    if (dkv_version_is_none(v))
        return json_null();
    return json_pack("[II]", (json_int_t)v.lamport, (json_int_t)v.origin);
}
