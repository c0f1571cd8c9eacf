/* rpc: XML-RPC carried in wire frames over one persistent TCP connection
 * per caller/callee pair. HTTP is replaced by the 9-byte wire prefix: it
 * halves the cost of a call. Every call and reply of the daemons is
 * encoded by rpcflat and decoded by it when the body is in its subset;
 * xmlrpc-c decodes any other body (an outside client's), after a screen.
 * What each method takes and returns is common/proto.h's business. */
#ifndef DKV_RPC_H
#define DKV_RPC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xmlrpc-c/base.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "limits.h"
#include "rpcflat.h"
#include "wire.h"

/* Once per process, before any call: raises xmlrpc-c's XML size limit so
 * that multi-MiB values pass. */
void rpc_global_init(void);

typedef struct rpc_client rpc_client;

/* Caller frees with rpc_client_free. Connects lazily on the first call.
 * With key (which must outlive the client) every connection authenticates
 * (common/auth.h): the handshake on connect, within the call's timeout,
 * then each call sealed into a record and each reply checked. A daemon
 * that refuses us, one that cannot prove it knows the key, or a reply
 * that fails its check (forged, replayed, damaged) fails the call with a
 * message that says so, and drops the connection. NULL: plain framing,
 * for tests and tools that talk to a loop without authentication. */
rpc_client *rpc_client_new(const char *host, uint16_t port, int timeout_ms, const auth_key *key);
void rpc_client_free(rpc_client *c);

/* What messages call the callee ("server 3", "the watchdog"); by default
 * its HOST:PORT. A named callee's faults are prefixed with its name. */
void rpc_client_set_name(rpc_client *c, const char *name);

/* Calls give up once *flag is non-zero: a call not yet sent fails at
 * once, and one under way when the caller's signal handler sets the flag
 * fails on the EINTR that the signal causes (its handler must be
 * installed without SA_RESTART). NULL: never. The flag outlives c. */
void rpc_client_set_cancel(rpc_client *c, const volatile sig_atomic_t *flag);

/* Whether the last call failed after its whole request was sent, without
 * an answer that says what happened (no answer in time, a lost
 * connection, an interruption, an unreadable reply): the callee may or
 * may not have carried it out. False after a success, a fault, or a
 * request that never reached the callee whole. */
bool rpc_client_outcome_unknown(const rpc_client *c);

/* Makes c a control connection, to which the callee binds state (the
 * master's to a watchdog, which binds the run to it): TCP keepalive
 * (net_set_keepalive) so that a vanished callee is noticed within
 * idle + interval * count seconds, and one connection for life: once it
 * breaks, c never dials again and every call fails saying why. */
void rpc_client_set_control(rpc_client *c, int idle_s, int interval_s, int count);
/* Reads, without blocking, what the callee sent unasked: events (frames of
 * kind WIRE_EVENT) are queued; they are also queued whenever they arrive
 * before a reply. 0, or -1 with err when a control connection is gone
 * (closed, reset, keepalive timed out). */
int rpc_client_poll(rpc_client *c, dkv_err *err);
/* Whether c holds a connection now. */
bool rpc_client_connected(const rpc_client *c);
/* The oldest queued event's body (XML-RPC, see proto_decode_event): 1 and
 * *body, *len set, valid until the next call on c; 0 when none. */
int rpc_client_next_event(rpc_client *c, const uint8_t **body, size_t *len);

/* Calls method with params (an array; not consumed) encoded by xmlrpc-c,
 * for tools that send any value (rpccall; the benchmark's xmlrpc-c
 * floor); the daemons call through rpc_call_flat. On success *result is
 * set and the caller releases it with xmlrpc_DECREF. A fault returned by the
 * callee, a timeout or a broken connection give -1 with err. */
int rpc_call(rpc_client *c, const char *method, xmlrpc_value *params, xmlrpc_value **result,
             dkv_err *err);

/* Convenience: builds params from an xmlrpc_build_value format such as
 * "(I6)", calls, and returns the result (caller decrefs) or NULL with err. */
xmlrpc_value *rpc_callf(rpc_client *c, dkv_err *err, const char *method, const char *format,
                        ...);

/* Deepest element nesting accepted in an XML-RPC body. Our deepest message,
 * a dump reply (methodResponse, params, param, value, struct, member,
 * value, array, data, value, array, data, value, base64), nests 14 levels;
 * xmlrpc-c builds and frees its element tree recursively, so depth must be
 * bounded before it parses anything. */
