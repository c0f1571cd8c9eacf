/* xalloc: allocation that cannot fail. Running out of memory in the middle
 * of a protocol step leaves no state worth keeping, so these print one line
 * naming the size and abort. Code that must survive a failed allocation
 * (a connection's buffers under an attacker's load) uses the fallible
 * paths instead (buf_set_fallible). */
#ifndef DKV_XALLOC_H
#define DKV_XALLOC_H

#include <stddef.h>

/* Zero sizes are allowed and return a distinct pointer to free later. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
void *xmemdup(const void *p, size_t n);
/* The n bytes at p and a NUL after them: bytes to read as a C string. */
char *xmemdupz(const void *p, size_t n);

#endif
