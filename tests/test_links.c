/* links: the server's link lifecycle and send timers (server/links.h),
 * driven by hand on a testnet under a clock the test sets: the hello
 * checks, the live link winning over a second connection, dial backoff and
 * timeout, keepalive, and when writes, acks and LSAs leave (push interval,
 * ACK delay, LSA delay, the eager window after a digest, retries over a
 * link's budget), by the module's own constants. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/xalloc.h"
#include "../server/peermsg.h"
#include "testnet.h"
#include "kv_memory.h"
#include "tests.h"

#define NODES 3
#define T0 10000000 /* a time long after start-up, when nothing is due */

typedef struct net {
    store *st[NODES];
    testnet *t;
} net;

static const uint64_t ids[NODES] = {1, 2, 3};

static net *net_new(void)
{
    net *n = xcalloc(1, sizeof *n);
    for (size_t i = 0; i < NODES; i++)
        n->st[i] = kv_memory_store(ids[i]);
    n->t = testnet_new(NODES, ids, n->st);
    for (size_t i = 0; i < NODES; i++)
        CU_ASSERT_PTR_NOT_NULL_FATAL(testnet_links(n->t, i));
    return n;
}

static void net_free(net *n)
{
    testnet_free(n->t);
    for (size_t i = 0; i < NODES; i++)
        store_close(n->st[i]);
    free(n);
}

static const links_counters *counters(net *n, size_t i)
{
    return links_get_counters(testnet_links(n->t, i));
}

/* Frames of type in what `from` wrote on the newest connection to `to`. */
static size_t frames_of(net *n, size_t from, size_t to, int type)
{
    testnet_conn *c = testnet_conn_between(n->t, from, to);
    int types[256];
    size_t k = c ? testnet_frame_types(testnet_stream(c, from), types, 256) : 0, count = 0;
    for (size_t i = 0; i < k && i < 256; i++)
        count += types[i] == type;
    return count;
}

static void put(net *n, size_t i, const char *key, size_t value_len)
{
    uint8_t *v = xcalloc(1, value_len ? value_len : 1);
    dkv_version out;
    CU_ASSERT_EQUAL(core_put(testnet_core(n->t, i), (const uint8_t *)key, strlen(key), v,
                             value_len, (dkv_version){0, 0}, &out, NULL),
                    0);
    free(v);
}

/* Links 0 and 1 at T0 and lets the cores settle; nothing is then due. */
static net *linked_pair(void)
{
    net *n = net_new();
    testnet_set_now(n->t, T0);
    CU_ASSERT_FATAL(testnet_link(n->t, 0, 1));
    CU_ASSERT(testnet_pump(n->t) > 0);
    return n;
}

/* Sends a hello on the test's raw connection c. */
static void raw_hello(testnet_conn *c, const char *run, uint64_t id, uint64_t to)
{
    buf b;
    buf_init(&b);
    vclock *vc = vclock_new();
    peermsg_encode_hello(&b, run, id, to, 1, vc, NULL, NULL);
    testnet_raw_send(c, buf_head(&b), buf_unread(&b));
    vclock_free(vc);
    buf_free(&b);
}

/* A node that sends the LSAs a new neighbour lacks at link-up must already
 * count the link as live, or they go nowhere: node 1 holds the LSA of node
 * 2 (its neighbour) and node 3 links to it; the LSA must follow node 1's
 * hello at once, before any timer. (server.c once called core_link_up
 * first, and some clusters never agreed on their group.) */
static void test_link_up_sends_lsas_at_once(void)
{
    net *n = linked_pair();
    testnet_want(n->t, 2, 0);
    CU_ASSERT_EQUAL(testnet_connect(n->t), 1);
    CU_ASSERT_EQUAL(testnet_deliver(n->t, 2, 0, 1), 1); /* 3's hello reaches 1 */
    int types[8];
    size_t k = testnet_frame_types(testnet_stream(testnet_conn_between(n->t, 2, 0), 0), types, 8);
    CU_ASSERT(k >= 2);
    CU_ASSERT_EQUAL(types[0], PEERMSG_HELLO);
    CU_ASSERT(k >= 2 && types[1] == PEERMSG_LSA);
    CU_ASSERT(links_live(testnet_links(n->t, 0), ids[2]));
    net_free(n);
}

