#include "timeline.h"
#include "../../common/ids.h"
#include "../../common/vec.h"
#include "../../common/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum band_scope {
    SCOPE_SERVER,    /* the server named by the record */
    SCOPE_LINK,      /* the link between a and b, either way */
    SCOPE_LINK_DIR,  /* frames from a to b */
} band_scope;

/* Which command opens a band and which closes it. close NULL: the same
 * command replaces the band, and ends it when its last argument is 0
 * (delayLink A B 0, flakyLink A B 0). rejoin: a joinServer of the server,
 * or of either end of the link, ends it too (a rejoining server gets every
 * link back: README, "Choices where SPEC.md is silent"). Adding a fault
 * kind to the page is one line here (and a colour in page.c's style
 * sheet). */
static const struct band_kind {
    const char *open, *close;
    band_scope scope;
    bool rejoin;
    const char *css, *label;
} band_kinds[] = {
    {"killServer", "joinServer", SCOPE_SERVER, true, "down", "killed"},
    {"died", "joinServer", SCOPE_SERVER, true, "down", "died"},
    {"pauseServer", "resumeServer", SCOPE_SERVER, true, "paused", "paused"},
    {"breakConnection", "createConnection", SCOPE_LINK, true, "cut", "cut"},
    {"blockLink", "unblockLink", SCOPE_LINK_DIR, false, "blocked", "blocked"},
    {"delayLink", NULL, SCOPE_LINK_DIR, false, "delayed", "delay"},
    {"flakyLink", NULL, SCOPE_LINK_DIR, false, "flaky", "flaky"},
};
#define N_BAND_KINDS (sizeof band_kinds / sizeof band_kinds[0])

struct timeline {
    timeline_row *rows;
    size_t n_rows, cap_rows;
    timeline_lane *lanes;
    size_t n_lanes, cap_lanes;
    timeline_band *bands;
    size_t n_bands, cap_bands;
    timeline_skip *skips;
    size_t n_skips, cap_skips;
    bool complete;
};

timeline *timeline_new(void) { return xcalloc(1, sizeof(timeline)); }

void timeline_free(timeline *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_rows; i++)
        histline_record_clear(&t->rows[i].rec);
    free(t->rows);
    free(t->lanes);
    free(t->bands);
    free(t->skips);
    free(t);
}

void timeline_add(timeline *t, histline_record *rec)
{
    timeline_row *r = VEC_PUSH(t->rows, t->n_rows, t->cap_rows);
    r->rec = *rec;
    memset(rec, 0, sizeof *rec);
}

void timeline_skip_line(timeline *t, size_t file_line, const char *why)
{
    timeline_skip *s = VEC_PUSH(t->skips, t->n_skips, t->cap_skips);
    s->file_line = file_line;
    snprintf(s->why, sizeof s->why, "%s", why);
}

void timeline_set_complete(timeline *t, bool complete) { t->complete = complete; }
bool timeline_complete(const timeline *t) { return t->complete; }

bool timeline_token(const histline_record *rec, size_t i, char *out, size_t cap)
{
    const char *p = (const char *)rec->text.p, *end = p ? p + rec->text.n : NULL;
    if (!p)
        return false;
    for (size_t k = 0;; k++) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        if (p == end || *p == '#')
            return false;
        const char *s = p;
        while (p < end && *p != ' ' && *p != '\t' && *p != '\r')
            p++;
        if (k == i) {
            size_t n = (size_t)(p - s) < cap - 1 ? (size_t)(p - s) : cap - 1;
            memcpy(out, s, n);
            out[n] = '\0';
            return true;
        }
    }
}

static bool token_id(const histline_record *rec, size_t i, uint64_t *id)
{
    char tok[32];
    return timeline_token(rec, i, tok, sizeof tok) &&
           ids_parse_u64(tok, UINT64_MAX, id, NULL) == 0;
}

static bool cmd_is(const histline_record *rec, const char *word)
{
    return rec->cmd_word.p && strlen(word) == rec->cmd_word.n &&
           memcmp(rec->cmd_word.p, word, rec->cmd_word.n) == 0;
}

