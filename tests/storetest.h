/* storetest: what the store's and the storage interface's unit tests share
 * to write updates and check what a store holds. */
#ifndef DKV_STORETEST_H
#define DKV_STORETEST_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../server/store.h"

/* An update of key to value; key and value are borrowed. */
dkv_update storetest_upd(uint64_t origin, uint64_t seq, uint64_t lamport, const char *key,
                         const char *value);
/* Applies updates with a meta record whose clock counts them and whose
 * Lamport counter is their highest. Returns store_apply's result; with err
 * NULL, a failure's message goes to stderr. */
int storetest_apply(store *s, const dkv_update *u, size_t n, dkv_err *err);
/* Asserts (CUnit) that key is stored with that version and value. */
void storetest_assert_value(store *s, const char *key, uint64_t lamport, uint64_t origin,
                            const char *value);

#endif
