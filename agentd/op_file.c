/* op_file.c - handlers for requests about one file: STAT, ACCESS, OPEN,
 * PREAD, PWRITE, TRUNCATE, REALPATH, READLINK, CHMOD, CHOWN, UTIMENS.
 * Every path goes through scope.c; a file is first pinned with an O_PATH
 * fd and acted on through that fd, so what was checked is what is used. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "op.h"
#include "scope.h"
#include "session.h"
#include "watch.h"

#define OPEN_KNOWN	(ZMX_O_WRITE | ZMX_O_CREAT | ZMX_O_EXCL | \
	ZMX_O_TRUNC | ZMX_O_NOFOLLOW | ZMX_O_DIRECTORY | ZMX_O_APPEND | \
	ZMX_O_LAZY)
#define OPEN_CHANGES	(ZMX_O_WRITE | ZMX_O_CREAT | ZMX_O_TRUNC | \
	ZMX_O_APPEND)

static int
bad_flags(struct zmx_op_ctx *c, uint32_t flags, uint32_t known)
{
	if ((flags & ~known) == 0)
		return 0;
	return zmx_op_fail(c, -EINVAL, "%s: unknown flags 0x%x", c->path,
	    flags & ~known);
}

/* Reopens what an O_PATH fd pins with real open flags: the magic link
 * in our own /proc/self/fd leads to that inode and nowhere else, and
 * the kernel checks the access the flags ask for. O_NOATIME: a fetch
 * is not the program reading, and must not move the atime a program
 * set (touch -a); only the owner (or CAP_FOWNER) may ask for it, so
 * anyone else's open goes again without it. */
