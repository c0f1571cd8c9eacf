/* core: the replication protocol, run on an in-test network of cores that
 * exchange frames through per-link buffers. No sockets, threads or clocks:
 * delivery happens when the test pumps, so every run is the same. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/xalloc.h"
#include "../server/core.h"
#include "storetest.h"
#include "testnet.h"
#include "tests.h"

#define MAX_NODES 4

/* The cores under test, each inside the links module the server runs, on a
 * testnet: links come up through the module's hello exchange, and pump
 * moves frames at the cores' own pace (core_tick, no timers). */
typedef struct net {
    size_t n;
    uint64_t ids[MAX_NODES];
    char dirs[MAX_NODES][4096];
    store *st[MAX_NODES];
    core *c[MAX_NODES];
    testnet *tn;
} net;


static bool open_store(net *nt, size_t i)
{
    dkv_err err;
    nt->st[i] = store_open(nt->dirs[i], &(store_options){.self = nt->ids[i]}, &err);
    if (!nt->st[i])
        fprintf(stderr, "\n  store_open: %s\n", err.msg);
    return nt->st[i] != NULL;
}

/* n nodes with the given ids, each on its own fresh store, no links. */
static net *net_new(size_t n, const uint64_t *ids)
{
    net *nt = xcalloc(1, sizeof *nt);
    nt->n = n;
    for (size_t i = 0; i < n; i++) {
        nt->ids[i] = ids[i];
        snprintf(nt->dirs[i], sizeof nt->dirs[i], "%s", tests_scratch_fresh("n"));
        if (!open_store(nt, i))
            return nt; /* the caller's assertions on c[n - 1] fail */
    }
    nt->tn = testnet_new(n, ids, nt->st);
    for (size_t i = 0; i < n; i++)
        nt->c[i] = testnet_core(nt->tn, i);
    return nt;
}

static void net_free(net *nt)
{
    testnet_free(nt->tn);
    for (size_t i = 0; i < nt->n; i++)
        store_close(nt->st[i]);
    free(nt);
}

/* Node i's process stops and starts again on its store. */
static bool restart_node(net *nt, size_t i)
{
    testnet_stop(nt->tn, i);
    store_close(nt->st[i]);
    nt->c[i] = NULL;
    if (!open_store(nt, i) || !testnet_start(nt->tn, i, nt->st[i], ""))
        return false;
    nt->c[i] = testnet_core(nt->tn, i);
    return true;
}

/* Brings the link i-j up as the server does: i dials, hellos cross. */
static void link_up(net *nt, size_t i, size_t j)
{
    CU_ASSERT_FATAL(testnet_link(nt->tn, i, j));
}

/* Cuts the link: frames in flight are lost, as with a closed socket. */
static void link_down(net *nt, size_t i, size_t j) { testnet_break(nt->tn, i, j); }

/* Ticks and delivers until nothing moves. Returns the rounds used, or -1
 * on a protocol error or when the rounds run out without quiescence. */
static int pump(net *nt) { return testnet_pump(nt->tn); }

/* c's hello, decoded, into *m (caller clears it); false when it does not
 * decode as c's hello. */
static bool decode_hello(core *c, peermsg *m)
{
    buf b;
    buf_init(&b);
    core_hello(c, 0, &b);
    wire_frame f;
    size_t used;
    bool ok = false;
    if (wire_decode(buf_head(&b), buf_unread(&b), &f, &used, NULL) == 1 &&
        used == buf_unread(&b) && peermsg_decode(&f, m, NULL) == 0) {
        ok = m->type == PEERMSG_HELLO && m->id == core_self(c) &&
             m->inc == core_incarnation(c);
        if (!ok)
            peermsg_clear(m);
    }
    buf_free(&b);
    return ok;
}

