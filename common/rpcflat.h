/* rpcflat: the daemons' XML-RPC codec. It writes every call and reply
 * (calls and the usual results are flat lists of scalars: integers, base64
 * bytes, strings, booleans; other replies are written piecewise), and
 * reads flat calls and results: the put/get path, where xmlrpc-c's generic
 * parser and value tree cost more than everything else a put does.
 *
 * What it writes is plain XML-RPC that xmlrpc-c (or any other library)
 * reads. What it reads is a strict subset of XML-RPC: the tags with no
 * attributes, comments, CDATA or numeric character references, ASCII text.
 * Any body outside that subset parses as "not flat" (-1), and the caller
 * hands it to xmlrpc-c, which either reads it or rejects it. So the subset
 * never changes what a request means; it only decides who decodes it.
 * A result it reads is an array of scalars. */
#ifndef DKV_RPCFLAT_H
#define DKV_RPCFLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef enum rpcflat_type {
    RPCFLAT_INT,    /* <i8>, <i4> or <int>; written as <i8> */
    RPCFLAT_BYTES,  /* <base64> */
    RPCFLAT_STRING, /* <string> or an untyped <value>; ASCII text */
    RPCFLAT_BOOL,   /* <boolean> */
} rpcflat_type;

/* One scalar. p/n hold bytes or a string (a parsed string is also
 * NUL-terminated); i holds an integer or a boolean (0 or 1). */
typedef struct rpcflat_val {
    rpcflat_type type;
    int64_t i;
    const uint8_t *p;
    size_t n;
} rpcflat_val;

/* Most scalars a call may hold to be read as flat (a larger one goes to
 * xmlrpc-c, whose element bound refuses it): the largest call of the
 * contract, connect_all of PROTO_MAX_PEERS peers, holds 3 per peer. A
 * response holds as many as its body does. */
#define RPCFLAT_MAX_CALL_VALS 32768
/* Longest method name accepted. */
#define RPCFLAT_MAX_METHOD 64

static inline rpcflat_val rpcflat_int(int64_t i)
{
    return (rpcflat_val){.type = RPCFLAT_INT, .i = i};
}
static inline rpcflat_val rpcflat_bool(bool b)
{
    return (rpcflat_val){.type = RPCFLAT_BOOL, .i = b ? 1 : 0};
}
static inline rpcflat_val rpcflat_bytes(const void *p, size_t n)
{
    return (rpcflat_val){.type = RPCFLAT_BYTES, .p = p, .n = n};
}
rpcflat_val rpcflat_string(const char *s);

/* A decoded call or result. Values point into the message and stay valid
 * until the next parse, reset or free. Reused across calls, it allocates
 * only when a message is larger than any before. It grows as needed: its
 * size is bounded by the body it was parsed from. */
typedef struct rpcflat_msg rpcflat_msg;

rpcflat_msg *rpcflat_msg_new(void);
void rpcflat_msg_free(rpcflat_msg *m);

/* What parse and add return when the message cannot grow (out of memory):
 * the caller refuses the message rather than trying another decoder. */
#define RPCFLAT_NO_MEMORY (-2)

/* 0 when xml is a flat methodCall (method name and scalar params), -1 when
 * it is anything else (the message is then empty), RPCFLAT_NO_MEMORY. */
int rpcflat_parse_call(rpcflat_msg *m, const char *xml, size_t len);
/* 0 when xml is a methodResponse holding one array of scalars, -1 when it
 * is anything else: a fault, another shape, not XML-RPC; RPCFLAT_NO_MEMORY. */
int rpcflat_parse_response(rpcflat_msg *m, const char *xml, size_t len);

/* Builds a message by hand (used when xmlrpc-c decoded the body): empties
 * it, then copies each added value in. add returns 0, or RPCFLAT_NO_MEMORY
 * when out of memory. */
void rpcflat_msg_reset(rpcflat_msg *m);
int rpcflat_msg_add(rpcflat_msg *m, rpcflat_val v);

const char *rpcflat_method(const rpcflat_msg *m); /* "" for a response */
size_t rpcflat_count(const rpcflat_msg *m);
/* The i-th value, i < rpcflat_count(m). */
const rpcflat_val *rpcflat_at(const rpcflat_msg *m, size_t i);

/* Append the XML body (no frame prefix) to out. Strings are written as
 * text: control bytes other than tab and newline, and bytes >= 0x80,
 * become '?', since XML-RPC text cannot carry them reliably. */
void rpcflat_encode_call(buf *out, const char *method, const rpcflat_val *vals, size_t n);
void rpcflat_encode_response(buf *out, const rpcflat_val *vals, size_t n);
void rpcflat_encode_fault(buf *out, int code, const char *message);

/* A response of any shape, written piece by piece: response_begin, then
 * exactly one value, then response_end. A value is a scalar
 * (rpcflat_encode_value), or an array (array_begin, values, array_end), or
 * a struct (struct_begin, members, struct_end), where a member is
 * member_begin with its name (letters, digits and '_'), one value,
 * member_end. rpcflat_encode_response is the array-of-scalars case; only
 * that case parses back as flat, any other goes through xmlrpc-c. */
void rpcflat_encode_response_begin(buf *out);
void rpcflat_encode_response_end(buf *out);
void rpcflat_encode_value(buf *out, const rpcflat_val *v);
void rpcflat_encode_array_begin(buf *out);
void rpcflat_encode_array_end(buf *out);
void rpcflat_encode_struct_begin(buf *out);
void rpcflat_encode_struct_end(buf *out);
void rpcflat_encode_member_begin(buf *out, const char *name);
void rpcflat_encode_member_end(buf *out);

/* Fault codes of every daemon: a request that fails validation, and a
 * valid request that cannot be carried out. */
#define RPCFLAT_FAULT_BAD_REQUEST 400
#define RPCFLAT_FAULT_FAILED 500

#endif
