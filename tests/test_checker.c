/* checker: the history checker (check/) -- the line parser on good and bad
 * input, the hash map, and the checker on small hand-written histories:
 * valid runs must pass, doctored ones must be rejected naming the right
 * script lines. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../scripts/check/checker.h"
#include "../scripts/check/histline.h"
#include "../common/hmap.h"
#include "tests.h"

/* ---- building histories ---- */

typedef struct hist {
    char buf[16384];
    size_t n;
} hist;

__attribute__((format(printf, 2, 3))) static void add(hist *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(h->buf + h->n, sizeof h->buf - h->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof h->buf - h->n)
        abort(); /* a test history too big: a bug in the test */
    h->n += (size_t)k;
}

/* A version as JSON: [l,o], or null when l == 0. */
static const char *jv(unsigned l, unsigned o)
{
    static char b[4][32];
    static int i;
    i = (i + 1) % 4;
    if (l == 0)
        snprintf(b[i], sizeof b[i], "null");
    else
        snprintf(b[i], sizeof b[i], "[%u,%u]", l, o);
    return b[i];
}

static void join(hist *h, int line, unsigned s)
{
    add(h, "{\"line\":%d,\"text\":\"joinServer %u\",\"server\":%u,\"cmd\":\"joinServer\",\"ok\":true}\n",
        line, s, s);
}

static void kill_(hist *h, int line, unsigned s)
{
    add(h, "{\"line\":%d,\"text\":\"killServer %u\",\"server\":%u,\"cmd\":\"killServer\",\"ok\":true}\n",
        line, s, s);
}

static void jclient(hist *h, int line, unsigned c, unsigned s)
{
    add(h,
        "{\"line\":%d,\"text\":\"joinClient %u %u\",\"client\":%u,\"server\":%u,"
        "\"cmd\":\"joinClient\",\"ok\":true}\n",
        line, c, s, c, s);
}

static void link_(hist *h, int line, const char *cmd, unsigned a, unsigned b)
{
    add(h, "{\"line\":%d,\"text\":\"%s %u %u\",\"a\":%u,\"b\":%u,\"cmd\":\"%s\",\"ok\":true}\n",
        line, cmd, a, b, a, b, cmd);
}

static void stab(hist *h, int line, const char *groups)
{
    add(h, "{\"line\":%d,\"text\":\"stabilize\",\"groups\":%s,\"cmd\":\"stabilize\",\"ok\":true}\n",
        line, groups);
}

/* put through server s, given version (l,o); dep fields left out. */
static void put(hist *h, int line, unsigned c, const char *k, const char *v, unsigned s,
                unsigned l, unsigned o)
{
    add(h,
        "{\"line\":%d,\"text\":\"put %u %s %s\",\"client\":%u,\"key\":\"%s\",\"value\":\"%s\","
        "\"server\":%u,\"version\":%s,\"cmd\":\"put\",\"ok\":true}\n",
        line, c, k, v, c, k, v, s, jv(l, o));
}

static void put_failed(hist *h, int line, unsigned c, const char *k, const char *v, unsigned s)
{
    add(h,
        "{\"line\":%d,\"text\":\"put %u %s %s\",\"client\":%u,\"key\":\"%s\",\"value\":\"%s\","
        "\"server\":%u,\"cmd\":\"put\",\"ok\":false,\"error\":\"timed out\"}\n",
        line, c, k, v, c, k, v, s);
}

static void get_ok(hist *h, int line, unsigned c, const char *k, unsigned s, const char *v,
                   unsigned l, unsigned o)
{
    add(h,
        "{\"line\":%d,\"text\":\"get %u %s\",\"client\":%u,\"key\":\"%s\",\"server\":%u,"
        "\"result\":\"ok\",\"value\":\"%s\",\"version\":%s,\"cmd\":\"get\",\"ok\":true}\n",
        line, c, k, c, k, s, v, jv(l, o));
}

/* result ERR_KEY or ERR_DEP; (l,o) the server's version, l == 0: none. */
static void get_err(hist *h, int line, unsigned c, const char *k, unsigned s, const char *res,
                    unsigned l, unsigned o)
{
    add(h,
        "{\"line\":%d,\"text\":\"get %u %s\",\"client\":%u,\"key\":\"%s\",\"server\":%u,"
        "\"result\":\"%s\",\"version\":%s,\"cmd\":\"get\",\"ok\":true}\n",
        line, c, k, c, k, s, res, jv(l, o));
}

static void get_failed(hist *h, int line, unsigned c, const char *k, unsigned s)
{
    add(h,
        "{\"line\":%d,\"text\":\"get %u %s\",\"client\":%u,\"key\":\"%s\",\"server\":%u,"
        "\"cmd\":\"get\",\"ok\":false,\"error\":\"timed out\"}\n",
        line, c, k, c, k, s);
}

/* store: the JSON array, e.g. [["k","v",[1,1]]] */
static void store(hist *h, int line, unsigned s, const char *entries)
{
    add(h,
        "{\"line\":%d,\"text\":\"printStore %u\",\"server\":%u,\"store\":%s,"
        "\"cmd\":\"printStore\",\"ok\":true}\n",
        line, s, s, entries);
}

/* Runs the checker over every line; parse errors fail the test. */
static checker *run(const hist *h)
{
    checker *c = checker_new(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const char *p = h->buf, *end = h->buf + h->n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        histline_record rec;
        dkv_err err;
        int rc = histline_parse(p, len, &rec, &err);
        if (rc < 0)
            fprintf(stderr, "\n  test history line does not parse: %s\n  %.*s\n", err.msg,
                    (int)len, p);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        CU_ASSERT(checker_feed(c, &rec, &err) >= 0);
        histline_record_clear(&rec);
        p += len + 1;
    }
    return c;
}

static void dump(const checker *c)
{
    for (size_t i = 0; i < checker_violation_count(c); i++) {
        const checker_violation *v = checker_violation_at(c, i);
        fprintf(stderr, "\n  [%s] %s", checker_kind_name(v->kind), v->text);
    }
}

