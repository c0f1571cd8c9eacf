#include "checker.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

/* Like the rest of the project, running out of memory aborts. */
static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        abort();
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

static void **xslot(hmap *m, const void *key, size_t len, bool *created)
{
    void **s = hmap_slot(m, key, len, created);
    if (!s)
        abort();
    return s;
}

static hmap *xhmap(void)
{
    hmap *m = hmap_create();
    if (!m)
        abort();
    return m;
}

#define PUSH(arr, n, cap, val)                                                                     \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? 2 * (cap) : 8;                                                         \
            (arr) = xrealloc((arr), (cap) * sizeof *(arr));                                        \
        }                                                                                          \
        (arr)[(n)++] = (val);                                                                      \
    } while (0)

#define NO_OP SIZE_MAX

/* ---- values: compared by length, two hashes and their first bytes ---- */

#define HEAD 32
typedef struct digest {
    size_t len;
    uint64_t h1, h2;
    uint8_t head[HEAD];
} digest;

static digest digest_of(const hr_bytes *b)
{
    digest d = {b->n, hmap_hash(b->p, b->n, 1), hmap_hash(b->p, b->n, 2), {0}};
    memcpy(d.head, b->p, b->n < HEAD ? b->n : HEAD);
    return d;
}

static bool digest_eq(const digest *a, const digest *b)
{
    return a->len == b->len && a->h1 == b->h1 && a->h2 == b->h2 &&
           memcmp(a->head, b->head, HEAD) == 0;
}

/* ---- state ---- */

typedef struct op_info {
    long line;
    char *text; /* printable, shortened */
} op_info;

typedef struct failed_put {
    size_t op;
    digest val;
    uint64_t server, client;
    bool used; /* matched to a version already: one put is applied at most once */
} failed_put;

typedef struct key_info {
    uint32_t id;
    hr_bytes bytes;
    failed_put *fp;
    size_t n_fp, cap_fp;
    size_t seen_stamp; /* printStore: op + 1 when the store listed the key */
} key_info;

typedef struct write_info {
    dkv_version v;
    uint32_t key;
    digest val;
    size_t op;
    uint64_t server, client;
    bool from_failed; /* learned from a read matching a put that failed */
} write_info;

typedef enum held_how { H_PUT, H_GET, H_STORE, H_STABILIZE, H_EPOCH } held_how;

/* A lower bound of the version a server holds for a key, and how the
 * checker knows it. */
typedef struct held {
    dkv_version v;
    held_how how;
    size_t op;    /* the operation that showed it */
    size_t op2;   /* H_EPOCH: the stabilize that made the group stable */
    uint64_t via; /* H_STABILIZE, H_EPOCH: the server it came from */
    size_t inc;   /* the server's incarnation when it was learned */
    bool dirty;   /* listed in the server's dirty keys */
} held;

typedef enum sstate { S_UNKNOWN, S_LIVE, S_DEAD } sstate;

typedef struct server {
    uint64_t id;
    sstate state;
    size_t inc;    /* incarnations: 1 from the first joinServer on */
    size_t *joins; /* joins[i]: the op that started incarnation i */
    size_t *kills; /* kills[i]: the op that ended it */
    size_t cap_inc;
    hmap *held; /* key id -> held */
    /* The stabilize group it was last in (0: none) and that group's size,
     * and the keys whose bound rose since (their held.dirty is set). */
    uint64_t sig;
    size_t sig_size;
    uint32_t *dirty;
    size_t n_dirty, cap_dirty;
} server;

typedef struct dep {
    dkv_version v; /* a lower bound of the client's dependency; none: none known */
    size_t op;     /* the operation that set v */
    bool by_put;
    /* A put or get that failed after reaching the client may have raised
     * the real dependency: v is then only a lower bound. */
    bool uncertain;
    size_t uncertain_op;
} dep;

typedef struct client {
    uint64_t id;
    hmap *deps; /* key id -> dep */
} client;

/* The exact version every member of a stable group holds for a key. */
typedef struct snap {
    dkv_version v; /* none: absent */
    size_t op;
    uint64_t server;
} snap;

typedef struct egroup {
    uint64_t *members;
    size_t n;
    hmap *snap; /* key id -> snap */
    bool complete;    /* a printStore listed the whole store */
    size_t complete_op;
    uint64_t complete_server;
} egroup;

struct checker {
    FILE *msgs;
    op_info *ops;
    size_t n_ops, cap_ops;
    long last_line;
    hmap *keys; /* key bytes -> key_info */
    key_info **key_by_id;
    size_t n_keys, cap_keys;
    hmap *writes;  /* (key id, version) -> write_info */
    hmap *servers; /* id -> server */
    hmap *clients; /* id -> client */
    struct {
        bool active;
        size_t op;
        egroup *groups;
        size_t n_groups;
        hmap *member_of; /* server id -> group index + 1 */
    } ep;
    chk_violation *viol;
    size_t n_viol, cap_viol;
    size_t unknown;
    uint64_t next_sig;
};

/* ---- text ---- */

typedef struct sb {
    char *p;
    size_t n, cap;
} sb;

