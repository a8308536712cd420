/* fs_ns.c - the dispatcher for names: mkdir, mknod, unlink, rename,
 * links, realpath, the cwd and temporary names (fs.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "fs.h"
#include "fs_local.h"
#include "memfd.h"
#include "path.h"
#include "real.h"
#include "shim.h"


int
remote_change(struct zmx_msg *req)
{
	struct zmx_frame rep = { 0 };
	int r;

	r = zmx_conn_call(req, &rep, ZMX_MSG_OK);
	zmx_frame_close(&rep);
	return r;
}

int
zmx_fs_mkdirat(int dirfd, const char *path, mode_t mode)
{
	struct zmx_msg req = { 0 };
	struct zmx_where w;

	WHERE_OR(&w, dirfd, path, 0, real_mkdirat(dfd_, p_, mode));
	req.type = ZMX_MSG_MKDIR;
	req.u.mkdir.path = w.rpath;
	req.u.mkdir.mode = mode & 07777 & ~zmx_umask;
	return zmx_fs_call_ok(&req);
}

int
zmx_fs_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	struct zmx_msg req = { 0 };
	struct zmx_where w;

	WHERE_OR(&w, dirfd, path, 0, real_mknodat(dfd_, p_, mode, dev));
	req.type = ZMX_MSG_MKNOD;
	req.u.mknod.path = w.rpath;
	req.u.mknod.mode = (mode & S_IFMT) | (mode & 07777 & ~zmx_umask);
	req.u.mknod.rdev = dev;
	return zmx_fs_call_ok(&req);
}

int
zmx_fs_unlinkat(int dirfd, const char *path, int flags)
{
	struct zmx_msg req = { 0 };
	struct zmx_where w;

	WHERE_OR(&w, dirfd, path, 0, real_unlinkat(dfd_, p_, flags));
	if (flags & AT_REMOVEDIR) {
		req.type = ZMX_MSG_RMDIR;
		req.u.rmdir.path = w.rpath;
	} else {
		req.type = ZMX_MSG_UNLINK;
		req.u.unlink.path = w.rpath;
	}
	/* the session makes a new file it holds (ZMX_O_LAZY) first, so
	 * that removing it works as on a local disk, and then forgets its
	 * copy (no write-back now) */
	return zmx_fs_call_ok(&req);
}

/* Moves any open file of this process along with its name: the file
 * itself, or one inside a renamed directory. (A file open under the
 * target name was replaced: the session forgets its copy, so no
 * write-back undoes the rename.) */
struct moved {
	const char	*from, *lfrom, *lto, *rto;
};

/* new = to + what follows from in old; NULL if it does not fit */
static char *
moved_name(const char *old, size_t fromlen, const char *to)
{
	char *n;

	if (asprintf(&n, "%s%s", to, old + fromlen) < 0)
		return NULL;
	return n;
}

static void
move_one(int fd, struct zmx_file *f, void *arg)
{
	const struct moved *m = arg;
	size_t rn = strlen(m->from), ln = strlen(m->lfrom);
	char *l, *r;

	(void)fd;
	if (strncmp(f->rpath, m->from, rn) != 0 ||
	    (f->rpath[rn] != '\0' && f->rpath[rn] != '/') ||
	    strncmp(f->lpath, m->lfrom, ln) != 0)
		return;
	l = moved_name(f->lpath, ln, m->lto);
	r = moved_name(f->rpath, rn, m->rto);
	if (l == NULL || r == NULL) {
		free(l);
		free(r);
		return;		/* cannot follow it: keeps its old name */
	}
	/* the old strings are not freed: a lock-free reader (zmx_where
	 * with this fd as dirfd) may still hold them */
	__atomic_store_n(&f->lpath, l, __ATOMIC_RELEASE);
	__atomic_store_n(&f->rpath, r, __ATOMIC_RELEASE);
}

int
zmx_fs_renameat2(int od, const char *op, int nd, const char *np,
    unsigned flags)
{
	struct zmx_msg req = { 0 };
	struct zmx_where a, b;
	struct moved m;
	int ra, rb, r;

	if ((ra = zmx_where(od, op, 0, &a)) < 0)
		return ra;
	if ((rb = zmx_where(nd, np, 0, &b)) < 0)
		return rb;
	if (ra != ZMX_REMOTE && rb != ZMX_REMOTE)
		LOCAL_RET(real_renameat2(ra == ZMX_LOCAL ? od : AT_FDCWD,
		    ra == ZMX_LOCAL ? op : a.lpath,
		    rb == ZMX_LOCAL ? nd : AT_FDCWD,
		    rb == ZMX_LOCAL ? np : b.lpath, flags));
	if (ra != rb)
		return -EXDEV;	/* mv then copies, as across filesystems */
	/* what the session holds changed under the old name reaches agentd
	 * before the name moves (its barrier) */
	req.type = ZMX_MSG_RENAME;
	req.u.rename.from = a.rpath;
	req.u.rename.to = b.rpath;
	req.u.rename.flags = flags;
	if ((r = zmx_fs_call_ok(&req)) == 0) {
		m = (struct moved){ a.rpath, a.lpath, b.lpath, b.rpath };
		zmx_fdtab_each(move_one, &m);
	}
	return r;
}

