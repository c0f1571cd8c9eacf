/* prose: the checker's explanations. Each prose_* function is one kind of
 * violation: it writes the paragraph that explains it from the checker's
 * state (the operation at fault, the operations it involves, why no valid
 * run could do that), records the violation in the checker and, when the
 * checker has a message stream, prints the paragraph there. checker.c
 * decides whether something is a violation, and of which kind; this module
 * only says so in words. Internal to check/. */
#ifndef DKV_CHECK_PROSE_H
#define DKV_CHECK_PROSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"

/* The text of an operation as violations quote it: printable, long values
 * cut. Caller frees. */
char *prose_op_text(const histline_bytes *t);

/* ---- values that no put wrote (CHECKER_PHANTOM) ----
 * shown says how op showed k = value at v on server_id ("returned",
 * "shows", "reported holding"); value is NULL when op showed no value. */

/* The put given v (w) wrote another value. */
void prose_phantom_mismatch(checker *c, size_t op, uint32_t k, dkv_version v,
                            const histline_bytes *value, uint64_t server_id, const char *shown,
                            const write_info *w);
/* No put was given v; failed_puts: some put of k failed (and none of them
 * matches). */
void prose_phantom_unwritten(checker *c, size_t op, uint32_t k, dkv_version v,
                             const histline_bytes *value, uint64_t server_id, const char *shown,
                             bool failed_puts);

/* ---- what a server certainly holds ---- */

/* op showed v (none: nothing) of k on s, below h, which s certainly holds;
 * kind: CHECKER_OLDER_THAN_HELD or what held-knowledge makes of it. */
void prose_older_than_held(checker *c, checker_kind kind, size_t op, const server *s, uint32_t k,
                           dkv_version v, const char *shown, const held *h);
/* A printStore (op) of s lacks k, for which s certainly holds h. */
void prose_store_missing_key(checker *c, checker_kind kind, size_t op, const server *s,
                             uint32_t k, const held *h);
/* A stable group's member s showed v of k, where sn is what the group
 * showed first. */
void prose_diverged(checker *c, size_t op, const server *s, uint32_t k, dkv_version v,
                    const snap *sn);

/* ---- sessions ---- */

/* The client's reported dep_before / dep_after of k disagree with the
 * checker's d (NULL: none known) and expect_after; unsure: the checker
 * knows only lower bounds. */
void prose_dep_mismatch(checker *c, size_t op, const histline_record *r, uint32_t k, const dep *d,
                        dkv_version expect_after, bool bad_before, bool bad_after, bool unsure);

/* ---- put ---- */

void prose_put_origin(checker *c, size_t op, uint64_t server_id, dkv_version v);
void prose_put_not_above_dep(checker *c, size_t op, uint64_t client_id, uint32_t k, dkv_version v,
                             const dep *d);
void prose_duplicate_version(checker *c, size_t op, uint32_t k, dkv_version v,
                             const write_info *w);
void prose_put_not_above_held(checker *c, size_t op, const server *s, uint32_t k, dkv_version v,
                              const held *h);

/* ---- get ---- */

/* A value (read-your-writes or monotonic reads, by d->by_put) older than
 * the client's dependency d. */
void prose_stale_read(checker *c, size_t op, const server *s, uint32_t k, dkv_version v,
                      const histline_bytes *value, const dep *d);
void prose_err_key_with_dep(checker *c, size_t op, uint64_t client_id, uint32_t k, const dep *d);
/* ERR_KEY while the server reported holding v. */
void prose_err_key_with_version(checker *c, size_t op, const server *s, uint32_t k,
                                dkv_version v);
void prose_err_key_held(checker *c, checker_kind kind, size_t op, const server *s, uint32_t k,
                        const held *h);
void prose_err_dep_without_dep(checker *c, size_t op, uint64_t client_id, uint32_t k);
/* ERR_DEP while the server's own version v is not older than d. */
void prose_err_dep_not_older(checker *c, size_t op, const server *s, uint32_t k, dkv_version v,
                             uint64_t client_id, const dep *d);
void prose_err_dep_held(checker *c, checker_kind kind, size_t op, const server *s, uint32_t k,
                        const held *h, uint64_t client_id, const dep *d);

/* ---- printStore ---- */

/* Key a was listed right before key b and is not below it. */
void prose_store_order(checker *c, size_t op, const histline_bytes *a, const histline_bytes *b);

#endif
