/* server: one replica. Wiring of the protocol core to sockets: one poll
 * loop serves RPCs (from clients and the master) and peer links on a single
 * listening port; the first frame of a connection says which it is. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/daemon.h"
#include "../common/ids.h"
#include "../common/logrl.h"
#include "../common/loop.h"
#include "../common/net.h"
#include "../common/proto.h"
#include "../common/vec.h"
#include "../common/xalloc.h"
#include "core.h"

/* First retry of a wanted link that is down, doubling up to the maximum:
 * fast enough for stabilize after a transient failure, cheap when the peer
 * is dead for good. */
#define RETRY_FIRST_US 5000
#define RETRY_MAX_US 1000000
#define DUMP_PAGE_BYTES (1u << 20)
/* Pushes to peers (writes and acks) go out at most once per this interval.
 * After a quiet spell the first push leaves at once, so a lone write
 * replicates immediately; under load the writes of one interval share one
 * frame, one wakeup and one LevelDB batch per peer, which is what bounds
 * throughput on a 2-core machine with dozens of servers. A digest request
 * (stabilize) flushes at once, so stabilize does not wait for intervals. */
#define PUSH_INTERVAL_US 20000
/* After a digest request, for this long, writes and acks are pushed as soon
 * as they arrive: stabilize polls digests while a backlog crosses the
 * cluster, and a chain of N servers would otherwise wait up to an interval
 * (or a poll) at each of its N-1 hops. */
#define EAGER_US 200000
/* LSAs wait this long, so that a burst of link changes (a server joining
 * links to every other at once) leaves as one frame per neighbour. */
#define LSA_DELAY_US 1000
/* Acks wait up to this long, then go in bulk (see core_tick_acks). */
#define ACK_DELAY_US 50000
/* Retry delay while a link's output is over its budget. */
#define PUSH_RETRY_US 1000
/* Keepalive: a link that sent nothing for PING_US gets a ping; a link that
 * received nothing for DEAD_US is closed. TCP alone never notices a peer
 * that is paused or cut off by the network, and a dead link would keep a
 * restarted peer out (the live link wins, see on_hello). */
#define PING_US 500000
#define DEAD_US 3000000
/* An outgoing connection that has not completed its hello by then is
 * dropped and redialled (a connect to a cut-off host can hang). */
#define DIAL_TIMEOUT_US 2000000
/* After this server failed to store what a peer sent (a full disk), links
 * are refused and not dialled for this long, doubling up to the maximum:
 * otherwise each peer would redial and resend at once, in a loop. */
#define STORE_RETRY_FIRST_US 100000
#define STORE_RETRY_MAX_US 10000000

typedef enum conn_kind { CONN_NEW, CONN_RPC, CONN_PEER } conn_kind;

typedef struct peer_link peer_link;

typedef struct conn_info {
    conn_kind kind;
    bool outgoing;
    uint64_t peer;      /* CONN_PEER: who is (or should be) on the other end */
    uint64_t peer_inc;  /* from the peer's hello */
    bool hello_seen;
} conn_info;

struct peer_link {
    uint64_t peer;
    bool cut;           /* the master cut it: refuse it until uncut */
    bool wanted;        /* we should keep an outgoing connection */
    char host[256];
    uint16_t port;
    int64_t retry_at;
    int64_t backoff;
    int64_t dial_started;
    loop_conn *conn;    /* the connection carrying the live link, if up */
    loop_conn *dialing; /* outgoing connection in progress */
    uint64_t inc;
};

typedef struct server {
    uint64_t id;
    int64_t eager_until; /* until then, push without waiting (see EAGER_US) */
    int64_t store_retry_at;   /* see STORE_RETRY_FIRST_US */
    int64_t store_backoff;
    logrl *log;
    char listen_host[256];
    store *st;
    core *core;
    loop *lp;
    rpc_server *rpc;
    peer_link *links;
    size_t n_links, cap_links;
} server;

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static const loop_handlers conn_handlers;

