/* config: the cluster file of master --config (master/config.h), and the
 * JSON position finder behind its error messages (common/jsonpos.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonpos.h"
#include "../master/config.h"
#include "tests.h"

static void test_jsonpos(void)
{
    const char *t = "{\n  \"a\": [1, {\"b\": \"x\"}],\n  \"c\\\"d\": true,\n  \"e\": {}\n}";
    int line = 0, col = 0;
    CU_ASSERT(jsonpos_find(t, strlen(t), NULL, 0, &line, &col));
    CU_ASSERT(line == 1 && col == 1);
    jsonpos_step a1b[] = {{"a", 0}, {NULL, 1}, {"b", 0}};
    CU_ASSERT(jsonpos_find(t, strlen(t), a1b, 3, &line, &col));
    CU_ASSERT_EQUAL(line, 2);
    CU_ASSERT_EQUAL(col, 18);
    jsonpos_step a0[] = {{"a", 0}, {NULL, 0}};
    CU_ASSERT(jsonpos_find(t, strlen(t), a0, 2, &line, &col));
    CU_ASSERT(line == 2 && col == 9);
    jsonpos_step cd[] = {{"c\"d", 0}};
    CU_ASSERT(jsonpos_find(t, strlen(t), cd, 1, &line, &col));
    CU_ASSERT(line == 3 && col == 11);
    jsonpos_step e[] = {{"e", 0}};
    CU_ASSERT(jsonpos_find(t, strlen(t), e, 1, &line, &col));
    CU_ASSERT(line == 4 && col == 8);
    /* Absent paths, and text that is not JSON, find nothing. */
    jsonpos_step a5[] = {{"a", 0}, {NULL, 5}};
    CU_ASSERT_FALSE(jsonpos_find(t, strlen(t), a5, 2, &line, &col));
    jsonpos_step zz[] = {{"zz", 0}};
    CU_ASSERT_FALSE(jsonpos_find(t, strlen(t), zz, 1, &line, &col));
    CU_ASSERT_FALSE(jsonpos_find("{\"a\"", 4, e, 1, &line, &col));
    CU_ASSERT_FALSE(jsonpos_find("", 0, NULL, 0, &line, &col));
}

static config *parse(const char *text, dkv_err *err)
{
    return config_parse("cluster.json", text, strlen(text), "/etc/dkv", err);
}

