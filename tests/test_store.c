/* store: the LevelDB-backed durable state, in a temporary directory. */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/xalloc.h"
#include "../server/kv_leveldb.h"
#include "../server/seal.h"
#include "../server/store.h"
#include "storetest.h"
#include "tests.h"

static store *open_at(const char *dir)
{
    dkv_err err;
    store *s = store_open(dir, &(store_options){.self = 1}, &err);
    if (!s)
        fprintf(stderr, "\n  store_open(%s): %s\n", dir, err.msg);
    return s;
}

/* A store in a fresh directory; the test stops when it cannot open. */
static store *open_fresh(void)
{
    store *s = open_at(tests_scratch_fresh("s"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

static void test_fresh(void)
{
    store *s = open_fresh();
    record_meta m = {123, 456, NULL}; /* left alone on a fresh store */
    bool found = true;
    CU_ASSERT_EQUAL(store_load_meta(s, &m, &found, NULL), 0);
    CU_ASSERT_FALSE(found);
    CU_ASSERT_EQUAL(m.lamport, 123);
    bool kfound = true;
    dkv_version v;
    CU_ASSERT_EQUAL(store_get(s, (const uint8_t *)"k", 1, &kfound, &v, NULL, NULL, NULL), 0);
    CU_ASSERT_FALSE(kfound);
    store_close(s);
}

static void test_open_fails(void)
{
    /* A regular file where the directory should be. */
    const char *dir = tests_scratch_fresh("s");
    FILE *f = fopen(dir, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    dkv_err err = {{0}};
    store *s = store_open(dir, &(store_options){.self = 1}, &err);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT(err.msg[0] != '\0');
    store_close(s);
}

static void test_lww_across_batches(void)
{
    store *s = open_fresh();
    dkv_update u1 = storetest_upd(1, 1, 5, "k", "first");
    dkv_update u2 = storetest_upd(2, 1, 3, "k", "older, arrives later");
    dkv_update u3 = storetest_upd(0, 1, 5, "k", "same lamport, lower origin");
    dkv_update u4 = storetest_upd(3, 1, 5, "k", "same lamport, higher origin");
    dkv_update u5 = storetest_upd(1, 2, 6, "k", "newest");
    CU_ASSERT_EQUAL_FATAL(storetest_apply(s, &u1, 1, NULL), 0);
    storetest_assert_value(s, "k", 5, 1, "first");
    CU_ASSERT_EQUAL_FATAL(storetest_apply(s, &u2, 1, NULL), 0);
    storetest_assert_value(s, "k", 5, 1, "first");
    CU_ASSERT_EQUAL_FATAL(storetest_apply(s, &u3, 1, NULL), 0);
    storetest_assert_value(s, "k", 5, 1, "first");
    CU_ASSERT_EQUAL_FATAL(storetest_apply(s, &u4, 1, NULL), 0);
    storetest_assert_value(s, "k", 5, 3, "same lamport, higher origin");
    CU_ASSERT_EQUAL_FATAL(storetest_apply(s, &u5, 1, NULL), 0);
    storetest_assert_value(s, "k", 6, 1, "newest");
    store_close(s);
}

static void test_lww_within_batch(void)
{
    store *s = open_fresh();
    dkv_update u[] = {
        storetest_upd(1, 1, 3, "a", "a3"), storetest_upd(1, 2, 7, "a", "a7"),
        storetest_upd(2, 1, 5, "a", "a5"), storetest_upd(2, 2, 6, "b", "b6"),
        storetest_upd(1, 3, 8, "c", "c8"), storetest_upd(2, 3, 8, "b", "b8"),
    };
    CU_ASSERT_EQUAL_FATAL(storetest_apply(s, u, 6, NULL), 0);
    storetest_assert_value(s, "a", 7, 1, "a7");
    storetest_assert_value(s, "b", 8, 2, "b8");
    storetest_assert_value(s, "c", 8, 1, "c8");
    store_close(s);
}

/* The stored version must be beaten by an update, not only the batch's
 * earlier updates of the key. Here the store holds (10,1) and one batch
 * brings (5,2) then (7,2): neither beats (10,1). A frame carrying two older
 * writes of a key the receiver holds at a higher version does this; the
 * first version of store_apply let (7,2) win, and replicas diverged. */
static void test_lww_batch_vs_stored(void)
{
    store *s = open_fresh();
    dkv_update first = storetest_upd(1, 1, 10, "k", "stored, highest");
    CU_ASSERT_EQUAL_FATAL(storetest_apply(s, &first, 1, NULL), 0);
    dkv_update batch[] = {storetest_upd(2, 1, 5, "k", "older 1"),
                          storetest_upd(2, 2, 7, "k", "older 2")};
    CU_ASSERT_EQUAL_FATAL(storetest_apply(s, batch, 2, NULL), 0);
    storetest_assert_value(s, "k", 10, 1, "stored, highest");
    store_close(s);
}

static void test_log(void)
{
    store *s = open_fresh();
    dkv_update u[] = {storetest_upd(4, 1, 2, "x", "win"),
                      storetest_upd(9, 1, 1, "x", "loses, still logged")};
    CU_ASSERT_EQUAL_FATAL(storetest_apply(s, u, 2, NULL), 0);
    for (size_t i = 0; i < 2; i++) {
        dkv_update got;
        uint8_t *owned = NULL;
        bool found = false;
        CU_ASSERT_EQUAL_FATAL(store_log_get(s, u[i].origin, u[i].seq, &got, &owned, &found, NULL),
                              0);
        CU_ASSERT_FATAL(found);
        CU_ASSERT_EQUAL(got.origin, u[i].origin);
        CU_ASSERT_EQUAL(got.seq, u[i].seq);
        CU_ASSERT_EQUAL(got.lamport, u[i].lamport);
        CU_ASSERT(got.key_len == u[i].key_len && memcmp(got.key, u[i].key, got.key_len) == 0);
        CU_ASSERT(got.value_len == u[i].value_len &&
                  memcmp(got.value, u[i].value, got.value_len) == 0);
        free(owned);
    }
    dkv_update got;
    uint8_t *owned = NULL;
    bool found = true;
    CU_ASSERT_EQUAL(store_log_get(s, 4, 2, &got, &owned, &found, NULL), 0);
    CU_ASSERT_FALSE(found);
    CU_ASSERT_EQUAL(store_log_get(s, 5, 1, &got, &owned, &found, NULL), 0);
    CU_ASSERT_FALSE(found);
    store_close(s);
}

static void test_reopen(void)
{
    const char *p = tests_scratch_fresh("s");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", p);
    store *s = open_at(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    vclock *vc = tests_vc("1:2,7:1");
    record_meta m = {42, 3, vc};
    dkv_update u[] = {storetest_upd(1, 1, 41, "k1", "v1"), storetest_upd(1, 2, 42, "k2", "v2"),
                      storetest_upd(7, 1, 40, "k1", "old")};
    dkv_err err;
    CU_ASSERT_EQUAL_FATAL(store_apply(s, u, 3, &m, &err), 0);
    store_close(s);

    s = open_at(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    record_meta back = {0, 0, vclock_new()};
    bool found = false;
    CU_ASSERT_EQUAL(store_load_meta(s, &back, &found, &err), 0);
    CU_ASSERT(found);
    CU_ASSERT_EQUAL(back.lamport, 42);
    CU_ASSERT_EQUAL(back.incarnation, 3);
    CU_ASSERT(vclock_equal(back.vc, vc));
    storetest_assert_value(s, "k1", 41, 1, "v1");
    storetest_assert_value(s, "k2", 42, 1, "v2");
    /* store_save_meta alone also persists. */
    m.incarnation = 4;
    m.lamport = 50;
    CU_ASSERT_EQUAL(store_save_meta(s, &m, &err), 0);
    store_close(s);
    s = open_at(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(store_load_meta(s, &back, &found, &err), 0);
    CU_ASSERT_EQUAL(back.incarnation, 4);
    CU_ASSERT_EQUAL(back.lamport, 50);
    CU_ASSERT(vclock_equal(back.vc, vc));
    store_close(s);
    vclock_free(back.vc);
    vclock_free(vc);
}

typedef struct scan_acc {
    char keys[16][8];
    size_t lens[16];
    size_t n;
    size_t stop_after; /* stop once this many were seen; 0 for never */
} scan_acc;

static int collect(void *user, const uint8_t *key, size_t key_len, dkv_version v,
                   const uint8_t *value, size_t value_len)
{
    scan_acc *a = user;
    if (a->n < 16 && key_len <= 8) {
        memcpy(a->keys[a->n], key, key_len);
        a->lens[a->n] = key_len;
    }
    a->n++;
    return a->stop_after && a->n >= a->stop_after;
}

/* Runs a scan and compares the keys seen with want (n_want entries). */
static void assert_scan(store *s, const char *after, size_t after_len, bool has_after,
                        size_t stop_after, const char *const *want, const size_t *want_len,
                        size_t n_want)
{
    scan_acc a = {.stop_after = stop_after};
    CU_ASSERT_EQUAL_FATAL(
        store_scan(s, (const uint8_t *)after, after_len, has_after, collect, &a, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(a.n, n_want);
    for (size_t i = 0; i < n_want; i++)
        CU_ASSERT(a.lens[i] == want_len[i] && memcmp(a.keys[i], want[i], want_len[i]) == 0);
}

static void test_scan(void)
{
    store *s = open_fresh();
    /* Bytewise order: "" < "\0" < "A" < "a" < "a\0" < "ab" < "b" < "\xff". Keys
     * are given out of order and across batches, and with log records in the
     * store, which the scan must not report. */
    static const char *const keys[] = {"", "\0", "A", "a", "a\0", "ab", "b", "\xff"};
    static const size_t lens[] = {0, 1, 1, 1, 2, 2, 1, 1};
    static const int order[] = {6, 2, 7, 0, 4, 1, 3, 5};
    for (size_t i = 0; i < 8; i++) {
        size_t k = (size_t)order[i];
        dkv_update u = {1, i + 1, i + 1, (const uint8_t *)keys[k], lens[k],
                        (const uint8_t *)"v", 1};
        CU_ASSERT_EQUAL_FATAL(storetest_apply(s, &u, 1, NULL), 0);
    }
    assert_scan(s, NULL, 0, false, 0, keys, lens, 8);
    /* after: strictly greater than, whether or not the key exists. */
    assert_scan(s, "a", 1, true, 0, keys + 4, lens + 4, 4);
    assert_scan(s, "aa", 2, true, 0, keys + 5, lens + 5, 3);
    assert_scan(s, "", 0, true, 0, keys + 1, lens + 1, 7);
    assert_scan(s, "\xff", 1, true, 0, NULL, NULL, 0);
    assert_scan(s, "\xff\xff", 2, true, 0, NULL, NULL, 0);
    /* fn returning nonzero stops the scan (after the key it was given). */
    assert_scan(s, NULL, 0, false, 3, keys, lens, 3);
    store_close(s);
}

static void test_scan_values(void)
{
    store *s = open_fresh();
    dkv_update u[] = {storetest_upd(1, 1, 1, "k", "old"), storetest_upd(2, 1, 2, "k", "new")};
    CU_ASSERT_EQUAL_FATAL(storetest_apply(s, u, 2, NULL), 0);
    scan_acc a = {0};
    CU_ASSERT_EQUAL(store_scan(s, NULL, 0, false, collect, &a, NULL), 0);
    CU_ASSERT_EQUAL(a.n, 1); /* one key, however many writes */
    store_close(s);
}

/* ---- damaged stores: each is refused at open, naming what is wrong ---- */

/* A closed store of server 1 in dir holding its own writes 1..n (all of
 * them in LevelDB's newest log file, which the next open replays). */
static void make_store(const char *dir, int n)
{
    store *s = open_at(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    vclock *vc = vclock_new();
    for (int i = 1; i <= n; i++) {
        char key[16], val[16];
        snprintf(key, sizeof key, "k%d", i);
        snprintf(val, sizeof val, "v%d", i);
        dkv_update u = storetest_upd(1, (uint64_t)i, (uint64_t)i, key, val);
        vclock_set(vc, 1, (uint64_t)i);
        record_meta m = {(uint64_t)i, 1, vc};
        CU_ASSERT_EQUAL_FATAL(store_apply(s, &u, 1, &m, NULL), 0);
    }
    vclock_free(vc);
    store_close(s);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Opening dir must fail with a message holding each of the needles. */
static void assert_refused(const char *dir, bool must_exist, const char *n1, const char *n2)
{
    dkv_err err = {{0}};
    store *s = store_open(dir, &(store_options){.self = 1, .must_exist = must_exist}, &err);
    CU_ASSERT_PTR_NULL(s);
    if (s) {
        fprintf(stderr, "\n  a damaged store at %s was accepted\n", dir);
        store_close(s);
        return;
    }
    bool ok = strstr(err.msg, n1) && (!n2 || strstr(err.msg, n2));
    CU_ASSERT(ok);
    if (!ok)
        fprintf(stderr, "\n  message lacks '%s'/'%s': %s\n", n1, n2 ? n2 : "", err.msg);
}

/* A fresh store of writes writes, closed; its directory, malloc'ed. */
static char *fresh_store(int writes)
{
    char *dir = xstrdup(tests_scratch_fresh("s"));
    make_store(dir, writes);
    return dir;
}

/* The same, and the path of its newest LevelDB log in log. */
static char *store_with_log(int writes, char *log, size_t cap)
{
    char *dir = fresh_store(writes);
    kv_leveldb_newest_log(dir, log, cap);
    CU_ASSERT_FATAL(log[0] != '\0');
    return dir;
}

/* Rewrites the byte at offset at of f as change(byte). */
static void change_byte(FILE *f, long at, int (*change)(int))
{
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(change(c), f);
}

static int flip_bits(int c) { return c ^ 0x5a; }
static int other_digit(int c) { return c == '1' ? '2' : '1'; }

static void test_damage_truncated_log(void)
{
    char log[4200];
    char *dir = store_with_log(20, log, sizeof log);
    long n = file_size(log);
    CU_ASSERT_FATAL(n > 100);
    /* Losing the tail of a log looks to LevelDB like a crash in mid-write:
     * only the seal can tell. */
    CU_ASSERT_EQUAL_FATAL(truncate(log, n / 2), 0);
    assert_refused(dir, false, "lost writes", ".seal");
    free(dir);
}

static void test_damage_emptied_log(void)
{
    char log[4200];
    char *dir = store_with_log(5, log, sizeof log);
    CU_ASSERT_EQUAL_FATAL(truncate(log, 0), 0);
    assert_refused(dir, false, "lost writes", log);
    free(dir);
}

static void test_damage_flipped_log(void)
{
    char log[4200];
    char *dir = store_with_log(20, log, sizeof log);
    FILE *f = fopen(log, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    long n = file_size(log);
    for (long at = n / 3; at < n / 3 + 8; at++)
        change_byte(f, at, flip_bits);
    fclose(f);
    assert_refused(dir, false, "damaged", NULL);
    free(dir);
}

static void test_damage_wiped_dir(void)
{
    char *dir = fresh_store(5);
    tests_rmtree(xstrdup(dir));
    /* The seal lives beside the directory and survives it. */
    assert_refused(dir, false, "lost writes", NULL);
    /* Told that the server held data here, the store refuses before
     * creating anything. */
    tests_rmtree(xstrdup(dir));
    assert_refused(dir, true, "missing", NULL);
    free(dir);
}

static void test_damage_seal(void)
{
    char *dir = fresh_store(3);
    char seal_file[4200];
    snprintf(seal_file, sizeof seal_file, "%s.seal", dir);
    /* A flipped byte in each of the seal's two slots (one alone reads as
     * a write torn by a kill: the other slot is used). */
    FILE *f = fopen(seal_file, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (long at = 20; at < 2 * SEAL_SIZE; at += SEAL_SIZE)
        change_byte(f, at, other_digit);
    fclose(f);
    assert_refused(dir, false, "seal", "damaged");
    /* A missing seal: the store cannot be proven whole. */
    CU_ASSERT_EQUAL_FATAL(unlink(seal_file), 0);
    assert_refused(dir, false, "seal", "missing");
    free(dir);
}

static void test_damage_other_server(void)
{
    char *dir = fresh_store(3);
    dkv_err err = {{0}};
    store *s = store_open(dir, &(store_options){.self = 2}, &err);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "belongs to server 1"));
    store_close(s);
    /* The rightful owner still opens it, whole. */
    s = open_at(dir);
    CU_ASSERT_PTR_NOT_NULL(s);
    store_close(s);
    free(dir);
}

static void test_open_messages(void)
{
    dkv_err err = {{0}};
    /* A missing parent directory is named, with the reason. */
    const char *dir = tests_scratch_path("no/such/dir");
    CU_ASSERT_PTR_NULL(store_open(dir, &(store_options){.self = 1}, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot create data directory"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "No such file or directory"));
}

void add_store_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"fresh store", test_fresh},
        {"open failure reported", test_open_fails},
        {"LWW by version across batches", test_lww_across_batches},
        {"LWW within one batch", test_lww_within_batch},
        {"stored version beats older writes batched together",
         test_lww_batch_vs_stored},
        {"write log", test_log},
        {"meta and data survive reopen", test_reopen},
        {"scan order and after", test_scan},
        {"scan reports each key once", test_scan_values},
        {"damage: truncated log refused", test_damage_truncated_log},
        {"damage: emptied log refused", test_damage_emptied_log},
        {"damage: flipped bytes refused", test_damage_flipped_log},
        {"damage: wiped directory refused", test_damage_wiped_dir},
        {"damage: damaged or missing seal refused", test_damage_seal},
        {"damage: another server's store refused", test_damage_other_server},
        {"open errors name the directory", test_open_messages},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("store", tests_scratch_init, tests_scratch_cleanup, tests);
}
