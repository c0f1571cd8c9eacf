/* auth: the handshake and records that prove every connection knows the
 * cluster's secret (common/auth.h). Two sessions talk through buffers. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/xalloc.h"
#include "../common/auth.h"
#include "tests.h"

typedef struct pair {
    auth_session *i, *a;
    buf i_to_a, a_to_i;  /* raw bytes in flight */
    buf i_plain, a_plain; /* payloads each side received */
} pair;

static void pair_init(pair *p, const auth_key *ki, const auth_key *ka)
{
    memset(p, 0, sizeof *p);
    p->i = auth_session_new(ki, true);
    p->a = auth_session_new(ka, false);
    buf_init(&p->i_to_a);
    buf_init(&p->a_to_i);
    buf_init(&p->i_plain);
    buf_init(&p->a_plain);
    auth_session_start(p->i, &p->i_to_a);
}

static void pair_free(pair *p)
{
    auth_session_free(p->i);
    auth_session_free(p->a);
    buf_free(&p->i_to_a);
    buf_free(&p->a_to_i);
    buf_free(&p->i_plain);
    buf_free(&p->a_plain);
}

/* Delivers what is in flight from one side to the other, byte by byte when
 * slowly, until nothing moves. -1 when a side refuses; err says why. */
static int pump(pair *p, bool slowly, dkv_err *err)
{
    for (int round = 0; round < 8; round++) {
        bool moved = false;
        for (int dir = 0; dir < 2; dir++) {
            buf *q = dir ? &p->a_to_i : &p->i_to_a;
            auth_session *to = dir ? p->i : p->a;
            buf *reply = dir ? &p->i_to_a : &p->a_to_i;
            buf *plain = dir ? &p->i_plain : &p->a_plain;
            size_t avail = buf_unread(q);
            for (size_t give = slowly ? 1 : avail; give <= avail && avail > 0; give++) {
                ssize_t used = auth_session_input(to, buf_head(q), give, plain, reply, err);
                if (used < 0)
                    return -1;
                if (used > 0) {
                    buf_consume(q, (size_t)used);
                    moved = true;
                    break;
                }
                if (!slowly)
                    break;
            }
        }
        if (!moved)
            return 0;
    }
    return 0;
}

static void test_handshake_and_records(void)
{
    auth_key *k = auth_key_from_bytes("correct horse battery staple", 28);
    for (int slowly = 0; slowly < 2; slowly++) {
        pair p;
        pair_init(&p, k, k);
        dkv_err err = {{0}};
        CU_ASSERT_EQUAL_FATAL(pump(&p, slowly, &err), 0);
        CU_ASSERT(auth_session_ready(p.i));
        CU_ASSERT(auth_session_ready(p.a));
        /* Both ways, empty and large payloads (several records). */
        size_t big = 3 * AUTH_RECORD_MAX + 17;
        uint8_t *data = xmalloc(big);
        for (size_t i = 0; i < big; i++)
            data[i] = (uint8_t)(i * 31);
        auth_session_seal(p.i, (const uint8_t *)"hello", 5, &p.i_to_a);
        auth_session_seal(p.a, (const uint8_t *)"", 0, &p.a_to_i);
        auth_session_seal(p.a, data, big, &p.a_to_i);
        CU_ASSERT_EQUAL(pump(&p, false, &err), 0);
        CU_ASSERT(buf_unread(&p.a_plain) == 5 && memcmp(buf_head(&p.a_plain), "hello", 5) == 0);
        CU_ASSERT_EQUAL(buf_unread(&p.i_plain), big);
        CU_ASSERT(memcmp(buf_head(&p.i_plain), data, big) == 0);
        free(data);
        pair_free(&p);
    }
    auth_key_free(k);
}

/* The refusal in flight (6 bytes) reaches s, which fails with it: the
 * peer refused, saying the cluster secret does not match. */
