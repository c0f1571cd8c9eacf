/* memconn: an in-memory connection between two servers' links modules
 * (server/links.h), the transport of the test drivers of that module: the
 * protocol fixture (fixture.c, random) and testnet (testnet.c, by hand).
 *
 * Two FIFO byte streams, one per direction, hold the wire frames each end
 * wrote into its output buffer and that have not arrived: they stand for
 * the sender's unsent output and the network alike. Each end is the handle
 * its node's links module holds; memconn_ops answers for it (its output,
 * what is unsent, when bytes last came and went; close requests). Dials,
 * deliveries and closes are the driver's to make, so the fields are its to
 * read and set. */
#ifndef DKV_TEST_MEMCONN_H
#define DKV_TEST_MEMCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/wire.h"
#include "../server/links.h"

typedef struct memconn memconn;

typedef struct memconn_end {
    memconn *conn;
    int k;            /* 0: the dialler's end, 1: the acceptor's */
    links_conn *lc;   /* its node's record; the acceptor's comes with the first frame */
    bool open;        /* its node holds it: has neither closed it nor died */
    bool closing;     /* its node asked to close it (links_ops.close) */
    bool live;        /* carries its node's live link (set by the driver) */
    bool wrote_late;  /* wrote after the other end had closed: a reset is near */
    char why[160];    /* why its node asked to close it */
    int64_t last_rx, last_tx;
    uint64_t tx_seen; /* bytes of its stream last_tx accounts for */
} memconn_end;

struct memconn {
    uint64_t serial;     /* for traces */
    size_t node[2];      /* the driver's names for the two ends' nodes */
    uint16_t port;       /* the address dialled */
    bool connecting;     /* the dial has not completed: only end 0 is open */
    bool quiet_close;    /* an end went without a word (no FIN): the other
                          * end can only tell once it writes (a reset) */
    buf chan[2];         /* chan[k]: what end k wrote that has not arrived */
    uint64_t arrived[2]; /* bytes of chan[k] delivered so far */
    memconn_end end[2];
};

/* A dial from node `dialer` to port, toward node `target` (the driver's
 * guess of who listens there), at now: connecting, end 0 open. */
memconn *memconn_new(uint64_t serial, size_t dialer, size_t target, uint16_t port, int64_t now);
void memconn_free(memconn *c);
/* The dial completed: end 1 opens. */
void memconn_connected(memconn *c, int64_t now);

/* Fills the links_ops every end answers to: close (a request, noted in the
 * end for the driver) and io. dial and live are the driver's; ctx is left
 * alone. */
void memconn_ops(links_ops *ops);

/* Notes what each open end wrote since the last call: it left at now. */
void memconn_note_writes(memconn *c, int64_t now);
/* The head frame end k wrote: 1 and *fr, *used; 0 when none or not whole;
 * -1 with err when malformed. The frame stays until memconn_arrived. */
int memconn_head(memconn *c, int k, wire_frame *fr, size_t *used, dkv_err *err);
/* used bytes from end k arrived at the other end at now. */
void memconn_arrived(memconn *c, int k, size_t used, int64_t now);
/* End k is closed; returns its node's record, for links_closed (or NULL). */
links_conn *memconn_close_end(memconn *c, int k);
/* Exactly one end is open. */
bool memconn_half_open(const memconn *c);
/* Both ends are open and carry their nodes' live links. */
bool memconn_established(const memconn *c);

#endif
