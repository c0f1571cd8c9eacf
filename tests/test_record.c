/* record: the binary records of the LevelDB store. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/xalloc.h"
#include "../common/ids.h"
#include "../server/record.h"
#include "tests.h"

static void test_data_round_trip(void)
{
    buf b;
    buf_init(&b);
    record_data_value(&b, (dkv_version){77, 3}, 12);
    CU_ASSERT_EQUAL(buf_unread(&b), 24);
    dkv_version v;
    uint64_t seq;
    CU_ASSERT_EQUAL_FATAL(record_data_decode(buf_head(&b), buf_unread(&b), &v, &seq, NULL), 0);
    CU_ASSERT_EQUAL(v.lamport, 77);
    CU_ASSERT_EQUAL(v.origin, 3);
    CU_ASSERT_EQUAL(seq, 12);
    buf_clear(&b);
    record_data_value(&b, (dkv_version){DKV_COUNTER_MAX, DKV_ID_MAX}, DKV_COUNTER_MAX);
    CU_ASSERT_EQUAL_FATAL(record_data_decode(buf_head(&b), buf_unread(&b), &v, &seq, NULL), 0);
    CU_ASSERT_EQUAL(v.lamport, DKV_COUNTER_MAX);
    CU_ASSERT_EQUAL(v.origin, DKV_ID_MAX);
    CU_ASSERT_EQUAL(seq, DKV_COUNTER_MAX);
    /* Beyond the bounds: damage, refused. */
    static const struct {
        dkv_version v;
        uint64_t seq;
    } bad[] = {{{DKV_COUNTER_MAX + 1, 0}, 1}, {{UINT64_MAX, 0}, 1}, {{1, DKV_ID_MAX + 1}, 1},
               {{1, 0}, DKV_COUNTER_MAX + 1}, {{1, 0}, 0}, {{0, 0}, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf_clear(&b);
        record_data_value(&b, bad[i].v, bad[i].seq);
        CU_ASSERT_EQUAL(record_data_decode(buf_head(&b), buf_unread(&b), &v, &seq, NULL), -1);
    }
    buf_free(&b);
}

static void test_data_key(void)
{
    buf b;
    buf_init(&b);
    record_data_key(&b, (const uint8_t *)"k\0y", 3);
    CU_ASSERT_EQUAL_FATAL(buf_unread(&b), 4);
    CU_ASSERT(memcmp(buf_head(&b), "dk\0y", 4) == 0);
    buf_free(&b);
}

static void test_data_corrupt(void)
{
    uint8_t rec[25] = {0};
    rec[7] = 1;  /* lamport 1 */
    rec[23] = 1; /* update 1 */
    dkv_version v;
    uint64_t seq;
    for (size_t len = 0; len <= 25; len++) {
        if (len == 24)
            continue;
        dkv_err err = {{0}};
        CU_ASSERT_EQUAL(record_data_decode(rec, len, &v, &seq, &err), -1);
        CU_ASSERT(err.msg[0] != '\0');
    }
    CU_ASSERT_EQUAL(record_data_decode(rec, 24, &v, &seq, NULL), 0);
    rec[23] = 0; /* update 0 does not exist */
    CU_ASSERT_EQUAL(record_data_decode(rec, 24, &v, &seq, NULL), -1);
    rec[23] = 1;
    rec[7] = 0; /* zero Lamport: "no version" cannot be stored */
    CU_ASSERT_EQUAL(record_data_decode(rec, 24, &v, &seq, NULL), -1);
}

