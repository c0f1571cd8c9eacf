#include "page.h"
#include "esc.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/xalloc.h"

#define HEAD_H 40
#define AXIS_W 96
#define GAP 6

/* Width of a lane of each kind. */
static int lane_width(timeline_lane_kind k)
{
    switch (k) {
    case TIMELINE_LANE_CLUSTER: return 230;
    case TIMELINE_LANE_CLIENT: return 175;
    case TIMELINE_LANE_SERVER: return 86;
    case TIMELINE_LANE_LINK: return 70;
    }
    return 80;
}

static const char *lane_class(timeline_lane_kind k)
{
    switch (k) {
    case TIMELINE_LANE_CLUSTER: return "cluster";
    case TIMELINE_LANE_CLIENT: return "client";
    case TIMELINE_LANE_SERVER: return "server";
    case TIMELINE_LANE_LINK: return "link";
    }
    return "other";
}

static const char *outcome_class(timeline_outcome o)
{
    switch (o) {
    case TIMELINE_OK: return "ok";
    case TIMELINE_ERROR: return "error";
    case TIMELINE_UNKNOWN: return "unknown";
    case TIMELINE_EVENT: return "event";
    }
    return "ok";
}

/* A row's height: events are thin; commands grow with the log of their
 * latency, so a 10 s stabilize stands out without hiding 100 us puts. */
static int row_height(const timeline_row *r)
{
    if (r->outcome == TIMELINE_EVENT)
        return 20;
    int h = r->rec.n_groups ? 36 : 30;
    if (r->t0 >= 0 && r->t1 > r->t0) {
        double extra = 10 * log10((double)(r->t1 - r->t0) / 100.0);
        h += extra < 0 ? 0 : extra > 40 ? 40 : (int)extra;
    }
    return h;
}

static const char style[] =
    "body{font-family:sans-serif;font-size:13px;margin:16px;color:#222;background:#fafafa}"
    "h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:20px 0 8px}"
    ".verdict{display:inline-block;padding:4px 10px;border-radius:4px;font-weight:bold}"
    ".verdict.valid{background:#c8ecc8}.verdict.invalid{background:#f6b8b8}"
    ".verdict.undecidable,.verdict.none{background:#f3e0a0}"
    ".legend span{display:inline-block;margin:2px 6px 2px 0;padding:2px 8px;border:1px solid #999;"
    "border-radius:3px}"
    ".timeline{position:relative;background:#fff;border:1px solid #ccc;overflow-x:auto}"
    ".heads{position:sticky;top:0;height:" "40" "px;background:#eee;z-index:5;"
    "border-bottom:1px solid #aaa}"
    ".lane-head{position:absolute;top:0;height:40px;font-weight:bold;text-align:center;"
    "line-height:14px;padding-top:6px;box-sizing:border-box;font-size:12px}"
    ".lane-head small{font-weight:normal;color:#555}"
    ".body{position:relative}"
    ".lane-bg{position:absolute;top:0;bottom:0;border-left:1px dashed #ddd}"
    ".lane-bg.server{background:#f4f7fb}.lane-bg.link{background:#fbf8f3}"
    ".tick{position:absolute;left:2px;width:88px;font-size:10px;color:#777;text-align:right;"
    "border-top:1px solid #eee}"
    ".op{position:absolute;box-sizing:border-box;border:1px solid #555;border-radius:3px;"
    "padding:1px 4px;font-size:11px;line-height:13px;overflow:hidden;white-space:nowrap;"
    "text-overflow:ellipsis;z-index:2}"
    ".op a{color:inherit}"
    ".op.ok{background:#bfe6bf}.op.error{background:#f4a6a6}.op.unknown{background:#f7d26a}"
    ".op.event{background:#333;color:#fff;border-color:#000}"
    ".op.bad{outline:3px solid #d00;outline-offset:1px;z-index:3}"
    ".vbadge{display:inline-block;background:#d00;color:#fff!important;font-weight:bold;"
    "padding:0 4px;margin-right:3px;border-radius:2px;text-decoration:none}"
    ".res{color:#333}"
    ".band{position:absolute;box-sizing:border-box;font-size:10px;text-align:center;"
    "overflow:hidden;z-index:1;opacity:.85;border-radius:2px;writing-mode:vertical-rl;"
    "padding-top:2px}"
    ".band.down{background:repeating-linear-gradient(45deg,#e05555,#e05555 6px,#f2a0a0 6px,"
    "#f2a0a0 12px);color:#fff}"
    ".band.paused{background:#9a9a9a;color:#fff}"
    ".band.cut{background:#f0a030}.band.blocked{background:#b36ae2;color:#fff}"
    ".band.delayed{background:#6fb3e8}.band.flaky{background:repeating-linear-gradient(0deg,"
    "#e8c46f,#e8c46f 5px,#fff 5px,#fff 8px)}"
    ".band.other{background:#ccc}"
    ".band.absent{background:#e4e4e4;color:#777;opacity:.6}"
    ".via{position:absolute;width:10px;height:10px;border-radius:5px;background:#555;z-index:2}"
    ".group{position:absolute;box-sizing:border-box;font-size:10px;text-align:center;"
    "border:1px solid #555;border-radius:3px;z-index:2}"
    ".violation{border:2px solid #d00;background:#fff0f0;padding:6px 10px;margin:8px 0;"
    "border-radius:4px}"
    ".vkind{font-weight:bold;color:#a00}"
    ".explanation{margin:4px 0 0;white-space:pre-wrap}"
    ".script{font-family:monospace;background:#fff;border:1px solid #ccc;padding:6px}"
    ".sl{white-space:pre}.sl .ln{display:inline-block;width:48px;color:#888;text-align:right;"
    "margin-right:8px}"
    ".sl.bad{background:#fdd}.sl:target{background:#ff9}"
    ".skip{color:#a00}"
    "img.plot{border:1px solid #ccc;background:#fff;margin:4px}";

