#include "pidfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pidfile_read_stat(pid_t pid, pidfile_stat *out, dkv_err *err)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return dkv_err_set(err, "cannot read %s: %s", path, strerror(errno));
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    /* The command name (field 2) may hold spaces and parentheses: the
     * fields that follow start after the last ')'. */
    char *p = strrchr(line, ')');
    if (!p || p[1] != ' ')
        return dkv_err_set(err, "%s: no command name", path);
    memset(out, 0, sizeof *out);
    int field = 2;
    char *save = NULL;
    for (char *tok = strtok_r(p + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        switch (++field) {
        case 3: out->state = tok[0]; break;
        case 14: out->utime = strtoull(tok, NULL, 10); break;
        case 15: out->stime = strtoull(tok, NULL, 10); break;
        case 22: out->started = strtoull(tok, NULL, 10); return 0;
        }
    }
    return dkv_err_set(err, "%s: only %d fields", path, field);
}

/* RUN_DIR/pids, or RUN_DIR/pids/NAME.pid when name is not NULL. */
static int record_path(char *out, size_t cap, const char *run_dir, const char *name,
                       dkv_err *err)
{
    int n = name ? snprintf(out, cap, "%s/pids/%s.pid", run_dir, name)
                 : snprintf(out, cap, "%s/pids", run_dir);
    if (n < 0 || (size_t)n >= cap)
        return dkv_err_set(err, "the pid records' path under %s is too long", run_dir);
    return 0;
}

int pidfile_record(const char *run_dir, const char *name, pid_t pid, dkv_err *err)
{
    char path[4600];
    pidfile_stat st;
    if (pidfile_read_stat(pid, &st, err) < 0)
        return dkv_err_wrap(err, "cannot record pid %d as %s", (int)pid, name);
    if (record_path(path, sizeof path, run_dir, NULL, err) < 0)
        return -1;
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return dkv_err_set(err, "cannot create %s: %s", path, strerror(errno));
    if (record_path(path, sizeof path, run_dir, name, err) < 0)
        return -1;
    FILE *f = fopen(path, "w");
    if (!f)
        return dkv_err_set(err, "cannot write %s: %s", path, strerror(errno));
    bool written = fprintf(f, "%d %llu\n", (int)pid, st.started) > 0;
    if (fclose(f) != 0 || !written) {
        int e = errno;
        unlink(path); /* a partial record must not name a wrong process */
        return dkv_err_set(err, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

int pidfile_remove(const char *run_dir, const char *name, dkv_err *err)
{
    char path[4600];
    if (record_path(path, sizeof path, run_dir, name, err) < 0)
        return -1;
    if (unlink(path) < 0 && errno != ENOENT)
        return dkv_err_set(err, "cannot remove %s: %s", path, strerror(errno));
    return 0;
}
