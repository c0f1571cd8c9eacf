#define _GNU_SOURCE
#include "seal.h"
#include "../common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/hash.h"

struct seal {
    int fd;
    char path[4096];
};

/* The checksummed part of the line: everything before " sum=". */
static int format_body(const seal_state *st, char *out, size_t cap)
{
    return snprintf(out, cap,
                    "DKVSEAL1 id=%" PRIu64 " inc=%" PRIu64 " own=%" PRIu64 " lamport=%" PRIu64
                    " total=%" PRIu64,
                    st->id, st->incarnation, st->own, st->lamport, st->total);
}

void seal_encode(const seal_state *st, char out[SEAL_SIZE])
{
    char body[SEAL_SIZE];
    int n = format_body(st, body, sizeof body);
    memset(out, ' ', SEAL_SIZE);
    int m = snprintf(out, SEAL_SIZE, "%.*s sum=%016" PRIx64, n, body, hash64(body, (size_t)n));
    out[m] = ' '; /* padding, not a terminator */
    out[SEAL_SIZE - 1] = '\n';
}

int seal_decode(const char *in, size_t len, seal_state *st, dkv_err *err)
{
    if (len != SEAL_SIZE || in[SEAL_SIZE - 1] != '\n')
        return dkv_err_set(err, "not a seal of %d bytes", SEAL_SIZE);
    char line[SEAL_SIZE];
    memcpy(line, in, SEAL_SIZE - 1);
    line[SEAL_SIZE - 1] = '\0';
    if (memchr(line, '\0', SEAL_SIZE - 1))
        return dkv_err_set(err, "the seal holds a NUL byte");
    seal_state s;
    uint64_t sum;
    int used = 0;
    if (sscanf(line,
               "DKVSEAL1 id=%" SCNu64 " inc=%" SCNu64 " own=%" SCNu64 " lamport=%" SCNu64
               " total=%" SCNu64 " sum=%16" SCNx64 "%n",
               &s.id, &s.incarnation, &s.own, &s.lamport, &s.total, &sum, &used) != 6)
        return dkv_err_set(err, "the seal is not in DKVSEAL1 format");
    for (int i = used; i < SEAL_SIZE - 1; i++)
        if (line[i] != ' ')
            return dkv_err_set(err, "the seal has bytes after its checksum");
    /* Re-encoding must give the same bytes: this rejects signs, leading
     * zeros and other spellings sscanf tolerates, and checks the sum. */
    char again[SEAL_SIZE];
    seal_encode(&s, again);
    if (memcmp(again, in, SEAL_SIZE) != 0)
        return dkv_err_set(err, "the seal's checksum does not match its content");
    *st = s;
    return 0;
}

seal *seal_open(const char *path, bool *existed, seal_state *st, dkv_err *err)
{
    seal *s = xcalloc(1, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    s->fd = open(path, O_RDWR | O_CLOEXEC);
    *existed = s->fd >= 0;
    if (s->fd < 0 && errno == ENOENT)
        s->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (s->fd < 0) {
        dkv_err_set(err, "seal %s: %s", path, strerror(errno));
        free(s);
        return NULL;
    }
    if (*existed) {
        char in[SEAL_SIZE + 1];
        ssize_t n = pread(s->fd, in, sizeof in, 0);
        if (n < 0 || seal_decode(in, (size_t)n, st, err) < 0) {
            if (n < 0)
                dkv_err_set(err, "%s", strerror(errno));
            dkv_err_wrap(err, "seal %s is damaged", path);
            seal_close(s);
            return NULL;
        }
    }
    return s;
}

void seal_close(seal *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

const char *seal_path(const seal *s) { return s->path; }

int seal_write(seal *s, const seal_state *st, dkv_err *err)
{
    char out[SEAL_SIZE];
    seal_encode(st, out);
    ssize_t n = pwrite(s->fd, out, SEAL_SIZE, 0);
    if (n != SEAL_SIZE)
        return dkv_err_set(err, "writing seal %s: %s", s->path,
                           n < 0 ? strerror(errno) : "short write");
    return 0;
}
