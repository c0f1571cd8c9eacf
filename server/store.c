#include "store.h"

#include <leveldb/c.h>
#include <stdlib.h>
#include <string.h>

struct store {
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_readoptions_t *ropts;
    leveldb_writeoptions_t *wopts;
    buf k, v; /* scratch */
};

/* The one adapter from LevelDB's char** errors to dkv_err. */
static int take_leveldb_error(char *lerr, dkv_err *err, const char *what)
{
    if (!lerr)
        return 0;
    dkv_err_set(err, "%s: %s", what, lerr);
    leveldb_free(lerr);
    return -1;
}

store *store_open(const char *dir, bool sync, dkv_err *err)
{
    store *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->opts = leveldb_options_create();
    leveldb_options_set_create_if_missing(s->opts, 1);
    s->ropts = leveldb_readoptions_create();
    s->wopts = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(s->wopts, sync);
    char *lerr = NULL;
    s->db = leveldb_open(s->opts, dir, &lerr);
    if (take_leveldb_error(lerr, err, "opening LevelDB") < 0) {
        store_close(s);
        return NULL;
    }
    buf_init(&s->k);
    buf_init(&s->v);
    return s;
}

void store_close(store *s)
{
    if (!s)
        return;
    if (s->db)
        leveldb_close(s->db);
    leveldb_options_destroy(s->opts);
    leveldb_readoptions_destroy(s->ropts);
    leveldb_writeoptions_destroy(s->wopts);
    buf_free(&s->k);
    buf_free(&s->v);
    free(s);
}

int store_load_meta(store *s, record_meta *m, bool *found, dkv_err *err)
{
    size_t len;
    char *lerr = NULL;
    char *rec = leveldb_get(s->db, s->ropts, RECORD_META_KEY, 1, &len, &lerr);
    if (take_leveldb_error(lerr, err, "reading meta") < 0)
        return -1;
    *found = rec != NULL;
    if (!rec)
        return 0;
    int rc = record_meta_decode((const uint8_t *)rec, len, m, err);
    leveldb_free(rec);
    return rc;
}

static void batch_meta(store *s, leveldb_writebatch_t *wb, const record_meta *m)
{
    buf_clear(&s->v);
    record_meta_encode(&s->v, m);
    leveldb_writebatch_put(wb, RECORD_META_KEY, 1, (const char *)buf_head(&s->v),
                           buf_unread(&s->v));
}

int store_save_meta(store *s, const record_meta *m, dkv_err *err)
{
    leveldb_writebatch_t *wb = leveldb_writebatch_create();
    batch_meta(s, wb, m);
    char *lerr = NULL;
    leveldb_write(s->db, s->wopts, wb, &lerr);
    leveldb_writebatch_destroy(wb);
    return take_leveldb_error(lerr, err, "writing meta");
}

int store_get(store *s, const uint8_t *key, size_t key_len, bool *found, dkv_version *v,
              uint8_t **value, size_t *value_len, dkv_err *err)
{
    buf_clear(&s->k);
    record_data_key(&s->k, key, key_len);
    size_t len;
    char *lerr = NULL;
    char *rec = leveldb_get(s->db, s->ropts, (const char *)buf_head(&s->k), buf_unread(&s->k),
                            &len, &lerr);
    if (take_leveldb_error(lerr, err, "reading a key") < 0)
        return -1;
    *found = rec != NULL;
    if (!rec)
        return 0;
    const uint8_t *val;
    size_t vl;
    if (record_data_decode((const uint8_t *)rec, len, v, &val, &vl, err) < 0) {
        leveldb_free(rec);
        return -1;
    }
    if (value) {
        *value = malloc(vl ? vl : 1);
        if (!*value)
            abort();
        memcpy(*value, val, vl);
        *value_len = vl;
    }
    leveldb_free(rec);
    return 0;
}

