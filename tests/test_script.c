/* script: parsing of the command language (SPEC sections 2-3). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/ids.h"
#include "../master/script.h"
#include "tests.h"
#include "../common/xalloc.h"

/* One parse of a line. The line is copied into a malloc'ed buffer of exactly
 * len + 1 bytes (script_parse may write a NUL at line[len]), so ASan catches
 * any access beyond it. The spare byte starts as 'Z': a parser that read it
 * as part of the line would show it in a token. */
typedef struct parsed {
    char *buf;
    script_cmd cmd;
    dkv_err err;
    int rc;
} parsed;

static void parse_n(parsed *p, const char *text, size_t len)
{
    p->buf = xmalloc(len + 1);
    if (len)
        memcpy(p->buf, text, len);
    p->buf[len] = 'Z';
    memset(&p->err, 0, sizeof p->err);
    memset(&p->cmd, 0xa5, sizeof p->cmd); /* garbage: script_parse must set it all */
    p->cmd.name = NULL;                    /* but a crash on a bad name is no help */
    p->rc = script_parse(p->buf, len, &p->cmd, &p->err);
}

static void parse(parsed *p, const char *text) { parse_n(p, text, strlen(text)); }

static void done(parsed *p)
{
    free(p->buf);
    p->buf = NULL;
}

static int name_is(const parsed *p, const char *want)
{
    return p->cmd.name && strcmp(p->cmd.name, want) == 0;
}

static int bytes_eq(const uint8_t *p, size_t n, const char *want, size_t want_len)
{
    return p && n == want_len && memcmp(p, want, n) == 0;
}

#define KEY_IS(pp, s) bytes_eq((pp)->cmd.key, (pp)->cmd.key_len, (s), sizeof(s) - 1)
#define VALUE_IS(pp, s) bytes_eq((pp)->cmd.value, (pp)->cmd.value_len, (s), sizeof(s) - 1)

/* Parses a line that must succeed, printing the error when it does not. */
static void parse_ok(parsed *p, const char *text, size_t len)
{
    parse_n(p, text, len);
    CU_ASSERT_EQUAL(p->rc, 0);
    if (p->rc != 0)
        fprintf(stderr, "\n  script_parse rejected '%.*s': %s\n", (int)len, text, p->err.msg);
}

/* Parses a line that must fail, with a message and a command name. */
static void parse_bad(parsed *p, const char *text, size_t len)
{
    parse_n(p, text, len);
    CU_ASSERT_EQUAL(p->rc, -1);
    if (p->rc != -1)
        fprintf(stderr, "\n  script_parse accepted '%.*s'\n", (int)len, text);
    CU_ASSERT(p->err.msg[0] != '\0');
    CU_ASSERT_PTR_NOT_NULL(p->cmd.name);
}

static void test_every_command(void)
{
    parsed p;
    static const char js[] = "joinServer 3";
    parse_ok(&p, js, strlen(js));
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_JOIN_SERVER);
    CU_ASSERT(name_is(&p, "joinServer"));
    CU_ASSERT_EQUAL(p.cmd.id[0], 3);
    CU_ASSERT_PTR_NULL(p.cmd.key);
    CU_ASSERT_PTR_NULL(p.cmd.value);
    done(&p);

    parse(&p, "killServer 0");
    CU_ASSERT_EQUAL(p.rc, 0);
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_KILL_SERVER);
    CU_ASSERT(name_is(&p, "killServer"));
    CU_ASSERT_EQUAL(p.cmd.id[0], 0);
    done(&p);

    parse(&p, "joinClient 5 999999999999");
    CU_ASSERT_EQUAL(p.rc, 0);
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_JOIN_CLIENT);
    CU_ASSERT(name_is(&p, "joinClient"));
    CU_ASSERT_EQUAL(p.cmd.id[0], 5);
    CU_ASSERT_EQUAL(p.cmd.id[1], DKV_ID_MAX);
    done(&p);

    parse(&p, "breakConnection 1 2");
    CU_ASSERT_EQUAL(p.rc, 0);
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_BREAK_CONNECTION);
    CU_ASSERT(name_is(&p, "breakConnection"));
    CU_ASSERT_EQUAL(p.cmd.id[0], 1);
    CU_ASSERT_EQUAL(p.cmd.id[1], 2);
    done(&p);

    parse(&p, "createConnection 20 10");
    CU_ASSERT_EQUAL(p.rc, 0);
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_CREATE_CONNECTION);
    CU_ASSERT(name_is(&p, "createConnection"));
    CU_ASSERT_EQUAL(p.cmd.id[0], 20);
    CU_ASSERT_EQUAL(p.cmd.id[1], 10);
    done(&p);

    parse(&p, "stabilize");
    CU_ASSERT_EQUAL(p.rc, 0);
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_STABILIZE);
    CU_ASSERT(name_is(&p, "stabilize"));
    done(&p);

    parse(&p, "printStore 7");
    CU_ASSERT_EQUAL(p.rc, 0);
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_PRINT_STORE);
    CU_ASSERT(name_is(&p, "printStore"));
    CU_ASSERT_EQUAL(p.cmd.id[0], 7);
    done(&p);

    parse(&p, "put 5 key value");
    CU_ASSERT_EQUAL(p.rc, 0);
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_PUT);
    CU_ASSERT(name_is(&p, "put"));
    CU_ASSERT_EQUAL(p.cmd.id[0], 5);
    CU_ASSERT(KEY_IS(&p, "key"));
    CU_ASSERT(VALUE_IS(&p, "value"));
    done(&p);

    parse(&p, "get 6 key");
    CU_ASSERT_EQUAL(p.rc, 0);
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_GET);
    CU_ASSERT(name_is(&p, "get"));
    CU_ASSERT_EQUAL(p.cmd.id[0], 6);
    CU_ASSERT(KEY_IS(&p, "key"));
    CU_ASSERT_PTR_NULL(p.cmd.value);
    CU_ASSERT_EQUAL(p.cmd.value_len, 0);
    done(&p);
}

