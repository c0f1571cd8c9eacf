#include "checker.h"
#include "../../common/xalloc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/hash.h"
#include "../../common/hmap.h"
#include "../../common/vec.h"
#include "prose.h"
#include "state.h"


static digest digest_of(const histline_bytes *b)
{
    digest d = {b->n, hash_seeded(b->p, b->n, 1), hash_seeded(b->p, b->n, 2), {0}};
    memcpy(d.head, b->p, b->n < HEAD ? b->n : HEAD);
    return d;
}

static bool digest_eq(const digest *a, const digest *b)
{
    return a->len == b->len && a->h1 == b->h1 && a->h2 == b->h2 &&
           memcmp(a->head, b->head, HEAD) == 0;
}

/* ---- lookups ---- */

static uint32_t intern_key(checker *c, const histline_bytes *k)
{
    bool created;
    void **slot = hmap_slot(c->keys, k->p, k->n, &created);
    if (!created)
        return ((key_info *)*slot)->id;
    key_info *ki = xcalloc(1, sizeof *ki);
    ki->id = (uint32_t)c->n_keys;
    ki->bytes.p = xcalloc(k->n + 1, 1);
    if (k->n)
        memcpy(ki->bytes.p, k->p, k->n);
    ki->bytes.n = k->n;
    *slot = ki;
    *VEC_PUSH(c->key_by_id, c->n_keys, c->cap_keys) = ki;
    return ki->id;
}

static void write_key(uint8_t out[20], uint32_t k, dkv_version v)
{
    memcpy(out, &k, 4);
    memcpy(out + 4, &v.lamport, 8);
    memcpy(out + 12, &v.origin, 8);
}

write_info *find_write(const checker *c, uint32_t k, dkv_version v)
{
    uint8_t wk[20];
    write_key(wk, k, v);
    return hmap_get(c->writes, wk, sizeof wk);
}

static write_info *add_write(checker *c, uint32_t k, dkv_version v)
{
    uint8_t wk[20];
    write_key(wk, k, v);
    void **slot = hmap_slot(c->writes, wk, sizeof wk, NULL);
    if (!*slot)
        *slot = xcalloc(1, sizeof(write_info));
    write_info *w = *slot;
    w->v = v;
    w->key = k;
    return w;
}

static server *get_server(checker *c, uint64_t id)
{
    bool created;
    void **slot = hmap_slot(c->servers, &id, sizeof id, &created);
    if (created) {
        server *s = xcalloc(1, sizeof *s);
        s->id = id;
        s->held = hmap_new();
        *slot = s;
    }
    return *slot;
}

static server *find_server(const checker *c, uint64_t id)
{
    return hmap_get(c->servers, &id, sizeof id);
}

/* Makes s->life[0..inc] exist. */
static void server_reserve(server *s, size_t inc)
{
    while (s->n_life <= inc) {
        incarnation *in = VEC_PUSH(s->life, s->n_life, s->cap_life);
        in->join = in->kill = NO_OP;
    }
}

static held *find_held(const server *s, uint32_t k) { return hmap_get(s->held, &k, sizeof k); }

static client *get_client(checker *c, uint64_t id)
{
    bool created;
    void **slot = hmap_slot(c->clients, &id, sizeof id, &created);
    if (created) {
        client *cl = xcalloc(1, sizeof *cl);
        cl->id = id;
        cl->deps = hmap_new();
        *slot = cl;
    }
    return *slot;
}

static dep *find_dep(const client *cl, uint32_t k) { return hmap_get(cl->deps, &k, sizeof k); }

static dep *get_dep(client *cl, uint32_t k)
{
    void **slot = hmap_slot(cl->deps, &k, sizeof k, NULL);
    if (!*slot) {
        dep *d = xcalloc(1, sizeof *d);
        d->op = d->uncertain_op = NO_OP;
        *slot = d;
    }
    return *slot;
}

/* ---- stable epochs ---- */

static long epoch_group(const checker *c, uint64_t server_id)
{
    if (!c->ep.active)
        return -1;
    void *g = hmap_get(c->ep.member_of, &server_id, sizeof server_id);
    return g ? (long)((uintptr_t)g - 1) : -1;
}