static void attr_line_text(FILE *f, const histline_record *rec)
{
    esc_html(f, rec->text.p, rec->text.n, 300);
}

/* The result of a record in a few words (the box's second line). */
static void result_words(FILE *f, const timeline_row *r)
{
    const histline_record *rec = &r->rec;
    if (r->outcome == TIMELINE_EVENT) {
        if (rec->error.p)
            esc_html(f, rec->error.p, rec->error.n, 80);
        return;
    }
    if (!rec->ok) {
        fputs(r->outcome == TIMELINE_UNKNOWN ? "unknown outcome: " : "failed: ", f);
        if (rec->error.p)
            esc_html(f, rec->error.p, rec->error.n, 200);
        return;
    }
    if (rec->cmd == HISTLINE_GET) {
        if (rec->result == HISTLINE_RES_OK) {
            fputs("&#8594; ", f);
            esc_html(f, rec->value.p, rec->value.n, 40);
        } else {
            fputs(rec->result == HISTLINE_RES_ERR_KEY ? "ERR_KEY" : "ERR_DEP", f);
        }
    } else if (rec->cmd == HISTLINE_PUT && rec->has_version && !dkv_version_is_none(rec->version)) {
        fprintf(f, "ok, version (%" PRIu64 ",%" PRIu64 ")", rec->version.lamport,
                rec->version.origin);
    } else if (rec->has_groups) {
        fputs("groups", f);
        for (size_t g = 0; g < rec->n_groups; g++) {
            fputs(" {", f);
            for (size_t k = 0; k < rec->groups[g].n; k++)
                fprintf(f, "%s%" PRIu64, k ? " " : "", rec->groups[g].ids[k]);
            fputs("}", f);
        }
    } else if (rec->has_store) {
        fprintf(f, "%zu key%s", rec->n_store, rec->n_store == 1 ? "" : "s");
    } else {
        fputs("ok", f);
    }
}

static void latency_words(FILE *f, const timeline_row *r)
{
    if (r->t0 >= 0 && r->outcome != TIMELINE_EVENT)
        fprintf(f, "%.3f ms", (double)(r->t1 - r->t0) / 1e3);
}

