#include "route.h"

#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"
#include "../common/ids.h"
#include "../common/vec.h"
#include "../common/xalloc.h"

typedef struct lsa_slot {
    uint64_t id, inc, seq;
    uint64_t *nb;
    size_t n;
} lsa_slot;

struct route {
    uint64_t self;
    lsa_slot *lsa; /* sorted by id */
    size_t n, cap;
    uint64_t version;
    /* Derived, rebuilt lazily when stale. */
    bool stale;
    size_t *adj_start, *adj; /* CSR adjacency over slot indexes */
    bool *in_comp;
    size_t *tree_start, *tree_adj; /* CSR adjacency of the shared spanning tree */
    uint64_t tree_hash;
    /* dist[origin slot] arrays, computed on demand: NULL until then. */
    int **dist;
    size_t derived_n;
};

route *route_new(uint64_t self)
{
    route *r = xcalloc(1, sizeof *r);
    r->self = self;
    r->stale = true;
    return r;
}

static void clear_derived(route *r)
{
    for (size_t i = 0; i < r->derived_n; i++)
        free(r->dist ? r->dist[i] : NULL);
    free(r->dist);
    free(r->adj_start);
    free(r->adj);
    free(r->in_comp);
    free(r->tree_start);
    free(r->tree_adj);
    r->tree_start = r->tree_adj = NULL;
    r->dist = NULL;
    r->adj_start = r->adj = NULL;
    r->in_comp = NULL;
    r->derived_n = 0;
    r->stale = true;
}

void route_free(route *r)
{
    if (!r)
        return;
    clear_derived(r);
    for (size_t i = 0; i < r->n; i++)
        free(r->lsa[i].nb);
    free(r->lsa);
    free(r);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Index of id's slot, or the insertion point with *found false. */
static size_t find_slot(const route *r, uint64_t id, bool *found)
{
    size_t lo = ids_lower_bound(r->lsa, r->n, sizeof *r->lsa, id);
    *found = lo < r->n && r->lsa[lo].id == id;
    return lo;
}

static bool lists(const lsa_slot *s, uint64_t id)
{
    return bsearch(&id, s->nb, s->n, sizeof *s->nb, cmp_u64) != NULL;
}

/* Stores lsa: when newer than the one held, or with force whenever it
 * differs from it. */
static bool keep_lsa(route *r, const route_lsa *lsa, bool force)
{
    bool found;
    size_t i = find_slot(r, lsa->id, &found);
    if (found) {
        lsa_slot *s = &r->lsa[i];
        bool older = lsa->incarnation < s->inc || (lsa->incarnation == s->inc && lsa->seq <= s->seq);
        bool same = lsa->incarnation == s->inc && lsa->seq == s->seq;
        if (force ? same : older)
            return false;
    } else {
        r->lsa = vec_reserve(r->lsa, &r->cap, r->n + 1, sizeof *r->lsa);
        memmove(r->lsa + i + 1, r->lsa + i, (r->n - i) * sizeof *r->lsa);
        r->n++;
        memset(&r->lsa[i], 0, sizeof r->lsa[i]);
        r->lsa[i].id = lsa->id;
    }
    lsa_slot *s = &r->lsa[i];
    free(s->nb);
    s->inc = lsa->incarnation;
    s->seq = lsa->seq;
    s->nb = xcalloc(lsa->n_neighbours, sizeof *s->nb);
    if (lsa->n_neighbours)
        memcpy(s->nb, lsa->neighbours, lsa->n_neighbours * sizeof *s->nb);
    qsort(s->nb, lsa->n_neighbours, sizeof *s->nb, cmp_u64);
    s->n = lsa->n_neighbours;
    clear_derived(r);
    r->version++;
    return true;
}

bool route_update(route *r, const route_lsa *lsa) { return keep_lsa(r, lsa, false); }

bool route_replace(route *r, const route_lsa *lsa) { return keep_lsa(r, lsa, true); }

size_t route_lsa_count(const route *r) { return r->n; }

route_lsa route_lsa_at(const route *r, size_t i)
{
    const lsa_slot *s = &r->lsa[i];
    return (route_lsa){s->id, s->inc, s->seq, s->nb, s->n};
}

uint64_t route_version(const route *r) { return r->version; }

static void derive(route *r);

uint64_t route_tree_hash(route *r)
{
    derive(r);
    return r->tree_hash;
}

/* The shared spanning tree of self's component: breadth-first from the
 * component's lowest id over neighbours in ascending id order, so a node's
 * parent is its lowest-id neighbour one level up, the same on every server
 * with the same view. */
static void build_tree(route *r, size_t self)
{
    size_t n = r->n;
    r->tree_start = xcalloc(n + 1, sizeof *r->tree_start);
    r->tree_adj = xcalloc(2 * n, sizeof *r->tree_adj);
    r->tree_hash = 0;
    if (self >= n)
        return;
    size_t root = n;
    for (size_t i = 0; i < n && root == n; i++)
        if (r->in_comp[i])
            root = i; /* slots are sorted by id */
    size_t *parent = xcalloc(n, sizeof *parent), *queue = xcalloc(n, sizeof *queue);
    bool *seen = xcalloc(n, sizeof *seen);
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < n; i++)
        parent[i] = n;
    queue[tail++] = root;
    seen[root] = true;
    while (head < tail) {
        size_t u = queue[head++];
        for (size_t e = r->adj_start[u]; e < r->adj_start[u + 1]; e++)
            if (!seen[r->adj[e]]) {
                seen[r->adj[e]] = true;
                parent[r->adj[e]] = u;
                queue[tail++] = r->adj[e];
            }
    }
    /* A hash of (id, parent id) of every member, in id order. */
    uint64_t h = HASH_SEED;
    for (size_t i = 0; i < n; i++)
        if (seen[i]) {
            uint64_t pair[2] = {r->lsa[i].id, parent[i] < n ? r->lsa[parent[i]].id : UINT64_MAX};
            h = hash_bytes(h, pair, sizeof pair);
        }
    r->tree_hash = h;
    /* CSR of the undirected tree: each node's parent and children. */
    size_t *deg = xcalloc(n, sizeof *deg);
    for (size_t i = 0; i < n; i++)
        if (parent[i] < n) {
            deg[i]++;
            deg[parent[i]]++;
        }
    for (size_t i = 0; i < n; i++)
        r->tree_start[i + 1] = r->tree_start[i] + deg[i];
    size_t *fill = xcalloc(n, sizeof *fill);
    for (size_t i = 0; i < n; i++)
        if (parent[i] < n) {
            r->tree_adj[r->tree_start[i] + fill[i]++] = parent[i];
            r->tree_adj[r->tree_start[parent[i]] + fill[parent[i]]++] = i;
        }
    free(fill);
    free(deg);
    free(seen);
    free(queue);
    free(parent);
}

