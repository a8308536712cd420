/* fs.c - the dispatcher for file operations, attributes and extended
 * attributes (fs.h). A local path costs one policy match and the real
 * call; a remote one is a request to the session, which answers from its
 * attribute cache when it knows (kept true by agentd's invalidations) or
 * asks agentd. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "fs.h"
#include "fs_local.h"
#include "memfd.h"
#include "real.h"
#include "shim.h"

/* Remote st_dev values carry this tag, so that a remote file never has
 * the device and inode of a local one (cp and find compare them). */
#define ZMX_DEV_TAG	0x7a6d00000000ull


void
zmx_attr_to_stat(const struct zmx_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = a->dev ^ ZMX_DEV_TAG;
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = a->size;
	st->st_blksize = a->blksize;
	st->st_blocks = a->blocks;
	st->st_atim.tv_sec = a->atime_sec;
	st->st_atim.tv_nsec = a->atime_nsec;
	st->st_mtim.tv_sec = a->mtime_sec;
	st->st_mtim.tv_nsec = a->mtime_nsec;
	st->st_ctim.tv_sec = a->ctime_sec;
	st->st_ctim.tv_nsec = a->ctime_nsec;
}

static void
stat_to_statx(const struct stat *st, struct statx *stx)
{
	memset(stx, 0, sizeof(*stx));
	stx->stx_mask = STATX_BASIC_STATS;
	stx->stx_blksize = st->st_blksize;
	stx->stx_nlink = st->st_nlink;
	stx->stx_uid = st->st_uid;
	stx->stx_gid = st->st_gid;
	stx->stx_mode = st->st_mode;
	stx->stx_ino = st->st_ino;
	stx->stx_size = st->st_size;
	stx->stx_blocks = st->st_blocks;
	stx->stx_atime.tv_sec = st->st_atim.tv_sec;
	stx->stx_atime.tv_nsec = st->st_atim.tv_nsec;
	stx->stx_mtime.tv_sec = st->st_mtim.tv_sec;
	stx->stx_mtime.tv_nsec = st->st_mtim.tv_nsec;
	stx->stx_ctime.tv_sec = st->st_ctim.tv_sec;
	stx->stx_ctime.tv_nsec = st->st_ctim.tv_nsec;
	stx->stx_rdev_major = major(st->st_rdev);
	stx->stx_rdev_minor = minor(st->st_rdev);
	stx->stx_dev_major = major(st->st_dev);
	stx->stx_dev_minor = minor(st->st_dev);
}

/* ---- open, close, dup ---------------------------------------------------- */

int
zmx_fs_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	struct zmx_where w;

	WHERE_OR(&w, dirfd, path, 0, real_openat(dfd_, p_, flags, mode));
	/* a regular file's fd is a read-only copy; a directory's is O_PATH
	 * locally too (zmx_memfd_dir) */
	if (flags & O_PATH)
		flags = (flags & (O_CLOEXEC | O_NOFOLLOW | O_DIRECTORY |
		    O_PATH)) | O_RDONLY;
	return zmx_memfd_open(w.lpath, w.rpath, flags, mode);
}

/* Is fd still the memfd we mapped? A program that closed it behind our
 * back (a raw syscall) may have got the number again for a local file. */
static int
still_ours(int fd, const struct zmx_file *f)
{
	struct stat ms;

	return real_fstat(fd, &ms) == 0 && ms.st_ino == f->memfd_ino &&
	    ms.st_nlink == 0;
}

int
zmx_fs_release(int fd)
{
	struct zmx_file *f;
	int last;

	/* a vfork child's table is its parent's: leave it alone */
	if (zmx_fdtab_get(fd) == NULL || zmx_vcwd_in_vfork())
		return 0;
	/* the session writes the file back once the kernel has closed the
	 * description (write-behind): fsync reports a failure */
	f = zmx_fdtab_take(fd, &last);
	if (f != NULL && last)
		zmx_lock_release(f);
	zmx_fdtab_unref(f);
	return 0;
}

