/* rpcargs: validation of XML-RPC arguments at the boundary of every daemon.
 * Each helper sets a fault in env (so the caller gets an error reply and
 * nothing changes) and returns -1 on a bad argument. */
#ifndef DKV_RPCARGS_H
#define DKV_RPCARGS_H

#include <stddef.h>
#include <stdint.h>
#include <xmlrpc-c/base.h>

/* Fault code used for requests that fail validation. */
#define RPCARGS_BAD_REQUEST 400
/* Fault code for valid requests that cannot be carried out. */
#define RPCARGS_FAILED 500

/* Checks that params is an array of exactly n items. */
int rpcargs_count(xmlrpc_env *env, xmlrpc_value *params, int n);
/* Reads item i as an id in [0, DKV_ID_MAX] (i8 or i4). */
int rpcargs_id(xmlrpc_env *env, xmlrpc_value *params, int i, uint64_t *out);
/* Reads item i as an integer in [min, max]. */
int rpcargs_int(xmlrpc_env *env, xmlrpc_value *params, int i, int64_t min, int64_t max,
                int64_t *out);
/* Reads item i as base64 bytes, at most max_len long. *out is malloc'ed
 * (caller frees with free). */
int rpcargs_bytes(xmlrpc_env *env, xmlrpc_value *params, int i, size_t max_len,
                  unsigned char **out, size_t *len);
/* Reads item i as a string of at most max_len bytes with no control bytes.
 * *out is malloc'ed (caller frees with free). */
int rpcargs_string(xmlrpc_env *env, xmlrpc_value *params, int i, size_t max_len, char **out);

/* Reads a member of a result struct as an integer; -1 when absent/wrong. */
int rpcargs_struct_int(xmlrpc_env *env, xmlrpc_value *s, const char *name, int64_t *out);

#endif
