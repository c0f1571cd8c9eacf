/* peermsg: the messages servers exchange over their links, carried in
 * WIRE_PEER frames. The header is a small JSON object; keys and values of
 * updates travel raw in the frame body, never escaped into JSON.
 *
 *   hello {"t":"hello","run":"R","id":I,"to":I,"inc":N,"vc":"o:s,...","li":"o:i,...",
 *          "ls":"o:s,..."}
 *         first frame each way; "run" names the run the sender belongs to
 *         (servers of different runs never link); "to" is the server the
 *         sender means to reach; li/ls sum up its LSA database (per server:
 *         incarnation and seq of the LSA held), so the other side sends
 *         only newer ones
 *   upd   {"t":"upd","u":[[origin,seq,lamport,key_len,value_len],...]}
 *         body = key and value bytes of each update, in order
 *   ack   {"t":"ack","vc":"o:s,..."}    the receiver's whole vector clock
 *   lsa   {"t":"lsa","id":I,"inc":N,"seq":N,"nb":[I,...]}
 *   ping  {"t":"ping"}   keeps an idle link known to be alive
 */
#ifndef DKV_PEERMSG_H
#define DKV_PEERMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/err.h"
#include "../common/vclock.h"
#include "../common/wire.h"
#include "record.h"
#include "route.h"

typedef enum peermsg_type { PEERMSG_HELLO, PEERMSG_UPD, PEERMSG_ACK, PEERMSG_LSA, PEERMSG_PING } peermsg_type;

/* Longest run id: letters, digits, '-' and '_'. */
#define PEERMSG_RUN_MAX 64

typedef struct peermsg {
    peermsg_type type;
    char run[PEERMSG_RUN_MAX + 1]; /* hello */
    uint64_t id, inc, seq; /* hello: id, inc; lsa: id, inc, seq */
    uint64_t to;           /* hello */
    vclock *vc;            /* hello, ack */
    vclock *lsa_inc;       /* hello: server -> incarnation of its LSA held */
    vclock *lsa_seq;       /* hello: server -> seq of its LSA held (same ids) */
    uint64_t *nb;          /* lsa */
    size_t n_nb;
    dkv_update *upd;       /* upd: keys and values point into the frame body */
    size_t n_upd;
} peermsg;

/* Most updates per upd frame a receiver accepts, and the size (header and
 * body) after which a sender starts a new frame: big enough to amortise a
 * frame, small enough to interleave with acks and LSAs. A sender also
 * starts a new frame after PEERMSG_FRAME_UPDATES updates, far below the
 * receiver's limit, so frames of many tiny writes stay acceptable. */
#define PEERMSG_MAX_UPDATES 100000
#define PEERMSG_BODY_TARGET (256u * 1024)
#define PEERMSG_FRAME_UPDATES 8192

/* Decodes f (a WIRE_PEER frame) into out, which the caller releases with
 * peermsg_clear. Every field is validated; -1 with err on malformed input. */
int peermsg_decode(const wire_frame *f, peermsg *out, dkv_err *err);
void peermsg_clear(peermsg *m);

/* lsa_inc and lsa_seq name the same servers (NULL: none). */
/* Whether run is a valid run id (possibly empty). */
bool peermsg_run_id_valid(const char *run);
void peermsg_encode_hello(buf *out, const char *run, uint64_t id, uint64_t to, uint64_t inc,
                       const vclock *vc, const vclock *lsa_inc, const vclock *lsa_seq);
void peermsg_encode_ack(buf *out, const vclock *vc);
void peermsg_encode_lsa(buf *out, const route_lsa *lsa);
void peermsg_encode_ping(buf *out);

/* Builds one upd frame from several updates. */
typedef struct peermsg_upd_builder {
    buf hdr, body;
    size_t n;
} peermsg_upd_builder;
void peermsg_upd_init(peermsg_upd_builder *b);
void peermsg_upd_add(peermsg_upd_builder *b, const dkv_update *u);
/* Whether the frame being built should be sent before more are added. */
bool peermsg_upd_full(const peermsg_upd_builder *b);
/* Appends the frame to out (nothing when empty) and resets the builder. */
void peermsg_upd_flush(peermsg_upd_builder *b, buf *out);
void peermsg_upd_free(peermsg_upd_builder *b);

/* Whether the whole wire frame frame[0..len) is an upd (as this module
 * writes them: the header starts with its type), without decoding it. */
bool peermsg_frame_is_upd(const uint8_t *frame, size_t len);

#endif
