/* kv: the storage interface under the store's records (store.h): ordered
 * byte-string keys to byte-string values, read one key at a time, written
 * in atomic batches, scanned in key order. A backend is a table of four
 * functions; the server links the LevelDB one (kv_leveldb.h), the tests
 * also a memory one (tests/kv_memory.h). Keys compare as unsigned bytes, a
 * prefix before any longer key, as LevelDB's default comparator does. */
#ifndef DKV_KV_H
#define DKV_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

typedef struct kv kv;
typedef struct kv_batch kv_batch;

/* Called for each pair of a scan; a nonzero return stops the scan. The
 * bytes are valid only during the call. */
typedef int (*kv_scan_fn)(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl);

/* What a backend provides; impl is its own state. */
typedef struct kv_ops {
    /* *v: a malloc'ed copy of k's value, or NULL when k is absent. */
    int (*get)(void *impl, const uint8_t *k, size_t kl, uint8_t **v, size_t *vl, dkv_err *err);
    /* Applies every pair of b, or none (a later pair of a key wins). */
    int (*write)(void *impl, const kv_batch *b, dkv_err *err);
    /* Calls fn for every pair with key >= start, in key order, until it
     * returns nonzero. */
    int (*scan)(void *impl, const uint8_t *start, size_t sl, kv_scan_fn fn, void *user,
                dkv_err *err);
    /* Releases impl (a durable backend has written everything already). */
    void (*close)(void *impl);
} kv_ops;

/* For backends: wraps impl and its functions (ops must outlive the kv).
 * Caller frees with kv_close, which closes impl. */
kv *kv_new(const kv_ops *ops, void *impl);
void kv_close(kv *db);

int kv_get(kv *db, const uint8_t *k, size_t kl, uint8_t **v, size_t *vl, dkv_err *err);
int kv_write(kv *db, const kv_batch *b, dkv_err *err);
int kv_scan(kv *db, const uint8_t *start, size_t sl, kv_scan_fn fn, void *user, dkv_err *err);

/* A batch of pairs to write together; the bytes are copied in. Reusable:
 * kv_batch_clear empties it and keeps its memory. */
kv_batch *kv_batch_new(void);
void kv_batch_free(kv_batch *b);
void kv_batch_clear(kv_batch *b);
void kv_batch_put(kv_batch *b, const void *k, size_t kl, const void *v, size_t vl);
size_t kv_batch_count(const kv_batch *b);
/* Pair i (in the order put), pointing into the batch. */
void kv_batch_at(const kv_batch *b, size_t i, const uint8_t **k, size_t *kl, const uint8_t **v,
                 size_t *vl);

#endif