static bool valid(const hist *h)
{
    checker *c = run(h);
    bool ok = checker_violation_count(c) == 0;
    if (!ok)
        dump(c);
    checker_free(c);
    return ok;
}

/* Whether a violation of kind at line exists, naming every line in rel
 * (0-terminated) among its related lines. */
static bool has(const checker *c, checker_kind kind, long line, const long *rel)
{
    for (size_t i = 0; i < checker_violation_count(c); i++) {
        const checker_violation *v = checker_violation_at(c, i);
        if (v->kind != kind || v->line != line)
            continue;
        bool all = true;
        for (size_t r = 0; rel && rel[r]; r++) {
            bool found = false;
            for (size_t j = 0; j < v->n_related; j++)
                found |= v->related[j] == rel[r];
            all &= found;
        }
        if (all)
            return true;
    }
    return false;
}

#define REL(...) ((const long[]){__VA_ARGS__, 0})

/* Expects a violation of kind at line (with those related lines). */
static void expect(const hist *h, checker_kind kind, long line, const long *rel)
{
    checker *c = run(h);
    bool ok = has(c, kind, line, rel);
    if (!ok) {
        fprintf(stderr, "\n  expected %s at line %ld; got:", checker_kind_name(kind), line);
        dump(c);
    }
    CU_ASSERT(ok);
    checker_free(c);
}

static size_t count_of(const hist *h)
{
    checker *c = run(h);
    size_t n = checker_violation_count(c);
    checker_free(c);
    return n;
}

/* A common start: servers 1 and 2, client 5 on 1, client 6 on 2. */
static void two_servers(hist *h)
{
    join(h, 1, 1);
    join(h, 2, 2);
    jclient(h, 3, 5, 1);
    jclient(h, 4, 6, 2);
}

/* ---- parser ---- */

static void test_parse_put(void)
{
    const char *line =
        "{\"line\":7,\"text\":\"put 100 colour red\",\"client\":100,\"key\":\"colour\","
        "\"value\":{\"hex\":\"ff00Ab\"},\"server\":3,\"version\":[1,3],\"dep_before\":null,"
        "\"dep_after\":[1,3],\"cmd\":\"put\",\"start_us\":1,\"end_us\":2,\"ok\":true}";
    histline_record r;
    dkv_err err;
    CU_ASSERT_EQUAL_FATAL(histline_parse(line, strlen(line), &r, &err), 0);
    CU_ASSERT_EQUAL(r.cmd, HISTLINE_PUT);
    CU_ASSERT_EQUAL(r.line, 7);
    CU_ASSERT(r.ok);
    CU_ASSERT(r.has_client && r.client == 100);
    CU_ASSERT(r.has_server && r.server == 3);
    CU_ASSERT(r.key.n == 6 && memcmp(r.key.p, "colour", 6) == 0);
    CU_ASSERT(r.value.n == 3 && memcmp(r.value.p, "\xff\x00\xab", 3) == 0);
    CU_ASSERT(r.version.lamport == 1 && r.version.origin == 3);
    CU_ASSERT(r.has_dep_before && dkv_version_is_none(r.dep_before));
    CU_ASSERT(r.has_dep_after && r.dep_after.lamport == 1);
    histline_record_clear(&r);
    histline_record_clear(&r); /* idempotent */
}

static void test_parse_store_groups(void)
{
    const char *line = "{\"line\":18,\"text\":\"printStore 3\",\"server\":3,\"store\":[[\"colour\","
                       "\"green\",[3,3]],[{\"hex\":\"\"},\"circle\",[2,42]]],\"cmd\":\"printStore\","
                       "\"ok\":true}";
    histline_record r;
    dkv_err err;
    CU_ASSERT_EQUAL_FATAL(histline_parse(line, strlen(line), &r, &err), 0);
    CU_ASSERT_EQUAL(r.n_store, 2);
    CU_ASSERT_EQUAL(r.store[1].key.n, 0);
    CU_ASSERT_EQUAL(r.store[1].version.origin, 42);
    histline_record_clear(&r);
    line = "{\"line\":9,\"text\":\"stabilize\",\"groups\":[[3,17,42],[],[5]],\"cmd\":\"stabilize\","
           "\"ok\":true}";
    CU_ASSERT_EQUAL_FATAL(histline_parse(line, strlen(line), &r, &err), 0);
    CU_ASSERT_EQUAL(r.n_groups, 3);
    CU_ASSERT_EQUAL(r.groups[0].n, 3);
    CU_ASSERT_EQUAL(r.groups[0].ids[2], 42);
    CU_ASSERT_EQUAL(r.groups[1].n, 0);
    histline_record_clear(&r);
}

static void test_parse_failed_and_unknown(void)
{
    /* A failed command needs only the common fields. */
    const char *lines[] = {
        "{\"line\":11,\"text\":\"put 5 k\",\"cmd\":\"put\",\"ok\":false,\"error\":\"usage\"}",
        "{\"line\":5,\"text\":\"stablize\",\"cmd\":\"stablize\",\"ok\":false}",
        "{\"line\":5,\"text\":{\"hex\":\"ff\"},\"cmd\":{\"hex\":\"ff\"},\"ok\":false}",
        "{\"line\":5,\"text\":\"snooze 5\",\"cmd\":\"snooze\",\"ok\":true,\"future\":[1]}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        histline_record r;
        dkv_err err;
        int rc = histline_parse(lines[i], strlen(lines[i]), &r, &err);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc == 0) {
            CU_ASSERT(i < 2 ? r.cmd == HISTLINE_PUT || i == 1 : r.cmd == HISTLINE_OTHER);
            histline_record_clear(&r);
        }
    }
}

