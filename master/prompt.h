/* prompt: the master's prompt at a terminal: line editing and history
 * (libedit), a line at a time. Only the master links it (and libedit). */
#ifndef DKV_PROMPT_H
#define DKV_PROMPT_H

#include <stddef.h>
#include <stdio.h>

#include "../common/err.h"

typedef struct prompt prompt;

typedef enum prompt_status {
    PROMPT_LINE,        /* a line was read */
    PROMPT_EOF,         /* Ctrl-D on an empty line, or the terminal is gone */
    PROMPT_INTERRUPTED, /* a signal came while reading; what was typed is dropped */
} prompt_status;

/* Edits lines read from the terminal in, echoing and prompting with text
 * on out. history_file: where the history is kept between sessions (read
 * now if it exists, written by prompt_free), or NULL to keep it in memory
 * only. NULL with err when the editor cannot start. Caller frees with
 * prompt_free. */
prompt *prompt_new(const char *text, FILE *in, FILE *out, const char *history_file,
                   dkv_err *err);

/* Writes the history file (when there is one; a failure is reported on
 * stderr, since the session is over) and frees p. NULL is a no-op. */
void prompt_free(prompt *p);

/* Reads one line into *line (len bytes without the newline, NUL-terminated,
 * writable, with one spare byte after the NUL; valid until the next call)
 * and sets *status. -1 with err on a read error. */
int prompt_read(prompt *p, prompt_status *status, char **line, size_t *len, dkv_err *err);

/* Adds line (NUL-terminated) to the history that the up arrow recalls.
 * Blank lines and a repeat of the last line are not added. */
void prompt_remember(prompt *p, const char *line);

#endif
