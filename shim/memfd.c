/* memfd.c - remote files as real fds (memfd.h): the session process
 * fetches a file into its one memfd for the whole session and hands each
 * opener its own open file description of it; it writes a changed file
 * back when a writer closes it, however the writer ends. Here: the FOPEN
 * and FSYNC that ask it, O_TMPFILE memfds, the local directories that
 * stand for remote ones, and adopting fds across exec. */
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

/* Where zmx_memfd_dir() makes its directories: the session's private
 * directory, then /dev/shm. Written by zmx_memfd_init() in the
 * constructor, before the program's threads; read-only afterwards. */
#define DIR_BASE_MAX	(PATH_MAX - NAME_MAX - 2)
static char dir_base[2][DIR_BASE_MAX];

/* Numbers the directories a process makes (atomic). A fork child goes
 * on counting under its own pid. */
static unsigned long dir_seq;

#define DIR_PREFIX	"zmxd."

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

void
zmx_memfd_init(void)
{
	extern char **environ;
	const char *s = NULL;
	char **e;

	/* environ itself: bash has its own getenv, which once its
	 * variables exist (our setenv of ZMX_CWD makes them) knows only
	 * those */
	for (e = environ; e != NULL && *e != NULL; e++)
		if (strncmp(*e, "ZMX_SESSION_DIR=", 16) == 0)
			s = *e + 16;
	if (s != NULL && s[0] == '/' && strlen(s) < DIR_BASE_MAX)
		strcpy(dir_base[0], s);
	strcpy(dir_base[1], "/dev/shm");
}

/* name = DIR_PREFIX "<pid>.<seq>:" and lpath with '%' and '/' written as
 * %25 and %2F, so that adopt_fd() can read the path back; just the
 * number if that does not fit in a name. */
static void
dir_name(char name[NAME_MAX + 1], const char *lpath)
{
	unsigned long n = __atomic_fetch_add(&dir_seq, 1, __ATOMIC_RELAXED);
	size_t i, len;

	len = (size_t)snprintf(name, NAME_MAX + 1, DIR_PREFIX "%ld.%lu:",
	    (long)syscall(SYS_getpid), n);
	for (; *lpath != '\0' && len + 4 <= NAME_MAX; lpath++) {
		if (*lpath == '/' || *lpath == '%')
			len += (size_t)snprintf(name + len, 4, "%%%02X",
			    (unsigned char)*lpath);
		else
			name[len++] = *lpath;
	}
	if (*lpath != '\0') {		/* too long to adopt */
		i = strcspn(name, ":");
		name[i] = '\0';
	} else
		name[len] = '\0';
}

/* Inverse of dir_name() on the name's part after ':'. 0 or -EINVAL. */
static int
dir_name_path(const char *enc, char *out, size_t outlen)
{
	size_t n = 0;
	unsigned v;

	for (; *enc != '\0'; enc++) {
		if (n + 1 >= outlen)
			return -EINVAL;
		if (*enc == '%') {
			if (sscanf(enc + 1, "%2X", &v) != 1 || (v != '/' &&
			    v != '%'))
				return -EINVAL;
			out[n++] = (char)v;
			enc += 2;
		} else
			out[n++] = *enc;
	}
	out[n] = '\0';
	return n > 0 && out[0] == '/' ? 0 : -EINVAL;
}

int
zmx_memfd_dir(const char *lpath, int flags)
{
	static int warned;	/* once a process (atomic) */
	char name[NAME_MAX + 1], path[PATH_MAX];
	int b, fd, made, tries, oflags;

	/* a directory of our own, opened and removed at once: read(2)
	 * says EISDIR, and the kernel, asked directly (a raw syscall),
	 * finds it empty and lets nothing be made in it */
	oflags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    (flags & (O_CLOEXEC | O_PATH | O_NONBLOCK));
	for (b = 0; b < 2; b++) {
		if (dir_base[b][0] == '\0')
			continue;
		for (made = tries = 0; !made && tries < 8; tries++) {
			dir_name(name, lpath);
			if (snprintf(path, sizeof(path), "%s/%s", dir_base[b],
			    name) >= (int)sizeof(path))
				break;
			if (real_mkdir(path, 0700) == 0)
				made = 1;
			else if (errno != EEXIST)
				break;
		}
		if (!made)
			continue;
		fd = real_openat(AT_FDCWD, path, oflags);
		(void)real_rmdir(path);
		if (fd >= 0)
			return fd;
	}
	/* nowhere to make one (the program changed its uid): a
	 * placeholder file still serves getdents64 and the *at calls */
	if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
		zmx_warn("%s: no local directory can stand for it; a read "
		    "of a remote directory's fd will not fail", lpath);
	return zmx_memfd_create(ZMX_FILE_DIR, lpath, flags & O_CLOEXEC);
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
		fd = zmx_memfd_dir(lpath, flags);
	} else if (!S_ISREG(rep.msg.u.file.st.mode) || !rep.has_fd) {
		/* a FIFO, socket or device lives on agentd's side: no
		 * local program can talk through it (libzmx(7)) */
		zmx_warn("%s: a remote special file; it cannot be opened "
		    "here", lpath);
		fd = -EOPNOTSUPP;
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

/* Adopts one inherited fd if it is one of ours: a memfd by its name, a
 * directory by the name it had (zmx_memfd_dir). */
static void
adopt_fd(int fd)
{
	struct zmx_file *f;
	struct stat ms;
	char link[64], target[PATH_MAX], dpath[PATH_MAX], rpath[PATH_MAX];
	const struct zmx_rule *rule;
	const char *lpath, *base;
	ssize_t n;
	int kind;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = real_readlink(link, target, sizeof(target) - 1)) <= 0)
		return;
	target[n] = '\0';
	if (n > 10 && strcmp(target + n - 10, " (deleted)") == 0)
		target[n - 10] = '\0';
	base = strrchr(target, '/');
	if (strncmp(target, "/memfd:zmx:", 11) == 0) {
		kind = ZMX_FILE_REG;
		lpath = target + 11;
	} else if (strncmp(target, "/memfd:zmx-dir:", 15) == 0) {
		kind = ZMX_FILE_DIR;
		lpath = target + 15;
	} else if (base != NULL && strncmp(base + 1, DIR_PREFIX,
	    sizeof(DIR_PREFIX) - 1) == 0 && (base = strchr(base, ':')) !=
	    NULL && dir_name_path(base + 1, dpath, sizeof(dpath)) == 0 &&
	    real_fstat(fd, &ms) == 0 && S_ISDIR(ms.st_mode) &&
	    ms.st_nlink == 0) {
		kind = ZMX_FILE_DIR;
		lpath = dpath;
	} else
		return;
	if ((rule = zmx_policy_match(&zmx_policy, lpath)) == NULL ||
	    zmx_policy_map(rule, lpath, rpath, sizeof(rpath)) < 0)
		return;
	if (real_fstat(fd, &ms) < 0 || (f = zmx_file_new(kind, lpath,
	    rpath)) == NULL)
		return;
	f->st.mode = kind == ZMX_FILE_DIR ? S_IFDIR | 0755 : S_IFREG | 0644;
	f->st.size = kind == ZMX_FILE_DIR ? 0 : ms.st_size;
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
