/* Fuzzes every record decoder on the same bytes, as they might be read
 * from a damaged LevelDB, and checks what they accept re-encodes to the
 * same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/xalloc.h"
#include "../../server/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a decoded input encodes back to must be that input, byte for byte;
 * frees b. */
static void must_be_input(buf *b, const uint8_t *data, size_t size)
{
    if (buf_unread(b) != size || memcmp(buf_head(b), data, size) != 0)
        abort();
    buf_free(b);
}

static void fuzz_data(const uint8_t *data, size_t size)
{
    dkv_version v;
    uint64_t seq;
    dkv_err err;
    if (record_data_decode(data, size, &v, &seq, &err) < 0)
        return;
    buf b;
    buf_init(&b);
    record_data_value(&b, v, seq);
    must_be_input(&b, data, size);
}

static void fuzz_log(const uint8_t *data, size_t size)
{
    dkv_update u = {0};
    uint64_t origin, seq;
    dkv_err err;
    if (record_log_key_decode(data, size, &origin, &seq, &err) == 0) {
        uint8_t k[17];
        record_log_key(k, origin, seq);
        if (size != 17 || memcmp(k, data, 17) != 0)
            abort();
    }
    if (record_log_decode(data, size, &u, &err) < 0)
        return;
    if (u.key < data || u.value != u.key + u.key_len || u.value + u.value_len != data + size)
        abort();
    buf b;
    buf_init(&b);
    record_log_value(&b, &u);
    must_be_input(&b, data, size);
}

static void fuzz_meta(const uint8_t *data, size_t size)
{
    record_meta m = {0, 0, vclock_new()};
    dkv_err err;
    if (record_meta_decode(data, size, &m, &err) == 0) {
        buf b;
        buf_init(&b);
        record_meta_encode(&b, &m);
        must_be_input(&b, data, size);
    }
    vclock_free(m.vc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size heap copies: an overread past the record is an ASan
     * report even when the fuzzer's own buffer would hide it. */
    uint8_t *copy = xmalloc(size ? size : 1);
    if (size)
        memcpy(copy, data, size);
    fuzz_data(copy, size);
    fuzz_log(copy, size);
    fuzz_meta(copy, size);
    free(copy);
    return 0;
}
