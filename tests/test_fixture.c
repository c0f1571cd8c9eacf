/* fixture: randomized, seeded runs of the replication protocol on the
 * in-process fixture (fixture.h): convergence on several topologies, fault
 * injection with no acknowledged write lost, session guarantees for clients
 * that move between servers, and exact replay of a seed.
 *
 * Environment:
 *   FIXTURE_SEEDS=N   run N more seeds in the randomized tests (make soak)
 *   FIXTURE_SEED_START=S  the first of those N (default: right after the
 *                     fixed ones), so that soak runs can cover new ground
 *   FIXTURE_SEED=S    run only seed S in the randomized tests (replay)
 *   FIXTURE_TRACE=1   print every event of every run to stderr
 *   FIXTURE_VERBOSE=1 print each randomized run's statistics to stderr
 * A failing run prints "fixture seed S failed at step N: ..." and the
 * state of the fixture on stderr. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/xalloc.h"
#include "../server/peermsg.h"
#include "fixture.h"
#include "tests.h"

/* Seeds each randomized test runs by default. */
#define FAULT_SEEDS 30
#define SESSION_SEEDS 12
#define TOPOLOGY_SEEDS 3
/* Steps of random activity, and the budget for converging afterwards. */
#define FAULT_STEPS 4000
#define SESSION_STEPS 3000
#define CONVERGE_BUDGET 40000
#define SETTLE_ROUNDS 200

static size_t env_count(const char *name)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    return *end ? 0 : (size_t)v;
}

/* The seeds a randomized test runs: FIXTURE_SEED alone when set, else its
 * defaults (base, base+1, ...) plus FIXTURE_SEEDS more, from
 * FIXTURE_SEED_START when set. */
static size_t seed_list(uint64_t base, size_t dflt, uint64_t **out)
{
    const char *one = getenv("FIXTURE_SEED");
    if (one && *one) {
        *out = xmalloc(sizeof **out);
        (*out)[0] = strtoull(one, NULL, 10);
        return 1;
    }
    size_t extra = env_count("FIXTURE_SEEDS"), n = dflt + extra;
    const char *start = getenv("FIXTURE_SEED_START");
    uint64_t first = start && *start ? strtoull(start, NULL, 10) : base + dflt;
    *out = xcalloc(n ? n : 1, sizeof **out);
    for (size_t i = 0; i < dflt; i++)
        (*out)[i] = base + i;
    for (size_t i = 0; i < extra; i++)
        (*out)[dflt + i] = first + i;
    return n;
}

static fixture *new_fixture(uint64_t seed, size_t n, size_t keys)
{
    uint64_t ids[FIXTURE_MAX_NODES];
    fixture_random_ids(seed, n, ids);
    fixture *f = fixture_new(seed, n, ids, keys);
    if (getenv("FIXTURE_TRACE"))
        fixture_set_trace(f, stderr);
    return f;
}

/* Records a failed run as a CUnit failure naming the seed, and prints the
 * fixture's state. Returns false so callers can `return report(...)`. */
static bool report(fixture *f, const char *test, const char *what, int line)
{
    char msg[2600];
    const char *e = fixture_error(f);
    snprintf(msg, sizeof msg, "fixture seed %" PRIu64 " failed at step %zu (%s): %s: %s",
             fixture_seed(f), fixture_steps(f), test, what, e ? e : fixture_why(f));
    fprintf(stderr, "\n%s\n", msg);
    fixture_describe(f, stderr);
    CU_assertImplementation(CU_FALSE, (unsigned)line, msg, __FILE__, "", CU_FALSE);
    return false;
}
#define REPORT(f, test, what) report((f), (test), (what), __LINE__)

/* Scenario tests assert with CUnit directly; scenario_end names the seed
 * and dumps the fixture when any of their assertions failed. */
static unsigned scenario_failures;
static void scenario_begin(void) { scenario_failures = CU_get_number_of_failures(); }
static void scenario_end(fixture *f, const char *test)
{
    if (CU_get_number_of_failures() == scenario_failures)
        return;
    const char *e = fixture_error(f);
    fprintf(stderr, "\nfixture seed %" PRIu64 " failed at step %zu (%s)%s%s\n", fixture_seed(f),
            fixture_steps(f), test, e ? ": " : "", e ? e : "");
    fixture_describe(f, stderr);
}

/* Converges within budget, or reports why not. */
static bool converge(fixture *f, const char *test)
{
    if (fixture_run_until_converged(f, CONVERGE_BUDGET) >= 0)
        return true;
    return REPORT(f, test, "no convergence");
}

