/* store: a server's durable state, as records (record.h) in a key-value
 * backend (kv.h): LevelDB in the server (kv_leveldb.h). Every
 * accepted update is written with the clocks in one atomic batch, so a
 * server killed at any moment restarts with data, Lamport counter, vector
 * clock and write log that agree with each other. */
#ifndef DKV_STORE_H
#define DKV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "kv.h"
#include "record.h"

typedef struct store store;

typedef struct store_options {
    /* Every write is fsync'ed; without, a write reaches LevelDB's log with
     * write(2) before the call returns, which survives the process being
     * killed but not a power loss. */
    bool sync;
    /* The server held data here before (it ran earlier in this run): a
     * missing store is damage, not a fresh start. */
    bool must_exist;
    uint64_t self; /* the server the store belongs to */
} store_options;

/* Opens (creating if missing) the store in dir and proves it whole before
 * anything is served from it: LevelDB opens with paranoid checks, every
 * record is decoded and the write log checked against the clock, and the
 * seal DIR.seal (seal.h) must not record more than the store holds. A
 * store that fails any of this is refused, with err naming the file.
 * Returns NULL with err on failure; caller frees with store_close. */
store *store_open(const char *dir, const store_options *o, dkv_err *err);
/* A store on a backend the caller opened (tests: the memory backend),
 * named `name` in messages. Its records are proven whole as above; it has
 * no seal, which guards a directory's files. Takes db, also on failure.
 * NULL with err on failure; caller frees with store_close. */
store *store_open_kv(kv *db, const char *name, uint64_t self, dkv_err *err);
/* Closes the store and its backend. */
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
