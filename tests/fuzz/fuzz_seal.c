/* libFuzzer target for the store's seal (bytes read from disk): decoding
 * never crashes, and whatever decodes re-encodes to the very same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seal_state st;
    uint64_t gen;
    dkv_err err;
    if (seal_decode((const char *)data, size, &st, &gen, &err) == 0) {
        char again[SEAL_SIZE];
        seal_encode(&st, gen, again);
        if (size != SEAL_SIZE || memcmp(again, data, SEAL_SIZE) != 0)
            abort();
    }
    return 0;
}
