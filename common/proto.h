/* proto: the contract of every RPC, written once. Each method of each
 * daemon is described here by its name, the layout of its arguments and of
 * its reply, and the limits every value must respect; the descriptors live
 * in proto.c. Callers and callees use the same descriptors through one
 * generic marshaller, so a layout cannot drift between the two sides:
 *
 *   caller  proto_client_put_call(rpc, &args, &reply, err) fills a C struct,
 *           gets a C struct back, decoded and checked against the limits;
 *   callee  proto_server_new(PROTO_SERVER, bindings, n) registers a typed
 *           handler per method (PROTO_SERVE/PROTO_BINDING); a request is
 *           decoded into the args struct and refused, with a fault that
 *           names the argument, unless every value is within its limits;
 *           the handler fills the reply struct, which is encoded.
 *
 * On the wire (XML-RPC, see rpc.h) arguments are always a list of scalars:
 * the fields in order, then the items of a repeated group (connect_all's
 * peers) one after the other. Replies take the shape each method has always
 * had, so that an outside caller (bin/rpccall) sees the same answers: a
 * list of scalars (put, get, digest: these are read by rpcflat, the fast
 * path), a struct with a member per field and the group as an array of
 * arrays (dump, stats, start), one scalar (ping), or `true` (the rest). */
#ifndef DKV_PROTO_H
#define DKV_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ids.h"
#include "limits.h"
#include "rpc.h"
#include "version.h"

/* Longest host name or address given to dial (a DNS name is at most 253). */
#define PROTO_MAX_HOST 255
/* Most peers one connect_all may list: 3 values each stay within
 * RPCFLAT_MAX_CALL_VALS, and their XML within RPC_MAX_CALL_ELEMENTS. */
#define PROTO_MAX_PEERS 10000
/* Longest text a digest field may hold (a clock of many origins). */
#define PROTO_MAX_TEXT DKV_MAX_VALUE
/* Most fields a layout may have (the widest, the client's get reply, has
 * 10 values). */
#define PROTO_MAX_FIELDS 16

/* ---- the values the methods carry -------------------------------------- */

/* Bytes that point into a message (see the lifetimes below). */
typedef struct proto_bytes {
    const uint8_t *p;
    size_t n;
} proto_bytes;

/* No arguments, or no reply but success. */
typedef struct proto_none {
    char unused; /* C has no empty structs */
} proto_none;

/* A server or client id. */
typedef struct proto_id {
    uint64_t id;
} proto_id;

/* Where a server listens. */
typedef struct proto_peer {
    uint64_t id;
    const char *host;
    uint16_t port;
} proto_peer;

/* One record of a server's store. */
typedef struct proto_entry {
    proto_bytes key, value;
    dkv_version version;
} proto_entry;

/* What the watchdog starts. */
typedef enum proto_kind { PROTO_KIND_SERVER, PROTO_KIND_CLIENT } proto_kind;

/* What a client's get found (client/session.h: session_check_read). */
typedef enum proto_read {
    PROTO_READ_OK,
    PROTO_READ_ERR_KEY,
    PROTO_READ_ERR_DEP,
} proto_read;

/* ---- server ---- */

/* put(key, value, dep): stamps the write after dep; its version. */
typedef struct proto_server_put_args {
    proto_bytes key, value; /* tokens (token.h) of at most DKV_MAX_KEY, DKV_MAX_VALUE */
    dkv_version dep;        /* the client's dependency on key; (0, 0) for none */
} proto_server_put_args;
typedef struct proto_server_put_reply {
    dkv_version version;
} proto_server_put_reply;

/* get(key): the value and version held, if any. */
typedef struct proto_server_get_args {
    proto_bytes key;
} proto_server_get_args;
typedef struct proto_server_get_reply {
    bool found;
    proto_bytes value;   /* empty when not found */
    dkv_version version; /* (0, 0) when not found */
} proto_server_get_reply;