static void end_epoch(checker *c)
{
    for (size_t g = 0; g < c->ep.n_groups; g++) {
        free(c->ep.groups[g].members);
        hmap_free(c->ep.groups[g].snap, free);
    }
    free(c->ep.groups);
    hmap_free(c->ep.member_of, NULL);
    memset(&c->ep, 0, sizeof c->ep);
}

/* Raises the lower bound of what s holds for k. While s belongs to a
 * stable group, every member holds exactly what s holds, so the bound is
 * raised for all of them. */
static void raise_held(checker *c, server *s, uint32_t k, dkv_version v, held_how how, size_t op,
                       size_t op2, uint64_t via, bool propagate)
{
    if (dkv_version_is_none(v))
        return;
    void **slot = hmap_slot(s->held, &k, sizeof k, NULL);
    held *h = *slot;
    if (!h || dkv_version_cmp(v, h->v) > 0) {
        if (!h)
            h = *slot = xcalloc(1, sizeof *h);
        bool dirty = h->dirty;
        *h = (held){v, how, op, op2, via, s->inc, true};
        if (!dirty)
            *VEC_PUSH(s->dirty, s->n_dirty, s->cap_dirty) = k;
    }
    long g = propagate ? epoch_group(c, s->id) : -1;
    if (g < 0)
        return;
    egroup *eg = &c->ep.groups[g];
    for (size_t i = 0; i < eg->n; i++)
        if (eg->members[i] != s->id)
            raise_held(c, get_server(c, eg->members[i]), k, v, H_EPOCH, op, c->ep.op, s->id,
                       false);
}

/* The kind of a violation about s showing less than it certainly holds:
 * base, or CHECKER_LOST_WRITE when a kill and rejoin came in between, or
 * CHECKER_DIVERGED when only another member of a stable group showed it. */
static checker_kind held_kind(const server *s, const held *h, checker_kind base)
{
    if (h->inc < s->inc)
        return CHECKER_LOST_WRITE;
    /* Known only because another server of a stable group showed it. */
    return h->how == H_EPOCH ? CHECKER_DIVERGED : base;
}

/* ---- checks shared by get and printStore ---- */

/* Whether (k, v) with value (NULL: unknown) is something a put wrote; a
 * version nobody was given may come from a put that failed yet was
 * applied, and is then registered. Reports a phantom otherwise. */
static bool check_written(checker *c, size_t op, uint32_t k, dkv_version v,
                          const histline_bytes *value, uint64_t server_id, const char *shown)
{
    write_info *w = find_write(c, k, v);
    digest d = {0};
    if (value)
        d = digest_of(value);
    if (w) {
        if (!value || digest_eq(&w->val, &d))
            return true;
        prose_phantom_mismatch(c, op, k, v, value, server_id, shown, w);
        return false;
    }
    key_info *ki = c->key_by_id[k];
    for (size_t i = 0; i < ki->n_fp; i++) {
        failed_put *fp = &ki->fp[i];
        if (fp->used || fp->server != v.origin || (value && !digest_eq(&fp->val, &d)))
            continue;
        if (value) {
            /* Learn it: a failed put was applied after all. */
            fp->used = true;
            w = add_write(c, k, v);
            w->val = d;
            w->op = fp->op;
            w->server = fp->server;
            w->client = fp->client;
            w->from_failed = true;
        }
        return true;
    }
    prose_phantom_unwritten(c, op, k, v, value, server_id, shown, ki->n_fp > 0);
    return false;
}

static bool same_version(dkv_version a, dkv_version b) { return dkv_version_cmp(a, b) == 0; }

/* While s is in a stable group, every observation of k must agree with the
 * group's first observation of it. */
static void epoch_observe(checker *c, size_t op, server *s, uint32_t k, dkv_version v)
{
    long g = epoch_group(c, s->id);
    if (g < 0)
        return;
    /* Below what s certainly holds: already reported, and no reference for
     * the others. */
    held *h = find_held(s, k);
    if (h && dkv_version_cmp(v, h->v) < 0)
        return;
    egroup *eg = &c->ep.groups[g];
    bool created;
    void **slot = hmap_slot(eg->snap, &k, sizeof k, &created);
    if (created) {
        snap *sn = xcalloc(1, sizeof *sn);
        *sn = (snap){eg->complete ? (dkv_version){0, 0} : v,
                     eg->complete ? eg->complete_op : op,
                     eg->complete ? eg->complete_server : s->id};
        *slot = sn;
        if (!eg->complete)
            return;
    }
    snap *sn = *slot;
    if (!same_version(sn->v, v))
        prose_diverged(c, op, s, k, v, sn);
}

