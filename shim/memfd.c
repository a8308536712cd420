/* memfd.c - fetch on open, write-back on close (memfd.h). One round trip
 * for a file up to ZMX_CHUNK; bigger files follow in pipelined PREADs. A
 * write-back is PUT chunks of the data (holes skipped) into a temporary
 * file that agentd renames over the target, so no reader ever sees half
 * of it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cache.h"
#include "conn.h"
#include "io.h"
#include "log.h"
#include "memfd.h"
#include "policy.h"
#include "real.h"
#include "shim.h"

#define MEMFD_WINDOW	8		/* chunks in flight at once */
#define MEMFD_TRIES	3		/* refetches when a file moves */

static const char *
kind_prefix(int kind)
{
	return kind == ZMX_FILE_DIR ? "zmx-dir:" : kind == ZMX_FILE_REG ?
	    "zmx:" : "zmx-tmp:";
}

int
zmx_memfd_create(int kind, const char *lpath, int cloexec)
{
	char name[250];
	int fd;

	/* a name that does not fit cannot be adopted after exec */
	if (snprintf(name, sizeof(name), "%s%s", kind_prefix(kind), lpath) >=
	    (int)sizeof(name))
		snprintf(name, sizeof(name), "zmx-long");
	fd = (int)syscall(SYS_memfd_create, name, cloexec ? MFD_CLOEXEC : 0);
	return fd < 0 ? -errno : fd;
}

static int
mark_clean(int fd)
{
	struct timespec ts[2] = {
		{ 0, UTIME_OMIT },
		{ ZMX_MEMFD_CLEAN_SEC, ZMX_MEMFD_CLEAN_NSEC },
	};

	return real_futimens(fd, ts) < 0 ? -errno : 0;
}

static int
same_version(const struct zmx_attr *a, const struct zmx_attr *b)
{
	return a->ino == b->ino && a->dev == b->dev && a->size == b->size &&
	    a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec;
}

/* Fetches the bytes past the first chunk. 0, -EAGAIN if the file changed
 * meanwhile, or -errno. */
static int
fetch_rest(int fd, const char *rpath, const struct zmx_attr *st, off_t off)
{
	struct zmx_msg req[MEMFD_WINDOW];
	struct zmx_frame rep[MEMFD_WINDOW];
	int i, n, r = 0;

	while (off < st->size && r == 0) {
		for (n = 0; n < MEMFD_WINDOW && off < st->size; n++) {
			memset(&req[n], 0, sizeof(req[n]));
			req[n].type = ZMX_MSG_PREAD;
			req[n].u.pread.path = rpath;
			req[n].u.pread.off = (uint64_t)off;
			req[n].u.pread.len = ZMX_CHUNK;
			off += ZMX_CHUNK;
		}
		if ((r = zmx_conn_batch(req, rep, n)) < 0)
			return r;
		for (i = 0; i < n; i++) {
			if (r == 0)
				r = zmx_conn_reply_err(&rep[i], ZMX_MSG_DATA);
			if (r == 0 && !same_version(&rep[i].msg.u.data.st, st))
				r = -EAGAIN;
			if (r == 0)
				r = zmx_io_write_all(fd, rep[i].msg.u.data.data,
				    rep[i].msg.u.data.data_len,
				    (off_t)req[i].u.pread.off);
			zmx_frame_close(&rep[i]);
		}
	}
	return r;
}

static uint32_t
wire_flags(int flags)
{
	uint32_t w = 0;

	/* O_TRUNC changes the file whatever the access mode: agentd
	 * checks for write access as for a writer */
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		w |= ZMX_O_WRITE;
	if (flags & O_CREAT)
		w |= ZMX_O_CREAT;
	/* a new file is made by its write-back, atomically with its
	 * content; an exclusive create must take the name at once */
	if ((flags & O_CREAT) && !(flags & O_EXCL))
		w |= ZMX_O_LAZY;
	if (flags & O_EXCL)
		w |= ZMX_O_EXCL;
	/* no ZMX_O_TRUNC: the truncation lands with the write-back, in
	 * the same atomic rename as the new content, so a write-back that
	 * fails (agentd killed, disk full) leaves the old content whole */
	if (flags & O_NOFOLLOW)
		w |= ZMX_O_NOFOLLOW;
	if (flags & O_DIRECTORY)
		w |= ZMX_O_DIRECTORY;
	if (flags & O_APPEND)
		w |= ZMX_O_APPEND;
	return w;
}