int
zmx_fs_linkat(int od, const char *op, int nd, const char *np, int flags)
{
	struct zmx_msg req = { 0 };
	struct zmx_where a, b;
	int ra, rb;

	if ((ra = zmx_where(od, op, flags & AT_EMPTY_PATH, &a)) < 0)
		return ra;
	if ((rb = zmx_where(nd, np, 0, &b)) < 0)
		return rb;
	if (ra != ZMX_REMOTE && rb != ZMX_REMOTE)
		LOCAL_RET(real_linkat(ra == ZMX_LOCAL ? od : AT_FDCWD,
		    ra == ZMX_LOCAL ? op : a.lpath,
		    rb == ZMX_LOCAL ? nd : AT_FDCWD,
		    rb == ZMX_LOCAL ? np : b.lpath, flags));
	if (ra != rb)
		return -EXDEV;
	req.type = ZMX_MSG_LINK;
	req.u.link.from = a.rpath;
	req.u.link.to = b.rpath;
	req.u.link.flags = flags & AT_SYMLINK_FOLLOW ? ZMX_FOLLOW : 0;
	return zmx_fs_call_ok(&req);
}

int
zmx_fs_symlinkat(const char *target, int dirfd, const char *path)
{
	struct zmx_msg req = { 0 };
	struct zmx_where w;

	WHERE_OR(&w, dirfd, path, 0, real_symlinkat(target, dfd_, p_));
	if (target == NULL)
		return -EFAULT;
	/* stored verbatim: the same absolute path means the same file on
	 * both sides (DESIGN.md decision 1) */
	req.type = ZMX_MSG_SYMLINK;
	req.u.symlink.target = target;
	req.u.symlink.path = w.rpath;
	return zmx_fs_call_ok(&req);
}

/* A remote path as the program should see it: agentd's answer mapped
 * back through the rule that sent it there. */
static int
unmap(const struct zmx_rule *rule, const char *rpath, char *out, size_t len)
{
	const char *rest;

	if (rule->rlen == 0)
		rest = rpath;
	else if (strncmp(rpath, rule->rprefix, rule->rlen) == 0 &&
	    (rpath[rule->rlen] == '/' || rpath[rule->rlen] == '\0'))
		rest = rpath + rule->rlen;
	else
		rest = NULL;
	if (rest == NULL)	/* outside the rule: agentd's name as is */
		return snprintf(out, len, "%s", rpath) >= (int)len ?
		    -ENAMETOOLONG : 0;
	if (snprintf(out, len, "%.*s%s", (int)rule->len, rule->prefix,
	    rest) >= (int)len)
		return -ENAMETOOLONG;
	if (out[0] == '\0')
		strcpy(out, "/");
	return 0;
}

ssize_t
zmx_fs_readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
	struct zmx_msg req = { 0 };
	struct zmx_frame rep = { 0 };
	struct zmx_where w;
	size_t n;
	int bare, r;

	/* /proc/self/fd/N of a remote fd names the remote file, not the
	 * memfd or directory behind it; /proc/self/cwd the virtual cwd */
	if (path != NULL && path[0] == '/' && path[1] == 'p' &&
	    (r = zmx_vcwd_proc_link(path, 1, w.lpath, sizeof(w.lpath),
	    &bare)) != 0) {
		if (r < 0)
			return r;
		if (bare) {
			n = strlen(w.lpath);
			memcpy(buf, w.lpath, n < len ? n : len);
			return n < len ? n : len;
		}
	}
	WHERE_OR(&w, dirfd, path, 0, real_readlinkat(dfd_, p_, buf, len));
	req.type = ZMX_MSG_READLINK;
	req.u.readlink.path = w.rpath;
	if ((r = zmx_conn_call(&req, &rep, ZMX_MSG_PATH)) == 0) {
		n = strlen(rep.msg.u.path.path);
		if (n > len)
			n = len;
		memcpy(buf, rep.msg.u.path.path, n);
		r = (int)n;
	}
	zmx_frame_close(&rep);
	return r;
}

/* REALPATH of rpath, agentd's answer mapped back through rule into
 * out[PATH_MAX]. 0 or -errno. */
static int
remote_realpath(const struct zmx_rule *rule, const char *rpath, char *out)
{
	struct zmx_msg req = { 0 };
	struct zmx_frame rep = { 0 };
	int r;

	req.type = ZMX_MSG_REALPATH;
	req.u.realpath.path = rpath;
	if ((r = zmx_conn_call(&req, &rep, ZMX_MSG_PATH)) == 0)
		r = unmap(rule, rep.msg.u.path.path, out, PATH_MAX);
	zmx_frame_close(&rep);
	return r;
}