static void print_stats(fixture *f, const char *test, long converge_steps)
{
    if (!getenv("FIXTURE_VERBOSE"))
        return;
    const fixture_stats *s = fixture_get_stats(f);
    links_counters k;
    fixture_links_counters(f, &k);
    fprintf(stderr,
            "\n  %s seed %" PRIu64 ": %zu nodes, %" PRIu64 " steps, %.0f ms, %" PRIu64
            " frames, %" PRIu64 " puts, %" PRIu64 "/%" PRIu64 "/%" PRIu64
            " reads ok/ERR_DEP/ERR_KEY, %" PRIu64 " breaks, %" PRIu64 " holds, %" PRIu64
            " partitions, %" PRIu64 " crashes, %" PRIu64 " restarts, %" PRIu64 " cuts; links: %"
            PRIu64 " dials, %" PRIu64 " dial timeouts, %" PRIu64 " refused hellos (%" PRIu64
            " live link wins), %" PRIu64 " pings, %" PRIu64 " silent drops, %" PRIu64
            " pushes (%" PRIu64 " retried, %" PRIu64 " eager), %" PRIu64 " ack sends (%" PRIu64
            " deferred), %" PRIu64 " LSA-only sends; link faults %" PRIu64 " (%" PRIu64
            " frames staged, %" PRIu64 " flaky resets, %" PRIu64 " held drops); converged in %ld"
            " steps; digest %016" PRIx64,
            test, fixture_seed(f), fixture_n_nodes(f), s->steps, (double)fixture_now(f) / 1000,
            s->frames, s->puts, s->reads_ok, s->reads_err_dep, s->reads_err_key, s->breaks,
            s->holds, s->partitions, s->crashes, s->restarts, s->cuts, k.dials, k.dial_timeouts,
            k.hellos_refused, k.live_link_wins, k.pings, k.silent_drops, k.pushes,
            k.pushes_retried, k.eager_pushes, k.ack_sends, k.acks_deferred, k.lsa_only_sends,
            s->link_faults, k.staged_frames, k.flaky_resets, k.held_drops, converge_steps,
            fixture_digest(f));
}

/* The links counters of every node, over all their lives. */
static links_counters counters_of(const fixture *f)
{
    links_counters k;
    fixture_links_counters(f, &k);
    return k;
}

/* Heals everything, converges, and checks data, sessions and quiescence. */
static bool finish(fixture *f, const char *test)
{
    fixture_heal_all(f);
    long used = fixture_run_until_converged(f, CONVERGE_BUDGET);
    print_stats(f, test, used);
    if (used < 0)
        return REPORT(f, test, "no convergence after healing");
    if (fixture_check(f, true) < 0)
        return REPORT(f, test, "state check after convergence");
    if (fixture_check_sessions(f) < 0)
        return REPORT(f, test, "session check after convergence");
    if (fixture_settle(f, SETTLE_ROUNDS) < 0)
        return REPORT(f, test, "the cluster does not go quiet");
    if (!fixture_converged(f))
        return REPORT(f, test, "not converged after going quiet");
    if (fixture_check(f, true) < 0)
        return REPORT(f, test, "state check after going quiet");
    return true;
}

static const fixture_topology all_topologies[] = {FIXTURE_COMPLETE, FIXTURE_CHAIN, FIXTURE_RING,
                                                  FIXTURE_STAR,     FIXTURE_TREE,  FIXTURE_MESH};
static const char *const topology_names[] = {"complete", "chain", "ring", "star", "tree", "mesh"};
#define N_TOPOLOGIES (sizeof all_topologies / sizeof all_topologies[0])

/* (1) Random puts, no faults: every topology converges within budget. */
static void test_topologies(void)
{
    for (size_t t = 0; t < N_TOPOLOGIES; t++)
        for (uint64_t s = 0; s < TOPOLOGY_SEEDS; s++) {
            uint64_t seed = 100 + 10 * t + s;
            size_t n = 3 + (size_t)(seed % 6); /* 3..8 nodes */
            fixture *f = new_fixture(seed, n, 10);
            fixture_topology_set(f, all_topologies[t]);
            for (size_t c = 0; c < 3; c++)
                fixture_add_client(f, c % n);
            fixture_config cfg = fixture_config_quiet();
            cfg.p_put = 0.08;
            cfg.p_get = 0.04;
            cfg.p_move = 0.01;
            fixture_set_config(f, &cfg);
            fixture_connect_all(f);
            if (fixture_run(f, 1500) < 0)
                REPORT(f, topology_names[t], "random puts");
            else
                finish(f, topology_names[t]);
            CU_ASSERT(fixture_n_puts(f) > 50);
            fixture_free(f);
        }
}

static uint64_t sum_counter(fixture *f, size_t field)
{
    uint64_t s = 0;
    for (size_t i = 0; i < fixture_n_nodes(f); i++) {
        const core_counters *c = core_get_counters(fixture_core(f, i));
        s += field == 0 ? c->updates_sent : c->duplicates;
    }
    return s;
}

/* Once routes are stable, each write crosses each edge of its origin's
 * shortest-path tree once: n-1 sends, no duplicates, on any topology. */
