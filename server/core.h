/* core: the server's replication protocol, free of sockets, threads and
 * clocks. The wiring (server.c) feeds it link events and peer messages and
 * gives it, through core_ops, the output buffer of each live link.
 *
 * Versions are (Lamport, origin). Each server numbers its own writes 1, 2,
 * 3...; the vector clock says how many writes of each origin a server has
 * applied, and because every link delivers an origin's writes in order, the
 * writes a server holds are exactly those its clock counts. Every write ever
 * accepted stays in the write log, so any server can bring any neighbour up
 * to date from the neighbour's clock (anti-entropy at link-up and whenever
 * the routes change). */
#ifndef DKV_CORE_H
#define DKV_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/err.h"
#include "../common/vclock.h"
#include "../common/version.h"
#include "peermsg.h"
#include "store.h"

typedef struct core_ops {
    void *ctx;
    /* Output buffer of the live link to peer, or NULL when there is none. */
    buf *(*link_out)(void *ctx, uint64_t peer);
} core_ops;

/* Frames sent by type, for the stats RPC and benchmarks. */
typedef struct core_counters {
    uint64_t hello, upd, ack, lsa;
    uint64_t updates_sent, updates_applied, duplicates;
} core_counters;

typedef struct core core;

/* Loads the clocks from st (or starts fresh) and records a new
 * incarnation. st stays owned by the caller. NULL with err on failure;
 * caller frees with core_free. */
core *core_new(uint64_t self, store *st, const core_ops *ops, dkv_err *err);
void core_free(core *c);

uint64_t core_self(const core *c);
uint64_t core_incarnation(const core *c);
const vclock *core_vclock(const core *c);
uint64_t core_lamport(const core *c);
const core_counters *core_get_counters(const core *c);

/* The run this server belongs to (letters, digits, '-', '_'; default
 * empty): sent in every hello, so servers of different runs never link. */
void core_set_run_id(core *c, const char *run);
const char *core_run_id(const core *c);
/* NULL, or why this server must stop: a peer proved that its store lost
 * writes of its own origin, so numbering new writes would reuse (origin,
 * seq) pairs. Puts are refused from then on. */
const char *core_damage(const core *c);

/* Appends this server's hello to `to` to out. */
void core_hello(core *c, uint64_t to, buf *out);
/* A link to peer completed its hello exchange; hello is the peer's (its
 * clock and the summary of its LSA database). -1 with err when the hello
 * proves this server's store lost writes (see core_damage). */
int core_link_up(core *c, uint64_t peer, const peermsg *hello, dkv_err *err);
void core_link_down(core *c, uint64_t peer);
/* The link to peer carries frames one way only (blockLink): hold_out, this
 * server's frames to peer are held (they leave when the block ends);
 * hold_in, peer holds its frames to this server. With hold_out no ack is
 * written for peer (acks are cumulative: one goes when the block ends, so
 * a long block does not pile them up); LSAs are, and wait. Either way the
 * link is left out of this server's LSA and of core_neighbours: an edge
 * counts only when both ends list it, so no spanning tree uses it and no
 * server routes a write over it. Data still crosses it one way: with
 * hold_in this server sends peer every write it lacks (as for an
 * unreachable origin), and it takes what others relay about peer's links,
 * since peer's own LSAs are held. Call after core_link_up; both false: a
 * normal link again. */
void core_link_oneway(core *c, uint64_t peer, bool hold_out, bool hold_in);
/* Handles an upd, ack, lsa or ping from peer. Returns 0, or with err:
 * CORE_PROTOCOL_ERROR when the peer broke the protocol, or
 * CORE_LOCAL_FAILURE when this server could not store what the peer sent
 * (a full disk). Either way the link should be dropped, so that the peer
 * resends from this server's clock on the next link; after a local failure
 * not at once. */
#define CORE_PROTOCOL_ERROR (-1)
#define CORE_LOCAL_FAILURE (-2)
int core_on_message(core *c, uint64_t peer, const peermsg *m, dkv_err *err);

/* A client's write. dep is the client's dependency on key (lamport 0 for
 * none); the new version is above it. On success *out is the version. */
int core_put(core *c, const uint8_t *key, size_t key_len, const uint8_t *value,
             size_t value_len, dkv_version dep, dkv_version *out, dkv_err *err);

/* A client's read: *found says whether key is stored; when it is, *v is
 * its version and, unless value is NULL, *value a malloc'ed copy of its
 * value (caller frees with free). */
int core_get(core *c, const uint8_t *key, size_t key_len, bool *found, dkv_version *v,
             uint8_t **value, size_t *value_len, dkv_err *err);
/* Calls fn for each stored key in order, starting after `after` when
 * has_after, until fn returns nonzero (store_scan). */
int core_scan(core *c, const uint8_t *after, size_t after_len, bool has_after, store_scan_fn fn,
              void *user, dkv_err *err);

/* Whether core_tick has writes to push (or new forwarding duties, after a
 * change of link-state). */
bool core_has_work(const core *c);
/* Whether acks are owed to some neighbour. */
bool core_acks_due(const core *c);
/* Whether LSAs (this server's own, or ones to forward) wait to be sent, and
 * sending just those: link-state should not wait for a push interval, since
 * every hop would add one. core_tick sends them too. */
bool core_lsas_due(const core *c);
void core_send_lsas(core *c);

/* Sends what is due: acks, and writes that neighbours lack and this server
 * is responsible for. Returns true when work remains (a link's output is
 * full), so the caller should call again soon. */
bool core_tick(core *c);
/* core_tick, but owed acks are only sent when send_acks is true: acks only
 * sharpen what a sender knows of its peers, so they can wait and travel
 * in bulk. */
bool core_tick_acks(core *c, bool send_acks);

/* Live links that count for routing (not one-way), ascending; returns the
 * count (may exceed cap). */
size_t core_neighbours(const core *c, uint64_t *out, size_t cap);
/* Servers reachable according to the link-state database, ascending. */
size_t core_component(core *c, uint64_t *out, size_t cap);
/* The link-state database, for showServer: LSA i below core_lsa_count, by
 * ascending id; pointers valid until the core next handles an event. */
size_t core_lsa_count(const core *c);
route_lsa core_lsa_at(const core *c, size_t i);
/* id's parent in the shared spanning tree (route_tree_parent). */
bool core_tree_parent(core *c, uint64_t id, uint64_t *parent);

#endif