/* The box's hover text: everything about the record. */
static void title_of(FILE *f, const timeline_row *r)
{
    const histline_record *rec = &r->rec;
    if (r->outcome == TIMELINE_EVENT) {
        fprintf(f, "noticed at line %ld: ", rec->line);
        esc_html(f, rec->cmd_word.p, rec->cmd_word.n, 40);
    } else {
        fprintf(f, "line %ld: ", rec->line);
        attr_line_text(f, rec);
    }
    if (rec->has_server && rec->cmd == HISTLINE_DIED)
        fprintf(f, " (server %" PRIu64 ")", rec->server);
    else if (rec->has_client && rec->cmd == HISTLINE_DIED)
        fprintf(f, " (client %" PRIu64 ")", rec->client);
    fputs("&#10;result: ", f);
    result_words(f, r);
    if (r->t0 >= 0 && r->outcome != TIMELINE_EVENT) {
        fputs("&#10;latency: ", f);
        latency_words(f, r);
    }
    if (r->t0 >= 0)
        fprintf(f, "&#10;started: +%.3f ms", (double)r->t0 / 1e3);
    if (r->has_via)
        fprintf(f, "&#10;through server %" PRIu64, rec->server);
    if (rec->has_dep_before && rec->has_dep_after)
        fprintf(f, "&#10;client's dependency: (%" PRIu64 ",%" PRIu64 ") before, (%" PRIu64
                   ",%" PRIu64 ") after",
                rec->dep_before.lamport, rec->dep_before.origin, rec->dep_after.lamport,
                rec->dep_after.origin);
    for (size_t i = 0; i < rec->n_store && i < 20; i++) {
        fputs(i ? ", " : "&#10;store: ", f);
        esc_html(f, rec->store[i].key.p, rec->store[i].key.n, 30);
        fputs(":", f);
        esc_html(f, rec->store[i].value.p, rec->store[i].value.n, 30);
    }
    if (rec->n_store > 20)
        fputs(", ...", f);
}

static void lane_title(FILE *f, const timeline_lane *l)
{
    switch (l->kind) {
    case TIMELINE_LANE_CLUSTER: fputs("cluster<br><small>servers, links, stabilize</small>", f); break;
    case TIMELINE_LANE_CLIENT: fprintf(f, "client %" PRIu64 "<br><small>put, get</small>", l->a); break;
    case TIMELINE_LANE_SERVER: fprintf(f, "server %" PRIu64 "<br><small>faults, groups</small>", l->a); break;
    case TIMELINE_LANE_LINK:
        fprintf(f, "link<br>%" PRIu64 "%s%" PRIu64, l->a, l->directed ? "&#8594;" : "&#8596;", l->b);
        break;
    }
}

static void lane_id(FILE *f, const timeline_lane *l)
{
    if (l->kind == TIMELINE_LANE_LINK)
        fprintf(f, "link-%" PRIu64 "-%" PRIu64 "%s", l->a, l->b, l->directed ? "-dir" : "");
    else if (l->kind == TIMELINE_LANE_CLUSTER)
        fputs("cluster", f);
    else
        fprintf(f, "%s-%" PRIu64, lane_class(l->kind), l->a);
}

static void write_header(FILE *f, const page_input *in)
{
    fputs("<h1>Daadkvs run: timeline</h1>\n<p>", f);
    const checkjson *cv = in->check;
    if (!cv) {
        fputs("<span class=\"verdict none\" id=\"verdict\">no checker verdict given</span>", f);
    } else {
        const checkjson_violation *v;
        size_t nv = checkjson_violations(cv, &v);
        fprintf(f, "<span class=\"verdict %s\" id=\"verdict\">bin/check: %s &#8212; %ld operations, "
                   "%zu violation%s</span>",
                checkjson_verdict(cv), checkjson_verdict(cv), checkjson_operations(cv), nv,
                nv == 1 ? "" : "s");
        if (checkjson_error(cv)) {
            fputs(" <span class=\"skip\">cannot decide: ", f);
            esc_html_str(f, checkjson_error(cv));
            fputs("</span>", f);
        }
    }
    fputs("</p>\n", f);
    if (!timeline_complete(in->t))
        fputs("<p class=\"skip\" id=\"incomplete\">The history has no end record: the run was "
              "cut short, or the file was truncated.</p>\n",
              f);
    const timeline_skip *sk;
    size_t ns = timeline_skips(in->t, &sk);
    for (size_t i = 0; i < ns; i++) {
        fprintf(f, "<p class=\"skip\">line %zu of the history file left out: ", sk[i].file_line);
        esc_html_str(f, sk[i].why);
        fputs("</p>\n", f);
    }
    if (in->n_files) {
        fputs("<p>Files: ", f);
        for (size_t i = 0; i < in->n_files; i++) {
            fputs(i ? " &#183; <a href=\"" : "<a href=\"", f);
            esc_html_str(f, in->files[i]);
            fputs("\">", f);
            esc_html_str(f, in->files[i]);
            fputs("</a>", f);
        }
        fputs("</p>\n", f);
    }
    fputs("<p class=\"legend\">Operations: <span class=\"op-sample\" style=\"background:#bfe6bf\">"
          "ok</span><span style=\"background:#f4a6a6\">failed</span><span style=\"background:"
          "#f7d26a\">unknown outcome (a failed put that may have happened)</span><span style="
          "\"background:#333;color:#fff\">outside the script (died, lost, back)</span>"
          "<span style=\"outline:3px solid #d00\">violation</span><br>Faults: "
          "<span class=\"band-sample down\" style=\"background:#e05555;color:#fff\">server down "
          "(killed, died)</span><span style=\"background:#9a9a9a;color:#fff\">paused</span>"
          "<span style=\"background:#f0a030\">link cut</span><span style=\"background:#b36ae2;"
          "color:#fff\">blocked</span><span style=\"background:#6fb3e8\">delayed</span>"
          "<span style=\"background:#e8c46f\">flaky</span><span style=\"background:#e4e4e4\">"
          "not started yet</span> &#183; a dot in a server's band: the "
          "server an operation went through; a numbered chip: the server's group at a "
          "stabilize. Time runs downwards; hover a box for its details.</p>\n",
          f);
}

