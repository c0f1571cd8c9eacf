#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/hmap.h"
#include "../common/xalloc.h"
#include "kv_leveldb.h"
#include "seal.h"

/* Records (record.h) live in a byte-ordered key-value backend (kv.h):
 * LevelDB for servers (kv_leveldb.h), memory for the in-process test
 * fixture. The store adds what the bytes mean: records, the proof at open
 * that they are whole, the seal, and what a failed write forbids. */

/* Room for a data directory's path, and for a file's in it. */
#define STORE_DIR_MAX 4096
#define STORE_FILE_MAX (STORE_DIR_MAX + 128)

struct store {
    kv *db;
    char dir[STORE_DIR_MAX];           /* for messages: the data directory, or a name */
    char replayed_log[STORE_FILE_MAX]; /* the LevelDB log this open replayed, if any */
    uint64_t self;
    /* The seal of a store opened on a directory; a store on a caller's
     * backend (store_open_kv) has none. */
    seal *seal;
    bool write_failed; /* see write_sealed */
    dkv_err write_error;
    kv_batch *batch; /* the batch being built, reused */
    buf k, v;        /* scratch */
};

static seal_state seal_of(const store *s, const record_meta *m)
{
    return (seal_state){s->self, m->incarnation, vclock_get(m->vc, s->self), m->lamport,
                        vclock_total(m->vc)};
}

/* Whole-store check at start: every record decodes, the write log holds
 * exactly updates 1..vc[o] of every origin o the clock counts, and every
 * data record names an update the log holds. One sequential pass. */
typedef struct verify_ctx {
    const vclock *vc;
    uint64_t origin, next; /* log: the origin being read, the seq expected */
    bool in_log;
    size_t origins_seen;
    dkv_err *err;
    int rc;
} verify_ctx;

static int verify_fail(verify_ctx *v, const char *fmt, uint64_t a, uint64_t b)
{
    v->rc = dkv_err_set(v->err, fmt, a, b);
    return 1;
}

/* The log of the origin being read ended: it must have reached vc[o]. */
static int verify_origin_done(verify_ctx *v)
{
    if (v->in_log && v->next - 1 != vclock_get(v->vc, v->origin))
        return verify_fail(v, "the write log of origin %" PRIu64 " ends at update %" PRIu64
                              ", before what the clock counts",
                           v->origin, v->next - 1);
    return 0;
}

static int verify_one(void *user, const uint8_t *k, size_t kl, const uint8_t *val, size_t vl)
{
    verify_ctx *v = user;
    dkv_version ver;
    uint64_t origin, seq;
    dkv_update u;
    if (kl >= 1 && k[0] == RECORD_DATA_PREFIX) {
        if (record_data_decode(val, vl, &ver, &seq, v->err) < 0) {
            v->rc = -1;
            return 1;
        }
        if (seq > vclock_get(v->vc, ver.origin))
            return verify_fail(v, "a data record names update %" PRIu64 ":%" PRIu64
                                  ", which the store never applied",
                               ver.origin, seq);
        return 0;
    }
    if (kl >= 1 && k[0] == RECORD_LOG_PREFIX) {
        if (record_log_key_decode(k, kl, &origin, &seq, v->err) < 0 ||
            record_log_decode(val, vl, &u, v->err) < 0) {
            v->rc = -1;
            return 1;
        }
        if (!v->in_log || origin != v->origin) {
            if (verify_origin_done(v))
                return 1;
            v->in_log = true;
            v->origin = origin;
            v->next = 1;
            v->origins_seen++;
        }
        if (seq != v->next)
            return verify_fail(v, "the write log of origin %" PRIu64 " lacks update %" PRIu64,
                               origin, v->next);
        if (seq > vclock_get(v->vc, origin))
            return verify_fail(v, "the write log holds update %" PRIu64 ":%" PRIu64
                                  ", beyond what the clock counts",
                               origin, seq);
        v->next++;
        return 0;
    }
    if (kl == 1 && k[0] == RECORD_META_KEY[0])
        return 0;
    v->rc = dkv_err_set(v->err, "unknown record kind 0x%02x", kl ? k[0] : 0);
    return 1;
}