/* A read showed version v (none: nothing) of k on s. Reports it when it is
 * below what s certainly holds. */
static void check_not_below_held(checker *c, size_t op, server *s, uint32_t k, dkv_version v,
                                 const char *shown)
{
    held *h = find_held(s, k);
    if (h && dkv_version_cmp(v, h->v) < 0)
        prose_older_than_held(c, held_kind(s, h, CHECKER_OLDER_THAN_HELD), op, s, k, v, shown, h);
}

/* dep_before/dep_after against the checker's own view; expect_after is the
 * dependency the operation leaves. */
static void check_dep_fields(checker *c, size_t op, const histline_record *r, uint32_t k,
                             const dep *d, dkv_version expect_after)
{
    dkv_version mine = d ? d->v : (dkv_version){0, 0};
    bool unsure = d && d->uncertain;
    bool bad_before = r->has_dep_before && (unsure ? dkv_version_cmp(r->dep_before, mine) < 0
                                                   : !same_version(r->dep_before, mine));
    bool bad_after = r->has_dep_after && (unsure ? dkv_version_cmp(r->dep_after, expect_after) < 0
                                                 : !same_version(r->dep_after, expect_after));
    if (bad_before || bad_after)
        prose_dep_mismatch(c, op, r, k, d, expect_after, bad_before, bad_after, unsure);
}

/* ---- commands ---- */

static void do_put(checker *c, size_t op, const histline_record *r)
{
    uint32_t k = intern_key(c, &r->key);
    client *cl = get_client(c, r->client);
    server *s = get_server(c, r->server);
    dep *d = find_dep(cl, k);
    dkv_version v = r->version;

    if (v.origin != r->server)
        prose_put_origin(c, op, r->server, v);
    if (d && !dkv_version_is_none(d->v) && dkv_version_cmp(v, d->v) <= 0)
        prose_put_not_above_dep(c, op, r->client, k, v, d);
    write_info *w = find_write(c, k, v);
    if (w) {
        prose_duplicate_version(c, op, k, v, w);
    } else {
        held *h = find_held(s, k);
        if (h && dkv_version_cmp(v, h->v) < 0)
            prose_put_not_above_held(c, op, s, k, v, h);
        w = add_write(c, k, v);
        w->val = digest_of(&r->value);
        w->op = op;
        w->server = r->server;
        w->client = r->client;
    }
    check_dep_fields(c, op, r, k, d, v);

    d = get_dep(cl, k);
    d->v = v;
    d->op = op;
    d->by_put = true;
    d->uncertain = false; /* a put's version is above any dependency */
    raise_held(c, s, k, v, H_PUT, op, NO_OP, s->id, false);
}

/* What a get is checked against: the client's dependency on the key and
 * what the server certainly holds, as the checker knew them before it. */
typedef struct get_view {
    size_t op;
    const histline_record *r;
    uint32_t k;
    server *s;
    dep *d;         /* NULL: no dependency known */
    dkv_version dv; /* d's version, none without one */
    bool has_dep;
    bool unsure;    /* dv is only a lower bound */
    held *h;        /* NULL: nothing known held */
} get_view;

/* A value came back. Returns whether a put wrote it; *after is raised to
 * the dependency the read leaves. */
static bool check_get_value(checker *c, const get_view *g, dkv_version *after)
{
    dkv_version v = g->r->version;
    bool known = check_written(c, g->op, g->k, v, &g->r->value, g->s->id, "returned");
    if (g->has_dep && dkv_version_cmp(v, g->dv) < 0)
        prose_stale_read(c, g->op, g->s, g->k, v, &g->r->value, g->d);
    /* Below what the server holds: worth its own paragraph when it says
     * more than the session violation above. */
    const held *h = g->h;
    if (h && dkv_version_cmp(v, h->v) < 0 &&
        (!g->has_dep || dkv_version_cmp(h->v, g->dv) > 0 || h->inc < g->s->inc))
        check_not_below_held(c, g->op, g->s, g->k, v, "returned");
    if (dkv_version_cmp(v, g->dv) > 0)
        *after = v;
    return known;
}

/* ERR_KEY came back, with the server's version of the key (none: none).
 * Returns false when that version is a phantom. */
