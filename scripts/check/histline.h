/* histline: parsing and validating one line of a master history
 * (master/history.h) into a record, and reading a history file line by
 * line. The input is external: every field is type-checked, and a record
 * that lacks what its command needs is refused with a message, so the
 * checker never works from a guess. */
#ifndef DKV_CHECK_HISTLINE_H
#define DKV_CHECK_HISTLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../common/err.h"
#include "../../common/version.h"

typedef enum histline_cmd {
    HISTLINE_OTHER, /* a command word the checker does not know (see histline_record.cmd) */
    HISTLINE_JOIN_SERVER,
    HISTLINE_KILL_SERVER,
    HISTLINE_JOIN_CLIENT,
    HISTLINE_BREAK,
    HISTLINE_CREATE,
    HISTLINE_STABILIZE,
    HISTLINE_PRINT_STORE,
    HISTLINE_PUT,
    HISTLINE_GET,
    HISTLINE_SHOW, /* showServer: looks, changes nothing */
    HISTLINE_END, /* the master's last record: the history is complete */
    /* Faults: they change no data. pause, resume: server; the link ones:
     * a, b. */
    HISTLINE_PAUSE,
    HISTLINE_RESUME,
    HISTLINE_LINK_FAULT, /* delayLink, blockLink, unblockLink, flakyLink */
    HISTLINE_SLEEP,
    /* What happened outside the script (master/history.h): */
    HISTLINE_DIED, /* a server or client died: server or client */
    HISTLINE_LOST, /* a machine was lost: lost_servers, lost_clients died with it */
    HISTLINE_BACK, /* a lost machine answered again (its ids stay dead until joined) */
} histline_cmd;

typedef enum histline_result { HISTLINE_RES_NONE, HISTLINE_RES_OK, HISTLINE_RES_ERR_KEY, HISTLINE_RES_ERR_DEP } histline_result;

/* Bytes decoded from a JSON string or {"hex": "..."}; p is malloc'ed and
 * NUL-terminated (p[n] == 0) for convenience, but may hold NULs. */
typedef struct histline_bytes {
    uint8_t *p;
    size_t n;
} histline_bytes;

typedef struct histline_entry {
    histline_bytes key, value;
    dkv_version version; /* never none */
} histline_entry;

typedef struct histline_group {
    uint64_t *ids;
    size_t n;
} histline_group;

/* A field that may be absent: has_* tells. A version field that is present
 * may be null: dkv_version_is_none then holds. */
/* The largest start_us/end_us accepted (2^62 microseconds). */
#define HISTLINE_MAX_US ((int64_t)1 << 62)

typedef struct histline_record {
    long line;
    histline_bytes text, cmd_word, error;
    histline_cmd cmd;
    bool ok;
    bool has_client, has_server, has_a, has_b;
    uint64_t client, server, a, b;
    bool has_key, has_value;
    histline_bytes key, value;
    bool has_version, has_dep_before, has_dep_after;
    dkv_version version, dep_before, dep_after;
    histline_result result;
    bool has_groups;
    histline_group *groups;
    size_t n_groups;
    bool has_store;
    histline_entry *store;
    size_t n_store;
    bool has_lost;
    uint64_t *lost_servers, *lost_clients;
    size_t n_lost_servers, n_lost_clients;
    /* start_us and end_us (monotonic microseconds), when both are there:
     * the checker ignores them; bin/report draws with them. */
    bool has_times;
    int64_t start_us, end_us;
} histline_record;

/* Whether rec tells of something outside the script (died, lost): such a
 * record may share its line number with the command before or after it. */
bool histline_is_event(const histline_record *rec);

/* Parses buf[0..len) (one line, without its newline) into *rec, which the
 * caller frees with histline_record_clear, on success only. Returns 0, or -1
 * with err naming the problem (not JSON, a missing or mistyped field). */
int histline_parse(const char *buf, size_t len, histline_record *rec, dkv_err *err);
/* Frees what rec owns and zeroes it. Safe on a zeroed record. */
void histline_record_clear(histline_record *rec);

/* Reads a history stream line by line (getline; one line in memory at a
 * time). */
typedef struct histline_reader histline_reader;
/* Caller frees with histline_reader_free; f stays the caller's. */
histline_reader *histline_reader_new(FILE *f);
void histline_reader_free(histline_reader *r);
/* The next record: 1 and *rec filled (caller clears), 0 at end of file,
 * -1 with err ("line N of the file: ...") on a read error or a bad line. */
int histline_reader_next(histline_reader *r, histline_record *rec, dkv_err *err);
/* How many lines of the file were read so far. */
size_t histline_reader_lines(const histline_reader *r);

#endif
