/* trace: the line `server --trace` logs for each frame sent or received on
 * a peer link (the grammar is in README, "Logs and --trace"):
 *
 *   server 3: trace sent upd to 42: 3 writes 3:17-18,5:2
 *   server 3: trace received ack from 42: vc 3:18,5:2,42:7
 *   server 3: trace sent hello to 42: inc 2 vc 3:18
 *   server 3: trace received lsa from 42: lsa 7 inc 1 seq 5 nb 3,42
 *   server 3: trace sent ping to 42
 *
 * Versions are origin:seq (consecutive seqs of one origin as a range);
 * long clocks and lists are cut short with "...". */
#ifndef DKV_TRACE_H
#define DKV_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/wire.h"

/* Writes f's line to out; peer 0 means not known yet (an accepted
 * connection before its hello, whose own id is then used). */
void trace_frame(FILE *out, uint64_t self, bool sent, uint64_t peer, const wire_frame *f);

#endif