int
zmx_fs_writeback_err(int r)
{
	/* what a disk says about a write passes; anything else (a path
	 * error of the write-back's own) would puzzle a program that
	 * closes an fd, and is EIO */
	if (r >= 0 || r == -ENOSPC || r == -EDQUOT || r == -EFBIG ||
	    r == -EROFS || r == -EIO)
		return r;
	return -EIO;
}

int
zmx_fs_close(int fd)
{
	int r = zmx_fs_release(fd);

	if (real_close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

int
zmx_fs_dup_to(int oldfd, int newfd, int r)
{
	struct zmx_file *f;
	int last;

	if (r < 0)
		return -errno;
	if (newfd == oldfd || zmx_vcwd_in_vfork())
		return newfd;
	if ((f = zmx_fdtab_get(oldfd)) != NULL)
		(void)zmx_fdtab_set(newfd, f);	/* drops newfd's old file */
	else if ((f = zmx_fdtab_take(newfd, &last)) != NULL)
		zmx_fdtab_unref(f);
	return newfd;
}

int
zmx_fs_fsync(int fd)
{
	struct zmx_file *f = zmx_fdtab_get(fd);

	if (f == NULL)
		LOCAL_RET(real_fsync(fd));
	return zmx_fs_writeback_err(zmx_memfd_flush(f, fd));
}

/* ---- stat ---------------------------------------------------------------- */

static int
remote_stat(const char *rpath, int nofollow, struct zmx_attr *a)
{
	struct zmx_msg req = { 0 };
	struct zmx_frame rep = { 0 };
	int r;

	req.type = ZMX_MSG_STAT;
	req.u.stat.path = rpath;
	req.u.stat.flags = nofollow ? ZMX_NOFOLLOW : 0;
	if ((r = zmx_conn_call(&req, &rep, ZMX_MSG_ATTR)) == 0)
		*a = rep.msg.u.attr.st;
	zmx_frame_close(&rep);
	return r;
}

int
zmx_fs_fstat(int fd, struct stat *st)
{
	struct zmx_file *f = zmx_fdtab_get(fd);
	struct stat ms;

	if (f == NULL || !still_ours(fd, f))
		LOCAL_RET(real_fstat(fd, st));
	if (f->kind == ZMX_FILE_DIR) {
		zmx_attr_to_stat(&f->st, st);
		return 0;
	}
	/* remote metadata, but the size and, once written, the times
	 * of the content the program holds */
	ms = (struct stat){ 0 };
	if (real_fstat(fd, &ms) < 0)
		return -errno;
	zmx_attr_to_stat(&f->st, st);
	st->st_size = ms.st_size;
	st->st_blocks = ms.st_blocks;
	if (!zmx_memfd_is_clean(&ms)) {
		st->st_mtim = ms.st_mtim;
		st->st_ctim = ms.st_ctim;
	}
	return 0;
}

int
zmx_fs_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	struct zmx_where w;
	struct zmx_attr a;
	int bare, r;

	if (path != NULL && path[0] == '\0' && (flags & AT_EMPTY_PATH) &&
	    dirfd != AT_FDCWD)
		return zmx_fs_fstat(dirfd, st);
	/* lstat of /proc/self/fd/N or /proc/self/cwd: the link itself
	 * (ls -l /proc/self/fd), which readlink then names */
	if ((flags & AT_SYMLINK_NOFOLLOW) && path != NULL && path[0] == '/' &&
	    path[1] == 'p' && zmx_vcwd_proc_link(path, 0, w.lpath,
	    sizeof(w.lpath), &bare) > 0 && bare)
		LOCAL_RET(real_fstatat(AT_FDCWD, path, st, flags));
	WHERE_OR(&w, dirfd, path, flags & AT_EMPTY_PATH,
	    real_fstatat(dfd_, p_, st, flags));
	/* "link/" names the directory the link leads to, even for lstat */
	if ((r = remote_stat(w.rpath, (flags & AT_SYMLINK_NOFOLLOW) &&
	    !w.slash, &a)) < 0)
		return r;
	zmx_attr_to_stat(&a, st);
	return 0;
}

int
zmx_fs_statx(int dirfd, const char *path, int flags, unsigned mask,
    struct statx *stx)
{
	struct zmx_where w;
	struct stat st;
	int bare, r;

	if (path != NULL && path[0] == '\0' && (flags & AT_EMPTY_PATH)) {
		if (zmx_fdtab_get(dirfd) == NULL)
			LOCAL_RET(real_statx(dirfd, path, flags, mask, stx));
		if ((r = zmx_fs_fstat(dirfd, &st)) < 0)
			return r;
		stat_to_statx(&st, stx);
		return 0;
	}
	if ((flags & AT_SYMLINK_NOFOLLOW) && path != NULL && path[0] == '/' &&
	    path[1] == 'p' && zmx_vcwd_proc_link(path, 0, w.lpath,
	    sizeof(w.lpath), &bare) > 0 && bare)
		LOCAL_RET(real_statx(AT_FDCWD, path, flags, mask, stx));
	WHERE_OR(&w, dirfd, path, 0, real_statx(dfd_, p_, flags, mask, stx));
	if (w.slash && strlen(w.lpath) + 2 <= sizeof(w.lpath))
		strcat(w.lpath, "/");
	if ((r = zmx_fs_fstatat(AT_FDCWD, w.lpath, &st,
	    flags & AT_SYMLINK_NOFOLLOW)) < 0)
		return r;
	stat_to_statx(&st, stx);
	return 0;
}

/* ---- access and attribute changes ---------------------------------------- */

/* After a CHMOD: the open copies of that path carry the new mode, or a
 * stat of one being written would show the old (fs.c dirty_fd). */
static void
chmod_open_one(int fd, struct zmx_file *f, void *arg)
{
	const struct zmx_msg_chmod *q = arg;

	(void)fd;
	if (strcmp(f->rpath, q->path) == 0)
		f->st.mode = (f->st.mode & S_IFMT) | (q->mode & 07777);
}

/* After a UTIMENS: the open copies of that path carry the new times,
 * or an fstat of one (os.utime(fd) then os.fstat(fd)) would show the
 * old. "Now" is this machine's clock: the remote one is a round trip
 * away, and a clean copy's times are only shown, never sent back. */
static void
utimens_open_one(int fd, struct zmx_file *f, void *arg)
{
	const struct zmx_msg_utimens *q = arg;
	struct timespec now;

	(void)fd;
	if (strcmp(f->rpath, q->path) != 0)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	if (q->atime_nsec != ZMX_UTIME_OMIT) {
		f->st.atime_sec = q->atime_nsec == ZMX_UTIME_NOW ?
		    now.tv_sec : q->atime_sec;
		f->st.atime_nsec = q->atime_nsec == ZMX_UTIME_NOW ?
		    now.tv_nsec : q->atime_nsec;
	}
	if (q->mtime_nsec != ZMX_UTIME_OMIT) {
		f->st.mtime_sec = q->mtime_nsec == ZMX_UTIME_NOW ?
		    now.tv_sec : q->mtime_sec;
		f->st.mtime_nsec = q->mtime_nsec == ZMX_UTIME_NOW ?
		    now.tv_nsec : q->mtime_nsec;
	}
	f->st.ctime_sec = now.tv_sec;
	f->st.ctime_nsec = now.tv_nsec;
}

int
zmx_fs_call_ok(struct zmx_msg *req)
{
	struct zmx_frame rep = { 0 };
	int r;

	r = zmx_conn_call(req, &rep, ZMX_MSG_OK);
	zmx_frame_close(&rep);
	if (r == 0 && req->type == ZMX_MSG_CHMOD)
		zmx_fdtab_each(chmod_open_one, &req->u.chmod);
	/* with ZMX_NOFOLLOW it was a symlink's times, not the file's */
	if (r == 0 && req->type == ZMX_MSG_UTIMENS &&
	    !(req->u.utimens.flags & ZMX_NOFOLLOW))
		zmx_fdtab_each(utimens_open_one, &req->u.utimens);
	return r;
}


int
zmx_fs_faccessat(int dirfd, const char *path, int mode, int flags)
{
	struct zmx_msg req = { 0 };
	struct zmx_where w;

	WHERE_OR(&w, dirfd, path, flags & AT_EMPTY_PATH,
	    real_faccessat(dfd_, p_, mode, flags));
	req.type = ZMX_MSG_ACCESS;
	req.u.access.path = w.rpath;
	req.u.access.mode = mode;
	req.u.access.flags = (flags & AT_SYMLINK_NOFOLLOW ? ZMX_NOFOLLOW : 0) |
	    (flags & AT_EACCESS ? ZMX_EACCESS : 0);
	return zmx_fs_call_ok(&req);
}

/* For f*() calls on a remote fd: the path to name on the wire. */
static int
fd_where(int fd, struct zmx_where *w)
{
	struct zmx_file *f = zmx_fdtab_get(fd);

	if (f == NULL)
		return ZMX_LOCAL;
	if (strlen(f->rpath) >= sizeof(w->rpath))
		return -ENAMETOOLONG;
	strcpy(w->rpath, f->rpath);
	strcpy(w->lpath, f->lpath);
	return f->kind == ZMX_FILE_TMP ? -EOPNOTSUPP : ZMX_REMOTE;
}

static int
where_attr(int dirfd, const char *path, int flags, struct zmx_where *w)
{
	if (path != NULL && path[0] == '\0' && (flags & AT_EMPTY_PATH))
		return fd_where(dirfd, w);
	return zmx_where(dirfd, path, 0, w);
}

/* The target of an attribute change: a remote fd (path NULL) or a path.
 * Returns from the caller with the local result, or leaves *w filled for
 * a remote one. at_call sees dfd_ and p_, the arguments to use. */
#define ATTR_TARGET(w, dirfd, path, flags, fd_call, at_call) do {	\
	int r_;								\
	if ((path) == NULL) {						\
		if ((r_ = fd_where((dirfd), (w))) == ZMX_LOCAL)		\
			LOCAL_RET(fd_call);				\
	} else if ((r_ = where_attr((dirfd), (path), (flags), (w))) ==	\
	    ZMX_LOCAL) {						\
		int dfd_ = (dirfd);					\
		const char *p_ = (path);				\
		LOCAL_RET(at_call);					\
	} else if (r_ == ZMX_LOCAL_ABS) {				\
		int dfd_ = AT_FDCWD;					\
		const char *p_ = (w)->lpath;				\
		LOCAL_RET(at_call);					\
	}								\
	if (r_ < 0)							\
		return r_;						\
} while (0)