static void test_hello_checks(void)
{
    net *n = net_new();
    /* Another run's server at the address: refused by the one dialled. */
    testnet_stop(n->t, 1);
    CU_ASSERT_FATAL(testnet_start(n->t, 1, n->st[1], "other-run"));
    testnet_want(n->t, 0, 1);
    testnet_deliver_all(n->t);
    testnet_conn *c = testnet_conn_between(n->t, 0, 1);
    CU_ASSERT_STRING_EQUAL(testnet_closed(c, 1), "peer belongs to another run");
    CU_ASSERT_FALSE(links_live(testnet_links(n->t, 0), ids[1]));
    CU_ASSERT_EQUAL(counters(n, 1)->hellos_refused, 1);
    /* A stale address: node 1 wants server 3 but reaches 2. */
    testnet_stop(n->t, 1);
    CU_ASSERT_FATAL(testnet_start(n->t, 1, n->st[1], ""));
    links_forget(testnet_links(n->t, 0), ids[1]);
    testnet_want_at(n->t, 0, ids[2], 1);
    testnet_deliver_all(n->t);
    CU_ASSERT_STRING_EQUAL(testnet_closed(testnet_conn_between(n->t, 0, 1), 1),
                           "wrong server at that address");
    /* The dialler checks too: server 2 dialled, the raw listener answers
     * as server 3. */
    links_forget(testnet_links(n->t, 0), ids[2]);
    testnet_want_at(n->t, 0, ids[1], TESTNET_RAW);
    testnet_connect(n->t);
    c = testnet_conn_between(n->t, 0, TESTNET_RAW);
    CU_ASSERT_EQUAL(frames_of(n, 0, TESTNET_RAW, PEERMSG_HELLO), 1);
    raw_hello(c, "", ids[2], ids[0]);
    testnet_deliver_all(n->t);
    CU_ASSERT_STRING_EQUAL(testnet_closed(c, 0), "wrong server at that address");
    /* Hellos to someone else, from oneself, or no hello first. */
    static const struct {
        uint64_t id, to;
        const char *why;
    } bad[] = {{2, 99, "wrong server at that address"}, {1, 1, "wrong server at that address"},
               {0, 0, "peer did not start with hello"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = testnet_raw_dial(n->t, 0);
        if (bad[i].id) {
            raw_hello(c, "", bad[i].id, bad[i].to);
        } else {
            buf b;
            buf_init(&b);
            peermsg_encode_ping(&b);
            testnet_raw_send(c, buf_head(&b), buf_unread(&b));
            buf_free(&b);
        }
        testnet_deliver_all(n->t);
        CU_ASSERT_STRING_EQUAL(testnet_closed(c, 0), bad[i].why);
    }
    /* A peer frame that does not decode. */
    c = testnet_raw_dial(n->t, 0);
    buf b;
    buf_init(&b);
    wire_encode(&b, WIRE_PEER, "{\"t\":", 5, NULL, 0);
    testnet_raw_send(c, buf_head(&b), buf_unread(&b));
    buf_free(&b);
    testnet_deliver_all(n->t);
    CU_ASSERT(testnet_closed(c, 0) &&
              strncmp(testnet_closed(c, 0), "malformed peer frame: ", 22) == 0);
    CU_ASSERT_EQUAL(counters(n, 0)->links_up, 0);
    net_free(n);
}

/* The live link wins over a second connection claiming the same peer (a
 * restarted peer whose old link is not closed here yet, or an impostor),
 * and the live link gets a ping, so that a dead one fails fast. */
static void test_live_link_wins(void)
{
    net *n = linked_pair();
    size_t pings = frames_of(n, 0, 1, PEERMSG_PING);
    testnet_conn *c = testnet_raw_dial(n->t, 0);
    raw_hello(c, "", ids[1], ids[0]);
    testnet_deliver(n->t, TESTNET_RAW, 0, 1);
    CU_ASSERT_STRING_EQUAL(testnet_closed(c, 0), "link already live");
    CU_ASSERT_EQUAL(frames_of(n, 0, 1, PEERMSG_PING), pings + 1);
    CU_ASSERT(links_live(testnet_links(n->t, 0), ids[1]));
    CU_ASSERT_EQUAL(counters(n, 0)->live_link_wins, 1);
    net_free(n);
}

/* A cut link is refused and not dialled until wanted again. */
static void test_cut_and_uncut(void)
{
    net *n = linked_pair();
    links_cut(testnet_links(n->t, 0), ids[1], true);
    testnet_flush(n->t);
    CU_ASSERT_STRING_EQUAL(testnet_closed(testnet_conn_between(n->t, 0, 1), 0),
                           "cut by the master");
    testnet_want(n->t, 1, 0); /* the other side tries */
    testnet_deliver_all(n->t);
    CU_ASSERT_STRING_EQUAL(testnet_closed(testnet_conn_between(n->t, 0, 1), 0), "link is cut");
    uint64_t dials = counters(n, 0)->dials;
    testnet_set_now(n->t, T0 + 5 * LINKS_DIAL_TIMEOUT_US);
    testnet_tick(n->t, 0);
    CU_ASSERT_EQUAL(counters(n, 0)->dials, dials);
    links_forget(testnet_links(n->t, 1), ids[0]);
    CU_ASSERT(testnet_link(n->t, 0, 1)); /* want clears the cut */
    net_free(n);
}

/* forget: the link closes and the old address is not dialled again. */
static void test_forget(void)
{
    net *n = linked_pair();
    links_forget(testnet_links(n->t, 0), ids[1]);
    testnet_flush(n->t);
    CU_ASSERT_STRING_EQUAL(testnet_closed(testnet_conn_between(n->t, 0, 1), 0),
                           "peer forgotten");
    uint64_t dials = counters(n, 0)->dials;
    for (int64_t t = T0; t < T0 + 5 * LINKS_DIAL_TIMEOUT_US; t += 100000) {
        testnet_set_now(n->t, t);
        testnet_tick(n->t, 0);
    }
    CU_ASSERT_EQUAL(counters(n, 0)->dials, dials);
    net_free(n);
}

/* Runs node i's links at each time it asks for until it dials again (at
 * most 10 s on); returns when it did. */
static int64_t next_dial(net *n, size_t i)
{
    uint64_t dials = counters(n, i)->dials;
    for (int64_t due = testnet_tick(n->t, i), until = due + 10000000; due < until;) {
        testnet_set_now(n->t, due);
        int64_t next = testnet_tick(n->t, i);
        if (counters(n, i)->dials > dials)
            return due;
        due = next;
    }
    return -1;
}

/* A wanted link nobody answers is redialled after 5 ms, then twice as
 * long each time while under a second (so at most 1.28 s); want starts
 * over at 5 ms. */
static void test_dial_backoff(void)
{
    net *n = net_new();
    testnet_stop(n->t, 1);
    testnet_want(n->t, 0, 1);
    int64_t last = 0;
    for (int i = 0; i < 11; i++) {
        CU_ASSERT_EQUAL(testnet_connect(n->t), 1); /* refused */
        int64_t at = next_dial(n, 0);
        CU_ASSERT_EQUAL(at - last, LINKS_RETRY_FIRST_US << (i < 8 ? i : 8));
        last = at;
    }
    testnet_connect(n->t);
    testnet_want(n->t, 0, 1);
    testnet_connect(n->t);
    CU_ASSERT_EQUAL(next_dial(n, 0), last + LINKS_RETRY_FIRST_US);
    net_free(n);
}

/* A dial whose hello never comes back is dropped after 2 s. */
static void test_dial_timeout(void)
{
    net *n = net_new();
    testnet_want_at(n->t, 0, ids[1], TESTNET_RAW);
    testnet_connect(n->t);
    testnet_conn *c = testnet_conn_between(n->t, 0, TESTNET_RAW);
    testnet_set_now(n->t, LINKS_DIAL_TIMEOUT_US / 2);
    CU_ASSERT_EQUAL(testnet_tick(n->t, 0), LINKS_DIAL_TIMEOUT_US);
    testnet_set_now(n->t, LINKS_DIAL_TIMEOUT_US - 1);
    testnet_tick(n->t, 0);
    CU_ASSERT_PTR_NULL(testnet_closed(c, 0));
    testnet_set_now(n->t, LINKS_DIAL_TIMEOUT_US);
    testnet_tick(n->t, 0);
    CU_ASSERT_STRING_EQUAL(testnet_closed(c, 0), "no hello in time");
    CU_ASSERT_EQUAL(counters(n, 0)->dial_timeouts, 1);
    net_free(n);
}

/* An idle link gets a ping after 0.5 s; a link silent for 3 s is dropped;
 * a ping held back by unsent output does not ask for a wakeup in the past
 * (the server's loop would spin). */
static void test_keepalive(void)
{
    net *n = linked_pair();
    testnet_set_now(n->t, T0 + LINKS_PING_US - 1);
    testnet_tick(n->t, 0);
    testnet_tick(n->t, 1);
    CU_ASSERT_EQUAL(frames_of(n, 0, 1, PEERMSG_PING), 0);
    testnet_set_now(n->t, T0 + LINKS_PING_US);
    CU_ASSERT_EQUAL(testnet_tick(n->t, 0), T0 + 2 * LINKS_PING_US);
    testnet_tick(n->t, 1);
    CU_ASSERT_EQUAL(frames_of(n, 0, 1, PEERMSG_PING), 1);
    CU_ASSERT_EQUAL(frames_of(n, 1, 0, PEERMSG_PING), 1);
    testnet_deliver(n->t, 0, 1, 0); /* 1 hears 0's ping; 0 hears nothing */
    testnet_set_now(n->t, T0 + 2 * LINKS_PING_US);
    int64_t due = testnet_tick(n->t, 1);
    CU_ASSERT(due > T0 + 2 * LINKS_PING_US);
    CU_ASSERT_EQUAL(frames_of(n, 1, 0, PEERMSG_PING), 1); /* still unsent: no other */
    testnet_set_now(n->t, T0 + LINKS_DEAD_US - 1);
    testnet_tick(n->t, 0);
    CU_ASSERT_PTR_NULL(testnet_closed(testnet_conn_between(n->t, 0, 1), 0));
    testnet_set_now(n->t, T0 + LINKS_DEAD_US);
    testnet_tick(n->t, 0);
    CU_ASSERT_STRING_EQUAL(testnet_closed(testnet_conn_between(n->t, 0, 1), 0), "peer silent");
    CU_ASSERT_EQUAL(counters(n, 0)->silent_drops, 1);
    CU_ASSERT_EQUAL(counters(n, 1)->silent_drops, 0);
    net_free(n);
}

/* After a quiet spell a write leaves at once; the next waits for the push
 * interval. The receiver's ack waits ACK_DELAY, then goes. */
static void test_push_interval_and_deferred_acks(void)
{
    net *n = linked_pair();
    uint64_t pushes = counters(n, 0)->pushes;
    put(n, 0, "a", 10);
    testnet_tick(n->t, 0);
    CU_ASSERT_EQUAL(counters(n, 0)->pushes, pushes + 1);
    CU_ASSERT_EQUAL(frames_of(n, 0, 1, PEERMSG_UPD), 1);
    testnet_deliver(n->t, 0, 1, 0);
    CU_ASSERT_EQUAL(testnet_tick(n->t, 1), T0 + LINKS_ACK_DELAY_US);
    CU_ASSERT_EQUAL(frames_of(n, 1, 0, PEERMSG_ACK), 0);
    testnet_set_now(n->t, T0 + 1000);
    put(n, 0, "b", 10);
    CU_ASSERT_EQUAL(testnet_tick(n->t, 0), T0 + LINKS_PUSH_INTERVAL_US);
    CU_ASSERT_EQUAL(frames_of(n, 0, 1, PEERMSG_UPD), 0);
    testnet_set_now(n->t, T0 + LINKS_PUSH_INTERVAL_US);
    testnet_tick(n->t, 0);
    CU_ASSERT_EQUAL(frames_of(n, 0, 1, PEERMSG_UPD), 1);
    testnet_set_now(n->t, T0 + LINKS_ACK_DELAY_US - 1);
    testnet_tick(n->t, 1);
    CU_ASSERT_EQUAL(frames_of(n, 1, 0, PEERMSG_ACK), 0);
    testnet_set_now(n->t, T0 + LINKS_ACK_DELAY_US);
    testnet_tick(n->t, 1);
    CU_ASSERT_EQUAL(frames_of(n, 1, 0, PEERMSG_ACK), 1);
    CU_ASSERT_EQUAL(counters(n, 1)->acks_deferred, 1);
    net_free(n);
}

/* A link change is advertised after LSA_DELAY, on its own, even when the
 * push interval has not run out. */
static void test_lsa_only_send(void)
{
    net *n = linked_pair();
    put(n, 0, "a", 10);
    testnet_tick(n->t, 0); /* a push: the next may not leave for 20 ms */
    testnet_deliver(n->t, 0, 1, 0);
    testnet_set_now(n->t, T0 + 2000);
    testnet_want(n->t, 2, 0);
    testnet_deliver_all(n->t); /* 3 and 1 linked: 1 has a change to tell 2 */
    CU_ASSERT_EQUAL(testnet_tick(n->t, 0), T0 + 2000 + LINKS_LSA_DELAY_US);
    CU_ASSERT_EQUAL(frames_of(n, 0, 1, PEERMSG_LSA), 0);
    uint64_t pushes = counters(n, 0)->pushes, alone = counters(n, 0)->lsa_only_sends;
    testnet_set_now(n->t, T0 + 2000 + LINKS_LSA_DELAY_US);
    testnet_tick(n->t, 0);
    CU_ASSERT(frames_of(n, 0, 1, PEERMSG_LSA) >= 1);
    CU_ASSERT_EQUAL(counters(n, 0)->pushes, pushes);
    CU_ASSERT_EQUAL(counters(n, 0)->lsa_only_sends, alone + 1);
    net_free(n);
}

/* After a digest request, for LINKS_EAGER_US, writes and acks leave at once;
 * then the intervals are back. */
static void test_eager_window(void)
{
    net *n = linked_pair();
    put(n, 0, "a", 10);
    testnet_tick(n->t, 0);
    testnet_set_now(n->t, T0 + 1000);
    links_digest(testnet_links(n->t, 0), T0 + 1000);
    links_digest(testnet_links(n->t, 1), T0 + 1000);
    put(n, 0, "b", 10);
    testnet_tick(n->t, 0);
    CU_ASSERT_EQUAL(frames_of(n, 0, 1, PEERMSG_UPD), 2);
    CU_ASSERT_EQUAL(counters(n, 0)->eager_pushes, 1);
    testnet_deliver(n->t, 0, 1, 0);
    testnet_tick(n->t, 1);
    CU_ASSERT_EQUAL(frames_of(n, 1, 0, PEERMSG_ACK), 1);
    testnet_deliver(n->t, 1, 0, 0);
    testnet_set_now(n->t, T0 + 1000 + LINKS_EAGER_US);
    put(n, 0, "c", 10);
    testnet_tick(n->t, 0);
    testnet_set_now(n->t, T0 + 1001 + LINKS_EAGER_US);
    put(n, 0, "d", 10);
    CU_ASSERT_EQUAL(testnet_tick(n->t, 0), T0 + 1000 + LINKS_EAGER_US + LINKS_PUSH_INTERVAL_US);
    net_free(n);
}

/* A push that stops at a link's output budget is retried after
 * LINKS_PUSH_RETRY_US, even in the eager window (which would otherwise retry at
 * once, in a loop, while the output cannot leave). */
static void test_push_retry_over_budget(void)
{
    net *n = linked_pair();
    links_digest(testnet_links(n->t, 0), T0);
    for (int i = 0; i < 4; i++) {
        char key[8];
        snprintf(key, sizeof key, "big%d", i);
        put(n, 0, key, 300 << 10);
    }
    uint64_t retried = counters(n, 0)->pushes_retried;
    CU_ASSERT_EQUAL(testnet_tick(n->t, 0), T0 + LINKS_PUSH_RETRY_US);
    CU_ASSERT_EQUAL(counters(n, 0)->pushes_retried, retried + 1);
    testnet_set_now(n->t, T0 + 10);
    CU_ASSERT_EQUAL(testnet_tick(n->t, 0), T0 + LINKS_PUSH_RETRY_US);
    CU_ASSERT_EQUAL(frames_of(n, 0, 1, PEERMSG_UPD), 2);
    testnet_deliver(n->t, 0, 1, 0);
    testnet_set_now(n->t, T0 + LINKS_PUSH_RETRY_US);
    testnet_tick(n->t, 0);
    CU_ASSERT_EQUAL(frames_of(n, 0, 1, PEERMSG_UPD), 2);
    testnet_deliver(n->t, 0, 1, 0);
    CU_ASSERT_EQUAL(vclock_get(core_vclock(testnet_core(n->t, 1)), ids[0]), 4);
    net_free(n);
}

/* ---- faults (links_set_fault) ---- */

/* Whether node i holds key, and its version. */
static bool holds(net *n, size_t i, const char *key, dkv_version *v)
{
    bool found = false;
    dkv_version got = {0, 0};
    CU_ASSERT_EQUAL(core_get(testnet_core(n->t, i), (const uint8_t *)key, strlen(key), &found,
                             &got, NULL, NULL, NULL),
                    0);
    if (v)
        *v = got;
    return found;
}

/* Time moves in 1 ms steps to `until`: every node ticks, frames are
 * delivered. Returns the first time node `to` held key (0: never). */
static int64_t run_until(net *n, int64_t from, int64_t until, size_t to, const char *key)
{
    int64_t seen = 0;
    for (int64_t now = from; now <= until; now += 1000) {
        testnet_set_now(n->t, now);
        for (size_t i = 0; i < NODES; i++)
            testnet_tick(n->t, i);
        testnet_deliver_all(n->t);
        if (!seen && key && holds(n, to, key, NULL))
            seen = now;
    }
    return seen;
}

/* A delay holds every frame for its time, counted from when the core wrote
 * it, in a staging queue that digest counts as queued. */
static void test_fault_delay(void)
{
    net *n = linked_pair();
    links *a = testnet_links(n->t, 0);
    links_set_fault(a, ids[1], &(links_fault){.delay_us = 100000});
    int64_t t = T0 + 100000;
    testnet_set_now(n->t, t);
    put(n, 0, "k", 1);
    int64_t seen = run_until(n, t, t + 50000, 1, "k");
    CU_ASSERT_EQUAL(seen, 0);
    CU_ASSERT(counters(n, 0)->staged_frames > 0);
    CU_ASSERT(links_digest(a, t + 50000) > 0); /* held in the queue: stabilize waits */
    seen = run_until(n, t + 51000, t + 200000, 1, "k");
    CU_ASSERT(seen >= t + 100000 && seen <= t + 100000 + LINKS_PUSH_INTERVAL_US + 1000);
    /* The other way is not delayed. */
    put(n, 1, "back", 1);
    testnet_set_now(n->t, t + 300000);
    seen = run_until(n, t + 300000, t + 310000, 0, "back");
    CU_ASSERT(seen > 0 && seen <= t + 305000);
    /* Off again: frames leave at once once the queue is empty. */
    links_set_fault(a, ids[1], &(links_fault){0});
    put(n, 0, "k2", 1);
    seen = run_until(n, t + 400000, t + 410000, 1, "k2");
    CU_ASSERT(seen > 0 && seen <= t + 405000);
    CU_ASSERT(links_live(a, ids[1]));
    net_free(n);
}

/* With a jitter larger than the delay, frames still leave in order: the
 * peer's core would drop the link on a gap in an origin's writes. */
static void test_fault_jitter_keeps_order(void)
{
    net *n = linked_pair();
    links *a = testnet_links(n->t, 0);
    links_set_fault(a, ids[1], &(links_fault){.delay_us = 5000, .jitter_us = 40000, .seed = 7});
    int64_t t = T0 + 100000;
    char key[16];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "k%d", i);
        testnet_set_now(n->t, t);
        put(n, 0, key, 1);
        put(n, 0, "same", 1);
        run_until(n, t, t + 3000, 1, NULL);
        t += 4000;
    }
    run_until(n, t, t + 200000, 1, NULL);
    dkv_version v0, v1;
    CU_ASSERT(holds(n, 0, "same", &v0) && holds(n, 1, "same", &v1));
    CU_ASSERT(dkv_version_cmp(v0, v1) == 0);
    CU_ASSERT(holds(n, 1, "k39", NULL));
    CU_ASSERT_EQUAL(counters(n, 1)->protocol_drops, 0);
    CU_ASSERT(links_live(a, ids[1]));
    CU_ASSERT_EQUAL(counters(n, 0)->links_up, 1); /* never dropped */
    net_free(n);
}