static void test_log_key(void)
{
    uint8_t k[17];
    record_log_key(k, DKV_ID_MAX, 9);
    CU_ASSERT_EQUAL(k[0], RECORD_LOG_PREFIX);
    uint64_t o = 0, s = 0;
    CU_ASSERT_EQUAL(record_log_key_decode(k, 17, &o, &s, NULL), 0);
    CU_ASSERT_EQUAL(o, DKV_ID_MAX);
    CU_ASSERT_EQUAL(s, 9);
    /* An origin that is no id, a seq of 0 or beyond the bound: damage. */
    record_log_key(k, 0x0102030405060708ULL, 9);
    CU_ASSERT_EQUAL(record_log_key_decode(k, 17, &o, &s, NULL), -1);
    record_log_key(k, 1, 0);
    CU_ASSERT_EQUAL(record_log_key_decode(k, 17, &o, &s, NULL), -1);
    record_log_key(k, 1, DKV_COUNTER_MAX + 1);
    CU_ASSERT_EQUAL(record_log_key_decode(k, 17, &o, &s, NULL), -1);
    /* Keys sort by (origin, seq) bytewise, which LevelDB relies on. */
    uint8_t a[17], b[17], c[17];
    record_log_key(a, 1, 300);
    record_log_key(b, 2, 1);
    record_log_key(c, 2, 256);
    CU_ASSERT(memcmp(a, b, 17) < 0);
    CU_ASSERT(memcmp(b, c, 17) < 0);
    /* Wrong length or prefix. */
    CU_ASSERT_EQUAL(record_log_key_decode(k, 16, &o, &s, NULL), -1);
    uint8_t longer[18] = {0};
    memcpy(longer, k, 17);
    CU_ASSERT_EQUAL(record_log_key_decode(longer, 18, &o, &s, NULL), -1);
    k[0] = RECORD_DATA_PREFIX;
    CU_ASSERT_EQUAL(record_log_key_decode(k, 17, &o, &s, NULL), -1);
}

static void test_log_round_trip(void)
{
    static const uint8_t key[] = {'k', 0, 'x'};
    static const uint8_t val[] = "value bytes";
    dkv_update in = {5, 6, 1234, key, sizeof key, val, sizeof val - 1};
    buf b;
    buf_init(&b);
    record_log_value(&b, &in);
    dkv_update out = {.origin = 5, .seq = 6};
    CU_ASSERT_EQUAL_FATAL(record_log_decode(buf_head(&b), buf_unread(&b), &out, NULL), 0);
    CU_ASSERT_EQUAL(out.origin, 5); /* left as they were */
    CU_ASSERT_EQUAL(out.seq, 6);
    CU_ASSERT_EQUAL(out.lamport, 1234);
    CU_ASSERT_EQUAL_FATAL(out.key_len, sizeof key);
    CU_ASSERT(memcmp(out.key, key, sizeof key) == 0);
    CU_ASSERT_EQUAL_FATAL(out.value_len, sizeof val - 1);
    CU_ASSERT(memcmp(out.value, val, out.value_len) == 0);
    /* Empty key and value. */
    dkv_update e = {1, 1, 1, NULL, 0, NULL, 0};
    buf_clear(&b);
    record_log_value(&b, &e);
    CU_ASSERT_EQUAL(buf_unread(&b), 12);
    CU_ASSERT_EQUAL_FATAL(record_log_decode(buf_head(&b), buf_unread(&b), &out, NULL), 0);
    CU_ASSERT_EQUAL(out.key_len, 0);
    CU_ASSERT_EQUAL(out.value_len, 0);
    buf_free(&b);
}

static void test_log_corrupt(void)
{
    uint8_t rec[32] = {0};
    rec[7] = 1; /* lamport 1 */
    dkv_update u;
    for (size_t len = 0; len < 12; len++)
        CU_ASSERT_EQUAL(record_log_decode(rec, len, &u, NULL), -1);
    /* key length 4 with only 3 bytes after the header, then exactly 4. */
    dkv_put_u32(rec + 8, 4);
    CU_ASSERT_EQUAL(record_log_decode(rec, 15, &u, NULL), -1);
    CU_ASSERT_EQUAL(record_log_decode(rec, 16, &u, NULL), 0);
    CU_ASSERT_EQUAL(u.value_len, 0);
    /* A key length near 2^32 must not wrap around. */
    dkv_put_u32(rec + 8, UINT32_MAX);
    CU_ASSERT_EQUAL(record_log_decode(rec, sizeof rec, &u, NULL), -1);
    /* Zero Lamport. */
    dkv_put_u32(rec + 8, 0);
    rec[7] = 0;
    CU_ASSERT_EQUAL(record_log_decode(rec, 12, &u, NULL), -1);
}

