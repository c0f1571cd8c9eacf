/* Fuzzes vclock_parse on arbitrary text. What it accepts must satisfy the
 * clock's invariants (ids sorted and unique, no zero counter) and survive
 * a format/parse round trip. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/ids.h"
#include "../../common/xalloc.h"
#include "../../common/vclock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_invariants(const vclock *vc)
{
    for (size_t i = 0; i < vclock_size(vc); i++) {
        vclock_entry e = vclock_at(vc, i);
        if (e.seq == 0 || e.id > DKV_ID_MAX || (i > 0 && vclock_at(vc, i - 1).id >= e.id))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xmemdupz(data, size);
    vclock *vc = vclock_new();
    dkv_err err;
    if (vclock_parse(text, vc, &err) == 0) {
        check_invariants(vc);
        char *s = vclock_format(vc);
        vclock *back = vclock_new();
        if (vclock_parse(s, back, &err) != 0 || !vclock_equal(vc, back))
            abort();
        /* Canonical text is a fixed point. */
        char *s2 = vclock_format(back);
        if (strcmp(s, s2) != 0)
            abort();
        free(s2);
        free(s);
        vclock_free(back);
    }
    vclock_free(vc);
    free(text);
    return 0;
}
