/* testnet: see testnet.h. */
#include "testnet.h"

#include <stdlib.h>
#include <string.h>

#include "../common/vec.h"
#include "../common/xalloc.h"
#include "../server/peermsg.h"
#include "memconn.h"

#define HOST "testnet"
/* Node i listens on PORT_FIRST + i, the raw listener on PORT_FIRST + TESTNET_RAW. */
#define PORT_FIRST 100
#define PUMP_ROUNDS 100
/* Nobody listens there. */
#define NOBODY SIZE_MAX

typedef struct tn_node {
    testnet *t;
    size_t idx;
    uint64_t id;
    links *lk; /* NULL while stopped */
} tn_node;

struct testnet {
    size_t n;
    tn_node node[TESTNET_MAX];
    memconn **conns;
    size_t n_conns, cap_conns;
    int64_t now;
    size_t closes; /* connections nodes closed, for testnet_pump */
};

static bool is_node(const testnet *t, size_t i) { return i < t->n && t->node[i].lk; }

static void *op_dial(void *ctx, links_conn *lc, const char *host, uint16_t port)
{
    tn_node *nd = ctx;
    testnet *t = nd->t;
    size_t to = NOBODY;
    if (strcmp(host, HOST) == 0 && port >= PORT_FIRST && port <= PORT_FIRST + TESTNET_RAW)
        to = (size_t)port - PORT_FIRST;
    memconn *c = memconn_new(t->n_conns + 1, nd->idx, to, port, t->now);
    c->end[0].lc = lc;
    *VEC_PUSH(t->conns, t->n_conns, t->cap_conns) = c;
    return &c->end[0];
}

static void op_live(void *ctx, void *conn)
{
    (void)ctx;
    ((memconn_end *)conn)->live = true;
}

static bool start(testnet *t, size_t i, store *st, const char *run)
{
    tn_node *nd = &t->node[i];
    links_ops ops = {nd, op_dial, NULL, NULL, op_live, NULL};
    memconn_ops(&ops);
    nd->lk = links_new(&(links_config){nd->id, run, st, NULL}, &ops, NULL);
    return nd->lk != NULL;
}

testnet *testnet_new(size_t n, const uint64_t *ids, store *const *stores)
{
    if (n > TESTNET_MAX)
        abort();
    testnet *t = xcalloc(1, sizeof *t);
    t->n = n;
    for (size_t i = 0; i < n; i++) {
        t->node[i] = (tn_node){t, i, ids[i], NULL};
        start(t, i, stores[i], "");
    }
    return t;
}

void testnet_free(testnet *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        links_free(t->node[i].lk);
    for (size_t c = 0; c < t->n_conns; c++)
        memconn_free(t->conns[c]);
    free(t->conns);
    free(t);
}

links *testnet_links(testnet *t, size_t i) { return t->node[i].lk; }
core *testnet_core(testnet *t, size_t i) { return t->node[i].lk ? links_core(t->node[i].lk) : NULL; }
void testnet_set_now(testnet *t, int64_t now) { t->now = now; }

/* End k of c closes; its node, if it has one, hears of it at once. */
static void close_end(testnet *t, memconn *c, int k)
{
    links_conn *lc = memconn_close_end(c, k);
    if (lc && is_node(t, c->node[k]))
        links_closed(t->node[c->node[k]].lk, lc, t->now);
}

/* After each event: what nodes asked to close closes, and the other end
 * notices at once. */
static void after_event(testnet *t)
{
    for (bool again = true; again;) {
        again = false;
        for (size_t ci = 0; ci < t->n_conns; ci++) {
            memconn *c = t->conns[ci];
            for (int k = 0; k < 2; k++) {
                if (!c->end[k].closing)
                    continue;
                t->closes++;
                close_end(t, c, k);
                if (c->end[1 - k].open) {
                    snprintf(c->end[1 - k].why, sizeof c->end[1 - k].why,
                             "connection closed by peer");
                    close_end(t, c, 1 - k);
                }
                again = true;
            }
        }
    }
    for (size_t ci = 0; ci < t->n_conns; ci++)
        memconn_note_writes(t->conns[ci], t->now);
}

void testnet_stop(testnet *t, size_t i)
{
    for (size_t ci = 0; ci < t->n_conns; ci++)
        for (int k = 0; k < 2; k++)
            if (t->conns[ci]->node[k] == i)
                memconn_close_end(t->conns[ci], k);
    links_free(t->node[i].lk);
    t->node[i].lk = NULL;
}

bool testnet_start(testnet *t, size_t i, store *st, const char *run)
{
    return start(t, i, st, run);
}

void testnet_want_at(testnet *t, size_t i, uint64_t peer, size_t at)
{
    links_want(t->node[i].lk, peer, HOST, (uint16_t)(PORT_FIRST + at), t->now);
    after_event(t);
}

void testnet_want(testnet *t, size_t i, size_t j) { testnet_want_at(t, i, t->node[j].id, j); }

/* Dials complete where a node (or the raw listener) listens; the others
 * are refused. */