static void test_fault_commands(void)
{
    static const struct {
        const char *line;
        script_kind kind;
        uint64_t id0, id1, num0, num1;
    } ok[] = {
        {"pauseServer 3", SCRIPT_CMD_PAUSE_SERVER, 3, 0, 0, 0},
        {"resumeServer 999999999999", SCRIPT_CMD_RESUME_SERVER, DKV_ID_MAX, 0, 0, 0},
        {"delayLink 1 2 250", SCRIPT_CMD_DELAY_LINK, 1, 2, 250, 0},
        {"delayLink 1 2 250 30", SCRIPT_CMD_DELAY_LINK, 1, 2, 250, 30},
        {"delayLink 4 5 0 0", SCRIPT_CMD_DELAY_LINK, 4, 5, 0, 0},
        {"delayLink 4 5 600000 600000", SCRIPT_CMD_DELAY_LINK, 4, 5, 600000, 600000},
        {"delayLink 4 5 0000007", SCRIPT_CMD_DELAY_LINK, 4, 5, 7, 0},
        {"blockLink 7 8", SCRIPT_CMD_BLOCK_LINK, 7, 8, 0, 0},
        {"unblockLink 8 7", SCRIPT_CMD_UNBLOCK_LINK, 8, 7, 0, 0},
        {"flakyLink 1 2 0", SCRIPT_CMD_FLAKY_LINK, 1, 2, 0, 0},
        {"flakyLink 1 2 100", SCRIPT_CMD_FLAKY_LINK, 1, 2, 100, 0},
        {"sleep 0", SCRIPT_CMD_SLEEP, 0, 0, 0, 0},
        {"\tsleep\t600000 ", SCRIPT_CMD_SLEEP, 0, 0, 600000, 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        parsed p;
        parse_ok(&p, ok[i].line, strlen(ok[i].line));
        CU_ASSERT_EQUAL(p.cmd.kind, ok[i].kind);
        CU_ASSERT(name_is(&p, script_kind_name(ok[i].kind)));
        CU_ASSERT_EQUAL(p.cmd.id[0], ok[i].id0);
        CU_ASSERT_EQUAL(p.cmd.id[1], ok[i].id1);
        CU_ASSERT_EQUAL(p.cmd.num[0], ok[i].num0);
        CU_ASSERT_EQUAL(p.cmd.num[1], ok[i].num1);
        CU_ASSERT_PTR_NULL(p.cmd.key);
        done(&p);
    }
}

/* Bad input of the fault commands: each refused, naming the command, with
 * a message containing want. */
static void test_fault_bad_input(void)
{
    static const struct {
        const char *line, *name, *want;
    } bad[] = {
        {"pauseServer", "pauseServer", "usage: pauseServer SERVER_ID"},
        {"pauseServer 1 2", "pauseServer", "expected 1 argument, got 2"},
        {"resumeServer x", "resumeServer", "argument 1: 'x' is not"},
        {"delayLink 1 2", "delayLink", "expected 3 or 4 arguments, got 2"},
        {"delayLink 1 2 3 4 5", "delayLink", "expected 3 or 4 arguments, got more than 4"},
        {"delayLink 1 2 -5", "delayLink", "argument 3: '-5' is not a non-negative decimal "
                                          "number (milliseconds)"},
        {"delayLink 1 2 10 x", "delayLink", "argument 4: 'x' is not"},
        {"delayLink 1 2 600001", "delayLink", "argument 3: '600001' is too large "
                                              "(milliseconds, maximum 600000)"},
        {"delayLink 1 2 5 99999999999999999999999", "delayLink", "argument 4: "},
        {"delayLink 1 2 1.5", "delayLink", "argument 3"},
        {"delayLink 1x 2 5", "delayLink", "argument 1"},
        {"delayLink 1 1000000000000 5", "delayLink", "argument 2: '1000000000000' is too large"},
        {"blockLink 1", "blockLink", "usage: blockLink FROM_ID TO_ID"},
        {"unblockLink 1 2 3", "unblockLink", "expected 2 arguments"},
        {"blockLink a b", "blockLink", "argument 1"},
        {"flakyLink 1 2", "flakyLink", "usage: flakyLink FROM_ID TO_ID PCT"},
        {"flakyLink 1 2 101", "flakyLink", "'101' is too large (a percentage, maximum 100)"},
        {"flakyLink 1 2 50%", "flakyLink", "'50%' is not"},
        {"flakyLink 1 2 0x10", "flakyLink", "argument 3"},
        {"sleep", "sleep", "usage: sleep MS"},
        {"sleep 1 2", "sleep", "expected 1 argument, got 2"},
        {"sleep -1", "sleep", "argument 1: '-1' is not"},
        {"sleep 1e3", "sleep", "argument 1"},
        {"sleep 600001", "sleep", "too large"},
        {"sleep \xff\x1b", "sleep", "'\\xff\\x1b' is not"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parsed p;
        parse_bad(&p, bad[i].line, strlen(bad[i].line));
        CU_ASSERT(name_is(&p, bad[i].name));
        bool has = strstr(p.err.msg, bad[i].want) != NULL;
        CU_ASSERT(has);
        if (!has)
            fprintf(stderr, "\n  '%s': '%s' lacks '%s'\n", bad[i].line, p.err.msg, bad[i].want);
        done(&p);
    }
    /* A huge number is cut in the message. */
    size_t len = 6 + 100000;
    char *line = xmalloc(len);
    memcpy(line, "sleep ", 6);
    memset(line + 6, '9', len - 6);
    parsed p;
    parse_bad(&p, line, len);
    CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "... (100000 bytes)"));
    CU_ASSERT(strlen(p.err.msg) < 300);
    done(&p);
    free(line);
}

