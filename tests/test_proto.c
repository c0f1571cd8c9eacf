/* proto: the contract of every RPC. Bad arguments of every kind are
 * refused with a fault that names the argument (wrong count, type, range,
 * token, length, enum, repeated groups, rules between fields); every
 * method's arguments and reply survive a real call (a served child, both
 * ways through the generic marshaller); faults carry the right code; a
 * daemon that forgets a method of its own, or binds a foreign one, does
 * not start. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/loop.h"
#include "../common/net.h"
#include "../common/proto.h"
#include "../common/xalloc.h"
#include "flateq.h"
#include "tests.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------ */

static rpcflat_msg *msg_of(const rpcflat_val *vals, size_t n)
{
    rpcflat_msg *m = rpcflat_msg_new();
    for (size_t i = 0; i < n; i++)
        if (rpcflat_msg_add(m, vals[i]) < 0)
            abort();
    return m;
}

static void *heap(void *ctx, size_t n)
{
    void **mem = ctx;
    free(*mem);
    *mem = xcalloc(1, n);
    return *mem;
}

/* Decodes vals as m's arguments (or reply): 0, or -1 with the message in
 * err. The struct lands in out (at least 256 bytes), a group in *group
 * (caller frees); its bytes and strings stay valid until the next call. */
static int decode(const proto_method *m, bool args, const rpcflat_val *vals, size_t n, void *out,
                  void **group, dkv_err *err)
{
    static rpcflat_msg *msg; /* the decoded values point into it: kept to the next call */
    rpcflat_msg_free(msg);
    msg = msg_of(vals, n);
    const proto_layout *l = args ? &m->args : &m->reply;
    memset(out, 0, l->size);
    return proto_decode(l, msg, args, m->name, out, heap, group, err);
}

/* Decoding fails with a message holding want. */
static void refused(const proto_method *m, bool args, const rpcflat_val *vals, size_t n,
                    const char *want)
{
    _Alignas(max_align_t) unsigned char out[256];
    void *group = NULL;
    dkv_err err = {{0}};
    int rc = decode(m, args, vals, n, out, &group, &err);
    bool ok = rc == -1 && strstr(err.msg, want);
    CU_ASSERT_TRUE(ok);
    if (!ok)
        fprintf(stderr, "\n  %s: want '%s', got rc %d '%s'\n", m->name, want, rc, err.msg);
    free(group);
}

static void accepted(const proto_method *m, bool args, const rpcflat_val *vals, size_t n)
{
    _Alignas(max_align_t) unsigned char out[256];
    void *group = NULL;
    dkv_err err = {{0}};
    int rc = decode(m, args, vals, n, out, &group, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc != 0)
        fprintf(stderr, "\n  %s: refused: %s\n", m->name, err.msg);
    free(group);
}

#define I(x) rpcflat_int((int64_t)(x))
#define B(s) rpcflat_bytes(s, sizeof(s) - 1)
#define S(s) rpcflat_string(s)

/* ---- bad arguments ---------------------------------------------------------- */

static void test_count_and_type(void)
{
    const rpcflat_val put[] = {B("k"), B("v"), I(0), I(0), I(0)};
    accepted(&proto_server_put, true, put, 4);
    refused(&proto_server_put, true, put, 3, "put takes 4 arguments, got 3");
    refused(&proto_server_put, true, put, 5, "put takes 4 arguments, got 5");
    refused(&proto_server_put, true, NULL, 0, "put takes 4 arguments, got 0");
    refused(&proto_client_detach, true, put, 1, "detach takes 0 arguments, got 1");
    refused(&proto_client_get, true, put, 2, "get takes 1 argument, got 2");

    const rpcflat_val str_dep[] = {B("k"), B("v"), S("0"), I(0)};
    refused(&proto_server_put, true, str_dep, 4,
            "put: argument 3 (dep_lamport): expected an integer, got a string");
    const rpcflat_val str_key[] = {S("k"), B("v")};
    refused(&proto_client_put, true, str_key, 2,
            "put: argument 1 (key): expected base64, got a string");
    const rpcflat_val bool_flag[] = {B(""), rpcflat_bool(false)};
    refused(&proto_server_dump, true, bool_flag, 2,
            "dump: argument 2 (has_after): expected an integer, got a boolean");
    const rpcflat_val int_host[] = {I(1), I(2), I(3)};
    refused(&proto_server_connect, true, int_host, 3,
            "connect: argument 2 (host): expected a string, got an integer");
}