static size_t lane_of(timeline *t, timeline_lane_kind kind, uint64_t a, uint64_t b, bool dir)
{
    for (size_t i = 0; i < t->n_lanes; i++) {
        timeline_lane *l = &t->lanes[i];
        if (l->kind == kind && l->a == a && (kind != TIMELINE_LANE_LINK ||
                                             (l->b == b && l->directed == dir)))
            return i;
    }
    timeline_lane *l = VEC_PUSH(t->lanes, t->n_lanes, t->cap_lanes);
    *l = (timeline_lane){kind, a, b, dir};
    return t->n_lanes - 1;
}

/* The server a record names (its field, else its first argument). */
static bool server_of(const histline_record *rec, uint64_t *id)
{
    if (rec->has_server) {
        *id = rec->server;
        return true;
    }
    return token_id(rec, 1, id);
}

/* The two ends a link record names, ordered as written. */
static bool ends_of(const histline_record *rec, uint64_t *a, uint64_t *b)
{
    if (rec->has_a && rec->has_b) {
        *a = rec->a;
        *b = rec->b;
        return true;
    }
    return token_id(rec, 1, a) && token_id(rec, 2, b);
}

static bool band_lane(timeline *t, const struct band_kind *k, const histline_record *rec,
                      size_t *lane)
{
    uint64_t a, b;
    if (k->scope == SCOPE_SERVER) {
        if (!server_of(rec, &a))
            return false;
        *lane = lane_of(t, TIMELINE_LANE_SERVER, a, 0, false);
        return true;
    }
    if (!ends_of(rec, &a, &b))
        return false;
    bool dir = k->scope == SCOPE_LINK_DIR;
    if (!dir && a > b) {
        uint64_t x = a;
        a = b;
        b = x;
    }
    *lane = lane_of(t, TIMELINE_LANE_LINK, a, b, dir);
    return true;
}

/* The arguments after the ids ("100 20" of delayLink 3 4 100 20). */
static void extra_args(const histline_record *rec, size_t first, char *out, size_t cap)
{
    out[0] = '\0';
    char tok[64];
    size_t n = 0;
    for (size_t i = first; timeline_token(rec, i, tok, sizeof tok); i++) {
        size_t len = strlen(tok);
        if (n + 1 + len + 1 > cap)
            break; /* the label shows what fits */
        if (n)
            out[n++] = ' ';
        memcpy(out + n, tok, len + 1);
        n += len;
    }
}

/* Closes the open bands of the given kind css on lane (to before row). */
static bool close_bands(timeline *t, size_t lane, const char *close_word, const char *same_open,
                        size_t row)
{
    bool closed = false;
    for (size_t i = 0; i < t->n_bands; i++) {
        timeline_band *b = &t->bands[i];
        if (b->lane != lane || b->to_row != SIZE_MAX)
            continue;
        for (size_t k = 0; k < N_BAND_KINDS; k++) {
            const struct band_kind *bk = &band_kinds[k];
            if (strcmp(bk->css, b->css) != 0)
                continue;
            if ((close_word && bk->close && strcmp(bk->close, close_word) == 0) ||
                (same_open && !bk->close && strcmp(bk->open, same_open) == 0)) {
                b->to_row = row;
                closed = true;
                break;
            }
        }
    }
    return closed;
}

static void open_band(timeline *t, size_t lane, size_t row, const struct band_kind *k,
                      const char *args)
{
    timeline_band *b = VEC_PUSH(t->bands, t->n_bands, t->cap_bands);
    b->lane = lane;
    b->from_row = row;
    b->to_row = SIZE_MAX;
    b->css = k->css;
    snprintf(b->label, sizeof b->label, "%s%s%s", k->label, *args ? " " : "", args);
}

/* A joinServer of server id ends the bands that a rejoin heals. */
static void rejoin_heals(timeline *t, uint64_t id, size_t row)
{
    for (size_t i = 0; i < t->n_bands; i++) {
        timeline_band *b = &t->bands[i];
        const timeline_lane *l = &t->lanes[b->lane];
        if (b->to_row != SIZE_MAX || (l->a != id && (l->kind != TIMELINE_LANE_LINK || l->b != id)))
            continue;
        for (size_t k = 0; k < N_BAND_KINDS; k++)
            if (band_kinds[k].rejoin && strcmp(band_kinds[k].css, b->css) == 0) {
                b->to_row = row;
                break;
            }
    }
}