static bool check_get_err_key(checker *c, const get_view *g)
{
    dkv_version v = g->r->version;
    bool known = true;
    if (g->has_dep)
        prose_err_key_with_dep(c, g->op, g->r->client, g->k, g->d);
    if (!dkv_version_is_none(v)) {
        known = check_written(c, g->op, g->k, v, NULL, g->s->id, "reported holding");
        prose_err_key_with_version(c, g->op, g->s, g->k, v);
    }
    if (g->h && dkv_version_cmp(v, g->h->v) < 0)
        prose_err_key_held(c, held_kind(g->s, g->h, CHECKER_ERR_KEY_HELD), g->op, g->s, g->k,
                           g->h);
    return known;
}

/* ERR_DEP came back, with the server's version of the key (none: none).
 * Returns false when that version is a phantom. */
static bool check_get_err_dep(checker *c, const get_view *g)
{
    dkv_version v = g->r->version;
    bool known = true, reported = false;
    bool sure_dep = g->has_dep && !g->unsure;
    if (!g->has_dep && !g->unsure)
        prose_err_dep_without_dep(c, g->op, g->r->client, g->k);
    if (!dkv_version_is_none(v)) {
        known = check_written(c, g->op, g->k, v, NULL, g->s->id, "reported holding");
        if (sure_dep && dkv_version_cmp(v, g->dv) >= 0) {
            prose_err_dep_not_older(c, g->op, g->s, g->k, v, g->r->client, g->d);
            reported = true;
        }
    }
    if (!reported && g->h && sure_dep && dkv_version_cmp(g->h->v, g->dv) >= 0) {
        prose_err_dep_held(c, held_kind(g->s, g->h, CHECKER_ERR_DEP_HELD), g->op, g->s, g->k,
                           g->h, g->r->client, g->d);
        reported = true;
    }
    if (!reported)
        check_not_below_held(c, g->op, g->s, g->k, v, "reported");
    return known;
}

static void do_get(checker *c, size_t op, const histline_record *r)
{
    get_view g = {.op = op, .r = r, .k = intern_key(c, &r->key)};
    client *cl = get_client(c, r->client);
    g.s = get_server(c, r->server);
    g.d = find_dep(cl, g.k);
    g.dv = g.d ? g.d->v : (dkv_version){0, 0};
    g.has_dep = !dkv_version_is_none(g.dv);
    g.unsure = g.d && g.d->uncertain;
    g.h = find_held(g.s, g.k);
    dkv_version v = r->version; /* the server's version; none: it has none */
    dkv_version after = g.dv;

    bool known; /* false: a phantom, which teaches nothing */
    if (r->result == HISTLINE_RES_OK)
        known = check_get_value(c, &g, &after);
    else if (r->result == HISTLINE_RES_ERR_KEY)
        known = check_get_err_key(c, &g);
    else
        known = check_get_err_dep(c, &g);
    if (!known)
        return;
    check_dep_fields(c, op, r, g.k, g.d, after);
    epoch_observe(c, op, g.s, g.k, v);
    if (dkv_version_cmp(after, g.dv) > 0) {
        dep *d = get_dep(cl, g.k);
        d->v = after;
        d->op = op;
        d->by_put = false;
    }
    raise_held(c, g.s, g.k, v, H_GET, op, NO_OP, g.s->id, true);
}

static int cmp_bytes(const histline_bytes *a, const histline_bytes *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    int r = n ? memcmp(a->p, b->p, n) : 0;
    if (r)
        return r;
    return a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
}

