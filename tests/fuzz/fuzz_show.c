/* Fuzzes what the master does with a server's show reply (showServer):
 * proto_decode by the show reply's layout, with its rule that the nodes
 * hold together (check_server_show), and proto_id_list_check on its own.
 * The first byte picks which:
 * - even: the rest, as text, is an id list; checked against an independent
 *   reading (ids of digits only, no leading zero, at most DKV_ID_MAX,
 *   strictly ascending, comma-separated, "" for none);
 * - odd: the rest describes the reply's values, each a type byte (integer,
 *   base64, string, boolean), a length byte and that many bytes (an
 *   integer: a small one from one byte, else up to 8 bytes); what is
 *   accepted must flatten and decode again to the same values.
 * Nothing may crash, read out of bounds or leak. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/ids.h"
#include "../../common/proto.h"
#include "../../common/xalloc.h"
#include "../flateq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_show: %s\n", why);
    abort();
}

static bool reference_list(const char *s)
{
    uint64_t prev = 0;
    for (size_t i = 0; *s; i++) {
        uint64_t v = 0;
        size_t digits = 0;
        if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
            return false; /* a leading zero */
        for (; *s >= '0' && *s <= '9'; s++, digits++)
            if (v <= DKV_ID_MAX)
                v = v * 10 + (uint64_t)(*s - '0');
        if (digits == 0 || v > DKV_ID_MAX || (i > 0 && v <= prev))
            return false;
        prev = v;
        if (*s == ',' && s[1])
            s++;
        else if (*s)
            return false;
    }
    return true;
}

static void *heap(void *ctx, size_t n)
{
    void **mem = ctx;
    *mem = xcalloc(1, n);
    return *mem;
}

/* Decodes msg as the show reply: 0, or -1. *group gets the nodes. */
static int decode(const rpcflat_msg *msg, proto_server_show_reply *r, void **group)
{
    memset(r, 0, sizeof *r);
    dkv_err err;
    return proto_decode(&proto_server_show.reply, msg, false, "show", r, heap, group, &err);
}

static void check_reply(const uint8_t *data, size_t size)
{
    rpcflat_msg *msg = rpcflat_msg_new();
    char *texts[64];
    size_t n_texts = 0;
    while (size >= 2 && n_texts < 64) {
        uint8_t type = data[0] % 4;
        size_t len = data[1];
        data += 2;
        size -= 2;
        if (len > size)
            len = size;
        rpcflat_val v;
        if (type == 0) {
            int64_t i = 0;
            if (len <= 1)
                i = len ? (int8_t)data[0] : 0;
            else
                memcpy(&i, data, len < 8 ? len : 8);
            v = rpcflat_int(i);
        } else if (type == 1) {
            v = rpcflat_bytes(data, len);
        } else if (type == 2) {
            char *t = texts[n_texts++] = xmalloc(len + 1);
            memcpy(t, data, len);
            t[len] = '\0';
            v = rpcflat_string(t);
        } else {
            v = rpcflat_bool(len & 1);
        }
        if (rpcflat_msg_add(msg, v) < 0)
            fail("out of memory");
        data += len;
        size -= len;
    }
    proto_server_show_reply r;
    void *group = NULL;
    if (decode(msg, &r, &group) == 0) {
        /* Accepted: its flat form decodes again, to the same values. */
        const proto_layout *l = &proto_server_show.reply;
        size_t n = proto_count(l, &r);
        rpcflat_val *vals = xcalloc(n + 1, sizeof *vals);
        proto_flatten(l, &r, vals);
        rpcflat_msg *again = rpcflat_msg_new();
        for (size_t i = 0; i < n; i++)
            if (rpcflat_msg_add(again, vals[i]) < 0)
                fail("out of memory");
        proto_server_show_reply r2;
        void *group2 = NULL;
        if (decode(again, &r2, &group2) < 0)
            fail("an accepted reply does not decode again");
        rpcflat_val *vals2 = xcalloc(n + 1, sizeof *vals2);
        if (proto_count(l, &r2) != n)
            fail("decoded again: another count");
        proto_flatten(l, &r2, vals2);
        for (size_t i = 0; i < n; i++)
            if (!flateq_val(&vals[i], &vals2[i]))
                fail("decoded again: another value");
        free(vals);
        free(vals2);
        free(group2);
        rpcflat_msg_free(again);
    }
    free(group);
    rpcflat_msg_free(msg);
    for (size_t i = 0; i < n_texts; i++)
        free(texts[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] % 2) {
        check_reply(data + 1, size - 1);
        return 0;
    }
    char *s = xmalloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    dkv_err err;
    if ((proto_id_list_check(s, &err) == 0) != reference_list(s))
        fail("proto_id_list_check and the reference disagree");
    free(s);
    return 0;
}