static void put(core *c, const char *key, const char *value, dkv_version dep,
                dkv_version *out)
{
    dkv_err err;
    int rc = core_put(c, (const uint8_t *)key, strlen(key), (const uint8_t *)value,
                      strlen(value), dep, out, &err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

/* Asserts the store holds key at version want with value. */
static void assert_has(store *st, const char *key, dkv_version want, const char *value)
{
    storetest_assert_value(st, key, want.lamport, want.origin, value);
}

static void assert_lacks(store *st, const char *key)
{
    bool found = true;
    dkv_version v;
    CU_ASSERT_EQUAL(store_get(st, (const uint8_t *)key, strlen(key), &found, &v, NULL, NULL,
                              NULL), 0);
    CU_ASSERT_FALSE(found);
}

static void assert_same_clock(const core *a, const core *b)
{
    bool eq = vclock_equal(core_vclock(a), core_vclock(b));
    CU_ASSERT(eq);
    if (!eq) {
        char *sa = vclock_format(core_vclock(a)), *sb = vclock_format(core_vclock(b));
        fprintf(stderr, "\n  clocks differ: %llu has '%s', %llu has '%s'\n",
                (unsigned long long)core_self(a), sa, (unsigned long long)core_self(b), sb);
        free(sa);
        free(sb);
    }
}

static const dkv_version NO_DEP = {0, 0};

static void test_put_reaches_peer(void)
{
    static const uint64_t ids[] = {1, 2};
    net *nt = net_new(2, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[1]);
    core *a = nt->c[0], *b = nt->c[1];
    dkv_version v;
    put(a, "k", "before the link", NO_DEP, &v);
    CU_ASSERT_EQUAL(v.lamport, 1);
    CU_ASSERT_EQUAL(v.origin, 1);
    link_up(nt, 0, 1);
    CU_ASSERT(pump(nt) > 0);
    assert_has(nt->st[1], "k", v, "before the link");
    assert_same_clock(a, b);
    CU_ASSERT_EQUAL(vclock_get(core_vclock(b), 1), 1);
    /* A write while linked travels too. */
    put(a, "k2", "while linked", NO_DEP, &v);
    CU_ASSERT(pump(nt) > 0);
    assert_has(nt->st[1], "k2", v, "while linked");
    assert_same_clock(a, b);
    /* Each side knows the other as a neighbour and both in its component. */
    uint64_t out[4];
    CU_ASSERT_EQUAL(core_neighbours(a, out, 4), 1);
    CU_ASSERT_EQUAL(out[0], 2);
    CU_ASSERT_EQUAL(core_component(b, out, 4), 2);
    net_free(nt);
}

static void test_dependency_lamport(void)
{
    static const uint64_t ids[] = {1, 2};
    net *nt = net_new(2, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[1]);
    core *a = nt->c[0], *b = nt->c[1];
    link_up(nt, 0, 1);
    CU_ASSERT(pump(nt) > 0);
    /* The client depends on a version this server has not seen. */
    dkv_version v;
    put(b, "k", "after dep", (dkv_version){100, 7}, &v);
    CU_ASSERT_EQUAL(v.lamport, 101);
    CU_ASSERT_EQUAL(v.origin, 2);
    CU_ASSERT_EQUAL(core_lamport(b), 101);
    /* A dependency below the server's own counter changes nothing. */
    dkv_version w;
    put(b, "k", "small dep", (dkv_version){3, 1}, &w);
    CU_ASSERT_EQUAL(w.lamport, 102);
    CU_ASSERT(pump(nt) > 0);
    assert_has(nt->st[0], "k", w, "small dep");
    /* A's Lamport counter moved past what it received: its next write is
     * ordered after B's. */
    dkv_version x;
    put(a, "k", "from a", NO_DEP, &x);
    CU_ASSERT(dkv_version_cmp(x, w) > 0);
    CU_ASSERT_EQUAL(x.lamport, 103);
    CU_ASSERT(pump(nt) > 0);
    assert_has(nt->st[1], "k", x, "from a");
    assert_same_clock(a, b);
    net_free(nt);
}

static void test_concurrent_writes_converge(void)
{
    static const uint64_t ids[] = {3, 8};
    net *nt = net_new(2, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[1]);
    dkv_version va, vb;
    /* Same key, same Lamport counter on both sides: origin 8 wins. */
    put(nt->c[0], "k", "from 3", NO_DEP, &va);
    put(nt->c[1], "k", "from 8", NO_DEP, &vb);
    CU_ASSERT_EQUAL(va.lamport, vb.lamport);
    link_up(nt, 0, 1);
    CU_ASSERT(pump(nt) > 0);
    assert_has(nt->st[0], "k", vb, "from 8");
    assert_has(nt->st[1], "k", vb, "from 8");
    assert_same_clock(nt->c[0], nt->c[1]);
    net_free(nt);
}

/* 1 - 2 - 3: writes reach 3 through 2, and a partition heals by
 * anti-entropy when the link comes back. */
static void test_chain_and_partition(void)
{
    static const uint64_t ids[] = {1, 2, 3};
    net *nt = net_new(3, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[2]);
    link_up(nt, 0, 1);
    link_up(nt, 1, 2);
    CU_ASSERT(pump(nt) > 0);
    uint64_t comp[4];
    CU_ASSERT_EQUAL(core_component(nt->c[0], comp, 4), 3);
    dkv_version v;
    put(nt->c[0], "k", "v", NO_DEP, &v);
    CU_ASSERT(pump(nt) > 0);
    assert_has(nt->st[2], "k", v, "v");
    assert_same_clock(nt->c[0], nt->c[2]);
    /* Cut 2-3, write on 1: 3 misses it. */
    link_down(nt, 1, 2);
    CU_ASSERT(pump(nt) > 0);
    CU_ASSERT_EQUAL(core_component(nt->c[0], comp, 4), 2);
    dkv_version w;
    put(nt->c[0], "k2", "during the partition", NO_DEP, &w);
    CU_ASSERT(pump(nt) > 0);
    assert_has(nt->st[1], "k2", w, "during the partition");
    assert_lacks(nt->st[2], "k2");
    /* Heal: 3 catches up. */
    link_up(nt, 1, 2);
    CU_ASSERT(pump(nt) > 0);
    assert_has(nt->st[2], "k2", w, "during the partition");
    for (size_t i = 1; i < 3; i++)
        assert_same_clock(nt->c[0], nt->c[i]);
    net_free(nt);
}

/* A restarted core keeps its clocks and takes a new incarnation. */
static void test_restart(void)
{
    static const uint64_t ids[] = {1, 2};
    net *nt = net_new(2, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[1]);
    link_up(nt, 0, 1);
    dkv_version v;
    put(nt->c[0], "k", "v", (dkv_version){50, 2}, &v);
    CU_ASSERT(pump(nt) > 0);
    uint64_t inc = core_incarnation(nt->c[1]);
    vclock *before = vclock_dup(core_vclock(nt->c[1]));
    uint64_t lamport = core_lamport(nt->c[1]);
    /* Kill 2: its link goes down on 1's side. */
    link_down(nt, 0, 1);
    CU_ASSERT_FATAL(restart_node(nt, 1));
    CU_ASSERT_EQUAL(core_incarnation(nt->c[1]), inc + 1);
    CU_ASSERT(vclock_equal(core_vclock(nt->c[1]), before));
    CU_ASSERT_EQUAL(core_lamport(nt->c[1]), lamport);
    /* Its next write is after everything it held. */
    dkv_version w;
    put(nt->c[1], "k", "after restart", NO_DEP, &w);
    CU_ASSERT(dkv_version_cmp(w, v) > 0);
    CU_ASSERT_EQUAL(vclock_get(core_vclock(nt->c[1]), 2), 1);
    link_up(nt, 0, 1);
    CU_ASSERT(pump(nt) > 0);
    assert_has(nt->st[0], "k", w, "after restart");
    assert_same_clock(nt->c[0], nt->c[1]);
    vclock_free(before);
    net_free(nt);
}

/* Sum of duplicate updates received by every core: in a stable topology
 * each update crosses each tree edge once, so this stays put. */
static uint64_t total_duplicates(const net *nt)
{
    uint64_t d = 0;
    for (size_t i = 0; i < nt->n; i++)
        d += core_get_counters(nt->c[i])->duplicates;
    return d;
}

/* A ring of 4 where every server writes: all converge, by multi-hop, and
 * without duplicate deliveries once the routes are settled. */
static void test_ring_all_write(void)
{
    static const uint64_t ids[] = {10, 20, 30, 40};
    net *nt = net_new(4, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[3]);
    for (size_t i = 0; i < 4; i++)
        link_up(nt, i, (i + 1) % 4);
    CU_ASSERT_FATAL(pump(nt) > 0);
    uint64_t dups = total_duplicates(nt);
    dkv_version v[4];
    char key[8];
    for (size_t i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "k%zu", i);
        put(nt->c[i], key, key, NO_DEP, &v[i]);
        put(nt->c[i], "shared", key, NO_DEP, &v[i]);
    }
    CU_ASSERT(pump(nt) > 0);
    /* Every server wrote "shared" at Lamport 2: the highest origin, 40, wins. */
    for (size_t i = 0; i < 4; i++) {
        assert_has(nt->st[i], "shared", v[3], "k3");
        for (size_t j = 0; j < 4; j++) {
            snprintf(key, sizeof key, "k%zu", j);
            assert_has(nt->st[i], key, (dkv_version){1, ids[j]}, key);
        }
        assert_same_clock(nt->c[0], nt->c[i]);
    }
    CU_ASSERT_EQUAL(total_duplicates(nt), dups);
    net_free(nt);
}

/* Writes outlive their origin: 2 holds 1's write and hands it on to 3
 * after 1 has gone. */
static void test_origin_gone(void)
{
    static const uint64_t ids[] = {1, 2, 3};
    net *nt = net_new(3, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[2]);
    link_up(nt, 0, 1);
    dkv_version v;
    put(nt->c[0], "k", "from 1", NO_DEP, &v);
    CU_ASSERT(pump(nt) > 0);
    link_down(nt, 0, 1);
    CU_ASSERT(pump(nt) > 0);
    link_up(nt, 1, 2);
    CU_ASSERT(pump(nt) > 0);
    assert_has(nt->st[2], "k", v, "from 1");
    assert_same_clock(nt->c[1], nt->c[2]);
    net_free(nt);
}

/* Server 2 holds k at (11,2); server 1 wrote k twice, at (1,1) and (2,1),
 * while apart. When they link, both of 1's writes reach 2 in one upd frame;
 * neither may overwrite (11,2), or the replicas diverge (end-to-end view of
 * the store suite's batch test). */
static void test_older_batch_diverges(void)
{
    static const uint64_t ids[] = {1, 2};
    net *nt = net_new(2, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[1]);
    dkv_version high, x;
    put(nt->c[1], "k", "newest", (dkv_version){10, 0}, &high);
    put(nt->c[0], "k", "old 1", NO_DEP, &x);
    put(nt->c[0], "k", "old 2", NO_DEP, &x);
    link_up(nt, 0, 1);
    CU_ASSERT(pump(nt) > 0);
    assert_same_clock(nt->c[0], nt->c[1]);
    assert_has(nt->st[0], "k", high, "newest");
    assert_has(nt->st[1], "k", high, "newest");
    net_free(nt);
}

/* A frame whose second update skips ahead is a protocol error. Whatever
 * the core keeps of the frame, its clock in memory must agree with what
 * is on disk: the store holds exactly the writes the clock counts. */
static void test_skip_ahead_frame(void)
{
    static const uint64_t ids[] = {1, 2};
    net *nt = net_new(2, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[1]);
    link_up(nt, 0, 1);
    CU_ASSERT(pump(nt) > 0);
    dkv_update u[] = {
        {9, 1, 5, (const uint8_t *)"a", 1, (const uint8_t *)"first", 5},
        {9, 3, 6, (const uint8_t *)"b", 1, (const uint8_t *)"gap", 3},
    };
    peermsg m = {.type = PEERMSG_UPD, .upd = u, .n_upd = 2};
    dkv_err err;
    CU_ASSERT_EQUAL(core_on_message(nt->c[0], 2, &m, &err), -1);
    record_meta disk = {0, 0, vclock_new()};
    bool found = false;
    CU_ASSERT_EQUAL_FATAL(store_load_meta(nt->st[0], &disk, &found, &err), 0);
    CU_ASSERT_FATAL(found);
    bool eq = vclock_equal(disk.vc, core_vclock(nt->c[0]));
    CU_ASSERT(eq);
    CU_ASSERT_EQUAL(disk.lamport, core_lamport(nt->c[0]));
    bool has_a = true;
    dkv_version v;
    CU_ASSERT_EQUAL(store_get(nt->st[0], (const uint8_t *)"a", 1, &has_a, &v, NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(has_a, vclock_get(core_vclock(nt->c[0]), 9) >= 1);
    if (!eq) {
        char *sd = vclock_format(disk.vc), *sm = vclock_format(core_vclock(nt->c[0]));
        fprintf(stderr, "\n  clock on disk '%s', in memory '%s'; key a %s\n", sd, sm,
                has_a ? "stored" : "absent");
        free(sd);
        free(sm);
    }
    vclock_free(disk.vc);
    net_free(nt);
}

static void test_not_a_neighbour(void)
{
    static const uint64_t ids[] = {1};
    net *nt = net_new(1, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[0]);
    peermsg m = {.type = PEERMSG_ACK, .vc = vclock_new()};
    dkv_err err;
    CU_ASSERT_EQUAL(core_on_message(nt->c[0], 9, &m, &err), -1);
    peermsg_clear(&m);
    net_free(nt);
}

/* A dependency far above anything the server has seen is refused and
 * changes nothing; one within reach moves the counter; none can wrap it. */
static void test_dependency_bounds(void)
{
    static const uint64_t ids[] = {1};
    net *nt = net_new(1, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[0]);
    core *a = nt->c[0];
    static const uint64_t forged[] = {UINT64_MAX, INT64_MAX, UINT64_C(1) << 62,
                                      DKV_COUNTER_MAX, DKV_DEP_SLACK + 1};
    dkv_version v;
    dkv_err err;
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        CU_ASSERT_EQUAL(core_put(a, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1,
                                 (dkv_version){forged[i], 1}, &v, &err), -1);
        CU_ASSERT_EQUAL(core_lamport(a), 0);
    }
    assert_lacks(nt->st[0], "k");
    put(a, "k", "ok", (dkv_version){DKV_DEP_SLACK, 9}, &v);
    CU_ASSERT_EQUAL(v.lamport, DKV_DEP_SLACK + 1);
    put(a, "k", "next", v, &v);
    CU_ASSERT_EQUAL(v.lamport, DKV_DEP_SLACK + 2);
    net_free(nt);
}

/* Sends an LSA "from" peer index j to core i, as if j had sent it. */
static int inject_lsa(net *nt, size_t i, size_t j, uint64_t id, uint64_t inc, uint64_t seq,
                      const uint64_t *nb, size_t n_nb)
{
    peermsg m = {.type = PEERMSG_LSA, .id = id, .inc = inc, .seq = seq, .nb = (uint64_t *)nb,
              .n_nb = n_nb};
    dkv_err err;
    return core_on_message(nt->c[i], nt->ids[j], &m, &err);
}

/* One forged LSA about a live neighbour, with a huge incarnation, must not
 * override what that neighbour says itself: routing stays whole. */
static void test_forged_lsa_ignored(void)
{
    static const uint64_t ids[] = {1, 2, 3};
    net *nt = net_new(3, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[2]);
    link_up(nt, 0, 1);
    link_up(nt, 1, 2);
    link_up(nt, 0, 2);
    CU_ASSERT_FATAL(pump(nt) > 0);
    uint64_t out[4];
    CU_ASSERT_EQUAL(core_component(nt->c[0], out, 4), 3);
    /* 2 "says" that 3 restarted with no links: hearsay about a neighbour. */
    CU_ASSERT_EQUAL(inject_lsa(nt, 0, 1, 3, 1000000, 1, NULL, 0), 0);
    CU_ASSERT(pump(nt) > 0);
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(core_component(nt->c[i], out, 4), 3);
    /* Writes from 1 still reach 3. */
    dkv_version v;
    put(nt->c[0], "k", "v", NO_DEP, &v);
    CU_ASSERT(pump(nt) > 0);
    assert_has(nt->st[2], "k", v, "v");
    /* An LSA a neighbour sends about itself is authoritative, but must
     * carry the incarnation of its hello. */
    CU_ASSERT_EQUAL(inject_lsa(nt, 0, 2, 3, 99, 50, NULL, 0), CORE_PROTOCOL_ERROR);
    net_free(nt);
}

/* A server hearing an LSA about a server that is not its neighbour keeps
 * the newest, and the originator's own word replaces a forged one once
 * they link. */
static void test_direct_lsa_replaces(void)
{
    static const uint64_t ids[] = {1, 2, 3};
    net *nt = net_new(3, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[2]);
    link_up(nt, 0, 1);
    link_up(nt, 1, 2);
    CU_ASSERT_FATAL(pump(nt) > 0);
    uint64_t out[4];
    CU_ASSERT_EQUAL(core_component(nt->c[0], out, 4), 3);
    /* 2 forges 3's LSA to 1 (not 3's neighbour): a plausible incarnation
     * with no links cuts 3 off in 1's view... */
    CU_ASSERT_EQUAL(inject_lsa(nt, 0, 1, 3, 50, 1, NULL, 0), 0);
    CU_ASSERT_EQUAL(core_component(nt->c[0], out, 4), 2);
    /* ...until 3 speaks for itself on a link of its own. */
    link_up(nt, 0, 2);
    CU_ASSERT(pump(nt) > 0);
    CU_ASSERT_EQUAL(core_component(nt->c[0], out, 4), 3);
    net_free(nt);
}

/* The seq of id's LSA that core c holds, read from its hello's summary. */
static uint64_t held_lsa_seq(core *c, uint64_t id)
{
    peermsg h;
    CU_ASSERT_FATAL(decode_hello(c, &h));
    uint64_t seq = vclock_get(h.lsa_seq, id);
    peermsg_clear(&h);
    return seq;
}

/* Hearsay about a neighbour counts until that neighbour has spoken for
 * itself on the link (a link can go down before it does); afterwards it is
 * kept aside, and counts once the link goes down when it is plausible:
 * the neighbour may have changed its links just as ours went down. */
static void test_hearsay_about_neighbours(void)
{
    static const uint64_t ids[] = {1, 2, 3};
    net *nt = net_new(3, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[2]);
    link_up(nt, 0, 1);
    link_up(nt, 0, 2);
    /* 3 has not spoken yet: what 2 relays about it is taken. */
    uint64_t nb2[] = {2};
    CU_ASSERT_EQUAL(inject_lsa(nt, 0, 1, 3, core_incarnation(nt->c[2]), 40, nb2, 1), 0);
    CU_ASSERT_EQUAL(held_lsa_seq(nt->c[0], 3), 40);
    link_up(nt, 1, 2);
    CU_ASSERT_FATAL(pump(nt) > 0);
    uint64_t heard = held_lsa_seq(nt->c[0], 3);
    CU_ASSERT(heard > 0);
    /* 3 spoke: its own word stands, plausible hearsay waits aside. */
    CU_ASSERT_EQUAL(inject_lsa(nt, 0, 1, 3, core_incarnation(nt->c[2]), heard + 2, nb2, 1), 0);
    CU_ASSERT_EQUAL(held_lsa_seq(nt->c[0], 3), heard);
    link_down(nt, 0, 2);
    CU_ASSERT_EQUAL(held_lsa_seq(nt->c[0], 3), heard + 2);
    net_free(nt);
}

/* A one-way link (core_link_oneway) is left out of the LSA and of the
 * neighbours, so no tree uses it; the end whose peer holds its frames
 * takes hearsay about that peer (its own LSAs do not come) and sends it
 * every write it lacks, whatever the routes say. */
static void test_one_way_links(void)
{
    static const uint64_t ids[] = {1, 2, 3};
    net *nt = net_new(3, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[2]);
    link_up(nt, 0, 1);
    link_up(nt, 0, 2);
    link_up(nt, 1, 2);
    CU_ASSERT_FATAL(pump(nt) > 0);
    uint64_t heard = held_lsa_seq(nt->c[0], 3);
    CU_ASSERT_FATAL(heard > 0);
    /* 3 holds its frames to 1: what 2 relays about 3 counts at once. */
    core_link_oneway(nt->c[0], 3, false, true);
    core_link_oneway(nt->c[2], 1, true, false);
    uint64_t nb2[] = {2};
    CU_ASSERT_EQUAL(inject_lsa(nt, 0, 1, 3, core_incarnation(nt->c[2]), heard + 2, nb2, 1), 0);
    CU_ASSERT_EQUAL(held_lsa_seq(nt->c[0], 3), heard + 2);
    CU_ASSERT(pump(nt) > 0);
    uint64_t out[4];
    CU_ASSERT_EQUAL(core_neighbours(nt->c[0], out, 4), 1);
    CU_ASSERT_EQUAL(out[0], 2);
    CU_ASSERT_EQUAL(core_neighbours(nt->c[2], out, 4), 1);
    CU_ASSERT_EQUAL(out[0], 2);
    /* 2's database: neither 1 nor 3 lists the other. */
    for (size_t i = 0; i < core_lsa_count(nt->c[1]); i++) {
        route_lsa l = core_lsa_at(nt->c[1], i);
        for (size_t k = 0; k < l.n_neighbours; k++)
            CU_ASSERT_FALSE((l.id == 1 && l.neighbours[k] == 3) ||
                            (l.id == 3 && l.neighbours[k] == 1));
    }
    /* The tree goes 1 - 2 - 3; a write of 1 still reaches 3 through 2. */
    dkv_version v;
    put(nt->c[0], "k", "v", NO_DEP, &v);
    CU_ASSERT(pump(nt) > 0);
    assert_has(nt->st[2], "k", v, "v");
    /* Without 2 no route is left, yet 1 sends 3 its writes over the
     * link (3 holds its own frames to 1, so 3 sends 1 nothing). */
    link_down(nt, 0, 1);
    link_down(nt, 1, 2);
    CU_ASSERT(pump(nt) >= 0);
    CU_ASSERT_EQUAL(core_component(nt->c[0], out, 4), 1);
    dkv_version w;
    put(nt->c[0], "j", "w", NO_DEP, &v);
    put(nt->c[2], "i", "x", NO_DEP, &w);
    CU_ASSERT(pump(nt) > 0);
    assert_has(nt->st[2], "j", v, "w");
    assert_lacks(nt->st[0], "i");
    net_free(nt);
}

/* A peer that holds more writes of our own origin than we do proves our
 * store lost them: the core refuses the link and every later put, rather
 * than number a write twice. */
static void test_lost_own_writes(void)
{
    static const uint64_t ids[] = {1, 2};
    net *nt = net_new(2, ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nt->c[1]);
    peermsg hello = {.type = PEERMSG_HELLO, .id = 2, .to = 1, .inc = 1, .vc = tests_vc("1:5")};
    dkv_err err;
    CU_ASSERT_PTR_NULL(core_damage(nt->c[0]));
    CU_ASSERT_EQUAL(core_link_up(nt->c[0], 2, &hello, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(core_damage(nt->c[0]));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "lost writes"));
    dkv_version v;
    CU_ASSERT_EQUAL(core_put(nt->c[0], (const uint8_t *)"k", 1, (const uint8_t *)"v", 1, NO_DEP,
                             &v, &err),
                    -1);
    assert_lacks(nt->st[0], "k");
    vclock_free(hello.vc);
    net_free(nt);
}

void add_core_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"put reaches the peer, clocks agree", test_put_reaches_peer},
        {"dependency lamport 100 gives 101", test_dependency_lamport},
        {"concurrent writes converge", test_concurrent_writes_converge},
        {"chain and partition heal", test_chain_and_partition},
        {"restart keeps clocks", test_restart},
        {"ring of 4, all write", test_ring_all_write},
        {"writes outlive their origin", test_origin_gone},
        {"older writes batched in one frame do not win",
         test_older_batch_diverges},
        {"skip-ahead frame: clock in memory matches disk",
         test_skip_ahead_frame},
        {"message from a non-neighbour", test_not_a_neighbour},
        {"implausible dependencies refused", test_dependency_bounds},
        {"forged LSA about a neighbour ignored", test_forged_lsa_ignored},
        {"an LSA from its originator replaces a forged one", test_direct_lsa_replaces},
        {"a peer proving lost own writes stops the core", test_lost_own_writes},
        {"hearsay about neighbours", test_hearsay_about_neighbours},
        {"one-way links: unrouted, hearsay, fed", test_one_way_links},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("core", tests_scratch_init, tests_scratch_cleanup, tests);
}