size_t testnet_connect(testnet *t)
{
    size_t done = 0;
    for (size_t ci = 0; ci < t->n_conns; ci++) {
        memconn *c = t->conns[ci];
        if (!c->connecting || !c->end[0].open)
            continue;
        done++;
        if (c->node[1] != TESTNET_RAW && !is_node(t, c->node[1])) {
            snprintf(c->end[0].why, sizeof c->end[0].why, "connection refused");
            close_end(t, c, 0);
            continue;
        }
        memconn_connected(c, t->now);
        links_connected(t->node[c->node[0]].lk, c->end[0].lc);
        after_event(t);
    }
    return done;
}

/* Delivers the head frame end k of c wrote to the other end's node;
 * false when there is none to deliver. */
static bool deliver_one(testnet *t, memconn *c, int k)
{
    size_t j = c->node[1 - k];
    wire_frame fr;
    size_t used;
    if (c->connecting || !c->end[1 - k].open || !is_node(t, j) ||
        memconn_head(c, k, &fr, &used, NULL) != 1)
        return false;
    memconn_end *r = &c->end[1 - k];
    if (!r->lc)
        r->lc = links_accept(t->node[j].lk, r);
    links_frame(t->node[j].lk, r->lc, &fr, t->now);
    memconn_arrived(c, k, used, t->now);
    after_event(t);
    return true;
}

size_t testnet_deliver_all(testnet *t)
{
    size_t total = 0;
    for (bool moved = true; moved;) {
        moved = testnet_connect(t) > 0;
        for (size_t ci = 0; ci < t->n_conns; ci++)
            for (int k = 0; k < 2; k++)
                while (deliver_one(t, t->conns[ci], k)) {
                    total++;
                    moved = true;
                }
    }
    return total;
}

static memconn *newest_between(testnet *t, size_t i, size_t j)
{
    for (size_t ci = t->n_conns; ci-- > 0;) {
        memconn *c = t->conns[ci];
        if ((c->node[0] == i && c->node[1] == j) || (c->node[0] == j && c->node[1] == i))
            return c;
    }
    return NULL;
}

size_t testnet_deliver(testnet *t, size_t i, size_t j, size_t max)
{
    memconn *c = newest_between(t, i, j);
    size_t done = 0;
    while (c && (max == 0 || done < max) && deliver_one(t, c, c->node[0] == i ? 0 : 1))
        done++;
    return done;
}

int64_t testnet_tick(testnet *t, size_t i)
{
    int64_t wake = links_tick(t->node[i].lk, t->now);
    after_event(t);
    return wake;
}

void testnet_flush(testnet *t) { after_event(t); }

bool testnet_link(testnet *t, size_t i, size_t j)
{
    testnet_want(t, i, j);
    testnet_deliver_all(t);
    return links_live(t->node[i].lk, t->node[j].id) && links_live(t->node[j].lk, t->node[i].id);
}

void testnet_break(testnet *t, size_t i, size_t j)
{
    for (size_t ci = 0; ci < t->n_conns; ci++) {
        memconn *c = t->conns[ci];
        if ((c->node[0] != i || c->node[1] != j) && (c->node[0] != j || c->node[1] != i))
            continue;
        buf_clear(&c->chan[0]);
        buf_clear(&c->chan[1]);
        for (int k = 0; k < 2; k++)
            if (c->end[k].open)
                close_end(t, c, k);
    }
    after_event(t);
}

int testnet_pump(testnet *t)
{
    size_t closes = t->closes;
    for (int round = 1; round <= PUMP_ROUNDS; round++) {
        bool busy = false;
        for (size_t i = 0; i < t->n; i++)
            if (is_node(t, i) && core_tick(links_core(t->node[i].lk)))
                busy = true;
        after_event(t);
        if (testnet_deliver_all(t) > 0)
            busy = true;
        if (t->closes != closes)
            return -1;
        if (!busy)
            return round;
    }
    return -1;
}

testnet_conn *testnet_conn_between(testnet *t, size_t i, size_t j)
{
    return newest_between(t, i, j);
}

buf *testnet_stream(testnet_conn *c, size_t from)
{
    return &c->chan[c->node[0] == from ? 0 : 1];
}

const char *testnet_closed(testnet_conn *c, size_t at)
{
    const memconn_end *e = &c->end[c->node[0] == at ? 0 : 1];
    return e->open || c->connecting ? NULL : e->why;
}

size_t testnet_frame_types(const buf *stream, int *types, size_t cap)
{
    const uint8_t *p = buf_head(stream);
    size_t left = buf_unread(stream), n = 0;
    wire_frame fr;
    size_t used;
    while (wire_decode(p, left, &fr, &used, NULL) == 1) {
        peermsg m;
        int type = peermsg_decode(&fr, &m, NULL) == 0 ? (int)m.type : -1;
        if (type >= 0)
            peermsg_clear(&m);
        if (n < cap)
            types[n] = type;
        n++;
        p += used;
        left -= used;
    }
    return n;
}

testnet_conn *testnet_raw_dial(testnet *t, size_t j)
{
    memconn *c = memconn_new(t->n_conns + 1, TESTNET_RAW, j, (uint16_t)(PORT_FIRST + j), t->now);
    memconn_connected(c, t->now);
    *VEC_PUSH(t->conns, t->n_conns, t->cap_conns) = c;
    return c;
}

void testnet_raw_send(testnet_conn *c, const void *bytes, size_t len)
{
    buf_append(&c->chan[c->node[0] == TESTNET_RAW ? 0 : 1], bytes, len);
}
