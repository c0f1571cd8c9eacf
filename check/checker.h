/* checker: verifies a run's history (master --history) against the
 * consistency guarantees of SPEC section 4. Records are fed one at a time
 * in file order; the checker derives its own state from them (versions
 * written, each client's dependencies, lower bounds of what each server
 * certainly holds, groups that are stable since a stabilize) and reports
 * every operation that no valid run could have produced.
 *
 * It is sound by construction: only lower bounds of server state are
 * enforced (replication is asynchronous, so a server may hold more than
 * the checker knows), and anything a failed command may or may not have
 * done is treated as unknown rather than guessed. */
#ifndef DKV_CHECK_CHECKER_H
#define DKV_CHECK_CHECKER_H

#include <stddef.h>
#include <stdio.h>

#include "../common/err.h"
#include "history_read.h"

typedef enum chk_kind {
    CHK_PUT_NOT_ABOVE_DEP,   /* put version <= the client's dependency */
    CHK_PUT_NOT_ABOVE_HELD,  /* put version <= what its server already held */
    CHK_PUT_ORIGIN,          /* put version's origin is not its server */
    CHK_DUPLICATE_VERSION,   /* two writes of a key share a version */
    CHK_PHANTOM,             /* a value or version no put produced */
    CHK_READ_YOUR_WRITES,    /* get older than the client's own write */
    CHK_MONOTONIC_READS,     /* get older than what the client read before */
    CHK_ERR_KEY_WITH_DEP,    /* ERR_KEY although the client has a dependency */
    CHK_ERR_DEP_WITHOUT_DEP, /* ERR_DEP although the client has none */
    CHK_WRONG_RESULT,        /* result contradicts the server's own version */
    CHK_ERR_DEP_HELD,        /* ERR_DEP although the server holds the dependency */
    CHK_ERR_KEY_HELD,        /* ERR_KEY although the server holds the key */
    CHK_OLDER_THAN_HELD,     /* a version below what the server certainly holds */
    CHK_STORE_MISSING_KEY,   /* printStore lacks a key the server holds */
    CHK_LOST_WRITE,          /* one of the three above, across a kill and rejoin */
    CHK_DIVERGED,            /* servers of one stable group disagree */
    CHK_DEP_MISMATCH,        /* dep_before/dep_after disagree with the history */
    CHK_STORE_ORDER,         /* printStore not sorted by key, or a key twice */
    CHK_KIND_COUNT
} chk_kind;

#define CHK_MAX_RELATED 8

/* One violation: the offending operation's script line, the other script
 * lines it involves (the put, the kill, the earlier read, ...) and the
 * paragraph explaining it. */
typedef struct chk_violation {
    chk_kind kind;
    long line;
    long related[CHK_MAX_RELATED];
    size_t n_related;
    const char *text;
} chk_violation;

typedef struct checker checker;

/* A fresh checker. Each violation's paragraph is written to msgs (followed
 * by a blank line) as it is found, when msgs is not NULL. NULL when memory
 * runs out. */
checker *checker_create(FILE *msgs);
void checker_destroy(checker *c);

/* Checks one record. Returns the number of violations it revealed (>= 0),
 * or -1 with err when the checker cannot go on deciding (records out of
 * order: not a single history). */
int checker_feed(checker *c, const hr_record *rec, dkv_err *err);

/* Operations fed so far, violations found so far, and records of commands
 * the checker does not know that succeeded (treated as changing anything). */
size_t checker_ops(const checker *c);
size_t checker_violation_count(const checker *c);
size_t checker_unknown_commands(const checker *c);
/* The i-th violation (0-based, in order found), valid until destroy. */
const chk_violation *checker_violation(const checker *c, size_t i);

/* A short stable name of kind, e.g. "read-your-writes". */
const char *chk_kind_name(chk_kind kind);

#endif