/* The fault commands are known; a successful one must name its ids. */
static void test_parse_faults(void)
{
    static const struct {
        const char *line;
        histline_cmd cmd;
        int rc;
    } t[] = {
        {"{\"line\":1,\"text\":\"pauseServer 3\",\"server\":3,\"cmd\":\"pauseServer\",\"ok\":true}",
         HISTLINE_PAUSE, 0},
        {"{\"line\":1,\"text\":\"pauseServer 3\",\"cmd\":\"pauseServer\",\"ok\":true}",
         HISTLINE_PAUSE, -1},
        {"{\"line\":1,\"text\":\"resumeServer 3\",\"server\":3,\"cmd\":\"resumeServer\","
         "\"ok\":true}",
         HISTLINE_RESUME, 0},
        {"{\"line\":1,\"text\":\"delayLink 1 2 5\",\"a\":1,\"b\":2,\"ms\":5,\"jitter_ms\":0,"
         "\"cmd\":\"delayLink\",\"ok\":true}",
         HISTLINE_LINK_FAULT, 0},
        {"{\"line\":1,\"text\":\"blockLink 1 2\",\"a\":1,\"cmd\":\"blockLink\",\"ok\":true}",
         HISTLINE_LINK_FAULT, -1},
        {"{\"line\":1,\"text\":\"flakyLink 1 2 5\",\"a\":1,\"b\":2,\"pct\":5,\"seed\":\"7\","
         "\"cmd\":\"flakyLink\",\"ok\":true}",
         HISTLINE_LINK_FAULT, 0},
        {"{\"line\":1,\"text\":\"unblockLink 1 2\",\"cmd\":\"unblockLink\",\"ok\":false}",
         HISTLINE_LINK_FAULT, 0},
        {"{\"line\":1,\"text\":\"sleep 5\",\"ms\":5,\"cmd\":\"sleep\",\"ok\":true}",
         HISTLINE_SLEEP, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        histline_record r;
        dkv_err err;
        int rc = histline_parse(t[i].line, strlen(t[i].line), &r, &err);
        CU_ASSERT_EQUAL(rc, t[i].rc);
        if (rc == 0) {
            CU_ASSERT_EQUAL(r.cmd, t[i].cmd);
            histline_record_clear(&r);
        }
    }
}

static void test_parse_bad(void)
{
    static const char *const bad[] = {
        "",
        "{",
        "{\"line\":7,\"text\":\"joinServer 1\",\"server\":1,\"cmd\":\"joinServer\",\"ok\":tr",
        "[1,2]",
        "null",
        "{} trailing",
        "{\"text\":\"x\",\"cmd\":\"get\",\"ok\":false}",                 /* no line */
        "{\"line\":0,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false}",      /* line 0 */
        "{\"line\":1.5,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false}",    /* not integer */
        "{\"line\":1,\"cmd\":\"get\",\"ok\":false}",                     /* no text */
        "{\"line\":1,\"text\":\"x\",\"ok\":false}",                      /* no cmd */
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\"}",                   /* no ok */
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":1}",          /* ok not bool */
        "{\"line\":1,\"line\":2,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false}", /* duplicate */
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"error\":5}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"client\":-1}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"client\":\"5\"}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"key\":5}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"key\":{\"hex\":\"abc\"}}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"key\":{\"hex\":\"zz\"}}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"key\":{\"hex\":\"61\",\"x\":1}}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"key\":{}}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"version\":[0,1]}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"version\":[1]}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"version\":[1,2,3]}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"version\":[1,-2]}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"version\":\"1,2\"}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"dep_before\":[1,\"a\"]}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"result\":\"maybe\"}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"groups\":[1]}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"groups\":[[1,-1]]}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"store\":{}}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"store\":[[\"k\",\"v\"]]}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"store\":[[\"k\",\"v\",null]]}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"store\":[[\"k\",1,[1,1]]]}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"ok\":false,\"store\":[[1,\"v\",[1,1]]]}",
        /* successful commands missing what the checker needs */
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"joinServer\",\"ok\":true}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"killServer\",\"ok\":true}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"joinClient\",\"client\":1,\"ok\":true}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"breakConnection\",\"a\":1,\"ok\":true}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"stabilize\",\"ok\":true}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"printStore\",\"server\":1,\"ok\":true}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"put\",\"client\":1,\"key\":\"k\",\"value\":\"v\","
        "\"server\":2,\"ok\":true}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"put\",\"client\":1,\"key\":\"k\",\"value\":\"v\","
        "\"server\":2,\"version\":null,\"ok\":true}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"put\",\"client\":1,\"key\":\"k\",\"server\":2,"
        "\"version\":[1,2],\"ok\":true}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"client\":1,\"key\":\"k\",\"server\":2,"
        "\"version\":[1,2],\"value\":\"v\",\"ok\":true}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"client\":1,\"key\":\"k\",\"server\":2,"
        "\"result\":\"ok\",\"version\":[1,2],\"ok\":true}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"client\":1,\"key\":\"k\",\"server\":2,"
        "\"result\":\"ok\",\"version\":null,\"value\":\"v\",\"ok\":true}",
        "{\"line\":1,\"text\":\"x\",\"cmd\":\"get\",\"client\":1,\"key\":\"k\",\"server\":2,"
        "\"result\":\"ERR_KEY\",\"ok\":true}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        histline_record r;
        dkv_err err = {{0}};
        int rc = histline_parse(bad[i], strlen(bad[i]), &r, &err);
        if (rc == 0) {
            fprintf(stderr, "\n  accepted bad line %zu: %s", i, bad[i]);
            histline_record_clear(&r);
        }
        CU_ASSERT_EQUAL(rc, -1);
        CU_ASSERT(err.msg[0] != '\0');
    }
    /* A NUL inside the line. */
    histline_record r;
    CU_ASSERT_EQUAL(histline_parse("{\"line\":1,\0}", 12, &r, NULL), -1);
}

static void test_reader_truncated(void)
{
    char text[] = "{\"line\":1,\"text\":\"joinServer 1\",\"server\":1,\"cmd\":\"joinServer\",\"ok\":true}\n"
                  "{\"line\":2,\"text\":\"joinServer 2\",\"server\":2,\"cmd\":\"joinSer";
    FILE *f = fmemopen(text, strlen(text), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    histline_reader *rd = histline_reader_new(f);
    histline_record r;
    dkv_err err;
    CU_ASSERT_EQUAL(histline_reader_next(rd, &r, &err), 1);
    CU_ASSERT_EQUAL(r.line, 1);
    histline_record_clear(&r);
    CU_ASSERT_EQUAL(histline_reader_next(rd, &r, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "line 2 of the file"));
    CU_ASSERT_EQUAL(histline_reader_lines(rd), 2);
    histline_reader_free(rd);
    fclose(f);

    char good[] = "{\"line\":3,\"text\":\"stabilize\",\"groups\":[],\"cmd\":\"stabilize\",\"ok\":true}";
    f = fmemopen(good, strlen(good), "r"); /* no final newline: still whole */
    rd = histline_reader_new(f);
    CU_ASSERT_EQUAL(histline_reader_next(rd, &r, &err), 1);
    histline_record_clear(&r);
    CU_ASSERT_EQUAL(histline_reader_next(rd, &r, &err), 0);
    histline_reader_free(rd);
    fclose(f);
}

/* ---- hmap ---- */

static void test_hmap(void)
{
    hmap *m = hmap_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_PTR_NULL(hmap_get(m, "", 0));
    for (uintptr_t i = 0; i < 5000; i++) {
        char k[32];
        int n = snprintf(k, sizeof k, "key%lu", (unsigned long)i);
        bool created;
        void **slot = hmap_slot(m, k, (size_t)n, &created);
        CU_ASSERT_FATAL(slot && created);
        *slot = (void *)(i + 1);
    }
    bool created = true;
    void **slot = hmap_slot(m, "", 0, &created); /* the empty key is a key */
    CU_ASSERT(slot && created);
    *slot = (void *)99999;
    CU_ASSERT_EQUAL(hmap_size(m), 5001);
    CU_ASSERT_EQUAL((uintptr_t)hmap_get(m, "key4321", 7), 4322);
    CU_ASSERT_EQUAL((uintptr_t)hmap_get(m, "", 0), 99999);
    CU_ASSERT_PTR_NULL(hmap_get(m, "key5000", 7));
    CU_ASSERT_PTR_NULL(hmap_get(m, "key432", 7)); /* length matters */
    slot = hmap_slot(m, "key7", 4, &created);
    CU_ASSERT(!created && (uintptr_t)*slot == 8);
    size_t pos = 0, seen = 0;
    while (hmap_next(m, &pos, NULL, NULL, NULL))
        seen++;
    CU_ASSERT_EQUAL(seen, 5001);
    hmap_free(m, NULL);
    hmap_free(NULL, NULL);
}

/* ---- valid histories ---- */

static void test_valid_basic(void)
{
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 5, "k", "v1", 1, 1, 1);
    get_ok(&h, 6, 5, "k", 1, "v1", 1, 1);
    stab(&h, 7, "[[1,2]]");
    get_ok(&h, 8, 6, "k", 2, "v1", 1, 1);
    store(&h, 9, 1, "[[\"k\",\"v1\",[1,1]]]");
    store(&h, 10, 2, "[[\"k\",\"v1\",[1,1]]]");
    put(&h, 11, 6, "k", "v2", 2, 2, 2);
    /* Before the next stabilize, server 1 may still show the old value. */
    store(&h, 12, 1, "[[\"k\",\"v1\",[1,1]]]");
    get_ok(&h, 13, 5, "k", 1, "v1", 1, 1);
    /* ... or already the new one. */
    get_ok(&h, 14, 5, "k", 1, "v2", 2, 2);
    CU_ASSERT(valid(&h));
}

static void test_valid_sessions(void)
{
    /* The real sessions.txt run: ERR_DEP on a server that lacks the
     * dependency, ERR_KEY for a key never seen, a put through a stale
     * server above the dependency. */
    hist h = {0};
    join(&h, 5, 1);
    join(&h, 6, 2);
    link_(&h, 7, "breakConnection", 1, 2);
    jclient(&h, 8, 5, 1);
    put(&h, 9, 5, "k", "v1", 1, 1, 1);
    put(&h, 10, 5, "k", "v2", 1, 2, 1);
    jclient(&h, 11, 5, 2);
    get_err(&h, 12, 5, "k", 2, "ERR_DEP", 0, 0);
    get_err(&h, 13, 5, "other", 2, "ERR_KEY", 0, 0);
    put(&h, 14, 5, "k", "v3", 2, 3, 2);
    link_(&h, 15, "createConnection", 1, 2);
    stab(&h, 16, "[[1,2]]");
    get_ok(&h, 17, 5, "k", 2, "v3", 3, 2);
    store(&h, 18, 1, "[[\"k\",\"v3\",[3,2]]]");
    jclient(&h, 19, 6, 1);
    get_ok(&h, 20, 6, "k", 1, "v3", 3, 2);
    CU_ASSERT(valid(&h));
}

static void test_valid_stale_and_err_dep(void)
{
    /* Replication is asynchronous: without a stabilize, server 2 may
     * lack what server 1 has, so ERR_DEP and older values are fine. */
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 5, "k", "old", 1, 1, 1);
    stab(&h, 6, "[[1,2]]");
    put(&h, 7, 5, "k", "new", 1, 2, 1);
    get_ok(&h, 8, 6, "k", 2, "old", 1, 1);  /* stale but valid */
    jclient(&h, 9, 5, 2);
    get_err(&h, 10, 5, "k", 2, "ERR_DEP", 1, 1); /* lacks (2,1) */
    get_err(&h, 11, 6, "j", 2, "ERR_KEY", 0, 0);
    get_ok(&h, 12, 5, "k", 2, "new", 2, 1);     /* caught up */
    CU_ASSERT(valid(&h));
}