/* Gives the program an fd with its own access mode and O_APPEND: a new
 * open file description of the same memfd, through /proc/self/fd. */
static int
reopen_as(int fd, int flags)
{
	char p[64];
	int nfd, want = flags & (O_ACCMODE | O_APPEND | O_CLOEXEC | O_NONBLOCK);

	if ((want & ~O_CLOEXEC) == O_RDWR)
		return fd;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	nfd = real_openat(AT_FDCWD, p, want);
	if (nfd < 0)
		nfd = -errno;
	real_close(fd);
	return nfd;
}

static int
open_file(struct zmx_file *f, const struct zmx_attr *st, const void *data,
    size_t len, int flags)
{
	int fd, r;

	if ((fd = zmx_memfd_create(ZMX_FILE_REG, f->lpath,
	    flags & O_CLOEXEC)) < 0)
		return fd;
	if ((flags & O_TRUNC) || st->ino == 0) {
		/* empty and dirty: the close writes the (maybe empty) new
		 * content back even if the program writes nothing; a file
		 * not made yet (ino 0, ZMX_O_LAZY) is made then */
		f->st.size = 0;
		if (f->st.ino == 0)
			f->st.nlink = 1;	/* for fstat: it is open */
		return reopen_as(fd, flags);
	}
	if (ftruncate(fd, st->size) < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = zmx_io_write_all(fd, data, len, 0)) < 0)
		goto fail;
	if ((off_t)len < st->size &&
	    (r = fetch_rest(fd, f->rpath, st, (off_t)len)) < 0)
		goto fail;
	if ((r = mark_clean(fd)) < 0)
		goto fail;
	return reopen_as(fd, flags);
fail:
	real_close(fd);
	return r;
}

int
zmx_memfd_open(const char *lpath, const char *rpath, int flags, mode_t mode)
{
	struct zmx_file *f = NULL;
	struct zmx_msg req = { 0 };
	struct zmx_frame rep = { 0 };
	int fd = -1, kind, r, tries;

	if ((flags & O_TMPFILE) == O_TMPFILE) {
		/* unnamed, never visible remotely: nothing to write back */
		kind = ZMX_FILE_TMP;
		if ((f = zmx_file_new(kind, lpath, rpath)) == NULL)
			return -ENOMEM;
		if ((fd = zmx_memfd_create(kind, lpath, flags & O_CLOEXEC)) < 0)
			goto out;
		f->st.mode = S_IFREG | (mode & 07777);
		goto map;
	}
	for (tries = 0; tries < MEMFD_TRIES; tries++) {
		memset(&req, 0, sizeof(req));
		req.type = ZMX_MSG_OPEN;
		req.u.open.path = rpath;
		req.u.open.flags = wire_flags(flags);
		req.u.open.mode = mode & 07777 & ~zmx_umask;
		/* O_TRUNC: the old content is not wanted */
		req.u.open.max = flags & O_TRUNC ? 0 : ZMX_CHUNK;
		if ((r = zmx_conn_call(&req, &rep, ZMX_MSG_OPENED)) < 0) {
			fd = r;
			goto out;
		}
		if (flags & (O_CREAT | O_TRUNC))
			zmx_cache_invalidate();
		/* a FIFO, socket or device has no content to fetch (agentd
		 * refuses to open one; this says so again for any peer) */
		if (!S_ISDIR(rep.msg.u.opened.st.mode) &&
		    !S_ISREG(rep.msg.u.opened.st.mode)) {
			fd = -EOPNOTSUPP;
			goto out;
		}
		kind = S_ISDIR(rep.msg.u.opened.st.mode) ? ZMX_FILE_DIR :
		    ZMX_FILE_REG;
		if (kind == ZMX_FILE_DIR && (flags & O_ACCMODE) != O_RDONLY) {
			fd = -EISDIR;
			goto out;
		}
		if ((f = zmx_file_new(kind, lpath, rpath)) == NULL) {
			fd = -ENOMEM;
			goto out;
		}
		f->st = rep.msg.u.opened.st;
		if (kind == ZMX_FILE_DIR)
			fd = zmx_memfd_create(kind, lpath, flags & O_CLOEXEC);
		else
			fd = open_file(f, &f->st, rep.msg.u.opened.data,
			    rep.msg.u.opened.data_len, flags);
		zmx_frame_close(&rep);
		if (fd != -EAGAIN)
			break;
		zmx_fdtab_unref(f);	/* changed while fetched: again */
		f = NULL;
	}
	if (fd == -EAGAIN)
		fd = -EIO;
	if (fd < 0)
		goto out;
map:
	if ((r = zmx_memfd_map(fd, f)) < 0) {
		real_close(fd);
		fd = r;
	}
out:
	zmx_frame_close(&rep);
	zmx_fdtab_unref(f);	/* ours; the table holds its own */
	return fd;
}

