/* ids: strict parsing of server and client ids and other decimal numbers.
 * Ids are decimal integers in [0, DKV_ID_MAX]; the bound keeps them exact in
 * JSON (jansson's json_int_t) and in XML-RPC i8. */
#ifndef DKV_IDS_H
#define DKV_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define DKV_ID_MAX 999999999999ULL /* 10^12 - 1: generous, and printable */

/* Parses all of s as a decimal id. Rejects signs, spaces, empty strings,
 * leading "+", hex, and values above DKV_ID_MAX. */
int ids_parse(const char *s, uint64_t *out, dkv_err *err);

/* Parses all of s as an unsigned decimal no greater than max. */
int ids_parse_u64(const char *s, uint64_t max, uint64_t *out, dkv_err *err);

/* Binary search over n records sorted by id, each stride bytes and starting
 * with its uint64_t id (a vector clock's entries, the master's model, the
 * routing table's LSAs): the index of the first record whose id is >= id,
 * which is id's record when there is one, else where it would go. Inline:
 * vector clock lookups are on every replicated write's path. */
static inline size_t ids_lower_bound(const void *records, size_t n, size_t stride, uint64_t id)
{
    const char *base = records;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (*(const uint64_t *)(const void *)(base + mid * stride) < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

#endif
