/* kv: the storage interface. Both backends, LevelDB (in a temporary
 * directory) and memory, pass the same conformance tests: get after write,
 * a later pair of a batch wins, batches applied whole, scans in bytewise
 * order from a start key; LevelDB also keeps everything across a reopen.
 * Then the store and the core over a backend that fails on demand. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/xalloc.h"
#include "../server/core.h"
#include "../server/kv.h"
#include "../server/kv_leveldb.h"
#include "../server/store.h"
#include "kv_faulty.h"
#include "kv_memory.h"
#include "storetest.h"
#include "tests.h"

static char last_dir[4096]; /* the directory the last open_leveldb used */

typedef kv *(*opener)(void);

static kv *open_memory(void) { return kv_memory_new(); }

static kv *open_leveldb_at(const char *dir)
{
    dkv_err err;
    kv *db = kv_leveldb_open(dir, &(kv_leveldb_options){0}, &err);
    if (!db)
        fprintf(stderr, "\n  kv_leveldb_open(%s): %s\n", dir, err.msg);
    return db;
}

/* A fresh database per test, so tests do not see each other's data. */
static kv *open_leveldb(void)
{
    snprintf(last_dir, sizeof last_dir, "%s", tests_scratch_fresh("kv"));
    return open_leveldb_at(last_dir);
}

static void write_pairs(kv *db, const char *const *kv_text, size_t n)
{
    kv_batch *b = kv_batch_new();
    for (size_t i = 0; i < n; i++)
        kv_batch_put(b, kv_text[2 * i], strlen(kv_text[2 * i]), kv_text[2 * i + 1],
                     strlen(kv_text[2 * i + 1]));
    dkv_err err;
    CU_ASSERT_EQUAL(kv_write(db, b, &err), 0);
    kv_batch_free(b);
}

