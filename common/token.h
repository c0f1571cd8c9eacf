/* token: the bytes a key or a value may hold. The output format prints
 * `key:value` one per line and scripts split tokens on blanks, so a key or
 * value is one non-empty token: any bytes but NUL, space, tab, newline,
 * carriage return, vertical tab and form feed. Every daemon refuses other
 * keys and values, so no direct RPC can forge printStore lines. */
#ifndef DKV_TOKEN_H
#define DKV_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

static inline bool token_byte_ok(uint8_t c)
{
    return c != '\0' && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\v' &&
           c != '\f';
}

/* 0 when p[0..n) is a valid token of at most max bytes; -1 with err naming
 * what (e.g. "key") is wrong otherwise. */
int token_check(const char *what, const uint8_t *p, size_t n, size_t max, dkv_err *err);

#endif
