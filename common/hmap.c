#include "hmap.h"

#include "hash.h"
#include "xalloc.h"

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

hmap *hmap_new(void)
{
    hmap *m = xcalloc(1, sizeof *m);
    m->cap = 16;
    m->e = xcalloc(m->cap, sizeof *m->e);
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
    entry *e = find(m, key, len, hash_seeded(key, len, 0));
    return e->key ? e->val : NULL;
}

static void grow(hmap *m)
{
    size_t cap = m->cap * 2;
    entry *ne = xcalloc(cap, sizeof *ne);
    entry *old = m->e;
    size_t old_cap = m->cap;
    m->e = ne;
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            *find(m, old[i].key, old[i].len, old[i].hash) = old[i];
    free(old);
}

void **hmap_slot(hmap *m, const void *key, size_t len, bool *created)
{
    uint64_t h = hash_seeded(key, len, 0);
    entry *e = find(m, key, len, h);
    if (e->key) {
        if (created)
            *created = false;
        return &e->val;
    }
    if ((m->n + 1) * 4 > m->cap * 3) {
        grow(m);
        e = find(m, key, len, h);
    }
    e->key = xmemdup(key, len);
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
