/* Units of the results page (scripts/report): the reader of bin/check's
 * JSON verdict (bad input first), the HTML escaper, and the timeline's
 * lanes and bands (unknown commands, faults opened and closed); and of
 * master/stats.c's JSON (failed commands apart from latencies). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../master/stats.h"
#include "../scripts/check/histline.h"
#include "../scripts/report/checkjson.h"
#include "../scripts/report/esc.h"
#include "../scripts/report/timeline.h"
#include "tests.h"

static checkjson *parse(const char *s, dkv_err *err)
{
    return checkjson_parse(s, strlen(s), err);
}

static void refused(const char *s, const char *why)
{
    dkv_err err = {{0}};
    checkjson *c = parse(s, &err);
    CU_ASSERT_PTR_NULL(c);
    if (c) {
        fprintf(stderr, "accepted: %s\n", s);
        checkjson_free(c);
        return;
    }
    if (!strstr(err.msg, why))
        fprintf(stderr, "for %s: '%s' lacks '%s'\n", s, err.msg, why);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, why));
}

static void test_checkjson_bad(void)
{
    refused("", "not JSON");
    refused("{\"verdict\": \"valid\"", "not JSON");
    refused("[]", "not a JSON object");
    refused("{\"violations\": []}", "verdict");
    refused("{\"verdict\": \"fine\", \"violations\": []}", "verdict");
    refused("{\"verdict\": 1, \"violations\": []}", "verdict");
    refused("{\"verdict\": \"valid\"}", "violations is not an array");
    refused("{\"verdict\": \"valid\", \"violations\": {}}", "violations is not an array");
    refused("{\"verdict\": \"invalid\", \"violations\": [1]}", "violation 1 is not an object");
    refused("{\"verdict\": \"invalid\", \"violations\": [{\"kind\": \"x\", \"line\": 3}]}",
            "kind or text");
    refused("{\"verdict\": \"invalid\", \"violations\": [{\"kind\": \"x\", \"text\": \"t\", "
            "\"line\": 0}]}",
            "line is not a positive integer");
    refused("{\"verdict\": \"invalid\", \"violations\": [{\"kind\": \"x\", \"text\": \"t\", "
            "\"line\": \"3\"}]}",
            "line is not a positive integer");
    refused("{\"verdict\": \"invalid\", \"violations\": [{\"kind\": \"x\", \"text\": \"t\", "
            "\"line\": 3, \"related\": 4}]}",
            "related is not an array");
    refused("{\"verdict\": \"invalid\", \"violations\": [{\"kind\": \"x\", \"text\": \"t\", "
            "\"line\": 3, \"related\": [4, -1]}]}",
            "related line 2");
    refused("{\"verdict\": \"valid\", \"violations\": [{\"kind\": \"x\", \"text\": \"t\", "
            "\"line\": 3}]}",
            "verdict valid, yet 1 violations");
    refused("{\"verdict\": \"valid\", \"violations\": [], \"operations\": -1}", "operations");
    refused("{\"verdict\": \"valid\", \"violations\": [], \"error\": 2}", "error is not a string");
    refused("{\"verdict\": \"valid\", \"verdict\": \"invalid\", \"violations\": []}", "not JSON");
}

static void test_checkjson_good(void)
{
    dkv_err err;
    checkjson *c = parse("{\"verdict\": \"invalid\", \"exit\": 1, \"operations\": 7, \"violations\": "
                         "[{\"kind\": \"lost-write\", \"line\": 11, \"related\": [4, 6], "
                         "\"text\": \"lost <b>\"}], \"extra\": true}",
                         &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(checkjson_verdict(c), "invalid");
    CU_ASSERT_EQUAL(checkjson_operations(c), 7);
    CU_ASSERT_PTR_NULL(checkjson_error(c));
    const checkjson_violation *v;
    CU_ASSERT_EQUAL_FATAL(checkjson_violations(c, &v), 1);
    CU_ASSERT_EQUAL(v[0].line, 11);
    CU_ASSERT_EQUAL_FATAL(v[0].n_related, 2);
    CU_ASSERT_EQUAL(v[0].related[1], 6);
    CU_ASSERT_STRING_EQUAL(v[0].kind, "lost-write");
    CU_ASSERT_STRING_EQUAL(v[0].text, "lost <b>");
    checkjson_free(c);
    CU_ASSERT_PTR_NULL(checkjson_load("/no/such/file.json", &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot read /no/such/file.json"));
}

/* esc_html's output for s[0..n), in a static buffer. */
static const char *escaped(const char *s, size_t n, size_t max)
{
    static char out[512];
    FILE *f = fmemopen(out, sizeof out, "w");
    esc_html(f, (const uint8_t *)s, n, max);
    fclose(f);
    return out;
}