static void test_kind_names(void)
{
    static const struct {
        script_kind kind;
        const char *name;
    } k[] = {
        {SCRIPT_CMD_JOIN_SERVER, "joinServer"},
        {SCRIPT_CMD_KILL_SERVER, "killServer"},
        {SCRIPT_CMD_JOIN_CLIENT, "joinClient"},
        {SCRIPT_CMD_BREAK_CONNECTION, "breakConnection"},
        {SCRIPT_CMD_CREATE_CONNECTION, "createConnection"},
        {SCRIPT_CMD_STABILIZE, "stabilize"},
        {SCRIPT_CMD_PRINT_STORE, "printStore"},
        {SCRIPT_CMD_PUT, "put"},
        {SCRIPT_CMD_GET, "get"},
        {SCRIPT_CMD_SHOW_SERVER, "showServer"},
        {SCRIPT_CMD_PAUSE_SERVER, "pauseServer"},
        {SCRIPT_CMD_RESUME_SERVER, "resumeServer"},
        {SCRIPT_CMD_DELAY_LINK, "delayLink"},
        {SCRIPT_CMD_BLOCK_LINK, "blockLink"},
        {SCRIPT_CMD_UNBLOCK_LINK, "unblockLink"},
        {SCRIPT_CMD_FLAKY_LINK, "flakyLink"},
        {SCRIPT_CMD_SLEEP, "sleep"},
        {SCRIPT_CMD_HELP, "help"},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        CU_ASSERT_STRING_EQUAL(script_kind_name(k[i].kind), k[i].name);
        /* A known name is its own suggestion. */
        const char *s = script_suggest(k[i].name);
        CU_ASSERT_PTR_NOT_NULL(s);
        if (s)
            CU_ASSERT_STRING_EQUAL(s, k[i].name);
    }
    CU_ASSERT_STRING_EQUAL(script_kind_name(SCRIPT_CMD_NONE), "");
}

static void test_white_space(void)
{
    parsed p;
    static const char tabs[] = "\tput\t5\t\tkey\tvalue\t";
    parse_ok(&p, tabs, strlen(tabs));
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_PUT);
    CU_ASSERT_EQUAL(p.cmd.id[0], 5);
    CU_ASSERT(KEY_IS(&p, "key"));
    CU_ASSERT(VALUE_IS(&p, "value"));
    done(&p);

    static const char blanks[] = "   joinServer   3   ";
    parse_ok(&p, blanks, strlen(blanks));
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_JOIN_SERVER);
    CU_ASSERT_EQUAL(p.cmd.id[0], 3);
    done(&p);

    /* A CRLF file: the CR before the end is white space, not part of the
     * last token. */
    static const char cr[] = "get 1 key\r";
    parse_ok(&p, cr, strlen(cr));
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_GET);
    CU_ASSERT(KEY_IS(&p, "key"));
    done(&p);
    static const char cr_id[] = "joinServer 12\r";
    parse_ok(&p, cr_id, strlen(cr_id));
    CU_ASSERT_EQUAL(p.cmd.id[0], 12);
    done(&p);
    static const char cr0[] = "stabilize\r";
    parse_ok(&p, cr0, strlen(cr0));
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_STABILIZE);
    done(&p);
    static const char mixed[] = " \t put 1 \t k \t v \t \r";
    parse_ok(&p, mixed, strlen(mixed));
    CU_ASSERT(KEY_IS(&p, "k"));
    CU_ASSERT(VALUE_IS(&p, "v"));
    done(&p);
}

static void test_blank_and_comment(void)
{
    static const char *none[] = {
        "", " ", "\t", "   \t  ", "\r", " \r", "#", "# a comment", "   # indented comment",
        "\t#put 1 k v", "#joinServer 1 2 3 4 5 6 7 8", "##", "#\xff\x80",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        parsed p;
        parse(&p, none[i]);
        CU_ASSERT_EQUAL(p.rc, 0);
        CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_NONE);
        CU_ASSERT_PTR_NOT_NULL(p.cmd.name);
        CU_ASSERT(name_is(&p, ""));
        CU_ASSERT_PTR_NULL(p.cmd.key);
        done(&p);
    }
    /* A '#' later in the line is not a comment: this is a command. */
    parsed p;
    parse(&p, "get 1 #notacomment");
    CU_ASSERT_EQUAL(p.rc, 0);
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_GET);
    CU_ASSERT(KEY_IS(&p, "#notacomment"));
    done(&p);
}

static void test_arbitrary_bytes(void)
{
    parsed p;
    static const char colon[] = "put 1 a:b c:d#e:";
    parse_ok(&p, colon, strlen(colon));
    CU_ASSERT(KEY_IS(&p, "a:b"));
    CU_ASSERT(VALUE_IS(&p, "c:d#e:"));
    done(&p);

    static const char hash[] = "put 1 #k ##";
    parse_ok(&p, hash, strlen(hash));
    CU_ASSERT(KEY_IS(&p, "#k"));
    CU_ASSERT(VALUE_IS(&p, "##"));
    done(&p);

    /* Every non-blank byte 0x01..0xff except the separators, as the key,
     * then as the value. */
    char tok[256];
    size_t n = 0;
    for (int c = 1; c < 256; c++)
        if (c != ' ' && c != '\t' && c != '\r' && c != '\v' && c != '\f' && c != '\n')
            tok[n++] = (char)c;
    char line[600];
    int h = snprintf(line, sizeof line, "put 9 ");
    memcpy(line + h, tok, n);
    memcpy(line + h + n, " x", 2);
    parse_ok(&p, line, (size_t)h + n + 2);
    CU_ASSERT(bytes_eq(p.cmd.key, p.cmd.key_len, tok, n));
    CU_ASSERT(VALUE_IS(&p, "x"));
    done(&p);
    h = snprintf(line, sizeof line, "put 9 k ");
    memcpy(line + h, tok, n);
    parse_ok(&p, line, (size_t)h + n);
    CU_ASSERT(KEY_IS(&p, "k"));
    CU_ASSERT(bytes_eq(p.cmd.value, p.cmd.value_len, tok, n));
    done(&p);

    /* High bytes only. */
    static const char high[] = "get 2 \x80\xff\xc3\xa9";
    parse_ok(&p, high, strlen(high));
    CU_ASSERT(KEY_IS(&p, "\x80\xff\xc3\xa9"));
    done(&p);
}

