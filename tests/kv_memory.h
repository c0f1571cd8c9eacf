/* kv_memory: a storage backend (server/kv.h) kept in memory, for tests and
 * the in-process protocol fixture: batches are atomic, scans ordered, and
 * it lives until kv_close, so it outlives any core using it, as a disk
 * outlives a crash. Never linked into the server. */
#ifndef DKV_KV_MEMORY_H
#define DKV_KV_MEMORY_H

#include "../server/kv.h"

/* An empty store. Caller frees with kv_close. */
kv *kv_memory_new(void);

#endif
