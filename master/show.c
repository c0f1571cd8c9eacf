#include "show.h"

#include <inttypes.h>

static const char *link_word(proto_link l)
{
    switch (l) {
    case PROTO_LINK_UP: return "up";
    case PROTO_LINK_DIALLING: return "dialling";
    case PROTO_LINK_HELD: return "held";
    case PROTO_LINK_DOWN: return "down";
    case PROTO_LINK_NONE: break;
    }
    return "none";
}

void show_print(FILE *f, const proto_server_show_reply *r)
{
    uint64_t id = r->id;
    fprintf(f, "show %" PRIu64 " incarnation %" PRIu64 "\n", id, r->incarnation);
    fprintf(f, "show %" PRIu64 " lamport %" PRIu64 "\n", id, r->lamport);
    /* The clock as the digests write it: origin:count, ascending. */
    fprintf(f, "show %" PRIu64 " vclock ", id);
    size_t k = 0;
    for (size_t i = 0; i < r->n_nodes; i++)
        if (r->nodes[i].applied)
            fprintf(f, "%s%" PRIu64 ":%" PRIu64, k++ ? "," : "", r->nodes[i].id,
                    r->nodes[i].applied);
    fprintf(f, "%s\n", k ? "" : "-");
    for (size_t i = 0; i < r->n_nodes; i++) {
        const proto_show_node *n = &r->nodes[i];
        if (n->link == PROTO_LINK_NONE)
            continue;
        fprintf(f, "show %" PRIu64 " link %" PRIu64 " %s", id, n->id, link_word(n->link));
        if (n->link == PROTO_LINK_UP)
            fprintf(f, " heard %" PRId64 "ms", n->heard_ms);
        fputc('\n', f);
    }
    for (size_t i = 0; i < r->n_nodes; i++) {
        const proto_show_node *n = &r->nodes[i];
        if (n->has_lsa)
            fprintf(f, "show %" PRIu64 " lsa %" PRIu64 " inc %" PRIu64 " seq %" PRIu64 " nb %s\n",
                    id, n->id, n->lsa_inc, n->lsa_seq, n->lsa_nb[0] ? n->lsa_nb : "-");
    }
    for (size_t i = 0; i < r->n_nodes; i++) {
        const proto_show_node *n = &r->nodes[i];
        if (n->has_parent)
            fprintf(f, "show %" PRIu64 " tree %" PRIu64 " parent %" PRIu64 "\n", id, n->id,
                    n->parent);
        else if (n->in_group)
            fprintf(f, "show %" PRIu64 " tree %" PRIu64 " root\n", id, n->id);
    }
    fprintf(f, "show %" PRIu64 " group ", id);
    k = 0;
    for (size_t i = 0; i < r->n_nodes; i++)
        if (r->nodes[i].in_group)
            fprintf(f, "%s%" PRIu64, k++ ? "," : "", r->nodes[i].id);
    fprintf(f, "\n");
    fprintf(f, "show %" PRIu64 " queued %" PRId64 "\n", id, r->queued);
}