/* SPEC section 2: values of at least 1 MiB and keys of at least 1 KiB. */
static void test_long_tokens(void)
{
    size_t klen = 4096, vlen = (1u << 20) + 17;
    size_t len = 6 + klen + 1 + vlen;
    char *line = xmalloc(len);
    memcpy(line, "put 7 ", 6);
    memset(line + 6, 'k', klen);
    line[6 + klen] = ' ';
    for (size_t i = 0; i < vlen; i++)
        line[7 + klen + i] = (char)('a' + i % 26);
    parsed p;
    parse_ok(&p, line, len);
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_PUT);
    CU_ASSERT_EQUAL(p.cmd.key_len, klen);
    CU_ASSERT_EQUAL(p.cmd.value_len, vlen);
    CU_ASSERT(bytes_eq(p.cmd.value, p.cmd.value_len, line + 7 + klen, vlen));
    done(&p);
    free(line);
}

static void test_unknown_command(void)
{
    static const struct {
        const char *line;
        const char *word;
        const char *suggestion; /* NULL: none */
    } u[] = {
        {"stablize", "stablize", "stabilize"},
        {"PUT 1 k v", "PUT", "put"},
        {"getx 1 k", "getx", "get"},
        {"FOO", "FOO", NULL},
        {"joinserver 1", "joinserver", "joinServer"},
        {"printstor 1", "printstor", "printStore"},
        {"  killServr\t4 ", "killServr", "killServer"},
        {"hello world", "hello", "help"},
        {"xyzzyplughfrobnicate 1 2 3 4 5 6 7", "xyzzyplughfrobnicate", NULL},
        {"\xff\xfe 1", "\xff\xfe", NULL},
    };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        parsed p;
        parse_bad(&p, u[i].line, strlen(u[i].line));
        CU_ASSERT(name_is(&p, u[i].word));
        CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "unknown command"));
        const char *s = script_suggest(u[i].word);
        if (u[i].suggestion) {
            char quoted[64];
            snprintf(quoted, sizeof quoted, "'%s'", u[i].suggestion);
            CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, quoted));
            CU_ASSERT_PTR_NOT_NULL(s);
            if (s)
                CU_ASSERT_STRING_EQUAL(s, u[i].suggestion);
        } else {
            CU_ASSERT_PTR_NULL(strstr(p.err.msg, "did you mean"));
            CU_ASSERT_PTR_NULL(s);
        }
        if (p.rc != -1 || (u[i].suggestion && !strstr(p.err.msg, u[i].suggestion)))
            fprintf(stderr, "\n  '%s' -> rc %d, '%s'\n", u[i].line, p.rc, p.err.msg);
        done(&p);
    }
}

/* script_suggest(word) is want (NULL-safe, unlike CU_ASSERT_STRING_EQUAL). */
static int suggests(const char *word, const char *want)
{
    const char *s = script_suggest(word);
    if (s && strcmp(s, want) == 0)
        return 1;
    fprintf(stderr, "\n  script_suggest(\"%s\") is %s%s%s, want '%s'\n", word, s ? "'" : "",
            s ? s : "NULL", s ? "'" : "", want);
    return 0;
}

static void test_suggest(void)
{
    CU_ASSERT(suggests("stablize", "stabilize"));
    CU_ASSERT(suggests("PUT", "put"));
    CU_ASSERT(suggests("getx", "get"));
    CU_ASSERT(suggests("STABILIZE", "stabilize"));
    CU_ASSERT(suggests("breakconection", "breakConnection"));
    CU_ASSERT(suggests("createConection", "createConnection"));
    /* Three typos in a long name are still close. */
    CU_ASSERT(suggests("prntStr", "printStore"));
    CU_ASSERT(suggests("joinClnt", "joinClient"));
    CU_ASSERT(suggests("pauseserver", "pauseServer"));
    CU_ASSERT(suggests("delaylink", "delayLink"));
    CU_ASSERT(suggests("unblocklink", "unblockLink"));
    CU_ASSERT(suggests("slep", "sleep"));
    CU_ASSERT_PTR_NULL(script_suggest("FOO"));
    CU_ASSERT_PTR_NULL(script_suggest(""));
    CU_ASSERT_PTR_NULL(script_suggest("x"));
    CU_ASSERT_PTR_NULL(script_suggest("delete"));
    CU_ASSERT_PTR_NULL(script_suggest("abcdefgh"));
    /* Far longer than any name: must neither crash nor match. */
    char lng[300];
    memset(lng, 'a', sizeof lng - 1);
    lng[sizeof lng - 1] = '\0';
    CU_ASSERT_PTR_NULL(script_suggest(lng));
    memcpy(lng, "stabilize", 9);
    CU_ASSERT_PTR_NULL(script_suggest(lng));
}