/* digest(): what stabilize compares, as text (ids comma-separated, the
 * clock as vclock_format writes it) and bytes still queued to peers. */
typedef struct proto_server_digest_reply {
    const char *vc, *links, *group;
    int64_t queued;
} proto_server_digest_reply;

/* dump(after, has_after): one page of the store in key order, after the
 * key `after` when has_after. */
typedef struct proto_server_dump_args {
    proto_bytes after;
    bool has_after;
} proto_server_dump_args;
typedef struct proto_server_dump_reply {
    proto_entry *entries;
    size_t n_entries;
    bool more; /* another page follows */
} proto_server_dump_reply;

/* connect_all(peers): connect for many peers in one call; all are checked
 * before any is used. */
typedef struct proto_server_connect_all_args {
    proto_peer *peers;
    size_t n_peers;
} proto_server_connect_all_args;

/* stats(): frames sent by type and updates counted (core_counters), and
 * keepalive pings (links_counters). */
typedef struct proto_server_stats_reply {
    uint64_t hello, upd, ack, lsa, updates_sent, updates_applied, duplicates;
    uint64_t ping;
} proto_server_stats_reply;

/* show(): the server's view, for showServer: its counters and, per
 * server it knows of (by a link, an LSA held or its vector clock), one
 * node, ascending by id, itself included. */
typedef enum proto_link {
    PROTO_LINK_NONE,      /* no link record (itself, or known only by hearsay) */
    PROTO_LINK_DOWN,      /* not live: waiting to redial, or forgotten */
    PROTO_LINK_DIALLING,  /* an outgoing connection under way */
    PROTO_LINK_UP,        /* live */
    PROTO_LINK_HELD,      /* the master cut it (refused), blocked it or paused its peer (keepalive only) */
} proto_link;
typedef struct proto_show_node {
    uint64_t id;
    proto_link link;
    int64_t heard_ms; /* PROTO_LINK_UP: ms since the peer last sent anything; else -1 */
    bool has_lsa;     /* the link-state database holds its LSA: */
    uint64_t lsa_inc, lsa_seq;
    const char *lsa_nb; /* its neighbours, ascending ids comma-separated ("": none) */
    bool in_group;      /* reachable, by the link-state database */
    bool has_parent;    /* in the group and not the shared spanning tree's root: */
    uint64_t parent;
    uint64_t applied; /* its writes applied here (the vector clock's entry; 0: none) */
} proto_show_node;
typedef struct proto_server_show_reply {
    uint64_t id, incarnation, lamport;
    int64_t queued; /* bytes queued to peers */
    proto_show_node *nodes;
    size_t n_nodes;
} proto_server_show_reply;
/* Most nodes a view may hold. */
#define PROTO_MAX_NODES 100000
/* Whether text is a list of ids (decimal, no leading zero), ascending,
 * comma-separated ("" is none): 0, or -1 with err. */
int proto_id_list_check(const char *text, dkv_err *err);
/* link_fault(peer, delay_ms, jitter_ms, flaky_pct, held, hold_out, hold_in,
 * seed): how this server's link to peer misbehaves from now on (links.h,
 * links_fault): each frame to peer leaves delay_ms +- jitter_ms after it
 * was queued (in order); after each frame of writes the connection is reset
 * with probability flaky_pct %, drawn from a generator seeded by seed; held:
 * the link carries keepalive only and counts for neither routing nor
 * groups; hold_out: this server's frames to peer are held (blockLink
 * self peer); hold_in: peer holds its frames to this server (blockLink
 * peer self). All zero: a normal link. */
#define PROTO_MAX_DELAY_MS 600000
typedef struct proto_server_link_fault_args {
    uint64_t peer;
    int64_t delay_ms, jitter_ms, flaky_pct;
    bool held, hold_out, hold_in;
    uint64_t seed;
} proto_server_link_fault_args;

/* ---- client ---- */

