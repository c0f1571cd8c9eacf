/* fixture: see fixture.h. */
#include "fixture.h"
#include "../common/xalloc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../common/wire.h"
#include "../server/peermsg.h"
#include "kv_memory.h"

#define N_MAX FIXTURE_MAX_NODES
#define RING 48        /* events kept for fixture_describe */
#define SPEED_DEFAULT 8

/* --- events ---------------------------------------------------------- */

typedef enum ev_type {
    EV_DELIVER, EV_TICK, EV_CONNECT, EV_BREAK, EV_SLOW, EV_HOLD, EV_RELEASE, EV_PARTITION,
    EV_HEAL, EV_CRASH, EV_RESTART, EV_PUT, EV_GET, EV_MOVE, EV_LINK_UP, EV_PROTO_ERROR,
    EV_HALF_OPEN, EV_INJECT,
} ev_type;

static const char *const ev_names[] = {
    "deliver", "tick", "connect", "break", "slow", "hold", "release", "partition",
    "heal", "crash", "restart", "put", "get", "move", "link_up", "protocol_error",
    "half_open", "inject",
};

typedef struct fx_event {
    uint64_t step;
    ev_type type;
    uint64_t a, b, c, d, e;
} fx_event;

typedef struct fx_node {
    fixture *f;
    size_t idx;
    uint64_t id;
    store *st;
    core *c; /* NULL while crashed */
    int side;
} fx_node;

typedef struct fx_put {
    size_t origin; /* node index */
    uint64_t seq;
    dkv_version v;
    size_t key;
    uint8_t *value;
    size_t value_len;
} fx_put;

typedef struct fx_client {
    size_t node;
    dkv_version dep[FIXTURE_MAX_KEYS];
} fx_client;

struct fixture {
    uint64_t seed, rng;
    size_t n;
    fx_node node[N_MAX];
    bool want[N_MAX][N_MAX];
    bool conn[N_MAX][N_MAX];   /* a connection exists (symmetric) */
    bool up[N_MAX][N_MAX];     /* up[i][j]: i called core_link_up(j) on it */
    size_t dialer[N_MAX][N_MAX];
    uint64_t hello_inc[N_MAX][N_MAX]; /* incarnation i's hello on it carried */
    bool gone[N_MAX][N_MAX];   /* i's process on the connection died: half-open */
    bool held[N_MAX][N_MAX];   /* frames i -> j are held back */
    unsigned speed[N_MAX][N_MAX];
    buf chan[N_MAX][N_MAX];    /* undelivered frames i -> j */

    size_t n_keys;
    uint8_t key[FIXTURE_MAX_KEYS][8];
    size_t key_len[FIXTURE_MAX_KEYS];

    fx_client *clients;
    size_t n_clients, cap_clients;

    /* Oracle: every acknowledged write. */
    fx_put *puts;
    size_t n_puts, cap_puts;
    size_t *by_origin[N_MAX]; /* put indexes in seq order */
    size_t n_by_origin[N_MAX], cap_by_origin[N_MAX];
    size_t *vmap; /* open addressing: version -> put index + 1 */
    size_t vmap_cap;
    /* Highest version each node was seen to hold, per key: it never drops. */
    dkv_version high[N_MAX][FIXTURE_MAX_KEYS];

    fixture_config cfg;
    fixture_stats stats;
    uint64_t digest;
    size_t step;
    bool failed;
    char err[2048];
    char why[1024];
    fx_event ring[RING];
    size_t ring_n;
    FILE *trace;
    buf scratch;
};

/* --- randomness ------------------------------------------------------ */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rnd(fixture *f) { return splitmix(&f->rng); }
static size_t rnd_below(fixture *f, size_t n) { return n ? (size_t)(rnd(f) % n) : 0; }
static double rnd_unit(fixture *f) { return (double)(rnd(f) >> 11) * 0x1.0p-53; }

void fixture_random_ids(uint64_t seed, size_t n, uint64_t *ids)
{
    uint64_t s = seed ^ 0x5eed1d5ULL;
    for (size_t i = 0; i < n; i++) {
        bool dup;
        do {
            /* Mostly small ids, so ties and orders vary; sometimes huge. */
            uint64_t r = splitmix(&s);
            ids[i] = (r & 3) ? r % 50 : r % 1000000000000ULL;
            dup = false;
            for (size_t j = 0; j < i; j++)
                dup = dup || ids[j] == ids[i];
        } while (dup);
    }
}

/* --- digest and events ----------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h * 0x100000001b3ULL;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static void print_event(FILE *out, const fixture *f, const fx_event *e)
{
    fprintf(out, "  step %-7" PRIu64 " %-14s", e->step, ev_names[e->type]);
    switch (e->type) {
    case EV_DELIVER:
        fprintf(out, " %" PRIu64 " -> %" PRIu64 " %s, %" PRIu64 " bytes", e->a, e->b,
                (const char *[]){"hello", "upd", "ack", "lsa"}[(e->c >> 32) & 3],
                e->c & 0xffffffffu);
        break;
    case EV_TICK:
        fprintf(out, " %" PRIu64 " wrote %" PRIu64 " bytes%s", e->a, e->b, e->c ? ", more" : "");
        break;
    case EV_PUT:
    case EV_GET:
        fprintf(out, " client %" PRIu64 " on %" PRIu64 " key %" PRIu64 " version (%" PRIu64
                     ",%" PRIu64 ")",
                e->a, e->b, e->c & 0xffffffffu, e->d, e->e);
        if (e->type == EV_GET)
            fprintf(out, " %s", e->c >> 32 == 0   ? "ok"
                                : e->c >> 32 == 1 ? "ERR_KEY"
                                                  : "ERR_DEP");
        break;
    case EV_MOVE:
        fprintf(out, " client %" PRIu64 " to %" PRIu64, e->a, e->b);
        break;
    case EV_PARTITION:
        fprintf(out, " sides %#" PRIx64 " (two bits per node)", e->a);
        break;
    default:
        fprintf(out, " %" PRIu64 " %" PRIu64 " %" PRIu64, e->a, e->b, e->c);
        break;
    }
    (void)f;
    fputc('\n', out);
}

/* Node ids appear in events, so traces read like the cluster's logs. */
static void ev5(fixture *f, ev_type t, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                uint64_t x)
{
    fx_event e = {f->step, t, a, b, c, d, x};
    f->digest = mix(mix(mix(mix(mix(mix(mix(f->digest, e.step), t), a), b), c), d), x);
    f->ring[f->ring_n++ % RING] = e;
    if (f->trace)
        print_event(f->trace, f, &e);
}

static void ev(fixture *f, ev_type t, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    ev5(f, t, a, b, c, d, 0);
}

static void fail(fixture *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(fixture *f, const char *fmt, ...)
{
    if (f->failed)
        return;
    f->failed = true;
    int n = snprintf(f->err, sizeof f->err, "step %zu: ", f->step);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->err + n, sizeof f->err - (size_t)n, fmt, ap);
    va_end(ap);
    if (f->trace)
        fprintf(f->trace, "  FAILED: %s\n", f->err);
}

static void why(fixture *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why(fixture *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->why, sizeof f->why, fmt, ap);
    va_end(ap);
}

/* --- configuration --------------------------------------------------- */