static void test_valid_kill_rejoin(void)
{
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 5, "k", "v", 1, 1, 1);
    kill_(&h, 6, 1);
    join(&h, 7, 1);
    get_ok(&h, 8, 5, "k", 1, "v", 1, 1);
    store(&h, 9, 1, "[[\"k\",\"v\",[1,1]]]");
    put(&h, 10, 5, "k", "w", 1, 2, 1);
    CU_ASSERT(valid(&h));
}

static void test_valid_failed_commands(void)
{
    hist h = {0};
    two_servers(&h);
    /* A failed put may have been applied: its value may show up. */
    put_failed(&h, 5, 5, "k", "maybe", 1);
    get_ok(&h, 6, 6, "k", 2, "maybe", 1, 1);
    store(&h, 7, 1, "[[\"k\",\"maybe\",[1,1]]]");
    /* A failed get may have raised the client's dependency. */
    get_failed(&h, 8, 6, "j", 2);
    get_err(&h, 9, 6, "j", 2, "ERR_DEP", 0, 0);
    add(&h, "{\"line\":10,\"text\":\"stablize\",\"cmd\":\"stablize\",\"ok\":false}\n");
    add(&h, "{\"line\":11,\"text\":\"put 5 k\",\"cmd\":\"put\",\"ok\":false}\n");
    CU_ASSERT(valid(&h));
}

