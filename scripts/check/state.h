/* state: what the checker knows, shared by its logic (checker.c) and its
 * prose (prose.c), which explains violations from it. Internal to check/. */
#ifndef DKV_CHECK_STATE_H
#define DKV_CHECK_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../common/hmap.h"
#include "../../common/version.h"
#include "checker.h"
#include "histline.h"

#define NO_OP SIZE_MAX

/* ---- values: compared by length, two hashes and their first bytes ---- */

#define HEAD 32
typedef struct digest {
    size_t len;
    uint64_t h1, h2;
    uint8_t head[HEAD];
} digest;

/* ---- state ---- */

typedef struct op_info {
    long line;
    char *text; /* printable, shortened */
} op_info;

typedef struct failed_put {
    size_t op;
    digest val;
    uint64_t server, client;
    bool used; /* matched to a version already: one put is applied at most once */
} failed_put;

typedef struct key_info {
    uint32_t id;
    histline_bytes bytes;
    failed_put *fp;
    size_t n_fp, cap_fp;
    size_t seen_stamp; /* printStore: op + 1 when the store listed the key */
} key_info;

typedef struct write_info {
    dkv_version v;
    uint32_t key;
    digest val;
    size_t op;
    uint64_t server, client;
    bool from_failed; /* learned from a read matching a put that failed */
    bool before_run;  /* held by a server when it first joined (op): a reused run directory */
} write_info;

typedef enum held_how { H_PUT, H_GET, H_STORE, H_STABILIZE, H_EPOCH, H_START } held_how;

/* A lower bound of the version a server holds for a key, and how the
 * checker knows it. */
typedef struct held {
    dkv_version v;
    held_how how;
    size_t op;    /* the operation that showed it */
    size_t op2;   /* H_EPOCH: the stabilize that made the group stable */
    uint64_t via; /* H_STABILIZE, H_EPOCH: the server it came from */
    size_t inc;   /* the server's incarnation when it was learned */
    bool dirty;   /* listed in the server's dirty keys */
} held;

typedef enum sstate { S_UNKNOWN, S_LIVE, S_DEAD } sstate;

/* The operations that started and ended one incarnation of a server
 * (NO_OP: none known). */
typedef struct incarnation {
    size_t join, kill;
} incarnation;

typedef struct server {
    uint64_t id;
    sstate state;
    size_t inc;        /* incarnations: 1 from the first joinServer on */
    incarnation *life; /* life[i]: incarnation i */
    size_t n_life, cap_life;
    hmap *held; /* key id -> held */
    /* The stabilize group it was last in (0: none) and that group's size,
     * and the keys whose bound rose since (their held.dirty is set). */
    uint64_t sig;
    size_t sig_size;
    uint32_t *dirty;
    size_t n_dirty, cap_dirty;
} server;

typedef struct dep {
    dkv_version v; /* a lower bound of the client's dependency; none: none known */
    size_t op;     /* the operation that set v */
    bool by_put;
    /* A put or get that failed after reaching the client may have raised
     * the real dependency: v is then only a lower bound. */
    bool uncertain;
    size_t uncertain_op;
} dep;

typedef struct client {
    uint64_t id;
    hmap *deps; /* key id -> dep */
} client;

/* The exact version every member of a stable group holds for a key. */
typedef struct snap {
    dkv_version v; /* none: absent */
    size_t op;
    uint64_t server;
} snap;

typedef struct egroup {
    uint64_t *members;
    size_t n;
    hmap *snap; /* key id -> snap */
    bool complete;    /* a printStore listed the whole store */
    size_t complete_op;
    uint64_t complete_server;
} egroup;

struct checker {
    FILE *msgs;
    op_info *ops;
    size_t n_ops, cap_ops;
    long last_line;     /* of the last record */
    long last_cmd_line; /* of the last command (not an event) */
    hmap *keys; /* key bytes -> key_info */
    key_info **key_by_id;
    size_t n_keys, cap_keys;
    hmap *writes;  /* (key id, version) -> write_info */
    hmap *servers; /* id -> server */
    hmap *clients; /* id -> client */
    struct {
        bool active;
        size_t op;
        egroup *groups;
        size_t n_groups;
        hmap *member_of; /* server id -> group index + 1 */
    } ep;
    checker_violation *viol;
    size_t n_viol, cap_viol;
    size_t unknown;
    uint64_t next_sig;
};

/* The write of k at version v, or NULL when no put is known to have
 * written it. */
write_info *find_write(const checker *c, uint32_t k, dkv_version v);

#endif
