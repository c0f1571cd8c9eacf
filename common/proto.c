#include "proto.h"

#include <inttypes.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "token.h"
#include "xalloc.h"

/* ---- the contract -------------------------------------------------------- */

/* Field makers: S the struct, m its member, name the field's name (a
 * struct member's name on the wire for replies of struct shape). */
#define ID(S, m, name) {name, PROTO_U64, offsetof(S, m), 0, (int64_t)DKV_ID_MAX, false, NULL}
#define COUNTER(S, m, name, lo)                                                                \
    {name, PROTO_U64, offsetof(S, m), lo, (int64_t)DKV_COUNTER_MAX, false, NULL}
/* A version: its Lamport counter at least lo, then its origin. */
#define VERSION(S, m, prefix, lo)                                                              \
    COUNTER(S, m.lamport, prefix "lamport", lo), ID(S, m.origin, prefix "origin")
#define TOKEN(S, m, name, max) {name, PROTO_BYTES, offsetof(S, m), 1, max, true, NULL}
#define BYTES(S, m, name, max) {name, PROTO_BYTES, offsetof(S, m), 0, max, false, NULL}
#define TEXT(S, m, name, lo, max) {name, PROTO_STRING, offsetof(S, m), lo, max, false, NULL}
#define COUNT(S, m, name) {name, PROTO_U64, offsetof(S, m), 0, INT64_MAX, false, NULL}
#define TYPED(S, m, name, type, lo, hi) {name, type, offsetof(S, m), lo, hi, false, NULL}
#define ONE_OF(S, m, name, names) {name, PROTO_ENUM, offsetof(S, m), 0, 0, false, names}

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define LAYOUT(S, list) {.size = sizeof(S), .fields = list, .n_fields = NELEMS(list)}
/* A layout whose fields have a rule across them, checked after decoding. */
#define LAYOUT_CHECKED(S, list, rule)                                                       \
    {.size = sizeof(S), .fields = list, .n_fields = NELEMS(list), .check = rule}
#define NONE {.size = sizeof(proto_none)}

/* An enum field is read and written as the int it is. */
_Static_assert(sizeof(proto_kind) == sizeof(int) && sizeof(proto_read) == sizeof(int) &&
                   sizeof(proto_link) == sizeof(int),
               "enums are ints");

static const char *const kind_names[] = {"server", "client", NULL};
static const char *const read_names[] = {"ok", "ERR_KEY", "ERR_DEP", NULL};
static const char *const link_names[] = {"none", "down", "dialling", "up", "held", NULL};

static const proto_field peer_fields[] = {
    ID(proto_peer, id, "id"),
    TEXT(proto_peer, host, "host", 1, PROTO_MAX_HOST),
    TYPED(proto_peer, port, "port", PROTO_U16, 1, 65535),
};
static const proto_field id_fields[] = {ID(proto_id, id, "id")};

/* ---- server ---- */

static const proto_field server_put_args[] = {
    TOKEN(proto_server_put_args, key, "key", DKV_MAX_KEY),
    TOKEN(proto_server_put_args, value, "value", DKV_MAX_VALUE),
    VERSION(proto_server_put_args, dep, "dep_", 0),
};
static const proto_field server_put_reply[] = {VERSION(proto_server_put_reply, version, "", 1)};

static const proto_field server_get_args[] = {
    TOKEN(proto_server_get_args, key, "key", DKV_MAX_KEY),
};
static const proto_field server_get_reply[] = {
    TYPED(proto_server_get_reply, found, "found", PROTO_BOOL, 0, 1),
    BYTES(proto_server_get_reply, value, "value", DKV_MAX_VALUE),
    VERSION(proto_server_get_reply, version, "", 0),
};

/* A value found has a version. */
static int check_server_get(const void *s, dkv_err *err)
{
    const proto_server_get_reply *r = s;
    if (r->found && dkv_version_is_none(r->version))
        return dkv_err_set(err, "a value found without a version");
    return 0;
}

static const proto_field server_digest_reply[] = {
    TEXT(proto_server_digest_reply, vc, "vc", 0, PROTO_MAX_TEXT),
    TEXT(proto_server_digest_reply, links, "links", 0, PROTO_MAX_TEXT),
    TEXT(proto_server_digest_reply, group, "group", 0, PROTO_MAX_TEXT),
    TYPED(proto_server_digest_reply, queued, "queued", PROTO_I64, 0, INT64_MAX),
};

static const proto_field server_dump_args[] = {
    BYTES(proto_server_dump_args, after, "after", DKV_MAX_KEY),
    TYPED(proto_server_dump_args, has_after, "has_after", PROTO_FLAG, 0, 1),
};
static const proto_field server_dump_reply[] = {
    TYPED(proto_server_dump_reply, more, "more", PROTO_BOOL, 0, 1),
};
/* What the store holds is printed as it is (a peer may have sent it). */
static const proto_field entry_fields[] = {
    BYTES(proto_entry, key, "key", DKV_MAX_KEY),
    BYTES(proto_entry, value, "value", DKV_MAX_VALUE),
    VERSION(proto_entry, version, "", 1),
};

