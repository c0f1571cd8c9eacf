/* err: one error convention for the whole project.
 * Functions that can fail return 0 on success or -1 on failure and fill a
 * caller-provided dkv_err with a message the caller can print. */
#ifndef DKV_ERR_H
#define DKV_ERR_H

#include <stddef.h>

#define DKV_ERR_MAX 512

typedef struct dkv_err {
    char msg[DKV_ERR_MAX];
} dkv_err;

/* Sets err->msg (printf-style) when err is not NULL; always returns -1 so
 * callers can write `return dkv_err_set(err, ...)`. */
int dkv_err_set(dkv_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes an existing message with more context. Returns -1. */
int dkv_err_wrap(dkv_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
