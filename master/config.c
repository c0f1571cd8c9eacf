#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/hmap.h"
#include "../common/ids.h"
#include "../common/jsonpos.h"
#include "../common/vec.h"
#include "../common/xalloc.h"

struct config {
    char secret_file[4096];
    config_machine *machines;
    size_t n_machines;
    int default_machine; /* -1: none */
    /* id -> placement: (machine index + 1) * 2 + (1 for a server). Listed
     * ids, and unlisted ones once placed, so an id keeps its machine. */
    hmap *placed;
    size_t next_turn; /* the next machine for an unlisted server */
};

/* What a check needs to report an error at a path of the file. */
typedef struct where {
    const char *name, *text;
    size_t len;
    jsonpos_step path[4];
    size_t depth;
    dkv_err *err;
} where;

static int fail_at(const where *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail_at(const where *w, const char *fmt, ...)
{
    char field[256] = "", msg[DKV_ERR_MAX];
    size_t off = 0;
    for (size_t i = 0; i < w->depth && off < sizeof field; i++)
        off += (size_t)(w->path[i].key
                            ? snprintf(field + off, sizeof field - off, "%s%s", i ? "." : "",
                                       w->path[i].key)
                            : snprintf(field + off, sizeof field - off, "[%zu]", w->path[i].index));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = 1, col = 1;
    jsonpos_find(w->text, w->len, w->path, w->depth, &line, &col);
    return dkv_err_set(w->err, "%s:%d:%d: %s%s%s", w->name, line, col, field, *field ? ": " : "",
                       msg);
}

static void push_key(where *w, const char *key) { w->path[w->depth++] = (jsonpos_step){key, 0}; }
static void push_index(where *w, size_t i) { w->path[w->depth++] = (jsonpos_step){NULL, i}; }
static void pop(where *w) { w->depth--; }

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof ((config_machine *)0)->name)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return false;
    return true;
}

/* "HOST:PORT" or "[IPv6]:PORT" into m. */
static int parse_address(const char *s, config_machine *m)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return -1;
    const char *host = s, *host_end = colon;
    if (*s == '[') {
        if (colon[-1] != ']' || colon - s < 3)
            return -1;
        host = s + 1;
        host_end = colon - 1;
    }
    size_t hl = (size_t)(host_end - host);
    if (hl == 0 || hl >= sizeof m->host || memchr(host, ' ', hl))
        return -1;
    uint64_t port;
    if (ids_parse_u64(colon + 1, 65535, &port, NULL) < 0 || port == 0)
        return -1;
    memcpy(m->host, host, hl);
    m->host[hl] = '\0';
    m->port = (uint16_t)port;
    return 0;
}

