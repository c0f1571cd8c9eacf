#define _GNU_SOURCE
#include "store.h"
#include "../common/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/hash.h"
#include "seal.h"

/* Records (record.h) live in a byte-ordered key-value backend: LevelDB for
 * real servers, a sorted array in memory for the in-process test fixture.
 * The backends only get, write atomically and scan in order. */

typedef struct kv_pair {
    uint8_t *k, *v;
    size_t kl, vl;
} kv_pair;

typedef struct kv_batch {
    kv_pair *p;
    size_t n, cap;
} kv_batch;

typedef int (*kv_scan_fn)(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl);

struct store {
    /* LevelDB backend; NULL for the memory backend. */
    leveldb_t *db;
    char dir[4096];
    char replayed_log[4200]; /* the LevelDB log this open replayed, if any */
    uint64_t self;
    seal *seal;   /* LevelDB backend only */
    /* A seal that could not be rewritten: the batch itself is durable, so
     * this is a warning for the caller to log, not a failed write. */
    bool warned;
    dkv_err warning;
    bool write_failed; /* see kv_write */
    dkv_err write_error;
    leveldb_options_t *opts;
    leveldb_readoptions_t *ropts;
    leveldb_writeoptions_t *wopts;
    leveldb_cache_t *cache;
    /* Memory backend: pairs sorted by key. */
    kv_batch mem;
    buf k, v; /* scratch */
};

static uint8_t *dup_bytes(const void *p, size_t n)
{
    uint8_t *d = xmalloc(n ? n : 1);
    if (n)
        memcpy(d, p, n);
    return d;
}

static void batch_put(kv_batch *b, const void *k, size_t kl, const void *v, size_t vl)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 8;
        b->p = xrealloc(b->p, b->cap * sizeof *b->p);
    }
    b->p[b->n++] = (kv_pair){dup_bytes(k, kl), dup_bytes(v, vl), kl, vl};
}

static void batch_free(kv_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->p[i].k);
        free(b->p[i].v);
    }
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* The one adapter from LevelDB's char** errors to dkv_err. */
static int take_leveldb_error(char *lerr, dkv_err *err, const char *what)
{
    if (!lerr)
        return 0;
    dkv_err_set(err, "%s: %s", what, lerr);
    leveldb_free(lerr);
    return -1;
}