static const proto_field server_stats_reply[] = {
    COUNT(proto_server_stats_reply, hello, "hello"),
    COUNT(proto_server_stats_reply, upd, "upd"),
    COUNT(proto_server_stats_reply, ack, "ack"),
    COUNT(proto_server_stats_reply, lsa, "lsa"),
    COUNT(proto_server_stats_reply, updates_sent, "updates_sent"),
    COUNT(proto_server_stats_reply, updates_applied, "updates_applied"),
    COUNT(proto_server_stats_reply, duplicates, "duplicates"),
    COUNT(proto_server_stats_reply, ping, "ping"),
};

const proto_method proto_server_put = {
    "put", PROTO_SERVER, LAYOUT(proto_server_put_args, server_put_args),
    LAYOUT(proto_server_put_reply, server_put_reply), RPC_SHAPE_LIST};

const proto_method proto_server_get = {
    "get",
    PROTO_SERVER,
    LAYOUT(proto_server_get_args, server_get_args),
    LAYOUT_CHECKED(proto_server_get_reply, server_get_reply, check_server_get),
    RPC_SHAPE_LIST};

/* Polled by stabilize: on the fast path too. */
const proto_method proto_server_digest = {"digest", PROTO_SERVER, NONE,
                                          LAYOUT(proto_server_digest_reply, server_digest_reply),
                                          RPC_SHAPE_LIST};

const proto_method proto_server_dump = {
    "dump",
    PROTO_SERVER,
    LAYOUT(proto_server_dump_args, server_dump_args),
    {.size = sizeof(proto_server_dump_reply),
     .fields = server_dump_reply,
     .n_fields = NELEMS(server_dump_reply),
     .group_name = "entries",
     .group = entry_fields,
     .n_group = NELEMS(entry_fields),
     .item_size = sizeof(proto_entry),
     .items_offset = offsetof(proto_server_dump_reply, entries),
     .count_offset = offsetof(proto_server_dump_reply, n_entries),
     .max_items = SIZE_MAX},
    RPC_SHAPE_STRUCT};

const proto_method proto_server_connect = {"connect", PROTO_SERVER,
                                           LAYOUT(proto_peer, peer_fields), NONE, RPC_SHAPE_ANY};

const proto_method proto_server_connect_all = {
    "connect_all",
    PROTO_SERVER,
    {.size = sizeof(proto_server_connect_all_args),
     .group_name = "peers",
     .group = peer_fields,
     .n_group = NELEMS(peer_fields),
     .item_size = sizeof(proto_peer),
     .items_offset = offsetof(proto_server_connect_all_args, peers),
     .count_offset = offsetof(proto_server_connect_all_args, n_peers),
     .max_items = PROTO_MAX_PEERS},
    NONE,
    RPC_SHAPE_ANY};

const proto_method proto_server_cut = {"cut", PROTO_SERVER, LAYOUT(proto_id, id_fields), NONE,
                                       RPC_SHAPE_ANY};
const proto_method proto_server_uncut = {"uncut", PROTO_SERVER, LAYOUT(proto_id, id_fields),
                                         NONE, RPC_SHAPE_ANY};
const proto_method proto_server_forget = {"forget", PROTO_SERVER, LAYOUT(proto_id, id_fields),
                                          NONE, RPC_SHAPE_ANY};
static const proto_field server_link_fault_args[] = {
    ID(proto_server_link_fault_args, peer, "peer"),
    TYPED(proto_server_link_fault_args, delay_ms, "delay_ms", PROTO_I64, 0, PROTO_MAX_DELAY_MS),
    TYPED(proto_server_link_fault_args, jitter_ms, "jitter_ms", PROTO_I64, 0, PROTO_MAX_DELAY_MS),
    TYPED(proto_server_link_fault_args, flaky_pct, "flaky_pct", PROTO_I64, 0, 100),
    TYPED(proto_server_link_fault_args, held, "held", PROTO_FLAG, 0, 1),
    TYPED(proto_server_link_fault_args, hold_out, "hold_out", PROTO_FLAG, 0, 1),
    TYPED(proto_server_link_fault_args, hold_in, "hold_in", PROTO_FLAG, 0, 1),
    COUNT(proto_server_link_fault_args, seed, "seed"),
};
const proto_method proto_server_link_fault = {
    "link_fault", PROTO_SERVER, LAYOUT(proto_server_link_fault_args, server_link_fault_args),
    NONE, RPC_SHAPE_ANY};
const proto_method proto_server_stats = {"stats", PROTO_SERVER, NONE,
                                         LAYOUT(proto_server_stats_reply, server_stats_reply),
                                         RPC_SHAPE_STRUCT};