static peer_link *get_link(server *s, uint64_t peer, bool create)
{
    for (size_t i = 0; i < s->n_links; i++)
        if (s->links[i].peer == peer)
            return &s->links[i];
    if (!create)
        return NULL;
    if (s->n_links == s->cap_links) {
        s->cap_links = s->cap_links ? s->cap_links * 2 : 8;
        s->links = xrealloc(s->links, s->cap_links * sizeof *s->links);
    }
    peer_link *l = &s->links[s->n_links++];
    memset(l, 0, sizeof *l);
    l->peer = peer;
    l->backoff = RETRY_FIRST_US;
    return l;
}

static buf *link_out(void *ctx, uint64_t peer)
{
    peer_link *l = get_link(ctx, peer, false);
    return l && l->conn ? loop_conn_out(l->conn) : NULL;
}

static void dial(server *s, peer_link *l)
{
    dkv_err err;
    int fd = net_connect_start(l->host, l->port, &err);
    l->retry_at = net_now_us() + l->backoff;
    if (l->backoff < RETRY_MAX_US)
        l->backoff *= 2;
    if (fd < 0)
        return;
    conn_info *ci = xcalloc(1, sizeof *ci);
    ci->kind = CONN_PEER;
    ci->outgoing = true;
    ci->peer = l->peer;
    l->dialing = loop_add(s->lp, fd, true, &conn_handlers, ci);
    l->dial_started = net_now_us();
}

static server *the_server; /* set once in main; handlers reach it through here */

static void on_connected(loop_conn *c)
{
    const conn_info *ci = loop_conn_user(c);
    core_hello(the_server->core, ci->peer, loop_conn_out(c));
}

static void on_hello(server *s, loop_conn *c, conn_info *ci, const peermsg *m)
{
    int64_t now = net_now_us();
    if (strcmp(m->run, core_run_id(s->core)) != 0) {
        /* Another run's server at an address we were given (a port reused
         * after a kill): never link, never take its writes. */
        logrl_printf(s->log, now, "server %" PRIu64 ": refused server %" PRIu64
                     " of another run ('%s')", s->id, m->id, m->run);
        loop_close(c, "peer belongs to another run");
        return;
    }
    /* A stale address may now belong to another server: both ends check. */
    if ((ci->outgoing && m->id != ci->peer) || m->to != s->id || m->id == s->id) {
        loop_close(c, "wrong server at that address");
        return;
    }
    if (now < s->store_retry_at) {
        loop_close(c, "this server's store is failing; retry later");
        return;
    }
    peer_link *l = get_link(s, m->id, true);
    if (l->cut) {
        loop_close(c, "link is cut");
        return;
    }
    if (l->conn) {
        /* The live link wins over a second connection claiming the same
         * peer: that is a restarted peer whose old link has not closed here
         * yet (it retries), or an impostor, which must not lock the real
         * peer out. A ping makes a dead old link fail fast. */
        peermsg_encode_ping(loop_conn_out(l->conn));
        loop_close(c, "link already live");
        return;
    }
    ci->peer = m->id;
    ci->peer_inc = m->inc;
    ci->hello_seen = true;
    if (!ci->outgoing)
        core_hello(s->core, m->id, loop_conn_out(c));
    if (l->dialing == c)
        l->dialing = NULL;
    /* The link is live before the core hears of it: core_link_up sends the
     * peer the LSAs it lacks through link_out. */
    l->conn = c;
    loop_conn_set_evictable(c, false); /* a peer link is never closed to make room */
    l->inc = m->inc;
    l->backoff = RETRY_FIRST_US;
    dkv_err err;
    if (core_link_up(s->core, l->peer, m, &err) < 0) {
        fprintf(stderr, "server %" PRIu64 ": %s\n", s->id, err.msg);
        l->conn = NULL;
        loop_close(c, "this server's store lost writes");
    }
}

/* This server failed to store what a peer sent: pause links (see
 * STORE_RETRY_FIRST_US). */
