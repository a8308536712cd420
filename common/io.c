/* io.c - whole-buffer I/O on raw syscalls (io.h). */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io.h"

int
zmx_io_write_all(int fd, const void *p, size_t len, off_t off)
{
	const char *c = p;
	long n;

	while (len > 0) {
		if (off >= 0)
			n = syscall(SYS_pwrite64, fd, c, len, off);
		else
			n = syscall(SYS_write, fd, c, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += n;
		len -= n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

ssize_t
zmx_io_read_all(int fd, void *p, size_t len, off_t off)
{
	char *c = p;
	size_t got = 0;
	long n;

	while (got < len) {
		if (off >= 0)
			n = syscall(SYS_pread64, fd, c + got, len - got,
			    off + (off_t)got);
		else
			n = syscall(SYS_read, fd, c + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += n;
	}
	return (ssize_t)got;
}