static void test_stable_routes_send_once(void)
{
    for (size_t t = 0; t < N_TOPOLOGIES; t++) {
        uint64_t seed = 200 + t;
        size_t n = 6;
        fixture *f = new_fixture(seed, n, 8);
        fixture_topology_set(f, all_topologies[t]);
        fixture_add_client(f, 0);
        fixture_connect_all(f);
        if (fixture_run_until_converged(f, CONVERGE_BUDGET) < 0 || fixture_settle(f, 50) < 0) {
            REPORT(f, topology_names[t], "initial convergence");
            fixture_free(f);
            continue;
        }
        uint64_t sent0 = sum_counter(f, 0), dup0 = sum_counter(f, 1);
        size_t puts = 0;
        for (size_t round = 0; round < 40 && !fixture_failed(f); round++) {
            fixture_move_client(f, 0, round * 7 % n);
            dkv_version v;
            puts += fixture_client_put(f, 0, round % 8, &v) == 0;
            fixture_run(f, 5); /* writes overlap in flight */
        }
        if (fixture_run_until_converged(f, CONVERGE_BUDGET) < 0 || fixture_settle(f, 50) < 0) {
            REPORT(f, topology_names[t], "convergence of the writes");
        } else {
            uint64_t sent = sum_counter(f, 0) - sent0, dups = sum_counter(f, 1) - dup0;
            if (sent != puts * (n - 1) || dups != 0) {
                char what[200];
                snprintf(what, sizeof what, "%zu writes on %zu nodes: %" PRIu64
                         " sends (expected %zu), %" PRIu64 " duplicates", puts, n, sent,
                         puts * (n - 1), dups);
                REPORT(f, topology_names[t], what);
            }
            if (fixture_check(f, true) < 0)
                REPORT(f, topology_names[t], "state check");
        }
        fixture_free(f);
    }
}

/* Acks keep what a server knows of its neighbours current, so when a link
 * breaks and comes back (routes change twice) little is sent again: on a
 * ring with writes everywhere, duplicates stay well under a quarter of the
 * writes (without acks they are most of them). A bound, not an exact
 * count: some resends are inherent. */
static void test_few_resends_after_break(void)
{
    uint64_t writes = 0, dups = 0;
    for (uint64_t seed = 300; seed < 308; seed++) {
        fixture *f = new_fixture(seed, 6, 8);
        fixture_topology_set(f, FIXTURE_RING);
        for (size_t c = 0; c < 6; c++)
            fixture_add_client(f, c);
        fixture_connect_all(f);
        fixture_config cfg = fixture_config_quiet();
        cfg.p_put = 0.2;
        fixture_set_config(f, &cfg);
        if (!converge(f, "resends") || fixture_run(f, 300) < 0) {
            fixture_free(f);
            continue;
        }
        cfg = fixture_config_quiet();
        fixture_set_config(f, &cfg);
        if (!converge(f, "resends") || fixture_settle(f, SETTLE_ROUNDS) < 0) {
            fixture_free(f);
            continue;
        }
        uint64_t d0 = sum_counter(f, 1);
        fixture_break(f, 1, 2);
        if (converge(f, "resends") && fixture_settle(f, SETTLE_ROUNDS) >= 0) {
            writes += fixture_n_puts(f);
            dups += sum_counter(f, 1) - d0;
        }
        fixture_free(f);
    }
    CU_ASSERT(writes > 300);
    CU_ASSERT(dups * 4 <= writes);
    if (dups * 4 > writes)
        fprintf(stderr, "\nfixture seeds 300-307: %" PRIu64 " duplicates for %" PRIu64 " writes\n",
                dups, writes);
}

/* One randomized fault run: random activity with every fault, checks along
 * the way, then heal and converge. The seed also picks the run's shape:
 * size, topology, fault intensity and how eagerly nodes tick (lazy ticks
 * batch more writes per frame). Returns the fixture for the caller. */
static fixture *fault_run(uint64_t seed, size_t steps, bool *ok)
{
    uint64_t r = seed * 0x9e3779b97f4a7c15ULL;
    r ^= r >> 29;
    size_t n = 3 + (size_t)(r >> 58) % 7; /* 3..9 nodes */
    fixture *f = new_fixture(seed, n, 12);
    fixture_topology_set(f, all_topologies[(r >> 40) % N_TOPOLOGIES]);
    for (size_t c = 0; c < 4; c++)
        fixture_add_client(f, c % n);
    fixture_config cfg = fixture_config_faulty();
    static const double intensity[] = {0.3, 1, 1, 3};
    double x = intensity[(r >> 20) % 4];
    cfg.p_break *= x;
    cfg.p_slow *= x;
    cfg.p_hold *= x;
    cfg.p_release *= x;
    cfg.p_partition *= x;
    cfg.p_heal *= x;
    cfg.p_crash *= x;
    cfg.p_restart *= x;
    static const unsigned tick_weight[] = {1, 3, 3, 12};
    cfg.w_tick = tick_weight[(r >> 10) % 4];
    cfg.max_down = n / 2;
    fixture_set_config(f, &cfg);
    fixture_connect_all(f);
    *ok = false;
    for (size_t done = 0; done < steps; done += 500) {
        if (fixture_run(f, steps - done < 500 ? steps - done : 500) < 0) {
            REPORT(f, "faults", "random faults");
            return f;
        }
        if (fixture_check(f, false) < 0) {
            REPORT(f, "faults", "state check during faults");
            return f;
        }
        /* Halfway, the faults stop but partitions and crashed nodes
         * stay: each group converges on its own (survivors spread the
         * writes of dead or unreachable origins among themselves). */
        if (done == steps / 2 - steps / 2 % 500) {
            fixture_stop_faults(f);
            if (fixture_run_until_converged(f, CONVERGE_BUDGET) < 0) {
                REPORT(f, "faults", "groups do not converge while partitioned or crashed");
                return f;
            }
            if (fixture_check(f, false) < 0) {
                REPORT(f, "faults", "state check after groups converged");
                return f;
            }
            fixture_set_config(f, &cfg);
        }
    }
    *ok = finish(f, "faults");
    return f;
}