/* A held link carries keepalive only: the connection stays up (no silent
 * drop), neither side counts it, no write crosses; released, it comes back
 * through a fresh hello and the write arrives. */
static void test_fault_held(void)
{
    net *n = linked_pair();
    links *a = testnet_links(n->t, 0), *b = testnet_links(n->t, 1);
    links_fault held = {.held = true};
    links_set_fault(a, ids[1], &held);
    links_set_fault(b, ids[0], &held);
    CU_ASSERT_FALSE(links_live(a, ids[1]));
    CU_ASSERT_FALSE(links_live(b, ids[0]));
    testnet_conn *c = testnet_conn_between(n->t, 0, 1);
    int64_t t = T0 + 100000;
    testnet_set_now(n->t, t);
    put(n, 0, "k", 1);
    put(n, 1, "j", 1);
    CU_ASSERT_EQUAL(run_until(n, t, t + 2 * LINKS_DEAD_US, 1, "k"), 0);
    CU_ASSERT_FALSE(holds(n, 0, "j", NULL));
    CU_ASSERT_PTR_NULL(testnet_closed(c, 0));
    CU_ASSERT_PTR_NULL(testnet_closed(c, 1));
    CU_ASSERT_EQUAL(counters(n, 0)->silent_drops, 0);
    CU_ASSERT(counters(n, 0)->pings > 0);
    /* Released at both ends: the connection closes and is dialled again. */
    t += 2 * LINKS_DEAD_US + 1000;
    links_set_fault(a, ids[1], &(links_fault){0});
    links_set_fault(b, ids[0], &(links_fault){0});
    testnet_flush(n->t);
    CU_ASSERT_STRING_EQUAL(testnet_closed(c, 0), "link released by the master");
    CU_ASSERT(run_until(n, t, t + 100000, 1, "k") > 0);
    CU_ASSERT(holds(n, 0, "j", NULL));
    CU_ASSERT(links_live(a, ids[1]) && links_live(b, ids[0]));
    net_free(n);
}