static void store_failed(server *s, int64_t now)
{
    s->store_backoff = s->store_backoff ? s->store_backoff * 2 : STORE_RETRY_FIRST_US;
    if (s->store_backoff > STORE_RETRY_MAX_US)
        s->store_backoff = STORE_RETRY_MAX_US;
    s->store_retry_at = now + s->store_backoff;
}

static void on_peer_frame(server *s, loop_conn *c, conn_info *ci, const wire_frame *f)
{
    peermsg m;
    dkv_err err;
    if (peermsg_decode(f, &m, &err) < 0) {
        logrl_printf(s->log, net_now_us(), "server %" PRIu64 ": bad frame from %" PRIu64 ": %s",
                     s->id, ci->peer, err.msg);
        loop_close(c, "malformed peer frame");
        return;
    }
    if (!ci->hello_seen) {
        if (m.type == PEERMSG_HELLO)
            on_hello(s, c, ci, &m);
        else
            loop_close(c, "peer did not start with hello");
    } else {
        peer_link *l = get_link(s, ci->peer, false);
        int rc;
        if (!l || l->conn != c) {
            loop_close(c, "stale link");
        } else if ((rc = core_on_message(s->core, ci->peer, &m, &err)) < 0) {
            int64_t now = net_now_us();
            if (rc == CORE_LOCAL_FAILURE)
                store_failed(s, now);
            logrl_printf(s->log, now, "server %" PRIu64 ": link to %" PRIu64 " dropped: %s", s->id,
                         ci->peer, err.msg);
            loop_close(c, rc == CORE_LOCAL_FAILURE ? "local store failure" : "protocol error");
        }
    }
    peermsg_clear(&m);
}

static void on_frame(loop_conn *c, const wire_frame *f)
{
    server *s = the_server;
    conn_info *ci = loop_conn_user(c);
    if (ci->kind == CONN_NEW)
        ci->kind = f->kind == WIRE_PEER ? CONN_PEER : CONN_RPC;
    if (ci->kind == CONN_RPC && f->kind == WIRE_CALL)
        rpc_serve_frame(s->rpc, f, s, loop_conn_out(c));
    else if (ci->kind == CONN_PEER && f->kind == WIRE_PEER)
        on_peer_frame(s, c, ci, f);
    else
        loop_close(c, "unexpected frame kind");
}

static void on_close(loop_conn *c, const char *why)
{
    (void)why;
    server *s = the_server;
    conn_info *ci = loop_conn_user(c);
    if (ci->kind == CONN_PEER && !stop_requested) {
        peer_link *l = get_link(s, ci->peer, false);
        if (l && l->dialing == c)
            l->dialing = NULL;
        if (l && l->conn == c) {
            l->conn = NULL;
            core_link_down(s->core, l->peer);
            l->retry_at = net_now_us() + l->backoff;
        }
    }
    free(ci);
}

static const loop_handlers conn_handlers = {on_frame, on_close, on_connected};

static void on_accept(loop *lp, int fd, void *user)
{
    (void)user;
    conn_info *ci = xcalloc(1, sizeof *ci);
    loop_add(lp, fd, false, &conn_handlers, ci);
}

/* ---- RPC methods (their layouts and limits: common/proto.h) ---- */

static int m_put(void *ctx, const proto_server_put_args *a, proto_server_put_reply *r,
                 void **owned, dkv_err *err)
{
    server *s = ctx;
    return core_put(s->core, a->key.p, a->key.n, a->value.p, a->value.n, a->dep, &r->version,
                    err);
}

static int m_get(void *ctx, const proto_server_get_args *a, proto_server_get_reply *r,
                 void **owned, dkv_err *err)
{
    server *s = ctx;
    uint8_t *val = NULL;
    size_t vl = 0;
    if (store_get(s->st, a->key.p, a->key.n, &r->found, &r->version, &val, &vl, err) < 0)
        return -1;
    *owned = val;
    r->value = (proto_bytes){val, r->found ? vl : 0};
    return 0;
}

/* A dump page as it is collected: entries' bytes at offsets into data,
 * which moves as it grows. */
