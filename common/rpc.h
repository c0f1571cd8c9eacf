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

/* Whether xmlrpc-c can be trusted with this body: 8-bit XML whose i8
 * elements all hold valid 64-bit decimals (xmlrpc-c 1.33 crashes on others). */
bool rpc_body_is_safe(const char *xml, size_t len);

/* Server side: runs the call in a WIRE_CALL frame through registry and
 * appends the WIRE_REPLY frame (a result or a fault) to out. */
void rpc_serve_frame(xmlrpc_registry *registry, const wire_frame *frame, void *call_info,
                     buf *out);

/* Serves XML-RPC on listen_fd through loop l: every accepted connection
 * carries calls whose methods get call_info. For daemons that only answer
 * RPCs (client, watchdog). Free with rpc_listener_free after loop_free;
 * the registry must outlive the loop. */
struct loop;
typedef struct rpc_listener rpc_listener;
rpc_listener *rpc_listen(struct loop *l, int listen_fd, xmlrpc_registry *registry,
                         void *call_info);
void rpc_listener_free(rpc_listener *ls);

/* Registers methods; aborts on failure (a programming error). */
typedef struct rpc_method {
    const char *name;
    xmlrpc_method2 fn;
} rpc_method;
xmlrpc_registry *rpc_registry_new(const rpc_method *methods, size_t n);

#endif