/* blockLink 0 1, one way: 0 holds every frame its core writes for 1 in
 * its staging queue (hello and pings still go), 1's frames reach 0 and are
 * taken. Neither core routes over the link or counts it, the connection
 * stays up (pings pass both ways), held bytes are not what stabilize waits
 * for, and on release the held frames leave in order on the same
 * connection: no new hello, no protocol error, 0's write arrives. */
static void test_fault_one_way(void)
{
    net *n = linked_pair();
    links *a = testnet_links(n->t, 0), *b = testnet_links(n->t, 1);
    testnet_conn *c = testnet_conn_between(n->t, 0, 1);
    links_set_fault(a, ids[1], &(links_fault){.hold_out = true});
    links_set_fault(b, ids[0], &(links_fault){.hold_in = true});
    CU_ASSERT(links_live(a, ids[1]) && links_live(b, ids[0]));
    int64_t t = T0 + 100000;
    testnet_set_now(n->t, t);
    put(n, 1, "j", 1);
    int64_t seen = run_until(n, t, t + 100000, 0, "j");
    CU_ASSERT(seen > 0 && seen <= t + LINKS_PUSH_INTERVAL_US + 2000);
    /* Out of routing at both ends: no neighbour, each its own group. */
    uint64_t ids_out[NODES];
    CU_ASSERT_EQUAL(core_neighbours(testnet_core(n->t, 0), ids_out, NODES), 0);
    CU_ASSERT_EQUAL(core_neighbours(testnet_core(n->t, 1), ids_out, NODES), 0);
    CU_ASSERT_EQUAL(core_component(testnet_core(n->t, 0), ids_out, NODES), 1);
    CU_ASSERT_EQUAL(core_component(testnet_core(n->t, 1), ids_out, NODES), 1);
    put(n, 0, "k", 1);
    t += 100000;
    CU_ASSERT_EQUAL(run_until(n, t, t + 2 * LINKS_DEAD_US, 1, "k"), 0);
    t += 2 * LINKS_DEAD_US + 1000;
    /* 0 advertised its links (held; its acks wait for the end of the
     * block), while pings went both ways. */
    CU_ASSERT(counters(n, 0)->staged_frames > 0);
    CU_ASSERT(counters(n, 0)->pings > 0 && counters(n, 1)->pings > 0);
    CU_ASSERT_EQUAL(links_digest(a, t), 0); /* held frames wait for the unblock */
    CU_ASSERT_PTR_NULL(testnet_closed(c, 0));
    CU_ASSERT_PTR_NULL(testnet_closed(c, 1));
    CU_ASSERT_EQUAL(counters(n, 0)->silent_drops + counters(n, 1)->silent_drops, 0);
    /* A later write of 1 still crosses at once. */
    testnet_set_now(n->t, t);
    put(n, 1, "j2", 1);
    seen = run_until(n, t, t + 100000, 0, "j2");
    CU_ASSERT(seen > 0 && seen <= t + LINKS_PUSH_INTERVAL_US + 2000);
    /* Released: the held frames leave first, in order, on the same
     * connection; the link is routed again and 0's write follows. */
    t += 100000;
    testnet_set_now(n->t, t);
    links_set_fault(a, ids[1], &(links_fault){0});
    links_set_fault(b, ids[0], &(links_fault){0});
    testnet_tick(n->t, 0);
    int types[64];
    size_t k = testnet_frame_types(testnet_stream(c, 0), types, 64);
    /* Its first held frame, then one cumulative ack for all it took. */
    CU_ASSERT(k >= 2 && k < 64 && types[0] == PEERMSG_LSA);
    CU_ASSERT_EQUAL(frames_of(n, 0, 1, PEERMSG_ACK), 1);
    seen = run_until(n, t, t + 100000, 1, "k");
    CU_ASSERT(seen > 0);
    CU_ASSERT_PTR_NULL(testnet_closed(c, 0));
    CU_ASSERT_PTR_NULL(testnet_closed(c, 1));
    CU_ASSERT_EQUAL(counters(n, 0)->links_up, 1);
    CU_ASSERT_EQUAL(counters(n, 1)->protocol_drops + counters(n, 0)->protocol_drops, 0);
    CU_ASSERT_EQUAL(core_neighbours(testnet_core(n->t, 1), ids_out, NODES), 1);
    CU_ASSERT_EQUAL(core_component(testnet_core(n->t, 0), ids_out, NODES), 2);
    net_free(n);
}

