#define _GNU_SOURCE
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"

#define KEY_BYTES 32
#define NONCE_BYTES 32
#define MAC_BYTES 32
#define TAG_BYTES 16
#define MAGIC "DKA1"
#define MSG_I_LEN (4 + 1 + NONCE_BYTES)
#define MSG_A_LEN (4 + 1 + NONCE_BYTES + MAC_BYTES)
#define MSG_F_LEN (4 + 1 + MAC_BYTES)
#define MSG_X_LEN (4 + 1 + 1)
#define REFUSE_SECRET 1
#define REFUSE_PROTOCOL 2
#define SECRET_MIN 16
#define SECRET_MAX (64u << 10)
/* One-time Poly1305 keys drawn from the keystream at a time: ChaCha20
 * makes eight blocks in about the time it makes one, and computing a block
 * per record cost as much as the MAC itself. */
#define OTK_BATCH 8
#define BLOCK_BYTES 64

struct auth_key {
    uint8_t k[KEY_BYTES];
};

typedef enum state { WAIT_I, WAIT_A, WAIT_F, READY, FAILED } state;

/* One direction of records: its key, its record counter, and the one-time
 * keys of the next records. */
typedef struct direction {
    uint8_t key[KEY_BYTES];
    uint64_t n;                             /* records so far */
    uint64_t batch;                         /* the batch in otk, + 1 (0: none) */
    uint8_t otk[OTK_BATCH * BLOCK_BYTES];
} direction;

struct auth_session {
    const auth_key *key;
    bool initiator;
    state st;
    uint8_t nonce_i[NONCE_BYTES], nonce_a[NONCE_BYTES];
    direction send, recv;
    auth_failure failure;
};

static void need_sodium(void)
{
    /* Idempotent and thread-safe; it fails only without a randomness
     * source, and then nothing here can work. */
    if (sodium_init() < 0)
        abort();
}

/* Frees p after zeroing its n bytes, so that no secret outlives its use in
 * freed memory. */
static void wipe_free(void *p, size_t n)
{
    if (!p)
        return;
    sodium_memzero(p, n);
    free(p);
}

static auth_key *key_of(const uint8_t *secret, size_t n)
{
    need_sodium();
    static const char context[] = "daadkvs cluster key v1";
    auth_key *k = xmalloc(sizeof *k);
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, KEY_BYTES);
    crypto_generichash_update(&h, (const uint8_t *)context, sizeof context - 1);
    crypto_generichash_update(&h, secret, n);
    crypto_generichash_final(&h, k->k, KEY_BYTES);
    return k;
}

auth_key *auth_key_from_bytes(const void *secret, size_t n) { return key_of(secret, n); }

auth_key *auth_key_load(const char *path, dkv_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return dkv_err_set(err, "secret file %s: %s", path, strerror(errno)), NULL;
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) < 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (st.st_uid != geteuid())
        why = "owned by another user";
    else if (st.st_mode & 077)
        why = "readable or writable by others (chmod 600 it)";
    else if (st.st_size < SECRET_MIN || st.st_size > (off_t)SECRET_MAX)
        why = "not between 16 bytes and 64 KiB";
    if (why) {
        close(fd);
        return dkv_err_set(err, "secret file %s: %s", path, why), NULL;
    }
    uint8_t *secret = xmalloc((size_t)st.st_size);
    ssize_t got = read(fd, secret, (size_t)st.st_size);
    close(fd);
    size_t n = got > 0 ? (size_t)got : 0;
    while (n > 0 && (secret[n - 1] == '\n' || secret[n - 1] == '\r' || secret[n - 1] == ' ' ||
                     secret[n - 1] == '\t'))
        n--;
    if (got != (ssize_t)st.st_size || n < SECRET_MIN) {
        wipe_free(secret, (size_t)st.st_size);
        return dkv_err_set(err, "secret file %s: cannot read 16 bytes or more", path), NULL;
    }
    auth_key *k = key_of(secret, n);
    wipe_free(secret, (size_t)st.st_size);
    return k;
}