int
zmx_fs_realpath(const char *path, char *out)
{
	struct zmx_where w;
	char lp[PATH_MAX];
	int bare, r;

	/* glibc's realpath reads /proc/self/fd/N with its own readlink:
	 * a remote regular file's link would name the memfd */
	if (path[0] == '/' && path[1] == 'p' && (r = zmx_vcwd_proc_link(path,
	    1, lp, sizeof(lp), &bare)) != 0) {
		if (r < 0)
			return r;
		path = lp;
	}
	if ((r = zmx_where(AT_FDCWD, path, 0, &w)) == ZMX_LOCAL)
		return 1;
	if (r == ZMX_LOCAL_ABS) {
		if (real_realpath(w.lpath, out) == NULL)
			return -errno;
		return 0;
	}
	if (r < 0)
		return r;
	return remote_realpath(w.rule, w.rpath, out);
}

/* ---- the cwd ------------------------------------------------------------- */

/* The remote directory w names, as the kernel would hold it as a cwd: a
 * directory, not a name, so that getcwd(3) gives its path with every
 * symbolic link resolved (pwd -P, os.getcwd()), as on a local disk; the
 * shell keeps the logical path in $PWD itself. One REALPATH of "path/"
 * resolves the links and fails with ENOTDIR on anything but a directory.
 * A link that leads out of every remote rule keeps its own name: the
 * same path would be a local one here. Into phys[PATH_MAX]; 0 or -errno. */
static int
physical_dir(struct zmx_where *w, char *phys)
{
	size_t n = strlen(w->rpath);
	int r;

	if (n > 0 && w->rpath[n - 1] != '/') {
		if (n + 2 > sizeof(w->rpath))
			return -ENAMETOOLONG;
		strcpy(w->rpath + n, "/");
	}
	if ((r = remote_realpath(w->rule, w->rpath, phys)) < 0)
		return r;
	if (zmx_policy_match(&zmx_policy, phys) == NULL)
		strcpy(phys, w->lpath);
	return 0;
}

int
zmx_fs_chdir(const char *path)
{
	struct zmx_where w;
	char phys[PATH_MAX];
	int r;

	if ((r = zmx_where(AT_FDCWD, path, 0, &w)) == ZMX_LOCAL ||
	    r == ZMX_LOCAL_ABS) {
		if (real_chdir(r == ZMX_LOCAL ? path : w.lpath) < 0)
			return -errno;
		return zmx_vcwd_set(NULL);
	}
	if (r < 0)
		return r;
	if ((r = physical_dir(&w, phys)) < 0)
		return r;
	return zmx_vcwd_set(phys);
}

int
zmx_fs_fchdir(int fd)
{
	struct zmx_file *f = zmx_fdtab_get(fd);
	struct zmx_where w;
	char phys[PATH_MAX];

	if (f == NULL) {
		if (real_fchdir(fd) < 0)
			return -errno;
		return zmx_vcwd_set(NULL);
	}
	if (f->kind != ZMX_FILE_DIR)
		return -ENOTDIR;
	/* the directory may have gone since it was opened, which does not
	 * stop a local fchdir either: then its name as opened */
	if (zmx_where(AT_FDCWD, f->lpath, 0, &w) != ZMX_REMOTE ||
	    physical_dir(&w, phys) < 0)
		return zmx_vcwd_set(f->lpath);
	return zmx_vcwd_set(phys);
}

int
zmx_fs_getcwd(char *buf, size_t size)
{
	int n;

	if ((n = zmx_vcwd_get(buf, size)) != 0)
		return n;
	if (real_getcwd(buf, size) == NULL)
		return -errno;
	return (int)strlen(buf);
}

/* ---- temporary names ----------------------------------------------------- */

/* mkstemp(3) and friends: glibc makes the file with its internal open,
 * which symbol interposition never sees, so a remote template is done
 * here. dir: mkdtemp. Returns the fd (0 for dir) or -errno; *local says
 * the template is local and nothing was done. */
int
zmx_fs_mkstemp(char *tmpl, int suffixlen, int flags, int dir, int *local)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
	    "QRSTUVWXYZ0123456789";
	struct zmx_where w;
	unsigned char rnd[6];
	size_t len;
	char *x;
	int i, r, tries;

	*local = 0;
	if ((r = zmx_where(AT_FDCWD, tmpl, 0, &w)) != ZMX_REMOTE) {
		*local = r >= 0;
		return r < 0 ? r : 0;
	}
	len = strlen(tmpl);
	if (suffixlen < 0 || len < (size_t)suffixlen + 6)
		return -EINVAL;
	x = tmpl + len - suffixlen - 6;
	if (strncmp(x, "XXXXXX", 6) != 0)
		return -EINVAL;
	for (tries = 0; tries < 100; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			return -EIO;
		for (i = 0; i < 6; i++)
			x[i] = set[rnd[i] % (sizeof(set) - 1)];
		if (dir)
			r = zmx_fs_mkdirat(AT_FDCWD, tmpl, 0700);
		else
			r = zmx_fs_openat(AT_FDCWD, tmpl, O_RDWR | O_CREAT |
			    O_EXCL | (flags & ~O_ACCMODE), 0600);
		if (r != -EEXIST)
			return r;
	}
	return -EEXIST;
}