/* A link that comes up while blocked one way (a redial after a break) is
 * one-way from its hello on: 1's writes cross, 0's wait. */
static void test_fault_one_way_from_hello(void)
{
    net *n = net_new();
    links *a = testnet_links(n->t, 0), *b = testnet_links(n->t, 1);
    links_set_fault(a, ids[1], &(links_fault){.hold_out = true});
    links_set_fault(b, ids[0], &(links_fault){.hold_in = true});
    testnet_set_now(n->t, T0);
    CU_ASSERT_FATAL(testnet_link(n->t, 0, 1));
    testnet_pump(n->t);
    CU_ASSERT(links_live(a, ids[1]) && links_live(b, ids[0]));
    int64_t t = T0 + 100000;
    testnet_set_now(n->t, t);
    put(n, 0, "k", 1);
    put(n, 1, "j", 1);
    CU_ASSERT(run_until(n, t, t + 100000, 0, "j") > 0);
    CU_ASSERT_FALSE(holds(n, 1, "k", NULL));
    uint64_t ids_out[NODES];
    CU_ASSERT_EQUAL(core_component(testnet_core(n->t, 1), ids_out, NODES), 1);
    links_set_fault(a, ids[1], &(links_fault){0});
    links_set_fault(b, ids[0], &(links_fault){0});
    CU_ASSERT(run_until(n, t + 101000, t + 200000, 1, "k") > 0);
    net_free(n);
}

