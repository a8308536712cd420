/* op_xattr.c - handlers for extended attributes: GETXATTR, LISTXATTR,
 * SETXATTR, REMOVEXATTR, and the copy of a file's attributes that keeps
 * them across a write-back (op_put.c). Linux has no *at() xattr calls
 * before 6.13, so a file resolved in scope is named through our own
 * /proc/self/fd: the inode an O_PATH fd pins ("/proc/self/fd/N",
 * followed), or a final name in a pinned directory
 * ("/proc/self/fd/D/NAME" with the l*xattr calls, which never follow
 * it). Either way the walk cannot leave the inode or directory scope.c
 * resolved. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "op.h"
#include "scope.h"
#include "session.h"

#define XATTR_PATH	(32 + NAME_MAX + 2)	/* /proc/self/fd/D/NAME */

static int
xattr_flags(struct zmx_op_ctx *c, uint32_t flags, uint32_t known)
{
	if ((flags & ~known) == 0)
		return 0;
	return zmx_op_fail(c, -EINVAL, "%s: unknown flags 0x%x", c->path,
	    flags & ~known);
}

/* Where the xattr call for path goes: p, and *lcall set when it must be
 * an l*xattr call (ZMX_NOFOLLOW: a final symlink itself). Returns the
 * fd to close after the call, or -errno. */
static int
xattr_target(struct zmx_op_ctx *c, const char *path, uint32_t flags,
    char p[XATTR_PATH], int *lcall)
{
	char name[NAME_MAX + 1];
	int fd;

	*lcall = 0;
	if (flags & ZMX_NOFOLLOW) {
		if ((fd = zmx_op_parent(c, path, name, NULL)) >= 0) {
			snprintf(p, XATTR_PATH, "/proc/self/fd/%d/%s", fd,
			    name);
			*lcall = 1;
			return fd;
		}
		if (fd != -EBUSY)
			return fd;
		/* the root itself: a directory, so following is the same */
		c->detail[0] = '\0';
	}
	if ((fd = zmx_op_open(c, path, O_PATH, 0)) >= 0)
		snprintf(p, XATTR_PATH, "/proc/self/fd/%d", fd);
	return fd;
}

/* Says which attribute a failure was about. */
static int
xattr_fail(struct zmx_op_ctx *c, const char *op, const char *name, int r)
{
	return zmx_op_fail(c, r, "%s %s: %s: %s", op, c->path, name,
	    strerror(-r));
}

/* GETXATTR (name) and LISTXATTR (name NULL): the value, or the names,
 * whole into the XATTR reply. */
static int
xattr_read(struct zmx_op_ctx *c, const char *path, uint32_t flags,
    const char *name)
{
	char p[XATTR_PATH];
	void *buf;
	ssize_t n;
	int fd, lcall, r;

	c->path = path;
	if ((r = xattr_flags(c, flags, ZMX_NOFOLLOW)) < 0)
		return r;
	if ((buf = zmx_op_data(c, ZMX_XATTR_MAX)) == NULL)
		return -ENOMEM;
	if ((fd = xattr_target(c, path, flags, p, &lcall)) < 0)
		return fd;
	if (name != NULL)
		n = lcall ? lgetxattr(p, name, buf, ZMX_XATTR_MAX) :
		    getxattr(p, name, buf, ZMX_XATTR_MAX);
	else
		n = lcall ? llistxattr(p, buf, ZMX_XATTR_MAX) :
		    listxattr(p, buf, ZMX_XATTR_MAX);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return name != NULL ? xattr_fail(c, "getxattr", name, r) : r;
	c->rep.type = ZMX_MSG_XATTR;
	c->rep.u.xattr.value = buf;
	c->rep.u.xattr.value_len = (size_t)n;
	return 0;
}

int
op_getxattr(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	return xattr_read(c, m->u.getxattr.path, m->u.getxattr.flags,
	    m->u.getxattr.name);
}

int
op_listxattr(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	return xattr_read(c, m->u.listxattr.path, m->u.listxattr.flags, NULL);
}

