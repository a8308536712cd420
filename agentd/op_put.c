/* op_put.c - PUT, the write-back of a whole file that is never torn:
 * chunks go to a temp file beside the target, each at its offset (holes
 * stay holes), and COMMIT gives it its size and times and the identity
 * of the file it replaces (owner, mode, extended attributes) and renames
 * it over the target, so readers see the old file or the new one, never
 * half (DESIGN.md decision 2). A file with other hard links is the one
 * exception: the new content is copied into it, keeping its inode. Also
 * the session's table of uploads; each is recorded by uprec.c, so that a
 * killed agentd's temp files go when it starts again. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"
#include "io.h"
#include "log.h"
#include "op.h"
#include "scope.h"
#include "session.h"
#include "uprec.h"

#define PUT_MAX_UPLOADS	64	/* unfinished uploads per session */
#define PUT_TRIES	16
#define PUT_GRACE	10	/* s an upload outlives its connection */

struct zmx_upload {
	char			*key;		/* upload_key(): client, path */
	unsigned char		 owner[ZMX_IDENT_MAX];	/* last connection */
	size_t			 ownerlen;
	time_t			 gone;		/* owner gone since; 0: alive */
	char			 rec[ZMX_UPREC_NAME];	/* its record; "": none */
	int			 dirfd;		/* O_PATH: the target's dir */
	char			 name[NAME_MAX + 1];	/* the target */
	char			 tmp[NAME_MAX + 1];	/* the temp file */
	int			 fd;		/* the temp file, O_RDWR */
	int			 existed;	/* the target, at BEGIN */
	struct zmx_upload	*next;
};

/* Records u's temp file in the state directory, as agentd itself. A
 * failure only costs the clean-up after a kill: logged, not returned. */
static void
record_add(struct zmx_session *s, struct zmx_upload *u)
{
	int paused, r;

	paused = zmx_creds_pause();
	if ((r = zmx_uprec_add(u->dirfd, u->tmp, u->rec, sizeof(u->rec))) < 0)
		zmx_warn("session %s: state record of %s: %s", s->tag,
		    u->tmp, strerror(-r));
	zmx_creds_resume(&s->creds, paused);
}

static void
record_remove(struct zmx_session *s, struct zmx_upload *u)
{
	int paused;

	if (u->rec[0] == '\0')
		return;
	paused = zmx_creds_pause();
	zmx_uprec_remove(u->rec);
	zmx_creds_resume(&s->creds, paused);
	u->rec[0] = '\0';
}

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
	record_remove(s, u);
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

/* An upload is the client's (the nonce in the high half of its request
 * ids, zmx-protocol(7)) and the path's: two threads of one program write
 * back with their own nonces, so the same path from both is two
 * uploads, not one abandoning the other; and a client that retries on a
 * new connection keeps its nonce, and so its upload. */
