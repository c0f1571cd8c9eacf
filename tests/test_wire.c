/* wire: frame encoding and incremental decoding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/xalloc.h"
#include "../common/wire.h"
#include "tests.h"

/* Checks that f carries exactly kind/hdr/body. */
static void assert_frame(const wire_frame *f, enum wire_kind kind, const char *hdr,
                         const void *body, size_t body_len)
{
    CU_ASSERT_EQUAL(f->kind, kind);
    CU_ASSERT_EQUAL(f->hdr_len, strlen(hdr));
    if (f->hdr_len == strlen(hdr))
        CU_ASSERT(memcmp(f->hdr, hdr, f->hdr_len) == 0);
    CU_ASSERT_EQUAL(f->body_len, body_len);
    if (f->body_len == body_len && body_len)
        CU_ASSERT(memcmp(f->body, body, body_len) == 0);
}

static void test_round_trip(void)
{
    buf b;
    buf_init(&b);
    const uint8_t body[] = {0, 1, 2, 0xff, 0, '\n'}; /* raw bytes, NULs included */
    wire_encode(&b, WIRE_PEER, "{\"t\":\"x\"}", 9, body, sizeof body);
    CU_ASSERT_EQUAL(buf_unread(&b), WIRE_PREFIX + 9 + sizeof body);
    /* The length prefix is big-endian and counts what follows it. */
    CU_ASSERT_EQUAL(dkv_get_u32(buf_head(&b)), 5 + 9 + sizeof body);
    CU_ASSERT_EQUAL(buf_head(&b)[4], 'P');
    wire_frame f;
    size_t used = 0;
    dkv_err err;
    CU_ASSERT_EQUAL(wire_decode(buf_head(&b), buf_unread(&b), &f, &used, &err), 1);
    CU_ASSERT_EQUAL(used, buf_unread(&b));
    assert_frame(&f, WIRE_PEER, "{\"t\":\"x\"}", body, sizeof body);
    buf_free(&b);
}

static void test_empty_parts(void)
{
    buf b;
    buf_init(&b);
    wire_encode(&b, WIRE_CALL, NULL, 0, NULL, 0);
    wire_encode(&b, WIRE_REPLY, "h", 1, NULL, 0);
    wire_encode(&b, WIRE_PEER, NULL, 0, "body", 4);
    wire_frame f;
    size_t used, off = 0;
    CU_ASSERT_EQUAL(wire_decode(buf_head(&b), buf_unread(&b), &f, &used, NULL), 1);
    CU_ASSERT_EQUAL(used, WIRE_PREFIX);
    assert_frame(&f, WIRE_CALL, "", NULL, 0);
    off += used;
    CU_ASSERT_EQUAL(wire_decode(buf_head(&b) + off, buf_unread(&b) - off, &f, &used, NULL), 1);
    assert_frame(&f, WIRE_REPLY, "h", NULL, 0);
    off += used;
    CU_ASSERT_EQUAL(wire_decode(buf_head(&b) + off, buf_unread(&b) - off, &f, &used, NULL), 1);
    assert_frame(&f, WIRE_PEER, "", "body", 4);
    off += used;
    CU_ASSERT_EQUAL(off, buf_unread(&b));
    buf_free(&b);
}

/* Every strict prefix of a valid frame is "need more", never an error and
 * never a frame. */
static void test_partial(void)
{
    buf b;
    buf_init(&b);
    wire_encode(&b, WIRE_REPLY, "{\"a\":1}", 7, "0123456789", 10);
    size_t total = buf_unread(&b);
    for (size_t len = 0; len < total; len++) {
        /* A heap copy of exactly len bytes, so ASan catches any overread. */
        uint8_t *p = xmalloc(len ? len : 1);
        memcpy(p, buf_head(&b), len);
        wire_frame f;
        size_t used = 0;
        dkv_err err;
        int rc = wire_decode(p, len, &f, &used, &err);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc != 0)
            fprintf(stderr, "\n  prefix of %zu bytes gave %d\n", len, rc);
        free(p);
    }
    buf_free(&b);
}

/* Feeds frames one byte at a time, as a socket might deliver them. */
static void test_byte_at_a_time(void)
{
    buf in, stream;
    buf_init(&in);
    buf_init(&stream);
    for (int i = 0; i < 5; i++) {
        char hdr[16];
        int n = snprintf(hdr, sizeof hdr, "h%d", i);
        wire_encode(&stream, WIRE_PEER, hdr, (size_t)n, "xyz", (size_t)i % 4);
    }
    int frames = 0;
    for (size_t k = 0; k < buf_unread(&stream); k++) {
        buf_append(&in, buf_head(&stream) + k, 1);
        wire_frame f;
        size_t used;
        int rc;
        while ((rc = wire_decode(buf_head(&in), buf_unread(&in), &f, &used, NULL)) == 1) {
            char want[16];
            snprintf(want, sizeof want, "h%d", frames);
            assert_frame(&f, WIRE_PEER, want, "xyz", (size_t)frames % 4);
            buf_consume(&in, used);
            frames++;
        }
        CU_ASSERT_EQUAL(rc, 0);
    }
    CU_ASSERT_EQUAL(frames, 5);
    CU_ASSERT_EQUAL(buf_unread(&in), 0);
    buf_free(&in);
    buf_free(&stream);
}

