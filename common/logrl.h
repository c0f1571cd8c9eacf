/* logrl: rate-limited log lines on stderr. A daemon that fails the same way
 * in a loop (a full disk, a peer that keeps redialling) must not flood its
 * log: each call site prints at most one line per interval, and the next
 * line it prints says how many were suppressed. */
#ifndef DKV_LOGRL_H
#define DKV_LOGRL_H

#include <stdint.h>
#include <stdio.h>

typedef struct logrl logrl;

/* interval_us between two lines of one call site. Caller frees with
 * logrl_free. */
logrl *logrl_new(FILE *out, int64_t interval_us);
void logrl_free(logrl *l);

/* Prints the line (a newline is added) unless the same call site (fmt)
 * printed within the interval before now_us. */
void logrl_printf(logrl *l, int64_t now_us, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
