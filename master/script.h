/* script: the command language of SPEC section 2. One command per line;
 * tokens separated by spaces or tabs; blank lines and '#' comments skipped:
 * a token starting with '#' starts a comment to the end of the line, unless
 * it is a key or a value (the KEY of get and put, the VALUE of put), which
 * may hold any byte but blanks and NUL; a '#' inside a token is data. */
#ifndef DKV_SCRIPT_H
#define DKV_SCRIPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/err.h"

typedef enum script_kind {
    SCRIPT_CMD_NONE, /* blank line or comment */
    SCRIPT_CMD_JOIN_SERVER,
    SCRIPT_CMD_KILL_SERVER,
    SCRIPT_CMD_JOIN_CLIENT,
    SCRIPT_CMD_BREAK_CONNECTION,
    SCRIPT_CMD_CREATE_CONNECTION,
    SCRIPT_CMD_STABILIZE,
    SCRIPT_CMD_PRINT_STORE,
    SCRIPT_CMD_PUT,
    SCRIPT_CMD_GET,
    SCRIPT_CMD_SHOW_SERVER, /* beyond the nine: inspection (stderr or --show) */
    /* Faults (README "Faults"): they change no data. */
    SCRIPT_CMD_PAUSE_SERVER,
    SCRIPT_CMD_RESUME_SERVER,
    SCRIPT_CMD_DELAY_LINK,
    SCRIPT_CMD_BLOCK_LINK,
    SCRIPT_CMD_UNBLOCK_LINK,
    SCRIPT_CMD_FLAKY_LINK,
    SCRIPT_CMD_SLEEP,
    SCRIPT_CMD_HELP, /* answered by the master itself: key names the command asked about */
} script_kind;

/* Bounds of the numbers the fault commands take. */
#define SCRIPT_MAX_MS 600000 /* delayLink's MS and JITTER_MS, sleep's MS: 10 minutes */
#define SCRIPT_MAX_PCT 100

typedef struct script_cmd {
    script_kind kind;
    const char *name; /* the command word as written, or "" for SCRIPT_CMD_NONE */
    uint64_t id[2];
    const uint8_t *key; /* point into the parsed line (help: NUL-terminated) */
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
    /* delayLink: MS and JITTER_MS (0 when not given); flakyLink: PCT;
     * sleep: MS. */
    uint64_t num[2];
    /* The script line, set by the caller for messages ("paused at line
     * 12"); 0 when unknown. */
    long line;
} script_cmd;

/* Parses line[0..len) (no newline), tokenizing it in place. On error, err
 * names the problem and out->name the command word when there is one. */
int script_parse(char *line, size_t len, script_cmd *out, dkv_err *err);

/* How many bytes of a script's start are a UTF-8 byte order mark, which
 * the master skips: 3 or 0. */
size_t script_bom_len(const void *text, size_t len);

/* The i-th command of the language (from 0, in the order help lists
 * them), or NULL past the last. */
const char *script_command_name(size_t i);

/* The usage line and one-sentence description of the command named name;
 * -1 with err when there is none. */
int script_command_help(const char *name, const char **usage, const char **help,
                        dkv_err *err);

/* Writes help on f: the usage and description of the command named
 * command, or of every command when command is NULL or unknown. */
void script_print_help(FILE *f, const char *command);

/* The command name of kind, as the language spells it. */
const char *script_kind_name(script_kind kind);

/* How much of a token a message shows, and room enough for script_echo's
 * text of any token: every shown byte may take 4 characters (\xHH), then
 * "... (N bytes)". */
#define SCRIPT_ECHO_BYTES 40
#define SCRIPT_ECHO_SIZE (4 * SCRIPT_ECHO_BYTES + 40)

/* Writes tok[0..len) into out (cap bytes, NUL-terminated) fit to be echoed
 * in a message: printable ASCII as is, a backslash and every other byte as
 * \xHH (so script text can neither garble a terminal nor break a message
 * into lines), at most SCRIPT_ECHO_BYTES bytes of it, then "... (N bytes)"
 * when the token is longer (a 100 MB token must not become a 100 MB
 * message). Returns out. */
const char *script_echo(char *out, size_t cap, const void *tok, size_t len);

/* The known command closest to word (by edit distance, ignoring case), or
 * NULL when none is close. */
const char *script_suggest(const char *word);

#endif