#define RPC_MAX_DEPTH 32

/* Most elements a call body may hold. Our calls hold a few dozen; the
 * largest, connect_all, 9 per server listed. xmlrpc-c spends some
 * 200 bytes of memory per element, so this bounds what one call costs. */
#define RPC_MAX_CALL_ELEMENTS 100000

/* Whether xmlrpc-c can be trusted with this body (see rpc.c for what is
 * refused and why), which holds at most max_elements elements (SIZE_MAX:
 * no bound): 0, or -1 with err saying what was found. Linear in len, no
 * recursion, no allocation. */
int rpc_body_check(const char *xml, size_t len, size_t max_elements, dkv_err *err);
bool rpc_body_is_safe(const char *xml, size_t len);

/* How a result is read into the flat list of values a caller decodes
 * (rpc_call_flat). An array of scalars is read by rpcflat when it can;
 * every other shape, and any body outside rpcflat's subset, by xmlrpc-c. */
typedef enum rpc_shape_kind {
    RPC_SHAPE_LIST,   /* an array of scalars: its items in order */
    RPC_SHAPE_STRUCT, /* a struct: the values of members[0..n_members), then,
                       * when group is set, the items of each array of
                       * group_width scalars in member group, in order */
    RPC_SHAPE_VALUE,  /* one scalar: that value */
    RPC_SHAPE_ANY,    /* any value, read as no values: success is the answer */
} rpc_shape_kind;

typedef struct rpc_shape {
    rpc_shape_kind kind;
    const char *const *members;
    size_t n_members;
    const char *group;
    size_t group_width;
} rpc_shape;

/* Calls method with scalar arguments. On success *reply holds the result
 * read by shape (NULL: RPC_SHAPE_LIST); it belongs to c and stays valid
 * until the next call on c. A fault, a timeout, a broken connection or a
 * result of another shape give -1 with err. */
int rpc_call_flat(rpc_client *c, const char *method, const rpcflat_val *args, size_t n,
                  const rpc_shape *shape, const rpcflat_msg **reply, dkv_err *err);

/* n zeroed bytes that live as long as the latest reply: until the next
 * call on c or the next rpc_client_scratch. For what a caller decodes out
 * of a reply (lists of entries). */
void *rpc_client_scratch(rpc_client *c, size_t n);

/* Why a method failed: a fault code (RPCFLAT_FAULT_*) and the message. */
typedef struct rpc_fault {
    int code;
    dkv_err err;
} rpc_fault;

/* A method: its arguments, scalars decoded by rpcflat or, for any other
 * encoding, by xmlrpc-c, are in args. On success it appends the whole
 * response body to out (rpcflat_encode_response, or the piecewise
 * writer) and returns 0; otherwise -1 with fault (what it wrote is
 * dropped). info is the table entry's. */
typedef int (*rpc_method_fn)(const void *info, void *call_info, const rpcflat_msg *args,
                             buf *out, rpc_fault *fault);
typedef struct rpc_method {
    const char *name;
    rpc_method_fn fn;
    const void *info;
} rpc_method;

/* The methods a daemon serves (the table is copied). Any XML-RPC encoding
 * of a call gets the same answer: rpcflat reads the usual one, xmlrpc-c
 * the others, and the reply is always written by rpcflat. An unknown
 * method or a body that is not XML-RPC gets xmlrpc-c's fault. */
typedef struct rpc_server rpc_server;
rpc_server *rpc_server_new(const rpc_method *methods, size_t n);
void rpc_server_free(rpc_server *s);

/* Runs the call in a WIRE_CALL frame and appends the WIRE_REPLY frame (a
 * result or a fault) to out. */
void rpc_serve_frame(rpc_server *s, const wire_frame *frame, void *call_info, buf *out);

/* Serves XML-RPC on listen_fd through loop l: every accepted connection
 * carries calls whose methods get call_info. For daemons that only answer
 * RPCs (client, watchdog). Free with rpc_listener_free after loop_free;
 * the server must outlive the loop. */
struct loop;
typedef struct rpc_listener rpc_listener;
rpc_listener *rpc_listen(struct loop *l, int listen_fd, rpc_server *server, void *call_info);
void rpc_listener_free(rpc_listener *ls);

#endif
