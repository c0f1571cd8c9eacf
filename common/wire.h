/* wire: the one frame format used on every TCP connection of the project.
 *
 *   u32 length   big-endian, bytes that follow (kind + hdr_len + hdr + body)
 *   u8  kind     WIRE_CALL / WIRE_REPLY (XML-RPC), WIRE_EVENT (XML-RPC sent
 *                unasked by the callee, e.g. a watchdog's "died"), WIRE_PEER
 *                (server link)
 *   u32 hdr_len  big-endian
 *   hdr          hdr_len bytes (a small JSON object for peer frames)
 *   body         the rest: raw bytes (XML for RPC, keys/values for peers)
 *
 * Values travel as raw bytes in the body, never escaped into JSON. */
#ifndef DKV_WIRE_H
#define DKV_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "limits.h"

enum wire_kind {
    WIRE_CALL = 'C',
    WIRE_REPLY = 'R',
    WIRE_EVENT = 'E',
    WIRE_PEER = 'P',
};

/* Largest frame accepted. The largest legitimate ones: a put (or a get
 * reply, or a dump page) of one DKV_MAX_VALUE value and a DKV_MAX_KEY key in
 * XML-RPC, where base64 makes 4 bytes of 3 and xmlrpc-c adds a line break
 * per 76 characters (about 23 MB), and a peer upd frame (a 256 KiB body
 * target, one more update of a value and key, and a JSON header of a few
 * MB at most). Anything beyond is refused unbuffered (see loop.h). */
#define WIRE_MAX_FRAME (32u << 20)
_Static_assert(WIRE_MAX_FRAME >=
                   (DKV_MAX_VALUE + DKV_MAX_KEY) / 3 * 4 / 76 * 78 + (4u << 20),
               "WIRE_MAX_FRAME must hold a put of the largest key and value");
#define WIRE_PREFIX 9 /* length + kind + hdr_len */

typedef struct wire_frame {
    enum wire_kind kind;
    const uint8_t *hdr; /* points into the decoded buffer */
    size_t hdr_len;
    const uint8_t *body;
    size_t body_len;
} wire_frame;

/* Appends one frame to out. */
void wire_encode(buf *out, enum wire_kind kind, const void *hdr, size_t hdr_len,
                 const void *body, size_t body_len);

/* Builds a frame with no header in place: wire_begin appends the prefix
 * and returns where it starts; append the body to out; wire_finish fills
 * in the length. */
size_t wire_begin(buf *out, enum wire_kind kind);
void wire_finish(buf *out, size_t start);

/* Decodes the frame at the start of data[0..len).
 * Returns 1 and sets *frame and *consumed when a whole frame is there,
 * 0 when more bytes are needed, -1 (with err) when the bytes are malformed. */
int wire_decode(const uint8_t *data, size_t len, wire_frame *frame, size_t *consumed,
                dkv_err *err);

#endif
