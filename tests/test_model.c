/* model: the master's view of roles, liveness, cuts, clients and groups. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../common/ids.h"
#include "../master/model.h"
#include "tests.h"

static void test_roles(void)
{
    model *m = model_new();
    CU_ASSERT_EQUAL(model_role_of(m, 0), MODEL_ROLE_NONE);
    CU_ASSERT_EQUAL(model_role_of(m, DKV_ID_MAX), MODEL_ROLE_NONE);
    CU_ASSERT_FALSE(model_server_live(m, 0));
    model_server_up(m, 3);
    model_client_add(m, 7);
    model_server_up(m, DKV_ID_MAX);
    model_client_add(m, 0);
    CU_ASSERT_EQUAL(model_role_of(m, 3), MODEL_ROLE_SERVER);
    CU_ASSERT_EQUAL(model_role_of(m, DKV_ID_MAX), MODEL_ROLE_SERVER);
    CU_ASSERT_EQUAL(model_role_of(m, 7), MODEL_ROLE_CLIENT);
    CU_ASSERT_EQUAL(model_role_of(m, 0), MODEL_ROLE_CLIENT);
    CU_ASSERT_EQUAL(model_role_of(m, 4), MODEL_ROLE_NONE);
    /* A client is never a live server. */
    CU_ASSERT_FALSE(model_server_live(m, 7));
    /* Adding a client twice keeps one entry and the role. */
    model_client_add(m, 7);
    CU_ASSERT_EQUAL(model_role_of(m, 7), MODEL_ROLE_CLIENT);
    uint64_t live[4];
    CU_ASSERT_EQUAL(model_live_servers(m, live, 4), 2);
    CU_ASSERT_EQUAL(live[0], 3);
    CU_ASSERT_EQUAL(live[1], DKV_ID_MAX);
    model_free(m);
    model_free(NULL);
}

static void test_up_down(void)
{
    model *m = model_new();
    model_server_up(m, 1);
    CU_ASSERT_TRUE(model_server_live(m, 1));
    model_server_down(m, 1);
    CU_ASSERT_FALSE(model_server_live(m, 1));
    /* A killed server stays a server: its id cannot become a client. */
    CU_ASSERT_EQUAL(model_role_of(m, 1), MODEL_ROLE_SERVER);
    model_server_up(m, 1);
    CU_ASSERT_TRUE(model_server_live(m, 1));
    /* Down of an unknown id creates nothing. */
    model_server_down(m, 99);
    CU_ASSERT_EQUAL(model_role_of(m, 99), MODEL_ROLE_NONE);
    CU_ASSERT_EQUAL(model_live_servers(m, NULL, 0), 1);
    model_free(m);
}

/* Many servers, inserted out of order: the listing is ascending and the
 * count is the full count even when cap is smaller. */
static void test_live_listing(void)
{
    model *m = model_new();
    enum { N = 300 };
    for (uint64_t i = 0; i < N; i++)
        model_server_up(m, (i * 7919) % N * 1000); /* a permutation of 0..N-1, x1000 */
    for (uint64_t i = 0; i < N; i += 3)
        model_server_down(m, i * 1000);
    static uint64_t live[N];
    size_t n = model_live_servers(m, live, N);
    CU_ASSERT_EQUAL(n, N - N / 3);
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (live[i] % 3000 == 0 || (i > 0 && live[i] <= live[i - 1]))
            bad++;
    CU_ASSERT_EQUAL(bad, 0);
    uint64_t few[3] = {0, 0, 0};
    CU_ASSERT_EQUAL(model_live_servers(m, few, 2), N - N / 3);
    CU_ASSERT_EQUAL(few[0], 1000);
    CU_ASSERT_EQUAL(few[1], 2000);
    CU_ASSERT_EQUAL(few[2], 0); /* not written beyond cap */
    CU_ASSERT_EQUAL(model_live_servers(m, NULL, 0), N - N / 3);
    model_free(m);
}

