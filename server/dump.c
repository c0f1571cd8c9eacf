#include "dump.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../common/vclock.h"
#include "../common/xalloc.h"
#include "record.h"

typedef struct dump_ctx {
    kv *db;
    FILE *out, *damage;
    dump_counts *counts;
    bool print;
    /* The write log's pass: the origin being read and the seq expected
     * next, to find gaps; the clock to hold them against. */
    const vclock *vc;
    vclock *seen; /* origin -> the last seq the log holds, when contiguous */
    uint64_t origin, next;
    bool in_log;
} dump_ctx;

/* Shows a key for a damage line: printable ASCII, the rest as \xHH, cut. */
static void show_bytes(FILE *f, const uint8_t *p, size_t n)
{
    size_t shown = n < 40 ? n : 40;
    for (size_t i = 0; i < shown; i++)
        if (p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\')
            fputc(p[i], f);
        else
            fprintf(f, "\\x%02x", p[i]);
    if (n > shown)
        fprintf(f, "... (%zu bytes)", n);
}

static void damaged(dump_ctx *d, const char *what, const uint8_t *k, size_t kl, const char *why)
{
    d->counts->damaged++;
    fprintf(d->damage, "damaged %s '", what);
    show_bytes(d->damage, k, kl);
    fprintf(d->damage, "': %s\n", why);
}

/* The store: each data record's key and the value its log record holds. */
static int dump_data(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    dump_ctx *d = user;
    if (kl == 0 || k[0] != RECORD_DATA_PREFIX)
        return 1; /* past the data records */
    dkv_version ver;
    uint64_t seq;
    dkv_err err;
    if (record_data_decode(v, vl, &ver, &seq, &err) < 0) {
        damaged(d, "data record", k + 1, kl - 1, err.msg);
        return 0;
    }
    uint8_t lk[17], *rec = NULL;
    size_t len;
    record_log_key(lk, ver.origin, seq);
    if (kv_get(d->db, lk, sizeof lk, &rec, &len, &err) < 0) {
        damaged(d, "data record", k + 1, kl - 1, err.msg);
        return 0;
    }
    dkv_update u = {.origin = ver.origin, .seq = seq};
    int bad = 0;
    if (!rec)
        bad = dkv_err_set(&err, "its value, update %" PRIu64 ":%" PRIu64
                                ", is not in the write log",
                          ver.origin, seq);
    else if (record_log_decode(rec, len, &u, &err) < 0)
        bad = dkv_err_wrap(&err, "its value, update %" PRIu64 ":%" PRIu64, ver.origin, seq);
    else if (u.lamport != ver.lamport || u.key_len != kl - 1 || memcmp(u.key, k + 1, kl - 1) != 0)
        bad = dkv_err_set(&err, "update %" PRIu64 ":%" PRIu64 " of the write log is another write",
                          ver.origin, seq);
    if (bad) {
        damaged(d, "data record", k + 1, kl - 1, err.msg);
    } else {
        d->counts->keys++;
        if (d->print) {
            fwrite(k + 1, 1, kl - 1, d->out);
            fputc(':', d->out);
            fwrite(u.value, 1, u.value_len, d->out);
            fputc('\n', d->out);
        }
    }
    free(rec);
    return 0;
}

/* The log of the origin being read ended: it must reach the clock. */
static void log_origin_done(dump_ctx *d)
{
    if (!d->in_log)
        return;
    uint64_t want = vclock_get(d->vc, d->origin), last = d->next - 1;
    if (last < want) {
        char why[160];
        snprintf(why, sizeof why, "the write log of origin %" PRIu64 " ends at update %" PRIu64
                 ", the clock counts %" PRIu64, d->origin, last, want);
        d->counts->damaged++;
        fprintf(d->damage, "damaged write log: %s\n", why);
    }
    vclock_set(d->seen, d->origin, 1);
}

/* The write log, and records of no known kind. */
static int dump_log(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    dump_ctx *d = user;
    if (kl >= 1 && k[0] == RECORD_DATA_PREFIX)
        return 0;
    if (kl == 1 && k[0] == RECORD_META_KEY[0])
        return 0;
    dkv_err err;
    if (kl == 0 || k[0] != RECORD_LOG_PREFIX) {
        damaged(d, "record of unknown kind", k, kl, "neither data, log nor meta");
        return 0;
    }
    uint64_t origin, seq;
    dkv_update u;
    if (record_log_key_decode(k, kl, &origin, &seq, &err) < 0) {
        damaged(d, "write log key", k, kl, err.msg);
        return 0;
    }
    u.origin = origin;
    u.seq = seq;
    if (!d->in_log || origin != d->origin) {
        log_origin_done(d);
        d->in_log = true;
        d->origin = origin;
        d->next = 1;
    }
    char why[DKV_ERR_MAX] = "";
    bool whole = record_log_decode(v, vl, &u, &err) == 0;
    if (!whole)
        snprintf(why, sizeof why, "%s", err.msg);
    else if (seq != d->next)
        snprintf(why, sizeof why, "updates %" PRIu64 " to %" PRIu64 " of its origin are missing",
                 d->next, seq - 1);
    else if (seq > vclock_get(d->vc, origin))
        snprintf(why, sizeof why, "beyond what the clock counts (%" PRIu64 ")",
                 vclock_get(d->vc, origin));
    d->next = seq + 1;
    if (why[0]) {
        char name[48];
        snprintf(name, sizeof name, "%" PRIu64 ":%" PRIu64, origin, seq);
        damaged(d, "write log update", (const uint8_t *)name, strlen(name), why);
        if (!whole)
            return 0;
    }
    d->counts->updates++;
    if (!d->print)
        return 0;
    fprintf(d->out, "%" PRIu64 ":%" PRIu64 " (%" PRIu64 ",%" PRIu64 ") ", origin, seq, u.lamport,
            origin);
    fwrite(u.key, 1, u.key_len, d->out);
    fputc(' ', d->out);
    fwrite(u.value, 1, u.value_len < DUMP_VALUE_SHOWN ? u.value_len : DUMP_VALUE_SHOWN, d->out);
    if (u.value_len > DUMP_VALUE_SHOWN)
        fprintf(d->out, "... (%zu bytes)", u.value_len);
    fputc('\n', d->out);
    return 0;
}

int dump_kv(kv *db, unsigned sections, FILE *out, FILE *damage_out, dump_counts *counts,
            dkv_err *err)
{
    *counts = (dump_counts){0};
    bool headers = sections != DUMP_STORE && sections != DUMP_LOG && sections != DUMP_CLOCKS;
    record_meta m = {.vc = vclock_new()};
    dump_ctx d = {db, out, damage_out, counts, false, m.vc, vclock_new(), 0, 0, false};
    uint8_t *rec = NULL;
    size_t len;
    int rc = kv_get(db, (const uint8_t *)RECORD_META_KEY, 1, &rec, &len, err);
    bool meta_ok = false;
    if (rc == 0 && !rec) {
        counts->damaged++;
        fprintf(damage_out, "damaged clocks: no meta record (an empty store has none)\n");
    } else if (rc == 0) {
        dkv_err why;
        meta_ok = record_meta_decode(rec, len, &m, &why) == 0;
        if (!meta_ok)
            damaged(&d, "meta record", (const uint8_t *)RECORD_META_KEY, 1, why.msg);
    }
    free(rec);
    if (rc == 0) {
        if (headers && (sections & DUMP_STORE))
            fputs("== store ==\n", out);
        d.print = sections & DUMP_STORE;
        const uint8_t start = RECORD_DATA_PREFIX;
        rc = kv_scan(db, &start, 1, dump_data, &d, err);
    }
    if (rc == 0) {
        if (headers && (sections & DUMP_LOG))
            fputs("== write log ==\n", out);
        d.print = sections & DUMP_LOG;
        rc = kv_scan(db, (const uint8_t *)"", 0, dump_log, &d, err);
        log_origin_done(&d);
        /* Origins the clock counts whose log holds nothing at all. */
        for (size_t i = 0; rc == 0 && i < vclock_size(m.vc); i++) {
            vclock_entry e = vclock_at(m.vc, i);
            if (!vclock_get(d.seen, e.id)) {
                counts->damaged++;
                fprintf(damage_out, "damaged write log: the clock counts %" PRIu64
                        " updates of origin %" PRIu64 ", the log holds none\n", e.seq, e.id);
            }
        }
    }
    if (rc == 0 && (sections & DUMP_CLOCKS)) {
        if (headers)
            fputs("== clocks ==\n", out);
        if (meta_ok) {
            char *vc = vclock_format(m.vc);
            fprintf(out, "incarnation %" PRIu64 "\nlamport %" PRIu64 "\nvclock %s\n",
                    m.incarnation, m.lamport, *vc ? vc : "-");
            free(vc);
        }
    }
    vclock_free(d.seen);
    vclock_free(m.vc);
    return rc;
}
