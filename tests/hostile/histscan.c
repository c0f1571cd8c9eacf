#define _GNU_SOURCE /* getline */
#include "histscan.h"
#include "../../common/vec.h"
#include "../../common/xalloc.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One printStore entry, remembered to compare versions across lines. */
typedef struct seen {
    char *key, *value;
    long long lamport, origin;
    long long line;
} seen;

/* A history key or value (a JSON string, or {"hex": "..."}) as one
 * printable token. Caller frees. */
static char *printable(json_t *v)
{
    const char *s;
    size_t n;
    const char *prefix = "";
    if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else if (json_is_object(v) && json_is_string(json_object_get(v, "hex"))) {
        s = json_string_value(json_object_get(v, "hex"));
        n = strlen(s);
        prefix = "hex:";
    } else {
        return xstrdup("?");
    }
    char *out = xmalloc(strlen(prefix) + n * 4 + 3);
    char *q = out + sprintf(out, "%s", prefix);
    if (n == 0)
        q += sprintf(q, "\"\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c > 0x20 && c < 0x7f && c != '\\')
            *q++ = (char)c;
        else
            q += sprintf(q, "\\x%02x", c);
    }
    *q = '\0';
    return out;
}

static int by_key_version(const void *a, const void *b)
{
    const seen *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    if (x->lamport != y->lamport)
        return x->lamport < y->lamport ? -1 : 1;
    if (x->origin != y->origin)
        return x->origin < y->origin ? -1 : 1;
    return 0;
}

/* Prints the entries of one printStore record and remembers them. */
static void scan_store(json_t *rec, long long line, seen **all, size_t *n, size_t *cap,
                       FILE *out)
{
    json_t *store = json_object_get(rec, "store"), *e;
    long long server = json_integer_value(json_object_get(rec, "server"));
    size_t i;
    json_array_foreach(store, i, e) {
        json_t *ver = json_array_get(e, 2);
        if (!json_is_array(ver))
            continue;
        seen *s = VEC_PUSH(*all, *n, *cap);
        s->key = printable(json_array_get(e, 0));
        s->value = printable(json_array_get(e, 1));
        s->lamport = json_integer_value(json_array_get(ver, 0));
        s->origin = json_integer_value(json_array_get(ver, 1));
        s->line = line;
        fprintf(out, "store %lld %lld %s %s %lld %lld\n", line, server, s->key, s->value,
                s->lamport, s->origin);
    }
}

int histscan_run(const char *path, FILE *out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(out, "cannot open %s\n", path);
        return 2;
    }
    seen *all = NULL;
    size_t n = 0, cap = 0;
    char *text = NULL;
    size_t text_cap = 0;
    int rc = 0;
    while (getline(&text, &text_cap, f) > 0) {
        json_error_t jerr;
        json_t *rec = json_loads(text, 0, &jerr);
        if (!json_is_object(rec)) {
            fprintf(out, "unreadable history line: %s\n", jerr.text);
            json_decref(rec);
            rc = 2;
            break;
        }
        const char *cmd = json_string_value(json_object_get(rec, "cmd"));
        long long line = json_integer_value(json_object_get(rec, "line"));
        bool ok = json_is_true(json_object_get(rec, "ok"));
        if (cmd && strcmp(cmd, "end") == 0) {
            fprintf(out, "end %lld\n", json_integer_value(json_object_get(rec, "exit")));
        } else if (!ok) {
            const char *t = json_string_value(json_object_get(rec, "text"));
            const char *e = json_string_value(json_object_get(rec, "error"));
            fprintf(out, "failed %lld %.60s: %s\n", line, t ? t : "?", e ? e : "?");
        } else if (cmd && strcmp(cmd, "printStore") == 0) {
            scan_store(rec, line, &all, &n, &cap, out);
        }
        json_decref(rec);
    }
    free(text);
    fclose(f);
    if (n > 1)
        qsort(all, n, sizeof *all, by_key_version);
    for (size_t i = 1; i < n; i++)
        if (by_key_version(&all[i - 1], &all[i]) == 0 &&
            strcmp(all[i - 1].value, all[i].value) != 0) {
            fprintf(out, "conflict key %s version (%lld,%lld): '%s' at line %lld, '%s' at line %lld\n",
                    all[i].key, all[i].lamport, all[i].origin, all[i - 1].value,
                    all[i - 1].line, all[i].value, all[i].line);
            if (rc == 0)
                rc = 1;
        }
    for (size_t i = 0; i < n; i++) {
        free(all[i].key);
        free(all[i].value);
    }
    free(all);
    return rc;
}
