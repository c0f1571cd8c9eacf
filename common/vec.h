/* vec: growable arrays kept as a (pointer, count, capacity) triple in the
 * owner's struct, so every array in the tree grows the same way:
 *
 *   thing *items; size_t n, cap;
 *   thing *t = VEC_PUSH(items, n, cap);   // a zeroed slot at the end
 *   items = vec_reserve(items, &cap, n + more, sizeof *items);
 *
 * Growth doubles (from 8), so pushes cost O(1) amortised; out of memory
 * aborts (xalloc.h). */
#ifndef DKV_VEC_H
#define DKV_VEC_H

#include <stddef.h>

/* items reallocated, when need exceeds *cap, to hold at least need items
 * of elem bytes; *cap is updated. New slots are not initialised. */
void *vec_reserve(void *items, size_t *cap, size_t need, size_t elem);
/* items reallocated as needed, then the slot at index n zeroed. */
void *vec_grow_zeroed(void *items, size_t *cap, size_t n, size_t elem);

/* Appends a zeroed slot and evaluates to a pointer to it. */
#define VEC_PUSH(items, n, cap)                                                              \
    ((items) = vec_grow_zeroed((items), &(cap), (n), sizeof *(items)), &(items)[(n)++])

#endif
