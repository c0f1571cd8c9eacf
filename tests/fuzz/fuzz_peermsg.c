/* Fuzzes the peer-message path of a server link: wire_decode, then
 * peermsg_decode. Decoded messages are re-encoded and decoded again, and the
 * two must agree, so the encoders and decoder stay each other's inverse. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/peermsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_updates(const peermsg *a, const peermsg *b)
{
    if (a->n_upd != b->n_upd)
        return false;
    for (size_t i = 0; i < a->n_upd; i++) {
        const dkv_update *x = &a->upd[i], *y = &b->upd[i];
        if (x->origin != y->origin || x->seq != y->seq || x->lamport != y->lamport ||
            x->key_len != y->key_len || x->value_len != y->value_len ||
            (x->key_len && memcmp(x->key, y->key, x->key_len) != 0) ||
            (x->value_len && memcmp(x->value, y->value, x->value_len) != 0))
            return false;
    }
    return true;
}

static bool same(const peermsg *a, const peermsg *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case PEERMSG_HELLO:
        return a->id == b->id && a->to == b->to && a->inc == b->inc &&
               strcmp(a->run, b->run) == 0 && vclock_equal(a->vc, b->vc) &&
               vclock_equal(a->lsa_inc, b->lsa_inc) && vclock_equal(a->lsa_seq, b->lsa_seq);
    case PEERMSG_ACK:
        return vclock_equal(a->vc, b->vc);
    case PEERMSG_LSA:
        return a->id == b->id && a->inc == b->inc && a->seq == b->seq && a->n_nb == b->n_nb &&
               (a->n_nb == 0 || memcmp(a->nb, b->nb, a->n_nb * sizeof *a->nb) == 0);
    case PEERMSG_UPD:
        return same_updates(a, b);
    case PEERMSG_PING:
        return true;
    }
    return false;
}

static void encode(const peermsg *m, buf *out)
{
    switch (m->type) {
    case PEERMSG_HELLO:
        peermsg_encode_hello(out, m->run, m->id, m->to, m->inc, m->vc, m->lsa_inc, m->lsa_seq);
        break;
    case PEERMSG_ACK:
        peermsg_encode_ack(out, m->vc);
        break;
    case PEERMSG_LSA: {
        route_lsa l = {m->id, m->inc, m->seq, m->nb, m->n_nb};
        peermsg_encode_lsa(out, &l);
        break;
    }
    case PEERMSG_UPD: {
        peermsg_upd_builder b;
        peermsg_upd_init(&b);
        for (size_t i = 0; i < m->n_upd; i++)
            peermsg_upd_add(&b, &m->upd[i]);
        peermsg_upd_flush(&b, out);
        peermsg_upd_free(&b);
        break;
    }
    case PEERMSG_PING:
        peermsg_encode_ping(out);
        break;
    }
}

/* Re-encodes m and checks that it decodes to the same message. */
static void round_trip(const peermsg *m)
{
    buf b;
    buf_init(&b);
    encode(m, &b);
    wire_frame f;
    size_t used;
    peermsg again;
    dkv_err err;
    if (wire_decode(buf_head(&b), buf_unread(&b), &f, &used, &err) != 1 ||
        used != buf_unread(&b) || peermsg_decode(&f, &again, &err) != 0)
        abort();
    if (!same(m, &again))
        abort();
    peermsg_clear(&again);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wire_frame f;
    size_t used;
    for (size_t off = 0; wire_decode(data + off, size - off, &f, &used, NULL) == 1; off += used) {
        peermsg m;
        if (peermsg_decode(&f, &m, NULL) == 0) {
            round_trip(&m);
            peermsg_clear(&m);
        }
    }
    return 0;
}
