/* hmap: the project's one hash map, open addressing from byte strings to
 * pointers. Keys are copied; values are the caller's. Nothing is ever
 * removed (its users only add, or drop the whole map), so linear probing
 * needs no tombstones and the map only grows. Out of memory aborts. */
#ifndef DKV_HMAP_H
#define DKV_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hmap hmap;

/* An empty map. Caller frees with hmap_free. */
hmap *hmap_new(void);
/* Frees the map and its key copies; calls free_val (when not NULL) on every
 * value. NULL is accepted. */
void hmap_free(hmap *m, void (*free_val)(void *));

/* The value stored under key[0..len), or NULL when absent. */
void *hmap_get(const hmap *m, const void *key, size_t len);
/* The slot of key, inserting it with a NULL value when absent (*created
 * says which, when not NULL). The slot stays valid until the next
 * insertion. */
void **hmap_slot(hmap *m, const void *key, size_t len, bool *created);
size_t hmap_size(const hmap *m);

/* Iteration in unspecified order: start with *pos = 0; returns false at
 * the end. The map must not be changed while iterating. */
bool hmap_next(const hmap *m, size_t *pos, const void **key, size_t *len, void **val);

#endif