static int verify_records(store *s, const record_meta *m, dkv_err *err)
{
    verify_ctx v = {.vc = m->vc, .err = err};
    if (kv_scan(s->db, (const uint8_t *)"", 0, verify_one, &v, err) < 0)
        return -1;
    if (v.rc == 0 && !verify_origin_done(&v) && v.origins_seen != vclock_size(m->vc))
        dkv_err_set(err, "the clock counts writes of %zu origins, the write log holds %zu",
                    vclock_size(m->vc), v.origins_seen);
    return v.rc < 0 || v.origins_seen != vclock_size(m->vc) ? -1 : 0;
}

/* The store must hold at least what its seal recorded after the last
 * durable batch; less means LevelDB lost records it had acknowledged. */
static int check_seal(const store *s, const record_meta *m, bool found, const seal_state *sl,
                      dkv_err *err)
{
    seal_state now = found ? seal_of(s, m) : (seal_state){.id = s->self};
    if (sl->id != s->self)
        return dkv_err_set(err, "seal %s belongs to server %" PRIu64 ", not %" PRIu64,
                           seal_path(s->seal), sl->id, s->self);
    if (now.own >= sl->own && now.lamport >= sl->lamport && now.total >= sl->total &&
        now.incarnation >= sl->incarnation)
        return 0;
    return dkv_err_set(err,
                       "store %s lost writes (log %s truncated?): its seal %s records %" PRIu64
                       " own writes, %" PRIu64 " applied, Lamport %" PRIu64
                       "; LevelDB holds %" PRIu64 ", %" PRIu64 ", %" PRIu64,
                       s->dir, *s->replayed_log ? s->replayed_log : "(none)",
                       seal_path(s->seal), sl->own, sl->total, sl->lamport, now.own, now.total,
                       now.lamport);
}

static store *store_alloc(kv *db, const char *name, uint64_t self)
{
    store *s = xcalloc(1, sizeof *s);
    s->db = db;
    snprintf(s->dir, sizeof s->dir, "%s", name);
    s->self = self;
    s->batch = kv_batch_new();
    buf_init(&s->k);
    buf_init(&s->v);
    return s;
}

/* Proves the store whole before anything is served from it: a pass over
 * every record and, for a sealed store, the seal (read at open: sealed
 * says whether it existed, sl what it recorded). */
static int check_whole(store *s, bool sealed, const seal_state *sl, dkv_err *err)
{
    record_meta m = {.vc = vclock_new()};
    bool found;
    int rc = store_load_meta(s, &m, &found, err);
    if (rc == 0 && found && verify_records(s, &m, err) < 0)
        rc = dkv_err_wrap(err, "store %s is damaged", s->dir);
    if (rc == 0 && found && s->seal && !sealed)
        rc = dkv_err_set(err, "store %s holds data but its seal %s is missing: cannot prove "
                              "the store whole",
                         s->dir, seal_path(s->seal));
    if (rc == 0 && sealed)
        rc = check_seal(s, &m, found, sl, err);
    vclock_free(m.vc);
    return rc;
}

store *store_open(const char *dir, const store_options *o, dkv_err *err)
{
    if (o->must_exist && !kv_leveldb_exists(dir))
        return dkv_err_set(err, "store %s is missing, but server %" PRIu64 " held data there "
                                "before: refusing to start with an empty store",
                           dir, o->self),
               NULL;
    char path[STORE_DIR_MAX];
    snprintf(path, sizeof path, "%s", dir);
    for (size_t n = strlen(path); n > 1 && path[n - 1] == '/'; n--)
        path[n - 1] = '\0';
    /* Named now: recovery replays it into a table and deletes it. */
    char replayed[STORE_FILE_MAX];
    kv_leveldb_newest_log(path, replayed, sizeof replayed);
    kv *db = kv_leveldb_open(path, &(kv_leveldb_options){.sync = o->sync}, err);
    if (!db)
        return NULL;
    store *s = store_alloc(db, path, o->self);
    memcpy(s->replayed_log, replayed, sizeof replayed);
    /* The seal lives beside the directory, so that it survives a wipe. */
    char seal_file[STORE_FILE_MAX];
    snprintf(seal_file, sizeof seal_file, "%s.seal", path);
    bool sealed = false;
    seal_state sl = {0};
    s->seal = seal_open(seal_file, &sealed, &sl, err);
    if (!s->seal || check_whole(s, sealed, &sl, err) < 0) {
        store_close(s);
        return NULL;
    }
    return s;
}

store *store_open_kv(kv *db, const char *name, uint64_t self, dkv_err *err)
{
    store *s = store_alloc(db, name, self);
    if (check_whole(s, false, NULL, err) < 0) {
        store_close(s);
        return NULL;
    }
    return s;
}