static const proto_field server_show_reply[] = {
    ID(proto_server_show_reply, id, "id"),
    COUNTER(proto_server_show_reply, incarnation, "incarnation", 1),
    COUNTER(proto_server_show_reply, lamport, "lamport", 0),
    TYPED(proto_server_show_reply, queued, "queued", PROTO_I64, 0, INT64_MAX),
};
static const proto_field show_node_fields[] = {
    ID(proto_show_node, id, "id"),
    ONE_OF(proto_show_node, link, "link", link_names),
    TYPED(proto_show_node, heard_ms, "heard_ms", PROTO_I64, -1, INT64_MAX),
    TYPED(proto_show_node, has_lsa, "has_lsa", PROTO_BOOL, 0, 1),
    COUNTER(proto_show_node, lsa_inc, "lsa_inc", 0),
    COUNTER(proto_show_node, lsa_seq, "lsa_seq", 0),
    TEXT(proto_show_node, lsa_nb, "lsa_nb", 0, PROTO_MAX_TEXT),
    TYPED(proto_show_node, in_group, "in_group", PROTO_BOOL, 0, 1),
    TYPED(proto_show_node, has_parent, "has_parent", PROTO_BOOL, 0, 1),
    ID(proto_show_node, parent, "parent"),
    COUNTER(proto_show_node, applied, "applied", 0),
};

int proto_id_list_check(const char *text, dkv_err *err)
{
    uint64_t prev = 0;
    for (size_t i = 0; text[0]; i++) {
        size_t digits = strspn(text, "0123456789");
        char tok[24];
        if (digits == 0 || digits >= sizeof tok || (text[digits] && text[digits] != ','))
            return dkv_err_set(err, "id %zu: a decimal id expected", i + 1);
        if (digits > 1 && text[0] == '0')
            return dkv_err_set(err, "id %zu: a leading zero", i + 1);
        memcpy(tok, text, digits);
        tok[digits] = '\0';
        uint64_t id;
        if (ids_parse(tok, &id, err) < 0)
            return dkv_err_wrap(err, "id %zu", i + 1);
        if (i > 0 && id <= prev)
            return dkv_err_set(err, "id %zu: %" PRIu64 " after %" PRIu64 ": not ascending",
                               i + 1, id, prev);
        prev = id;
        text += digits;
        if (text[0] == ',' && !*++text)
            return dkv_err_set(err, "a trailing comma");
    }
    return 0;
}

/* The view holds together: nodes ascending, the server itself among them,
 * fields that apply only with another set only then. */
static int check_server_show(const void *s, dkv_err *err)
{
    const proto_server_show_reply *r = s;
    bool self = false;
    for (size_t i = 0; i < r->n_nodes; i++) {
        const proto_show_node *n = &r->nodes[i];
        if (i > 0 && n->id <= r->nodes[i - 1].id)
            return dkv_err_set(err, "node %zu (%" PRIu64 "): ids not ascending", i, n->id);
        if ((n->link == PROTO_LINK_UP) != (n->heard_ms >= 0))
            return dkv_err_set(err, "node %zu (%" PRIu64 "): heard_ms %" PRId64 " with link %s",
                               i, n->id, n->heard_ms, link_names[n->link]);
        if (!n->has_lsa && (n->lsa_inc || n->lsa_seq || n->lsa_nb[0]))
            return dkv_err_set(err, "node %zu (%" PRIu64 "): an LSA's fields without an LSA", i,
                               n->id);
        if (n->has_parent ? !n->in_group : n->parent != 0)
            return dkv_err_set(err, "node %zu (%" PRIu64 "): a parent %s", i, n->id,
                               n->has_parent ? "outside the group" : "without has_parent");
        dkv_err why;
        if (proto_id_list_check(n->lsa_nb, &why) < 0)
            return dkv_err_set(err, "node %zu (%" PRIu64 "): lsa_nb: %s", i, n->id, why.msg);
        if (n->id == r->id) {
            self = true;
            if (n->link != PROTO_LINK_NONE || !n->in_group)
                return dkv_err_set(err, "the server's own node has a link or no group");
        }
    }
    if (!self)
        return dkv_err_set(err, "the server %" PRIu64 " is not among its nodes", r->id);
    return 0;
}

const proto_method proto_server_show = {
    "show",
    PROTO_SERVER,
    NONE,
    {.size = sizeof(proto_server_show_reply),
     .fields = server_show_reply,
     .n_fields = NELEMS(server_show_reply),
     .group_name = "nodes",
     .group = show_node_fields,
     .n_group = NELEMS(show_node_fields),
     .item_size = sizeof(proto_show_node),
     .items_offset = offsetof(proto_server_show_reply, nodes),
     .count_offset = offsetof(proto_server_show_reply, n_nodes),
     .max_items = PROTO_MAX_NODES,
     .check = check_server_show},
    RPC_SHAPE_STRUCT};

/* ---- client ---- */

static const proto_field client_put_args[] = {
    TOKEN(proto_client_put_args, key, "key", DKV_MAX_KEY),
    TOKEN(proto_client_put_args, value, "value", DKV_MAX_VALUE),
};
static const proto_field client_put_reply[] = {
    VERSION(proto_client_put_reply, version, "", 1),
    VERSION(proto_client_put_reply, dep_before, "dep_before_", 0),
    VERSION(proto_client_put_reply, dep_after, "dep_after_", 0),
    ID(proto_client_put_reply, server, "server"),
};