static void write_violations(FILE *f, const page_input *in)
{
    if (!in->check)
        return;
    const checkjson_violation *v;
    size_t nv = checkjson_violations(in->check, &v);
    if (nv == 0)
        return;
    fputs("<h2>Violations</h2>\n<section id=\"violations\">\n", f);
    for (size_t i = 0; i < nv; i++) {
        fprintf(f, "<div class=\"violation\" id=\"v%zu\" data-line=\"%ld\"><span class=\"vkind\">",
                i + 1, v[i].line);
        esc_html_str(f, v[i].kind);
        fprintf(f, "</span> at <a class=\"line-link\" href=\"#L%ld\">line %ld</a>", v[i].line,
                v[i].line);
        long row = timeline_row_of_line(in->t, v[i].line);
        if (row >= 0)
            fprintf(f, " (<a href=\"#op-%ld\">in the timeline</a>)", row);
        for (size_t k = 0; k < v[i].n_related; k++)
            fprintf(f, "%s<a class=\"line-link\" href=\"#L%ld\">%ld</a>",
                    k ? ", " : v[i].n_related == 1 ? "; also line " : "; also lines ",
                    v[i].related[k], v[i].related[k]);
        fputs("<p class=\"explanation\">", f);
        esc_html_str(f, v[i].text);
        fputs("</p></div>\n", f);
    }
    fputs("</section>\n", f);
}

