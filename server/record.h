/* record: the on-disk records of a server's LevelDB store. Binary,
 * big-endian, so that log keys sort by (origin, seq).
 *
 *   data  "d" key               -> u64 lamport, u64 origin, u64 seq
 *   log   "l" u64 origin u64 seq -> u64 lamport, u32 key_len, key, value
 *   meta  "m"                   -> "DKV2", u64 lamport, u64 incarnation,
 *                                  u32 n, n * (u64 origin, u64 seq)
 *
 * A value is stored once, in the log record of the update that wrote it;
 * the data record names the current version and that update (origin is the
 * version's origin). The log is never pruned, so the value is always there,
 * and a write costs its value's bytes once rather than twice.
 *
 * Decoders validate lengths and return -1 with a message on corrupt input. */
#ifndef DKV_RECORD_H
#define DKV_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/err.h"
#include "../common/vclock.h"
#include "../common/version.h"

#define RECORD_DATA_PREFIX 'd'
#define RECORD_LOG_PREFIX 'l'
#define RECORD_META_KEY "m"

/* One replicated write: origin's seq-th update, version (lamport, origin). */
typedef struct dkv_update {
    uint64_t origin;
    uint64_t seq;
    uint64_t lamport;
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
} dkv_update;

static inline dkv_version record_update_version(const dkv_update *u)
{
    return (dkv_version){u->lamport, u->origin};
}

void record_data_key(buf *out, const uint8_t *key, size_t key_len);
/* seq: the update (v.origin, seq) whose log record holds the value. */
void record_data_value(buf *out, dkv_version v, uint64_t seq);
int record_data_decode(const uint8_t *rec, size_t len, dkv_version *v, uint64_t *seq,
                       dkv_err *err);

void record_log_key(uint8_t out[17], uint64_t origin, uint64_t seq);
int record_log_key_decode(const uint8_t *k, size_t len, uint64_t *origin, uint64_t *seq,
                          dkv_err *err);
void record_log_value(buf *out, const dkv_update *u);
/* Fills u's lamport, key and value (pointing into rec); origin and seq come
 * from the record's key and are left as they are. */
int record_log_decode(const uint8_t *rec, size_t len, dkv_update *u, dkv_err *err);

typedef struct record_meta {
    uint64_t lamport;
    uint64_t incarnation;
    vclock *vc; /* owned by the caller */
} record_meta;

void record_meta_encode(buf *out, const record_meta *m);
/* m->vc must be allocated; it is overwritten. */
int record_meta_decode(const uint8_t *rec, size_t len, record_meta *m, dkv_err *err);

#endif
