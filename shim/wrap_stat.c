/* wrap_stat.c - the stat family (and the __xstat names older binaries
 * still call), statx, and access. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "guard.h"
#include "real.h"

/* On x86_64 struct stat and struct stat64 are the same layout, so each
 * 64 twin forwards to the one body (STYLE.md: no copy-pasted twins). */
#define STAT64(name, call, ...)						\
	ZMX_EXPORT int name(__VA_ARGS__) { return call; }

static int
statat(int dirfd, const char *path, struct stat *st, int flags)
{
	if (!zmx_guard_enter())
		return real_fstatat(dirfd, path, st, flags);
	return (int)zmx_guard_ret(zmx_fs_fstatat(dirfd, path, st, flags));
}

ZMX_EXPORT int
stat(const char *path, struct stat *st)
{
	return statat(AT_FDCWD, path, st, 0);
}

ZMX_EXPORT int
lstat(const char *path, struct stat *st)
{
	return statat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

ZMX_EXPORT int
fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return statat(dirfd, path, st, flags);
}

ZMX_EXPORT int
fstat(int fd, struct stat *st)
{
	if (!zmx_guard_enter())
		return real_fstat(fd, st);
	return (int)zmx_guard_ret(zmx_fs_fstat(fd, st));
}

STAT64(stat64, stat(p, (struct stat *)st), const char *p, struct stat64 *st)
STAT64(lstat64, lstat(p, (struct stat *)st), const char *p,
    struct stat64 *st)
STAT64(fstatat64, statat(d, p, (struct stat *)st, f), int d, const char *p,
    struct stat64 *st, int f)
STAT64(fstat64, fstat(fd, (struct stat *)st), int fd, struct stat64 *st)

int __xstat(int, const char *, struct stat *);
int __lxstat(int, const char *, struct stat *);
int __fxstat(int, int, struct stat *);
int __fxstatat(int, int, const char *, struct stat *, int);

ZMX_EXPORT int
__xstat(int ver, const char *path, struct stat *st)
{
	(void)ver;
	return statat(AT_FDCWD, path, st, 0);
}

ZMX_EXPORT int
__lxstat(int ver, const char *path, struct stat *st)
{
	(void)ver;
	return statat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

ZMX_EXPORT int
__fxstat(int ver, int fd, struct stat *st)
{
	(void)ver;
	return fstat(fd, st);
}

ZMX_EXPORT int
__fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	(void)ver;
	return statat(dirfd, path, st, flags);
}

STAT64(__xstat64, __xstat(v, p, (struct stat *)st), int v, const char *p,
    struct stat64 *st)
STAT64(__lxstat64, __lxstat(v, p, (struct stat *)st), int v, const char *p,
    struct stat64 *st)
STAT64(__fxstat64, __fxstat(v, fd, (struct stat *)st), int v, int fd,
    struct stat64 *st)
STAT64(__fxstatat64, __fxstatat(v, d, p, (struct stat *)st, f), int v,
    int d, const char *p, struct stat64 *st, int f)

ZMX_EXPORT int
statx(int dirfd, const char *path, int flags, unsigned int mask,
    struct statx *stx)
{
	if (!zmx_guard_enter())
		return real_statx(dirfd, path, flags, mask, stx);
	return (int)zmx_guard_ret(zmx_fs_statx(dirfd, path, flags, mask, stx));
}

static int
accessat(int dirfd, const char *path, int mode, int flags)
{
	if (!zmx_guard_enter())
		return real_faccessat(dirfd, path, mode, flags);
	return (int)zmx_guard_ret(zmx_fs_faccessat(dirfd, path, mode, flags));
}

ZMX_EXPORT int
access(const char *path, int mode)
{
	return accessat(AT_FDCWD, path, mode, 0);
}

ZMX_EXPORT int
faccessat(int dirfd, const char *path, int mode, int flags)
{
	return accessat(dirfd, path, mode, flags);
}

ZMX_EXPORT int
euidaccess(const char *path, int mode)
{
	return accessat(AT_FDCWD, path, mode, AT_EACCESS);
}

ZMX_EXPORT int
eaccess(const char *path, int mode)
{
	return accessat(AT_FDCWD, path, mode, AT_EACCESS);
}
