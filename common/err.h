/* err: the one error convention of the project.
 *
 * - A function that can fail returns 0 on success and -1 on failure, and
 *   fills a caller-provided dkv_err with a message the caller can print
 *   (err may be NULL when the caller does not want it). A function that
 *   returns a pointer (a constructor, x_new) returns NULL on failure, with
 *   err filled the same way. A function that cannot fail returns void or
 *   its value; out of memory is not a failure but an abort (xalloc.h).
 * - Messages name what failed and why, without a trailing newline or a
 *   program prefix; a caller adds context with dkv_err_wrap.
 * - No failure is dropped: each one is returned to the caller or, where
 *   nobody above can act on it (a cleanup path, a daemon's loop), logged
 *   on stderr.
 * - xmlrpc-c's xmlrpc_env faults exist only at the RPC boundary, inside
 *   common/rpc.c: they are converted to and from dkv_err there, so the
 *   contract (proto.c) and every method see dkv_err only. The outcome a method reports to
 *   its caller travels inside its typed reply, not as a loose code beside
 *   it. */
#ifndef DKV_ERR_H
#define DKV_ERR_H

#include <stddef.h>

#define DKV_ERR_MAX 512

typedef struct dkv_err {
    char msg[DKV_ERR_MAX];
} dkv_err;

/* Sets err->msg (printf-style) when err is not NULL; always returns -1 so
 * callers can write `return dkv_err_set(err, ...)`. A message too long for
 * DKV_ERR_MAX is cut and ends in "...". */
int dkv_err_set(dkv_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes an existing message with more context. Returns -1. */
int dkv_err_wrap(dkv_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* For text that snprintf wrote into buf[cap] and that may be cut
 * deliberately (a message, a log line): when written (snprintf's return)
 * says it did not fit, ends buf with "..." so a reader sees that text is
 * missing. */
void dkv_err_mark_cut(char *buf, size_t cap, int written);

#endif