fixture_config fixture_config_quiet(void)
{
    fixture_config c;
    memset(&c, 0, sizeof c);
    c.w_deliver = 4;
    c.w_tick = 3;
    c.w_connect = 2;
    return c;
}

fixture_config fixture_config_faulty(void)
{
    fixture_config c = fixture_config_quiet();
    c.p_put = 0.05;
    c.p_get = 0.04;
    c.p_move = 0.01;
    c.p_break = 0.006;
    c.p_slow = 0.01;
    c.p_hold = 0.003;
    c.p_release = 0.006;
    c.p_partition = 0.0015;
    c.p_heal = 0.003;
    c.p_crash = 0.002;
    c.p_restart = 0.006;
    c.max_down = 2;
    return c;
}

/* --- nodes and links ------------------------------------------------- */

static buf *link_out(void *ctx, uint64_t peer)
{
    fx_node *nd = ctx;
    fixture *f = nd->f;
    for (size_t j = 0; j < f->n; j++)
        if (f->node[j].id == peer)
            return f->conn[nd->idx][j] && f->up[nd->idx][j] && !f->gone[nd->idx][j]
                       ? &f->chan[nd->idx][j]
                       : NULL;
    return NULL;
}

static bool start_core(fixture *f, size_t i)
{
    core_ops ops = {&f->node[i], link_out};
    dkv_err err;
    f->node[i].c = core_new(f->node[i].id, f->node[i].st, &ops, &err);
    if (!f->node[i].c) {
        fail(f, "core_new(%" PRIu64 ") failed: %s", f->node[i].id, err.msg);
        return false;
    }
    return true;
}

fixture *fixture_new(uint64_t seed, size_t n_nodes, const uint64_t *ids, size_t n_keys)
{
    if (n_nodes == 0 || n_nodes > N_MAX || n_keys == 0 || n_keys > FIXTURE_MAX_KEYS)
        abort();
    fixture *f = xcalloc(1, sizeof *f);
    f->seed = seed;
    f->rng = seed;
    f->n = n_nodes;
    f->digest = mix(0x6a09e667f3bcc908ULL, seed);
    f->cfg = fixture_config_quiet();
    buf_init(&f->scratch);
    for (size_t i = 0; i < n_nodes; i++) {
        fx_node *nd = &f->node[i];
        nd->f = f;
        nd->idx = i;
        nd->id = ids ? ids[i] : i + 1;
        for (size_t j = 0; j < i; j++)
            if (f->node[j].id == nd->id)
                abort();
        char name[32];
        snprintf(name, sizeof name, "memory %" PRIu64, nd->id);
        dkv_err err;
        nd->st = store_open_kv(kv_memory_new(), name, nd->id, &err);
        if (!nd->st) /* a fresh memory store has nothing to refuse */
            abort();
        for (size_t j = 0; j < n_nodes; j++) {
            buf_init(&f->chan[i][j]);
            f->speed[i][j] = SPEED_DEFAULT;
        }
    }
    for (size_t i = 0; i < n_nodes; i++)
        start_core(f, i);
    /* Keys: short, one with bytes that are not text. */
    f->n_keys = n_keys;
    for (size_t k = 0; k < n_keys; k++) {
        if (k == 1) {
            static const uint8_t odd[] = {0xff, 0x01, 'k', 0x7f};
            memcpy(f->key[k], odd, sizeof odd);
            f->key_len[k] = sizeof odd;
        } else {
            f->key_len[k] = (size_t)snprintf((char *)f->key[k], sizeof f->key[k], "k%zu", k);
        }
    }
    return f;
}

void fixture_free(fixture *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        core_free(f->node[i].c);
        store_close(f->node[i].st);
        for (size_t j = 0; j < f->n; j++)
            buf_free(&f->chan[i][j]);
        free(f->by_origin[i]);
    }
    for (size_t p = 0; p < f->n_puts; p++)
        free(f->puts[p].value);
    free(f->puts);
    free(f->vmap);
    free(f->clients);
    buf_free(&f->scratch);
    free(f);
}

void fixture_set_config(fixture *f, const fixture_config *cfg) { f->cfg = *cfg; }
void fixture_set_trace(fixture *f, FILE *out) { f->trace = out; }

void fixture_want(fixture *f, size_t a, size_t b)
{
    if (a != b && a < f->n && b < f->n)
        f->want[a][b] = f->want[b][a] = true;
}

void fixture_topology_set(fixture *f, fixture_topology t)
{
    size_t n = f->n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            f->want[i][j] = false;
    for (size_t i = 1; i < n; i++) {
        switch (t) {
        case FIXTURE_COMPLETE:
            for (size_t j = 0; j < i; j++)
                fixture_want(f, i, j);
            break;
        case FIXTURE_CHAIN:
        case FIXTURE_RING:
            fixture_want(f, i - 1, i);
            break;
        case FIXTURE_STAR:
            fixture_want(f, 0, i);
            break;
        case FIXTURE_TREE:
        case FIXTURE_MESH:
            fixture_want(f, rnd_below(f, i), i);
            break;
        }
    }
    if (t == FIXTURE_RING && n > 2)
        fixture_want(f, n - 1, 0);
    if (t == FIXTURE_MESH)
        for (size_t e = 0; e < n; e++)
            fixture_want(f, rnd_below(f, n), rnd_below(f, n));
}

static bool node_up(const fixture *f, size_t i) { return f->node[i].c != NULL; }

static bool may_connect(const fixture *f, size_t i, size_t j)
{
    return f->want[i][j] && !f->conn[i][j] && node_up(f, i) && node_up(f, j) &&
           f->node[i].side == f->node[j].side;
}

static bool established(const fixture *f, size_t i, size_t j)
{
    return f->conn[i][j] && f->up[i][j] && f->up[j][i] && !f->gone[i][j] && !f->gone[j][i];
}

static bool half_open(const fixture *f, size_t i, size_t j)
{
    return f->conn[i][j] && (f->gone[i][j] || f->gone[j][i]);
}

/* Opens a connection; the dialer's hello goes first, as in server.c. */
static void connect_link(fixture *f, size_t dialer, size_t acceptor)
{
    size_t i = dialer, j = acceptor;
    f->conn[i][j] = f->conn[j][i] = true;
    f->up[i][j] = f->up[j][i] = false;
    f->dialer[i][j] = f->dialer[j][i] = i;
    f->gone[i][j] = f->gone[j][i] = false;
    buf_clear(&f->chan[i][j]);
    buf_clear(&f->chan[j][i]);
    f->hello_inc[i][j] = core_incarnation(f->node[i].c);
    core_hello(f->node[i].c, f->node[j].id, &f->chan[i][j]);
    f->stats.connects++;
    ev(f, EV_CONNECT, f->node[i].id, f->node[j].id, 0, 0);
}

void fixture_connect_all(fixture *f)
{
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = i + 1; j < f->n; j++)
            if (may_connect(f, i, j)) {
                bool i_dials = rnd_below(f, 2);
                connect_link(f, i_dials ? i : j, i_dials ? j : i);
            }
}

/* Drops the connection: undelivered frames are lost and each side whose
 * link was up hears of it. Both ends are marked down before either core
 * reacts, so neither writes to the dead connection. */
