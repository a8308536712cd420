/* scope.c - wire paths resolved beneath a session root with openat2(2),
 * or a component-by-component walk where the kernel lacks it, so that
 * "..", symlinks, magic links and renames racing a request cannot leave
 * the root (DESIGN.md decision 6). No network here: test_scope.c drives
 * it directly. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "log.h"
#include "scope.h"

/* Written by tests before use, and by open_beneath() the first time
 * openat2 reports ENOSYS. agentd is single-threaded. */
int zmx_scope_no_openat2;

#define SCOPE_MAX_LINKS	40	/* symlinks per resolution, as the kernel */
#define SCOPE_MAX_DEPTH	256	/* directories held by the walk */
#define SCOPE_RETRIES	8	/* openat2 EAGAIN: a rename or mount raced */

int
zmx_scope_squeeze(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *in != '\0'; in++) {
		if (*in == '/' && n > 0 && out[n - 1] == '/')
			continue;
		if (n + 1 >= outlen)
			return -ENAMETOOLONG;
		out[n++] = *in;
	}
	if (outlen == 0)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return (int)n;
}

void
zmx_scope_proc_path(int fd, char buf[32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

/* The target of a /proc/self/fd link, NUL-terminated. */
static int
fd_path(int fd, char *out, size_t outlen)
{
	char proc[32];
	ssize_t n;

	zmx_scope_proc_path(fd, proc);
	if ((n = readlink(proc, out, outlen)) < 0)
		return -errno;
	if ((size_t)n >= outlen)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return (int)n;
}

int
zmx_scope_init(struct zmx_scope *s, const char *root)
{
	char buf[PATH_MAX];
	int n, r;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (root == NULL || root[0] != '/')
		return -EINVAL;
	if ((n = zmx_scope_squeeze(root, buf, sizeof(buf))) < 0)
		return n;
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	if ((s->root = strdup(buf)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	s->rootlen = n;
	s->in_root = strcmp(buf, "/") == 0;
	if ((s->fd = open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = -errno;
		goto out;
	}
	if ((n = fd_path(s->fd, buf, sizeof(buf))) < 0) {
		r = n;
		goto out;
	}
	if ((s->real = strdup(buf)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	s->reallen = n;
	return 0;
out:
	zmx_scope_fini(s);
	return r;
}

void
zmx_scope_fini(struct zmx_scope *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->root);
	free(s->real);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* After the root: "" for the root itself, else what follows the '/'. */
static int
strip_root(const struct zmx_scope *s, const char *path, char *buf,
    size_t buflen, const char **restp)
{
	const char *p;
	int n;

	if (path[0] == '\0')
		return -ENOENT;
	if (path[0] != '/')
		return -EACCES;
	if ((n = zmx_scope_squeeze(path, buf, buflen)) < 0)
		return n;
	if (s->in_root) {
		*restp = buf + 1;
		return 0;
	}
	if (strncmp(buf, s->root, s->rootlen) != 0)
		return -EACCES;
	p = buf + s->rootlen;
	if (*p == '\0') {
		*restp = p;
		return 0;
	}
	if (*p != '/')
		return -EACCES;
	*restp = p + 1;
	return 0;
}

int
zmx_scope_rel(const struct zmx_scope *s, const char *path, char *rel,
    size_t rellen)
{
	char buf[PATH_MAX];
	const char *rest = NULL;
	size_t n;
	int r;

	if ((r = strip_root(s, path, buf, sizeof(buf), &rest)) < 0)
		return r;
	if (*rest == '\0')
		rest = ".";
	if ((n = strlen(rest)) >= rellen)
		return -ENAMETOOLONG;
	memcpy(rel, rest, n + 1);
	return 0;
}

/* ---- the userspace walk, for kernels without openat2 --------------- */

/* The walk keeps every directory it went through open, so ".." pops to
 * the fd it came from instead of asking the kernel: a directory renamed
 * out of the root meanwhile cannot carry the walk with it. Each step is
 * one openat(O_PATH|O_NOFOLLOW) of a single name; symlinks are read and
 * spliced into the remaining path, absolute ones restart at the root
 * (in_root) or fail EXDEV, as openat2 does. Magic links are read as the
 * text they show, so they cannot jump anywhere either. */
struct walk {
	int	 fds[SCOPE_MAX_DEPTH];	/* fds[0] is the root, not ours */
	int	 depth;
	char	 path[PATH_MAX];	/* what is left to resolve */
};

static void
walk_pop_all(struct walk *w)
{
	while (w->depth > 0)
		close(w->fds[w->depth--]);
}

/* Replaces the consumed part with the link's text in front of rest. */
static int
walk_splice(struct walk *w, int linkfd, const char *rest)
{
	char target[PATH_MAX], tmp[PATH_MAX];
	ssize_t n;
	int len;

	if ((n = readlinkat(linkfd, "", target, sizeof(target))) < 0)
		return -errno;
	if ((size_t)n >= sizeof(target))
		return -ENAMETOOLONG;
	target[n] = '\0';
	if (n == 0)
		return -ENOENT;
	len = snprintf(tmp, sizeof(tmp), "%s%s%s", target,
	    *rest ? "/" : "", rest);
	if (len < 0 || (size_t)len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(w->path, tmp, len + 1);
	return 0;
}

static int
walk_open(const struct zmx_scope *s, const char *rel, int flags, mode_t mode)
{
	struct walk w;
	struct stat st;
	char comp[NAME_MAX + 1], *p, *q;
	int links = 0, cur, fd = -1, last, slash, r;
	size_t n;

	w.depth = 0;
	w.fds[0] = s->fd;
	if (strlen(rel) >= sizeof(w.path))
		return -ENAMETOOLONG;
	strcpy(w.path, rel);
	p = w.path;
	for (;;) {
		cur = w.fds[w.depth];
		while (*p == '/')
			p++;
		if (*p == '\0') {
			/* nothing left: the directory we stand in */
			r = openat(cur, ".", (flags & ~O_NOFOLLOW) | O_CLOEXEC,
			    mode);
			r = r < 0 ? -errno : r;
			goto out;
		}
		for (q = p; *q != '\0' && *q != '/'; q++)
			;
		if ((n = q - p) > NAME_MAX) {
			r = -ENAMETOOLONG;
			goto out;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		slash = *q == '/';
		while (*q == '/')
			q++;
		last = *q == '\0';
		p = q;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (w.depth > 0)
				close(w.fds[w.depth--]);
			else if (!s->in_root) {
				r = -EXDEV;
				goto out;
			}
			continue;
		}
		if ((fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0
		    && (errno != ENOENT || !last || slash)) {
			r = -errno;
			goto out;
		}
		if (fd >= 0 && fstat(fd, &st) < 0) {
			r = -errno;
			goto out;
		}
		if (fd >= 0 && S_ISLNK(st.st_mode) &&
		    (!last || slash || !(flags & O_NOFOLLOW))) {
			if (++links > SCOPE_MAX_LINKS) {
				r = -ELOOP;
				goto out;
			}
			/* rest is p, which lives in w.path: copy it first */
			{
				char rest[PATH_MAX];
				size_t plen = strlen(p);

				if (plen + 2 > sizeof(rest))
					r = -ENAMETOOLONG;
				else {
					memcpy(rest, p, plen);
					if (last && slash)
						rest[plen++] = '/';
					rest[plen] = '\0';
					r = walk_splice(&w, fd, rest);
				}
			}
			close(fd);
			fd = -1;
			if (r < 0)
				goto out;
			p = w.path;
			if (*p == '/') {
				if (!s->in_root) {
					r = -EXDEV;
					goto out;
				}
				walk_pop_all(&w);
			}
			continue;
		}
		if (!last || slash) {
			if (!S_ISDIR(st.st_mode)) {
				r = -ENOTDIR;
				goto out;
			}
			if (w.depth + 1 >= SCOPE_MAX_DEPTH) {
				r = -ENAMETOOLONG;
				goto out;
			}
			w.fds[++w.depth] = fd;
			fd = -1;
			continue;
		}
		/* The last name, no symlink to follow: one openat of a
		 * single name with O_NOFOLLOW, so a symlink swapped in
		 * since the look above fails (ELOOP) rather than leads
		 * out. */
		if (fd >= 0) {
			close(fd);
			fd = -1;
		}
		r = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		r = r < 0 ? -errno : r;
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	walk_pop_all(&w);
	return r;
}

/* ---- openat2 -------------------------------------------------------- */

static int
open_beneath(const struct zmx_scope *s, const char *rel, int flags,
    mode_t mode)
{
	struct open_how how;
	int i;
	long r;

	if (zmx_scope_no_openat2)
		return walk_open(s, rel, flags, mode);
	memset(&how, 0, sizeof(how));
	how.flags = (unsigned)(flags | O_CLOEXEC);
	if (flags & (O_CREAT | __O_TMPFILE))
		how.mode = mode & 07777;
	/* At "/" RESOLVE_IN_ROOT means the same as BENEATH, but an
	 * absolute symlink (/usr/lib -> /usr/lib64 style) keeps working. */
	how.resolve = RESOLVE_NO_MAGICLINKS |
	    (s->in_root ? RESOLVE_IN_ROOT : RESOLVE_BENEATH);
	for (i = 0; i < SCOPE_RETRIES; i++) {
		r = syscall(SYS_openat2, s->fd, rel, &how, sizeof(how));
		if (r >= 0)
			return (int)r;
		if (errno != EAGAIN)
			break;
	}
	if (errno == ENOSYS) {
		zmx_info("no openat2 in this kernel: resolving paths in "
		    "userspace");
		zmx_scope_no_openat2 = 1;
		return walk_open(s, rel, flags, mode);
	}
	return -errno;
}

int
zmx_scope_open(const struct zmx_scope *s, const char *path, int flags,
    mode_t mode)
{
	char rel[PATH_MAX];
	int r;

	if ((r = zmx_scope_rel(s, path, rel, sizeof(rel))) < 0)
		return r;
	return open_beneath(s, rel, flags, mode);
}

int
zmx_scope_parent(const struct zmx_scope *s, const char *path,
    char name[NAME_MAX + 1], int *slashp)
{
	char buf[PATH_MAX], *rest, *slash;
	const char *crest = NULL;
	size_t n;
	int r;

	name[0] = '\0';
	if (slashp != NULL)
		*slashp = 0;
	if ((r = strip_root(s, path, buf, sizeof(buf), &crest)) < 0)
		return r;
	rest = (char *)crest;
	n = strlen(rest);
	if (n > 0 && rest[n - 1] == '/') {
		if (slashp != NULL)
			*slashp = 1;
		rest[--n] = '\0';	/* squeezed: only one */
	}
	if (n == 0)
		return -EBUSY;		/* the root itself */
	if ((slash = strrchr(rest, '/')) != NULL) {
		*slash = '\0';
		slash++;
	} else {
		slash = rest;
		rest = ".";
	}
	if (strcmp(slash, ".") == 0 || strcmp(slash, "..") == 0)
		return -EINVAL;
	if (strlen(slash) > NAME_MAX)
		return -ENAMETOOLONG;
	strcpy(name, slash);
	if ((r = open_beneath(s, rest, O_PATH | O_DIRECTORY, 0)) < 0)
		name[0] = '\0';
	return r;
}

int
zmx_scope_where(const struct zmx_scope *s, int fd, char *out, size_t outlen)
{
	char buf[PATH_MAX];
	const char *rest;
	int n;

	if ((n = fd_path(fd, buf, sizeof(buf))) < 0)
		return n;
	if (buf[0] != '/')
		return -ENOENT;		/* "pipe:[...]" and kin */
	if (strcmp(s->real, "/") == 0)
		rest = buf;
	else if (strncmp(buf, s->real, s->reallen) == 0 &&
	    (buf[s->reallen] == '\0' || buf[s->reallen] == '/'))
		rest = buf + s->reallen;
	else
		return -EACCES;
	if (s->in_root)
		n = snprintf(out, outlen, "%s", rest);
	else
		n = snprintf(out, outlen, "%s%s", s->root, rest);
	if (n < 0 || (size_t)n >= outlen)
		return -ENAMETOOLONG;
	return n;
}
