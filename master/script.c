#include "script.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/ids.h"

typedef struct spec {
    const char *name;
    script_kind kind;
    int nargs;
    const char *usage;
    const char *help; /* one sentence, for `help` */
} spec;

static const spec specs[] = {
    {"joinServer", SCRIPT_CMD_JOIN_SERVER, 1, "joinServer ID",
     "Start server ID and link it to every live server; a killed ID restarts with its data "
     "and catches up."},
    {"killServer", SCRIPT_CMD_KILL_SERVER, 1, "killServer ID",
     "Kill server ID at once (SIGKILL); returns once it is gone."},
    {"joinClient", SCRIPT_CMD_JOIN_CLIENT, 2, "joinClient CLIENT_ID SERVER_ID",
     "Start client CLIENT_ID if needed and attach it to server SERVER_ID, keeping its session."},
    {"breakConnection", SCRIPT_CMD_BREAK_CONNECTION, 2, "breakConnection ID ID",
     "Cut the link between two servers, or detach a client from its server."},
    {"createConnection", SCRIPT_CMD_CREATE_CONNECTION, 2, "createConnection ID ID",
     "Restore the link between two servers, or attach a client to a server."},
    {"stabilize", SCRIPT_CMD_STABILIZE, 0, "stabilize",
     "Wait until every connected group of live servers holds the same data and nothing is in "
     "flight."},
    {"printStore", SCRIPT_CMD_PRINT_STORE, 1, "printStore SERVER_ID",
     "Print server SERVER_ID's store, one KEY:VALUE line per key, sorted bytewise by key."},
    {"put", SCRIPT_CMD_PUT, 3, "put CLIENT_ID KEY VALUE",
     "Write VALUE to KEY through client CLIENT_ID's server; returns once that server has "
     "durably accepted it."},
    {"get", SCRIPT_CMD_GET, 2, "get CLIENT_ID KEY",
     "Print KEY:VALUE as client CLIENT_ID's server holds it, KEY:ERR_KEY when there is none, or "
     "KEY:ERR_DEP when it is older than what the client has seen."},
    {"showServer", SCRIPT_CMD_SHOW_SERVER, 1, "showServer SERVER_ID",
     "Print server SERVER_ID's view on stderr (or the --show file): its links, link-state "
     "database, spanning tree, vector clock, Lamport counter and group."},
    {"pauseServer", SCRIPT_CMD_PAUSE_SERVER, 1, "pauseServer SERVER_ID",
     "Stop server SERVER_ID (SIGSTOP); commands that need it fail at once until resumeServer, "
     "and stabilize counts it as cut off."},
    {"resumeServer", SCRIPT_CMD_RESUME_SERVER, 1, "resumeServer SERVER_ID",
     "Continue a paused server (SIGCONT); its links come back and it catches up."},
    {"delayLink", SCRIPT_CMD_DELAY_LINK, 4, "delayLink FROM_ID TO_ID MS [JITTER_MS]",
     "Delay every frame from FROM_ID to TO_ID by MS, plus or minus up to JITTER_MS, keeping "
     "their order; MS 0 ends the delay."},
    {"blockLink", SCRIPT_CMD_BLOCK_LINK, 2, "blockLink FROM_ID TO_ID",
     "Hold the frames from FROM_ID to TO_ID until unblockLink FROM_ID TO_ID; TO_ID's frames "
     "still reach FROM_ID. The link leaves routing and groups."},
    {"unblockLink", SCRIPT_CMD_UNBLOCK_LINK, 2, "unblockLink FROM_ID TO_ID",
     "Release the block from FROM_ID to TO_ID: its held frames leave in order."},
    {"flakyLink", SCRIPT_CMD_FLAKY_LINK, 3, "flakyLink FROM_ID TO_ID PCT",
     "After each frame of writes from FROM_ID to TO_ID, reset the connection with probability "
     "PCT % (seeded by --seed); 0 ends it."},
    {"sleep", SCRIPT_CMD_SLEEP, 1, "sleep MS", "Wait MS milliseconds."},
    /* Up to one argument: help alone lists every command. */
    {"help", SCRIPT_CMD_HELP, 1, "help [COMMAND]",
     "List the commands, or show one command's usage and description."},
};
#define NSPECS (sizeof specs / sizeof specs[0])

const char *script_kind_name(script_kind kind)
{
    for (size_t i = 0; i < NSPECS; i++)
        if (specs[i].kind == kind)
            return specs[i].name;
    return "";
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

const char *script_echo(char *out, size_t cap, const void *tok, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = tok;
    size_t shown = len < SCRIPT_ECHO_BYTES ? len : SCRIPT_ECHO_BYTES;
    size_t o = 0;
    if (cap == 0)
        return out;
    for (size_t i = 0; i < shown && o + 5 <= cap; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
            out[o++] = (char)p[i];
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[p[i] >> 4];
            out[o++] = hex[p[i] & 15];
        }
    }
    out[o] = '\0';
    if (len > shown)
        snprintf(out + o, cap - o, "... (%zu bytes)", len);
    return out;
}