static void test_argument_counts(void)
{
    static const struct {
        const char *line;
        const char *name;
        script_kind kind;
    } bad[] = {
        {"joinServer", "joinServer", SCRIPT_CMD_JOIN_SERVER},
        {"joinServer 1 2", "joinServer", SCRIPT_CMD_JOIN_SERVER},
        {"killServer", "killServer", SCRIPT_CMD_KILL_SERVER},
        {"killServer 1 2 3", "killServer", SCRIPT_CMD_KILL_SERVER},
        {"joinClient 5", "joinClient", SCRIPT_CMD_JOIN_CLIENT},
        {"joinClient 5 1 2", "joinClient", SCRIPT_CMD_JOIN_CLIENT},
        {"breakConnection 1", "breakConnection", SCRIPT_CMD_BREAK_CONNECTION},
        {"createConnection", "createConnection", SCRIPT_CMD_CREATE_CONNECTION},
        {"createConnection 1 2 3", "createConnection", SCRIPT_CMD_CREATE_CONNECTION},
        {"stabilize now", "stabilize", SCRIPT_CMD_STABILIZE},
        {"printStore", "printStore", SCRIPT_CMD_PRINT_STORE},
        {"printStore 1 2", "printStore", SCRIPT_CMD_PRINT_STORE},
        {"put 1 k", "put", SCRIPT_CMD_PUT},
        {"put 1", "put", SCRIPT_CMD_PUT},
        {"put", "put", SCRIPT_CMD_PUT},
        {"put 1 k v extra", "put", SCRIPT_CMD_PUT},
        {"put 1 k v with spaces in it", "put", SCRIPT_CMD_PUT},
        {"get 1", "get", SCRIPT_CMD_GET},
        {"get 1 k v", "get", SCRIPT_CMD_GET},
        {"get 1 a b c d e f g h i j k l m n o p q r s t u v w x y z", "get", SCRIPT_CMD_GET},
        {"stabilize 1 2 3 4 5 6 7 8 9 10 11 12", "stabilize", SCRIPT_CMD_STABILIZE},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parsed p;
        parse_bad(&p, bad[i].line, strlen(bad[i].line));
        CU_ASSERT(name_is(&p, bad[i].name));
        CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "usage"));
        CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, bad[i].name));
        done(&p);
    }
    /* Thousands of tokens. */
    size_t len = 4 + 2 * 5000;
    char *line = xmalloc(len);
    memcpy(line, "put ", 4);
    for (size_t i = 0; i < 5000; i++)
        memcpy(line + 4 + 2 * i, "1 ", 2);
    parsed p;
    parse_bad(&p, line, len);
    CU_ASSERT(name_is(&p, "put"));
    done(&p);
    free(line);
}

static void test_bad_ids(void)
{
    static const char *ids[] = {
        "x", "-1", "+1", "0x10", "1.5", "1e3", "1a", "-0", "1000000000000",
        "18446744073709551616", "99999999999999999999999999", "\xff",
    };
    static const char *fmt[] = {
        "joinServer %s",  "killServer %s",   "printStore %s",         "joinClient %s 1",
        "joinClient 1 %s", "breakConnection %s 2", "createConnection 1 %s", "put %s k v",
        "get %s k",
    };
    for (size_t f = 0; f < sizeof fmt / sizeof fmt[0]; f++)
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
            char line[128];
            snprintf(line, sizeof line, fmt[f], ids[i]);
            parsed p;
            parse_bad(&p, line, strlen(line));
            /* The command word is known, so it is named. */
            CU_ASSERT(p.cmd.name && p.cmd.name[0] != '\0' &&
                      strncmp(line, p.cmd.name, strlen(p.cmd.name)) == 0);
            CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "argument"));
            done(&p);
        }
    /* The largest id is fine, in every position. */
    parsed p;
    parse(&p, "breakConnection 999999999999 0");
    CU_ASSERT_EQUAL(p.rc, 0);
    CU_ASSERT_EQUAL(p.cmd.id[0], DKV_ID_MAX);
    CU_ASSERT_EQUAL(p.cmd.id[1], 0);
    done(&p);
    /* put/get take one id: the key may look like anything, even "-1". */
    parse(&p, "put 999999999999 -1 0x10");
    CU_ASSERT_EQUAL(p.rc, 0);
    CU_ASSERT_EQUAL(p.cmd.id[0], DKV_ID_MAX);
    CU_ASSERT(KEY_IS(&p, "-1"));
    CU_ASSERT(VALUE_IS(&p, "0x10"));
    done(&p);
}

static void test_nul_byte(void)
{
    static const struct {
        const char *line;
        size_t len;
    } nul[] = {
        {"put 1 k\0v v", 11},
        {"put 1 k v\0", 10},
        {"\0", 1},
        {"\0put 1 k v", 10},
        {"get 1 \0", 7},
        {"# comment\0 put", 14},
        {" \0 ", 3},
    };
    for (size_t i = 0; i < sizeof nul / sizeof nul[0]; i++) {
        parsed p;
        parse_bad(&p, nul[i].line, nul[i].len);
        CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "NUL"));
        done(&p);
    }
}

/* script.h: "On error, err names the problem and out->name the command word
 * when there is one"; SPEC 3 wants the message to name the command. A NUL
 * byte after a well-formed command word must not lose the name (it once
 * left out->name "", so the master printed "line N: ?: ..."). */
