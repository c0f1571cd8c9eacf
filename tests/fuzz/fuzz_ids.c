/* Fuzzes ids_parse and checks the result against an independent reading:
 * accepted only for a non-empty string of digits whose value is at most
 * DKV_ID_MAX, and then with that exact value. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/ids.h"
#include "../../common/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference: digits only, value accumulated with saturation. */
static bool reference(const char *s, uint64_t *out)
{
    if (!*s)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (v <= DKV_ID_MAX) /* stays far below overflow: DKV_ID_MAX * 10 + 9 fits */
            v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return v <= DKV_ID_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xmemdupz(data, size);
    uint64_t got = 0, want = 0;
    dkv_err err;
    bool ok = ids_parse(s, &got, &err) == 0;
    if (ok != reference(s, &want) || (ok && got != want))
        abort();
    free(s);
    return 0;
}
