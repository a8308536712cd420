/* memfd.c - remote files as real fds (memfd.h): the session process
 * fetches a file into its one memfd for the whole session and hands each
 * opener its own open file description of it; it writes a changed file
 * back when a writer closes it, however the writer ends. Here: the FOPEN
 * and FSYNC that ask it, O_TMPFILE memfds, and adopting fds across exec. */
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

#include "conn.h"
#include "io.h"
#include "log.h"
#include "memfd.h"
#include "policy.h"
#include "real.h"
#include "shim.h"


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

/* The FOPEN flags: open(2)'s that say what the open does. */
#define MEMFD_FOPEN_FLAGS	(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | \
	O_APPEND | O_NOFOLLOW | O_DIRECTORY)

int
zmx_memfd_open(const char *lpath, const char *rpath, int flags, mode_t mode)
{
	struct zmx_file *f = NULL;
	struct zmx_msg req = { 0 };
	struct zmx_frame rep = { 0 };
	int fd = -1, kind, r;

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
	/* the session holds the file's one copy and hands us our own
	 * open file description of it (DESIGN.md decision 2) */
	req.type = ZMX_MSG_FOPEN;
	req.u.fopen.path = rpath;
	req.u.fopen.lpath = lpath;
	req.u.fopen.flags = (uint32_t)(flags & MEMFD_FOPEN_FLAGS);
	req.u.fopen.mode = mode & 07777 & ~zmx_umask;
	if ((r = zmx_conn_call(&req, &rep, ZMX_MSG_FILE)) < 0) {
		fd = r;
		goto out;
	}
	if (S_ISDIR(rep.msg.u.file.st.mode)) {
		kind = ZMX_FILE_DIR;
		if ((flags & O_ACCMODE) != O_RDONLY) {
			fd = -EISDIR;
			goto out;
		}
		fd = zmx_memfd_create(kind, lpath, flags & O_CLOEXEC);
	} else if (!S_ISREG(rep.msg.u.file.st.mode) || !rep.has_fd) {
		/* a FIFO, socket or device lives on agentd's side: no
		 * local program can talk through it (libzmx(7)) */
		zmx_warn("%s: a remote special file; it cannot be opened "
		    "here", lpath);
		fd = -ENXIO;
		goto out;
	} else {
		kind = ZMX_FILE_REG;
		fd = zmx_frame_take_fd(&rep);
		if (!(flags & O_CLOEXEC))
			(void)real_fcntl(fd, F_SETFD, 0);
		if (flags & O_NONBLOCK)
			(void)real_fcntl(fd, F_SETFL, real_fcntl(fd, F_GETFL) |
			    O_NONBLOCK);
	}
	if (fd < 0)
		goto out;
	if ((f = zmx_file_new(kind, lpath, rpath)) == NULL) {
		real_close(fd);
		fd = -ENOMEM;
		goto out;
	}
	f->st = rep.msg.u.file.st;
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

int
zmx_memfd_flush(struct zmx_file *f, int fd)
{
	struct zmx_msg req = { .type = ZMX_MSG_FSYNC };
	struct zmx_frame rep = { 0 };
	int r;

	(void)fd;
	if (f->kind != ZMX_FILE_REG)
		return 0;
	req.u.fsync.ino = f->memfd_ino;
	r = zmx_conn_call(&req, &rep, ZMX_MSG_OK);
	zmx_frame_close(&rep);
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