static void test_ranges(void)
{
    const rpcflat_val dep_max[] = {B("k"), B("v"), I(DKV_COUNTER_MAX), I(DKV_ID_MAX)};
    accepted(&proto_server_put, true, dep_max, 4);
    const rpcflat_val dep_big[] = {B("k"), B("v"), I(DKV_COUNTER_MAX + 1), I(0)};
    refused(&proto_server_put, true, dep_big, 4,
            "argument 3 (dep_lamport): 9007199254740992 is out of range [0, 9007199254740991]");
    const rpcflat_val dep_neg[] = {B("k"), B("v"), I(-1), I(0)};
    refused(&proto_server_put, true, dep_neg, 4, "argument 3 (dep_lamport): -1 is out of range");
    const rpcflat_val origin_big[] = {B("k"), B("v"), I(1), I(DKV_ID_MAX + 1)};
    refused(&proto_server_put, true, origin_big, 4,
            "argument 4 (dep_origin): 1000000000000 is out of range [0, 999999999999]");
    const rpcflat_val id_neg[] = {I(-1)};
    refused(&proto_server_cut, true, id_neg, 1, "cut: argument 1 (id): -1 is out of range");
    refused(&proto_watchdog_kill, true, (rpcflat_val[]){I(INT64_MIN)}, 1, "out of range");
    refused(&proto_server_connect, true, (rpcflat_val[]){I(1), S("h"), I(0)}, 3,
            "connect: argument 3 (port): 0 is out of range [1, 65535]");
    refused(&proto_server_connect, true, (rpcflat_val[]){I(1), S("h"), I(-1)}, 3,
            "argument 3 (port): -1 is out of range");
    accepted(&proto_client_attach, true, (rpcflat_val[]){I(1), S("h"), I(65535), I(1)}, 4);
    refused(&proto_client_attach, true, (rpcflat_val[]){I(1), S("h"), I(65536), I(1)}, 4,
            "attach: argument 3 (port): 65536 is out of range [1, 65535]");
    refused(&proto_client_attach, true, (rpcflat_val[]){I(1), S("h"), I(1), I(0)}, 4,
            "attach: argument 4 (timeout_ms): 0 is out of range [1, 3600000]");
    refused(&proto_client_attach, true, (rpcflat_val[]){I(1), S("h"), I(1)}, 3,
            "attach takes 4 arguments, got 3");
    const rpcflat_val flag[] = {S("server"), I(1), I(2), I(0)};
    refused(&proto_watchdog_start, true, flag, 4,
            "start: argument 3 (sync): 2 is out of range [0, 1]");
    /* Replies are held to the contract too. */
    refused(&proto_server_put, false, (rpcflat_val[]){I(0), I(1)}, 2,
            "put: item 1 (lamport): 0 is out of range [1, 9007199254740991]");
    refused(&proto_server_digest, false, (rpcflat_val[]){S(""), S(""), S(""), I(-1)}, 4,
            "digest: item 4 (queued): -1 is out of range");
    refused(&proto_ping, false, (rpcflat_val[]){I(0)}, 1, "ping: item 1 (pid)");
}

static void test_tokens_and_lengths(void)
{
    refused(&proto_server_put, true, (rpcflat_val[]){B("a b"), B("v"), I(0), I(0)}, 4,
            "argument 1 (key): the key holds byte 0x20 at offset 1");
    refused(&proto_client_put, true, (rpcflat_val[]){B("k"), B("v\nw")}, 2,
            "argument 2 (value): the value holds byte 0x0a at offset 1");
    refused(&proto_client_get, true, (rpcflat_val[]){rpcflat_bytes("a\0b", 3)}, 1,
            "the key holds byte 0x00 at offset 1");
    refused(&proto_server_get, true, (rpcflat_val[]){B("")}, 1, "the key is empty");

    uint8_t *big = xmalloc(DKV_MAX_VALUE + 1);
    memset(big, 'x', DKV_MAX_VALUE + 1);
    accepted(&proto_client_put, true,
             (rpcflat_val[]){rpcflat_bytes(big, DKV_MAX_KEY), rpcflat_bytes(big, DKV_MAX_VALUE)},
             2);
    refused(&proto_client_put, true,
            (rpcflat_val[]){rpcflat_bytes(big, DKV_MAX_KEY + 1), B("v")}, 2,
            "the key is 65537 bytes, more than the limit of 65536");
    refused(&proto_client_put, true,
            (rpcflat_val[]){B("k"), rpcflat_bytes(big, DKV_MAX_VALUE + 1)}, 2,
            "the value is 16777217 bytes, more than the limit of 16777216");
    /* Bytes that are not tokens: any bytes, up to the limit. */
    accepted(&proto_server_dump, true, (rpcflat_val[]){B(""), I(0)}, 2);
    accepted(&proto_server_dump, true, (rpcflat_val[]){B("a b"), I(1)}, 2);
    refused(&proto_server_dump, true,
            (rpcflat_val[]){rpcflat_bytes(big, DKV_MAX_KEY + 1), I(1)}, 2,
            "dump: argument 1 (after): 65537 bytes, not from 0 to 65536");

    /* Strings: no control bytes, bounded lengths. */
    char host[PROTO_MAX_HOST + 2];
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    refused(&proto_server_connect, true, (rpcflat_val[]){I(1), S(host), I(1)}, 3,
            "connect: argument 2 (host): 256 bytes of text, not from 1 to 255");
    host[PROTO_MAX_HOST] = '\0';
    accepted(&proto_server_connect, true, (rpcflat_val[]){I(1), S(host), I(1)}, 3);
    refused(&proto_server_connect, true, (rpcflat_val[]){I(1), S(""), I(1)}, 3,
            "0 bytes of text, not from 1 to 255");
    refused(&proto_server_connect, true, (rpcflat_val[]){I(1), S("a\tb"), I(1)}, 3,
            "argument 2 (host): control byte 0x09 at offset 1");
    free(big);
}

static void test_enums(void)
{
    _Alignas(max_align_t) unsigned char out[256];
    void *group = NULL;
    dkv_err err;
    const rpcflat_val client[] = {S("client"), I(7), I(0), I(1)};
    CU_ASSERT_EQUAL_FATAL(decode(&proto_watchdog_start, true, client, 4, out, &group, &err), 0);
    const proto_watchdog_start_args *a = (const void *)out;
    CU_ASSERT_EQUAL(a->kind, PROTO_KIND_CLIENT);
    CU_ASSERT_EQUAL(a->id, 7);
    CU_ASSERT_TRUE(!a->sync && a->rejoin);
    refused(&proto_watchdog_start, true, (rpcflat_val[]){S("Server"), I(1), I(0), I(0)}, 4,
            "start: argument 1 (kind): expected 'server' or 'client'");
    refused(&proto_watchdog_start, true, (rpcflat_val[]){S("serverx"), I(1), I(0), I(0)}, 4,
            "expected 'server' or 'client'");
    refused(&proto_client_get, false,
            (rpcflat_val[]){S("maybe"), B(""), rpcflat_bool(false), I(0), I(0), I(0), I(0),
                            I(0), I(0), I(1)},
            10, "get: item 1 (status): expected 'ok', 'ERR_KEY' or 'ERR_DEP'");
    CU_ASSERT_STRING_EQUAL(proto_read_name(PROTO_READ_ERR_DEP), "ERR_DEP");
    CU_ASSERT_STRING_EQUAL(proto_read_name((proto_read)7), "?");
}

