/* vclock: a sparse vector clock, origin server id -> number of that origin's
 * updates applied (contiguously, from 1). Sparse because ids are arbitrary
 * and servers join late. Entries are kept sorted by id. */
#ifndef DKV_VCLOCK_H
#define DKV_VCLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct vclock vclock;

typedef struct vclock_entry {
    uint64_t id;
    uint64_t seq;
} vclock_entry;

/* Caller frees with vclock_free. */
vclock *vclock_new(void);
void vclock_free(vclock *vc);
vclock *vclock_dup(const vclock *vc);
void vclock_copy(vclock *dst, const vclock *src);
/* Removes every entry. */
void vclock_clear(vclock *vc);

uint64_t vclock_get(const vclock *vc, uint64_t id);
/* Sets id's counter; a zero removes the entry. */
void vclock_set(vclock *vc, uint64_t id, uint64_t seq);
/* dst[i] = max(dst[i], src[i]) for every i. */
void vclock_merge(vclock *dst, const vclock *src);
bool vclock_equal(const vclock *a, const vclock *b);
/* True when a[i] >= b[i] for every i. */
bool vclock_covers(const vclock *a, const vclock *b);

size_t vclock_size(const vclock *vc);
/* i-th entry in id order, i < vclock_size. */
vclock_entry vclock_at(const vclock *vc, size_t i);
/* Total of all counters: the number of updates the clock accounts for. */
uint64_t vclock_total(const vclock *vc);

/* Canonical text "id:seq,id:seq" in id order ("" when empty), used in
 * digests and diagnostics. Caller frees the result with free(). */
char *vclock_format(const vclock *vc);
/* Parses vclock_format's text. Rejects malformed text, duplicate or unsorted
 * ids and zero counters. */
int vclock_parse(const char *text, vclock *out, dkv_err *err);

#endif