/* What a successful record does to the bands. */
static void apply_bands(timeline *t, size_t row)
{
    const histline_record *rec = &t->rows[row].rec;
    if (!rec->ok)
        return;
    if (rec->cmd == HISTLINE_LOST) {
        static const struct band_kind lost = {"lost", "joinServer", SCOPE_SERVER, true, "down",
                                              "machine lost"};
        for (size_t i = 0; i < rec->n_lost_servers; i++)
            open_band(t, lane_of(t, TIMELINE_LANE_SERVER, rec->lost_servers[i], 0, false), row,
                      &lost, "");
        return;
    }
    uint64_t id;
    if (rec->cmd == HISTLINE_JOIN_SERVER && server_of(rec, &id))
        rejoin_heals(t, id, row);
    for (size_t k = 0; k < N_BAND_KINDS; k++) {
        const struct band_kind *bk = &band_kinds[k];
        size_t lane;
        if (bk->close && cmd_is(rec, bk->close) && band_lane(t, bk, rec, &lane))
            close_bands(t, lane, bk->close, NULL, row);
        if (!cmd_is(rec, bk->open) || !band_lane(t, bk, rec, &lane))
            continue;
        char args[64];
        extra_args(rec, bk->scope == SCOPE_SERVER ? 2 : 3, args, sizeof args);
        if (!bk->close) {
            close_bands(t, lane, NULL, bk->open, row);
            const char *last = strrchr(args, ' ');
            last = last ? last + 1 : args;
            if (!*args || strcmp(last, "0") == 0)
                continue; /* turned off */
        }
        open_band(t, lane, row, bk, args);
    }
}

static timeline_outcome outcome_of(const histline_record *rec)
{
    if (histline_is_event(rec))
        return TIMELINE_EVENT;
    if (rec->ok)
        return TIMELINE_OK;
    if (rec->cmd == HISTLINE_PUT && rec->error.p &&
        strstr((const char *)rec->error.p, "may or may not"))
        return TIMELINE_UNKNOWN;
    return TIMELINE_ERROR;
}

static int cmp_lane(const void *x, const void *y)
{
    const timeline_lane *a = x, *b = y;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    if (a->b != b->b)
        return a->b < b->b ? -1 : 1;
    return (int)a->directed - (int)b->directed;
}

/* Every client and server the history names gets its lane. */
static void find_lanes(timeline *t)
{
    lane_of(t, TIMELINE_LANE_CLUSTER, 0, 0, false);
    for (size_t i = 0; i < t->n_rows; i++) {
        const histline_record *rec = &t->rows[i].rec;
        if (rec->has_client)
            lane_of(t, TIMELINE_LANE_CLIENT, rec->client, 0, false);
        if (rec->has_server)
            lane_of(t, TIMELINE_LANE_SERVER, rec->server, 0, false);
        for (size_t g = 0; g < rec->n_groups; g++)
            for (size_t k = 0; k < rec->groups[g].n; k++)
                lane_of(t, TIMELINE_LANE_SERVER, rec->groups[g].ids[k], 0, false);
        for (size_t k = 0; k < rec->n_lost_servers; k++)
            lane_of(t, TIMELINE_LANE_SERVER, rec->lost_servers[k], 0, false);
        for (size_t k = 0; k < rec->n_lost_clients; k++)
            lane_of(t, TIMELINE_LANE_CLIENT, rec->lost_clients[k], 0, false);
    }
}

/* A server's band is greyed until its first successful joinServer, so a
 * reader sees when each server exists. */
