/* session: a client's session state, key -> dependency (the highest version
 * the client has written or read for that key). It lives in the client
 * process, so it survives the client switching servers. */
#ifndef DKV_SESSION_H
#define DKV_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "../common/version.h"

typedef struct session session;

/* Caller frees with session_free. */
session *session_new(void);
void session_free(session *s);

/* The dependency on key; lamport 0 when the client has none. */
dkv_version session_dep(const session *s, const uint8_t *key, size_t key_len);
/* Raises the dependency on key to v (never lowers it). */
void session_observe(session *s, const uint8_t *key, size_t key_len, dkv_version v);
size_t session_size(const session *s);

typedef enum session_read {
    SESSION_READ_OK,      /* print the server's value; the dependency rose */
    SESSION_READ_ERR_KEY, /* no dependency and the server has no value */
    SESSION_READ_ERR_DEP, /* the server's version is older than the dependency */
} session_read;

/* Applies SPEC section 4 to a read: found/server_version is what the server
 * holds. Raises the dependency on OK. */
session_read session_check_read(session *s, const uint8_t *key, size_t key_len, int found,
                                dkv_version server_version);

#endif