typedef struct dump_ctx {
    struct dump_item {
        size_t key, kl, val, vl;
        dkv_version v;
    } *items;
    size_t n, cap;
    buf data;
    bool more;
} dump_ctx;

static int dump_one(void *user, const uint8_t *key, size_t kl, dkv_version v, const uint8_t *val,
                    size_t vl)
{
    dump_ctx *d = user;
    if (d->data.len > 0 && d->data.len + kl + vl > DUMP_PAGE_BYTES) {
        d->more = true;
        return 1;
    }
    size_t at = d->data.len;
    *VEC_PUSH(d->items, d->n, d->cap) = (struct dump_item){at, kl, at + kl, vl, v};
    buf_append(&d->data, key, kl);
    buf_append(&d->data, val, vl);
    return 0;
}

/* One page of the store, in key order, after `after` (when has_after). */
static int m_dump(void *ctx, const proto_server_dump_args *a, proto_server_dump_reply *r,
                  void **owned, dkv_err *err)
{
    server *s = ctx;
    dump_ctx d = {0};
    buf_init(&d.data);
    int rc = store_scan(s->st, a->after.p, a->after.n, a->has_after, dump_one, &d, err);
    if (rc == 0) {
        /* One block owns the entries and their bytes until the reply is
         * encoded. */
        proto_entry *e = xmalloc(d.n * sizeof *e + d.data.len);
        uint8_t *bytes = (uint8_t *)(e + d.n);
        if (d.data.len)
            memcpy(bytes, d.data.data, d.data.len);
        for (size_t i = 0; i < d.n; i++)
            e[i] = (proto_entry){{bytes + d.items[i].key, d.items[i].kl},
                                 {bytes + d.items[i].val, d.items[i].vl},
                                 d.items[i].v};
        *owned = e;
        r->entries = e;
        r->n_entries = d.n;
        r->more = d.more;
    }
    free(d.items);
    buf_free(&d.data);
    return rc;
}

static char *format_ids(const uint64_t *ids, size_t n)
{
    char *out = xmalloc(n * 21 + 1);
    char *q = out;
    *q = '\0';
    for (size_t i = 0; i < n; i++)
        q += sprintf(q, "%s%" PRIu64, i ? "," : "", ids[i]);
    return out;
}

/* What stabilize compares: the clock, the live links, the reachable group
 * as the link-state database sees it, and bytes still queued to peers. */
static int m_digest(void *ctx, const proto_none *a, proto_server_digest_reply *r, void **owned,
                    dkv_err *err)
{
    server *s = ctx;
    s->eager_until = net_now_us() + EAGER_US;
    uint64_t *ids = xcalloc(s->n_links + 1, sizeof *ids);
    size_t nn = core_neighbours(s->core, ids, s->n_links + 1);
    char *links = format_ids(ids, nn < s->n_links + 1 ? nn : s->n_links + 1);
    free(ids);
    size_t ng = core_component(s->core, NULL, 0);
    ids = xcalloc(ng + 1, sizeof *ids);
    core_component(s->core, ids, ng);
    char *group = format_ids(ids, ng);
    free(ids);
    int64_t queued = 0;
    for (size_t i = 0; i < s->n_links; i++)
        if (s->links[i].conn)
            queued += (int64_t)loop_conn_pending(s->links[i].conn);
    char *vc = vclock_format(core_vclock(s->core));
    /* One block owns the three strings until the reply is encoded. */
    size_t lv = strlen(vc) + 1, ll = strlen(links) + 1, lg = strlen(group) + 1;
    char *block = xmalloc(lv + ll + lg);
    memcpy(block, vc, lv);
    memcpy(block + lv, links, ll);
    memcpy(block + lv + ll, group, lg);
    free(vc);
    free(links);
    free(group);
    *owned = block;
    *r = (proto_server_digest_reply){block, block + lv, block + lv + ll, queued};
    return 0;
}

