/* check: verifies a history written by `master --history FILE` against the
 * consistency guarantees of SPEC section 4.
 *
 *   bin/check HISTORY      (or - for standard input)
 *
 * Every violation is printed on stdout as one paragraph; a summary goes to
 * stderr. Exit status: 0 the history is valid, 1 it is not, 2 the checker
 * cannot decide (unreadable file, a line that is not a complete record). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "checker.h"
#include "histline.h"

static int usage(void)
{
    fprintf(stderr, "usage: check HISTORY\n"
                    "  Checks a history written by `master --history HISTORY` (- reads stdin).\n"
                    "  Exit status: 0 valid, 1 violations found, 2 cannot decide.\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage();
        return 0;
    }
    if (argc != 2)
        return usage();
    const char *path = argv[1];
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "check: cannot read %s: %s\n", path, strerror(errno));
        return 2;
    }
    checker *c = checker_new(stdout);
    histline_reader *rd = histline_reader_new(f);
    int status = 0;
    bool ended = false;
    dkv_err err;
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
            status = 2;
            break;
        }
        histline_record_clear(&rec);
        fflush(stdout);
    }
    if (status == 0 && !ended) {
        fprintf(stderr, "check: %s: the history has no end record: the run was cut short, "
                        "or the file was truncated\n", path);
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
    histline_reader_free(rd);
    checker_free(c);
    if (f != stdin)
        fclose(f);
    return status;
}
