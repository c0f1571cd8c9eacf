#include "logrl.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdlib.h>

/* Call sites are told apart by their format string; a daemon has a few
 * dozen at most, and a full table just evicts the oldest. */
#define LOGRL_SITES 64

typedef struct site {
    const char *fmt;
    int64_t last_us;
    uint64_t suppressed;
} site;

struct logrl {
    FILE *out;
    int64_t interval_us;
    site sites[LOGRL_SITES];
};

logrl *logrl_new(FILE *out, int64_t interval_us)
{
    logrl *l = xcalloc(1, sizeof *l);
    l->out = out;
    l->interval_us = interval_us;
    return l;
}

void logrl_free(logrl *l) { free(l); }

static site *find_site(logrl *l, const char *fmt)
{
    site *oldest = &l->sites[0];
    for (size_t i = 0; i < LOGRL_SITES; i++) {
        if (l->sites[i].fmt == fmt)
            return &l->sites[i];
        if (!l->sites[i].fmt)
            return &l->sites[i];
        if (l->sites[i].last_us < oldest->last_us)
            oldest = &l->sites[i];
    }
    *oldest = (site){0};
    return oldest;
}

void logrl_printf(logrl *l, int64_t now_us, const char *fmt, ...)
{
    site *s = find_site(l, fmt);
    if (s->fmt == fmt && now_us - s->last_us < l->interval_us) {
        s->suppressed++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(l->out, fmt, ap);
    va_end(ap);
    if (s->fmt == fmt && s->suppressed)
        fprintf(l->out, " (%llu similar lines suppressed)", (unsigned long long)s->suppressed);
    fputc('\n', l->out);
    fflush(l->out);
    *s = (site){fmt, now_us, 0};
}