int
zmx_fs_fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	struct zmx_msg req = { 0 };
	struct zmx_where w;

	ATTR_TARGET(&w, dirfd, path, flags, real_fchmod(dirfd, mode),
	    real_fchmodat(dfd_, p_, mode, flags));
	req.type = ZMX_MSG_CHMOD;
	req.u.chmod.path = w.rpath;
	req.u.chmod.mode = mode & 07777;
	req.u.chmod.flags = flags & AT_SYMLINK_NOFOLLOW ? ZMX_NOFOLLOW : 0;
	return zmx_fs_call_ok(&req);
}

int
zmx_fs_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	struct zmx_msg req = { 0 };
	struct zmx_where w;

	ATTR_TARGET(&w, dirfd, path, flags, real_fchown(dirfd, uid, gid),
	    real_fchownat(dfd_, p_, uid, gid, flags));
	req.type = ZMX_MSG_CHOWN;
	req.u.chown.path = w.rpath;
	req.u.chown.uid = uid == (uid_t)-1 ? ZMX_ID_KEEP : uid;
	req.u.chown.gid = gid == (gid_t)-1 ? ZMX_ID_KEEP : gid;
	req.u.chown.flags = flags & AT_SYMLINK_NOFOLLOW ? ZMX_NOFOLLOW : 0;
	return zmx_fs_call_ok(&req);
}

