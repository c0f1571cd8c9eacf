/* fixture: a deterministic, in-process network of servers' protocol
 * engines (server/links.h, each around its core, server/core.h) on memory
 * stores, for randomized tests of replication. Each node runs the same
 * links module the server runs, under virtual time, so the fixture sees
 * the daemon's own interleavings: dials and backoff, the hello exchange
 * and its checks, writes pushed per interval, acks deferred, LSAs sent on
 * their own, the eager window after a digest, keepalive.
 *
 * Connections are modelled the way the loop (common/loop.h) surfaces TCP
 * to server.c:
 *   - a node's links dial an address (each start of a node listens on a new
 *     port); the dial later completes, is refused (nobody listens there), or
 *     hangs while the two sides are partitioned, until the dialer's timeout;
 *   - a connection is two FIFO byte streams holding the wire frames each end
 *     wrote into its output buffer; frames of one connection are never
 *     reordered; frames of different connections interleave in any order,
 *     each direction with its own (changeable) speed;
 *   - a node closes a connection (links_ops.close) once the current event
 *     is handled; what it wrote before still arrives; the other end notices
 *     later (an ordinary step), sooner when it writes into the dead
 *     connection; a break resets both ends at once, or one end first;
 *   - a one-way partition holds frames from A to B (the connection stays
 *     up, FIFO) until released; a partition resets some connections between
 *     sides and silences the others (keepalive drops them) until healed;
 *   - a crash frees the node's links and core; each of its connections
 *     resets at once or stays half-open (what the dead node wrote still
 *     arrives) until the peer notices, and the master may tell the others
 *     to forget it. A restart starts the node on the same memory store at a
 *     new port, and has it dial every wanted peer (the master's rejoin);
 *   - the master's requests are links_want (one node of a wanted pair
 *     dials), links_cut both ways and uncut, links_forget and digests.
 *   - clients and the workload run against one node at a time, as the real
 *     client does (fixture_client_put/get).
 * A link is "established" when both ends carry their node's live link.
 * A link a node drops for a broken protocol (a malformed frame, a bad
 * hello, a core_on_message error) counts as a failure: nodes speaking to
 * nodes never break the protocol.
 *
 * Virtual time: every step takes a random few tens of microseconds; when
 * every node's timers lie ahead, a step may jump to the earliest. While
 * converging, the fixture polls every node's digest as stabilize does.
 *
 * One seeded PRNG (splitmix64) drives every choice; nothing reads a clock or
 * rand(), so a seed replays exactly and fixture_digest (a hash of every
 * event and its time, including the bytes of every frame delivered) is the
 * same.
 *
 * The fixture also keeps an oracle of every acknowledged write and a model
 * of client sessions (SPEC section 4), and checks them as it goes: a check
 * that fails marks the fixture failed (fixture_error) and stops it. */
#ifndef DKV_TEST_FIXTURE_H
#define DKV_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/version.h"
#include "../server/core.h"
#include "../server/links.h"
#include "../server/store.h"

#define FIXTURE_MAX_NODES 16
#define FIXTURE_MAX_KEYS 32

typedef struct fixture fixture;

typedef enum fixture_topology {
    FIXTURE_COMPLETE, /* every pair */
    FIXTURE_CHAIN,    /* 0-1-2-...-n-1 */
    FIXTURE_RING,     /* a chain closed on itself */
    FIXTURE_STAR,     /* 0 in the middle */
    FIXTURE_TREE,     /* random tree: i links to a random j < i */
    FIXTURE_MESH,     /* random tree plus random extra links */
} fixture_topology;

/* What fixture_step does, drawn per step. The p_* are probabilities per step
 * (their sum must stay below 1); when none is drawn, or the drawn one is not
 * possible, the step is an ordinary action chosen by weight among: deliver
 * the head frame of a direction (w_deliver times that direction's speed),
 * run an up node's loop (links_tick, w_tick), complete a dial or let the
 * live end of a half-open connection notice it (w_connect each), or, when
 * no node is due before, jump to the time the first one is (w_wait). */