static void test_groups(void)
{
    _Alignas(max_align_t) unsigned char out[256];
    void *group = NULL;
    dkv_err err;
    const rpcflat_val peers[] = {I(1), S("a"), I(10), I(2), S("b"), I(20)};
    CU_ASSERT_EQUAL_FATAL(decode(&proto_server_connect_all, true, peers, 6, out, &group, &err),
                          0);
    const proto_server_connect_all_args *a = (const void *)out;
    CU_ASSERT_EQUAL_FATAL(a->n_peers, 2);
    CU_ASSERT_TRUE(a->peers[1].id == 2 && strcmp(a->peers[1].host, "b") == 0 &&
                   a->peers[1].port == 20);
    accepted(&proto_server_connect_all, true, NULL, 0);
    refused(&proto_server_connect_all, true, peers, 4,
            "connect_all takes 0 arguments and 3 per item of peers, got 4");
    const rpcflat_val bad_host[] = {I(1), S("a"), I(10), I(2), S(""), I(20)};
    refused(&proto_server_connect_all, true, bad_host, 6,
            "connect_all: argument 5 (peers[1].host): 0 bytes of text");

    size_t n = 3 * (PROTO_MAX_PEERS + 1);
    rpcflat_val *many = xcalloc(n, sizeof *many);
    for (size_t i = 0; i < n; i += 3) {
        many[i] = I(i);
        many[i + 1] = S("h");
        many[i + 2] = I(1);
    }
    accepted(&proto_server_connect_all, true, many, n - 3);
    refused(&proto_server_connect_all, true, many, n,
            "connect_all takes at most 10000 peers, got 10001");
    free(many);
    free(group);

    /* A reply's group: dump entries after its fields. */
    group = NULL;
    const rpcflat_val dump[] = {rpcflat_bool(true), B("k1"), B("v1"), I(3), I(4), B("k2"), B(""),
                                I(5), I(6)};
    CU_ASSERT_EQUAL_FATAL(decode(&proto_server_dump, false, dump, 9, out, &group, &err), 0);
    const proto_server_dump_reply *r = (const void *)out;
    CU_ASSERT_TRUE(r->more && r->n_entries == 2);
    CU_ASSERT_TRUE(r->entries[1].key.n == 2 && r->entries[1].value.n == 0 &&
                   r->entries[1].version.lamport == 5 && r->entries[1].version.origin == 6);
    refused(&proto_server_dump, false, dump, 8, "dump returns 1 item and 4 per item of entries");
    const rpcflat_val dump0[] = {rpcflat_bool(false), B("k"), B("v"), I(0), I(4)};
    refused(&proto_server_dump, false, dump0, 5, "dump: item 4 (entries[0].lamport)");
    free(group);
}

/* Rules between fields. */
static void test_checks(void)
{
    accepted(&proto_server_get, false, (rpcflat_val[]){rpcflat_bool(false), B(""), I(0), I(0)},
             4);
    refused(&proto_server_get, false, (rpcflat_val[]){rpcflat_bool(true), B("v"), I(0), I(3)},
            4, "get: a value found without a version");
    const rpcflat_val ok_not_found[] = {S("ok"), B(""), rpcflat_bool(false), I(0), I(0), I(0),
                                        I(0), I(0), I(0), I(1)};
    refused(&proto_client_get, false, ok_not_found, 10, "status ok without a value found");
    const rpcflat_val key_err[] = {S("ERR_KEY"), B(""), rpcflat_bool(false), I(0), I(0), I(0),
                                   I(0), I(0), I(0), I(1)};
    accepted(&proto_client_get, false, key_err, 10);
}

/* showServer's view: nodes whose fields agree, and the id lists of their
 * LSAs. */
#define NODE(id, link, heard, has_lsa, inc, seq, nb, grp, has_parent, parent, applied)          \
    I(id), S(link), I(heard), rpcflat_bool(has_lsa), I(inc), I(seq), S(nb), rpcflat_bool(grp),   \
        rpcflat_bool(has_parent), I(parent), I(applied)

