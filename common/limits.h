/* limits: the sizes every program agrees on. A key or value beyond these is
 * refused where it enters (the master before sending, the client and the
 * server on their RPC arguments), so it never reaches the store or a peer.
 * The frame limit (wire.h) and the connection budgets (loop.h) are derived
 * from them. */
#ifndef DKV_LIMITS_H
#define DKV_LIMITS_H

/* Longest key, in bytes. */
#define DKV_MAX_KEY (64u << 10)
/* Longest value, in bytes. */
#define DKV_MAX_VALUE (16u << 20)

#endif