/* attach(id, host, port, timeout_ms): use server id at host:port, each
 * call to it bounded by timeout_ms (the master's --rpc-timeout). */
typedef struct proto_client_attach_args {
    uint64_t id;
    const char *host;
    uint16_t port;
    int64_t timeout_ms;
} proto_client_attach_args;

/* put(key, value) through the client's server, with its session. */
typedef struct proto_client_put_args {
    proto_bytes key, value;
} proto_client_put_args;
/* The version written, the session's dependency on key before and after,
 * and the server used (the history records what happened). */
typedef struct proto_client_put_reply {
    dkv_version version, dep_before, dep_after;
    uint64_t server;
} proto_client_put_reply;

typedef struct proto_client_get_args {
    proto_bytes key;
} proto_client_get_args;
typedef struct proto_client_get_reply {
    proto_read status;
    proto_bytes value; /* what the server holds, whatever the status */
    bool found;
    dkv_version version, dep_before, dep_after;
    uint64_t server;
} proto_client_get_reply;

/* ---- watchdog ---- */

typedef struct proto_watchdog_start_args {
    proto_kind kind;
    uint64_t id;
    bool sync;   /* server: fsync every write */
    bool rejoin; /* server: its store must be there (it ran before) */
} proto_watchdog_start_args;
typedef struct proto_watchdog_start_reply {
    uint16_t port;
    int64_t pid;
    const char *host; /* where it listens */
} proto_watchdog_start_reply;

/* pause(id, paused): SIGSTOP (paused) or SIGCONT server id of the run. */
typedef struct proto_watchdog_pause_args {
    uint64_t id;
    bool paused;
} proto_watchdog_pause_args;

/* run_begin(run_id, sync, keep, valgrind, trace): the first call of a master on
 * its control connection to a watchdog. The run is bound to that
 * connection: start and kill act within it, and it ends at run_end or
 * shutdown, or when the connection closes or stops answering keepalive;
 * then the watchdog ends the run's processes and removes the run's
 * directory unless keep. sync: every server fsyncs; valgrind: servers run
 * under valgrind. */
#define PROTO_MAX_RUN_ID 64 /* hex digits */
typedef struct proto_watchdog_run_begin_args {
    const char *run_id; /* 1 to PROTO_MAX_RUN_ID lowercase hex digits */
    bool sync, keep, valgrind;
    bool trace; /* servers log every peer frame (server --trace) */
} proto_watchdog_run_begin_args;
typedef struct proto_watchdog_run_begin_reply {
    const char *host; /* where the run's processes listen (--advertise) */
    bool resumed;     /* the run's directory was there already (a watchdog
                       * restarted after a crash): servers find their data */
    const char *dir;  /* the run's directory on that machine, for messages */
} proto_watchdog_run_begin_reply;

/* ---- events: sent unasked, as frames of kind WIRE_EVENT ---- */

/* died(kind, id, pid, code, signal): a process of the run bound to the
 * connection ended other than by kill: exit code (-1 when a signal ended
 * it) or the signal (0 when it exited). */
typedef struct proto_watchdog_died_event {
    proto_kind kind;
    uint64_t id;
    int64_t pid, code, signal;
} proto_watchdog_died_event;

/* ---- every daemon ---- */

/* ping(): the process id of the daemon that answers. */
typedef struct proto_ping_reply {
    uint64_t pid;
} proto_ping_reply;

/* ---- the descriptors ------------------------------------------------------ */

typedef enum proto_type {
    PROTO_U64,    /* uint64_t: an integer in [min, max] */
    PROTO_I64,    /* int64_t: an integer in [min, max] */
    PROTO_U16,    /* uint16_t: an integer in [min, max] */
    PROTO_FLAG,   /* bool: the integer 0 or 1 */
    PROTO_BOOL,   /* bool: a boolean */
    PROTO_BYTES,  /* proto_bytes: base64 of min to max bytes; a token when token */
    PROTO_STRING, /* const char *: min to max bytes of text, no control bytes */
    PROTO_ENUM,   /* an enum: a string, one of names (the enum is its index) */
} proto_type;