int
zmx_fs_utimensat(int dirfd, const char *path, const struct timespec ts[2],
    int flags)
{
	struct zmx_msg req = { 0 };
	struct zmx_where w;

	ATTR_TARGET(&w, dirfd, path, flags, real_futimens(dirfd, ts),
	    real_utimensat(dfd_, p_, ts, flags));
	req.type = ZMX_MSG_UTIMENS;
	req.u.utimens.path = w.rpath;
	req.u.utimens.atime_sec = ts ? ts[0].tv_sec : 0;
	req.u.utimens.atime_nsec = ts ? ts[0].tv_nsec : ZMX_UTIME_NOW;
	req.u.utimens.mtime_sec = ts ? ts[1].tv_sec : 0;
	req.u.utimens.mtime_nsec = ts ? ts[1].tv_nsec : ZMX_UTIME_NOW;
	req.u.utimens.flags = flags & AT_SYMLINK_NOFOLLOW ? ZMX_NOFOLLOW : 0;
	return zmx_fs_call_ok(&req);
}

int
zmx_fs_truncate(const char *path, off_t len)
{
	struct zmx_msg req = { 0 };
	struct zmx_where w;
	int r;

	if ((r = where_attr(AT_FDCWD, path, 0, &w)) == ZMX_LOCAL)
		LOCAL_RET(real_truncate(path, len));
	if (r == ZMX_LOCAL_ABS)
		LOCAL_RET(real_truncate(w.lpath, len));
	if (r < 0)
		return r;
	if (len < 0)
		return -EINVAL;
	req.type = ZMX_MSG_TRUNCATE;
	req.u.truncate.path = w.rpath;
	req.u.truncate.len = (uint64_t)len;
	return zmx_fs_call_ok(&req);
}

