#define _GNU_SOURCE /* fopencookie */
#include "output.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../common/xalloc.h"

struct output {
    FILE *out;
    FILE *sink; /* JSON: where cluster_exec's text lines go (nowhere) */
    output_format format;
    bool echo;
};

static ssize_t discard(void *cookie, const char *buf, size_t size)
{
    (void)cookie;
    (void)buf;
    return (ssize_t)size;
}

output *output_new(FILE *out, output_format format, bool echo, dkv_err *err)
{
    output *o = xcalloc(1, sizeof *o);
    o->out = out;
    o->format = format;
    o->echo = echo;
    if (format == OUTPUT_JSON) {
        cookie_io_functions_t io = {.write = discard};
        o->sink = fopencookie(NULL, "w", io);
        if (!o->sink) {
            free(o);
            dkv_err_set(err, "cannot make a stream for --output json: %s", strerror(errno));
            return NULL;
        }
    }
    return o;
}

void output_free(output *o)
{
    if (!o)
        return;
    if (o->sink)
        fclose(o->sink);
    free(o);
}

int output_parse_format(const char *name, output_format *format, dkv_err *err)
{
    if (strcmp(name, "text") == 0)
        *format = OUTPUT_TEXT;
    else if (strcmp(name, "json") == 0)
        *format = OUTPUT_JSON;
    else
        return dkv_err_set(err, "expected text or json");
    return 0;
}

FILE *output_results_stream(output *o) { return o->format == OUTPUT_JSON ? o->sink : o->out; }

/* Script bytes as JSON: a string when they are UTF-8 (jansson checks),
 * else {"hex": "..."}, as the history writes them. */
static json_t *bytes_json(const void *p, size_t n)
{
    json_t *s = json_stringn(p, n);
    if (s)
        return s;
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = p;
    char *hex = xmalloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[b[i] >> 4];
        hex[2 * i + 1] = digits[b[i] & 15];
    }
    hex[2 * n] = '\0';
    json_t *o = json_pack("{s:s}", "hex", hex);
    free(hex);
    return o;
}

/* Writes rec as one line and frees it. A failed write shows in ferror(out),
 * which the master checks after each command. */
static void emit(output *o, json_t *rec)
{
    if (json_dumpf(rec, o->out, JSON_COMPACT) == 0)
        fputc('\n', o->out);
    json_decref(rec);
}

static json_t *record(long line, const char *cmd)
{
    json_t *rec = json_object();
    json_object_set_new(rec, "line", json_integer(line));
    json_object_set_new(rec, "cmd", bytes_json(cmd, strlen(cmd)));
    return rec;
}

void output_echo(output *o, long line, const char *text, size_t len)
{
    if (!o->echo)
        return;
    static const char blanks[] = " \t\r\v\f";
    while (len > 0 && strchr(blanks, text[0]) && text[0])
        text++, len--;
    while (len > 0 && strchr(blanks, text[len - 1]) && text[len - 1])
        len--;
    if (o->format == OUTPUT_TEXT) {
        fputs("> ", o->out);
        fwrite(text, 1, len, o->out);
        fputc('\n', o->out);
        return;
    }
    json_t *rec = json_object();
    json_object_set_new(rec, "line", json_integer(line));
    json_object_set_new(rec, "echo", bytes_json(text, len));
    emit(o, rec);
}

void output_result(output *o, long line, const script_cmd *cmd, const cluster_result *res)
{
    if (o->format != OUTPUT_JSON)
        return;
    if (cmd->kind == SCRIPT_CMD_GET && res->get_status) {
        json_t *rec = record(line, cmd->name);
        json_object_set_new(rec, "client", json_integer((json_int_t)cmd->id[0]));
        json_object_set_new(rec, "key", bytes_json(cmd->key, cmd->key_len));
        if (strcmp(res->get_status, "ok") == 0)
            json_object_set_new(rec, "value", bytes_json(res->value, res->value_len));
        else
            json_object_set_new(rec, "error", json_string(res->get_status));
        emit(o, rec);
    } else if (cmd->kind == SCRIPT_CMD_PRINT_STORE && res->has_store) {
        for (size_t i = 0; i < res->n_entries; i++) {
            const cluster_entry *e = &res->entries[i];
            json_t *rec = record(line, cmd->name);
            json_object_set_new(rec, "server", json_integer((json_int_t)cmd->id[0]));
            json_object_set_new(rec, "key", bytes_json(e->key, e->key_len));
            json_object_set_new(rec, "value", bytes_json(e->value, e->value_len));
            emit(o, rec);
        }
    }
}

void output_failure(output *o, long line, const char *name, const char *message)
{
    if (o->format != OUTPUT_JSON)
        return;
    json_t *rec = record(line, name);
    json_object_set_new(rec, "failed", bytes_json(message, strlen(message)));
    emit(o, rec);
}