static void test_nul_byte_names_command(void)
{
    parsed p;
    parse_bad(&p, "put 1 k\0v v", 11);
    CU_ASSERT(p.cmd.name && strcmp(p.cmd.name, "put") == 0);
    if (p.cmd.name && strcmp(p.cmd.name, "put") != 0)
        fprintf(stderr, "\n  out->name is '%s' for \"put 1 k\\0v v\"\n", p.cmd.name);
    CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "NUL"));
    done(&p);
    /* Also when the arguments would be wrong anyway, and for an unknown
     * word: the NUL is what is reported. */
    parse_bad(&p, "stabilize\0", 10);
    CU_ASSERT(p.cmd.name && strcmp(p.cmd.name, "stabilize") == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "NUL"));
    done(&p);
    parse_bad(&p, "joinServer x\0", 13);
    CU_ASSERT(p.cmd.name && strcmp(p.cmd.name, "joinServer") == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "NUL"));
    done(&p);
    parse_bad(&p, "FOO \0", 5);
    CU_ASSERT(p.cmd.name && strcmp(p.cmd.name, "FOO") == 0);
    done(&p);
}

/* The parse must not depend on line[len] or read beyond it: parse_n puts
 * 'Z' there, which would show up in the last token. A len shorter than the
 * text cuts the line at len. */
static void test_stops_at_len(void)
{
    parsed p;
    parse_ok(&p, "put 1 k v extra", 9);
    CU_ASSERT(VALUE_IS(&p, "v"));
    done(&p);
    parse_ok(&p, "joinServer 12345", 12);
    CU_ASSERT_EQUAL(p.cmd.id[0], 1);
    done(&p);
    parse_ok(&p, "stabilize", 9);
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_STABILIZE);
    done(&p);
    /* len 0 with a non-empty buffer: a blank line. */
    parse_n(&p, "stabilize", 0);
    CU_ASSERT_EQUAL(p.rc, 0);
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_NONE);
    done(&p);
}

/* script_echo: what a message may show of a token. */
static void test_echo(void)
{
    char out[SCRIPT_ECHO_SIZE];
    CU_ASSERT_STRING_EQUAL(script_echo(out, sizeof out, "stablize", 8), "stablize");
    CU_ASSERT_STRING_EQUAL(script_echo(out, sizeof out, "", 0), "");
    /* Control bytes, DEL, high bytes and the backslash itself are escaped,
     * so the escape cannot be forged and the terminal sees no control. */
    CU_ASSERT_STRING_EQUAL(script_echo(out, sizeof out, "a\x1b[2Jb", 6), "a\\x1b[2Jb");
    CU_ASSERT_STRING_EQUAL(script_echo(out, sizeof out, "\n\r\x7f\x80\xff", 5),
                           "\\x0a\\x0d\\x7f\\x80\\xff");
    CU_ASSERT_STRING_EQUAL(script_echo(out, sizeof out, "a\\x41", 5), "a\\x5cx41");
    CU_ASSERT_STRING_EQUAL(script_echo(out, sizeof out, "\xc3\xa9", 2), "\\xc3\\xa9");
    /* Exactly SCRIPT_ECHO_BYTES bytes: shown whole, no ellipsis. */
    char tok[SCRIPT_ECHO_BYTES + 1];
    memset(tok, 'w', sizeof tok);
    script_echo(out, sizeof out, tok, SCRIPT_ECHO_BYTES);
    CU_ASSERT_EQUAL(strlen(out), SCRIPT_ECHO_BYTES);
    CU_ASSERT_PTR_NULL(strstr(out, "..."));
    /* One more: cut, with the total length. */
    script_echo(out, sizeof out, tok, SCRIPT_ECHO_BYTES + 1);
    CU_ASSERT_EQUAL(strncmp(out, tok, SCRIPT_ECHO_BYTES), 0);
    CU_ASSERT_STRING_EQUAL(out + SCRIPT_ECHO_BYTES, "... (41 bytes)");
    /* The worst case fits: every shown byte escaped, and a length of 20
     * digits. */
    char high[SCRIPT_ECHO_BYTES];
    memset(high, 0xff, sizeof high);
    script_echo(out, sizeof out, high, SIZE_MAX);
    CU_ASSERT_EQUAL(strlen(out), 4 * SCRIPT_ECHO_BYTES + strlen("... (18446744073709551615 bytes)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "(18446744073709551615 bytes)"));
    /* A small buffer is never overrun, and always terminated. */
    char small[8];
    memset(small, 'Q', sizeof small);
    script_echo(small, sizeof small, "\x01\x02\x03\x04", 4);
    CU_ASSERT_PTR_NOT_NULL(memchr(small, '\0', sizeof small));
    CU_ASSERT_STRING_EQUAL(small, "\\x01");
}

/* A command word of many megabytes: the parse names it (out->name is the
 * word, for the history), but nothing in the message grows with it, and an
 * id argument full of control bytes is echoed escaped and cut. */
static void test_huge_tokens_in_messages(void)
{
    size_t n = 8u << 20;
    char *line = xmalloc(n + 3);
    memset(line, 'x', n);
    line[7] = '\x1b'; /* an escape sequence in the middle of the word */
    memcpy(line + n, " 1", 2);
    parsed p;
    parse_bad(&p, line, n + 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "unknown command"));
    CU_ASSERT(p.cmd.name && strlen(p.cmd.name) == n);
    CU_ASSERT(strlen(p.err.msg) < 100);
    char shown[SCRIPT_ECHO_SIZE];
    script_echo(shown, sizeof shown, p.cmd.name, strlen(p.cmd.name));
    CU_ASSERT_PTR_NOT_NULL(strstr(shown, "xxxxxxx\\x1bxxx"));
    CU_ASSERT_PTR_NOT_NULL(strstr(shown, "... (8388608 bytes)"));
    CU_ASSERT(strlen(shown) < 100);
    done(&p);

    /* An id of a megabyte, of digits (too large) and of anything else. */
    memcpy(line, "joinServer ", 11);
    memset(line + 11, '7', n - 11);
    parse_bad(&p, line, n);
    CU_ASSERT(name_is(&p, "joinServer"));
    CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "too large"));
    CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "... (8388597 bytes)"));
    CU_ASSERT(strlen(p.err.msg) < 200);
    done(&p);
    line[12] = '\x07'; /* BEL */
    line[13] = '\xff';
    parse_bad(&p, line, n);
    CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "'7\\x07\\xff777"));
    CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "not a non-negative decimal number"));
    CU_ASSERT_PTR_NULL(strchr(p.err.msg, '\x07'));
    CU_ASSERT(strlen(p.err.msg) < 200);
    done(&p);
    free(line);

    /* A short bad id keeps the message it always had. */
    parse_bad(&p, "put x k v", 9);
    CU_ASSERT_STRING_EQUAL(p.err.msg, "argument 1: 'x' is not a non-negative decimal number");
    done(&p);
    parse_bad(&p, "killServer 1000000000000", 24);
    CU_ASSERT_STRING_EQUAL(p.err.msg,
                           "argument 1: '1000000000000' is too large (maximum 999999999999)");
    done(&p);
}

