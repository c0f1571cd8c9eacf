/* stamp: a stream that writes to a descriptor with a timestamp in front of
 * every line, for daemons whose stderr is their log (the watchdog points a
 * server's or client's stderr at RUN_DIR/NAME.log):
 *
 *   2026-12-02T05:40:01.123456Z 8123456789 server 3: ...
 *
 * wall-clock time (UTC), then the monotonic clock in microseconds, the
 * clock of the history's start_us and end_us, so log lines can be placed
 * among a run's commands. Line-buffered: a line leaves when it ends. */
#ifndef DKV_STAMP_H
#define DKV_STAMP_H

#include <stdio.h>

/* A stream over fd (which stays open when the stream is closed); NULL
 * with errno on failure. */
FILE *stamp_open(int fd);

/* Writes the prefix for a line begun now into out (at least
 * STAMP_PREFIX_MAX bytes); returns its length. */
#define STAMP_PREFIX_MAX 64
size_t stamp_prefix(char *out);

#endif
