/* Fuzzes wire_decode over a stream of frames, as a socket reader would
 * consume it, and checks that every decoded frame lies inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    for (;;) {
        wire_frame f;
        size_t used = 0;
        dkv_err err;
        int rc = wire_decode(data + off, size - off, &f, &used, &err);
        if (rc != 1)
            break;
        const uint8_t *end = data + off + used;
        if (used < WIRE_PREFIX || used > size - off || f.hdr < data + off ||
            f.hdr + f.hdr_len > end || f.body != f.hdr + f.hdr_len || f.body + f.body_len != end ||
            (f.kind != WIRE_CALL && f.kind != WIRE_REPLY && f.kind != WIRE_EVENT &&
             f.kind != WIRE_PEER))
            abort();
        /* Re-encoding gives back the same bytes. */
        buf b;
        buf_init(&b);
        wire_encode(&b, f.kind, f.hdr, f.hdr_len, f.body, f.body_len);
        if (buf_unread(&b) != used || memcmp(buf_head(&b), data + off, used) != 0)
            abort();
        buf_free(&b);
        off += used;
    }
    return 0;
}
