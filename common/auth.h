/* auth: every connection proves that both ends know the cluster's secret,
 * without sending it, and then authenticates every byte it carries.
 *
 * The secret is a file of at least 16 bytes (mode 0600, owned by the user
 * reading it); the key is a BLAKE2b hash of its content (trailing white
 * space dropped, so an editor's newline does not split a cluster).
 *
 * Handshake, on a fresh connection, before anything else:
 *   initiator -> acceptor   "DKA1" 'I' nonce_i[32]
 *   acceptor  -> initiator  "DKA1" 'A' nonce_a[32] mac_a[32]
 *   initiator -> acceptor   "DKA1" 'F' mac_i[32]
 * mac_a = HMAC-SHA512-256(key, "acceptor" nonce_i nonce_a), mac_i likewise
 * with "initiator": each side proves it knows the key, on nonces the other
 * side just drew (from the OS), so a recorded handshake cannot be replayed.
 * Each direction then gets its own key, derived from the key and both
 * nonces.
 *
 * A side whose peer's proof fails, or whose peer speaks the handshake out
 * of turn, answers with a refusal before it closes, so that the peer can
 * say why plainly instead of "connection closed":
 *   either way              "DKA1" 'X' reason[1]
 * (reason 1: the cluster secret does not match; 2: the handshake was not
 * followed). It is a hint for messages only: it proves nothing, and a
 * connection that carries one is over either way.
 *
 * Records, after the handshake, carry the connection's bytes:
 *   u32 length (big-endian) | payload | tag[16]
 * tag = Poly1305 over the length and payload, laid out as ChaCha20-Poly1305
 * (RFC 8439) lays out associated data with an empty message, keyed with a
 * one-time key: ChaCha20 keystream block number n of the direction's key
 * for the direction's n-th record (drawn eight blocks at a time, which
 * costs what one does; RFC 8439 takes block 0 of nonce n instead, a block
 * per record). A record replayed, dropped, reordered or changed fails its
 * tag, and the connection is closed. Payloads are authenticated, not
 * encrypted.
 *
 * The module is a byte-stream transform with no I/O of its own: callers
 * feed it what arrived and send what it appends to their output. */
#ifndef DKV_AUTH_H
#define DKV_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

/* Largest payload of one record accepted. */
#define AUTH_RECORD_MAX (1u << 20)
/* Bytes a record adds to its payload. */
#define AUTH_RECORD_OVERHEAD (4 + 16)
/* Largest payload auth_session_seal puts in one record (larger plaintexts
 * go in several): a whole record is then 64 KiB, what an event loop holds
 * per connection without reserving from its inbound budget (loop.h), and
 * the MAC of a bigger record would save nothing measurable. */
#define AUTH_SEAL_MAX ((64u << 10) - AUTH_RECORD_OVERHEAD)

typedef struct auth_key auth_key;

/* Reads the secret file: a regular file owned by this user, readable by no
 * one else, of 16 bytes to 64 KiB. NULL with err otherwise; caller frees
 * with auth_key_free. */
auth_key *auth_key_load(const char *path, dkv_err *err);
/* The key of secret bytes (for tests and for a secret made in memory). */
auth_key *auth_key_from_bytes(const void *secret, size_t n);
void auth_key_free(auth_key *k);

/* Writes a fresh random secret (64 hex digits) to path, mode 0600,
 * refusing to overwrite. */
int auth_secret_create(const char *path, dkv_err *err);

typedef struct auth_session auth_session;

/* One end of one connection. The initiator is the end that connected.
 * Caller frees with auth_session_free; k must outlive the session. */
auth_session *auth_session_new(const auth_key *k, bool initiator);
void auth_session_free(auth_session *s);

/* The initiator's first message, appended to out. */
void auth_session_start(auth_session *s, buf *out);

/* Consumes bytes that arrived: handshake messages (replies are appended to
 * out) and then records, whose payloads are appended to plain. Returns the
 * number of bytes consumed (the rest waits for more), or -1 with err when
 * the peer fails to prove the key, refuses us, or a record fails its tag;
 * the connection must then be closed, after sending what was appended to
 * out (a refusal, when the peer speaks the handshake). */
ssize_t auth_session_input(auth_session *s, const uint8_t *in, size_t n, buf *plain, buf *out,
                           dkv_err *err);

/* Whether the handshake completed: payloads may be sealed and received. */
bool auth_session_ready(const auth_session *s);

/* Why auth_session_input failed, for callers that word it their own way. */
typedef enum auth_failure {
    AUTH_FAIL_NONE,     /* it did not fail */
    AUTH_FAIL_PROTOCOL, /* the peer does not speak the handshake (or not in turn) */
    AUTH_FAIL_SECRET,   /* the peer's proof fails with our key: another secret, or a replay */
    AUTH_FAIL_REFUSED,  /* the peer refused us (its reason is in the message) */
    AUTH_FAIL_RECORD,   /* a record failed its tag or its length */
} auth_failure;
auth_failure auth_session_failure(const auth_session *s);

/* Appends plain[0..n) to out as one or more records (AUTH_SEAL_MAX bytes
 * of payload each). Only when ready. */
void auth_session_seal(auth_session *s, const uint8_t *plain, size_t n, buf *out);

#endif