static void hears_secret_refusal(auth_session *s, buf *in, buf *plain, buf *out)
{
    CU_ASSERT_EQUAL(buf_unread(in), 6);
    dkv_err err = {{0}};
    CU_ASSERT_EQUAL(auth_session_input(s, buf_head(in), buf_unread(in), plain, out, &err), -1);
    CU_ASSERT_EQUAL(auth_session_failure(s), AUTH_FAIL_REFUSED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "refused by the peer: the cluster secret does not match"));
}

static void test_wrong_secret(void)
{
    auth_key *k1 = auth_key_from_bytes("the cluster secret A", 20);
    auth_key *k2 = auth_key_from_bytes("the cluster secret B", 20);
    pair p;
    pair_init(&p, k1, k2);
    dkv_err err = {{0}};
    /* The initiator refuses the acceptor's proof; the acceptor never
     * becomes ready, and nothing was revealed but nonces and MACs. */
    CU_ASSERT_EQUAL(pump(&p, false, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "the cluster secret does not match"));
    CU_ASSERT_EQUAL(auth_session_failure(p.i), AUTH_FAIL_SECRET);
    CU_ASSERT_FALSE(auth_session_ready(p.i));
    CU_ASSERT_FALSE(auth_session_ready(p.a));
    /* Its refusal, sent before it closes, tells the acceptor why. */
    hears_secret_refusal(p.a, &p.i_to_a, &p.a_plain, &p.a_to_i);
    pair_free(&p);
    /* An initiator that fakes its last message is refused by the acceptor,
     * which says so; the initiator hears it where records would start. */
    pair_init(&p, k1, k1);
    dkv_err e2 = {{0}};
    auth_session_input(p.a, buf_head(&p.i_to_a), buf_unread(&p.i_to_a), &p.a_plain, &p.a_to_i,
                       &e2);
    buf_clear(&p.i_to_a);
    CU_ASSERT_EQUAL(auth_session_input(p.i, buf_head(&p.a_to_i), buf_unread(&p.a_to_i),
                                       &p.i_plain, &p.i_to_a, &e2),
                    69);
    CU_ASSERT(auth_session_ready(p.i));
    buf_clear(&p.a_to_i);
    uint8_t fake[37] = "DKA1F";
    CU_ASSERT_EQUAL(auth_session_input(p.a, fake, sizeof fake, &p.a_plain, &p.a_to_i, &e2), -1);
    CU_ASSERT_FALSE(auth_session_ready(p.a));
    CU_ASSERT_EQUAL(auth_session_failure(p.a), AUTH_FAIL_SECRET);
    hears_secret_refusal(p.i, &p.a_to_i, &p.i_plain, &p.i_to_a);
    /* Garbage instead of a handshake: refused at its first byte, and with
     * no refusal (the peer does not speak the handshake). */
    pair_free(&p);
    pair_init(&p, k1, k1);
    uint8_t junk[64] = "POST / HTTP/1.1\r\n";
    CU_ASSERT_EQUAL(auth_session_input(p.a, junk, 1, &p.a_plain, &p.a_to_i, &e2), -1);
    CU_ASSERT_EQUAL(auth_session_failure(p.a), AUTH_FAIL_PROTOCOL);
    CU_ASSERT_EQUAL(buf_unread(&p.a_to_i), 0);
    /* A handshake message out of turn is refused, with a refusal. */
    pair_free(&p);
    pair_init(&p, k1, k1);
    CU_ASSERT_EQUAL(auth_session_input(p.a, fake, sizeof fake, &p.a_plain, &p.a_to_i, &e2), -1);
    CU_ASSERT_EQUAL(auth_session_failure(p.a), AUTH_FAIL_PROTOCOL);
    CU_ASSERT_EQUAL(buf_unread(&p.a_to_i), 6);
    pair_free(&p);
    auth_key_free(k1);
    auth_key_free(k2);
}

