/* wrap_attr.c - attribute changes (chmod, chown, utime*, truncate) and
 * the extended-attribute calls (get, set, list, remove; plain, l and f). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include "fs.h"
#include "guard.h"
#include "real.h"

ZMX_EXPORT int
chmod(const char *path, mode_t mode)
{
	DISPATCH(int, real_chmod(path, mode),
	    zmx_fs_fchmodat(AT_FDCWD, path, mode, 0));
}

ZMX_EXPORT int
fchmod(int fd, mode_t mode)
{
	DISPATCH(int, real_fchmod(fd, mode),
	    zmx_fs_fchmodat(fd, NULL, mode, 0));
}

ZMX_EXPORT int
fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	DISPATCH(int, real_fchmodat(dirfd, path, mode, flags),
	    zmx_fs_fchmodat(dirfd, path, mode, flags));
}

ZMX_EXPORT int
chown(const char *path, uid_t uid, gid_t gid)
{
	DISPATCH(int, real_chown(path, uid, gid),
	    zmx_fs_fchownat(AT_FDCWD, path, uid, gid, 0));
}

ZMX_EXPORT int
lchown(const char *path, uid_t uid, gid_t gid)
{
	DISPATCH(int, real_lchown(path, uid, gid),
	    zmx_fs_fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW));
}

ZMX_EXPORT int
fchown(int fd, uid_t uid, gid_t gid)
{
	DISPATCH(int, real_fchown(fd, uid, gid),
	    zmx_fs_fchownat(fd, NULL, uid, gid, 0));
}

ZMX_EXPORT int
fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	DISPATCH(int, real_fchownat(dirfd, path, uid, gid, flags),
	    zmx_fs_fchownat(dirfd, path, uid, gid, flags));
}

ZMX_EXPORT int
utimensat(int dirfd, const char *path, const struct timespec ts[2],
    int flags)
{
	if (path == NULL)	/* Linux: path NULL means the fd itself */
		return futimens(dirfd, ts);
	DISPATCH(int, real_utimensat(dirfd, path, ts, flags),
	    zmx_fs_utimensat(dirfd, path, ts, flags));
}

ZMX_EXPORT int
futimens(int fd, const struct timespec ts[2])
{
	DISPATCH(int, real_futimens(fd, ts),
	    zmx_fs_utimensat(fd, NULL, ts, 0));
}

/* timeval[2] to timespec[2]; NULL stays NULL (now) */
static const struct timespec *
tv2ts(const struct timeval *tv, struct timespec ts[2])
{
	if (tv == NULL)
		return NULL;
	ts[0].tv_sec = tv[0].tv_sec;
	ts[0].tv_nsec = tv[0].tv_usec * 1000;
	ts[1].tv_sec = tv[1].tv_sec;
	ts[1].tv_nsec = tv[1].tv_usec * 1000;
	return ts;
}

ZMX_EXPORT int
utime(const char *path, const struct utimbuf *b)
{
	struct timespec ts[2];

	if (b != NULL) {
		ts[0] = (struct timespec){ b->actime, 0 };
		ts[1] = (struct timespec){ b->modtime, 0 };
	}
	DISPATCH(int, real_utime(path, b),
	    zmx_fs_utimensat(AT_FDCWD, path, b ? ts : NULL, 0));
}

ZMX_EXPORT int
utimes(const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];

	DISPATCH(int, real_utimes(path, tv),
	    zmx_fs_utimensat(AT_FDCWD, path, tv2ts(tv, ts), 0));
}

ZMX_EXPORT int
lutimes(const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];

	DISPATCH(int, real_lutimes(path, tv),
	    zmx_fs_utimensat(AT_FDCWD, path, tv2ts(tv, ts),
	    AT_SYMLINK_NOFOLLOW));
}

ZMX_EXPORT int
futimes(int fd, const struct timeval tv[2])
{
	struct timespec ts[2];

	DISPATCH(int, real_futimes(fd, tv),
	    zmx_fs_utimensat(fd, NULL, tv2ts(tv, ts), 0));
}