static void drop_conn(fixture *f, size_t i, size_t j)
{
    if (!f->conn[i][j])
        return;
    bool ui = f->up[i][j] && !f->gone[i][j], uj = f->up[j][i] && !f->gone[j][i];
    f->conn[i][j] = f->conn[j][i] = false;
    f->up[i][j] = f->up[j][i] = false;
    f->gone[i][j] = f->gone[j][i] = false;
    buf_clear(&f->chan[i][j]);
    buf_clear(&f->chan[j][i]);
    f->stats.breaks++;
    ev(f, EV_BREAK, f->node[i].id, f->node[j].id, 0, 0);
    if (ui && f->node[i].c)
        core_link_down(f->node[i].c, f->node[j].id);
    if (uj && f->node[j].c)
        core_link_down(f->node[j].c, f->node[i].id);
}

/* One end (a) closes the connection and hears of it at once; what it wrote
 * before still reaches b, what b writes is lost, until b notices. */
static void close_one_end(fixture *f, size_t a, size_t b)
{
    if (!f->conn[a][b] || f->gone[a][b] || f->gone[b][a])
        return;
    bool was_up = f->up[a][b];
    f->gone[a][b] = true;
    buf_clear(&f->chan[b][a]);
    f->stats.breaks++;
    ev(f, EV_HALF_OPEN, f->node[a].id, f->node[b].id, 1, 0);
    if (was_up)
        core_link_down(f->node[a].c, f->node[b].id);
}

void fixture_break(fixture *f, size_t a, size_t b)
{
    if (a < f->n && b < f->n && a != b)
        drop_conn(f, a, b);
}

void fixture_hold(fixture *f, size_t from, size_t to)
{
    if (from >= f->n || to >= f->n || from == to || f->held[from][to])
        return;
    f->held[from][to] = true;
    f->stats.holds++;
    ev(f, EV_HOLD, f->node[from].id, f->node[to].id, 0, 0);
}

void fixture_release(fixture *f, size_t from, size_t to)
{
    if (from >= f->n || to >= f->n || !f->held[from][to])
        return;
    f->held[from][to] = false;
    f->stats.releases++;
    ev(f, EV_RELEASE, f->node[from].id, f->node[to].id, 0, 0);
}

void fixture_partition(fixture *f, const int *side)
{
    uint64_t mask = 0; /* two bits per node */
    for (size_t i = 0; i < f->n; i++) {
        f->node[i].side = side[i];
        mask |= (uint64_t)(side[i] & 3) << (2 * i);
    }
    f->stats.partitions++;
    ev(f, EV_PARTITION, mask, 0, 0, 0);
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = i + 1; j < f->n; j++)
            if (f->conn[i][j] && side[i] != side[j])
                drop_conn(f, i, j);
}

void fixture_heal(fixture *f)
{
    bool any = false;
    for (size_t i = 0; i < f->n; i++) {
        any = any || f->node[i].side != 0;
        f->node[i].side = 0;
    }
    if (any) {
        f->stats.heals++;
        ev(f, EV_HEAL, 0, 0, 0, 0);
    }
}

void fixture_crash(fixture *f, size_t i)
{
    if (i >= f->n || !node_up(f, i))
        return;
    f->stats.crashes++;
    ev(f, EV_CRASH, f->node[i].id, 0, 0, 0);
    /* The process dies first. Then each connection either resets at once,
     * or stays half-open: what the dead process wrote still arrives, what
     * the peer writes is lost, until the peer notices the close (an
     * ordinary action, see ordinary_step). */
    core *c = f->node[i].c;
    for (size_t j = 0; j < f->n; j++)
        if (f->conn[i][j])
            f->gone[i][j] = true;
    core_free(c);
    f->node[i].c = NULL;
    for (size_t j = 0; j < f->n; j++) {
        if (!f->conn[i][j])
            continue;
        if (f->gone[j][i] || rnd_below(f, 2)) {
            drop_conn(f, i, j);
        } else {
            buf_clear(&f->chan[j][i]);
            ev(f, EV_HALF_OPEN, f->node[i].id, f->node[j].id, 0, 0);
        }
    }
}

void fixture_restart(fixture *f, size_t i)
{
    if (i >= f->n || node_up(f, i))
        return;
    if (start_core(f, i)) {
        f->stats.restarts++;
        ev(f, EV_RESTART, f->node[i].id, core_incarnation(f->node[i].c), 0, 0);
    }
}

void fixture_stop_faults(fixture *f)
{
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = 0; j < f->n; j++)
            fixture_release(f, i, j);
    f->cfg = fixture_config_quiet();
}

void fixture_heal_all(fixture *f)
{
    fixture_heal(f);
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = 0; j < f->n; j++) {
            fixture_release(f, i, j);
            f->speed[i][j] = SPEED_DEFAULT;
        }
    for (size_t i = 0; i < f->n; i++)
        fixture_restart(f, i);
    f->cfg = fixture_config_quiet();
}

/* --- delivery -------------------------------------------------------- */

/* Frames from i to j can arrive: not held, and j's end is alive. Frames
 * from a dead end of a half-open connection still arrive. */
static bool deliverable(const fixture *f, size_t i, size_t j)
{
    return f->conn[i][j] && !f->held[i][j] && !f->gone[j][i] && buf_unread(&f->chan[i][j]) > 0;
}

/* The receiving end of a connection gets its first frame: the hello. */
static void on_hello(fixture *f, size_t i, size_t j, const peermsg *m)
{
    fx_node *a = &f->node[i], *b = &f->node[j];
    if (m->type != PEERMSG_HELLO) {
        fail(f, "%" PRIu64 " -> %" PRIu64 ": first frame of a connection is type %d, not hello",
             a->id, b->id, (int)m->type);
        return;
    }
    if (m->id != a->id || m->to != b->id || m->inc != f->hello_inc[i][j]) {
        fail(f,
             "%" PRIu64 " -> %" PRIu64 ": hello says id %" PRIu64 " to %" PRIu64 " inc %" PRIu64
             ", expected id %" PRIu64 " to %" PRIu64 " inc %" PRIu64,
             a->id, b->id, m->id, m->to, m->inc, a->id, b->id, f->hello_inc[i][j]);
        return;
    }
    /* The acceptor answers with its own hello before anything else. */
    if (f->dialer[i][j] == i) {
        f->hello_inc[j][i] = core_incarnation(b->c);
        core_hello(b->c, a->id, &f->chan[j][i]);
    }
    f->up[j][i] = true;
    ev(f, EV_LINK_UP, b->id, a->id, 0, 0);
    dkv_err err;
    if (core_link_up(b->c, a->id, m, &err) < 0)
        fail(f, "%" PRIu64 " refused the link from %" PRIu64 ": %s", b->id, a->id, err.msg);
}