int
zmx_memfd_map(int fd, struct zmx_file *f)
{
	struct stat ms;

	if (real_fstat(fd, &ms) < 0)
		return -errno;
	f->memfd_ino = ms.st_ino;
	return zmx_fdtab_set(fd, f);
}

/* The next piece of content to send at or after *off: its offset in
 * *off, its length (at most ZMX_CHUNK) in *len, which is 0 when only
 * holes are left. SEEK_DATA skips the holes, so a sparse file goes back
 * sparse (PUT's size makes a trailing hole); a memfd always has it, but
 * where it did not, every byte would count as data. 0 or -errno. */
static int
next_data(int fd, off_t size, off_t *off, size_t *len)
{
	off_t data, hole = size;

	*len = 0;
	if (*off >= size)
		return 0;
	if ((data = lseek(fd, *off, SEEK_DATA)) < 0) {
		if (errno == ENXIO)
			return 0;
		if (errno != EINVAL)
			return -errno;
		data = *off;
	} else if ((hole = lseek(fd, data, SEEK_HOLE)) < 0)
		return -errno;
	if (hole > size)
		hole = size;
	if (data >= hole)
		return 0;
	*off = data;
	*len = hole - data > ZMX_CHUNK ? ZMX_CHUNK : (size_t)(hole - data);
	return 0;
}

