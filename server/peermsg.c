#include "peermsg.h"
#include "../common/xalloc.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/ids.h"

static void frame_from_text(buf *out, const void *hdr, size_t hlen)
{
    wire_encode(out, WIRE_PEER, hdr, hlen, NULL, 0);
}

bool peermsg_run_id_valid(const char *run)
{
    size_t n = 0;
    for (; run[n]; n++) {
        char ch = run[n];
        if (n == PEERMSG_RUN_MAX || !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                                   (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

void peermsg_encode_hello(buf *out, const char *run, uint64_t id, uint64_t to, uint64_t inc,
                       const vclock *vc, const vclock *lsa_inc, const vclock *lsa_seq)
{
    char *vs = vclock_format(vc);
    char *li = lsa_inc ? vclock_format(lsa_inc) : NULL;
    char *ls = lsa_seq ? vclock_format(lsa_seq) : NULL;
    size_t cap = strlen(vs) + (li ? strlen(li) : 0) + (ls ? strlen(ls) : 0) + 240;
    char *h = xmalloc(cap);
    int n = snprintf(h, cap,
                     "{\"t\":\"hello\",\"run\":\"%s\",\"id\":%" PRIu64 ",\"to\":%" PRIu64
                     ",\"inc\":%" PRIu64 ",\"vc\":\"%s\",\"li\":\"%s\",\"ls\":\"%s\"}",
                     run, id, to, inc, vs, li ? li : "", ls ? ls : "");
    frame_from_text(out, h, (size_t)n);
    free(h);
    free(vs);
    free(li);
    free(ls);
}

void peermsg_encode_ack(buf *out, const vclock *vc)
{
    char *vs = vclock_format(vc);
    size_t cap = strlen(vs) + 32;
    char *h = xmalloc(cap);
    int n = snprintf(h, cap, "{\"t\":\"ack\",\"vc\":\"%s\"}", vs);
    frame_from_text(out, h, (size_t)n);
    free(h);
    free(vs);
}

void peermsg_encode_lsa(buf *out, const route_lsa *lsa)
{
    buf h;
    buf_init(&h);
    char tmp[128];
    int n = snprintf(tmp, sizeof tmp,
                     "{\"t\":\"lsa\",\"id\":%" PRIu64 ",\"inc\":%" PRIu64 ",\"seq\":%" PRIu64
                     ",\"nb\":[",
                     lsa->id, lsa->incarnation, lsa->seq);
    buf_append(&h, tmp, (size_t)n);
    for (size_t i = 0; i < lsa->n_neighbours; i++) {
        n = snprintf(tmp, sizeof tmp, "%s%" PRIu64, i ? "," : "", lsa->neighbours[i]);
        buf_append(&h, tmp, (size_t)n);
    }
    buf_append(&h, "]}", 2);
    frame_from_text(out, buf_head(&h), buf_unread(&h));
    buf_free(&h);
}

void peermsg_encode_ping(buf *out)
{
    static const char ping[] = "{\"t\":\"ping\"}";
    frame_from_text(out, ping, sizeof ping - 1);
}

void peermsg_upd_init(peermsg_upd_builder *b)
{
    buf_init(&b->hdr);
    buf_init(&b->body);
    b->n = 0;
}

void peermsg_upd_add(peermsg_upd_builder *b, const dkv_update *u)
{
    char tmp[160];
    if (b->n == 0)
        buf_append(&b->hdr, "{\"t\":\"upd\",\"u\":[", 16);
    int n = snprintf(tmp, sizeof tmp, "%s[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%zu,%zu]",
                     b->n ? "," : "", u->origin, u->seq, u->lamport, u->key_len, u->value_len);
    buf_append(&b->hdr, tmp, (size_t)n);
    buf_append(&b->body, u->key, u->key_len);
    buf_append(&b->body, u->value, u->value_len);
    b->n++;
}

bool peermsg_upd_full(const peermsg_upd_builder *b)
{
    return b->n >= PEERMSG_FRAME_UPDATES ||
           buf_unread(&b->hdr) + buf_unread(&b->body) >= PEERMSG_BODY_TARGET;
}

void peermsg_upd_flush(peermsg_upd_builder *b, buf *out)
{
    if (b->n == 0)
        return;
    buf_append(&b->hdr, "]}", 2);
    wire_encode(out, WIRE_PEER, buf_head(&b->hdr), buf_unread(&b->hdr), buf_head(&b->body),
                buf_unread(&b->body));
    buf_clear(&b->hdr);
    buf_clear(&b->body);
    b->n = 0;
}

void peermsg_upd_free(peermsg_upd_builder *b)
{
    buf_free(&b->hdr);
    buf_free(&b->body);
}

void peermsg_clear(peermsg *m)
{
    vclock_free(m->vc);
    vclock_free(m->lsa_inc);
    vclock_free(m->lsa_seq);
    free(m->nb);
    free(m->upd);
    memset(m, 0, sizeof *m);
}

/* Reads a JSON integer in [min, max]. */
static int get_uint(json_t *obj, const char *field, uint64_t min, uint64_t max, uint64_t *out,
                    dkv_err *err)
{
    json_t *v = json_object_get(obj, field);
    if (!json_is_integer(v))
        return dkv_err_set(err, "field '%s' is missing or not an integer", field);
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
        return dkv_err_set(err, "field '%s' is out of range", field);
    *out = (uint64_t)i;
    return 0;
}

/* Reads a clock-formatted field into a new vclock at *out. */
static int get_clock(json_t *obj, const char *field, vclock **out, dkv_err *err)
{
    json_t *v = json_object_get(obj, field);
    if (!json_is_string(v))
        return dkv_err_set(err, "field '%s' is missing or not a string", field);
    *out = vclock_new();
    if (vclock_parse(json_string_value(v), *out, err) < 0)
        return dkv_err_wrap(err, "field '%s'", field);
    return 0;
}

static int get_vc(json_t *obj, peermsg *m, dkv_err *err) { return get_clock(obj, "vc", &m->vc, err); }

/* The hello's LSA summary: two maps over the same servers. */
static int get_lsa_summary(json_t *obj, peermsg *m, dkv_err *err)
{
    if (get_clock(obj, "li", &m->lsa_inc, err) < 0 || get_clock(obj, "ls", &m->lsa_seq, err) < 0)
        return -1;
    size_t n = vclock_size(m->lsa_inc);
    if (vclock_size(m->lsa_seq) != n)
        return dkv_err_set(err, "fields 'li' and 'ls' name different servers");
    for (size_t i = 0; i < n; i++)
        if (vclock_at(m->lsa_inc, i).id != vclock_at(m->lsa_seq, i).id)
            return dkv_err_set(err, "fields 'li' and 'ls' name different servers");
    return 0;
}

static int decode_upd(json_t *root, const wire_frame *f, peermsg *m, dkv_err *err)
{
    json_t *list = json_object_get(root, "u");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return dkv_err_set(err, "upd without a non-empty 'u' list");
    size_t n = json_array_size(list);
    if (n > PEERMSG_MAX_UPDATES)
        return dkv_err_set(err, "upd carries %zu updates, more than %d", n, PEERMSG_MAX_UPDATES);
    m->upd = xcalloc(n, sizeof *m->upd);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i);
        json_int_t v[5];
        if (!json_is_array(e) || json_array_size(e) != 5)
            return dkv_err_set(err, "update %zu is not a list of 5 integers", i);
        for (size_t k = 0; k < 5; k++) {
            json_t *x = json_array_get(e, k);
            if (!json_is_integer(x) || json_integer_value(x) < 0)
                return dkv_err_set(err, "update %zu field %zu is not a non-negative integer",
                                   i, k);
            v[k] = json_integer_value(x);
        }
        /* An origin's n-th write has a Lamport stamp of at least n: each of
         * its writes moved its counter up by one or more. */
        if ((uint64_t)v[0] > DKV_ID_MAX || v[1] == 0 || v[2] == 0 ||
            (uint64_t)v[1] > DKV_COUNTER_MAX || (uint64_t)v[2] > DKV_COUNTER_MAX || v[2] < v[1])
            return dkv_err_set(err, "update %zu has a bad origin, seq or Lamport counter", i);
        if ((uint64_t)v[3] > f->body_len - off || (uint64_t)v[4] > f->body_len - off - (uint64_t)v[3])
            return dkv_err_set(err, "update %zu overruns the frame body", i);
        dkv_update *u = &m->upd[i];
        u->origin = (uint64_t)v[0];
        u->seq = (uint64_t)v[1];
        u->lamport = (uint64_t)v[2];
        u->key = f->body + off;
        u->key_len = (size_t)v[3];
        off += u->key_len;
        u->value = f->body + off;
        u->value_len = (size_t)v[4];
        off += u->value_len;
    }
    if (off != f->body_len)
        return dkv_err_set(err, "upd body has %zu bytes beyond its updates", f->body_len - off);
    m->n_upd = n;
    return 0;
}

static int decode_hello(json_t *root, peermsg *m, dkv_err *err)
{
    const char *run = json_string_value(json_object_get(root, "run"));
    if (!run || !peermsg_run_id_valid(run))
        return dkv_err_set(err, "hello without a valid 'run' id");
    snprintf(m->run, sizeof m->run, "%s", run);
    if (get_uint(root, "id", 0, DKV_ID_MAX, &m->id, err) < 0 ||
        get_uint(root, "to", 0, DKV_ID_MAX, &m->to, err) < 0 ||
        get_uint(root, "inc", 1, DKV_INC_MAX, &m->inc, err) < 0 || get_vc(root, m, err) < 0 ||
        get_lsa_summary(root, m, err) < 0)
        return -1;
    return 0;
}

static int decode_lsa(json_t *root, peermsg *m, dkv_err *err)
{
    if (get_uint(root, "id", 0, DKV_ID_MAX, &m->id, err) < 0 ||
        get_uint(root, "inc", 1, DKV_INC_MAX, &m->inc, err) < 0 ||
        get_uint(root, "seq", 1, DKV_COUNTER_MAX, &m->seq, err) < 0)
        return -1;
    json_t *nb = json_object_get(root, "nb");
    if (!json_is_array(nb))
        return dkv_err_set(err, "lsa without an 'nb' list");
    size_t n = json_array_size(nb);
    m->nb = xcalloc(n ? n : 1, sizeof *m->nb);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(nb, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 ||
            (uint64_t)json_integer_value(x) > DKV_ID_MAX)
            return dkv_err_set(err, "lsa neighbour %zu is not an id", i);
        m->nb[i] = (uint64_t)json_integer_value(x);
    }
    m->n_nb = n;
    return 0;
}

int peermsg_decode(const wire_frame *f, peermsg *out, dkv_err *err)
{
    memset(out, 0, sizeof *out);
    if (f->kind != WIRE_PEER)
        return dkv_err_set(err, "not a peer frame");
    json_error_t jerr;
    json_t *root = json_loadb((const char *)f->hdr, f->hdr_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return dkv_err_set(err, "peer header is not JSON: %s", jerr.text);
    int rc = -1;
    const char *t = json_string_value(json_object_get(root, "t"));
    if (!json_is_object(root) || !t) {
        dkv_err_set(err, "peer header has no type");
    } else if (strcmp(t, "upd") == 0) {
        out->type = PEERMSG_UPD;
        rc = decode_upd(root, f, out, err);
    } else if (f->body_len != 0) {
        dkv_err_set(err, "'%s' frame must have no body", t);
    } else if (strcmp(t, "hello") == 0) {
        out->type = PEERMSG_HELLO;
        rc = decode_hello(root, out, err);
    } else if (strcmp(t, "ack") == 0) {
        out->type = PEERMSG_ACK;
        rc = get_vc(root, out, err);
    } else if (strcmp(t, "lsa") == 0) {
        out->type = PEERMSG_LSA;
        rc = decode_lsa(root, out, err);
    } else if (strcmp(t, "ping") == 0) {
        out->type = PEERMSG_PING;
        rc = 0;
    } else {
        dkv_err_set(err, "unknown peer message type '%.20s'", t);
    }
    json_decref(root);
    if (rc < 0)
        peermsg_clear(out);
    return rc;
}

bool peermsg_frame_is_upd(const uint8_t *frame, size_t len)
{
    static const char head[] = "{\"t\":\"upd\"";
    return len >= WIRE_PREFIX + sizeof head - 1 && frame[4] == WIRE_PEER &&
           memcmp(frame + WIRE_PREFIX, head, sizeof head - 1) == 0;
}
