/* dump: bin/dump's printing of a store's records (data, write log, clocks)
 * from a backend, and its reports of damage: records that do not decode,
 * values missing from the log, gaps between the log and the clock,
 * records of no known kind. And trace: the line --trace logs per peer
 * frame. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../server/dump.h"
#include "../server/peermsg.h"
#include "../server/record.h"
#include "../server/trace.h"
#include "kv_memory.h"
#include "tests.h"

/* Writes one update (data record too when data) and returns nothing. */
static void put_update(kv *db, uint64_t origin, uint64_t seq, uint64_t lamport, const char *key,
                       const char *value, bool data)
{
    kv_batch *b = kv_batch_new();
    buf k, v;
    buf_init(&k);
    buf_init(&v);
    dkv_update u = {origin, seq, lamport, (const uint8_t *)key, strlen(key),
                    (const uint8_t *)value, strlen(value)};
    uint8_t lk[17];
    record_log_key(lk, origin, seq);
    record_log_value(&v, &u);
    kv_batch_put(b, lk, sizeof lk, buf_head(&v), buf_unread(&v));
    if (data) {
        record_data_key(&k, u.key, u.key_len);
        buf_clear(&v);
        record_data_value(&v, (dkv_version){lamport, origin}, seq);
        kv_batch_put(b, buf_head(&k), buf_unread(&k), buf_head(&v), buf_unread(&v));
    }
    CU_ASSERT_EQUAL(kv_write(db, b, NULL), 0);
    kv_batch_free(b);
    buf_free(&k);
    buf_free(&v);
}

static void put_meta(kv *db, uint64_t lamport, uint64_t inc, const char *vc_text)
{
    record_meta m = {lamport, inc, vclock_new()};
    CU_ASSERT_EQUAL(vclock_parse(vc_text, m.vc, NULL), 0);
    buf v;
    buf_init(&v);
    record_meta_encode(&v, &m);
    kv_batch *b = kv_batch_new();
    kv_batch_put(b, RECORD_META_KEY, 1, buf_head(&v), buf_unread(&v));
    CU_ASSERT_EQUAL(kv_write(db, b, NULL), 0);
    kv_batch_free(b);
    buf_free(&v);
    vclock_free(m.vc);
}

static void put_raw(kv *db, const char *key, size_t kl, const char *value, size_t vl)
{
    kv_batch *b = kv_batch_new();
    kv_batch_put(b, key, kl, value, vl);
    CU_ASSERT_EQUAL(kv_write(db, b, NULL), 0);
    kv_batch_free(b);
}

/* Runs dump_kv; *out and *damage are malloc'ed text (caller frees). */
static int run_dump(kv *db, unsigned sections, char **out, char **damage, dump_counts *n)
{
    size_t ol, dl;
    FILE *o = open_memstream(out, &ol), *d = open_memstream(damage, &dl);
    dkv_err err;
    int rc = dump_kv(db, sections, o, d, n, &err);
    fclose(o);
    fclose(d);
    return rc;
}

static void test_whole(void)
{
    kv *db = kv_memory_new();
    put_meta(db, 5, 2, "3:2,42:1");
    put_update(db, 3, 1, 1, "colour", "red", false);
    put_update(db, 3, 2, 4, "colour", "purple", true);
    put_update(db, 42, 1, 5, "shape", "round", true);
    char *out, *damage;
    dump_counts n;
    CU_ASSERT_EQUAL(run_dump(db, DUMP_STORE, &out, &damage, &n), 0);
    CU_ASSERT_STRING_EQUAL(out, "colour:purple\nshape:round\n");
    CU_ASSERT_STRING_EQUAL(damage, "");
    CU_ASSERT_TRUE(n.keys == 2 && n.updates == 3 && n.damaged == 0);
    free(out);
    free(damage);
    CU_ASSERT_EQUAL(run_dump(db, DUMP_ALL, &out, &damage, &n), 0);
    CU_ASSERT_STRING_EQUAL(out, "== store ==\ncolour:purple\nshape:round\n"
                                "== write log ==\n3:1 (1,3) colour red\n3:2 (4,3) colour purple\n"
                                "42:1 (5,42) shape round\n"
                                "== clocks ==\nincarnation 2\nlamport 5\nvclock 3:2,42:1\n");
    free(out);
    free(damage);
    /* A long value is cut in the log, whole in the store. */
    char big[200];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    put_update(db, 42, 2, 6, "long", big, true);
    put_meta(db, 6, 2, "3:2,42:2");
    CU_ASSERT_EQUAL(run_dump(db, DUMP_LOG, &out, &damage, &n), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "42:2 (6,42) long vvvv"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "v... (199 bytes)\n"));
    CU_ASSERT_EQUAL(n.damaged, 0);
    free(out);
    free(damage);
    kv_close(db);
}

/* Each kind of damage is reported with the record it is in, and counted;
 * what is whole is still printed. */
