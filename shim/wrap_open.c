/* wrap_open.c - open, creat and the fd calls that must follow a remote
 * fd around: close, dup*, fcntl(F_DUPFD*), fsync, the mkstemp family. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "conn.h"
#include "fs.h"
#include "guard.h"
#include "real.h"
#include "shim.h"

#define NEEDS_MODE(f)	(((f) & O_CREAT) || ((f) & O_TMPFILE) == O_TMPFILE)
#define GET_MODE(flags, last, mode) do {				\
	if (NEEDS_MODE(flags)) {					\
		va_list ap_;						\
		va_start(ap_, last);					\
		mode = va_arg(ap_, mode_t);				\
		va_end(ap_);						\
	}								\
} while (0)

static int
open_at(int (*real)(int, const char *, int, ...), int dirfd,
    const char *path, int flags, mode_t mode)
{
	if (!zmx_guard_enter())
		return real(dirfd, path, flags, mode);
	return (int)zmx_guard_ret(zmx_fs_openat(dirfd, path, flags, mode));
}

static int
real_open_at(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	GET_MODE(flags, flags, mode);
	return real_openat(dirfd, path, flags, mode);
}

ZMX_EXPORT int
open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	GET_MODE(flags, flags, mode);
	return open_at(real_open_at, AT_FDCWD, path, flags, mode);
}

ZMX_EXPORT int
open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	GET_MODE(flags, flags, mode);
	return open_at(real_open_at, AT_FDCWD, path, flags | O_LARGEFILE, mode);
}

ZMX_EXPORT int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	GET_MODE(flags, flags, mode);
	return open_at(real_open_at, dirfd, path, flags, mode);
}

ZMX_EXPORT int
openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	GET_MODE(flags, flags, mode);
	return open_at(real_open_at, dirfd, path, flags | O_LARGEFILE, mode);
}

/* _FORTIFY_SOURCE builds call these when flags are not constant */
ZMX_EXPORT int
__open_2(const char *path, int flags)
{
	return open_at(real_open_at, AT_FDCWD, path, flags, 0);
}

ZMX_EXPORT int
__open64_2(const char *path, int flags)
{
	return open_at(real_open_at, AT_FDCWD, path, flags | O_LARGEFILE, 0);
}

ZMX_EXPORT int
__openat_2(int dirfd, const char *path, int flags)
{
	return open_at(real_open_at, dirfd, path, flags, 0);
}

ZMX_EXPORT int
__openat64_2(int dirfd, const char *path, int flags)
{
	return open_at(real_open_at, dirfd, path, flags | O_LARGEFILE, 0);
}

ZMX_EXPORT int
creat(const char *path, mode_t mode)
{
	return open_at(real_open_at, AT_FDCWD, path,
	    O_WRONLY | O_CREAT | O_TRUNC, mode);
}

ZMX_EXPORT int
creat64(const char *path, mode_t mode)
{
	return open_at(real_open_at, AT_FDCWD, path,
	    O_WRONLY | O_CREAT | O_TRUNC | O_LARGEFILE, mode);
}

/* A vfork child that closes every fd before its exec (Python's
 * subprocess does) must not close the connection it shares with the
 * parent's thread: the exec of a remote command needs it. It is
 * close-on-exec, so the program that follows never sees it. */
static int
keeps_conn(unsigned int fd)
{
	return zmx_vcwd_in_vfork() && (int)fd == zmx_conn_thread_fd();
}

ZMX_EXPORT int
close(int fd)
{
	if (fd >= 0 && keeps_conn((unsigned int)fd))
		return 0;
	if (!zmx_guard_enter())
		return real_close(fd);
	return (int)zmx_guard_ret(zmx_fs_close(fd));
}

ZMX_EXPORT int
close_range(unsigned int first, unsigned int last, int flags)
{
	unsigned int fd;
	int keep = zmx_conn_thread_fd();

	if (keep >= 0 && (unsigned int)keep >= first &&
	    (unsigned int)keep <= last && keeps_conn((unsigned int)keep) &&
	    !(flags & CLOSE_RANGE_CLOEXEC)) {
		/* around it */
		if ((unsigned int)keep > first &&
		    close_range(first, (unsigned int)keep - 1, flags) < 0)
			return -1;
		if ((unsigned int)keep == ~0u)
			return 0;
		return close_range((unsigned int)keep + 1, last, flags);
	}
	if (!zmx_guard_enter())
		return real_close_range(first, last, flags);
	/* write back the remote ones one by one, then let the kernel do
	 * the rest; CLOEXEC only marks, nothing is closed yet */
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		for (fd = first; fd <= last && fd < (1u << 20); fd++)
			if (zmx_fdtab_get((int)fd) != NULL)
				(void)zmx_fs_close((int)fd);
	return (int)zmx_guard_ret(real_close_range(first, last, flags) < 0 ?
	    -errno : 0);
}

