/* checkjson: reads the verdict `bin/check --json FILE` writes (see
 * scripts/check/main.c): verdict, violations with their script lines and
 * explanations. The file is outside input: every field is type-checked. */
#ifndef DKV_REPORT_CHECKJSON_H
#define DKV_REPORT_CHECKJSON_H

#include <stddef.h>

#include "../../common/err.h"

typedef struct checkjson_violation {
    char *kind;     /* "lost-write", ... */
    long line;      /* the offending operation's script line */
    long *related;  /* other script lines it involves */
    size_t n_related;
    char *text;     /* the explanation */
} checkjson_violation;

typedef struct checkjson checkjson;

/* Parses buf[0..len). NULL with err on bad input; caller frees with
 * checkjson_free. */
checkjson *checkjson_parse(const char *buf, size_t len, dkv_err *err);
/* Reads and parses the file at path. */
checkjson *checkjson_load(const char *path, dkv_err *err);
void checkjson_free(checkjson *c);

/* "valid", "invalid" or "undecidable". */
const char *checkjson_verdict(const checkjson *c);
/* Why the checker could not decide, or NULL. */
const char *checkjson_error(const checkjson *c);
long checkjson_operations(const checkjson *c);
/* The violations, in the order found. */
size_t checkjson_violations(const checkjson *c, const checkjson_violation **v);

#endif
