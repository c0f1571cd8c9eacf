/* output: how the master shows results on stdout: as text (the
 * `key:value` lines of SPEC section 3) or, with `--output json`, as one JSON
 * object per result line; with `--echo`, each command before its results. */
#ifndef DKV_OUTPUT_H
#define DKV_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../common/err.h"
#include "cluster.h"
#include "script.h"

typedef enum output_format {
    OUTPUT_TEXT,
    OUTPUT_JSON,
} output_format;

typedef struct output output;

/* Results go to out (which the caller flushes and checks after each
 * command). NULL with err when the format's streams cannot be made. Caller
 * frees with output_free. */
output *output_new(FILE *out, output_format format, bool echo, dkv_err *err);
void output_free(output *o);

/* Reads "text" or "json" into *format; -1 with err naming the choices. */
int output_parse_format(const char *name, output_format *format, dkv_err *err);

/* Where cluster_exec prints get's and printStore's lines: out itself for
 * text; for JSON a stream that discards them, since output_result writes
 * them from the command's result instead. */
FILE *output_results_stream(output *o);

/* With echo: writes script line `line` (text[0..len), as read) before it
 * runs: as text "> " and the line without its outer blanks (no result
 * line holds a blank, so it cannot be taken for one), as JSON
 * {"line":N,"echo":"..."}. Without echo nothing. */
void output_echo(output *o, long line, const char *text, size_t len);

/* JSON: the lines of a command that succeeded, one object each (get:
 * {"line","cmd","client","key","value"} or "error" for ERR_KEY/ERR_DEP;
 * printStore: {"line","cmd","server","key","value"} per key). Text: nothing
 * (cluster_exec printed them). */
void output_result(output *o, long line, const script_cmd *cmd, const cluster_result *res);

/* JSON: {"line","cmd","failed":message} for a command that failed (its
 * message also goes to stderr, as in text, where nothing is written here).
 * name: the command word, as the error message shows it. */
void output_failure(output *o, long line, const char *name, const char *message);

#endif