int store_apply(store *s, const dkv_update *u, size_t n, const record_meta *m, dkv_err *err)
{
    leveldb_writebatch_t *wb = leveldb_writebatch_create();
    for (size_t i = 0; i < n; i++) {
        /* The winner so far: the stored version, or a newer one written
         * earlier in this same batch. */
        dkv_version best = {0, 0};
        bool found;
        if (store_get(s, u[i].key, u[i].key_len, &found, &best, NULL, NULL, err) < 0) {
            leveldb_writebatch_destroy(wb);
            return -1;
        }
        if (!found)
            best = (dkv_version){0, 0};
        for (size_t j = 0; j < i; j++)
            if (u[j].key_len == u[i].key_len && memcmp(u[j].key, u[i].key, u[i].key_len) == 0 &&
                version_cmp(update_version(&u[j]), best) > 0)
                best = update_version(&u[j]);
        if (version_cmp(update_version(&u[i]), best) > 0) {
            buf_clear(&s->k);
            record_data_key(&s->k, u[i].key, u[i].key_len);
            buf_clear(&s->v);
            record_data_value(&s->v, update_version(&u[i]), u[i].value, u[i].value_len);
            leveldb_writebatch_put(wb, (const char *)buf_head(&s->k), buf_unread(&s->k),
                                   (const char *)buf_head(&s->v), buf_unread(&s->v));
        }
        uint8_t lk[17];
        record_log_key(lk, u[i].origin, u[i].seq);
        buf_clear(&s->v);
        record_log_value(&s->v, &u[i]);
        leveldb_writebatch_put(wb, (const char *)lk, sizeof lk, (const char *)buf_head(&s->v),
                               buf_unread(&s->v));
    }
    batch_meta(s, wb, m);
    char *lerr = NULL;
    leveldb_write(s->db, s->wopts, wb, &lerr);
    leveldb_writebatch_destroy(wb);
    return take_leveldb_error(lerr, err, "writing updates");
}

int store_log_get(store *s, uint64_t origin, uint64_t seq, dkv_update *u, uint8_t **owned,
                  bool *found, dkv_err *err)
{
    uint8_t lk[17];
    record_log_key(lk, origin, seq);
    size_t len;
    char *lerr = NULL;
    char *rec = leveldb_get(s->db, s->ropts, (const char *)lk, sizeof lk, &len, &lerr);
    if (take_leveldb_error(lerr, err, "reading the write log") < 0)
        return -1;
    *found = rec != NULL;
    if (!rec)
        return 0;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, rec, len);
    leveldb_free(rec);
    u->origin = origin;
    u->seq = seq;
    if (record_log_decode(copy, len, u, err) < 0) {
        free(copy);
        return -1;
    }
    *owned = copy;
    return 0;
}

int store_scan(store *s, const uint8_t *after, size_t after_len, bool has_after,
               store_scan_fn fn, void *user, dkv_err *err)
{
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    buf_clear(&s->k);
    record_data_key(&s->k, after, has_after ? after_len : 0);
    leveldb_iter_seek(it, (const char *)buf_head(&s->k), buf_unread(&s->k));
    int rc = 0;
    for (; leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl);
        if (kl == 0 || k[0] != RECORD_DATA_PREFIX)
            break;
        if (has_after && kl - 1 == after_len && memcmp(k + 1, after, after_len) == 0)
            continue;
        const char *v = leveldb_iter_value(it, &vl);
        dkv_version ver;
        const uint8_t *val;
        size_t val_len;
        if (record_data_decode((const uint8_t *)v, vl, &ver, &val, &val_len, err) < 0) {
            rc = -1;
            break;
        }
        if (fn(user, (const uint8_t *)k + 1, kl - 1, ver, val, val_len))
            break;
    }
    char *lerr = NULL;
    leveldb_iter_get_error(it, &lerr);
    if (rc == 0)
        rc = take_leveldb_error(lerr, err, "scanning");
    else if (lerr)
        leveldb_free(lerr);
    leveldb_iter_destroy(it);
    return rc;
}