/* A flaky link resets the connection after frames with its probability; the
 * link comes back and, once the link is steady, everything arrives. */
static void test_fault_flaky(void)
{
    net *n = linked_pair();
    links *a = testnet_links(n->t, 0);
    links_set_fault(a, ids[1], &(links_fault){.flaky_pct = 100, .seed = 1});
    int64_t t = T0 + 100000;
    testnet_set_now(n->t, t);
    put(n, 0, "k", 1);
    run_until(n, t, t + 100000, 1, NULL);
    CU_ASSERT(counters(n, 0)->flaky_resets > 0);
    uint64_t ups = counters(n, 0)->links_up;
    CU_ASSERT(ups > 1); /* reconnected after each reset */
    links_set_fault(a, ids[1], &(links_fault){.flaky_pct = 30, .seed = 1});
    for (int i = 0; i < 20; i++) {
        char key[8];
        snprintf(key, sizeof key, "f%d", i);
        put(n, 0, key, 1);
        run_until(n, t + 100000 + i * 5000, t + 104000 + i * 5000, 1, NULL);
    }
    t += 300000;
    links_set_fault(a, ids[1], &(links_fault){0});
    run_until(n, t, t + 3 * LINKS_RETRY_MAX_US, 1, NULL);
    CU_ASSERT(holds(n, 1, "k", NULL) && holds(n, 1, "f19", NULL) && holds(n, 1, "f0", NULL));
    CU_ASSERT(links_live(a, ids[1]));
    net_free(n);
}