/* (2) Thousands of steps with random faults, then heal: convergence within
 * budget and no acknowledged write lost. */
static void test_random_faults(void)
{
    uint64_t *seeds;
    size_t n = seed_list(1, FAULT_SEEDS, &seeds);
    fixture_stats total;
    memset(&total, 0, sizeof total);
    links_counters lk_total;
    memset(&lk_total, 0, sizeof lk_total);
    for (size_t i = 0; i < n; i++) {
        bool ok;
        fixture *f = fault_run(seeds[i], FAULT_STEPS, &ok);
        const fixture_stats *st = fixture_get_stats(f);
        links_counters k;
        fixture_links_counters(f, &k);
        lk_total.acks_deferred += k.acks_deferred;
        lk_total.lsa_only_sends += k.lsa_only_sends;
        lk_total.eager_pushes += k.eager_pushes;
        lk_total.pushes_retried += k.pushes_retried;
        lk_total.live_link_wins += k.live_link_wins;
        lk_total.dial_timeouts += k.dial_timeouts;
        lk_total.pings += k.pings;
        lk_total.silent_drops += k.silent_drops;
        total.puts += st->puts;
        total.crashes += st->crashes;
        total.partitions += st->partitions;
        total.holds += st->holds;
        total.breaks += st->breaks;
        total.reads_err_dep += st->reads_err_dep;
        fixture_free(f);
    }
    /* The runs did exercise what they claim to. */
    if (n >= 10) {
        CU_ASSERT(total.puts > 100 * n);
        CU_ASSERT(total.crashes > n);
        CU_ASSERT(total.partitions > n);
        CU_ASSERT(total.holds > n);
        CU_ASSERT(total.breaks > 5 * n);
        /* and the daemon's own interleavings */
        CU_ASSERT(lk_total.acks_deferred > n);
        CU_ASSERT(lk_total.lsa_only_sends > 10 * n);
        CU_ASSERT(lk_total.eager_pushes > 10 * n);
        CU_ASSERT(lk_total.pushes_retried > 10 * n);
        CU_ASSERT(lk_total.live_link_wins > n / 2);
        CU_ASSERT(lk_total.dial_timeouts > 0);
        CU_ASSERT(lk_total.pings > n);
        CU_ASSERT(lk_total.silent_drops > 0);
    }
    free(seeds);
}

/* Two sides of a partition each converge on their own writes, then on
 * everything once healed; last writer wins by version across the sides. */
static void test_partition_sides(void)
{
    scenario_begin();
    fixture *f = new_fixture(77, 6, 4);
    fixture_topology_set(f, FIXTURE_COMPLETE);
    size_t a = fixture_add_client(f, 0), b = fixture_add_client(f, 5);
    fixture_connect_all(f);
    if (!converge(f, "partition")) {
        fixture_free(f);
        return;
    }
    static const int side[] = {0, 0, 0, 1, 1, 1};
    fixture_partition(f, side);
    dkv_version va, vb;
    for (size_t k = 0; k < 4; k++) {
        CU_ASSERT_EQUAL(fixture_client_put(f, a, k, &va), 0);
        CU_ASSERT_EQUAL(fixture_client_put(f, b, k, &vb), 0);
        CU_ASSERT_EQUAL(fixture_client_put(f, b, k, &vb), 0);
    }
    /* Side A's last writes of key 0 outnumber side B's: a's dependency on
     * it ends above anything side B holds. */
    for (size_t k = 0; k < 10; k++)
        CU_ASSERT_EQUAL(fixture_client_put(f, a, 0, &va), 0);
    if (fixture_run_until_converged(f, CONVERGE_BUDGET) < 0) {
        REPORT(f, "partition", "sides do not converge apart");
    } else {
        /* Each side has only its own writes. */
        CU_ASSERT_FALSE(vclock_equal(core_vclock(fixture_core(f, 0)),
                                     core_vclock(fixture_core(f, 5))));
        CU_ASSERT_EQUAL(vclock_get(core_vclock(fixture_core(f, 2)), fixture_node_id(f, 5)), 0);
        CU_ASSERT_EQUAL(vclock_get(core_vclock(fixture_core(f, 4)), fixture_node_id(f, 5)), 8);
        CU_ASSERT_EQUAL(vclock_get(core_vclock(fixture_core(f, 1)), fixture_node_id(f, 0)), 14);
        CU_ASSERT_EQUAL(fixture_check(f, false), 0);
        /* Client a moves across: its writes are not there yet. */
        fixture_move_client(f, a, 4);
        fixture_read r;
        dkv_version v;
        CU_ASSERT_EQUAL(fixture_client_get(f, a, 0, &r, &v), 0);
        CU_ASSERT_EQUAL(r, FIXTURE_READ_ERR_DEP);
        fixture_heal(f);
        finish(f, "partition");
    }
    scenario_end(f, "partition");
    fixture_free(f);
}

