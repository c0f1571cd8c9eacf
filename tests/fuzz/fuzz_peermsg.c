/* Fuzzes the peer-message path of a server link: wire_decode, then
 * pmsg_decode. Decoded messages are re-encoded and decoded again, and the
 * two must agree, so the encoders and decoder stay each other's inverse. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/peermsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_updates(const pmsg *a, const pmsg *b)
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

static bool same(const pmsg *a, const pmsg *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case PMSG_HELLO:
        return a->id == b->id && a->to == b->to && a->inc == b->inc &&
               strcmp(a->run, b->run) == 0 && vclock_equal(a->vc, b->vc) &&
               vclock_equal(a->lsa_inc, b->lsa_inc) && vclock_equal(a->lsa_seq, b->lsa_seq);
    case PMSG_ACK:
        return vclock_equal(a->vc, b->vc);
    case PMSG_LSA:
        return a->id == b->id && a->inc == b->inc && a->seq == b->seq && a->n_nb == b->n_nb &&
               (a->n_nb == 0 || memcmp(a->nb, b->nb, a->n_nb * sizeof *a->nb) == 0);
    case PMSG_UPD:
        return same_updates(a, b);
    case PMSG_PING:
        return true;
    }
    return false;
}

static void encode(const pmsg *m, buf *out)
{
    switch (m->type) {
    case PMSG_HELLO:
        pmsg_encode_hello(out, m->run, m->id, m->to, m->inc, m->vc, m->lsa_inc, m->lsa_seq);
        break;
    case PMSG_ACK:
        pmsg_encode_ack(out, m->vc);
        break;
    case PMSG_LSA: {
        route_lsa l = {m->id, m->inc, m->seq, m->nb, m->n_nb};
        pmsg_encode_lsa(out, &l);
        break;
    }
    case PMSG_UPD: {
        pmsg_upd_builder b;
        pmsg_upd_init(&b);
        for (size_t i = 0; i < m->n_upd; i++)
            pmsg_upd_add(&b, &m->upd[i]);
        pmsg_upd_flush(&b, out);
        pmsg_upd_free(&b);
        break;
    }
    case PMSG_PING:
        pmsg_encode_ping(out);
        break;
    }
}

/* Re-encodes m and checks that it decodes to the same message. */
static void round_trip(const pmsg *m)
{
    buf b;
    buf_init(&b);
    encode(m, &b);
    wire_frame f;
    size_t used;
    pmsg again;
    dkv_err err;
    if (wire_decode(buf_head(&b), buf_unread(&b), &f, &used, &err) != 1 ||
        used != buf_unread(&b) || pmsg_decode(&f, &again, &err) != 0)
        abort();
    if (!same(m, &again))
        abort();
    pmsg_clear(&again);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    for (;;) {
        wire_frame f;
        size_t used;
        dkv_err err;
        if (wire_decode(data + off, size - off, &f, &used, &err) != 1)
            break;
        pmsg m;
        if (pmsg_decode(&f, &m, &err) == 0) {
            round_trip(&m);
            pmsg_clear(&m);
        }
        off += used;
    }
    return 0;
}
