#include "hmap.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    uint8_t *key; /* NULL: empty */
    size_t len;
    uint64_t hash;
    void *val;
} entry;

struct hmap {
    entry *e;
    size_t cap; /* a power of two */
    size_t n;
};

uint64_t hmap_hash(const void *p, size_t n, uint64_t seed)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ULL ^ (seed * 0x9e3779b97f4a7c15ULL);
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    /* splitmix64 finaliser: FNV's low bits are weak for power-of-two tables */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

hmap *hmap_new(void)
{
    hmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 16;
    m->e = calloc(m->cap, sizeof *m->e);
    if (!m->e) {
        free(m);
        return NULL;
    }
    return m;
}

void hmap_free(hmap *m, void (*free_val)(void *))
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->e[i].key)
            continue;
        free(m->e[i].key);
        if (free_val)
            free_val(m->e[i].val);
    }
    free(m->e);
    free(m);
}

static entry *find(const hmap *m, const void *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        entry *e = &m->e[i];
        if (!e->key || (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0))
            return e;
    }
}

void *hmap_get(const hmap *m, const void *key, size_t len)
{
    entry *e = find(m, key, len, hmap_hash(key, len, 0));
    return e->key ? e->val : NULL;
}

static bool grow(hmap *m)
{
    size_t cap = m->cap * 2;
    entry *ne = calloc(cap, sizeof *ne);
    if (!ne)
        return false;
    entry *old = m->e;
    size_t old_cap = m->cap;
    m->e = ne;
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            *find(m, old[i].key, old[i].len, old[i].hash) = old[i];
    free(old);
    return true;
}

void **hmap_slot(hmap *m, const void *key, size_t len, bool *created)
{
    uint64_t h = hmap_hash(key, len, 0);
    entry *e = find(m, key, len, h);
    if (e->key) {
        if (created)
            *created = false;
        return &e->val;
    }
    if ((m->n + 1) * 4 > m->cap * 3) {
        if (!grow(m))
            return NULL;
        e = find(m, key, len, h);
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return NULL;
    if (len)
        memcpy(copy, key, len);
    e->key = copy;
    e->len = len;
    e->hash = h;
    e->val = NULL;
    m->n++;
    if (created)
        *created = true;
    return &e->val;
}

size_t hmap_size(const hmap *m) { return m->n; }

bool hmap_next(const hmap *m, size_t *pos, const void **key, size_t *len, void **val)
{
    for (size_t i = *pos; i < m->cap; i++) {
        if (!m->e[i].key)
            continue;
        if (key)
            *key = m->e[i].key;
        if (len)
            *len = m->e[i].len;
        if (val)
            *val = m->e[i].val;
        *pos = i + 1;
        return true;
    }
    *pos = m->cap;
    return false;
}