void auth_key_free(auth_key *k) { wipe_free(k, sizeof *k); }

int auth_secret_create(const char *path, dkv_err *err)
{
    need_sodium();
    uint8_t raw[32];
    char hex[2 * sizeof raw + 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    size_t len = strlen(hex);
    hex[len++] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return dkv_err_set(err, "secret file %s: %s", path, strerror(errno));
    ssize_t w = write(fd, hex, len);
    sodium_memzero(hex, sizeof hex);
    int rc = (w == (ssize_t)len && fsync(fd) == 0) ? 0 : -1;
    if (close(fd) < 0 || rc < 0) {
        unlink(path);
        return dkv_err_set(err, "secret file %s: cannot write it", path);
    }
    return 0;
}

auth_session *auth_session_new(const auth_key *k, bool initiator)
{
    need_sodium();
    auth_session *s = xcalloc(1, sizeof *s);
    s->key = k;
    s->initiator = initiator;
    s->st = initiator ? WAIT_A : WAIT_I;
    randombytes_buf(initiator ? s->nonce_i : s->nonce_a, NONCE_BYTES);
    return s;
}

void auth_session_free(auth_session *s) { wipe_free(s, sizeof *s); }

bool auth_session_ready(const auth_session *s) { return s->st == READY; }
auth_failure auth_session_failure(const auth_session *s) { return s->failure; }

/* HMAC of role || nonce_i || nonce_a under the cluster key. */
static void proof(const auth_session *s, const char *role, uint8_t out[MAC_BYTES])
{
    crypto_auth_hmacsha512256_state h;
    crypto_auth_hmacsha512256_init(&h, s->key->k, KEY_BYTES);
    crypto_auth_hmacsha512256_update(&h, (const uint8_t *)role, strlen(role));
    crypto_auth_hmacsha512256_update(&h, s->nonce_i, NONCE_BYTES);
    crypto_auth_hmacsha512256_update(&h, s->nonce_a, NONCE_BYTES);
    crypto_auth_hmacsha512256_final(&h, out);
}

static void direction_key(const auth_session *s, const char *dir, uint8_t out[KEY_BYTES])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, s->key->k, KEY_BYTES, KEY_BYTES);
    crypto_generichash_update(&h, (const uint8_t *)dir, strlen(dir));
    crypto_generichash_update(&h, s->nonce_i, NONCE_BYTES);
    crypto_generichash_update(&h, s->nonce_a, NONCE_BYTES);
    crypto_generichash_final(&h, out, KEY_BYTES);
}

static void become_ready(auth_session *s)
{
    direction_key(s, s->initiator ? "initiator to acceptor" : "acceptor to initiator",
                  s->send.key);
    direction_key(s, s->initiator ? "acceptor to initiator" : "initiator to acceptor",
                  s->recv.key);
    s->st = READY;
}

static void put_header(buf *out, char kind)
{
    buf_append(out, MAGIC, 4);
    buf_append(out, &kind, 1);
}

void auth_session_start(auth_session *s, buf *out)
{
    put_header(out, 'I');
    buf_append(out, s->nonce_i, NONCE_BYTES);
}

/* Record n's one-time Poly1305 key: ChaCha20 keystream block n of the
 * direction's key (96-bit nonce: n's high 32 bits; block counter: its low
 * 32), the first 32 bytes. Each block serves one record only, and is
 * never revealed. */
static const uint8_t *one_time_key(direction *d, uint64_t n)
{
    uint64_t batch = n / OTK_BATCH;
    if (d->batch != batch + 1) {
        static const uint8_t zeros[OTK_BATCH * BLOCK_BYTES];
        uint8_t nonce[12] = {0};
        for (int i = 0; i < 4; i++)
            nonce[8 + i] = (uint8_t)(n >> (32 + 8 * i));
        crypto_stream_chacha20_ietf_xor_ic(d->otk, zeros, sizeof d->otk, nonce,
                                           (uint32_t)(batch * OTK_BATCH), d->key);
        d->batch = batch + 1;
    }
    return d->otk + (n % OTK_BATCH) * BLOCK_BYTES;
}

