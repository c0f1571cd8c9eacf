#include "model.h"
#include "../common/ids.h"
#include "../common/vec.h"
#include "../common/xalloc.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    uint64_t id;
    model_role role;
    bool live;          /* servers */
    bool attached;      /* clients */
    bool running;       /* clients */
    uint64_t server;    /* clients */
    bool paused;        /* servers: pauseServer, until resumeServer or a kill */
} entry;

typedef struct cut {
    uint64_t a, b; /* a < b */
} cut;

struct model {
    entry *e;
    size_t n, cap;
    cut *cuts;
    size_t n_cuts, cap_cuts;
    cut *blocks; /* blockLink a b: frames from a to b held (a, b as given) */
    size_t n_blocks, cap_blocks;
};

model *model_new(void)
{
    model *m = xcalloc(1, sizeof *m);
    return m;
}

void model_free(model *m)
{
    if (!m)
        return;
    free(m->e);
    free(m->cuts);
    free(m->blocks);
    free(m);
}

/* Entries stay sorted by id so listings come out ascending. */
static entry *find(const model *m, uint64_t id, bool create_in, model *mm)
{
    size_t lo = ids_lower_bound(m->e, m->n, sizeof *m->e, id);
    if (lo < m->n && m->e[lo].id == id)
        return &m->e[lo];
    if (!create_in)
        return NULL;
    mm->e = vec_reserve(mm->e, &mm->cap, mm->n + 1, sizeof *mm->e);
    memmove(mm->e + lo + 1, mm->e + lo, (mm->n - lo) * sizeof *mm->e);
    mm->n++;
    memset(&mm->e[lo], 0, sizeof mm->e[lo]);
    mm->e[lo].id = id;
    return &mm->e[lo];
}

model_role model_role_of(const model *m, uint64_t id)
{
    entry *e = find(m, id, false, NULL);
    return e ? e->role : MODEL_ROLE_NONE;
}

bool model_server_live(const model *m, uint64_t id)
{
    entry *e = find(m, id, false, NULL);
    return e && e->role == MODEL_ROLE_SERVER && e->live;
}

void model_server_up(model *m, uint64_t id)
{
    entry *e = find(m, id, true, m);
    e->role = MODEL_ROLE_SERVER;
    e->live = true;
    size_t w = 0;
    for (size_t i = 0; i < m->n_cuts; i++)
        if (m->cuts[i].a != id && m->cuts[i].b != id)
            m->cuts[w++] = m->cuts[i];
    m->n_cuts = w;
    e->paused = false;
}

/* Forgets the blocks involving id: a killed server's links start afresh. */
static void drop_blocks(model *m, uint64_t id)
{
    size_t w = 0;
    for (size_t i = 0; i < m->n_blocks; i++)
        if (m->blocks[i].a != id && m->blocks[i].b != id)
            m->blocks[w++] = m->blocks[i];
    m->n_blocks = w;
}

void model_server_down(model *m, uint64_t id)
{
    entry *e = find(m, id, false, NULL);
    if (e) {
        e->live = false;
        e->paused = false;
    }
    drop_blocks(m, id);
}

bool model_server_paused(const model *m, uint64_t id)
{
    entry *e = find(m, id, false, NULL);
    return e && e->role == MODEL_ROLE_SERVER && e->live && e->paused;
}

void model_set_paused(model *m, uint64_t id, bool paused)
{
    entry *e = find(m, id, false, NULL);
    if (e && e->role == MODEL_ROLE_SERVER)
        e->paused = paused;
}

/* Pairs kept in an unordered array (cuts, blocks): where (a, b) is, or n. */
static size_t pair_index(const cut *pairs, size_t n, uint64_t a, uint64_t b)
{
    for (size_t i = 0; i < n; i++)
        if (pairs[i].a == a && pairs[i].b == b)
            return i;
    return n;
}

/* Adds (a, b) when on and absent, removes it when off and present. */
static void pair_set(cut **pairs, size_t *n, size_t *cap, uint64_t a, uint64_t b, bool on)
{
    size_t i = pair_index(*pairs, *n, a, b);
    if (!on && i < *n)
        (*pairs)[i] = (*pairs)[--*n];
    else if (on && i == *n)
        *VEC_PUSH(*pairs, *n, *cap) = (cut){a, b};
}

bool model_is_blocked(const model *m, uint64_t from, uint64_t to)
{
    return pair_index(m->blocks, m->n_blocks, from, to) < m->n_blocks;
}