static void test_tampered_and_replayed(void)
{
    auth_key *k = auth_key_from_bytes("0123456789abcdef", 16);
    pair p;
    pair_init(&p, k, k);
    dkv_err err = {{0}};
    CU_ASSERT_EQUAL_FATAL(pump(&p, false, &err), 0);
    /* A flipped payload byte, a flipped tag byte, a changed length. */
    for (int what = 0; what < 3; what++) {
        buf rec;
        buf_init(&rec);
        auth_session *probe = p.i;
        auth_session_seal(probe, (const uint8_t *)"payload", 7, &rec);
        size_t at = what == 0 ? 6 : what == 1 ? buf_unread(&rec) - 1 : 3;
        buf_head(&rec)[at] ^= 1;
        ssize_t r = auth_session_input(p.a, buf_head(&rec), buf_unread(&rec), &p.a_plain,
                                       &p.a_to_i, &err);
        CU_ASSERT(r == -1 || (what == 2 && r == 0));
        buf_free(&rec);
        pair_free(&p);
        pair_init(&p, k, k);
        CU_ASSERT_EQUAL_FATAL(pump(&p, false, &err), 0);
    }
    /* A record replayed on the same connection fails its counter. */
    buf rec;
    buf_init(&rec);
    auth_session_seal(p.i, (const uint8_t *)"once", 4, &rec);
    CU_ASSERT_EQUAL(auth_session_input(p.a, buf_head(&rec), buf_unread(&rec), &p.a_plain,
                                       &p.a_to_i, &err),
                    (ssize_t)buf_unread(&rec));
    CU_ASSERT_EQUAL(auth_session_input(p.a, buf_head(&rec), buf_unread(&rec), &p.a_plain,
                                       &p.a_to_i, &err),
                    -1);
    /* And on a new connection, whose keys come from fresh nonces. */
    pair q;
    pair_init(&q, k, k);
    CU_ASSERT_EQUAL_FATAL(pump(&q, false, &err), 0);
    CU_ASSERT_EQUAL(auth_session_input(q.a, buf_head(&rec), buf_unread(&rec), &q.a_plain,
                                       &q.a_to_i, &err),
                    -1);
    /* A record longer than the limit is refused from its length alone. */
    uint8_t huge[4] = {0x7f, 0xff, 0xff, 0xff};
    pair r;
    pair_init(&r, k, k);
    CU_ASSERT_EQUAL_FATAL(pump(&r, false, &err), 0);
    CU_ASSERT_EQUAL(auth_session_input(r.a, huge, 4, &r.a_plain, &r.a_to_i, &err), -1);
    buf_free(&rec);
    pair_free(&p);
    pair_free(&q);
    pair_free(&r);
    auth_key_free(k);
}

static void test_secret_file(void)
{
    char *dir = tests_mkdtemp();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/secret", dir);
    dkv_err err = {{0}};
    CU_ASSERT_EQUAL(auth_secret_create(path, &err), 0);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL(auth_secret_create(path, &err), -1); /* never overwritten */
    auth_key *k = auth_key_load(path, &err);
    CU_ASSERT_PTR_NOT_NULL(k);
    auth_key_free(k);
    /* Readable by others: refused. Too short: refused. Missing: refused. */
    chmod(path, 0644);
    CU_ASSERT_PTR_NULL(auth_key_load(path, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "chmod 600"));
    chmod(path, 0600);
    FILE *f = fopen(path, "w");
    fputs("short\n", f);
    fclose(f);
    CU_ASSERT_PTR_NULL(auth_key_load(path, &err));
    CU_ASSERT_PTR_NULL(auth_key_load("/no/such/secret", &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/no/such/secret"));
    /* A trailing newline does not change the key. */
    f = fopen(path, "w");
    fputs("the same secret, twice\n\n", f);
    fclose(f);
    auth_key *a = auth_key_load(path, &err), *b = auth_key_from_bytes("the same secret, twice", 22);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    pair p;
    pair_init(&p, a, b);
    CU_ASSERT_EQUAL(pump(&p, false, &err), 0);
    CU_ASSERT(auth_session_ready(p.a));
    pair_free(&p);
    auth_key_free(a);
    auth_key_free(b);
    tests_rmtree(dir);
}

void add_auth_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"handshake and records, whole and byte by byte", test_handshake_and_records},
        {"a wrong secret or a fake handshake is refused", test_wrong_secret},
        {"tampered and replayed records are refused", test_tampered_and_replayed},
        {"secret files", test_secret_file},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("auth", NULL, NULL, tests);
}