static const proto_field client_get_args[] = {
    TOKEN(proto_client_get_args, key, "key", DKV_MAX_KEY),
};
static const proto_field client_get_reply[] = {
    ONE_OF(proto_client_get_reply, status, "status", read_names),
    BYTES(proto_client_get_reply, value, "value", DKV_MAX_VALUE),
    TYPED(proto_client_get_reply, found, "found", PROTO_BOOL, 0, 1),
    VERSION(proto_client_get_reply, version, "", 0),
    VERSION(proto_client_get_reply, dep_before, "dep_before_", 0),
    VERSION(proto_client_get_reply, dep_after, "dep_after_", 0),
    ID(proto_client_get_reply, server, "server"),
};

/* A value read was found, and what was found has a version. */
static int check_client_get(const void *s, dkv_err *err)
{
    const proto_client_get_reply *r = s;
    if (r->status == PROTO_READ_OK && !r->found)
        return dkv_err_set(err, "status ok without a value found");
    if (r->found && dkv_version_is_none(r->version))
        return dkv_err_set(err, "a value found without a version");
    return 0;
}

/* The longest call timeout: the master's --rpc-timeout is at most an hour. */
#define MAX_TIMEOUT_MS (3600 * 1000)
static const proto_field client_attach_args[] = {
    ID(proto_client_attach_args, id, "id"),
    TEXT(proto_client_attach_args, host, "host", 1, PROTO_MAX_HOST),
    TYPED(proto_client_attach_args, port, "port", PROTO_U16, 1, 65535),
    TYPED(proto_client_attach_args, timeout_ms, "timeout_ms", PROTO_I64, 1, MAX_TIMEOUT_MS),
};
const proto_method proto_client_attach = {"attach", PROTO_CLIENT,
                                          LAYOUT(proto_client_attach_args, client_attach_args),
                                          NONE, RPC_SHAPE_ANY};
const proto_method proto_client_detach = {"detach", PROTO_CLIENT, NONE, NONE, RPC_SHAPE_ANY};
const proto_method proto_client_put = {
    "put", PROTO_CLIENT, LAYOUT(proto_client_put_args, client_put_args),
    LAYOUT(proto_client_put_reply, client_put_reply), RPC_SHAPE_LIST};
const proto_method proto_client_get = {
    "get",
    PROTO_CLIENT,
    LAYOUT(proto_client_get_args, client_get_args),
    LAYOUT_CHECKED(proto_client_get_reply, client_get_reply, check_client_get),
    RPC_SHAPE_LIST};

/* ---- watchdog ---- */

static const proto_field watchdog_start_args[] = {
    ONE_OF(proto_watchdog_start_args, kind, "kind", kind_names),
    ID(proto_watchdog_start_args, id, "id"),
    TYPED(proto_watchdog_start_args, sync, "sync", PROTO_FLAG, 0, 1),
    TYPED(proto_watchdog_start_args, rejoin, "rejoin", PROTO_FLAG, 0, 1),
};
static const proto_field watchdog_start_reply[] = {
    TYPED(proto_watchdog_start_reply, port, "port", PROTO_U16, 1, 65535),
    TYPED(proto_watchdog_start_reply, pid, "pid", PROTO_I64, 1, INT32_MAX),
    TEXT(proto_watchdog_start_reply, host, "host", 1, PROTO_MAX_HOST),
};

const proto_method proto_watchdog_start = {
    "start", PROTO_WATCHDOG, LAYOUT(proto_watchdog_start_args, watchdog_start_args),
    LAYOUT(proto_watchdog_start_reply, watchdog_start_reply), RPC_SHAPE_STRUCT};
const proto_method proto_watchdog_kill = {"kill", PROTO_WATCHDOG, LAYOUT(proto_id, id_fields),
                                          NONE, RPC_SHAPE_ANY};
static const proto_field watchdog_pause_args[] = {
    ID(proto_watchdog_pause_args, id, "id"),
    TYPED(proto_watchdog_pause_args, paused, "paused", PROTO_FLAG, 0, 1),
};
const proto_method proto_watchdog_pause = {"pause", PROTO_WATCHDOG,
                                           LAYOUT(proto_watchdog_pause_args, watchdog_pause_args),
                                           NONE, RPC_SHAPE_ANY};
const proto_method proto_watchdog_shutdown = {"shutdown", PROTO_WATCHDOG, NONE, NONE,
                                              RPC_SHAPE_ANY};