static void test_valid_hex_and_order(void)
{
    hist h = {0};
    two_servers(&h);
    add(&h, "{\"line\":5,\"text\":{\"hex\":\"70757420352062ff2076\"},\"client\":5,\"key\":{\"hex\":"
            "\"62ff\"},\"value\":\"v\",\"server\":1,\"version\":[1,1],\"cmd\":\"put\",\"ok\":true}\n");
    put(&h, 6, 5, "a", "x", 1, 2, 1);
    /* bytewise order: "a" < "b\xff" */
    store(&h, 7, 1, "[[\"a\",\"x\",[2,1]],[{\"hex\":\"62ff\"},\"v\",[1,1]]]");
    CU_ASSERT(valid(&h));
}

/* ---- doctored histories ---- */

static void test_read_older_than_own_write(void)
{
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 5, "k", "v1", 1, 1, 1);
    put(&h, 6, 5, "k", "v2", 1, 2, 1);
    jclient(&h, 7, 5, 2);
    get_ok(&h, 8, 5, "k", 2, "v1", 1, 1);
    expect(&h, CHECKER_READ_YOUR_WRITES, 8, REL(6));
    CU_ASSERT_EQUAL(count_of(&h), 1);
}

static void test_monotonic_reads(void)
{
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 6, "k", "v1", 2, 1, 2);
    put(&h, 6, 6, "k", "v2", 2, 2, 2);
    jclient(&h, 7, 5, 2);
    get_ok(&h, 8, 5, "k", 2, "v2", 2, 2);
    jclient(&h, 9, 5, 1);
    get_ok(&h, 10, 5, "k", 1, "v1", 1, 2);
    expect(&h, CHECKER_MONOTONIC_READS, 10, REL(8));
}

static void test_phantom(void)
{
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 5, "k", "v", 1, 1, 1);
    get_ok(&h, 6, 6, "k", 2, "zz", 1, 1);  /* wrong value */
    get_ok(&h, 7, 6, "j", 2, "yy", 9, 9);  /* nobody wrote it */
    store(&h, 8, 1, "[[\"k\",\"v\",[1,1]],[\"q\",\"x\",[3,1]]]");
    expect(&h, CHECKER_PHANTOM, 6, REL(5));
    expect(&h, CHECKER_PHANTOM, 7, NULL);
    expect(&h, CHECKER_PHANTOM, 8, NULL);
    CU_ASSERT_EQUAL(count_of(&h), 3);
    /* A failed put matches once and only with its own value. */
    hist g = {0};
    two_servers(&g);
    put_failed(&g, 5, 5, "k", "m", 1);
    get_ok(&g, 6, 6, "k", 2, "other", 1, 1);
    expect(&g, CHECKER_PHANTOM, 6, NULL);
}

/* joinServer of a server whose store held data from before the run (a
 * reused run directory), with that store. */
static void join_with(hist *h, int line, unsigned s, const char *entries)
{
    add(h,
        "{\"line\":%d,\"text\":\"joinServer %u\",\"server\":%u,\"store\":%s,"
        "\"cmd\":\"joinServer\",\"ok\":true}\n",
        line, s, s, entries);
}

static void test_initial_store(void)
{
    /* Values from an earlier run are writes, held by the server. */
    hist h = {0};
    join_with(&h, 1, 1, "[[\"k\",\"old\",[4,2]],[\"q\",\"x\",[5,1]]]");
    join_with(&h, 2, 2, "[[\"k\",\"old\",[4,2]]]");
    jclient(&h, 3, 5, 1);
    jclient(&h, 4, 6, 2);
    get_ok(&h, 5, 5, "k", 1, "old", 4, 2);
    get_ok(&h, 6, 6, "k", 2, "old", 4, 2);
    put(&h, 7, 6, "q", "new", 2, 6, 2);
    store(&h, 8, 1, "[[\"k\",\"old\",[4,2]],[\"q\",\"x\",[5,1]]]");
    CU_ASSERT_TRUE(valid(&h));
    /* Without the record they are phantoms. */
    hist g = {0};
    join(&g, 1, 1);
    jclient(&g, 2, 5, 1);
    get_ok(&g, 3, 5, "k", 1, "old", 4, 2);
    expect(&g, CHECKER_PHANTOM, 3, NULL);
    /* The server holds them: a store without one lacks a held key. */
    hist f = {0};
    join_with(&f, 1, 1, "[[\"k\",\"old\",[4,2]]]");
    store(&f, 2, 1, "[]");
    expect(&f, CHECKER_STORE_MISSING_KEY, 2, REL(1));
    /* One version, two values: a phantom. */
    hist e = {0};
    join_with(&e, 1, 1, "[[\"k\",\"old\",[4,2]]]");
    join_with(&e, 2, 2, "[[\"k\",\"other\",[4,2]]]");
    expect(&e, CHECKER_PHANTOM, 2, REL(1));
}

static void test_err_dep_while_held(void)
{
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 5, "k", "v", 1, 1, 1);
    get_err(&h, 6, 5, "k", 1, "ERR_DEP", 0, 0);
    expect(&h, CHECKER_ERR_DEP_HELD, 6, REL(5));
    /* Held through a stabilize: server 2 got it too. */
    hist g = {0};
    two_servers(&g);
    put(&g, 5, 5, "k", "v", 1, 1, 1);
    stab(&g, 6, "[[1,2]]");
    jclient(&g, 7, 5, 2);
    get_err(&g, 8, 5, "k", 2, "ERR_DEP", 0, 0);
    expect(&g, CHECKER_ERR_DEP_HELD, 8, REL(5, 6));
}

