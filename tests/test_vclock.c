/* vclock: sparse vector clock operations and its canonical text form. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/vclock.h"
#include "../common/version.h"
#include "tests.h"

/* Formats vc and compares with the expected text. */
static void assert_format(const vclock *vc, const char *want)
{
    char *s = vclock_format(vc);
    CU_ASSERT_STRING_EQUAL(s, want);
    free(s);
}

static void test_empty(void)
{
    vclock *vc = vclock_new();
    CU_ASSERT_EQUAL(vclock_size(vc), 0);
    CU_ASSERT_EQUAL(vclock_get(vc, 0), 0);
    CU_ASSERT_EQUAL(vclock_get(vc, 42), 0);
    CU_ASSERT_EQUAL(vclock_total(vc), 0);
    assert_format(vc, "");
    vclock_free(vc);
    vclock_free(NULL); /* documented as harmless by the free convention */
}

static void test_set_get_sorted(void)
{
    vclock *vc = vclock_new();
    /* Inserted out of order: entries must come back sorted by id. */
    uint64_t ids[] = {50, 3, 900000000000ULL, 0, 17, 4};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        vclock_set(vc, ids[i], i + 1);
    CU_ASSERT_EQUAL(vclock_size(vc), 6);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        CU_ASSERT_EQUAL(vclock_get(vc, ids[i]), i + 1);
    for (size_t i = 1; i < vclock_size(vc); i++)
        CU_ASSERT(vclock_at(vc, i - 1).id < vclock_at(vc, i).id);
    CU_ASSERT_EQUAL(vclock_get(vc, 5), 0);
    CU_ASSERT_EQUAL(vclock_total(vc), 1 + 2 + 3 + 4 + 5 + 6);
    assert_format(vc, "0:4,3:2,4:6,17:5,50:1,900000000000:3");
    vclock_free(vc);
}

static void test_set_overwrite_and_remove(void)
{
    vclock *vc = vclock_new();
    vclock_set(vc, 7, 3);
    vclock_set(vc, 7, 9);
    CU_ASSERT_EQUAL(vclock_get(vc, 7), 9);
    CU_ASSERT_EQUAL(vclock_size(vc), 1);
    /* set may lower a counter: it is an assignment, not a merge. */
    vclock_set(vc, 7, 2);
    CU_ASSERT_EQUAL(vclock_get(vc, 7), 2);
    vclock_set(vc, 8, 1);
    vclock_set(vc, 7, 0); /* zero removes */
    CU_ASSERT_EQUAL(vclock_size(vc), 1);
    CU_ASSERT_EQUAL(vclock_get(vc, 7), 0);
    CU_ASSERT_EQUAL(vclock_at(vc, 0).id, 8);
    vclock_set(vc, 99, 0); /* removing an absent id adds nothing */
    CU_ASSERT_EQUAL(vclock_size(vc), 1);
    vclock_free(vc);
}

static void test_many_entries(void)
{
    /* Enough entries to force several reallocations. */
    vclock *vc = vclock_new();
    for (uint64_t i = 1000; i > 0; i--)
        vclock_set(vc, i * 7, i);
    CU_ASSERT_EQUAL(vclock_size(vc), 1000);
    CU_ASSERT_EQUAL(vclock_get(vc, 7 * 500), 500);
    CU_ASSERT_EQUAL(vclock_total(vc), 1000 * 1001 / 2);
    char *s = vclock_format(vc);
    vclock *back = vclock_new();
    CU_ASSERT_EQUAL(vclock_parse(s, back, NULL), 0);
    CU_ASSERT(vclock_equal(vc, back));
    free(s);
    vclock_free(back);
    vclock_free(vc);
}

static void test_merge(void)
{
    vclock *a = tests_vc("1:5,3:1,9:2");
    vclock *b = tests_vc("1:2,3:4,7:1");
    vclock_merge(a, b);
    assert_format(a, "1:5,3:4,7:1,9:2");
    /* b is unchanged, and merging is idempotent. */
    assert_format(b, "1:2,3:4,7:1");
    vclock *before = vclock_dup(a);
    vclock_merge(a, b);
    CU_ASSERT(vclock_equal(a, before));
    /* Merging into an empty clock copies. */
    vclock *e = vclock_new();
    vclock_merge(e, b);
    CU_ASSERT(vclock_equal(e, b));
    vclock_free(a);
    vclock_free(b);
    vclock_free(before);
    vclock_free(e);
}

static void test_equal(void)
{
    vclock *a = tests_vc("1:1,2:2");
    vclock *b = vclock_new();
    vclock_set(b, 2, 2);
    vclock_set(b, 1, 1);
    CU_ASSERT(vclock_equal(a, b));
    vclock_set(b, 2, 3);
    CU_ASSERT_FALSE(vclock_equal(a, b));
    vclock_set(b, 2, 2);
    vclock_set(b, 3, 1);
    CU_ASSERT_FALSE(vclock_equal(a, b));
    CU_ASSERT_FALSE(vclock_equal(b, a));
    vclock *e1 = vclock_new(), *e2 = vclock_new();
    CU_ASSERT(vclock_equal(e1, e2));
    CU_ASSERT_FALSE(vclock_equal(e1, a));
    vclock_free(a);
    vclock_free(b);
    vclock_free(e1);
    vclock_free(e2);
}

