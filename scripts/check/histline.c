#include "histline.h"
#include "../../common/hex.h"
#include "../../common/xalloc.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- field helpers ---- */

static int bytes_copy(const void *p, size_t n, histline_bytes *out)
{
    out->p = xmalloc(n + 1);
    if (n)
        memcpy(out->p, p, n);
    out->p[n] = 0;
    out->n = n;
    return 0;
}

/* A JSON string, or {"hex": "<even number of hex digits>"}. */
static int parse_bytes(json_t *v, histline_bytes *out, const char *what, dkv_err *err)
{
    if (json_is_string(v))
        return bytes_copy(json_string_value(v), json_string_length(v), out);
    json_t *hex = json_is_object(v) ? json_object_get(v, "hex") : NULL;
    if (!hex || json_object_size(v) != 1 || !json_is_string(hex))
        return dkv_err_set(err, "%s is neither a string nor {\"hex\": \"...\"}", what);
    const char *s = json_string_value(hex);
    size_t len = json_string_length(hex);
    out->p = xmalloc(len / 2 + 1);
    if (hex_decode(s, len, out->p, err) < 0) {
        free(out->p);
        out->p = NULL;
        return dkv_err_wrap(err, "%s", what);
    }
    out->n = len / 2;
    out->p[out->n] = 0;
    return 0;
}

static int parse_uint(json_t *v, uint64_t *out, const char *what, dkv_err *err)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return dkv_err_set(err, "%s is not a non-negative integer", what);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* [lamport, origin] with lamport >= 1, or null when allow_null. */
static int parse_version(json_t *v, dkv_version *out, bool allow_null, const char *what,
                         dkv_err *err)
{
    if (json_is_null(v)) {
        if (!allow_null)
            return dkv_err_set(err, "%s is null", what);
        *out = (dkv_version){0, 0};
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) != 2)
        return dkv_err_set(err, "%s is not a version [lamport, origin]", what);
    uint64_t l = 0, o = 0;
    if (parse_uint(json_array_get(v, 0), &l, "its lamport counter", err) < 0 ||
        parse_uint(json_array_get(v, 1), &o, "its origin", err) < 0)
        return dkv_err_wrap(err, "%s", what);
    if (l == 0)
        return dkv_err_set(err, "%s has lamport counter 0 (a real version starts at 1)", what);
    *out = (dkv_version){l, o};
    return 0;
}

/* Optional fields: absent leaves *has false; present but mistyped fails. */
static int opt_id(json_t *root, const char *name, bool *has, uint64_t *out, dkv_err *err)
{
    json_t *v = json_object_get(root, name);
    *has = v != NULL;
    if (!v)
        return 0;
    if (parse_uint(v, out, name, err) < 0)
        return dkv_err_wrap(err, "field");
    return 0;
}

static int opt_bytes(json_t *root, const char *name, bool *has, histline_bytes *out, dkv_err *err)
{
    json_t *v = json_object_get(root, name);
    *has = v != NULL;
    if (!v)
        return 0;
    if (parse_bytes(v, out, name, err) < 0) {
        *has = false;
        return dkv_err_wrap(err, "field");
    }
    return 0;
}

static int opt_version(json_t *root, const char *name, bool *has, dkv_version *out,
                       dkv_err *err)
{
    json_t *v = json_object_get(root, name);
    *has = v != NULL;
    if (!v)
        return 0;
    if (parse_version(v, out, true, name, err) < 0)
        return dkv_err_wrap(err, "field");
    return 0;
}

static int parse_groups(json_t *v, histline_record *rec, dkv_err *err)
{
    if (!json_is_array(v))
        return dkv_err_set(err, "field groups is not an array");
    size_t n = json_array_size(v);
    rec->groups = xcalloc(n + 1, sizeof *rec->groups);
    for (size_t g = 0; g < n; g++) {
        json_t *members = json_array_get(v, g);
        if (!json_is_array(members))
            return dkv_err_set(err, "field groups: group %zu is not an array", g + 1);
        size_t m = json_array_size(members);
        histline_group *gr = &rec->groups[rec->n_groups++];
        gr->ids = xcalloc(m + 1, sizeof *gr->ids);
        for (size_t i = 0; i < m; i++) {
            if (parse_uint(json_array_get(members, i), &gr->ids[i], "a server id", err) < 0)
                return dkv_err_wrap(err, "field groups: group %zu", g + 1);
            gr->n++;
        }
    }
    return 0;
}