/* An id argument. The message echoes the token through script_echo, not as
 * ids_parse would (raw): the token is script text. */
static int parse_id(const char *tok, size_t len, uint64_t *out, dkv_err *err)
{
    if (ids_parse(tok, out, NULL) == 0)
        return 0;
    char shown[SCRIPT_ECHO_SIZE];
    script_echo(shown, sizeof shown, tok, len);
    /* A token is never empty, so ids_parse refused a non-digit or a
     * number too large. */
    if (strspn(tok, "0123456789") == len)
        return dkv_err_set(err, "'%s' is too large (maximum %llu)", shown,
                           (unsigned long long)DKV_ID_MAX);
    return dkv_err_set(err, "'%s' is not a non-negative decimal number", shown);
}

#define MAX_TOKENS 5

/* Trailing arguments a command may leave out: delayLink's JITTER_MS. */
static int optional_args(script_kind kind) { return kind == SCRIPT_CMD_DELAY_LINK ? 1 : 0; }

/* Commands whose arguments after the ids are numbers (script_cmd.num). */
static bool is_numeric(script_kind kind)
{
    return kind == SCRIPT_CMD_DELAY_LINK || kind == SCRIPT_CMD_FLAKY_LINK ||
           kind == SCRIPT_CMD_SLEEP;
}

/* How many leading arguments are ids. */
static int id_args(const spec *sp)
{
    switch (sp->kind) {
    case SCRIPT_CMD_PUT:
    case SCRIPT_CMD_GET: return 1;
    case SCRIPT_CMD_DELAY_LINK:
    case SCRIPT_CMD_FLAKY_LINK: return 2;
    case SCRIPT_CMD_SLEEP: return 0;
    default: return sp->nargs;
    }
}

/* A number argument of at most max (what: its unit, for the message). */
static int parse_number(const char *tok, size_t len, uint64_t max, const char *what,
                        uint64_t *out, dkv_err *err)
{
    char shown[SCRIPT_ECHO_SIZE];
    script_echo(shown, sizeof shown, tok, len);
    if (strspn(tok, "0123456789") != len)
        return dkv_err_set(err, "'%s' is not a non-negative decimal number (%s)", shown, what);
    /* Leading zeros aside, more than 7 digits is over any maximum here. */
    size_t skip = strspn(tok, "0");
    if (len - skip > 7 || strtoull(tok, NULL, 10) > max)
        return dkv_err_set(err, "'%s' is too large (%s, maximum %llu)", shown, what,
                           (unsigned long long)max);
    *out = strtoull(tok, NULL, 10);
    return 0;
}

static const spec *find_spec(const char *name)
{
    for (size_t k = 0; k < NSPECS; k++)
        if (strcmp(name, specs[k].name) == 0)
            return &specs[k];
    return NULL;
}

/* Whether token `index` (the command word is 0) of a line whose command
 * word is `word` is a key or a value: SPEC lets those hold any byte but
 * blanks and NUL, so a '#' starting them is data, not a comment. */
static bool is_data_token(const char *word, int index)
{
    const spec *sp = find_spec(word);
    if (!sp)
        return false;
    return (sp->kind == SCRIPT_CMD_GET && index == 2) ||
           (sp->kind == SCRIPT_CMD_PUT && (index == 2 || index == 3));
}

