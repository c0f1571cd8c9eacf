/* histscan: reads a master history (JSON lines, see README "Checking a
 * run") for the store tests. It prints, one line each:
 *   failed LINE TEXT: ERROR          a command that failed
 *   store LINE SERVER KEY VALUE L O  each entry of each printStore
 *   conflict ...                     two printStore lines of one key that
 *                                    show different values with one version
 *   end EXIT                         the closing record, when present
 * Keys and values print with bytes outside 0x21..0x7e as \xNN. */
#ifndef DKV_HISTSCAN_H
#define DKV_HISTSCAN_H

#include <stdio.h>

/* 0 when there is no conflict, 1 when there is, 2 when path is unreadable
 * or not a history. */
int histscan_run(const char *path, FILE *out);

#endif
