#include "stats.h"
#include "../common/vec.h"
#include "../common/xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Indexed by script_kind; room for commands added after the nine. */
#define KINDS 64

typedef struct series {
    int64_t *v; /* durations of successful commands */
    size_t n, cap;
    size_t failed;
    bool sorted;
} series;

struct stats {
    series kind[KINDS];
    size_t gets_ok, gets_err_key, gets_err_dep, total, failed;
};

stats *stats_new(void)
{
    stats *s = xcalloc(1, sizeof *s);
    return s;
}

void stats_free(stats *s)
{
    if (!s)
        return;
    for (int k = 0; k < KINDS; k++)
        free(s->kind[k].v);
    free(s);
}

void stats_add(stats *s, script_kind kind, int64_t dur_us, bool ok, const char *get_result)
{
    if ((int)kind <= (int)SCRIPT_CMD_NONE || (int)kind >= KINDS)
        return;
    series *se = &s->kind[kind];
    s->total++;
    if (!ok) {
        se->failed++;
        s->failed++;
        return;
    }
    *VEC_PUSH(se->v, se->n, se->cap) = dur_us;
    se->sorted = false;
    if (kind == SCRIPT_CMD_GET && get_result) {
        if (strcmp(get_result, "ok") == 0)
            s->gets_ok++;
        else if (strcmp(get_result, "ERR_KEY") == 0)
            s->gets_err_key++;
        else if (strcmp(get_result, "ERR_DEP") == 0)
            s->gets_err_dep++;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void sort_series(series *se)
{
    if (!se->sorted && se->n)
        qsort(se->v, se->n, sizeof *se->v, cmp_i64);
    se->sorted = true;
}

/* Nearest-rank percentile of a sorted, non-empty series. */
static int64_t pct(const series *se, double p)
{
    size_t rank = (size_t)(p / 100.0 * (double)se->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > se->n)
        rank = se->n;
    return se->v[rank - 1];
}

static double seconds(int64_t wall_us) { return wall_us > 0 ? (double)wall_us / 1e6 : 1e-6; }

static size_t ok_puts(const stats *s)
{
    return s->kind[SCRIPT_CMD_PUT].n;
}

void stats_print(stats *s, FILE *f, int64_t wall_us, const cluster_frames *fr)
{
    double secs = seconds(wall_us);
    fprintf(f, "stats: %zu commands in %.3f s: %.0f commands/s\n", s->total, secs,
            (double)s->total / secs);
    /* count is every command of the kind; the latencies are of the
     * successful ones (count - failed). */
    fprintf(f, "stats: %-16s %8s %7s %10s %10s %10s  (latencies of successful commands)\n",
            "command", "count", "failed", "p50 ms", "p99 ms", "max ms");
    for (int k = SCRIPT_CMD_NONE + 1; k < KINDS; k++) {
        series *se = &s->kind[k];
        if (se->n == 0 && se->failed == 0)
            continue;
        const char *name = script_kind_name((script_kind)k);
        if (se->n == 0) {
            fprintf(f, "stats: %-16s %8zu %7zu %10s %10s %10s\n", name, se->failed, se->failed,
                    "-", "-", "-");
            continue;
        }
        sort_series(se);
        fprintf(f, "stats: %-16s %8zu %7zu %10.3f %10.3f %10.3f\n", name, se->n + se->failed,
                se->failed, pct(se, 50) / 1e3, pct(se, 99) / 1e3, se->v[se->n - 1] / 1e3);
    }
    series *st = &s->kind[SCRIPT_CMD_STABILIZE];
    if (st->n) {
        fprintf(f, "stats: stabilize durations ms:");
        for (size_t i = 0; i < st->n && i < 20; i++)
            fprintf(f, " %.3f", st->v[i] / 1e3);
        fprintf(f, "%s (sorted; successful ones)\n", st->n > 20 ? " ..." : "");
    }
    if (fr) {
        fprintf(f,
                "stats: replication frames sent: upd %" PRId64 ", ack %" PRId64
                " (updates carried %" PRId64 ")\n",
                fr->upd, fr->ack, fr->updates_sent);
        if (ok_puts(s))
            fprintf(f, "stats: messages per put: %.2f (upd+ack frames / %zu successful puts)\n",
                    (double)(fr->upd + fr->ack) / (double)ok_puts(s), ok_puts(s));
        fprintf(f,
                "stats: join and link-state frames sent (not per put): hello %" PRId64
                ", lsa %" PRId64 ", ping %" PRId64 "\n",
                fr->hello, fr->lsa, fr->ping);
    }
    size_t gets = s->gets_ok + s->gets_err_key + s->gets_err_dep;
    if (gets)
        fprintf(f, "stats: gets %zu: ok %zu, ERR_KEY %zu, ERR_DEP %zu (ERR_DEP rate %.2f%%)\n",
                gets, s->gets_ok, s->gets_err_key, s->gets_err_dep,
                100.0 * (double)s->gets_err_dep / (double)gets);
}

static json_t *ms(int64_t us) { return json_real((double)us / 1e3); }

int stats_write_json(stats *s, FILE *f, int64_t wall_us, const cluster_frames *fr,
                     dkv_err *err)
{
    double secs = seconds(wall_us);
    json_t *root = json_pack("{s:I,s:I,s:f,s:f}", "commands", (json_int_t)s->total, "failed",
                             (json_int_t)s->failed, "seconds", secs, "commands_per_s",
                             (double)s->total / secs);
    json_t *kinds = json_object();
    for (int k = SCRIPT_CMD_NONE + 1; k < KINDS; k++) {
        series *se = &s->kind[k];
        if (se->n == 0 && se->failed == 0)
            continue;
        json_t *o = json_pack("{s:I,s:I,s:I}", "count", (json_int_t)(se->n + se->failed), "ok",
                              (json_int_t)se->n, "failed", (json_int_t)se->failed);
        if (se->n) {
            sort_series(se);
            json_object_set_new(o, "p50_ms", ms(pct(se, 50)));
            json_object_set_new(o, "p99_ms", ms(pct(se, 99)));
            json_object_set_new(o, "max_ms", ms(se->v[se->n - 1]));
        }
        json_object_set_new(kinds, script_kind_name((script_kind)k), o);
    }
    json_object_set_new(root, "latency_of_successful_commands", kinds);
    series *st = &s->kind[SCRIPT_CMD_STABILIZE];
    json_t *stab = json_array();
    sort_series(st);
    for (size_t i = 0; i < st->n; i++)
        json_array_append_new(stab, ms(st->v[i]));
    json_object_set_new(root, "stabilize_ms_sorted", stab);
    if (fr) {
        json_object_set_new(root, "replication_frames",
                            json_pack("{s:I,s:I,s:I}", "upd", (json_int_t)fr->upd, "ack",
                                      (json_int_t)fr->ack, "updates_carried",
                                      (json_int_t)fr->updates_sent));
        json_object_set_new(root, "join_and_link_state_frames",
                            json_pack("{s:I,s:I,s:I}", "hello", (json_int_t)fr->hello, "lsa",
                                      (json_int_t)fr->lsa, "ping", (json_int_t)fr->ping));
        json_object_set_new(root, "messages_per_put",
                            ok_puts(s) ? json_real((double)(fr->upd + fr->ack) /
                                                   (double)ok_puts(s))
                                       : json_null());
    }
    size_t gets = s->gets_ok + s->gets_err_key + s->gets_err_dep;
    json_object_set_new(root, "gets",
                        json_pack("{s:I,s:I,s:I,s:I}", "count", (json_int_t)gets, "ok",
                                  (json_int_t)s->gets_ok, "ERR_KEY", (json_int_t)s->gets_err_key,
                                  "ERR_DEP", (json_int_t)s->gets_err_dep));
    int rc = 0;
    errno = 0;
    if (json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) < 0 || fputc('\n', f) == EOF || fflush(f) != 0)
        rc = dkv_err_set(err, "cannot write stats: %s", errno ? strerror(errno) : "write error");
    json_decref(root);
    return rc;
}
