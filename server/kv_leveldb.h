/* kv_leveldb: the LevelDB backend of the storage interface (kv.h), the one
 * real servers use. It opens with paranoid checks and reads with verified
 * checksums, so corruption LevelDB can see fails the open or the read
 * instead of being skipped; LevelDB's char** errors become dkv_err here
 * and nowhere else. */
#ifndef DKV_KV_LEVELDB_H
#define DKV_KV_LEVELDB_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/err.h"
#include "kv.h"

typedef struct kv_leveldb_options {
    /* Every write is fsync'ed; without, a write reaches LevelDB's log with
     * write(2) before the call returns, which survives the process being
     * killed but not a power loss. */
    bool sync;
} kv_leveldb_options;

/* Opens (creating when missing, with the directory) the database in dir.
 * NULL with err naming dir (and the log it replayed, when any) on failure;
 * caller frees with kv_close. */
kv *kv_leveldb_open(const char *dir, const kv_leveldb_options *o, dkv_err *err);
/* Whether dir holds a database (its CURRENT file). */
bool kv_leveldb_exists(const char *dir);
/* The newest write-ahead log of dir ("" when none): the file an open
 * replays, so the one most likely damaged when records are missing. Name
 * it before opening: recovery turns it into a table and deletes it. */
void kv_leveldb_newest_log(const char *dir, char *out, size_t cap);

#endif
