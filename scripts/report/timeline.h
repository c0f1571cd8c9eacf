/* timeline: what the report draws, derived from a history's records (read
 * with scripts/check/histline) and the checker's verdict: one row per
 * record in file order (the master runs one command at a time), lanes (the
 * cluster's own commands, one per client, one per server, one per link
 * that had a fault) and bands (a fault's span of rows on a lane: a server
 * down or paused, a link cut, blocked, delayed or flaky).
 *
 * Which commands open and close which band is one table in timeline.c;
 * command words it does not know become plain boxes in the cluster lane. */
#ifndef DKV_REPORT_TIMELINE_H
#define DKV_REPORT_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../check/histline.h"
#include "checkjson.h"

typedef enum timeline_outcome {
    TIMELINE_OK,
    TIMELINE_ERROR,   /* failed, and did nothing */
    TIMELINE_UNKNOWN, /* failed after a put was sent: it may have happened */
    TIMELINE_EVENT,   /* something outside the script (died, lost, back) */
} timeline_outcome;

typedef enum timeline_lane_kind {
    TIMELINE_LANE_CLUSTER, /* joinServer, stabilize, link commands, ... */
    TIMELINE_LANE_CLIENT,
    TIMELINE_LANE_SERVER,
    TIMELINE_LANE_LINK,
} timeline_lane_kind;

typedef struct timeline_lane {
    timeline_lane_kind kind;
    uint64_t a, b;  /* client or server: a; link: a and b */
    bool directed;  /* link: from a to b only */
} timeline_lane;

typedef struct timeline_row {
    histline_record rec;
    timeline_outcome outcome;
    size_t lane;     /* where its box goes */
    bool has_via;    /* put/get: the server lane it went through */
    size_t via_lane;
    int64_t t0, t1;  /* microseconds since the first record; -1: unknown */
    long violation;  /* index of the first violation at this row, or -1 */
} timeline_row;

typedef struct timeline_band {
    size_t lane;
    size_t from_row, to_row; /* rows it spans; to_row == number of rows: to the end */
    const char *css;         /* a class of the page's style sheet */
    char label[96];          /* "cut", "delay 100 20", "killed" */
} timeline_band;

/* A line of the history file the reader refused (it is left out). */
typedef struct timeline_skip {
    size_t file_line;
    char why[DKV_ERR_MAX];
} timeline_skip;

typedef struct timeline timeline;

/* Caller frees with timeline_free. */
timeline *timeline_new(void);
void timeline_free(timeline *t);
/* Takes over rec (cleared in the caller's hands). */
void timeline_add(timeline *t, histline_record *rec);
void timeline_skip_line(timeline *t, size_t file_line, const char *why);
/* Whether the end record was seen. */
void timeline_set_complete(timeline *t, bool complete);
bool timeline_complete(const timeline *t);
/* Derives lanes, bands and the violations' rows; cv may be NULL. Call once,
 * after the last timeline_add. */
void timeline_finish(timeline *t, const checkjson *cv);

size_t timeline_rows(const timeline *t, const timeline_row **rows);
size_t timeline_lanes(const timeline *t, const timeline_lane **lanes);
size_t timeline_bands(const timeline *t, const timeline_band **bands);
size_t timeline_skips(const timeline *t, const timeline_skip **skips);
/* The row of the operation at script line `line` (not an event), or -1. */
long timeline_row_of_line(const timeline *t, long line);

/* The i-th whitespace-separated token of a record's text (0: the command
 * word), up to a '#' comment, copied into out[cap]; false when absent. */
bool timeline_token(const histline_record *rec, size_t i, char *out, size_t cap);

#endif
