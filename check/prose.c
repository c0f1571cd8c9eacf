/* prose: the checker's explanations of violations. */
#include "prose.h"
#include "../common/vec.h"
#include "../common/xalloc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- text ---- */

void sb_vprintf(sb *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int need = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (need < 0)
        return;
    b->p = vec_reserve(b->p, &b->cap, b->n + (size_t)need + 1, 1);
    vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    b->n += (size_t)need;
}

void sb_printf(sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Bytes as readable text: printable ASCII as is, the rest as \xNN, at most
 * max bytes shown. */
void sb_putc(sb *b, char ch)
{
    b->p = vec_reserve(b->p, &b->cap, b->n + 2, 1);
    b->p[b->n++] = ch;
    b->p[b->n] = '\0';
}

void sb_raw(sb *b, const uint8_t *p, size_t n, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n && i < max; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
            sb_putc(b, (char)p[i]);
        } else {
            sb_putc(b, '\\');
            sb_putc(b, 'x');
            sb_putc(b, hex[p[i] >> 4]);
            sb_putc(b, hex[p[i] & 15]);
        }
    }
    if (n > max)
        sb_printf(b, "... (%zu bytes)", n);
}

void sb_quoted(sb *b, const uint8_t *p, size_t n)
{
    sb_printf(b, "'");
    sb_raw(b, p, n, 40);
    sb_printf(b, "'");
}

void sb_digest(sb *b, const digest *d)
{
    sb_printf(b, "'");
    sb_raw(b, d->head, d->len < HEAD ? d->len : HEAD, HEAD);
    if (d->len > HEAD)
        sb_printf(b, "... (%zu bytes)", d->len);
    sb_printf(b, "'");
}

void sb_ver(sb *b, dkv_version v)
{
    if (dkv_version_is_none(v))
        sb_printf(b, "none");
    else
        sb_printf(b, "(%" PRIu64 ",%" PRIu64 ")", v.lamport, v.origin);
}

void sb_op(sb *b, const checker *c, size_t op)
{
    if (op == NO_OP || op >= c->n_ops)
        sb_printf(b, "an unknown line");
    else
        sb_printf(b, "line %ld `%s`", c->ops[op].line, c->ops[op].text);
}

void sb_key(sb *b, const checker *c, uint32_t k)
{
    sb_quoted(b, c->key_by_id[k]->bytes.p, c->key_by_id[k]->bytes.n);
}

/* ---- violations ---- */

void vb_begin(vb *x, const checker *c, checker_kind kind, size_t op)
{
    memset(x, 0, sizeof *x);
    x->v.kind = kind;
    x->v.line = c->ops[op].line;
}

void vb_rel(vb *x, const checker *c, size_t op)
{
    if (op == NO_OP || op >= c->n_ops)
        return;
    long line = c->ops[op].line;
    if (line == x->v.line)
        return;
    for (size_t i = 0; i < x->v.n_related; i++)
        if (x->v.related[i] == line)
            return;
    if (x->v.n_related < CHECKER_MAX_RELATED)
        x->v.related[x->v.n_related++] = line;
}

void vb_end(checker *c, vb *x, int *count)
{
    x->v.text = x->text.p ? x->text.p : xstrdup("");
    *VEC_PUSH(c->viol, c->n_viol, c->cap_viol) = x->v;
    if (c->msgs)
        fprintf(c->msgs, "%s\n\n", x->v.text);
    (*count)++;
}

/* ---- explanations ---- */

void sb_written(sb *b, vb *x, const checker *c, const write_info *w)
{
    if (!w) {
        sb_printf(b, "written by no put in the history");
        return;
    }
    sb_printf(b, "written at ");
    sb_op(b, c, w->op);
    if (w->from_failed)
        sb_printf(b, ", a put reported as failed that was applied all the same");
    vb_rel(x, c, w->op);
}

/* "version (3,1) of 'k' (written at line 9 `put ...`; ...)" */
void sb_held(sb *b, vb *x, const checker *c, const server *s, uint32_t k, const held *h)
{
    const write_info *w = find_write(c, k, h->v);
    sb_printf(b, "version ");
    sb_ver(b, h->v);
    sb_printf(b, " of ");
    sb_key(b, c, k);
    sb_printf(b, " (");
    switch (h->how) {
    case H_PUT:
        sb_printf(b, "server %" PRIu64 " accepted that write at ", s->id);
        sb_op(b, c, h->op);
        break;
    case H_GET:
        sb_written(b, x, c, w);
        sb_printf(b, "; server %" PRIu64 " returned it at ", s->id);
        sb_op(b, c, h->op);
        break;
    case H_STORE:
        sb_written(b, x, c, w);
        sb_printf(b, "; server %" PRIu64 " listed it at ", s->id);
        sb_op(b, c, h->op);
        break;
    case H_STABILIZE:
        sb_written(b, x, c, w);
        sb_printf(b, "; server %" PRIu64 ", which held it, was in the same group when ", h->via);
        sb_op(b, c, h->op);
        sb_printf(b, " completed");
        break;
    case H_EPOCH:
        sb_written(b, x, c, w);
        sb_printf(b, "; server %" PRIu64 ", in the same group stable since ", h->via);
        sb_op(b, c, h->op2);
        sb_printf(b, ", showed it at ");
        sb_op(b, c, h->op);
        sb_printf(b, ", and after stabilize the servers of a group hold identical data until "
                     "something changes");
        vb_rel(x, c, h->op2);
        break;
    }
    sb_printf(b, ")");
    vb_rel(x, c, h->op);
}

/* Whether s was killed and rejoined since it learned h; if so, names the
 * kill and the join and returns true. */
bool sb_lost(sb *b, vb *x, const checker *c, const server *s, uint32_t k, const held *h)
{
    if (h->inc >= s->inc)
        return false;
    size_t kill = s->life[h->inc].kill, join = s->life[h->inc + 1].join;
    const write_info *w = find_write(c, k, h->v);
    sb_printf(b, " Server %" PRIu64 " was killed at ", s->id);
    sb_op(b, c, kill);
    sb_printf(b, " and rejoined at ");
    sb_op(b, c, join);
    if (s->inc > h->inc + 1)
        sb_printf(b, " (and restarted again later)");
    sb_printf(b, " after it held that version: an acknowledged write");
    if (w) {
        sb_printf(b, " (");
        sb_op(b, c, w->op);
        sb_printf(b, ")");
    }
    sb_printf(b, " was lost across a kill and rejoin; a rejoining server must come back with "
                 "everything it had stored (durability).");
    vb_rel(x, c, kill);
    vb_rel(x, c, join);
    return true;
}

/* "version (3,1) of 'k'" or "no value for 'k'" */
void sb_seen(sb *b, const checker *c, uint32_t k, dkv_version v)
{
    if (dkv_version_is_none(v)) {
        sb_printf(b, "no value for ");
    } else {
        sb_printf(b, "version ");
        sb_ver(b, v);
        sb_printf(b, " of ");
    }
    sb_key(b, c, k);
}

void sb_dep(sb *b, vb *x, const checker *c, uint64_t client_id, const dep *d)
{
    sb_printf(b, "client %" PRIu64 "'s dependency ", client_id);
    sb_ver(b, d->v);
    sb_printf(b, " (from ");
    sb_op(b, c, d->op);
    sb_printf(b, ")");
    vb_rel(x, c, d->op);
}

char *short_text(const histline_bytes *t)
{
    sb b = {0};
    /* Keep the command readable: long values are cut. */
    sb_raw(&b, t->p, t->n, 80);
    if (!b.p)
        b.p = xcalloc(1, 1);
    return b.p;
}