typedef struct fixture_config {
    unsigned w_deliver, w_tick, w_connect, w_wait;
    /* Client workload. */
    double p_put, p_get, p_move;
    /* Faults. */
    double p_break;     /* break a random connection (both ends, or one first) */
    double p_slow;      /* give a random direction a new speed (1, 8 or 16) */
    double p_hold;      /* one-way partition of a random wanted direction */
    double p_release;   /* release a random held direction */
    double p_partition; /* split the nodes into two or three random sides */
    double p_heal;      /* heal the partition */
    double p_crash;     /* crash a random up node (at most max_down down) */
    double p_restart;   /* restart a random crashed node */
    double p_digest;    /* a digest request to a random node (its eager window) */
    double p_cut;       /* the master cuts a random wanted pair, both ways */
    double p_uncut;     /* the master links a cut pair again */
    /* The master's link faults (links_set_fault, as delayLink, flakyLink
     * and blockLink set them): a random wanted pair gets a delay with a
     * jitter on one direction, a flaky direction, held at both ends, or
     * none of them. A crash forgets the node's faults at its peers. */
    double p_link_fault;
    size_t max_down;
} fixture_config;

/* Ordinary actions only: no workload, no faults. */
fixture_config fixture_config_quiet(void);
/* Workload plus every fault at rates that keep a run eventful. */
fixture_config fixture_config_faulty(void);

typedef struct fixture_stats {
    uint64_t steps, frames, frame_bytes, ticks, waits, dials, connects, refused, closes, notices;
    uint64_t breaks, slows, holds, releases, partitions, heals, crashes, restarts, digests, cuts,
        uncuts, forgets, link_faults;
    uint64_t puts, gets, moves, reads_ok, reads_err_key, reads_err_dep;
} fixture_stats;

typedef enum fixture_read {
    FIXTURE_READ_OK,      /* the node's version is >= the dependency */
    FIXTURE_READ_ERR_KEY, /* no dependency, no value */
    FIXTURE_READ_ERR_DEP, /* the node's version is older than the dependency, or absent */
} fixture_read;

/* n_nodes (<= FIXTURE_MAX_NODES) cores, all up, with distinct ids (NULL:
 * 1..n), no wanted links, n_keys (<= FIXTURE_MAX_KEYS) keys and no
 * clients; config fixture_config_quiet(). Aborts on bad arguments. */
fixture *fixture_new(uint64_t seed, size_t n_nodes, const uint64_t *ids, size_t n_keys);
void fixture_free(fixture *f);

void fixture_set_config(fixture *f, const fixture_config *cfg);
/* Prints every event to out (NULL: off), for replaying a failing seed. */
void fixture_set_trace(fixture *f, FILE *out);

/* Node ids drawn at random from the seed: distinct, in [0, 10^12). */
void fixture_random_ids(uint64_t seed, size_t n, uint64_t *ids);

/* Marks the pair wanted, a to dial b (as the master's createConnection A B).
 * Nothing is dialled until fixture_connect_all. */
void fixture_want(fixture *f, size_t a, size_t b);
/* Replaces the wanted pairs (before fixture_connect_all); which node of a
 * pair dials is drawn. */
void fixture_topology_set(fixture *f, fixture_topology t);
/* The master's connect: the dialler of every wanted pair that is not cut,
 * when both are up, is asked to keep the link (links_want). */
void fixture_connect_all(fixture *f);

/* One step (see fixture_config). 0, or -1 once the fixture has failed. */
int fixture_step(fixture *f);
/* steps calls of fixture_step; 0, or -1 on failure. */
int fixture_run(fixture *f, size_t steps);

/* Faults, by node index. Each is a no-op when it does not apply. */
void fixture_break(fixture *f, size_t a, size_t b);
/* a's end of the a-b connection closes under a, which hears of it at once;
 * b notices later, or (quiet: no FIN reached it) only once it writes. */
void fixture_half_close(fixture *f, size_t a, size_t b, bool quiet);
void fixture_hold(fixture *f, size_t from, size_t to);
void fixture_release(fixture *f, size_t from, size_t to);
/* side[i] is node i's side; connections across sides reset or go silent,
 * and no dial across completes, until healed. */
void fixture_partition(fixture *f, const int *side);
void fixture_heal(fixture *f);
void fixture_crash(fixture *f, size_t node);
void fixture_restart(fixture *f, size_t node);
/* The master's breakConnection A B (cut both ways) and createConnection
 * A B (uncut, A dials B). */
void fixture_cut(fixture *f, size_t a, size_t b);
void fixture_uncut(fixture *f, size_t a, size_t b);
/* A digest request to the node: its eager window opens. */
void fixture_digest_request(fixture *f, size_t node);
/* Moves virtual time forward by us (nothing else happens). */
void fixture_advance(fixture *f, int64_t us);
/* Appends raw bytes to the stream from -> to of a connection both ends
 * hold open, for tests of the fixture's own checks. 0, or -1 when there is
 * none. */
