/* dump: what bin/dump prints of a server's store, offline, from the
 * records (record.h) of its storage backend (kv.h):
 *
 *   == store ==             key:value per line, sorted bytewise by key, as
 *   a:1                     printStore prints them
 *   == write log ==         origin:seq (lamport,origin) key value, in
 *   3:1 (1,3) a 1           (origin, seq) order; a value over
 *                           DUMP_VALUE_SHOWN bytes is cut, "... (N bytes)"
 *   == clocks ==
 *   incarnation 2
 *   lamport 3
 *   vclock 3:1,42:2         as digests write it; "-" when empty
 *
 * Headers appear only when more than one section is asked for (a line
 * with a blank is never a key:value line: keys and values hold none).
 * Damage does not stop it: every record that does not decode (the record
 * decoders check every length), every data record whose value is not in
 * the log, and every gap between the write log and the clock is reported
 * on the damage stream, one line each naming the record, and counted. */
#ifndef DKV_DUMP_H
#define DKV_DUMP_H

#include <stddef.h>
#include <stdio.h>

#include "../common/err.h"
#include "kv.h"

enum { DUMP_STORE = 1, DUMP_LOG = 2, DUMP_CLOCKS = 4, DUMP_ALL = 7 };
#define DUMP_VALUE_SHOWN 64

typedef struct dump_counts {
    size_t keys, updates, damaged;
} dump_counts;

/* Prints the sections asked for (DUMP_* bits) of db's records on out,
 * damage on damage_out. -1 with err when the backend cannot be read at
 * all; damage alone is counted, not failed. */
int dump_kv(kv *db, unsigned sections, FILE *out, FILE *damage_out, dump_counts *counts,
            dkv_err *err);

#endif
