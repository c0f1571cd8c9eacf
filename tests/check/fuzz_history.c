/* Fuzzes the history line parser (check/histline.c) on arbitrary
 * bytes, one input split into lines. Whatever it accepts must satisfy the
 * record invariants; accepted records then go through the checker, which
 * must neither crash nor leak on any sequence of well-formed records. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../scripts/check/checker.h"
#include "../../scripts/check/histline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_bytes(const histline_bytes *b)
{
    if (!b->p || b->p[b->n] != 0)
        abort();
}

static void check_record(const histline_record *r)
{
    if (r->line < 1 || !r->text.p || !r->cmd_word.p)
        abort();
    check_bytes(&r->text);
    check_bytes(&r->cmd_word);
    if (r->has_key)
        check_bytes(&r->key);
    if (r->has_value)
        check_bytes(&r->value);
    if (r->ok && r->cmd == HISTLINE_PUT && (!r->has_version || dkv_version_is_none(r->version)))
        abort();
    if (r->ok && r->cmd == HISTLINE_GET && r->result == HISTLINE_RES_OK &&
        (!r->has_value || dkv_version_is_none(r->version)))
        abort();
    if (r->has_version && !dkv_version_is_none(r->version) && r->version.lamport == 0)
        abort();
    for (size_t i = 0; i < r->n_store; i++) {
        check_bytes(&r->store[i].key);
        check_bytes(&r->store[i].value);
        if (dkv_version_is_none(r->store[i].version))
            abort();
    }
    for (size_t g = 0; g < r->n_groups; g++)
        if (r->groups[g].n && !r->groups[g].ids)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    checker *c = checker_new(NULL);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        histline_record rec;
        dkv_err err;
        if (histline_parse(p, len, &rec, &err) == 0) {
            check_record(&rec);
            checker_feed(c, &rec, &err);
            histline_record_clear(&rec);
        } else if (err.msg[0] == '\0') {
            abort(); /* a refusal always says why */
        }
        p += len + 1;
    }
    for (size_t i = 0; i < checker_violation_count(c); i++)
        if (!checker_violation_at(c, i)->text)
            abort();
    checker_free(c);
    return 0;
}