static void test_back_to_back(void)
{
    buf b;
    buf_init(&b);
    static const enum wire_kind kinds[] = {WIRE_CALL, WIRE_REPLY, WIRE_PEER, WIRE_PEER};
    static const char *hdrs[] = {"one", "", "three", "{}"};
    static const char *bodies[] = {"", "second body", "3", "<xml/>"};
    for (int i = 0; i < 4; i++)
        wire_encode(&b, kinds[i], hdrs[i], strlen(hdrs[i]), bodies[i], strlen(bodies[i]));
    const uint8_t *p = buf_head(&b);
    size_t left = buf_unread(&b);
    for (int i = 0; i < 4; i++) {
        wire_frame f;
        size_t used = 0;
        CU_ASSERT_EQUAL_FATAL(wire_decode(p, left, &f, &used, NULL), 1);
        assert_frame(&f, kinds[i], hdrs[i], bodies[i], strlen(bodies[i]));
        CU_ASSERT(used <= left);
        p += used;
        left -= used;
    }
    CU_ASSERT_EQUAL(left, 0);
    buf_free(&b);
}

/* Writes a 9-byte prefix with the given fields. */
static void put_prefix(uint8_t *p, uint32_t len, uint8_t kind, uint32_t hlen)
{
    dkv_put_u32(p, len);
    p[4] = kind;
    dkv_put_u32(p + 5, hlen);
}

static void expect_malformed(const uint8_t *p, size_t len, const char *what)
{
    wire_frame f;
    size_t used;
    dkv_err err = {{0}};
    int rc = wire_decode(p, len, &f, &used, &err);
    CU_ASSERT_EQUAL(rc, -1);
    if (rc != -1)
        fprintf(stderr, "\n  %s: wire_decode returned %d\n", what, rc);
    else
        CU_ASSERT(err.msg[0] != '\0');
}

static void test_malformed(void)
{
    uint8_t p[64] = {0};
    for (uint32_t l = 0; l < 5; l++) {
        put_prefix(p, l, 'P', 0);
        expect_malformed(p, sizeof p, "length below 5");
        /* The length alone is enough to know the frame is bad. */
        expect_malformed(p, 4, "length below 5, only 4 bytes");
    }
    put_prefix(p, WIRE_MAX_FRAME + 1, 'P', 0);
    expect_malformed(p, sizeof p, "length above WIRE_MAX_FRAME");
    expect_malformed(p, 4, "length above WIRE_MAX_FRAME, only 4 bytes");
    put_prefix(p, UINT32_MAX, 'P', 0);
    expect_malformed(p, sizeof p, "length 2^32-1");
    static const uint8_t bad_kinds[] = {0, 'c', 'p', 'X', 0xff};
    for (size_t i = 0; i < sizeof bad_kinds; i++) {
        put_prefix(p, 5, bad_kinds[i], 0);
        expect_malformed(p, 9, "unknown kind");
        /* Known from the fifth byte on, before the frame is complete. */
        expect_malformed(p, 5, "unknown kind, 5 bytes");
    }
    put_prefix(p, 5 + 3, 'P', 4); /* header longer than the frame */
    expect_malformed(p, 12, "hdr_len > frame length");
    put_prefix(p, 5, 'C', UINT32_MAX);
    expect_malformed(p, 9, "hdr_len 2^32-1");
}

/* A frame of exactly WIRE_MAX_FRAME is accepted (the limit is inclusive);
 * only its prefix is needed to see that it is incomplete. */
static void test_max_length(void)
{
    uint8_t p[9];
    put_prefix(p, WIRE_MAX_FRAME, 'R', 0);
    wire_frame f;
    size_t used;
    CU_ASSERT_EQUAL(wire_decode(p, sizeof p, &f, &used, NULL), 0);
}

void add_wire_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"encode/decode round trip", test_round_trip},
        {"empty header and body", test_empty_parts},
        {"every prefix needs more", test_partial},
        {"byte-at-a-time stream", test_byte_at_a_time},
        {"frames back to back", test_back_to_back},
        {"malformed frames", test_malformed},
        {"maximum length", test_max_length},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("wire", NULL, NULL, tests);
}
