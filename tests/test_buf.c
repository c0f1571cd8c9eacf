/* buf: growth, shrinking after a burst, and the fallible mode the loop's
 * connection buffers use (issue 11): a failed allocation marks the buffer
 * failed for good, drops every later append and never aborts. */
#include <stdint.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/wire.h"
#include "tests.h"

static void test_growth(void)
{
    buf b;
    buf_init(&b);
    buf_append(&b, "abc", 3);
    CU_ASSERT_EQUAL(buf_unread(&b), 3);
    CU_ASSERT_TRUE(b.cap >= 3 && b.cap <= 256);
    /* A large request gets what it asks for, not the next power of two. */
    CU_ASSERT_EQUAL(buf_reserve(&b, 5000000), 0);
    CU_ASSERT_EQUAL(b.cap, 3 + 5000000);
    /* Small appends still double. */
    buf_clear(&b);
    buf_free(&b);
    for (int i = 0; i < 1000; i++)
        buf_append(&b, "0123456789", 10);
    CU_ASSERT_EQUAL(buf_unread(&b), 10000);
    CU_ASSERT_TRUE(b.cap < 20000);
    CU_ASSERT_FALSE(buf_failed(&b));
    buf_free(&b);
}

static void test_shrink(void)
{
    buf b;
    buf_init(&b);
    static uint8_t big[3 << 20];
    memset(big, 'x', sizeof big);
    buf_append(&b, big, sizeof big);
    buf_append(&b, "tail", 4);
    buf_consume(&b, sizeof big);
    size_t before = b.cap;
    buf_shrink(&b);
    CU_ASSERT_TRUE(b.cap < before && b.cap <= (256u << 10));
    CU_ASSERT_EQUAL(buf_unread(&b), 4);
    CU_ASSERT_EQUAL(memcmp(buf_head(&b), "tail", 4), 0);
    /* A small buffer is left alone. */
    buf_shrink(&b);
    CU_ASSERT_EQUAL(memcmp(buf_head(&b), "tail", 4), 0);
    buf_free(&b);
}

static void check_failed_for_good(buf *b, size_t len)
{
    CU_ASSERT_TRUE(buf_failed(b));
    CU_ASSERT_EQUAL(buf_reserve(b, 1), -1);
    buf_append(b, "more", 4);
    buf_append_u32(b, 7);
    CU_ASSERT_EQUAL(buf_unread(b), len);
    /* A frame started or finished on it writes nothing out of bounds. */
    size_t start = wire_begin(b, WIRE_REPLY);
    wire_finish(b, start);
    CU_ASSERT_EQUAL(buf_unread(b), len);
}

static void test_fallible(void)
{
    buf b;
    buf_init(&b);
    buf_set_fallible(&b);
    buf_append(&b, "keep", 4);
    CU_ASSERT_EQUAL(buf_reserve(&b, 100), 0);
    CU_ASSERT_FALSE(buf_failed(&b));
    /* A size no arithmetic can hold. */
    CU_ASSERT_EQUAL(buf_reserve(&b, SIZE_MAX - 2), -1);
    check_failed_for_good(&b, 4);
    CU_ASSERT_EQUAL(memcmp(buf_head(&b), "keep", 4), 0);
    buf_free(&b);

    /* A size the allocator refuses (4 EiB). The unit tests run with
     * AddressSanitizer's allocator_may_return_null (see test_loop.c). */
    buf_init(&b);
    buf_set_fallible(&b);
    buf_append(&b, "keep", 4);
    CU_ASSERT_EQUAL(buf_reserve(&b, (size_t)1 << 62), -1);
    check_failed_for_good(&b, 4);
    buf_free(&b);
    /* buf_free starts afresh. */
    CU_ASSERT_FALSE(buf_failed(&b));
    buf_append(&b, "x", 1);
    CU_ASSERT_EQUAL(buf_unread(&b), 1);
    buf_free(&b);
}

void add_buf_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"growth: doubling for small appends, exact for large requests", test_growth},
        {"buf_shrink gives back the memory of a consumed burst", test_shrink},
        {"fallible mode: a failed allocation is sticky, appends are dropped", test_fallible},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("buf", NULL, NULL, tests);
}