static void do_print_store(checker *c, size_t op, const histline_record *r)
{
    server *s = get_server(c, r->server);
    size_t stamp = op + 1;
    bool *phantom = xcalloc(r->n_store, sizeof *phantom);
    for (size_t i = 0; i < r->n_store; i++) {
        const histline_entry *e = &r->store[i];
        if (i > 0 && cmp_bytes(&r->store[i - 1].key, &e->key) >= 0)
            prose_store_order(c, op, &r->store[i - 1].key, &e->key);
        uint32_t k = intern_key(c, &e->key);
        c->key_by_id[k]->seen_stamp = stamp;
        phantom[i] = !check_written(c, op, k, e->version, &e->value, s->id, "shows");
        check_not_below_held(c, op, s, k, e->version, "shows");
    }
    /* Keys the server certainly holds but did not list. */
    size_t pos = 0;
    const void *kp;
    void *val;
    while (hmap_next(s->held, &pos, &kp, NULL, &val)) {
        uint32_t k;
        memcpy(&k, kp, sizeof k);
        if (c->key_by_id[k]->seen_stamp == stamp)
            continue;
        held *h = val;
        prose_store_missing_key(c, held_kind(s, h, CHECKER_STORE_MISSING_KEY), op, s, k, h);
    }
    /* A stable group: compare with what the group showed before. */
    long g = epoch_group(c, s->id);
    if (g >= 0) {
        egroup *eg = &c->ep.groups[g];
        for (size_t i = 0; i < r->n_store; i++)
            if (!phantom[i])
                epoch_observe(c, op, s, intern_key(c, &r->store[i].key), r->store[i].version);
        /* Keys seen in the group that this store lacks. */
        pos = 0;
        while (hmap_next(eg->snap, &pos, &kp, NULL, &val)) {
            uint32_t k;
            memcpy(&k, kp, sizeof k);
            if (c->key_by_id[k]->seen_stamp != stamp && !dkv_version_is_none(((snap *)val)->v))
                epoch_observe(c, op, s, k, (dkv_version){0, 0});
        }
        if (!eg->complete) {
            eg->complete = true;
            eg->complete_op = op;
            eg->complete_server = s->id;
        }
    }
    for (size_t i = 0; i < r->n_store; i++)
        if (!phantom[i])
            raise_held(c, s, intern_key(c, &r->store[i].key), r->store[i].version, H_STORE, op,
                       NO_OP, s->id, true);
    free(phantom);
}

typedef struct best {
    dkv_version v;
    uint64_t server;
} best;

/* The highest held version of k among the members of eg. */
static best group_max(checker *c, const egroup *eg, uint32_t k)
{
    best b = {{0, 0}, 0};
    for (size_t i = 0; i < eg->n; i++) {
        held *h = find_held(get_server(c, eg->members[i]), k);
        if (h && dkv_version_cmp(h->v, b.v) > 0)
            b = (best){h->v, eg->members[i]};
    }
    return b;
}

/* After a stabilize, each member of a group holds at least the group's
 * maximum for every key. */
static void propagate_group(checker *c, size_t op, const egroup *eg)
{
    if (eg->n == 0)
        return;
    /* When the same servers were last stabilized together, their bounds
     * were equal then: only keys raised since (dirty) can differ. */
    server *first = get_server(c, eg->members[0]);
    bool incremental = first->sig != 0 && first->sig_size == eg->n;
    for (size_t i = 1; i < eg->n && incremental; i++)
        incremental = get_server(c, eg->members[i])->sig == first->sig;
    if (incremental) {
        for (size_t i = 0; i < eg->n; i++) {
            server *s = get_server(c, eg->members[i]);
            size_t n = s->n_dirty; /* raising below may append */
            for (size_t d = 0; d < n; d++) {
                uint32_t k = s->dirty[d];
                best b = group_max(c, eg, k);
                for (size_t j = 0; j < eg->n; j++)
                    raise_held(c, get_server(c, eg->members[j]), k, b.v, H_STABILIZE, op, NO_OP,
                               b.server, false);
            }
        }
    } else {
        hmap *max = hmap_new();
        for (size_t i = 0; i < eg->n; i++) {
            server *s = get_server(c, eg->members[i]);
            size_t pos = 0;
            const void *kp;
            void *val;
            while (hmap_next(s->held, &pos, &kp, NULL, &val)) {
                held *h = val;
                void **slot = hmap_slot(max, kp, sizeof(uint32_t), NULL);
                best *b = *slot;
                if (!b)
                    b = *slot = xcalloc(1, sizeof *b);
                if (dkv_version_cmp(h->v, b->v) > 0)
                    *b = (best){h->v, s->id};
            }
        }
        for (size_t i = 0; i < eg->n; i++) {
            server *s = get_server(c, eg->members[i]);
            size_t pos = 0;
            const void *kp;
            void *val;
            while (hmap_next(max, &pos, &kp, NULL, &val)) {
                uint32_t k;
                memcpy(&k, kp, sizeof k);
                best *b = val;
                raise_held(c, s, k, b->v, H_STABILIZE, op, NO_OP, b->server, false);
            }
        }
        hmap_free(max, free);
    }
    uint64_t sig = ++c->next_sig;
    for (size_t i = 0; i < eg->n; i++) {
        server *s = get_server(c, eg->members[i]);
        for (size_t d = 0; d < s->n_dirty; d++)
            find_held(s, s->dirty[d])->dirty = false;
        s->n_dirty = 0;
        s->sig = sig;
        s->sig_size = eg->n;
    }
}

