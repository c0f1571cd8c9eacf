#include "record.h"

#include <inttypes.h>
#include <string.h>

#include "../common/ids.h"

void record_data_key(buf *out, const uint8_t *key, size_t key_len)
{
    uint8_t p = RECORD_DATA_PREFIX;
    buf_append(out, &p, 1);
    buf_append(out, key, key_len);
}

void record_data_value(buf *out, dkv_version v, uint64_t seq)
{
    buf_append_u64(out, v.lamport);
    buf_append_u64(out, v.origin);
    buf_append_u64(out, seq);
}

int record_data_decode(const uint8_t *rec, size_t len, dkv_version *v, uint64_t *seq,
                       dkv_err *err)
{
    if (len != 24)
        return dkv_err_set(err, "data record of %zu bytes, not 24", len);
    v->lamport = dkv_get_u64(rec);
    v->origin = dkv_get_u64(rec + 8);
    *seq = dkv_get_u64(rec + 16);
    if (v->lamport == 0 || v->lamport > DKV_COUNTER_MAX)
        return dkv_err_set(err, "data record has a Lamport counter out of range");
    if (v->origin > DKV_ID_MAX)
        return dkv_err_set(err, "data record names origin %" PRIu64 ", not an id", v->origin);
    if (*seq == 0 || *seq > DKV_COUNTER_MAX)
        return dkv_err_set(err, "data record points at update %" PRIu64, *seq);
    return 0;
}

void record_log_key(uint8_t out[17], uint64_t origin, uint64_t seq)
{
    out[0] = RECORD_LOG_PREFIX;
    dkv_put_u64(out + 1, origin);
    dkv_put_u64(out + 9, seq);
}

int record_log_key_decode(const uint8_t *k, size_t len, uint64_t *origin, uint64_t *seq,
                          dkv_err *err)
{
    if (len != 17 || k[0] != RECORD_LOG_PREFIX)
        return dkv_err_set(err, "malformed log key of %zu bytes", len);
    *origin = dkv_get_u64(k + 1);
    *seq = dkv_get_u64(k + 9);
    if (*origin > DKV_ID_MAX || *seq == 0 || *seq > DKV_COUNTER_MAX)
        return dkv_err_set(err, "log key names update %" PRIu64 ":%" PRIu64 ", out of range",
                           *origin, *seq);
    return 0;
}

void record_log_value(buf *out, const dkv_update *u)
{
    buf_append_u64(out, u->lamport);
    buf_append_u32(out, (uint32_t)u->key_len);
    buf_append(out, u->key, u->key_len);
    buf_append(out, u->value, u->value_len);
}

int record_log_decode(const uint8_t *rec, size_t len, dkv_update *u, dkv_err *err)
{
    if (len < 12)
        return dkv_err_set(err, "log record of %zu bytes is shorter than 12", len);
    uint64_t lamport = dkv_get_u64(rec);
    uint32_t klen = dkv_get_u32(rec + 8);
    if (lamport == 0 || lamport > DKV_COUNTER_MAX)
        return dkv_err_set(err, "log record has a Lamport counter out of range");
    if (klen > len - 12)
        return dkv_err_set(err, "log record key length %u exceeds the record", klen);
    u->lamport = lamport;
    u->key = rec + 12;
    u->key_len = klen;
    u->value = rec + 12 + klen;
    u->value_len = len - 12 - klen;
    return 0;
}

void record_meta_encode(buf *out, const record_meta *m)
{
    buf_append(out, "DKV2", 4);
    buf_append_u64(out, m->lamport);
    buf_append_u64(out, m->incarnation);
    size_t n = vclock_size(m->vc);
    buf_append_u32(out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        vclock_entry e = vclock_at(m->vc, i);
        buf_append_u64(out, e.id);
        buf_append_u64(out, e.seq);
    }
}

int record_meta_decode(const uint8_t *rec, size_t len, record_meta *m, dkv_err *err)
{
    if (len < 24 || memcmp(rec, "DKV2", 4) != 0)
        return dkv_err_set(err, "meta record is not in DKV2 format (a store written by "
                                "another version?)");
    uint32_t n = dkv_get_u32(rec + 20);
    if ((len - 24) / 16 < n || len != 24 + (size_t)n * 16)
        return dkv_err_set(err, "meta record length %zu does not match %u clock entries", len,
                           n);
    vclock *vc = vclock_new();
    uint64_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t id = dkv_get_u64(rec + 24 + 16 * (size_t)i);
        uint64_t seq = dkv_get_u64(rec + 32 + 16 * (size_t)i);
        if ((i > 0 && id <= prev) || seq == 0 || id > DKV_ID_MAX || seq > DKV_COUNTER_MAX) {
            vclock_free(vc);
            return dkv_err_set(err, "meta record clock entry %u is out of order or zero", i);
        }
        prev = id;
        vclock_set(vc, id, seq);
    }
    m->lamport = dkv_get_u64(rec + 4);
    m->incarnation = dkv_get_u64(rec + 12);
    if (m->lamport > DKV_COUNTER_MAX || m->incarnation > DKV_INC_MAX) {
        vclock_free(vc);
        return dkv_err_set(err, "meta record counters are out of range");
    }
    vclock_copy(m->vc, vc);
    vclock_free(vc);
    return 0;
}
