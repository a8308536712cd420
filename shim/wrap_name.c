/* wrap_name.c - calls about names: mkdir, mknod, mkfifo, rmdir, unlink,
 * remove, rename, link, symlink, readlink, realpath and the cwd, with the
 * _chk twins that _FORTIFY_SOURCE builds call instead. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "guard.h"
#include "real.h"

ZMX_EXPORT int
mkdir(const char *path, mode_t mode)
{
	DISPATCH(int, real_mkdir(path, mode),
	    zmx_fs_mkdirat(AT_FDCWD, path, mode));
}

ZMX_EXPORT int
mkdirat(int dirfd, const char *path, mode_t mode)
{
	DISPATCH(int, real_mkdirat(dirfd, path, mode),
	    zmx_fs_mkdirat(dirfd, path, mode));
}

ZMX_EXPORT int
mknod(const char *path, mode_t mode, dev_t dev)
{
	DISPATCH(int, real_mknod(path, mode, dev),
	    zmx_fs_mknodat(AT_FDCWD, path, mode, dev));
}

ZMX_EXPORT int
mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	DISPATCH(int, real_mknodat(dirfd, path, mode, dev),
	    zmx_fs_mknodat(dirfd, path, mode, dev));
}

/* glibc's mkfifo calls its internal mknodat, which no wrapper sees */
ZMX_EXPORT int
mkfifo(const char *path, mode_t mode)
{
	DISPATCH(int, real_mkfifo(path, mode),
	    zmx_fs_mknodat(AT_FDCWD, path, S_IFIFO | (mode & 07777), 0));
}

ZMX_EXPORT int
mkfifoat(int dirfd, const char *path, mode_t mode)
{
	DISPATCH(int, real_mkfifoat(dirfd, path, mode),
	    zmx_fs_mknodat(dirfd, path, S_IFIFO | (mode & 07777), 0));
}

/* What binaries built against glibc before 2.33 call for mknod(at);
 * still exported, like __xstat (wrap_stat.c). */
int __xmknod(int, const char *, mode_t, dev_t *);
int __xmknodat(int, int, const char *, mode_t, dev_t *);

ZMX_EXPORT int
__xmknod(int ver, const char *path, mode_t mode, dev_t *dev)
{
	(void)ver;
	return __xmknodat(ver, AT_FDCWD, path, mode, dev);
}

ZMX_EXPORT int
__xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev)
{
	(void)ver;
	DISPATCH(int, real_mknodat(dirfd, path, mode, dev ? *dev : 0),
	    zmx_fs_mknodat(dirfd, path, mode, dev ? *dev : 0));
}

ZMX_EXPORT int
rmdir(const char *path)
{
	DISPATCH(int, real_rmdir(path),
	    zmx_fs_unlinkat(AT_FDCWD, path, AT_REMOVEDIR));
}

ZMX_EXPORT int
unlink(const char *path)
{
	DISPATCH(int, real_unlink(path), zmx_fs_unlinkat(AT_FDCWD, path, 0));
}

ZMX_EXPORT int
unlinkat(int dirfd, const char *path, int flags)
{
	DISPATCH(int, real_unlinkat(dirfd, path, flags),
	    zmx_fs_unlinkat(dirfd, path, flags));
}

/* glibc's remove() calls its internal unlink and rmdir */
static int
remove_any(const char *path)
{
	int r = zmx_fs_unlinkat(AT_FDCWD, path, 0);

	if (r == -EISDIR || r == -EPERM)
		r = zmx_fs_unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
	return r;
}

ZMX_EXPORT int
remove(const char *path)
{
	DISPATCH(int, real_remove(path), remove_any(path));
}

ZMX_EXPORT int
rename(const char *from, const char *to)
{
	DISPATCH(int, real_rename(from, to),
	    zmx_fs_renameat2(AT_FDCWD, from, AT_FDCWD, to, 0));
}

ZMX_EXPORT int
renameat(int od, const char *from, int nd, const char *to)
{
	DISPATCH(int, real_renameat(od, from, nd, to),
	    zmx_fs_renameat2(od, from, nd, to, 0));
}

ZMX_EXPORT int
renameat2(int od, const char *from, int nd, const char *to, unsigned flags)
{
	DISPATCH(int, real_renameat2(od, from, nd, to, flags),
	    zmx_fs_renameat2(od, from, nd, to, flags));
}