static void do_stabilize(checker *c, size_t op, const histline_record *r)
{
    /* A new stable epoch: the groups hold identical data until something
     * changes data or topology. */
    end_epoch(c);
    c->ep.active = true;
    c->ep.op = op;
    c->ep.member_of = hmap_new();
    c->ep.groups = xcalloc(r->n_groups, sizeof *c->ep.groups);
    c->ep.n_groups = r->n_groups;
    for (size_t g = 0; g < r->n_groups; g++) {
        egroup *eg = &c->ep.groups[g];
        eg->snap = hmap_new();
        eg->members = xcalloc(r->groups[g].n, sizeof *eg->members);
        for (size_t i = 0; i < r->groups[g].n; i++) {
            uint64_t id = r->groups[g].ids[i];
            void **slot = hmap_slot(c->ep.member_of, &id, sizeof id, NULL);
            if (*slot)
                continue; /* listed twice: keep the first group */
            *slot = (void *)(uintptr_t)(g + 1);
            eg->members[eg->n++] = id;
        }
    }
    for (size_t g = 0; g < c->ep.n_groups; g++)
        propagate_group(c, op, &c->ep.groups[g]);
}

/* A put or get that failed after the master may have reached the client:
 * the client may have raised its dependency, so from now on only a lower
 * bound of it is known. */
static void maybe_reached_client(checker *c, size_t op, const histline_record *r)
{
    if (!r->has_client || !r->has_key || !r->has_server)
        return; /* failed before any client or server was involved */
    server *s = find_server(c, r->server);
    if (s && s->state == S_DEAD)
        return; /* the master does not send to a server it knows is dead */
    dep *d = get_dep(get_client(c, r->client), intern_key(c, &r->key));
    d->uncertain = true;
    d->uncertain_op = op;
}

static void do_failed_put(checker *c, size_t op, const histline_record *r)
{
    maybe_reached_client(c, op, r);
    if (!r->has_key || !r->has_value || !r->has_server)
        return;
    server *s = find_server(c, r->server);
    if (s && s->state == S_DEAD)
        return;
    uint32_t k = intern_key(c, &r->key); /* first: it may grow key_by_id */
    key_info *ki = c->key_by_id[k];
    failed_put fp = {op, digest_of(&r->value), r->server, r->has_client ? r->client : 0, false};
    *VEC_PUSH(ki->fp, ki->n_fp, ki->cap_fp) = fp;
}

/* What a server held when it first joined, from before this run (a reused
 * run directory): writes no put of this history made, which it holds. */
static void learn_initial_store(checker *c, size_t op, server *s, const histline_record *r)
{
    for (size_t i = 0; i < r->n_store; i++) {
        const histline_entry *e = &r->store[i];
        uint32_t k = intern_key(c, &e->key);
        digest d = digest_of(&e->value);
        write_info *w = find_write(c, k, e->version);
        if (w && !digest_eq(&w->val, &d)) {
            /* Another server held another value under this version. */
            prose_phantom_mismatch(c, op, k, e->version, &e->value, s->id, "held at start",
                                   w);
            continue;
        }
        if (!w) {
            w = add_write(c, k, e->version);
            w->val = d;
            w->op = op;
            w->server = s->id;
            w->before_run = true;
        }
        if (r->ok)
            raise_held(c, s, k, e->version, H_START, op, NO_OP, s->id, false);
    }
}

static void do_join_server(checker *c, size_t op, const histline_record *r)
{
    if (!r->has_server)
        return;
    server *s = get_server(c, r->server);
    if (r->ok) {
        s->inc++;
        server_reserve(s, s->inc + 1);
        s->life[s->inc].join = op;
        s->state = S_LIVE;
    } else if (s->state != S_LIVE) {
        s->state = S_UNKNOWN; /* it may have started */
    }
    if (r->has_store)
        learn_initial_store(c, op, s, r);
}