static void test_esc(void)
{
    CU_ASSERT_STRING_EQUAL(escaped("<a href=\"x\">'&'</a>", 19, 0),
                           "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    CU_ASSERT_STRING_EQUAL(escaped("a\\b", 3, 0), "a\\x5cb");
    CU_ASSERT_STRING_EQUAL(escaped("a\nb\x00" "c", 5, 0), "a\\x0ab\\x00c");
    CU_ASSERT_STRING_EQUAL(escaped("caf\xc3\xa9", 5, 0), "caf\xc3\xa9");
    /* Not UTF-8: a lone continuation, an overlong '/', a cut sequence, a
     * surrogate. */
    CU_ASSERT_STRING_EQUAL(escaped("\x80\xc0\xaf\xe2\x82", 5, 0), "\\x80\\xc0\\xaf\\xe2\\x82");
    CU_ASSERT_STRING_EQUAL(escaped("\xed\xa0\x80", 3, 0), "\\xed\\xa0\\x80");
    CU_ASSERT_STRING_EQUAL(escaped("abcdef", 6, 3), "abc...");
}

/* A timeline from history lines (the end record makes it complete). */
static timeline *timeline_of(const char *const *lines, const checkjson *cv)
{
    timeline *t = timeline_new();
    for (size_t i = 0; lines[i]; i++) {
        histline_record rec;
        dkv_err err;
        if (histline_parse(lines[i], strlen(lines[i]), &rec, &err) < 0) {
            fprintf(stderr, "bad test line %s: %s\n", lines[i], err.msg);
            CU_FAIL("bad test line");
            continue;
        }
        if (rec.cmd == HISTLINE_END) {
            timeline_set_complete(t, true);
            histline_record_clear(&rec);
            continue;
        }
        timeline_add(t, &rec);
    }
    timeline_finish(t, cv);
    return t;
}

#define REC(line, text, cmd, extra)                                                            \
    "{\"line\":" #line ",\"text\":\"" text "\",\"cmd\":\"" cmd "\",\"ok\":true" extra          \
    ",\"start_us\":" #line "000,\"end_us\":" #line "500}"

static const timeline_band *band_with(const timeline *t, const char *css, size_t *count)
{
    const timeline_band *b, *found = NULL;
    size_t n = timeline_bands(t, &b);
    *count = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(b[i].css, css) == 0) {
            found = found ? found : &b[i];
            (*count)++;
        }
    return found;
}