/* Asserts key's value (want NULL: absent). */
static void assert_get(kv *db, const void *key, size_t kl, const char *want)
{
    uint8_t *v = (uint8_t *)"not touched";
    size_t vl = 0;
    dkv_err err;
    CU_ASSERT_EQUAL_FATAL(kv_get(db, key, kl, &v, &vl, &err), 0);
    if (!want) {
        CU_ASSERT_PTR_NULL(v);
        return;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT(vl == strlen(want) && memcmp(v, want, vl) == 0);
    free(v);
}

#define MAX_SEEN 16

typedef struct seen {
    char k[MAX_SEEN][8];
    size_t kl[MAX_SEEN];
    size_t n, stop_after; /* stop_after: stop once this many were seen; 0: never */
    kv *db;               /* when set, each key is also read back during the scan */
    bool read_ok;
} seen;

static int collect(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    seen *s = user;
    if (s->n < MAX_SEEN && kl <= sizeof s->k[0]) {
        memcpy(s->k[s->n], k, kl);
        s->kl[s->n] = kl;
    }
    if (s->db) {
        uint8_t *back = NULL;
        size_t bl = 0;
        if (kv_get(s->db, k, kl, &back, &bl, NULL) < 0 || !back || bl != vl ||
            memcmp(back, v, vl) != 0)
            s->read_ok = false;
        free(back);
    }
    s->n++;
    return s->stop_after && s->n >= s->stop_after;
}

static void assert_scan(kv *db, const char *start, size_t sl, size_t stop_after,
                        const char *const *want, const size_t *want_len, size_t n_want)
{
    seen s = {.stop_after = stop_after};
    dkv_err err;
    CU_ASSERT_EQUAL_FATAL(kv_scan(db, (const uint8_t *)start, sl, collect, &s, &err), 0);
    CU_ASSERT_EQUAL_FATAL(s.n, n_want);
    for (size_t i = 0; i < n_want; i++)
        CU_ASSERT(s.kl[i] == want_len[i] && memcmp(s.k[i], want[i], want_len[i]) == 0);
}

/* A fresh database from open; the test stops when there is none. */
static kv *open_checked(opener open)
{
    kv *db = open();
    CU_ASSERT_PTR_NOT_NULL_FATAL(db);
    return db;
}

/* ---- conformance: each runs on both backends ---- */

static void conf_empty(opener open)
{
    kv *db = open_checked(open);
    assert_get(db, "k", 1, NULL);
    assert_get(db, "", 0, NULL);
    assert_scan(db, "", 0, 0, NULL, NULL, 0);
    kv_close(db);
}

static void conf_get_after_write(opener open)
{
    kv *db = open_checked(open);
    static const char *const pairs[] = {"a", "1", "ab", "22", "b", "", "", "empty key"};
    write_pairs(db, pairs, 4);
    assert_get(db, "a", 1, "1");
    assert_get(db, "ab", 2, "22");
    assert_get(db, "b", 1, "");
    assert_get(db, "", 0, "empty key");
    assert_get(db, "a\0", 2, NULL); /* neither a prefix nor an extension matches */
    assert_get(db, "abc", 3, NULL);
    assert_get(db, "c", 1, NULL);
    /* Keys and values are bytes, not strings. */
    kv_batch *b = kv_batch_new();
    static const uint8_t bk[] = {0, 0xff, 0}, bv[] = {0xff, 0, 0x80};
    kv_batch_put(b, bk, sizeof bk, bv, sizeof bv);
    /* A large value, as a 16 MiB put would make (smaller here). */
    size_t big_len = 1u << 20;
    uint8_t *big = xmalloc(big_len);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (uint8_t)(i * 7 + i / 255);
    kv_batch_put(b, "big", 3, big, big_len);
    CU_ASSERT_EQUAL(kv_write(db, b, NULL), 0);
    uint8_t *v = NULL;
    size_t vl = 0;
    CU_ASSERT_EQUAL(kv_get(db, bk, sizeof bk, &v, &vl, NULL), 0);
    CU_ASSERT(v && vl == sizeof bv && memcmp(v, bv, vl) == 0);
    free(v);
    CU_ASSERT_EQUAL(kv_get(db, (const uint8_t *)"big", 3, &v, &vl, NULL), 0);
    CU_ASSERT(v && vl == big_len && memcmp(v, big, vl) == 0);
    free(v);
    free(big);
    kv_batch_free(b);
    kv_close(db);
}

/* The store relies on this: one batch may carry several data records of a
 * key (each newer than the last), and the last must stand. */
static void conf_later_pair_wins(opener open)
{
    kv *db = open_checked(open);
    static const char *const one[] = {"k", "first", "j", "x", "k", "second", "k", "third"};
    write_pairs(db, one, 4);
    assert_get(db, "k", 1, "third");
    assert_get(db, "j", 1, "x");
    static const char *const two[] = {"k", "fourth"};
    write_pairs(db, two, 1);
    assert_get(db, "k", 1, "fourth");
    assert_scan(db, "", 0, 0, (const char *const[]){"j", "k"}, (const size_t[]){1, 1}, 2);
    kv_close(db);
}

/* A batch is applied whole: nothing of it shows before the write, all of
 * it after; an empty batch writes nothing; a cleared batch is reusable. */
static void conf_batch_whole(opener open)
{
    kv *db = open_checked(open);
    kv_batch *b = kv_batch_new();
    CU_ASSERT_EQUAL(kv_write(db, b, NULL), 0);
    assert_scan(db, "", 0, 0, NULL, NULL, 0);
    char key[16], val[16];
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(key, sizeof key, "k%05d", (i * 7919) % 3000);
        int m = snprintf(val, sizeof val, "v%d", i);
        kv_batch_put(b, key, (size_t)n, val, (size_t)m);
    }
    CU_ASSERT_EQUAL(kv_batch_count(b), 3000);
    seen s = {0};
    CU_ASSERT_EQUAL(kv_scan(db, (const uint8_t *)"", 0, collect, &s, NULL), 0);
    CU_ASSERT_EQUAL(s.n, 0);
    CU_ASSERT_EQUAL(kv_write(db, b, NULL), 0);
    s = (seen){.db = db, .read_ok = true};
    CU_ASSERT_EQUAL(kv_scan(db, (const uint8_t *)"", 0, collect, &s, NULL), 0);
    CU_ASSERT_EQUAL(s.n, 3000);
    CU_ASSERT(s.read_ok); /* reads during a scan see what the scan sees */
    kv_batch_clear(b);
    CU_ASSERT_EQUAL(kv_batch_count(b), 0);
    kv_batch_put(b, "k00000", 6, "again", 5);
    CU_ASSERT_EQUAL(kv_write(db, b, NULL), 0);
    assert_get(db, "k00000", 6, "again");
    assert_get(db, "k00001", 6, "v1679"); /* 1679 * 7919 = 1 (mod 3000) */
    kv_batch_free(b);
    kv_close(db);
}

