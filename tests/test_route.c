/* route: link-state database, component and the shared spanning tree. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../server/route.h"
#include "tests.h"

#define NONE UINT64_MAX

/* Installs id's LSA with the given neighbours (inc 1, the given seq). */
static bool lsa(route *r, uint64_t id, uint64_t seq, const uint64_t *nb, size_t n)
{
    route_lsa l = {id, 1, seq, nb, n};
    return route_update(r, &l);
}

/* Installs a whole undirected graph: edges as pairs, ids 1..n_nodes. Each
 * node advertises every node it shares an edge with. */
static void graph(route *r, size_t n_nodes, const uint64_t (*edges)[2], size_t n_edges,
                  uint64_t seq)
{
    for (uint64_t id = 1; id <= n_nodes; id++) {
        uint64_t nb[16];
        size_t n = 0;
        for (size_t e = 0; e < n_edges; e++) {
            if (edges[e][0] == id)
                nb[n++] = edges[e][1];
            else if (edges[e][1] == id)
                nb[n++] = edges[e][0];
        }
        lsa(r, id, seq, nb, n);
    }
}

/* The unique parent of child in origin's tree among ids 1..n_nodes, NONE
 * when it has none, or 0 (never an id here) when it has several. */
static uint64_t parent_of(route *r, size_t n_nodes, uint64_t origin, uint64_t child)
{
    uint64_t found = NONE;
    for (uint64_t p = 1; p <= n_nodes; p++)
        if (route_is_parent(r, origin, p, child))
            found = found == NONE ? p : 0;
    return found;
}

/* Checks origin's whole tree against want[child-1] (NONE for the root). */
static void assert_tree(route *r, size_t n_nodes, uint64_t origin, const uint64_t *want)
{
    for (uint64_t c = 1; c <= n_nodes; c++) {
        uint64_t got = parent_of(r, n_nodes, origin, c);
        CU_ASSERT_EQUAL(got, want[c - 1]);
        if (got != want[c - 1])
            fprintf(stderr, "\n  origin %llu: parent of %llu is %lld, want %lld\n",
                    (unsigned long long)origin, (unsigned long long)c,
                    got == NONE ? -1LL : (long long)got,
                    want[c - 1] == NONE ? -1LL : (long long)want[c - 1]);
    }
}

static void test_mutual_edges_only(void)
{
    route *r = route_new(1);
    uint64_t n1[] = {2, 3}, n2[] = {1}, n3[] = {4}, n4[] = {3};
    lsa(r, 1, 1, n1, 2);
    lsa(r, 2, 1, n2, 1);
    lsa(r, 3, 1, n3, 1); /* 3 does not list 1: no edge 1-3 */
    lsa(r, 4, 1, n4, 1);
    CU_ASSERT(route_in_component(r, 1));
    CU_ASSERT(route_in_component(r, 2));
    CU_ASSERT_FALSE(route_in_component(r, 3));
    CU_ASSERT_FALSE(route_in_component(r, 4));
    CU_ASSERT_FALSE(route_in_component(r, 99)); /* unknown id */
    /* Now 3 lists 1 as well: 3 and, through it, 4 join. */
    uint64_t n3b[] = {4, 1};
    CU_ASSERT(lsa(r, 3, 2, n3b, 2));
    CU_ASSERT(route_in_component(r, 3));
    CU_ASSERT(route_in_component(r, 4));
    /* 1 listing a server that has no LSA gives no edge either. */
    uint64_t n1b[] = {2, 3, 50};
    lsa(r, 1, 2, n1b, 3);
    CU_ASSERT_FALSE(route_in_component(r, 50));
    route_free(r);
}