/* ---- extended attributes ------------------------------------------------ */

/* The kernel's checks that need no round trip: a name of 1 to 255
 * bytes (XATTR_NAME_MAX), else ERANGE. */
static int
xattr_name_ok(const char *name)
{
	size_t n;

	if (name == NULL)
		return -EFAULT;
	n = strlen(name);
	return n == 0 || n > 255 ? -ERANGE : 0;
}

/* Whether the attribute cache knows that rpath has no extended
 * attribute (ZMX_ATTR_NOXATTR, from a listing or an lstat): then a list
 * is empty, and so are the names ls -l asks about for every file
 * (security.selinux and the POSIX ACLs, which any caller may ask for),
 * without a round trip. Other names go to agentd: whether user.* is
 * ENODATA or EACCES depends on permissions. (A file system without
 * ACLs would say EOPNOTSUPP for those: ls takes it the same way.) */
static int
xattr_none(const char *rpath, int nofollow, const char *name)
{
	struct zmx_attr a;

	if (name != NULL && strncmp(name, "security.", 9) != 0 &&
	    strcmp(name, "system.posix_acl_access") != 0 &&
	    strcmp(name, "system.posix_acl_default") != 0)
		return 0;
	/* the session answers from its attribute cache: no round trip
	 * to agentd after the listing that ls made */
	return remote_stat(rpath, nofollow, &a) == 0 &&
	    (a.xflags & ZMX_ATTR_NOXATTR);
}

/* GETXATTR and LISTXATTR: the reply's bytes into buf. agentd always
 * sends the whole value, so the size probe is answered here, as the
 * kernel would: size 0 asks for the length, a buffer too small is
 * ERANGE. */
static ssize_t
xattr_call(struct zmx_msg *req, void *buf, size_t size)
{
	struct zmx_frame rep = { 0 };
	ssize_t r;
	size_t n;

	if ((r = zmx_conn_call(req, &rep, ZMX_MSG_XATTR)) == 0) {
		n = rep.msg.u.xattr.value_len;
		if (size == 0)
			r = (ssize_t)n;
		else if (n > size)
			r = -ERANGE;
		else if (buf == NULL && n > 0)
			r = -EFAULT;
		else {
			if (n > 0)
				memcpy(buf, rep.msg.u.xattr.value, n);
			r = (ssize_t)n;
		}
	}
	zmx_frame_close(&rep);
	return r;
}