static void conf_scan_order(opener open)
{
    kv *db = open_checked(open);
    /* Bytewise: "" < "\0" < "A" < "a" < "a\0" < "ab" < "b" < "\xff", given
     * out of order, over several batches. */
    static const char *const keys[] = {"", "\0", "A", "a", "a\0", "ab", "b", "\xff"};
    static const size_t lens[] = {0, 1, 1, 1, 2, 2, 1, 1};
    static const int order[] = {6, 2, 7, 0, 4, 1, 3, 5};
    for (size_t i = 0; i < 8; i++) {
        kv_batch *b = kv_batch_new();
        size_t k = (size_t)order[i];
        kv_batch_put(b, keys[k], lens[k], "v", 1);
        if (i % 3 == 0 && i + 1 < 8) { /* some batches carry two keys */
            i++;
            k = (size_t)order[i];
            kv_batch_put(b, keys[k], lens[k], "v", 1);
        }
        CU_ASSERT_EQUAL(kv_write(db, b, NULL), 0);
        kv_batch_free(b);
    }
    assert_scan(db, "", 0, 0, keys, lens, 8);
    /* From a start key: the first key >= start, whether or not it exists. */
    assert_scan(db, "a", 1, 0, keys + 3, lens + 3, 5);
    assert_scan(db, "aa", 2, 0, keys + 5, lens + 5, 3);
    assert_scan(db, "\0", 1, 0, keys + 1, lens + 1, 7);
    assert_scan(db, "\xff", 1, 0, keys + 7, lens + 7, 1);
    assert_scan(db, "\xff\xff", 2, 0, NULL, NULL, 0);
    /* fn returning nonzero stops the scan after the key it was given. */
    assert_scan(db, "", 0, 3, keys, lens, 3);
    assert_scan(db, "A", 1, 1, keys + 2, lens + 2, 1);
    kv_close(db);
}

#define BOTH(name)                                                                            \
    static void name##_memory(void) { name(open_memory); }                                   \
    static void name##_leveldb(void) { name(open_leveldb); }

BOTH(conf_empty)
BOTH(conf_get_after_write)
BOTH(conf_later_pair_wins)
BOTH(conf_batch_whole)
BOTH(conf_scan_order)

/* ---- LevelDB only ---- */