/* Makes peer a wanted link at host:port (dialled unless already up). */
static void want_link(server *s, uint64_t peer, const char *host, uint16_t port)
{
    peer_link *l = get_link(s, peer, true);
    l->cut = false;
    l->wanted = true;
    snprintf(l->host, sizeof l->host, "%s", host);
    l->port = port;
    l->backoff = RETRY_FIRST_US;
    if (!l->conn && !l->dialing)
        dial(s, l);
}

static int not_self(const server *s, const proto_peer *p, dkv_err *err)
{
    if (p->id == s->id) {
        dkv_err_set(err, "a server cannot link to itself");
        return PROTO_REFUSED;
    }
    return 0;
}

static int m_connect(void *ctx, const proto_peer *a, proto_none *r, void **owned, dkv_err *err)
{
    server *s = ctx;
    int rc = not_self(s, a, err);
    if (rc == 0)
        want_link(s, a->id, a->host, a->port);
    return rc;
}

/* connect for many peers in one call. All are checked before any is used. */
static int m_connect_all(void *ctx, const proto_server_connect_all_args *a, proto_none *r,
                         void **owned, dkv_err *err)
{
    server *s = ctx;
    for (size_t i = 0; i < a->n_peers; i++)
        if (not_self(s, &a->peers[i], err) < 0)
            return PROTO_REFUSED;
    for (size_t i = 0; i < a->n_peers; i++)
        want_link(s, a->peers[i].id, a->peers[i].host, a->peers[i].port);
    return 0;
}

static void set_cut(server *s, uint64_t peer, bool cut)
{
    peer_link *l = get_link(s, peer, true);
    l->cut = cut;
    if (cut) {
        l->wanted = false;
        if (l->conn)
            loop_close(l->conn, "cut by the master");
        if (l->dialing)
            loop_close(l->dialing, "cut by the master");
    }
}

static int m_cut(void *ctx, const proto_id *a, proto_none *r, void **owned, dkv_err *err)
{
    set_cut(ctx, a->id, true);
    return 0;
}

static int m_uncut(void *ctx, const proto_id *a, proto_none *r, void **owned, dkv_err *err)
{
    set_cut(ctx, a->id, false);
    return 0;
}

/* forget(peer): the peer was killed; stop dialling its old address, which
 * may soon belong to someone else. A later connect gives the new one. */
static int m_forget(void *ctx, const proto_id *a, proto_none *r, void **owned, dkv_err *err)
{
    server *s = ctx;
    peer_link *l = get_link(s, a->id, false);
    if (l) {
        l->wanted = false;
        l->host[0] = '\0';
        l->port = 0;
        if (l->dialing)
            loop_close(l->dialing, "peer forgotten");
        if (l->conn)
            loop_close(l->conn, "peer forgotten");
    }
    return 0;
}

static int m_stats(void *ctx, const proto_none *a, proto_server_stats_reply *r, void **owned,
                   dkv_err *err)
{
    server *s = ctx;
    const core_counters *k = core_get_counters(s->core);
    *r = (proto_server_stats_reply){k->hello,        k->upd,
                                    k->ack,          k->lsa,
                                    k->updates_sent, k->updates_applied,
                                    k->duplicates};
    return 0;
}

PROTO_SERVE(server_put, m_put)
PROTO_SERVE(server_get, m_get)
PROTO_SERVE(server_digest, m_digest)
PROTO_SERVE(server_dump, m_dump)
PROTO_SERVE(server_connect, m_connect)
PROTO_SERVE(server_connect_all, m_connect_all)
PROTO_SERVE(server_cut, m_cut)
PROTO_SERVE(server_uncut, m_uncut)
PROTO_SERVE(server_forget, m_forget)
PROTO_SERVE(server_stats, m_stats)
static const proto_binding methods[] = {
    PROTO_BINDING(server_put),     PROTO_BINDING(server_get),
    PROTO_BINDING(server_digest),  PROTO_BINDING(server_dump),
    PROTO_BINDING(server_connect), PROTO_BINDING(server_connect_all),
    PROTO_BINDING(server_cut),     PROTO_BINDING(server_uncut),
    PROTO_BINDING(server_forget),  PROTO_BINDING(server_stats),
};

