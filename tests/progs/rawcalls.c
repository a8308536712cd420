/* rawcalls.c - file calls made through libc's generic syscall(), as
 * libuv and Bun make some of theirs: creat, dup, fcntl(F_DUPFD_CLOEXEC),
 * write, close, stat, getdents64, chown, mknodat. Run under the shim by
 * tests/integration/syscall.t; prints what it saw. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main(void)
{
	struct stat st;
	char buf[4096];
	long fd, fd2, fd3, n, off, r;
	int entries = 0;

	fd = syscall(SYS_creat, "raw.txt", 0644);
	fd2 = syscall(SYS_dup, fd);
	syscall(SYS_close, fd);
	if (write((int)fd2, "via syscall\n", 12) != 12)
		return 1;
	fd3 = syscall(SYS_fcntl, fd2, F_DUPFD_CLOEXEC, 50);
	syscall(SYS_close, fd2);
	syscall(SYS_close, fd3);	/* the last one: written back here */
	r = syscall(SYS_stat, "raw.txt", &st);
	printf("stat %ld size %lld\n", r, (long long)st.st_size);
	r = syscall(SYS_chown, "raw.txt", 4242, 4343);
	printf("chown %ld\n", r);
	r = syscall(SYS_mknodat, AT_FDCWD, "raw.fifo", S_IFIFO | 0600, 0);
	printf("mknodat %ld\n", r);
	fd = syscall(SYS_openat, AT_FDCWD, ".", O_RDONLY | O_DIRECTORY);
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (off = 0; off < n; off += ((struct dirent64 *)
		    (buf + off))->d_reclen)
			entries++;
	syscall(SYS_close, fd);
	printf("entries %d\n", entries);
	return 0;
}