static int key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* Memory backend: index of the first pair with key >= k. */
static size_t mem_lower_bound(const store *s, const uint8_t *k, size_t kl)
{
    size_t lo = 0, hi = s->mem.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (key_cmp(s->mem.p[mid].k, s->mem.p[mid].kl, k, kl) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Gets k's value into a malloc'ed copy (*v NULL when absent). */
static int kv_get(store *s, const void *k, size_t kl, uint8_t **v, size_t *vl, dkv_err *err)
{
    *v = NULL;
    if (!s->db) {
        size_t i = mem_lower_bound(s, k, kl);
        if (i < s->mem.n && key_cmp(s->mem.p[i].k, s->mem.p[i].kl, k, kl) == 0) {
            *v = dup_bytes(s->mem.p[i].v, s->mem.p[i].vl);
            *vl = s->mem.p[i].vl;
        }
        return 0;
    }
    char *lerr = NULL;
    char *rec = leveldb_get(s->db, s->ropts, k, kl, vl, &lerr);
    if (take_leveldb_error(lerr, err, "reading LevelDB") < 0)
        return -1;
    if (rec) {
        *v = dup_bytes(rec, *vl);
        leveldb_free(rec);
    }
    return 0;
}

/* Applies every pair of b atomically; b is left empty. */
static int kv_write(store *s, kv_batch *b, dkv_err *err)
{
    int rc = 0;
    if (!s->db) {
        for (size_t i = 0; i < b->n; i++) {
            kv_pair *p = &b->p[i];
            size_t at = mem_lower_bound(s, p->k, p->kl);
            if (at < s->mem.n && key_cmp(s->mem.p[at].k, s->mem.p[at].kl, p->k, p->kl) == 0) {
                free(s->mem.p[at].k);
                free(s->mem.p[at].v);
                s->mem.p[at] = *p;
            } else {
                batch_put(&s->mem, "", 0, "", 0); /* grow by one */
                free(s->mem.p[s->mem.n - 1].k);
                free(s->mem.p[s->mem.n - 1].v);
                memmove(s->mem.p + at + 1, s->mem.p + at,
                        (s->mem.n - 1 - at) * sizeof *s->mem.p);
                s->mem.p[at] = *p;
            }
        }
        free(b->p);
        memset(b, 0, sizeof *b);
        return 0;
    }
    if (s->write_failed) {
        batch_free(b);
        return dkv_err_set(err, "the store takes no more writes until the server restarts, "
                                "after: %s", s->write_error.msg);
    }
    leveldb_writebatch_t *wb = leveldb_writebatch_create();
    for (size_t i = 0; i < b->n; i++)
        leveldb_writebatch_put(wb, (const char *)b->p[i].k, b->p[i].kl, (const char *)b->p[i].v,
                               b->p[i].vl);
    char *lerr = NULL;
    leveldb_write(s->db, s->wopts, wb, &lerr);
    leveldb_writebatch_destroy(wb);
    rc = take_leveldb_error(lerr, &s->write_error, "writing LevelDB");
    if (rc < 0) {
        /* A failed append may leave part of a record in LevelDB's log, and
         * LevelDB appends the next record after it: garbage in mid-log that
         * a paranoid open refuses. Writing no more keeps the torn record at
         * the log's end, where recovery drops it as a crash in mid-write. */
        s->write_failed = true;
        dkv_err_set(err, "%s", s->write_error.msg);
    }
    batch_free(b);
    return rc;
}

/* Calls fn for every pair with key >= start, in key order, until it
 * returns nonzero. */
static int kv_scan(store *s, const uint8_t *start, size_t sl, kv_scan_fn fn, void *user,
                   dkv_err *err)
{
    if (!s->db) {
        for (size_t i = mem_lower_bound(s, start, sl); i < s->mem.n; i++)
            if (fn(user, s->mem.p[i].k, s->mem.p[i].kl, s->mem.p[i].v, s->mem.p[i].vl))
                break;
        return 0;
    }
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    for (leveldb_iter_seek(it, (const char *)start, sl); leveldb_iter_valid(it);
         leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl);
        const char *v = leveldb_iter_value(it, &vl);
        if (fn(user, (const uint8_t *)k, kl, (const uint8_t *)v, vl))
            break;
    }
    char *lerr = NULL;
    leveldb_iter_get_error(it, &lerr);
    leveldb_iter_destroy(it);
    return take_leveldb_error(lerr, err, "scanning LevelDB");
}

static store *store_alloc(void)
{
    store *s = xcalloc(1, sizeof *s);
    buf_init(&s->k);
    buf_init(&s->v);
    return s;
}

/* The directory must exist (it is created when missing) and be writable;
 * saying so here beats LevelDB's "NotFound: .../LOCK". */
static int prepare_dir(const char *dir, dkv_err *err)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return dkv_err_set(err, "cannot create data directory %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) < 0)
        return dkv_err_set(err, "data directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return dkv_err_set(err, "data directory %s is not a directory", dir);
    if (access(dir, W_OK | X_OK) < 0)
        return dkv_err_set(err, "data directory %s is not writable: %s", dir, strerror(errno));
    return 0;
}

static bool has_current(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/CURRENT", dir);
    return access(path, F_OK) == 0;
}

/* The newest LevelDB write-ahead log of dir ("" when none), for messages
 * that should name the file most likely damaged. */
static void newest_log(const char *dir, char *out, size_t cap)
{
    *out = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return;
    unsigned long best = 0;
    for (struct dirent *e; (e = readdir(d));) {
        unsigned long num;
        char tail[8];
        if (sscanf(e->d_name, "%lu.%7s", &num, tail) == 2 && strcmp(tail, "log") == 0 &&
            num >= best) {
            best = num;
            /* A path too long for out would name another file: none. */
            if (snprintf(out, cap, "%s/%s", dir, e->d_name) >= (int)cap)
                *out = '\0';
        }
    }
    closedir(d);
}

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
    if (kv_scan(s, (const uint8_t *)"", 0, verify_one, &v, err) < 0)
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

/* Opens LevelDB and proves the store whole: LevelDB's own checks
 * (paranoid), a pass over every record, and the seal. */
static int open_checked(store *s, const store_options *o, dkv_err *err)
{
    /* Named now: recovery replays it into a table and deletes it. */
    newest_log(s->dir, s->replayed_log, sizeof s->replayed_log);
    char *lerr = NULL;
    s->db = leveldb_open(s->opts, s->dir, &lerr);
    if (take_leveldb_error(lerr, err, "opening LevelDB") < 0) {
        dkv_err_wrap(err, "store %s is damaged or unreadable", s->dir);
        if (*s->replayed_log && err) {
            char msg[DKV_ERR_MAX];
            memcpy(msg, err->msg, sizeof msg);
            dkv_err_set(err, "%s (log replayed: %s)", msg, s->replayed_log);
        }
        return -1;
    }
    char seal_file[4200];
    snprintf(seal_file, sizeof seal_file, "%s.seal", s->dir);
    bool sealed;
    seal_state sl = {0};
    s->seal = seal_open(seal_file, &sealed, &sl, err);
    if (!s->seal)
        return -1;
    record_meta m = {.vc = vclock_new()};
    bool found;
    int rc = store_load_meta(s, &m, &found, err);
    if (rc == 0 && found && verify_records(s, &m, err) < 0)
        rc = dkv_err_wrap(err, "store %s is damaged", s->dir);
    if (rc == 0 && found && !sealed)
        rc = dkv_err_set(err, "store %s holds data but its seal %s is missing: cannot prove "
                              "the store whole",
                         s->dir, seal_file);
    if (rc == 0 && sealed)
        rc = check_seal(s, &m, found, &sl, err);
    vclock_free(m.vc);
    (void)o;
    return rc;
}

store *store_open(const char *dir, const store_options *o, dkv_err *err)
{
    if (o->must_exist && !has_current(dir))
        return dkv_err_set(err, "store %s is missing, but server %" PRIu64 " held data there "
                                "before: refusing to start with an empty store",
                           dir, o->self),
               NULL;
    if (prepare_dir(dir, err) < 0)
        return NULL;
    store *s = store_alloc();
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    for (size_t n = strlen(s->dir); n > 1 && s->dir[n - 1] == '/'; n--)
        s->dir[n - 1] = '\0';
    s->self = o->self;
    s->opts = leveldb_options_create();
    leveldb_options_set_create_if_missing(s->opts, 1);
    /* Corruption LevelDB can see (a bad checksum in a log or a table) fails
     * the open instead of being skipped. */
    leveldb_options_set_paranoid_checks(s->opts, 1);
    /* Memory: a server should stay within a few tens of MB. LevelDB's
     * defaults (8 MB block cache, 2 MB tables, 1000 open tables) are sized
     * for one big database, not dozens of small ones on one machine.
     * Measured (bench W2, W7): most of a server's peak RSS is table files
     * mapped by compactions, not the memtable, so an 8 MB memtable (fewer
     * flushes, fewer compactions) gives both a lower peak and faster large
     * writes than 1 MB did (27 vs 31 MB; about 2,900 vs 1,900 puts/s of
     * 10 KB). Small tables keep each compaction's mapped inputs small. */
    leveldb_options_set_write_buffer_size(s->opts, 8u << 20);
    leveldb_options_set_max_file_size(s->opts, 1u << 20);
    s->cache = leveldb_cache_create_lru(1u << 20);
    leveldb_options_set_cache(s->opts, s->cache);
    leveldb_options_set_max_open_files(s->opts, 64);
    s->ropts = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(s->ropts, 1);
    s->wopts = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(s->wopts, o->sync);
    if (open_checked(s, o, err) < 0) {
        store_close(s);
        return NULL;
    }
    return s;
}

store *store_open_memory(void) { return store_alloc(); }

void store_close(store *s)
{
    if (!s)
        return;
    if (s->db)
        leveldb_close(s->db);
    if (s->cache)
        leveldb_cache_destroy(s->cache);
    if (s->opts) {
        leveldb_options_destroy(s->opts);
        leveldb_readoptions_destroy(s->ropts);
        leveldb_writeoptions_destroy(s->wopts);
    }
    seal_close(s->seal);
    batch_free(&s->mem);
    buf_free(&s->k);
    buf_free(&s->v);
    free(s);
}

bool store_take_warning(store *s, dkv_err *out)
{
    if (!s->warned)
        return false;
    *out = s->warning;
    s->warned = false;
    return true;
}

/* After a durable batch that wrote m: the seal follows. */
static void reseal(store *s, const record_meta *m)
{
    if (!s->seal)
        return;
    seal_state st = seal_of(s, m);
    if (seal_write(s->seal, &st, &s->warning) < 0)
        s->warned = true;
}

int store_load_meta(store *s, record_meta *m, bool *found, dkv_err *err)
{
    uint8_t *rec;
    size_t len;
    if (kv_get(s, RECORD_META_KEY, 1, &rec, &len, err) < 0)
        return -1;
    *found = rec != NULL;
    if (!rec)
        return 0;
    int rc = record_meta_decode(rec, len, m, err);
    free(rec);
    return rc;
}

static void batch_meta(store *s, kv_batch *b, const record_meta *m)
{
    buf_clear(&s->v);
    record_meta_encode(&s->v, m);
    batch_put(b, RECORD_META_KEY, 1, buf_head(&s->v), buf_unread(&s->v));
}

/* Writes b, which ends with meta record m, then the seal. */
static int write_sealed(store *s, kv_batch *b, const record_meta *m, dkv_err *err)
{
    if (kv_write(s, b, err) < 0)
        return -1;
    reseal(s, m);
    return 0;
}

int store_save_meta(store *s, const record_meta *m, dkv_err *err)
{
    kv_batch b = {0};
    batch_meta(s, &b, m);
    return write_sealed(s, &b, m, err);
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
    if (kv_get(s, buf_head(&s->k), buf_unread(&s->k), &rec, &len, err) < 0)
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

/* Adds u's data record (when write_data) and log record to b. */
static void batch_update(store *s, kv_batch *b, const dkv_update *u, bool write_data)
{
    if (write_data) {
        buf_clear(&s->k);
        record_data_key(&s->k, u->key, u->key_len);
        buf_clear(&s->v);
        record_data_value(&s->v, record_update_version(u), u->seq);
        batch_put(b, buf_head(&s->k), buf_unread(&s->k), buf_head(&s->v), buf_unread(&s->v));
    }
    uint8_t lk[17];
    record_log_key(lk, u->origin, u->seq);
    buf_clear(&s->v);
    record_log_value(&s->v, u);
    batch_put(b, lk, sizeof lk, buf_head(&s->v), buf_unread(&s->v));
}

/* The newest version of one key within a batch (or stored before it). */
typedef struct batch_key {
    const uint8_t *key; /* NULL: free slot */
    size_t key_len;
    dkv_version best;
} batch_key;

int store_apply(store *s, const dkv_update *u, size_t n, const record_meta *m, dkv_err *err)
{
    /* A catch-up frame carries thousands of writes to a few keys: an
     * open-addressing table finds a key's newest version so far in O(1),
     * and reads each key's stored version once per batch. */
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    batch_key *tab = xcalloc(cap, sizeof *tab);
    kv_batch b = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t slot = (size_t)hash64(u[i].key, u[i].key_len) & (cap - 1);
        while (tab[slot].key && (tab[slot].key_len != u[i].key_len ||
                                 memcmp(tab[slot].key, u[i].key, u[i].key_len) != 0))
            slot = (slot + 1) & (cap - 1);
        batch_key *k = &tab[slot];
        if (!k->key) {
            bool found;
            k->best = (dkv_version){0, 0};
            if (store_get(s, u[i].key, u[i].key_len, &found, &k->best, NULL, NULL, err) < 0) {
                rc = -1;
                break;
            }
            if (!found)
                k->best = (dkv_version){0, 0};
            k->key = u[i].key;
            k->key_len = u[i].key_len;
        }
        bool newer = dkv_version_cmp(record_update_version(&u[i]), k->best) > 0;
        if (newer)
            k->best = record_update_version(&u[i]);
        batch_update(s, &b, &u[i], newer);
    }
    free(tab);
    if (rc < 0) {
        batch_free(&b);
        return -1;
    }
    batch_meta(s, &b, m);
    return write_sealed(s, &b, m, err);
}

int store_apply_newest(store *s, const dkv_update *u, const record_meta *m, dkv_err *err)
{
    kv_batch b = {0};
    batch_update(s, &b, u, true);
    batch_meta(s, &b, m);
    return write_sealed(s, &b, m, err);
}

int store_log_get(store *s, uint64_t origin, uint64_t seq, dkv_update *u, uint8_t **owned,
                  bool *found, dkv_err *err)
{
    uint8_t lk[17];
    record_log_key(lk, origin, seq);
    uint8_t *rec;
    size_t len;
    if (kv_get(s, lk, sizeof lk, &rec, &len, err) < 0)
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
    uint8_t *start = dup_bytes(buf_head(&s->k), buf_unread(&s->k));
    size_t sl = buf_unread(&s->k);
    int rc = kv_scan(s, start, sl, scan_one, &sc, err);
    free(start);
    return rc < 0 ? -1 : sc.rc;
}