/* Every command of the table has a usage starting with its name and a
 * one-sentence description, which `help` prints. */
static void test_every_command_has_help(void)
{
    size_t n = 0;
    for (const char *name; (name = script_command_name(n)); n++) {
        const char *usage = NULL, *help = NULL;
        dkv_err err;
        CU_ASSERT_EQUAL_FATAL(script_command_help(name, &usage, &help, &err), 0);
        CU_ASSERT(usage && strncmp(usage, name, strlen(name)) == 0 &&
                  (usage[strlen(name)] == '\0' || usage[strlen(name)] == ' '));
        CU_ASSERT(help && strlen(help) > 10 && help[strlen(help) - 1] == '.');
        if (!help || !*help || help[strlen(help) - 1] != '.')
            fprintf(stderr, "\n  command %s has no one-sentence help\n", name);
        /* Its help names it, and help lists it. */
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        script_print_help(f, name);
        fclose(f);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, usage));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, help));
        free(text);
        f = open_memstream(&text, &len);
        script_print_help(f, NULL);
        fclose(f);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, help));
        free(text);
    }
    /* The nine commands of SPEC and help, at least. */
    CU_ASSERT(n >= 10);
    const char *usage, *help;
    dkv_err err;
    CU_ASSERT_EQUAL(script_command_help("nosuch", &usage, &help, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nosuch"));
}

static void test_help_command(void)
{
    parsed p;
    parse_ok(&p, "help", 4);
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_HELP);
    CU_ASSERT(name_is(&p, "help"));
    CU_ASSERT_PTR_NULL(p.cmd.key);
    done(&p);
    static const char hp[] = " help\tput \r";
    parse_ok(&p, hp, strlen(hp));
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_HELP);
    CU_ASSERT(KEY_IS(&p, "put"));
    CU_ASSERT(p.cmd.key && p.cmd.key[3] == '\0'); /* a C string for script_print_help */
    done(&p);
    parse_ok(&p, "help # what now?", 16);
    CU_ASSERT_EQUAL(p.cmd.kind, SCRIPT_CMD_HELP);
    CU_ASSERT_PTR_NULL(p.cmd.key);
    done(&p);
    parse_ok(&p, "help help", 9);
    CU_ASSERT(KEY_IS(&p, "help"));
    done(&p);
    /* Bad input: an unknown command (with a suggestion when one is close,
     * the word escaped), too many arguments, a wrong case. */
    static const struct {
        const char *line;
        const char *in_msg;
    } bad[] = {
        {"help stablize", "did you mean 'stabilize'"},
        {"help nosuchcommand", "no command 'nosuchcommand'"},
        {"help PUT", "did you mean 'put'"},
        {"help put get", "at most 1 argument"},
        {"help a b c d e f g", "at most 1 argument"},
        {"help \x1b[2J", "'\\x1b[2J'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parse_bad(&p, bad[i].line, strlen(bad[i].line));
        CU_ASSERT(name_is(&p, "help"));
        CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, bad[i].in_msg));
        if (!strstr(p.err.msg, bad[i].in_msg))
            fprintf(stderr, "\n  '%s' -> '%s'\n", bad[i].line, p.err.msg);
        CU_ASSERT_PTR_NULL(strchr(p.err.msg, '\x1b'));
        done(&p);
    }
    CU_ASSERT(suggests("hlp", "help"));
}

/* A '#' starting a token after the command starts a comment, except where
 * the token is a key or a value (SPEC lets them begin with '#'); a '#'
 * inside a token is data. */