static void deliver(fixture *f, size_t i, size_t j)
{
    buf *q = &f->chan[i][j];
    wire_frame fr;
    size_t used = 0;
    dkv_err err;
    int rc = wire_decode(buf_head(q), buf_unread(q), &fr, &used, &err);
    if (rc <= 0) {
        fail(f, "%" PRIu64 " -> %" PRIu64 ": %s frame in the stream (%zu bytes queued)",
             f->node[i].id, f->node[j].id, rc < 0 ? err.msg : "truncated", buf_unread(q));
        return;
    }
    /* The frame leaves the stream before the receiver reacts. */
    buf_clear(&f->scratch);
    buf_append(&f->scratch, buf_head(q), used);
    buf_consume(q, used);
    wire_decode(buf_head(&f->scratch), used, &fr, &used, &err);
    f->stats.frames++;
    f->stats.frame_bytes += used;
    peermsg m;
    if (peermsg_decode(&fr, &m, &err) < 0) {
        fail(f, "%" PRIu64 " -> %" PRIu64 ": frame does not decode: %s", f->node[i].id,
             f->node[j].id, err.msg);
        return;
    }
    ev(f, EV_DELIVER, f->node[i].id, f->node[j].id, (uint64_t)m.type << 32 | used,
       hash_bytes(buf_head(&f->scratch), used));
    if (!f->up[j][i]) {
        on_hello(f, i, j, &m);
    } else if (core_on_message(f->node[j].c, f->node[i].id, &m, &err) < 0) {
        ev(f, EV_PROTO_ERROR, f->node[j].id, f->node[i].id, 0, 0);
        fail(f, "%" PRIu64 " dropped its link to %" PRIu64 ": %s", f->node[j].id, f->node[i].id,
             err.msg);
        drop_conn(f, i, j);
    }
    peermsg_clear(&m);
}

static size_t queued_from(const fixture *f, size_t i)
{
    size_t n = 0;
    for (size_t j = 0; j < f->n; j++)
        n += buf_unread(&f->chan[i][j]);
    return n;
}

static void tick(fixture *f, size_t i)
{
    size_t before = queued_from(f, i);
    bool more = core_tick(f->node[i].c);
    f->stats.ticks++;
    f->stats.ticks_busy += more;
    ev(f, EV_TICK, f->node[i].id, queued_from(f, i) - before, more, 0);
}

/* One ordinary action, chosen by weight. False when none is possible. */
static bool ordinary_step(fixture *f)
{
    const fixture_config *c = &f->cfg;
    uint64_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t pick = pass ? rnd(f) % total : 0, acc = 0;
        for (size_t i = 0; i < f->n; i++) {
            for (size_t j = 0; j < f->n; j++) {
                if (i == j)
                    continue;
                uint64_t w = deliverable(f, i, j) ? (uint64_t)c->w_deliver * f->speed[i][j] : 0;
                if (pass && w && pick < acc + w) {
                    deliver(f, i, j);
                    return true;
                }
                acc += w;
                w = j > i && may_connect(f, i, j) ? c->w_connect : 0;
                if (pass && w && pick < acc + w) {
                    bool i_dials = rnd_below(f, 2);
                    connect_link(f, i_dials ? i : j, i_dials ? j : i);
                    return true;
                }
                acc += w;
                /* The survivor of a half-open connection notices. */
                w = j > i && half_open(f, i, j) ? c->w_connect : 0;
                if (pass && w && pick < acc + w) {
                    drop_conn(f, i, j);
                    return true;
                }
                acc += w;
            }
            uint64_t w = node_up(f, i) ? c->w_tick : 0;
            if (pass && w && pick < acc + w) {
                tick(f, i);
                return true;
            }
            acc += w;
        }
        if (!pass) {
            total = acc;
            if (total == 0)
                return false;
        }
    }
    return false; /* not reached */
}

int fixture_inject(fixture *f, size_t from, size_t to, const void *bytes, size_t len)
{
    if (from >= f->n || to >= f->n || !f->conn[from][to] || f->gone[from][to])
        return -1;
    buf_append(&f->chan[from][to], bytes, len);
    ev(f, EV_INJECT, f->node[from].id, f->node[to].id, len, hash_bytes(bytes, len));
    return 0;
}

/* --- random faults and workload -------------------------------------- */

static size_t count_up(const fixture *f)
{
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++)
        k += node_up(f, i);
    return k;
}

/* A random node that is up (want_up) or down, or f->n when there is none. */
static size_t pick_node(fixture *f, bool want_up)
{
    size_t cand[N_MAX], k = 0;
    for (size_t i = 0; i < f->n; i++)
        if (node_up(f, i) == want_up)
            cand[k++] = i;
    return k ? cand[rnd_below(f, k)] : f->n;
}

/* A random ordered pair (i, j) of the kind `which` (see below), or false. */
static bool pick_pair(fixture *f, int which, size_t *pi, size_t *pj)
{
    size_t ci[N_MAX * N_MAX], cj[N_MAX * N_MAX], k = 0;
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = 0; j < f->n; j++) {
            bool ok = false;
            switch (which) {
            case 0: ok = i < j && f->conn[i][j]; break;      /* a connection */
            case 1: ok = f->want[i][j]; break;               /* a wanted direction */
            case 2: ok = f->held[i][j]; break;               /* a held direction */
            }
            if (ok) {
                ci[k] = i;
                cj[k++] = j;
            }
        }
    if (!k)
        return false;
    size_t r = rnd_below(f, k);
    *pi = ci[r];
    *pj = cj[r];
    return true;
}

/* Two sides, or three when there are enough nodes; no side is empty. */
static void random_partition(fixture *f)
{
    int side[N_MAX];
    size_t k = f->n >= 4 && rnd_below(f, 3) == 0 ? 3 : 2;
    bool used[3];
    do {
        used[0] = used[1] = used[2] = false;
        for (size_t i = 0; i < f->n; i++) {
            side[i] = (int)rnd_below(f, k);
            used[side[i]] = true;
        }
    } while (!used[0] || !used[1] || (k == 3 && !used[2]));
    fixture_partition(f, side);
}

/* Tries the workload or fault action r falls on; false when r falls on
 * none or the action is not possible now. */
static bool special_step(fixture *f, double r)
{
    const fixture_config *c = &f->cfg;
    const double p[] = {c->p_put,  c->p_get,  c->p_move,      c->p_break, c->p_slow,    c->p_hold,
                        c->p_release, c->p_partition, c->p_heal, c->p_crash, c->p_restart};
    size_t which = 0, n = sizeof p / sizeof p[0];
    double acc = 0;
    for (; which < n; which++) {
        acc += p[which];
        if (r < acc)
            break;
    }
    size_t i, j;
    dkv_version v;
    fixture_read rd;
    switch (which) {
    case 0: /* put */
    case 1: /* get */
        if (!f->n_clients || !count_up(f))
            return false;
        i = rnd_below(f, f->n_clients);
        j = rnd_below(f, f->n_keys);
        if (!node_up(f, f->clients[i].node))
            fixture_move_client(f, i, pick_node(f, true));
        return which == 0 ? fixture_client_put(f, i, j, &v) == 0
                          : fixture_client_get(f, i, j, &rd, &v) == 0;
    case 2: /* move */
        if (!f->n_clients || !count_up(f))
            return false;
        fixture_move_client(f, rnd_below(f, f->n_clients), pick_node(f, true));
        return true;
    case 3: /* break: both ends at once, or one end first */
        if (!pick_pair(f, 0, &i, &j))
            return false;
        switch (rnd_below(f, 3)) {
        case 0: drop_conn(f, i, j); break;
        case 1: close_one_end(f, i, j); break;
        case 2: close_one_end(f, j, i); break;
        }
        return true;
    case 4: /* slow */
        if (!pick_pair(f, 1, &i, &j))
            return false;
        {
            static const unsigned speeds[] = {1, SPEED_DEFAULT, 16};
            f->speed[i][j] = speeds[rnd_below(f, 3)];
            f->stats.slows++;
            ev(f, EV_SLOW, f->node[i].id, f->node[j].id, f->speed[i][j], 0);
        }
        return true;
    case 5: /* hold */
        if (!pick_pair(f, 1, &i, &j) || f->held[i][j])
            return false;
        fixture_hold(f, i, j);
        return true;
    case 6: /* release */
        if (!pick_pair(f, 2, &i, &j))
            return false;
        fixture_release(f, i, j);
        return true;
    case 7: /* partition */
        if (f->n < 2)
            return false;
        random_partition(f);
        return true;
    case 8: /* heal */
        fixture_heal(f);
        return true;
    case 9: /* crash */
        if (f->n - count_up(f) >= c->max_down || !count_up(f))
            return false;
        fixture_crash(f, pick_node(f, true));
        return true;
    case 10: /* restart */
        i = pick_node(f, false);
        if (i == f->n)
            return false;
        fixture_restart(f, i);
        return true;
    }
    return false;
}

