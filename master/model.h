/* model: the master's view of the cluster it has built: which ids are
 * servers and which clients, which servers are live, which server links are
 * cut, which server each client is attached to. It is exact, because every
 * change goes through the master; stabilize derives its groups from it. */
#ifndef DKV_MODEL_H
#define DKV_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum model_role { MODEL_ROLE_NONE, MODEL_ROLE_SERVER, MODEL_ROLE_CLIENT } model_role;

typedef struct model model;

/* Caller frees with model_free. */
model *model_new(void);
void model_free(model *m);

model_role model_role_of(const model *m, uint64_t id);
bool model_server_live(const model *m, uint64_t id);
/* Marks id a live server; a rejoin clears every cut involving it. */
void model_server_up(model *m, uint64_t id);
void model_server_down(model *m, uint64_t id);

bool model_is_cut(const model *m, uint64_t a, uint64_t b);
void model_set_cut(model *m, uint64_t a, uint64_t b, bool cut);

/* Faults. A live server may be paused (a rejoin or a kill ends it). A link
 * may be blocked one way (frames from `from` to `to` held); a kill forgets
 * the blocks involving the server. */
bool model_server_paused(const model *m, uint64_t id);
void model_set_paused(model *m, uint64_t id, bool paused);
bool model_is_blocked(const model *m, uint64_t from, uint64_t to);
void model_set_blocked(model *m, uint64_t from, uint64_t to, bool blocked);
/* Whether the a-b link is held at both ends (out of routing and groups,
 * keepalive only): blocked both ways, or either server paused. Blocked
 * one way only, it carries data the other way but is out of routing and
 * groups too (model_is_apart). */
bool model_is_held(const model *m, uint64_t a, uint64_t b);
/* Cut, held or blocked either way: the link does not join a and b in one
 * group. */
bool model_is_apart(const model *m, uint64_t a, uint64_t b);

/* Marks id a client (running). */
void model_client_add(model *m, uint64_t id);
/* The client's process is gone (it died, or its machine was lost): it is
 * detached, and stays a client that joinClient starts again. */
void model_client_gone(model *m, uint64_t id);
bool model_client_running(const model *m, uint64_t id);
/* sid of the server the client is attached to; false when detached. */
bool model_client_server(const model *m, uint64_t id, uint64_t *sid);
void model_client_attach(model *m, uint64_t id, uint64_t sid);
void model_client_detach(model *m, uint64_t id);
/* Clients attached to sid, up to cap; returns the count. */
size_t model_clients_of(const model *m, uint64_t sid, uint64_t *out, size_t cap);

/* Live servers, ascending; returns the count (may exceed cap). */
size_t model_live_servers(const model *m, uint64_t *out, size_t cap);
/* Connected groups of live servers through links not apart (a paused
 * server is a group of its own): group[i] is the
 * group number (0-based, ordered by lowest member) of the i-th live server
 * of model_live_servers. Returns the number of groups. */
size_t model_groups(const model *m, size_t *group, size_t cap);

#endif
