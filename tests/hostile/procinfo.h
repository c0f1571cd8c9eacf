/* procinfo: what the hostile tests observe of a daemon from outside,
 * through /proc: whether it is alive, its resident memory, the CPU time it
 * has used, and the TCP port it listens on. */
#ifndef DKV_PROCINFO_H
#define DKV_PROCINFO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* False when pid is gone or a zombie. */
bool procinfo_alive(pid_t pid);

/* VmRSS in kB, or -1 when the process is gone. */
long procinfo_rss_kb(pid_t pid);

/* User plus system CPU time in microseconds, or -1 when gone. */
int64_t procinfo_cpu_us(pid_t pid);

/* The first TCP port pid listens on (IPv4 or IPv6), or -1. */
int procinfo_listen_port(pid_t pid);

#endif
