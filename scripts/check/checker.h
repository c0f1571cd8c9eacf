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

#include "../../common/err.h"
#include "histline.h"

typedef enum checker_kind {
    CHECKER_PUT_NOT_ABOVE_DEP,   /* put version <= the client's dependency */
    CHECKER_PUT_NOT_ABOVE_HELD,  /* put version <= what its server already held */
    CHECKER_PUT_ORIGIN,          /* put version's origin is not its server */
    CHECKER_DUPLICATE_VERSION,   /* two writes of a key share a version */
    CHECKER_PHANTOM,             /* a value or version no put produced */
    CHECKER_READ_YOUR_WRITES,    /* get older than the client's own write */
    CHECKER_MONOTONIC_READS,     /* get older than what the client read before */
    CHECKER_ERR_KEY_WITH_DEP,    /* ERR_KEY although the client has a dependency */
    CHECKER_ERR_DEP_WITHOUT_DEP, /* ERR_DEP although the client has none */
    CHECKER_WRONG_RESULT,        /* result contradicts the server's own version */
    CHECKER_ERR_DEP_HELD,        /* ERR_DEP although the server holds the dependency */
    CHECKER_ERR_KEY_HELD,        /* ERR_KEY although the server holds the key */
    CHECKER_OLDER_THAN_HELD,     /* a version below what the server certainly holds */
    CHECKER_STORE_MISSING_KEY,   /* printStore lacks a key the server holds */
    CHECKER_LOST_WRITE,          /* one of the three above, across a kill and rejoin */
    CHECKER_DIVERGED,            /* servers of one stable group disagree */
    CHECKER_DEP_MISMATCH,        /* dep_before/dep_after disagree with the history */
    CHECKER_STORE_ORDER,         /* printStore not sorted by key, or a key twice */
    CHECKER_KIND_COUNT
} checker_kind;

#define CHECKER_MAX_RELATED 8

/* One violation: the offending operation's script line, the other script
 * lines it involves (the put, the kill, the earlier read, ...) and the
 * paragraph explaining it. */
typedef struct checker_violation {
    checker_kind kind;
    long line;
    long related[CHECKER_MAX_RELATED];
    size_t n_related;
    const char *text;
} checker_violation;

typedef struct checker checker;

/* A fresh checker. Each violation's paragraph is written to msgs (followed
 * by a blank line) as it is found, when msgs is not NULL. Caller frees
 * with checker_free. */
checker *checker_new(FILE *msgs);
void checker_free(checker *c);

/* Checks one record. Returns the number of violations it revealed (>= 0),
 * or -1 with err when the checker cannot go on deciding (records out of
 * order: not a single history). */
int checker_feed(checker *c, const histline_record *rec, dkv_err *err);

/* Operations fed so far, violations found so far, and records of commands
 * the checker does not know that succeeded (treated as changing anything). */
size_t checker_ops(const checker *c);
size_t checker_violation_count(const checker *c);
size_t checker_unknown_commands(const checker *c);
/* The i-th violation (0-based, in order found), valid until destroy. */
const checker_violation *checker_violation_at(const checker *c, size_t i);

/* A short stable name of kind, e.g. "read-your-writes". */
const char *checker_kind_name(checker_kind kind);

#endif
