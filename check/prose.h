/* prose: the checker's explanations of violations, as text. Internal to
 * check/. */
#ifndef DKV_CHECK_PROSE_H
#define DKV_CHECK_PROSE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"

/* A growing NUL-terminated string. */
typedef struct sb {
    char *p;
    size_t n, cap;
} sb;

/* A violation being written. */
typedef struct vb {
    checker_violation v;
    sb text;
} vb;

void sb_vprintf(sb *b, const char *fmt, va_list ap);
void sb_printf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_putc(sb *b, char ch);
void sb_raw(sb *b, const uint8_t *p, size_t n, size_t max);
void sb_quoted(sb *b, const uint8_t *p, size_t n);
void sb_digest(sb *b, const digest *d);
void sb_ver(sb *b, dkv_version v);
void sb_op(sb *b, const checker *c, size_t op);
void sb_key(sb *b, const checker *c, uint32_t k);

void vb_begin(vb *x, const checker *c, checker_kind kind, size_t op);
void vb_rel(vb *x, const checker *c, size_t op);
void vb_end(checker *c, vb *x, int *count);

void sb_written(sb *b, vb *x, const checker *c, const write_info *w);
void sb_held(sb *b, vb *x, const checker *c, const server *s, uint32_t k, const held *h);
bool sb_lost(sb *b, vb *x, const checker *c, const server *s, uint32_t k, const held *h);
void sb_seen(sb *b, const checker *c, uint32_t k, dkv_version v);
void sb_dep(sb *b, vb *x, const checker *c, uint64_t client_id, const dep *d);
char *short_text(const histline_bytes *t);

#endif
