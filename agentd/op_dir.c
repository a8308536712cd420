/* op_dir.c - handlers for requests about directory entries: READDIR,
 * MKDIR, MKNOD, RMDIR, UNLINK, RENAME, LINK, SYMLINK. Each acts on a final
 * name through its parent's fd from scope.c and an *at() call, which
 * never follows a symlink in that last name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "op.h"
#include "scope.h"
#include "session.h"
#include "watch.h"

/* Appends one entry to the scratch arrays; the name goes to the names
 * arena by offset, fixed up to pointers once the arena stops moving. */
static int
add_entry(struct zmx_op_ctx *c, size_t n, size_t *used, const char *name,
    const struct stat *st)
{
	struct zmx_dirent *e;
	size_t len = strlen(name) + 1, cap;
	void *p;

	if (n >= ZMX_MAX_ENTS)
		return -E2BIG;
	if (n >= c->entcap) {
		cap = c->entcap ? c->entcap * 2 : 256;
		if ((p = reallocarray(c->ents, cap, sizeof(*c->ents))) == NULL)
			return -ENOMEM;
		c->ents = p;
		c->entcap = cap;
	}
	if (*used + len > c->namecap) {
		cap = c->namecap ? c->namecap : 8192;
		while (cap < *used + len)
			cap *= 2;
		if ((p = realloc(c->names, cap)) == NULL)
			return -ENOMEM;
		c->names = p;
		c->namecap = cap;
	}
	memcpy(c->names + *used, name, len);
	e = &c->ents[n];
	memset(e, 0, sizeof(*e));
	e->name = (const char *)(uintptr_t)*used;
	if (st != NULL)
		zmx_op_attr(&e->st, st);
	*used += len;
	return 0;
}

int
op_readdir(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_readdir *q = &m->u.readdir;
	struct zmx_msg_entries *out = &c->rep.u.entries;
	struct dirent *de;
	struct stat st;
	char p[32 + NAME_MAX + 2];
	DIR *dir = NULL;
	size_t n = 0, used = 0, i;
	int fd, r = 0;

	c->path = q->path;
	/* listing a directory reads it: O_NOATIME as for a fetch
	 * (op_file.c reopen), where the kernel allows it */
	fd = zmx_op_open(c, q->path, O_RDONLY | O_DIRECTORY | O_NOATIME, 0);
	if (fd == -EPERM)
		fd = zmx_op_open(c, q->path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || (dir = fdopendir(fd)) == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	zmx_op_attr(&out->st, &st);
	for (;;) {
		errno = 0;
		if ((de = readdir(dir)) == NULL) {
			r = -errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		/* lstat attributes ride along, saving a STAT per entry;
		 * one that vanished since readdir gets mode 0. A watch
		 * added for the entry itself (watch.c) is in place before
		 * the attributes sent are read. */
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (zmx_watch_entry(c, q->path, fd, de->d_name, &st) &&
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)) {
			if ((r = add_entry(c, n, &used, de->d_name, NULL)) < 0)
				break;
		} else if ((r = add_entry(c, n, &used, de->d_name, &st)) < 0)
			break;
		else {
			/* and whether it has extended attributes, so that
			 * ls -l asks no more than it stats */
			snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", fd,
			    de->d_name);
			c->ents[n].st.xflags = zmx_op_xflags(p, 1);
		}
		n++;
	}
	closedir(dir);
	if (r < 0)
		return r == -E2BIG ? zmx_op_fail(c, r, "%s: more than %u "
		    "entries", q->path, ZMX_MAX_ENTS) : r;
	for (i = 0; i < n; i++)
		c->ents[i].name = c->names + (uintptr_t)c->ents[i].name;
	out->ents = c->ents;
	out->ents_count = n;
	c->rep.type = ZMX_MSG_ENTRIES;
	return 0;
}

int
op_mkdir(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_mkdir *q = &m->u.mkdir;
	char name[NAME_MAX + 1];
	int fd, r;

	if ((r = zmx_op_writes(c, q->path, NULL)) < 0)
		return r;
	if ((fd = zmx_op_parent(c, q->path, name, NULL)) < 0)
		return fd == -EBUSY ? -EEXIST : fd;	/* mkdir -p ROOT */
	r = mkdirat(fd, name, q->mode & 07777) < 0 ? -errno : 0;
	return zmx_op_done(c, fd, r);
}

/* FIFOs and empty regular files only: a device node would give the
 * session's user a door to hardware on agentd's machine, and a socket
 * node is useless to a program on another. */
int
op_mknod(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_mknod *q = &m->u.mknod;
	char name[NAME_MAX + 1];
	mode_t type = q->mode & S_IFMT;
	int fd, r;

	if ((r = zmx_op_writes(c, q->path, NULL)) < 0)
		return r;
	if (q->mode & ~(uint32_t)(S_IFMT | 07777))
		return zmx_op_fail(c, -EINVAL, "%s: bad mode 0%o", q->path,
		    q->mode);
	switch (type) {
	case 0:			/* mknod(2): 0 is a regular file */
		type = S_IFREG;
		break;
	case S_IFREG:
	case S_IFIFO:
		break;
	case S_IFCHR:
	case S_IFBLK:
		return zmx_op_fail(c, -EPERM, "%s: agentd makes no device "
		    "files", q->path);
	case S_IFSOCK:
		return zmx_op_fail(c, -EOPNOTSUPP, "%s: agentd makes no "
		    "socket files", q->path);
	default:
		return zmx_op_fail(c, -EINVAL, "%s: bad file type 0%o",
		    q->path, type);
	}
	if ((fd = zmx_op_parent(c, q->path, name, NULL)) < 0)
		return fd == -EBUSY ? -EEXIST : fd;
	r = mknodat(fd, name, type | (q->mode & 07777), 0) < 0 ? -errno : 0;
	return zmx_op_done(c, fd, r);
}

