/* session: a client's per-key dependencies and the read rule of SPEC 4. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../client/session.h"
#include "tests.h"

#define K(s) (const uint8_t *)(s), sizeof(s) - 1

static dkv_version V(uint64_t lamport, uint64_t origin) { return (dkv_version){lamport, origin}; }

static int dep_is(const session *s, const uint8_t *key, size_t len, dkv_version want)
{
    dkv_version d = session_dep(s, key, len);
    return d.lamport == want.lamport && d.origin == want.origin;
}

static void test_starts_empty(void)
{
    session *s = session_new();
    CU_ASSERT_EQUAL(session_size(s), 0);
    CU_ASSERT(dkv_version_is_none(session_dep(s, K("a"))));
    CU_ASSERT(dkv_version_is_none(session_dep(s, K(""))));
    /* Observing "no version" records nothing. */
    session_observe(s, K("a"), V(0, 5));
    CU_ASSERT_EQUAL(session_size(s), 0);
    CU_ASSERT(dkv_version_is_none(session_dep(s, K("a"))));
    session_free(s);
    session_free(NULL);
}

static void test_observe_raises_only(void)
{
    session *s = session_new();
    session_observe(s, K("k"), V(5, 2));
    CU_ASSERT(dep_is(s, K("k"), V(5, 2)));
    CU_ASSERT_EQUAL(session_size(s), 1);
    /* Lower: by counter, by origin, and "none". */
    session_observe(s, K("k"), V(4, 9));
    CU_ASSERT(dep_is(s, K("k"), V(5, 2)));
    session_observe(s, K("k"), V(5, 1));
    CU_ASSERT(dep_is(s, K("k"), V(5, 2)));
    session_observe(s, K("k"), V(0, 0));
    CU_ASSERT(dep_is(s, K("k"), V(5, 2)));
    /* Equal. */
    session_observe(s, K("k"), V(5, 2));
    CU_ASSERT(dep_is(s, K("k"), V(5, 2)));
    /* Higher: by origin, then by counter. */
    session_observe(s, K("k"), V(5, 3));
    CU_ASSERT(dep_is(s, K("k"), V(5, 3)));
    session_observe(s, K("k"), V(UINT64_MAX, 0));
    CU_ASSERT(dep_is(s, K("k"), V(UINT64_MAX, 0)));
    CU_ASSERT_EQUAL(session_size(s), 1);
    /* Other keys are unaffected. */
    CU_ASSERT(dkv_version_is_none(session_dep(s, K("kk"))));
    CU_ASSERT(dkv_version_is_none(session_dep(s, K("K"))));
    session_free(s);
}

static void test_check_read(void)
{
    session *s = session_new();
    /* No dependency, no value: ERR_KEY, and nothing recorded. */
    CU_ASSERT_EQUAL(session_check_read(s, K("a"), 0, V(0, 0)), SESSION_READ_ERR_KEY);
    CU_ASSERT_EQUAL(session_size(s), 0);
    /* No dependency, a value: OK, and the dependency becomes it. */
    CU_ASSERT_EQUAL(session_check_read(s, K("a"), 1, V(3, 1)), SESSION_READ_OK);
    CU_ASSERT(dep_is(s, K("a"), V(3, 1)));

    session_observe(s, K("b"), V(5, 2)); /* as after a put */
    /* A dependency and no value: ERR_DEP. */
    CU_ASSERT_EQUAL(session_check_read(s, K("b"), 0, V(0, 0)), SESSION_READ_ERR_DEP);
    /* Older: by counter, and by origin with an equal counter. */
    CU_ASSERT_EQUAL(session_check_read(s, K("b"), 1, V(4, 9)), SESSION_READ_ERR_DEP);
    CU_ASSERT_EQUAL(session_check_read(s, K("b"), 1, V(5, 1)), SESSION_READ_ERR_DEP);
    CU_ASSERT(dep_is(s, K("b"), V(5, 2))); /* an error changes nothing */
    /* Equal: OK, unchanged. */
    CU_ASSERT_EQUAL(session_check_read(s, K("b"), 1, V(5, 2)), SESSION_READ_OK);
    CU_ASSERT(dep_is(s, K("b"), V(5, 2)));
    /* Newer by origin, then by counter: OK, and the dependency rises. */
    CU_ASSERT_EQUAL(session_check_read(s, K("b"), 1, V(5, 3)), SESSION_READ_OK);
    CU_ASSERT(dep_is(s, K("b"), V(5, 3)));
    CU_ASSERT_EQUAL(session_check_read(s, K("b"), 1, V(9, 0)), SESSION_READ_OK);
    CU_ASSERT(dep_is(s, K("b"), V(9, 0)));
    /* Monotonic reads: the value read before is now the floor. */
    CU_ASSERT_EQUAL(session_check_read(s, K("b"), 1, V(5, 3)), SESSION_READ_ERR_DEP);
    CU_ASSERT_EQUAL(session_check_read(s, K("b"), 0, V(0, 0)), SESSION_READ_ERR_DEP);
    /* Key a's dependency from the first read also holds. */
    CU_ASSERT_EQUAL(session_check_read(s, K("a"), 0, V(0, 0)), SESSION_READ_ERR_DEP);
    CU_ASSERT_EQUAL(session_check_read(s, K("a"), 1, V(2, 7)), SESSION_READ_ERR_DEP);
    /* Not found means not found, whatever server_version holds. */
    CU_ASSERT_EQUAL(session_check_read(s, K("b"), 0, V(99, 99)), SESSION_READ_ERR_DEP);
    CU_ASSERT(dep_is(s, K("b"), V(9, 0)));
    /* Other keys have no dependency. */
    CU_ASSERT_EQUAL(session_check_read(s, K("c"), 0, V(0, 0)), SESSION_READ_ERR_KEY);
    CU_ASSERT_EQUAL(session_check_read(s, K("c"), 0, V(7, 7)), SESSION_READ_ERR_KEY);
    CU_ASSERT(dkv_version_is_none(session_dep(s, K("c"))));
    CU_ASSERT_EQUAL(session_size(s), 2);
    session_free(s);
}

