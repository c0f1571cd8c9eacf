/* peermsg: server-to-server messages, encoded then decoded. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/ids.h"
#include "../server/peermsg.h"
#include "tests.h"

/* Decodes the single frame in b into m; returns peermsg_decode's result, or
 * -2 when b does not hold exactly one whole frame. */
static int decode_one(const buf *b, peermsg *m, dkv_err *err)
{
    wire_frame f;
    size_t used;
    if (wire_decode(buf_head(b), buf_unread(b), &f, &used, err) != 1 || used != buf_unread(b))
        return -2;
    return peermsg_decode(&f, m, err);
}

/* Builds a WIRE_PEER frame from a header string and a body, then decodes. */
static int decode_raw(const char *hdr, const void *body, size_t body_len, peermsg *m,
                      dkv_err *err)
{
    buf b;
    buf_init(&b);
    wire_encode(&b, WIRE_PEER, hdr, strlen(hdr), body, body_len);
    int rc = decode_one(&b, m, err);
    buf_free(&b);
    return rc;
}

static void test_hello(void)
{
    vclock *vc = tests_vc("1:3,7:1,999999999999:5");
    buf b;
    buf_init(&b);
    vclock *li = tests_vc("3:2,42:9"), *ls = tests_vc("3:17,42:1");
    peermsg_encode_hello(&b, "run-7_a", 42, 7, 9, vc, li, ls);
    peermsg m;
    dkv_err err;
    CU_ASSERT_EQUAL_FATAL(decode_one(&b, &m, &err), 0);
    CU_ASSERT_EQUAL(m.type, PEERMSG_HELLO);
    CU_ASSERT_EQUAL(m.id, 42);
    CU_ASSERT_EQUAL(m.to, 7);
    CU_ASSERT_EQUAL(m.inc, 9);
    CU_ASSERT_STRING_EQUAL(m.run, "run-7_a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m.vc);
    CU_ASSERT(vclock_equal(m.vc, vc));
    CU_ASSERT(vclock_equal(m.lsa_inc, li));
    CU_ASSERT(vclock_equal(m.lsa_seq, ls));
    peermsg_clear(&m);
    vclock_free(li);
    vclock_free(ls);
    /* Empty clock and run id, extreme id and incarnation. */
    vclock *e = vclock_new();
    buf_clear(&b);
    peermsg_encode_hello(&b, "", DKV_ID_MAX, 0, DKV_INC_MAX, e, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(decode_one(&b, &m, &err), 0);
    CU_ASSERT_EQUAL(m.id, DKV_ID_MAX);
    CU_ASSERT_EQUAL(m.inc, DKV_INC_MAX);
    CU_ASSERT_STRING_EQUAL(m.run, "");
    CU_ASSERT_EQUAL(vclock_size(m.vc), 0);
    peermsg_clear(&m);
    vclock_free(e);
    vclock_free(vc);
    buf_free(&b);
}

static void test_ack(void)
{
    vclock *vc = tests_vc("0:1,2:9007199254740991");
    buf b;
    buf_init(&b);
    peermsg_encode_ack(&b, vc);
    peermsg m;
    CU_ASSERT_EQUAL_FATAL(decode_one(&b, &m, NULL), 0);
    CU_ASSERT_EQUAL(m.type, PEERMSG_ACK);
    CU_ASSERT(vclock_equal(m.vc, vc));
    peermsg_clear(&m);
    vclock_free(vc);
    buf_free(&b);
}

static void test_lsa(void)
{
    uint64_t nb[] = {1, 5, DKV_ID_MAX};
    route_lsa l = {3, 4, 123456789, nb, 3};
    buf b;
    buf_init(&b);
    peermsg_encode_lsa(&b, &l);
    peermsg m;
    CU_ASSERT_EQUAL_FATAL(decode_one(&b, &m, NULL), 0);
    CU_ASSERT_EQUAL(m.type, PEERMSG_LSA);
    CU_ASSERT_EQUAL(m.id, 3);
    CU_ASSERT_EQUAL(m.inc, 4);
    CU_ASSERT_EQUAL(m.seq, 123456789);
    CU_ASSERT_EQUAL_FATAL(m.n_nb, 3);
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(m.nb[i], nb[i]);
    peermsg_clear(&m);
    /* No neighbours. */
    route_lsa lone = {8, 1, 1, NULL, 0};
    buf_clear(&b);
    peermsg_encode_lsa(&b, &lone);
    CU_ASSERT_EQUAL_FATAL(decode_one(&b, &m, NULL), 0);
    CU_ASSERT_EQUAL(m.id, 8);
    CU_ASSERT_EQUAL(m.n_nb, 0);
    peermsg_clear(&m);
    buf_free(&b);
}

static void test_upd(void)
{
    /* Raw bytes in keys and values, empty values, a repeated key. */
    static const uint8_t k2[] = {0, 'k', 0xff};
    static const uint8_t v3[] = {'\n', '"', '\\', 0};
    dkv_update in[] = {
        {1, 1, 10, (const uint8_t *)"alpha", 5, (const uint8_t *)"one", 3},
        {1, 2, 11, k2, sizeof k2, (const uint8_t *)"", 0},
        {DKV_ID_MAX, 7, 99, (const uint8_t *)"alpha", 5, v3, sizeof v3},
    };
    peermsg_upd_builder ub;
    peermsg_upd_init(&ub);
    buf b;
    buf_init(&b);
    peermsg_upd_flush(&ub, &b); /* empty builder: no frame */
    CU_ASSERT_EQUAL(buf_unread(&b), 0);
    for (size_t i = 0; i < 3; i++)
        peermsg_upd_add(&ub, &in[i]);
    peermsg_upd_flush(&ub, &b);
    CU_ASSERT_EQUAL(ub.n, 0); /* reset after flush */
    peermsg m;
    dkv_err err;
    CU_ASSERT_EQUAL_FATAL(decode_one(&b, &m, &err), 0);
    CU_ASSERT_EQUAL(m.type, PEERMSG_UPD);
    CU_ASSERT_EQUAL_FATAL(m.n_upd, 3);
    for (size_t i = 0; i < 3; i++) {
        const dkv_update *u = &m.upd[i];
        CU_ASSERT_EQUAL(u->origin, in[i].origin);
        CU_ASSERT_EQUAL(u->seq, in[i].seq);
        CU_ASSERT_EQUAL(u->lamport, in[i].lamport);
        CU_ASSERT_EQUAL_FATAL(u->key_len, in[i].key_len);
        CU_ASSERT_EQUAL_FATAL(u->value_len, in[i].value_len);
        CU_ASSERT(memcmp(u->key, in[i].key, u->key_len) == 0);
        CU_ASSERT(in[i].value_len == 0 || memcmp(u->value, in[i].value, u->value_len) == 0);
    }
    peermsg_clear(&m);
    /* The builder is reusable after a flush. */
    buf_clear(&b);
    peermsg_upd_add(&ub, &in[0]);
    peermsg_upd_flush(&ub, &b);
    CU_ASSERT_EQUAL_FATAL(decode_one(&b, &m, &err), 0);
    CU_ASSERT_EQUAL(m.n_upd, 1);
    peermsg_clear(&m);
    peermsg_upd_free(&ub);
    buf_free(&b);
}

/* Several message types back to back in one stream. */
static void test_stream(void)
{
    buf b;
    buf_init(&b);
    vclock *vc = tests_vc("1:1");
    peermsg_encode_hello(&b, "r", 1, 2, 1, vc, vc, vc);
    peermsg_encode_ack(&b, vc);
    route_lsa l = {1, 1, 1, NULL, 0};
    peermsg_encode_lsa(&b, &l);
    peermsg_encode_ping(&b);
    static const peermsg_type want[] = {PEERMSG_HELLO, PEERMSG_ACK, PEERMSG_LSA, PEERMSG_PING};
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        wire_frame f;
        size_t used;
        CU_ASSERT_EQUAL_FATAL(wire_decode(buf_head(&b) + off, buf_unread(&b) - off, &f, &used,
                                          NULL), 1);
        CU_ASSERT_EQUAL(f.kind, WIRE_PEER);
        peermsg m;
        CU_ASSERT_EQUAL_FATAL(peermsg_decode(&f, &m, NULL), 0);
        CU_ASSERT_EQUAL(m.type, want[i]);
        peermsg_clear(&m);
        off += used;
    }
    CU_ASSERT_EQUAL(off, buf_unread(&b));
    vclock_free(vc);
    buf_free(&b);
}

typedef struct bad_case {
    const char *what;
    const char *hdr;
    const char *body;
} bad_case;

static void test_malformed(void)
{
    static const bad_case bad[] = {
        {"not JSON", "hello", ""},
        {"truncated JSON", "{\"t\":\"ack\",\"vc\":\"1:1\"", ""},
        {"empty header", "", ""},
        {"not an object", "[\"t\",\"ack\"]", ""},
        {"missing type", "{\"vc\":\"1:1\"}", ""},
        {"type not a string", "{\"t\":1,\"vc\":\"1:1\"}", ""},
        {"unknown type", "{\"t\":\"bye\"}", ""},
        {"duplicate field", "{\"t\":\"ack\",\"vc\":\"1:1\",\"vc\":\"2:2\"}", ""},
        /* hello */
        {"hello without to", "{\"t\":\"hello\",\"id\":1,\"inc\":1,\"vc\":\"\"}", ""},
        {"hello without vc", "{\"t\":\"hello\",\"id\":1,\"to\":2,\"inc\":1}", ""},
        {"hello bad vc", "{\"t\":\"hello\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"1:0\"}", ""},
        {"hello unsorted vc", "{\"t\":\"hello\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"2:1,1:1\"}", ""},
        {"hello vc not a string", "{\"t\":\"hello\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":5}", ""},
        {"hello negative id", "{\"t\":\"hello\",\"id\":-1,\"inc\":1,\"vc\":\"\"}", ""},
        {"hello id too big", "{\"t\":\"hello\",\"id\":1000000000000,\"inc\":1,\"vc\":\"\"}", ""},
        {"hello negative inc", "{\"t\":\"hello\",\"id\":1,\"to\":2,\"inc\":-5,\"vc\":\"\"}", ""},
        {"hello id as string", "{\"t\":\"hello\",\"id\":\"1\",\"inc\":1,\"vc\":\"\"}", ""},
        {"hello id as real", "{\"t\":\"hello\",\"id\":1.5,\"inc\":1,\"vc\":\"\"}", ""},
        {"hello with body", "{\"t\":\"hello\",\"id\":1,\"inc\":1,\"vc\":\"\"}", "x"},
        {"hello without li/ls", "{\"t\":\"hello\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"\"}", ""},
        {"hello without ls",
         "{\"t\":\"hello\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"\",\"li\":\"\"}", ""},
        {"hello li not a string",
         "{\"t\":\"hello\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"\",\"li\":3,\"ls\":\"\"}", ""},
        {"hello li with a zero",
         "{\"t\":\"hello\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"\",\"li\":\"1:0\",\"ls\":\"1:1\"}", ""},
        {"hello ls unsorted",
         "{\"t\":\"hello\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"\",\"li\":\"1:1,2:1\",\"ls\":\"2:1,1:1\"}", ""},
        {"hello li and ls of different servers",
         "{\"t\":\"hello\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"\",\"li\":\"1:1,2:1\",\"ls\":\"1:1,3:1\"}", ""},
        {"hello li longer than ls",
         "{\"t\":\"hello\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"\",\"li\":\"1:1,2:1\",\"ls\":\"1:1\"}", ""},
        /* ack */
        {"ack with body", "{\"t\":\"ack\",\"vc\":\"1:1\"}", "junk"},
        {"ack without vc", "{\"t\":\"ack\"}", ""},
        {"ack bad vc", "{\"t\":\"ack\",\"vc\":\"1:1,\"}", ""},
        /* lsa */
        {"lsa without nb", "{\"t\":\"lsa\",\"id\":1,\"inc\":1,\"seq\":1}", ""},
        {"lsa nb not a list", "{\"t\":\"lsa\",\"id\":1,\"inc\":1,\"seq\":1,\"nb\":2}", ""},
        {"lsa negative nb", "{\"t\":\"lsa\",\"id\":1,\"inc\":1,\"seq\":1,\"nb\":[2,-3]}", ""},
        {"lsa nb too big",
         "{\"t\":\"lsa\",\"id\":1,\"inc\":1,\"seq\":1,\"nb\":[1000000000000]}", ""},
        {"lsa nb not ints", "{\"t\":\"lsa\",\"id\":1,\"inc\":1,\"seq\":1,\"nb\":[\"2\"]}", ""},
        {"lsa negative seq", "{\"t\":\"lsa\",\"id\":1,\"inc\":1,\"seq\":-1,\"nb\":[]}", ""},
        {"lsa missing seq", "{\"t\":\"lsa\",\"id\":1,\"inc\":1,\"nb\":[]}", ""},
        {"lsa with body", "{\"t\":\"lsa\",\"id\":1,\"inc\":1,\"seq\":1,\"nb\":[]}", "b"},
        /* upd */
        {"upd without u", "{\"t\":\"upd\"}", ""},
        {"upd empty u", "{\"t\":\"upd\",\"u\":[]}", ""},
        {"upd u not a list", "{\"t\":\"upd\",\"u\":{}}", ""},
        {"upd entry too short", "{\"t\":\"upd\",\"u\":[[1,1,1,1]]}", "kv"},
        {"upd entry too long", "{\"t\":\"upd\",\"u\":[[1,1,1,1,1,1]]}", "kv"},
        {"upd entry not a list", "{\"t\":\"upd\",\"u\":[5]}", "kv"},
        {"upd zero seq", "{\"t\":\"upd\",\"u\":[[1,0,1,1,1]]}", "kv"},
        {"upd zero lamport", "{\"t\":\"upd\",\"u\":[[1,1,0,1,1]]}", "kv"},
        {"upd negative origin", "{\"t\":\"upd\",\"u\":[[-1,1,1,1,1]]}", "kv"},
        {"upd negative key length", "{\"t\":\"upd\",\"u\":[[1,1,1,-1,3]]}", "kv"},
        {"upd origin too big", "{\"t\":\"upd\",\"u\":[[1000000000000,1,1,1,1]]}", "kv"},
        {"upd real number", "{\"t\":\"upd\",\"u\":[[1,1.0,1,1,1]]}", "kv"},
        {"upd key overruns body", "{\"t\":\"upd\",\"u\":[[1,1,1,3,0]]}", "kv"},
        {"upd value overruns body", "{\"t\":\"upd\",\"u\":[[1,1,1,1,2]]}", "kv"},
        {"upd second overruns", "{\"t\":\"upd\",\"u\":[[1,1,1,1,1],[1,2,2,1,1]]}", "kvk"},
        {"upd huge lengths",
         "{\"t\":\"upd\",\"u\":[[1,1,1,9223372036854775807,9223372036854775807]]}", "kv"},
        {"upd extra body bytes", "{\"t\":\"upd\",\"u\":[[1,1,1,1,1]]}", "kvX"},
        {"upd body but no room", "{\"t\":\"upd\",\"u\":[[1,1,1,0,0]]}", "x"},
        {"upd integer beyond json_int_t", "{\"t\":\"upd\",\"u\":[[1,1,99999999999999999999,1,1]]}",
         "kv"},
        /* Counters beyond the bounds of version.h, or implausible. */
        {"upd lamport 2^63-1", "{\"t\":\"upd\",\"u\":[[1,1,9223372036854775807,1,1]]}", "kv"},
        {"upd lamport 2^53", "{\"t\":\"upd\",\"u\":[[1,1,9007199254740992,1,1]]}", "kv"},
        {"upd seq 2^53", "{\"t\":\"upd\",\"u\":[[1,9007199254740992,9007199254740991,1,1]]}",
         "kv"},
        {"upd lamport below seq", "{\"t\":\"upd\",\"u\":[[1,5,4,1,1]]}", "kv"},
        {"hello without run",
         "{\"t\":\"hello\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"\",\"li\":\"\",\"ls\":\"\"}", ""},
        {"hello run not a string",
         "{\"t\":\"hello\",\"run\":5,\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"\",\"li\":\"\",\"ls\":\"\"}",
         ""},
        {"hello run with a space",
         "{\"t\":\"hello\",\"run\":\"a b\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"\",\"li\":\"\","
         "\"ls\":\"\"}",
         ""},
        {"hello run too long",
         "{\"t\":\"hello\",\"run\":\"0123456789012345678901234567890123456789012345678901234567890123"
         "4\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"\",\"li\":\"\",\"ls\":\"\"}",
         ""},
        {"hello inc 0",
         "{\"t\":\"hello\",\"run\":\"\",\"id\":1,\"to\":2,\"inc\":0,\"vc\":\"\",\"li\":\"\",\"ls\":\"\"}",
         ""},
        {"hello inc 2^32",
         "{\"t\":\"hello\",\"run\":\"\",\"id\":1,\"to\":2,\"inc\":4294967296,\"vc\":\"\",\"li\":\"\","
         "\"ls\":\"\"}",
         ""},
        {"hello vc counter 2^63-1",
         "{\"t\":\"hello\",\"run\":\"\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"1:9223372036854775807\","
         "\"li\":\"\",\"ls\":\"\"}",
         ""},
        {"lsa huge incarnation",
         "{\"t\":\"lsa\",\"id\":1,\"inc\":1152921504606846976,\"seq\":1,\"nb\":[]}", ""},
        {"lsa seq 0", "{\"t\":\"lsa\",\"id\":1,\"inc\":1,\"seq\":0,\"nb\":[]}", ""},
        {"ping with body", "{\"t\":\"ping\"}", "x"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        peermsg m;
        dkv_err err = {{0}};
        int rc = decode_raw(bad[i].hdr, bad[i].body, strlen(bad[i].body), &m, &err);
        CU_ASSERT_EQUAL(rc, -1);
        if (rc != -1) {
            fprintf(stderr, "\n  accepted %s: %s\n", bad[i].what, bad[i].hdr);
            if (rc == 0)
                peermsg_clear(&m);
        } else {
            CU_ASSERT(err.msg[0] != '\0');
            /* A failed decode leaves nothing to free. */
            CU_ASSERT_PTR_NULL(m.vc);
            CU_ASSERT_PTR_NULL(m.nb);
            CU_ASSERT_PTR_NULL(m.upd);
        }
    }
}

/* The raw-header variants of the valid messages decode: the malformed list
 * above fails for its stated reason, not because of a typo in its base. */
static void test_valid_raw(void)
{
    static const bad_case ok[] = {
        {"hello", "{\"t\":\"hello\",\"run\":\"\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"\",\"li\":\"\",\"ls\":\"\"}", ""},
        {"hello with an LSA summary",
         "{\"t\":\"hello\",\"run\":\"ab-1\",\"id\":1,\"to\":2,\"inc\":1,\"vc\":\"\",\"li\":\"1:2,5:1\",\"ls\":\"1:9,5:3\"}", ""},
        {"upd at the bounds",
         "{\"t\":\"upd\",\"u\":[[999999999999,9007199254740991,9007199254740991,1,1]]}", "kv"},
        {"ping", "{\"t\":\"ping\"}", ""},
        {"ack", "{\"t\":\"ack\",\"vc\":\"1:1\"}", ""},
        {"lsa", "{\"t\":\"lsa\",\"id\":1,\"inc\":1,\"seq\":1,\"nb\":[2]}", ""},
        {"upd", "{\"t\":\"upd\",\"u\":[[1,1,1,1,1]]}", "kv"},
        {"upd two", "{\"t\":\"upd\",\"u\":[[1,1,1,1,1],[1,2,2,1,1]]}", "kvkv"},
        {"upd empty key and value", "{\"t\":\"upd\",\"u\":[[1,1,1,0,0]]}", ""},
        {"unknown extra field", "{\"t\":\"ack\",\"vc\":\"1:1\",\"x\":[1]}", ""},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        peermsg m;
        dkv_err err = {{0}};
        int rc = decode_raw(ok[i].hdr, ok[i].body, strlen(ok[i].body), &m, &err);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc != 0)
            fprintf(stderr, "\n  rejected %s: %s\n", ok[i].what, err.msg);
        else
            peermsg_clear(&m);
    }
}

static void test_not_peer_frame(void)
{
    buf b;
    buf_init(&b);
    const char *h = "{\"t\":\"ack\",\"vc\":\"\"}";
    wire_encode(&b, WIRE_CALL, h, strlen(h), NULL, 0);
    peermsg m;
    dkv_err err;
    CU_ASSERT_EQUAL(decode_one(&b, &m, &err), -1);
    buf_free(&b);
}

/* A frame of many tiny writes is cut long before the receiver's limit on
 * updates per frame (a catch-up of 120,000 one-byte writes was refused by
 * the receiver and resent forever). */
static void test_upd_builder_full(void)
{
    peermsg_upd_builder b;
    peermsg_upd_init(&b);
    size_t n = 0;
    while (!peermsg_upd_full(&b)) {
        dkv_update u = {1, n + 1, n + 1, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1};
        peermsg_upd_add(&b, &u);
        n++;
    }
    CU_ASSERT(n <= PEERMSG_FRAME_UPDATES);
    CU_ASSERT(PEERMSG_FRAME_UPDATES < PEERMSG_MAX_UPDATES);
    buf out;
    buf_init(&out);
    peermsg_upd_flush(&b, &out);
    peermsg m;
    dkv_err err;
    CU_ASSERT_EQUAL(decode_one(&out, &m, &err), 0);
    CU_ASSERT_EQUAL(m.n_upd, n);
    peermsg_clear(&m);
    buf_free(&out);
    peermsg_upd_free(&b);
}

void add_peermsg_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"upd frames are cut before the receiver's limit", test_upd_builder_full},
        {"hello round trip", test_hello},
        {"ack round trip", test_ack},
        {"lsa round trip", test_lsa},
        {"upd round trip", test_upd},
        {"several messages in a stream", test_stream},
        {"valid raw headers", test_valid_raw},
        {"malformed messages rejected", test_malformed},
        {"non-peer frame rejected", test_not_peer_frame},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("peermsg", NULL, NULL, tests);
}
