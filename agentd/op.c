/* op.c - helpers every op_* handler shares (op.h): marking a request as
 * a change, error details that name the scope, attributes for the wire,
 * times from the wire, and the reply scratch buffer. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "op.h"
#include "scope.h"
#include "session.h"

int
zmx_op_writes(struct zmx_op_ctx *c, const char *path, const char *to)
{
	c->audit = 1;
	c->path = path;
	c->to = to;
	if (c->s->ro)
		return zmx_op_fail(c, -EROFS, "%s: key %s is read-only", path,
		    c->s->key);
	return 0;
}

int
zmx_op_fail(struct zmx_op_ctx *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	return err;
}

/* Says which scope rule a resolution broke; other errors keep the
 * default detail ("op path: strerror"). */
static int
scope_detail(struct zmx_op_ctx *c, const char *path, int r)
{
	char rel[PATH_MAX];

	if (r == -EACCES && zmx_scope_rel(&c->s->scope, path, rel,
	    sizeof(rel)) == -EACCES)
		return zmx_op_fail(c, r, "%s: outside scope %s", path,
		    c->s->scope.root);
	if (r == -EXDEV)
		return zmx_op_fail(c, r, "%s: leads outside scope %s", path,
		    c->s->scope.root);
	if (r == -ELOOP)
		return zmx_op_fail(c, r, "%s: too many symlinks, or a magic "
		    "link", path);
	return r;
}

int
zmx_op_open(struct zmx_op_ctx *c, const char *path, int flags, mode_t mode)
{
	int r;

	if ((r = zmx_scope_open(&c->s->scope, path, flags, mode)) < 0)
		return scope_detail(c, path, r);
	return r;
}

int
zmx_op_parent(struct zmx_op_ctx *c, const char *path, char name[NAME_MAX + 1],
    int *slashp)
{
	int r;

	if ((r = zmx_scope_parent(&c->s->scope, path, name, slashp)) < 0) {
		if (r == -EBUSY)
			return zmx_op_fail(c, r, "%s: is the scope root",
			    path);
		if (r == -EINVAL)
			return zmx_op_fail(c, r, "%s: ends in . or ..", path);
		return scope_detail(c, path, r);
	}
	return r;
}

void
zmx_op_attr(struct zmx_attr *a, const struct stat *st)
{
	a->dev = st->st_dev;
	a->ino = st->st_ino;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = st->st_rdev;
	a->size = st->st_size;
	a->blksize = st->st_blksize;
	a->blocks = st->st_blocks;
	a->atime_sec = st->st_atim.tv_sec;
	a->atime_nsec = st->st_atim.tv_nsec;
	a->mtime_sec = st->st_mtim.tv_sec;
	a->mtime_nsec = st->st_mtim.tv_nsec;
	a->ctime_sec = st->st_ctim.tv_sec;
	a->ctime_nsec = st->st_ctim.tv_nsec;
	a->xflags = 0;
}

int
zmx_op_fstat(int fd, struct zmx_attr *a)
{
	struct stat st;

	if (fstatat(fd, "", &st, AT_EMPTY_PATH) < 0)
		return -errno;
	zmx_op_attr(a, &st);
	return 0;
}

static int
utime_nsec(int64_t nsec, long *out)
{
	if (nsec == ZMX_UTIME_NOW)
		*out = UTIME_NOW;
	else if (nsec == ZMX_UTIME_OMIT)
		*out = UTIME_OMIT;
	else if (nsec < 0 || nsec > 999999999)
		return -EINVAL;
	else
		*out = (long)nsec;
	return 0;
}

int
zmx_op_times(int64_t asec, int64_t ansec, int64_t msec, int64_t mnsec,
    struct timespec ts[2])
{
	ts[0].tv_sec = asec;
	ts[1].tv_sec = msec;
	if (utime_nsec(ansec, &ts[0].tv_nsec) < 0 ||
	    utime_nsec(mnsec, &ts[1].tv_nsec) < 0)
		return -EINVAL;
	return 0;
}

void *
zmx_op_data(struct zmx_op_ctx *c, size_t n)
{
	void *p;

	if (n <= c->datacap)
		return c->data;
	if ((p = realloc(c->data, n)) == NULL)
		return NULL;
	c->data = p;
	c->datacap = n;
	return p;
}

int
zmx_op_done(struct zmx_op_ctx *c, int fd, int r)
{
	close(fd);
	if (r < 0)
		return r;
	c->rep.type = ZMX_MSG_OK;
	return 0;
}