int fixture_inject(fixture *f, size_t from, size_t to, const void *bytes, size_t len);
/* Releases held directions and sets the config to fixture_config_quiet(),
 * leaving partitions and crashed nodes as they are: each group can then
 * converge on its own. */
void fixture_stop_faults(fixture *f);
/* Heals the partition, releases held directions, restarts crashed nodes,
 * links cut pairs again, restores every speed and sets the config to
 * fixture_config_quiet(). */
void fixture_heal_all(fixture *f);

/* Clients: a session (key -> dependency) attached to a node. */
size_t fixture_add_client(fixture *f, size_t node);
void fixture_move_client(fixture *f, size_t client, size_t node);
/* The client writes key through its node (core_put with its dependency)
 * with a generated value. 0 with the new version, or -1 when its node is
 * down (nothing happens) or the fixture failed. Checks that the version is
 * above the client's dependency and above the version the node held
 * (causality), is the node's next write (seq) and ordered after its
 * previous one (across restarts), and that the node holds it at once. */
int fixture_client_put(fixture *f, size_t client, size_t key, dkv_version *out);
/* The same with the caller's value (any bytes, any size). */
int fixture_client_put_value(fixture *f, size_t client, size_t key, const uint8_t *value,
                             size_t value_len, dkv_version *out);
/* The client reads key on its node (store_get), applying SPEC section 4:
 * OK raises the dependency. -1 when its node is down or the fixture
 * failed. Every read, by a client or by the fixture, also checks that the
 * version read was acknowledged for that key with that value, and that the
 * node never holds an older version of a key than it was seen to hold. */
int fixture_client_get(fixture *f, size_t client, size_t key, fixture_read *r,
                       dkv_version *v);

/* No connection is half-open, and every connected group (of up nodes, over
 * established links) has every wanted, allowed link (not cut, both nodes on
 * one side) established, nothing in flight, equal clocks, equal stores,
 * and the same component and neighbours as the fixture sees. */
bool fixture_converged(fixture *f);
/* Why the last fixture_converged was false. */
const char *fixture_why(const fixture *f);
/* Ordinary steps (no workload or faults, whatever the config) until
 * converged, polling every node's digest as stabilize does. The steps
 * used, or -1 (failure or budget spent). */
long fixture_run_until_converged(fixture *f, size_t max_steps);
/* Rounds of "run every up node's loop, deliver every deliverable frame",
 * with time moved to the next send timer when nothing moved, until no frame
 * but pings moved and no node has writes, acks or LSAs waiting. The rounds
 * used, or -1 (failure or budget spent). */
long fixture_settle(fixture *f, size_t max_rounds);

/* Checks every node's persisted and in-memory state against the oracle:
 * each store holds, per key, exactly the highest acknowledged write its
 * clock counts (last writer wins), and no other key; its log holds every
 * write its clock counts; its clock counts no write that was not made; its
 * Lamport counter is at least every version it holds; its persisted meta
 * matches its core. Crashed nodes are checked from their store. With
 * `complete`, also that every clock counts every acknowledged write (no
 * acknowledged write lost). 0, or -1 (and failed). */
int fixture_check(fixture *f, bool complete);
/* Every client reads every key on every up node: each read must be OK (or
 * ERR_KEY where no write of the key exists) and return the oracle's latest
 * value. Meant for after convergence of a single group. 0, or -1. */
int fixture_check_sessions(fixture *f);

uint64_t fixture_seed(const fixture *f);
uint64_t fixture_digest(const fixture *f);
size_t fixture_steps(const fixture *f);
size_t fixture_n_puts(const fixture *f);
const fixture_stats *fixture_get_stats(const fixture *f);
/* The links counters of every node, summed over all their lives. */
void fixture_links_counters(const fixture *f, links_counters *out);
/* Virtual time, microseconds from the start. */
int64_t fixture_now(const fixture *f);
/* The first failure, or NULL. */
const char *fixture_error(const fixture *f);
bool fixture_failed(const fixture *f);

size_t fixture_n_nodes(const fixture *f);
uint64_t fixture_node_id(const fixture *f, size_t node);
bool fixture_node_up(const fixture *f, size_t node);
/* NULL while the node is crashed. */
core *fixture_core(fixture *f, size_t node);
links *fixture_links(fixture *f, size_t node);
/* Whether a link between a and b is established. */
bool fixture_established(const fixture *f, size_t a, size_t b);
store *fixture_store(fixture *f, size_t node);

/* Nodes, links, channels and the last events, for a failure report. */
void fixture_describe(fixture *f, FILE *out);

#endif
