/* report: draws a run as a results page.
 *
 *   bin/report HISTORY CHECK_JSON OUTDIR
 *
 * HISTORY is a history written by `master --history` (or --out), CHECK_JSON
 * the verdict `bin/check --json FILE HISTORY` wrote ("-": none). Writes
 * OUTDIR/index.html (the timeline page), OUTDIR/latency.svg and
 * OUTDIR/throughput.svg; OUTDIR is made when missing. The page lists
 * OUTDIR/script.txt when there is one (master --out writes it), else the
 * lines the history recorded. Lines of the history that cannot be read are
 * left out and named on the page. Exit status: 0 written, 2 not. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/vec.h"
#include "../../common/xalloc.h"
#include "../check/histline.h"
#include "checkjson.h"
#include "page.h"
#include "plot.h"
#include "timeline.h"

/* Files master --out writes beside the page, linked when present. */
static const char *const known_files[] = {
    "script.txt", "stdout.txt", "stderr.txt", "history.jsonl", "check.txt", "check.json",
    "stats.json", "latency.svg", "throughput.svg", "servers",
};
#define N_KNOWN (sizeof known_files / sizeof known_files[0])

static int usage(FILE *f)
{
    fprintf(f, "usage: report HISTORY CHECK_JSON OUTDIR\n"
               "  Draws the run of HISTORY (master --history) with the verdict CHECK_JSON\n"
               "  (bin/check --json CHECK_JSON HISTORY; - for none) as OUTDIR/index.html,\n"
               "  OUTDIR/latency.svg and OUTDIR/throughput.svg.\n");
    return 2;
}

static int read_history(const char *path, timeline *t)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "report: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    histline_reader *rd = histline_reader_new(f);
    bool ended = false;
    for (;;) {
        histline_record rec;
        dkv_err err;
        int rc = histline_reader_next(rd, &rec, &err);
        if (rc == 0)
            break;
        if (rc < 0) {
            if (ferror(f)) {
                fprintf(stderr, "report: %s: %s\n", path, err.msg);
                break;
            }
            /* A line the checker would refuse: drawn without it. */
            fprintf(stderr, "report: %s: %s (left out)\n", path, err.msg);
            timeline_skip_line(t, histline_reader_lines(rd), err.msg);
            continue;
        }
        if (rec.cmd == HISTLINE_END) {
            ended = true;
            histline_record_clear(&rec);
            continue;
        }
        timeline_add(t, &rec);
    }
    timeline_set_complete(t, ended);
    histline_reader_free(rd);
    if (f != stdin)
        fclose(f);
    return 0;
}

/* OUTDIR/script.txt cut into lines, when it exists; else the lines the
 * history recorded (blank lines and comments were not recorded). */
typedef struct script_text {
    char *buf;
    size_t len;
    page_line *lines;
    size_t n, cap;
} script_text;

static void load_script(const char *outdir, const timeline *t, script_text *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/script.txt", outdir);
    FILE *f = fopen(path, "rb");
    if (f) {
        char chunk[8192];
        size_t got, cap = 0;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
            s->buf = vec_reserve(s->buf, &cap, s->len + got, 1);
            memcpy(s->buf + s->len, chunk, got);
            s->len += got;
        }
        fclose(f);
        for (size_t i = 0; i < s->len;) {
            char *nl = memchr(s->buf + i, '\n', s->len - i);
            size_t end = nl ? (size_t)(nl - s->buf) : s->len;
            *VEC_PUSH(s->lines, s->n, s->cap) = (page_line){(const uint8_t *)s->buf + i, end - i};
            i = end + 1;
        }
        return;
    }
    const timeline_row *rows;
    size_t nr = timeline_rows(t, &rows);
    for (size_t i = 0; i < nr; i++) {
        const histline_record *rec = &rows[i].rec;
        if (histline_is_event(rec) || rec->line < 1 || rec->line > 10 * 1000 * 1000)
            continue;
        while (s->n < (size_t)rec->line)
            *VEC_PUSH(s->lines, s->n, s->cap) = (page_line){(const uint8_t *)"", 0};
        s->lines[rec->line - 1] = (page_line){rec->text.p, rec->text.n};
    }
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files beside the page worth a link: those master --out writes, and
 * each server's log in servers/. Names are malloc'ed; *n set. */
static char **files_beside(const char *outdir, size_t *n)
{
    char **files = NULL;
    size_t cap = 0;
    char path[4096];
    *n = 0;
    for (size_t i = 0; i < N_KNOWN; i++) {
        snprintf(path, sizeof path, "%s/%s", outdir, known_files[i]);
        if (access(path, F_OK) == 0)
            *VEC_PUSH(files, *n, cap) = xstrdup(known_files[i]);
    }
    size_t first_log = *n;
    snprintf(path, sizeof path, "%s/servers", outdir);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".log") != 0)
            continue;
        snprintf(path, sizeof path, "servers/%s", e->d_name);
        *VEC_PUSH(files, *n, cap) = xstrdup(path);
    }
    if (d)
        closedir(d);
    qsort(files + first_log, *n - first_log, sizeof *files, cmp_name);
    return files;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 4)
        return usage(stderr);
    const char *hist_path = argv[1], *check_path = argv[2], *outdir = argv[3];
    if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "report: cannot create %s: %s\n", outdir, strerror(errno));
        return 2;
    }
    dkv_err err;
    checkjson *cv = NULL;
    if (strcmp(check_path, "-") != 0 && !(cv = checkjson_load(check_path, &err))) {
        fprintf(stderr, "report: %s\n", err.msg);
        return 2;
    }
    timeline *t = timeline_new();
    int status = 0;
    if (read_history(hist_path, t) < 0)
        status = 2;
    char path[4096];
    if (status == 0) {
        timeline_finish(t, cv);
        snprintf(path, sizeof path, "%s/latency.svg", outdir);
        if (plot_latency(t, path, &err) < 0) {
            fprintf(stderr, "report: %s\n", err.msg);
            status = 2;
        }
        snprintf(path, sizeof path, "%s/throughput.svg", outdir);
        if (status == 0 && plot_throughput(t, path, &err) < 0) {
            fprintf(stderr, "report: %s\n", err.msg);
            status = 2;
        }
    }
    if (status == 0) {
        size_t nf;
        char **files = files_beside(outdir, &nf);
        script_text s = {0};
        load_script(outdir, t, &s);
        page_input in = {.t = t, .check = cv, .script = s.lines, .n_script = s.n,
                         .files = (const char *const *)files, .n_files = nf};
        snprintf(path, sizeof path, "%s/index.html", outdir);
        if (page_write(&in, path, &err) < 0) {
            fprintf(stderr, "report: %s\n", err.msg);
            status = 2;
        }
        free(s.lines);
        free(s.buf);
        for (size_t i = 0; i < nf; i++)
            free(files[i]);
        free(files);
    }
    timeline_free(t);
    checkjson_free(cv);
    return status;
}