/* A crash right after an acknowledged write: the write survives the crash,
 * spreads once the node is back, and the node's next write is ordered after
 * its earlier ones. */
static void test_crash_after_put(void)
{
    scenario_begin();
    fixture *f = new_fixture(78, 4, 3);
    fixture_topology_set(f, FIXTURE_CHAIN);
    size_t c = fixture_add_client(f, 0);
    fixture_connect_all(f);
    if (!converge(f, "crash")) {
        fixture_free(f);
        return;
    }
    dkv_version v1, v2;
    CU_ASSERT_EQUAL(fixture_client_put(f, c, 0, &v1), 0);
    fixture_crash(f, 0);
    /* The rest of the chain converges without it, and lacks the write. */
    converge(f, "crash: survivors");
    CU_ASSERT_EQUAL(vclock_get(core_vclock(fixture_core(f, 1)), fixture_node_id(f, 0)), 0);
    CU_ASSERT_EQUAL(fixture_check(f, false), 0);
    fixture_restart(f, 0);
    CU_ASSERT_EQUAL(core_incarnation(fixture_core(f, 0)), 2);
    CU_ASSERT_EQUAL(fixture_client_put(f, c, 1, &v2), 0);
    CU_ASSERT(dkv_version_cmp(v2, v1) > 0);
    finish(f, "crash");
    scenario_end(f, "crash");
    fixture_free(f);
}

/* A one-way partition holds frames without breaking the link; released,
 * they arrive in order and the cluster converges. */
static void test_one_way_hold(void)
{
    scenario_begin();
    fixture *f = new_fixture(79, 3, 3);
    fixture_topology_set(f, FIXTURE_CHAIN);
    size_t c = fixture_add_client(f, 0);
    fixture_connect_all(f);
    if (!converge(f, "one-way")) {
        fixture_free(f);
        return;
    }
    fixture_hold(f, 0, 1);
    dkv_version v;
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(fixture_client_put(f, c, i % 3, &v), 0);
    CU_ASSERT(fixture_settle(f, 50) > 0); /* quiet, apart from what is held */
    CU_ASSERT_FALSE(fixture_converged(f));
    CU_ASSERT_EQUAL(vclock_get(core_vclock(fixture_core(f, 2)), fixture_node_id(f, 0)), 0);
    fixture_release(f, 0, 1);
    finish(f, "one-way");
    CU_ASSERT_EQUAL(fixture_get_stats(f)->breaks, 0);
    scenario_end(f, "one-way");
    fixture_free(f);
}

/* Read-your-writes across servers: a client that moves to a server lacking
 * its write gets ERR_DEP, never the older value, and its next write there is
 * ordered after the one that server has not seen. */
static void test_session_moves(void)
{
    scenario_begin();
    fixture *f = new_fixture(80, 3, 2);
    fixture_topology_set(f, FIXTURE_CHAIN);
    size_t c = fixture_add_client(f, 0), other = fixture_add_client(f, 2);
    fixture_connect_all(f);
    dkv_version v0, v1, v2, v;
    fixture_read r;
    CU_ASSERT_EQUAL(fixture_client_put(f, other, 0, &v0), 0);
    if (!converge(f, "session moves")) {
        fixture_free(f);
        return;
    }
    fixture_hold(f, 0, 1);
    CU_ASSERT_EQUAL(fixture_client_put(f, c, 0, &v1), 0);
    CU_ASSERT(dkv_version_cmp(v1, v0) > 0);
    fixture_move_client(f, c, 2);
    CU_ASSERT_EQUAL(fixture_client_get(f, c, 0, &r, &v), 0);
    CU_ASSERT_EQUAL(r, FIXTURE_READ_ERR_DEP);
    CU_ASSERT_EQUAL(dkv_version_cmp(v, v0), 0);
    CU_ASSERT_EQUAL(fixture_client_put(f, c, 0, &v2), 0);
    CU_ASSERT(dkv_version_cmp(v2, v1) > 0);
    CU_ASSERT_EQUAL(fixture_client_get(f, c, 0, &r, &v), 0);
    CU_ASSERT_EQUAL(r, FIXTURE_READ_OK);
    CU_ASSERT_EQUAL(dkv_version_cmp(v, v2), 0);
    /* A client that never wrote key 1 gets ERR_KEY. */
    CU_ASSERT_EQUAL(fixture_client_get(f, other, 1, &r, &v), 0);
    CU_ASSERT_EQUAL(r, FIXTURE_READ_ERR_KEY);
    fixture_release(f, 0, 1);
    if (finish(f, "session moves")) {
        /* v2 won everywhere, over v1 that arrived later at node 2. */
        for (size_t i = 0; i < 3; i++) {
            fixture_move_client(f, other, i);
            CU_ASSERT_EQUAL(fixture_client_get(f, other, 0, &r, &v), 0);
            CU_ASSERT_EQUAL(r, FIXTURE_READ_OK);
            CU_ASSERT_EQUAL(dkv_version_cmp(v, v2), 0);
        }
    }
    scenario_end(f, "session moves");
    fixture_free(f);
}