static const proto_field watchdog_run_begin_args[] = {
    TEXT(proto_watchdog_run_begin_args, run_id, "run_id", 1, PROTO_MAX_RUN_ID),
    TYPED(proto_watchdog_run_begin_args, sync, "sync", PROTO_FLAG, 0, 1),
    TYPED(proto_watchdog_run_begin_args, keep, "keep", PROTO_FLAG, 0, 1),
    TYPED(proto_watchdog_run_begin_args, valgrind, "valgrind", PROTO_FLAG, 0, 1),
    TYPED(proto_watchdog_run_begin_args, trace, "trace", PROTO_FLAG, 0, 1),
};
/* The run id names a directory: hex digits only. */
static int check_run_begin(const void *s, dkv_err *err)
{
    const char *id = ((const proto_watchdog_run_begin_args *)s)->run_id;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return dkv_err_set(err, "run_id: lowercase hex digits expected");
    return 0;
}
static const proto_field watchdog_run_begin_reply[] = {
    TEXT(proto_watchdog_run_begin_reply, host, "host", 1, PROTO_MAX_HOST),
    TYPED(proto_watchdog_run_begin_reply, resumed, "resumed", PROTO_BOOL, 0, 1),
    TEXT(proto_watchdog_run_begin_reply, dir, "dir", 1, 4096),
};
const proto_method proto_watchdog_run_begin = {
    "run_begin", PROTO_WATCHDOG,
    LAYOUT_CHECKED(proto_watchdog_run_begin_args, watchdog_run_begin_args, check_run_begin),
    LAYOUT(proto_watchdog_run_begin_reply, watchdog_run_begin_reply), RPC_SHAPE_STRUCT};
const proto_method proto_watchdog_run_end = {"run_end", PROTO_WATCHDOG, NONE, NONE,
                                             RPC_SHAPE_ANY};

static const proto_field event_died_args[] = {
    ONE_OF(proto_watchdog_died_event, kind, "kind", kind_names),
    ID(proto_watchdog_died_event, id, "id"),
    TYPED(proto_watchdog_died_event, pid, "pid", PROTO_I64, 1, INT32_MAX),
    TYPED(proto_watchdog_died_event, code, "code", PROTO_I64, -1, 255),
    TYPED(proto_watchdog_died_event, signal, "signal", PROTO_I64, 0, 128),
};
/* Not a method anyone serves (daemons 0): the watchdog sends it. */
const proto_method proto_event_died = {
    "died", PROTO_OTHER, LAYOUT(proto_watchdog_died_event, event_died_args), NONE,
    RPC_SHAPE_ANY};

/* ---- every daemon ---- */

static const proto_field ping_reply[] = {
    TYPED(proto_ping_reply, pid, "pid", PROTO_U64, 1, INT32_MAX),
};
const proto_method proto_ping = {"ping", PROTO_SERVER | PROTO_CLIENT | PROTO_WATCHDOG, NONE,
                                 LAYOUT(proto_ping_reply, ping_reply), RPC_SHAPE_VALUE};

static const proto_method *const contract[] = {
#define PROTO_LIST(name, A, R) &proto_##name,
    PROTO_METHODS(PROTO_LIST)
#undef PROTO_LIST
};

const char *proto_read_name(proto_read r)
{
    return r >= PROTO_READ_OK && r <= PROTO_READ_ERR_DEP ? read_names[r] : "?";
}

/* ---- decoding -------------------------------------------------------------- */

static const char *type_name(rpcflat_type t)
{
    switch (t) {
    case RPCFLAT_INT: return "an integer";
    case RPCFLAT_BYTES: return "base64";
    case RPCFLAT_STRING: return "a string";
    case RPCFLAT_BOOL: return "a boolean";
    }
    return "?";
}

/* The wire type a field travels as. */
static rpcflat_type wire_type(proto_type t)
{
    switch (t) {
    case PROTO_U64:
    case PROTO_I64:
    case PROTO_U16:
    case PROTO_FLAG: return RPCFLAT_INT;
    case PROTO_BOOL: return RPCFLAT_BOOL;
    case PROTO_BYTES: return RPCFLAT_BYTES;
    case PROTO_STRING:
    case PROTO_ENUM: return RPCFLAT_STRING;
    }
    return RPCFLAT_INT;
}

/* "expected 'a', 'b' or 'c'". */
static int enum_mismatch(const char *const *names, dkv_err *err)
{
    char list[200] = "";
    size_t len = 0;
    for (int k = 0; names[k] && len < sizeof list; k++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'",
                                k == 0 ? "" : names[k + 1] ? ", " : " or ", names[k]);
    return dkv_err_set(err, "expected %s", list);
}

/* Checks v against f and stores it at base + f->offset: 0, or -1 with err
 * (the caller puts the field's place in front). */