ZMX_EXPORT int
link(const char *from, const char *to)
{
	DISPATCH(int, real_link(from, to),
	    zmx_fs_linkat(AT_FDCWD, from, AT_FDCWD, to, 0));
}

ZMX_EXPORT int
linkat(int od, const char *from, int nd, const char *to, int flags)
{
	DISPATCH(int, real_linkat(od, from, nd, to, flags),
	    zmx_fs_linkat(od, from, nd, to, flags));
}

ZMX_EXPORT int
symlink(const char *target, const char *path)
{
	DISPATCH(int, real_symlink(target, path),
	    zmx_fs_symlinkat(target, AT_FDCWD, path));
}

ZMX_EXPORT int
symlinkat(const char *target, int dirfd, const char *path)
{
	DISPATCH(int, real_symlinkat(target, dirfd, path),
	    zmx_fs_symlinkat(target, dirfd, path));
}

ZMX_EXPORT ssize_t
readlink(const char *path, char *buf, size_t len)
{
	DISPATCH(ssize_t, real_readlink(path, buf, len),
	    zmx_fs_readlinkat(AT_FDCWD, path, buf, len));
}

ZMX_EXPORT ssize_t
readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
	DISPATCH(ssize_t, real_readlinkat(dirfd, path, buf, len),
	    zmx_fs_readlinkat(dirfd, path, buf, len));
}

ZMX_EXPORT ssize_t
__readlink_chk(const char *path, char *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		abort();	/* what glibc's __chk_fail does */
	return readlink(path, buf, len);
}

ZMX_EXPORT ssize_t
__readlinkat_chk(int dirfd, const char *path, char *buf, size_t len,
    size_t buflen)
{
	if (len > buflen)
		abort();
	return readlinkat(dirfd, path, buf, len);
}

ZMX_EXPORT char *
realpath(const char *path, char *resolved)
{
	char out[PATH_MAX];
	int r;

	if (!zmx_guard_enter())
		return real_realpath(path, resolved);
	if (path == NULL) {
		zmx_guard_ret(-EINVAL);
		return NULL;
	}
	if ((r = zmx_fs_realpath(path, out)) == 1) {
		zmx_guard_leave();
		return real_realpath(path, resolved);
	}
	if (r < 0) {
		zmx_guard_ret(r);
		return NULL;
	}
	if (resolved == NULL && (resolved = strdup(out)) == NULL) {
		zmx_guard_ret(-ENOMEM);
		return NULL;
	}
	if (resolved != out)
		strcpy(resolved, out);
	zmx_guard_ret(0);
	return resolved;
}

ZMX_EXPORT char *
__realpath_chk(const char *path, char *resolved, size_t len)
{
	if (len < PATH_MAX)
		abort();
	return realpath(path, resolved);
}

ZMX_EXPORT char *
canonicalize_file_name(const char *path)
{
	return realpath(path, NULL);
}

ZMX_EXPORT int
chdir(const char *path)
{
	DISPATCH(int, real_chdir(path), zmx_fs_chdir(path));
}

ZMX_EXPORT int
fchdir(int fd)
{
	DISPATCH(int, real_fchdir(fd), zmx_fs_fchdir(fd));
}

ZMX_EXPORT char *
getcwd(char *buf, size_t size)
{
	char tmp[PATH_MAX];
	int n;

	if (!zmx_guard_enter())
		return real_getcwd(buf, size);
	if ((n = zmx_fs_getcwd(tmp, sizeof(tmp))) < 0) {
		zmx_guard_ret(n);
		return NULL;
	}
	if (buf == NULL) {
		/* glibc extension: allocate, at least size bytes */
		if ((buf = malloc(size > (size_t)n ? size : (size_t)n + 1)) ==
		    NULL) {
			zmx_guard_ret(-ENOMEM);
			return NULL;
		}
	} else if (size == 0) {
		zmx_guard_ret(-EINVAL);
		return NULL;
	} else if ((size_t)n + 1 > size) {
		zmx_guard_ret(-ERANGE);
		return NULL;
	}
	memcpy(buf, tmp, n + 1);
	zmx_guard_ret(0);
	return buf;
}

ZMX_EXPORT char *
__getcwd_chk(char *buf, size_t size, size_t buflen)
{
	if (size > buflen)
		abort();
	return getcwd(buf, size);
}

ZMX_EXPORT char *
get_current_dir_name(void)
{
	return getcwd(NULL, 0);
}

ZMX_EXPORT char *
getwd(char *buf)
{
	return getcwd(buf, PATH_MAX);
}
