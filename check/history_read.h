/* history_read: parsing and validating one line of a master history
 * (master/history.h) into a record, and reading a history file line by
 * line. The input is external: every field is type-checked, and a record
 * that lacks what its command needs is refused with a message, so the
 * checker never works from a guess. */
#ifndef DKV_CHECK_HISTORY_READ_H
#define DKV_CHECK_HISTORY_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/err.h"
#include "../common/version.h"

typedef enum hr_cmd {
    HR_OTHER, /* a command word the checker does not know (see hr_record.cmd) */
    HR_JOIN_SERVER,
    HR_KILL_SERVER,
    HR_JOIN_CLIENT,
    HR_BREAK,
    HR_CREATE,
    HR_STABILIZE,
    HR_PRINT_STORE,
    HR_PUT,
    HR_GET,
    HR_END, /* the master's last record: the history is complete */
} hr_cmd;

typedef enum hr_result { HR_RES_NONE, HR_RES_OK, HR_RES_ERR_KEY, HR_RES_ERR_DEP } hr_result;

/* Bytes decoded from a JSON string or {"hex": "..."}; p is malloc'ed and
 * NUL-terminated (p[n] == 0) for convenience, but may hold NULs. */
typedef struct hr_bytes {
    uint8_t *p;
    size_t n;
} hr_bytes;

typedef struct hr_entry {
    hr_bytes key, value;
    dkv_version version; /* never none */
} hr_entry;

typedef struct hr_group {
    uint64_t *ids;
    size_t n;
} hr_group;

/* A field that may be absent: has_* tells. A version field that is present
 * may be null: version_is_none then holds. */
typedef struct hr_record {
    long line;
    hr_bytes text, cmd_word, error;
    hr_cmd cmd;
    bool ok;
    bool has_client, has_server, has_a, has_b;
    uint64_t client, server, a, b;
    bool has_key, has_value;
    hr_bytes key, value;
    bool has_version, has_dep_before, has_dep_after;
    dkv_version version, dep_before, dep_after;
    hr_result result;
    bool has_groups;
    hr_group *groups;
    size_t n_groups;
    bool has_store;
    hr_entry *store;
    size_t n_store;
} hr_record;

/* Parses buf[0..len) (one line, without its newline) into *rec, which the
 * caller frees with hr_record_clear, on success only. Returns 0, or -1
 * with err naming the problem (not JSON, a missing or mistyped field). */
int hr_parse(const char *buf, size_t len, hr_record *rec, dkv_err *err);
/* Frees what rec owns and zeroes it. Safe on a zeroed record. */
void hr_record_clear(hr_record *rec);

/* Reads a history stream line by line (getline; one line in memory at a
 * time). */
typedef struct hr_reader hr_reader;
/* NULL when memory runs out. f stays the caller's. */
hr_reader *hr_reader_create(FILE *f);
void hr_reader_destroy(hr_reader *r);
/* The next record: 1 and *rec filled (caller clears), 0 at end of file,
 * -1 with err ("line N of the file: ...") on a read error or a bad line. */
int hr_reader_next(hr_reader *r, hr_record *rec, dkv_err *err);
/* How many lines of the file were read so far. */
size_t hr_reader_lines(const hr_reader *r);

#endif
