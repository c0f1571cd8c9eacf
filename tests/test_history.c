/* history: the records master --history writes, built from a parsed
 * command and a cluster_result. bin/check and the tests' jq reads depend on
 * this exact format, field order included. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../master/history.h"
#include "tests.h"

/* A history written to a fresh directory, then read back. */
typedef struct scratch_history {
    char *dir;
    char path[512];
    history *h;
} scratch_history;

static history *scratch_open(scratch_history *sh)
{
    sh->dir = tests_mkdtemp();
    CU_ASSERT_PTR_NOT_NULL_FATAL(sh->dir);
    snprintf(sh->path, sizeof sh->path, "%s/h.jsonl", sh->dir);
    dkv_err err;
    sh->h = history_open(sh->path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sh->h);
    return sh->h;
}

/* Closes the history, puts what it holds in out (cut to cap - 1 bytes)
 * and removes its directory. */
static void scratch_read_back(scratch_history *sh, char *out, size_t cap)
{
    history_close(sh->h);
    FILE *f = fopen(sh->path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
    tests_rmtree(sh->dir);
}

/* Writes one record of line text (parsed; res NULL when it must not be) to
 * a fresh history and returns the file's contents (static buffer). */
static const char *record(const char *text, const cluster_result *res, bool ok,
                          const char *error)
{
    static char out[4096];
    scratch_history sh;
    history *h = scratch_open(&sh);
    dkv_err err;
    char line[256];
    snprintf(line, sizeof line, "%s", text);
    size_t len = strlen(line);
    script_cmd cmd;
    script_parse(line, len, &cmd, &err); /* tokenizes its copy in place */
    history_line hl = {.number = 7,
                       .text = (const uint8_t *)text,
                       .len = len,
                       .cmd = &cmd,
                       .res = res,
                       .start_us = 10,
                       .end_us = 25,
                       .ok = ok,
                       .error = error};
    CU_ASSERT_EQUAL(history_write_line(h, &hl, &err), 0);
    CU_ASSERT_EQUAL(history_write_end(h, 7, ok ? 0 : 1, false, &err), 0);
    scratch_read_back(&sh, out, sizeof out);
    return out;
}

#define END_OK "{\"line\":8,\"text\":\"\",\"cmd\":\"end\",\"ok\":true,\"exit\":0,\"interrupted\":false}\n"
#define END_FAILED                                                                                 \
    "{\"line\":8,\"text\":\"\",\"cmd\":\"end\",\"ok\":true,\"exit\":1,\"interrupted\":false}\n"

static void test_put_and_get(void)
{
    cluster_result res = {.has_server = true, .server = 3, .has_reply = true,
                          .version = {4, 3}, .dep_before = {0, 0}, .dep_after = {4, 3}};
    CU_ASSERT_STRING_EQUAL(
        record("put 9 k v", &res, true, NULL),
        "{\"line\":7,\"text\":\"put 9 k v\",\"client\":9,\"key\":\"k\",\"value\":\"v\","
        "\"server\":3,\"version\":[4,3],\"dep_before\":null,\"dep_after\":[4,3],"
        "\"cmd\":\"put\",\"start_us\":10,\"end_us\":25,\"ok\":true}\n" END_OK);
    res.get_status = "ok";
    res.value = (const uint8_t *)"v\xff";
    res.value_len = 2;
    res.dep_before = res.version;
    CU_ASSERT_STRING_EQUAL(
        record("get 9 k", &res, true, NULL),
        "{\"line\":7,\"text\":\"get 9 k\",\"client\":9,\"key\":\"k\",\"server\":3,"
        "\"result\":\"ok\",\"value\":{\"hex\":\"76ff\"},\"version\":[4,3],\"dep_before\":[4,3],"
        "\"dep_after\":[4,3],\"cmd\":\"get\",\"start_us\":10,\"end_us\":25,\"ok\":true}\n" END_OK);
    /* ERR_KEY: no value; a failure before the client answered: what is
     * known so far, then the error. */
    res.get_status = "ERR_KEY";
    res.version = res.dep_before = res.dep_after = (dkv_version){0, 0};
    CU_ASSERT_STRING_EQUAL(
        record("get 9 k", &res, true, NULL),
        "{\"line\":7,\"text\":\"get 9 k\",\"client\":9,\"key\":\"k\",\"server\":3,"
        "\"result\":\"ERR_KEY\",\"version\":null,\"dep_before\":null,\"dep_after\":null,"
        "\"cmd\":\"get\",\"start_us\":10,\"end_us\":25,\"ok\":true}\n" END_OK);
    cluster_result none = {0};
    CU_ASSERT_STRING_EQUAL(
        record("put 9 k v", &none, false, "client 9 is not connected to a server"),
        "{\"line\":7,\"text\":\"put 9 k v\",\"client\":9,\"key\":\"k\",\"value\":\"v\","
        "\"cmd\":\"put\",\"start_us\":10,\"end_us\":25,\"ok\":false,"
        "\"error\":\"client 9 is not connected to a server\"}\n" END_FAILED);
}

static void test_topology_and_store(void)
{
    uint64_t servers[] = {1, 2, 5};
    size_t group_of[] = {0, 1, 0};
    cluster_result res = {.servers = servers, .group_of = group_of, .n_servers = 3,
                          .n_groups = 2};
    CU_ASSERT_STRING_EQUAL(record("stabilize", &res, true, NULL),
                           "{\"line\":7,\"text\":\"stabilize\",\"groups\":[[1,5],[2]],"
                           "\"cmd\":\"stabilize\",\"start_us\":10,\"end_us\":25,\"ok\":true}\n"
                           END_OK);
    cluster_entry entries[] = {{(uint8_t *)"a", (uint8_t *)"1", 1, 1, {2, 5}}};
    cluster_result store = {.has_store = true, .entries = entries, .n_entries = 1};
    CU_ASSERT_STRING_EQUAL(record("printStore 5", &store, true, NULL),
                           "{\"line\":7,\"text\":\"printStore 5\",\"server\":5,"
                           "\"store\":[[\"a\",\"1\",[2,5]]],\"cmd\":\"printStore\","
                           "\"start_us\":10,\"end_us\":25,\"ok\":true}\n" END_OK);
    cluster_result none = {0};
    CU_ASSERT_STRING_EQUAL(record("breakConnection 1 2", &none, true, NULL),
                           "{\"line\":7,\"text\":\"breakConnection 1 2\",\"a\":1,\"b\":2,"
                           "\"cmd\":\"breakConnection\",\"start_us\":10,\"end_us\":25,"
                           "\"ok\":true}\n" END_OK);
    CU_ASSERT_STRING_EQUAL(record("joinClient 9 1", &none, true, NULL),
                           "{\"line\":7,\"text\":\"joinClient 9 1\",\"client\":9,\"server\":1,"
                           "\"cmd\":\"joinClient\",\"start_us\":10,\"end_us\":25,\"ok\":true}\n"
                           END_OK);
    /* A line that did not parse records only what it said. */
    CU_ASSERT_STRING_EQUAL(record("put 9", NULL, false, "expected 3 arguments"),
                           "{\"line\":7,\"text\":\"put 9\",\"cmd\":\"put\",\"start_us\":10,"
                           "\"end_us\":25,\"ok\":false,\"error\":\"expected 3 arguments\"}\n"
                           END_FAILED);
}

/* Events: a died record (server or client) and a lost record, with the
 * ids that died with the machine. */
static void test_events(void)
{
    scratch_history sh;
    history *h = scratch_open(&sh);
    dkv_err err;
    cluster_event died = {.kind = CLUSTER_EV_DIED, .at_us = 5, .machine = "machine local (x:1)",
                          .server = true, .id = 3, .cause = "killed by signal 9"};
    uint64_t servers[] = {2, 5}, clients[] = {20};
    cluster_event lost = {.kind = CLUSTER_EV_LOST, .at_us = 6, .machine = "machine m2 (h:7)",
                          .why = "connection closed by peer", .servers = servers,
                          .clients = clients, .n_servers = 2, .n_clients = 1};
    CU_ASSERT_EQUAL(history_write_event(h, 4, &died, &err), 0);
    died.server = false;
    died.id = 7;
    CU_ASSERT_EQUAL(history_write_event(h, 4, &died, &err), 0);
    CU_ASSERT_EQUAL(history_write_event(h, 5, &lost, &err), 0);
    char out[2048];
    scratch_read_back(&sh, out, sizeof out);
    CU_ASSERT_STRING_EQUAL(
        out,
        "{\"line\":4,\"text\":\"\",\"cmd\":\"died\",\"start_us\":5,\"end_us\":5,\"ok\":true,"
        "\"machine\":\"machine local (x:1)\",\"server\":3,\"cause\":\"killed by signal 9\"}\n"
        "{\"line\":4,\"text\":\"\",\"cmd\":\"died\",\"start_us\":5,\"end_us\":5,\"ok\":true,"
        "\"machine\":\"machine local (x:1)\",\"client\":7,\"cause\":\"killed by signal 9\"}\n"
        "{\"line\":5,\"text\":\"\",\"cmd\":\"lost\",\"start_us\":6,\"end_us\":6,\"ok\":true,"
        "\"machine\":\"machine m2 (h:7)\",\"why\":\"connection closed by peer\","
        "\"servers\":[2,5],\"clients\":[20]}\n");
}

void add_history_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"put and get records", test_put_and_get},
        {"topology and store records", test_topology_and_store},
        {"died and lost records", test_events},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("history", NULL, NULL, tests);
}
