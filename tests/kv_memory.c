#include "kv_memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/vec.h"
#include "../common/xalloc.h"

typedef struct mem_pair {
    uint8_t *k, *v;
    size_t kl, vl;
} mem_pair;

/* Pairs sorted by key: a binary search finds a key, an insertion moves the
 * tail. Fixture stores hold a few hundred records. */
typedef struct kv_memory {
    mem_pair *p;
    size_t n, cap;
} kv_memory;

static int key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* Index of the first pair with key >= k. */
static size_t lower_bound(const kv_memory *m, const uint8_t *k, size_t kl)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp(m->p[mid].k, m->p[mid].kl, k, kl) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int mem_get(void *impl, const uint8_t *k, size_t kl, uint8_t **v, size_t *vl,
                   dkv_err *err)
{
    (void)err;
    kv_memory *m = impl;
    size_t i = lower_bound(m, k, kl);
    *v = NULL;
    if (i < m->n && key_cmp(m->p[i].k, m->p[i].kl, k, kl) == 0) {
        *v = xmemdup(m->p[i].v, m->p[i].vl);
        *vl = m->p[i].vl;
    }
    return 0;
}

static void put_one(kv_memory *m, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    size_t at = lower_bound(m, k, kl);
    if (at < m->n && key_cmp(m->p[at].k, m->p[at].kl, k, kl) == 0) {
        free(m->p[at].v);
    } else {
        m->p = vec_reserve(m->p, &m->cap, m->n + 1, sizeof *m->p);
        memmove(m->p + at + 1, m->p + at, (m->n - at) * sizeof *m->p);
        m->n++;
        m->p[at].k = xmemdup(k, kl);
        m->p[at].kl = kl;
    }
    m->p[at].v = xmemdup(v, vl);
    m->p[at].vl = vl;
}

/* Nothing here can fail part-way (out of memory aborts), so applying the
 * pairs in order is atomic. */
static int mem_write(void *impl, const kv_batch *b, dkv_err *err)
{
    (void)err;
    for (size_t i = 0; i < kv_batch_count(b); i++) {
        const uint8_t *k, *v;
        size_t kl, vl;
        kv_batch_at(b, i, &k, &kl, &v, &vl);
        put_one(impl, k, kl, v, vl);
    }
    return 0;
}

static int mem_scan(void *impl, const uint8_t *start, size_t sl, kv_scan_fn fn, void *user,
                    dkv_err *err)
{
    (void)err;
    kv_memory *m = impl;
    for (size_t i = lower_bound(m, start, sl); i < m->n; i++)
        if (fn(user, m->p[i].k, m->p[i].kl, m->p[i].v, m->p[i].vl))
            break;
    return 0;
}

static void mem_close(void *impl)
{
    kv_memory *m = impl;
    for (size_t i = 0; i < m->n; i++) {
        free(m->p[i].k);
        free(m->p[i].v);
    }
    free(m->p);
    free(m);
}

static const kv_ops mem_ops = {mem_get, mem_write, mem_scan, mem_close};

kv *kv_memory_new(void) { return kv_new(&mem_ops, xcalloc(1, sizeof(kv_memory))); }

store *kv_memory_store(uint64_t self)
{
    char name[40];
    snprintf(name, sizeof name, "memory %llu", (unsigned long long)self);
    dkv_err err;
    store *st = store_open_kv(kv_memory_new(), name, self, &err);
    if (!st) /* a fresh memory store has nothing to refuse */
        abort();
    return st;
}
