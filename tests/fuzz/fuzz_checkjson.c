/* Fuzzes the reader of bin/check's JSON verdict (scripts/report/checkjson.c),
 * which bin/report takes from outside. Whatever it accepts must satisfy
 * the invariants the page relies on; every accepted text is escaped as the
 * page would (scripts/report/esc.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../scripts/report/checkjson.h"
#include "../../scripts/report/esc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink && !(sink = fopen("/dev/null", "w")))
        abort();
    dkv_err err;
    checkjson *c = checkjson_parse((const char *)data, size, &err);
    if (!c) {
        if (!memchr(err.msg, '\0', sizeof err.msg) || !err.msg[0])
            abort(); /* a refusal always says why */
        /* Arbitrary bytes through the escaper too. */
        esc_html(sink, data, size, size % 7 ? 0 : size / 2);
        return 0;
    }
    const char *v = checkjson_verdict(c);
    if (strcmp(v, "valid") != 0 && strcmp(v, "invalid") != 0 && strcmp(v, "undecidable") != 0)
        abort();
    const checkjson_violation *vs;
    size_t n = checkjson_violations(c, &vs);
    if (strcmp(v, "valid") == 0 && n)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (vs[i].line < 1 || !vs[i].kind || !vs[i].text)
            abort();
        for (size_t k = 0; k < vs[i].n_related; k++)
            if (vs[i].related[k] < 1)
                abort();
        esc_html_str(sink, vs[i].kind);
        esc_html_str(sink, vs[i].text);
    }
    if (checkjson_error(c))
        esc_html_str(sink, checkjson_error(c));
    checkjson_free(c);
    return 0;
}
