#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void dkv_err_mark_cut(char *buf, size_t cap, int written)
{
    static const char marker[] = "...";
    if (written >= 0 && (size_t)written < cap)
        return;
    if (cap >= sizeof marker)
        memcpy(buf + cap - sizeof marker, marker, sizeof marker);
}

int dkv_err_set(dkv_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        dkv_err_mark_cut(err->msg, sizeof err->msg, n);
    }
    return -1;
}

int dkv_err_wrap(dkv_err *err, const char *fmt, ...)
{
    if (err) {
        char prefix[DKV_ERR_MAX], old[DKV_ERR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof old);
        int n = snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
        dkv_err_mark_cut(err->msg, sizeof err->msg, n);
    }
    return -1;
}
