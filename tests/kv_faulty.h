/* kv_faulty: a storage backend (server/kv.h) for tests that wraps another
 * and fails the operations the test switches on, counting every call, so
 * that what the store and the core do after a failed read or write can be
 * checked without damaging a disk. */
#ifndef DKV_KV_FAULTY_H
#define DKV_KV_FAULTY_H

#include <stdbool.h>

#include "../server/kv.h"

/* Owned by the test, which flips the switches while the backend runs. */
typedef struct kv_faults {
    bool fail_get, fail_write, fail_scan; /* fail with KV_FAULTY_MSG */
    unsigned gets, writes, scans;         /* calls so far, failed or not */
} kv_faults;

#define KV_FAULTY_MSG "injected failure"

/* Wraps inner (closed with it); f must outlive the backend. Caller frees
 * with kv_close. */
kv *kv_faulty_new(kv *inner, kv_faults *f);

#endif
