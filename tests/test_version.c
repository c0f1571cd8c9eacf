/* version: the total order (lamport, origin) of writes. */
#include <stdint.h>

#include "../common/version.h"
#include "tests.h"

static int sign(int x) { return (x > 0) - (x < 0); }

static void test_none(void)
{
    CU_ASSERT(dkv_version_is_none((dkv_version){0, 0}));
    CU_ASSERT(dkv_version_is_none((dkv_version){0, 7}));
    CU_ASSERT_FALSE(dkv_version_is_none((dkv_version){1, 0}));
}

static void test_lamport_first(void)
{
    /* A higher counter wins whatever the origins. */
    CU_ASSERT(dkv_version_cmp((dkv_version){2, 0}, (dkv_version){1, 999}) > 0);
    CU_ASSERT(dkv_version_cmp((dkv_version){1, 999}, (dkv_version){2, 0}) < 0);
    /* Equal counters: the origin breaks the tie. */
    CU_ASSERT(dkv_version_cmp((dkv_version){5, 3}, (dkv_version){5, 2}) > 0);
    CU_ASSERT(dkv_version_cmp((dkv_version){5, 2}, (dkv_version){5, 3}) < 0);
    CU_ASSERT_EQUAL(dkv_version_cmp((dkv_version){5, 3}, (dkv_version){5, 3}), 0);
}

static void test_extremes(void)
{
    /* No subtraction overflow: values far apart still compare right. */
    dkv_version lo = {1, 0}, hi = {UINT64_MAX, UINT64_MAX};
    CU_ASSERT(dkv_version_cmp(lo, hi) < 0);
    CU_ASSERT(dkv_version_cmp(hi, lo) > 0);
    CU_ASSERT(dkv_version_cmp((dkv_version){7, 0}, (dkv_version){7, UINT64_MAX}) < 0);
    CU_ASSERT(dkv_version_cmp((dkv_version){UINT64_MAX, 0}, (dkv_version){0, UINT64_MAX}) > 0);
}

/* Exhaustive over a small grid: antisymmetry, transitivity, and agreement
 * with the lexicographic order of (lamport, origin). */
static void test_total_order(void)
{
    static const uint64_t vals[] = {0, 1, 2, 3, UINT64_MAX - 1, UINT64_MAX};
    enum { N = sizeof vals / sizeof vals[0] };
    dkv_version v[N * N];
    size_t n = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            v[n++] = (dkv_version){vals[i], vals[j]};
    /* v is built in lexicographic order, so index order is the expected order. */
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++) {
            int want = a < b ? -1 : a > b ? 1 : 0;
            CU_ASSERT_EQUAL(sign(dkv_version_cmp(v[a], v[b])), want);
            CU_ASSERT_EQUAL(sign(dkv_version_cmp(v[a], v[b])), -sign(dkv_version_cmp(v[b], v[a])));
        }
}

void add_version_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"none", test_none},
        {"lamport first, origin breaks ties", test_lamport_first},
        {"extreme values", test_extremes},
        {"total order on a grid", test_total_order},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("version", NULL, NULL, tests);
}