void add_links_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"link-up: the LSAs a new neighbour lacks follow the hello", test_link_up_sends_lsas_at_once},
        {"hello checks: run, address, sender, hello first, decoding", test_hello_checks},
        {"a second connection claiming a live peer is refused", test_live_link_wins},
        {"cut refuses and stops dialling; want clears it", test_cut_and_uncut},
        {"forget stops dialling the old address", test_forget},
        {"dial backoff doubles while under a second", test_dial_backoff},
        {"a dial without a hello is dropped after 2 s", test_dial_timeout},
        {"keepalive: ping when idle, drop when silent, no spin", test_keepalive},
        {"push interval and deferred acks", test_push_interval_and_deferred_acks},
        {"LSAs leave on their own after LSA_DELAY", test_lsa_only_send},
        {"the eager window after a digest", test_eager_window},
        {"pushes over the link budget retry after PUSH_RETRY", test_push_retry_over_budget},
        {"fault: delay holds frames for their time", test_fault_delay},
        {"fault: jitter keeps frames in order", test_fault_jitter_keeps_order},
        {"fault: a held link keeps keepalive only", test_fault_held},
        {"fault: one way held, the other way flows", test_fault_one_way},
        {"fault: a link up while held one way", test_fault_one_way_from_hello},
        {"fault: a flaky link resets and recovers", test_fault_flaky},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("links", NULL, NULL, tests);
}