static void test_timeline_bands(void)
{
    const char *lines[] = {
        REC(1, "joinServer 5", "joinServer", ",\"server\":5"),
        REC(2, "joinServer 2", "joinServer", ",\"server\":2"),
        REC(3, "joinClient 9 5", "joinClient", ",\"client\":9,\"server\":5"),
        REC(4, "breakConnection 5 2", "breakConnection", ",\"a\":5,\"b\":2"),
        REC(5, "delayLink 5 2 100 20 # slow", "delayLink", ",\"a\":5,\"b\":2"),
        REC(6, "pauseServer 2", "pauseServer", ",\"server\":2"),
        REC(7, "fooBar 1 2", "fooBar", ""),
        REC(8, "delayLink 5 2 0", "delayLink", ",\"a\":5,\"b\":2"),
        REC(9, "createConnection 2 5", "createConnection", ",\"a\":2,\"b\":5"),
        REC(10, "killServer 5", "killServer", ",\"server\":5"),
        "{\"line\":10,\"text\":\"\",\"cmd\":\"died\",\"ok\":true,\"client\":9}",
        "{\"line\":11,\"text\":\"\",\"cmd\":\"end\",\"ok\":true}",
        NULL,
    };
    timeline *t = timeline_of(lines, NULL);
    CU_ASSERT_TRUE(timeline_complete(t));
    const timeline_lane *l;
    size_t nl = timeline_lanes(t, &l);
    /* cluster, client 9, servers 2 and 5, link 2-5 (cut), link 5->2 (delay) */
    CU_ASSERT_EQUAL_FATAL(nl, 6);
    CU_ASSERT_EQUAL(l[0].kind, TIMELINE_LANE_CLUSTER);
    CU_ASSERT_TRUE(l[1].kind == TIMELINE_LANE_CLIENT && l[1].a == 9);
    CU_ASSERT_TRUE(l[2].kind == TIMELINE_LANE_SERVER && l[2].a == 2);
    CU_ASSERT_TRUE(l[3].kind == TIMELINE_LANE_SERVER && l[3].a == 5);
    CU_ASSERT_TRUE(l[4].kind == TIMELINE_LANE_LINK && l[4].a == 2 && l[4].b == 5 &&
                   !l[4].directed);
    CU_ASSERT_TRUE(l[5].kind == TIMELINE_LANE_LINK && l[5].a == 5 && l[5].b == 2 &&
                   l[5].directed);
    size_t n;
    const timeline_band *b = band_with(t, "cut", &n);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_TRUE(b && b->lane == 4 && b->from_row == 3 && b->to_row == 8);
    b = band_with(t, "delayed", &n);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_TRUE(b && b->lane == 5 && b->from_row == 4 && b->to_row == 7);
    CU_ASSERT_TRUE(b && strcmp(b->label, "delay 100 20") == 0);
    b = band_with(t, "paused", &n); /* never resumed: to the end */
    CU_ASSERT_TRUE(n == 1 && b->lane == 2 && b->to_row == 11);
    b = band_with(t, "down", &n);
    CU_ASSERT_TRUE(n == 1 && b->lane == 3 && b->from_row == 9);
    b = band_with(t, "absent", &n); /* server 2 joined at the second row */
    CU_ASSERT_TRUE(n == 1 && b->lane == 2 && b->from_row == 0 && b->to_row == 1);
    const timeline_row *r;
    CU_ASSERT_EQUAL_FATAL(timeline_rows(t, &r), 11);
    CU_ASSERT_EQUAL(r[6].lane, 0); /* the unknown command: a box in the cluster lane */
    CU_ASSERT_EQUAL(r[6].outcome, TIMELINE_OK);
    CU_ASSERT_EQUAL(r[2].lane, 1);
    CU_ASSERT_TRUE(r[2].has_via && r[2].via_lane == 3);
    CU_ASSERT_EQUAL(r[10].outcome, TIMELINE_EVENT);
    CU_ASSERT_EQUAL(r[1].t0, 1000);
    CU_ASSERT_EQUAL(r[1].t1, 1500);
    CU_ASSERT_EQUAL(timeline_row_of_line(t, 10), 9); /* the command, not the event */
    CU_ASSERT_EQUAL(timeline_row_of_line(t, 42), -1);
    timeline_free(t);
}

static void test_timeline_outcomes(void)
{
    const char *lines[] = {
        REC(1, "joinServer 1", "joinServer", ",\"server\":1"),
        "{\"line\":2,\"text\":\"put 7 k v\",\"cmd\":\"put\",\"ok\":false,\"client\":7,"
        "\"key\":\"k\",\"value\":\"v\",\"server\":1,\"error\":\"client 7: no answer; the write "
        "may or may not have happened\"}",
        "{\"line\":3,\"text\":\"put 7 k v\",\"cmd\":\"put\",\"ok\":false,\"client\":7,"
        "\"key\":\"k\",\"value\":\"v\",\"error\":\"client 7 is not live\"}",
        "{\"line\":4,\"text\":\"blockLink 1\",\"cmd\":\"blockLink\",\"ok\":false,"
        "\"error\":\"usage: blockLink FROM_ID TO_ID\"}",
        NULL,
    };
    dkv_err err;
    checkjson *cv = parse("{\"verdict\":\"invalid\",\"violations\":[{\"kind\":\"k\",\"line\":3,"
                          "\"text\":\"t\"},{\"kind\":\"k\",\"line\":99,\"text\":\"t\"}]}",
                          &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cv);
    timeline *t = timeline_of(lines, cv);
    CU_ASSERT_FALSE(timeline_complete(t));
    const timeline_row *r;
    CU_ASSERT_EQUAL_FATAL(timeline_rows(t, &r), 4);
    CU_ASSERT_EQUAL(r[1].outcome, TIMELINE_UNKNOWN);
    CU_ASSERT_EQUAL(r[2].outcome, TIMELINE_ERROR);
    CU_ASSERT_EQUAL(r[2].violation, 0);
    CU_ASSERT_EQUAL(r[1].violation, -1);
    CU_ASSERT_EQUAL(r[1].t0, -1); /* no times: unknown */
    const timeline_band *b;
    /* A failed link command draws nothing. */
    CU_ASSERT_EQUAL(timeline_bands(t, &b), 0);
    char tok[8];
    CU_ASSERT_TRUE(timeline_token(&r[1].rec, 3, tok, sizeof tok));
    CU_ASSERT_STRING_EQUAL(tok, "v");
    CU_ASSERT_FALSE(timeline_token(&r[1].rec, 4, tok, sizeof tok));
    timeline_free(t);
    checkjson_free(cv);
}