static void test_err_key_with_dep(void)
{
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 5, "k", "v", 1, 1, 1);
    jclient(&h, 6, 5, 2);
    get_err(&h, 7, 5, "k", 2, "ERR_KEY", 0, 0);
    expect(&h, CHECKER_ERR_KEY_WITH_DEP, 7, REL(5));
    CU_ASSERT_EQUAL(count_of(&h), 1);
}

static void test_err_dep_without_dep(void)
{
    hist h = {0};
    two_servers(&h);
    get_err(&h, 5, 5, "k", 1, "ERR_DEP", 0, 0);
    expect(&h, CHECKER_ERR_DEP_WITHOUT_DEP, 5, NULL);
}

static void test_err_key_while_held(void)
{
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 5, "k", "v", 1, 1, 1);
    get_err(&h, 6, 6, "k", 1, "ERR_KEY", 0, 0); /* client 6 asks server 1 */
    expect(&h, CHECKER_ERR_KEY_HELD, 6, REL(5));
}

static void test_diverged_after_stabilize(void)
{
    hist h = {0};
    join(&h, 1, 1);
    join(&h, 2, 2);
    join(&h, 3, 3);
    jclient(&h, 4, 5, 3);
    put(&h, 5, 5, "k", "v", 3, 1, 3);
    kill_(&h, 6, 3);
    stab(&h, 7, "[[1,2]]");
    store(&h, 8, 1, "[[\"k\",\"v\",[1,3]]]");
    store(&h, 9, 2, "[]");
    expect(&h, CHECKER_DIVERGED, 9, REL(8, 7));
    /* After a change, they may differ again. */
    hist g = {0};
    join(&g, 1, 1);
    join(&g, 2, 2);
    join(&g, 3, 3);
    jclient(&g, 4, 5, 3);
    put(&g, 5, 5, "k", "v", 3, 1, 3);
    kill_(&g, 6, 3);
    stab(&g, 7, "[[1,2]]");
    store(&g, 8, 1, "[]");
    link_(&g, 9, "breakConnection", 1, 2);
    store(&g, 10, 2, "[[\"k\",\"v\",[1,3]]]");
    CU_ASSERT(valid(&g));
    /* A get in the group counts as well. */
    hist e = {0};
    join(&e, 1, 1);
    join(&e, 2, 2);
    join(&e, 3, 3);
    jclient(&e, 4, 5, 3);
    put(&e, 5, 5, "k", "v", 3, 1, 3);
    kill_(&e, 6, 3);
    stab(&e, 7, "[[1,2]]");
    jclient(&e, 8, 6, 1);
    get_ok(&e, 9, 6, "k", 1, "v", 1, 3);
    store(&e, 10, 2, "[]");
    expect(&e, CHECKER_DIVERGED, 10, REL(9));
}

static void test_diverged_versions(void)
{
    /* Two servers of one stable group show different written versions,
     * neither below what the checker knows they hold. */
    hist h = {0};
    join(&h, 1, 1);
    join(&h, 2, 2);
    join(&h, 3, 3);
    jclient(&h, 4, 5, 1);
    jclient(&h, 5, 6, 3);
    link_(&h, 6, "breakConnection", 1, 3);
    link_(&h, 7, "breakConnection", 2, 3);
    put(&h, 8, 5, "k", "left", 1, 1, 1);
    put(&h, 9, 6, "k", "right", 3, 2, 3);
    stab(&h, 10, "[[1,2],[3]]");
    store(&h, 11, 1, "[[\"k\",\"left\",[1,1]]]");
    store(&h, 12, 2, "[[\"k\",\"right\",[2,3]]]");
    expect(&h, CHECKER_DIVERGED, 12, REL(11, 10));
    CU_ASSERT_EQUAL(count_of(&h), 1);
}

static void test_repeated_stabilize(void)
{
    /* The same group stabilized again after more writes: the new writes
     * reach every member's bounds (incremental propagation). */
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 5, "k", "v1", 1, 1, 1);
    stab(&h, 6, "[[1,2]]");
    put(&h, 7, 5, "k", "v2", 1, 2, 1);
    put(&h, 8, 6, "j", "w", 2, 3, 2);
    stab(&h, 9, "[[1,2]]");
    jclient(&h, 10, 5, 2);
    get_err(&h, 11, 5, "k", 2, "ERR_DEP", 1, 1);
    store(&h, 12, 1, "[[\"k\",\"v2\",[2,1]]]");
    expect(&h, CHECKER_ERR_DEP_HELD, 11, REL(7, 9));
    expect(&h, CHECKER_STORE_MISSING_KEY, 12, REL(8, 9));
    /* Groups that change: split, write, merge. */
    hist g = {0};
    two_servers(&g);
    put(&g, 5, 5, "k", "v1", 1, 1, 1);
    link_(&g, 6, "breakConnection", 1, 2);
    stab(&g, 7, "[[1],[2]]");
    put(&g, 8, 6, "k", "v2", 2, 2, 2);
    store(&g, 9, 2, "[[\"k\",\"v2\",[2,2]]]"); /* server 2 may have it from before */
    link_(&g, 10, "createConnection", 1, 2);
    stab(&g, 11, "[[1,2]]");
    CU_ASSERT(valid(&g));
    store(&g, 12, 1, "[[\"k\",\"v1\",[1,1]]]");
    expect(&g, CHECKER_OLDER_THAN_HELD, 12, REL(8, 11));
}

