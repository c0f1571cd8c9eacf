#include "kv_faulty.h"

#include <stdlib.h>

#include "../common/xalloc.h"

typedef struct kv_faulty {
    kv *inner;
    kv_faults *f;
} kv_faulty;

static int faulty_get(void *impl, const uint8_t *k, size_t kl, uint8_t **v, size_t *vl,
                      dkv_err *err)
{
    kv_faulty *q = impl;
    q->f->gets++;
    if (q->f->fail_get)
        return dkv_err_set(err, "reading: " KV_FAULTY_MSG);
    return kv_get(q->inner, k, kl, v, vl, err);
}

static int faulty_write(void *impl, const kv_batch *b, dkv_err *err)
{
    kv_faulty *q = impl;
    q->f->writes++;
    if (q->f->fail_write)
        return dkv_err_set(err, "writing: " KV_FAULTY_MSG);
    return kv_write(q->inner, b, err);
}

static int faulty_scan(void *impl, const uint8_t *start, size_t sl, kv_scan_fn fn, void *user,
                       dkv_err *err)
{
    kv_faulty *q = impl;
    q->f->scans++;
    if (q->f->fail_scan)
        return dkv_err_set(err, "scanning: " KV_FAULTY_MSG);
    return kv_scan(q->inner, start, sl, fn, user, err);
}

static void faulty_close(void *impl)
{
    kv_faulty *q = impl;
    kv_close(q->inner);
    free(q);
}

static const kv_ops faulty_ops = {faulty_get, faulty_write, faulty_scan, faulty_close};

kv *kv_faulty_new(kv *inner, kv_faults *f)
{
    kv_faulty *q = xmalloc(sizeof *q);
    q->inner = inner;
    q->f = f;
    return kv_new(&faulty_ops, q);
}
