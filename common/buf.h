/* buf: a growable byte buffer with a read offset, used for socket I/O and
 * for building frames. A plain value type: embed it, init with buf_init,
 * release with buf_free.
 *
 * Out of memory aborts, except in fallible mode (buf_set_fallible), meant
 * for buffers whose size outside input decides (the loop's connection
 * buffers): there a failed allocation marks the buffer failed, for good;
 * every later reserve fails and every append is dropped, so the buffer's
 * content is incomplete and its owner must check buf_failed and discard it
 * (the loop closes that connection instead of aborting the daemon). */
#ifndef DKV_BUF_H
#define DKV_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    uint8_t *data;
    size_t off; /* bytes before off are consumed */
    size_t len; /* bytes in use, including consumed ones */
    size_t cap;
    bool fallible; /* see above */
    bool failed;
} buf;

void buf_init(buf *b);
void buf_free(buf *b);
void buf_set_fallible(buf *b);
static inline bool buf_failed(const buf *b) { return b->failed; }
/* Ensures room for `more` bytes after len and returns 0. Out of memory
 * aborts, or in fallible mode marks the buffer failed and returns -1. */
int buf_reserve(buf *b, size_t more);
void buf_append(buf *b, const void *p, size_t n);
void buf_append_u32(buf *b, uint32_t v);  /* big-endian */
void buf_append_u64(buf *b, uint64_t v);  /* big-endian */
/* Bytes not yet consumed. */
static inline size_t buf_unread(const buf *b) { return b->len - b->off; }
static inline uint8_t *buf_head(const buf *b) { return b->data + b->off; }
/* Marks n unread bytes as consumed, compacting when worthwhile. */
void buf_consume(buf *b, size_t n);
void buf_clear(buf *b);
/* Gives back the memory of a large buffer that now holds little unread
 * data (after a multi-MiB frame was consumed but a few bytes of the next
 * one stay), so a burst does not pin memory for a connection's life. */
void buf_shrink(buf *b);

uint32_t dkv_get_u32(const uint8_t *p);
uint64_t dkv_get_u64(const uint8_t *p);
void dkv_put_u32(uint8_t *p, uint32_t v);
void dkv_put_u64(uint8_t *p, uint64_t v);

#endif
