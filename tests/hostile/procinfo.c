#include "procinfo.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/pidfile.h"

bool procinfo_alive(pid_t pid)
{
    pidfile_stat st;
    return pidfile_read_stat(pid, &st, NULL) == 0 && st.state != 'Z' && st.state != 'X';
}

long procinfo_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

int64_t procinfo_cpu_us(pid_t pid)
{
    pidfile_stat st;
    if (pidfile_read_stat(pid, &st, NULL) < 0)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return (int64_t)(st.utime + st.stime) * 1000000 / (hz > 0 ? hz : 100);
}

/* Whether pid holds the socket with this inode. */
static bool owns_inode(pid_t pid, unsigned long inode)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return false;
    char want[64];
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    bool found = false;
    for (struct dirent *e; !found && (e = readdir(d));) {
        char path[320], target[64];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            found = strcmp(target, want) == 0;
        }
    }
    closedir(d);
    return found;
}

/* Scans one /proc/net/tcp* table for a listening socket of pid. */
static int listen_port_in(const char *table, pid_t pid)
{
    FILE *f = fopen(table, "r");
    if (!f)
        return -1;
    char line[512];
    int port = -1;
    if (!fgets(line, sizeof line, f)) { /* the header line */
        fclose(f);
        return -1;
    }
    while (port < 0 && fgets(line, sizeof line, f)) {
        char local[128], remote[128], state[8];
        unsigned long inode;
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*s %127s %127s %7s %*s %*s %*s %*s %*s %lu", local, remote, state,
                   &inode) != 4)
            continue;
        if (strcmp(state, "0A") != 0) /* TCP_LISTEN */
            continue;
        char *colon = strrchr(local, ':');
        if (colon && owns_inode(pid, inode))
            port = (int)strtol(colon + 1, NULL, 16);
    }
    fclose(f);
    return port;
}

int procinfo_listen_port(pid_t pid)
{
    int port = listen_port_in("/proc/net/tcp", pid);
    return port >= 0 ? port : listen_port_in("/proc/net/tcp6", pid);
}