static int parse_store(json_t *v, histline_record *rec, dkv_err *err)
{
    if (!json_is_array(v))
        return dkv_err_set(err, "field store is not an array");
    size_t n = json_array_size(v);
    rec->store = xcalloc(n + 1, sizeof *rec->store);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_array(e) || json_array_size(e) != 3)
            return dkv_err_set(err, "field store: entry %zu is not [key, value, version]", i + 1);
        histline_entry *en = &rec->store[i];
        if (parse_bytes(json_array_get(e, 0), &en->key, "its key", err) < 0)
            return dkv_err_wrap(err, "field store: entry %zu", i + 1);
        rec->n_store++; /* from here on, clearing frees the key */
        if (parse_bytes(json_array_get(e, 1), &en->value, "its value", err) < 0 ||
            parse_version(json_array_get(e, 2), &en->version, false, "its version", err) < 0)
            return dkv_err_wrap(err, "field store: entry %zu", i + 1);
    }
    return 0;
}

static const struct {
    const char *word;
    histline_cmd cmd;
} commands[] = {
    {"joinServer", HISTLINE_JOIN_SERVER}, {"killServer", HISTLINE_KILL_SERVER},
    {"joinClient", HISTLINE_JOIN_CLIENT}, {"breakConnection", HISTLINE_BREAK},
    {"createConnection", HISTLINE_CREATE}, {"stabilize", HISTLINE_STABILIZE},
    {"printStore", HISTLINE_PRINT_STORE}, {"put", HISTLINE_PUT},
    {"get", HISTLINE_GET},        {"end", HISTLINE_END},
    {"died", HISTLINE_DIED},      {"lost", HISTLINE_LOST},
    {"back", HISTLINE_BACK},      {"showServer", HISTLINE_SHOW},
    {"back", HISTLINE_BACK},
    {"pauseServer", HISTLINE_PAUSE}, {"resumeServer", HISTLINE_RESUME},
    {"delayLink", HISTLINE_LINK_FAULT}, {"blockLink", HISTLINE_LINK_FAULT},
    {"unblockLink", HISTLINE_LINK_FAULT}, {"flakyLink", HISTLINE_LINK_FAULT},
    {"sleep", HISTLINE_SLEEP},
};

bool histline_is_event(const histline_record *rec)
{
    return rec->cmd == HISTLINE_DIED || rec->cmd == HISTLINE_LOST || rec->cmd == HISTLINE_BACK;
}

/* [id, ...] into *ids. */
static int parse_ids(json_t *v, const char *what, uint64_t **ids, size_t *n, dkv_err *err)
{
    if (!json_is_array(v))
        return dkv_err_set(err, "field %s is not an array", what);
    *ids = xcalloc(json_array_size(v) + 1, sizeof **ids);
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (parse_uint(json_array_get(v, i), &(*ids)[i], "an id", err) < 0)
            return dkv_err_wrap(err, "field %s: item %zu", what, i + 1);
        (*n)++;
    }
    return 0;
}

static histline_cmd cmd_of(const histline_bytes *w)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strlen(commands[i].word) == w->n && memcmp(commands[i].word, w->p, w->n) == 0)
            return commands[i].cmd;
    return HISTLINE_OTHER;
}

static int need(bool has, const char *field, const histline_record *rec, dkv_err *err)
{
    if (has)
        return 0;
    return dkv_err_set(err, "a successful %s lacks field %s", (const char *)rec->cmd_word.p,
                       field);
}

