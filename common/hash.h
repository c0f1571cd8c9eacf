/* hash: the one hash function of the project, 64-bit FNV-1a. Used by hash
 * tables and checksums that guard against damage (not against an
 * adversary: it is not a MAC). */
#ifndef DKV_HASH_H
#define DKV_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_SEED UINT64_C(14695981039346656037)

/* Continues hash h over p[0..n); start with HASH_SEED. */
uint64_t hash_bytes(uint64_t h, const void *p, size_t n);

static inline uint64_t hash64(const void *p, size_t n) { return hash_bytes(HASH_SEED, p, n); }

/* The hash of p[0..n) under seed, with a final mix (splitmix64): FNV's low
 * bits are weak for power-of-two tables, and different seeds give
 * independent fingerprints. */
uint64_t hash_seeded(const void *p, size_t n, uint64_t seed);

#endif