int
op_setxattr(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_setxattr *q = &m->u.setxattr;
	char p[XATTR_PATH];
	int fd, lcall, xflags, r;

	/* the audit line's to= is the attribute's name */
	if ((r = zmx_op_writes(c, q->path, q->name)) < 0 ||
	    (r = xattr_flags(c, q->flags, ZMX_NOFOLLOW | ZMX_XATTR_CREATE |
	    ZMX_XATTR_REPLACE)) < 0)
		return r;
	xflags = (q->flags & ZMX_XATTR_CREATE ? XATTR_CREATE : 0) |
	    (q->flags & ZMX_XATTR_REPLACE ? XATTR_REPLACE : 0);
	if ((fd = xattr_target(c, q->path, q->flags, p, &lcall)) < 0)
		return fd;
	r = (lcall ? lsetxattr(p, q->name, q->value, q->value_len, xflags) :
	    setxattr(p, q->name, q->value, q->value_len, xflags)) < 0 ?
	    -errno : 0;
	if (r < 0)
		xattr_fail(c, "setxattr", q->name, r);
	return zmx_op_done(c, fd, r);
}

int
op_removexattr(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_removexattr *q = &m->u.removexattr;
	char p[XATTR_PATH];
	int fd, lcall, r;

	if ((r = zmx_op_writes(c, q->path, q->name)) < 0 ||
	    (r = xattr_flags(c, q->flags, ZMX_NOFOLLOW)) < 0)
		return r;
	if ((fd = xattr_target(c, q->path, q->flags, p, &lcall)) < 0)
		return fd;
	r = (lcall ? lremovexattr(p, q->name) : removexattr(p, q->name)) < 0 ?
	    -errno : 0;
	if (r < 0)
		xattr_fail(c, "removexattr", q->name, r);
	return zmx_op_done(c, fd, r);
}

uint32_t
zmx_op_xflags(const char *p, int lcall)
{
	return (lcall ? llistxattr(p, NULL, 0) : listxattr(p, NULL, 0)) == 0 ?
	    ZMX_ATTR_NOXATTR : 0;
}

/* Whether name is a policy's label (security.*) or a privileged
 * attribute (trusted.*): ones a writer may be unable to set, whose loss
 * the kernel's own rules decide. */
static int
xattr_lax(const char *name)
{
	return strncmp(name, "security.", 9) == 0 ||
	    strncmp(name, "trusted.", 8) == 0;
}

int
zmx_op_xattr_copy(struct zmx_op_ctx *c, int from, int to, int security)
{
	char p[32], *names, *value, *n;
	ssize_t len, vlen;
	int r;

	if ((names = zmx_op_data(c, 2 * ZMX_XATTR_MAX)) == NULL)
		return -ENOMEM;
	value = names + ZMX_XATTR_MAX;
	/* what "to" got from its directory (a default ACL) is not the
	 * file's: clear it first */
	if (!security && (len = flistxattr(to, names, ZMX_XATTR_MAX)) > 0)
		for (n = names; n < names + len; n += strlen(n) + 1)
			if (strncmp(n, "security.", 9) != 0)
				(void)fremovexattr(to, n);
	zmx_scope_proc_path(from, p);
	if ((len = listxattr(p, names, ZMX_XATTR_MAX)) < 0)
		return errno == ENOTSUP ? 0 : -errno;
	for (n = names; n < names + len; n += strlen(n) + 1) {
		if ((strncmp(n, "security.", 9) == 0) != (security != 0))
			continue;
		if ((vlen = getxattr(p, n, value, ZMX_XATTR_MAX)) >= 0 &&
		    fsetxattr(to, n, value, (size_t)vlen, 0) == 0)
			continue;
		r = -errno;
		if (xattr_lax(n) || r == -ENODATA)	/* or gone meanwhile */
			continue;
		return zmx_op_fail(c, r, "%s: extended attribute %s not "
		    "kept: %s", c->path, n, strerror(-r));
	}
	return 0;
}
