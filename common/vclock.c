#include "vclock.h"
#include "vec.h"
#include "xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "version.h"

struct vclock {
    vclock_entry *e;
    size_t n, cap;
};

vclock *vclock_new(void)
{
    vclock *vc = xcalloc(1, sizeof *vc);
    return vc;
}

void vclock_free(vclock *vc)
{
    if (!vc)
        return;
    free(vc->e);
    free(vc);
}

void vclock_copy(vclock *dst, const vclock *src)
{
    if (dst == src)
        return;
    dst->e = vec_reserve(dst->e, &dst->cap, src->n, sizeof *dst->e);
    if (src->n)
        memcpy(dst->e, src->e, src->n * sizeof *dst->e);
    dst->n = src->n;
}

void vclock_clear(vclock *vc) { vc->n = 0; }

vclock *vclock_dup(const vclock *vc)
{
    vclock *d = vclock_new();
    vclock_copy(d, vc);
    return d;
}

/* Index of the first entry with id >= id. */
static size_t lower_bound(const vclock *vc, uint64_t id)
{
    return ids_lower_bound(vc->e, vc->n, sizeof *vc->e, id);
}

uint64_t vclock_get(const vclock *vc, uint64_t id)
{
    size_t i = lower_bound(vc, id);
    return i < vc->n && vc->e[i].id == id ? vc->e[i].seq : 0;
}

void vclock_set(vclock *vc, uint64_t id, uint64_t seq)
{
    size_t i = lower_bound(vc, id);
    if (i < vc->n && vc->e[i].id == id) {
        if (seq)
            vc->e[i].seq = seq;
        else {
            memmove(vc->e + i, vc->e + i + 1, (vc->n - i - 1) * sizeof *vc->e);
            vc->n--;
        }
        return;
    }
    if (!seq)
        return;
    if (vc->n == vc->cap)
        vc->e = vec_reserve(vc->e, &vc->cap, vc->n + 1, sizeof *vc->e);
    memmove(vc->e + i + 1, vc->e + i, (vc->n - i) * sizeof *vc->e);
    vc->e[i].id = id;
    vc->e[i].seq = seq;
    vc->n++;
}

void vclock_merge(vclock *dst, const vclock *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (vclock_get(dst, src->e[i].id) < src->e[i].seq)
            vclock_set(dst, src->e[i].id, src->e[i].seq);
}

bool vclock_equal(const vclock *a, const vclock *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->e, b->e, a->n * sizeof *a->e) == 0);
}

bool vclock_covers(const vclock *a, const vclock *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (vclock_get(a, b->e[i].id) < b->e[i].seq)
            return false;
    return true;
}

size_t vclock_size(const vclock *vc) { return vc->n; }

vclock_entry vclock_at(const vclock *vc, size_t i) { return vc->e[i]; }

uint64_t vclock_total(const vclock *vc)
{
    uint64_t t = 0;
    for (size_t i = 0; i < vc->n; i++)
        t += vc->e[i].seq;
    return t;
}

char *vclock_format(const vclock *vc)
{
    size_t cap = vc->n * 42 + 1;
    char *s = xrealloc(NULL, cap), *p = s;
    *p = '\0';
    for (size_t i = 0; i < vc->n; i++)
        p += snprintf(p, cap - (size_t)(p - s), "%s%" PRIu64 ":%" PRIu64, i ? "," : "",
                      vc->e[i].id, vc->e[i].seq);
    return s;
}

int vclock_parse(const char *text, vclock *out, dkv_err *err)
{
    out->n = 0;
    if (!text)
        return dkv_err_set(err, "missing vector clock");
    const char *p = text;
    while (*p) {
        char num[32];
        uint64_t id, seq;
        for (int part = 0; part < 2; part++) {
            size_t k = 0;
            while (p[k] >= '0' && p[k] <= '9' && k < sizeof num - 1) {
                num[k] = p[k];
                k++;
            }
            num[k] = '\0';
            if (k == 0 || k == sizeof num - 1)
                return dkv_err_set(err, "malformed vector clock '%.60s'", text);
            if (ids_parse_u64(num, part ? DKV_COUNTER_MAX : DKV_ID_MAX, part ? &seq : &id, err) < 0)
                return -1;
            p += k;
            char want = part ? ',' : ':';
            if (part == 1 && *p == '\0')
                break;
            if (*p != want)
                return dkv_err_set(err, "malformed vector clock '%.60s'", text);
            p++;
            if (part == 1 && *p == '\0')
                return dkv_err_set(err, "malformed vector clock '%.60s'", text);
        }
        if (seq == 0)
            return dkv_err_set(err, "vector clock has a zero counter for %" PRIu64, id);
        if (out->n && out->e[out->n - 1].id >= id)
            return dkv_err_set(err, "vector clock ids are not strictly increasing");
        vclock_set(out, id, seq);
    }
    return 0;
}
