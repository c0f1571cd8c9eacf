/* Fuzzes script_parse with arbitrary lines and checks what it reports:
 * rc 0 or -1, a name always set, a message on failure, and on success a
 * command whose ids are in range and whose key and value are non-empty
 * tokens of the line (no white space, no NUL; help's is a command name).
 * A line opening with a UTF-8 byte order mark is parsed without it, as the
 * master does with a script's first line. The input is copied into a
 * buffer of exactly size + 1 bytes, the spare one for the NUL script_parse
 * may write at line[len], so ASan sees any access beyond it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/ids.h"
#include "../../common/xalloc.h"
#include "../../master/script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A token: inside the line, non-empty, and free of blanks and NUL. */
static bool token_ok(const char *line, size_t len, const uint8_t *p, size_t n)
{
    if (!p || n == 0)
        return false;
    if ((const char *)p < line || (const char *)p + n > line + len)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\0' || is_blank(p[i]))
            return false;
    return true;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t bom = script_bom_len(data, size);
    if (bom != 0 && bom != 3)
        abort();
    data += bom;
    size -= bom;
    char *line = xmemdupz(data, size);
    line[size] = 'Z'; /* not a NUL: the parser must stop at size by itself */
    script_cmd cmd;
    dkv_err err;
    err.msg[0] = '\0';
    int rc = script_parse(line, size, &cmd, &err);
    if (rc != 0 && rc != -1)
        abort();
    if (!cmd.name)
        abort();
    /* What the master prints of a failure, the name through script_echo
     * and the message, is short printable ASCII whatever the line holds. */
    char shown[SCRIPT_ECHO_SIZE];
    script_echo(shown, sizeof shown, cmd.name, strlen(cmd.name));
    if (!printable(shown))
        abort();
    if (rc < 0) {
        if (err.msg[0] == '\0' || !memchr(err.msg, '\0', sizeof err.msg))
            abort();
        if (!printable(err.msg))
            abort();
    } else {
        switch (cmd.kind) {
        case SCRIPT_CMD_NONE:
            if (cmd.name[0] != '\0' || cmd.key || cmd.value)
                abort();
            break;
        case SCRIPT_CMD_PUT:
            if (!token_ok(line, size, cmd.value, cmd.value_len))
                abort();
            /* fall through */
        case SCRIPT_CMD_GET:
            if (!token_ok(line, size, cmd.key, cmd.key_len) || cmd.id[0] > DKV_ID_MAX)
                abort();
            break;
        case SCRIPT_CMD_HELP: {
            const char *usage, *help;
            if (cmd.value || (cmd.key && (!token_ok(line, size, cmd.key, cmd.key_len) ||
                                          script_command_help((const char *)cmd.key, &usage,
                                                              &help, NULL) < 0)))
                abort();
            break;
        }
        default:
            if (cmd.id[0] > DKV_ID_MAX || cmd.id[1] > DKV_ID_MAX || cmd.key || cmd.value)
                abort();
        }
        /* The fault commands' numbers are within their bounds. */
        uint64_t max = cmd.kind == SCRIPT_CMD_FLAKY_LINK ? SCRIPT_MAX_PCT : SCRIPT_MAX_MS;
        if (cmd.num[0] > max || cmd.num[1] > max)
            abort();
        if (cmd.kind != SCRIPT_CMD_NONE && strcmp(cmd.name, script_kind_name(cmd.kind)) != 0)
            abort();
    }
    free(line);

    /* script_suggest on short inputs as a C string (script_parse already
     * calls it on unknown command words; it is costly under trace-cmp). A
     * suggestion must be a command name. */
    if (size > 64)
        return 0;
    char word[65];
    if (size)
        memcpy(word, data, size);
    word[size] = '\0';
    const char *s = script_suggest(word);
    if (s) {
        bool known = false;
        for (size_t k = 0; script_command_name(k) && !known; k++)
            known = strcmp(s, script_command_name(k)) == 0;
        if (!known)
            abort();
    }
    return 0;
}
