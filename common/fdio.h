#ifndef DKV_FDIO_H
#define DKV_FDIO_H

#include <stddef.h>

/* Writes all n bytes to a blocking fd (a file, a pipe, a terminal),
 * retrying short writes and EINTR. 0, or -1 with errno set. */
int fdio_write_all(int fd, const void *p, size_t n);

#endif