static void test_show(void)
{
    _Alignas(max_align_t) unsigned char out[256];
    void *group = NULL;
    dkv_err err;
    const rpcflat_val view[] = {I(3), I(2), I(7), I(0),
                                NODE(3, "none", -1, true, 2, 5, "7,42", true, false, 0, 4),
                                NODE(7, "held", -1, true, 1, 3, "42", true, true, 42, 0),
                                NODE(42, "up", 12, true, 1, 3, "3,7", true, true, 3, 2),
                                NODE(99, "none", -1, false, 0, 0, "", false, false, 0, 1)};
    CU_ASSERT_EQUAL_FATAL(decode(&proto_server_show, false, view, 48, out, &group, &err), 0);
    const proto_server_show_reply *r = (const void *)out;
    CU_ASSERT_TRUE(r->id == 3 && r->incarnation == 2 && r->lamport == 7 && r->n_nodes == 4);
    CU_ASSERT_TRUE(r->nodes[1].link == PROTO_LINK_HELD && r->nodes[1].parent == 42);
    CU_ASSERT_TRUE(r->nodes[2].link == PROTO_LINK_UP && r->nodes[2].heard_ms == 12);
    CU_ASSERT_STRING_EQUAL(r->nodes[2].lsa_nb, "3,7");
    free(group);

    /* One node changed at a time: each refusal names what is wrong. */
    const rpcflat_val self_only[] = {I(3), I(2), I(7), I(0),
                                     NODE(3, "none", -1, true, 2, 5, "", true, false, 0, 4)};
    accepted(&proto_server_show, false, self_only, 15);
    const struct {
        rpcflat_val node[11];
        const char *want;
    } bad[] = {
        {{NODE(3, "none", -1, true, 2, 5, "7,7", true, false, 0, 4)}, "lsa_nb: id 2: 7 after 7"},
        {{NODE(3, "none", -1, true, 2, 5, "9,7", true, false, 0, 4)}, "not ascending"},
        {{NODE(3, "none", -1, true, 2, 5, "7,", true, false, 0, 4)}, "a trailing comma"},
        {{NODE(3, "none", -1, true, 2, 5, ",7", true, false, 0, 4)}, "id 1: a decimal id"},
        {{NODE(3, "none", -1, true, 2, 5, "7 8", true, false, 0, 4)}, "id 1: a decimal id"},
        {{NODE(3, "none", -1, true, 2, 5, "-7", true, false, 0, 4)}, "id 1: a decimal id"},
        {{NODE(3, "none", -1, true, 2, 5, "1000000000000", true, false, 0, 4)}, "id 1"},
        {{NODE(3, "none", -1, true, 2, 5, "123456789012345678901234", true, false, 0, 4)},
         "id 1: a decimal id"},
        {{NODE(3, "none", 5, true, 2, 5, "", true, false, 0, 4)}, "heard_ms 5 with link none"},
        {{NODE(3, "none", -1, false, 2, 5, "", true, false, 0, 4)}, "without an LSA"},
        {{NODE(3, "none", -1, true, 2, 5, "", false, true, 1, 4)}, "a parent outside the group"},
        {{NODE(3, "none", -1, true, 2, 5, "", true, false, 1, 4)}, "without has_parent"},
        {{NODE(3, "up", 0, true, 2, 5, "", true, false, 0, 4)}, "own node has a link"},
        {{NODE(4, "none", -1, true, 2, 5, "", true, false, 0, 4)}, "not among its nodes"},
        {{NODE(3, "sideways", -1, true, 2, 5, "", true, false, 0, 4)},
         "item 6 (nodes[0].link): expected 'none', 'down', 'dialling', 'up' or 'held'"},
        {{NODE(3, "none", -2, true, 2, 5, "", true, false, 0, 4)}, "(nodes[0].heard_ms)"},
    };
    for (size_t i = 0; i < NELEMS(bad); i++) {
        rpcflat_val v[15] = {I(3), I(2), I(7), I(0)};
        memcpy(v + 4, bad[i].node, sizeof bad[i].node);
        refused(&proto_server_show, false, v, 15, bad[i].want);
    }
    const rpcflat_val unsorted[] = {I(3), I(2), I(7), I(0),
                                    NODE(7, "down", -1, false, 0, 0, "", false, false, 0, 0),
                                    NODE(3, "none", -1, true, 2, 5, "", true, false, 0, 4)};
    refused(&proto_server_show, false, unsorted, 26, "ids not ascending");
    refused(&proto_server_show, false, unsorted, 25, "show returns 4 items and 11 per item");
    const rpcflat_val no_inc[] = {I(3), I(0), I(7), I(0),
                                  NODE(3, "none", -1, true, 2, 5, "", true, false, 0, 4)};
    refused(&proto_server_show, false, no_inc, 15, "item 2 (incarnation)");
    dkv_err e;
    CU_ASSERT_EQUAL(proto_id_list_check("", &e), 0);
    CU_ASSERT_EQUAL(proto_id_list_check("0,5,999999999999", &e), 0);
    CU_ASSERT_EQUAL(proto_id_list_check(",", &e), -1);
    CU_ASSERT_EQUAL(proto_id_list_check("5,,6", &e), -1);
    CU_ASSERT_EQUAL(proto_id_list_check("5,06", &e), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "id 2: a leading zero"));
}

/* ---- round trips through a served child ---------------------------------------- */

/* What each method is called with and answers, at the edges of the
 * limits. The handlers check that the arguments arrived as sent. */
static uint8_t every_byte[256 - 7];
static uint8_t *big_value;
#define BIG_VALUE_LEN (300u << 10)

static proto_server_put_args put_args;
static const proto_server_put_reply put_reply = {{DKV_COUNTER_MAX, DKV_ID_MAX}};
static proto_server_get_args get_args;
static proto_server_get_reply get_reply;
static const proto_server_digest_reply digest_reply = {"1:5,7:2", "", "1,7", INT64_MAX};
static const proto_server_dump_args dump_args = {{(const uint8_t *)"a b", 3}, true};
static proto_entry dump_entries[3];
static proto_server_dump_reply dump_reply;
static const proto_peer peer = {DKV_ID_MAX, "localhost", 65535};
static const proto_client_attach_args attach_args = {DKV_ID_MAX, "localhost", 65535, 3600000};
static proto_peer peer_list[3] = {{0, "127.0.0.1", 1}, {5, "::1", 2}, {DKV_ID_MAX, "h", 65535}};
static const proto_server_connect_all_args connect_all_args = {peer_list, 3};
static const proto_id some_id = {123456789012};
static const proto_server_stats_reply stats_reply = {1, 2, 3, 4, 5, INT64_MAX, 0, 6};
static proto_show_node show_nodes[] = {
    {1, PROTO_LINK_NONE, -1, true, 1, 2, "2", true, false, 0, 5},
    {2, PROTO_LINK_UP, 0, true, DKV_COUNTER_MAX, 9, "1", true, true, 1, 0},
    {DKV_ID_MAX, PROTO_LINK_DIALLING, -1, false, 0, 0, "", false, false, 0, DKV_COUNTER_MAX}};