int fixture_step(fixture *f)
{
    if (f->failed)
        return -1;
    f->step++;
    f->stats.steps++;
    if (!special_step(f, rnd_unit(f)) && !f->failed)
        ordinary_step(f);
    return f->failed ? -1 : 0;
}

int fixture_run(fixture *f, size_t steps)
{
    for (size_t s = 0; s < steps; s++)
        if (fixture_step(f) < 0)
            return -1;
    return 0;
}

/* --- oracle and sessions --------------------------------------------- */

static size_t vmap_slot(const fixture *f, dkv_version v)
{
    return (size_t)(mix(v.lamport, v.origin) & (f->vmap_cap - 1));
}

/* The acknowledged write with version v, or NULL. */
static const fx_put *put_of(const fixture *f, dkv_version v)
{
    if (!f->vmap_cap)
        return NULL;
    for (size_t s = vmap_slot(f, v);; s = (s + 1) & (f->vmap_cap - 1)) {
        size_t p = f->vmap[s];
        if (!p)
            return NULL;
        if (dkv_version_cmp(f->puts[p - 1].v, v) == 0)
            return &f->puts[p - 1];
    }
}

static void vmap_insert(fixture *f, size_t idx)
{
    if (2 * (f->n_puts + 1) > f->vmap_cap) {
        free(f->vmap);
        f->vmap_cap = f->vmap_cap ? f->vmap_cap * 2 : 256;
        f->vmap = xcalloc(f->vmap_cap, sizeof *f->vmap);
        for (size_t p = 0; p < f->n_puts; p++) {
            size_t s = vmap_slot(f, f->puts[p].v);
            while (f->vmap[s])
                s = (s + 1) & (f->vmap_cap - 1);
            f->vmap[s] = p + 1;
        }
    }
    size_t s = vmap_slot(f, f->puts[idx].v);
    while (f->vmap[s])
        s = (s + 1) & (f->vmap_cap - 1);
    f->vmap[s] = idx + 1;
}

size_t fixture_add_client(fixture *f, size_t node)
{
    if (f->n_clients == f->cap_clients) {
        f->cap_clients = f->cap_clients ? 2 * f->cap_clients : 8;
        f->clients = xrealloc(f->clients, f->cap_clients * sizeof *f->clients);
    }
    fx_client *cl = &f->clients[f->n_clients];
    memset(cl, 0, sizeof *cl);
    cl->node = node < f->n ? node : 0;
    return f->n_clients++;
}

void fixture_move_client(fixture *f, size_t client, size_t node)
{
    if (client >= f->n_clients || node >= f->n)
        return;
    f->clients[client].node = node;
    f->stats.moves++;
    ev(f, EV_MOVE, client, f->node[node].id, 0, 0);
}

static char *fmt_version(char *out, size_t cap, dkv_version v)
{
    snprintf(out, cap, "(%" PRIu64 ",%" PRIu64 ")", v.lamport, v.origin);
    return out;
}

/* What node i's store holds for key k; checks it against the oracle and
 * against what i was seen to hold before. False on failure. */
static bool read_store(fixture *f, size_t i, size_t k, bool *found, dkv_version *v)
{
    uint8_t *val = NULL;
    size_t vl = 0;
    dkv_err err;
    *v = (dkv_version){0, 0};
    if (store_get(f->node[i].st, f->key[k], f->key_len[k], found, v, &val, &vl, &err) < 0) {
        fail(f, "store_get on %" PRIu64 ": %s", f->node[i].id, err.msg);
        return false;
    }
    char a[64], b[64];
    bool ok = true;
    if (*found) {
        const fx_put *p = put_of(f, *v);
        if (!p) {
            fail(f, "%" PRIu64 " holds key %zu at %s, which no acknowledged write has",
                 f->node[i].id, k, fmt_version(a, sizeof a, *v));
            ok = false;
        } else if (p->key != k || p->value_len != vl || memcmp(p->value, val, vl) != 0) {
            fail(f, "%" PRIu64 " holds key %zu at %s with the wrong key or value",
                 f->node[i].id, k, fmt_version(a, sizeof a, *v));
            ok = false;
        }
    }
    dkv_version mine = *found ? *v : (dkv_version){0, 0};
    if (ok && dkv_version_cmp(mine, f->high[i][k]) < 0) {
        fail(f, "%" PRIu64 " holds key %zu at %s, older than the %s it held before",
             f->node[i].id, k, fmt_version(a, sizeof a, mine),
             fmt_version(b, sizeof b, f->high[i][k]));
        ok = false;
    }
    if (ok)
        f->high[i][k] = mine;
    free(val);
    return ok;
}

int fixture_client_put(fixture *f, size_t client, size_t k, dkv_version *out)
{
    /* Value: the write's number, then filler of random length. */
    uint8_t value[1024];
    size_t vl = (size_t)snprintf((char *)value, sizeof value, "w%zu.", f->n_puts);
    size_t extra = rnd_below(f, 8) ? rnd_below(f, 40) : rnd_below(f, sizeof value - vl);
    for (size_t b = 0; b < extra; b++)
        value[vl++] = (uint8_t)rnd(f);
    return fixture_client_put_value(f, client, k, value, vl, out);
}

