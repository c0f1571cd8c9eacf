/* dump: prints a kept server's store (key:value, sorted), its write log and
 * its clocks, offline and read-only (server/dump.h says what it prints).
 *
 *   bin/dump [--store] [--log] [--clocks] DIR
 *
 * DIR is a server's data directory (RUN_DIR/server-ID of a run kept with
 * --keep or --run-dir). A store a running server holds (its LevelDB lock
 * is taken) is refused. Opening a LevelDB database changes its files
 * (the log is replayed into a table), so the dump reads a private copy,
 * removed afterwards: DIR is never written. Exit status: 0, 1 when the
 * store is damaged (what could be read is printed, each damage reported
 * on stderr), 2 when it cannot be read at all or on a usage error. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/daemon.h"
#include "../common/err.h"
#include "dump.h"
#include "kv_leveldb.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: dump [--store] [--log] [--clocks] DIR\n"
               "  prints a stopped server's store (key:value, sorted by key), its write log\n"
               "  and its clocks; DIR is its data directory (RUN_DIR/server-ID). Without a\n"
               "  section option, all three, each under a header.\n");
}

/* The pid of the process holding DIR's LevelDB lock, 0 when none does, -1
 * when that cannot be told (with err). LevelDB locks its LOCK file with a
 * POSIX record lock; F_GETLK asks without taking it. */
static int lock_holder(const char *dir, dkv_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/LOCK", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : dkv_err_set(err, "%s: %s", path, strerror(errno));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int rc = fcntl(fd, F_GETLK, &fl);
    int e = errno;
    close(fd);
    if (rc < 0)
        return dkv_err_set(err, "%s: cannot test the lock: %s", path, strerror(e));
    return fl.l_type == F_UNLCK ? 0 : (fl.l_pid > 0 ? fl.l_pid : 1);
}

static int copy_file(const char *from, const char *to, dkv_err *err)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return dkv_err_set(err, "%s: %s", from, strerror(errno));
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return dkv_err_set(err, "%s: %s", to, strerror(errno));
    }
    char b[1 << 16];
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = read(in, b, sizeof b)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = dkv_err_set(err, "%s: %s", from, strerror(errno));
        for (ssize_t w, done = 0; rc == 0 && done < n; done += w)
            if ((w = write(out, b + done, (size_t)(n - done))) < 0)
                rc = dkv_err_set(err, "%s: %s", to, strerror(errno));
    }
    close(in);
    if (close(out) < 0 && rc == 0)
        rc = dkv_err_set(err, "%s: %s", to, strerror(errno));
    return rc;
}

/* Copies DIR's files (not its lock) into copy. */
static int copy_store(const char *dir, const char *copy, dkv_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return dkv_err_set(err, "%s: %s", dir, strerror(errno));
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        char from[PATH_MAX + 256], to[PATH_MAX + 256];
        struct stat st;
        snprintf(from, sizeof from, "%s/%s", dir, e->d_name);
        snprintf(to, sizeof to, "%s/%s", copy, e->d_name);
        if (strcmp(e->d_name, "LOCK") == 0 || lstat(from, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        rc = copy_file(from, to, err);
    }
    closedir(d);
    return rc;
}

/* LevelDB's messages name the files it opened, the copy's: name the
 * store's own instead. */
static void print_named(const char *prefix, const char *msg, const char *copy, const char *dir)
{
    fputs(prefix, stderr);
    size_t cl = strlen(copy);
    for (const char *p = msg, *q; *p; p = q + cl) {
        q = strstr(p, copy);
        if (!q) {
            fputs(p, stderr);
            break;
        }
        fwrite(p, 1, (size_t)(q - p), stderr);
        fputs(dir, stderr);
    }
    fputc('\n', stderr);
}

/* Dumps the store in dir (a copy of it, see the top). The exit status. */
static int dump_dir(const char *dir, unsigned sections)
{
    dkv_err err;
    if (!kv_leveldb_exists(dir)) {
        fprintf(stderr, "dump: %s: not a server's store (no LevelDB CURRENT file)\n", dir);
        return 2;
    }
    const char *tmp = getenv("TMPDIR");
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s/daadkvs-dump-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int holder = lock_holder(dir, &err);
    if (holder == 0) {
        if (!mkdtemp(copy)) {
            fprintf(stderr, "dump: cannot make a directory for a copy of the store: %s\n",
                    strerror(errno));
            return 2;
        }
        if (copy_store(dir, copy, &err) < 0) {
            fprintf(stderr, "dump: cannot copy %s: %s\n", dir, err.msg);
            daemon_remove_tree(copy);
            return 2;
        }
        /* A server that started meanwhile may have changed files mid-copy. */
        holder = lock_holder(dir, &err);
        if (holder != 0)
            daemon_remove_tree(copy);
    }
    if (holder < 0) {
        fprintf(stderr, "dump: %s\n", err.msg);
        return 2;
    }
    if (holder > 0) {
        fprintf(stderr,
                "dump: store %s is in use: process %d holds its LevelDB lock (a running "
                "server); dump it once that server has stopped (master --keep keeps the "
                "store after the run)\n",
                dir, holder);
        return 2;
    }
    kv *db = kv_leveldb_open(copy, &(kv_leveldb_options){0}, &err);
    if (!db) {
        print_named("dump: LevelDB cannot open the store, which is damaged: ", err.msg, copy, dir);
        daemon_remove_tree(copy);
        return 1;
    }
    dump_counts n;
    int rc = dump_kv(db, sections, stdout, stderr, &n, &err);
    kv_close(db);
    daemon_remove_tree(copy);
    if (rc < 0) {
        print_named("dump: cannot read the store: ", err.msg, copy, dir);
        return n.damaged ? 1 : 2;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "dump: cannot write: %s\n", strerror(errno));
        return 2;
    }
    if (n.damaged) {
        fprintf(stderr, "dump: store %s is damaged: %zu damaged record%s or gap%s (above)\n", dir,
                n.damaged, n.damaged == 1 ? "" : "s", n.damaged == 1 ? "" : "s");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"store", no_argument, 0, 's'},
                                         {"log", no_argument, 0, 'l'},
                                         {"clocks", no_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    unsigned sections = 0;
    for (int o; (o = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        switch (o) {
        case 's': sections |= DUMP_STORE; break;
        case 'l': sections |= DUMP_LOG; break;
        case 'c': sections |= DUMP_CLOCKS; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    return dump_dir(argv[optind], sections ? sections : DUMP_ALL);
}
