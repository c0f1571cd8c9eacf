/* config: the cluster file of `master --config FILE` (JSON), which names
 * the machines, the secret file and where each server and client id runs:
 *
 *   {
 *     "secret_file": "secret",
 *     "machines": [
 *       {"name": "m1", "watchdog": "10.44.0.1:7401"},
 *       {"name": "m2", "watchdog": "10.44.0.2:7401"}
 *     ],
 *     "servers": {"m1": [1, 2], "m2": [3]},
 *     "clients": {"m2": [10]},
 *     "default_machine": "m1"
 *   }
 *
 * "secret_file" is relative to the cluster file's directory unless
 * absolute. "servers", "clients" and "default_machine" are optional. An id
 * not listed runs, when "default_machine" is given, there; otherwise a
 * server runs on the machines in turn, in the order the script first joins
 * unlisted servers (the first on the first machine, ...), and a client on
 * the machine of the server it first joins. Unknown fields are errors (a
 * typo must not be ignored). Every error names the file, the line and
 * column, and the field, e.g.
 *   cluster.json:7:20: machines[1].watchdog: expected HOST:PORT */
#ifndef DKV_CONFIG_H
#define DKV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

/* Most machines a cluster file may name. */
#define CONFIG_MAX_MACHINES 256

typedef struct config_machine {
    char name[64];
    char host[256]; /* as written: a name, an IPv4 address or [IPv6] */
    uint16_t port;
} config_machine;

typedef struct config config;

/* Reads and checks path. NULL with err naming the file, line, column and
 * field; caller frees with config_free. */
config *config_load(const char *path, dkv_err *err);
/* The same from text already read (name is used in messages). */
config *config_parse(const char *name, const char *text, size_t len, const char *dir,
                     dkv_err *err);
void config_free(config *c);

/* The secret file, resolved against the cluster file's directory. */
const char *config_secret_file(const config *c);
size_t config_machines(const config *c);
const config_machine *config_machine_at(const config *c, size_t i);

/* Where a listed id runs: the machine's index, or -1 when it is not listed
 * (then the placement rule applies, see config_place). */
int config_listed(const config *c, uint64_t id, bool server);
/* The machine for id by the documented rule: listed, else
 * default_machine, else (servers) the next machine in turn, (clients) the
 * machine of the server it first joins (server_machine). An id keeps its
 * machine once placed. -1 with err when the file places id in the other
 * role. */
int config_place(config *c, uint64_t id, bool server, size_t server_machine, size_t *out,
                 dkv_err *err);

#endif
