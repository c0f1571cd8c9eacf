/* version: the total order of writes. A version is (Lamport counter, origin
 * server id); comparing the counter first respects causality, and the origin
 * breaks ties, so every server orders the writes of a key the same way. */
#ifndef DKV_VERSION_H
#define DKV_VERSION_H

#include <stdbool.h>
#include <stdint.h>

/* Bounds on every counter taken from outside (clients, peers, disk).
 * Lamport counters and sequence numbers stay below 2^53, so they are exact
 * in any JSON reader (the history, a browser), and nothing near 2^63 can
 * wrap. A client's dependency may be at most DKV_DEP_SLACK above the
 * largest Lamport counter the server has seen: a client legitimately
 * carries versions the server has not seen yet, but never four billion
 * writes' worth, so one forged dependency cannot exhaust a counter (or
 * poison a key: a version must stay writable above). A server restarts at
 * most DKV_INC_MAX times. */
#define DKV_COUNTER_MAX ((UINT64_C(1) << 53) - 1)
#define DKV_DEP_SLACK (UINT64_C(1) << 32)
#define DKV_INC_MAX ((UINT64_C(1) << 32) - 1)

typedef struct dkv_version {
    uint64_t lamport; /* 0 means "no version" */
    uint64_t origin;
} dkv_version;

static inline bool dkv_version_is_none(dkv_version v) { return v.lamport == 0; }

/* <0, 0, >0 like strcmp. */
static inline int dkv_version_cmp(dkv_version a, dkv_version b)
{
    if (a.lamport != b.lamport)
        return a.lamport < b.lamport ? -1 : 1;
    if (a.origin != b.origin)
        return a.origin < b.origin ? -1 : 1;
    return 0;
}

#endif