void store_close(store *s)
{
    if (!s)
        return;
    kv_close(s->db);
    seal_close(s->seal);
    kv_batch_free(s->batch);
    buf_free(&s->k);
    buf_free(&s->v);
    free(s);
}

/* After a durable batch that wrote m: the seal follows. */
static void reseal(store *s, const record_meta *m)
{
    if (!s->seal)
        return;
    seal_state st = seal_of(s, m);
    seal_write(s->seal, &st);
}

int store_load_meta(store *s, record_meta *m, bool *found, dkv_err *err)
{
    uint8_t *rec;
    size_t len;
    if (kv_get(s->db, (const uint8_t *)RECORD_META_KEY, 1, &rec, &len, err) < 0)
        return -1;
    *found = rec != NULL;
    if (!rec)
        return 0;
    int rc = record_meta_decode(rec, len, m, err);
    free(rec);
    return rc;
}

static void batch_meta(store *s, const record_meta *m)
{
    buf_clear(&s->v);
    record_meta_encode(&s->v, m);
    kv_batch_put(s->batch, RECORD_META_KEY, 1, buf_head(&s->v), buf_unread(&s->v));
}

/* Writes the batch built in s->batch, which ends with meta record m, then
 * the seal. */
static int write_sealed(store *s, const record_meta *m, dkv_err *err)
{
    if (s->write_failed) {
        kv_batch_clear(s->batch);
        return dkv_err_set(err, "the store takes no more writes until the server restarts, "
                                "after: %s", s->write_error.msg);
    }
    int rc = kv_write(s->db, s->batch, &s->write_error);
    kv_batch_clear(s->batch);
    if (rc < 0) {
        /* A failed append may leave part of a record in LevelDB's log, and
         * LevelDB appends the next record after it: garbage in mid-log that
         * a paranoid open refuses. Writing no more keeps the torn record at
         * the log's end, where recovery drops it as a crash in mid-write.
         * Any backend is held to this: a failed write proves nothing about
         * what reached the disk. */
        s->write_failed = true;
        return dkv_err_set(err, "%s", s->write_error.msg);
    }
    reseal(s, m);
    return 0;
}

int store_save_meta(store *s, const record_meta *m, dkv_err *err)
{
    batch_meta(s, m);
    return write_sealed(s, m, err);
}

/* The value of version v, held by the log record of update (v.origin,
 * seq): a malloc'ed copy. A missing or mismatched record means the store is
 * corrupt, since the log is never pruned. */
static int read_value(store *s, const uint8_t *key, size_t key_len, dkv_version v, uint64_t seq,
                      uint8_t **value, size_t *value_len, dkv_err *err)
{
    dkv_update u;
    uint8_t *rec = NULL;
    bool found;
    if (store_log_get(s, v.origin, seq, &u, &rec, &found, err) < 0)
        return -1;
    if (!found || u.lamport != v.lamport || u.key_len != key_len ||
        memcmp(u.key, key, key_len) != 0) {
        free(rec);
        return dkv_err_set(err, "store is corrupt: the value of version (%" PRIu64 ", %" PRIu64
                                ") is not in update %" PRIu64 ":%" PRIu64,
                           v.lamport, v.origin, v.origin, seq);
    }
    /* Hand out the record's own buffer, value moved to its front. */
    memmove(rec, u.value, u.value_len);
    *value = rec;
    *value_len = u.value_len;
    return 0;
}

int store_get(store *s, const uint8_t *key, size_t key_len, bool *found, dkv_version *v,
              uint8_t **value, size_t *value_len, dkv_err *err)
{
    buf_clear(&s->k);
    record_data_key(&s->k, key, key_len);
    uint8_t *rec;
    size_t len;
    if (kv_get(s->db, buf_head(&s->k), buf_unread(&s->k), &rec, &len, err) < 0)
        return -1;
    *found = rec != NULL;
    if (!rec)
        return 0;
    uint64_t seq;
    int rc = record_data_decode(rec, len, v, &seq, err);
    free(rec);
    if (rc == 0 && value)
        rc = read_value(s, key, key_len, *v, seq, value, value_len, err);
    return rc;
}