/* A link we should have, that is down and not being dialled. */
static bool needs_dial(const peer_link *l)
{
    return l->wanted && !l->cut && !l->conn && !l->dialing;
}

/* Dials links that are due, drops links and dials that went silent, pings
 * idle links. Returns when it next has something to do. */
static int64_t tend_links(server *s, int64_t now)
{
    int64_t t = now + 1000000;
    for (size_t i = 0; i < s->n_links; i++) {
        peer_link *l = &s->links[i];
        if (needs_dial(l) && l->retry_at <= now && now >= s->store_retry_at)
            dial(s, l);
        if (needs_dial(l)) {
            int64_t at = l->retry_at > s->store_retry_at ? l->retry_at : s->store_retry_at;
            if (at < t)
                t = at;
        }
        if (l->dialing) {
            if (now - l->dial_started >= DIAL_TIMEOUT_US)
                loop_close(l->dialing, "no hello in time");
            else if (l->dial_started + DIAL_TIMEOUT_US < t)
                t = l->dial_started + DIAL_TIMEOUT_US;
        }
        if (!l->conn || loop_conn_closed(l->conn))
            continue;
        int64_t rx = loop_conn_last_rx(l->conn), tx = loop_conn_last_tx(l->conn);
        if (now - rx >= DEAD_US) {
            logrl_printf(s->log, now, "server %" PRIu64 ": link to %" PRIu64
                         " dropped: nothing received for %d ms", s->id, l->peer, DEAD_US / 1000);
            loop_close(l->conn, "peer silent");
            continue;
        }
        if (now - tx >= PING_US && loop_conn_pending(l->conn) == 0) {
            peermsg_encode_ping(loop_conn_out(l->conn));
            tx = now;
        }
        if (tx + PING_US < t)
            t = tx + PING_US;
        if (rx + DEAD_US < t)
            t = rx + DEAD_US;
    }
    return t;
}

static void usage(void)
{
    fprintf(stderr, "usage: server --id ID --data DIR [--listen HOST] [--ready-fd FD] [--sync]\n"
                    "              [--run-id RUN] [--rejoin]\n");
}

/* Start-up failed: say why to whoever waits on ready_fd (the watchdog
 * passes it on), or on stderr when started by hand. */
