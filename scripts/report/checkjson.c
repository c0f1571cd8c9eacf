#include "checkjson.h"
#include "../../common/vec.h"
#include "../../common/xalloc.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct checkjson {
    char *verdict, *error;
    long operations;
    checkjson_violation *v;
    size_t n, cap;
};

void checkjson_free(checkjson *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].kind);
        free(c->v[i].related);
        free(c->v[i].text);
    }
    free(c->v);
    free(c->verdict);
    free(c->error);
    free(c);
}

/* A script line number: 1 .. LONG_MAX. */
static int line_of(json_t *v, long *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > LONG_MAX)
        return -1;
    *out = (long)json_integer_value(v);
    return 0;
}

static int parse_violation(json_t *o, size_t i, checkjson_violation *v, dkv_err *err)
{
    if (!json_is_object(o))
        return dkv_err_set(err, "violation %zu is not an object", i + 1);
    json_t *kind = json_object_get(o, "kind"), *text = json_object_get(o, "text");
    json_t *rel = json_object_get(o, "related");
    if (!json_is_string(kind) || !json_is_string(text))
        return dkv_err_set(err, "violation %zu: kind or text is not a string", i + 1);
    if (line_of(json_object_get(o, "line"), &v->line) < 0)
        return dkv_err_set(err, "violation %zu: line is not a positive integer", i + 1);
    if (rel && !json_is_array(rel))
        return dkv_err_set(err, "violation %zu: related is not an array", i + 1);
    v->kind = xstrdup(json_string_value(kind));
    v->text = xstrdup(json_string_value(text));
    size_t n = rel ? json_array_size(rel) : 0;
    v->related = xcalloc(n + 1, sizeof *v->related);
    for (size_t k = 0; k < n; k++) {
        if (line_of(json_array_get(rel, k), &v->related[k]) < 0)
            return dkv_err_set(err, "violation %zu: related line %zu is not a positive integer",
                               i + 1, k + 1);
        v->n_related++;
    }
    return 0;
}

static int parse_root(json_t *root, checkjson *c, dkv_err *err)
{
    if (!json_is_object(root))
        return dkv_err_set(err, "not a JSON object");
    json_t *verdict = json_object_get(root, "verdict");
    const char *s = json_is_string(verdict) ? json_string_value(verdict) : "";
    if (strcmp(s, "valid") != 0 && strcmp(s, "invalid") != 0 && strcmp(s, "undecidable") != 0)
        return dkv_err_set(err, "verdict is not \"valid\", \"invalid\" or \"undecidable\"");
    c->verdict = xstrdup(s);
    json_t *ops = json_object_get(root, "operations");
    if (ops && (!json_is_integer(ops) || json_integer_value(ops) < 0 ||
                json_integer_value(ops) > LONG_MAX))
        return dkv_err_set(err, "operations is not a non-negative integer");
    c->operations = ops ? (long)json_integer_value(ops) : 0;
    json_t *e = json_object_get(root, "error");
    if (e && !json_is_string(e))
        return dkv_err_set(err, "error is not a string");
    if (e)
        c->error = xstrdup(json_string_value(e));
    json_t *vs = json_object_get(root, "violations");
    if (!json_is_array(vs))
        return dkv_err_set(err, "violations is not an array");
    for (size_t i = 0; i < json_array_size(vs); i++)
        if (parse_violation(json_array_get(vs, i), i, VEC_PUSH(c->v, c->n, c->cap), err) < 0)
            return -1;
    if (strcmp(c->verdict, "valid") == 0 && c->n > 0)
        return dkv_err_set(err, "verdict valid, yet %zu violations listed", c->n);
    return 0;
}

checkjson *checkjson_parse(const char *buf, size_t len, dkv_err *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        dkv_err_set(err, "not JSON: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    checkjson *c = xcalloc(1, sizeof *c);
    int rc = parse_root(root, c, err);
    json_decref(root);
    if (rc < 0) {
        checkjson_free(c);
        return NULL;
    }
    return c;
}

checkjson *checkjson_load(const char *path, dkv_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        dkv_err_set(err, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        buf = vec_reserve(buf, &cap, n + got, 1);
        memcpy(buf + n, chunk, got);
        n += got;
    }
    int bad = ferror(f);
    fclose(f);
    checkjson *c = NULL;
    if (bad)
        dkv_err_set(err, "cannot read %s", path);
    else if (!(c = checkjson_parse(buf ? buf : "", n, err)))
        dkv_err_wrap(err, "%s", path);
    free(buf);
    return c;
}

const char *checkjson_verdict(const checkjson *c) { return c->verdict; }
const char *checkjson_error(const checkjson *c) { return c->error; }
long checkjson_operations(const checkjson *c) { return c->operations; }
size_t checkjson_violations(const checkjson *c, const checkjson_violation **v)
{
    *v = c->v;
    return c->n;
}
