/* route: link-state routing. Every server floods a link-state advertisement
 * (LSA: its id, incarnation, sequence number and the set of servers it has a
 * live link to); every server keeps the newest LSA of each server and derives
 * the same graph from them. An edge counts only when both ends list each
 * other, so a dead server's stale LSA drops out as soon as its neighbours
 * report the loss, and there is no count-to-infinity.
 *
 * Updates from an origin travel down the shortest-path tree rooted at the
 * origin, with ties broken towards the lowest id, so every server computes
 * the same tree and each update crosses each tree edge once. */
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

size_t route_lsa_count(const route *r);
/* i-th LSA held; pointers stay valid until the next route_update. */
route_lsa route_lsa_at(const route *r, size_t i);

/* Whether id is in self's connected component. */
bool route_in_component(route *r, uint64_t id);
/* Writes the component's ids, ascending, up to cap; returns its size. */
size_t route_component(route *r, uint64_t *out, size_t cap);
/* In the tree rooted at origin, is `parent` the parent of `child`? False
 * when either is outside self's component. */
bool route_is_parent(route *r, uint64_t origin, uint64_t parent, uint64_t child);
/* Changes whenever the derived graph may have changed. */
uint64_t route_version(const route *r);

#endif