static void mark_not_started(timeline *t)
{
    for (size_t l = 0; l < t->n_lanes; l++) {
        if (t->lanes[l].kind != TIMELINE_LANE_SERVER)
            continue;
        for (size_t i = 0; i < t->n_rows; i++) {
            const histline_record *rec = &t->rows[i].rec;
            uint64_t id;
            if (!rec->ok || rec->cmd != HISTLINE_JOIN_SERVER || !server_of(rec, &id) ||
                id != t->lanes[l].a)
                continue;
            if (i > 0) {
                timeline_band *b = VEC_PUSH(t->bands, t->n_bands, t->cap_bands);
                *b = (timeline_band){.lane = l, .from_row = 0, .to_row = i, .css = "absent"};
                snprintf(b->label, sizeof b->label, "not started");
            }
            break;
        }
    }
}

void timeline_finish(timeline *t, const checkjson *cv)
{
    find_lanes(t);
    for (size_t i = 0; i < t->n_rows; i++)
        apply_bands(t, i);
    /* Lanes in a fixed order (cluster, clients, servers, links by id);
     * bands name lanes by index, so they follow the sort. */
    size_t *where = xcalloc(t->n_lanes + 1, sizeof *where);
    timeline_lane *old = xcalloc(t->n_lanes + 1, sizeof *old);
    memcpy(old, t->lanes, t->n_lanes * sizeof *old);
    qsort(t->lanes, t->n_lanes, sizeof *t->lanes, cmp_lane);
    for (size_t i = 0; i < t->n_lanes; i++)
        for (size_t k = 0; k < t->n_lanes; k++)
            if (cmp_lane(&old[i], &t->lanes[k]) == 0)
                where[i] = k;
    for (size_t i = 0; i < t->n_bands; i++) {
        t->bands[i].lane = where[t->bands[i].lane];
        if (t->bands[i].to_row == SIZE_MAX)
            t->bands[i].to_row = t->n_rows;
    }
    free(where);
    free(old);
    mark_not_started(t);

    int64_t base = 0;
    bool have_base = false;
    for (size_t i = 0; i < t->n_rows; i++) {
        timeline_row *r = &t->rows[i];
        const histline_record *rec = &r->rec;
        if (rec->has_times && !have_base) {
            base = rec->start_us;
            have_base = true;
        }
        r->t0 = rec->has_times ? rec->start_us - base : -1;
        r->t1 = rec->has_times ? rec->end_us - base : -1;
        r->outcome = outcome_of(rec);
        r->violation = -1;
        bool in_client = (rec->cmd == HISTLINE_PUT || rec->cmd == HISTLINE_GET ||
                          rec->cmd == HISTLINE_JOIN_CLIENT || rec->cmd == HISTLINE_DIED) &&
                         rec->has_client;
        r->lane = in_client ? lane_of(t, TIMELINE_LANE_CLIENT, rec->client, 0, false)
                            : lane_of(t, TIMELINE_LANE_CLUSTER, 0, 0, false);
        r->has_via = in_client && rec->has_server;
        if (r->has_via)
            r->via_lane = lane_of(t, TIMELINE_LANE_SERVER, rec->server, 0, false);
    }
    const checkjson_violation *v;
    size_t nv = cv ? checkjson_violations(cv, &v) : 0;
    for (size_t i = 0; i < nv; i++) {
        long row = timeline_row_of_line(t, v[i].line);
        if (row >= 0 && t->rows[row].violation < 0)
            t->rows[row].violation = (long)i;
    }
}

long timeline_row_of_line(const timeline *t, long line)
{
    for (size_t i = 0; i < t->n_rows; i++)
        if (t->rows[i].rec.line == line && !histline_is_event(&t->rows[i].rec) &&
            t->rows[i].rec.cmd != HISTLINE_END)
            return (long)i;
    return -1;
}

size_t timeline_rows(const timeline *t, const timeline_row **rows)
{
    *rows = t->rows;
    return t->n_rows;
}
size_t timeline_lanes(const timeline *t, const timeline_lane **lanes)
{
    *lanes = t->lanes;
    return t->n_lanes;
}
size_t timeline_bands(const timeline *t, const timeline_band **bands)
{
    *bands = t->bands;
    return t->n_bands;
}
size_t timeline_skips(const timeline *t, const timeline_skip **skips)
{
    *skips = t->skips;
    return t->n_skips;
}
