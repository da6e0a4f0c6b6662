/* Small descriptor helpers shared by the kernel, the tools and the plugins
 * (compiled into libvimapsupport). */
#ifndef VIMAP_FD_UTIL_H
#define VIMAP_FD_UTIL_H

#include <stddef.h>

/* Writes all `len` bytes of `data` to fd, going on after EINTR and short
   writes.  0, or -1 with errno set. */
int fd_write_all(int fd, const void *data, size_t len);

#endif