static int start_failed(const server *s, int ready_fd, const dkv_err *err)
{
    if (ready_fd < 0)
        fprintf(stderr, "server %" PRIu64 ": %s\n", s->id, err->msg);
    daemon_report_failure(ready_fd, err->msg);
    return 1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"id", required_argument, 0, 'i'},     {"data", required_argument, 0, 'd'},
        {"listen", required_argument, 0, 'l'}, {"ready-fd", required_argument, 0, 'r'},
        {"sync", no_argument, 0, 's'},         {"help", no_argument, 0, 'h'},
        {"run-id", required_argument, 0, 'R'}, {"rejoin", no_argument, 0, 'j'},
        {0, 0, 0, 0}};
    server s;
    memset(&s, 0, sizeof s);
    snprintf(s.listen_host, sizeof s.listen_host, "127.0.0.1");
    const char *data = NULL, *id_text = NULL, *run_id = "";
    int ready_fd = -1;
    bool sync = false, rejoin = false;
    dkv_err err;
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        uint64_t v;
        switch (o) {
        case 'i': id_text = optarg; break;
        case 'd': data = optarg; break;
        case 'l': snprintf(s.listen_host, sizeof s.listen_host, "%s", optarg); break;
        case 'r':
            if (ids_parse_u64(optarg, 1 << 20, &v, &err) < 0) {
                fprintf(stderr, "server: --ready-fd: %s\n", err.msg);
                return 2;
            }
            ready_fd = (int)v;
            break;
        case 's': sync = true; break;
        case 'R': run_id = optarg; break;
        case 'j': rejoin = true; break;
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    if (!id_text || !data || optind != argc) {
        usage();
        return 2;
    }
    if (ids_parse(id_text, &s.id, &err) < 0) {
        fprintf(stderr, "server: --id: %s\n", err.msg);
        return 2;
    }
    if (!peermsg_run_id_valid(run_id)) {
        fprintf(stderr, "server: --run-id: at most %d letters, digits, '-' or '_'\n",
                PEERMSG_RUN_MAX);
        return 2;
    }
    daemon_install_signals(on_signal);
    rpc_global_init();
    the_server = &s;
    s.st = store_open(data, &(store_options){.sync = sync, .must_exist = rejoin, .self = s.id},
                      &err);
    if (!s.st)
        return start_failed(&s, ready_fd, &err);
    core_ops ops = {&s, link_out};
    s.core = core_new(s.id, s.st, &ops, &err);
    if (!s.core) {
        store_close(s.st);
        return start_failed(&s, ready_fd, &err);
    }
    core_set_run_id(s.core, run_id);
    uint16_t port;
    int lfd = net_listen(s.listen_host, 0, &port, &err);
    if (lfd < 0) {
        core_free(s.core);
        store_close(s.st);
        return start_failed(&s, ready_fd, &err);
    }
    s.log = logrl_new(stderr, 1000000);
    s.lp = loop_new();
    loop_listen(s.lp, lfd, on_accept, &s);
    s.rpc = proto_server_new(PROTO_SERVER, methods, sizeof methods / sizeof methods[0]);
    daemon_report_ready(ready_fd, port);

    int64_t push_at = 0;    /* when pending pushes go out; 0: none pending */
    int64_t last_push = 0;
    bool over_budget = false; /* the last push stopped at a link's budget */
    int64_t ack_at = 0;     /* when owed acks go out; 0: none owed */
    int64_t lsa_at = 0;     /* when pending LSAs go out; 0: none pending */
    int status = 0;
    while (!stop_requested) {
        int64_t now = net_now_us();
        if (core_damage(s.core)) {
            fprintf(stderr, "server %" PRIu64 ": stopping: %s\n", s.id, core_damage(s.core));
            status = 1;
            break;
        }
        if (store_take_warning(s.st, &err))
            logrl_printf(s.log, now, "server %" PRIu64 ": %s", s.id, err.msg);
        int64_t wake = tend_links(&s, now);
        /* LSAs first: advertising a link change may give writes to push. */
        if (lsa_at && now >= lsa_at) {
            core_send_lsas(s.core);
            lsa_at = 0;
        }
        if (!lsa_at && core_lsas_due(s.core))
            lsa_at = now + LSA_DELAY_US;
        if (!push_at && core_has_work(s.core))
            push_at = last_push + PUSH_INTERVAL_US > now ? last_push + PUSH_INTERVAL_US : now;
        if (!ack_at && core_acks_due(s.core))
            ack_at = now + ACK_DELAY_US;
        if (now < s.eager_until) {
            if (push_at && !over_budget)
                push_at = now;
            if (ack_at)
                ack_at = now;
        }
        bool acks = ack_at && now >= ack_at;
        if ((push_at && now >= push_at) || acks) {
            bool more = core_tick_acks(s.core, acks);
            if (push_at && now >= push_at) {
                over_budget = more;
                push_at = more ? now + PUSH_RETRY_US : 0;
                last_push = now;
            }
            if (acks)
                ack_at = 0;
        }
        if (push_at && push_at < wake)
            wake = push_at;
        if (ack_at && ack_at < wake)
            wake = ack_at;
        if (lsa_at && lsa_at < wake)
            wake = lsa_at;
        int64_t wait_us = wake - now;
        loop_run_once(s.lp, (int)(wait_us > 0 ? (wait_us + 999) / 1000 : 0));
    }
    loop_free(s.lp);
    core_free(s.core);
    store_close(s.st);
    rpc_server_free(s.rpc);
    logrl_free(s.log);
    free(s.links);
    return status;
}
