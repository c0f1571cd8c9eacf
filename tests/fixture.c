/* fixture: see fixture.h. */
#include "fixture.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"
#include "../common/hmap.h"
#include "../common/vec.h"
#include "../common/wire.h"
#include "../common/xalloc.h"
#include "../server/peermsg.h"
#include "kv_memory.h"
#include "memconn.h"

#define N_MAX FIXTURE_MAX_NODES
#define RING 48        /* events kept for fixture_describe */
#define SPEED_DEFAULT 8
/* Each step takes up to this much virtual time: about what a frame's trip
 * through a loopback socket and a server's loop iteration take. */
#define STEP_US 100
/* While converging, every node's digest is polled at least this often, as
 * stabilize polls (every 0.1 to 5 ms): the nodes stay in their eager
 * window. */
#define DIGEST_POLL_US 5000
/* Every node listens on HOST; each start of a node takes the next port. */
#define HOST "fixture"
#define PORT_FIRST 1000

/* --- events ---------------------------------------------------------- */

typedef enum ev_type {
    EV_DELIVER, EV_TICK, EV_DIAL, EV_CONNECT, EV_REFUSED, EV_CLOSE, EV_NOTICE, EV_BREAK,
    EV_HALF_OPEN, EV_SLOW, EV_HOLD, EV_RELEASE, EV_PARTITION, EV_HEAL, EV_CRASH, EV_RESTART,
    EV_PUT, EV_GET, EV_MOVE, EV_LINK_UP, EV_INJECT, EV_WAIT, EV_DIGEST, EV_WANT, EV_CUT, EV_UNCUT,
    EV_FORGET, EV_LINK_FAULT,
} ev_type;

static const char *const ev_names[] = {
    "deliver", "tick", "dial", "connect", "refused", "close", "notice", "break",
    "half_open", "slow", "hold", "release", "partition", "heal", "crash", "restart",
    "put", "get", "move", "link_up", "inject", "wait", "digest", "want", "cut", "uncut",
    "forget", "link_fault",
};

/* Frame types as the trace names them (peermsg_type order, then unknown). */
static const char *const frame_names[] = {"hello", "upd", "ack", "lsa", "ping", "?"};
#define FRAME_PING 4

typedef struct fx_event {
    uint64_t step;
    int64_t now;
    ev_type type;
    uint64_t a, b, c, d, e;
    char why[64]; /* EV_CLOSE: the reason given */
} fx_event;

