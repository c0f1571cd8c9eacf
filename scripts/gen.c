/*
 * gen: seeded random scenario generator for Daadkvs.
 *
 *   gen --seed N [--commands M] [--servers K] [--clients C]
 *
 * Prints a command script (SPEC.md section 2) on stdout and "gen: seed N" on
 * stderr. The same arguments always give byte-identical output: the generator
 * uses its own PRNG (splitmix64), never rand().
 *
 * A scenario uses random, non-contiguous ids (0..999999, servers and clients
 * disjoint), starts a random topology (complete, chain, tree, ring or random
 * connected graph, the last four made with breakConnection after the joins),
 * then runs a random mix of conflicting puts to a few keys (values "v<seq>",
 * unique per put), gets, partitions and heals, kills and rejoins, brand-new
 * servers, clients moving between servers, and stabilize (sometimes followed
 * by printStore). It ends with stabilize and printStore of every live server.
 *
 * The generator tracks the cluster's state (live servers, clients and the
 * server each is attached to, cut server links) and emits only commands that
 * are valid at that point, so the master must exit 0 on every script.
 *
 * M counts the commands before that final epilogue (the set-up included), K
 * is the most servers a run ever uses, C the most clients.
 *
 * --faults F (default 0: none, so scripts of earlier versions come out the
 * same) mixes in the fault commands with F times the weight of a
 * partition: pauseServer and resumeServer, delayLink (a few ms, with or
 * without jitter), blockLink and unblockLink, flakyLink (5 to 30 %) and
 * sleep. A paused server is left alone (no put, get, printStore or link
 * change goes through it) until it is resumed or killed; the epilogue
 * resumes, unblocks and clears every fault before its stabilize.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERVERS 64
#define MAX_CLIENTS 64
#define MAX_KEYS 6
#define ID_SPACE 1000000u

/* ---- PRNG: splitmix64 ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0, without modulo bias. */
static uint64_t rng_below(uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do
        r = rng_next();
    while (r >= limit);
    return r % n;
}

/* True with probability pct/100. */
static bool chance(unsigned pct)
{
    return rng_below(100) < pct;
}

/* ---- cluster model ---- */

enum srv_state { SRV_UNUSED, SRV_LIVE, SRV_DEAD };

typedef struct {
    uint64_t id;
    enum srv_state state;
} server;

typedef struct {
    uint64_t id;
    bool started;
    int srv; /* index into servers, -1 when detached */
} client;

static server servers[MAX_SERVERS];
static client clients[MAX_CLIENTS];
static bool cut[MAX_SERVERS][MAX_SERVERS];
/* Faults: paused servers, blocked links (from, to), links with a delay or
 * a flaky setting (from, to). */
static bool paused[MAX_SERVERS];
static bool blocked[MAX_SERVERS][MAX_SERVERS];
static bool shaped[MAX_SERVERS][MAX_SERVERS];
static int nservers, nclients;
static char keys[MAX_KEYS][8];
static int nkeys;
static unsigned long value_seq;
static long emitted;
static long since_stabilize;

static bool id_used(uint64_t id)
{
    for (int i = 0; i < nservers; i++)
        if (servers[i].id == id)
            return true;
    for (int i = 0; i < nclients; i++)
        if (clients[i].id == id)
            return true;
    return false;
}

static uint64_t fresh_id(void)
{
    uint64_t id;
    do
        id = rng_below(ID_SPACE);
    while (id_used(id));
    return id;
}

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void emit(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    emitted++;
    since_stabilize++;
}

/* Index of a random server in state st, or -1. */
static int pick_server(enum srv_state st, int exclude)
{
    int cand[MAX_SERVERS], n = 0;
    for (int i = 0; i < nservers; i++)
        if (servers[i].state == st && i != exclude && !(st == SRV_LIVE && paused[i]))
            cand[n++] = i;
    return n ? cand[rng_below((uint64_t)n)] : -1;
}