static void test_cuts_symmetric(void)
{
    model *m = model_new();
    for (uint64_t i = 1; i <= 3; i++)
        model_server_up(m, i);
    CU_ASSERT_FALSE(model_is_cut(m, 1, 2));
    model_set_cut(m, 2, 1, true);
    CU_ASSERT_TRUE(model_is_cut(m, 1, 2));
    CU_ASSERT_TRUE(model_is_cut(m, 2, 1));
    CU_ASSERT_FALSE(model_is_cut(m, 1, 3));
    CU_ASSERT_FALSE(model_is_cut(m, 2, 3));
    /* Cutting twice, in either order, then restoring once restores. */
    model_set_cut(m, 1, 2, true);
    model_set_cut(m, 2, 1, true);
    model_set_cut(m, 1, 2, false);
    CU_ASSERT_FALSE(model_is_cut(m, 1, 2));
    CU_ASSERT_FALSE(model_is_cut(m, 2, 1));
    /* Restoring an uncut link is harmless. */
    model_set_cut(m, 3, 1, false);
    CU_ASSERT_FALSE(model_is_cut(m, 1, 3));
    /* Many cuts, restored in another order. */
    enum { N = 40 };
    for (uint64_t a = 10; a < 10 + N; a++)
        for (uint64_t b = a + 1; b < 10 + N; b += 2)
            model_set_cut(m, b, a, true);
    int bad = 0;
    for (uint64_t a = 10; a < 10 + N; a++)
        for (uint64_t b = 10; b < 10 + N; b++) {
            bool want = a != b && ((a > b ? a - b : b - a) % 2 == 1);
            if (model_is_cut(m, a, b) != want)
                bad++;
        }
    CU_ASSERT_EQUAL(bad, 0);
    for (uint64_t a = 10; a < 10 + N; a += 2)
        for (uint64_t b = a + 1; b < 10 + N; b += 2)
            model_set_cut(m, a, b, false);
    bad = 0;
    for (uint64_t a = 10; a < 10 + N; a++)
        for (uint64_t b = a + 1; b < 10 + N; b++) {
            bool want = (b - a) % 2 == 1 && a % 2 == 1;
            if (model_is_cut(m, a, b) != want || model_is_cut(m, b, a) != want)
                bad++;
        }
    CU_ASSERT_EQUAL(bad, 0);
    model_free(m);
}

static void test_rejoin_clears_cuts(void)
{
    model *m = model_new();
    for (uint64_t i = 1; i <= 4; i++)
        model_server_up(m, i);
    model_set_cut(m, 1, 2, true);
    model_set_cut(m, 3, 1, true);
    model_set_cut(m, 2, 3, true);
    model_set_cut(m, 4, 2, true);
    model_server_down(m, 1);
    /* Killing alone does not forget the cuts. */
    CU_ASSERT_TRUE(model_is_cut(m, 1, 2));
    CU_ASSERT_TRUE(model_is_cut(m, 1, 3));
    model_server_up(m, 1);
    CU_ASSERT_FALSE(model_is_cut(m, 1, 2));
    CU_ASSERT_FALSE(model_is_cut(m, 2, 1));
    CU_ASSERT_FALSE(model_is_cut(m, 1, 3));
    CU_ASSERT_FALSE(model_is_cut(m, 3, 1));
    /* Cuts not involving it stay. */
    CU_ASSERT_TRUE(model_is_cut(m, 2, 3));
    CU_ASSERT_TRUE(model_is_cut(m, 2, 4));
    /* And they keep working after the compaction. */
    model_set_cut(m, 3, 2, false);
    CU_ASSERT_FALSE(model_is_cut(m, 2, 3));
    CU_ASSERT_TRUE(model_is_cut(m, 4, 2));
    model_free(m);
}

/* Runs model_groups into a fresh array and compares with want[]. */
static void check_groups(const model *m, size_t want_groups, const size_t *want, size_t n)
{
    size_t got[64];
    for (size_t i = 0; i < 64; i++)
        got[i] = 777;
    CU_ASSERT_EQUAL_FATAL(model_live_servers(m, NULL, 0), n);
    size_t g = model_groups(m, got, 64);
    CU_ASSERT_EQUAL(g, want_groups);
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            bad++;
    CU_ASSERT_EQUAL(bad, 0);
    if (g != want_groups || bad) {
        fprintf(stderr, "\n  groups %zu (want %zu):", g, want_groups);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %zu/%zu", got[i], want[i]);
        fprintf(stderr, "\n");
    }
    CU_ASSERT_EQUAL(got[n], 777);
}

static void test_groups_complete(void)
{
    model *m = model_new();
    check_groups(m, 0, NULL, 0);
    model_server_up(m, 4);
    check_groups(m, 1, (size_t[]){0}, 1);
    for (uint64_t i = 0; i < 4; i++)
        model_server_up(m, i);
    check_groups(m, 1, (size_t[]){0, 0, 0, 0, 0}, 5);
    /* Clients are not part of any group. */
    model_client_add(m, 9);
    model_client_attach(m, 9, 0);
    check_groups(m, 1, (size_t[]){0, 0, 0, 0, 0}, 5);
    model_free(m);
}