typedef struct fx_node {
    fixture *f;
    size_t idx;
    uint64_t id;
    store *st;
    links *lk;     /* NULL while crashed */
    uint16_t port; /* where this life of the node listens */
    int side;
    int64_t wake;  /* when its links are due; any event makes it due at once */
    links_counters past; /* of its earlier lives */
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
    bool want[N_MAX][N_MAX];     /* the pair should be linked (symmetric) */
    bool cut[N_MAX][N_MAX];      /* the master cut the pair (symmetric) */
    size_t dialer[N_MAX][N_MAX]; /* which of a wanted pair dials */
    bool held[N_MAX][N_MAX];     /* frames i -> j are held back */
    links_fault fault[N_MAX][N_MAX]; /* the master's fault on i's link to j */
    unsigned speed[N_MAX][N_MAX];
    memconn **conns;
    size_t n_conns, cap_conns;
    uint64_t conn_serial;
    uint16_t next_port;
    int64_t now, next_poll;

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
    hmap *by_version; /* version -> put index + 1 */
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

static double ms(int64_t us) { return (double)us / 1000.0; }

static void print_event(FILE *out, const fx_event *e)
{
    fprintf(out, "  step %-7" PRIu64 " %9.3f ms %-10s", e->step, ms(e->now), ev_names[e->type]);
    switch (e->type) {
    case EV_DELIVER:
        fprintf(out, " %" PRIu64 " -> %" PRIu64 " %s, %" PRIu64 " bytes (conn %" PRIu64 ")", e->a,
                e->b, frame_names[e->c >> 32], e->c & 0xffffffffu, e->e);
        break;
    case EV_TICK:
        fprintf(out, " %" PRIu64 " wrote %" PRIu64 " bytes, next due at %.3f ms", e->a, e->b,
                ms((int64_t)e->c));
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
    case EV_DIAL:
    case EV_CONNECT:
    case EV_REFUSED:
    case EV_CLOSE:
    case EV_NOTICE:
    case EV_BREAK:
    case EV_HALF_OPEN:
    case EV_LINK_UP:
        fprintf(out, " %" PRIu64 " -> %" PRIu64 " (conn %" PRIu64 ")%s%s", e->a, e->b, e->c,
                e->why[0] ? ": " : "", e->why);
        break;
    case EV_WAIT:
        fprintf(out, " to %.3f ms", ms((int64_t)e->a));
        break;
    default:
        fprintf(out, " %" PRIu64 " %" PRIu64 " %" PRIu64, e->a, e->b, e->c);
        break;
    }
    fputc('\n', out);
}

/* Node ids appear in events, so traces read like the cluster's logs. */
static void ev_why(fixture *f, ev_type t, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                   uint64_t x, const char *why)
{
    fx_event e = {f->step, f->now, t, a, b, c, d, x, ""};
    if (why)
        snprintf(e.why, sizeof e.why, "%s", why);
    f->digest = mix(mix(mix(mix(mix(mix(mix(mix(f->digest, e.step), (uint64_t)e.now), t), a), b),
                            c), d), x);
    if (why)
        f->digest = mix(f->digest, hash64(why, strlen(why)));
    f->ring[f->ring_n++ % RING] = e;
    if (f->trace)
        print_event(f->trace, &e);
}

static void ev5(fixture *f, ev_type t, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                uint64_t x)
{
    ev_why(f, t, a, b, c, d, x, NULL);
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
    c.w_wait = 1;
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
    c.p_digest = 0.004;
    c.p_cut = 0.001;
    c.p_uncut = 0.003;
    c.p_link_fault = 0.003;
    c.max_down = 2;
    return c;
}

/* --- connections: the links_ops of every node ------------------------ */

static fx_node *end_node(fixture *f, const memconn_end *e) { return &f->node[e->conn->node[e->k]]; }
/* Id of the node at the far end of e (0 when nobody listens there). */
static uint64_t peer_id(const fixture *f, const memconn_end *e)
{
    size_t j = e->conn->node[1 - e->k];
    return j < f->n ? f->node[j].id : 0;
}

/* Something happened to node i: its loop runs before time moves on. */
static void touch(fixture *f, size_t i) { f->node[i].wake = f->now; }

static void *op_dial(void *ctx, links_conn *lc, const char *host, uint16_t port)
{
    fx_node *nd = ctx;
    fixture *f = nd->f;
    size_t to = f->n;
    for (size_t j = 0; j < f->n && strcmp(host, HOST) == 0; j++)
        if (f->node[j].port == port)
            to = j;
    memconn *c = memconn_new(++f->conn_serial, nd->idx, to, port, f->now);
    c->end[0].lc = lc;
    *VEC_PUSH(f->conns, f->n_conns, f->cap_conns) = c;
    f->stats.dials++;
    ev(f, EV_DIAL, nd->id, peer_id(f, &c->end[0]), c->serial, port);
    return &c->end[0];
}

static void op_live(void *ctx, void *conn)
{
    fx_node *nd = ctx;
    memconn_end *e = conn;
    e->live = true;
    ev(nd->f, EV_LINK_UP, nd->id, peer_id(nd->f, e), e->conn->serial, 0);
}

/* Reasons a node may close a connection for when every node keeps the
 * protocol; any other (a malformed frame, a bad hello, a protocol error)
 * is a failure. */
static bool benign_close(const char *reason)
{
    static const char *const ok[] = {"cut by the master", "link is cut", "peer forgotten",
                                     "no hello in time", "peer silent", "link already live",
                                     /* the master's link faults */
                                     "flaky link: reset after a frame", "link is held",
                                     "link held by the master", "link released by the master"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(reason, ok[i]) == 0)
            return true;
    return false;
}

/* End e is closed: by its node (reason given), or under it (a reset, the
 * other end's close noticed). Its node hears of it at once. */
static void close_end(fixture *f, memconn_end *e, ev_type t, const char *reason)
{
    fx_node *nd = end_node(f, e);
    links_conn *lc = memconn_close_end(e->conn, e->k);
    f->stats.closes++;
    ev_why(f, t, nd->id, peer_id(f, e), e->conn->serial, 0, 0, reason);
    if (t == EV_CLOSE && !benign_close(reason))
        fail(f, "%" PRIu64 " dropped its link to %" PRIu64 ": %s", nd->id, peer_id(f, e), reason);
    if (lc && nd->lk) {
        links_closed(nd->lk, lc, f->now);
        touch(f, nd->idx);
    }
}

/* Closes what nodes asked to close during the event just handled, as the
 * loop does after a dispatch, and notes which ends wrote. */
static void after_event(fixture *f)
{
    for (bool again = true; again;) {
        again = false;
        for (size_t ci = 0; ci < f->n_conns; ci++)
            for (int k = 0; k < 2; k++) {
                memconn_end *e = &f->conns[ci]->end[k];
                if (e->closing) {
                    close_end(f, e, EV_CLOSE, e->why);
                    again = true;
                }
            }
    }
    bool live[N_MAX][N_MAX];
    memset(live, 0, sizeof live);
    for (size_t ci = 0; ci < f->n_conns; ci++) {
        memconn *c = f->conns[ci];
        memconn_note_writes(c, f->now);
        /* The live link wins: a node never has two live links to a peer. */
        for (int k = 0; k < 2 && !c->connecting; k++) {
            size_t i = c->node[k], j = c->node[1 - k];
            if (!c->end[k].live)
                continue;
            if (live[i][j])
                fail(f, "%" PRIu64 " has two live links to %" PRIu64, f->node[i].id,
                     f->node[j].id);
            live[i][j] = true;
        }
    }
}

/* Drops connections neither end holds any more. */
static void reap(fixture *f)
{
    size_t w = 0;
    for (size_t ci = 0; ci < f->n_conns; ci++) {
        memconn *c = f->conns[ci];
        if (c->end[0].open || c->end[1].open) {
            f->conns[w++] = c;
            continue;
        }
        memconn_free(c);
    }
    f->n_conns = w;
}

/* Both open ends are reset at once; what was in flight is lost. */
static void reset_conn(fixture *f, memconn *c)
{
    for (int k = 0; k < 2; k++)
        buf_clear(&c->chan[k]);
    f->stats.breaks++;
    for (int k = 0; k < 2; k++)
        if (c->end[k].open)
            close_end(f, &c->end[k], EV_BREAK, "connection reset");
}

static bool connects(const memconn *c, size_t a, size_t b)
{
    return (c->node[0] == a && c->node[1] == b) || (c->node[0] == b && c->node[1] == a);
}

static bool node_up(const fixture *f, size_t i) { return f->node[i].lk != NULL; }

bool fixture_established(const fixture *f, size_t a, size_t b)
{
    for (size_t ci = 0; ci < f->n_conns; ci++) {
        const memconn *c = f->conns[ci];
        if (connects(c, a, b) && memconn_established(c))
            return true;
    }
    return false;
}

/* --- nodes ----------------------------------------------------------- */

static bool start_node(fixture *f, size_t i)
{
    fx_node *nd = &f->node[i];
    links_ops ops = {nd, op_dial, NULL, NULL, op_live, NULL};
    memconn_ops(&ops);
    dkv_err err;
    nd->port = f->next_port++;
    nd->lk = links_new(&(links_config){nd->id, "", nd->st, NULL}, &ops, &err);
    if (!nd->lk) {
        fail(f, "links_new(%" PRIu64 ") failed: %s", nd->id, err.msg);
        return false;
    }
    touch(f, i);
    return true;
}

static void add_counters(links_counters *to, const links_counters *from)
{
    uint64_t *t = (uint64_t *)to;
    const uint64_t *s = (const uint64_t *)from;
    for (size_t k = 0; k < sizeof *to / sizeof(uint64_t); k++)
        t[k] += s[k];
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
    f->next_port = PORT_FIRST;
    f->by_version = hmap_new();
    for (size_t i = 0; i < n_nodes; i++) {
        fx_node *nd = &f->node[i];
        nd->f = f;
        nd->idx = i;
        nd->id = ids ? ids[i] : i + 1;
        for (size_t j = 0; j < i; j++)
            if (f->node[j].id == nd->id)
                abort();
        nd->st = kv_memory_store(nd->id);
        for (size_t j = 0; j < n_nodes; j++)
            f->speed[i][j] = SPEED_DEFAULT;
    }
    for (size_t i = 0; i < n_nodes; i++)
        start_node(f, i);
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
        links_free(f->node[i].lk);
        store_close(f->node[i].st);
        free(f->by_origin[i]);
    }
    for (size_t ci = 0; ci < f->n_conns; ci++)
        memconn_free(f->conns[ci]);
    free(f->conns);
    for (size_t p = 0; p < f->n_puts; p++)
        free(f->puts[p].value);
    free(f->puts);
    hmap_free(f->by_version, NULL);
    free(f->clients);
    free(f);
}