int
zmx_memfd_flush(struct zmx_file *f, int fd)
{
	struct zmx_msg req[MEMFD_WINDOW];
	struct zmx_frame rep[MEMFD_WINDOW];
	struct stat ms;
	const char *map = NULL;
	char p[64];
	off_t off = 0, size;
	size_t len = 0;
	int rfd = -1, i, n, r = 0, first = 1;

	if (f->kind != ZMX_FILE_REG || f->unlinked)
		return 0;
	if (real_fstat(fd, &ms) < 0)
		return -errno;
	if (zmx_memfd_is_clean(&ms))
		return 0;
	size = ms.st_size;
	/* the program's fd may be write-only: read through a new one */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if ((rfd = real_openat(AT_FDCWD, p, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (size > 0 && (map = mmap(NULL, size, PROT_READ, MAP_SHARED, rfd,
	    0)) == MAP_FAILED) {
		map = NULL;
		r = -errno;
		goto out;
	}
	/* rfd is a file description of our own: its offset is not the
	 * program's */
	if ((r = next_data(rfd, size, &off, &len)) < 0)
		goto out;
	do {
		for (n = 0; n < MEMFD_WINDOW && (first || len > 0); n++) {
			memset(&req[n], 0, sizeof(req[n]));
			req[n].type = ZMX_MSG_PUT;
			req[n].u.put.path = f->rpath;
			req[n].u.put.off = (uint64_t)off;
			req[n].u.put.data = map ? map + off : "";
			req[n].u.put.data_len = len;
			req[n].u.put.mode = f->st.mode & 07777;
			req[n].u.put.size = (uint64_t)size;
			/* times as the write made them: agentd keeps the
			 * replaced file's atime */
			req[n].u.put.atime_nsec = ZMX_UTIME_OMIT;
			req[n].u.put.mtime_nsec = ZMX_UTIME_OMIT;
			req[n].u.put.flags = first ? ZMX_PUT_BEGIN : 0;
			off += len;
			if ((r = next_data(rfd, size, &off, &len)) < 0)
				goto out;
			if (len == 0)
				req[n].u.put.flags |= ZMX_PUT_COMMIT;
			first = 0;
		}
		if ((r = zmx_conn_batch(req, rep, n)) < 0)
			goto out;
		for (i = 0; i < n; i++) {
			unsigned want = req[i].u.put.flags & ZMX_PUT_COMMIT ?
			    ZMX_MSG_ATTR : ZMX_MSG_OK;

			if (r == 0)
				r = zmx_conn_reply_err(&rep[i], want);
			if (r == 0 && want == ZMX_MSG_ATTR)
				f->st = rep[i].msg.u.attr.st;
			zmx_frame_close(&rep[i]);
		}
	} while (r == 0 && len > 0);
	zmx_cache_invalidate();
	if (r == 0)
		r = mark_clean(fd);
out:
	if (r < 0)
		zmx_err("write-back of %s: %s", f->lpath, strerror(-r));
	if (map != NULL)
		munmap((void *)map, size);
	real_close(rfd);
	return r;
}

/* Adopts one inherited fd if it is one of ours (by its memfd name). */
static void
adopt_fd(int fd)
{
	struct zmx_file *f;
	struct stat ms;
	char link[64], target[512], rpath[4096];
	const struct zmx_rule *rule;
	const char *lpath;
	ssize_t n;
	int kind;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = real_readlink(link, target, sizeof(target) - 1)) <= 0)
		return;
	target[n] = '\0';
	if (strncmp(target, "/memfd:zmx", 10) != 0)
		return;
	if (n > 10 && strcmp(target + n - 10, " (deleted)") == 0)
		target[n - 10] = '\0';
	if (strncmp(target, "/memfd:zmx:", 11) == 0) {
		kind = ZMX_FILE_REG;
		lpath = target + 11;
	} else if (strncmp(target, "/memfd:zmx-dir:", 15) == 0) {
		kind = ZMX_FILE_DIR;
		lpath = target + 15;
	} else
		return;
	if ((rule = zmx_policy_match(&zmx_policy, lpath)) == NULL ||
	    zmx_policy_map(rule, lpath, rpath, sizeof(rpath)) < 0)
		return;
	if (real_fstat(fd, &ms) < 0 || (f = zmx_file_new(kind, lpath,
	    rpath)) == NULL)
		return;
	f->st.mode = kind == ZMX_FILE_DIR ? S_IFDIR | 0755 : S_IFREG | 0644;
	f->st.size = ms.st_size;
	f->st.nlink = 1;
	f->st.uid = getuid();
	f->st.gid = getgid();
	f->st.mtime_sec = ms.st_mtim.tv_sec;
	f->st.mtime_nsec = ms.st_mtim.tv_nsec;
	(void)zmx_memfd_map(fd, f);
	zmx_fdtab_unref(f);
}

void
zmx_memfd_adopt(void)
{
	struct dirent64 *d;
	char buf[4096];
	long n, off;
	int dfd, fd;

	dfd = real_openat(AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (dfd < 0)
		return;
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n; off += d->d_reclen) {
			d = (struct dirent64 *)(buf + off);
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			fd = atoi(d->d_name);
			if (fd != dfd)
				adopt_fd(fd);
		}
	}
	real_close(dfd);
}