static void sb_vprintf(sb *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int need = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (need < 0)
        return;
    if (b->n + (size_t)need + 1 > b->cap) {
        b->cap = (b->n + (size_t)need + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    b->n += (size_t)need;
}

__attribute__((format(printf, 2, 3))) static void sb_printf(sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Bytes as readable text: printable ASCII as is, the rest as \xNN, at most
 * max bytes shown. */
static void sb_putc(sb *b, char ch)
{
    if (b->n + 2 > b->cap) {
        b->cap = (b->n + 2) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    b->p[b->n++] = ch;
    b->p[b->n] = '\0';
}

static void sb_raw(sb *b, const uint8_t *p, size_t n, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n && i < max; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
            sb_putc(b, (char)p[i]);
        } else {
            sb_putc(b, '\\');
            sb_putc(b, 'x');
            sb_putc(b, hex[p[i] >> 4]);
            sb_putc(b, hex[p[i] & 15]);
        }
    }
    if (n > max)
        sb_printf(b, "... (%zu bytes)", n);
}

static void sb_quoted(sb *b, const uint8_t *p, size_t n)
{
    sb_printf(b, "'");
    sb_raw(b, p, n, 40);
    sb_printf(b, "'");
}

static void sb_digest(sb *b, const digest *d)
{
    sb_printf(b, "'");
    sb_raw(b, d->head, d->len < HEAD ? d->len : HEAD, HEAD);
    if (d->len > HEAD)
        sb_printf(b, "... (%zu bytes)", d->len);
    sb_printf(b, "'");
}

static void sb_ver(sb *b, dkv_version v)
{
    if (version_is_none(v))
        sb_printf(b, "none");
    else
        sb_printf(b, "(%" PRIu64 ",%" PRIu64 ")", v.lamport, v.origin);
}

static void sb_op(sb *b, const checker *c, size_t op)
{
    if (op == NO_OP || op >= c->n_ops)
        sb_printf(b, "an unknown line");
    else
        sb_printf(b, "line %ld `%s`", c->ops[op].line, c->ops[op].text);
}

static void sb_key(sb *b, const checker *c, uint32_t k)
{
    sb_quoted(b, c->key_by_id[k]->bytes.p, c->key_by_id[k]->bytes.n);
}

/* ---- violations ---- */

typedef struct vb {
    chk_violation v;
    sb text;
} vb;

static void vb_begin(vb *x, const checker *c, chk_kind kind, size_t op)
{
    memset(x, 0, sizeof *x);
    x->v.kind = kind;
    x->v.line = c->ops[op].line;
}

static void vb_rel(vb *x, const checker *c, size_t op)
{
    if (op == NO_OP || op >= c->n_ops)
        return;
    long line = c->ops[op].line;
    if (line == x->v.line)
        return;
    for (size_t i = 0; i < x->v.n_related; i++)
        if (x->v.related[i] == line)
            return;
    if (x->v.n_related < CHK_MAX_RELATED)
        x->v.related[x->v.n_related++] = line;
}

static void vb_end(checker *c, vb *x, int *count)
{
    x->v.text = x->text.p ? x->text.p : strdup("");
    if (!x->v.text)
        abort();
    PUSH(c->viol, c->n_viol, c->cap_viol, x->v);
    if (c->msgs)
        fprintf(c->msgs, "%s\n\n", x->v.text);
    (*count)++;
}

/* ---- lookups ---- */

static uint32_t intern_key(checker *c, const hr_bytes *k)
{
    bool created;
    void **slot = xslot(c->keys, k->p, k->n, &created);
    if (!created)
        return ((key_info *)*slot)->id;
    key_info *ki = xcalloc(1, sizeof *ki);
    ki->id = (uint32_t)c->n_keys;
    ki->bytes.p = xcalloc(k->n + 1, 1);
    if (k->n)
        memcpy(ki->bytes.p, k->p, k->n);
    ki->bytes.n = k->n;
    *slot = ki;
    PUSH(c->key_by_id, c->n_keys, c->cap_keys, ki);
    return ki->id;
}

static void write_key(uint8_t out[20], uint32_t k, dkv_version v)
{
    memcpy(out, &k, 4);
    memcpy(out + 4, &v.lamport, 8);
    memcpy(out + 12, &v.origin, 8);
}

static write_info *find_write(const checker *c, uint32_t k, dkv_version v)
{
    uint8_t wk[20];
    write_key(wk, k, v);
    return hmap_get(c->writes, wk, sizeof wk);
}

static write_info *add_write(checker *c, uint32_t k, dkv_version v)
{
    uint8_t wk[20];
    write_key(wk, k, v);
    void **slot = xslot(c->writes, wk, sizeof wk, NULL);
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
    void **slot = xslot(c->servers, &id, sizeof id, &created);
    if (created) {
        server *s = xcalloc(1, sizeof *s);
        s->id = id;
        s->held = xhmap();
        s->cap_inc = 4;
        s->joins = xcalloc(s->cap_inc, sizeof *s->joins);
        s->kills = xcalloc(s->cap_inc, sizeof *s->kills);
        for (size_t i = 0; i < s->cap_inc; i++)
            s->joins[i] = s->kills[i] = NO_OP;
        *slot = s;
    }
    return *slot;
}

static server *find_server(const checker *c, uint64_t id)
{
    return hmap_get(c->servers, &id, sizeof id);
}

static void server_reserve(server *s, size_t inc)
{
    if (inc < s->cap_inc)
        return;
    size_t cap = (inc + 1) * 2;
    s->joins = xrealloc(s->joins, cap * sizeof *s->joins);
    s->kills = xrealloc(s->kills, cap * sizeof *s->kills);
    for (size_t i = s->cap_inc; i < cap; i++)
        s->joins[i] = s->kills[i] = NO_OP;
    s->cap_inc = cap;
}

static held *find_held(const server *s, uint32_t k) { return hmap_get(s->held, &k, sizeof k); }

static client *get_client(checker *c, uint64_t id)
{
    bool created;
    void **slot = xslot(c->clients, &id, sizeof id, &created);
    if (created) {
        client *cl = xcalloc(1, sizeof *cl);
        cl->id = id;
        cl->deps = xhmap();
        *slot = cl;
    }
    return *slot;
}

static dep *find_dep(const client *cl, uint32_t k) { return hmap_get(cl->deps, &k, sizeof k); }

static dep *get_dep(client *cl, uint32_t k)
{
    void **slot = xslot(cl->deps, &k, sizeof k, NULL);
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
        hmap_destroy(c->ep.groups[g].snap, free);
    }
    free(c->ep.groups);
    hmap_destroy(c->ep.member_of, NULL);
    memset(&c->ep, 0, sizeof c->ep);
}

/* Raises the lower bound of what s holds for k. While s belongs to a
 * stable group, every member holds exactly what s holds, so the bound is
 * raised for all of them. */
static void raise_held(checker *c, server *s, uint32_t k, dkv_version v, held_how how, size_t op,
                       size_t op2, uint64_t via, bool propagate)
{
    if (version_is_none(v))
        return;
    void **slot = xslot(s->held, &k, sizeof k, NULL);
    held *h = *slot;
    if (!h || version_cmp(v, h->v) > 0) {
        if (!h)
            h = *slot = xcalloc(1, sizeof *h);
        bool dirty = h->dirty;
        *h = (held){v, how, op, op2, via, s->inc, true};
        if (!dirty)
            PUSH(s->dirty, s->n_dirty, s->cap_dirty, k);
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

/* ---- explanations ---- */

static void sb_written(sb *b, vb *x, const checker *c, const write_info *w)
{
    if (!w) {
        sb_printf(b, "written by no put in the history");
        return;
    }
    sb_printf(b, "written at ");
    sb_op(b, c, w->op);
    if (w->from_failed)
        sb_printf(b, ", a put reported as failed that was applied all the same");
    vb_rel(x, c, w->op);
}

/* "version (3,1) of 'k' (written at line 9 `put ...`; ...)" */
static void sb_held(sb *b, vb *x, const checker *c, const server *s, uint32_t k, const held *h)
{
    const write_info *w = find_write(c, k, h->v);
    sb_printf(b, "version ");
    sb_ver(b, h->v);
    sb_printf(b, " of ");
    sb_key(b, c, k);
    sb_printf(b, " (");
    switch (h->how) {
    case H_PUT:
        sb_printf(b, "server %" PRIu64 " accepted that write at ", s->id);
        sb_op(b, c, h->op);
        break;
    case H_GET:
        sb_written(b, x, c, w);
        sb_printf(b, "; server %" PRIu64 " returned it at ", s->id);
        sb_op(b, c, h->op);
        break;
    case H_STORE:
        sb_written(b, x, c, w);
        sb_printf(b, "; server %" PRIu64 " listed it at ", s->id);
        sb_op(b, c, h->op);
        break;
    case H_STABILIZE:
        sb_written(b, x, c, w);
        sb_printf(b, "; server %" PRIu64 ", which held it, was in the same group when ", h->via);
        sb_op(b, c, h->op);
        sb_printf(b, " completed");
        break;
    case H_EPOCH:
        sb_written(b, x, c, w);
        sb_printf(b, "; server %" PRIu64 ", in the same group stable since ", h->via);
        sb_op(b, c, h->op2);
        sb_printf(b, ", showed it at ");
        sb_op(b, c, h->op);
        sb_printf(b, ", and after stabilize the servers of a group hold identical data until "
                     "something changes");
        vb_rel(x, c, h->op2);
        break;
    }
    sb_printf(b, ")");
    vb_rel(x, c, h->op);
}

/* Whether s was killed and rejoined since it learned h; if so, names the
 * kill and the join and returns true. */
static bool sb_lost(sb *b, vb *x, const checker *c, const server *s, uint32_t k, const held *h)
{
    if (h->inc >= s->inc)
        return false;
    size_t kill = s->kills[h->inc], join = s->joins[h->inc + 1];
    const write_info *w = find_write(c, k, h->v);
    sb_printf(b, " Server %" PRIu64 " was killed at ", s->id);
    sb_op(b, c, kill);
    sb_printf(b, " and rejoined at ");
    sb_op(b, c, join);
    if (s->inc > h->inc + 1)
        sb_printf(b, " (and restarted again later)");
    sb_printf(b, " after it held that version: an acknowledged write");
    if (w) {
        sb_printf(b, " (");
        sb_op(b, c, w->op);
        sb_printf(b, ")");
    }
    sb_printf(b, " was lost across a kill and rejoin; a rejoining server must come back with "
                 "everything it had stored (durability).");
    vb_rel(x, c, kill);
    vb_rel(x, c, join);
    return true;
}

/* The kind of a violation about s showing less than it certainly holds:
 * base, or CHK_LOST_WRITE when a kill and rejoin came in between, or
 * CHK_DIVERGED when only another member of a stable group showed it. */
static chk_kind held_kind(const server *s, const held *h, chk_kind base)
{
    if (h->inc < s->inc)
        return CHK_LOST_WRITE;
    /* Known only because another server of a stable group showed it. */
    return h->how == H_EPOCH ? CHK_DIVERGED : base;
}

/* ---- checks shared by get and printStore ---- */

/* Whether (k, v) with value (NULL: unknown) is something a put wrote; a
 * version nobody was given may come from a put that failed yet was
 * applied, and is then registered. Reports a phantom otherwise. */
static bool check_written(checker *c, size_t op, uint32_t k, dkv_version v,
                          const hr_bytes *value, uint64_t server_id, const char *shown,
                          int *count)
{
    write_info *w = find_write(c, k, v);
    digest d = {0};
    if (value)
        d = digest_of(value);
    if (w) {
        if (!value || digest_eq(&w->val, &d))
            return true;
        vb x;
        vb_begin(&x, c, CHK_PHANTOM, op);
        sb_op(&x.text, c, op);
        sb_printf(&x.text, " %s ", shown);
        sb_key(&x.text, c, k);
        sb_printf(&x.text, " = ");
        sb_quoted(&x.text, value->p, value->n);
        sb_printf(&x.text, " at version ");
        sb_ver(&x.text, v);
        sb_printf(&x.text, " on server %" PRIu64 ", but the put given that version (", server_id);
        sb_op(&x.text, c, w->op);
        sb_printf(&x.text, ") wrote ");
        sb_digest(&x.text, &w->val);
        sb_printf(&x.text, ", not that value: a version must always carry the value its put "
                           "wrote (phantom value).");
        vb_rel(&x, c, w->op);
        vb_end(c, &x, count);
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
    vb x;
    vb_begin(&x, c, CHK_PHANTOM, op);
    sb_op(&x.text, c, op);
    sb_printf(&x.text, " %s ", shown);
    sb_key(&x.text, c, k);
    if (value) {
        sb_printf(&x.text, " = ");
        sb_quoted(&x.text, value->p, value->n);
    }
    sb_printf(&x.text, " at version ");
    sb_ver(&x.text, v);
    sb_printf(&x.text, " on server %" PRIu64 ", but no put of ", server_id);
    sb_key(&x.text, c, k);
    sb_printf(&x.text, " was given that version%s: the server shows something nobody wrote "
                       "(phantom value).",
              ki->n_fp ? ", and no failed put of that key through server with that origin "
                         "wrote that value"
                       : "");
    vb_end(c, &x, count);
    return false;
}

/* "version (3,1) of 'k'" or "no value for 'k'" */
static void sb_seen(sb *b, const checker *c, uint32_t k, dkv_version v)
{
    if (version_is_none(v)) {
        sb_printf(b, "no value for ");
    } else {
        sb_printf(b, "version ");
        sb_ver(b, v);
        sb_printf(b, " of ");
    }
    sb_key(b, c, k);
}

static bool same_version(dkv_version a, dkv_version b) { return version_cmp(a, b) == 0; }

/* While s is in a stable group, every observation of k must agree with the
 * group's first observation of it. */
static void epoch_observe(checker *c, size_t op, server *s, uint32_t k, dkv_version v,
                          int *count)
{
    long g = epoch_group(c, s->id);
    if (g < 0)
        return;
    /* Below what s certainly holds: already reported, and no reference for
     * the others. */
    held *h = find_held(s, k);
    if (h && version_cmp(v, h->v) < 0)
        return;
    egroup *eg = &c->ep.groups[g];
    bool created;
    void **slot = xslot(eg->snap, &k, sizeof k, &created);
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
    if (same_version(sn->v, v))
        return;
    vb x;
    vb_begin(&x, c, CHK_DIVERGED, op);
    sb_op(&x.text, c, op);
    sb_printf(&x.text, " shows ");
    sb_seen(&x.text, c, k, v);
    sb_printf(&x.text, " on server %" PRIu64 ", but ", s->id);
    sb_op(&x.text, c, sn->op);
    sb_printf(&x.text, " showed ");
    sb_seen(&x.text, c, k, sn->v);
    if (sn->server == s->id)
        sb_printf(&x.text, " on the same server");
    else
        sb_printf(&x.text, " on server %" PRIu64 ", in the same group", sn->server);
    sb_printf(&x.text, ", and nothing changed since ");
    sb_op(&x.text, c, c->ep.op);
    sb_printf(&x.text, ": after stabilize the servers of a group must hold identical data.");
    vb_rel(&x, c, sn->op);
    vb_rel(&x, c, c->ep.op);
    vb_end(c, &x, count);
}

/* A read showed version v (none: nothing) of k on s. Reports it when it is
 * below what s certainly holds. */
static void check_not_below_held(checker *c, size_t op, server *s, uint32_t k, dkv_version v,
                                 const char *shown, int *count)
{
    held *h = find_held(s, k);
    if (!h || version_cmp(v, h->v) >= 0)
        return;
    vb x;
    vb_begin(&x, c, held_kind(s, h, CHK_OLDER_THAN_HELD), op);
    sb_op(&x.text, c, op);
    if (version_is_none(v)) {
        sb_printf(&x.text, " %s no value for ", shown);
    } else {
        sb_printf(&x.text, " %s version ", shown);
        sb_ver(&x.text, v);
        sb_printf(&x.text, " of ");
    }
    sb_key(&x.text, c, k);
    sb_printf(&x.text, " on server %" PRIu64, s->id);
    sb_printf(&x.text, ", older than a value it certainly holds: ");
    sb_held(&x.text, &x, c, s, k, h);
    sb_printf(&x.text, ". A server keeps the highest version it has received and never goes "
                       "back.");
    sb_lost(&x.text, &x, c, s, k, h);
    vb_end(c, &x, count);
}

/* dep_before/dep_after against the checker's own view; expect_after is the
 * dependency the operation leaves. */
static void check_dep_fields(checker *c, size_t op, const hr_record *r, uint32_t k,
                             const dep *d, dkv_version expect_after, int *count)
{
    dkv_version mine = d ? d->v : (dkv_version){0, 0};
    bool unsure = d && d->uncertain;
    bool bad_before = r->has_dep_before && (unsure ? version_cmp(r->dep_before, mine) < 0
                                                   : !same_version(r->dep_before, mine));
    bool bad_after = r->has_dep_after && (unsure ? version_cmp(r->dep_after, expect_after) < 0
                                                 : !same_version(r->dep_after, expect_after));
    if (!bad_before && !bad_after)
        return;
    vb x;
    vb_begin(&x, c, CHK_DEP_MISMATCH, op);
    sb_op(&x.text, c, op);
    sb_printf(&x.text, ": client %" PRIu64 " reported its dependency on ", r->client);
    sb_key(&x.text, c, k);
    if (bad_before) {
        sb_printf(&x.text, " before the operation as ");
        sb_ver(&x.text, r->dep_before);
        sb_printf(&x.text, ", but by the history it is %s", unsure ? "at least " : "");
        sb_ver(&x.text, mine);
        if (d && d->op != NO_OP) {
            sb_printf(&x.text, " (from ");
            sb_op(&x.text, c, d->op);
            sb_printf(&x.text, ")");
            vb_rel(&x, c, d->op);
        }
    }
    if (bad_after) {
        sb_printf(&x.text, "%s after the operation as ", bad_before ? ", and" : "");
        sb_ver(&x.text, r->dep_after);
        sb_printf(&x.text, ", but it should be %s", unsure ? "at least " : "");
        sb_ver(&x.text, expect_after);
    }
    sb_printf(&x.text, ": the client's session state (the highest version it has written or "
                       "read per key) disagrees with what it actually wrote and read.");
    vb_end(c, &x, count);
}

/* ---- commands ---- */

static void do_put(checker *c, size_t op, const hr_record *r, int *count)
{
    uint32_t k = intern_key(c, &r->key);
    client *cl = get_client(c, r->client);
    server *s = get_server(c, r->server);
    dep *d = find_dep(cl, k);
    dkv_version v = r->version;

    if (v.origin != r->server) {
        vb x;
        vb_begin(&x, c, CHK_PUT_ORIGIN, op);
        sb_op(&x.text, c, op);
        sb_printf(&x.text, " went through server %" PRIu64 " but was given version ", r->server);
        sb_ver(&x.text, v);
        sb_printf(&x.text, ", whose origin is %" PRIu64 ": a write's version must name the "
                           "server that accepted it.",
                  v.origin);
        vb_end(c, &x, count);
    }
    if (d && !version_is_none(d->v) && version_cmp(v, d->v) <= 0) {
        vb x;
        vb_begin(&x, c, CHK_PUT_NOT_ABOVE_DEP, op);
        sb_op(&x.text, c, op);
        sb_printf(&x.text, " was given version ");
        sb_ver(&x.text, v);
        sb_printf(&x.text, ", which is not above client %" PRIu64 "'s dependency on ", r->client);
        sb_key(&x.text, c, k);
        sb_printf(&x.text, " (version ");
        sb_ver(&x.text, d->v);
        sb_printf(&x.text, ", from ");
        sb_op(&x.text, c, d->op);
        sb_printf(&x.text, "): a put must get a version higher than everything its client has "
                           "written or read for that key, or the client could later read back "
                           "an older value.");
        vb_rel(&x, c, d->op);
        vb_end(c, &x, count);
    }
    write_info *w = find_write(c, k, v);
    if (w) {
        vb x;
        vb_begin(&x, c, CHK_DUPLICATE_VERSION, op);
        sb_op(&x.text, c, op);
        sb_printf(&x.text, " was given version ");
        sb_ver(&x.text, v);
        sb_printf(&x.text, " for ");
        sb_key(&x.text, c, k);
        sb_printf(&x.text, ", the same version as ");
        sb_op(&x.text, c, w->op);
        sb_printf(&x.text, ": two writes of a key must never share a version (servers could not "
                           "tell them apart and might keep different values).");
        vb_rel(&x, c, w->op);
        vb_end(c, &x, count);
    } else {
        held *h = find_held(s, k);
        if (h && version_cmp(v, h->v) < 0) {
            vb x;
            vb_begin(&x, c, CHK_PUT_NOT_ABOVE_HELD, op);
            sb_op(&x.text, c, op);
            sb_printf(&x.text, " through server %" PRIu64 " was given version ", s->id);
            sb_ver(&x.text, v);
            sb_printf(&x.text, ", but server %" PRIu64 " already certainly held ", s->id);
            sb_held(&x.text, &x, c, s, k, h);
            sb_printf(&x.text, ": a write must be ordered after every write its server has "
                               "seen (causality), or last-writer-wins discards it at once.");
            if (h->inc < s->inc) {
                sb_printf(&x.text, " Server %" PRIu64 " was killed at ", s->id);
                sb_op(&x.text, c, s->kills[h->inc]);
                sb_printf(&x.text, " and rejoined at ");
                sb_op(&x.text, c, s->joins[h->inc + 1]);
                sb_printf(&x.text, " in between: a rejoining server must keep its clocks.");
                vb_rel(&x, c, s->kills[h->inc]);
                vb_rel(&x, c, s->joins[h->inc + 1]);
            }
            vb_end(c, &x, count);
        }
        w = add_write(c, k, v);
        w->val = digest_of(&r->value);
        w->op = op;
        w->server = r->server;
        w->client = r->client;
    }
    check_dep_fields(c, op, r, k, d, v, count);

    d = get_dep(cl, k);
    d->v = v;
    d->op = op;
    d->by_put = true;
    d->uncertain = false; /* a put's version is above any dependency */
    raise_held(c, s, k, v, H_PUT, op, NO_OP, s->id, false);
}

static void sb_dep(sb *b, vb *x, const checker *c, uint64_t client_id, const dep *d)
{
    sb_printf(b, "client %" PRIu64 "'s dependency ", client_id);
    sb_ver(b, d->v);
    sb_printf(b, " (from ");
    sb_op(b, c, d->op);
    sb_printf(b, ")");
    vb_rel(x, c, d->op);
}

static void do_get(checker *c, size_t op, const hr_record *r, int *count)
{
    uint32_t k = intern_key(c, &r->key);
    client *cl = get_client(c, r->client);
    server *s = get_server(c, r->server);
    dep *d = find_dep(cl, k);
    dkv_version dv = d ? d->v : (dkv_version){0, 0};
    bool has_dep = !version_is_none(dv);
    bool unsure = d && d->uncertain;
    dkv_version v = r->version; /* the server's version; none: it has none */
    held *h = find_held(s, k);
    dkv_version after = dv;

    bool known = true; /* false: a phantom, which teaches nothing */
    if (r->result == HR_RES_OK) {
        known = check_written(c, op, k, v, &r->value, s->id, "returned", count);
        if (has_dep && version_cmp(v, dv) < 0) {
            vb x;
            vb_begin(&x, c, d->by_put ? CHK_READ_YOUR_WRITES : CHK_MONOTONIC_READS, op);
            sb_op(&x.text, c, op);
            sb_printf(&x.text, " read version ");
            sb_ver(&x.text, v);
            sb_printf(&x.text, " = ");
            sb_quoted(&x.text, r->value.p, r->value.n);
            sb_printf(&x.text, " of ");
            sb_key(&x.text, c, k);
            sb_printf(&x.text, " from server %" PRIu64 ", older than ", s->id);
            if (d->by_put)
                sb_printf(&x.text, "the client's own write at ");
            else
                sb_printf(&x.text, "what the client already read at ");
            sb_op(&x.text, c, d->op);
            sb_printf(&x.text, " (version ");
            sb_ver(&x.text, dv);
            sb_printf(&x.text, "): %s is violated (a client must never read anything older than "
                               "what it last %s; the answer should have been ERR_DEP).",
                      d->by_put ? "read-your-writes" : "monotonic reads",
                      d->by_put ? "wrote" : "read");
            vb_rel(&x, c, d->op);
            vb_end(c, &x, count);
        }
        /* Below what the server holds: worth its own paragraph when it says
         * more than the session violation above. */
        if (h && version_cmp(v, h->v) < 0 &&
            (!has_dep || version_cmp(h->v, dv) > 0 || h->inc < s->inc))
            check_not_below_held(c, op, s, k, v, "returned", count);
        if (version_cmp(v, dv) > 0)
            after = v;
    } else if (r->result == HR_RES_ERR_KEY) {
        if (has_dep) {
            vb x;
            vb_begin(&x, c, CHK_ERR_KEY_WITH_DEP, op);
            sb_op(&x.text, c, op);
            sb_printf(&x.text, " answered ERR_KEY, but ");
            sb_dep(&x.text, &x, c, r->client, d);
            sb_printf(&x.text, " shows it has already written or read ");
            sb_key(&x.text, c, k);
            sb_printf(&x.text, ": ERR_KEY is only for a client that has never seen the key; the "
                               "answer should have been the value or ERR_DEP.");
            vb_end(c, &x, count);
        }
        if (!version_is_none(v)) {
            known = check_written(c, op, k, v, NULL, s->id, "reported holding", count);
            vb x;
            vb_begin(&x, c, CHK_WRONG_RESULT, op);
            sb_op(&x.text, c, op);
            sb_printf(&x.text, " answered ERR_KEY although server %" PRIu64
                               " reported holding version ",
                      s->id);
            sb_ver(&x.text, v);
            sb_printf(&x.text, " of ");
            sb_key(&x.text, c, k);
            sb_printf(&x.text, ": ERR_KEY means the server has no value for the key.");
            vb_end(c, &x, count);
        }
        if (h && version_cmp(v, h->v) < 0) {
            vb x;
            vb_begin(&x, c, held_kind(s, h, CHK_ERR_KEY_HELD), op);
            sb_op(&x.text, c, op);
            sb_printf(&x.text, " answered ERR_KEY (no value on server %" PRIu64
                               "), but server %" PRIu64 " certainly holds ",
                      s->id, s->id);
            sb_held(&x.text, &x, c, s, k, h);
            sb_printf(&x.text, ".");
            sb_lost(&x.text, &x, c, s, k, h);
            vb_end(c, &x, count);
        }
    } else { /* ERR_DEP */
        if (!has_dep && !unsure) {
            vb x;
            vb_begin(&x, c, CHK_ERR_DEP_WITHOUT_DEP, op);
            sb_op(&x.text, c, op);
            sb_printf(&x.text, " answered ERR_DEP, but client %" PRIu64
                               " has never written or read ",
                      r->client);
            sb_key(&x.text, c, k);
            sb_printf(&x.text, ", so it has no dependency the server could lack: the answer "
                               "should have been the value or ERR_KEY.");
            vb_end(c, &x, count);
        }
        bool reported = false;
        if (!version_is_none(v)) {
            known = check_written(c, op, k, v, NULL, s->id, "reported holding", count);
            if (has_dep && !unsure && version_cmp(v, dv) >= 0) {
                vb x;
                vb_begin(&x, c, CHK_WRONG_RESULT, op);
                sb_op(&x.text, c, op);
                sb_printf(&x.text, " answered ERR_DEP although server %" PRIu64
                                   "'s version ",
                          s->id);
                sb_ver(&x.text, v);
                sb_printf(&x.text, " of ");
                sb_key(&x.text, c, k);
                sb_printf(&x.text, " is not older than ");
                sb_dep(&x.text, &x, c, r->client, d);
                sb_printf(&x.text, ": the value should have been returned.");
                vb_end(c, &x, count);
                reported = true;
            }
        }
        if (!reported && h && has_dep && !unsure && version_cmp(h->v, dv) >= 0) {
            vb x;
            vb_begin(&x, c, held_kind(s, h, CHK_ERR_DEP_HELD), op);
            sb_op(&x.text, c, op);
            sb_printf(&x.text, " answered ERR_DEP, but server %" PRIu64 " certainly holds ",
                      s->id);
            sb_held(&x.text, &x, c, s, k, h);
            sb_printf(&x.text, ", which is not older than ");
            sb_dep(&x.text, &x, c, r->client, d);
            sb_printf(&x.text, ": the server should have returned the value.");
            sb_lost(&x.text, &x, c, s, k, h);
            vb_end(c, &x, count);
            reported = true;
        }
        if (!reported)
            check_not_below_held(c, op, s, k, v, "reported", count);
    }
    if (!known)
        return;
    check_dep_fields(c, op, r, k, d, after, count);
    epoch_observe(c, op, s, k, v, count);
    if (version_cmp(after, dv) > 0) {
        d = get_dep(cl, k);
        d->v = after;
        d->op = op;
        d->by_put = false;
    }
    raise_held(c, s, k, v, H_GET, op, NO_OP, s->id, true);
}

static int cmp_bytes(const hr_bytes *a, const hr_bytes *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    int r = n ? memcmp(a->p, b->p, n) : 0;
    if (r)
        return r;
    return a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
}

/* printStore listed key a right before key b, and a is not below b. Says
 * why b comes first, since orders that look natural (k2 before k10, k1
 * before K1, é before z) are wrong bytewise. */
static void report_store_order(checker *c, size_t op, const hr_bytes *a, const hr_bytes *b,
                               int *count)
{
    vb x;
    vb_begin(&x, c, CHK_STORE_ORDER, op);
    sb_op(&x.text, c, op);
    if (cmp_bytes(a, b) == 0) {
        sb_printf(&x.text, " lists key ");
        sb_quoted(&x.text, a->p, a->n);
        sb_printf(&x.text, " twice");
    } else {
        sb_printf(&x.text, " lists ");
        sb_quoted(&x.text, a->p, a->n);
        sb_printf(&x.text, " before ");
        sb_quoted(&x.text, b->p, b->n);
        size_t at = 0;
        while (at < b->n && at < a->n && a->p[at] == b->p[at])
            at++;
        sb_printf(&x.text, ", but ");
        sb_quoted(&x.text, b->p, b->n);
        if (at == b->n)
            sb_printf(&x.text, " sorts first (it is a prefix of the other)");
        else
            sb_printf(&x.text, " sorts first (byte %zu: 0x%02x < 0x%02x)", at, b->p[at], a->p[at]);
    }
    sb_printf(&x.text, ". printStore must list each key once, sorted bytewise (unsigned bytes"
                       " compared in order, a prefix first).");
    vb_end(c, &x, count);
}

static void do_print_store(checker *c, size_t op, const hr_record *r, int *count)
{
    server *s = get_server(c, r->server);
    size_t stamp = op + 1;
    bool *phantom = xcalloc(r->n_store, sizeof *phantom);
    for (size_t i = 0; i < r->n_store; i++) {
        const hr_entry *e = &r->store[i];
        if (i > 0 && cmp_bytes(&r->store[i - 1].key, &e->key) >= 0)
            report_store_order(c, op, &r->store[i - 1].key, &e->key, count);
        uint32_t k = intern_key(c, &e->key);
        c->key_by_id[k]->seen_stamp = stamp;
        phantom[i] = !check_written(c, op, k, e->version, &e->value, s->id, "shows", count);
        check_not_below_held(c, op, s, k, e->version, "shows", count);
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
        vb x;
        vb_begin(&x, c, held_kind(s, h, CHK_STORE_MISSING_KEY), op);
        sb_op(&x.text, c, op);
        sb_printf(&x.text, " lacks key ");
        sb_key(&x.text, c, k);
        sb_printf(&x.text, ", although server %" PRIu64 " certainly holds ", s->id);
        sb_held(&x.text, &x, c, s, k, h);
        sb_printf(&x.text, ".");
        sb_lost(&x.text, &x, c, s, k, h);
        vb_end(c, &x, count);
    }
    /* A stable group: compare with what the group showed before. */
    long g = epoch_group(c, s->id);
    if (g >= 0) {
        egroup *eg = &c->ep.groups[g];
        for (size_t i = 0; i < r->n_store; i++)
            if (!phantom[i])
                epoch_observe(c, op, s, intern_key(c, &r->store[i].key), r->store[i].version,
                              count);
        /* Keys seen in the group that this store lacks. */
        pos = 0;
        while (hmap_next(eg->snap, &pos, &kp, NULL, &val)) {
            uint32_t k;
            memcpy(&k, kp, sizeof k);
            if (c->key_by_id[k]->seen_stamp != stamp && !version_is_none(((snap *)val)->v))
                epoch_observe(c, op, s, k, (dkv_version){0, 0}, count);
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
        if (h && version_cmp(h->v, b.v) > 0)
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
        hmap *max = xhmap();
        for (size_t i = 0; i < eg->n; i++) {
            server *s = get_server(c, eg->members[i]);
            size_t pos = 0;
            const void *kp;
            void *val;
            while (hmap_next(s->held, &pos, &kp, NULL, &val)) {
                held *h = val;
                void **slot = xslot(max, kp, sizeof(uint32_t), NULL);
                best *b = *slot;
                if (!b)
                    b = *slot = xcalloc(1, sizeof *b);
                if (version_cmp(h->v, b->v) > 0)
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
        hmap_destroy(max, free);
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

static void do_stabilize(checker *c, size_t op, const hr_record *r)
{
    /* A new stable epoch: the groups hold identical data until something
     * changes data or topology. */
    end_epoch(c);
    c->ep.active = true;
    c->ep.op = op;
    c->ep.member_of = xhmap();
    c->ep.groups = xcalloc(r->n_groups, sizeof *c->ep.groups);
    c->ep.n_groups = r->n_groups;
    for (size_t g = 0; g < r->n_groups; g++) {
        egroup *eg = &c->ep.groups[g];
        eg->snap = xhmap();
        eg->members = xcalloc(r->groups[g].n, sizeof *eg->members);
        for (size_t i = 0; i < r->groups[g].n; i++) {
            uint64_t id = r->groups[g].ids[i];
            void **slot = xslot(c->ep.member_of, &id, sizeof id, NULL);
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
static void maybe_reached_client(checker *c, size_t op, const hr_record *r)
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

static void do_failed_put(checker *c, size_t op, const hr_record *r)
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
    PUSH(ki->fp, ki->n_fp, ki->cap_fp, fp);
}

static void do_join_server(checker *c, size_t op, const hr_record *r)
{
    if (!r->has_server)
        return;
    server *s = get_server(c, r->server);
    if (r->ok) {
        s->inc++;
        server_reserve(s, s->inc + 1);
        s->joins[s->inc] = op;
        s->state = S_LIVE;
    } else if (s->state != S_LIVE) {
        s->state = S_UNKNOWN; /* it may have started */
    }
}

static void do_kill_server(checker *c, size_t op, const hr_record *r)
{
    if (!r->has_server)
        return;
    server *s = get_server(c, r->server);
    server_reserve(s, s->inc + 1);
    if (r->ok) {
        s->kills[s->inc] = op;
        s->state = S_DEAD;
    } else if (s->state != S_DEAD) {
        /* It may have died all the same; remember the attempt so a later
         * rejoin can be explained. */
        if (s->kills[s->inc] == NO_OP)
            s->kills[s->inc] = op;
        s->state = S_UNKNOWN;
    }
}

/* ---- public ---- */

checker *checker_create(FILE *msgs)
{
    checker *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->msgs = msgs;
    c->keys = hmap_create();
    c->writes = hmap_create();
    c->servers = hmap_create();
    c->clients = hmap_create();
    if (!c->keys || !c->writes || !c->servers || !c->clients) {
        checker_destroy(c);
        return NULL;
    }
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
    hmap_destroy(s->held, free);
    free(s->dirty);
    free(s->joins);
    free(s->kills);
    free(s);
}

static void free_client(void *p)
{
    client *cl = p;
    hmap_destroy(cl->deps, free);
    free(cl);
}

void checker_destroy(checker *c)
{
    if (!c)
        return;
    end_epoch(c);
    for (size_t i = 0; i < c->n_ops; i++)
        free(c->ops[i].text);
    free(c->ops);
    hmap_destroy(c->keys, free_key);
    free(c->key_by_id);
    hmap_destroy(c->writes, free);
    hmap_destroy(c->servers, free_server);
    hmap_destroy(c->clients, free_client);
    for (size_t i = 0; i < c->n_viol; i++)
        free((char *)c->viol[i].text);
    free(c->viol);
    free(c);
}

static char *short_text(const hr_bytes *t)
{
    sb b = {0};
    /* Keep the command readable: long values are cut. */
    sb_raw(&b, t->p, t->n, 80);
    if (!b.p)
        b.p = xcalloc(1, 1);
    return b.p;
}

int checker_feed(checker *c, const hr_record *r, dkv_err *err)
{
    if (c->n_ops > 0 && r->line <= c->last_line)
        return dkv_err_set(err,
                           "script line %ld comes after line %ld: the records are not one "
                           "history in order",
                           r->line, c->last_line);
    c->last_line = r->line;
    op_info oi = {r->line, short_text(&r->text)};
    PUSH(c->ops, c->n_ops, c->cap_ops, oi);
    size_t op = c->n_ops - 1;
    int count = 0;

    switch (r->cmd) {
    case HR_JOIN_SERVER:
        end_epoch(c);
        do_join_server(c, op, r);
        break;
    case HR_KILL_SERVER:
        end_epoch(c);
        do_kill_server(c, op, r);
        break;
    case HR_BREAK:
    case HR_CREATE:
        end_epoch(c);
        break;
    case HR_JOIN_CLIENT:
        if (r->ok)
            get_client(c, r->client);
        break;
    case HR_STABILIZE:
        if (r->ok)
            do_stabilize(c, op, r);
        break;
    case HR_PRINT_STORE:
        if (r->ok)
            do_print_store(c, op, r, &count);
        break;
    case HR_PUT:
        end_epoch(c);
        if (r->ok)
            do_put(c, op, r, &count);
        else
            do_failed_put(c, op, r);
        break;
    case HR_GET:
        if (r->ok)
            do_get(c, op, r, &count);
        else
            maybe_reached_client(c, op, r);
        break;
    case HR_END:
        break; /* bin/check's main handles the end record */
    case HR_OTHER:
        /* A command this checker does not know: if it did something, assume
         * it may have changed data or topology. */
        if (r->ok) {
            c->unknown++;
            end_epoch(c);
        }
        break;
    }
    return count;
}

size_t checker_ops(const checker *c) { return c->n_ops; }
size_t checker_violation_count(const checker *c) { return c->n_viol; }
size_t checker_unknown_commands(const checker *c) { return c->unknown; }

const chk_violation *checker_violation(const checker *c, size_t i)
{
    return i < c->n_viol ? &c->viol[i] : NULL;
}

const char *chk_kind_name(chk_kind kind)
{
    static const char *const names[CHK_KIND_COUNT] = {
        [CHK_PUT_NOT_ABOVE_DEP] = "put-not-above-dependency",
        [CHK_PUT_NOT_ABOVE_HELD] = "put-not-above-server",
        [CHK_PUT_ORIGIN] = "put-wrong-origin",
        [CHK_DUPLICATE_VERSION] = "duplicate-version",
        [CHK_PHANTOM] = "phantom-value",
        [CHK_READ_YOUR_WRITES] = "read-your-writes",
        [CHK_MONOTONIC_READS] = "monotonic-reads",
        [CHK_ERR_KEY_WITH_DEP] = "err-key-with-dependency",
        [CHK_ERR_DEP_WITHOUT_DEP] = "err-dep-without-dependency",
        [CHK_WRONG_RESULT] = "wrong-result",
        [CHK_ERR_DEP_HELD] = "err-dep-but-held",
        [CHK_ERR_KEY_HELD] = "err-key-but-held",
        [CHK_OLDER_THAN_HELD] = "older-than-held",
        [CHK_STORE_MISSING_KEY] = "store-missing-key",
        [CHK_LOST_WRITE] = "lost-write",
        [CHK_DIVERGED] = "diverged-after-stabilize",
        [CHK_DEP_MISMATCH] = "dependency-mismatch",
        [CHK_STORE_ORDER] = "store-order",
    };
    return (unsigned)kind < CHK_KIND_COUNT && names[kind] ? names[kind] : "unknown";
}