/* (3) Session guarantees under faults, with clients moving often: every
 * put is above the client's dependency and the node's data, every read
 * follows SPEC section 4, no node's data goes back in time, and after
 * healing every client reads the latest write everywhere. */
static void test_random_sessions(void)
{
    uint64_t *seeds;
    size_t n = seed_list(5000, SESSION_SEEDS, &seeds);
    uint64_t err_dep = 0, ok_reads = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t seed = seeds[i];
        size_t nodes = 3 + (size_t)(seed % 4);
        fixture *f = new_fixture(seed, nodes, 4);
        fixture_topology_set(f, all_topologies[seed % N_TOPOLOGIES]);
        for (size_t c = 0; c < 6; c++)
            fixture_add_client(f, c % nodes);
        fixture_config cfg = fixture_config_faulty();
        cfg.p_put = 0.05;
        cfg.p_get = 0.08;
        cfg.p_move = 0.06;
        cfg.max_down = nodes / 2;
        fixture_set_config(f, &cfg);
        fixture_connect_all(f);
        if (fixture_run(f, SESSION_STEPS) < 0)
            REPORT(f, "sessions", "random sessions");
        else if (fixture_check(f, false) < 0)
            REPORT(f, "sessions", "state check");
        else
            finish(f, "sessions");
        err_dep += fixture_get_stats(f)->reads_err_dep;
        ok_reads += fixture_get_stats(f)->reads_ok;
        fixture_free(f);
    }
    /* Clients did outrun replication sometimes, and mostly read fine. */
    if (n >= 10) {
        CU_ASSERT(err_dep > 0);
        CU_ASSERT(ok_reads > err_dep);
    }
    free(seeds);
}

/* (4) The same seed replays exactly; another seed does not. */
static void test_determinism(void)
{
    bool ok1, ok2, ok3;
    fixture *a = fault_run(4242, 1500, &ok1);
    fixture *b = fault_run(4242, 1500, &ok2);
    fixture *c = fault_run(4243, 1500, &ok3);
    CU_ASSERT(ok1 && ok2 && ok3);
    CU_ASSERT_EQUAL(fixture_digest(a), fixture_digest(b));
    CU_ASSERT_EQUAL(fixture_steps(a), fixture_steps(b));
    CU_ASSERT(memcmp(fixture_get_stats(a), fixture_get_stats(b), sizeof(fixture_stats)) == 0);
    CU_ASSERT_NOT_EQUAL(fixture_digest(a), fixture_digest(c));
    if (fixture_digest(a) != fixture_digest(b))
        fprintf(stderr, "\nfixture seed 4242: digests %016" PRIx64 " and %016" PRIx64 " differ\n",
                fixture_digest(a), fixture_digest(b));
    fixture_free(a);
    fixture_free(b);
    fixture_free(c);
}

/* Values large enough that a catching-up neighbour needs more than the
 * core's per-link output budget: core_tick reports work left, and the
 * backlog still arrives whole, in order, over several frames. */
static void test_large_values(void)
{
    scenario_begin();
    fixture *f = new_fixture(81, 3, 6);
    fixture_topology_set(f, FIXTURE_CHAIN);
    size_t c = fixture_add_client(f, 0);
    fixture_connect_all(f);
    if (!converge(f, "large values")) {
        fixture_free(f);
        return;
    }
    fixture_crash(f, 1);
    size_t len = 96 << 10;
    uint8_t *value = xmalloc(len);
    dkv_version v;
    for (size_t i = 0; i < 64; i++) { /* 6 MiB */
        for (size_t b = 0; b < len; b++)
            value[b] = (uint8_t)(i * 31 + b * 7);
        CU_ASSERT_EQUAL(fixture_client_put_value(f, c, i % 6, value, len - i, &v), 0);
    }
    free(value);
    fixture_restart(f, 1);
    if (finish(f, "large values"))
        CU_ASSERT(counters_of(f).pushes_retried > 0);
    scenario_end(f, "large values");
    fixture_free(f);
}

/* A server that was never linked joins a cluster that has been writing,
 * through one link, and catches up on everything. */
static void test_late_joiner(void)
{
    scenario_begin();
    fixture *f = new_fixture(82, 5, 6);
    fixture_want(f, 0, 1);
    fixture_want(f, 1, 2);
    fixture_want(f, 2, 3);
    fixture_want(f, 3, 0);
    for (size_t i = 0; i < 4; i++)
        fixture_add_client(f, i);
    size_t late = fixture_add_client(f, 4);
    fixture_config cfg = fixture_config_quiet();
    cfg.p_put = 0.1;
    fixture_set_config(f, &cfg);
    fixture_connect_all(f);
    dkv_version v;
    CU_ASSERT_EQUAL(fixture_client_put(f, late, 0, &v), 0); /* written alone */
    if (fixture_run(f, 1000) < 0 || fixture_run_until_converged(f, CONVERGE_BUDGET) < 0) {
        REPORT(f, "late joiner", "ring before the join");
    } else {
        CU_ASSERT_EQUAL(vclock_get(core_vclock(fixture_core(f, 0)), fixture_node_id(f, 4)), 0);
        fixture_want(f, 4, 2);
        fixture_connect_all(f);
        finish(f, "late joiner");
    }
    scenario_end(f, "late joiner");
    fixture_free(f);
}

