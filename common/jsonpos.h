/* jsonpos: where a value sits in a JSON text, by path. jansson reports the
 * line and column of a syntax error, but not of a value that parsed and is
 * wrong (a port out of range, a machine named twice); a user editing a
 * cluster file wants both. This scanner walks the text once, without
 * recursion, and gives the line and column of the value at a path such as
 * machines[1].watchdog. It assumes the text is JSON (jansson accepted it);
 * on anything else it simply finds nothing. */
#ifndef DKV_JSONPOS_H
#define DKV_JSONPOS_H

#include <stdbool.h>
#include <stddef.h>

/* One step of a path: an object member (key) or an array element. */
typedef struct jsonpos_step {
    const char *key; /* NULL: an array index */
    size_t index;
} jsonpos_step;

/* Deepest path followed; deeper values are not found. */
#define JSONPOS_MAX_DEPTH 32

/* Finds the value at path[0..n) in text[0..len) and sets *line and *column
 * (both from 1; the column counts bytes). With n == 0, the top value.
 * Returns false when there is no such value. Object keys are compared with
 * their JSON escapes undone only for the simple escapes (\" \\ \/); keys
 * with other escapes do not match. */
bool jsonpos_find(const char *text, size_t len, const jsonpos_step *path, size_t n,
                  int *line, int *column);

#endif