ZMX_EXPORT int
futimesat(int dirfd, const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];

	if (path == NULL)
		return futimes(dirfd, tv);
	DISPATCH(int, real_futimesat(dirfd, path, tv),
	    zmx_fs_utimensat(dirfd, path, tv2ts(tv, ts), 0));
}

ZMX_EXPORT int
truncate(const char *path, off_t len)
{
	DISPATCH(int, real_truncate(path, len), zmx_fs_truncate(path, len));
}

ZMX_EXPORT int
truncate64(const char *path, off64_t len)
{
	DISPATCH(int, real_truncate64(path, len), zmx_fs_truncate(path, len));
}

/* ---- extended attributes ------------------------------------------------ */

/* A NULL path goes to the kernel, which says EFAULT: the dispatcher
 * reads a NULL path as "the fd". */
#define XATTR_PATH(type, real_call, fs_call) do {			\
	if (p == NULL)							\
		return real_call;					\
	DISPATCH(type, real_call, fs_call);				\
} while (0)

ZMX_EXPORT ssize_t
getxattr(const char *p, const char *n, void *v, size_t s)
{
	XATTR_PATH(ssize_t, real_getxattr(p, n, v, s),
	    zmx_fs_getxattr(AT_FDCWD, p, 0, n, v, s));
}

ZMX_EXPORT ssize_t
lgetxattr(const char *p, const char *n, void *v, size_t s)
{
	XATTR_PATH(ssize_t, real_lgetxattr(p, n, v, s),
	    zmx_fs_getxattr(AT_FDCWD, p, 1, n, v, s));
}

ZMX_EXPORT ssize_t
fgetxattr(int fd, const char *n, void *v, size_t s)
{
	DISPATCH(ssize_t, real_fgetxattr(fd, n, v, s),
	    zmx_fs_getxattr(fd, NULL, 0, n, v, s));
}

ZMX_EXPORT ssize_t
listxattr(const char *p, char *l, size_t s)
{
	XATTR_PATH(ssize_t, real_listxattr(p, l, s),
	    zmx_fs_listxattr(AT_FDCWD, p, 0, l, s));
}

ZMX_EXPORT ssize_t
llistxattr(const char *p, char *l, size_t s)
{
	XATTR_PATH(ssize_t, real_llistxattr(p, l, s),
	    zmx_fs_listxattr(AT_FDCWD, p, 1, l, s));
}

ZMX_EXPORT ssize_t
flistxattr(int fd, char *l, size_t s)
{
	DISPATCH(ssize_t, real_flistxattr(fd, l, s),
	    zmx_fs_listxattr(fd, NULL, 0, l, s));
}

ZMX_EXPORT int
setxattr(const char *p, const char *n, const void *v, size_t s, int f)
{
	XATTR_PATH(int, real_setxattr(p, n, v, s, f),
	    zmx_fs_setxattr(AT_FDCWD, p, 0, n, v, s, f));
}

ZMX_EXPORT int
lsetxattr(const char *p, const char *n, const void *v, size_t s, int f)
{
	XATTR_PATH(int, real_lsetxattr(p, n, v, s, f),
	    zmx_fs_setxattr(AT_FDCWD, p, 1, n, v, s, f));
}

ZMX_EXPORT int
fsetxattr(int fd, const char *n, const void *v, size_t s, int f)
{
	DISPATCH(int, real_fsetxattr(fd, n, v, s, f),
	    zmx_fs_setxattr(fd, NULL, 0, n, v, s, f));
}

ZMX_EXPORT int
removexattr(const char *p, const char *n)
{
	XATTR_PATH(int, real_removexattr(p, n),
	    zmx_fs_removexattr(AT_FDCWD, p, 0, n));
}

ZMX_EXPORT int
lremovexattr(const char *p, const char *n)
{
	XATTR_PATH(int, real_lremovexattr(p, n),
	    zmx_fs_removexattr(AT_FDCWD, p, 1, n));
}

ZMX_EXPORT int
fremovexattr(int fd, const char *n)
{
	DISPATCH(int, real_fremovexattr(fd, n),
	    zmx_fs_removexattr(fd, NULL, 0, n));
}