/* What a successful command must carry for the checker to use it. */
static int check_required(const histline_record *r, dkv_err *err)
{
    if (!r->ok)
        return 0;
    switch (r->cmd) {
    case HISTLINE_OTHER:
    case HISTLINE_SHOW:
    case HISTLINE_BACK:
    case HISTLINE_SLEEP:
    case HISTLINE_END: return 0;
    case HISTLINE_PAUSE:
    case HISTLINE_RESUME: return need(r->has_server, "server", r, err);
    case HISTLINE_JOIN_SERVER:
    case HISTLINE_KILL_SERVER: return need(r->has_server, "server", r, err);
    case HISTLINE_JOIN_CLIENT:
        return need(r->has_client, "client", r, err) < 0 ? -1
                                                          : need(r->has_server, "server", r, err);
    case HISTLINE_BREAK:
    case HISTLINE_CREATE:
    case HISTLINE_LINK_FAULT:
        return need(r->has_a, "a", r, err) < 0 ? -1 : need(r->has_b, "b", r, err);
    case HISTLINE_STABILIZE: return need(r->has_groups, "groups", r, err);
    case HISTLINE_DIED:
        if (r->has_server == r->has_client)
            return dkv_err_set(err, "a died record names one server or one client");
        return 0;
    case HISTLINE_LOST: return need(r->has_lost, "servers and clients", r, err);
    case HISTLINE_PRINT_STORE:
        return need(r->has_server, "server", r, err) < 0 ? -1
                                                          : need(r->has_store, "store", r, err);
    case HISTLINE_PUT:
        if (need(r->has_client, "client", r, err) < 0 || need(r->has_key, "key", r, err) < 0 ||
            need(r->has_value, "value", r, err) < 0 || need(r->has_server, "server", r, err) < 0 ||
            need(r->has_version, "version", r, err) < 0)
            return -1;
        if (dkv_version_is_none(r->version))
            return dkv_err_set(err, "a successful put has a null version");
        return 0;
    case HISTLINE_GET:
        if (need(r->has_client, "client", r, err) < 0 || need(r->has_key, "key", r, err) < 0 ||
            need(r->has_server, "server", r, err) < 0 ||
            need(r->result != HISTLINE_RES_NONE, "result", r, err) < 0 ||
            need(r->has_version, "version", r, err) < 0)
            return -1;
        if (r->result == HISTLINE_RES_OK) {
            if (need(r->has_value, "value", r, err) < 0)
                return -1;
            if (dkv_version_is_none(r->version))
                return dkv_err_set(err, "a get with result ok has a null version");
        }
        return 0;
    }
    return 0;
}

static int parse_fields(json_t *root, histline_record *rec, dkv_err *err)
{
    json_t *v = json_object_get(root, "line");
    if (!v)
        return dkv_err_set(err, "missing field line");
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > LONG_MAX)
        return dkv_err_set(err, "field line is not a positive integer");
    rec->line = (long)json_integer_value(v);

    bool has;
    if (opt_bytes(root, "text", &has, &rec->text, err) < 0)
        return -1;
    if (!has)
        return dkv_err_set(err, "missing field text");
    if (opt_bytes(root, "cmd", &has, &rec->cmd_word, err) < 0)
        return -1;
    if (!has)
        return dkv_err_set(err, "missing field cmd");
    rec->cmd = cmd_of(&rec->cmd_word);
    v = json_object_get(root, "ok");
    if (!v)
        return dkv_err_set(err, "missing field ok");
    if (!json_is_boolean(v))
        return dkv_err_set(err, "field ok is not true or false");
    rec->ok = json_is_true(v);
    v = json_object_get(root, "error");
    if (v && !json_is_string(v))
        return dkv_err_set(err, "field error is not a string");
    if (v)
        bytes_copy(json_string_value(v), json_string_length(v), &rec->error);

    if (opt_id(root, "client", &rec->has_client, &rec->client, err) < 0 ||
        opt_id(root, "server", &rec->has_server, &rec->server, err) < 0 ||
        opt_id(root, "a", &rec->has_a, &rec->a, err) < 0 ||
        opt_id(root, "b", &rec->has_b, &rec->b, err) < 0 ||
        opt_bytes(root, "key", &rec->has_key, &rec->key, err) < 0 ||
        opt_bytes(root, "value", &rec->has_value, &rec->value, err) < 0 ||
        opt_version(root, "version", &rec->has_version, &rec->version, err) < 0 ||
        opt_version(root, "dep_before", &rec->has_dep_before, &rec->dep_before, err) < 0 ||
        opt_version(root, "dep_after", &rec->has_dep_after, &rec->dep_after, err) < 0)
        return -1;

    v = json_object_get(root, "result");
    if (v) {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(s, "ok") == 0)
            rec->result = HISTLINE_RES_OK;
        else if (strcmp(s, "ERR_KEY") == 0)
            rec->result = HISTLINE_RES_ERR_KEY;
        else if (strcmp(s, "ERR_DEP") == 0)
            rec->result = HISTLINE_RES_ERR_DEP;
        else
            return dkv_err_set(err, "field result is not \"ok\", \"ERR_KEY\" or \"ERR_DEP\"");
    }
    v = json_object_get(root, "groups");
    if (v) {
        rec->has_groups = true;
        if (parse_groups(v, rec, err) < 0)
            return -1;
    }
    v = json_object_get(root, "store");
    if (v) {
        rec->has_store = true;
        if (parse_store(v, rec, err) < 0)
            return -1;
    }
    json_t *ls = json_object_get(root, "servers"), *lc = json_object_get(root, "clients");
    if (ls || lc) {
        rec->has_lost = ls && lc;
        if ((ls && parse_ids(ls, "servers", &rec->lost_servers, &rec->n_lost_servers, err) < 0) ||
            (lc && parse_ids(lc, "clients", &rec->lost_clients, &rec->n_lost_clients, err) < 0))
            return -1;
    }
    json_t *t0 = json_object_get(root, "start_us"), *t1 = json_object_get(root, "end_us");
    if ((t0 && !json_is_integer(t0)) || (t1 && !json_is_integer(t1)))
        return dkv_err_set(err, "field start_us or end_us is not an integer");
    rec->has_times = t0 && t1;
    if (rec->has_times) {
        rec->start_us = json_integer_value(t0);
        rec->end_us = json_integer_value(t1);
        /* Microseconds of a monotonic clock: bounded, so that differences
         * of two times cannot overflow in a reader. */
        if (rec->start_us < 0 || rec->end_us < 0 || rec->start_us > HISTLINE_MAX_US ||
            rec->end_us > HISTLINE_MAX_US)
            return dkv_err_set(err, "field start_us or end_us is out of range (0 to 2^62)");
    }
    return check_required(rec, err);
}