static void write_timeline(FILE *f, const page_input *in)
{
    const timeline_row *rows;
    const timeline_lane *lanes;
    const timeline_band *bands;
    size_t nr = timeline_rows(in->t, &rows), nl = timeline_lanes(in->t, &lanes),
           nb = timeline_bands(in->t, &bands);
    int x[256 + 1];
    size_t shown = nl < 256 ? nl : 256; /* more lanes than that would not be readable */
    x[0] = AXIS_W;
    for (size_t i = 0; i < shown; i++)
        x[i + 1] = x[i] + lane_width(lanes[i].kind) + GAP;
    int width = x[shown] + 4;
    /* y of each row's top, and of the end (y[nr]). */
    int *ys = xcalloc(nr + 1, sizeof *ys);
    ys[0] = 6;
    for (size_t i = 0; i < nr; i++)
        ys[i + 1] = ys[i] + row_height(&rows[i]) + 4;

    fprintf(f, "<h2>Timeline</h2>\n<div class=\"timeline\" id=\"timeline\" style=\"width:%dpx\">\n"
               "<div class=\"heads\" style=\"width:%dpx\">"
               "<div class=\"lane-head axis\" style=\"left:0;width:%dpx\">time<br><small>since "
               "start</small></div>\n",
            width, width, AXIS_W);
    for (size_t i = 0; i < shown; i++) {
        fprintf(f, "<div class=\"lane-head %s\" id=\"head-", lane_class(lanes[i].kind));
        lane_id(f, &lanes[i]);
        fprintf(f, "\" style=\"left:%dpx;width:%dpx\">", x[i], lane_width(lanes[i].kind));
        lane_title(f, &lanes[i]);
        fputs("</div>\n", f);
    }
    fprintf(f, "</div>\n<div class=\"body\" style=\"height:%dpx\">\n", ys[nr] + 6);
    for (size_t i = 0; i < shown; i++)
        fprintf(f, "<div class=\"lane-bg %s\" style=\"left:%dpx;width:%dpx\"></div>\n",
                lane_class(lanes[i].kind), x[i] - GAP / 2, lane_width(lanes[i].kind) + GAP);
    /* Bands that overlap in a lane (a link delayed and flaky at once) sit
     * side by side: each takes the first slot no earlier overlapping band
     * of its lane holds, and a lane's bands share its width. */
    size_t *slot = xcalloc(nb + 1, sizeof *slot), *n_slots = xcalloc(nl + 1, sizeof *n_slots);
    for (size_t i = 0; i < nb; i++) {
        uint64_t used = 0;
        for (size_t k = 0; k < i; k++)
            if (bands[k].lane == bands[i].lane && bands[k].from_row < bands[i].to_row &&
                bands[i].from_row < bands[k].to_row && slot[k] < 64)
                used |= (uint64_t)1 << slot[k];
        while (slot[i] < 63 && (used >> slot[i] & 1))
            slot[i]++;
        if (slot[i] + 1 > n_slots[bands[i].lane])
            n_slots[bands[i].lane] = slot[i] + 1;
    }
    for (size_t i = 0; i < nb; i++) {
        const timeline_band *b = &bands[i];
        if (b->lane >= shown)
            continue;
        int w = lane_width(lanes[b->lane].kind);
        int bw = n_slots[b->lane] > 1 ? (w - 8) / (int)n_slots[b->lane] : w / 2;
        int left = n_slots[b->lane] > 1 ? x[b->lane] + 4 + (int)slot[i] * bw : x[b->lane] + w / 4;
        int top = ys[b->from_row] + row_height(&rows[b->from_row]) / 2;
        int bottom = b->to_row < nr ? ys[b->to_row] + row_height(&rows[b->to_row]) / 2 : ys[nr];
        fprintf(f, "<div class=\"band %s\" style=\"left:%dpx;width:%dpx;top:%dpx;height:%dpx\" "
                   "title=\"",
                b->css, left, bw > 2 ? bw - 1 : 1, top, bottom - top > 4 ? bottom - top : 4);
        esc_html_str(f, b->label);
        fprintf(f, " from line %ld", rows[b->from_row].rec.line);
        if (b->to_row < nr)
            fprintf(f, " to line %ld", rows[b->to_row].rec.line);
        fputs("\">", f);
        esc_html_str(f, b->label);
        fputs("</div>\n", f);
    }
    for (size_t i = 0; i < nr; i++) {
        const timeline_row *r = &rows[i];
        int h = row_height(r);
        if (r->t0 >= 0)
            fprintf(f, "<div class=\"tick\" style=\"top:%dpx\">+%.3f ms</div>\n", ys[i],
                    (double)r->t0 / 1e3);
        if (r->lane < shown) {
            fprintf(f, "<div class=\"op %s%s\" id=\"op-%zu\" data-line=\"%ld\" data-cmd=\"",
                    outcome_class(r->outcome), r->violation >= 0 ? " bad" : "", i, r->rec.line);
            esc_html(f, r->rec.cmd_word.p, r->rec.cmd_word.n, 40);
            fprintf(f, "\" style=\"left:%dpx;width:%dpx;top:%dpx;height:%dpx\" title=\"",
                    x[r->lane], lane_width(lanes[r->lane].kind), ys[i], h);
            title_of(f, r);
            fputs("\">", f);
            if (r->violation >= 0)
                fprintf(f, "<a class=\"vbadge\" href=\"#v%ld\">!</a>", r->violation + 1);
            if (r->outcome == TIMELINE_EVENT) {
                esc_html(f, r->rec.cmd_word.p, r->rec.cmd_word.n, 20);
                if (r->rec.has_server)
                    fprintf(f, " server %" PRIu64, r->rec.server);
                else if (r->rec.has_client)
                    fprintf(f, " client %" PRIu64, r->rec.client);
            } else {
                fprintf(f, "<a href=\"#L%ld\">L%ld</a> ", r->rec.line, r->rec.line);
                esc_html(f, r->rec.text.p, r->rec.text.n, 60);
                fputs("<br><span class=\"res\">", f);
                result_words(f, r);
                if (r->t0 >= 0) {
                    fputs(" &#183; ", f);
                    latency_words(f, r);
                }
                fputs("</span>", f);
            }
            fputs("</div>\n", f);
        }
        if (r->has_via && r->via_lane < shown)
            fprintf(f, "<div class=\"via\" style=\"left:%dpx;top:%dpx\" title=\"line %ld went "
                       "through server %" PRIu64 "\"></div>\n",
                    x[r->via_lane] + lane_width(TIMELINE_LANE_SERVER) / 2 - 5, ys[i] + h / 2 - 5,
                    r->rec.line, r->rec.server);
        /* A stabilize's groups, as a numbered chip in each member's band. */
        for (size_t g = 0; r->rec.ok && g < r->rec.n_groups; g++)
            for (size_t k = 0; k < r->rec.groups[g].n; k++)
                for (size_t l = 0; l < shown; l++) {
                    if (lanes[l].kind != TIMELINE_LANE_SERVER ||
                        lanes[l].a != r->rec.groups[g].ids[k])
                        continue;
                    int w = lane_width(TIMELINE_LANE_SERVER);
                    fprintf(f, "<div class=\"group g%zu\" style=\"left:%dpx;width:%dpx;top:%dpx;"
                               "height:%dpx;background:hsl(%zu,70%%,78%%)\" title=\"line %ld "
                               "stabilize: server %" PRIu64 " in group %zu:",
                            g + 1, x[l] + 4, w - 8, ys[i] + 2, h - 4, (g * 67 + 200) % 360,
                            r->rec.line, lanes[l].a, g + 1);
                    for (size_t m = 0; m < r->rec.groups[g].n; m++)
                        fprintf(f, " %" PRIu64, r->rec.groups[g].ids[m]);
                    fprintf(f, "\">group %zu</div>\n", g + 1);
                }
    }
    fputs("</div>\n</div>\n", f);
    free(ys);
    free(slot);
    free(n_slots);
    if (shown < nl)
        fprintf(f, "<p class=\"skip\">%zu more lanes left out.</p>\n", nl - shown);
}