static void test_valid(void)
{
    const char *t = "{\"secret_file\": \"secret\",\n"
                    " \"machines\": [{\"name\": \"m1\", \"watchdog\": \"10.0.0.1:7401\"},\n"
                    "              {\"name\": \"m2\", \"watchdog\": \"[::1]:7402\"},\n"
                    "              {\"name\": \"m3\", \"watchdog\": \"h3.example:1\"}],\n"
                    " \"servers\": {\"m2\": [7, 8]},\n"
                    " \"clients\": {\"m3\": [70]}}";
    dkv_err err = {{0}};
    config *c = parse(t, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(config_secret_file(c), "/etc/dkv/secret");
    CU_ASSERT_EQUAL(config_machines(c), 3);
    CU_ASSERT_STRING_EQUAL(config_machine_at(c, 1)->host, "::1");
    CU_ASSERT_EQUAL(config_machine_at(c, 1)->port, 7402);
    CU_ASSERT_STRING_EQUAL(config_machine_at(c, 2)->host, "h3.example");
    CU_ASSERT_EQUAL(config_listed(c, 7, true), 1);
    CU_ASSERT_EQUAL(config_listed(c, 7, false), -1);
    CU_ASSERT_EQUAL(config_listed(c, 70, false), 2);
    CU_ASSERT_EQUAL(config_listed(c, 1, true), -1);
    size_t m = 99;
    /* Listed ids go where listed; unlisted servers take turns over the
     * machines; an unlisted client follows its first server; placements
     * stick. */
    static const struct {
        uint64_t id;
        bool server;
        size_t server_machine; /* a client's server's machine */
        size_t machine;
    } places[] = {
        {8, true, 0, 1},
        {1, true, 0, 0},
        {2, true, 0, 1},
        {3, true, 0, 2},
        {4, true, 0, 0},
        {2, true, 0, 1},
        {50, false, 2, 2},
        {70, false, 0, 2},
    };
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        CU_ASSERT_EQUAL(config_place(c, places[i].id, places[i].server, places[i].server_machine,
                                     &m, &err),
                        0);
        CU_ASSERT_EQUAL(m, places[i].machine);
    }
    /* The file says 7 is a server: it cannot become a client. */
    CU_ASSERT_EQUAL(config_place(c, 7, false, 0, &m, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "as a server"));
    config_free(c);
    /* default_machine takes every unlisted id. */
    c = parse("{\"secret_file\": \"/s\", \"machines\": [{\"name\": \"a\", \"watchdog\": \"h:1\"},"
              "{\"name\": \"b\", \"watchdog\": \"h:2\"}], \"default_machine\": \"b\"}",
              &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(config_secret_file(c), "/s");
    for (uint64_t id = 0; id < 4; id++) {
        CU_ASSERT_EQUAL(config_place(c, id, id % 2, 0, &m, &err), 0);
        CU_ASSERT_EQUAL(m, 1);
    }
    config_free(c);
}

/* Each bad file gives one error naming file:line:column and the field. */
static void test_errors(void)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"{\"secret_file\": \"s\",\n \"machines\": [}", "cluster.json:2:15: not valid JSON"},
        {"[]", "cluster.json:1:1: expected an object"},
        {"{\"machines\": [{\"name\": \"m\", \"watchdog\": \"h:1\"}]}",
         "cluster.json:1:1: secret_file: expected the path"},
        {"{\"secret_file\": 5, \"machines\": []}", "cluster.json:1:17: secret_file: expected"},
        {"{\"secret_file\": \"s\", \"machines\": []}", "cluster.json:1:34: machines: expected a non-empty"},
        {"{\"secret_file\": \"s\",\n \"machines\": [{\"name\": \"m1\",\n \"watchdog\": \"10.0.0.2\"}]}",
         "cluster.json:3:14: machines[0].watchdog: expected the watchdog's address"},
        {"{\"secret_file\": \"s\", \"machines\": [{\"name\": \"m\", \"watchdog\": \"h:0\"}]}",
         "machines[0].watchdog"},
        {"{\"secret_file\": \"s\", \"machines\": [{\"name\": \"m\", \"watchdog\": \"h:70000\"}]}",
         "machines[0].watchdog"},
        {"{\"secret_file\": \"s\", \"machines\": [{\"name\": \"m\", \"watchdog\": \"[::1:5\"}]}",
         "machines[0].watchdog"},
        {"{\"secret_file\": \"s\", \"machines\": [{\"name\": \"a b\", \"watchdog\": \"h:1\"}]}",
         "machines[0].name: expected a name"},
        {"{\"secret_file\": \"s\", \"machines\": [{\"name\": \"m\", \"watchdog\": \"h:1\"},\n"
         "{\"name\": \"m\", \"watchdog\": \"h:2\"}]}",
         "cluster.json:2:10: machines[1].name: machine 'm' is named twice"},
        {"{\"secret_file\": \"s\", \"machines\": [{\"name\": \"m\", \"watchdog\": \"h:1\", \"port\": 1}]}",
         "machines[0].port: unknown field"},
        {"{\"secret_file\": \"s\", \"machine\": [], \"machines\": []}", "machine: unknown field"},
        {"{\"secret_file\": \"s\", \"machines\": [{\"name\": \"m\", \"watchdog\": \"h:1\"}],\n"
         " \"servers\": {\"x\": [1]}}",
         "cluster.json:2:19: servers.x: no machine is named 'x'"},
        {"{\"secret_file\": \"s\", \"machines\": [{\"name\": \"m\", \"watchdog\": \"h:1\"}],\n"
         " \"servers\": {\"m\": [1, -2]}}",
         "cluster.json:2:23: servers.m[1]: expected an id"},
        {"{\"secret_file\": \"s\", \"machines\": [{\"name\": \"m\", \"watchdog\": \"h:1\"}],\n"
         " \"servers\": {\"m\": [1000000000000]}}",
         "servers.m[0]: expected an id"},
        {"{\"secret_file\": \"s\", \"machines\": [{\"name\": \"m\", \"watchdog\": \"h:1\"}],\n"
         " \"servers\": {\"m\": [4]}, \"clients\": {\"m\": [4]}}",
         "clients.m[0]: id 4 is placed twice"},
        {"{\"secret_file\": \"s\", \"machines\": [{\"name\": \"m\", \"watchdog\": \"h:1\"}],\n"
         " \"default_machine\": \"q\"}",
         "cluster.json:2:21: default_machine: expected the name"},
        {"{\"secret_file\": \"s\", \"secret_file\": \"t\", \"machines\": []}", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dkv_err err = {{0}};
        config *c = parse(bad[i].text, &err);
        CU_ASSERT_PTR_NULL(c);
        config_free(c);
        if (!strstr(err.msg, bad[i].want)) {
            CU_FAIL("unexpected message");
            fprintf(stderr, "\n  case %zu: got '%s', want '%s'\n", i, err.msg, bad[i].want);
        }
    }
}

static void test_load(void)
{
    dkv_err err = {{0}};
    CU_ASSERT_PTR_NULL(config_load("/no/such/cluster.json", &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/no/such/cluster.json: No such file"));
    char *dir = tests_mkdtemp();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/c.json", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{\"secret_file\": \"key\", \"machines\": [{\"name\": \"m\", \"watchdog\": \"h:9\"}]}",
          f);
    fclose(f);
    config *c = config_load(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    char want[4300];
    snprintf(want, sizeof want, "%s/key", dir);
    CU_ASSERT_STRING_EQUAL(config_secret_file(c), want);
    config_free(c);
    tests_rmtree(dir);
}

void add_config_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"JSON positions by path", test_jsonpos},
        {"a valid cluster file and placement", test_valid},
        {"each bad file: one error with file:line:column and field", test_errors},
        {"loading from disk, secret relative to the file", test_load},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("config", NULL, NULL, tests);
}
