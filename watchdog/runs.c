#define _GNU_SOURCE
#include "runs.h"
#include "../common/vec.h"
#include "../common/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/daemon.h"

struct run {
    char id[80];
    char dir[4200];
    procs *procs;
    bool keep, sync, local;
    void *owner;
};

/* A run directory a crashed watchdog left: kept until expires for its
 * master to begin the run again. */
typedef struct orphan {
    char id[80];
    int64_t expires_us;
} orphan;

struct runs {
    runs_config cfg;
    char bin_dir[4096], data_dir[4096], child_host[256];
    run **r;
    size_t n, cap;
    orphan *orphans;
    size_t n_orphans, cap_orphans;
};

/* A directory of ours, made when missing: mode 0700, owned by this user,
 * so that nobody else can plant or read a run's data. */
static int own_dir(const char *path, dkv_err *err)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return dkv_err_set(err, "cannot create %s: %s", path, strerror(errno));
    struct stat st;
    if (lstat(path, &st) < 0)
        return dkv_err_set(err, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return dkv_err_set(err, "%s: not a directory", path);
    if (st.st_uid != geteuid())
        return dkv_err_set(err, "%s: owned by another user (uid %u)", path, (unsigned)st.st_uid);
    if (st.st_mode & 022)
        return dkv_err_set(err, "%s: writable by others (mode %03o)", path,
                           (unsigned)(st.st_mode & 0777));
    return 0;
}

static bool is_run_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static bool has_keep_marker(const char *dir)
{
    char marker[4500];
    snprintf(marker, sizeof marker, "%s/KEEP", dir);
    return access(marker, F_OK) == 0;
}

/* Run directories of an earlier watchdog that did not end them (it was
 * killed): orphans, unless kept on purpose. */
static void adopt_leftovers(runs *rs, int64_t now_us)
{
    DIR *d = opendir(rs->data_dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, "run-", 4) != 0 || !is_run_id(e->d_name + 4))
            continue;
        char dir[4400];
        snprintf(dir, sizeof dir, "%s/%s", rs->data_dir, e->d_name);
        if (has_keep_marker(dir))
            continue;
        orphan *o = VEC_PUSH(rs->orphans, rs->n_orphans, rs->cap_orphans);
        snprintf(o->id, sizeof o->id, "%s", e->d_name + 4);
        o->expires_us = now_us + rs->cfg.orphan_grace_us;
        fprintf(stderr,
                "watchdog: run %s was left by a watchdog that did not end it; its directory "
                "waits %" PRId64 " s for its master\n",
                o->id, rs->cfg.orphan_grace_us / 1000000);
    }
    closedir(d);
}

static run *new_run(runs *rs, const char *id, const char *dir, bool local)
{
    run *r = xcalloc(1, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    r->local = local;
    r->procs = procs_new(rs->bin_dir, dir, rs->child_host);
    procs_set_secret_file(r->procs, rs->cfg.secret_file ? rs->cfg.secret_file : "");
    procs_set_run_id(r->procs, id);
    procs_set_max(r->procs, rs->cfg.max_procs);
    procs_set_valgrind(r->procs, rs->cfg.valgrind);
    *VEC_PUSH(rs->r, rs->n, rs->cap) = r;
    return r;
}

runs *runs_new(const runs_config *cfg, int64_t now_us, dkv_err *err)
{
    runs *rs = xcalloc(1, sizeof *rs);
    rs->cfg = *cfg;
    snprintf(rs->bin_dir, sizeof rs->bin_dir, "%s", cfg->bin_dir);
    snprintf(rs->child_host, sizeof rs->child_host, "%s", cfg->child_host);
    if (!cfg->data_dir) {
        new_run(rs, cfg->run_id ? cfg->run_id : "", cfg->run_dir, true);
        return rs;
    }
    snprintf(rs->data_dir, sizeof rs->data_dir, "%s", cfg->data_dir);
    if (own_dir(rs->data_dir, err) < 0) {
        free(rs);
        return NULL;
    }
    adopt_leftovers(rs, now_us);
    return rs;
}

static void free_run(run *r)
{
    procs_free(r->procs);
    free(r);
}

void runs_free(runs *rs)
{
    if (!rs)
        return;
    while (rs->n > 0) {
        run *r = rs->r[rs->n - 1];
        if (r->local) {
            rs->n--;
            free_run(r);
        } else {
            runs_end(rs, r, "the watchdog is stopping", true);
        }
    }
    free(rs->r);
    free(rs->orphans);
    free(rs);
}

run *runs_local(runs *rs) { return !rs->cfg.data_dir && rs->n > 0 ? rs->r[0] : NULL; }

static run *find_run(const runs *rs, const char *id)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i]->id, id) == 0)
            return rs->r[i];
    return NULL;
}

