/* hex: bytes as lowercase hexadecimal text and back, for the places that
 * show bytes that are not text: the history's {"hex": ...} values, which
 * the master writes and the checker reads, and rpccall's x: arguments. */
#ifndef DKV_HEX_H
#define DKV_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The n bytes at p as 2n lowercase digits, NUL-terminated, malloc'ed. */
char *hex_encode(const uint8_t *p, size_t n);
/* The len digits at text (either case) into len / 2 bytes at out. Returns
 * 0, or -1 with err when len is odd or a pair is not a hex byte. */
int hex_decode(const char *text, size_t len, uint8_t *out, dkv_err *err);

#endif
