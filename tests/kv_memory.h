/* kv_memory: a storage backend (server/kv.h) kept in memory, for tests and
 * the in-process protocol fixture: batches are atomic, scans ordered, and
 * it lives until kv_close, so it outlives any core using it, as a disk
 * outlives a crash. Never linked into the server. */
#ifndef DKV_KV_MEMORY_H
#define DKV_KV_MEMORY_H

#include <stdint.h>

#include "../server/kv.h"
#include "../server/store.h"

/* An empty store. Caller frees with kv_close. */
kv *kv_memory_new(void);
/* A fresh store of server self on a new memory backend (no seal): what
 * the fixture and the links tests run their cores on. Caller frees with
 * store_close, which closes the backend too. */
store *kv_memory_store(uint64_t self);

#endif