static void test_write_lost_after_rejoin(void)
{
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 5, "k", "v", 1, 1, 1);
    kill_(&h, 6, 1);
    join(&h, 7, 1);
    jclient(&h, 8, 7, 1);
    get_err(&h, 9, 7, "k", 1, "ERR_KEY", 0, 0);
    store(&h, 10, 1, "[]");
    expect(&h, CHECKER_LOST_WRITE, 9, REL(5, 6, 7));
    expect(&h, CHECKER_LOST_WRITE, 10, REL(5, 6, 7));
    checker *c = run(&h);
    const checker_violation *v = checker_violation_at(c, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "lost across a kill and rejoin"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "line 6 `killServer 1`"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v->text, "line 7 `joinServer 1`"));
    checker_free(c);
    /* The client that wrote it gets the old value back: lost, too. */
    hist g = {0};
    two_servers(&g);
    put(&g, 5, 5, "k", "v1", 1, 1, 1);
    put(&g, 6, 5, "k", "v2", 1, 2, 1);
    kill_(&g, 7, 1);
    join(&g, 8, 1);
    get_ok(&g, 9, 5, "k", 1, "v1", 1, 1);
    expect(&g, CHECKER_READ_YOUR_WRITES, 9, REL(6));
    expect(&g, CHECKER_LOST_WRITE, 9, REL(6, 7, 8));
}

static void test_put_not_above_dep(void)
{
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 5, "k", "v1", 1, 2, 1);
    jclient(&h, 6, 5, 2);
    put(&h, 7, 5, "k", "v2", 2, 1, 2);
    expect(&h, CHECKER_PUT_NOT_ABOVE_DEP, 7, REL(5));
    CU_ASSERT_EQUAL(count_of(&h), 1);
}

static void test_put_checks(void)
{
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 5, "k", "v1", 1, 1, 2);       /* origin is not server 1 */
    put(&h, 6, 6, "k", "v2", 2, 1, 2);       /* same version as line 5 */
    put(&h, 7, 6, "j", "a", 2, 2, 2);
    put(&h, 8, 5, "j", "b", 1, 6, 1);
    stab(&h, 9, "[[1,2]]");
    jclient(&h, 10, 6, 1);
    put(&h, 11, 6, "j", "c", 1, 3, 1); /* above its dependency, below what server 1 holds */
    expect(&h, CHECKER_PUT_ORIGIN, 5, NULL);
    expect(&h, CHECKER_DUPLICATE_VERSION, 6, REL(5));
    expect(&h, CHECKER_PUT_NOT_ABOVE_HELD, 11, REL(8));
    CU_ASSERT_EQUAL(count_of(&h), 3);
}

static void test_wrong_result_and_dep_fields(void)
{
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 5, "k", "v", 1, 1, 1);
    get_err(&h, 6, 5, "k", 1, "ERR_DEP", 1, 1); /* has the dependency itself */
    get_err(&h, 7, 6, "k", 1, "ERR_KEY", 1, 1); /* has a value */
    add(&h,
        "{\"line\":8,\"text\":\"put 5 k w\",\"client\":5,\"key\":\"k\",\"value\":\"w\","
        "\"server\":1,\"version\":[2,1],\"dep_before\":null,\"dep_after\":[2,1],"
        "\"cmd\":\"put\",\"ok\":true}\n");
    expect(&h, CHECKER_WRONG_RESULT, 6, NULL);
    expect(&h, CHECKER_WRONG_RESULT, 7, NULL);
    expect(&h, CHECKER_DEP_MISMATCH, 8, REL(5));
}

static void test_store_checks(void)
{
    hist h = {0};
    two_servers(&h);
    put(&h, 5, 5, "b", "1", 1, 1, 1);
    put(&h, 6, 5, "a", "1", 1, 2, 1);
    put(&h, 7, 5, "a", "2", 1, 3, 1);
    store(&h, 8, 1, "[[\"b\",\"1\",[1,1]],[\"a\",\"2\",[3,1]]]"); /* unsorted */
    store(&h, 9, 1, "[[\"a\",\"1\",[2,1]],[\"b\",\"1\",[1,1]]]"); /* older a */
    store(&h, 10, 1, "[[\"a\",\"2\",[3,1]]]");                    /* lacks b */
    expect(&h, CHECKER_STORE_ORDER, 8, NULL);
    expect(&h, CHECKER_OLDER_THAN_HELD, 9, REL(7));
    expect(&h, CHECKER_STORE_MISSING_KEY, 10, REL(5));
    CU_ASSERT_EQUAL(count_of(&h), 3);
}

/* Keys whose natural, case-insensitive, locale or signed-char orders differ
 * from the bytewise one, each with its JSON form in a history. Listed in
 * bytewise order (unsigned bytes, a prefix first). */
static const struct {
    const char *json, *shown;
} order_keys[] = {
    {"\"K1\"", "'K1'"},
    {"\"k\"", "'k'"},
    {"\"k1\"", "'k1'"},
    {"\"k10\"", "'k10'"},
    {"\"k2\"", "'k2'"},
    {"\"z\"", "'z'"},
    {"\"\xc3\xa9\"", "'\\xc3\\xa9'"}, /* UTF-8 e-acute */
    {"{\"hex\":\"ff\"}", "'\\xff'"},
};
#define N_ORDER_KEYS (sizeof order_keys / sizeof order_keys[0])

/* A printStore of server 1 at line listing the keys in the order given by
 * idx (indices into order_keys; key i has value "v" and version (i+1,1)). */
static void store_in_order(hist *h, int line, const size_t *idx, size_t n)
{
    char entries[2048];
    size_t o = 0;
    entries[o++] = '[';
    for (size_t j = 0; j < n; j++)
        o += (size_t)snprintf(entries + o, sizeof entries - o, "%s[%s,\"v\",[%zu,1]]",
                              j ? "," : "", order_keys[idx[j]].json, idx[j] + 1);
    snprintf(entries + o, sizeof entries - o, "]");
    store(h, line, 1, entries);
}

/* The text of the store-order violation at line, or NULL. */
static const char *order_text(const checker *c, long line)
{
    for (size_t i = 0; i < checker_violation_count(c); i++) {
        const checker_violation *v = checker_violation_at(c, i);
        if (v->kind == CHECKER_STORE_ORDER && v->line == line)
            return v->text;
    }
    return NULL;
}

