/* aconn: the attack tool's connections to a daemon. With a key they
 * authenticate as the daemons' own do (common/auth.h: the handshake, then
 * every byte sent sealed into records and every byte received checked),
 * which is what an insider of the cluster can send; without one they are
 * plain, a stranger's. Every byte sent can be kept, for replays. */
#ifndef DKV_ACONN_H
#define DKV_ACONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../common/auth.h"
#include "../../common/buf.h"
#include "../../common/err.h"
#include "../../common/wire.h"

typedef struct aconn {
    int fd;
    auth_session *s; /* NULL: plain */
    buf raw;         /* received, before the session took it */
    buf in;          /* received plaintext */
    bool record;     /* keep what is sent in sent */
    buf sent;        /* with record: every byte sent, as it went */
} aconn;

/* Connects (blocking) and, with k, completes the handshake, all before
 * deadline (net_now_us); with record, what it sends is kept. -1 with err,
 * leaving nothing open. */
int aconn_open(aconn *c, const char *host, uint16_t port, const auth_key *k, bool record,
               int64_t deadline, dkv_err *err);
void aconn_close(aconn *c);

/* Bytes for the wire: sealed into records with a key, else as they are. */
void aconn_wrap(aconn *c, const void *p, size_t n, buf *out);
/* Sends p[0..n) (wrapped) before deadline. */
int aconn_send(aconn *c, const void *p, size_t n, int64_t deadline, dkv_err *err);
/* Sends bytes exactly as given (already wrapped, or forged). */
int aconn_send_raw(aconn *c, const void *p, size_t n, int64_t deadline, dkv_err *err);
/* Reads until a whole frame is in c->in; *used bytes to consume after. */
int aconn_read_frame(aconn *c, wire_frame *f, size_t *used, int64_t deadline, dkv_err *err);

#endif