static int decode_field(const proto_field *f, const rpcflat_val *v, void *base, dkv_err *err)
{
    char *at = (char *)base + f->offset;
    rpcflat_type want = wire_type(f->type);
    if (v->type != want)
        return dkv_err_set(err, "expected %s, got %s", type_name(want), type_name(v->type));
    switch (f->type) {
    case PROTO_U64:
    case PROTO_I64:
    case PROTO_U16:
    case PROTO_FLAG:
        if (v->i < f->min || v->i > f->max)
            return dkv_err_set(err, "%" PRId64 " is out of range [%" PRId64 ", %" PRId64 "]",
                               v->i, f->min, f->max);
        if (f->type == PROTO_U64)
            *(uint64_t *)at = (uint64_t)v->i;
        else if (f->type == PROTO_I64)
            *(int64_t *)at = v->i;
        else if (f->type == PROTO_U16)
            *(uint16_t *)at = (uint16_t)v->i;
        else
            *(bool *)at = v->i != 0;
        return 0;
    case PROTO_BOOL: *(bool *)at = v->i != 0; return 0;
    case PROTO_BYTES:
        if (f->token && token_check(f->name, v->p, v->n, (size_t)f->max, err) < 0)
            return -1;
        if (v->n < (uint64_t)f->min || v->n > (uint64_t)f->max)
            return dkv_err_set(err, "%zu bytes, not from %" PRId64 " to %" PRId64, v->n, f->min,
                               f->max);
        *(proto_bytes *)at = (proto_bytes){v->p, v->n};
        return 0;
    case PROTO_STRING:
        if (v->n < (uint64_t)f->min || v->n > (uint64_t)f->max)
            return dkv_err_set(err, "%zu bytes of text, not from %" PRId64 " to %" PRId64, v->n,
                               f->min, f->max);
        for (size_t i = 0; i < v->n; i++)
            if (v->p[i] < 0x20)
                return dkv_err_set(err, "control byte 0x%02x at offset %zu", v->p[i], i);
        *(const char **)at = (const char *)v->p; /* NUL-terminated (rpcflat.h) */
        return 0;
    case PROTO_ENUM:
        for (int k = 0; f->names[k]; k++)
            if (v->n == strlen(f->names[k]) && memcmp(v->p, f->names[k], v->n) == 0) {
                *(int *)at = k;
                return 0;
            }
        return enum_mismatch(f->names, err);
    }
    return dkv_err_set(err, "unknown field type");
}

/* Whether layout l holds count values. */
static bool count_fits(const proto_layout *l, size_t count)
{
    if (!l->group)
        return count == l->n_fields;
    return count >= l->n_fields && (count - l->n_fields) % l->n_group == 0 &&
           (count - l->n_fields) / l->n_group <= l->max_items;
}

static int wrong_count(const proto_layout *l, size_t count, bool args, const char *method,
                       dkv_err *err)
{
    const char *what = args ? "argument" : "item";
    if (!l->group)
        return dkv_err_set(err, "%s %s %zu %s%s, got %zu", method, args ? "takes" : "returns",
                           l->n_fields, what, l->n_fields == 1 ? "" : "s", count);
    if (count >= l->n_fields && (count - l->n_fields) % l->n_group == 0)
        return dkv_err_set(err, "%s %s at most %zu %s, got %zu", method,
                           args ? "takes" : "returns", l->max_items, l->group_name,
                           (count - l->n_fields) / l->n_group);
    return dkv_err_set(err, "%s %s %zu %s%s and %zu per item of %s, got %zu", method,
                       args ? "takes" : "returns", l->n_fields, what,
                       l->n_fields == 1 ? "" : "s", l->n_group, l->group_name, count);
}

int proto_decode(const proto_layout *l, const rpcflat_msg *m, bool args, const char *method,
                 void *s, void *(*alloc)(void *alloc_ctx, size_t n), void *alloc_ctx,
                 dkv_err *err)
{
    size_t count = rpcflat_count(m);
    if (!count_fits(l, count))
        return wrong_count(l, count, args, method, err);
    const char *what = args ? "argument" : "item";
    dkv_err why;
    for (size_t i = 0; i < l->n_fields; i++)
        if (decode_field(&l->fields[i], rpcflat_at(m, i), s, &why) < 0)
            return dkv_err_set(err, "%s: %s %zu (%s): %s", method, what, i + 1,
                               l->fields[i].name, why.msg);
    if (l->group) {
        size_t items = (count - l->n_fields) / l->n_group;
        char *mem = items ? alloc(alloc_ctx, items * l->item_size) : NULL;
        *(void **)((char *)s + l->items_offset) = mem;
        *(size_t *)((char *)s + l->count_offset) = items;
        for (size_t k = 0, i = l->n_fields; k < items; k++)
            for (size_t g = 0; g < l->n_group; g++, i++)
                if (decode_field(&l->group[g], rpcflat_at(m, i), mem + k * l->item_size,
                                 &why) < 0)
                    return dkv_err_set(err, "%s: %s %zu (%s[%zu].%s): %s", method, what, i + 1,
                                       l->group_name, k, l->group[g].name, why.msg);
    }
    if (l->check && l->check(s, &why) < 0)
        return dkv_err_set(err, "%s: %s", method, why.msg);
    return 0;
}

/* ---- encoding -------------------------------------------------------------- */