void model_set_blocked(model *m, uint64_t from, uint64_t to, bool blocked)
{
    pair_set(&m->blocks, &m->n_blocks, &m->cap_blocks, from, to, blocked);
}

bool model_is_held(const model *m, uint64_t a, uint64_t b)
{
    return (model_is_blocked(m, a, b) && model_is_blocked(m, b, a)) ||
           model_server_paused(m, a) || model_server_paused(m, b);
}

bool model_is_apart(const model *m, uint64_t a, uint64_t b)
{
    /* A link blocked one way carries data the other way, but no route
     * uses it (core_link_oneway), so it joins no group. */
    return model_is_cut(m, a, b) || model_is_held(m, a, b) || model_is_blocked(m, a, b) ||
           model_is_blocked(m, b, a);
}

/* A cut is the link itself: kept with the smaller id first. */
bool model_is_cut(const model *m, uint64_t a, uint64_t b)
{
    return pair_index(m->cuts, m->n_cuts, a < b ? a : b, a < b ? b : a) < m->n_cuts;
}

void model_set_cut(model *m, uint64_t a, uint64_t b, bool is_cut)
{
    pair_set(&m->cuts, &m->n_cuts, &m->cap_cuts, a < b ? a : b, a < b ? b : a, is_cut);
}

void model_client_add(model *m, uint64_t id)
{
    entry *e = find(m, id, true, m);
    e->role = MODEL_ROLE_CLIENT;
    e->running = true;
}

void model_client_gone(model *m, uint64_t id)
{
    entry *e = find(m, id, false, NULL);
    if (e && e->role == MODEL_ROLE_CLIENT) {
        e->running = false;
        e->attached = false;
    }
}

bool model_client_running(const model *m, uint64_t id)
{
    entry *e = find(m, id, false, NULL);
    return e && e->role == MODEL_ROLE_CLIENT && e->running;
}

bool model_client_server(const model *m, uint64_t id, uint64_t *sid)
{
    entry *e = find(m, id, false, NULL);
    if (!e || e->role != MODEL_ROLE_CLIENT || !e->attached)
        return false;
    *sid = e->server;
    return true;
}

void model_client_attach(model *m, uint64_t id, uint64_t sid)
{
    entry *e = find(m, id, true, m);
    e->attached = true;
    e->server = sid;
}

void model_client_detach(model *m, uint64_t id)
{
    entry *e = find(m, id, false, NULL);
    if (e)
        e->attached = false;
}

size_t model_clients_of(const model *m, uint64_t sid, uint64_t *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].role == MODEL_ROLE_CLIENT && m->e[i].attached && m->e[i].server == sid) {
            if (k < cap)
                out[k] = m->e[i].id;
            k++;
        }
    return k;
}

size_t model_live_servers(const model *m, uint64_t *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].role == MODEL_ROLE_SERVER && m->e[i].live) {
            if (k < cap)
                out[k] = m->e[i].id;
            k++;
        }
    return k;
}

static size_t uf_find(size_t *parent, size_t x)
{
    while (parent[x] != x)
        x = parent[x] = parent[parent[x]];
    return x;
}

size_t model_groups(const model *m, size_t *group, size_t cap)
{
    size_t n = model_live_servers(m, NULL, 0);
    uint64_t *ids = xcalloc(n ? n : 1, sizeof *ids);
    size_t *parent = xcalloc(n ? n : 1, sizeof *parent);
    size_t *label = xcalloc(n ? n : 1, sizeof *label);
    model_live_servers(m, ids, n);
    for (size_t i = 0; i < n; i++)
        parent[i] = i;
    /* Every live pair is linked unless cut, blocked either way or paused
     * (model_is_apart). The lower root wins, so a group's root is its
     * first (lowest-id) member. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (!model_is_apart(m, ids[i], ids[j])) {
                size_t a = uf_find(parent, i), b = uf_find(parent, j);
                if (a != b)
                    parent[a > b ? a : b] = a < b ? a : b;
            }
    size_t groups = 0;
    for (size_t i = 0; i < n; i++)
        label[i] = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t r = uf_find(parent, i);
        if (label[r] == (size_t)-1)
            label[r] = groups++;
        if (i < cap)
            group[i] = label[r];
    }
    free(ids);
    free(parent);
    free(label);
    return groups;
}