void fixture_set_config(fixture *f, const fixture_config *cfg) { f->cfg = *cfg; }
void fixture_set_trace(fixture *f, FILE *out) { f->trace = out; }

void fixture_want(fixture *f, size_t a, size_t b)
{
    if (a == b || a >= f->n || b >= f->n)
        return;
    f->want[a][b] = f->want[b][a] = true;
    f->dialer[a][b] = f->dialer[b][a] = a;
}

/* The master's connect: a keeps a link to b at b's current address. */
static void master_connect(fixture *f, size_t a, size_t b)
{
    f->dialer[a][b] = f->dialer[b][a] = a;
    ev(f, EV_WANT, f->node[a].id, f->node[b].id, f->node[b].port, 0);
    links_want(f->node[a].lk, f->node[b].id, HOST, f->node[b].port, f->now);
    touch(f, a);
}

/* a dials b, or b dials a. */
static void want_either(fixture *f, size_t a, size_t b)
{
    if (rnd_below(f, 2))
        fixture_want(f, a, b);
    else
        fixture_want(f, b, a);
}

void fixture_topology_set(fixture *f, fixture_topology t)
{
    size_t n = f->n;
    memset(f->want, 0, sizeof f->want);
    for (size_t i = 1; i < n; i++) {
        switch (t) {
        case FIXTURE_COMPLETE:
            for (size_t j = 0; j < i; j++)
                want_either(f, i, j);
            break;
        case FIXTURE_CHAIN:
        case FIXTURE_RING: want_either(f, i - 1, i); break;
        case FIXTURE_STAR: want_either(f, 0, i); break;
        case FIXTURE_TREE:
        case FIXTURE_MESH: want_either(f, rnd_below(f, i), i); break;
        }
    }
    if (t == FIXTURE_RING && n > 2)
        want_either(f, n - 1, 0);
    if (t == FIXTURE_MESH)
        for (size_t e = 0; e < n; e++) {
            size_t a = rnd_below(f, n);
            size_t b = rnd_below(f, n);
            if (a != b && !f->want[a][b])
                want_either(f, a, b);
        }
}

void fixture_connect_all(fixture *f)
{
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = i + 1; j < f->n; j++) {
            size_t d = f->dialer[i][j], o = d == i ? j : i;
            if (f->want[i][j] && !f->cut[i][j] && node_up(f, i) && node_up(f, j))
                master_connect(f, d, o);
        }
    after_event(f);
}

/* --- faults and the master's requests -------------------------------- */

void fixture_break(fixture *f, size_t a, size_t b)
{
    if (a >= f->n || b >= f->n || a == b)
        return;
    for (size_t ci = 0; ci < f->n_conns; ci++) {
        memconn *c = f->conns[ci];
        if (!c->connecting && connects(c, a, b) && (c->end[0].open || c->end[1].open))
            reset_conn(f, c);
    }
    after_event(f);
}

/* End k closes under its node (a reset it hears of at once); what it wrote
 * before still arrives, what the other end writes is lost, until the
 * other end notices: soon, or (quiet) only once it writes. */
static void close_one_end(fixture *f, memconn *c, int k, bool quiet)
{
    c->quiet_close = quiet;
    buf_clear(&c->chan[1 - k]);
    f->stats.breaks++;
    close_end(f, &c->end[k], EV_HALF_OPEN, "connection reset");
    after_event(f);
}

void fixture_half_close(fixture *f, size_t a, size_t b, bool quiet)
{
    for (size_t ci = 0; ci < f->n_conns; ci++) {
        memconn *c = f->conns[ci];
        if (!c->connecting && connects(c, a, b) && c->end[0].open && c->end[1].open) {
            close_one_end(f, c, c->node[0] == a ? 0 : 1, quiet);
            return;
        }
    }
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
    /* Across sides, a connection resets (a router's reset) or goes silent
     * (packets dropped): keepalive ends it unless the partition heals. */
    for (size_t ci = 0; ci < f->n_conns; ci++) {
        memconn *c = f->conns[ci];
        if (!c->connecting && f->node[c->node[0]].side != f->node[c->node[1]].side &&
            (c->end[0].open || c->end[1].open) && rnd_below(f, 2))
            reset_conn(f, c);
    }
    after_event(f);
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

/* The master sets node i's fault on its link to j (a node down hears of
 * nothing). */
static void set_link_fault(fixture *f, size_t i, size_t j, const links_fault *lf)
{
    f->fault[i][j] = *lf;
    if (!node_up(f, i))
        return;
    links_set_fault(f->node[i].lk, f->node[j].id, lf);
    touch(f, i);
    ev5(f, EV_LINK_FAULT, f->node[i].id, f->node[j].id, (uint64_t)lf->delay_us,
        (uint64_t)lf->jitter_us,
        (uint64_t)lf->flaky_pct * 8 + lf->held + 2 * lf->hold_out + 4 * lf->hold_in);
}

static bool fault_set(const links_fault *lf)
{
    return lf->delay_us || lf->jitter_us || lf->flaky_pct || lf->held || lf->hold_out ||
           lf->hold_in;
}

/* Every link fault off (the master's faults end before a convergence). */
static void clear_link_faults(fixture *f)
{
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = 0; j < f->n; j++) {
            links_fault *lf = &f->fault[i][j];
            if (fault_set(lf))
                set_link_fault(f, i, j, &(links_fault){0});
        }
}