static void test_trailing_comments(void)
{
    parsed p;
    static const struct {
        const char *line;
        script_kind kind;
        uint64_t id0;
        const char *key, *value; /* NULL: none */
    } ok[] = {
        {"stabilize # let it settle", SCRIPT_CMD_STABILIZE, 0, NULL, NULL},
        {"stabilize #", SCRIPT_CMD_STABILIZE, 0, NULL, NULL},
        {"stabilize\t#tab", SCRIPT_CMD_STABILIZE, 0, NULL, NULL},
        {"joinServer 3 # the first", SCRIPT_CMD_JOIN_SERVER, 3, NULL, NULL},
        {"joinServer 3 #1 2 3 4 5 6 7 8 9", SCRIPT_CMD_JOIN_SERVER, 3, NULL, NULL},
        {"put 1 k v # a comment", SCRIPT_CMD_PUT, 1, "k", "v"},
        {"put 1 k v #comment", SCRIPT_CMD_PUT, 1, "k", "v"},
        {"put 1 k v ## x", SCRIPT_CMD_PUT, 1, "k", "v"},
        {"put 1 #k #v #c", SCRIPT_CMD_PUT, 1, "#k", "#v"},
        {"put 1 k v#c", SCRIPT_CMD_PUT, 1, "k", "v#c"},
        {"put 1 k# #", SCRIPT_CMD_PUT, 1, "k#", "#"},
        {"get 1 k # c", SCRIPT_CMD_GET, 1, "k", NULL},
        {"get 1 #k #c", SCRIPT_CMD_GET, 1, "#k", NULL},
        {"get 1 # #", SCRIPT_CMD_GET, 1, "#", NULL},
        {"printStore 4 #\xff\x80 bytes", SCRIPT_CMD_PRINT_STORE, 4, NULL, NULL},
        {"get 2 k #c\r", SCRIPT_CMD_GET, 2, "k", NULL},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        parse_ok(&p, ok[i].line, strlen(ok[i].line));
        CU_ASSERT_EQUAL(p.cmd.kind, ok[i].kind);
        CU_ASSERT_EQUAL(p.cmd.id[0], ok[i].id0);
        if (ok[i].key) {
            CU_ASSERT(bytes_eq(p.cmd.key, p.cmd.key_len, ok[i].key, strlen(ok[i].key)));
            CU_ASSERT_EQUAL(p.cmd.key[p.cmd.key_len], '\0');
        } else {
            CU_ASSERT_PTR_NULL(p.cmd.key);
        }
        if (ok[i].value) {
            CU_ASSERT(bytes_eq(p.cmd.value, p.cmd.value_len, ok[i].value, strlen(ok[i].value)));
            CU_ASSERT_EQUAL(p.cmd.value[p.cmd.value_len], '\0');
        } else {
            CU_ASSERT_PTR_NULL(p.cmd.value);
        }
        done(&p);
    }
    /* Bad input around comments: a comment where an argument belongs, a
     * '#' glued to a command word or an id, a '#' value followed by more
     * words, a NUL inside the comment. */
    static const struct {
        const char *line;
        size_t len;
        const char *in_msg;
    } bad[] = {
        {"joinServer #3", 13, "expected 1 argument, got 0"},
        {"joinServer # 3", 14, "expected 1 argument, got 0"},
        {"joinClient 1 #2", 15, "expected 2 arguments, got 1"},
        {"joinServer 3#", 13, "not a non-negative decimal number"},
        {"stabilize#", 10, "did you mean 'stabilize'"},
        {"put 1 k # a comment", 19, "expected 3 arguments, got more than 4"},
        {"put 1 k # c", 11, "expected 3 arguments, got 4"},
        {"get 1 # c", 9, "expected 2 arguments, got 3"},
        {"put 1 #", 7, "expected 3 arguments, got 2"},
        {"stabilize # a\0b", 15, "NUL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parse_bad(&p, bad[i].line, bad[i].len);
        CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, bad[i].in_msg));
        if (!strstr(p.err.msg, bad[i].in_msg))
            fprintf(stderr, "\n  '%s' -> '%s'\n", bad[i].line, p.err.msg);
        done(&p);
    }
}

/* The master skips a UTF-8 byte order mark opening the script; anywhere
 * else it is part of the line (an unknown command, shown escaped). */
static void test_bom(void)
{
    CU_ASSERT_EQUAL(script_bom_len("\xef\xbb\xbfjoinServer 1", 15), 3);
    CU_ASSERT_EQUAL(script_bom_len("\xef\xbb\xbf", 3), 3);
    CU_ASSERT_EQUAL(script_bom_len("\xef\xbb\xbf", 2), 0); /* cut short */
    CU_ASSERT_EQUAL(script_bom_len("\xef\xbb", 2), 0);
    CU_ASSERT_EQUAL(script_bom_len("", 0), 0);
    CU_ASSERT_EQUAL(script_bom_len("\xef\xbb\xbe", 3), 0);
    CU_ASSERT_EQUAL(script_bom_len("\xfe\xff\x00j", 4), 0); /* UTF-16: not ours */
    CU_ASSERT_EQUAL(script_bom_len("joinServer 1", 12), 0);
    parsed p;
    parse_bad(&p, "\xef\xbb\xbfjoinServer 1", 15);
    CU_ASSERT_PTR_NOT_NULL(strstr(p.err.msg, "unknown command"));
    char shown[SCRIPT_ECHO_SIZE];
    script_echo(shown, sizeof shown, p.cmd.name, strlen(p.cmd.name));
    CU_ASSERT_STRING_EQUAL(shown, "\\xef\\xbb\\xbfjoinServer");
    done(&p);
}

void add_script_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"every command", test_every_command},
        {"fault commands", test_fault_commands},
        {"fault commands: bad input", test_fault_bad_input},
        {"kind names", test_kind_names},
        {"tabs, blanks and CR", test_white_space},
        {"blank lines and comments are SCRIPT_CMD_NONE", test_blank_and_comment},
        {"keys and values of arbitrary bytes", test_arbitrary_bytes},
        {"1 MiB value, 4 KiB key", test_long_tokens},
        {"unknown commands and suggestions", test_unknown_command},
        {"script_suggest", test_suggest},
        {"wrong argument counts", test_argument_counts},
        {"bad ids", test_bad_ids},
        {"NUL byte in the line", test_nul_byte},
        {"a NUL byte after the command word keeps out->name", test_nul_byte_names_command},
        {"reads only line[0..len)", test_stops_at_len},
        {"script_echo escapes and cuts", test_echo},
        {"huge tokens make short messages", test_huge_tokens_in_messages},
        {"every command has help", test_every_command_has_help},
        {"help and help COMMAND", test_help_command},
        {"comments after a command", test_trailing_comments},
        {"UTF-8 byte order mark", test_bom},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("script", NULL, NULL, tests);
}
