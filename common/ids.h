/* ids: strict parsing of server and client ids and other decimal numbers.
 * Ids are decimal integers in [0, DKV_ID_MAX]; the bound keeps them exact in
 * JSON (jansson's json_int_t) and in XML-RPC i8. */
#ifndef DKV_IDS_H
#define DKV_IDS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define DKV_ID_MAX 999999999999ULL /* 10^12 - 1: generous, and printable */

/* Parses all of s as a decimal id. Rejects signs, spaces, empty strings,
 * leading "+", hex, and values above DKV_ID_MAX. */
int ids_parse(const char *s, uint64_t *out, dkv_err *err);

/* Parses all of s as an unsigned decimal no greater than max. */
int ids_parse_u64(const char *s, uint64_t max, uint64_t *out, dkv_err *err);

#endif
