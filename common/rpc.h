/* rpc: XML-RPC (xmlrpc-c's encoding, registry and value API) carried in wire
 * frames over one persistent TCP connection per caller/callee pair. HTTP is
 * replaced by the 9-byte wire prefix: it halves the cost of a call. */
#ifndef DKV_RPC_H
#define DKV_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xmlrpc-c/base.h>
#include <xmlrpc-c/server.h>

#include "buf.h"
#include "err.h"
#include "limits.h"
#include "rpcflat.h"
#include "wire.h"

/* Once per process, before any call: raises xmlrpc-c's XML size limit so
 * that multi-MiB values pass. */
void rpc_global_init(void);

typedef struct rpc_client rpc_client;

/* Caller frees with rpc_client_free. Connects lazily on the first call. */
rpc_client *rpc_client_new(const char *host, uint16_t port, int timeout_ms);
void rpc_client_free(rpc_client *c);

/* Calls method with params (an array; not consumed). On success *result is
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
 * largest, connect_all, about 10 per server listed. xmlrpc-c spends some
 * 200 bytes of memory per element, so this bounds what one call costs. */
#define RPC_MAX_CALL_ELEMENTS 100000

/* Whether xmlrpc-c can be trusted with this body (see rpc.c for what is
 * refused and why), which holds at most max_elements elements (SIZE_MAX:
 * no bound): 0, or -1 with err saying what was found. Linear in len, no
 * recursion, no allocation. */
int rpc_body_check(const char *xml, size_t len, size_t max_elements, dkv_err *err);
bool rpc_body_is_safe(const char *xml, size_t len);

/* Calls a method served as flat (see rpcflat.h and rpc_flat_method): the
 * arguments are scalars, and so is every item of the result array, which
 * lands in reply (valid until reply is reused). The body is encoded and,
 * when it has the usual shape, decoded without xmlrpc-c. A fault, a
 * timeout or a broken connection give -1 with err. */
int rpc_call_flat(rpc_client *c, const char *method, const rpcflat_val *args, size_t n,
                  rpcflat_msg *reply, dkv_err *err);

/* A method served through xmlrpc-c's registry. */
typedef struct rpc_method {
    const char *name;
    xmlrpc_method2 fn;
} rpc_method;

/* A method on the fast path: scalar arguments in, scalar results out. */
typedef struct rpc_flat_reply {
    rpcflat_val vals[16];
    size_t n;
    int fault_code; /* with -1 from the method; 0 means RPCARGS_FAILED */
    void *owned;    /* freed (free) once the reply is encoded */
} rpc_flat_reply;
typedef int (*rpc_flat_fn)(void *call_info, const rpcflat_msg *args, rpc_flat_reply *reply,
                           dkv_err *err);
typedef struct rpc_flat_method {
    const char *name;
    rpc_flat_fn fn;
    /* The argument types, one letter each as for rpc_flat_args ("bbii"),
     * or NULL to leave all checks to fn. Checked before fn runs and, on
     * the xmlrpc-c path, before any argument is converted, so a call with
     * the wrong number of arguments is told that first ("put takes 4
     * arguments, got 17"). */
    const char *types;
} rpc_flat_method;

/* Checks a flat method's arguments against types, one letter each: i an
 * integer, b bytes, s a string, t a boolean. On a mismatch returns -1 with
 * err and reply->fault_code set to RPCARGS_BAD_REQUEST. */
int rpc_flat_args(const rpcflat_msg *args, const char *types, rpc_flat_reply *reply,
                  dkv_err *err);
/* Checks that integer argument i lies in [min, max] and that bytes or
 * string argument i is at most max long (min unused), as rpc_flat_args. */
int rpc_flat_range(const rpcflat_msg *args, size_t i, int64_t min, int64_t max,
                   rpc_flat_reply *reply, dkv_err *err);

/* The methods a daemon serves. Flat methods answer both bodies rpcflat
 * decodes and any other XML-RPC encoding of the same call (through
 * xmlrpc-c), with the same result. The tables must outlive the server. */
typedef struct rpc_server rpc_server;
rpc_server *rpc_server_new(const rpc_method *methods, size_t n, const rpc_flat_method *flat,
                           size_t n_flat);
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
