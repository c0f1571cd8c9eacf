/* check: verifies a history written by `master --history FILE` against the
 * consistency guarantees of SPEC section 4.
 *
 *   bin/check [--json FILE] HISTORY      (HISTORY - for standard input)
 *
 * --json FILE also writes the verdict for programs (bin/report) as one JSON
 * object: {"verdict": "valid" | "invalid" | "undecidable", "exit": N,
 * "operations": N, "violations": [{"kind", "line", "related": [lines],
 * "text"}], "error": why it cannot decide (only then)}.
 *
 * Every violation is printed on stdout as one paragraph; a summary goes to
 * stderr. Exit status: 0 the history is valid, 1 it is not, 2 the checker
 * cannot decide (unreadable file, a line that is not a complete record). */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "checker.h"
#include "histline.h"

static int usage(void)
{
    fprintf(stderr, "usage: check [--json FILE] HISTORY\n"
                    "  Checks a history written by `master --history HISTORY` (- reads stdin).\n"
                    "  --json FILE also writes the verdict and violations as JSON to FILE.\n"
                    "  Exit status: 0 valid, 1 violations found, 2 cannot decide.\n");
    return 2;
}

/* The verdict as JSON (see the top of this file). -1 when it cannot be
 * written, after saying so. */
static int write_json(const char *out, const checker *c, int status, const char *why)
{
    json_t *vs = json_array();
    for (size_t i = 0; i < checker_violation_count(c); i++) {
        const checker_violation *v = checker_violation_at(c, i);
        json_t *rel = json_array();
        for (size_t k = 0; k < v->n_related; k++)
            json_array_append_new(rel, json_integer(v->related[k]));
        json_array_append_new(vs, json_pack("{s:s,s:I,s:o,s:s}", "kind",
                                            checker_kind_name(v->kind), "line",
                                            (json_int_t)v->line, "related", rel, "text",
                                            v->text ? v->text : ""));
    }
    const char *verdict = status == 0 ? "valid" : status == 1 ? "invalid" : "undecidable";
    json_t *root = json_pack("{s:s,s:i,s:I,s:o}", "verdict", verdict, "exit", status,
                             "operations", (json_int_t)checker_ops(c), "violations", vs);
    if (why)
        json_object_set_new(root, "error", json_string(why));
    int rc = json_dump_file(root, out, JSON_INDENT(1));
    json_decref(root);
    if (rc < 0)
        fprintf(stderr, "check: cannot write %s: %s\n", out, strerror(errno));
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage();
        return 0;
    }
    const char *json_out = NULL;
    if (argc == 4 && strcmp(argv[1], "--json") == 0) {
        json_out = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc != 2)
        return usage();
    const char *path = argv[1];
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "check: cannot read %s: %s\n", path, strerror(errno));
        if (json_out) {
            checker *none = checker_new(NULL);
            write_json(json_out, none, 2, strerror(errno));
            checker_free(none);
        }
        return 2;
    }
    checker *c = checker_new(stdout);
    histline_reader *rd = histline_reader_new(f);
    int status = 0;
    bool ended = false;
    dkv_err err;
    char why[DKV_ERR_MAX + 64] = "";
    for (;;) {
        histline_record rec;
        int rc = histline_reader_next(rd, &rec, &err);
        if (rc == 0)
            break;
        if (rc > 0 && ended) {
            histline_record_clear(&rec);
            dkv_err_set(&err, "a record follows the end record");
            rc = -1;
        } else if (rc > 0 && rec.cmd == HISTLINE_END) {
            ended = true;
            histline_record_clear(&rec);
            continue;
        }
        if (rc < 0 || checker_feed(c, &rec, &err) < 0) {
            if (rc > 0)
                histline_record_clear(&rec);
            fprintf(stderr, "check: %s: %s\n", path, err.msg);
            snprintf(why, sizeof why, "%s", err.msg);
            status = 2;
            break;
        }
        histline_record_clear(&rec);
        fflush(stdout);
    }
    if (status == 0 && !ended) {
        fprintf(stderr, "check: %s: the history has no end record: the run was cut short, "
                        "or the file was truncated\n", path);
        snprintf(why, sizeof why, "the history has no end record: the run was cut short, or "
                                  "the file was truncated");
        status = 2;
    }
    size_t nv = checker_violation_count(c);
    if (status == 0 && nv > 0)
        status = 1;
    fprintf(stderr, "check: %zu operations, %zu violation%s", checker_ops(c), nv,
            nv == 1 ? "" : "s");
    if (checker_unknown_commands(c))
        fprintf(stderr, ", %zu unknown command%s taken as changing anything",
                checker_unknown_commands(c), checker_unknown_commands(c) == 1 ? "" : "s");
    if (status == 2)
        fprintf(stderr, " before the history became unreadable: cannot decide");
    fprintf(stderr, "\n");
    if (json_out && write_json(json_out, c, status, *why ? why : NULL) < 0 && status == 0)
        status = 2;
    histline_reader_free(rd);
    checker_free(c);
    if (f != stdin)
        fclose(f);
    return status;
}