typedef struct proto_field {
    const char *name;
    proto_type type;
    size_t offset;
    int64_t min, max;
    bool token;               /* PROTO_BYTES: a key or value (token.h) */
    const char *const *names; /* PROTO_ENUM: NULL-terminated */
} proto_field;

typedef struct proto_layout {
    size_t size; /* of the struct */
    const proto_field *fields;
    size_t n_fields;
    /* A repeated group after the fields: an array of items at
     * items_offset (a pointer) and count_offset (a size_t), each item_size
     * bytes laid out by group; group_name names it ("peers"). */
    const char *group_name;
    const proto_field *group;
    size_t n_group, item_size, items_offset, count_offset, max_items;
    /* Rules between fields, or NULL: 0, or -1 with err. */
    int (*check)(const void *s, dkv_err *err);
} proto_layout;

/* Which daemons serve a method. */
typedef enum proto_daemon {
    PROTO_OTHER = 0, /* none: a method outside the contract (tests) */
    PROTO_SERVER = 1,
    PROTO_CLIENT = 2,
    PROTO_WATCHDOG = 4,
} proto_daemon;

typedef struct proto_method {
    const char *name;
    unsigned daemons;      /* proto_daemon bits */
    proto_layout args, reply;
    rpc_shape_kind shape;  /* of the reply on the wire (LIST, STRUCT, VALUE, ANY) */
} proto_method;

/* ---- the generic marshaller ------------------------------------------------ */

/* Calls m on c with the struct args (NULL when m takes none) and decodes
 * the reply into the struct reply (NULL when m returns none). Bytes and
 * strings in reply point into c's reply buffer, valid until the next call
 * on c. A fault, a failed call or a reply outside the contract gives -1
 * with err. */
int proto_call(rpc_client *c, const proto_method *m, const void *args, void *reply,
               dkv_err *err);

/* Decodes a flat message into the struct s by layout l (its values checked
 * against every limit). args: a call's arguments (method names the call
 * in messages) rather than a reply's items. A group's items are put in
 * memory from alloc(alloc_ctx, bytes), zeroed. 0, or -1 with err naming
 * the argument or item. */
int proto_decode(const proto_layout *l, const rpcflat_msg *m, bool args, const char *method,
                 void *s, void *(*alloc)(void *alloc_ctx, size_t n), void *alloc_ctx,
                 dkv_err *err);
/* The values of struct s by layout l, in wire order, into vals (room for
 * proto_count(l, s)); pointers into s. */
size_t proto_count(const proto_layout *l, const void *s);
void proto_flatten(const proto_layout *l, const void *s, rpcflat_val *vals);
/* Appends m's reply s, in m's shape, as a response body. */
void proto_encode_reply(buf *out, const proto_method *m, const void *s);

/* A handler: the decoded args in, the reply struct (zeroed) to fill.
 * Memory the reply points into may be handed over in *owned, freed (free)
 * once the reply is encoded. Returns 0, -1 with err (the request could not
 * be carried out), or PROTO_REFUSED with err (the request itself is bad). */
#define PROTO_REFUSED (-2)
typedef int (*proto_handler)(void *ctx, const void *args, void *reply, void **owned,
                             dkv_err *err);
typedef struct proto_binding {
    const proto_method *method;
    proto_handler fn;
} proto_binding;

/* The RPC server of a daemon: its bindings, plus ping. For a daemon of the
 * contract, every method it serves must be bound, and no other: a missing
 * or foreign one aborts at start, naming it. ctx of each handler is the
 * call_info given to rpc_serve_frame/rpc_listen. Caller frees with
 * rpc_server_free; the bindings must outlive the server. */
rpc_server *proto_server_new(proto_daemon daemon, const proto_binding *bindings, size_t n);

/* ---- events ---- */

