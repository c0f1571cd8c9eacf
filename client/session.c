#include "session.h"

#include <stdlib.h>

#include "../common/hmap.h"
#include "../common/xalloc.h"

struct session {
    hmap *deps; /* key -> malloc'ed dkv_version */
};

session *session_new(void)
{
    session *s = xmalloc(sizeof *s);
    s->deps = hmap_new();
    return s;
}

void session_free(session *s)
{
    if (!s)
        return;
    hmap_free(s->deps, free);
    free(s);
}

dkv_version session_dep(const session *s, const uint8_t *key, size_t key_len)
{
    const dkv_version *dep = hmap_get(s->deps, key, key_len);
    return dep ? *dep : (dkv_version){0, 0};
}

void session_observe(session *s, const uint8_t *key, size_t key_len, dkv_version v)
{
    if (dkv_version_is_none(v))
        return;
    bool created;
    void **slot = hmap_slot(s->deps, key, key_len, &created);
    if (created) {
        dkv_version *dep = xmalloc(sizeof *dep);
        *dep = v;
        *slot = dep;
    } else if (dkv_version_cmp(v, *(dkv_version *)*slot) > 0) {
        *(dkv_version *)*slot = v;
    }
}

size_t session_size(const session *s) { return hmap_size(s->deps); }

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