int fixture_client_put_value(fixture *f, size_t client, size_t k, const uint8_t *value,
                             size_t vl, dkv_version *out)
{
    if (f->failed || client >= f->n_clients || k >= f->n_keys)
        return -1;
    fx_client *cl = &f->clients[client];
    size_t i = cl->node;
    core *c = f->node[i].c;
    if (!c)
        return -1;
    bool found;
    dkv_version cur;
    if (!read_store(f, i, k, &found, &cur))
        return -1;
    dkv_version dep = cl->dep[k], v;
    uint64_t seq_before = vclock_get(core_vclock(c), f->node[i].id);
    dkv_err err;
    if (core_put(c, f->key[k], f->key_len[k], value, vl, dep, &v, &err) < 0) {
        fail(f, "core_put on %" PRIu64 " failed: %s", f->node[i].id, err.msg);
        return -1;
    }
    uint64_t seq = vclock_get(core_vclock(c), f->node[i].id);
    char a[64], b[64];
    if (dkv_version_cmp(v, dep) <= 0)
        fail(f, "put by client %zu on %" PRIu64 " got %s, not above its dependency %s", client,
             f->node[i].id, fmt_version(a, sizeof a, v), fmt_version(b, sizeof b, dep));
    else if (found && dkv_version_cmp(v, cur) <= 0)
        fail(f, "put on %" PRIu64 " got %s, not above the %s the node held", f->node[i].id,
             fmt_version(a, sizeof a, v), fmt_version(b, sizeof b, cur));
    else if (v.origin != f->node[i].id)
        fail(f, "put on %" PRIu64 " got origin %" PRIu64, f->node[i].id, v.origin);
    else if (seq != seq_before + 1 || seq != f->n_by_origin[i] + 1)
        fail(f, "put on %" PRIu64 " numbered %" PRIu64 ", expected %zu", f->node[i].id, seq,
             f->n_by_origin[i] + 1);
    else if (f->n_by_origin[i] &&
             v.lamport <= f->puts[f->by_origin[i][f->n_by_origin[i] - 1]].v.lamport)
        fail(f, "put on %" PRIu64 " got %s, not after the node's previous write",
             f->node[i].id, fmt_version(a, sizeof a, v));
    if (f->failed)
        return -1;
    if (f->n_puts == f->cap_puts) {
        f->cap_puts = f->cap_puts ? 2 * f->cap_puts : 64;
        f->puts = xrealloc(f->puts, f->cap_puts * sizeof *f->puts);
    }
    fx_put *p = &f->puts[f->n_puts];
    p->origin = i;
    p->seq = seq;
    p->v = v;
    p->key = k;
    p->value = xrealloc(NULL, vl);
    memcpy(p->value, value, vl);
    p->value_len = vl;
    if (f->n_by_origin[i] == f->cap_by_origin[i]) {
        f->cap_by_origin[i] = f->cap_by_origin[i] ? 2 * f->cap_by_origin[i] : 64;
        f->by_origin[i] = xrealloc(f->by_origin[i], f->cap_by_origin[i] * sizeof(size_t));
    }
    f->by_origin[i][f->n_by_origin[i]++] = f->n_puts;
    vmap_insert(f, f->n_puts);
    f->n_puts++;
    f->stats.puts++;
    cl->dep[k] = v;
    f->digest = mix(f->digest, hash_bytes(value, vl));
    ev5(f, EV_PUT, client, f->node[i].id, k, v.lamport, v.origin);
    /* Durable and visible at once: the node now holds exactly this write. */
    dkv_version now;
    if (!read_store(f, i, k, &found, &now))
        return -1;
    if (!found || dkv_version_cmp(now, v) != 0) {
        fail(f, "right after put %s, %" PRIu64 " holds key %zu at %s", fmt_version(a, sizeof a, v),
             f->node[i].id, k, fmt_version(b, sizeof b, found ? now : (dkv_version){0, 0}));
        return -1;
    }
    if (out)
        *out = v;
    return 0;
}

int fixture_client_get(fixture *f, size_t client, size_t k, fixture_read *r, dkv_version *out)
{
    if (f->failed || client >= f->n_clients || k >= f->n_keys)
        return -1;
    fx_client *cl = &f->clients[client];
    size_t i = cl->node;
    if (!node_up(f, i))
        return -1;
    bool found;
    dkv_version v;
    if (!read_store(f, i, k, &found, &v))
        return -1;
    dkv_version dep = cl->dep[k];
    fixture_read res;
    if (found && dkv_version_cmp(v, dep) >= 0) {
        res = FIXTURE_READ_OK;
        cl->dep[k] = v;
        f->stats.reads_ok++;
    } else if (!found && dkv_version_is_none(dep)) {
        res = FIXTURE_READ_ERR_KEY;
        f->stats.reads_err_key++;
    } else {
        res = FIXTURE_READ_ERR_DEP;
        f->stats.reads_err_dep++;
    }
    f->stats.gets++;
    ev5(f, EV_GET, client, f->node[i].id, (uint64_t)res << 32 | k, v.lamport, v.origin);
    if (r)
        *r = res;
    if (out)
        *out = found ? v : (dkv_version){0, 0};
    return 0;
}

/* --- convergence ----------------------------------------------------- */

typedef struct scan_acc {
    uint64_t h;
    size_t n;
} scan_acc;

static int scan_hash(void *user, const uint8_t *key, size_t key_len, dkv_version v,
                     const uint8_t *value, size_t value_len)
{
    scan_acc *a = user;
    a->h = mix(mix(mix(mix(a->h, hash_bytes(key, key_len)), v.lamport), v.origin),
               hash_bytes(value, value_len));
    a->n++;
    return 0;
}

static bool store_digest(fixture *f, size_t i, scan_acc *a)
{
    dkv_err err;
    a->h = 1;
    a->n = 0;
    if (store_scan(f->node[i].st, NULL, 0, false, scan_hash, a, &err) < 0) {
        fail(f, "store_scan on %" PRIu64 ": %s", f->node[i].id, err.msg);
        return false;
    }
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void fmt_ids(char *out, size_t cap, const uint64_t *ids, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%" PRIu64, i ? "," : "", ids[i]);
}

bool fixture_converged(fixture *f)
{
    size_t n = f->n;
    f->why[0] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (half_open(f, i, j)) {
                why(f, "connection %" PRIu64 "-%" PRIu64 " is half-open", f->node[i].id,
                    f->node[j].id);
                return false;
            }
            if (f->conn[i][j] && buf_unread(&f->chan[i][j])) {
                why(f, "frames in flight %" PRIu64 " -> %" PRIu64 "%s", f->node[i].id,
                    f->node[j].id, f->held[i][j] ? " (held)" : "");
                return false;
            }
            if (j > i && f->want[i][j] && node_up(f, i) && node_up(f, j) &&
                f->node[i].side == f->node[j].side && !established(f, i, j)) {
                why(f, "link %" PRIu64 "-%" PRIu64 " is not established", f->node[i].id,
                    f->node[j].id);
                return false;
            }
        }
    /* Groups over established links. */
    size_t group[N_MAX];
    for (size_t i = 0; i < n; i++)
        group[i] = SIZE_MAX;
    for (size_t s = 0; s < n; s++) {
        if (!node_up(f, s) || group[s] != SIZE_MAX)
            continue;
        size_t queue[N_MAX], head = 0, tail = 0;
        group[s] = s;
        queue[tail++] = s;
        while (head < tail) {
            size_t u = queue[head++];
            for (size_t v = 0; v < n; v++)
                if (group[v] == SIZE_MAX && established(f, u, v)) {
                    group[v] = s;
                    queue[tail++] = v;
                }
        }
    }
    scan_acc dig[N_MAX];
    for (size_t i = 0; i < n; i++) {
        if (!node_up(f, i))
            continue;
        core *c = f->node[i].c;
        /* Neighbours and component as the fixture sees them. */
        uint64_t want[N_MAX], got[N_MAX + 1];
        size_t nw = 0;
        for (size_t j = 0; j < n; j++)
            if (j != i && established(f, i, j))
                want[nw++] = f->node[j].id;
        qsort(want, nw, sizeof *want, cmp_u64);
        size_t ng = core_neighbours(c, got, N_MAX + 1);
        char sa[512], sb[512];
        if (ng != nw || memcmp(want, got, nw * sizeof *want) != 0) {
            fmt_ids(sa, sizeof sa, got, ng < N_MAX ? ng : N_MAX);
            fmt_ids(sb, sizeof sb, want, nw);
            why(f, "%" PRIu64 " has neighbours [%s], the fixture [%s]", f->node[i].id, sa, sb);
            return false;
        }
        nw = 0;
        for (size_t j = 0; j < n; j++)
            if (group[j] == group[i])
                want[nw++] = f->node[j].id;
        qsort(want, nw, sizeof *want, cmp_u64);
        ng = core_component(c, got, N_MAX + 1);
        if (ng != nw || memcmp(want, got, nw * sizeof *want) != 0) {
            fmt_ids(sa, sizeof sa, got, ng < N_MAX ? ng : N_MAX);
            fmt_ids(sb, sizeof sb, want, nw);
            why(f, "%" PRIu64 " sees component [%s], the fixture [%s]", f->node[i].id, sa, sb);
            return false;
        }
        size_t r = group[i];
        if (r != i && !vclock_equal(core_vclock(c), core_vclock(f->node[r].c))) {
            char *va = vclock_format(core_vclock(c));
            char *vb = vclock_format(core_vclock(f->node[r].c));
            why(f, "clocks differ: %" PRIu64 " has '%s', %" PRIu64 " has '%s'", f->node[i].id,
                va, f->node[r].id, vb);
            free(va);
            free(vb);
            return false;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!node_up(f, i))
            continue;
        if (!store_digest(f, i, &dig[i]))
            return false;
        size_t r = group[i];
        if (r != i && (dig[i].h != dig[r].h || dig[i].n != dig[r].n)) {
            why(f, "stores differ with equal clocks: %" PRIu64 " (%zu keys) and %" PRIu64
                   " (%zu keys)",
                f->node[i].id, dig[i].n, f->node[r].id, dig[r].n);
            return false;
        }
    }
    return true;
}

