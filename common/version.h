/* version: the total order of writes. A version is (Lamport counter, origin
 * server id); comparing the counter first respects causality, and the origin
 * breaks ties, so every server orders the writes of a key the same way. */
#ifndef DKV_VERSION_H
#define DKV_VERSION_H

#include <stdbool.h>
#include <stdint.h>

typedef struct dkv_version {
    uint64_t lamport; /* 0 means "no version" */
    uint64_t origin;
} dkv_version;

static inline bool version_is_none(dkv_version v) { return v.lamport == 0; }

/* <0, 0, >0 like strcmp. */
static inline int version_cmp(dkv_version a, dkv_version b)
{
    if (a.lamport != b.lamport)
        return a.lamport < b.lamport ? -1 : 1;
    if (a.origin != b.origin)
        return a.origin < b.origin ? -1 : 1;
    return 0;
}

#endif
