#include "history.h"
#include "../common/hex.h"
#include "../common/xalloc.h"

#include <jansson.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct history {
    FILE *f;
};

history *history_open(const char *path, dkv_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        dkv_err_set(err, "cannot write history %s: %s", path, strerror(errno));
        return NULL;
    }
    history *h = xcalloc(1, sizeof *h);
    h->f = f;
    return h;
}

void history_close(history *h)
{
    if (!h)
        return;
    fclose(h->f);
    free(h);
}

static int write_record(history *h, json_t *rec, dkv_err *err)
{
    if (json_dumpf(rec, h->f, JSON_COMPACT) < 0 || fputc('\n', h->f) == EOF ||
        fflush(h->f) != 0)
        return dkv_err_set(err, "cannot write history: %s", strerror(errno));
    return 0;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static int valid_utf8(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

/* Bytes as a JSON string when they are valid UTF-8 without NUL, else as
 * {"hex": "..."}. */
static json_t *bytes_json(const uint8_t *p, size_t n)
{
    if (valid_utf8(p, n) && !memchr(p, '\0', n))
        return json_stringn((const char *)p, n);
    char *hex = hex_encode(p, n);
    json_t *o = json_pack("{s:s}", "hex", hex);
    free(hex);
    return o;
}

/* [lamport, origin], or null for none. */
static json_t *version_json(dkv_version v)
{
    if (dkv_version_is_none(v))
        return json_null();
    return json_pack("[II]", (json_int_t)v.lamport, (json_int_t)v.origin);
}

static void set_id(json_t *rec, const char *field, uint64_t id)
{
    json_object_set_new(rec, field, json_integer((json_int_t)id));
}

/* [[id, ...], ...]: the live servers of each group. */
static json_t *groups_json(const cluster_result *res)
{
    json_t *groups = json_array();
    for (size_t g = 0; g < res->n_groups; g++) {
        json_t *members = json_array();
        for (size_t i = 0; i < res->n_servers; i++)
            if (res->group_of[i] == g)
                json_array_append_new(members, json_integer((json_int_t)res->servers[i]));
        json_array_append_new(groups, members);
    }
    return groups;
}

/* [[key, value, version], ...] */
static json_t *store_json(const cluster_result *res)
{
    json_t *store = json_array();
    for (size_t i = 0; i < res->n_entries; i++) {
        const cluster_entry *e = &res->entries[i];
        json_array_append_new(store, json_pack("[ooo]", bytes_json(e->key, e->key_len),
                                               bytes_json(e->value, e->value_len),
                                               version_json(e->version)));
    }
    return store;
}

/* put, get: the client, the key (and a put's value), the server the client
 * used, and, once the client answered, what it answered. */
static void add_data_fields(json_t *rec, const script_cmd *cmd, const cluster_result *res)
{
    bool put = cmd->kind == SCRIPT_CMD_PUT;
    set_id(rec, "client", cmd->id[0]);
    json_object_set_new(rec, "key", bytes_json(cmd->key, cmd->key_len));
    if (put)
        json_object_set_new(rec, "value", bytes_json(cmd->value, cmd->value_len));
    if (res->has_server)
        set_id(rec, "server", res->server);
    if (!res->has_reply)
        return;
    if (!put) {
        json_object_set_new(rec, "result", json_string(res->get_status));
        if (strcmp(res->get_status, "ok") == 0)
            json_object_set_new(rec, "value", bytes_json(res->value, res->value_len));
    }
    json_object_set_new(rec, "version", version_json(res->version));
    json_object_set_new(rec, "dep_before", version_json(res->dep_before));
    json_object_set_new(rec, "dep_after", version_json(res->dep_after));
}

/* The fields of what the command did (fields in history.h). */
static void add_command_fields(json_t *rec, const script_cmd *cmd, const cluster_result *res)
{
    switch (cmd->kind) {
    case SCRIPT_CMD_NONE:
    case SCRIPT_CMD_HELP: break;
    case SCRIPT_CMD_JOIN_SERVER:
        set_id(rec, "server", cmd->id[0]);
        if (res->has_store)
            json_object_set_new(rec, "store", store_json(res));
        break;
    case SCRIPT_CMD_KILL_SERVER: set_id(rec, "server", cmd->id[0]); break;
    case SCRIPT_CMD_JOIN_CLIENT:
        set_id(rec, "client", cmd->id[0]);
        set_id(rec, "server", cmd->id[1]);
        break;
    case SCRIPT_CMD_BREAK_CONNECTION:
    case SCRIPT_CMD_CREATE_CONNECTION:
        set_id(rec, "a", cmd->id[0]);
        set_id(rec, "b", cmd->id[1]);
        break;
    case SCRIPT_CMD_STABILIZE: json_object_set_new(rec, "groups", groups_json(res)); break;
    case SCRIPT_CMD_SHOW_SERVER: set_id(rec, "server", cmd->id[0]); break;
    case SCRIPT_CMD_PRINT_STORE:
        set_id(rec, "server", cmd->id[0]);
        if (res->has_store)
            json_object_set_new(rec, "store", store_json(res));
        break;
    case SCRIPT_CMD_PUT:
    case SCRIPT_CMD_GET: add_data_fields(rec, cmd, res); break;
    case SCRIPT_CMD_PAUSE_SERVER:
    case SCRIPT_CMD_RESUME_SERVER: set_id(rec, "server", cmd->id[0]); break;
    case SCRIPT_CMD_DELAY_LINK:
    case SCRIPT_CMD_BLOCK_LINK:
    case SCRIPT_CMD_UNBLOCK_LINK:
    case SCRIPT_CMD_FLAKY_LINK:
        set_id(rec, "a", cmd->id[0]);
        set_id(rec, "b", cmd->id[1]);
        if (cmd->kind == SCRIPT_CMD_DELAY_LINK) {
            json_object_set_new(rec, "ms", json_integer((json_int_t)cmd->num[0]));
            json_object_set_new(rec, "jitter_ms", json_integer((json_int_t)cmd->num[1]));
        }
        if (cmd->kind == SCRIPT_CMD_FLAKY_LINK)
            json_object_set_new(rec, "pct", json_integer((json_int_t)cmd->num[0]));
        if (res->has_seed) {
            /* A string: a seed may exceed JSON integers' signed 64 bits. */
            char seed[24];
            snprintf(seed, sizeof seed, "%llu", (unsigned long long)res->seed);
            json_object_set_new(rec, "seed", json_string(seed));
        }
        break;
    case SCRIPT_CMD_SLEEP:
        json_object_set_new(rec, "ms", json_integer((json_int_t)cmd->num[0]));
        break;
    }
}

int history_write_line(history *h, const history_line *l, dkv_err *err)
{
    json_t *rec = json_object();
    json_object_set_new(rec, "line", json_integer(l->number));
    json_object_set_new(rec, "text", bytes_json(l->text, l->len));
    if (l->res)
        add_command_fields(rec, l->cmd, l->res);
    json_object_set_new(rec, "cmd",
                        bytes_json((const uint8_t *)l->cmd->name, strlen(l->cmd->name)));
    json_object_set_new(rec, "start_us", json_integer(l->start_us));
    json_object_set_new(rec, "end_us", json_integer(l->end_us));
    json_object_set_new(rec, "ok", json_boolean(l->ok));
    if (!l->ok)
        json_object_set_new(rec, "error", json_string(l->error));
    int rc = write_record(h, rec, err);
    json_decref(rec);
    return rc;
}

static json_t *ids_json(const uint64_t *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer((json_int_t)ids[i]));
    return a;
}

int history_write_event(history *h, long line, const cluster_event *e, dkv_err *err)
{
    bool died = e->kind == CLUSTER_EV_DIED;
    const char *word = died ? "died" : e->kind == CLUSTER_EV_LOST ? "lost" : "back";
    json_t *rec = json_pack("{s:I,s:s,s:s,s:I,s:I,s:b}", "line", (json_int_t)line, "text", "",
                            "cmd", word, "start_us", (json_int_t)e->at_us,
                            "end_us", (json_int_t)e->at_us, "ok", 1);
    json_object_set_new(rec, "machine", bytes_json((const uint8_t *)e->machine, strlen(e->machine)));
    if (died) {
        set_id(rec, e->server ? "server" : "client", e->id);
        json_object_set_new(rec, "cause", bytes_json((const uint8_t *)e->cause, strlen(e->cause)));
    } else if (e->kind == CLUSTER_EV_BACK) {
        json_object_set_new(rec, "kept", json_boolean(e->kept));
    } else {
        json_object_set_new(rec, "why", bytes_json((const uint8_t *)e->why, strlen(e->why)));
        json_object_set_new(rec, "servers", ids_json(e->servers, e->n_servers));
        json_object_set_new(rec, "clients", ids_json(e->clients, e->n_clients));
    }
    int rc = write_record(h, rec, err);
    json_decref(rec);
    return rc;
}

int history_write_end(history *h, long last_line, int exit_status, bool interrupted,
                      dkv_err *err)
{
    json_t *end = json_pack("{s:I,s:s,s:s,s:b,s:i,s:b}", "line", (json_int_t)last_line + 1,
                            "text", "", "cmd", "end", "ok", 1, "exit", exit_status,
                            "interrupted", interrupted);
    int rc = write_record(h, end, err);
    json_decref(end);
    return rc;
}
