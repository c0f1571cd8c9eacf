#include "stats.h"
#include "../common/vec.h"
#include "../common/xalloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define KINDS (SCRIPT_CMD_GET + 1)

typedef struct series {
    int64_t *v;
    size_t n, cap;
    size_t failed;
} series;

struct stats {
    series kind[KINDS];
    size_t gets_ok, gets_err_key, gets_err_dep, total;
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
    if (kind <= SCRIPT_CMD_NONE || kind >= KINDS)
        return;
    series *se = &s->kind[kind];
    *VEC_PUSH(se->v, se->n, se->cap) = dur_us;
    if (!ok)
        se->failed++;
    s->total++;
    if (kind == SCRIPT_CMD_GET && ok && get_result) {
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

/* Nearest-rank percentile of a sorted series. */
static int64_t pct(const series *se, double p)
{
    size_t rank = (size_t)(p / 100.0 * (double)se->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > se->n)
        rank = se->n;
    return se->v[rank - 1];
}

void stats_print(stats *s, FILE *f, int64_t wall_us, const cluster_frames *fr)
{
    double secs = wall_us > 0 ? (double)wall_us / 1e6 : 1e-6;
    fprintf(f, "stats: %zu commands in %.3f s: %.0f commands/s\n", s->total, secs,
            (double)s->total / secs);
    fprintf(f, "stats: %-16s %8s %7s %10s %10s %10s\n", "command", "count", "failed", "p50 ms",
            "p99 ms", "max ms");
    for (int k = SCRIPT_CMD_NONE + 1; k < KINDS; k++) {
        series *se = &s->kind[k];
        if (se->n == 0)
            continue;
        qsort(se->v, se->n, sizeof *se->v, cmp_i64);
        fprintf(f, "stats: %-16s %8zu %7zu %10.3f %10.3f %10.3f\n",
                script_kind_name((script_kind)k), se->n, se->failed, pct(se, 50) / 1e3,
                pct(se, 99) / 1e3, se->v[se->n - 1] / 1e3);
    }
    series *st = &s->kind[SCRIPT_CMD_STABILIZE];
    if (st->n) {
        fprintf(f, "stats: stabilize durations ms:");
        for (size_t i = 0; i < st->n && i < 20; i++)
            fprintf(f, " %.3f", st->v[i] / 1e3);
        fprintf(f, "%s (sorted)\n", st->n > 20 ? " ..." : "");
    }
    size_t puts = s->kind[SCRIPT_CMD_PUT].n - s->kind[SCRIPT_CMD_PUT].failed;
    if (fr) {
        int64_t frames = fr->upd + fr->ack;
        fprintf(f,
                "stats: server frames sent: upd %" PRId64 ", ack %" PRId64 ", lsa %" PRId64
                ", hello %" PRId64 "; updates sent %" PRId64 "\n",
                fr->upd, fr->ack, fr->lsa, fr->hello, fr->updates_sent);
        if (puts)
            fprintf(f, "stats: messages per put: %.2f (upd+ack frames / puts)\n",
                    (double)frames / (double)puts);
    }
    size_t gets = s->gets_ok + s->gets_err_key + s->gets_err_dep;
    if (gets)
        fprintf(f, "stats: gets %zu: ok %zu, ERR_KEY %zu, ERR_DEP %zu (ERR_DEP rate %.2f%%)\n",
                gets, s->gets_ok, s->gets_err_key, s->gets_err_dep,
                100.0 * (double)s->gets_err_dep / (double)gets);
}