static void do_kill_server(checker *c, size_t op, const histline_record *r)
{
    if (!r->has_server)
        return;
    server *s = get_server(c, r->server);
    server_reserve(s, s->inc + 1);
    if (r->ok && s->state == S_DEAD && s->life[s->inc].kill != NO_OP) {
        return; /* it had died already (a died record): the kill changed nothing */
    } else if (r->ok) {
        s->life[s->inc].kill = op;
        s->state = S_DEAD;
    } else if (s->state != S_DEAD) {
        /* It may have died all the same; remember the attempt so a later
         * rejoin can be explained. */
        if (s->life[s->inc].kill == NO_OP)
            s->life[s->inc].kill = op;
        s->state = S_UNKNOWN;
    }
}

/* A server that died outside the script (or with its machine) is killed
 * at this point: its data survives on disk as across a killServer. */
static void server_died(checker *c, size_t op, uint64_t id)
{
    server *s = get_server(c, id);
    server_reserve(s, s->inc + 1);
    if (s->state == S_DEAD)
        return;
    s->life[s->inc].kill = op;
    s->state = S_DEAD;
}

/* A client that died lost its session: the next process starts afresh,
 * with no dependency on any key. */
static void client_died(checker *c, uint64_t id)
{
    client *cl = get_client(c, id);
    hmap_free(cl->deps, free);
    cl->deps = hmap_new();
}

static void do_died(checker *c, size_t op, const histline_record *r)
{
    if (r->has_server)
        server_died(c, op, r->server);
    if (r->has_client)
        client_died(c, r->client);
}

static void do_lost(checker *c, size_t op, const histline_record *r)
{
    for (size_t i = 0; i < r->n_lost_servers; i++)
        server_died(c, op, r->lost_servers[i]);
    for (size_t i = 0; i < r->n_lost_clients; i++)
        client_died(c, r->lost_clients[i]);
}

/* An event record's text, for the paragraphs that name it. */
static char *event_text(const histline_record *r)
{
    char text[96];
    if (r->cmd == HISTLINE_LOST)
        snprintf(text, sizeof text, "(a machine lost: %zu servers, %zu clients died)",
                 r->n_lost_servers, r->n_lost_clients);
    else if (r->cmd == HISTLINE_BACK)
        snprintf(text, sizeof text, "(a lost machine back)");
    else
        snprintf(text, sizeof text, "(%s %" PRIu64 " died)", r->has_server ? "server" : "client",
                 r->has_server ? r->server : r->client);
    return xstrdup(text);
}

/* ---- public ---- */

checker *checker_new(FILE *msgs)
{
    checker *c = xcalloc(1, sizeof *c);
    c->msgs = msgs;
    c->keys = hmap_new();
    c->writes = hmap_new();
    c->servers = hmap_new();
    c->clients = hmap_new();
    return c;
}

static void free_key(void *p)
{
    key_info *ki = p;
    free(ki->bytes.p);
    free(ki->fp);
    free(ki);
}

static void free_server(void *p)
{
    server *s = p;
    hmap_free(s->held, free);
    free(s->dirty);
    free(s->life);
    free(s);
}

static void free_client(void *p)
{
    client *cl = p;
    hmap_free(cl->deps, free);
    free(cl);
}

void checker_free(checker *c)
{
    if (!c)
        return;
    end_epoch(c);
    for (size_t i = 0; i < c->n_ops; i++)
        free(c->ops[i].text);
    free(c->ops);
    hmap_free(c->keys, free_key);
    free(c->key_by_id);
    hmap_free(c->writes, free);
    hmap_free(c->servers, free_server);
    hmap_free(c->clients, free_client);
    for (size_t i = 0; i < c->n_viol; i++)
        free((char *)c->viol[i].text);
    free(c->viol);
    free(c);
}

