/* memconn: see memconn.h. */
#include "memconn.h"

#include <stdio.h>
#include <stdlib.h>

#include "../common/xalloc.h"

memconn *memconn_new(uint64_t serial, size_t dialer, size_t target, uint16_t port, int64_t now)
{
    memconn *c = xcalloc(1, sizeof *c);
    c->serial = serial;
    c->node[0] = dialer;
    c->node[1] = target;
    c->port = port;
    c->connecting = true;
    for (int k = 0; k < 2; k++) {
        buf_init(&c->chan[k]);
        c->end[k] = (memconn_end){.conn = c, .k = k, .last_rx = now, .last_tx = now};
    }
    c->end[0].open = true;
    return c;
}

void memconn_free(memconn *c)
{
    if (!c)
        return;
    buf_free(&c->chan[0]);
    buf_free(&c->chan[1]);
    free(c);
}

void memconn_connected(memconn *c, int64_t now)
{
    c->connecting = false;
    c->end[1].open = true;
    for (int k = 0; k < 2; k++)
        c->end[k].last_rx = c->end[k].last_tx = now;
}

static void op_close(void *ctx, void *conn, const char *why)
{
    (void)ctx;
    memconn_end *e = conn;
    if (!e->closing) {
        e->closing = true;
        snprintf(e->why, sizeof e->why, "%s", why);
    }
}

static void op_io(void *ctx, void *conn, links_io *io)
{
    (void)ctx;
    memconn_end *e = conn;
    buf *out = &e->conn->chan[e->k];
    *io = (links_io){out, buf_unread(out), e->last_rx, e->last_tx};
}

void memconn_ops(links_ops *ops)
{
    ops->close = op_close;
    ops->io = op_io;
}

void memconn_note_writes(memconn *c, int64_t now)
{
    for (int k = 0; k < 2; k++) {
        memconn_end *e = &c->end[k];
        uint64_t total = c->arrived[k] + buf_unread(&c->chan[k]);
        if (!e->open || total == e->tx_seen)
            continue;
        e->last_tx = now;
        e->tx_seen = total;
        e->wrote_late = e->wrote_late || (!c->connecting && !c->end[1 - k].open);
    }
}

int memconn_head(memconn *c, int k, wire_frame *fr, size_t *used, dkv_err *err)
{
    const buf *q = &c->chan[k];
    return wire_decode(buf_head(q), buf_unread(q), fr, used, err);
}

void memconn_arrived(memconn *c, int k, size_t used, int64_t now)
{
    buf_consume(&c->chan[k], used);
    c->arrived[k] += used;
    c->end[1 - k].last_rx = now;
}

links_conn *memconn_close_end(memconn *c, int k)
{
    memconn_end *e = &c->end[k];
    links_conn *lc = e->lc;
    e->open = e->live = e->closing = false;
    e->lc = NULL;
    return lc;
}

bool memconn_half_open(const memconn *c)
{
    return !c->connecting && c->end[0].open != c->end[1].open;
}

bool memconn_established(const memconn *c)
{
    return !c->connecting && c->end[0].open && c->end[1].open && c->end[0].live &&
           c->end[1].live;
}