static void test_store_bytewise_order(void)
{
    hist h = {0};
    two_servers(&h);
    for (size_t i = 0; i < N_ORDER_KEYS; i++)
        add(&h,
            "{\"line\":%zu,\"text\":\"put 5 key%zu v\",\"client\":5,\"key\":%s,\"value\":\"v\","
            "\"server\":1,\"version\":[%zu,1],\"cmd\":\"put\",\"ok\":true}\n",
            5 + i, i, order_keys[i].json, i + 1);
    size_t line = 5 + N_ORDER_KEYS;
    size_t bytewise[] = {0, 1, 2, 3, 4, 5, 6, 7};
    store_in_order(&h, (int)line++, bytewise, 8);
    CU_ASSERT(valid(&h));

    /* Each wrong order gives one violation naming both keys and why. */
    static const struct {
        size_t idx[9];
        size_t n;
        int before, after;  /* the pair reported, indices into order_keys */
        const char *reason; /* part of the text */
    } wrong[] = {
        {{0, 1, 2, 4, 3, 5, 6, 7}, 8, 4, 3, "(byte 1: 0x31 < 0x32)"},  /* natural: k2 < k10 */
        {{1, 0, 2, 3, 4, 5, 6, 7}, 8, 1, 0, "(byte 0: 0x4b < 0x6b)"},  /* case-insensitive */
        {{0, 1, 2, 3, 4, 6, 5, 7}, 8, 6, 5, "(byte 0: 0x7a < 0xc3)"},  /* locale: e-acute < z */
        {{6, 7, 0, 1, 2, 3, 4, 5}, 8, 7, 0, "(byte 0: 0x4b < 0xff)"},  /* signed char */
        {{0, 2, 1, 3, 4, 5, 6, 7}, 8, 2, 1, "(it is a prefix of the other)"}, /* k1 before k */
        {{0, 1, 1, 2, 3, 4, 5, 6, 7}, 9, 1, 1, "twice"},               /* a key twice */
    };
    size_t first_wrong = line;
    for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++)
        store_in_order(&h, (int)line++, wrong[w].idx, wrong[w].n);
    checker *c = run(&h);
    CU_ASSERT_EQUAL(checker_violation_count(c), sizeof wrong / sizeof wrong[0]);
    for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
        long at = (long)(first_wrong + w);
        const char *t = order_text(c, at);
        CU_ASSERT_PTR_NOT_NULL(t);
        if (!t)
            continue;
        char pair[128], line_text[64];
        if (wrong[w].before == wrong[w].after)
            snprintf(pair, sizeof pair, "lists key %s twice", order_keys[wrong[w].before].shown);
        else
            snprintf(pair, sizeof pair, "lists %s before %s, but %s sorts first",
                     order_keys[wrong[w].before].shown, order_keys[wrong[w].after].shown,
                     order_keys[wrong[w].after].shown);
        snprintf(line_text, sizeof line_text, "line %ld `printStore 1`", at);
        bool ok = strstr(t, pair) && strstr(t, wrong[w].reason) && strstr(t, line_text) == t &&
                  strstr(t, "sorted bytewise");
        if (!ok)
            fprintf(stderr, "\n  order %zu: want \"%s\" and \"%s\"; got: %s", w, pair,
                    wrong[w].reason, t);
        CU_ASSERT(ok);
    }
    checker_free(c);
}

static void test_out_of_order(void)
{
    hist h = {0};
    join(&h, 5, 1);
    checker *c = checker_new(NULL);
    histline_record r;
    dkv_err err;
    CU_ASSERT_EQUAL_FATAL(histline_parse(h.buf, h.n - 1, &r, &err), 0);
    CU_ASSERT_EQUAL(checker_feed(c, &r, &err), 0);
    CU_ASSERT_EQUAL(checker_feed(c, &r, &err), -1); /* line 5 again */
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "line 5"));
    histline_record_clear(&r);
    CU_ASSERT_EQUAL(checker_ops(c), 1);
    checker_free(c);
    checker_free(NULL);
    CU_ASSERT_STRING_EQUAL(checker_kind_name(CHECKER_LOST_WRITE), "lost-write");
    CU_ASSERT_STRING_EQUAL(checker_kind_name(CHECKER_KIND_COUNT), "unknown");
}

void add_checker_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"parse a put", test_parse_put},
        {"parse store and groups", test_parse_store_groups},
        {"parse failed and unknown commands", test_parse_failed_and_unknown},
        {"parse the fault commands", test_parse_faults},
        {"parse rejects bad lines", test_parse_bad},
        {"reader stops at a truncated line", test_reader_truncated},
        {"hash map", test_hmap},
        {"valid: basic", test_valid_basic},
        {"valid: sessions", test_valid_sessions},
        {"valid: stale reads and ERR_DEP before stabilize", test_valid_stale_and_err_dep},
        {"valid: kill and rejoin", test_valid_kill_rejoin},
        {"valid: failed commands", test_valid_failed_commands},
        {"valid: hex bytes, bytewise order", test_valid_hex_and_order},
        {"read older than own write", test_read_older_than_own_write},
        {"monotonic reads", test_monotonic_reads},
        {"phantom values", test_phantom},
        {"stores held from before the run", test_initial_store},
        {"ERR_DEP while the dependency is held", test_err_dep_while_held},
        {"ERR_KEY with a dependency", test_err_key_with_dep},
        {"ERR_DEP without a dependency", test_err_dep_without_dep},
        {"ERR_KEY while the key is held", test_err_key_while_held},
        {"stores diverge after stabilize", test_diverged_after_stabilize},
        {"stable group shows two versions", test_diverged_versions},
        {"stabilize again, and with other groups", test_repeated_stabilize},
        {"write lost after a rejoin", test_write_lost_after_rejoin},
        {"put not above the dependency", test_put_not_above_dep},
        {"put origin, duplicate, causality", test_put_checks},
        {"wrong result, dependency fields", test_wrong_result_and_dep_fields},
        {"printStore order, older, missing", test_store_checks},
        {"printStore sorted bytewise, not naturally", test_store_bytewise_order},
        {"records out of order", test_out_of_order},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("checker", NULL, NULL, tests);
}