ssize_t
zmx_fs_getxattr(int fd, const char *path, int nofollow, const char *name,
    void *value, size_t size)
{
	struct zmx_msg req = { 0 };
	struct zmx_where w;
	int r;

	ATTR_TARGET(&w, fd, path, 0, real_fgetxattr(fd, name, value, size),
	    ((void)dfd_, nofollow ? real_lgetxattr(p_, name, value, size) :
	    real_getxattr(p_, name, value, size)));
	if ((r = xattr_name_ok(name)) < 0)
		return r;
	if (path != NULL && xattr_none(w.rpath, nofollow, name))
		return -ENODATA;
	req.type = ZMX_MSG_GETXATTR;
	req.u.getxattr.path = w.rpath;
	req.u.getxattr.name = name;
	req.u.getxattr.flags = nofollow ? ZMX_NOFOLLOW : 0;
	return xattr_call(&req, value, size);
}

ssize_t
zmx_fs_listxattr(int fd, const char *path, int nofollow, char *list,
    size_t size)
{
	struct zmx_msg req = { 0 };
	struct zmx_where w;

	ATTR_TARGET(&w, fd, path, 0, real_flistxattr(fd, list, size),
	    ((void)dfd_, nofollow ? real_llistxattr(p_, list, size) :
	    real_listxattr(p_, list, size)));
	if (path != NULL && xattr_none(w.rpath, nofollow, NULL))
		return 0;
	req.type = ZMX_MSG_LISTXATTR;
	req.u.listxattr.path = w.rpath;
	req.u.listxattr.flags = nofollow ? ZMX_NOFOLLOW : 0;
	return xattr_call(&req, list, size);
}

int
zmx_fs_setxattr(int fd, const char *path, int nofollow, const char *name,
    const void *value, size_t size, int flags)
{
	struct zmx_msg req = { 0 };
	struct zmx_where w;
	int r;

	ATTR_TARGET(&w, fd, path, 0,
	    real_fsetxattr(fd, name, value, size, flags),
	    ((void)dfd_, nofollow ? real_lsetxattr(p_, name, value, size,
	    flags) : real_setxattr(p_, name, value, size, flags)));
	if ((r = xattr_name_ok(name)) < 0)
		return r;
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	if (size > ZMX_XATTR_MAX)
		return -E2BIG;
	if (value == NULL && size > 0)
		return -EFAULT;
	req.type = ZMX_MSG_SETXATTR;
	req.u.setxattr.path = w.rpath;
	req.u.setxattr.name = name;
	req.u.setxattr.value = value;
	req.u.setxattr.value_len = size;
	req.u.setxattr.flags = (nofollow ? ZMX_NOFOLLOW : 0) |
	    (flags & XATTR_CREATE ? ZMX_XATTR_CREATE : 0) |
	    (flags & XATTR_REPLACE ? ZMX_XATTR_REPLACE : 0);
	return zmx_fs_call_ok(&req);
}

int
zmx_fs_removexattr(int fd, const char *path, int nofollow, const char *name)
{
	struct zmx_msg req = { 0 };
	struct zmx_where w;
	int r;

	ATTR_TARGET(&w, fd, path, 0, real_fremovexattr(fd, name),
	    ((void)dfd_, nofollow ? real_lremovexattr(p_, name) :
	    real_removexattr(p_, name)));
	if ((r = xattr_name_ok(name)) < 0)
		return r;
	req.type = ZMX_MSG_REMOVEXATTR;
	req.u.removexattr.path = w.rpath;
	req.u.removexattr.name = name;
	req.u.removexattr.flags = nofollow ? ZMX_NOFOLLOW : 0;
	return zmx_fs_call_ok(&req);
}
