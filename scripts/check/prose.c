#include "prose.h"
#include "../../common/vec.h"
#include "../../common/xalloc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- text ---- */

/* A growing NUL-terminated string. */
typedef struct sb {
    char *p;
    size_t n, cap;
} sb;

static void sb_vprintf(sb *b, const char *fmt, va_list ap)
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

__attribute__((format(printf, 2, 3))) static void sb_printf(sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Bytes as readable text: printable ASCII as is, the rest as \xNN, at most
 * max bytes shown. */
static void sb_putc(sb *b, char ch)
{
    b->p = vec_reserve(b->p, &b->cap, b->n + 2, 1);
    b->p[b->n++] = ch;
    b->p[b->n] = '\0';
}

static void sb_raw(sb *b, const uint8_t *p, size_t n, size_t max)
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

static void sb_quoted(sb *b, const uint8_t *p, size_t n)
{
    sb_printf(b, "'");
    sb_raw(b, p, n, 40);
    sb_printf(b, "'");
}

static void sb_digest(sb *b, const digest *d)
{
    sb_printf(b, "'");
    sb_raw(b, d->head, d->len < HEAD ? d->len : HEAD, HEAD);
    if (d->len > HEAD)
        sb_printf(b, "... (%zu bytes)", d->len);
    sb_printf(b, "'");
}

static void sb_ver(sb *b, dkv_version v)
{
    if (dkv_version_is_none(v))
        sb_printf(b, "none");
    else
        sb_printf(b, "(%" PRIu64 ",%" PRIu64 ")", v.lamport, v.origin);
}

static void sb_op(sb *b, const checker *c, size_t op)
{
    if (op == NO_OP || op >= c->n_ops)
        sb_printf(b, "an unknown line");
    else
        sb_printf(b, "line %ld `%s`", c->ops[op].line, c->ops[op].text);
}

static void sb_key(sb *b, const checker *c, uint32_t k)
{
    sb_quoted(b, c->key_by_id[k]->bytes.p, c->key_by_id[k]->bytes.n);
}

/* ---- violations ---- */

/* A violation being written. */
typedef struct vb {
    checker_violation v;
    sb text;
} vb;

/* Starts a violation of op; every paragraph opens with op itself. */
static void vb_begin(vb *x, const checker *c, checker_kind kind, size_t op)
{
    memset(x, 0, sizeof *x);
    x->v.kind = kind;
    x->v.line = c->ops[op].line;
    sb_op(&x->text, c, op);
}

static void vb_rel(vb *x, const checker *c, size_t op)
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

static void vb_end(checker *c, vb *x)
{
    x->v.text = x->text.p ? x->text.p : xstrdup("");
    *VEC_PUSH(c->viol, c->n_viol, c->cap_viol) = x->v;
    if (c->msgs)
        fprintf(c->msgs, "%s\n\n", x->v.text);
}

/* ---- explanations ---- */

static void sb_written(sb *b, vb *x, const checker *c, const write_info *w)
{
    if (!w) {
        sb_printf(b, "written by no put in the history");
        return;
    }
    if (w->before_run) {
        sb_printf(b, "written before this run (server %" PRIu64 " held it when it started at ",
                  w->server);
        sb_op(b, c, w->op);
        sb_printf(b, ")");
        vb_rel(x, c, w->op);
        return;
    }
    sb_printf(b, "written at ");
    sb_op(b, c, w->op);
    if (w->from_failed)
        sb_printf(b, ", a put reported as failed that was applied all the same");
    vb_rel(x, c, w->op);
}

/* "version (3,1) of 'k' (written at line 9 `put ...`; ...)" */
static void sb_held(sb *b, vb *x, const checker *c, const server *s, uint32_t k, const held *h)
{
    const write_info *w = find_write(c, k, h->v);
    sb_printf(b, "version ");
    sb_ver(b, h->v);
    sb_printf(b, " of ");
    sb_key(b, c, k);
    sb_printf(b, " (");
    /* Whence the write, unless this server made it or had it before the run. */
    if (h->how != H_PUT && h->how != H_START) {
        sb_written(b, x, c, w);
        sb_printf(b, "; ");
    }
    switch (h->how) {
    case H_PUT: sb_printf(b, "server %" PRIu64 " accepted that write at ", s->id); break;
    case H_GET: sb_printf(b, "server %" PRIu64 " returned it at ", s->id); break;
    case H_STORE: sb_printf(b, "server %" PRIu64 " listed it at ", s->id); break;
    case H_START:
        sb_printf(b, "server %" PRIu64 " held it, from before this run, when it started at ",
                  s->id);
        break;
    case H_STABILIZE:
        sb_printf(b, "server %" PRIu64 ", which held it, was in the same group when ", h->via);
        break;
    case H_EPOCH:
        sb_printf(b, "server %" PRIu64 ", in the same group stable since ", h->via);
        sb_op(b, c, h->op2);
        sb_printf(b, ", showed it at ");
        break;
    }
    sb_op(b, c, h->op);
    if (h->how == H_STABILIZE) {
        sb_printf(b, " completed");
    } else if (h->how == H_EPOCH) {
        sb_printf(b, ", and after stabilize the servers of a group hold identical data until "
                     "something changes");
        vb_rel(x, c, h->op2);
    }
    sb_printf(b, ")");
    vb_rel(x, c, h->op);
}

/* Whether s was killed and rejoined since it learned h; if so, names the
 * kill and the join and returns true. */
static bool sb_lost(sb *b, vb *x, const checker *c, const server *s, uint32_t k, const held *h)
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
static void sb_seen(sb *b, const checker *c, uint32_t k, dkv_version v)
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

static void sb_dep(sb *b, vb *x, const checker *c, uint64_t client_id, const dep *d)
{
    sb_printf(b, "client %" PRIu64 "'s dependency ", client_id);
    sb_ver(b, d->v);
    sb_printf(b, " (from ");
    sb_op(b, c, d->op);
    sb_printf(b, ")");
    vb_rel(x, c, d->op);
}

char *prose_op_text(const histline_bytes *t)
{
    sb b = {0};
    /* Keep the command readable: long values are cut. */
    sb_raw(&b, t->p, t->n, 80);
    if (!b.p)
        b.p = xcalloc(1, 1);
    return b.p;
}

/* ---- values that no put wrote ---- */

void prose_phantom_mismatch(checker *c, size_t op, uint32_t k, dkv_version v,
                            const histline_bytes *value, uint64_t server_id, const char *shown,
                            const write_info *w)
{
    vb x;
    vb_begin(&x, c, CHECKER_PHANTOM, op);
    sb_printf(&x.text, " %s ", shown);
    sb_key(&x.text, c, k);
    sb_printf(&x.text, " = ");
    sb_quoted(&x.text, value->p, value->n);
    sb_printf(&x.text, " at version ");
    sb_ver(&x.text, v);
    if (w->before_run)
        sb_printf(&x.text, " on server %" PRIu64 ", but server %" PRIu64
                           " held that version, from before this run, when it started (",
                  server_id, w->server);
    else
        sb_printf(&x.text, " on server %" PRIu64 ", but the put given that version (",
                  server_id);
    sb_op(&x.text, c, w->op);
    sb_printf(&x.text, w->before_run ? ") with " : ") wrote ");
    sb_digest(&x.text, &w->val);
    sb_printf(&x.text, ", not that value: a version must always carry the value its put "
                       "wrote (phantom value).");
    vb_rel(&x, c, w->op);
    vb_end(c, &x);
}

void prose_phantom_unwritten(checker *c, size_t op, uint32_t k, dkv_version v,
                             const histline_bytes *value, uint64_t server_id, const char *shown,
                             bool failed_puts)
{
    vb x;
    vb_begin(&x, c, CHECKER_PHANTOM, op);
    sb_printf(&x.text, " %s ", shown);
    sb_key(&x.text, c, k);
    if (value) {
        sb_printf(&x.text, " = ");
        sb_quoted(&x.text, value->p, value->n);
    }
    sb_printf(&x.text, " at version ");
    sb_ver(&x.text, v);
    sb_printf(&x.text, " on server %" PRIu64 ", but no put of ", server_id);
    sb_key(&x.text, c, k);
    sb_printf(&x.text, " was given that version%s: the server shows something nobody wrote "
                       "(phantom value).",
              failed_puts ? ", and no failed put of that key through server with that origin "
                            "wrote that value"
                          : "");
    vb_end(c, &x);
}

/* ---- what a server certainly holds ---- */

void prose_older_than_held(checker *c, checker_kind kind, size_t op, const server *s, uint32_t k,
                           dkv_version v, const char *shown, const held *h)
{
    vb x;
    vb_begin(&x, c, kind, op);
    if (dkv_version_is_none(v)) {
        sb_printf(&x.text, " %s no value for ", shown);
    } else {
        sb_printf(&x.text, " %s version ", shown);
        sb_ver(&x.text, v);
        sb_printf(&x.text, " of ");
    }
    sb_key(&x.text, c, k);
    sb_printf(&x.text, " on server %" PRIu64, s->id);
    sb_printf(&x.text, ", older than a value it certainly holds: ");
    sb_held(&x.text, &x, c, s, k, h);
    sb_printf(&x.text, ". A server keeps the highest version it has received and never goes "
                       "back.");
    sb_lost(&x.text, &x, c, s, k, h);
    vb_end(c, &x);
}

void prose_store_missing_key(checker *c, checker_kind kind, size_t op, const server *s,
                             uint32_t k, const held *h)
{
    vb x;
    vb_begin(&x, c, kind, op);
    sb_printf(&x.text, " lacks key ");
    sb_key(&x.text, c, k);
    sb_printf(&x.text, ", although server %" PRIu64 " certainly holds ", s->id);
    sb_held(&x.text, &x, c, s, k, h);
    sb_printf(&x.text, ".");
    sb_lost(&x.text, &x, c, s, k, h);
    vb_end(c, &x);
}

void prose_diverged(checker *c, size_t op, const server *s, uint32_t k, dkv_version v,
                    const snap *sn)
{
    vb x;
    vb_begin(&x, c, CHECKER_DIVERGED, op);
    sb_printf(&x.text, " shows ");
    sb_seen(&x.text, c, k, v);
    sb_printf(&x.text, " on server %" PRIu64 ", but ", s->id);
    sb_op(&x.text, c, sn->op);
    sb_printf(&x.text, " showed ");
    sb_seen(&x.text, c, k, sn->v);
    if (sn->server == s->id)
        sb_printf(&x.text, " on the same server");
    else
        sb_printf(&x.text, " on server %" PRIu64 ", in the same group", sn->server);
    sb_printf(&x.text, ", and nothing changed since ");
    sb_op(&x.text, c, c->ep.op);
    sb_printf(&x.text, ": after stabilize the servers of a group must hold identical data.");
    vb_rel(&x, c, sn->op);
    vb_rel(&x, c, c->ep.op);
    vb_end(c, &x);
}

/* ---- sessions ---- */

void prose_dep_mismatch(checker *c, size_t op, const histline_record *r, uint32_t k, const dep *d,
                        dkv_version expect_after, bool bad_before, bool bad_after, bool unsure)
{
    dkv_version mine = d ? d->v : (dkv_version){0, 0};
    vb x;
    vb_begin(&x, c, CHECKER_DEP_MISMATCH, op);
    sb_printf(&x.text, ": client %" PRIu64 " reported its dependency on ", r->client);
    sb_key(&x.text, c, k);
    if (bad_before) {
        sb_printf(&x.text, " before the operation as ");
        sb_ver(&x.text, r->dep_before);
        sb_printf(&x.text, ", but by the history it is %s", unsure ? "at least " : "");
        sb_ver(&x.text, mine);
        if (d && d->op != NO_OP) {
            sb_printf(&x.text, " (from ");
            sb_op(&x.text, c, d->op);
            sb_printf(&x.text, ")");
            vb_rel(&x, c, d->op);
        }
    }
    if (bad_after) {
        sb_printf(&x.text, "%s after the operation as ", bad_before ? ", and" : "");
        sb_ver(&x.text, r->dep_after);
        sb_printf(&x.text, ", but it should be %s", unsure ? "at least " : "");
        sb_ver(&x.text, expect_after);
    }
    sb_printf(&x.text, ": the client's session state (the highest version it has written or "
                       "read per key) disagrees with what it actually wrote and read.");
    vb_end(c, &x);
}

/* ---- put ---- */

void prose_put_origin(checker *c, size_t op, uint64_t server_id, dkv_version v)
{
    vb x;
    vb_begin(&x, c, CHECKER_PUT_ORIGIN, op);
    sb_printf(&x.text, " went through server %" PRIu64 " but was given version ", server_id);
    sb_ver(&x.text, v);
    sb_printf(&x.text, ", whose origin is %" PRIu64 ": a write's version must name the "
                       "server that accepted it.",
              v.origin);
    vb_end(c, &x);
}

void prose_put_not_above_dep(checker *c, size_t op, uint64_t client_id, uint32_t k, dkv_version v,
                             const dep *d)
{
    vb x;
    vb_begin(&x, c, CHECKER_PUT_NOT_ABOVE_DEP, op);
    sb_printf(&x.text, " was given version ");
    sb_ver(&x.text, v);
    sb_printf(&x.text, ", which is not above client %" PRIu64 "'s dependency on ", client_id);
    sb_key(&x.text, c, k);
    sb_printf(&x.text, " (version ");
    sb_ver(&x.text, d->v);
    sb_printf(&x.text, ", from ");
    sb_op(&x.text, c, d->op);
    sb_printf(&x.text, "): a put must get a version higher than everything its client has "
                       "written or read for that key, or the client could later read back "
                       "an older value.");
    vb_rel(&x, c, d->op);
    vb_end(c, &x);
}

void prose_duplicate_version(checker *c, size_t op, uint32_t k, dkv_version v,
                             const write_info *w)
{
    vb x;
    vb_begin(&x, c, CHECKER_DUPLICATE_VERSION, op);
    sb_printf(&x.text, " was given version ");
    sb_ver(&x.text, v);
    sb_printf(&x.text, " for ");
    sb_key(&x.text, c, k);
    sb_printf(&x.text, ", the same version as ");
    sb_op(&x.text, c, w->op);
    sb_printf(&x.text, ": two writes of a key must never share a version (servers could not "
                       "tell them apart and might keep different values).");
    vb_rel(&x, c, w->op);
    vb_end(c, &x);
}

void prose_put_not_above_held(checker *c, size_t op, const server *s, uint32_t k, dkv_version v,
                              const held *h)
{
    vb x;
    vb_begin(&x, c, CHECKER_PUT_NOT_ABOVE_HELD, op);
    sb_printf(&x.text, " through server %" PRIu64 " was given version ", s->id);
    sb_ver(&x.text, v);
    sb_printf(&x.text, ", but server %" PRIu64 " already certainly held ", s->id);
    sb_held(&x.text, &x, c, s, k, h);
    sb_printf(&x.text, ": a write must be ordered after every write its server has "
                       "seen (causality), or last-writer-wins discards it at once.");
    if (h->inc < s->inc) {
        sb_printf(&x.text, " Server %" PRIu64 " was killed at ", s->id);
        sb_op(&x.text, c, s->life[h->inc].kill);
        sb_printf(&x.text, " and rejoined at ");
        sb_op(&x.text, c, s->life[h->inc + 1].join);
        sb_printf(&x.text, " in between: a rejoining server must keep its clocks.");
        vb_rel(&x, c, s->life[h->inc].kill);
        vb_rel(&x, c, s->life[h->inc + 1].join);
    }
    vb_end(c, &x);
}

/* ---- get ---- */

void prose_stale_read(checker *c, size_t op, const server *s, uint32_t k, dkv_version v,
                      const histline_bytes *value, const dep *d)
{
    vb x;
    vb_begin(&x, c, d->by_put ? CHECKER_READ_YOUR_WRITES : CHECKER_MONOTONIC_READS, op);
    sb_printf(&x.text, " read version ");
    sb_ver(&x.text, v);
    sb_printf(&x.text, " = ");
    sb_quoted(&x.text, value->p, value->n);
    sb_printf(&x.text, " of ");
    sb_key(&x.text, c, k);
    sb_printf(&x.text, " from server %" PRIu64 ", older than ", s->id);
    if (d->by_put)
        sb_printf(&x.text, "the client's own write at ");
    else
        sb_printf(&x.text, "what the client already read at ");
    sb_op(&x.text, c, d->op);
    sb_printf(&x.text, " (version ");
    sb_ver(&x.text, d->v);
    sb_printf(&x.text, "): %s is violated (a client must never read anything older than "
                       "what it last %s; the answer should have been ERR_DEP).",
              d->by_put ? "read-your-writes" : "monotonic reads", d->by_put ? "wrote" : "read");
    vb_rel(&x, c, d->op);
    vb_end(c, &x);
}

void prose_err_key_with_dep(checker *c, size_t op, uint64_t client_id, uint32_t k, const dep *d)
{
    vb x;
    vb_begin(&x, c, CHECKER_ERR_KEY_WITH_DEP, op);
    sb_printf(&x.text, " answered ERR_KEY, but ");
    sb_dep(&x.text, &x, c, client_id, d);
    sb_printf(&x.text, " shows it has already written or read ");
    sb_key(&x.text, c, k);
    sb_printf(&x.text, ": ERR_KEY is only for a client that has never seen the key; the "
                       "answer should have been the value or ERR_DEP.");
    vb_end(c, &x);
}

void prose_err_key_with_version(checker *c, size_t op, const server *s, uint32_t k,
                                dkv_version v)
{
    vb x;
    vb_begin(&x, c, CHECKER_WRONG_RESULT, op);
    sb_printf(&x.text, " answered ERR_KEY although server %" PRIu64 " reported holding version ",
              s->id);
    sb_ver(&x.text, v);
    sb_printf(&x.text, " of ");
    sb_key(&x.text, c, k);
    sb_printf(&x.text, ": ERR_KEY means the server has no value for the key.");
    vb_end(c, &x);
}

void prose_err_key_held(checker *c, checker_kind kind, size_t op, const server *s, uint32_t k,
                        const held *h)
{
    vb x;
    vb_begin(&x, c, kind, op);
    sb_printf(&x.text,
              " answered ERR_KEY (no value on server %" PRIu64 "), but server %" PRIu64
              " certainly holds ",
              s->id, s->id);
    sb_held(&x.text, &x, c, s, k, h);
    sb_printf(&x.text, ".");
    sb_lost(&x.text, &x, c, s, k, h);
    vb_end(c, &x);
}

void prose_err_dep_without_dep(checker *c, size_t op, uint64_t client_id, uint32_t k)
{
    vb x;
    vb_begin(&x, c, CHECKER_ERR_DEP_WITHOUT_DEP, op);
    sb_printf(&x.text, " answered ERR_DEP, but client %" PRIu64 " has never written or read ",
              client_id);
    sb_key(&x.text, c, k);
    sb_printf(&x.text, ", so it has no dependency the server could lack: the answer "
                       "should have been the value or ERR_KEY.");
    vb_end(c, &x);
}

void prose_err_dep_not_older(checker *c, size_t op, const server *s, uint32_t k, dkv_version v,
                             uint64_t client_id, const dep *d)
{
    vb x;
    vb_begin(&x, c, CHECKER_WRONG_RESULT, op);
    sb_printf(&x.text, " answered ERR_DEP although server %" PRIu64 "'s version ", s->id);
    sb_ver(&x.text, v);
    sb_printf(&x.text, " of ");
    sb_key(&x.text, c, k);
    sb_printf(&x.text, " is not older than ");
    sb_dep(&x.text, &x, c, client_id, d);
    sb_printf(&x.text, ": the value should have been returned.");
    vb_end(c, &x);
}

void prose_err_dep_held(checker *c, checker_kind kind, size_t op, const server *s, uint32_t k,
                        const held *h, uint64_t client_id, const dep *d)
{
    vb x;
    vb_begin(&x, c, kind, op);
    sb_printf(&x.text, " answered ERR_DEP, but server %" PRIu64 " certainly holds ", s->id);
    sb_held(&x.text, &x, c, s, k, h);
    sb_printf(&x.text, ", which is not older than ");
    sb_dep(&x.text, &x, c, client_id, d);
    sb_printf(&x.text, ": the server should have returned the value.");
    sb_lost(&x.text, &x, c, s, k, h);
    vb_end(c, &x);
}

/* ---- printStore ---- */

/* Says why b comes first, since orders that look natural (k2 before k10,
 * k1 before K1, é before z) are wrong bytewise. */
void prose_store_order(checker *c, size_t op, const histline_bytes *a, const histline_bytes *b)
{
    size_t at = 0; /* the first byte where they differ */
    while (at < b->n && at < a->n && a->p[at] == b->p[at])
        at++;
    vb x;
    vb_begin(&x, c, CHECKER_STORE_ORDER, op);
    if (at == a->n && at == b->n) {
        sb_printf(&x.text, " lists key ");
        sb_quoted(&x.text, a->p, a->n);
        sb_printf(&x.text, " twice");
    } else {
        sb_printf(&x.text, " lists ");
        sb_quoted(&x.text, a->p, a->n);
        sb_printf(&x.text, " before ");
        sb_quoted(&x.text, b->p, b->n);
        sb_printf(&x.text, ", but ");
        sb_quoted(&x.text, b->p, b->n);
        if (at == b->n)
            sb_printf(&x.text, " sorts first (it is a prefix of the other)");
        else
            sb_printf(&x.text, " sorts first (byte %zu: 0x%02x < 0x%02x)", at, b->p[at], a->p[at]);
    }
    sb_printf(&x.text, ". printStore must list each key once, sorted bytewise (unsigned bytes"
                       " compared in order, a prefix first).");
    vb_end(c, &x);
}