/* The tag of a record (length and payload at rec[0..len)), laid out as
 * ChaCha20-Poly1305 lays out associated data with an empty message. */
static void record_tag(direction *d, const uint8_t *rec, size_t len, uint8_t tag[TAG_BYTES])
{
    static const uint8_t pad[16];
    uint8_t lengths[16] = {0};
    for (int i = 0; i < 8; i++)
        lengths[i] = (uint8_t)((uint64_t)len >> (8 * i));
    crypto_onetimeauth_poly1305_state st;
    crypto_onetimeauth_poly1305_init(&st, one_time_key(d, d->n));
    crypto_onetimeauth_poly1305_update(&st, rec, len);
    crypto_onetimeauth_poly1305_update(&st, pad, (16 - len % 16) % 16);
    crypto_onetimeauth_poly1305_update(&st, lengths, sizeof lengths);
    crypto_onetimeauth_poly1305_final(&st, tag);
}

void auth_session_seal(auth_session *s, const uint8_t *plain, size_t n, buf *out)
{
    do {
        size_t chunk = n < AUTH_SEAL_MAX ? n : AUTH_SEAL_MAX;
        size_t start = buf_unread(out);
        buf_append_u32(out, (uint32_t)chunk);
        buf_append(out, plain, chunk);
        if (buf_failed(out))
            return; /* out of memory (a fallible buffer): its owner discards it */
        uint8_t tag[TAG_BYTES];
        record_tag(&s->send, buf_head(out) + start, 4 + chunk, tag);
        s->send.n++;
        buf_append(out, tag, TAG_BYTES);
        plain += chunk;
        n -= chunk;
    } while (n > 0);
}

/* How the first bytes at in[0..n) compare with "DKA1" and a kind: 1 they
 * are that message's start (or all of it), 0 they start another message,
 * -1 they cannot be a handshake message at all. */
static int msg_prefix(const uint8_t *in, size_t n, char kind)
{
    size_t k = n < 4 ? n : 4;
    if (memcmp(in, MAGIC, k) != 0)
        return -1;
    return n < 5 || in[4] == (uint8_t)kind ? 1 : 0;
}

static const char *refusal_text(uint8_t reason)
{
    switch (reason) {
    case REFUSE_SECRET: return "the cluster secret does not match";
    case REFUSE_PROTOCOL: return "the authentication handshake was not followed";
    default: return "for a reason this version does not know";
    }
}

/* Fails the session; reason (when not 0) is a refusal for the peer, which
 * the caller sends before it closes. */
static ssize_t fail(auth_session *s, dkv_err *err, auth_failure why, uint8_t reason, buf *out,
                    const char *msg)
{
    s->st = FAILED;
    s->failure = why;
    if (reason) {
        put_header(out, 'X');
        buf_append(out, &reason, 1);
    }
    dkv_err_set(err, "%s", msg);
    return -1;
}

/* A refusal at in (MSG_X_LEN bytes): fails with the peer's reason. */
static ssize_t refused(auth_session *s, const uint8_t *in, dkv_err *err)
{
    s->st = FAILED;
    s->failure = AUTH_FAIL_REFUSED;
    dkv_err_set(err, "refused by the peer: %s", refusal_text(in[5]));
    return -1;
}

/* The message due is kind, of len bytes, unless the peer refuses us; the
 * bytes at in[0..n) are checked. Returns 1 when that message is whole at
 * in, 0 when more bytes are needed, -1 (failed) otherwise. */
static int expect(auth_session *s, const uint8_t *in, size_t n, char kind, size_t len, buf *out,
                  dkv_err *err)
{
    if (msg_prefix(in, n, 'X') == 1 && n >= 5)
        return n < MSG_X_LEN ? 0 : (int)refused(s, in, err);
    int p = msg_prefix(in, n, kind);
    if (p < 0)
        return (int)fail(s, err, AUTH_FAIL_PROTOCOL, 0, out,
                         "the peer does not speak the authentication handshake");
    if (p == 0)
        return (int)fail(s, err, AUTH_FAIL_PROTOCOL, REFUSE_PROTOCOL, out,
                         "the peer sent an authentication message out of turn");
    return n >= len ? 1 : 0;
}