int
op_rmdir(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_rmdir *q = &m->u.rmdir;
	char name[NAME_MAX + 1];
	int fd, r;

	if ((r = zmx_op_writes(c, q->path, NULL)) < 0)
		return r;
	if ((fd = zmx_op_parent(c, q->path, name, NULL)) < 0)
		return fd;
	r = unlinkat(fd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
	return zmx_op_done(c, fd, r);
}

int
op_unlink(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_unlink *q = &m->u.unlink;
	char name[NAME_MAX + 1];
	struct stat st;
	int fd, slash, r;

	if ((r = zmx_op_writes(c, q->path, NULL)) < 0)
		return r;
	if ((fd = zmx_op_parent(c, q->path, name, &slash)) < 0)
		return fd;
	if (slash) {
		/* unlink("x/") never removes anything: x is a directory
		 * (EISDIR) or the slash is wrong (ENOTDIR) */
		if (fstatat(fd, name, &st, 0) < 0)
			r = -errno;
		else
			r = S_ISDIR(st.st_mode) ? -EISDIR : -ENOTDIR;
	} else
		r = unlinkat(fd, name, 0) < 0 ? -errno : 0;
	return zmx_op_done(c, fd, r);
}

int
op_rename(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_rename *q = &m->u.rename;
	char from[NAME_MAX + 1], to[NAME_MAX + 1];
	int ffd = -1, tfd = -1, r;

	if ((r = zmx_op_writes(c, q->from, q->to)) < 0)
		return r;
	if (q->flags & ~(uint32_t)(ZMX_RENAME_NOREPLACE | ZMX_RENAME_EXCHANGE))
		return zmx_op_fail(c, -EINVAL, "%s: unknown flags 0x%x",
		    q->from, q->flags);
	if ((ffd = zmx_op_parent(c, q->from, from, NULL)) < 0)
		return ffd;
	if ((tfd = zmx_op_parent(c, q->to, to, NULL)) < 0) {
		r = tfd;
		goto out;
	}
	r = renameat2(ffd, from, tfd, to, q->flags) < 0 ? -errno : 0;
	if (r < 0)
		zmx_op_fail(c, r, "rename %s to %s: %s", q->from, q->to,
		    strerror(-r));
out:
	close(ffd);
	if (tfd >= 0)
		close(tfd);
	if (r < 0)
		return r;
	c->rep.type = ZMX_MSG_OK;
	return 0;
}

int
op_link(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_link *q = &m->u.link;
	char from[NAME_MAX + 1], to[NAME_MAX + 1], proc[32];
	int ffd = -1, tfd = -1, r;

	if ((r = zmx_op_writes(c, q->from, q->to)) < 0)
		return r;
	if (q->flags & ~(uint32_t)ZMX_FOLLOW)
		return zmx_op_fail(c, -EINVAL, "%s: unknown flags 0x%x",
		    q->from, q->flags);
	if ((tfd = zmx_op_parent(c, q->to, to, NULL)) < 0)
		return tfd;
	if (q->flags & ZMX_FOLLOW) {
		/* linkat(AT_SYMLINK_FOLLOW) would follow a symlink out of
		 * the scope: resolve it here and link what it pins */
		if ((ffd = zmx_op_open(c, q->from, O_PATH, 0)) < 0) {
			r = ffd;
			goto out;
		}
		zmx_scope_proc_path(ffd, proc);
		r = linkat(AT_FDCWD, proc, tfd, to, AT_SYMLINK_FOLLOW);
	} else {
		if ((ffd = zmx_op_parent(c, q->from, from, NULL)) < 0) {
			r = ffd;
			goto out;
		}
		r = linkat(ffd, from, tfd, to, 0);
	}
	r = r < 0 ? -errno : 0;
	if (r < 0)
		zmx_op_fail(c, r, "link %s to %s: %s", q->from, q->to,
		    strerror(-r));
out:
	if (ffd >= 0)
		close(ffd);
	close(tfd);
	if (r < 0)
		return r;
	c->rep.type = ZMX_MSG_OK;
	return 0;
}

int
op_symlink(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_symlink *q = &m->u.symlink;
	char name[NAME_MAX + 1];
	int fd, r;

	/* the audit line's to= is the target, stored verbatim: whether it
	 * points out of the scope is decided when it is followed */
	if ((r = zmx_op_writes(c, q->path, q->target)) < 0)
		return r;
	if ((fd = zmx_op_parent(c, q->path, name, NULL)) < 0)
		return fd == -EBUSY ? -EEXIST : fd;
	r = symlinkat(q->target, fd, name) < 0 ? -errno : 0;
	return zmx_op_done(c, fd, r);
}
