/* route: link-state routing. Every server floods a link-state advertisement
 * (LSA: its id, incarnation, sequence number and the set of servers it has a
 * live link to); every server keeps the newest LSA of each server and derives
 * the same graph from them. An edge counts only when both ends list each
 * other, so a dead server's stale LSA drops out as soon as its neighbours
 * report the loss, and there is no count-to-infinity.
 *
 * Updates travel over one spanning tree shared by all origins: the
 * breadth-first tree of the component from its lowest id, parents chosen
 * towards the lowest id, so every server computes the same tree. An
 * update crosses each tree edge once, away from its origin. Because all
 * origins share the tree, a server forwards the writes of many origins to
 * a neighbour in one frame: under load, frames per write fall below the
 * N-1 that a tree per origin needs. */
#ifndef DKV_ROUTE_H
#define DKV_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct route route;

typedef struct route_lsa {
    uint64_t id;
    uint64_t incarnation;
    uint64_t seq;
    const uint64_t *neighbours; /* sorted ascending */
    size_t n_neighbours;
} route_lsa;

/* Caller frees with route_free. */
route *route_new(uint64_t self);
void route_free(route *r);

/* Keeps the LSA when it is newer, by (incarnation, seq), than the one held.
 * neighbours need not be sorted; they are copied. Returns true when the
 * database changed. */
bool route_update(route *r, const route_lsa *lsa);
/* Keeps the LSA whatever the one held says, unless it is that very LSA (same
 * incarnation and seq): for LSAs heard from their originator, who is the
 * authority on itself. Returns true when the database changed. */
bool route_replace(route *r, const route_lsa *lsa);

size_t route_lsa_count(const route *r);
/* i-th LSA held; pointers stay valid until the next route_update. */
route_lsa route_lsa_at(const route *r, size_t i);

/* Whether id is in self's connected component. */
bool route_in_component(route *r, uint64_t id);
/* Writes the component's ids, ascending, up to cap; returns its size. */
size_t route_component(route *r, uint64_t *out, size_t cap);
/* The parent of id in the shared spanning tree (towards the component's
 * lowest id, the root): true with *parent, false for the root or an id
 * outside self's component. */
bool route_tree_parent(route *r, uint64_t id, uint64_t *parent);
/* Does an update from origin go from `parent` to `child`, i.e. is
 * (parent, child) an edge of the shared tree with child farther from
 * origin? False when any of them is outside self's component. */
bool route_is_parent(route *r, uint64_t origin, uint64_t parent, uint64_t child);
/* Changes whenever the derived graph may have changed. */
uint64_t route_version(const route *r);
/* A hash of self's component and its shared tree: equal hashes mean the
 * same forwarding duties, whatever LSAs came and went. */
uint64_t route_tree_hash(route *r);

#endif
