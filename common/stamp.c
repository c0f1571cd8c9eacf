#define _GNU_SOURCE
#include "stamp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"
#include "fdio.h"

typedef struct stamp {
    int fd;
    bool line_start; /* the next byte begins a line */
} stamp;

size_t stamp_prefix(char *out)
{
    struct timespec wall, mono;
    clock_gettime(CLOCK_REALTIME, &wall);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    struct tm tm;
    gmtime_r(&wall.tv_sec, &tm);
    size_t n = strftime(out, STAMP_PREFIX_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    int k = snprintf(out + n, STAMP_PREFIX_MAX - n, ".%06ldZ %lld ", wall.tv_nsec / 1000,
                     (long long)mono.tv_sec * 1000000 + mono.tv_nsec / 1000);
    return n + (k > 0 ? (size_t)k : 0);
}

static ssize_t stamp_write(void *cookie, const char *p, size_t n)
{
    stamp *s = cookie;
    size_t done = 0;
    while (done < n) {
        if (s->line_start) {
            char pre[STAMP_PREFIX_MAX];
            if (fdio_write_all(s->fd, pre, stamp_prefix(pre)) < 0)
                return -1;
            s->line_start = false;
        }
        const char *nl = memchr(p + done, '\n', n - done);
        size_t len = nl ? (size_t)(nl - (p + done)) + 1 : n - done;
        if (fdio_write_all(s->fd, p + done, len) < 0)
            return done ? (ssize_t)done : -1;
        done += len;
        s->line_start = nl != NULL;
    }
    return (ssize_t)n;
}

static int stamp_close(void *cookie)
{
    free(cookie);
    return 0;
}

FILE *stamp_open(int fd)
{
    stamp *s = xcalloc(1, sizeof *s);
    s->fd = fd;
    s->line_start = true;
    FILE *f = fopencookie(s, "w", (cookie_io_functions_t){NULL, stamp_write, NULL, stamp_close});
    if (!f) {
        free(s);
        return NULL;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    return f;
}
