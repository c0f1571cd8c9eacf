#include "token.h"

int token_check(const char *what, const uint8_t *p, size_t n, size_t max, dkv_err *err)
{
    if (n == 0)
        return dkv_err_set(err, "the %s is empty", what);
    if (n > max)
        return dkv_err_set(err, "the %s is %zu bytes, more than the limit of %zu", what, n, max);
    for (size_t i = 0; i < n; i++)
        if (!token_byte_ok(p[i]))
            return dkv_err_set(err,
                               "the %s holds byte 0x%02x at offset %zu (keys and values "
                               "cannot hold NUL or white space)",
                               what, p[i], i);
    return 0;
}
