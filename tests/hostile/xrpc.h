/* xrpc: the little XML-RPC the attack tool needs, written apart from the
 * product's codec so that a defect there cannot hide one here: building a
 * methodCall from typed command-line arguments, and reading the scalar
 * leaves of a methodResponse in document order. Not a general parser: it
 * trusts the daemons' replies to be XML-RPC and only needs their values. */
#ifndef DKV_XRPC_H
#define DKV_XRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../common/buf.h"
#include "../../common/err.h"

/* Appends a methodCall of method with one param per spec to out.
 * A spec is TYPE:TEXT with TYPE one of
 *   i   an i8 (decimal, may be negative)
 *   b   bytes (base64): TEXT with C escapes \n \t \r \0 \\ \xNN
 *   bn  bytes: TEXT is a count N, the value is N bytes of 'v'
 *   s   a string (XML-escaped)
 *   t   a boolean, 0 or 1 */
int xrpc_build_call(buf *out, const char *method, char *const specs[], size_t n, dkv_err *err);

/* Decodes C escapes of text into out (see b: above). */
int xrpc_unescape(const char *text, buf *out, dkv_err *err);

void xrpc_base64_encode(buf *out, const uint8_t *p, size_t n);
/* Skips whitespace; -1 on any other non-base64 byte. */
int xrpc_base64_decode(buf *out, const char *p, size_t n);

/* A reply read as its scalars: each leaf value as printable text (bytes
 * outside 0x21..0x7e and backslash as \xNN), separated by single spaces. */
typedef struct xrpc_reply {
    bool fault;
    buf text; /* NUL-terminated */
} xrpc_reply;

void xrpc_reply_init(xrpc_reply *r);
void xrpc_reply_free(xrpc_reply *r);
/* -1 with err when xml is not a methodResponse. */
int xrpc_read_reply(xrpc_reply *r, const char *xml, size_t n, dkv_err *err);

#endif