static void test_component(void)
{
    route *r = route_new(5);
    /* Self only. */
    lsa(r, 5, 1, NULL, 0);
    uint64_t out[8];
    CU_ASSERT_EQUAL(route_component(r, out, 8), 1);
    CU_ASSERT_EQUAL(out[0], 5);
    /* Two components: {2,5,9} and {3,7}; only self's is reported. */
    uint64_t n5[] = {9, 2}, n2[] = {5}, n9[] = {5}, n3[] = {7}, n7[] = {3};
    lsa(r, 5, 2, n5, 2);
    lsa(r, 2, 1, n2, 1);
    lsa(r, 9, 1, n9, 1);
    lsa(r, 3, 1, n3, 1);
    lsa(r, 7, 1, n7, 1);
    size_t n = route_component(r, out, 8);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(out[0], 2);
    CU_ASSERT_EQUAL(out[1], 5);
    CU_ASSERT_EQUAL(out[2], 9);
    /* A short buffer still gets the true size, and only cap ids written. */
    out[1] = 12345;
    CU_ASSERT_EQUAL(route_component(r, out, 1), 3);
    CU_ASSERT_EQUAL(out[0], 2);
    CU_ASSERT_EQUAL(out[1], 12345);
    CU_ASSERT_FALSE(route_in_component(r, 3));
    CU_ASSERT_FALSE(route_in_component(r, 7));
    route_free(r);
}

static void test_no_self_lsa(void)
{
    /* Without its own LSA, self knows of no component at all. */
    route *r = route_new(1);
    uint64_t n2[] = {3}, n3[] = {2};
    lsa(r, 2, 1, n2, 1);
    lsa(r, 3, 1, n3, 1);
    uint64_t out[4];
    CU_ASSERT_EQUAL(route_component(r, out, 4), 0);
    CU_ASSERT_FALSE(route_is_parent(r, 2, 2, 3));
    route_free(r);
}

static void test_replace(void)
{
    route *r = route_new(1);
    uint64_t a[] = {2}, b[] = {3};
    route_lsa forged = {7, 1000000, 9, NULL, 0};
    CU_ASSERT(route_update(r, &forged));
    /* The originator's own LSA wins although it compares older. */
    route_lsa own = {7, 3, 2, a, 1};
    CU_ASSERT_FALSE(route_update(r, &own));
    uint64_t v = route_version(r);
    CU_ASSERT(route_replace(r, &own));
    CU_ASSERT(route_version(r) != v);
    route_lsa got = route_lsa_at(r, 0);
    CU_ASSERT_EQUAL(got.incarnation, 3);
    CU_ASSERT_EQUAL(got.seq, 2);
    CU_ASSERT_EQUAL(got.n_neighbours, 1);
    /* The very same LSA again changes nothing. */
    v = route_version(r);
    route_lsa same = {7, 3, 2, b, 1};
    CU_ASSERT_FALSE(route_replace(r, &same));
    CU_ASSERT_EQUAL(route_version(r), v);
    route_free(r);
}

static void test_newer_wins(void)
{
    route *r = route_new(1);
    uint64_t a[] = {2}, b[] = {3}, c[] = {4};
    route_lsa l = {7, 1, 5, a, 1};
    uint64_t v0 = route_version(r);
    CU_ASSERT(route_update(r, &l));
    uint64_t v1 = route_version(r);
    CU_ASSERT(v1 != v0);
    /* Older seq, equal seq: ignored, version unchanged. */
    l = (route_lsa){7, 1, 4, b, 1};
    CU_ASSERT_FALSE(route_update(r, &l));
    l = (route_lsa){7, 1, 5, b, 1};
    CU_ASSERT_FALSE(route_update(r, &l));
    CU_ASSERT_EQUAL(route_version(r), v1);
    CU_ASSERT_EQUAL(route_lsa_count(r), 1);
    route_lsa got = route_lsa_at(r, 0);
    CU_ASSERT_EQUAL(got.seq, 5);
    CU_ASSERT_EQUAL(got.n_neighbours, 1);
    CU_ASSERT_EQUAL(got.neighbours[0], 2);
    /* A new incarnation wins even with a lower seq (restart). */
    l = (route_lsa){7, 2, 1, c, 1};
    CU_ASSERT(route_update(r, &l));
    CU_ASSERT(route_version(r) != v1);
    got = route_lsa_at(r, 0);
    CU_ASSERT_EQUAL(got.incarnation, 2);
    CU_ASSERT_EQUAL(got.seq, 1);
    CU_ASSERT_EQUAL(got.neighbours[0], 4);
    /* And the old incarnation, however high its seq, is ignored after. */
    l = (route_lsa){7, 1, 1000, a, 1};
    CU_ASSERT_FALSE(route_update(r, &l));
    CU_ASSERT_EQUAL(route_lsa_at(r, 0).incarnation, 2);
    route_free(r);
}