void fixture_crash(fixture *f, size_t i)
{
    if (i >= f->n || !node_up(f, i))
        return;
    fx_node *nd = &f->node[i];
    f->stats.crashes++;
    ev(f, EV_CRASH, nd->id, 0, 0, 0);
    /* The process dies first: its ends go with its links and core. Then
     * each connection either resets at once, or stays half-open: what the
     * dead process wrote still arrives, what the peer writes is lost,
     * until the peer notices (an ordinary step). */
    for (size_t ci = 0; ci < f->n_conns; ci++)
        for (int k = 0; k < 2; k++) {
            if (f->conns[ci]->node[k] == i && f->conns[ci]->end[k].open)
                memconn_close_end(f->conns[ci], k);
        }
    add_counters(&nd->past, links_get_counters(nd->lk));
    links_free(nd->lk);
    nd->lk = NULL;
    for (size_t ci = 0; ci < f->n_conns; ci++) {
        memconn *c = f->conns[ci];
        int k = c->node[0] == i ? 0 : c->node[1] == i ? 1 : -1;
        if (k < 0 || c->connecting || !c->end[1 - k].open)
            continue;
        if (rnd_below(f, 2)) {
            reset_conn(f, c);
        } else {
            c->quiet_close = rnd_below(f, 2); /* the machine went, or just the process */
            buf_clear(&c->chan[1 - k]);
            ev(f, EV_HALF_OPEN, nd->id, f->node[c->node[1 - k]].id, c->serial, 0);
        }
    }
    /* Its faults die with it; the master tells the others theirs are gone
     * (a rejoin's links start afresh). */
    for (size_t j = 0; j < f->n; j++) {
        f->fault[i][j] = (links_fault){0};
        const links_fault *lf = &f->fault[j][i];
        if (fault_set(lf))
            set_link_fault(f, j, i, &(links_fault){0});
    }
    /* The master's kill: the others forget the address, or (a crash it
     * does not know of) keep dialling it in vain. */
    if (rnd_below(f, 2))
        for (size_t j = 0; j < f->n; j++)
            if (node_up(f, j)) {
                f->stats.forgets++;
                ev(f, EV_FORGET, f->node[j].id, nd->id, 0, 0);
                links_forget(f->node[j].lk, nd->id);
                touch(f, j);
            }
    after_event(f);
}

void fixture_restart(fixture *f, size_t i)
{
    if (i >= f->n || node_up(f, i) || !start_node(f, i))
        return;
    f->stats.restarts++;
    ev(f, EV_RESTART, f->node[i].id, core_incarnation(links_core(f->node[i].lk)),
       f->node[i].port, 0);
    /* The master's rejoin: peers that cut it take it back, and it dials
     * every wanted peer that is up. */
    for (size_t j = 0; j < f->n; j++) {
        if (!f->want[i][j] || !node_up(f, j))
            continue;
        if (f->cut[i][j]) {
            f->cut[i][j] = f->cut[j][i] = false;
            links_cut(f->node[j].lk, f->node[i].id, false);
            touch(f, j);
        }
        master_connect(f, i, j);
    }
    after_event(f);
}

void fixture_cut(fixture *f, size_t a, size_t b)
{
    if (a >= f->n || b >= f->n || a == b || !node_up(f, a) || !node_up(f, b))
        return;
    f->cut[a][b] = f->cut[b][a] = true;
    f->stats.cuts++;
    ev(f, EV_CUT, f->node[a].id, f->node[b].id, 0, 0);
    links_cut(f->node[a].lk, f->node[b].id, true);
    links_cut(f->node[b].lk, f->node[a].id, true);
    touch(f, a);
    touch(f, b);
    after_event(f);
}

void fixture_uncut(fixture *f, size_t a, size_t b)
{
    if (a >= f->n || b >= f->n || a == b || !node_up(f, a) || !node_up(f, b))
        return;
    f->cut[a][b] = f->cut[b][a] = false;
    f->want[a][b] = f->want[b][a] = true;
    f->stats.uncuts++;
    ev(f, EV_UNCUT, f->node[a].id, f->node[b].id, 0, 0);
    links_cut(f->node[b].lk, f->node[a].id, false);
    touch(f, b);
    master_connect(f, a, b);
    after_event(f);
}

void fixture_digest_request(fixture *f, size_t i)
{
    if (i >= f->n || !node_up(f, i))
        return;
    f->stats.digests++;
    ev(f, EV_DIGEST, f->node[i].id, 0, 0, 0);
    links_digest(f->node[i].lk, f->now);
    touch(f, i);
}

void fixture_advance(fixture *f, int64_t us)
{
    if (us > 0)
        f->now += us;
}

void fixture_stop_faults(fixture *f)
{
    clear_link_faults(f);
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = 0; j < f->n; j++)
            fixture_release(f, i, j);
    f->cfg = fixture_config_quiet();
}

void fixture_heal_all(fixture *f)
{
    fixture_heal(f);
    clear_link_faults(f);
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = 0; j < f->n; j++) {
            fixture_release(f, i, j);
            f->speed[i][j] = SPEED_DEFAULT;
        }
    for (size_t i = 0; i < f->n; i++)
        fixture_restart(f, i);
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = i + 1; j < f->n; j++)
            if (f->cut[i][j])
                fixture_uncut(f, f->dialer[i][j], f->dialer[i][j] == i ? j : i);
    f->cfg = fixture_config_quiet();
}

/* --- delivery and the nodes' loops ----------------------------------- */

/* Packets can go from node i to node j. */
static bool path_open(const fixture *f, size_t i, size_t j)
{
    return !f->held[i][j] && f->node[i].side == f->node[j].side;
}

/* Frames from end k can arrive: the other end is open, the direction is
 * not held, and no partition lies between. Frames from a dead end of a
 * half-open connection still arrive. */
static bool deliverable(const fixture *f, const memconn *c, int k)
{
    if (c->connecting || !c->end[1 - k].open || buf_unread(&c->chan[k]) == 0)
        return false;
    return path_open(f, c->node[k], c->node[1 - k]);
}

/* A dial can complete (or be refused): nobody listens at the address, or
 * the listener is on the dialler's side of any partition. */
static bool completable(const fixture *f, const memconn *c)
{
    if (!c->connecting || !c->end[0].open)
        return false;
    size_t j = c->node[1];
    return j == f->n || f->node[j].side == f->node[c->node[0]].side;
}