static int
reopen(int pathfd, int flags)
{
	char proc[32];
	int fd;

	zmx_scope_proc_path(pathfd, proc);
	flags = (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK;
	if ((fd = open(proc, flags | O_NOATIME)) < 0 && errno == EPERM)
		fd = open(proc, flags);
	return fd < 0 ? -errno : fd;
}

/* Opens path, which must be a regular file, with flags; *st is its
 * stat. Fifos, sockets and devices are refused before anything opens
 * them: opening has side effects there (blocking, tape rewinds). */
static int
open_regular(struct zmx_op_ctx *c, const char *path, int flags,
    struct stat *st)
{
	int pfd, fd;

	if ((pfd = zmx_op_open(c, path, O_PATH, 0)) < 0)
		return pfd;
	if (fstat(pfd, st) < 0) {
		fd = -errno;
		goto out;
	}
	if (S_ISDIR(st->st_mode)) {
		fd = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		fd = zmx_op_fail(c, -EOPNOTSUPP, "%s: not a regular file",
		    path);
		goto out;
	}
	fd = reopen(pfd, flags);
out:
	close(pfd);
	return fd;
}

int
op_stat(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_stat *q = &m->u.stat;
	char proc[32];
	struct stat st;
	int fd, r;

	c->path = q->path;
	if ((r = bad_flags(c, q->flags, ZMX_NOFOLLOW)) < 0)
		return r;
	if ((fd = zmx_op_open(c, q->path, O_PATH |
	    (q->flags & ZMX_NOFOLLOW ? O_NOFOLLOW : 0), 0)) < 0)
		return fd;
	/* a file with more links is watched itself, before the
	 * attributes sent are read (watch.c) */
	r = fstatat(fd, "", &st, AT_EMPTY_PATH) < 0 ||
	    (zmx_watch_file(c, q->path, fd, &st, 0) &&
	    fstatat(fd, "", &st, AT_EMPTY_PATH) < 0) ? -errno : 0;
	if (r == 0) {
		zmx_op_attr(&c->rep.u.attr.st, &st);
		/* through the magic link: a symlink pinned with O_NOFOLLOW
		 * is the one listed, not its target */
		zmx_scope_proc_path(fd, proc);
		c->rep.u.attr.st.xflags = zmx_op_xflags(proc, 0);
	}
	close(fd);
	if (r < 0)
		return r;
	c->rep.type = ZMX_MSG_ATTR;
	return 0;
}

int
op_access(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_access *q = &m->u.access;
	char proc[32];
	int fd, r;

	c->path = q->path;
	if ((r = bad_flags(c, q->flags, ZMX_NOFOLLOW | ZMX_EACCESS)) < 0)
		return r;
	if (q->mode & ~(uint32_t)(R_OK | W_OK | X_OK))
		return zmx_op_fail(c, -EINVAL, "%s: bad mode 0%o", q->path,
		    q->mode);
	if ((fd = zmx_op_open(c, q->path, O_PATH |
	    (q->flags & ZMX_NOFOLLOW ? O_NOFOLLOW : 0), 0)) < 0)
		return fd;
	/* AT_EACCESS always: the ids that matter are the session user's
	 * filesystem ids (creds.c), which plain access(2) would ignore in
	 * favour of agentd's real ids. */
	zmx_scope_proc_path(fd, proc);
	r = faccessat(AT_FDCWD, proc, (int)q->mode, AT_EACCESS) < 0 ?
	    -errno : 0;
	close(fd);
	if (r == 0 && (q->mode & W_OK) && c->s->ro)
		return zmx_op_fail(c, -EROFS, "%s: key %s is read-only",
		    q->path, c->s->key);
	if (r < 0)
		return r;
	c->rep.type = ZMX_MSG_OK;
	return 0;
}

/* Fills OPENED from a regular file: st after any truncation, and the
 * first min(size, max, ZMX_CHUNK) bytes, so that small files arrive
 * whole in the reply to the open (DESIGN.md decision 2). */
static int
opened_regular(struct zmx_op_ctx *c, int fd, uint64_t max)
{
	struct zmx_msg_opened *o = &c->rep.u.opened;
	struct stat st;
	uint64_t want;
	ssize_t got;
	void *buf;

	if (fstat(fd, &st) < 0)
		return -errno;
	want = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	if (want > max)
		want = max;
	/* at most a chunk a reply: what a peer that does not read makes
	 * agentd hold stays small (flow.c) */
	if (want > ZMX_CHUNK)
		want = ZMX_CHUNK;
	if ((buf = zmx_op_data(c, want ? want : 1)) == NULL)
		return -ENOMEM;
	if ((got = zmx_io_read_all(fd, buf, want, 0)) < 0)
		return (int)got;
	if ((uint64_t)got != want && fstat(fd, &st) < 0)
		return -errno;		/* it shrank: say so in st */
	zmx_op_attr(&o->st, &st);
	o->data = buf;
	o->data_len = (size_t)got;
	c->rep.type = ZMX_MSG_OPENED;
	return 0;
}

/* ZMX_O_LAZY for a file that is not there: checks that it could be made
 * (its directory is in scope, and the session's user may write and
 * search it), and answers OPENED with what it would be, with ino and
 * nlink 0: not made yet. The PUT that writes it back makes it, so a
 * write-back that never lands leaves nothing behind. */
static int
opened_lazy(struct zmx_op_ctx *c, const char *path, mode_t mode)
{
	struct zmx_attr *a = &c->rep.u.opened.st;
	struct timespec now;
	char name[NAME_MAX + 1], proc[32];
	int dfd, r;

	if ((dfd = zmx_op_parent(c, path, name, NULL)) < 0)
		return dfd;
	zmx_scope_proc_path(dfd, proc);
	r = faccessat(AT_FDCWD, proc, W_OK | X_OK, AT_EACCESS) < 0 ? -errno : 0;
	close(dfd);
	if (r < 0)
		return r;
	clock_gettime(CLOCK_REALTIME, &now);
	memset(a, 0, sizeof(*a));
	a->mode = S_IFREG | (mode & 07777);
	a->uid = c->s->creds.uid;
	a->gid = c->s->creds.gid;
	a->blksize = 4096;
	a->atime_sec = a->mtime_sec = a->ctime_sec = now.tv_sec;
	a->atime_nsec = a->mtime_nsec = a->ctime_nsec = now.tv_nsec;
	c->rep.u.opened.data = "";
	c->rep.u.opened.data_len = 0;
	c->rep.type = ZMX_MSG_OPENED;
	return 0;
}

int
op_open(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_open *q = &m->u.open;
	struct stat st;
	int flags = 0, pfd = -1, fd = -1, r;

	c->path = q->path;
	if ((r = bad_flags(c, q->flags, OPEN_KNOWN)) < 0)
		return r;
	if ((q->flags & OPEN_CHANGES) &&
	    (r = zmx_op_writes(c, q->path, NULL)) < 0)
		return r;
	flags = q->flags & ZMX_O_WRITE ? O_RDWR : O_RDONLY;
	if (q->flags & ZMX_O_CREAT)
		flags |= O_CREAT;
	if (q->flags & ZMX_O_EXCL)
		flags |= O_EXCL;
	if (q->flags & ZMX_O_TRUNC)
		flags |= O_TRUNC;
	if (q->flags & ZMX_O_NOFOLLOW)
		flags |= O_NOFOLLOW;
	if (q->flags & ZMX_O_DIRECTORY)
		flags |= O_DIRECTORY;

	/* An existing file is pinned with O_PATH and checked before it is
	 * opened for real; only a file that is not there yet is created by
	 * the open itself (and checked after). */
	if (!(flags & O_EXCL) || !(flags & O_CREAT)) {
		pfd = zmx_op_open(c, q->path, O_PATH | (flags & (O_NOFOLLOW |
		    O_DIRECTORY)), 0);
		if (pfd < 0 && (pfd != -ENOENT || !(flags & O_CREAT))) {
			r = pfd;
			goto out;
		}
		if (pfd == -ENOENT && (q->flags & ZMX_O_LAZY)) {
			r = opened_lazy(c, q->path, q->mode);
			goto out;
		}
	}
	if (pfd >= 0) {
		if (fstat(pfd, &st) < 0) {
			r = -errno;
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			r = -ELOOP;	/* O_NOFOLLOW on a symlink */
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if (q->flags & (ZMX_O_WRITE | ZMX_O_CREAT |
			    ZMX_O_TRUNC)) {
				r = -EISDIR;
				goto out;
			}
			flags = O_RDONLY | O_DIRECTORY;
		} else if (!S_ISREG(st.st_mode)) {
			r = zmx_op_fail(c, -EOPNOTSUPP, "%s: not a regular "
			    "file or directory", q->path);
			goto out;
		} else if (flags & O_DIRECTORY) {
			r = -ENOTDIR;
			goto out;
		}
		if ((fd = reopen(pfd, flags)) < 0) {
			r = fd;
			goto out;
		}
	} else if ((fd = zmx_op_open(c, q->path, flags | O_NONBLOCK |
	    O_NOCTTY, q->mode & 07777)) < 0) {
		r = fd;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		zmx_op_attr(&c->rep.u.opened.st, &st);
		c->rep.type = ZMX_MSG_OPENED;
		r = 0;
	} else if (S_ISREG(st.st_mode)) {
		/* reached through a symlink, or with more links: watched
		 * itself before its content is read (watch.c) */
		(void)zmx_watch_file(c, q->path, fd, &st, 1);
		r = opened_regular(c, fd, q->max);
	}
	else
		r = zmx_op_fail(c, -EOPNOTSUPP, "%s: not a regular file or "
		    "directory", q->path);
out:
	if (pfd >= 0)
		close(pfd);
	if (fd >= 0)
		close(fd);
	return r;
}

int
op_pread(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_pread *q = &m->u.pread;
	struct zmx_msg_data *d = &c->rep.u.data;
	struct stat st;
	uint64_t len = q->len;
	ssize_t got;
	void *buf;
	int fd, r = 0;

	c->path = q->path;
	if (q->off > INT64_MAX)
		return zmx_op_fail(c, -EINVAL, "%s: offset %llu", q->path,
		    (unsigned long long)q->off);
	if (len > ZMX_CHUNK)
		len = ZMX_CHUNK;
	if ((fd = open_regular(c, q->path, O_RDONLY, &st)) < 0)
		return fd;
	if ((buf = zmx_op_data(c, len ? len : 1)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if ((got = zmx_io_read_all(fd, buf, len, (off_t)q->off)) < 0) {
		r = (int)got;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	zmx_op_attr(&d->st, &st);
	d->data = buf;
	d->data_len = (size_t)got;
	c->rep.type = ZMX_MSG_DATA;
out:
	close(fd);
	return r;
}

int
op_pwrite(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_pwrite *q = &m->u.pwrite;
	struct stat st;
	int fd, r;

	if ((r = zmx_op_writes(c, q->path, NULL)) < 0)
		return r;
	if (q->off > (uint64_t)INT64_MAX - q->data_len)
		return zmx_op_fail(c, -EFBIG, "%s: offset %llu", q->path,
		    (unsigned long long)q->off);
	if ((fd = open_regular(c, q->path, O_WRONLY, &st)) < 0)
		return fd;
	r = zmx_io_write_all(fd, q->data, q->data_len, (off_t)q->off);
	return zmx_op_done(c, fd, r);
}

int
op_truncate(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_truncate *q = &m->u.truncate;
	struct stat st;
	int fd, r;

	if ((r = zmx_op_writes(c, q->path, NULL)) < 0)
		return r;
	if (q->len > INT64_MAX)
		return zmx_op_fail(c, -EINVAL, "%s: length %llu", q->path,
		    (unsigned long long)q->len);
	if ((fd = open_regular(c, q->path, O_WRONLY, &st)) < 0)
		return fd;
	r = ftruncate(fd, (off_t)q->len) < 0 ? -errno : 0;
	return zmx_op_done(c, fd, r);
}

int
op_realpath(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_realpath *q = &m->u.realpath;
	int fd, r;

	c->path = q->path;
	if ((fd = zmx_op_open(c, q->path, O_PATH, 0)) < 0)
		return fd;
	r = zmx_scope_where(&c->s->scope, fd, c->pathbuf, sizeof(c->pathbuf));
	close(fd);
	if (r < 0)
		return r;
	c->rep.type = ZMX_MSG_PATH;
	c->rep.u.path.path = c->pathbuf;
	return 0;
}

int
op_readlink(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_readlink *q = &m->u.readlink;
	char name[NAME_MAX + 1];
	ssize_t n;
	int dfd, r = 0;

	c->path = q->path;
	if ((dfd = zmx_op_parent(c, q->path, name, NULL)) < 0)
		return dfd;
	n = readlinkat(dfd, name, c->pathbuf, sizeof(c->pathbuf));
	if (n < 0)
		r = -errno;
	else if ((size_t)n >= sizeof(c->pathbuf))
		r = -ENAMETOOLONG;
	close(dfd);
	if (r < 0)
		return r;
	c->pathbuf[n] = '\0';
	c->rep.type = ZMX_MSG_PATH;
	c->rep.u.path.path = c->pathbuf;
	return 0;
}

/* Where an attribute change lands, as *at() arguments: with nofollow,
 * the parent's fd and the last name (a final symlink itself); else the
 * file pinned by an O_PATH fd, reached as /proc/self/fd/N. Returns the
 * fd to close, or -errno. */
static int
attr_target(struct zmx_op_ctx *c, const char *path, int nofollow,
    char name[NAME_MAX + 1], int *dirfd, int *atflags)
{
	int fd;

	if (nofollow) {
		if ((fd = zmx_op_parent(c, path, name, NULL)) >= 0) {
			*dirfd = fd;
			*atflags = AT_SYMLINK_NOFOLLOW;
		}
		return fd;
	}
	if ((fd = zmx_op_open(c, path, O_PATH, 0)) >= 0) {
		zmx_scope_proc_path(fd, name);
		*dirfd = AT_FDCWD;
		*atflags = 0;
	}
	return fd;
}

int
op_chmod(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_chmod *q = &m->u.chmod;
	char name[NAME_MAX + 1];
	int fd, dfd, atflags, r;

	if ((r = zmx_op_writes(c, q->path, NULL)) < 0 ||
	    (r = bad_flags(c, q->flags, ZMX_NOFOLLOW)) < 0)
		return r;
	if (q->mode & ~07777u)
		return zmx_op_fail(c, -EINVAL, "%s: bad mode 0%o", q->path,
		    q->mode);
	if ((fd = attr_target(c, q->path, q->flags & ZMX_NOFOLLOW, name, &dfd,
	    &atflags)) < 0)
		return fd;
	/* on a symlink with AT_SYMLINK_NOFOLLOW glibc answers EOPNOTSUPP,
	 * as Linux does */
	r = fchmodat(dfd, name, q->mode, atflags) < 0 ? -errno : 0;
	return zmx_op_done(c, fd, r);
}

int
op_chown(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_chown *q = &m->u.chown;
	char name[NAME_MAX + 1];
	uid_t uid = q->uid == ZMX_ID_KEEP ? (uid_t)-1 : q->uid;
	gid_t gid = q->gid == ZMX_ID_KEEP ? (gid_t)-1 : q->gid;
	int fd, dfd, atflags, r;

	if ((r = zmx_op_writes(c, q->path, NULL)) < 0 ||
	    (r = bad_flags(c, q->flags, ZMX_NOFOLLOW)) < 0)
		return r;
	if ((fd = attr_target(c, q->path, q->flags & ZMX_NOFOLLOW, name, &dfd,
	    &atflags)) < 0)
		return fd;
	r = fchownat(dfd, name, uid, gid, atflags) < 0 ? -errno : 0;
	return zmx_op_done(c, fd, r);
}

int
op_utimens(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_utimens *q = &m->u.utimens;
	struct timespec ts[2];
	char name[NAME_MAX + 1];
	int fd, dfd, atflags, r;

	if ((r = zmx_op_writes(c, q->path, NULL)) < 0 ||
	    (r = bad_flags(c, q->flags, ZMX_NOFOLLOW)) < 0)
		return r;
	if (zmx_op_times(q->atime_sec, q->atime_nsec, q->mtime_sec,
	    q->mtime_nsec, ts) < 0)
		return zmx_op_fail(c, -EINVAL, "%s: nanoseconds out of range",
		    q->path);
	if ((fd = attr_target(c, q->path, q->flags & ZMX_NOFOLLOW, name, &dfd,
	    &atflags)) < 0)
		return fd;
	r = utimensat(dfd, name, ts, atflags) < 0 ? -errno : 0;
	return zmx_op_done(c, fd, r);
}