/* Enough keys to grow the table many times; every dependency survives. */
static void test_many_keys(void)
{
    enum { N = 10000 };
    session *s = session_new();
    char key[32];
    for (uint64_t i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "key-%llu", (unsigned long long)i);
        session_observe(s, (const uint8_t *)key, (size_t)n, V(i + 1, i % 7));
    }
    CU_ASSERT_EQUAL(session_size(s), N);
    int bad = 0;
    for (uint64_t i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "key-%llu", (unsigned long long)i);
        if (!dep_is(s, (const uint8_t *)key, (size_t)n, V(i + 1, i % 7)))
            bad++;
        /* Raise every other key through a read; try to lower the rest. */
        if (i % 2)
            session_check_read(s, (const uint8_t *)key, (size_t)n, 1, V(i + 2, 0));
        else
            session_observe(s, (const uint8_t *)key, (size_t)n, V(i, 99));
    }
    CU_ASSERT_EQUAL(bad, 0);
    bad = 0;
    for (uint64_t i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "key-%llu", (unsigned long long)i);
        dkv_version want = i % 2 ? V(i + 2, 0) : V(i + 1, i % 7);
        if (!dep_is(s, (const uint8_t *)key, (size_t)n, want))
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(session_size(s), N);
    CU_ASSERT(dkv_version_is_none(session_dep(s, K("key-10000"))));
    CU_ASSERT(dkv_version_is_none(session_dep(s, K("key-"))));
    session_free(s);
}

/* Keys are bytes: NULs inside, at the end, prefixes, the empty key. */
static void test_binary_keys(void)
{
    session *s = session_new();
    session_observe(s, K("k\0a"), V(1, 1));
    session_observe(s, K("k\0b"), V(2, 1));
    session_observe(s, K("k"), V(3, 1));
    session_observe(s, K("k\0"), V(4, 1));
    session_observe(s, K("\0"), V(5, 1));
    session_observe(s, K("\0\0"), V(6, 1));
    session_observe(s, K(""), V(7, 1));
    session_observe(s, K("\xff\x80"), V(8, 1));
    CU_ASSERT_EQUAL(session_size(s), 8);
    CU_ASSERT(dep_is(s, K("k\0a"), V(1, 1)));
    CU_ASSERT(dep_is(s, K("k\0b"), V(2, 1)));
    CU_ASSERT(dep_is(s, K("k"), V(3, 1)));
    CU_ASSERT(dep_is(s, K("k\0"), V(4, 1)));
    CU_ASSERT(dep_is(s, K("\0"), V(5, 1)));
    CU_ASSERT(dep_is(s, K("\0\0"), V(6, 1)));
    CU_ASSERT(dep_is(s, K(""), V(7, 1)));
    CU_ASSERT(dep_is(s, K("\xff\x80"), V(8, 1)));
    CU_ASSERT(dkv_version_is_none(session_dep(s, K("k\0c"))));
    CU_ASSERT(dkv_version_is_none(session_dep(s, K("\0\0\0"))));
    /* The session keeps its own copy of the key. */
    uint8_t key[3] = {'x', 0, 'y'};
    session_observe(s, key, 3, V(9, 9));
    key[2] = 'z';
    CU_ASSERT(dkv_version_is_none(session_dep(s, key, 3)));
    key[2] = 'y';
    CU_ASSERT(dep_is(s, key, 3, V(9, 9)));
    CU_ASSERT_EQUAL(session_check_read(s, K("k\0a"), 1, V(1, 0)), SESSION_READ_ERR_DEP);
    CU_ASSERT_EQUAL(session_check_read(s, K("k\0z"), 0, V(0, 0)), SESSION_READ_ERR_KEY);
    session_free(s);
}

/* Long keys (SPEC 2: at least 1 KiB) differing only in the last byte. */
static void test_long_keys(void)
{
    enum { L = 4096 };
    static uint8_t a[L], b[L];
    memset(a, 'q', L);
    memcpy(b, a, L);
    b[L - 1] = 'r';
    session *s = session_new();
    session_observe(s, a, L, V(1, 0));
    session_observe(s, b, L, V(2, 0));
    CU_ASSERT(dep_is(s, a, L, V(1, 0)));
    CU_ASSERT(dep_is(s, b, L, V(2, 0)));
    CU_ASSERT(dkv_version_is_none(session_dep(s, a, L - 1)));
    session_free(s);
}

void add_session_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"starts with no dependencies", test_starts_empty},
        {"observe raises and never lowers", test_observe_raises_only},
        {"check_read follows SPEC 4", test_check_read},
        {"10000 keys", test_many_keys},
        {"binary keys with NUL bytes", test_binary_keys},
        {"long keys", test_long_keys},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("session", NULL, NULL, tests);
}