static int machine_index(const config *c, const char *name)
{
    for (size_t i = 0; i < c->n_machines; i++)
        if (strcmp(c->machines[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int load_machines(config *c, json_t *list, where *w)
{
    if (!json_is_array(list) || json_array_size(list) == 0)
        return fail_at(w, "expected a non-empty list of machines");
    if (json_array_size(list) > CONFIG_MAX_MACHINES)
        return fail_at(w, "at most %d machines", CONFIG_MAX_MACHINES);
    c->n_machines = json_array_size(list);
    c->machines = xcalloc(c->n_machines, sizeof *c->machines);
    for (size_t i = 0; i < c->n_machines; i++) {
        push_index(w, i);
        json_t *m = json_array_get(list, i);
        if (!json_is_object(m))
            return fail_at(w, "expected {\"name\": ..., \"watchdog\": \"HOST:PORT\"}");
        const char *key;
        json_t *v;
        json_object_foreach(m, key, v)
        {
            if (strcmp(key, "name") != 0 && strcmp(key, "watchdog") != 0) {
                push_key(w, key);
                return fail_at(w, "unknown field (a machine has \"name\" and \"watchdog\")");
            }
        }
        push_key(w, "name");
        const char *name = json_string_value(json_object_get(m, "name"));
        if (!name || !name_ok(name))
            return fail_at(w, "expected a name of 1 to 63 letters, digits, '.', '-' or '_'");
        if (machine_index(c, name) >= 0)
            return fail_at(w, "machine '%s' is named twice", name);
        snprintf(c->machines[i].name, sizeof c->machines[i].name, "%s", name);
        pop(w);
        push_key(w, "watchdog");
        const char *addr = json_string_value(json_object_get(m, "watchdog"));
        if (!addr || parse_address(addr, &c->machines[i]) < 0)
            return fail_at(w, "expected the watchdog's address as HOST:PORT (port 1-65535)");
        pop(w);
        pop(w);
    }
    return 0;
}

/* "servers" or "clients": machine name -> list of ids. */
static int load_placement(config *c, json_t *obj, bool server, where *w)
{
    if (!json_is_object(obj))
        return fail_at(w, "expected {\"MACHINE\": [ID, ...], ...}");
    const char *name;
    json_t *ids;
    json_object_foreach(obj, name, ids)
    {
        push_key(w, name);
        int m = machine_index(c, name);
        if (m < 0)
            return fail_at(w, "no machine is named '%s'", name);
        if (!json_is_array(ids))
            return fail_at(w, "expected a list of ids");
        for (size_t i = 0; i < json_array_size(ids); i++) {
            push_index(w, i);
            json_t *v = json_array_get(ids, i);
            json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
            if (id < 0 || (uint64_t)id > DKV_ID_MAX)
                return fail_at(w, "expected an id from 0 to %llu", (unsigned long long)DKV_ID_MAX);
            uint64_t key = (uint64_t)id;
            bool created;
            void **slot = hmap_slot(c->placed, &key, sizeof key, &created);
            if (!created)
                return fail_at(w, "id %llu is placed twice", (unsigned long long)key);
            *slot = (void *)(uintptr_t)((size_t)(m + 1) * 2 + (server ? 1 : 0));
            pop(w);
        }
        pop(w);
    }
    return 0;
}

static int load_root(config *c, json_t *root, const char *dir, where *w)
{
    if (!json_is_object(root))
        return fail_at(w, "expected an object with \"secret_file\" and \"machines\"");
    static const char *const known[] = {"secret_file", "machines", "servers", "clients",
                                        "default_machine"};
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok) {
            push_key(w, key);
            return fail_at(w, "unknown field (known: secret_file, machines, servers, clients, "
                              "default_machine)");
        }
    }
    push_key(w, "secret_file");
    const char *secret = json_string_value(json_object_get(root, "secret_file"));
    if (!secret || !*secret)
        return fail_at(w, "expected the path of the cluster's secret file");
    int n = snprintf(c->secret_file, sizeof c->secret_file, "%s%s%s",
                     secret[0] == '/' ? "" : dir, secret[0] == '/' ? "" : "/", secret);
    if (n < 0 || (size_t)n >= sizeof c->secret_file)
        return fail_at(w, "path too long");
    pop(w);
    push_key(w, "machines");
    if (load_machines(c, json_object_get(root, "machines"), w) < 0)
        return -1;
    pop(w);
    static const char *const lists[] = {"servers", "clients"};
    for (int k = 0; k < 2; k++) {
        json_t *obj = json_object_get(root, lists[k]);
        push_key(w, lists[k]);
        if (obj && load_placement(c, obj, k == 0, w) < 0)
            return -1;
        pop(w);
    }
    json_t *def = json_object_get(root, "default_machine");
    if (def) {
        push_key(w, "default_machine");
        const char *name = json_string_value(def);
        if (!name || (c->default_machine = machine_index(c, name)) < 0)
            return fail_at(w, "expected the name of one of the machines");
        pop(w);
    }
    return 0;
}

config *config_parse(const char *name, const char *text, size_t len, const char *dir,
                     dkv_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        dkv_err_set(err, "%s:%d:%d: not valid JSON: %s", name, jerr.line, jerr.column,
                    jerr.text);
        return NULL;
    }
    config *c = xcalloc(1, sizeof *c);
    c->default_machine = -1;
    c->placed = hmap_new();
    where w = {.name = name, .text = text, .len = len, .err = err};
    int rc = load_root(c, root, dir, &w);
    json_decref(root);
    if (rc < 0) {
        config_free(c);
        return NULL;
    }
    return c;
}

config *config_load(const char *path, dkv_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        dkv_err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            if (len + 4096 > (1u << 20)) {
                fclose(f);
                free(text);
                dkv_err_set(err, "%s: larger than 1 MiB, not a cluster file", path);
                return NULL;
            }
            text = vec_reserve(text, &cap, len + 4096, 1);
        }
        size_t r = fread(text + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        dkv_err_set(err, "%s: read error", path);
        return NULL;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (slash == path)
        snprintf(dir, sizeof dir, "/");
    config *c = config_parse(path, text, len, dir, err);
    free(text);
    return c;
}

void config_free(config *c)
{
    if (!c)
        return;
    free(c->machines);
    hmap_free(c->placed, NULL);
    free(c);
}

const char *config_secret_file(const config *c) { return c->secret_file; }
size_t config_machines(const config *c) { return c->n_machines; }
const config_machine *config_machine_at(const config *c, size_t i) { return &c->machines[i]; }

int config_listed(const config *c, uint64_t id, bool server)
{
    uintptr_t v = (uintptr_t)hmap_get(c->placed, &id, sizeof id);
    if (!v || (v % 2 == 1) != server)
        return -1;
    return (int)(v / 2) - 1;
}

int config_place(config *c, uint64_t id, bool server, size_t server_machine, size_t *out,
                 dkv_err *err)
{
    bool created;
    void **slot = hmap_slot(c->placed, &id, sizeof id, &created);
    uintptr_t v = (uintptr_t)*slot;
    if (!created && (v % 2 == 1) != server)
        return dkv_err_set(err, "the cluster file places %" PRIu64 " as a %s", id,
                           server ? "client" : "server");
    if (!created) {
        *out = v / 2 - 1;
        return 0;
    }
    size_t m;
    if (c->default_machine >= 0)
        m = (size_t)c->default_machine;
    else if (server)
        m = c->next_turn++ % c->n_machines;
    else
        m = server_machine < c->n_machines ? server_machine : 0;
    *slot = (void *)(uintptr_t)((m + 1) * 2 + (server ? 1 : 0));
    *out = m;
    return 0;
}