/* The watchdog's died (proto_watchdog_died_event): no daemon serves it. */
extern const proto_method proto_event_died;

/* Appends a WIRE_EVENT frame of event m with the values of args (events
 * hold scalars only). */
void proto_encode_event(buf *out, const proto_method *m, const void *args);
/* Decodes an event body (rpc_client_next_event) of event m into args
 * (checked against every limit): 0, or -1 with err when the body is not
 * that event. */
int proto_decode_event(const proto_method *m, const uint8_t *body, size_t len, void *args,
                       dkv_err *err);

/* ---- typed helpers, one set per method --------------------------------------- */

/* X(name, args type, reply type) for every method of the contract. */
#define PROTO_METHODS(X)                                                                       \
    X(server_put, proto_server_put_args, proto_server_put_reply)                               \
    X(server_get, proto_server_get_args, proto_server_get_reply)                               \
    X(server_digest, proto_none, proto_server_digest_reply)                                    \
    X(server_dump, proto_server_dump_args, proto_server_dump_reply)                            \
    X(server_connect, proto_peer, proto_none)                                                  \
    X(server_connect_all, proto_server_connect_all_args, proto_none)                           \
    X(server_cut, proto_id, proto_none)                                                        \
    X(server_uncut, proto_id, proto_none)                                                      \
    X(server_forget, proto_id, proto_none)                                                     \
    X(server_stats, proto_none, proto_server_stats_reply)                                      \
    X(server_show, proto_none, proto_server_show_reply)                                        \
    X(server_link_fault, proto_server_link_fault_args, proto_none)                             \
    X(client_attach, proto_client_attach_args, proto_none)                                                   \
    X(client_detach, proto_none, proto_none)                                                   \
    X(client_put, proto_client_put_args, proto_client_put_reply)                               \
    X(client_get, proto_client_get_args, proto_client_get_reply)                               \
    X(watchdog_start, proto_watchdog_start_args, proto_watchdog_start_reply)                   \
    X(watchdog_kill, proto_id, proto_none)                                                     \
    X(watchdog_pause, proto_watchdog_pause_args, proto_none)                                   \
    X(watchdog_shutdown, proto_none, proto_none)                                               \
    X(watchdog_run_begin, proto_watchdog_run_begin_args, proto_watchdog_run_begin_reply)       \
    X(watchdog_run_end, proto_none, proto_none)                                                \
    X(ping, proto_none, proto_ping_reply)

/* For each method NAME: its descriptor proto_NAME, the type of its handler
 * proto_NAME_fn and the call proto_NAME_call(rpc, &args, &reply, err). */
#define PROTO_DECLARE(name, A, R)                                                              \
    extern const proto_method proto_##name;                                                    \
    typedef int (*proto_##name##_fn)(void *ctx, const A *args, R *reply, void **owned,         \
                                     dkv_err *err);                                            \
    static inline int proto_##name##_call(rpc_client *c, const A *args, R *reply,              \
                                          dkv_err *err)                                        \
    {                                                                                          \
        return proto_call(c, &proto_##name, args, reply, err);                                 \
    }
PROTO_METHODS(PROTO_DECLARE)
#undef PROTO_DECLARE

/* In a daemon, at file scope: PROTO_SERVE(server_put, m_put) checks that
 * m_put is a proto_server_put_fn and defines its binding's glue;
 * PROTO_BINDING(server_put) is the table entry. */
#define PROTO_SERVE(name, fn)                                                                  \
    static int proto_serve_##name(void *ctx, const void *args, void *reply, void **owned,     \
                                  dkv_err *err)                                                \
    {                                                                                          \
        proto_##name##_fn typed = fn;                                                          \
        return typed(ctx, args, reply, owned, err);                                            \
    }
#define PROTO_BINDING(name) {&proto_##name, proto_serve_##name}

/* The word a status is written as ("ok", "ERR_KEY", "ERR_DEP"). */
const char *proto_read_name(proto_read r);

#endif