int script_parse(char *line, size_t len, script_cmd *out, dkv_err *err)
{
    memset(out, 0, sizeof *out);
    out->name = "";
    bool has_nul = memchr(line, '\0', len) != NULL;
    char *tok[MAX_TOKENS];
    size_t tlen[MAX_TOKENS];
    int n = 0;
    size_t i = 0;
    bool too_many = false;
    while (i < len) {
        while (i < len && is_space(line[i]))
            i++;
        if (i == len)
            break;
        /* A '#' starting a token starts a comment (a whole line's, or
         * one after a command), unless the token is a key or a value. The
         * command word before it is NUL-terminated already. */
        if (line[i] == '#' && (n == 0 || !is_data_token(tok[0], n)))
            break;
        size_t start = i;
        while (i < len && !is_space(line[i]))
            i++;
        if (n == MAX_TOKENS) {
            too_many = true;
            break;
        }
        tok[n] = line + start;
        tlen[n] = i - start;
        n++;
        if (i < len)
            line[i++] = '\0';
    }
    if (n == 0)
        return has_nul ? dkv_err_set(err, "the line contains a NUL byte") : 0;
    line[tok[n - 1] - line + tlen[n - 1]] = '\0'; /* the caller's buffer has room at line[len] */
    const spec *sp = find_spec(tok[0]);
    out->name = sp ? sp->name : tok[0];
    if (has_nul)
        return dkv_err_set(err, "the line contains a NUL byte");
    if (!sp) {
        const char *near = script_suggest(tok[0]);
        if (near)
            return dkv_err_set(err, "unknown command (did you mean '%s'?)", near);
        return dkv_err_set(err, "unknown command");
    }
    out->kind = sp->kind;
    out->name = sp->name;
    if (sp->kind == SCRIPT_CMD_HELP) {
        if (too_many || n > 2)
            return dkv_err_set(err, "expected at most 1 argument (usage: %s)", sp->usage);
        if (n == 2 && !find_spec(tok[1])) {
            char shown[SCRIPT_ECHO_SIZE];
            script_echo(shown, sizeof shown, tok[1], tlen[1]);
            const char *near = script_suggest(tok[1]);
            return near ? dkv_err_set(err, "no command '%s' (did you mean '%s'?)", shown, near)
                        : dkv_err_set(err, "no command '%s'", shown);
        }
        if (n == 2) {
            out->key = (const uint8_t *)tok[1];
            out->key_len = tlen[1];
        }
        return 0;
    }
    int least = sp->nargs - optional_args(sp->kind);
    if (too_many || n - 1 > sp->nargs || n - 1 < least) {
        char want[32];
        if (least == sp->nargs)
            snprintf(want, sizeof want, "%d argument%s", sp->nargs, sp->nargs == 1 ? "" : "s");
        else
            snprintf(want, sizeof want, "%d or %d arguments", least, sp->nargs);
        return dkv_err_set(err, "expected %s, got %s%d (usage: %s)", want,
                           too_many ? "more than " : "", too_many ? MAX_TOKENS - 1 : n - 1,
                           sp->usage);
    }
    int ids = id_args(sp);
    for (int k = 0; k < ids; k++)
        if (parse_id(tok[1 + k], tlen[1 + k], &out->id[k], err) < 0)
            return dkv_err_wrap(err, "argument %d", k + 1);
    for (int k = ids; k < n - 1 && is_numeric(sp->kind); k++) {
        bool pct = sp->kind == SCRIPT_CMD_FLAKY_LINK;
        if (parse_number(tok[1 + k], tlen[1 + k], pct ? SCRIPT_MAX_PCT : SCRIPT_MAX_MS,
                         pct ? "a percentage" : "milliseconds", &out->num[k - ids], err) < 0)
            return dkv_err_wrap(err, "argument %d", k + 1);
    }
    if (sp->kind == SCRIPT_CMD_PUT || sp->kind == SCRIPT_CMD_GET) {
        out->key = (const uint8_t *)tok[2];
        out->key_len = tlen[2];
    }
    if (sp->kind == SCRIPT_CMD_PUT) {
        out->value = (const uint8_t *)tok[3];
        out->value_len = tlen[3];
    }
    return 0;
}

size_t script_bom_len(const void *text, size_t len)
{
    return len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

const char *script_command_name(size_t i) { return i < NSPECS ? specs[i].name : NULL; }

int script_command_help(const char *name, const char **usage, const char **help,
                        dkv_err *err)
{
    const spec *sp = find_spec(name);
    if (!sp)
        return dkv_err_set(err, "no command '%s'", name);
    *usage = sp->usage;
    *help = sp->help;
    return 0;
}

void script_print_help(FILE *f, const char *command)
{
    const spec *sp = command ? find_spec(command) : NULL;
    if (sp) {
        fprintf(f, "usage: %s\n%s\n", sp->usage, sp->help);
        return;
    }
    fputs("Commands, one per line; a word starting with '#' starts a comment, unless it is a\n"
          "KEY or a VALUE:\n",
          f);
    for (size_t k = 0; k < NSPECS; k++)
        fprintf(f, "  %s\n      %s\n", specs[k].usage, specs[k].help);
}

/* Levenshtein distance, case-insensitive, for words of up to 63 bytes. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *script_suggest(const char *word)
{
    const char *best = NULL;
    size_t best_d = 99;
    for (size_t k = 0; k < NSPECS; k++) {
        size_t d = distance(word, specs[k].name);
        if (d < best_d) {
            best_d = d;
            best = specs[k].name;
        }
    }
    /* Close means a typo or two, relative to the length of the name. */
    size_t limit = strlen(word) <= 4 ? 1 : 3;
    return best_d <= limit ? best : NULL;
}
