/* libFuzzer target for the authentication layer (common/auth.h): whatever
 * bytes a stranger sends an acceptor, or an initiator, the session refuses
 * or waits; it never crashes, never reads past the input, and never
 * becomes ready without the key. */
#include <stdint.h>
#include <stdlib.h>

#include "../../common/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static auth_key *key;
    if (!key)
        key = auth_key_from_bytes("fuzzing cluster secret", 22);
    for (int initiator = 0; initiator < 2; initiator++) {
        auth_session *s = auth_session_new(key, initiator);
        buf out, plain;
        buf_init(&out);
        buf_init(&plain);
        if (initiator)
            auth_session_start(s, &out);
        dkv_err err;
        size_t off = 0;
        while (off < size) {
            ssize_t used = auth_session_input(s, data + off, size - off, &plain, &out, &err);
            if (used <= 0)
                break;
            off += (size_t)used;
        }
        /* Random bytes cannot forge a proof of the key. */
        if (auth_session_ready(s) || buf_unread(&plain) > 0)
            abort();
        buf_free(&out);
        buf_free(&plain);
        auth_session_free(s);
    }
    return 0;
}
