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
#define SECRET_MIN 16
#define SECRET_MAX (64u << 10)

struct auth_key {
    uint8_t k[KEY_BYTES];
};

typedef enum state { WAIT_I, WAIT_A, WAIT_F, READY, FAILED } state;

struct auth_session {
    const auth_key *key;
    bool initiator;
    state st;
    uint8_t nonce_i[NONCE_BYTES], nonce_a[NONCE_BYTES];
    uint8_t k_send[KEY_BYTES], k_recv[KEY_BYTES];
    uint64_t n_send, n_recv; /* record counters, one per direction */
};

static void need_sodium(void)
{
    /* Idempotent and thread-safe; it fails only without a randomness
     * source, and then nothing here can work. */
    if (sodium_init() < 0)
        abort();
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
        sodium_memzero(secret, (size_t)st.st_size);
        free(secret);
        return dkv_err_set(err, "secret file %s: cannot read 16 bytes or more", path), NULL;
    }
    auth_key *k = key_of(secret, n);
    sodium_memzero(secret, (size_t)st.st_size);
    free(secret);
    return k;
}

void auth_key_free(auth_key *k)
{
    if (!k)
        return;
    sodium_memzero(k, sizeof *k);
    free(k);
}

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

void auth_session_free(auth_session *s)
{
    if (!s)
        return;
    sodium_memzero(s, sizeof *s);
    free(s);
}

bool auth_session_ready(const auth_session *s) { return s->st == READY; }

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
    direction_key(s, s->initiator ? "initiator to acceptor" : "acceptor to initiator", s->k_send);
    direction_key(s, s->initiator ? "acceptor to initiator" : "initiator to acceptor", s->k_recv);
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

static void record_nonce(uint64_t counter, uint8_t nonce[12])
{
    memset(nonce, 0, 12);
    for (int i = 0; i < 8; i++)
        nonce[i] = (uint8_t)(counter >> (8 * i));
}

void auth_session_seal(auth_session *s, const uint8_t *plain, size_t n, buf *out)
{
    do {
        size_t chunk = n < AUTH_RECORD_MAX ? n : AUTH_RECORD_MAX;
        size_t start = buf_unread(out);
        buf_append_u32(out, (uint32_t)chunk);
        buf_append(out, plain, chunk);
        uint8_t nonce[12], tag[TAG_BYTES], none[1];
        record_nonce(s->n_send++, nonce);
        unsigned long long tag_len;
        /* No plaintext to encrypt: the record rides as associated data,
         * authenticated only (ChaCha20-Poly1305 with an empty message). */
        crypto_aead_chacha20poly1305_ietf_encrypt_detached(
            none, tag, &tag_len, none, 0, buf_head(out) + start, 4 + chunk, NULL, nonce,
            s->k_send);
        buf_append(out, tag, TAG_BYTES);
        plain += chunk;
        n -= chunk;
    } while (n > 0);
}

/* One handshake message of len bytes and kind at in; false when it is not. */
static bool is_msg(const uint8_t *in, char kind)
{
    return memcmp(in, MAGIC, 4) == 0 && in[4] == (uint8_t)kind;
}

static ssize_t fail(auth_session *s, dkv_err *err, const char *why)
{
    s->st = FAILED;
    dkv_err_set(err, "%s", why);
    return -1;
}

/* Handles the handshake message due, if whole; returns bytes used. */
static ssize_t handshake(auth_session *s, const uint8_t *in, size_t n, buf *out, dkv_err *err)
{
    uint8_t mac[MAC_BYTES];
    switch (s->st) {
    case WAIT_I:
        if (n < MSG_I_LEN)
            return 0;
        if (!is_msg(in, 'I'))
            return fail(s, err, "the peer did not start the authentication handshake");
        memcpy(s->nonce_i, in + 5, NONCE_BYTES);
        put_header(out, 'A');
        buf_append(out, s->nonce_a, NONCE_BYTES);
        proof(s, "acceptor", mac);
        buf_append(out, mac, MAC_BYTES);
        s->st = WAIT_F;
        return MSG_I_LEN;
    case WAIT_A:
        if (n < MSG_A_LEN)
            return 0;
        if (!is_msg(in, 'A'))
            return fail(s, err, "the peer did not answer the authentication handshake");
        memcpy(s->nonce_a, in + 5, NONCE_BYTES);
        proof(s, "acceptor", mac);
        if (sodium_memcmp(mac, in + 5 + NONCE_BYTES, MAC_BYTES) != 0)
            return fail(s, err, "the peer does not know the cluster's secret");
        put_header(out, 'F');
        proof(s, "initiator", mac);
        buf_append(out, mac, MAC_BYTES);
        become_ready(s);
        return MSG_A_LEN;
    case WAIT_F:
        if (n < MSG_F_LEN)
            return 0;
        proof(s, "initiator", mac);
        if (!is_msg(in, 'F') || sodium_memcmp(mac, in + 5, MAC_BYTES) != 0)
            return fail(s, err, "the peer does not know the cluster's secret");
        become_ready(s);
        return MSG_F_LEN;
    default:
        return fail(s, err, "authentication failed earlier on this connection");
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
        if (left < 4)
            break;
        uint32_t len = dkv_get_u32(r);
        if (len > AUTH_RECORD_MAX)
            return fail(s, err, "a record is longer than the limit");
        if (left < AUTH_RECORD_OVERHEAD + (size_t)len)
            break;
        uint8_t nonce[12], none[1];
        record_nonce(s->n_recv, nonce);
        if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(none, NULL, none, 0, r + 4 + len,
                                                               r, 4 + (size_t)len, nonce,
                                                               s->k_recv) != 0)
            return fail(s, err, "a record failed its authentication tag (forged, replayed or "
                                "damaged)");
        s->n_recv++;
        buf_append(plain, r + 4, len);
        used += AUTH_RECORD_OVERHEAD + (size_t)len;
    }
    return (ssize_t)used;
}