ZMX_EXPORT int
dup(int fd)
{
	int r;

	if (!zmx_guard_enter())
		return real_dup(fd);
	r = real_dup(fd);
	return (int)zmx_guard_ret(zmx_fs_dup_to(fd, r, r));
}

ZMX_EXPORT int
dup2(int fd, int fd2)
{
	if (!zmx_guard_enter())
		return real_dup2(fd, fd2);
	return (int)zmx_guard_ret(zmx_fs_dup_to(fd, fd2, real_dup2(fd, fd2)));
}

ZMX_EXPORT int
dup3(int fd, int fd2, int flags)
{
	if (!zmx_guard_enter())
		return real_dup3(fd, fd2, flags);
	return (int)zmx_guard_ret(zmx_fs_dup_to(fd, fd2,
	    real_dup3(fd, fd2, flags)));
}

static int
do_fcntl(int (**real)(int, int, ...), int fd, int cmd, void *arg)
{
	int r;

	if (!zmx_guard_enter())
		return (*real)(fd, cmd, arg);
	r = (*real)(fd, cmd, arg);
	if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && r >= 0)
		return (int)zmx_guard_ret(zmx_fs_dup_to(fd, r, r));
	return (int)zmx_guard_ret(r < 0 ? -errno : r);
}

ZMX_EXPORT int
fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(&real_fcntl, fd, cmd, arg);
}

ZMX_EXPORT int
fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(&real_fcntl64, fd, cmd, arg);
}

ZMX_EXPORT int
fsync(int fd)
{
	if (!zmx_guard_enter())
		return real_fsync(fd);
	return (int)zmx_guard_ret(zmx_fs_fsync(fd));
}

ZMX_EXPORT int
fdatasync(int fd)
{
	if (!zmx_guard_enter())
		return real_fdatasync(fd);
	if (zmx_fdtab_get(fd) == NULL)
		return (int)zmx_guard_ret(real_fdatasync(fd) < 0 ? -errno : 0);
	return (int)zmx_guard_ret(zmx_fs_fsync(fd));
}

/* ---- the mkstemp family ------------------------------------------------- */

static int
mkstemp_any(char *tmpl, int suffixlen, int flags, int (*local)(char *, int,
    int))
{
	int islocal, r;

	if (!zmx_guard_enter())
		return local(tmpl, suffixlen, flags);
	r = zmx_fs_mkstemp(tmpl, suffixlen, flags, 0, &islocal);
	if (islocal) {
		zmx_guard_leave();
		return local(tmpl, suffixlen, flags);
	}
	return (int)zmx_guard_ret(r);
}

static int
l_mkostemps(char *t, int s, int f)
{
	return real_mkostemps(t, s, f);
}

ZMX_EXPORT int
mkstemp(char *t)
{
	return mkstemp_any(t, 0, 0, l_mkostemps);
}

ZMX_EXPORT int
mkstemp64(char *t)
{
	return mkstemp_any(t, 0, O_LARGEFILE, l_mkostemps);
}

ZMX_EXPORT int
mkostemp(char *t, int flags)
{
	return mkstemp_any(t, 0, flags, l_mkostemps);
}

ZMX_EXPORT int
mkostemp64(char *t, int flags)
{
	return mkstemp_any(t, 0, flags | O_LARGEFILE, l_mkostemps);
}

ZMX_EXPORT int
mkstemps(char *t, int suffixlen)
{
	return mkstemp_any(t, suffixlen, 0, l_mkostemps);
}

ZMX_EXPORT int
mkstemps64(char *t, int suffixlen)
{
	return mkstemp_any(t, suffixlen, O_LARGEFILE, l_mkostemps);
}

ZMX_EXPORT int
mkostemps(char *t, int suffixlen, int flags)
{
	return mkstemp_any(t, suffixlen, flags, l_mkostemps);
}

ZMX_EXPORT int
mkostemps64(char *t, int suffixlen, int flags)
{
	return mkstemp_any(t, suffixlen, flags | O_LARGEFILE, l_mkostemps);
}

ZMX_EXPORT char *
mkdtemp(char *tmpl)
{
	int islocal, r;

	if (!zmx_guard_enter())
		return real_mkdtemp(tmpl);
	r = zmx_fs_mkstemp(tmpl, 0, 0, 1, &islocal);
	if (islocal) {
		zmx_guard_leave();
		return real_mkdtemp(tmpl);
	}
	return zmx_guard_ret(r) < 0 ? NULL : tmpl;
}

/* The umask stays the kernel's too (local files); remote creates read
 * the copy (shim.h). */
ZMX_EXPORT mode_t
umask(mode_t mask)
{
	mode_t old;

	zmx_real_ensure();
	old = real_umask(mask);
	__atomic_store_n(&zmx_umask, mask & 0777, __ATOMIC_RELAXED);
	return old;
}
