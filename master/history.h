/* history: the record of a run, one JSON object per executed command, as
 * JSON lines (master --history FILE). bin/check reads it back.
 *
 * Fields (absent when they do not apply):
 *   line, text, cmd         script line number, the line, the command name
 *   start_us, end_us        monotonic microseconds
 *   ok, error               outcome; error holds the message of a failure
 *   client, server, a, b    ids involved (a, b: the two ids of a link command)
 *   key, value              bytes: a JSON string when valid UTF-8, else
 *                           {"hex": "..."}
 *   version                 put: the version assigned; get: the server's
 *                           version ([lamport, origin], null when none)
 *   dep_before, dep_after   the client's dependency on key around a put/get
 *   result                  get: "ok", "ERR_KEY" or "ERR_DEP"
 *   groups                  stabilize: connected groups of live servers
 *   store                   printStore: [[key, value, version], ...]
 *
 * The last record has cmd "end" (with "exit", the master's exit status, and
 * "interrupted"); a history without it was cut short.
 */
#ifndef DKV_HISTORY_H
#define DKV_HISTORY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../common/version.h"

typedef struct history history;

/* Creates (truncates) path. NULL with err on failure; caller frees with
 * history_close. */
history *history_open(const char *path, dkv_err *err);
void history_close(history *h);
/* Appends rec as one line and flushes, so a crash leaves whole lines. */
int history_write(history *h, json_t *rec, dkv_err *err);

/* New references for record fields. */
json_t *history_bytes(const uint8_t *p, size_t n);
json_t *history_version(dkv_version v);

#endif
