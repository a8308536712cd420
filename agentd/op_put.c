/* op_put.c - PUT, the write-back of a whole file that is never torn:
 * chunks go to a temp file beside the target, and COMMIT renames it over
 * the target, so readers see the old file or the new one, never half
 * (DESIGN.md decision 2). Also the session's table of uploads. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "op.h"
#include "scope.h"
#include "session.h"

#define PUT_MAX_UPLOADS	64	/* unfinished uploads per session */
#define PUT_SUFFIX	".zmx-"
#define PUT_RAND	6
#define PUT_TRIES	16

struct zmx_upload {
	char			*key;		/* upload_key(): connection, path */
	int			 dirfd;		/* O_PATH: the target's dir */
	char			 name[NAME_MAX + 1];	/* the target */
	char			 tmp[NAME_MAX + 1];	/* the temp file */
	int			 fd;		/* the temp file, O_RDWR */
	int			 existed;	/* the target, at BEGIN */
	struct zmx_upload	*next;
};

/* Unlinks u from s and frees it; removes the temp file unless done. */
static void
upload_drop(struct zmx_session *s, struct zmx_upload *u, int done)
{
	struct zmx_upload **pp;

	for (pp = &s->uploads; *pp != NULL; pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	if (!done && unlinkat(u->dirfd, u->tmp, 0) < 0 && errno != ENOENT)
		zmx_warn("session %s: cannot remove %s: %s", s->tag, u->tmp,
		    strerror(errno));
	close(u->fd);
	close(u->dirfd);
	free(u->key);
	free(u);
}

void
zmx_op_put_drop_all(struct zmx_session *s)
{
	while (s->uploads != NULL) {
		zmx_info("session %s: unfinished upload of %s removed",
		    s->tag, s->uploads->key);
		upload_drop(s, s->uploads, 0);
	}
}

static struct zmx_upload *
upload_find(struct zmx_session *s, const char *key, int *countp)
{
	struct zmx_upload *u, *found = NULL;
	int n = 0;

	for (u = s->uploads; u != NULL; u = u->next, n++)
		if (found == NULL && strcmp(u->key, key) == 0)
			found = u;
	if (countp != NULL)
		*countp = n;
	return found;
}

/* An upload is the connection's (its routing id, in hex) and the path's:
 * two threads of one program write back on their own connections, so
 * the same path from both is two uploads, not one abandoning the other. */
static int
upload_key(const struct zmx_op_ctx *c, const char *path, char *key,
    size_t len)
{
	const unsigned char *id = c->ident;
	size_t i, n = 0;

	for (i = 0; i < c->identlen && n + 3 < len; i++)
		n += snprintf(key + n, len - n, "%02x", id[i]);
	if (snprintf(key + n, len - n, ":%s", path) >= (int)(len - n))
		return -ENAMETOOLONG;
	return 0;
}

/* ".<name>.zmx-XXXXXX", name cut so the whole fits in NAME_MAX. */
static int
temp_create(int dirfd, const char *name, char tmp[NAME_MAX + 1])
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[PUT_RAND];
	int keep = NAME_MAX - 1 - (int)strlen(PUT_SUFFIX) - PUT_RAND;
	int i, j, n, fd;

	for (i = 0; i < PUT_TRIES; i++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -errno;
		n = snprintf(tmp, NAME_MAX + 1, ".%.*s%s", keep, name,
		    PUT_SUFFIX);
		for (j = 0; j < PUT_RAND; j++)
			tmp[n++] = alnum[rnd[j] % (sizeof(alnum) - 1)];
		tmp[n] = '\0';
		fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* BEGIN: finds the final target (symlinks followed, in scope) and
 * makes a temp file in its directory, replacing an older upload of the
 * same path. */
static int
upload_begin(struct zmx_op_ctx *c, const char *path, const char *key,
    struct zmx_upload **up)
{
	struct zmx_session *s = c->s;
	struct zmx_upload *u = NULL, *old;
	struct stat st;
	char where[PATH_MAX];
	int pfd, n, r;

	*up = NULL;
	if ((old = upload_find(s, key, &n)) != NULL) {
		upload_drop(s, old, 0);
		n--;
	}
	if (n >= PUT_MAX_UPLOADS)
		return zmx_op_fail(c, -EMFILE, "%s: %d uploads unfinished",
		    path, n);
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return -ENOMEM;
	u->fd = u->dirfd = -1;
	if ((u->key = strdup(key)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if ((pfd = zmx_op_open(c, path, O_PATH, 0)) >= 0) {
		r = fstat(pfd, &st) < 0 ? -errno : 0;
		if (r == 0 && S_ISDIR(st.st_mode))
			r = -EISDIR;
		else if (r == 0 && !S_ISREG(st.st_mode))
			r = zmx_op_fail(c, -EOPNOTSUPP, "%s: not a regular "
			    "file", path);
		if (r == 0 && (r = zmx_scope_where(&s->scope, pfd, where,
		    sizeof(where))) >= 0)
			r = 0;
		close(pfd);
		if (r < 0)
			goto out;
		u->existed = 1;
		path = where;
	} else if (pfd != -ENOENT) {
		r = pfd;
		goto out;
	}
	/* XXX a dangling symlink as the last name is replaced by the new
	 * file rather than creating its target; safe, if surprising. */
	if ((u->dirfd = zmx_op_parent(c, path, u->name, NULL)) < 0) {
		r = u->dirfd;
		goto out;
	}
	if ((u->fd = temp_create(u->dirfd, u->name, u->tmp)) < 0) {
		r = u->fd;
		goto out;
	}
	u->next = s->uploads;
	s->uploads = u;
	*up = u;
	return 0;
out:
	if (u->fd >= 0)
		close(u->fd);
	if (u->dirfd >= 0)
		close(u->dirfd);
	free(u->key);
	free(u);
	return r;
}

/* COMMIT: the temp file takes the target's owner and mode (or mode for
 * a new file) and replaces it in one rename. */
static int
upload_commit(struct zmx_op_ctx *c, struct zmx_upload *u, mode_t mode)
{
	struct stat st;

	if (fstatat(u->dirfd, u->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		/* owner first: chown clears set-id bits. Someone who may
		 * write the file but not give it away becomes its owner,
		 * as with any editor that saves by rename. */
		if (fchown(u->fd, st.st_uid, st.st_gid) < 0 &&
		    errno != EPERM)
			return -errno;
		mode = st.st_mode;
	} else if (errno != ENOENT)
		return -errno;
	else if (u->existed)
		return zmx_op_fail(c, -ENOENT, "%s: removed during the "
		    "upload", c->path);
	if (fchmod(u->fd, mode & 07777) < 0)
		return -errno;
	if (renameat(u->dirfd, u->tmp, u->dirfd, u->name) < 0)
		return -errno;
	return zmx_op_fstat(u->fd, &c->rep.u.attr.st);
}

int
op_put(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_put *q = &m->u.put;
	struct zmx_upload *u;
	char key[2 * 256 + PATH_MAX + 2];
	int r;

	c->path = q->path;
	if (q->flags & ~(uint32_t)(ZMX_PUT_BEGIN | ZMX_PUT_COMMIT))
		return zmx_op_fail(c, -EINVAL, "%s: unknown flags 0x%x",
		    q->path, q->flags);
	/* every chunk is refused on a read-only key; only the commit,
	 * where the file changes, is audited */
	if (q->flags & ZMX_PUT_COMMIT)
		r = zmx_op_writes(c, q->path, NULL);
	else
		r = c->s->ro ? zmx_op_fail(c, -EROFS, "%s: key %s is "
		    "read-only", q->path, c->s->key) : 0;
	if (r < 0)
		return r;
	if (q->off > (uint64_t)INT64_MAX - q->data_len)
		return zmx_op_fail(c, -EFBIG, "%s: offset %llu", q->path,
		    (unsigned long long)q->off);
	if ((r = upload_key(c, q->path, key, sizeof(key))) < 0)
		return r;
	if (q->flags & ZMX_PUT_BEGIN) {
		if ((r = upload_begin(c, q->path, key, &u)) < 0)
			return r;
	} else if ((u = upload_find(c->s, key, NULL)) == NULL)
		return zmx_op_fail(c, -EBADF, "%s: no upload in progress",
		    q->path);
	if (q->data_len > 0 && (r = zmx_io_write_all(u->fd, q->data,
	    q->data_len, (off_t)q->off)) < 0)
		goto fail;
	if (!(q->flags & ZMX_PUT_COMMIT)) {
		c->rep.type = ZMX_MSG_OK;
		return 0;
	}
	if ((r = upload_commit(c, u, q->mode)) < 0)
		goto fail;
	upload_drop(c->s, u, 1);
	c->rep.type = ZMX_MSG_ATTR;
	return 0;
fail:
	/* an upload that failed once cannot be trusted to be whole */
	upload_drop(c->s, u, 0);
	return r;
}