static int
upload_key(uint64_t id, const char *path, char *key, size_t len)
{
	if (snprintf(key, len, "%08x:%s", (unsigned)(id >> 32), path) >=
	    (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/* ".<name>.zmx-XXXXXX", name cut so the whole fits in NAME_MAX. */
static int
temp_create(int dirfd, const char *name, char tmp[NAME_MAX + 1])
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[ZMX_TEMP_RAND];
	int keep = NAME_MAX - 1 - (int)strlen(ZMX_TEMP_SUFFIX) - ZMX_TEMP_RAND;
	int i, j, n, fd;

	for (i = 0; i < PUT_TRIES; i++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -errno;
		n = snprintf(tmp, NAME_MAX + 1, ".%.*s%s", keep, name,
		    ZMX_TEMP_SUFFIX);
		for (j = 0; j < ZMX_TEMP_RAND; j++)
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
	record_add(s, u);
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

/* Copies len bytes at off from one file to the other, at the same
 * offset: copy_file_range(2) where the kernel and file system can (a
 * reflink on some), else read and write through the data scratch.
 * 0 or -errno. */
static int
copy_range(struct zmx_op_ctx *c, int from, int to, off_t off, off_t len)
{
	loff_t in = off, out = off;
	ssize_t n;
	void *buf;
	int r;

	while (len > 0) {
		n = copy_file_range(from, &in, to, &out, (size_t)len, 0);
		if (n < 0 && (errno == EXDEV || errno == EINVAL ||
		    errno == EOPNOTSUPP || errno == ENOSYS))
			break;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;	/* from is shorter: nothing more */
		len -= n;
	}
	if (len <= 0)
		return 0;
	if ((buf = zmx_op_data(c, ZMX_CHUNK)) == NULL)
		return -ENOMEM;
	while (len > 0) {
		n = zmx_io_read_all(from, buf, len > ZMX_CHUNK ? ZMX_CHUNK :
		    (size_t)len, in);
		if (n <= 0)
			return (int)n;
		if ((r = zmx_io_write_all(to, buf, (size_t)n, in)) < 0)
			return r;
		in += n;
		len -= n;
	}
	return 0;
}

/* Makes to's content from's: truncated to nothing, given from's size,
 * then from's data extents (SEEK_DATA) copied in, so that from's holes
 * stay holes. 0 or -errno. */
static int
copy_content(struct zmx_op_ctx *c, int from, int to)
{
	struct stat st;
	off_t off = 0, data, hole;
	int r;

	if (fstat(from, &st) < 0)
		return -errno;
	if (ftruncate(to, 0) < 0 || ftruncate(to, st.st_size) < 0)
		return -errno;
	while (off < st.st_size) {
		if ((data = lseek(from, off, SEEK_DATA)) < 0) {
			if (errno == ENXIO)
				break;		/* only a hole is left */
			if (errno != EINVAL)
				return -errno;
			data = off;		/* no SEEK_DATA: all data */
			hole = st.st_size;
		} else if ((hole = lseek(from, data, SEEK_HOLE)) < 0)
			return -errno;
		if ((r = copy_range(c, from, to, data, hole - data)) < 0)
			return r;
		off = hole;
	}
	return 0;
}

/* Sets the times the PUT asks for on fd, after its content. An atime
 * left to agentd (ZMX_UTIME_OMIT) is orig's, the file being replaced,
 * as a write in place would leave it; an mtime left to agentd is the
 * last write's. */
static int
commit_times(int fd, const struct timespec want[2], const struct stat *orig)
{
	struct timespec ts[2] = { want[0], want[1] };

	if (ts[0].tv_nsec == UTIME_OMIT && orig != NULL)
		ts[0] = orig->st_atim;
	if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
		return 0;
	return futimens(fd, ts) < 0 ? -errno : 0;
}

/* COMMIT of a file with other hard links (ofd pins it): a rename would
 * give this name a new inode and leave the other names the old content,
 * so the new content is copied into the file itself, which keeps its
 * inode, owner, mode and attributes, and every name sees it. Not
 * atomic: a reader meanwhile, or a crash, sees it torn, as with a
 * program that rewrites a local file in place. */
static int
commit_in_place(struct zmx_op_ctx *c, struct zmx_upload *u, int ofd,
    const struct timespec ts[2])
{
	char p[32];
	int wfd, r;

	zmx_scope_proc_path(ofd, p);
	if ((wfd = open(p, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return -errno;
	if ((r = copy_content(c, u->fd, wfd)) == 0 &&
	    (r = commit_times(wfd, ts, NULL)) == 0)
		r = zmx_op_fstat(wfd, &c->rep.u.attr.st);
	close(wfd);
	return r;
}

/* The temp file becomes what the file it replaces (ofd, *st) was, but
 * for its content. The order matters: extended attributes while the
 * temp file is still the session user's own (setting user.* needs write
 * access, an ACL ownership); then the owner, which clears set-id bits
 * and security.capability (someone who may write the file but not give
 * it away becomes its owner, keeping the group if a member of it, as
 * with any editor that saves by rename); then the mode; then the
 * security.* attributes. */
static int
take_identity(struct zmx_op_ctx *c, struct zmx_upload *u, int ofd,
    const struct stat *st)
{
	int r;

	if ((r = zmx_op_xattr_copy(c, ofd, u->fd, 0)) < 0)
		return r;
	if (fchown(u->fd, st->st_uid, st->st_gid) < 0) {
		if (errno != EPERM)
			return -errno;
		if (fchown(u->fd, (uid_t)-1, st->st_gid) < 0 &&
		    errno != EPERM)
			return -errno;
	}
	if (fchmod(u->fd, st->st_mode & 07777) < 0)
		return -errno;
	return zmx_op_xattr_copy(c, ofd, u->fd, 1);
}

/* COMMIT: the temp file takes its final size and the times asked for
 * (while it is still the session user's own, who may set any). A
 * regular file at the target with other hard links gets the content in
 * place; otherwise the temp file takes the identity of the file there
 * (or PUT's mode, for a new file) and replaces it in one rename. *done
 * is set when the temp file is gone (renamed). */
static int
upload_commit(struct zmx_op_ctx *c, struct zmx_upload *u,
    const struct zmx_msg_put *q, const struct timespec ts[2], int *done)
{
	struct stat st;
	int ofd, r;

	*done = 0;
	/* chunks skip holes; the size makes a trailing one */
	if (ftruncate(u->fd, (off_t)q->size) < 0)
		return -errno;
	/* the file now at the target, pinned: what is read from it is
	 * what is kept, and what in-place writes into */
	ofd = openat(u->dirfd, u->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (ofd < 0 && errno != ENOENT)
		return -errno;
	if (ofd < 0 && u->existed)
		return zmx_op_fail(c, -ENOENT, "%s: removed during the "
		    "upload", c->path);
	if (ofd >= 0 && fstat(ofd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (ofd >= 0 && !S_ISREG(st.st_mode)) {
		/* a symlink or fifo put there meanwhile has no identity
		 * to keep: it is replaced like a missing file */
		close(ofd);
		ofd = -1;
	}
	if (ofd >= 0 && st.st_nlink > 1) {
		r = commit_in_place(c, u, ofd, ts);
		goto out;
	}
	if ((r = commit_times(u->fd, ts, ofd >= 0 ? &st : NULL)) < 0)
		goto out;
	if (ofd >= 0)
		r = take_identity(c, u, ofd, &st);
	else if (fchmod(u->fd, q->mode & 07777) < 0)
		r = -errno;
	if (r < 0)
		goto out;
	if (renameat(u->dirfd, u->tmp, u->dirfd, u->name) < 0) {
		r = -errno;
		goto out;
	}
	*done = 1;
	r = zmx_op_fstat(u->fd, &c->rep.u.attr.st);
out:
	if (ofd >= 0)
		close(ofd);
	return r;
}

int
op_put(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_put *q = &m->u.put;
	struct zmx_upload *u;
	struct timespec ts[2];
	char key[PATH_MAX + 16];
	int done, r;

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
	if (q->size > INT64_MAX)
		return zmx_op_fail(c, -EFBIG, "%s: size %llu", q->path,
		    (unsigned long long)q->size);
	if (zmx_op_times(q->atime_sec, q->atime_nsec, q->mtime_sec,
	    q->mtime_nsec, ts) < 0)
		return zmx_op_fail(c, -EINVAL, "%s: nanoseconds out of range",
		    q->path);
	if ((r = upload_key(m->id, q->path, key, sizeof(key))) < 0)
		return r;
	if (q->flags & ZMX_PUT_BEGIN) {
		if ((r = upload_begin(c, q->path, key, &u)) < 0)
			return r;
	} else if ((u = upload_find(c->s, key, NULL)) == NULL)
		return zmx_op_fail(c, -EBADF, "%s: no upload in progress",
		    q->path);
	memcpy(u->owner, c->ident, c->identlen);
	u->ownerlen = c->identlen;
	u->gone = 0;
	if (q->data_len > 0 && (r = zmx_io_write_all(u->fd, q->data,
	    q->data_len, (off_t)q->off)) < 0)
		goto fail;
	if (!(q->flags & ZMX_PUT_COMMIT)) {
		c->rep.type = ZMX_MSG_OK;
		return 0;
	}
	if ((r = upload_commit(c, u, q, ts, &done)) < 0)
		goto fail;
	upload_drop(c->s, u, done);	/* in place: the temp file goes */
	c->rep.type = ZMX_MSG_ATTR;
	return 0;
fail:
	/* an upload that failed once cannot be trusted to be whole */
	upload_drop(c->s, u, 0);
	return r;
}

void
zmx_op_put_conn_gone(struct zmx_session *s, const void *ident, size_t len,
    time_t now)
{
	struct zmx_upload *u;

	for (u = s->uploads; u != NULL; u = u->next)
		if (u->gone == 0 && u->ownerlen == len &&
		    memcmp(u->owner, ident, len) == 0)
			u->gone = now;
}

void
zmx_op_put_sweep(struct zmx_session *s, time_t now)
{
	struct zmx_upload *u, *next;

	for (u = s->uploads; u != NULL; u = next) {
		next = u->next;
		if (u->gone != 0 && u->gone + PUT_GRACE <= now) {
			zmx_info("session %s: upload %s of a client that is "
			    "gone removed", s->tag, u->key);
			upload_drop(s, u, 0);
		}
	}
}