const char *fixture_why(const fixture *f) { return f->why; }

long fixture_run_until_converged(fixture *f, size_t max_steps)
{
    for (size_t s = 0; s <= max_steps; s++) {
        if (f->failed)
            return -1;
        if (fixture_converged(f))
            return (long)s;
        if (f->failed)
            return -1;
        f->step++;
        f->stats.steps++;
        if (!ordinary_step(f)) {
            char was[sizeof f->why];
            memcpy(was, f->why, sizeof was);
            why(f, "nothing left to do, yet not converged: %s", was);
            return -1;
        }
    }
    return -1;
}

long fixture_settle(fixture *f, size_t max_rounds)
{
    for (size_t round = 1; round <= max_rounds; round++) {
        bool moved = false;
        for (size_t i = 0; i < f->n && !f->failed; i++)
            if (node_up(f, i)) {
                size_t before = queued_from(f, i);
                f->step++;
                tick(f, i);
                if (queued_from(f, i) != before)
                    moved = true;
            }
        for (size_t i = 0; i < f->n && !f->failed; i++)
            for (size_t j = 0; j < f->n && !f->failed; j++)
                while (deliverable(f, i, j) && !f->failed) {
                    f->step++;
                    deliver(f, i, j);
                    moved = true;
                }
        if (f->failed)
            return -1;
        if (!moved)
            return (long)round;
    }
    why(f, "still busy after %zu rounds", max_rounds);
    return -1;
}

/* --- invariants ------------------------------------------------------ */

typedef struct check_ctx {
    fixture *f;
    size_t node;
    const vclock *vc;
    size_t seen;
} check_ctx;

static size_t key_index(const fixture *f, const uint8_t *key, size_t len)
{
    for (size_t k = 0; k < f->n_keys; k++)
        if (f->key_len[k] == len && memcmp(f->key[k], key, len) == 0)
            return k;
    return SIZE_MAX;
}

static int check_record(void *user, const uint8_t *key, size_t key_len, dkv_version v,
                        const uint8_t *value, size_t value_len)
{
    check_ctx *cc = user;
    fixture *f = cc->f;
    if (key_index(f, key, key_len) == SIZE_MAX) {
        fail(f, "%" PRIu64 " holds a key no client wrote (%zu bytes)", f->node[cc->node].id,
             key_len);
        return 1;
    }
    cc->seen++;
    (void)v;
    (void)value;
    (void)value_len;
    return 0;
}

static int check_node(fixture *f, size_t i, bool complete)
{
    fx_node *nd = &f->node[i];
    record_meta m = {0, 0, vclock_new()};
    bool found;
    dkv_err err;
    char a[64], b[64];
    int rc = -1;
    if (store_load_meta(nd->st, &m, &found, &err) < 0 || !found) {
        fail(f, "%" PRIu64 ": no meta record (%s)", nd->id, found ? err.msg : "absent");
        goto out;
    }
    if (nd->c) {
        if (!vclock_equal(m.vc, core_vclock(nd->c)) || m.lamport != core_lamport(nd->c) ||
            m.incarnation != core_incarnation(nd->c)) {
            char *x = vclock_format(m.vc), *y = vclock_format(core_vclock(nd->c));
            fail(f, "%" PRIu64 ": persisted meta (vc '%s', lamport %" PRIu64 ", inc %" PRIu64
                    ") differs from the core's (vc '%s', lamport %" PRIu64 ", inc %" PRIu64 ")",
                 nd->id, x, m.lamport, m.incarnation, y, core_lamport(nd->c),
                 core_incarnation(nd->c));
            free(x);
            free(y);
            goto out;
        }
    }
    /* The clock counts only acknowledged writes, and with `complete` all. */
    for (size_t e = 0; e < vclock_size(m.vc); e++) {
        vclock_entry ve = vclock_at(m.vc, e);
        size_t o = 0;
        while (o < f->n && f->node[o].id != ve.id)
            o++;
        if (o == f->n || ve.seq > f->n_by_origin[o]) {
            fail(f, "%" PRIu64 " counts %" PRIu64 " writes of %" PRIu64 ", but only %zu were made",
                 nd->id, ve.seq, ve.id, o == f->n ? 0 : f->n_by_origin[o]);
            goto out;
        }
    }
    for (size_t o = 0; o < f->n; o++) {
        uint64_t has = vclock_get(m.vc, f->node[o].id);
        if (complete && has != f->n_by_origin[o]) {
            fail(f, "%" PRIu64 " counts %" PRIu64 " of the %zu acknowledged writes of %" PRIu64,
                 nd->id, has, f->n_by_origin[o], f->node[o].id);
            goto out;
        }
        /* The log holds every write the clock counts. */
        for (uint64_t s = 1; s <= has; s++) {
            const fx_put *p = &f->puts[f->by_origin[o][s - 1]];
            dkv_update u;
            uint8_t *owned = NULL;
            bool lf = false;
            if (store_log_get(nd->st, f->node[o].id, s, &u, &owned, &lf, &err) < 0 || !lf) {
                fail(f, "%" PRIu64 " lacks log entry %" PRIu64 ":%" PRIu64 " its clock counts",
                     nd->id, f->node[o].id, s);
                free(owned);
                goto out;
            }
            bool same = u.lamport == p->v.lamport && u.key_len == f->key_len[p->key] &&
                        memcmp(u.key, f->key[p->key], u.key_len) == 0 &&
                        u.value_len == p->value_len &&
                        memcmp(u.value, p->value, p->value_len) == 0;
            free(owned);
            if (!same) {
                fail(f, "%" PRIu64 "'s log entry %" PRIu64 ":%" PRIu64 " differs from the write",
                     nd->id, f->node[o].id, s);
                goto out;
            }
        }
    }
    /* Per key: the highest write the clock counts (last writer wins). */
    dkv_version best[FIXTURE_MAX_KEYS];
    memset(best, 0, sizeof best);
    uint64_t top_lamport = 0;
    for (size_t p = 0; p < f->n_puts; p++) {
        const fx_put *w = &f->puts[p];
        if (w->seq > vclock_get(m.vc, f->node[w->origin].id))
            continue;
        if (w->v.lamport > top_lamport)
            top_lamport = w->v.lamport;
        if (dkv_version_cmp(w->v, best[w->key]) > 0)
            best[w->key] = w->v;
    }
    if (top_lamport > m.lamport) {
        fail(f, "%" PRIu64 "'s Lamport counter %" PRIu64 " is below a write it holds (%" PRIu64 ")",
             nd->id, m.lamport, top_lamport);
        goto out;
    }
    size_t expect_keys = 0;
    for (size_t k = 0; k < f->n_keys; k++) {
        bool kf;
        dkv_version v;
        if (!read_store(f, i, k, &kf, &v))
            goto out;
        if (kf != !dkv_version_is_none(best[k]) || (kf && dkv_version_cmp(v, best[k]) != 0)) {
            fail(f, "%" PRIu64 " holds key %zu at %s, but the highest write its clock counts is %s",
                 nd->id, k, fmt_version(a, sizeof a, kf ? v : (dkv_version){0, 0}),
                 fmt_version(b, sizeof b, best[k]));
            goto out;
        }
        expect_keys += kf;
    }
    check_ctx cc = {f, i, m.vc, 0};
    if (store_scan(nd->st, NULL, 0, false, check_record, &cc, &err) < 0) {
        fail(f, "store_scan on %" PRIu64 ": %s", nd->id, err.msg);
        goto out;
    }
    if (!f->failed && cc.seen != expect_keys)
        fail(f, "%" PRIu64 " holds %zu keys, expected %zu", nd->id, cc.seen, expect_keys);
    rc = f->failed ? -1 : 0;
out:
    vclock_free(m.vc);
    return rc;
}

