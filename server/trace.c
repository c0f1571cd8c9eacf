#include "trace.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "peermsg.h"

/* How much of a clock, and how many ranges of writes, a line shows. */
#define TRACE_TEXT_MAX 200
#define TRACE_RANGES_MAX 32

static const char *type_word(peermsg_type t)
{
    switch (t) {
    case PEERMSG_HELLO: return "hello";
    case PEERMSG_UPD: return "upd";
    case PEERMSG_ACK: return "ack";
    case PEERMSG_LSA: return "lsa";
    case PEERMSG_PING: return "ping";
    }
    return "?";
}

static void print_vc(FILE *out, const vclock *vc)
{
    char *t = vc ? vclock_format(vc) : NULL;
    if (!t || !*t)
        fputs("-", out);
    else if (strlen(t) <= TRACE_TEXT_MAX)
        fputs(t, out);
    else
        fprintf(out, "%.*s... (%zu origins)", TRACE_TEXT_MAX, t, vclock_size(vc));
    free(t);
}

/* The writes of an upd: runs of one origin's consecutive seqs as ranges. */
static void print_writes(FILE *out, const peermsg *m)
{
    fprintf(out, "%zu write%s", m->n_upd, m->n_upd == 1 ? "" : "s");
    size_t ranges = 0;
    for (size_t i = 0; i < m->n_upd;) {
        size_t j = i;
        while (j + 1 < m->n_upd && m->upd[j + 1].origin == m->upd[i].origin &&
               m->upd[j + 1].seq == m->upd[j].seq + 1)
            j++;
        if (ranges++ == TRACE_RANGES_MAX) {
            fputs(",...", out);
            return;
        }
        fprintf(out, "%s%" PRIu64 ":%" PRIu64, ranges == 1 ? " " : ",", m->upd[i].origin,
                m->upd[i].seq);
        if (j > i)
            fprintf(out, "-%" PRIu64, m->upd[j].seq);
        i = j + 1;
    }
}

void trace_frame(FILE *out, uint64_t self, bool sent, uint64_t peer, const wire_frame *f)
{
    peermsg m;
    dkv_err err;
    const char *dir = sent ? "sent" : "received", *to = sent ? "to" : "from";
    if (peermsg_decode(f, &m, &err) < 0) {
        fprintf(out, "server %" PRIu64 ": trace %s frame %s %" PRIu64 ": malformed: %s\n", self,
                dir, to, peer, err.msg);
        return;
    }
    if (peer == 0 && m.type == PEERMSG_HELLO)
        peer = sent ? m.to : m.id;
    fprintf(out, "server %" PRIu64 ": trace %s %s %s %" PRIu64, self, dir, type_word(m.type), to,
            peer);
    switch (m.type) {
    case PEERMSG_HELLO:
        fprintf(out, ": inc %" PRIu64 " vc ", m.inc);
        print_vc(out, m.vc);
        break;
    case PEERMSG_ACK:
        fputs(": vc ", out);
        print_vc(out, m.vc);
        break;
    case PEERMSG_UPD:
        fputs(": ", out);
        print_writes(out, &m);
        break;
    case PEERMSG_LSA:
        fprintf(out, ": lsa %" PRIu64 " inc %" PRIu64 " seq %" PRIu64 " nb ", m.id, m.inc, m.seq);
        for (size_t i = 0; i < m.n_nb && i < TRACE_RANGES_MAX; i++)
            fprintf(out, "%s%" PRIu64, i ? "," : "", m.nb[i]);
        fputs(m.n_nb == 0 ? "-" : m.n_nb > TRACE_RANGES_MAX ? ",..." : "", out);
        break;
    case PEERMSG_PING: break;
    }
    fputc('\n', out);
    peermsg_clear(&m);
}