/* Link-up ordering: a node joining one end of a linked pair learns the
 * other end's LSA from the database exchange at link-up, which only
 * reaches it when the link counts as live before the core hears of it. */
static void test_join_learns_group(void)
{
    scenario_begin();
    fixture *f = new_fixture(86, 3, 2);
    fixture_want(f, 0, 1);
    fixture_connect_all(f);
    if (converge(f, "join learns group") && fixture_settle(f, SETTLE_ROUNDS) > 0) {
        fixture_want(f, 2, 0);
        fixture_connect_all(f);
        if (converge(f, "join learns group")) {
            uint64_t comp[4];
            CU_ASSERT_EQUAL(core_component(fixture_core(f, 2), comp, 4), 3);
        }
    }
    scenario_end(f, "join learns group");
    fixture_free(f);
}

/* A link cut off both ways carries nothing, not even pings: each end drops
 * it as silent after DEAD_US (virtual time), it stays down while the
 * network is cut, and forms again once it is not. */
static void test_keepalive_drops_silent_link(void)
{
    scenario_begin();
    fixture *f = new_fixture(87, 3, 2);
    fixture_topology_set(f, FIXTURE_CHAIN);
    fixture_add_client(f, 0);
    fixture_connect_all(f);
    if (!converge(f, "silent link")) {
        fixture_free(f);
        return;
    }
    int64_t start = fixture_now(f);
    fixture_hold(f, 0, 1);
    fixture_hold(f, 1, 0);
    for (size_t s = 0; s < 20000 && counters_of(f).silent_drops < 2 && !fixture_failed(f); s++)
        fixture_step(f);
    CU_ASSERT_EQUAL(counters_of(f).silent_drops, 2);
    CU_ASSERT(fixture_now(f) - start >= 2500000); /* pings keep rx within 0.5 s */
    CU_ASSERT_FALSE(fixture_established(f, 0, 1));
    CU_ASSERT(counters_of(f).pings > 0);
    finish(f, "silent link");
    scenario_end(f, "silent link");
    fixture_free(f);
}

/* One end of a link goes without a word (no FIN reaches the other): its
 * redial meets the old link still live at the other end, which refuses it
 * and pings the old one; the ping finds it dead, and the next redial gets
 * in. */
static void test_second_connection_meets_live_link(void)
{
    scenario_begin();
    fixture *f = new_fixture(88, 2, 2);
    fixture_want(f, 0, 1);
    size_t c = fixture_add_client(f, 1);
    fixture_connect_all(f);
    if (converge(f, "live link wins")) {
        fixture_half_close(f, 0, 1, true);
        if (converge(f, "live link wins")) {
            CU_ASSERT(counters_of(f).live_link_wins >= 1);
            CU_ASSERT(fixture_established(f, 0, 1));
            dkv_version v;
            CU_ASSERT_EQUAL(fixture_client_put(f, c, 0, &v), 0);
            finish(f, "live link wins");
        }
    }
    scenario_end(f, "live link wins");
    fixture_free(f);
}

/* Without digests (no stabilize polling), a cluster under writes and
 * link changes runs on the timers: pushes per interval, acks after
 * ACK_DELAY, LSAs on their own between pushes; a digest now and then
 * opens the eager window. */
static void test_daemon_timers(void)
{
    scenario_begin();
    fixture *f = new_fixture(89, 5, 6);
    fixture_topology_set(f, FIXTURE_MESH);
    for (size_t c = 0; c < 3; c++)
        fixture_add_client(f, c);
    fixture_config cfg = fixture_config_quiet();
    cfg.p_put = 0.03;
    cfg.p_digest = 0.001;
    cfg.p_cut = 0.002;
    cfg.p_uncut = 0.004;
    fixture_set_config(f, &cfg);
    fixture_connect_all(f);
    if (fixture_run(f, 6000) < 0) {
        REPORT(f, "daemon timers", "writes and link changes");
    } else {
        links_counters k = counters_of(f);
        CU_ASSERT(k.pushes > 20);
        CU_ASSERT(k.acks_deferred > 0);
        CU_ASSERT(k.lsa_only_sends > 0);
        CU_ASSERT(k.eager_pushes > 0);
        CU_ASSERT(fixture_get_stats(f)->cuts > 0);
        finish(f, "daemon timers");
    }
    scenario_end(f, "daemon timers");
    fixture_free(f);
}

/* The fixture's checks fire: a core that receives a gap breaks the link
 * and the run fails; a store changed behind the core's back, or a server
 * that forgets an acknowledged write, fails the state check. */
