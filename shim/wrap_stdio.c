/* wrap_stdio.c - fopen, freopen and fclose: glibc opens and closes FILE
 * streams with internal calls that never reach open() or close(). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "guard.h"
#include "real.h"
#include "shim.h"

/* fopen(3) mode to open(2) flags; -1 if the mode is invalid. */
static int
mode_flags(const char *mode)
{
	int flags;

	switch (mode[0]) {
	case 'r': flags = O_RDONLY; break;
	case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
	case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
	default: return -1;
	}
	for (mode++; *mode != '\0' && *mode != ','; mode++) {
		if (*mode == '+')
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		else if (*mode == 'x')
			flags |= O_EXCL;
		else if (*mode == 'e')
			flags |= O_CLOEXEC;
	}
	return flags;
}

/* NULL with *local set: the caller opens it with libc. */
static FILE *
remote_fopen(const char *path, const char *mode, int *local)
{
	struct zmx_where w;
	FILE *fp;
	int fd, flags, r;

	*local = 0;
	if ((r = zmx_where(AT_FDCWD, path, 0, &w)) != ZMX_REMOTE) {
		if (r < 0) {
			errno = -r;
			return NULL;
		}
		*local = 1;
		return NULL;
	}
	if (mode == NULL || (flags = mode_flags(mode)) < 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((fd = zmx_fs_openat(AT_FDCWD, w.lpath, flags, 0666)) < 0) {
		errno = -fd;
		return NULL;
	}
	if ((fp = fdopen(fd, mode)) == NULL) {
		r = errno;
		(void)zmx_fs_close(fd);
		errno = r;
	}
	return fp;
}

/* real is passed by address: a call before our constructor (another
 * library's constructor) finds it resolved only after zmx_guard_enter() */
static FILE *
fopen_any(FILE *(**real)(const char *, const char *), const char *path,
    const char *mode)
{
	FILE *fp;
	int local, err;

	if (!zmx_guard_enter())
		return (*real)(path, mode);
	fp = remote_fopen(path, mode, &local);
	err = errno;
	if (local) {
		zmx_guard_leave();
		return (*real)(path, mode);
	}
	zmx_guard_ret(fp == NULL ? -err : 0);	/* restores errno on success */
	return fp;
}

ZMX_EXPORT FILE *
fopen(const char *path, const char *mode)
{
	return fopen_any(&real_fopen, path, mode);
}

ZMX_EXPORT FILE *
fopen64(const char *path, const char *mode)
{
	return fopen_any(&real_fopen64, path, mode);
}

/* A remote freopen keeps the stream and its fd number: the new file is
 * opened, then dup2()ed over the stream's fd. */
static FILE *
freopen_any(FILE *(**real)(const char *, const char *, FILE *),
    const char *path, const char *mode, FILE *fp)
{
	struct zmx_where w;
	int fd, old, flags, r;

	if (!zmx_guard_enter())
		return (*real)(path, mode, fp);
	if (path == NULL) {
		zmx_guard_leave();
		return (*real)(path, mode, fp);
	}
	if ((r = zmx_where(AT_FDCWD, path, 0, &w)) != ZMX_REMOTE) {
		zmx_guard_leave();
		if (r < 0) {
			errno = -r;
			return NULL;
		}
		return (*real)(path, mode, fp);
	}
	if ((flags = mode_flags(mode)) < 0) {
		zmx_guard_ret(-EINVAL);
		return NULL;
	}
	fflush(fp);
	if ((fd = zmx_fs_openat(AT_FDCWD, w.lpath, flags & ~O_CLOEXEC,
	    0666)) < 0) {
		zmx_guard_ret(fd);
		return NULL;
	}
	if ((old = fileno(fp)) < 0) {
		(void)zmx_fs_close(fd);
		zmx_guard_ret(-EBADF);
		return NULL;
	}
	r = zmx_fs_dup_to(fd, old, real_dup2(fd, old));
	(void)zmx_fs_close(fd);
	clearerr(fp);
	if (r < 0) {
		zmx_guard_ret(r);
		return NULL;
	}
	zmx_guard_ret(0);
	return fp;
}

ZMX_EXPORT FILE *
freopen(const char *path, const char *mode, FILE *fp)
{
	return freopen_any(&real_freopen, path, mode, fp);
}

ZMX_EXPORT FILE *
freopen64(const char *path, const char *mode, FILE *fp)
{
	return freopen_any(&real_freopen64, path, mode, fp);
}

ZMX_EXPORT int
fclose(FILE *fp)
{
	int fd, r, wr;

	if (fp == NULL || !zmx_guard_enter())
		return real_fclose(fp);
	fd = fileno(fp);
	if (fd < 0 || zmx_fdtab_get(fd) == NULL) {
		zmx_guard_leave();
		return real_fclose(fp);
	}
	/* flush the stream into the memfd, write back, then let glibc
	 * close the fd with its internal close */
	fflush(fp);
	wr = zmx_fs_release(fd);
	r = real_fclose(fp);
	if (r < 0)
		return (int)zmx_guard_ret(-errno);
	return (int)zmx_guard_ret(wr);
}