static void complete_dial(fixture *f, memconn *c)
{
    size_t j = c->node[1];
    if (j == f->n || !node_up(f, j) || f->node[j].port != c->port) {
        f->stats.refused++;
        close_end(f, &c->end[0], EV_REFUSED, "connection refused");
    } else {
        memconn_connected(c, f->now);
        f->stats.connects++;
        ev(f, EV_CONNECT, f->node[c->node[0]].id, f->node[j].id, c->serial, 0);
        links_connected(f->node[c->node[0]].lk, c->end[0].lc);
        touch(f, c->node[0]);
    }
    after_event(f);
}

/* The open end of a half-open connection learns that it is dead. */
static void notice(fixture *f, memconn *c)
{
    f->stats.notices++;
    close_end(f, &c->end[c->end[0].open ? 0 : 1], EV_NOTICE, "connection closed by peer");
    after_event(f);
}

/* The peermsg type in a frame's header ({"t":"...), for the trace. */
static unsigned frame_type(const wire_frame *fr)
{
    static const char *const tags[] = {"{\"t\":\"hello\"", "{\"t\":\"upd\"", "{\"t\":\"ack\"",
                                       "{\"t\":\"lsa\"", "{\"t\":\"ping\""};
    for (unsigned t = 0; t < sizeof tags / sizeof tags[0]; t++) {
        size_t n = strlen(tags[t]);
        if (fr->hdr_len >= n && memcmp(fr->hdr, tags[t], n) == 0)
            return t;
    }
    return 5;
}

/* Delivers the head frame end k wrote; returns its type. */
static unsigned deliver(fixture *f, memconn *c, int k)
{
    size_t i = c->node[k], j = c->node[1 - k];
    wire_frame fr;
    size_t used = 0;
    dkv_err err;
    int rc = memconn_head(c, k, &fr, &used, &err);
    if (rc <= 0 || fr.kind != WIRE_PEER) {
        fail(f, "%" PRIu64 " -> %" PRIu64 ": %s frame in the stream (%zu bytes queued)",
             f->node[i].id, f->node[j].id, rc < 0 ? err.msg : rc == 0 ? "truncated" : "non-peer",
             buf_unread(&c->chan[k]));
        return 5;
    }
    f->stats.frames++;
    f->stats.frame_bytes += used;
    unsigned type = frame_type(&fr);
    ev5(f, EV_DELIVER, f->node[i].id, f->node[j].id, (uint64_t)type << 32 | used,
        hash64(buf_head(&c->chan[k]), used), c->serial);
    memconn_end *r = &c->end[1 - k];
    if (!r->lc)
        r->lc = links_accept(f->node[j].lk, r);
    /* The receiver writes only to its own stream: the frame stays valid. */
    links_frame(f->node[j].lk, r->lc, &fr, f->now);
    memconn_arrived(c, k, used, f->now);
    touch(f, j);
    after_event(f);
    return type;
}

/* Bytes node i has written on every connection so far. */
static uint64_t written_by(const fixture *f, size_t i)
{
    uint64_t n = 0;
    for (size_t ci = 0; ci < f->n_conns; ci++)
        for (int k = 0; k < 2; k++)
            if (f->conns[ci]->node[k] == i)
                n += f->conns[ci]->arrived[k] + buf_unread(&f->conns[ci]->chan[k]);
    return n;
}

/* One iteration of node i's loop: what its links have due. */
static void tick(fixture *f, size_t i)
{
    uint64_t before = written_by(f, i);
    f->node[i].wake = links_tick(f->node[i].lk, f->now);
    f->stats.ticks++;
    /* A wakeup asked for now or before would make the server's loop spin. */
    if (f->node[i].wake <= f->now)
        fail(f, "%" PRIu64 " asks to run again at %.3f ms, not after %.3f ms", f->node[i].id,
             ms(f->node[i].wake), ms(f->now));
    ev(f, EV_TICK, f->node[i].id, written_by(f, i) - before, (uint64_t)f->node[i].wake, 0);
    after_event(f);
}

/* When the first up node is due, or INT64_MAX. */
static int64_t first_wake(const fixture *f)
{
    int64_t t = INT64_MAX;
    for (size_t i = 0; i < f->n; i++)
        if (node_up(f, i) && f->node[i].wake < t)
            t = f->node[i].wake;
    return t;
}

/* Time passes with nothing to do until the first node is due. */
static void wait_until_due(fixture *f)
{
    f->now = first_wake(f);
    f->stats.waits++;
    ev(f, EV_WAIT, (uint64_t)f->now, 0, 0, 0);
}

/* How soon the open end of a half-open connection learns it is dead: by
 * the FIN after what the closed end wrote (none after a quiet close), or,
 * sooner, by the reset its own writes draw; not at all while the network
 * between them drops everything (keepalive ends it then). */
static uint64_t notice_weight(const fixture *f, const memconn *c)
{
    if (!memconn_half_open(c))
        return 0;
    int k = c->end[0].open ? 1 : 0; /* the closed end */
    size_t closed = c->node[k], open = c->node[1 - k];
    if (!c->end[1 - k].lc) /* not a peer's yet: the loop drops it in time */
        return f->cfg.w_connect;
    bool fin = !c->quiet_close && buf_unread(&c->chan[k]) == 0 && path_open(f, closed, open);
    bool reset = c->end[1 - k].wrote_late && path_open(f, open, closed);
    return reset ? 4 * (uint64_t)f->cfg.w_connect : fin ? f->cfg.w_connect : 0;
}

/* The weight of action `a` on connection c: 0-1 deliver from end 0-1,
 * 2 complete the dial, 3 notice a half-open close. */
static uint64_t conn_weight(const fixture *f, const memconn *c, int a)
{
    const fixture_config *cfg = &f->cfg;
    switch (a) {
    case 0:
    case 1:
        return deliverable(f, c, a) ? (uint64_t)cfg->w_deliver * f->speed[c->node[a]][c->node[1 - a]]
                                    : 0;
    case 2: return completable(f, c) ? cfg->w_connect : 0;
    default:
        return notice_weight(f, c);
    }
}

