/* hmap: a small open-addressing hash map from byte strings to pointers,
 * used by the history checker. Keys are copied; values are the caller's.
 * Linear probing with tombstone-free deletion is not needed (the checker
 * never removes), so the map only grows. */
#ifndef DKV_CHECK_HMAP_H
#define DKV_CHECK_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hmap hmap;

/* An empty map, or NULL when memory runs out. */
hmap *hmap_new(void);
/* Frees the map and its key copies; calls free_val (when not NULL) on every
 * value. NULL is accepted. */
void hmap_free(hmap *m, void (*free_val)(void *));

/* The value stored under key[0..len), or NULL when absent. */
void *hmap_get(const hmap *m, const void *key, size_t len);
/* The slot of key, inserting it with a NULL value when absent (*created
 * says which). NULL when memory runs out. The slot stays valid until the
 * next insertion. */
void **hmap_slot(hmap *m, const void *key, size_t len, bool *created);
size_t hmap_size(const hmap *m);

/* Iteration in unspecified order: start with *pos = 0; returns false at
 * the end. The map must not be changed while iterating. */
bool hmap_next(const hmap *m, size_t *pos, const void **key, size_t *len, void **val);

/* 64-bit hash of bytes (FNV-1a, then a final mix), seedable. */
uint64_t hmap_hash(const void *p, size_t n, uint64_t seed);

#endif
