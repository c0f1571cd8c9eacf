/* store: a server's durable state in LevelDB (records in record.h). Every
 * accepted update is written with the clocks in one atomic WriteBatch, so a
 * server killed at any moment restarts with data, Lamport counter, vector
 * clock and write log that agree with each other. */
#ifndef DKV_STORE_H
#define DKV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "record.h"

typedef struct store store;

/* Opens (creating if missing) the store in dir. With sync, every write is
 * fsync'ed; without, a write reaches LevelDB's log with write(2) before the
 * call returns, which survives the process being killed but not a power
 * loss. Returns NULL with err on failure; caller frees with store_close. */
store *store_open(const char *dir, bool sync, dkv_err *err);
/* A store kept in memory, for the in-process protocol fixture: writes are
 * atomic, and it outlives the core using it, as a disk would a crash. */
store *store_open_memory(void);
void store_close(store *s);

/* *found is false on a fresh store (m is then left alone). */
int store_load_meta(store *s, record_meta *m, bool *found, dkv_err *err);
int store_save_meta(store *s, const record_meta *m, dkv_err *err);

/* Writes the updates' log records, their data records where their version
 * beats the stored one, and meta, in one WriteBatch. */
int store_apply(store *s, const dkv_update *u, size_t n, const record_meta *m, dkv_err *err);
/* The same for one update the caller knows beats whatever is stored (a
 * local write, stamped above every version this server has seen): skips
 * reading the stored version. */
int store_apply_newest(store *s, const dkv_update *u, const record_meta *m, dkv_err *err);

/* *found says whether key exists. On found, *value is malloc'ed (caller
 * frees with free) unless value is NULL. */
int store_get(store *s, const uint8_t *key, size_t key_len, bool *found, dkv_version *v,
              uint8_t **value, size_t *value_len, dkv_err *err);

/* Reads log entry (origin, seq). u's key and value point into *owned, which
 * the caller frees with free. *found false when the entry is absent. */
int store_log_get(store *s, uint64_t origin, uint64_t seq, dkv_update *u, uint8_t **owned,
                  bool *found, dkv_err *err);

/* Calls fn for each key in order, starting after `after` when has_after;
 * stops when fn returns nonzero. */
typedef int (*store_scan_fn)(void *user, const uint8_t *key, size_t key_len, dkv_version v,
                             const uint8_t *value, size_t value_len);
int store_scan(store *s, const uint8_t *after, size_t after_len, bool has_after,
               store_scan_fn fn, void *user, dkv_err *err);

#endif