static bool client_usable(const client *c)
{
    return c->started && c->srv >= 0 && servers[c->srv].state == SRV_LIVE && !paused[c->srv];
}

/* Index of a random started client that is usable (want_usable) or that is
 * detached (!want_usable), or -1. */
static int pick_client(bool want_usable)
{
    int cand[MAX_CLIENTS], n = 0;
    for (int i = 0; i < nclients; i++) {
        if (!clients[i].started)
            continue;
        if (want_usable ? client_usable(&clients[i]) : clients[i].srv < 0)
            cand[n++] = i;
    }
    return n ? cand[rng_below((uint64_t)n)] : -1;
}

static void set_cut(int a, int b, bool v)
{
    cut[a][b] = cut[b][a] = v;
}

/* ---- commands ---- */

static void do_join_server(int s)
{
    emit("joinServer %" PRIu64, servers[s].id);
    servers[s].state = SRV_LIVE;
    /* A (re)joined server is linked to every live server: cuts are forgotten. */
    for (int i = 0; i < nservers; i++)
        set_cut(s, i, false);
}

static void do_kill_server(int s)
{
    emit("killServer %" PRIu64, servers[s].id);
    servers[s].state = SRV_DEAD;
    /* The master forgets its faults. */
    paused[s] = false;
    for (int i = 0; i < nservers; i++)
        blocked[s][i] = blocked[i][s] = shaped[s][i] = shaped[i][s] = false;
}

static void do_join_client(int c, int s)
{
    emit("joinClient %" PRIu64 " %" PRIu64, clients[c].id, servers[s].id);
    clients[c].started = true;
    clients[c].srv = s;
}

static void do_break_servers(int a, int b)
{
    if (chance(50))
        emit("breakConnection %" PRIu64 " %" PRIu64, servers[a].id, servers[b].id);
    else
        emit("breakConnection %" PRIu64 " %" PRIu64, servers[b].id, servers[a].id);
    set_cut(a, b, true);
}

static void do_create_servers(int a, int b)
{
    if (chance(50))
        emit("createConnection %" PRIu64 " %" PRIu64, servers[a].id, servers[b].id);
    else
        emit("createConnection %" PRIu64 " %" PRIu64, servers[b].id, servers[a].id);
    set_cut(a, b, false);
}

static void do_stabilize(void)
{
    emit("stabilize");
    since_stabilize = 0;
}

static void do_print_store(int s)
{
    emit("printStore %" PRIu64, servers[s].id);
}

/* ---- set-up ---- */

static const char *const topo_names[] = {"complete", "chain", "tree", "ring", "random"};

