/* buf: a growable byte buffer with a read offset, used for socket I/O and
 * for building frames. A plain value type: embed it, init with buf_init,
 * release with buf_free. */
#ifndef DKV_BUF_H
#define DKV_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    uint8_t *data;
    size_t off; /* bytes before off are consumed */
    size_t len; /* bytes in use, including consumed ones */
    size_t cap;
} buf;

void buf_init(buf *b);
void buf_free(buf *b);
/* Ensures room for `more` bytes after len; aborts on out of memory. */
void buf_reserve(buf *b, size_t more);
void buf_append(buf *b, const void *p, size_t n);
void buf_append_u32(buf *b, uint32_t v);  /* big-endian */
void buf_append_u64(buf *b, uint64_t v);  /* big-endian */
/* Bytes not yet consumed. */
static inline size_t buf_unread(const buf *b) { return b->len - b->off; }
static inline uint8_t *buf_head(const buf *b) { return b->data + b->off; }
/* Marks n unread bytes as consumed, compacting when worthwhile. */
void buf_consume(buf *b, size_t n);
void buf_clear(buf *b);

uint32_t dkv_get_u32(const uint8_t *p);
uint64_t dkv_get_u64(const uint8_t *p);
void dkv_put_u32(uint8_t *p, uint32_t v);
void dkv_put_u64(uint8_t *p, uint64_t v);

#endif