static void test_leveldb_reopen(void)
{
    kv *db = open_leveldb();
    CU_ASSERT_PTR_NOT_NULL_FATAL(db);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", last_dir);
    CU_ASSERT(kv_leveldb_exists(dir));
    static const char *const pairs[] = {"b", "2", "a", "1", "c", "3"};
    write_pairs(db, pairs, 3);
    static const char *const later[] = {"b", "two"};
    write_pairs(db, later, 1);
    kv_close(db);
    char log[4200];
    kv_leveldb_newest_log(dir, log, sizeof log);
    CU_ASSERT(strstr(log, ".log") != NULL); /* what the next open replays */

    db = open_leveldb_at(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(db);
    assert_get(db, "a", 1, "1");
    assert_get(db, "b", 1, "two");
    assert_get(db, "c", 1, "3");
    assert_scan(db, "", 0, 0, (const char *const[]){"a", "b", "c"},
                (const size_t[]){1, 1, 1}, 3);
    kv_close(db);
}

static void test_leveldb_open_errors(void)
{
    dkv_err err = {{0}};
    const char *dir = tests_scratch_path("no/such/dir");
    CU_ASSERT_FALSE(kv_leveldb_exists(dir));
    CU_ASSERT_PTR_NULL(kv_leveldb_open(dir, &(kv_leveldb_options){0}, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot create data directory"));
    /* A second open of a database in use: LevelDB's lock, named. */
    kv *db = open_leveldb();
    CU_ASSERT_PTR_NOT_NULL_FATAL(db);
    CU_ASSERT_PTR_NULL(kv_leveldb_open(last_dir, &(kv_leveldb_options){0}, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "opening LevelDB"));
    kv_close(db);
}

static void test_batch_accessors(void)
{
    kv_batch *b = kv_batch_new();
    CU_ASSERT_EQUAL(kv_batch_count(b), 0);
    kv_batch_put(b, "", 0, "", 0); /* no bytes at all yet */
    kv_batch_put(b, "key", 3, "value", 5);
    const uint8_t *k, *v;
    size_t kl, vl;
    kv_batch_at(b, 0, &k, &kl, &v, &vl);
    CU_ASSERT(k && v && kl == 0 && vl == 0);
    kv_batch_at(b, 1, &k, &kl, &v, &vl);
    CU_ASSERT(kl == 3 && memcmp(k, "key", 3) == 0 && vl == 5 && memcmp(v, "value", 5) == 0);
    /* Pairs stay readable as the batch grows past its first buffers. */
    for (int i = 0; i < 5000; i++)
        kv_batch_put(b, &i, sizeof i, "0123456789", 10);
    kv_batch_at(b, 1, &k, &kl, &v, &vl);
    CU_ASSERT(kl == 3 && memcmp(k, "key", 3) == 0);
    kv_batch_at(b, 4001, &k, &kl, &v, &vl);
    int i;
    memcpy(&i, k, sizeof i);
    CU_ASSERT(kl == sizeof i && i == 3999);
    kv_batch_clear(b);
    CU_ASSERT_EQUAL(kv_batch_count(b), 0);
    kv_batch_free(b);
    kv_batch_free(NULL);
    kv_close(NULL);
}

/* ---- the store and the core over a memory or failing backend ---- */

static store *memory_store(kv *db)
{
    dkv_err err;
    store *s = store_open_kv(db, "memory", 1, &err);
    if (!s)
        fprintf(stderr, "\n  store_open_kv: %s\n", err.msg);
    return s;
}

/* The records layer works the same on the memory backend, with no seal. */
static void test_store_on_memory(void)
{
    store *s = memory_store(kv_memory_new());
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    dkv_update batch[] = {storetest_upd(1, 1, 3, "a", "a3"), storetest_upd(1, 2, 7, "a", "a7"),
                          storetest_upd(2, 1, 5, "a", "a5"), storetest_upd(2, 2, 8, "b", "b8")};
    CU_ASSERT_EQUAL_FATAL(storetest_apply(s, batch, 4, NULL), 0);
    storetest_assert_value(s, "a", 7, 1, "a7");
    dkv_update older[] = {storetest_upd(3, 1, 4, "a", "older"),
                          storetest_upd(3, 2, 6, "a", "older 2")};
    CU_ASSERT_EQUAL_FATAL(storetest_apply(s, older, 2, NULL), 0);
    storetest_assert_value(s, "a", 7, 1, "a7");
    storetest_assert_value(s, "b", 8, 2, "b8");
    store_close(s);
}

/* Verification at open runs on any backend: a memory store whose clock
 * counts a write its log lacks is refused, not crashed on. */
static void test_store_on_memory_verified(void)
{
    kv *db = kv_memory_new();
    store *s = memory_store(db);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    vclock *vc = tests_vc("1:2");
    record_meta m = {9, 1, vc}; /* counts writes 1 and 2 of origin 1; none is stored */
    CU_ASSERT_EQUAL(store_save_meta(s, &m, NULL), 0);
    vclock_free(vc);
    /* Reopen the records on the same bytes: store_close would close db, so
     * copy them over to a second memory backend by scanning. */
    kv *copy = kv_memory_new();
    kv_batch *b = kv_batch_new();
    uint8_t *meta = NULL;
    size_t ml = 0;
    CU_ASSERT_EQUAL(kv_get(db, (const uint8_t *)"m", 1, &meta, &ml, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(meta);
    kv_batch_put(b, "m", 1, meta, ml);
    CU_ASSERT_EQUAL(kv_write(copy, b, NULL), 0);
    free(meta);
    kv_batch_free(b);
    store_close(s);
    dkv_err err = {{0}};
    CU_ASSERT_PTR_NULL(store_open_kv(copy, "memory copy", 1, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "memory copy is damaged"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "write log"));
}

/* After a failed write the store takes no more, without asking the
 * backend: a torn record must stay at the end of LevelDB's log. */
static void test_store_no_writes_after_failure(void)
{
    kv_faults f = {0};
    store *s = memory_store(kv_faulty_new(kv_memory_new(), &f));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    dkv_update u1 = storetest_upd(1, 1, 1, "k", "v1");
    CU_ASSERT_EQUAL_FATAL(storetest_apply(s, &u1, 1, NULL), 0);
    f.fail_write = true;
    dkv_update u2 = storetest_upd(1, 2, 2, "k", "v2");
    dkv_err err = {{0}};
    CU_ASSERT_EQUAL(storetest_apply(s, &u2, 1, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, KV_FAULTY_MSG));
    f.fail_write = false;
    unsigned writes = f.writes;
    CU_ASSERT_EQUAL(storetest_apply(s, &u2, 1, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "takes no more writes"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, KV_FAULTY_MSG)); /* and says after what */
    vclock *vc = tests_vc("1:1");
    record_meta m = {1, 2, vc};
    CU_ASSERT_EQUAL(store_save_meta(s, &m, NULL), -1);
    CU_ASSERT_EQUAL(store_apply_newest(s, &u2, &m, NULL), -1);
    vclock_free(vc);
    CU_ASSERT_EQUAL(f.writes, writes);
    /* Reads still work, and show the last good write. */
    storetest_assert_value(s, "k", 1, 1, "v1");
    store_close(s);
}

static void test_store_read_failures(void)
{
    kv_faults f = {0};
    store *s = memory_store(kv_faulty_new(kv_memory_new(), &f));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    dkv_update u = storetest_upd(1, 1, 1, "k", "v");
    CU_ASSERT_EQUAL_FATAL(storetest_apply(s, &u, 1, NULL), 0);
    f.fail_get = true;
    bool found;
    dkv_version v;
    dkv_err err = {{0}};
    CU_ASSERT_EQUAL(store_get(s, (const uint8_t *)"k", 1, &found, &v, NULL, NULL, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, KV_FAULTY_MSG));
    /* A batch needs the stored versions: it fails before writing. */
    unsigned writes = f.writes;
    err.msg[0] = '\0';
    dkv_update u2 = storetest_upd(2, 1, 2, "k", "w");
    CU_ASSERT_EQUAL(storetest_apply(s, &u2, 1, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, KV_FAULTY_MSG));
    CU_ASSERT_EQUAL(f.writes, writes);
    f.fail_get = false;
    CU_ASSERT_EQUAL(storetest_apply(s, &u2, 1, NULL), 0); /* not a write failure: writes go on */
    storetest_assert_value(s, "k", 2, 2, "w");
    f.fail_scan = true;
    err.msg[0] = '\0';
    CU_ASSERT_EQUAL(store_scan(s, NULL, 0, false, NULL, NULL, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, KV_FAULTY_MSG));
    store_close(s);
}

/* core_ops.link_out: one live link, to server 2. */
static buf *link_to_2(void *ctx, uint64_t peer) { return peer == 2 ? ctx : NULL; }

/* A write log that cannot be read while pushing (a LevelDB read error)
 * damages the core once, naming the reason; it is not retried. */
static void test_core_push_read_error(void)
{
    kv_faults f = {0};
    store *s = memory_store(kv_faulty_new(kv_memory_new(), &f));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    buf out;
    buf_init(&out);
    dkv_err err;
    core *c = core_new(1, s, &(core_ops){&out, link_to_2}, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (int i = 0; i < 3; i++) {
        dkv_version v;
        CU_ASSERT_EQUAL_FATAL(core_put(c, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1,
                                       (dkv_version){0, 0}, &v, &err),
                              0);
    }
    /* Server 2 links up holding nothing, and its LSA lists server 1, so
     * server 1 feeds it. */
    peermsg hello = {.type = PEERMSG_HELLO, .id = 2, .inc = 1, .to = 1, .vc = vclock_new()};
    CU_ASSERT_EQUAL_FATAL(core_link_up(c, 2, &hello, &err), 0);
    uint64_t nb[] = {1};
    peermsg lsa = {.type = PEERMSG_LSA, .id = 2, .inc = 1, .seq = 1, .nb = nb, .n_nb = 1};
    CU_ASSERT_EQUAL_FATAL(core_on_message(c, 2, &lsa, &err), 0);
    f.fail_get = true;
    for (int i = 0; i < 10 && !core_damage(c); i++)
        core_tick(c);
    const char *why = core_damage(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(why);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "update 1:1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, KV_FAULTY_MSG));
    /* Nothing left to retry: more ticks read nothing. */
    unsigned gets = f.gets;
    CU_ASSERT_FALSE(core_has_work(c));
    for (int i = 0; i < 5; i++)
        CU_ASSERT_FALSE(core_tick(c));
    CU_ASSERT_EQUAL(f.gets, gets);
    /* Puts are refused with the same reason. */
    dkv_version v;
    err.msg[0] = '\0';
    CU_ASSERT_EQUAL(core_put(c, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1,
                             (dkv_version){0, 0}, &v, &err),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, KV_FAULTY_MSG));
    vclock_free(hello.vc);
    core_free(c);
    store_close(s);
    buf_free(&out);
}

void add_kv_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"memory: empty", conf_empty_memory},
        {"memory: get after write", conf_get_after_write_memory},
        {"memory: a later pair of a key wins", conf_later_pair_wins_memory},
        {"memory: a batch is applied whole", conf_batch_whole_memory},
        {"memory: scans in order from a start key", conf_scan_order_memory},
        {"leveldb: empty", conf_empty_leveldb},
        {"leveldb: get after write", conf_get_after_write_leveldb},
        {"leveldb: a later pair of a key wins", conf_later_pair_wins_leveldb},
        {"leveldb: a batch is applied whole", conf_batch_whole_leveldb},
        {"leveldb: scans in order from a start key", conf_scan_order_leveldb},
        {"leveldb: close and reopen keep everything", test_leveldb_reopen},
        {"leveldb: open errors named", test_leveldb_open_errors},
        {"batch accessors", test_batch_accessors},
        {"store on memory: records, no seal", test_store_on_memory},
        {"store on memory: verified at open", test_store_on_memory_verified},
        {"store: no writes after a failed write", test_store_no_writes_after_failure},
        {"store: read failures returned", test_store_read_failures},
        {"core: a write log read error while pushing damages once, named",
         test_core_push_read_error},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("kv", tests_scratch_init, tests_scratch_cleanup, tests);
}