/* Blocks are directed. One way, the link carries data the other way but
 * joins no group (no route uses it); both ways, it is held at both ends,
 * like a paused server's links. Unblocking one direction leaves the other,
 * and a kill forgets both. */
static void test_blocks_one_way(void)
{
    model *m = model_new();
    model_server_up(m, 1);
    model_server_up(m, 2);
    model_set_blocked(m, 1, 2, true);
    CU_ASSERT(model_is_blocked(m, 1, 2));
    CU_ASSERT_FALSE(model_is_blocked(m, 2, 1));
    CU_ASSERT_FALSE(model_is_held(m, 1, 2) || model_is_held(m, 2, 1));
    CU_ASSERT(model_is_apart(m, 1, 2) && model_is_apart(m, 2, 1));
    check_groups(m, 2, (size_t[]){0, 1}, 2);
    model_set_blocked(m, 2, 1, false); /* not blocked that way: nothing */
    CU_ASSERT(model_is_blocked(m, 1, 2));
    model_set_blocked(m, 2, 1, true);
    CU_ASSERT(model_is_held(m, 1, 2) && model_is_held(m, 2, 1));
    model_set_blocked(m, 1, 2, false);
    CU_ASSERT_FALSE(model_is_held(m, 1, 2));
    CU_ASSERT(model_is_blocked(m, 2, 1) && model_is_apart(m, 1, 2));
    model_set_blocked(m, 2, 1, false);
    CU_ASSERT_FALSE(model_is_apart(m, 1, 2));
    check_groups(m, 1, (size_t[]){0, 0}, 2);
    /* A paused server's links are held whatever the blocks. */
    model_set_paused(m, 2, true);
    CU_ASSERT(model_is_held(m, 1, 2));
    model_set_paused(m, 2, false);
    model_set_blocked(m, 1, 2, true);
    model_set_blocked(m, 2, 1, true);
    model_server_down(m, 2);
    CU_ASSERT_FALSE(model_is_blocked(m, 1, 2) || model_is_blocked(m, 2, 1));
    model_free(m);
}

static void test_groups_chain(void)
{
    model *m = model_new();
    /* 1 - 2 - 3 - 4 - 5: every link but the chain's is cut. */
    for (uint64_t i = 1; i <= 5; i++)
        model_server_up(m, i);
    for (uint64_t a = 1; a <= 5; a++)
        for (uint64_t b = a + 2; b <= 5; b++)
            model_set_cut(m, a, b, true);
    check_groups(m, 1, (size_t[]){0, 0, 0, 0, 0}, 5);
    /* Break the middle link: {1,2,3} and {4,5}. */
    model_set_cut(m, 4, 3, true);
    check_groups(m, 2, (size_t[]){0, 0, 0, 1, 1}, 5);
    model_free(m);
}

