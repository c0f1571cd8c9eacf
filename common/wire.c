#include "wire.h"

void wire_encode(buf *out, enum wire_kind kind, const void *hdr, size_t hdr_len,
                 const void *body, size_t body_len)
{
    buf_reserve(out, WIRE_PREFIX + hdr_len + body_len);
    buf_append_u32(out, (uint32_t)(1 + 4 + hdr_len + body_len));
    uint8_t k = (uint8_t)kind;
    buf_append(out, &k, 1);
    buf_append_u32(out, (uint32_t)hdr_len);
    buf_append(out, hdr, hdr_len);
    buf_append(out, body, body_len);
}

/* Positions are counted from the read offset: appending may compact the
 * buffer, which moves its unread bytes to the front. */
size_t wire_begin(buf *out, enum wire_kind kind)
{
    size_t start = buf_unread(out);
    buf_append_u32(out, 0);
    uint8_t k = (uint8_t)kind;
    buf_append(out, &k, 1);
    buf_append_u32(out, 0);
    return start;
}

void wire_finish(buf *out, size_t start)
{
    if (buf_failed(out))
        return; /* the prefix may be missing: the owner discards the buffer */
    dkv_put_u32(buf_head(out) + start, (uint32_t)(buf_unread(out) - start - 4));
}

int wire_decode(const uint8_t *data, size_t len, wire_frame *frame, size_t *consumed,
                dkv_err *err)
{
    if (len < 4)
        return 0;
    uint32_t flen = dkv_get_u32(data);
    if (flen < 5)
        return dkv_err_set(err, "frame length %u is too short", flen);
    if (flen > WIRE_MAX_FRAME)
        return dkv_err_set(err, "frame length %u exceeds the limit of %u", flen,
                           WIRE_MAX_FRAME);
    uint8_t kind = len > 4 ? data[4] : 0;
    if (len > 4 && kind != WIRE_CALL && kind != WIRE_REPLY && kind != WIRE_EVENT &&
                    kind != WIRE_PEER)
        return dkv_err_set(err, "unknown frame kind 0x%02x", kind);
    if (len < 4 + (size_t)flen)
        return 0;
    uint32_t hlen = dkv_get_u32(data + 5);
    if (hlen > flen - 5)
        return dkv_err_set(err, "frame header length %u exceeds frame length %u", hlen, flen);
    frame->kind = (enum wire_kind)kind;
    frame->hdr = data + 9;
    frame->hdr_len = hlen;
    frame->body = data + 9 + hlen;
    frame->body_len = flen - 5 - hlen;
    *consumed = 4 + (size_t)flen;
    return 1;
}