int checker_feed(checker *c, const histline_record *r, dkv_err *err)
{
    /* An event shares its line with the command it was noticed before or
     * during; commands come in strictly increasing line order. */
    bool event = histline_is_event(r);
    if (c->n_ops > 0 && (r->line < c->last_line || (!event && r->line <= c->last_cmd_line)))
        return dkv_err_set(err,
                           "script line %ld comes after line %ld: the records are not one "
                           "history in order",
                           r->line, event ? c->last_line : c->last_cmd_line);
    c->last_line = r->line;
    if (!event)
        c->last_cmd_line = r->line;
    op_info oi = {r->line, event ? event_text(r) : prose_op_text(&r->text)};
    *VEC_PUSH(c->ops, c->n_ops, c->cap_ops) = oi;
    size_t op = c->n_ops - 1;
    size_t violations_before = c->n_viol;

    switch (r->cmd) {
    case HISTLINE_JOIN_SERVER:
        end_epoch(c);
        do_join_server(c, op, r);
        break;
    case HISTLINE_KILL_SERVER:
        end_epoch(c);
        do_kill_server(c, op, r);
        break;
    case HISTLINE_BREAK:
    case HISTLINE_CREATE:
        end_epoch(c);
        break;
    case HISTLINE_JOIN_CLIENT:
        if (r->ok)
            get_client(c, r->client);
        break;
    case HISTLINE_STABILIZE:
        if (r->ok)
            do_stabilize(c, op, r);
        break;
    case HISTLINE_PRINT_STORE:
        if (r->ok)
            do_print_store(c, op, r);
        break;
    case HISTLINE_PUT:
        end_epoch(c);
        if (r->ok)
            do_put(c, op, r);
        else
            do_failed_put(c, op, r);
        break;
    case HISTLINE_GET:
        if (r->ok)
            do_get(c, op, r);
        else
            maybe_reached_client(c, op, r);
        break;
    case HISTLINE_END:
        break; /* bin/check's main handles the end record */
    case HISTLINE_DIED:
        end_epoch(c);
        do_died(c, op, r);
        break;
    case HISTLINE_LOST:
        end_epoch(c);
        do_lost(c, op, r);
        break;
    case HISTLINE_BACK:
        break; /* its ids stay dead until joined again */
    case HISTLINE_SHOW:
        break; /* showServer changes nothing */
    case HISTLINE_PAUSE:
    case HISTLINE_RESUME:
    case HISTLINE_LINK_FAULT:
        /* No data changes, but what links carry does: groups of a
         * stabilize before it no longer hold. A paused server keeps what
         * it holds; the master fails commands that need it. */
        if (r->ok)
            end_epoch(c);
        break;
    case HISTLINE_SLEEP:
        break;
    case HISTLINE_OTHER:
        /* A command this checker does not know: if it did something, assume
         * it may have changed data or topology. */
        if (r->ok) {
            c->unknown++;
            end_epoch(c);
        }
        break;
    }
    return (int)(c->n_viol - violations_before);
}

size_t checker_ops(const checker *c) { return c->n_ops; }
size_t checker_violation_count(const checker *c) { return c->n_viol; }
size_t checker_unknown_commands(const checker *c) { return c->unknown; }

const checker_violation *checker_violation_at(const checker *c, size_t i)
{
    return i < c->n_viol ? &c->viol[i] : NULL;
}

const char *checker_kind_name(checker_kind kind)
{
    static const char *const names[CHECKER_KIND_COUNT] = {
        [CHECKER_PUT_NOT_ABOVE_DEP] = "put-not-above-dependency",
        [CHECKER_PUT_NOT_ABOVE_HELD] = "put-not-above-server",
        [CHECKER_PUT_ORIGIN] = "put-wrong-origin",
        [CHECKER_DUPLICATE_VERSION] = "duplicate-version",
        [CHECKER_PHANTOM] = "phantom-value",
        [CHECKER_READ_YOUR_WRITES] = "read-your-writes",
        [CHECKER_MONOTONIC_READS] = "monotonic-reads",
        [CHECKER_ERR_KEY_WITH_DEP] = "err-key-with-dependency",
        [CHECKER_ERR_DEP_WITHOUT_DEP] = "err-dep-without-dependency",
        [CHECKER_WRONG_RESULT] = "wrong-result",
        [CHECKER_ERR_DEP_HELD] = "err-dep-but-held",
        [CHECKER_ERR_KEY_HELD] = "err-key-but-held",
        [CHECKER_OLDER_THAN_HELD] = "older-than-held",
        [CHECKER_STORE_MISSING_KEY] = "store-missing-key",
        [CHECKER_LOST_WRITE] = "lost-write",
        [CHECKER_DIVERGED] = "diverged-after-stabilize",
        [CHECKER_DEP_MISMATCH] = "dependency-mismatch",
        [CHECKER_STORE_ORDER] = "store-order",
    };
    return (unsigned)kind < CHECKER_KIND_COUNT && names[kind] ? names[kind] : "unknown";
}