static void test_lsa_copied_and_sorted(void)
{
    route *r = route_new(1);
    uint64_t nb[] = {9, 3, 6};
    lsa(r, 4, 1, nb, 3);
    nb[0] = 100; /* the route keeps its own copy */
    lsa(r, 2, 1, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(route_lsa_count(r), 2);
    /* LSAs are kept sorted by id; neighbours sorted ascending. */
    CU_ASSERT_EQUAL(route_lsa_at(r, 0).id, 2);
    route_lsa l = route_lsa_at(r, 1);
    CU_ASSERT_EQUAL(l.id, 4);
    CU_ASSERT_EQUAL_FATAL(l.n_neighbours, 3);
    CU_ASSERT_EQUAL(l.neighbours[0], 3);
    CU_ASSERT_EQUAL(l.neighbours[1], 6);
    CU_ASSERT_EQUAL(l.neighbours[2], 9);
    route_free(r);
}

static void test_chain(void)
{
    static const uint64_t e[][2] = {{1, 2}, {2, 3}, {3, 4}};
    route *r = route_new(3);
    graph(r, 4, e, 3, 1);
    static const uint64_t from1[] = {NONE, 1, 2, 3};
    static const uint64_t from4[] = {2, 3, 4, NONE};
    static const uint64_t from2[] = {2, NONE, 2, 3};
    assert_tree(r, 4, 1, from1);
    assert_tree(r, 4, 4, from4);
    assert_tree(r, 4, 2, from2);
    route_free(r);
}

static void test_ring5(void)
{
    static const uint64_t e[][2] = {{1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 1}};
    route *r = route_new(1);
    graph(r, 5, e, 5, 1);
    /* The tree is breadth-first from 1: 2 and 5 under 1, 3 under 2, 4 under
     * 5; the edge 3-4 is not in it. From 3, updates go 3-2-1-5-4. */
    static const uint64_t from1[] = {NONE, 1, 2, 5, 1};
    static const uint64_t from3[] = {2, 3, NONE, 5, 1};
    assert_tree(r, 5, 1, from1);
    assert_tree(r, 5, 3, from3);
    route_free(r);
}

/* An even ring has a node at equal distance both ways from the tree's root:
 * it hangs under the lower-id neighbour, for every origin. */
static void test_ring6_tie(void)
{
    static const uint64_t e[][2] = {{1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}, {6, 1}};
    route *r = route_new(2);
    graph(r, 6, e, 6, 1);
    static const uint64_t from1[] = {NONE, 1, 2, 3, 6, 1}; /* 4: via 3, not 5 */
    static const uint64_t from6[] = {6, 1, 2, 3, 6, NONE}; /* 4: via 3 too */
    assert_tree(r, 6, 1, from1);
    assert_tree(r, 6, 6, from6);
    route_free(r);
}

static void test_star(void)
{
    /* Centre 1, leaves 2..5. */
    static const uint64_t e[][2] = {{1, 2}, {1, 3}, {1, 4}, {1, 5}};
    route *r = route_new(4);
    graph(r, 5, e, 4, 1);
    static const uint64_t from1[] = {NONE, 1, 1, 1, 1};
    static const uint64_t from3[] = {3, 1, NONE, 1, 1};
    assert_tree(r, 5, 1, from1);
    assert_tree(r, 5, 3, from3);
    route_free(r);
}

static void test_complete4(void)
{
    static const uint64_t e[][2] = {{1, 2}, {1, 3}, {1, 4}, {2, 3}, {2, 4}, {3, 4}};
    route *r = route_new(1);
    graph(r, 4, e, 6, 1);
    /* One tree for all origins: the star around 1. An update from 2 goes to
     * 1, which passes it to 3 and 4. */
    for (uint64_t origin = 1; origin <= 4; origin++) {
        uint64_t want[4];
        for (uint64_t c = 1; c <= 4; c++)
            want[c - 1] = c == origin ? NONE : c == 1 ? origin : 1;
        assert_tree(r, 4, origin, want);
    }
    route_free(r);
}

static void test_ring_break(void)
{
    static const uint64_t e[][2] = {{1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 1}};
    route *r = route_new(3);
    graph(r, 5, e, 5, 1);
    static const uint64_t before[] = {NONE, 1, 2, 5, 1};
    assert_tree(r, 5, 1, before);
    /* Only 1 drops the link: one end withdrawing is enough to cut it. */
    uint64_t n1[] = {5};
    uint64_t v = route_version(r);
    CU_ASSERT(lsa(r, 1, 2, n1, 1));
    CU_ASSERT(route_version(r) != v);
    static const uint64_t after[] = {NONE, 3, 4, 5, 1}; /* 1-5-4-3-2 */
    assert_tree(r, 5, 1, after);
    CU_ASSERT_FALSE(route_is_parent(r, 1, 1, 2));
    /* Healing the link restores the first tree. */
    uint64_t n1b[] = {2, 5};
    lsa(r, 1, 3, n1b, 2);
    assert_tree(r, 5, 1, before);
    /* Cutting two links splits the ring: self (3) loses 1 and 5. */
    uint64_t n2[] = {3}, n4[] = {3};
    lsa(r, 2, 2, n2, 1);
    lsa(r, 4, 2, n4, 1);
    CU_ASSERT_FALSE(route_in_component(r, 1));
    CU_ASSERT_FALSE(route_in_component(r, 5));
    CU_ASSERT_FALSE(route_is_parent(r, 1, 1, 5)); /* outside self's component */
    static const uint64_t from3[] = {NONE, 3, NONE, 3, NONE};
    assert_tree(r, 5, 3, from3);
    route_free(r);
}

static void test_is_parent_edges(void)
{
    static const uint64_t e[][2] = {{1, 2}, {2, 3}};
    route *r = route_new(1);
    graph(r, 3, e, 2, 1);
    CU_ASSERT_FALSE(route_is_parent(r, 1, 1, 1)); /* the root has no parent */
    CU_ASSERT_FALSE(route_is_parent(r, 1, 1, 3)); /* not adjacent */
    CU_ASSERT_FALSE(route_is_parent(r, 1, 3, 2)); /* child, not parent */
    CU_ASSERT_FALSE(route_is_parent(r, 1, 2, 77)); /* unknown child */
    CU_ASSERT_FALSE(route_is_parent(r, 77, 1, 2)); /* unknown origin */
    CU_ASSERT(route_is_parent(r, 1, 2, 3));
    route_free(r);
}

void add_route_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"edges need both ends", test_mutual_edges_only},
        {"component of self", test_component},
        {"no own LSA, no component", test_no_self_lsa},
        {"newer (incarnation, seq) wins", test_newer_wins},
        {"the originator's LSA replaces any", test_replace},
        {"LSAs copied, neighbours sorted", test_lsa_copied_and_sorted},
        {"chain 1-2-3-4", test_chain},
        {"ring of 5", test_ring5},
        {"ring of 6: tie to the lowest id", test_ring6_tie},
        {"star", test_star},
        {"complete graph of 4", test_complete4},
        {"breaking a ring link changes parents", test_ring_break},
        {"is_parent corner cases", test_is_parent_edges},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("route", NULL, NULL, tests);
}