/* One ordinary action, chosen by weight. False when none is possible. */
static bool ordinary_step(fixture *f)
{
    const fixture_config *cfg = &f->cfg;
    uint64_t total = 0;
    /* Time jumps only over idle spells: no node due, nothing on the way. */
    bool can_wait = first_wake(f) > f->now && first_wake(f) != INT64_MAX;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t pick = pass ? rnd(f) % total : 0, acc = 0;
        for (size_t ci = 0; ci < f->n_conns; ci++)
            for (int a = 0; a < 4; a++) {
                uint64_t w = conn_weight(f, f->conns[ci], a);
                if (pass && w && pick < acc + w) {
                    memconn *c = f->conns[ci];
                    if (a < 2)
                        deliver(f, c, a);
                    else if (a == 2)
                        complete_dial(f, c);
                    else
                        notice(f, c);
                    return true;
                }
                acc += w;
            }
        can_wait = can_wait && acc == 0;
        for (size_t i = 0; i < f->n; i++) {
            uint64_t w = node_up(f, i) ? cfg->w_tick : 0;
            if (pass && w && pick < acc + w) {
                tick(f, i);
                return true;
            }
            acc += w;
        }
        uint64_t w = can_wait ? cfg->w_wait : 0;
        if (pass && w && pick < acc + w) {
            wait_until_due(f);
            return true;
        }
        acc += w;
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
    if (from >= f->n || to >= f->n)
        return -1;
    for (size_t ci = 0; ci < f->n_conns; ci++) {
        memconn *c = f->conns[ci];
        if (c->connecting || !connects(c, from, to) || !c->end[0].open || !c->end[1].open)
            continue;
        int k = c->node[0] == from ? 0 : 1;
        buf_append(&c->chan[k], bytes, len);
        ev(f, EV_INJECT, f->node[from].id, f->node[to].id, len, hash64(bytes, len));
        after_event(f);
        return 0;
    }
    return -1;
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
            bool ok = false, up = node_up(f, i) && node_up(f, j);
            switch (which) {
            case 1: ok = f->want[i][j]; break;                          /* a wanted direction */
            case 2: ok = f->held[i][j]; break;                          /* a held direction */
            case 3: ok = i < j && f->want[i][j] && !f->cut[i][j] && up; /* a pair to cut */
                break;
            case 4: ok = i < j && f->cut[i][j] && up; break;            /* a pair to link again */
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

/* A random connection both ends hold open, or NULL. */
static memconn *pick_conn(fixture *f)
{
    size_t k = 0;
    for (size_t ci = 0; ci < f->n_conns; ci++)
        k += !f->conns[ci]->connecting && f->conns[ci]->end[0].open && f->conns[ci]->end[1].open;
    if (!k)
        return NULL;
    size_t r = rnd_below(f, k);
    for (size_t ci = 0; ci < f->n_conns; ci++) {
        memconn *c = f->conns[ci];
        if (!c->connecting && c->end[0].open && c->end[1].open && r-- == 0)
            return c;
    }
    return NULL; /* not reached */
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

/* The client workload: a put, a get or a move of a random client. */
static bool client_step(fixture *f, size_t which)
{
    if (!f->n_clients || !count_up(f))
        return false;
    if (which == 2) {
        fixture_move_client(f, rnd_below(f, f->n_clients), pick_node(f, true));
        return true;
    }
    size_t i = rnd_below(f, f->n_clients);
    size_t k = rnd_below(f, f->n_keys);
    if (!node_up(f, f->clients[i].node))
        fixture_move_client(f, i, pick_node(f, true));
    dkv_version v;
    fixture_read rd;
    return which == 0 ? fixture_client_put(f, i, k, &v) == 0
                      : fixture_client_get(f, i, k, &rd, &v) == 0;
}

/* Applies act to a random pair of the kind (see pick_pair); false when
 * there is none. */
static bool pair_step(fixture *f, int which, void (*act)(fixture *, size_t, size_t))
{
    size_t i, j;
    if (!pick_pair(f, which, &i, &j))
        return false;
    act(f, i, j);
    return true;
}

/* Tries the workload or fault action r falls on; false when r falls on
 * none or the action is not possible now. */
/* One of: a delay (up to 30 ms, a jitter up to 30 ms) from i to j; a flaky
 * direction (up to 40 %); the link held at both ends; i's frames to j held
 * (one way); everything off. */
static void random_link_fault(fixture *f, size_t i, size_t j)
{
    f->stats.link_faults++;
    links_fault lf = f->fault[i][j];
    lf.seed = rnd(f) >> 1;
    switch (rnd_below(f, 4)) {
    case 0:
        lf.delay_us = (int64_t)rnd_below(f, 30001);
        lf.jitter_us = (int64_t)rnd_below(f, 30001);
        break;
    case 1: lf.flaky_pct = (int)rnd_below(f, 41); break;
    case 2:
    case 3: {
        /* Held, held one way or released at both ends, as the master
         * tells both. */
        uint64_t how = rnd_below(f, 4);
        links_fault back = f->fault[j][i];
        lf.held = back.held = how == 2;
        lf.hold_out = back.hold_in = how == 3;
        lf.hold_in = back.hold_out = false;
        if (how < 2)
            lf = back = (links_fault){0};
        set_link_fault(f, j, i, &back);
        break;
    }
    }
    set_link_fault(f, i, j, &lf);
    after_event(f);
}

static bool special_step(fixture *f, double r)
{
    const fixture_config *c = &f->cfg;
    const double p[] = {c->p_put,       c->p_get,  c->p_move,  c->p_break,   c->p_slow,
                        c->p_hold,      c->p_release, c->p_partition, c->p_heal, c->p_crash,
                        c->p_restart,   c->p_digest, c->p_cut, c->p_uncut, c->p_link_fault};
    size_t which = 0, n = sizeof p / sizeof p[0];
    double acc = 0;
    for (; which < n; which++) {
        acc += p[which];
        if (r < acc)
            break;
    }
    size_t i, j;
    memconn *conn;
    switch (which) {
    case 0: /* put */
    case 1: /* get */
    case 2: /* move */
        return client_step(f, which);
    case 3: /* break: both ends at once, or one end first */
        if (!(conn = pick_conn(f)))
            return false;
        switch (rnd_below(f, 3)) {
        case 0:
            reset_conn(f, conn);
            after_event(f);
            break;
        case 1: close_one_end(f, conn, 0, rnd_below(f, 2)); break;
        case 2: close_one_end(f, conn, 1, rnd_below(f, 2)); break;
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
        return pair_step(f, 2, fixture_release);
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
    case 11: /* digest */
        if (!count_up(f))
            return false;
        fixture_digest_request(f, pick_node(f, true));
        return true;
    case 12: /* cut */
        return pair_step(f, 3, fixture_cut);
    case 13: /* link a cut pair again, either node dialling */
        if (!pick_pair(f, 4, &i, &j))
            return false;
        if (rnd_below(f, 2))
            fixture_uncut(f, i, j);
        else
            fixture_uncut(f, j, i);
        return true;
    case 14: /* a link fault on a wanted pair */
        if (!pick_pair(f, 1, &i, &j) || !node_up(f, i) || !node_up(f, j))
            return false;
        random_link_fault(f, i, j);
        return true;
    }
    return false;
}

/* A step starts: dead connections go, and a little time passes. */
static void begin_step(fixture *f)
{
    reap(f);
    f->step++;
    f->stats.steps++;
    f->now += (int64_t)rnd_below(f, STEP_US + 1);
}

int fixture_step(fixture *f)
{
    if (f->failed)
        return -1;
    begin_step(f);
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

/* The acknowledged write with version v, or NULL. */
static const fx_put *put_of(const fixture *f, dkv_version v)
{
    uint64_t key[2] = {v.lamport, v.origin};
    uintptr_t p = (uintptr_t)hmap_get(f->by_version, key, sizeof key);
    return p ? &f->puts[p - 1] : NULL;
}

size_t fixture_add_client(fixture *f, size_t node)
{
    fx_client *cl = VEC_PUSH(f->clients, f->n_clients, f->cap_clients);
    cl->node = node < f->n ? node : 0;
    return f->n_clients - 1;
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

/* The client, when the run has not failed, client and key k exist and
 * the client's node is up; else NULL. */
static fx_client *client_ready(fixture *f, size_t client, size_t k)
{
    if (f->failed || client >= f->n_clients || k >= f->n_keys)
        return NULL;
    fx_client *cl = &f->clients[client];
    return node_up(f, cl->node) ? cl : NULL;
}

int fixture_client_put_value(fixture *f, size_t client, size_t k, const uint8_t *value,
                             size_t vl, dkv_version *out)
{
    fx_client *cl = client_ready(f, client, k);
    if (!cl)
        return -1;
    size_t i = cl->node;
    core *c = links_core(f->node[i].lk);
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
    fx_put *p = VEC_PUSH(f->puts, f->n_puts, f->cap_puts);
    p->origin = i;
    p->seq = seq;
    p->v = v;
    p->key = k;
    p->value = xmemdup(value, vl);
    p->value_len = vl;
    *VEC_PUSH(f->by_origin[i], f->n_by_origin[i], f->cap_by_origin[i]) = f->n_puts - 1;
    uint64_t vkey[2] = {v.lamport, v.origin};
    *hmap_slot(f->by_version, vkey, sizeof vkey, NULL) = (void *)(uintptr_t)f->n_puts;
    f->stats.puts++;
    cl->dep[k] = v;
    f->digest = mix(f->digest, hash64(value, vl));
    touch(f, i);
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
    fx_client *cl = client_ready(f, client, k);
    if (!cl)
        return -1;
    size_t i = cl->node;
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
    a->h = mix(mix(mix(mix(a->h, hash64(key, key_len)), v.lamport), v.origin),
               hash64(value, value_len));
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

/* No connection is half-open, nothing is in flight, and every wanted,
 * allowed link is established (est[i][j]). */
static bool links_quiet(fixture *f, bool est[N_MAX][N_MAX])
{
    memset(est, 0, sizeof(bool) * N_MAX * N_MAX);
    for (size_t ci = 0; ci < f->n_conns; ci++) {
        const memconn *c = f->conns[ci];
        if (c->connecting) /* a dial to nowhere, or across a partition */
            continue;
        uint64_t a = f->node[c->node[0]].id, b = f->node[c->node[1]].id;
        if (memconn_half_open(c)) {
            why(f, "connection %" PRIu64 "-%" PRIu64 " is half-open", a, b);
            return false;
        }
        for (int k = 0; k < 2 && c->end[0].open; k++)
            if (buf_unread(&c->chan[k])) {
                why(f, "frames in flight %" PRIu64 " -> %" PRIu64 "%s", k ? b : a, k ? a : b,
                    f->held[c->node[k]][c->node[1 - k]] ? " (held)" : "");
                return false;
            }
        if (c->end[0].live && c->end[1].live)
            est[c->node[0]][c->node[1]] = est[c->node[1]][c->node[0]] = true;
    }
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = i + 1; j < f->n; j++)
            if (f->want[i][j] && !f->cut[i][j] && node_up(f, i) && node_up(f, j) &&
                f->node[i].side == f->node[j].side && !est[i][j]) {
                why(f, "link %" PRIu64 "-%" PRIu64 " is not established", f->node[i].id,
                    f->node[j].id);
                return false;
            }
    return true;
}

/* Node i's neighbours and component are the fixture's, its clock that of
 * its group's first node r. */
static bool view_agrees(fixture *f, size_t i, bool est[N_MAX][N_MAX], const size_t *group)
{
    core *c = links_core(f->node[i].lk);
    uint64_t want[N_MAX], got[N_MAX + 1];
    size_t nw = 0;
    for (size_t j = 0; j < f->n; j++)
        if (est[i][j])
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
    for (size_t j = 0; j < f->n; j++)
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
    const vclock *vr = core_vclock(links_core(f->node[r].lk));
    if (r != i && !vclock_equal(core_vclock(c), vr)) {
        char *va = vclock_format(core_vclock(c)), *vb = vclock_format(vr);
        why(f, "clocks differ: %" PRIu64 " has '%s', %" PRIu64 " has '%s'", f->node[i].id, va,
            f->node[r].id, vb);
        free(va);
        free(vb);
        return false;
    }
    return true;
}

bool fixture_converged(fixture *f)
{
    size_t n = f->n;
    bool est[N_MAX][N_MAX];
    f->why[0] = 0;
    if (!links_quiet(f, est))
        return false;
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
                if (group[v] == SIZE_MAX && est[u][v]) {
                    group[v] = s;
                    queue[tail++] = v;
                }
        }
    }
    for (size_t i = 0; i < n; i++)
        if (node_up(f, i) && !view_agrees(f, i, est, group))
            return false;
    scan_acc dig[N_MAX];
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

/* Stabilize's polls: every up node's digest, each DIGEST_POLL_US. */
static void poll_digests(fixture *f)
{
    if (f->now < f->next_poll)
        return;
    f->next_poll = f->now + DIGEST_POLL_US;
    f->stats.digests++;
    ev(f, EV_DIGEST, 0, 0, 0, 0);
    for (size_t i = 0; i < f->n; i++)
        if (node_up(f, i)) {
            links_digest(f->node[i].lk, f->now);
            touch(f, i);
        }
}

long fixture_run_until_converged(fixture *f, size_t max_steps)
{
    for (size_t s = 0; s <= max_steps; s++) {
        if (f->failed)
            return -1;
        poll_digests(f);
        reap(f);
        if (fixture_converged(f))
            return (long)s;
        if (f->failed)
            return -1;
        begin_step(f);
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
        reap(f);
        for (size_t i = 0; i < f->n && !f->failed; i++)
            if (node_up(f, i)) {
                f->step++;
                tick(f, i);
            }
        for (size_t ci = 0; ci < f->n_conns && !f->failed; ci++)
            for (int k = 0; k < 2; k++)
                while (deliverable(f, f->conns[ci], k) && !f->failed) {
                    f->step++;
                    moved = deliver(f, f->conns[ci], k) != FRAME_PING || moved;
                }
        if (f->failed)
            return -1;
        /* Timers of writes, acks and LSAs ahead: time moves to the first. */
        int64_t due = INT64_MAX;
        for (size_t i = 0; i < f->n; i++)
            if (node_up(f, i) && links_busy(f->node[i].lk) && f->node[i].wake < due)
                due = f->node[i].wake;
        if (!moved && due == INT64_MAX)
            return (long)round;
        if (!moved && due > f->now)
            f->now = due;
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
    core *c = nd->lk ? links_core(nd->lk) : NULL;
    if (c) {
        if (!vclock_equal(m.vc, core_vclock(c)) || m.lamport != core_lamport(c) ||
            m.incarnation != core_incarnation(c)) {
            char *x = vclock_format(m.vc), *y = vclock_format(core_vclock(c));
            fail(f, "%" PRIu64 ": persisted meta (vc '%s', lamport %" PRIu64 ", inc %" PRIu64
                    ") differs from the core's (vc '%s', lamport %" PRIu64 ", inc %" PRIu64 ")",
                 nd->id, x, m.lamport, m.incarnation, y, core_lamport(c),
                 core_incarnation(c));
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
core *fixture_core(fixture *f, size_t i) { return f->node[i].lk ? links_core(f->node[i].lk) : NULL; }
links *fixture_links(fixture *f, size_t i) { return f->node[i].lk; }
store *fixture_store(fixture *f, size_t i) { return f->node[i].st; }
int64_t fixture_now(const fixture *f) { return f->now; }

void fixture_links_counters(const fixture *f, links_counters *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < f->n; i++) {
        add_counters(out, &f->node[i].past);
        if (f->node[i].lk)
            add_counters(out, links_get_counters(f->node[i].lk));
    }
}

static void describe_conn(const fixture *f, const memconn *c, FILE *out)
{
    const char *state = c->connecting                         ? "connecting"
                        : c->end[0].open && c->end[1].open ? "open"
                        : memconn_half_open(c)                        ? "half-open"
                                                              : "closed";
    fprintf(out, "  conn %" PRIu64 " %" PRIu64 " -> %" PRIu64 " (port %u): %s", c->serial,
            f->node[c->node[0]].id, c->node[1] < f->n ? f->node[c->node[1]].id : 0,
            (unsigned)c->port, state);
    for (int k = 0; k < 2 && !c->connecting; k++) {
        const memconn_end *e = &c->end[k];
        size_t i = c->node[k], j = c->node[1 - k];
        fprintf(out, "; %" PRIu64 "'s end %s%s, %zu bytes to go%s, speed %u", f->node[i].id,
                e->open ? "open" : "closed", e->live ? " live" : "", buf_unread(&c->chan[k]),
                f->held[i][j] ? " HELD" : "", f->speed[i][j]);
    }
    fputc('\n', out);
}

void fixture_describe(fixture *f, FILE *out)
{
    fprintf(out, "  fixture seed %" PRIu64 ", step %zu, %.3f ms, %zu writes\n", f->seed, f->step,
            ms(f->now), f->n_puts);
    for (size_t i = 0; i < f->n; i++) {
        fx_node *nd = &f->node[i];
        if (!nd->lk) {
            fprintf(out, "  node %" PRIu64 ": down\n", nd->id);
            continue;
        }
        core *c = links_core(nd->lk);
        uint64_t ids[N_MAX + 1];
        char nb[512], comp[512];
        size_t k = core_neighbours(c, ids, N_MAX + 1);
        fmt_ids(nb, sizeof nb, ids, k < N_MAX ? k : N_MAX);
        k = core_component(c, ids, N_MAX + 1);
        fmt_ids(comp, sizeof comp, ids, k < N_MAX ? k : N_MAX);
        char *vc = vclock_format(core_vclock(c));
        fprintf(out,
                "  node %" PRIu64 ": inc %" PRIu64 " port %u side %d due %.3f ms%s lamport %" PRIu64
                " vc '%s' neighbours [%s] component [%s]\n",
                nd->id, core_incarnation(c), (unsigned)nd->port, nd->side, ms(nd->wake),
                links_busy(nd->lk) ? " busy" : "", core_lamport(c), vc, nb, comp);
        free(vc);
    }
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = i + 1; j < f->n; j++)
            if (f->want[i][j])
                fprintf(out, "  wanted %" PRIu64 " -> %" PRIu64 "%s\n",
                        f->node[f->dialer[i][j]].id,
                        f->node[f->dialer[i][j] == i ? j : i].id, f->cut[i][j] ? " (cut)" : "");
    for (size_t ci = 0; ci < f->n_conns; ci++)
        describe_conn(f, f->conns[ci], out);
    if (f->why[0])
        fprintf(out, "  not converged: %s\n", f->why);
    size_t first = f->ring_n > RING ? f->ring_n - RING : 0;
    fprintf(out, "  last %zu events:\n", f->ring_n - first);
    for (size_t e = first; e < f->ring_n; e++)
        print_event(out, &f->ring[e % RING]);
}
