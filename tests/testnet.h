/* testnet: a small network of servers' links modules (server/links.h) that
 * unit tests drive by hand: the test sets the time, and frames move only
 * when it says so. Connections are in-memory streams; a dial completes (or
 * is refused) when the test delivers; a close is noticed by the other end
 * at once. The test may also hold raw ends: a connection it opens to a
 * node, or a listener the nodes dial, to send what a node would not (a
 * forged hello) and read what comes back. The protocol fixture (fixture.h)
 * is the randomized counterpart. */
#ifndef DKV_TEST_TESTNET_H
#define DKV_TEST_TESTNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../server/links.h"

#define TESTNET_MAX 8
/* Where the test's raw listener is: nodes dial it like any node. */
#define TESTNET_RAW TESTNET_MAX

typedef struct testnet testnet;
/* A connection (the memconn.h record, opaque here). */
typedef struct memconn testnet_conn;

/* n nodes (at most TESTNET_MAX) with ids[i], each on stores[i] (the
 * caller's) with run id "", all up, none linked, at time 0. Caller frees
 * with testnet_free. */
testnet *testnet_new(size_t n, const uint64_t *ids, store *const *stores);
void testnet_free(testnet *t);
links *testnet_links(testnet *t, size_t i);
core *testnet_core(testnet *t, size_t i);
void testnet_set_now(testnet *t, int64_t now);
/* Node i's process ends (links_free): its connections die at its end and
 * stay open at the other (half-open) until testnet_break. */
void testnet_stop(testnet *t, size_t i);
/* Node i starts again on st with run id run; false if links_new failed. */
bool testnet_start(testnet *t, size_t i, store *st, const char *run);

/* The master asks i to keep a link to j. */
void testnet_want(testnet *t, size_t i, size_t j);
/* ... to the server `peer`, at the address of node `at` (TESTNET_RAW: the
 * raw listener; a node other than peer: a stale address). */
void testnet_want_at(testnet *t, size_t i, uint64_t peer, size_t at);
/* Dials pending complete (or are refused). Returns how many. */
size_t testnet_connect(testnet *t);
/* Dials pending complete (or are refused), then frames are delivered, in
 * rounds, until nothing moves. Frames the test's raw ends receive stay
 * for it to read. Returns the frames delivered. */
size_t testnet_deliver_all(testnet *t);
/* Frames from i to j, at most max of them (of the newest open connection
 * between them). Returns the count delivered. */
size_t testnet_deliver(testnet *t, size_t i, size_t j, size_t max);
/* Runs node i's links_tick at the current time; returns when it is due. */
int64_t testnet_tick(testnet *t, size_t i);
/* Handles what nodes asked for during the test's own calls to their links
 * (links_cut, links_forget): closes. */
void testnet_flush(testnet *t);
/* want, then deliver until both ends carry the live link. */
bool testnet_link(testnet *t, size_t i, size_t j);
/* Every connection between i and j closes under both nodes (a reset):
 * frames in flight are lost, each node hears of it at once. */
void testnet_break(testnet *t, size_t i, size_t j);
/* core_tick on every node and delivery until a round moves nothing: the
 * core's own pace, without the links' timers. Rounds used, or -1 when a
 * node closed a connection or 100 rounds did not settle. */
int testnet_pump(testnet *t);

/* The newest connection between i and j (either dialled), or NULL. */
testnet_conn *testnet_conn_between(testnet *t, size_t i, size_t j);
/* What the node at end `from` of c wrote that has not been delivered. */
buf *testnet_stream(testnet_conn *c, size_t from);
/* Why node `at` closed its end of c; NULL while open. */
const char *testnet_closed(testnet_conn *c, size_t at);
/* The frame types (peermsg_type) in a stream, in order, up to cap;
 * returns the count. */
size_t testnet_frame_types(const buf *stream, int *types, size_t cap);

/* A raw connection from the test to node j: returns it; the test writes
 * with testnet_raw_send and reads testnet_stream(c, j). */
testnet_conn *testnet_raw_dial(testnet *t, size_t j);
/* Appends bytes from the test's end of c; they arrive with the next
 * delivery. */
void testnet_raw_send(testnet_conn *c, const void *bytes, size_t len);

#endif
