#include "kv.h"

#include <stdlib.h>

#include "../common/buf.h"
#include "../common/vec.h"
#include "../common/xalloc.h"

struct kv {
    const kv_ops *ops;
    void *impl;
};

kv *kv_new(const kv_ops *ops, void *impl)
{
    kv *db = xmalloc(sizeof *db);
    db->ops = ops;
    db->impl = impl;
    return db;
}

void kv_close(kv *db)
{
    if (!db)
        return;
    db->ops->close(db->impl);
    free(db);
}

int kv_get(kv *db, const uint8_t *k, size_t kl, uint8_t **v, size_t *vl, dkv_err *err)
{
    return db->ops->get(db->impl, k, kl, v, vl, err);
}

int kv_write(kv *db, const kv_batch *b, dkv_err *err)
{
    return db->ops->write(db->impl, b, err);
}

int kv_scan(kv *db, const uint8_t *start, size_t sl, kv_scan_fn fn, void *user, dkv_err *err)
{
    return db->ops->scan(db->impl, start, sl, fn, user, err);
}

/* Pairs are offsets into one byte buffer, so a batch of thousands of
 * records costs a few allocations, reused from batch to batch. */
typedef struct kv_span {
    size_t k, kl, v, vl;
} kv_span;

struct kv_batch {
    buf bytes;
    kv_span *pairs;
    size_t n, cap;
};

kv_batch *kv_batch_new(void)
{
    kv_batch *b = xcalloc(1, sizeof *b);
    buf_init(&b->bytes);
    return b;
}

void kv_batch_free(kv_batch *b)
{
    if (!b)
        return;
    buf_free(&b->bytes);
    free(b->pairs);
    free(b);
}

/* Pairs a cleared batch may keep room for: a catch-up batch of thousands
 * should not pin its memory (the bytes follow buf's own rule). */
#define KV_BATCH_KEEP_PAIRS 1024

void kv_batch_clear(kv_batch *b)
{
    buf_consume(&b->bytes, buf_unread(&b->bytes));
    b->n = 0;
    if (b->cap > KV_BATCH_KEEP_PAIRS) {
        free(b->pairs);
        b->pairs = NULL;
        b->cap = 0;
    }
}

void kv_batch_put(kv_batch *b, const void *k, size_t kl, const void *v, size_t vl)
{
    kv_span *s = VEC_PUSH(b->pairs, b->n, b->cap);
    s->k = b->bytes.len;
    s->kl = kl;
    buf_append(&b->bytes, k, kl);
    s->v = b->bytes.len;
    s->vl = vl;
    buf_append(&b->bytes, v, vl);
}

size_t kv_batch_count(const kv_batch *b) { return b->n; }

void kv_batch_at(const kv_batch *b, size_t i, const uint8_t **k, size_t *kl, const uint8_t **v,
                 size_t *vl)
{
    const kv_span *s = &b->pairs[i];
    /* No bytes yet (only empty keys and values): no buffer either. */
    const uint8_t *base = b->bytes.data ? b->bytes.data : (const uint8_t *)"";
    *k = base + s->k;
    *kl = s->kl;
    *v = base + s->v;
    *vl = s->vl;
}
