#include "ids.h"

#include <stddef.h>

int ids_parse_u64(const char *s, uint64_t max, uint64_t *out, dkv_err *err)
{
    if (!s || !*s)
        return dkv_err_set(err, "empty number");
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return dkv_err_set(err, "'%.40s' is not a non-negative decimal number", s);
        unsigned d = (unsigned)(*p - '0');
        if (d > max || v > (max - d) / 10)
            return dkv_err_set(err, "'%.40s' is too large (maximum %llu)", s,
                               (unsigned long long)max);
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int ids_parse(const char *s, uint64_t *out, dkv_err *err)
{
    return ids_parse_u64(s, DKV_ID_MAX, out, err);
}