static rpcflat_val encode_field(const proto_field *f, const void *base)
{
    const char *at = (const char *)base + f->offset;
    switch (f->type) {
    case PROTO_U64: return rpcflat_int((int64_t) * (const uint64_t *)at);
    case PROTO_I64: return rpcflat_int(*(const int64_t *)at);
    case PROTO_U16: return rpcflat_int(*(const uint16_t *)at);
    case PROTO_FLAG: return rpcflat_int(*(const bool *)at ? 1 : 0);
    case PROTO_BOOL: return rpcflat_bool(*(const bool *)at);
    case PROTO_BYTES: {
        const proto_bytes *b = (const proto_bytes *)at;
        return rpcflat_bytes(b->n ? b->p : (const uint8_t *)"", b->n);
    }
    case PROTO_STRING: {
        const char *str = *(const char *const *)at;
        return rpcflat_string(str ? str : "");
    }
    case PROTO_ENUM: {
        int k = *(const int *)at, n = 0;
        while (f->names[n])
            n++;
        return rpcflat_string(k >= 0 && k < n ? f->names[k] : "");
    }
    }
    return rpcflat_int(0);
}

static size_t group_items(const proto_layout *l, const void *s, const char **mem)
{
    if (!l->group || !s)
        return 0;
    *mem = *(const char *const *)((const char *)s + l->items_offset);
    return *(const size_t *)((const char *)s + l->count_offset);
}

size_t proto_count(const proto_layout *l, const void *s)
{
    const char *mem;
    return l->n_fields + group_items(l, s, &mem) * l->n_group;
}

void proto_flatten(const proto_layout *l, const void *s, rpcflat_val *vals)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n_fields; i++)
        vals[n++] = encode_field(&l->fields[i], s);
    const char *mem = NULL;
    size_t items = group_items(l, s, &mem);
    for (size_t k = 0; k < items; k++)
        for (size_t g = 0; g < l->n_group; g++)
            vals[n++] = encode_field(&l->group[g], mem + k * l->item_size);
}

void proto_encode_reply(buf *out, const proto_method *m, const void *s)
{
    const proto_layout *l = &m->reply;
    rpcflat_encode_response_begin(out);
    switch (m->shape) {
    case RPC_SHAPE_LIST:
        rpcflat_encode_array_begin(out);
        for (size_t i = 0; i < l->n_fields; i++) {
            rpcflat_val v = encode_field(&l->fields[i], s);
            rpcflat_encode_value(out, &v);
        }
        rpcflat_encode_array_end(out);
        break;
    case RPC_SHAPE_VALUE: {
        rpcflat_val v = encode_field(&l->fields[0], s);
        rpcflat_encode_value(out, &v);
        break;
    }
    case RPC_SHAPE_ANY: {
        rpcflat_val v = rpcflat_bool(true);
        rpcflat_encode_value(out, &v);
        break;
    }
    case RPC_SHAPE_STRUCT: {
        rpcflat_encode_struct_begin(out);
        for (size_t i = 0; i < l->n_fields; i++) {
            rpcflat_val v = encode_field(&l->fields[i], s);
            rpcflat_encode_member_begin(out, l->fields[i].name);
            rpcflat_encode_value(out, &v);
            rpcflat_encode_member_end(out);
        }
        if (l->group) {
            const char *mem = NULL;
            size_t items = group_items(l, s, &mem);
            rpcflat_encode_member_begin(out, l->group_name);
            rpcflat_encode_array_begin(out);
            for (size_t k = 0; k < items; k++) {
                rpcflat_encode_array_begin(out);
                for (size_t g = 0; g < l->n_group; g++) {
                    rpcflat_val v = encode_field(&l->group[g], mem + k * l->item_size);
                    rpcflat_encode_value(out, &v);
                }
                rpcflat_encode_array_end(out);
            }
            rpcflat_encode_array_end(out);
            rpcflat_encode_member_end(out);
        }
        rpcflat_encode_struct_end(out);
        break;
    }
    }
    rpcflat_encode_response_end(out);
}

/* ---- the caller's side ------------------------------------------------------- */

static void *client_alloc(void *ctx, size_t n) { return rpc_client_scratch(ctx, n); }

int proto_call(rpc_client *c, const proto_method *m, const void *args, void *reply,
               dkv_err *err)
{
    if (m->reply.n_fields > PROTO_MAX_FIELDS)
        return dkv_err_set(err, "%s: a reply of more than %d fields", m->name, PROTO_MAX_FIELDS);
    /* Most calls have a few values: on the stack. */
    rpcflat_val small[PROTO_MAX_FIELDS], *vals = small;
    size_t n = proto_count(&m->args, args);
    if (n > NELEMS(small))
        vals = xcalloc(n, sizeof *vals);
    if (n)
        proto_flatten(&m->args, args, vals);
    const char *names[PROTO_MAX_FIELDS];
    for (size_t i = 0; i < m->reply.n_fields; i++)
        names[i] = m->reply.fields[i].name;
    rpc_shape shape = {m->shape, names, m->reply.n_fields, m->reply.group_name,
                       m->reply.n_group};
    const rpcflat_msg *r;
    int rc = rpc_call_flat(c, m->name, vals, n, &shape, &r, err);
    if (vals != small)
        free(vals);
    if (rc < 0)
        return -1;
    if (!reply)
        return 0;
    memset(reply, 0, m->reply.size);
    if (proto_decode(&m->reply, r, false, m->name, reply, client_alloc, c, err) < 0)
        return dkv_err_wrap(err, "malformed reply");
    return 0;
}

