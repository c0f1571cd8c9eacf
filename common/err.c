#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int dkv_err_set(dkv_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
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
        snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    }
    return -1;
}
