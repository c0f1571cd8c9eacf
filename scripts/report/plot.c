#include "plot.h"
#include "esc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define W 760
#define H 320
#define L 64  /* left margin: the y axis labels */
#define R 150 /* right margin: the legend */
#define T 24
#define B 40

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define N_COLOURS (sizeof palette / sizeof palette[0])

static FILE *open_svg(const char *path, const char *title, dkv_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        dkv_err_set(err, "cannot write %s: %s", path, strerror(errno));
        return NULL;
    }
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n"
            "<text x=\"%d\" y=\"16\" font-size=\"13\" font-weight=\"bold\">%s</text>\n",
            W, H, W, H, W, H, L, title);
    return f;
}

static int close_svg(FILE *f, const char *path, dkv_err *err)
{
    fputs("</svg>\n", f);
    if (ferror(f) | (fclose(f) != 0))
        return dkv_err_set(err, "cannot write %s", path);
    return 0;
}

/* The run's duration in microseconds (at least 1). */
static int64_t span_us(const timeline_row *rows, size_t n)
{
    int64_t end = 1;
    for (size_t i = 0; i < n; i++)
        if (rows[i].t1 > end)
            end = rows[i].t1;
    return end;
}

static double x_of(int64_t us, int64_t span) { return L + (double)us / (double)span * (W - L - R); }

static void x_axis(FILE *f, int64_t span)
{
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>\n", L, H - B,
            W - R, H - B);
    for (int i = 0; i <= 5; i++) {
        double us = (double)span * i / 5;
        double x = L + (W - L - R) * i / 5.0;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\"/>"
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.3g</text>\n",
                x, H - B, x, H - B + 4, x, H - B + 16, us / 1e6);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time since the first command (s)</text>\n",
            (L + W - R) / 2, H - 6);
}

/* The distinct command words of successful operations, in order of first
 * appearance (at most N_COLOURS: the rest share the last colour). */
static size_t kind_index(const histline_record *rec, const histline_record **kinds, size_t *n)
{
    for (size_t k = 0; k < *n; k++)
        if (kinds[k]->cmd_word.n == rec->cmd_word.n &&
            memcmp(kinds[k]->cmd_word.p, rec->cmd_word.p, rec->cmd_word.n) == 0)
            return k;
    if (*n < N_COLOURS)
        kinds[(*n)++] = rec;
    return *n - 1;
}

/* A successful timed command's latency in ms, at least 1 us (the log
 * scale has no 0); -1 when the row is not plotted. */
static double plotted_ms(const timeline_row *r)
{
    if (r->outcome != TIMELINE_OK || r->t0 < 0)
        return -1;
    double ms = (double)(r->t1 - r->t0) / 1e3;
    return ms < 0.001 ? 0.001 : ms;
}

int plot_latency(const timeline *t, const char *path, dkv_err *err)
{
    const timeline_row *rows;
    size_t n = timeline_rows(t, &rows);
    FILE *f = open_svg(path, "Latency of successful commands, per kind (ms, log scale)", err);
    if (!f)
        return -1;
    int64_t span = span_us(rows, n);
    double lo = 1e9, hi = 0;
    for (size_t i = 0; i < n; i++) {
        double ms = plotted_ms(&rows[i]);
        if (ms < 0)
            continue;
        lo = ms < lo ? ms : lo;
        hi = ms > hi ? ms : hi;
    }
    if (hi <= 0) {
        fprintf(f, "<text x=\"%d\" y=\"%d\">no timed successful commands</text>\n", L, H / 2);
        return close_svg(f, path, err);
    }
    double dlo = floor(log10(lo)), dhi = ceil(log10(hi));
    if (dhi <= dlo)
        dhi = dlo + 1;
    for (double d = dlo; d <= dhi; d++) {
        double y = (H - B) - (d - dlo) / (dhi - dlo) * (H - B - T);
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                L, y, W - R, y, L - 4, y + 4, pow(10, d));
    }
    x_axis(f, span);
    const histline_record *kinds[N_COLOURS];
    size_t n_kinds = 0;
    for (size_t i = 0; i < n; i++) {
        double ms = plotted_ms(&rows[i]);
        if (ms < 0)
            continue;
        size_t k = kind_index(&rows[i].rec, kinds, &n_kinds);
        double y = (H - B) - (log10(ms) - dlo) / (dhi - dlo) * (H - B - T);
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"><title>line %ld: ",
                x_of(rows[i].t0, span), y, palette[k], rows[i].rec.line);
        esc_html(f, rows[i].rec.text.p, rows[i].rec.text.n, 80);
        fprintf(f, " (%.3f ms)</title></circle>\n", ms);
    }
    for (size_t k = 0; k < n_kinds; k++) {
        fprintf(f, "<circle cx=\"%d\" cy=\"%zu\" r=\"4\" fill=\"%s\"/><text x=\"%d\" y=\"%zu\">",
                W - R + 16, T + 14 * k + 10, palette[k], W - R + 24, T + 14 * k + 14);
        esc_html(f, kinds[k]->cmd_word.p, kinds[k]->cmd_word.n, 20);
        fputs("</text>\n", f);
    }
    return close_svg(f, path, err);
}

#define BUCKETS 40

int plot_throughput(const timeline *t, const char *path, dkv_err *err)
{
    const timeline_row *rows;
    size_t n = timeline_rows(t, &rows);
    FILE *f = open_svg(path, "Throughput: commands completed per second", err);
    if (!f)
        return -1;
    int64_t span = span_us(rows, n);
    size_t ok[BUCKETS] = {0}, failed[BUCKETS] = {0};
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].t1 < 0 || rows[i].outcome == TIMELINE_EVENT)
            continue;
        size_t b = (size_t)((double)rows[i].t1 / (double)span * BUCKETS);
        b = b >= BUCKETS ? BUCKETS - 1 : b;
        if (rows[i].outcome == TIMELINE_OK)
            ok[b]++;
        else
            failed[b]++;
        any = true;
    }
    if (!any) {
        fprintf(f, "<text x=\"%d\" y=\"%d\">no timed commands</text>\n", L, H / 2);
        return close_svg(f, path, err);
    }
    double bucket_s = (double)span / 1e6 / BUCKETS, top = 0;
    for (size_t b = 0; b < BUCKETS; b++)
        top = (double)(ok[b] + failed[b]) / bucket_s > top ? (double)(ok[b] + failed[b]) / bucket_s
                                                           : top;
    for (int i = 0; i <= 4; i++) {
        double y = (H - B) - i / 4.0 * (H - B - T);
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n",
                L, y, W - R, y, L - 4, y + 4, top * i / 4);
    }
    x_axis(f, span);
    const char *series[2] = {"successful", "failed"};
    const char *colour[2] = {"#2ca02c", "#d62728"};
    for (int s = 0; s < 2; s++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour[s]);
        for (size_t b = 0; b < BUCKETS; b++) {
            double rate = (double)(s ? failed[b] : ok[b]) / bucket_s;
            fprintf(f, "%.1f,%.1f ", L + (W - L - R) * (b + 0.5) / BUCKETS,
                    (H - B) - rate / top * (H - B - T));
        }
        fprintf(f, "\"/>\n<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"3\" fill=\"%s\"/>"
                   "<text x=\"%d\" y=\"%d\">%s</text>\n",
                W - R + 12, T + 14 * s + 8, colour[s], W - R + 26, T + 14 * s + 12, series[s]);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#555\">buckets of %.3g s</text>\n", W - R + 12,
            T + 44, bucket_s);
    return close_svg(f, path, err);
}
