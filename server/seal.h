/* seal: a small file beside a server's LevelDB directory that records how
 * far the store had come: the server's own write count, its Lamport
 * counter, its incarnation and the number of writes it had applied. It is
 * rewritten after every durable batch, so at start-up the store must hold
 * at least what the seal says. LevelDB cannot tell a log that lost its last
 * records (truncated, emptied, wiped) from one that never had them; the
 * seal can, because it lives outside the LevelDB directory (DIR.seal for
 * data directory DIR) and so survives a wiped directory.
 *
 * The file holds two slots of SEAL_SIZE bytes, each one line of text
 * padded with spaces and ending in a checksum of the line:
 *   DKVSEAL2 gen=G id=I inc=N own=N lamport=N total=N sum=HEX
 * A write goes to the slot of the next generation, through a shared memory
 * mapping: no system call per write (a put's cost), and the page cache
 * keeps it when the process is killed. A process killed in the middle of
 * a write leaves that slot torn, and the other slot, one write older (still
 * at most what the store holds), is read instead. Both slots unreadable is
 * damage. */
#ifndef DKV_SEAL_H
#define DKV_SEAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/err.h"

#define SEAL_SIZE 192

typedef struct seal_state {
    uint64_t id;          /* the server the store belongs to */
    uint64_t incarnation;
    uint64_t own;         /* writes of its own origin */
    uint64_t lamport;
    uint64_t total;       /* writes applied, every origin */
} seal_state;

typedef struct seal seal;

/* Opens (creating when missing) the seal at path. *existed says whether it
 * was there; when it was, *st is what it records. A seal that cannot be
 * read back whole is an error naming the file. Caller frees with
 * seal_close. */
seal *seal_open(const char *path, bool *existed, seal_state *st, dkv_err *err);
void seal_close(seal *s);
const char *seal_path(const seal *s);

/* Records st in the slot of the next generation. Cannot fail: the file
 * was sized and mapped at open. */
void seal_write(seal *s, const seal_state *st);

/* Encodes st as generation gen into out[SEAL_SIZE]; decodes a slot back.
 * Exposed for tests and the fuzz target: decoding is a parser of bytes
 * from disk. */
void seal_encode(const seal_state *st, uint64_t gen, char out[SEAL_SIZE]);
int seal_decode(const char *in, size_t len, seal_state *st, uint64_t *gen, dkv_err *err);

#endif