static void test_fixture_catches(void)
{
    /* A gap in origin 0's writes, injected on the link 0 -> 1. */
    fixture *f = new_fixture(83, 2, 2);
    fixture_topology_set(f, FIXTURE_COMPLETE);
    size_t c = fixture_add_client(f, 0);
    fixture_connect_all(f);
    CU_ASSERT(converge(f, "fixture self-test"));
    dkv_version v;
    CU_ASSERT_EQUAL(fixture_client_put(f, c, 0, &v), 0);
    peermsg_upd_builder ub;
    peermsg_upd_init(&ub);
    dkv_update u = {fixture_node_id(f, 0), 3, 50, (const uint8_t *)"k0", 2,
                    (const uint8_t *)"x", 1};
    peermsg_upd_add(&ub, &u);
    buf frame;
    buf_init(&frame);
    peermsg_upd_flush(&ub, &frame);
    peermsg_upd_free(&ub);
    CU_ASSERT_EQUAL(fixture_inject(f, 0, 1, buf_head(&frame), buf_unread(&frame)), 0);
    buf_free(&frame);
    CU_ASSERT(fixture_run_until_converged(f, 1000) < 0);
    CU_ASSERT(fixture_failed(f));
    CU_ASSERT(fixture_error(f) && strstr(fixture_error(f), "dropped its link") &&
              strstr(fixture_error(f), "skips ahead"));
    fixture_free(f);

    /* A write no client made, put in a store directly. */
    f = new_fixture(84, 2, 2);
    fixture_topology_set(f, FIXTURE_COMPLETE);
    c = fixture_add_client(f, 0);
    fixture_connect_all(f);
    CU_ASSERT_EQUAL(fixture_client_put(f, c, 0, &v), 0);
    CU_ASSERT(converge(f, "fixture self-test"));
    CU_ASSERT_EQUAL(fixture_check(f, true), 0);
    record_meta m = {0, 0, vclock_new()};
    bool found;
    CU_ASSERT_EQUAL(store_load_meta(fixture_store(f, 1), &m, &found, NULL), 0);
    dkv_update bogus = {fixture_node_id(f, 0), 2, 999, (const uint8_t *)"k0", 2,
                        (const uint8_t *)"bogus", 5};
    CU_ASSERT_EQUAL(store_apply(fixture_store(f, 1), &bogus, 1, &m, NULL), 0);
    vclock_free(m.vc);
    CU_ASSERT(fixture_check(f, true) < 0);
    CU_ASSERT(fixture_error(f) && strstr(fixture_error(f), "no acknowledged write has"));
    fixture_free(f);

    /* A server that restarts without its last acknowledged write: the
     * oracle notices when it numbers its next write. */
    f = new_fixture(85, 2, 2);
    c = fixture_add_client(f, 0);
    CU_ASSERT_EQUAL(fixture_client_put(f, c, 0, &v), 0);
    CU_ASSERT_EQUAL(fixture_client_put(f, c, 1, &v), 0);
    fixture_crash(f, 0);
    m = (record_meta){0, 0, vclock_new()};
    CU_ASSERT_EQUAL(store_load_meta(fixture_store(f, 0), &m, &found, NULL), 0);
    vclock_set(m.vc, fixture_node_id(f, 0), 1);
    CU_ASSERT_EQUAL(store_save_meta(fixture_store(f, 0), &m, NULL), 0);
    vclock_free(m.vc);
    fixture_restart(f, 0);
    CU_ASSERT(fixture_client_put(f, c, 0, &v) < 0);
    CU_ASSERT(fixture_error(f) && strstr(fixture_error(f), "numbered"));
    fixture_free(f);
}

static const CU_TestInfo fixture_tests[] = {
    {"convergence on complete, chain, ring, star, tree, mesh", test_topologies},
    {"stable routes: each write crosses each tree edge once", test_stable_routes_send_once},
    {"after a link break and back, few writes are sent again", test_few_resends_after_break},
    {"partitioned sides converge apart, then together", test_partition_sides},
    {"crash right after a put: the write survives", test_crash_after_put},
    {"one-way partition holds frames, then delivers them", test_one_way_hold},
    {"client moving to a server lacking its write", test_session_moves},
    {"catch-up beyond the per-link output budget", test_large_values},
    {"a server linked late catches up", test_late_joiner},
    {"a node joining a pair learns the group (link-up ordering)", test_join_learns_group},
    {"keepalive drops a link cut off both ways", test_keepalive_drops_silent_link},
    {"a redial meets the old link still live, and gets in next", test_second_connection_meets_live_link},
    {"writes, acks and LSAs on the daemon's timers", test_daemon_timers},
    {"the fixture's checks catch a misbehaving core or store", test_fixture_catches},
    {"random faults, heal: converges, no acknowledged write lost", test_random_faults},
    {"random sessions with moving clients under faults", test_random_sessions},
    {"same seed, same trace digest", test_determinism},
    CU_TEST_INFO_NULL,
};

void add_fixture_tests(void) { tests_add_suite("fixture", NULL, NULL, fixture_tests); }