int histline_parse(const char *buf, size_t len, histline_record *rec, dkv_err *err)
{
    memset(rec, 0, sizeof *rec);
    if (len == 0)
        return dkv_err_set(err, "empty line (expected one JSON object)");
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return dkv_err_set(err, "not JSON (truncated?): %s at column %d", jerr.text,
                           jerr.column);
    int rc = 0;
    if (!json_is_object(root))
        rc = dkv_err_set(err, "not a JSON object");
    else
        rc = parse_fields(root, rec, err);
    json_decref(root);
    if (rc < 0)
        histline_record_clear(rec);
    return rc;
}

static void bytes_free(histline_bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

void histline_record_clear(histline_record *rec)
{
    bytes_free(&rec->text);
    bytes_free(&rec->cmd_word);
    bytes_free(&rec->error);
    bytes_free(&rec->key);
    bytes_free(&rec->value);
    free(rec->lost_servers);
    free(rec->lost_clients);
    for (size_t g = 0; g < rec->n_groups; g++)
        free(rec->groups[g].ids);
    free(rec->groups);
    for (size_t i = 0; i < rec->n_store; i++) {
        bytes_free(&rec->store[i].key);
        bytes_free(&rec->store[i].value);
    }
    free(rec->store);
    memset(rec, 0, sizeof *rec);
}

/* ---- reader ---- */

struct histline_reader {
    FILE *f;
    char *buf;
    size_t cap;
    size_t lines;
};

histline_reader *histline_reader_new(FILE *f)
{
    histline_reader *r = xcalloc(1, sizeof *r);
    r->f = f;
    return r;
}

void histline_reader_free(histline_reader *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

size_t histline_reader_lines(const histline_reader *r) { return r->lines; }

int histline_reader_next(histline_reader *r, histline_record *rec, dkv_err *err)
{
    errno = 0;
    ssize_t n = getline(&r->buf, &r->cap, r->f);
    if (n < 0) {
        if (ferror(r->f))
            return dkv_err_set(err, "read error after line %zu of the file: %s", r->lines,
                               strerror(errno ? errno : EIO));
        return 0;
    }
    r->lines++;
    size_t len = (size_t)n;
    if (len > 0 && r->buf[len - 1] == '\n')
        len--;
    if (histline_parse(r->buf, len, rec, err) < 0)
        return dkv_err_wrap(err, "line %zu of the file", r->lines);
    return 1;
}