static void test_groups_partitions(void)
{
    model *m = model_new();
    for (uint64_t i = 1; i <= 4; i++)
        model_server_up(m, i);
    /* {1,2} | {3,4} */
    for (uint64_t a = 1; a <= 2; a++)
        for (uint64_t b = 3; b <= 4; b++)
            model_set_cut(m, a, b, true);
    check_groups(m, 2, (size_t[]){0, 0, 1, 1}, 4);
    /* Heal, then {1,3} | {2,4}: numbers follow the lowest member. */
    for (uint64_t a = 1; a <= 2; a++)
        for (uint64_t b = 3; b <= 4; b++)
            model_set_cut(m, a, b, false);
    model_set_cut(m, 1, 2, true);
    model_set_cut(m, 1, 4, true);
    model_set_cut(m, 3, 2, true);
    model_set_cut(m, 3, 4, true);
    check_groups(m, 2, (size_t[]){0, 1, 0, 1}, 4);
    /* Isolate every server. */
    for (uint64_t a = 1; a <= 4; a++)
        for (uint64_t b = a + 1; b <= 4; b++)
            model_set_cut(m, a, b, true);
    check_groups(m, 4, (size_t[]){0, 1, 2, 3}, 4);
    /* A larger partition, {0..9 even} | {0..9 odd}, where the links inside
     * a side form a star so only transitivity joins some pairs. */
    model *n = model_new();
    for (uint64_t i = 0; i < 10; i++)
        model_server_up(n, i);
    for (uint64_t a = 0; a < 10; a++)
        for (uint64_t b = a + 1; b < 10; b++)
            if (a % 2 != b % 2 || (a > 1 && b > 1))
                model_set_cut(n, a, b, true);
    check_groups(n, 2, (size_t[]){0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, 10);
    model_free(n);
    model_free(m);
}

static void test_groups_dead_server(void)
{
    model *m = model_new();
    /* Chain 1 - 2 - 3; killing 2 splits it. */
    for (uint64_t i = 1; i <= 3; i++)
        model_server_up(m, i);
    model_set_cut(m, 1, 3, true);
    check_groups(m, 1, (size_t[]){0, 0, 0}, 3);
    model_server_down(m, 2);
    check_groups(m, 2, (size_t[]){0, 1}, 2);
    /* In a complete graph a dead server only drops out. */
    model_set_cut(m, 1, 3, false);
    check_groups(m, 1, (size_t[]){0, 0}, 2);
    model_server_down(m, 1);
    check_groups(m, 1, (size_t[]){0}, 1);
    model_server_down(m, 3);
    check_groups(m, 0, NULL, 0);
    /* The rejoined 2 is linked to everyone again. */
    model_server_up(m, 1);
    model_server_up(m, 3);
    model_set_cut(m, 1, 3, true);
    model_set_cut(m, 2, 1, true);
    model_set_cut(m, 2, 3, true);
    check_groups(m, 2, (size_t[]){0, 1}, 2);
    model_server_up(m, 2);
    check_groups(m, 1, (size_t[]){0, 0, 0}, 3);
    model_free(m);
}

static void test_groups_small_cap(void)
{
    model *m = model_new();
    for (uint64_t i = 1; i <= 4; i++)
        model_server_up(m, i);
    model_set_cut(m, 1, 2, true);
    model_set_cut(m, 1, 3, true);
    model_set_cut(m, 1, 4, true);
    CU_ASSERT_EQUAL(model_groups(m, NULL, 0), 2);
    size_t g[3] = {9, 9, 9};
    CU_ASSERT_EQUAL(model_groups(m, g, 2), 2);
    CU_ASSERT_EQUAL(g[0], 0);
    CU_ASSERT_EQUAL(g[1], 1);
    CU_ASSERT_EQUAL(g[2], 9);
    model_free(m);
}

static void test_clients(void)
{
    model *m = model_new();
    model_server_up(m, 1);
    model_server_up(m, 2);
    uint64_t sid = 12345;
    model_client_add(m, 10);
    CU_ASSERT_FALSE(model_client_server(m, 10, &sid));
    CU_ASSERT_EQUAL(sid, 12345);
    CU_ASSERT_EQUAL(model_clients_of(m, 1, NULL, 0), 0);
    model_client_add(m, 12);
    model_client_add(m, 11);
    model_client_add(m, 13);
    model_client_attach(m, 12, 1);
    model_client_attach(m, 10, 1);
    model_client_attach(m, 11, 1);
    model_client_attach(m, 13, 2);
    CU_ASSERT_TRUE(model_client_server(m, 10, &sid));
    CU_ASSERT_EQUAL(sid, 1);
    CU_ASSERT_TRUE(model_client_server(m, 13, &sid));
    CU_ASSERT_EQUAL(sid, 2);
    uint64_t out[8] = {0};
    CU_ASSERT_EQUAL(model_clients_of(m, 1, out, 8), 3);
    CU_ASSERT_EQUAL(out[0], 10);
    CU_ASSERT_EQUAL(out[1], 11);
    CU_ASSERT_EQUAL(out[2], 12);
    CU_ASSERT_EQUAL(model_clients_of(m, 2, out, 8), 1);
    CU_ASSERT_EQUAL(out[0], 13);
    /* cap smaller than the count: the full count, nothing written beyond. */
    uint64_t two[3] = {0, 0, 77};
    CU_ASSERT_EQUAL(model_clients_of(m, 1, two, 2), 3);
    CU_ASSERT_EQUAL(two[0], 10);
    CU_ASSERT_EQUAL(two[1], 11);
    CU_ASSERT_EQUAL(two[2], 77);
    /* Detach. */
    model_client_detach(m, 11);
    CU_ASSERT_FALSE(model_client_server(m, 11, &sid));
    CU_ASSERT_EQUAL(model_role_of(m, 11), MODEL_ROLE_CLIENT);
    CU_ASSERT_EQUAL(model_clients_of(m, 1, out, 8), 2);
    CU_ASSERT_EQUAL(out[0], 10);
    CU_ASSERT_EQUAL(out[1], 12);
    /* Switch servers. */
    model_client_attach(m, 10, 2);
    CU_ASSERT_TRUE(model_client_server(m, 10, &sid));
    CU_ASSERT_EQUAL(sid, 2);
    CU_ASSERT_EQUAL(model_clients_of(m, 1, out, 8), 1);
    CU_ASSERT_EQUAL(out[0], 12);
    CU_ASSERT_EQUAL(model_clients_of(m, 2, out, 8), 2);
    CU_ASSERT_EQUAL(out[0], 10);
    CU_ASSERT_EQUAL(out[1], 13);
    /* Reattach after detach. */
    model_client_attach(m, 11, 1);
    CU_ASSERT_TRUE(model_client_server(m, 11, &sid));
    CU_ASSERT_EQUAL(sid, 1);
    /* A killed server keeps its clients attached (they follow it when it
     * rejoins). */
    model_server_down(m, 2);
    CU_ASSERT_EQUAL(model_clients_of(m, 2, NULL, 0), 2);
    model_server_up(m, 2);
    CU_ASSERT_EQUAL(model_clients_of(m, 2, NULL, 0), 2);
    /* Servers are not clients, and an unknown id has no server. */
    CU_ASSERT_FALSE(model_client_server(m, 1, &sid));
    CU_ASSERT_FALSE(model_client_server(m, 555, &sid));
    model_client_detach(m, 555);
    CU_ASSERT_EQUAL(model_role_of(m, 555), MODEL_ROLE_NONE);
    CU_ASSERT_EQUAL(model_clients_of(m, 555, NULL, 0), 0);
    model_free(m);
}

/* Many clients and servers interleaved: the sorted insertion and growth of
 * the entry table keep every entry's fields. */
static void test_many_entries(void)
{
    model *m = model_new();
    enum { N = 1000 };
    for (uint64_t i = 0; i < N; i++) {
        uint64_t id = (i * 617) % N; /* a permutation */
        if (id % 2)
            model_client_add(m, id);
        else
            model_server_up(m, id);
    }
    for (uint64_t id = 1; id < N; id += 2)
        model_client_attach(m, id, (id / 2) % 10 * 2);
    int bad = 0;
    for (uint64_t id = 0; id < N; id++) {
        uint64_t sid;
        if (id % 2) {
            if (model_role_of(m, id) != MODEL_ROLE_CLIENT || !model_client_server(m, id, &sid) ||
                sid != (id / 2) % 10 * 2)
                bad++;
        } else if (model_role_of(m, id) != MODEL_ROLE_SERVER || !model_server_live(m, id)) {
            bad++;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(model_live_servers(m, NULL, 0), N / 2);
    CU_ASSERT_EQUAL(model_clients_of(m, 0, NULL, 0), N / 2 / 10);
    CU_ASSERT_EQUAL(model_groups(m, NULL, 0), 1);
    model_free(m);
}

/* A client whose process is gone stays a client, detached and not running,
 * until it is added (started) again. */
static void test_client_gone(void)
{
    model *m = model_new();
    model_server_up(m, 1);
    model_client_add(m, 10);
    model_client_attach(m, 10, 1);
    CU_ASSERT_TRUE(model_client_running(m, 10));
    model_client_gone(m, 10);
    uint64_t sid;
    CU_ASSERT_FALSE(model_client_running(m, 10));
    CU_ASSERT_FALSE(model_client_server(m, 10, &sid));
    CU_ASSERT_EQUAL(model_role_of(m, 10), MODEL_ROLE_CLIENT);
    CU_ASSERT_EQUAL(model_clients_of(m, 1, NULL, 0), 0);
    model_client_gone(m, 1); /* a server: nothing */
    CU_ASSERT_TRUE(model_server_live(m, 1));
    CU_ASSERT_FALSE(model_client_running(m, 1));
    model_client_add(m, 10);
    CU_ASSERT_TRUE(model_client_running(m, 10));
    model_free(m);
}

void add_model_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"roles", test_roles},
        {"a client gone stays a client, detached, until started again", test_client_gone},
        {"server up and down", test_up_down},
        {"live servers ascending, count beyond cap", test_live_listing},
        {"cuts are symmetric", test_cuts_symmetric},
        {"a rejoin clears the cuts involving it", test_rejoin_clears_cuts},
        {"groups: complete graph", test_groups_complete},
        {"groups: chain", test_groups_chain},
        {"blocks: one way apart, both ways held", test_blocks_one_way},
        {"groups: partitions", test_groups_partitions},
        {"groups: dead servers", test_groups_dead_server},
        {"groups: cap smaller than the count", test_groups_small_cap},
        {"clients attach, detach, switch", test_clients},
        {"many entries", test_many_entries},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("model", NULL, NULL, tests);
}