static void setup(int max_servers, int max_clients)
{
    /* Keys: 3..6 short distinct names. */
    static const char *const pool[] = {"a", "b", "k", "x", "y", "z", "key", "foo", "bar", "q7"};
    const int npool = (int)(sizeof pool / sizeof pool[0]);
    int order[16];
    for (int i = 0; i < npool; i++)
        order[i] = i;
    for (int i = npool - 1; i > 0; i--) {
        int j = (int)rng_below((uint64_t)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    nkeys = 3 + (int)rng_below(MAX_KEYS - 2);
    for (int i = 0; i < nkeys; i++)
        snprintf(keys[i], sizeof keys[i], "%s", pool[order[i]]);

    /* Ids for every server and client the run may use. */
    nservers = max_servers;
    for (int i = 0; i < nservers; i++) {
        servers[i].id = 0; /* not yet drawn */
        servers[i].state = SRV_UNUSED;
    }
    nclients = max_clients;
    for (int i = 0; i < nclients; i++) {
        clients[i].id = 0;
        clients[i].started = false;
        clients[i].srv = -1;
    }
    /* Draw ids one by one so that id_used sees earlier ones only. */
    int ns = nservers, nc = nclients;
    nservers = nclients = 0;
    for (int i = 0; i < ns; i++) {
        uint64_t id = fresh_id();
        servers[nservers++].id = id;
    }
    for (int i = 0; i < nc; i++) {
        uint64_t id = fresh_id();
        clients[nclients++].id = id;
    }

    /* Initial servers: a random number, leaving room for brand-new ones. */
    int n0 = ns;
    if (ns >= 3)
        n0 = 2 + (int)rng_below((uint64_t)(ns - 2)); /* 2..ns-1 */
    int topo = (int)rng_below(5);
    if (n0 < 3 && topo != 0)
        topo = 1; /* with one or two servers every shape is a chain */
    printf("# topology: %s of %d server%s, keys:", topo_names[topo], n0, n0 == 1 ? "" : "s");
    for (int i = 0; i < nkeys; i++)
        printf(" %s", keys[i]);
    printf("\n");
    for (int i = 0; i < n0; i++)
        do_join_server(i);

    /* Wanted adjacency over a random permutation of the initial servers. */
    int perm[MAX_SERVERS];
    for (int i = 0; i < n0; i++)
        perm[i] = i;
    for (int i = n0 - 1; i > 0; i--) {
        int j = (int)rng_below((uint64_t)i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    bool adj[MAX_SERVERS][MAX_SERVERS];
    memset(adj, 0, sizeof adj);
    for (int i = 1; i < n0; i++) {
        int a = perm[i], b;
        switch (topo) {
        case 0: continue;
        case 1:
        case 3: b = perm[i - 1]; break;
        default: b = perm[rng_below((uint64_t)i)]; break; /* tree, random */
        }
        adj[a][b] = adj[b][a] = true;
    }
    if (topo == 3 && n0 >= 3)
        adj[perm[0]][perm[n0 - 1]] = adj[perm[n0 - 1]][perm[0]] = true;
    if (topo == 4)
        for (int a = 0; a < n0; a++)
            for (int b = a + 1; b < n0; b++)
                if (!adj[a][b] && chance(30))
                    adj[a][b] = adj[b][a] = true;
    if (topo != 0)
        for (int a = 0; a < n0; a++)
            for (int b = a + 1; b < n0; b++)
                if (!adj[a][b])
                    do_break_servers(a, b);

    /* Clients: one or more now, the rest may start later. */
    int c0 = nclients > 1 ? 1 + (int)rng_below((uint64_t)nclients) : nclients;
    for (int i = 0; i < c0; i++)
        do_join_client(i, pick_server(SRV_LIVE, -1));
}

/* ---- random steps ---- */

enum action {
    A_PUT, A_GET, A_STABILIZE, A_PARTITION, A_HEAL, A_KILL, A_REJOIN, A_NEW_SERVER,
    A_MOVE_CLIENT, A_DETACH, A_ATTACH, A_NEW_CLIENT,
    A_PAUSE, A_RESUME, A_DELAY, A_BLOCK, A_UNBLOCK, A_FLAKY, A_SLEEP, A_COUNT
};

/* The fault actions' weights are set from --faults (0 by default: the
 * draws, and so the scripts, are then those of a generator without them). */
static unsigned weights[A_COUNT] = {
    [A_PUT] = 34,     [A_GET] = 22,        [A_STABILIZE] = 7,   [A_PARTITION] = 4,
    [A_HEAL] = 4,     [A_KILL] = 5,        [A_REJOIN] = 5,      [A_NEW_SERVER] = 2,
    [A_MOVE_CLIENT] = 6, [A_DETACH] = 3,   [A_ATTACH] = 5,      [A_NEW_CLIENT] = 2,
};

static void set_fault_weights(unsigned f)
{
    weights[A_PAUSE] = weights[A_RESUME] = 2 * f;
    weights[A_DELAY] = 3 * f;
    weights[A_BLOCK] = weights[A_UNBLOCK] = 2 * f;
    weights[A_FLAKY] = 2 * f;
    weights[A_SLEEP] = f;
}

static int pick_key(void)
{
    /* Skewed towards the first keys, so writes conflict more. */
    if (chance(50))
        return (int)rng_below(nkeys < 2 ? (uint64_t)nkeys : 2);
    return (int)rng_below((uint64_t)nkeys);
}

static bool step_put(void)
{
    int c = pick_client(true);
    if (c < 0)
        return false;
    emit("put %" PRIu64 " %s v%lu", clients[c].id, keys[pick_key()], ++value_seq);
    return true;
}

static bool step_get(void)
{
    int c = pick_client(true);
    if (c < 0)
        return false;
    emit("get %" PRIu64 " %s", clients[c].id, keys[pick_key()]);
    return true;
}

static void step_stabilize(void)
{
    do_stabilize();
    if (chance(50)) {
        int n = 1 + (int)rng_below(2);
        int last = -1;
        for (int i = 0; i < n; i++) {
            int s = pick_server(SRV_LIVE, last);
            if (s < 0)
                break;
            do_print_store(s);
            last = s;
        }
    }
}

/* Live servers that are not paused. */
static int running_servers(int *out)
{
    int n = 0;
    for (int i = 0; i < nservers; i++)
        if (servers[i].state == SRV_LIVE && !paused[i])
            out[n++] = i;
    return n;
}

static bool step_partition(void)
{
    int live[MAX_SERVERS];
    int n = running_servers(live);
    if (n < 2)
        return false;
    int made = 0;
    if (chance(50)) {
        /* Split the live servers into two non-empty sides. */
        bool side[MAX_SERVERS] = {false};
        int first = (int)rng_below((uint64_t)n);
        side[live[first]] = true;
        for (int i = 0; i < n; i++)
            if (i != first && chance(40))
                side[live[i]] = true;
        bool other = false;
        for (int i = 0; i < n; i++)
            other |= !side[live[i]];
        if (!other)
            side[live[(first + 1) % n]] = false;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                if (side[live[i]] != side[live[j]] && !cut[live[i]][live[j]]) {
                    do_break_servers(live[i], live[j]);
                    made++;
                }
    } else {
        /* Cut one to three random links. */
        int want = 1 + (int)rng_below(3);
        for (int t = 0; t < 20 && made < want; t++) {
            int a = live[rng_below((uint64_t)n)], b = live[rng_below((uint64_t)n)];
            if (a != b && !cut[a][b]) {
                do_break_servers(a, b);
                made++;
            }
        }
    }
    return made > 0;
}

static bool step_heal(void)
{
    int pa[MAX_SERVERS * MAX_SERVERS], pb[MAX_SERVERS * MAX_SERVERS], n = 0;
    for (int a = 0; a < nservers; a++)
        for (int b = a + 1; b < nservers; b++)
            if (cut[a][b] && servers[a].state == SRV_LIVE && servers[b].state == SRV_LIVE &&
                !paused[a] && !paused[b]) {
                pa[n] = a;
                pb[n] = b;
                n++;
            }
    if (n == 0)
        return false;
    bool all = chance(40);
    int want = all ? n : 1 + (int)rng_below((uint64_t)(n < 3 ? n : 3));
    /* Shuffle the pairs, heal the first `want`. */
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below((uint64_t)i + 1), t;
        t = pa[i], pa[i] = pa[j], pa[j] = t;
        t = pb[i], pb[i] = pb[j], pb[j] = t;
    }
    for (int i = 0; i < want; i++)
        do_create_servers(pa[i], pb[i]);
    return true;
}

static bool step_kill(void)
{
    int live[MAX_SERVERS];
    if (running_servers(live) < 2)
        return false;
    do_kill_server(pick_server(SRV_LIVE, -1));
    return true;
}

static bool step_rejoin(void)
{
    int s = pick_server(SRV_DEAD, -1);
    if (s < 0)
        return false;
    do_join_server(s);
    return true;
}

static bool step_new_server(void)
{
    int s = pick_server(SRV_UNUSED, -1);
    if (s < 0)
        return false;
    do_join_server(s);
    /* Sometimes move a client onto it at once. */
    if (chance(50)) {
        int c = pick_client(true);
        if (c >= 0)
            do_join_client(c, s);
    }
    return true;
}

static bool step_move_client(void)
{
    int cand[MAX_CLIENTS], n = 0;
    for (int i = 0; i < nclients; i++)
        if (clients[i].started)
            cand[n++] = i;
    if (n == 0)
        return false;
    int c = cand[rng_below((uint64_t)n)];
    int s = pick_server(SRV_LIVE, clients[c].srv);
    if (s < 0)
        return false;
    do_join_client(c, s);
    return true;
}

static bool step_detach(void)
{
    int cand[MAX_CLIENTS], n = 0;
    for (int i = 0; i < nclients; i++)
        if (clients[i].started && clients[i].srv >= 0)
            cand[n++] = i;
    if (n == 0)
        return false;
    int c = cand[rng_below((uint64_t)n)];
    uint64_t cid = clients[c].id, sid = servers[clients[c].srv].id;
    if (chance(50))
        emit("breakConnection %" PRIu64 " %" PRIu64, cid, sid);
    else
        emit("breakConnection %" PRIu64 " %" PRIu64, sid, cid);
    clients[c].srv = -1;
    return true;
}

static bool step_attach(void)
{
    int c = pick_client(false);
    if (c < 0)
        return false;
    int s = pick_server(SRV_LIVE, -1);
    if (s < 0)
        return false;
    if (chance(50))
        emit("createConnection %" PRIu64 " %" PRIu64, clients[c].id, servers[s].id);
    else
        emit("createConnection %" PRIu64 " %" PRIu64, servers[s].id, clients[c].id);
    clients[c].srv = s;
    return true;
}

static bool step_new_client(void)
{
    for (int i = 0; i < nclients; i++)
        if (!clients[i].started) {
            do_join_client(i, pick_server(SRV_LIVE, -1));
            return true;
        }
    return false;
}

/* Two distinct running servers, a != b, or false. */
static bool pick_pair(int *a, int *b)
{
    int live[MAX_SERVERS];
    int n = running_servers(live);
    if (n < 2)
        return false;
    *a = live[rng_below((uint64_t)n)];
    do
        *b = live[rng_below((uint64_t)n)];
    while (*b == *a);
    return true;
}

static bool step_pause(void)
{
    int live[MAX_SERVERS];
    /* Keep at least one server running for the clients. */
    int n = running_servers(live);
    if (n < 2)
        return false;
    int s = live[rng_below((uint64_t)n)];
    emit("pauseServer %" PRIu64, servers[s].id);
    paused[s] = true;
    return true;
}

static bool step_resume(void)
{
    int cand[MAX_SERVERS], n = 0;
    for (int i = 0; i < nservers; i++)
        if (servers[i].state == SRV_LIVE && paused[i])
            cand[n++] = i;
    if (n == 0)
        return false;
    int s = cand[rng_below((uint64_t)n)];
    emit("resumeServer %" PRIu64, servers[s].id);
    paused[s] = false;
    return true;
}

static bool step_delay(void)
{
    int a, b;
    if (!pick_pair(&a, &b))
        return false;
    unsigned ms = 1 + (unsigned)rng_below(30);
    if (chance(50))
        emit("delayLink %" PRIu64 " %" PRIu64 " %u %u", servers[a].id, servers[b].id, ms,
             (unsigned)rng_below(ms + 1));
    else
        emit("delayLink %" PRIu64 " %" PRIu64 " %u", servers[a].id, servers[b].id, ms);
    shaped[a][b] = true;
    return true;
}

static bool step_block(bool block)
{
    int a, b;
    if (!pick_pair(&a, &b))
        return false;
    if (!block) {
        /* Prefer a blocked link. */
        for (int i = 0; i < nservers; i++)
            for (int j = 0; j < nservers; j++)
                if (blocked[i][j] && !paused[i] && !paused[j] && servers[i].state == SRV_LIVE &&
                    servers[j].state == SRV_LIVE) {
                    a = i;
                    b = j;
                }
    }
    emit("%s %" PRIu64 " %" PRIu64, block ? "blockLink" : "unblockLink", servers[a].id,
         servers[b].id);
    blocked[a][b] = block;
    return true;
}

static bool step_flaky(void)
{
    int a, b;
    if (!pick_pair(&a, &b))
        return false;
    unsigned pct = chance(30) ? 0 : 5 + (unsigned)rng_below(26);
    emit("flakyLink %" PRIu64 " %" PRIu64 " %u", servers[a].id, servers[b].id, pct);
    shaped[a][b] = true;
    return true;
}

static void step(void)
{
    if (since_stabilize >= 25) {
        step_stabilize();
        return;
    }
    unsigned total = 0;
    for (int i = 0; i < A_COUNT; i++)
        total += weights[i];
    for (;;) {
        unsigned r = (unsigned)rng_below(total);
        int a = 0;
        while (r >= weights[a])
            r -= weights[a++];
        bool ok = true;
        switch ((enum action)a) {
        case A_PUT: ok = step_put(); break;
        case A_GET: ok = step_get(); break;
        case A_STABILIZE: step_stabilize(); break;
        case A_PARTITION: ok = step_partition(); break;
        case A_HEAL: ok = step_heal(); break;
        case A_KILL: ok = step_kill(); break;
        case A_REJOIN: ok = step_rejoin(); break;
        case A_NEW_SERVER: ok = step_new_server(); break;
        case A_MOVE_CLIENT: ok = step_move_client(); break;
        case A_DETACH: ok = step_detach(); break;
        case A_ATTACH: ok = step_attach(); break;
        case A_NEW_CLIENT: ok = step_new_client(); break;
        case A_PAUSE: ok = step_pause(); break;
        case A_RESUME: ok = step_resume(); break;
        case A_DELAY: ok = step_delay(); break;
        case A_BLOCK: ok = step_block(true); break;
        case A_UNBLOCK: ok = step_block(false); break;
        case A_FLAKY: ok = step_flaky(); break;
        case A_SLEEP: emit("sleep %u", 1 + (unsigned)rng_below(20)); break;
        case A_COUNT: break;
        }
        if (ok)
            return;
    }
}

/* Prints "# final group: ID..." for each connected group of live servers. */
static void print_groups(void)
{
    int group[MAX_SERVERS];
    for (int i = 0; i < nservers; i++)
        group[i] = -1;
    int ngroups = 0;
    for (int i = 0; i < nservers; i++) {
        if (servers[i].state != SRV_LIVE || group[i] >= 0)
            continue;
        int stack[MAX_SERVERS], sp = 0;
        group[i] = ngroups;
        stack[sp++] = i;
        while (sp > 0) {
            int a = stack[--sp];
            for (int b = 0; b < nservers; b++)
                if (b != a && servers[b].state == SRV_LIVE && group[b] < 0 && !cut[a][b]) {
                    group[b] = ngroups;
                    stack[sp++] = b;
                }
        }
        printf("# final group:");
        for (int b = 0; b < nservers; b++)
            if (group[b] == ngroups)
                printf(" %" PRIu64, servers[b].id);
        printf("\n");
        ngroups++;
    }
}

/* ---- main ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: gen --seed N [--commands M] [--servers K] [--clients C]\n"
               "  --seed N       PRNG seed (decimal, 0..2^64-1); same seed, same script\n"
               "  --commands M   commands before the final stabilize/printStore (default 120)\n"
               "  --servers K    most servers a run uses, 1..%d (default 8)\n"
               "  --clients C    most clients a run uses, 1..%d (default 5)\n"
               "  --faults F     weight of the fault commands, 0..100 (default 0: none)\n",
            MAX_SERVERS, MAX_CLIENTS);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    uint64_t seed = 0, commands = 120, max_servers = 8, max_clients = 5, faults = 0;
    bool have_seed = false;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = NULL;
        char buf[32];
        const char *eq = strchr(opt, '=');
        if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
            usage(stdout);
            return 0;
        }
        if (strncmp(opt, "--", 2) == 0 && eq && (size_t)(eq - opt) < sizeof buf) {
            memcpy(buf, opt, (size_t)(eq - opt));
            buf[eq - opt] = '\0';
            opt = buf;
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        }
        uint64_t *dst = !strcmp(opt, "--seed")       ? &seed
                        : !strcmp(opt, "--commands") ? &commands
                        : !strcmp(opt, "--servers")  ? &max_servers
                        : !strcmp(opt, "--clients")  ? &max_clients
                        : !strcmp(opt, "--faults")   ? &faults
                                                     : NULL;
        if (!dst) {
            fprintf(stderr, "gen: unknown option '%s'\n", opt);
            usage(stderr);
            return 2;
        }
        if (!parse_u64(val, dst)) {
            fprintf(stderr, "gen: %s needs a non-negative decimal number\n", opt);
            usage(stderr);
            return 2;
        }
        if (dst == &seed)
            have_seed = true;
    }
    if (!have_seed) {
        fprintf(stderr, "gen: --seed is required\n");
        usage(stderr);
        return 2;
    }
    if (max_servers < 1 || max_servers > MAX_SERVERS || max_clients < 1 ||
        max_clients > MAX_CLIENTS || commands > 1000000 || faults > 100) {
        fprintf(stderr, "gen: --servers must be 1..%d, --clients 1..%d, --commands at most "
                        "1000000, --faults at most 100\n",
                MAX_SERVERS, MAX_CLIENTS);
        return 2;
    }

    rng_state = seed;
    set_fault_weights((unsigned)faults);
    printf("# generated by: gen --seed %" PRIu64 " --commands %" PRIu64 " --servers %" PRIu64
           " --clients %" PRIu64,
           seed, commands, max_servers, max_clients);
    if (faults)
        printf(" --faults %" PRIu64, faults);
    printf("\n");
    setup((int)max_servers, (int)max_clients);
    while (emitted < (long)commands)
        step();

    /* Faults end first: every server runs, every link carries. */
    for (int a = 0; a < nservers; a++) {
        if (servers[a].state != SRV_LIVE)
            continue;
        if (paused[a]) {
            emit("resumeServer %" PRIu64, servers[a].id);
            paused[a] = false;
        }
    }
    for (int a = 0; a < nservers; a++)
        for (int b = 0; b < nservers; b++) {
            if (servers[a].state != SRV_LIVE || servers[b].state != SRV_LIVE)
                continue;
            if (blocked[a][b])
                emit("unblockLink %" PRIu64 " %" PRIu64, servers[a].id, servers[b].id);
            if (shaped[a][b]) {
                emit("delayLink %" PRIu64 " %" PRIu64 " 0", servers[a].id, servers[b].id);
                emit("flakyLink %" PRIu64 " %" PRIu64 " 0", servers[a].id, servers[b].id);
            }
            blocked[a][b] = shaped[a][b] = false;
        }
    /* Epilogue: most often heal every cut, so the whole cluster must converge;
     * name the connected groups in comments (a tester may require equal
     * stores within each), converge, then show every live server. */
    if (chance(60))
        for (int a = 0; a < nservers; a++)
            for (int b = a + 1; b < nservers; b++)
                if (cut[a][b] && servers[a].state == SRV_LIVE && servers[b].state == SRV_LIVE)
                    do_create_servers(a, b);
    print_groups();
    do_stabilize();
    for (int i = 0; i < nservers; i++)
        if (servers[i].state == SRV_LIVE)
            do_print_store(i);

    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "gen: cannot write the script: %s\n", strerror(errno));
        return 1;
    }
    fprintf(stderr, "gen: seed %" PRIu64 "\n", seed);
    return 0;
}
