#include "pidfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
static unsigned long long start_time(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')'); /* the command name may hold spaces */
    if (!p)
        return 0;
    unsigned long long t = 0;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " "))
        if (++field == 22) {
            t = strtoull(tok, NULL, 10);
            break;
        }
    return t;
}

int pidfile_record(const char *run_dir, const char *name, pid_t pid, dkv_err *err)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/pids", run_dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/pids/%s.pid", run_dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return dkv_err_set(err, "cannot write %s: %s", path, strerror(errno));
    fprintf(f, "%d %llu\n", (int)pid, start_time(pid));
    fclose(f);
    return 0;
}

void pidfile_remove(const char *run_dir, const char *name)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/pids/%s.pid", run_dir, name);
    unlink(path);
}

