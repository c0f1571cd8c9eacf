#include "hash.h"

uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * UINT64_C(1099511628211);
    return h;
}

uint64_t hash_seeded(const void *p, size_t n, uint64_t seed)
{
    uint64_t h = hash_bytes(HASH_SEED ^ (seed * UINT64_C(0x9e3779b97f4a7c15)), p, n);
    h ^= h >> 30;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h *= UINT64_C(0x94d049bb133111eb);
    h ^= h >> 31;
    return h;
}