/* Handles the handshake message due, if whole; returns bytes used. */
static ssize_t handshake(auth_session *s, const uint8_t *in, size_t n, buf *out, dkv_err *err)
{
    uint8_t mac[MAC_BYTES];
    int whole;
    switch (s->st) {
    case WAIT_I:
        if ((whole = expect(s, in, n, 'I', MSG_I_LEN, out, err)) <= 0)
            return whole;
        memcpy(s->nonce_i, in + 5, NONCE_BYTES);
        put_header(out, 'A');
        buf_append(out, s->nonce_a, NONCE_BYTES);
        proof(s, "acceptor", mac);
        buf_append(out, mac, MAC_BYTES);
        s->st = WAIT_F;
        return MSG_I_LEN;
    case WAIT_A:
        if ((whole = expect(s, in, n, 'A', MSG_A_LEN, out, err)) <= 0)
            return whole;
        memcpy(s->nonce_a, in + 5, NONCE_BYTES);
        proof(s, "acceptor", mac);
        if (sodium_memcmp(mac, in + 5 + NONCE_BYTES, MAC_BYTES) != 0)
            return fail(s, err, AUTH_FAIL_SECRET, REFUSE_SECRET, out,
                        "the cluster secret does not match: the peer's proof of it fails "
                        "with ours");
        put_header(out, 'F');
        proof(s, "initiator", mac);
        buf_append(out, mac, MAC_BYTES);
        become_ready(s);
        return MSG_A_LEN;
    case WAIT_F:
        if ((whole = expect(s, in, n, 'F', MSG_F_LEN, out, err)) <= 0)
            return whole;
        proof(s, "initiator", mac);
        if (sodium_memcmp(mac, in + 5, MAC_BYTES) != 0)
            return fail(s, err, AUTH_FAIL_SECRET, REFUSE_SECRET, out,
                        "the cluster secret does not match: the peer's proof of it fails "
                        "with ours (or it replays a recorded handshake)");
        become_ready(s);
        return MSG_F_LEN;
    default:
        return fail(s, err, s->failure, 0, out, "authentication failed earlier on this connection");
    }
}

ssize_t auth_session_input(auth_session *s, const uint8_t *in, size_t n, buf *plain, buf *out,
                           dkv_err *err)
{
    size_t used = 0;
    while (used < n) {
        if (s->st != READY) {
            ssize_t h = handshake(s, in + used, n - used, out, err);
            if (h <= 0)
                return h < 0 ? -1 : (ssize_t)used;
            used += (size_t)h;
            continue;
        }
        const uint8_t *r = in + used;
        size_t left = n - used;
        /* An acceptor that refuses our proof answers our first records with
         * its refusal; "DKA1" is never the length of a record. */
        if (s->initiator && s->recv.n == 0 && left >= 5 && msg_prefix(r, left, 'X') == 1) {
            if (left < MSG_X_LEN)
                break;
            return refused(s, r, err);
        }
        if (left < 4)
            break;
        uint32_t len = dkv_get_u32(r);
        if (len > AUTH_RECORD_MAX)
            return fail(s, err, AUTH_FAIL_RECORD, 0, out, "a record is longer than the limit");
        if (left < AUTH_RECORD_OVERHEAD + (size_t)len)
            break;
        uint8_t tag[TAG_BYTES];
        record_tag(&s->recv, r, 4 + (size_t)len, tag);
        if (crypto_verify_16(tag, r + 4 + len) != 0)
            return fail(s, err, AUTH_FAIL_RECORD, 0, out,
                        "a record failed its authentication tag (forged, replayed or damaged)");
        s->recv.n++;
        buf_append(plain, r + 4, len);
        used += AUTH_RECORD_OVERHEAD + (size_t)len;
    }
    return (ssize_t)used;
}