/* The times the page draws with are read by histline: mistyped ones are
 * refused, absent ones leave has_times false. */
static void test_histline_times(void)
{
    static const char *const bad[] = {
        "{\"line\":1,\"text\":\"\",\"cmd\":\"x\",\"ok\":true,\"start_us\":\"5\",\"end_us\":6}",
        "{\"line\":1,\"text\":\"\",\"cmd\":\"x\",\"ok\":true,\"start_us\":5,\"end_us\":6.5}",
        "{\"line\":1,\"text\":\"\",\"cmd\":\"x\",\"ok\":true,\"start_us\":null,\"end_us\":6}",
        /* Out of range: a difference of two would overflow a reader. */
        "{\"line\":1,\"text\":\"\",\"cmd\":\"x\",\"ok\":true,\"start_us\":-5,\"end_us\":7}",
        "{\"line\":1,\"text\":\"\",\"cmd\":\"x\",\"ok\":true,\"start_us\":9000000000000000000,"
        "\"end_us\":7}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        histline_record rec;
        dkv_err err;
        CU_ASSERT_EQUAL(histline_parse(bad[i], strlen(bad[i]), &rec, &err), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "start_us or end_us"));
    }
    const char *half = "{\"line\":1,\"text\":\"\",\"cmd\":\"x\",\"ok\":true,\"start_us\":5}";
    histline_record rec;
    dkv_err err;
    CU_ASSERT_EQUAL_FATAL(histline_parse(half, strlen(half), &rec, &err), 0);
    CU_ASSERT_FALSE(rec.has_times);
    histline_record_clear(&rec);
    const char *both = "{\"line\":1,\"text\":\"\",\"cmd\":\"x\",\"ok\":true,\"start_us\":5,"
                       "\"end_us\":4611686018427387904}";
    CU_ASSERT_EQUAL_FATAL(histline_parse(both, strlen(both), &rec, &err), 0);
    CU_ASSERT_TRUE(rec.has_times && rec.start_us == 5 && rec.end_us == HISTLINE_MAX_US);
    histline_record_clear(&rec);
}

static void test_stats_json(void)
{
    stats *s = stats_new();
    stats_add(s, SCRIPT_CMD_PUT, 100, true, NULL);
    stats_add(s, SCRIPT_CMD_PUT, 300, true, NULL);
    stats_add(s, SCRIPT_CMD_PUT, 10 * 1000 * 1000, false, NULL); /* a timeout */
    stats_add(s, SCRIPT_CMD_GET, 50, true, "ERR_DEP");
    cluster_frames fr = {.hello = 4, .upd = 3, .ack = 1, .lsa = 6, .ping = 2, .updates_sent = 3};
    char buf[4096] = "";
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    dkv_err err;
    CU_ASSERT_EQUAL(stats_write_json(s, f, 2000000, &fr, &err), 0);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"failed\": 1"));
    /* The timeout is left out of the latencies: max 0.3 ms. */
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"max_ms\": 0.3"));
    CU_ASSERT_PTR_NULL(strstr(buf, "10000"));
    /* (3 upd + 1 ack) / 2 successful puts; hello, lsa, ping apart. */
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"messages_per_put\": 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"ping\": 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"ERR_DEP\": 1"));
    char text[4096] = "";
    f = fmemopen(text, sizeof text - 1, "w");
    stats_print(s, f, 2000000, &fr);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "messages per put: 2.00 (upd+ack frames / 2 successful puts)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "(not per put): hello 4, lsa 6, ping 2"));
    stats_free(s);
}

void add_report_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"checkjson refuses bad input, naming why", test_checkjson_bad},
        {"checkjson reads a verdict", test_checkjson_good},
        {"esc_html escapes markup, control and non-UTF-8 bytes", test_esc},
        {"timeline: lanes and fault bands, unknown commands", test_timeline_bands},
        {"timeline: outcomes and violations' rows", test_timeline_outcomes},
        {"histline: start_us and end_us, mistyped or absent", test_histline_times},
        {"stats: failed commands apart, frames per put", test_stats_json},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("report", NULL, NULL, tests);
}