/* Adds u's data record (when write_data) and log record to the batch. */
static void batch_update(store *s, const dkv_update *u, bool write_data)
{
    if (write_data) {
        buf_clear(&s->k);
        record_data_key(&s->k, u->key, u->key_len);
        buf_clear(&s->v);
        record_data_value(&s->v, record_update_version(u), u->seq);
        kv_batch_put(s->batch, buf_head(&s->k), buf_unread(&s->k), buf_head(&s->v),
                     buf_unread(&s->v));
    }
    uint8_t lk[17];
    record_log_key(lk, u->origin, u->seq);
    buf_clear(&s->v);
    record_log_value(&s->v, u);
    kv_batch_put(s->batch, lk, sizeof lk, buf_head(&s->v), buf_unread(&s->v));
}

int store_apply(store *s, const dkv_update *u, size_t n, const record_meta *m, dkv_err *err)
{
    /* A catch-up frame carries thousands of writes to a few keys: a hash
     * map finds a key's newest version so far in O(1), and each key's
     * stored version is read once per batch. */
    hmap *newest = hmap_new();
    dkv_version *best = xmalloc(n * sizeof *best); /* one per key, at most n */
    size_t keys = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        bool created;
        void **slot = hmap_slot(newest, u[i].key, u[i].key_len, &created);
        if (created) {
            dkv_version *b = &best[keys++];
            *slot = b;
            bool found;
            if (store_get(s, u[i].key, u[i].key_len, &found, b, NULL, NULL, err) < 0) {
                rc = -1;
                break;
            }
            if (!found)
                *b = (dkv_version){0, 0};
        }
        dkv_version *b = *slot;
        bool newer = dkv_version_cmp(record_update_version(&u[i]), *b) > 0;
        if (newer)
            *b = record_update_version(&u[i]);
        batch_update(s, &u[i], newer);
    }
    hmap_free(newest, NULL);
    free(best);
    if (rc < 0) {
        kv_batch_clear(s->batch);
        return -1;
    }
    batch_meta(s, m);
    return write_sealed(s, m, err);
}

int store_apply_newest(store *s, const dkv_update *u, const record_meta *m, dkv_err *err)
{
    batch_update(s, u, true);
    batch_meta(s, m);
    return write_sealed(s, m, err);
}

int store_log_get(store *s, uint64_t origin, uint64_t seq, dkv_update *u, uint8_t **owned,
                  bool *found, dkv_err *err)
{
    uint8_t lk[17];
    record_log_key(lk, origin, seq);
    uint8_t *rec;
    size_t len;
    if (kv_get(s->db, lk, sizeof lk, &rec, &len, err) < 0)
        return -1;
    *found = rec != NULL;
    if (!rec)
        return 0;
    u->origin = origin;
    u->seq = seq;
    if (record_log_decode(rec, len, u, err) < 0) {
        free(rec);
        return -1;
    }
    *owned = rec;
    return 0;
}

typedef struct scan_ctx {
    store *s;
    const uint8_t *after;
    size_t after_len;
    bool has_after;
    store_scan_fn fn;
    void *user;
    dkv_err *err;
    int rc;
} scan_ctx;

static int scan_one(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    scan_ctx *sc = user;
    if (kl == 0 || k[0] != RECORD_DATA_PREFIX)
        return 1;
    if (sc->has_after && kl - 1 == sc->after_len && memcmp(k + 1, sc->after, sc->after_len) == 0)
        return 0;
    dkv_version ver;
    uint64_t seq;
    uint8_t *val;
    size_t val_len;
    if (record_data_decode(v, vl, &ver, &seq, sc->err) < 0 ||
        read_value(sc->s, k + 1, kl - 1, ver, seq, &val, &val_len, sc->err) < 0) {
        sc->rc = -1;
        return 1;
    }
    int stop = sc->fn(sc->user, k + 1, kl - 1, ver, val, val_len);
    free(val);
    return stop;
}

int store_scan(store *s, const uint8_t *after, size_t after_len, bool has_after,
               store_scan_fn fn, void *user, dkv_err *err)
{
    buf_clear(&s->k);
    record_data_key(&s->k, after, has_after ? after_len : 0);
    scan_ctx sc = {s, after, after_len, has_after, fn, user, err, 0};
    /* Copy the start key: the callbacks may reuse the scratch buffer. */
    size_t sl = buf_unread(&s->k);
    uint8_t *start = xmemdup(buf_head(&s->k), sl);
    int rc = kv_scan(s->db, start, sl, scan_one, &sc, err);
    free(start);
    return rc < 0 ? -1 : sc.rc;
}
