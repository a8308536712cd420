/* io.h - whole-buffer reads and writes through raw syscalls, so the shim
 * can use them on its own fds without meeting its own wrappers. */
#ifndef ZMX_IO_H
#define ZMX_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Writes all len bytes at off (or at the file position if off < 0).
 * Returns 0 or -errno. */
int	zmx_io_write_all(int fd, const void *p, size_t len, off_t off);
/* Reads up to len bytes at off until EOF. Returns the count or -errno. */
ssize_t	zmx_io_read_all(int fd, void *p, size_t len, off_t off);

#endif