static const proto_server_show_reply show_reply = {1, 3, 8, 100, show_nodes, 3};
static const proto_server_link_fault_args link_fault_args = {42, 600000, 3, 100, true,
                                                            false, true, INT64_MAX};
static const proto_watchdog_pause_args pause_args = {7, true};
static proto_client_put_args cput_args;
static const proto_client_put_reply cput_reply = {{7, 8}, {0, 0}, {7, 8}, DKV_ID_MAX};
static proto_client_get_args cget_args;
static proto_client_get_reply cget_reply;
static const proto_watchdog_start_args start_args = {PROTO_KIND_CLIENT, DKV_ID_MAX, true, false};
static const proto_watchdog_start_reply start_reply = {65535, INT32_MAX, "127.0.0.1"};
static const proto_watchdog_run_begin_args run_begin_args = {"0123456789abcdef", true, false,
                                                             true, true};
static const proto_watchdog_run_begin_reply run_begin_reply = {"10.0.0.2", true,
                                                               "/var/lib/daadkvs/run-01"};

static void init_values(void)
{
    size_t n = 0;
    for (int c = 1; c < 256; c++)
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f')
            every_byte[n++] = (uint8_t)c;
    big_value = xmalloc(BIG_VALUE_LEN);
    for (size_t i = 0; i < BIG_VALUE_LEN; i++)
        big_value[i] = (uint8_t)(33 + i % 90);
    put_args = (proto_server_put_args){{every_byte, sizeof every_byte},
                                       {big_value, BIG_VALUE_LEN},
                                       {DKV_COUNTER_MAX, DKV_ID_MAX}};
    get_args = (proto_server_get_args){{every_byte, 1}};
    get_reply = (proto_server_get_reply){true, {big_value, BIG_VALUE_LEN}, {1, 0}};
    dump_entries[0] = (proto_entry){{every_byte, sizeof every_byte}, {big_value, 10}, {1, 2}};
    dump_entries[1] = (proto_entry){{(const uint8_t *)"k", 1}, {NULL, 0}, {3, 4}};
    dump_entries[2] = (proto_entry){{big_value, DKV_MAX_KEY}, {big_value, BIG_VALUE_LEN},
                                    {DKV_COUNTER_MAX, DKV_ID_MAX}};
    dump_reply = (proto_server_dump_reply){dump_entries, 3, true};
    cput_args = (proto_client_put_args){{every_byte, 3}, {big_value, 1}};
    cget_args = (proto_client_get_args){{every_byte, sizeof every_byte}};
    cget_reply = (proto_client_get_reply){
        PROTO_READ_ERR_DEP, {big_value, 99}, true, {2, 3}, {4, 5}, {4, 5}, 0};
}

/* Whether a and b hold the same values by layout l. */
static bool same(const proto_layout *l, const void *a, const void *b)
{
    size_t n = proto_count(l, a);
    if (n != proto_count(l, b))
        return false;
    rpcflat_val *va = xcalloc(n + 1, sizeof *va), *vb = xcalloc(n + 1, sizeof *vb);
    proto_flatten(l, a, va);
    proto_flatten(l, b, vb);
    bool eq = true;
    for (size_t i = 0; i < n && eq; i++)
        eq = flateq_val(&va[i], &vb[i]);
    free(va);
    free(vb);
    return eq;
}

/* One handler per method: the arguments must be what was sent; the reply
 * is the canned one. */
