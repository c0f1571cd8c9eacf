#define _GNU_SOURCE
#include "kv_leveldb.h"

#include <dirent.h>
#include <errno.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/xalloc.h"

typedef struct kv_leveldb {
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_readoptions_t *ropts;
    leveldb_writeoptions_t *wopts;
    leveldb_cache_t *cache;
} kv_leveldb;

/* The one adapter from LevelDB's char** errors to dkv_err. */
static int take_leveldb_error(char *lerr, dkv_err *err, const char *what)
{
    if (!lerr)
        return 0;
    dkv_err_set(err, "%s: %s", what, lerr);
    leveldb_free(lerr);
    return -1;
}

static int ldb_get(void *impl, const uint8_t *k, size_t kl, uint8_t **v, size_t *vl,
                   dkv_err *err)
{
    kv_leveldb *l = impl;
    *v = NULL;
    char *lerr = NULL;
    char *rec = leveldb_get(l->db, l->ropts, (const char *)k, kl, vl, &lerr);
    if (take_leveldb_error(lerr, err, "reading LevelDB") < 0)
        return -1;
    if (rec) {
        *v = xmemdup(rec, *vl);
        leveldb_free(rec);
    }
    return 0;
}

static int ldb_write(void *impl, const kv_batch *b, dkv_err *err)
{
    kv_leveldb *l = impl;
    leveldb_writebatch_t *wb = leveldb_writebatch_create();
    for (size_t i = 0; i < kv_batch_count(b); i++) {
        const uint8_t *k, *v;
        size_t kl, vl;
        kv_batch_at(b, i, &k, &kl, &v, &vl);
        leveldb_writebatch_put(wb, (const char *)k, kl, (const char *)v, vl);
    }
    char *lerr = NULL;
    leveldb_write(l->db, l->wopts, wb, &lerr);
    leveldb_writebatch_destroy(wb);
    return take_leveldb_error(lerr, err, "writing LevelDB");
}

static int ldb_scan(void *impl, const uint8_t *start, size_t sl, kv_scan_fn fn, void *user,
                    dkv_err *err)
{
    kv_leveldb *l = impl;
    leveldb_iterator_t *it = leveldb_create_iterator(l->db, l->ropts);
    for (leveldb_iter_seek(it, (const char *)start, sl); leveldb_iter_valid(it);
         leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl);
        const char *v = leveldb_iter_value(it, &vl);
        if (fn(user, (const uint8_t *)k, kl, (const uint8_t *)v, vl))
            break;
    }
    char *lerr = NULL;
    leveldb_iter_get_error(it, &lerr);
    leveldb_iter_destroy(it);
    return take_leveldb_error(lerr, err, "scanning LevelDB");
}

static void ldb_close(void *impl)
{
    kv_leveldb *l = impl;
    if (l->db)
        leveldb_close(l->db);
    leveldb_cache_destroy(l->cache);
    leveldb_options_destroy(l->opts);
    leveldb_readoptions_destroy(l->ropts);
    leveldb_writeoptions_destroy(l->wopts);
    free(l);
}

static const kv_ops ldb_ops = {ldb_get, ldb_write, ldb_scan, ldb_close};

/* The directory must exist (it is created when missing) and be writable;
 * saying so here beats LevelDB's "NotFound: .../LOCK". */
static int prepare_dir(const char *dir, dkv_err *err)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return dkv_err_set(err, "cannot create data directory %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) < 0)
        return dkv_err_set(err, "data directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return dkv_err_set(err, "data directory %s is not a directory", dir);
    if (access(dir, W_OK | X_OK) < 0)
        return dkv_err_set(err, "data directory %s is not writable: %s", dir, strerror(errno));
    return 0;
}

bool kv_leveldb_exists(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/CURRENT", dir);
    return access(path, F_OK) == 0;
}

void kv_leveldb_newest_log(const char *dir, char *out, size_t cap)
{
    *out = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return;
    unsigned long best = 0;
    for (struct dirent *e; (e = readdir(d));) {
        unsigned long num;
        char tail[8];
        if (sscanf(e->d_name, "%lu.%7s", &num, tail) == 2 && strcmp(tail, "log") == 0 &&
            num >= best) {
            best = num;
            /* A path too long for out would name another file: none. */
            if (snprintf(out, cap, "%s/%s", dir, e->d_name) >= (int)cap)
                *out = '\0';
        }
    }
    closedir(d);
}

static kv_leveldb *ldb_alloc(const kv_leveldb_options *o)
{
    kv_leveldb *l = xcalloc(1, sizeof *l);
    l->opts = leveldb_options_create();
    leveldb_options_set_create_if_missing(l->opts, 1);
    /* Corruption LevelDB can see (a bad checksum in a log or a table) fails
     * the open instead of being skipped. */
    leveldb_options_set_paranoid_checks(l->opts, 1);
    /* Memory: a server should stay within a few tens of MB. LevelDB's
     * defaults (8 MB block cache, 2 MB tables, 1000 open tables) are sized
     * for one big database, not dozens of small ones on one machine.
     * Measured (bench W2, W7): most of a server's peak RSS is table files
     * mapped by compactions, not the memtable, so an 8 MB memtable (fewer
     * flushes, fewer compactions) gives both a lower peak and faster large
     * writes than 1 MB did (27 vs 31 MB; about 2,900 vs 1,900 puts/s of
     * 10 KB). Small tables keep each compaction's mapped inputs small. */
    leveldb_options_set_write_buffer_size(l->opts, 8u << 20);
    leveldb_options_set_max_file_size(l->opts, 1u << 20);
    l->cache = leveldb_cache_create_lru(1u << 20);
    leveldb_options_set_cache(l->opts, l->cache);
    leveldb_options_set_max_open_files(l->opts, 64);
    l->ropts = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(l->ropts, 1);
    l->wopts = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(l->wopts, o->sync);
    return l;
}

kv *kv_leveldb_open(const char *dir, const kv_leveldb_options *o, dkv_err *err)
{
    if (prepare_dir(dir, err) < 0)
        return NULL;
    char replayed[4200];
    kv_leveldb_newest_log(dir, replayed, sizeof replayed);
    kv_leveldb *l = ldb_alloc(o);
    char *lerr = NULL;
    l->db = leveldb_open(l->opts, dir, &lerr);
    if (take_leveldb_error(lerr, err, "opening LevelDB") < 0) {
        dkv_err_wrap(err, "store %s is damaged or unreadable", dir);
        if (*replayed && err) {
            char msg[DKV_ERR_MAX];
            memcpy(msg, err->msg, sizeof msg);
            dkv_err_set(err, "%s (log replayed: %s)", msg, replayed);
        }
        ldb_close(l);
        return NULL;
    }
    return kv_new(&ldb_ops, l);
}