int fixture_check(fixture *f, bool complete)
{
    if (f->failed)
        return -1;
    for (size_t i = 0; i < f->n; i++)
        if (check_node(f, i, complete) < 0)
            return -1;
    return 0;
}

int fixture_check_sessions(fixture *f)
{
    if (f->failed)
        return -1;
    char a[64], b[64];
    dkv_version latest[FIXTURE_MAX_KEYS];
    memset(latest, 0, sizeof latest);
    for (size_t p = 0; p < f->n_puts; p++)
        if (dkv_version_cmp(f->puts[p].v, latest[f->puts[p].key]) > 0)
            latest[f->puts[p].key] = f->puts[p].v;
    for (size_t cl = 0; cl < f->n_clients; cl++) {
        size_t home = f->clients[cl].node;
        for (size_t i = 0; i < f->n; i++) {
            if (!node_up(f, i))
                continue;
            fixture_move_client(f, cl, i);
            for (size_t k = 0; k < f->n_keys; k++) {
                dkv_version best = latest[k];
                fixture_read r;
                dkv_version v;
                if (fixture_client_get(f, cl, k, &r, &v) < 0)
                    return -1;
                bool ok = dkv_version_is_none(best) ? r == FIXTURE_READ_ERR_KEY
                                                : r == FIXTURE_READ_OK && dkv_version_cmp(v, best) == 0;
                if (!ok) {
                    const char *got = r == FIXTURE_READ_OK        ? "a value"
                                      : r == FIXTURE_READ_ERR_KEY ? "ERR_KEY"
                                                                  : "ERR_DEP";
                    fail(f,
                         "client %zu reading key %zu on %" PRIu64
                         " got %s at %s; the latest write is %s",
                         cl, k, f->node[i].id, got, fmt_version(a, sizeof a, v),
                         fmt_version(b, sizeof b, best));
                    return -1;
                }
            }
        }
        if (node_up(f, home))
            fixture_move_client(f, cl, home);
    }
    return 0;
}

/* --- accessors and reports ------------------------------------------- */

uint64_t fixture_seed(const fixture *f) { return f->seed; }
uint64_t fixture_digest(const fixture *f) { return f->digest; }
size_t fixture_steps(const fixture *f) { return f->step; }
size_t fixture_n_puts(const fixture *f) { return f->n_puts; }
const fixture_stats *fixture_get_stats(const fixture *f) { return &f->stats; }
const char *fixture_error(const fixture *f) { return f->failed ? f->err : NULL; }
bool fixture_failed(const fixture *f) { return f->failed; }
size_t fixture_n_nodes(const fixture *f) { return f->n; }
uint64_t fixture_node_id(const fixture *f, size_t i) { return f->node[i].id; }
bool fixture_node_up(const fixture *f, size_t i) { return node_up(f, i); }
core *fixture_core(fixture *f, size_t i) { return f->node[i].c; }
store *fixture_store(fixture *f, size_t i) { return f->node[i].st; }

void fixture_describe(fixture *f, FILE *out)
{
    fprintf(out, "  fixture seed %" PRIu64 ", step %zu, %zu writes\n", f->seed, f->step,
            f->n_puts);
    for (size_t i = 0; i < f->n; i++) {
        fx_node *nd = &f->node[i];
        if (!nd->c) {
            fprintf(out, "  node %" PRIu64 ": down\n", nd->id);
            continue;
        }
        uint64_t ids[N_MAX + 1];
        char nb[512], comp[512];
        size_t k = core_neighbours(nd->c, ids, N_MAX + 1);
        fmt_ids(nb, sizeof nb, ids, k < N_MAX ? k : N_MAX);
        k = core_component(nd->c, ids, N_MAX + 1);
        fmt_ids(comp, sizeof comp, ids, k < N_MAX ? k : N_MAX);
        char *vc = vclock_format(core_vclock(nd->c));
        fprintf(out,
                "  node %" PRIu64 ": inc %" PRIu64 " side %d lamport %" PRIu64
                " vc '%s' neighbours [%s] component [%s]\n",
                nd->id, core_incarnation(nd->c), nd->side, core_lamport(nd->c), vc, nb, comp);
        free(vc);
    }
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = 0; j < f->n; j++)
            if (f->want[i][j] || f->conn[i][j])
                fprintf(out,
                        "  link %" PRIu64 " -> %" PRIu64 ": %s%s%s, %zu bytes queued, speed %u\n",
                        f->node[i].id, f->node[j].id, f->want[i][j] ? "wanted" : "unwanted",
                        f->conn[i][j] ? (f->gone[i][j] ? ", gone (half-open)"
                                         : f->up[i][j] ? ", up" : ", connecting")
                                      : ", down",
                        f->held[i][j] ? ", HELD" : "", buf_unread(&f->chan[i][j]),
                        f->speed[i][j]);
    if (f->why[0])
        fprintf(out, "  not converged: %s\n", f->why);
    size_t first = f->ring_n > RING ? f->ring_n - RING : 0;
    fprintf(out, "  last %zu events:\n", f->ring_n - first);
    for (size_t e = first; e < f->ring_n; e++)
        print_event(out, f, &f->ring[e % RING]);
}