#define HANDLER(M, A, R, want_args, canned)                                                 \
    static int h_##M(void *ctx, const A *args, R *reply, void **owned, dkv_err *err)        \
    {                                                                                          \
        const A *want = want_args;                                                             \
        if (want && !same(&proto_##M.args, want, args))                                     \
            return dkv_err_set(err, "%s: the arguments differ", proto_##M.name);            \
        const R *c = canned;                                                                   \
        if (c)                                                                                 \
            *reply = *c;                                                                       \
        return 0;                                                                              \
    }                                                                                          \
    PROTO_SERVE(M, h_##M)

HANDLER(server_put, proto_server_put_args, proto_server_put_reply, &put_args, &put_reply)
HANDLER(server_get, proto_server_get_args, proto_server_get_reply, &get_args, &get_reply)
HANDLER(server_digest, proto_none, proto_server_digest_reply, NULL, &digest_reply)
HANDLER(server_dump, proto_server_dump_args, proto_server_dump_reply, &dump_args, &dump_reply)
HANDLER(server_connect, proto_peer, proto_none, &peer, NULL)
HANDLER(server_connect_all, proto_server_connect_all_args, proto_none, &connect_all_args, NULL)
HANDLER(server_cut, proto_id, proto_none, &some_id, NULL)
HANDLER(server_uncut, proto_id, proto_none, &some_id, NULL)
HANDLER(server_forget, proto_id, proto_none, &some_id, NULL)
HANDLER(server_stats, proto_none, proto_server_stats_reply, NULL, &stats_reply)
HANDLER(server_show, proto_none, proto_server_show_reply, NULL, &show_reply)
HANDLER(server_link_fault, proto_server_link_fault_args, proto_none, &link_fault_args, NULL)
HANDLER(client_attach, proto_client_attach_args, proto_none, &attach_args, NULL)
HANDLER(client_detach, proto_none, proto_none, NULL, NULL)
HANDLER(client_put, proto_client_put_args, proto_client_put_reply, &cput_args, &cput_reply)
HANDLER(client_get, proto_client_get_args, proto_client_get_reply, &cget_args, &cget_reply)
HANDLER(watchdog_start, proto_watchdog_start_args, proto_watchdog_start_reply, &start_args,
        &start_reply)
HANDLER(watchdog_kill, proto_id, proto_none, &some_id, NULL)
HANDLER(watchdog_pause, proto_watchdog_pause_args, proto_none, &pause_args, NULL)
HANDLER(watchdog_shutdown, proto_none, proto_none, NULL, NULL)
HANDLER(watchdog_run_begin, proto_watchdog_run_begin_args, proto_watchdog_run_begin_reply,
        &run_begin_args, &run_begin_reply)
HANDLER(watchdog_run_end, proto_none, proto_none, NULL, NULL)

static const proto_binding server_bindings[] = {
    PROTO_BINDING(server_put),     PROTO_BINDING(server_get),
    PROTO_BINDING(server_digest),  PROTO_BINDING(server_dump),
    PROTO_BINDING(server_connect), PROTO_BINDING(server_connect_all),
    PROTO_BINDING(server_cut),     PROTO_BINDING(server_uncut),
    PROTO_BINDING(server_forget),  PROTO_BINDING(server_stats),
    PROTO_BINDING(server_show),
    PROTO_BINDING(server_link_fault),
};
static const proto_binding client_bindings[] = {
    PROTO_BINDING(client_attach), PROTO_BINDING(client_detach), PROTO_BINDING(client_put),
    PROTO_BINDING(client_get)};
static const proto_binding watchdog_bindings[] = {
    PROTO_BINDING(watchdog_start), PROTO_BINDING(watchdog_kill), PROTO_BINDING(watchdog_pause),
    PROTO_BINDING(watchdog_shutdown), PROTO_BINDING(watchdog_run_begin),
    PROTO_BINDING(watchdog_run_end)};

/* The child: a server, a client and a watchdog of the contract on three
 * listening sockets (a loop has one listener), until the parent kills it.
 * Every connection authenticates with key, as the daemons' do. */
static void serve_three(const int *lfds, const auth_key *key)
{
    alarm(30);
    rpc_server *s[3] = {
        proto_server_new(PROTO_SERVER, server_bindings, NELEMS(server_bindings)),
        proto_server_new(PROTO_CLIENT, client_bindings, NELEMS(client_bindings)),
        proto_server_new(PROTO_WATCHDOG, watchdog_bindings, NELEMS(watchdog_bindings))};
    loop *lp[3];
    for (int i = 0; i < 3; i++) {
        lp[i] = loop_new();
        loop_set_auth(lp[i], key);
        rpc_listen(lp[i], lfds[i], s[i], NULL);
    }
    for (;;)
        for (int i = 0; i < 3; i++)
            loop_run_once(lp[i], 2);
}

/* Calls m on c with args and checks the reply against want (NULL: none). */
static void round_trip(rpc_client *c, const proto_method *m, const void *args, const void *want)
{
    _Alignas(max_align_t) unsigned char got[256];
    dkv_err err;
    int rc = proto_call(c, m, args, want ? got : NULL, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc < 0) {
        fprintf(stderr, "\n  %s: %s\n", m->name, err.msg);
        return;
    }
    bool eq = !want || same(&m->reply, want, got);
    CU_ASSERT_TRUE(eq);
    if (!eq)
        fprintf(stderr, "\n  %s: another reply\n", m->name);
}

static void test_round_trips(void)
{
    init_values();
    int lfds[3];
    uint16_t ports[3];
    dkv_err err;
    for (int i = 0; i < 3; i++) {
        lfds[i] = tests_listen(&ports[i]);
    }
    auth_key *key = auth_key_from_bytes("the contract's cluster secret", 29);
    pid_t pid = tests_fork();
    if (pid == 0)
        serve_three(lfds, key);
    for (int i = 0; i < 3; i++)
        close(lfds[i]);
    rpc_client *server = rpc_client_new("127.0.0.1", ports[0], 10000, key);
    rpc_client *client = rpc_client_new("127.0.0.1", ports[1], 10000, key);
    rpc_client *watchdog = rpc_client_new("127.0.0.1", ports[2], 10000, key);

    round_trip(server, &proto_server_put, &put_args, &put_reply);
    round_trip(server, &proto_server_get, &get_args, &get_reply);
    round_trip(server, &proto_server_digest, NULL, &digest_reply);
    round_trip(server, &proto_server_dump, &dump_args, &dump_reply);
    round_trip(server, &proto_server_connect, &peer, NULL);
    round_trip(server, &proto_server_connect_all, &connect_all_args, NULL);
    round_trip(server, &proto_server_cut, &some_id, NULL);
    round_trip(server, &proto_server_uncut, &some_id, NULL);
    round_trip(server, &proto_server_forget, &some_id, NULL);
    round_trip(server, &proto_server_stats, NULL, &stats_reply);
    round_trip(server, &proto_server_show, NULL, &show_reply);
    round_trip(server, &proto_server_link_fault, &link_fault_args, NULL);
    round_trip(client, &proto_client_attach, &attach_args, NULL);
    round_trip(client, &proto_client_detach, NULL, NULL);
    round_trip(client, &proto_client_put, &cput_args, &cput_reply);
    round_trip(client, &proto_client_get, &cget_args, &cget_reply);
    round_trip(watchdog, &proto_watchdog_start, &start_args, &start_reply);
    round_trip(watchdog, &proto_watchdog_kill, &some_id, NULL);
    round_trip(watchdog, &proto_watchdog_pause, &pause_args, NULL);
    round_trip(watchdog, &proto_watchdog_shutdown, NULL, NULL);
    round_trip(watchdog, &proto_watchdog_run_begin, &run_begin_args, &run_begin_reply);
    round_trip(watchdog, &proto_watchdog_run_end, NULL, NULL);

    /* The typed helpers are the same calls. */
    proto_server_put_reply pr;
    CU_ASSERT_EQUAL(proto_server_put_call(server, &put_args, &pr, &err), 0);
    CU_ASSERT_TRUE(pr.version.lamport == DKV_COUNTER_MAX && pr.version.origin == DKV_ID_MAX);
    proto_client_get_reply gr;
    CU_ASSERT_EQUAL(proto_client_get_call(client, &cget_args, &gr, &err), 0);
    CU_ASSERT_TRUE(gr.status == PROTO_READ_ERR_DEP && gr.value.n == 99 &&
                   memcmp(gr.value.p, big_value, 99) == 0);
    /* Every daemon answers ping with its pid. */
    rpc_client *all[] = {server, client, watchdog};
    for (int i = 0; i < 3; i++) {
        proto_ping_reply ping;
        CU_ASSERT_EQUAL(proto_ping_call(all[i], NULL, &ping, &err), 0);
        CU_ASSERT_EQUAL(ping.pid, (uint64_t)pid);
    }
    /* Arguments the handler did not expect: its fault comes back. */
    CU_ASSERT_EQUAL(proto_server_cut_call(server, &(proto_id){1}, NULL, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cut: the arguments differ"));
    /* A method of another daemon is not there. */
    CU_ASSERT_EQUAL(proto_watchdog_kill_call(server, &some_id, NULL, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "Method 'kill' not defined"));

    for (int i = 0; i < 3; i++)
        rpc_client_free(all[i]);
    auth_key_free(key);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0)
        ;
    free(big_value);
}

/* ---- events ------------------------------------------------------------------------ */

static const proto_watchdog_died_event died_one = {PROTO_KIND_SERVER, DKV_ID_MAX, 4242, -1, 9};
static const proto_watchdog_died_event died_two = {PROTO_KIND_CLIENT, 7, 1, 3, 0};

/* The child: a callee that sends an event before its reply to one call,
 * another unasked, then closes when told (a byte on go). */
static void serve_events(int lfd, int go)
{
    alarm(30);
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    int fd = poll(&p, 1, 10000) == 1 ? accept(lfd, NULL, NULL) : -1;
    rpc_server *s = proto_server_new(PROTO_OTHER, NULL, 0);
    buf in, out;
    buf_init(&in);
    buf_init(&out);
    wire_frame f;
    size_t used;
    dkv_err err;
    if (fd < 0 || net_read_frame(fd, &in, &f, &used, net_now_us() + 10000000, &err) < 0)
        _exit(1);
    proto_encode_event(&out, &proto_event_died, &died_one);
    rpc_serve_frame(s, &f, NULL, &out);
    proto_encode_event(&out, &proto_event_died, &died_two);
    if (net_write_all(fd, buf_head(&out), buf_unread(&out), net_now_us() + 10000000, &err) < 0)
        _exit(1);
    char byte;
    if (read(go, &byte, 1) != 1)
        _exit(1);
    _exit(0);
}

static bool same_died(const proto_watchdog_died_event *a, const proto_watchdog_died_event *b)
{
    return a->kind == b->kind && a->id == b->id && a->pid == b->pid && a->code == b->code &&
           a->signal == b->signal;
}

/* Events are queued by the caller, before a reply and unasked; a control
 * connection, once broken, says so and is never dialled again. */
static void test_events(void)
{
    dkv_err err;
    uint16_t port;
    int lfd = tests_listen(&port);
    int go[2];
    CU_ASSERT_TRUE_FATAL(pipe(go) == 0);
    pid_t pid = tests_fork();
    if (pid == 0)
        serve_events(lfd, go[0]);
    rpc_client *c = rpc_client_new("127.0.0.1", port, 10000, NULL);
    rpc_client_set_control(c, 1, 1, 3);
    const uint8_t *body;
    size_t len;
    CU_ASSERT_EQUAL(rpc_client_next_event(c, &body, &len), 0);
    proto_ping_reply ping;
    CU_ASSERT_EQUAL_FATAL(proto_ping_call(c, NULL, &ping, &err), 0);
    CU_ASSERT_EQUAL(ping.pid, (uint64_t)pid);
    proto_watchdog_died_event d;
    CU_ASSERT_EQUAL_FATAL(rpc_client_next_event(c, &body, &len), 1);
    CU_ASSERT_EQUAL(proto_decode_event(&proto_event_died, body, len, &d, &err), 0);
    CU_ASSERT_TRUE(same_died(&d, &died_one));
    /* The second came unasked, after the reply. */
    int64_t deadline = net_now_us() + 10000000;
    int got = 0;
    while (got == 0 && net_now_us() < deadline) {
        CU_ASSERT_EQUAL(rpc_client_poll(c, &err), 0);
        got = rpc_client_next_event(c, &body, &len);
    }
    CU_ASSERT_EQUAL_FATAL(got, 1);
    CU_ASSERT_EQUAL(proto_decode_event(&proto_event_died, body, len, &d, &err), 0);
    CU_ASSERT_TRUE(same_died(&d, &died_two));
    /* Not that event. */
    CU_ASSERT_EQUAL(proto_decode_event(&proto_watchdog_kill, body, len, &d, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "expected 'kill'"));
    CU_ASSERT_EQUAL(proto_decode_event(&proto_event_died, (const uint8_t *)"<x", 2, &d, &err),
                    -1);
    /* The callee goes: poll says so, and no call dials again (the
     * listener is still there). */
    CU_ASSERT_EQUAL(write(go[1], "x", 1), 1);
    deadline = net_now_us() + 10000000;
    int rc = 0;
    while (rc == 0 && net_now_us() < deadline)
        rc = rpc_client_poll(c, &err);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "closed by peer"));
    CU_ASSERT_FALSE(rpc_client_connected(c));
    CU_ASSERT_EQUAL(proto_ping_call(c, NULL, &ping, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "the connection was lost"));
    rpc_client_free(c);
    close(go[0]);
    close(go[1]);
    close(lfd);
    while (waitpid(pid, NULL, 0) < 0)
        ;
}

/* ---- fault codes ----------------------------------------------------------------- */

/* cut(id): 1 succeeds, 2 cannot be carried out, 3 is refused. */
static int h_cut_codes(void *ctx, const proto_id *a, proto_none *r, void **owned, dkv_err *err)
{
    *owned = xmalloc(10); /* freed whatever happens */
    if (a->id == 2)
        return dkv_err_set(err, "cannot");
    if (a->id == 3) {
        dkv_err_set(err, "refused");
        return PROTO_REFUSED;
    }
    return 0;
}
static int cut_codes(void *ctx, const void *args, void *reply, void **owned, dkv_err *err)
{
    return h_cut_codes(ctx, args, reply, owned, err);
}
static const proto_binding code_bindings[] = {{&proto_server_cut, cut_codes}};

static char *serve_call(rpc_server *s, const rpcflat_val *vals, size_t n)
{
    buf b, out;
    buf_init(&b);
    buf_init(&out);
    rpcflat_encode_call(&b, "cut", vals, n);
    wire_frame f = {.kind = WIRE_CALL, .body = buf_head(&b), .body_len = buf_unread(&b)};
    rpc_serve_frame(s, &f, NULL, &out);
    buf_append(&out, "", 1);
    char *text = xstrdup((const char *)buf_head(&out) + WIRE_PREFIX);
    buf_free(&b);
    buf_free(&out);
    return text;
}

static void test_fault_codes(void)
{
    rpc_server *s = proto_server_new(PROTO_OTHER, code_bindings, 1);
    static const struct {
        rpcflat_val arg;
        const char *want;
    } cases[] = {
        {{.type = RPCFLAT_INT, .i = 1}, "<boolean>1</boolean>"},
        {{.type = RPCFLAT_INT, .i = 2}, "<int>500</int>"},
        {{.type = RPCFLAT_INT, .i = 3}, "<int>400</int>"},
        {{.type = RPCFLAT_INT, .i = -3}, "<int>400</int>"},
        {{.type = RPCFLAT_BOOL, .i = 1}, "<int>400</int>"},
    };
    for (size_t i = 0; i < NELEMS(cases); i++) {
        char *reply = serve_call(s, &cases[i].arg, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(reply, cases[i].want));
        if (!strstr(reply, cases[i].want))
            fprintf(stderr, "\n  case %zu: %s\n", i, reply);
        free(reply);
    }
    rpc_server_free(s);
}

/* ---- registration ------------------------------------------------------------------ */

/* Whether proto_server_new aborts on these bindings (in a child). */
static bool registration_aborts(proto_daemon d, const proto_binding *b, size_t n)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        rpc_server_free(proto_server_new(d, b, n));
        _exit(0);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        ;
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void test_registration(void)
{
    CU_ASSERT_FALSE(registration_aborts(PROTO_SERVER, server_bindings, NELEMS(server_bindings)));
    CU_ASSERT_FALSE(registration_aborts(PROTO_CLIENT, client_bindings, NELEMS(client_bindings)));
    /* A method missing, a foreign one, ping bound by hand. */
    CU_ASSERT_TRUE(registration_aborts(PROTO_SERVER, server_bindings, NELEMS(server_bindings) - 1));
    CU_ASSERT_TRUE(registration_aborts(PROTO_WATCHDOG, client_bindings, 1));
    static const proto_binding with_ping[] = {PROTO_BINDING(watchdog_start),
                                              PROTO_BINDING(watchdog_kill),
                                              PROTO_BINDING(watchdog_shutdown),
                                              {&proto_ping, proto_serve_watchdog_kill}};
    CU_ASSERT_TRUE(registration_aborts(PROTO_WATCHDOG, with_ping, NELEMS(with_ping)));
    /* Outside the contract (tests): anything goes. */
    CU_ASSERT_FALSE(registration_aborts(PROTO_OTHER, client_bindings, 1));
}

void add_proto_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"wrong count or type: a fault naming the method and argument", test_count_and_type},
        {"integers out of range, in arguments and replies", test_ranges},
        {"keys and values are tokens within the limits; strings are text", test_tokens_and_lengths},
        {"enums are one of their words", test_enums},
        {"repeated groups: whole items, at most the bound", test_groups},
        {"rules between fields", test_checks},
        {"showServer's view: nodes that agree, id lists", test_show},
        {"every method's arguments and reply survive a served call", test_round_trips},
        {"fault codes: 400 refused, 500 failed", test_fault_codes},
        {"a daemon binds exactly its methods, ping built in", test_registration},
        {"events before a reply and unasked; a control connection lost stays lost",
         test_events},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("proto", NULL, NULL, tests);
}