/* ---- events -------------------------------------------------------------------- */

void proto_encode_event(buf *out, const proto_method *m, const void *args)
{
    rpcflat_val vals[PROTO_MAX_FIELDS];
    size_t n = proto_count(&m->args, args);
    if (n > NELEMS(vals))
        abort(); /* an event is a few scalars; a wider one is a bug here */
    proto_flatten(&m->args, args, vals);
    size_t start = wire_begin(out, WIRE_EVENT);
    rpcflat_encode_call(out, m->name, vals, n);
    wire_finish(out, start);
}

static void *no_alloc(void *ctx, size_t n)
{
    (void)ctx;
    (void)n;
    return NULL;
}

int proto_decode_event(const proto_method *m, const uint8_t *body, size_t len, void *args,
                       dkv_err *err)
{
    rpcflat_msg *msg = rpcflat_msg_new();
    int rc = rpcflat_parse_call(msg, (const char *)body, len);
    if (rc < 0)
        rc = dkv_err_set(err, "an event that cannot be read");
    else if (strcmp(rpcflat_method(msg), m->name) != 0)
        rc = dkv_err_set(err, "event '%.40s', expected '%s'", rpcflat_method(msg), m->name);
    else {
        memset(args, 0, m->args.size);
        rc = proto_decode(&m->args, msg, true, m->name, args, no_alloc, NULL, err);
    }
    rpcflat_msg_free(msg);
    return rc;
}

/* ---- the callee's side ------------------------------------------------------- */

static void *heap_alloc(void *ctx, size_t n)
{
    void **mem = ctx;
    *mem = xcalloc(1, n);
    return *mem;
}

/* Room for any args or reply struct of the contract, on the stack. */
#define INLINE_STRUCT 128
typedef union inline_struct {
    max_align_t align;
    unsigned char bytes[INLINE_STRUCT];
} inline_struct;

static int serve(const void *info, void *call_info, const rpcflat_msg *msg, buf *out,
                 rpc_fault *fault)
{
    const proto_binding *b = info;
    const proto_method *m = b->method;
    inline_struct a, r;
    void *group = NULL, *owned = NULL;
    memset(a.bytes, 0, m->args.size);
    memset(r.bytes, 0, m->reply.size);
    fault->code = RPCFLAT_FAULT_BAD_REQUEST;
    if (proto_decode(&m->args, msg, true, m->name, a.bytes, heap_alloc, &group, &fault->err) <
        0) {
        free(group);
        return -1;
    }
    int rc = b->fn(call_info, a.bytes, r.bytes, &owned, &fault->err);
    if (rc == 0)
        proto_encode_reply(out, m, r.bytes);
    else
        fault->code = rc == PROTO_REFUSED ? RPCFLAT_FAULT_BAD_REQUEST : RPCFLAT_FAULT_FAILED;
    free(owned);
    free(group);
    return rc == 0 ? 0 : -1;
}

static int serve_ping(void *ctx, const proto_none *args, proto_ping_reply *reply, void **owned,
                      dkv_err *err)
{
    reply->pid = (uint64_t)getpid();
    return 0;
}
PROTO_SERVE(ping, serve_ping)
static const proto_binding ping_binding = PROTO_BINDING(ping);

static void fail_binding(const char *why, const char *name)
{
    fprintf(stderr, "proto_server_new: %s '%s'\n", why, name);
    abort();
}

rpc_server *proto_server_new(proto_daemon daemon, const proto_binding *bindings, size_t n)
{
    rpc_method *methods = xcalloc(n + 1, sizeof *methods);
    for (size_t i = 0; i < n; i++) {
        const proto_method *m = bindings[i].method;
        if (daemon != PROTO_OTHER && !(m->daemons & (unsigned)daemon))
            fail_binding("a method this daemon does not serve:", m->name);
        if (m == &proto_ping)
            fail_binding("ping is built in:", m->name);
        if (m->args.size > INLINE_STRUCT || m->reply.size > INLINE_STRUCT ||
            m->reply.n_fields > PROTO_MAX_FIELDS)
            fail_binding("a layout too large:", m->name);
        methods[i] = (rpc_method){m->name, serve, &bindings[i]};
    }
    for (size_t k = 0; k < NELEMS(contract) && daemon != PROTO_OTHER; k++) {
        bool bound = contract[k] == &proto_ping || !(contract[k]->daemons & (unsigned)daemon);
        for (size_t i = 0; i < n && !bound; i++)
            bound = bindings[i].method == contract[k];
        if (!bound)
            fail_binding("a method of this daemon is not bound:", contract[k]->name);
    }
    methods[n] = (rpc_method){proto_ping.name, serve, &ping_binding};
    rpc_server *s = rpc_server_new(methods, n + 1);
    free(methods);
    return s;
}