/* Takes id off the orphan list; true when it was there. */
static bool claim_orphan(runs *rs, const char *id)
{
    for (size_t i = 0; i < rs->n_orphans; i++)
        if (strcmp(rs->orphans[i].id, id) == 0) {
            rs->orphans[i] = rs->orphans[--rs->n_orphans];
            return true;
        }
    return false;
}

static void apply_opts(run *r, const runs_opts *o)
{
    r->sync = o->sync;
    r->keep = o->keep;
    if (o->valgrind)
        procs_set_valgrind(r->procs, true);
    procs_set_trace(r->procs, o->trace);
    if (r->keep && !r->local) {
        char marker[4300];
        snprintf(marker, sizeof marker, "%s/KEEP", r->dir);
        FILE *f = fopen(marker, "w");
        if (!f || fclose(f) != 0)
            fprintf(stderr, "watchdog: run %s: cannot write %s: %s\n", r->id, marker,
                    strerror(errno));
    }
}

run *runs_begin(runs *rs, const char *id, const runs_opts *o, bool *resumed, dkv_err *err)
{
    *resumed = false;
    if (!rs->cfg.data_dir) {
        run *r = rs->r[0];
        if (r->owner)
            return dkv_err_set(err, "run %s is in progress: this watchdog serves one master",
                               r->id),
                   NULL;
        if (r->id[0] && strcmp(r->id, id) != 0)
            return dkv_err_set(err, "this watchdog serves run %s only, not %s", r->id, id),
                   NULL;
        snprintf(r->id, sizeof r->id, "%s", id);
        procs_set_run_id(r->procs, id);
        apply_opts(r, o);
        return r;
    }
    run *r = find_run(rs, id);
    if (r)
        return dkv_err_set(err, "run %s is in progress already (another connection began it)",
                           id),
               NULL;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/run-%s", rs->data_dir, id);
    bool was_orphan = claim_orphan(rs, id);
    struct stat st;
    *resumed = was_orphan || lstat(dir, &st) == 0;
    if (own_dir(dir, err) < 0)
        return NULL;
    r = new_run(rs, id, dir, false);
    apply_opts(r, o);
    return r;
}

void runs_end(runs *rs, run *r, const char *why, bool log)
{
    size_t n = procs_count(r->procs);
    procs_kill_all(r->procs);
    r->owner = NULL;
    if (r->local) {
        if (log)
            fprintf(stderr, "watchdog: run %s ended (%s); %zu processes ended\n", r->id, why, n);
        return;
    }
    bool keep = r->keep;
    if (!keep)
        daemon_remove_tree(r->dir);
    if (log)
        fprintf(stderr, "watchdog: run %s ended (%s); %zu processes ended, %s %s\n", r->id, why,
                n, keep ? "kept" : "removed", r->dir);
    for (size_t i = 0; i < rs->n; i++)
        if (rs->r[i] == r) {
            rs->r[i] = rs->r[--rs->n];
            break;
        }
    free_run(r);
}

void run_set_owner(run *r, void *owner) { r->owner = owner; }
void *run_owner(const run *r) { return r->owner; }
const char *run_id(const run *r) { return r->id; }
const char *run_dir(const run *r) { return r->dir; }
bool run_sync(const run *r) { return r->sync; }

int run_start(runs *rs, run *r, procs_kind kind, uint64_t id, bool sync, bool rejoin,
              uint16_t *port, pid_t *pid, dkv_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < rs->n; i++)
        total += procs_count(rs->r[i]->procs);
    if (total >= rs->cfg.max_procs)
        return dkv_err_set(err,
                           "watchdog: at most %zu processes at a time (--max-procs); %s %" PRIu64
                           " refused",
                           rs->cfg.max_procs, kind == PROCS_SERVER ? "server" : "client", id);
    procs_start_opts so = {sync || r->sync, rejoin, rs->cfg.start_timeout_ms};
    return procs_start(r->procs, kind, id, &so, port, pid, err);
}

int run_kill(run *r, uint64_t id, dkv_err *err) { return procs_kill(r->procs, id, err); }
int run_pause(run *r, uint64_t id, bool paused, dkv_err *err)
{
    return procs_pause(r->procs, id, paused, err);
}

run *runs_reaped(runs *rs, pid_t pid, int status, procs_death *d)
{
    for (size_t i = 0; i < rs->n; i++)
        if (procs_reaped(rs->r[i]->procs, pid, status, d))
            return rs->r[i];
    return NULL;
}

void runs_tick(runs *rs, int64_t now_us)
{
    for (size_t i = 0; i < rs->n_orphans;) {
        if (rs->orphans[i].expires_us > now_us) {
            i++;
            continue;
        }
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/run-%s", rs->data_dir, rs->orphans[i].id);
        daemon_remove_tree(dir);
        fprintf(stderr, "watchdog: run %s: no master came back for it; removed %s\n",
                rs->orphans[i].id, dir);
        rs->orphans[i] = rs->orphans[--rs->n_orphans];
    }
}

size_t runs_count(const runs *rs) { return rs->n; }
