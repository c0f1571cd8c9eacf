/* page: the run's timeline as one static HTML page (index.html): no
 * scripts, no network; inline CSS, boxes placed with absolute positions.
 *
 * Time runs downwards, one row per history record (the master runs one
 * command at a time, so rows never overlap; a row's height grows with the
 * log of its latency). Lanes left to right: the time axis, the cluster's
 * commands, one column per client, one band per server, one per link that
 * had a fault. Violations found by bin/check are listed on top, their
 * operations outlined, and each links to the script listing below. */
#ifndef DKV_REPORT_PAGE_H
#define DKV_REPORT_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "../../common/err.h"
#include "checkjson.h"
#include "timeline.h"

/* One line of the script, as read. */
typedef struct page_line {
    const uint8_t *p;
    size_t n;
} page_line;

typedef struct page_input {
    const timeline *t;
    const checkjson *check;   /* NULL: no verdict */
    const page_line *script;  /* line i+1 is script[i] */
    size_t n_script;
    const char *const *files; /* files beside the page to link to (names) */
    size_t n_files;
} page_input;

/* Writes the page to path. -1 with err when it cannot be written. */
int page_write(const page_input *in, const char *path, dkv_err *err);

#endif