/* Encodes a meta record with the given fields. */
static void meta_bytes(buf *b, uint64_t lamport, uint64_t inc, const char *vc_text)
{
    vclock *vc = tests_vc(vc_text);
    record_meta m = {lamport, inc, vc};
    record_meta_encode(b, &m);
    vclock_free(vc);
}

static void test_meta_round_trip(void)
{
    static const char *clocks[] = {"", "1:1", "0:5,3:9007199254740991,999999999999:2"};
    for (size_t i = 0; i < 3; i++) {
        buf b;
        buf_init(&b);
        meta_bytes(&b, 1000 + i, 7, clocks[i]);
        record_meta m = {0, 0, tests_vc("42:42")}; /* overwritten, not merged */
        CU_ASSERT_EQUAL_FATAL(record_meta_decode(buf_head(&b), buf_unread(&b), &m, NULL), 0);
        CU_ASSERT_EQUAL(m.lamport, 1000 + i);
        CU_ASSERT_EQUAL(m.incarnation, 7);
        vclock *want = tests_vc(clocks[i]);
        CU_ASSERT(vclock_equal(m.vc, want));
        vclock_free(want);
        vclock_free(m.vc);
        buf_free(&b);
    }
}

/* Decodes a meta record and expects failure. */
static void expect_bad_meta(const uint8_t *p, size_t len, const char *what)
{
    record_meta m = {0, 0, vclock_new()};
    dkv_err err = {{0}};
    int rc = record_meta_decode(p, len, &m, &err);
    CU_ASSERT_EQUAL(rc, -1);
    if (rc != -1)
        fprintf(stderr, "\n  meta accepted: %s\n", what);
    else
        CU_ASSERT(err.msg[0] != '\0');
    vclock_free(m.vc);
}

static void test_meta_corrupt(void)
{
    buf b;
    buf_init(&b);
    meta_bytes(&b, 5, 1, "1:1,2:2");
    size_t len = buf_unread(&b);
    CU_ASSERT_EQUAL_FATAL(len, 24 + 2 * 16);
    uint8_t *p = xmalloc(len + 16);
    memcpy(p, buf_head(&b), len);
    /* Every truncation. */
    for (size_t l = 0; l < len; l++)
        expect_bad_meta(p, l, "truncated");
    /* Trailing bytes. */
    memset(p + len, 0, 16);
    expect_bad_meta(p, len + 1, "one extra byte");
    expect_bad_meta(p, len + 16, "an extra entry's worth of bytes");
    /* Wrong magic, e.g. a store of the format before values were stored once. */
    p[3] = '1';
    expect_bad_meta(p, len, "wrong magic");
    p[3] = '2';
    /* Count says 3, or 1, or 2^32-1 (must not overflow the length check). */
    dkv_put_u32(p + 20, 3);
    expect_bad_meta(p, len, "count too high");
    dkv_put_u32(p + 20, 1);
    expect_bad_meta(p, len, "count too low");
    dkv_put_u32(p + 20, UINT32_MAX);
    expect_bad_meta(p, len, "count 2^32-1");
    dkv_put_u32(p + 20, 2);
    /* Unsorted ids, duplicate ids, a zero counter. */
    dkv_put_u64(p + 24, 3);
    expect_bad_meta(p, len, "unsorted ids");
    dkv_put_u64(p + 24, 2);
    expect_bad_meta(p, len, "duplicate ids");
    dkv_put_u64(p + 24, 1);
    dkv_put_u64(p + 48, 0);
    expect_bad_meta(p, len, "zero counter");
    dkv_put_u64(p + 48, 2);
    /* Restored: valid again, so each failure above had its stated cause. */
    record_meta m = {0, 0, vclock_new()};
    CU_ASSERT_EQUAL(record_meta_decode(p, len, &m, NULL), 0);
    vclock_free(m.vc);
    free(p);
    buf_free(&b);
}

void add_record_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"data round trip", test_data_round_trip},
        {"data key", test_data_key},
        {"data corrupt", test_data_corrupt},
        {"log key round trip and order", test_log_key},
        {"log round trip", test_log_round_trip},
        {"log corrupt", test_log_corrupt},
        {"meta round trip", test_meta_round_trip},
        {"meta corrupt", test_meta_corrupt},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("record", NULL, NULL, tests);
}
