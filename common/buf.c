#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf *b) { memset(b, 0, sizeof *b); }

void buf_free(buf *b)
{
    free(b->data);
    buf_init(b);
}

void buf_set_fallible(buf *b) { b->fallible = true; }

static int grow_failed(buf *b, size_t want)
{
    if (!b->fallible) {
        fprintf(stderr, "out of memory (%zu bytes)\n", want);
        abort();
    }
    b->failed = true;
    return -1;
}

int buf_reserve(buf *b, size_t more)
{
    if (b->failed)
        return -1;
    if (b->cap - b->len >= more)
        return 0;
    if (b->off > 0 && b->off >= b->len / 2) {
        /* Reclaim consumed space before growing. */
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len >= more)
            return 0;
    }
    if (more > SIZE_MAX / 2 - b->len)
        return grow_failed(b, SIZE_MAX);
    /* Doubling keeps appends amortised O(1); a large request gets exactly
     * what it asks for, so a multi-MiB frame costs its size, not up to
     * twice that. */
    size_t cap = b->cap ? b->cap * 2 : 256;
    if (cap < b->len + more)
        cap = b->len + more;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return grow_failed(b, cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

void buf_append(buf *b, const void *p, size_t n)
{
    if (n == 0 || buf_reserve(b, n) < 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void buf_append_u32(buf *b, uint32_t v)
{
    uint8_t t[4];
    dkv_put_u32(t, v);
    buf_append(b, t, 4);
}

void buf_append_u64(buf *b, uint64_t v)
{
    uint8_t t[8];
    dkv_put_u64(t, v);
    buf_append(b, t, 8);
}

/* An emptied buffer bigger than this gives its memory back: one burst (a
 * catch-up, a multi-MiB value) should not pin memory for the process's
 * life. */
#define BUF_KEEP_CAP (256u << 10)

void buf_consume(buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len) {
        b->off = b->len = 0;
        if (b->cap > BUF_KEEP_CAP) {
            free(b->data);
            b->data = NULL;
            b->cap = 0;
        }
    }
}

void buf_clear(buf *b) { b->off = b->len = 0; }

void buf_shrink(buf *b)
{
    size_t unread = buf_unread(b);
    if (b->cap <= BUF_KEEP_CAP || unread > BUF_KEEP_CAP / 2)
        return;
    memmove(b->data, b->data + b->off, unread);
    b->off = 0;
    b->len = unread;
    uint8_t *p = realloc(b->data, BUF_KEEP_CAP);
    if (p) { /* on failure the larger block simply stays */
        b->data = p;
        b->cap = BUF_KEEP_CAP;
    }
}

uint32_t dkv_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t dkv_get_u64(const uint8_t *p)
{
    return (uint64_t)dkv_get_u32(p) << 32 | dkv_get_u32(p + 4);
}

void dkv_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

void dkv_put_u64(uint8_t *p, uint64_t v)
{
    dkv_put_u32(p, v >> 32);
    dkv_put_u32(p + 4, (uint32_t)v);
}
