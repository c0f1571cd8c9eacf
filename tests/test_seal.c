/* seal: the on-disk record of how far a store had come (server/seal.h), a
 * parser of bytes from disk; and the token and logrl helpers of common/. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/logrl.h"
#include "../common/token.h"
#include "../common/version.h"
#include "../server/seal.h"
#include "tests.h"

static void test_round_trip(void)
{
    seal_state in[] = {{0, 0, 0, 0, 0},
                       {7, 3, 120, 340, 500},
                       {999999999999ULL, DKV_INC_MAX, DKV_COUNTER_MAX, DKV_COUNTER_MAX,
                        UINT64_MAX}};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        char buf[SEAL_SIZE];
        seal_encode(&in[i], 42 + i, buf);
        CU_ASSERT_EQUAL(buf[SEAL_SIZE - 1], '\n');
        CU_ASSERT_PTR_NULL(memchr(buf, '\0', SEAL_SIZE));
        seal_state out;
        uint64_t gen = 0;
        dkv_err err;
        CU_ASSERT_EQUAL_FATAL(seal_decode(buf, SEAL_SIZE, &out, &gen, &err), 0);
        CU_ASSERT(memcmp(&in[i], &out, sizeof out) == 0);
        CU_ASSERT_EQUAL(gen, 42 + i);
    }
}

static void test_bad_input(void)
{
    seal_state st = {7, 3, 120, 340, 500}, out;
    uint64_t gen;
    char good[SEAL_SIZE];
    seal_encode(&st, 9, good);
    dkv_err err = {{0}};
    /* Wrong lengths. */
    CU_ASSERT_EQUAL(seal_decode(good, 0, &out, &gen, &err), -1);
    CU_ASSERT_EQUAL(seal_decode(good, SEAL_SIZE - 1, &out, &gen, &err), -1);
    CU_ASSERT_EQUAL(seal_decode(good, SEAL_SIZE + 1, &out, &gen, &err), -1);
    /* Every single-byte change is caught: the format, the numbers (by the
     * checksum), the checksum itself, the padding, the newline. */
    for (size_t i = 0; i < SEAL_SIZE; i++) {
        char bad[SEAL_SIZE];
        memcpy(bad, good, SEAL_SIZE);
        bad[i] = bad[i] == '1' ? '2' : bad[i] == ' ' ? 'x' : '1';
        if (seal_decode(bad, SEAL_SIZE, &out, &gen, &err) != -1) {
            CU_FAIL("a changed seal byte was accepted");
            fprintf(stderr, "\n  byte %zu changed, accepted: %.*s\n", i, SEAL_SIZE, bad);
        }
    }
    /* A NUL, other spellings of the same numbers. */
    char bad[SEAL_SIZE];
    memcpy(bad, good, SEAL_SIZE);
    bad[30] = '\0';
    CU_ASSERT_EQUAL(seal_decode(bad, SEAL_SIZE, &out, &gen, &err), -1);
    char text[SEAL_SIZE + 1];
    memset(text, ' ', SEAL_SIZE);
    int n = snprintf(text, sizeof text, "DKVSEAL2 gen=1 id=+7 inc=3 own=120 lamport=340 total=500 sum=0");
    text[n] = ' ';
    text[SEAL_SIZE - 1] = '\n';
    CU_ASSERT_EQUAL(seal_decode(text, SEAL_SIZE, &out, &gen, &err), -1);
    CU_ASSERT(err.msg[0] != '\0');
}

static void test_file(void)
{
    char *dir = tests_mkdtemp();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/x.seal", dir);
    bool existed = true;
    seal_state st = {0}, back = {0};
    dkv_err err;
    seal *s = seal_open(path, &existed, &st, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_FALSE(existed);
    st = (seal_state){5, 1, 2, 3, 4};
    seal_write(s, &st);
    st.own = 9; /* the next generation, in the other slot */
    seal_write(s, &st);
    seal_close(s);
    s = seal_open(path, &existed, &back, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_TRUE(existed);
    CU_ASSERT(memcmp(&st, &back, sizeof st) == 0);
    /* Writes go on after a reopen: generations keep rising. */
    st.own = 10;
    seal_write(s, &st);
    seal_close(s);
    s = seal_open(path, &existed, &back, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(back.own, 10);
    seal_close(s);
    /* A slot torn by a kill in the middle of a write: the other slot, one
     * write older, is read. */
    int fd = open(path, O_RDWR);
    CU_ASSERT_FATAL(fd >= 0);
    char junk[40];
    memset(junk, 'x', sizeof junk);
    /* generation 3 (own=10) is in slot 1 */
    CU_ASSERT_EQUAL(pwrite(fd, junk, sizeof junk, SEAL_SIZE + 30), (ssize_t)sizeof junk);
    s = seal_open(path, &existed, &back, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(back.own, 9);
    seal_close(s);
    /* Both slots damaged: refused, naming the file. */
    CU_ASSERT_EQUAL(pwrite(fd, junk, sizeof junk, 30), (ssize_t)sizeof junk);
    close(fd);
    CU_ASSERT_PTR_NULL(seal_open(path, &existed, &back, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "damaged"));
    /* Cut short: refused too. */
    CU_ASSERT_EQUAL(truncate(path, 40), 0);
    CU_ASSERT_PTR_NULL(seal_open(path, &existed, &back, &err));
    /* A file of zeros (created, never written: killed at once) records
     * nothing. */
    CU_ASSERT_EQUAL(truncate(path, 0), 0);
    CU_ASSERT_EQUAL(truncate(path, 2 * SEAL_SIZE), 0);
    s = seal_open(path, &existed, &back, &err);
    CU_ASSERT_PTR_NOT_NULL(s);
    CU_ASSERT_FALSE(existed);
    seal_close(s);
    tests_rmtree(dir);
}

static void test_token(void)
{
    dkv_err err = {{0}};
    CU_ASSERT_EQUAL(token_check("key", (const uint8_t *)"k\xff:\x01", 4, 8, &err), 0);
    CU_ASSERT_EQUAL(token_check("key", (const uint8_t *)"", 0, 8, &err), -1);
    CU_ASSERT_EQUAL(token_check("key", (const uint8_t *)"123456789", 9, 8, &err), -1);
    static const char bad[] = {'\0', ' ', '\t', '\n', '\r', '\v', '\f'};
    for (size_t i = 0; i < sizeof bad; i++) {
        uint8_t k[3] = {'a', (uint8_t)bad[i], 'b'};
        CU_ASSERT_EQUAL(token_check("value", k, 3, 8, &err), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "value"));
    }
}

static void test_logrl(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    logrl *l = logrl_new(out, 1000);
    for (int i = 0; i < 5; i++)
        logrl_printf(l, 100 + i, "disk full %d", i); /* one line, four suppressed */
    logrl_printf(l, 100, "other site");                /* another call site prints */
    logrl_printf(l, 1200, "disk full %d", 9);         /* after the interval */
    logrl_free(l);
    fclose(out);
    CU_ASSERT_STRING_EQUAL(text, "disk full 0\nother site\n"
                                 "disk full 9 (4 similar lines suppressed)\n");
    free(text);
}

void add_seal_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"seal round trip", test_round_trip},
        {"seal bad input", test_bad_input},
        {"seal file", test_file},
        {"token bytes", test_token},
        {"rate-limited log lines", test_logrl},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("seal", NULL, NULL, tests);
}
