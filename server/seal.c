#define _GNU_SOURCE
#include "seal.h"
#include "../common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../common/hash.h"

struct seal {
    int fd;
    char *map; /* the file's two slots, shared with the page cache */
    uint64_t gen;
    char path[4096];
};

/* The checksummed part of the line: everything before " sum=". */
static int format_body(const seal_state *st, uint64_t gen, char *out, size_t cap)
{
    return snprintf(out, cap,
                    "DKVSEAL2 gen=%" PRIu64 " id=%" PRIu64 " inc=%" PRIu64 " own=%" PRIu64
                    " lamport=%" PRIu64 " total=%" PRIu64,
                    gen, st->id, st->incarnation, st->own, st->lamport, st->total);
}

void seal_encode(const seal_state *st, uint64_t gen, char out[SEAL_SIZE])
{
    char body[SEAL_SIZE];
    int n = format_body(st, gen, body, sizeof body);
    memset(out, ' ', SEAL_SIZE);
    int m = snprintf(out, SEAL_SIZE, "%.*s sum=%016" PRIx64, n, body, hash64(body, (size_t)n));
    out[m] = ' '; /* padding, not a terminator */
    out[SEAL_SIZE - 1] = '\n';
}

int seal_decode(const char *in, size_t len, seal_state *st, uint64_t *gen, dkv_err *err)
{
    if (len != SEAL_SIZE || in[SEAL_SIZE - 1] != '\n')
        return dkv_err_set(err, "not a seal of %d bytes", SEAL_SIZE);
    char line[SEAL_SIZE];
    memcpy(line, in, SEAL_SIZE - 1);
    line[SEAL_SIZE - 1] = '\0';
    if (memchr(line, '\0', SEAL_SIZE - 1))
        return dkv_err_set(err, "the seal holds a NUL byte");
    seal_state s;
    uint64_t sum, g;
    int used = 0;
    if (sscanf(line,
               "DKVSEAL2 gen=%" SCNu64 " id=%" SCNu64 " inc=%" SCNu64 " own=%" SCNu64
               " lamport=%" SCNu64 " total=%" SCNu64 " sum=%16" SCNx64 "%n",
               &g, &s.id, &s.incarnation, &s.own, &s.lamport, &s.total, &sum, &used) != 7)
        return dkv_err_set(err, "the seal is not in DKVSEAL2 format");
    for (int i = used; i < SEAL_SIZE - 1; i++)
        if (line[i] != ' ')
            return dkv_err_set(err, "the seal has bytes after its checksum");
    /* Re-encoding must give the same bytes: this rejects signs, leading
     * zeros and other spellings sscanf tolerates, and checks the sum. */
    char again[SEAL_SIZE];
    seal_encode(&s, g, again);
    if (memcmp(again, in, SEAL_SIZE) != 0)
        return dkv_err_set(err, "the seal's checksum does not match its content");
    *st = s;
    *gen = g;
    return 0;
}

static bool all_zero(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Reads the newest readable slot of an existing file. An empty file (or
 * slots never written) records nothing. */
static int read_slots(seal *s, bool *existed, seal_state *st, dkv_err *err)
{
    char in[2 * SEAL_SIZE];
    ssize_t n = pread(s->fd, in, sizeof in, 0);
    if (n < 0)
        return dkv_err_set(err, "seal %s: %s", s->path, strerror(errno));
    if (n == 0 || all_zero(in, (size_t)n)) {
        *existed = false;
        return 0;
    }
    bool found = false;
    dkv_err why = {{0}};
    for (size_t k = 0; k < 2; k++) {
        seal_state cand;
        uint64_t gen;
        size_t off = k * SEAL_SIZE;
        size_t have = (size_t)n > off ? (size_t)n - off : 0;
        if (seal_decode(in + off, have < SEAL_SIZE ? have : SEAL_SIZE, &cand, &gen, &why) < 0)
            continue;
        if (!found || gen > s->gen) {
            *st = cand;
            s->gen = gen;
        }
        found = true;
    }
    if (!found)
        return dkv_err_set(err, "seal %s is damaged: %s", s->path, why.msg);
    return 0;
}

seal *seal_open(const char *path, bool *existed, seal_state *st, dkv_err *err)
{
    seal *s = xcalloc(1, sizeof *s);
    s->map = MAP_FAILED;
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
    if (*existed && read_slots(s, existed, st, err) < 0) {
        seal_close(s);
        return NULL;
    }
    if (ftruncate(s->fd, 2 * SEAL_SIZE) < 0 ||
        (s->map = mmap(NULL, 2 * SEAL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0)) ==
            MAP_FAILED) {
        dkv_err_set(err, "seal %s: %s", path, strerror(errno));
        seal_close(s);
        return NULL;
    }
    return s;
}

void seal_close(seal *s)
{
    if (!s)
        return;
    if (s->map != MAP_FAILED)
        munmap(s->map, 2 * SEAL_SIZE);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

const char *seal_path(const seal *s) { return s->path; }

void seal_write(seal *s, const seal_state *st)
{
    s->gen++;
    seal_encode(st, s->gen, s->map + (s->gen % 2) * SEAL_SIZE);
}
