/* output: the results on stdout as text or JSON, and --echo. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../master/output.h"
#include "tests.h"

/* What o wrote through fn, as a C string the caller frees. */
typedef struct capture {
    char *text;
    size_t len;
    FILE *f;
} capture;

static output *open_capture(capture *c, output_format format, bool echo)
{
    memset(c, 0, sizeof *c);
    c->f = open_memstream(&c->text, &c->len);
    dkv_err err;
    output *o = output_new(c->f, format, echo, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    return o;
}

static void close_capture(capture *c, output *o)
{
    output_free(o);
    fclose(c->f);
}

static void test_parse_format(void)
{
    output_format f = OUTPUT_JSON;
    dkv_err err;
    CU_ASSERT_EQUAL(output_parse_format("text", &f, &err), 0);
    CU_ASSERT_EQUAL(f, OUTPUT_TEXT);
    CU_ASSERT_EQUAL(output_parse_format("json", &f, &err), 0);
    CU_ASSERT_EQUAL(f, OUTPUT_JSON);
    /* Bad input: case, blanks, prefixes, empty, other formats. */
    static const char *bad[] = {"", "JSON", "Text", "json ", " json", "js", "jsonl", "xml",
                                "text\n", "\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f = OUTPUT_JSON;
        err.msg[0] = '\0';
        CU_ASSERT_EQUAL(output_parse_format(bad[i], &f, &err), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "text or json"));
        CU_ASSERT_EQUAL(f, OUTPUT_JSON); /* untouched */
    }
}

static script_cmd get_cmd(const char *key)
{
    return (script_cmd){.kind = SCRIPT_CMD_GET, .name = "get", .id = {7, 0},
                        .key = (const uint8_t *)key, .key_len = strlen(key)};
}

static void test_json_results(void)
{
    capture c;
    output *o = open_capture(&c, OUTPUT_JSON, false);
    /* cluster_exec's own lines go nowhere: the objects replace them. */
    FILE *sink = output_results_stream(o);
    CU_ASSERT_PTR_NOT_NULL(sink);
    CU_ASSERT(sink != c.f);
    fputs("k:v\n", sink);
    fflush(sink);

    script_cmd cmd = get_cmd("a:b");
    cluster_result res = {.get_status = "ok", .value = (const uint8_t *)"ERR_KEY",
                          .value_len = 7};
    output_result(o, 3, &cmd, &res);
    cmd = get_cmd("a");
    res = (cluster_result){.get_status = "ERR_DEP"};
    output_result(o, 4, &cmd, &res);
    /* Bytes that are not UTF-8, and a NUL, which JSON can carry escaped. */
    cmd = get_cmd("\xff");
    res = (cluster_result){.get_status = "ok", .value = (const uint8_t *)"x\0y", .value_len = 3};
    output_result(o, 5, &cmd, &res);
    cluster_entry e[2] = {
        {.key = (uint8_t *)"k1", .key_len = 2, .value = (uint8_t *)"\"q\"", .value_len = 3},
        {.key = (uint8_t *)"\xc3\xa9", .key_len = 2, .value = (uint8_t *)"\xc3", .value_len = 1},
    };
    script_cmd ps = {.kind = SCRIPT_CMD_PRINT_STORE, .name = "printStore", .id = {9, 0}};
    res = (cluster_result){.has_store = true, .entries = e, .n_entries = 2};
    output_result(o, 6, &ps, &res);
    /* A printStore that failed (no store) and other commands print nothing. */
    res = (cluster_result){0};
    output_result(o, 7, &ps, &res);
    script_cmd put = {.kind = SCRIPT_CMD_PUT, .name = "put"};
    output_result(o, 8, &put, &res);
    output_failure(o, 9, "stablize", "unknown command (did you mean 'stabilize'?)");
    output_failure(o, 10, "\\xff", "bad \xff byte");
    /* Without --echo, no echo. */
    output_echo(o, 11, "get 7 a", 7);
    close_capture(&c, o);
    const char *want =
        "{\"line\":3,\"cmd\":\"get\",\"client\":7,\"key\":\"a:b\",\"value\":\"ERR_KEY\"}\n"
        "{\"line\":4,\"cmd\":\"get\",\"client\":7,\"key\":\"a\",\"error\":\"ERR_DEP\"}\n"
        "{\"line\":5,\"cmd\":\"get\",\"client\":7,\"key\":{\"hex\":\"ff\"},\"value\":\"x\\u0000y\"}\n"
        "{\"line\":6,\"cmd\":\"printStore\",\"server\":9,\"key\":\"k1\",\"value\":\"\\\"q\\\"\"}\n"
        "{\"line\":6,\"cmd\":\"printStore\",\"server\":9,\"key\":\"\xc3\xa9\",\"value\":{\"hex\":"
        "\"c3\"}}\n"
        "{\"line\":9,\"cmd\":\"stablize\",\"failed\":\"unknown command (did you mean "
        "'stabilize'?)\"}\n"
        "{\"line\":10,\"cmd\":\"\\\\xff\",\"failed\":{\"hex\":\"62616420ff2062797465\"}}\n";
    CU_ASSERT_STRING_EQUAL(c.text, want);
    if (strcmp(c.text, want) != 0)
        fprintf(stderr, "\n  got:\n%s\n  want:\n%s\n", c.text, want);
    free(c.text);
}

static void test_echo(void)
{
    capture c;
    output *o = open_capture(&c, OUTPUT_TEXT, true);
    CU_ASSERT(output_results_stream(o) == c.f);
    output_echo(o, 1, " \tput 1 k v # note \r", 20);
    output_echo(o, 2, "stabilize", 9);
    output_echo(o, 3, "   ", 3); /* all blank: an empty echo, never out of bounds */
    output_echo(o, 4, "get 1 k\0tail", 7); /* only len bytes */
    /* Text results come from cluster_exec, not from here. */
    script_cmd cmd = get_cmd("k");
    cluster_result res = {.get_status = "ok", .value = (const uint8_t *)"v", .value_len = 1};
    output_result(o, 4, &cmd, &res);
    output_failure(o, 5, "put", "failed");
    close_capture(&c, o);
    CU_ASSERT_STRING_EQUAL(c.text, "> put 1 k v # note\n> stabilize\n> \n> get 1 k\n");
    free(c.text);

    o = open_capture(&c, OUTPUT_JSON, true);
    output_echo(o, 12, "put 1 k \xfe", 9);
    output_echo(o, 13, " get 1 k", 8);
    close_capture(&c, o);
    CU_ASSERT_STRING_EQUAL(c.text, "{\"line\":12,\"echo\":{\"hex\":\"7075742031206b20fe\"}}\n"
                                   "{\"line\":13,\"echo\":\"get 1 k\"}\n");
    free(c.text);
}

void add_output_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"--output: text, json, and bad names", test_parse_format},
        {"JSON results, failures, bytes that are not UTF-8", test_json_results},
        {"--echo as text and as JSON", test_echo},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("output", NULL, NULL, tests);
}