static void test_covers(void)
{
    vclock *a = tests_vc("1:5,2:3");
    vclock *b = tests_vc("1:4,2:3");
    vclock *c = tests_vc("1:4,3:1");
    vclock *e = vclock_new();
    CU_ASSERT(vclock_covers(a, b));
    CU_ASSERT_FALSE(vclock_covers(b, a));
    CU_ASSERT(vclock_covers(a, a));
    /* An entry missing from a counts as zero. */
    CU_ASSERT_FALSE(vclock_covers(a, c));
    CU_ASSERT_FALSE(vclock_covers(c, a));
    CU_ASSERT(vclock_covers(a, e));
    CU_ASSERT_FALSE(vclock_covers(e, a));
    CU_ASSERT(vclock_covers(e, e));
    vclock_free(a);
    vclock_free(b);
    vclock_free(c);
    vclock_free(e);
}

static void test_dup_copy(void)
{
    vclock *a = tests_vc("1:1,5:5,9:9");
    vclock *d = vclock_dup(a);
    CU_ASSERT(vclock_equal(a, d));
    vclock_set(d, 5, 6);
    CU_ASSERT_EQUAL(vclock_get(a, 5), 5); /* deep copy */
    vclock *c = tests_vc("2:2");
    vclock_copy(c, a);
    CU_ASSERT(vclock_equal(c, a));
    vclock_copy(c, c); /* self-copy is a no-op */
    CU_ASSERT(vclock_equal(c, a));
    vclock *e = vclock_new();
    vclock_copy(c, e);
    CU_ASSERT_EQUAL(vclock_size(c), 0);
    vclock_free(a);
    vclock_free(c);
    vclock_free(d);
    vclock_free(e);
}

static void test_parse_valid(void)
{
    vclock *vc = tests_vc("2:7");
    dkv_err err;
    CU_ASSERT_EQUAL(vclock_parse("1:2,3:4", vc, &err), 0);
    /* Parsing replaces, never merges. */
    CU_ASSERT_EQUAL(vclock_size(vc), 2);
    CU_ASSERT_EQUAL(vclock_get(vc, 2), 0);
    CU_ASSERT_EQUAL(vclock_get(vc, 3), 4);
    CU_ASSERT_EQUAL(vclock_parse("", vc, &err), 0);
    CU_ASSERT_EQUAL(vclock_size(vc), 0);
    /* Extremes: the largest id, the largest counter, id zero. */
    CU_ASSERT_EQUAL(vclock_parse("0:1,999999999999:9007199254740991", vc, &err), 0);
    CU_ASSERT_EQUAL(vclock_get(vc, 0), 1);
    CU_ASSERT_EQUAL(vclock_get(vc, 999999999999ULL), DKV_COUNTER_MAX);
    assert_format(vc, "0:1,999999999999:9007199254740991");
    /* One above the bound, and values that would wrap, are refused. */
    CU_ASSERT_EQUAL(vclock_parse("1:9007199254740992", vc, &err), -1);
    CU_ASSERT_EQUAL(vclock_parse("1:9223372036854775807", vc, &err), -1);
    CU_ASSERT_EQUAL(vclock_parse("1:18446744073709551615", vc, &err), -1);
    vclock_free(vc);
}

static void test_parse_rejects(void)
{
    static const char *bad[] = {
        ",",
        "1",
        "1:",
        ":1",
        "1:1,",
        ",1:1",
        "1:1,,2:1",
        "1::1",
        "1:1:1",
        "1;1",
        " 1:1",
        "1:1 ",
        "1 :1",
        "1: 1",
        "-1:1",
        "1:-1",
        "+1:1",
        "1:+1",
        "0x1:1",
        "a:1",
        "1:1,b",
        "1:0",                                /* zero counter */
        "1:1,2:0",                            /* zero counter later */
        "2:1,1:1",                            /* unsorted */
        "1:1,1:2",                            /* duplicate */
        "1:1,3:1,2:1",                        /* unsorted later */
        "1000000000000:1",                    /* id above DKV_ID_MAX */
        "1:18446744073709551616",             /* counter overflows u64 */
        "1:99999999999999999999999999999999", /* far too long */
        "99999999999999999999999999999999999999999999:1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vclock *vc = vclock_new();
        dkv_err err = {{0}};
        int rc = vclock_parse(bad[i], vc, &err);
        CU_ASSERT_EQUAL(rc, -1);
        if (rc != -1)
            fprintf(stderr, "\n  vclock_parse accepted '%s'\n", bad[i]);
        else
            CU_ASSERT(err.msg[0] != '\0'); /* the error says why */
        vclock_free(vc);
    }
    vclock *vc = vclock_new();
    CU_ASSERT_EQUAL(vclock_parse(NULL, vc, NULL), -1);
    vclock_free(vc);
}

static void test_format_parse_round_trip(void)
{
    vclock *vc = vclock_new();
    uint64_t x = 88172645463325252ULL; /* fixed seed: xorshift64 */
    for (int round = 0; round < 200; round++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        vclock_set(vc, x % 1000, (x >> 20) % 5); /* a zero removes */
        char *s = vclock_format(vc);
        vclock *back = vclock_new();
        CU_ASSERT_EQUAL(vclock_parse(s, back, NULL), 0);
        CU_ASSERT(vclock_equal(vc, back));
        free(s);
        vclock_free(back);
    }
    vclock_free(vc);
}

void add_vclock_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"empty clock", test_empty},
        {"set/get keeps ids sorted", test_set_get_sorted},
        {"set overwrites, zero removes", test_set_overwrite_and_remove},
        {"many entries", test_many_entries},
        {"merge is a pointwise max", test_merge},
        {"equal", test_equal},
        {"covers", test_covers},
        {"dup and copy are deep", test_dup_copy},
        {"parse valid text", test_parse_valid},
        {"parse rejects malformed text", test_parse_rejects},
        {"format/parse round trip", test_format_parse_round_trip},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("vclock", NULL, NULL, tests);
}