/* Builds the adjacency (edges both ends agree on) and self's component. */
static void derive(route *r)
{
    if (!r->stale)
        return;
    size_t n = r->n;
    r->derived_n = n;
    r->adj_start = xcalloc(n + 1, sizeof *r->adj_start);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += r->lsa[i].n;
    r->adj = xcalloc(total, sizeof *r->adj);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        r->adj_start[i] = k;
        for (size_t j = 0; j < r->lsa[i].n; j++) {
            bool found;
            size_t other = find_slot(r, r->lsa[i].nb[j], &found);
            if (found && other != i && lists(&r->lsa[other], r->lsa[i].id))
                r->adj[k++] = other; /* ascending id, as nb is sorted */
        }
    }
    r->adj_start[n] = k;
    r->in_comp = xcalloc(n, sizeof *r->in_comp);
    r->dist = xcalloc(n, sizeof *r->dist);
    bool found;
    size_t self = find_slot(r, r->self, &found);
    if (found) {
        size_t *queue = xcalloc(n, sizeof *queue), head = 0, tail = 0;
        queue[tail++] = self;
        r->in_comp[self] = true;
        while (head < tail) {
            size_t u = queue[head++];
            for (size_t e = r->adj_start[u]; e < r->adj_start[u + 1]; e++)
                if (!r->in_comp[r->adj[e]]) {
                    r->in_comp[r->adj[e]] = true;
                    queue[tail++] = r->adj[e];
                }
        }
        free(queue);
    }
    build_tree(r, found ? self : n);
    r->stale = false;
}

static bool comp_index(route *r, uint64_t id, size_t *idx)
{
    derive(r);
    bool found;
    *idx = find_slot(r, id, &found);
    return found && r->in_comp[*idx];
}

bool route_in_component(route *r, uint64_t id)
{
    size_t i;
    return comp_index(r, id, &i);
}

size_t route_component(route *r, uint64_t *out, size_t cap)
{
    derive(r);
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->in_comp[i]) {
            if (k < cap)
                out[k] = r->lsa[i].id;
            k++;
        }
    return k;
}

static const int *dist_from(route *r, size_t origin)
{
    if (r->dist[origin])
        return r->dist[origin];
    size_t n = r->n;
    int *d = xcalloc(n, sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = -1;
    size_t *queue = xcalloc(n, sizeof *queue), head = 0, tail = 0;
    d[origin] = 0;
    queue[tail++] = origin;
    while (head < tail) {
        size_t u = queue[head++];
        for (size_t e = r->tree_start[u]; e < r->tree_start[u + 1]; e++)
            if (d[r->tree_adj[e]] < 0) {
                d[r->tree_adj[e]] = d[u] + 1;
                queue[tail++] = r->tree_adj[e];
            }
    }
    free(queue);
    r->dist[origin] = d;
    return d;
}

bool route_is_parent(route *r, uint64_t origin, uint64_t parent, uint64_t child)
{
    size_t o, p, c;
    if (!comp_index(r, origin, &o) || !comp_index(r, parent, &p) || !comp_index(r, child, &c))
        return false;
    /* Distances along the tree from origin: the child is one step farther
     * than the parent, and they are tree neighbours. */
    const int *d = dist_from(r, o);
    if (d[c] <= 0 || d[p] < 0 || d[c] != d[p] + 1)
        return false;
    for (size_t e = r->tree_start[c]; e < r->tree_start[c + 1]; e++)
        if (r->tree_adj[e] == p)
            return true;
    return false;
}

bool route_tree_parent(route *r, uint64_t id, uint64_t *parent)
{
    size_t x;
    if (!comp_index(r, id, &x))
        return false;
    size_t root = 0;
    while (!r->in_comp[root])
        root++; /* slots are sorted by id: the lowest member */
    const int *d = dist_from(r, root);
    for (size_t e = r->tree_start[x]; e < r->tree_start[x + 1]; e++)
        if (d[r->tree_adj[e]] == d[x] - 1) {
            *parent = r->lsa[r->tree_adj[e]].id;
            return true;
        }
    return false;
}
