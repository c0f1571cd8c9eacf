#include "session.h"
#include "../common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    uint8_t *key; /* NULL: empty */
    size_t key_len;
    uint64_t hash;
    dkv_version dep;
} slot;

struct session {
    slot *slots;
    size_t cap, n; /* cap is a power of two */
};

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

session *session_new(void)
{
    session *s = xcalloc(1, sizeof *s);
    s->cap = 64;
    s->slots = xcalloc(s->cap, sizeof *s->slots);
    return s;
}

void session_free(session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i].key);
    free(s->slots);
    free(s);
}

static slot *find(const session *s, const uint8_t *key, size_t key_len, uint64_t h)
{
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        slot *sl = &s->slots[i];
        if (!sl->key || (sl->hash == h && sl->key_len == key_len &&
                         memcmp(sl->key, key, key_len) == 0))
            return sl;
    }
}

static void grow(session *s)
{
    slot *old = s->slots;
    size_t old_cap = s->cap;
    s->cap *= 2;
    s->slots = xcalloc(s->cap, sizeof *s->slots);
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].key)
            *find(s, old[i].key, old[i].key_len, old[i].hash) = old[i];
    free(old);
}

dkv_version session_dep(const session *s, const uint8_t *key, size_t key_len)
{
    slot *sl = find(s, key, key_len, hash_bytes(key, key_len));
    return sl->key ? sl->dep : (dkv_version){0, 0};
}

void session_observe(session *s, const uint8_t *key, size_t key_len, dkv_version v)
{
    if (dkv_version_is_none(v))
        return;
    if ((s->n + 1) * 4 > s->cap * 3)
        grow(s);
    uint64_t h = hash_bytes(key, key_len);
    slot *sl = find(s, key, key_len, h);
    if (!sl->key) {
        sl->key = xmalloc(key_len ? key_len : 1);
        memcpy(sl->key, key, key_len);
        sl->key_len = key_len;
        sl->hash = h;
        sl->dep = v;
        s->n++;
    } else if (dkv_version_cmp(v, sl->dep) > 0) {
        sl->dep = v;
    }
}

size_t session_size(const session *s) { return s->n; }

session_read session_check_read(session *s, const uint8_t *key, size_t key_len, int found,
                                dkv_version server_version)
{
    dkv_version dep = session_dep(s, key, key_len);
    if (!dkv_version_is_none(dep)) {
        if (!found || dkv_version_cmp(server_version, dep) < 0)
            return SESSION_READ_ERR_DEP;
    } else if (!found) {
        return SESSION_READ_ERR_KEY;
    }
    session_observe(s, key, key_len, server_version);
    return SESSION_READ_OK;
}