static void test_damage(void)
{
    kv *db = kv_memory_new();
    put_meta(db, 9, 1, "3:4,8:1");
    put_update(db, 3, 1, 1, "a", "1", true);
    put_update(db, 3, 3, 3, "c", "3", true);       /* 3:2 is missing */
    put_update(db, 3, 5, 5, "e", "5", false);      /* beyond the clock (4) */
    put_raw(db, "dbroken", 7, "short", 5);          /* a data record cut short */
    put_raw(db, "dlost", 5, "", 0);
    {
        buf v;
        buf_init(&v);
        record_data_value(&v, (dkv_version){7, 3}, 7); /* names update 3:7: absent */
        put_raw(db, "dlost", 5, (const char *)buf_head(&v), buf_unread(&v));
        buf_free(&v);
    }
    uint8_t lk[17];
    record_log_key(lk, 3, 4);
    put_raw(db, (const char *)lk, sizeof lk, "\x00\x01", 2); /* a log record cut short */
    put_raw(db, "zzz", 3, "?", 1);                           /* no known kind */
    char *out, *damage;
    dump_counts n;
    CU_ASSERT_EQUAL(run_dump(db, DUMP_ALL, &out, &damage, &n), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "a:1\nc:3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "3:5 (5,3) e 5\n")); /* shown, and reported */
    static const char *const want[] = {
        "damaged data record 'broken': ",
        "damaged data record 'lost': its value, update 3:7, is not in the write log",
        "damaged write log update '3:3': updates 2 to 2 of its origin are missing",
        "damaged write log update '3:4': ",
        "damaged write log update '3:5': beyond what the clock counts (4)",
        "damaged record of unknown kind 'zzz'",
        "damaged write log: the clock counts 1 updates of origin 8, the log holds none",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        bool found = strstr(damage, want[i]) != NULL;
        CU_ASSERT_TRUE(found);
        if (!found)
            fprintf(stderr, "\n  damage lacks '%s':\n%s", want[i], damage);
    }
    CU_ASSERT_EQUAL(n.damaged, 7);
    free(out);
    free(damage);
    /* No meta record: the clocks are missing, the rest is printed. */
    kv *empty = kv_memory_new();
    put_update(empty, 1, 1, 1, "k", "v", true);
    CU_ASSERT_EQUAL(run_dump(empty, DUMP_ALL, &out, &damage, &n), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "k:v\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(damage, "no meta record"));
    CU_ASSERT_TRUE(n.damaged >= 1);
    free(out);
    free(damage);
    kv_close(empty);
    /* A meta record that does not decode. */
    put_raw(db, "m", 1, "DKV", 3);
    CU_ASSERT_EQUAL(run_dump(db, DUMP_CLOCKS, &out, &damage, &n), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(damage, "damaged meta record 'm'"));
    CU_ASSERT_STRING_EQUAL(out, "");
    free(out);
    free(damage);
    kv_close(db);
}

/* --trace: one line per frame, with its direction, type, peer and
 * versions; a frame that does not decode says so. */
static void test_trace(void)
{
    buf b;
    buf_init(&b);
    peermsg_upd_builder ub;
    peermsg_upd_init(&ub);
    const dkv_update u[] = {{3, 17, 20, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1},
                            {3, 18, 21, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1},
                            {5, 2, 22, (const uint8_t *)"j", 1, (const uint8_t *)"w", 1}};
    for (size_t i = 0; i < 3; i++)
        peermsg_upd_add(&ub, &u[i]);
    peermsg_upd_flush(&ub, &b);
    vclock *vc = vclock_new();
    vclock_set(vc, 3, 18);
    vclock_set(vc, 42, 7);
    peermsg_encode_ack(&b, vc);
    peermsg_encode_hello(&b, "run", 42, 3, 2, vc, NULL, NULL);
    uint64_t nb[] = {3, 42};
    route_lsa l = {7, 1, 5, nb, 2};
    peermsg_encode_lsa(&b, &l);
    peermsg_encode_ping(&b);
    wire_encode(&b, WIRE_PEER, "{\"t\":\"nope\"}", 12, NULL, 0);
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    size_t off = 0;
    bool sent = true;
    for (int i = 0; i < 5; i++) {
        wire_frame fr;
        size_t used;
        CU_ASSERT_EQUAL_FATAL(
            wire_decode(buf_head(&b) + off, buf_unread(&b) - off, &fr, &used, NULL), 1);
        trace_frame(f, 3, sent, sent ? 42 : 0, &fr);
        sent = !sent;
        off += used;
    }
    fclose(f);
    CU_ASSERT_STRING_EQUAL(text,
                           "server 3: trace sent upd to 42: 3 writes 3:17-18,5:2\n"
                           "server 3: trace received ack from 0: vc 3:18,42:7\n"
                           "server 3: trace sent hello to 42: inc 2 vc 3:18,42:7\n"
                           "server 3: trace received lsa from 0: lsa 7 inc 1 seq 5 nb 3,42\n"
                           "server 3: trace sent ping to 42\n");
    free(text);
    f = open_memstream(&text, &len);
    wire_frame bad;
    size_t used;
    CU_ASSERT_EQUAL_FATAL(wire_decode(buf_head(&b) + off, buf_unread(&b) - off, &bad, &used, NULL),
                          1);
    trace_frame(f, 3, false, 9, &bad);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "server 3: trace received frame from 9: malformed: "));
    free(text);
    vclock_free(vc);
    peermsg_upd_free(&ub);
    buf_free(&b);
}

void add_dump_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"a whole store: its data as printStore, its log, its clocks", test_whole},
        {"damage: each bad record named and counted, the rest printed", test_damage},
        {"trace: one line per peer frame, a malformed one says so", test_trace},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("dump", NULL, NULL, tests);
}