static void write_script(FILE *f, const page_input *in)
{
    fputs("<h2>Script</h2>\n<div class=\"script\" id=\"script\">\n", f);
    const checkjson_violation *v = NULL;
    size_t nv = in->check ? checkjson_violations(in->check, &v) : 0;
    for (size_t i = 0; i < in->n_script; i++) {
        long line = (long)i + 1;
        long first_v = -1;
        for (size_t k = 0; k < nv && first_v < 0; k++)
            if (v[k].line == line)
                first_v = (long)k;
        fprintf(f, "<div class=\"sl%s\" id=\"L%ld\">", first_v >= 0 ? " bad" : "", line);
        long row = timeline_row_of_line(in->t, line);
        if (row >= 0)
            fprintf(f, "<a class=\"ln\" href=\"#op-%ld\">%ld</a>", row, line);
        else
            fprintf(f, "<span class=\"ln\">%ld</span>", line);
        esc_html(f, in->script[i].p, in->script[i].n, 400);
        if (first_v >= 0)
            fprintf(f, "  <a class=\"vbadge\" href=\"#v%ld\">! %s</a>", first_v + 1,
                    "violation");
        fputs("</div>\n", f);
    }
    fputs("</div>\n", f);
}

static void write_plots(FILE *f, const page_input *in)
{
    bool lat = false, thr = false;
    for (size_t i = 0; i < in->n_files; i++) {
        lat |= strcmp(in->files[i], "latency.svg") == 0;
        thr |= strcmp(in->files[i], "throughput.svg") == 0;
    }
    if (!lat && !thr)
        return;
    fputs("<h2>Plots</h2>\n<div id=\"plots\">", f);
    if (lat)
        fputs("<img class=\"plot\" src=\"latency.svg\" alt=\"latency over time per command "
              "kind\">",
              f);
    if (thr)
        fputs("<img class=\"plot\" src=\"throughput.svg\" alt=\"throughput over time\">", f);
    fputs("</div>\n", f);
}

int page_write(const page_input *in, const char *path, dkv_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return dkv_err_set(err, "cannot write %s: %s", path, strerror(errno));
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<title>Daadkvs run: timeline</title>\n<style>%s</style></head>\n<body>\n",
            style);
    write_header(f, in);
    write_violations(f, in);
    write_timeline(f, in);
    write_plots(f, in);
    write_script(f, in);
    fputs("</body></html>\n", f);
    if (ferror(f) | (fclose(f) != 0))
        return dkv_err_set(err, "cannot write %s", path);
    return 0;
}
