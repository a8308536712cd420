/* session_files.c - the session's file cache (DESIGN.md decision 2): one
 * memfd per remote file for the whole session. Every local process that
 * opens the file gets its own open file description of that memfd, so
 * offsets are private and content, O_APPEND, mmap and locks are shared as
 * on a local disk. The session writes a changed file back when a writer's
 * description closes (close, exit, _exit, a signal, SIGKILL: the kernel
 * tells the session through inotify, the process need not cooperate),
 * after a short quiet time so that a burst of appends costs one upload;
 * at once on fsync, before any request that names the file's path (so
 * every process sees it there), and at the session's end. What cannot be
 * written back is kept in a recovery file named on stderr (session.h).
 * A clean copy that no INVAL has touched since agentd sent it is opened
 * again with no round trip; one touched is asked for again (OPEN with
 * max 0: the same version, or the new content in place). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "clock.h"
#include "local.h"
#include "log.h"
#include "session.h"

#define FILES_BUCKETS	4096
#define FILES_QUIET_MS	50	/* write-behind: no close for this long */
#define FILES_MAX_MS	1000	/* ... or this long since the first */
#define FILES_WINDOW	8	/* chunks in flight per transfer */
#define FILES_TRIES	3	/* refetches of a file that keeps moving */

struct waiter {
	struct waiter	*next;
	void		(*fn)(void *arg, int err);
	void		*arg;
};

struct sfile {
	char		*rpath, *lpath;
	int		 memfd;
	int		 wd;		/* inotify watch, -1: none */
	struct zmx_attr	 st;		/* remote, as of the last fetch or
					 * write-back */
	int		 lazy;		/* not on agentd yet (ZMX_O_LAZY) */
	int		 may_write;	/* agentd let a writer open it */
	uint64_t	 ino0, dev0;	/* its identity for the session's
					 * programs, from its first version */
	int		 last_try;	/* written back at the session's end */
	int		 trusted;	/* agentd's content, and no INVAL
					 * since: opens need not ask */
	int		 doomed;	/* an UNLINK or RENAME of its name is
					 * out: no write-back may follow it */
	unsigned char	 hash[crypto_generichash_BYTES];
	int64_t		 due;		/* a write-back is due then; 0 none */
	int64_t		 dirty_since;
	int		 closed;	/* a writer closed since the last look */
	int		 inflight;	/* chunks of a write-back out */
	int		 wb_err;	/* the last write-back's, 0 if it went */
	int		 wb_fail;	/* this write-back's first error */
	off_t		 wb_size;
	off_t		 wb_off;	/* the next PUT's piece, len 0: none */
	size_t		 wb_len;
	int		 wb_first, wb_last;	/* BEGIN to send, COMMIT sent */
	int		 wb_on;		/* a write-back is under way */
	struct waiter	*waiters;	/* for the write-back under way */
	struct waiter	*after;		/* for the one after it */
	struct sfile	*hnext;
	struct sfile	*prev, *next;
};

static struct {
	struct sfile	*bucket[FILES_BUCKETS];
	struct sfile	*all;
	int		 ifd;
	int		 busy;		/* write-backs under way */
	unsigned long	 igen;		/* INVALs so far: a fetch that saw
					 * one does not trust what it got */
	unsigned long	 hits, misses, writebacks;
} F = { .ifd = -1 };

static unsigned
hash_path(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % FILES_BUCKETS;
}

static struct sfile *
find(const char *rpath)
{
	struct sfile *e;

	for (e = F.bucket[hash_path(rpath)]; e != NULL; e = e->hnext)
		if (strcmp(e->rpath, rpath) == 0)
			return e;
	return NULL;
}

static struct sfile *
find_wd(int wd)
{
	struct sfile *e;

	for (e = F.all; e != NULL; e = e->next)
		if (e->wd == wd)
			return e;
	return NULL;
}

static void
hash_in(struct sfile *e)
{
	unsigned b = hash_path(e->rpath);

	e->hnext = F.bucket[b];
	F.bucket[b] = e;
}

static void
hash_out(struct sfile *e)
{
	struct sfile **pp = &F.bucket[hash_path(e->rpath)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	e->hnext = NULL;
}

static int
set_clean(int fd)
{
	struct timespec ts[2] = {
		{ 0, UTIME_OMIT },
		{ ZMX_MEMFD_CLEAN_SEC, ZMX_MEMFD_CLEAN_NSEC },
	};

	return futimens(fd, ts) < 0 ? -errno : 0;
}

static int
stamp_moved(const struct sfile *e)
{
	struct stat ms;

	return fstat(e->memfd, &ms) < 0 ||
	    ms.st_mtim.tv_sec != ZMX_MEMFD_CLEAN_SEC ||
	    ms.st_mtim.tv_nsec != ZMX_MEMFD_CLEAN_NSEC;
}

/* One buffer for reading memfds: pread, not a mapping, since a read
 * fault on a hole of a memfd gives it a page, and a sparse file would
 * fill up. */
static unsigned char files_buf[ZMX_CHUNK];

/* The content's digest (what a mapping wrote does not always move the
 * stamp). 0 or -errno. */
static int
digest(int fd, unsigned char *out)
{
	crypto_generichash_state s;
	off_t off = 0;
	ssize_t n;

	crypto_generichash_init(&s, NULL, 0, crypto_generichash_BYTES);
	while ((n = pread(fd, files_buf, sizeof(files_buf), off)) > 0) {
		crypto_generichash_update(&s, files_buf, (size_t)n);
		off += n;
	}
	if (n < 0)
		return -errno;
	crypto_generichash_final(&s, out, crypto_generichash_BYTES);
	return 0;
}

/* Whether e holds what agentd does not have yet. */
static int
is_dirty(struct sfile *e)
{
	unsigned char h[crypto_generichash_BYTES];

	if (e->lazy || e->wb_err || stamp_moved(e))
		return 1;
	if (!e->closed)
		return 0;
	e->closed = 0;
	return digest(e->memfd, h) < 0 || memcmp(h, e->hash, sizeof(h)) != 0;
}

static void
watch(struct sfile *e)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/self/fd/%d", e->memfd);
	e->wd = inotify_add_watch(F.ifd, p, IN_CLOSE_WRITE);
	if (e->wd < 0)
		zmx_warn("session: inotify on %s: %s: its write-back waits "
		    "for fsync or the session's end", e->lpath,
		    strerror(errno));
}

static struct sfile *
entry_new(const char *rpath, const char *lpath, int memfd,
    const struct zmx_attr *st)
{
	struct sfile *e = calloc(1, sizeof(*e));

	if (e == NULL || (e->rpath = strdup(rpath)) == NULL ||
	    (e->lpath = strdup(lpath)) == NULL) {
		if (e)
			free(e->rpath);
		free(e);
		return NULL;
	}
	e->memfd = memfd;
	e->st = *st;
	e->ino0 = st->ino;
	e->dev0 = st->dev;
	e->wd = -1;
	(void)digest(memfd, e->hash);
	watch(e);
	hash_in(e);
	e->next = F.all;
	if (F.all)
		F.all->prev = e;
	F.all = e;
	return e;
}

static void
run_waiters(struct waiter *w, int err)
{
	struct waiter *n;

	for (; w != NULL; w = n) {
		n = w->next;
		w->fn(w->arg, err);
		free(w);
	}
}

/* Drops e from the cache: its holders keep their fds, nothing of theirs
 * is written back (the file was removed or replaced). */
static void
entry_forget(struct sfile *e)
{
	if (e->wb_on) {
		/* chunks still out refer to it: it goes when they are in */
		hash_out(e);
		e->lazy = 0;
		e->wb_err = 0;
		e->due = 0;
		free(e->rpath);
		e->rpath = strdup("");
		return;
	}
	hash_out(e);
	if (e->prev)
		e->prev->next = e->next;
	else
		F.all = e->next;
	if (e->next)
		e->next->prev = e->prev;
	if (e->wd >= 0)
		inotify_rm_watch(F.ifd, e->wd);
	close(e->memfd);
	run_waiters(e->waiters, 0);
	run_waiters(e->after, 0);
	free(e->rpath);
	free(e->lpath);
	free(e);
}

/* ---- write-back ---------------------------------------------------------- */

static void	wb_send(struct sfile *e);
static void	wb_start(struct sfile *e, struct waiter *w);

static void
wb_done(struct sfile *e)
{
	struct waiter *w = e->waiters;
	int err = e->wb_fail;

	e->waiters = NULL;
	e->wb_on = 0;
	F.busy--;
	if (e->rpath[0] == '\0') {	/* forgotten meanwhile */
		run_waiters(w, 0);
		entry_forget(e);
		return;
	}
	if (err == 0) {
		e->lazy = 0;
		e->wb_err = 0;
	} else {
		if (err != e->wb_err)
			zmx_err("write-back of %s: %s (kept in the session; "
			    "fsync reports it)", e->lpath, strerror(-err));
		e->wb_err = err;
	}
	run_waiters(w, err);
	/* someone waits for the next one: it goes now if there is
	 * anything to send, else they have what they wait for */
	if (e->after != NULL) {
		w = e->after;
		e->after = NULL;
		if (is_dirty(e))
			wb_start(e, w);
		else
			run_waiters(w, 0);
	} else if (err == 0 && stamp_moved(e) && e->due == 0)
		e->due = zmx_now_ms() + FILES_QUIET_MS;	/* written meanwhile */
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

static void
wb_reply(void *arg, struct zmx_frame *rep, int err)
{
	struct sfile *e = arg;
	/* agentd answers one connection's requests in order */
	int commit = e->inflight == 1 && e->wb_last;

	e->inflight--;
	if (commit && e->rpath[0] != '\0')
		zmx_attr_inval(e->rpath, ZMX_INVAL_NAMES);	/* renamed in */
	if (err == 0)
		err = zmx_msg_result(&rep->msg, commit ? ZMX_MSG_ATTR :
		    ZMX_MSG_OK);
	if (err == 0 && commit && e->rpath[0] != '\0') {
		e->st = rep->msg.u.attr.st;
		if (e->ino0 == 0) {	/* made by this write-back */
			e->ino0 = e->st.ino;
			e->dev0 = e->st.dev;
		}
	}
	if (err < 0 && e->wb_fail == 0)
		e->wb_fail = err;
	wb_send(e);
	if (e->inflight == 0 && (e->wb_fail != 0 || e->wb_last))
		wb_done(e);
}

/* Sends chunks of the write-back under way, up to the window. Replies
 * never come back inside zmx_link_call(). */
static void
wb_send(struct sfile *e)
{
	struct zmx_msg m;
	off_t off;
	size_t len;
	int r;

	while (e->inflight < FILES_WINDOW && !e->wb_last &&
	    e->wb_fail == 0) {
		off = e->wb_off;
		len = e->wb_len;
		/* the piece after it decides whether this one commits */
		e->wb_off = off + (off_t)len;
		if ((r = next_data(e->memfd, e->wb_size, &e->wb_off,
		    &e->wb_len)) < 0) {
			e->wb_fail = r;
			break;
		}
		/* read now: a write meanwhile moved the stamp, and the
		 * next write-back carries it */
		if (len > 0 && pread(e->memfd, files_buf, len, off) !=
		    (ssize_t)len) {
			e->wb_fail = -EIO;
			break;
		}
		memset(&m, 0, sizeof(m));
		m.type = ZMX_MSG_PUT;
		m.u.put.path = e->rpath;
		m.u.put.off = (uint64_t)off;
		m.u.put.data = files_buf;
		m.u.put.data_len = len;
		m.u.put.mode = e->st.mode & 07777;
		m.u.put.size = (uint64_t)e->wb_size;
		/* times as the writes made them; agentd keeps the replaced
		 * file's atime */
		m.u.put.atime_nsec = ZMX_UTIME_OMIT;
		m.u.put.mtime_nsec = ZMX_UTIME_OMIT;
		m.u.put.flags = (e->wb_first ? ZMX_PUT_BEGIN : 0) |
		    (e->wb_len == 0 ? ZMX_PUT_COMMIT : 0);
		e->wb_first = 0;
		e->wb_last = e->wb_len == 0;
		e->inflight++;
		zmx_link_call(&m, wb_reply, e);
	}
}

/* Starts writing e back now (or after the one under way). waiter, if
 * given, runs when that write-back has ended, with its result. */
static void
wb_start(struct sfile *e, struct waiter *w)
{
	struct stat ms;
	int r;

	if (e->doomed) {
		run_waiters(w, 0);
		return;
	}
	if (e->wb_on) {
		if (w != NULL) {
			w->next = e->after;
			e->after = w;
		}
		return;
	}
	if (w != NULL) {
		w->next = e->waiters;
		e->waiters = w;
	}
	e->due = 0;
	e->closed = 0;
	e->wb_fail = 0;
	e->wb_first = 1;
	e->wb_last = 0;
	e->wb_on = 1;
	F.busy++;
	F.writebacks++;
	/* stamped before the snapshot: a write meanwhile moves it again */
	if ((r = set_clean(e->memfd)) < 0 || fstat(e->memfd, &ms) < 0) {
		e->wb_fail = r < 0 ? r : -errno;
		wb_done(e);
		return;
	}
	e->wb_size = ms.st_size;
	e->wb_off = 0;
	if ((r = next_data(e->memfd, ms.st_size, &e->wb_off,
	    &e->wb_len)) < 0) {
		e->wb_fail = r;
		wb_done(e);
		return;
	}
	(void)digest(e->memfd, e->hash);
	wb_send(e);
}

static struct waiter *
waiter_new(void (*fn)(void *, int), void *arg)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (w != NULL) {
		w->fn = fn;
		w->arg = arg;
	}
	return w;
}

/* ---- open ---------------------------------------------------------------- */

/* An FOPEN under way: the first OPEN, then chunks of content. */
struct fop {
	uint64_t	 serial, id;	/* the client's */
	char		*rpath, *lpath;
	int		 flags;
	mode_t		 mode;
	int		 tries;
	int		 revalidate;	/* an entry was there: OPEN asked no
					 * content */
	unsigned long	 igen;		/* F.igen when OPEN was answered */
	struct zmx_attr	 st;
	int		 memfd;		/* filling; -1 */
	unsigned	 sent, chunks, inflight;
	off_t		 from;		/* what the OPEN reply held */
	int		 fail;
};

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
	 * the same atomic rename as the new content */
	if (flags & O_NOFOLLOW)
		w |= ZMX_O_NOFOLLOW;
	if (flags & O_DIRECTORY)
		w |= ZMX_O_DIRECTORY;
	if (flags & O_APPEND)
		w |= ZMX_O_APPEND;
	return w;
}

static void
fop_free(struct fop *op)
{
	if (op->memfd >= 0)
		close(op->memfd);
	free(op->rpath);
	free(op->lpath);
	free(op);
}

static void
fop_error(struct fop *op, int err, const char *detail)
{
	zmx_local_error(op->serial, op->id, -err, detail);
	fop_free(op);
}

/* Whether what e holds is newer than agentd's copy, or on its way
 * there: every local opener sees it, whatever agentd has. */
static int
held_newer(struct sfile *e)
{
	return e->lazy || e->wb_on || e->due || e->wb_err || stamp_moved(e);
}

/* Hands op's client its own open file description of e's memfd. */
static void
attach(struct fop *op, struct sfile *e)
{
	struct zmx_msg m = { .type = ZMX_MSG_FILE, .id = op->id };
	int acc = op->flags & O_ACCMODE, fd;
	struct stat ms;
	char p[64];

	if ((op->flags & O_TRUNC) && acc != O_RDONLY &&
	    ftruncate(e->memfd, 0) < 0) {
		fop_error(op, -errno, "truncate");
		return;
	}
	snprintf(p, sizeof(p), "/proc/self/fd/%d", e->memfd);
	if ((fd = open(p, acc | (op->flags & O_APPEND) | O_CLOEXEC)) < 0) {
		fop_error(op, -errno, "reopen");
		return;
	}
	if (acc != O_RDONLY)
		e->may_write = 1;
	m.u.file.st = e->st;
	if (e->ino0 != 0) {
		m.u.file.st.ino = e->ino0;
		m.u.file.st.dev = e->dev0;
	}
	if (fstat(e->memfd, &ms) == 0) {
		m.u.file.st.size = ms.st_size;
		m.u.file.st.blocks = ms.st_blocks;
	}
	if (e->lazy)
		m.u.file.st.nlink = 1;	/* for fstat: it is there */
	zmx_local_reply(op->serial, &m, fd);
	fop_free(op);
}

/* The same content: ctime moves with a chown or chmod too (sqlite
 * fchowns its journals), which a copy need not be fetched again for. */
static int
same_version(const struct zmx_attr *a, const struct zmx_attr *b)
{
	return a->ino == b->ino && a->dev == b->dev && a->size == b->size &&
	    a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec;
}

static void	fop_fetch(struct fop *op);

/* Whether what op fetched is agentd's file as it is: no INVAL came
 * since the OPEN's answer, and agentd watches it. */
static int
trustable(const struct fop *op)
{
	return op->st.ino != 0 && !(op->flags & O_TRUNC) &&
	    op->igen == F.igen && zmx_attr_cacheable(op->rpath);
}

/* op->memfd holds the whole file: it becomes the cache's, or the
 * content of the entry already there. */
static void
fop_filled(struct fop *op)
{
	struct sfile *e = find(op->rpath);
	int r, lazy = op->st.ino == 0, trunc = (op->flags & O_TRUNC) != 0;

	if (!lazy && !trunc && (r = set_clean(op->memfd)) < 0) {
		fop_error(op, r, "stamp");
		return;
	}
	if (e != NULL && held_newer(e)) {
		attach(op, e);		/* a local writer got there first */
		return;
	}
	if (e != NULL && !trunc && same_version(&e->st, &op->st)) {
		/* another opener fetched this version meanwhile: refreshing
		 * in place would truncate it under that opener's reads */
		attach(op, e);
		return;
	}
	if (e != NULL) {
		/* agentd's content changed: the cached copy takes it in
		 * place, so every holder sees it, as on a local disk */
		off_t size = lseek(op->memfd, 0, SEEK_END);
		loff_t in = 0, out = 0;
		ssize_t n = 0;

		/* over the old bytes, then the new size: a mapping of
		 * what stays never faults */
		while (in < size && (n = copy_file_range(op->memfd, &in,
		    e->memfd, &out, size - in, 0)) > 0)
			;
		if (n >= 0 && ftruncate(e->memfd, size) < 0)
			n = -1;
		if (n < 0 || set_clean(e->memfd) < 0) {
			fop_error(op, -errno, "refresh");
			return;
		}
		e->st = op->st;
		e->lazy = lazy;
		e->trusted = trustable(op);
		(void)digest(e->memfd, e->hash);
		attach(op, e);
		return;
	}
	if ((e = entry_new(op->rpath, op->lpath, op->memfd, &op->st)) ==
	    NULL) {
		fop_error(op, -ENOMEM, "session out of memory");
		return;
	}
	op->memfd = -1;		/* the entry's now */
	e->lazy = lazy;
	e->trusted = trustable(op);
	if (lazy || trunc)
		e->dirty_since = zmx_now_ms();
	attach(op, e);
}

/* The OPEN's answer: op->st and the first bytes. */
static void
fop_opened(void *arg, struct zmx_frame *rep, int err)
{
	struct fop *op = arg;
	const struct zmx_msg_opened *o;
	char name[250];

	if (err == 0)
		err = zmx_msg_result(&rep->msg, ZMX_MSG_OPENED);
	/* a file made (O_EXCL) changed its directory */
	if (op->flags & O_CREAT)
		zmx_attr_inval(op->rpath, ZMX_INVAL_NAMES);
	if (err < 0) {
		struct sfile *e = find(op->rpath);

		/* gone from agentd: a clean copy goes too */
		if (err == -ENOENT && e != NULL && !held_newer(e))
			entry_forget(e);
		fop_error(op, err, "open");
		return;
	}
	o = &rep->msg.u.opened;
	op->st = o->st;
	op->igen = F.igen;
	if (!S_ISREG(o->st.mode)) {
		struct zmx_msg m = { .type = ZMX_MSG_FILE, .id = op->id };

		if (S_ISDIR(o->st.mode) && (op->flags & O_ACCMODE) !=
		    O_RDONLY) {
			fop_error(op, -EISDIR, "directory");
			return;
		}
		/* a directory or a special file: no content; the shim
		 * says what it is */
		m.u.file.st = o->st;
		zmx_local_reply(op->serial, &m, -1);
		fop_free(op);
		return;
	}
	if (op->revalidate) {
		struct sfile *e = find(op->rpath);

		if (e != NULL && (held_newer(e) || same_version(&e->st,
		    &o->st))) {
			if (!held_newer(e))
				e->trusted = trustable(op);
			F.hits++;
			attach(op, e);
			return;
		}
	}
	F.misses++;
	if (op->memfd < 0) {
		if (snprintf(name, sizeof(name), "zmx:%s", op->lpath) >=
		    (int)sizeof(name))
			snprintf(name, sizeof(name), "zmx-long");
		if ((op->memfd = memfd_create(name, MFD_CLOEXEC)) < 0) {
			fop_error(op, -errno, "memfd");
			return;
		}
	}
	if (ftruncate(op->memfd, 0) < 0) {
		fop_error(op, -errno, "memfd");
		return;
	}
	if (o->st.ino == 0 || (op->flags & O_TRUNC)) {
		fop_filled(op);		/* empty, and to be written back */
		return;
	}
	if (ftruncate(op->memfd, o->st.size) < 0 || (o->data_len > 0 &&
	    pwrite(op->memfd, o->data, o->data_len, 0) < 0)) {
		fop_error(op, -errno, "memfd");
		return;
	}
	op->from = (off_t)o->data_len;
	if (op->from >= o->st.size) {
		fop_filled(op);
		return;
	}
	op->sent = 0;
	op->chunks = (unsigned)((o->st.size - op->from + ZMX_CHUNK - 1) /
	    ZMX_CHUNK);
	op->fail = 0;
	fop_fetch(op);
}

static void	fop_start(struct fop *op);

/* One PREAD of an FOPEN, with where its bytes go. */
struct fchunk {
	struct fop	*op;
	off_t		 off;
};

static void
fop_got(void *arg, struct zmx_frame *rep, int err)
{
	struct fchunk *c = arg;
	struct fop *op = c->op;
	const struct zmx_msg_data *d;

	op->inflight--;
	if (err == 0 && (err = zmx_msg_result(&rep->msg,
	    ZMX_MSG_DATA)) == 0) {
		d = &rep->msg.u.data;
		if (!same_version(&d->st, &op->st))
			err = -EAGAIN;		/* it moved meanwhile */
		else if (pwrite(op->memfd, d->data, d->data_len, c->off) < 0)
			err = -errno;
	}
	free(c);
	if (err < 0 && op->fail == 0)
		op->fail = err;
	if (op->fail == 0)
		fop_fetch(op);
	if (op->inflight > 0)
		return;
	if (op->fail == -EAGAIN && ++op->tries < FILES_TRIES) {
		fop_start(op);
		return;
	}
	if (op->fail < 0)
		fop_error(op, op->fail == -EAGAIN ? -EIO : op->fail, "fetch");
	else if (op->sent == op->chunks)
		fop_filled(op);
}

/* Asks for the next chunks past what the OPEN brought, up to the
 * window. */
static void
fop_fetch(struct fop *op)
{
	struct zmx_msg m;
	struct fchunk *c;

	while (op->inflight < FILES_WINDOW && op->sent < op->chunks) {
		if ((c = malloc(sizeof(*c))) == NULL) {
			op->fail = -ENOMEM;
			break;
		}
		c->op = op;
		c->off = op->from + (off_t)op->sent * ZMX_CHUNK;
		memset(&m, 0, sizeof(m));
		m.type = ZMX_MSG_PREAD;
		m.u.pread.path = op->rpath;
		m.u.pread.off = (uint64_t)c->off;
		m.u.pread.len = ZMX_CHUNK;
		op->sent++;
		op->inflight++;
		zmx_link_call(&m, fop_got, c);
	}
	if (op->inflight == 0 && op->fail < 0)
		fop_error(op, op->fail, "fetch");
}

/* The OPEN: content up to a chunk, unless a cached copy may do (then
 * only the attributes, to see whether it is still agentd's version). */
static void
fop_start(struct fop *op)
{
	struct zmx_msg m = { .type = ZMX_MSG_OPEN };

	m.u.open.path = op->rpath;
	m.u.open.flags = wire_flags(op->flags);
	m.u.open.mode = op->mode & 07777;
	m.u.open.max = op->revalidate || (op->flags & O_TRUNC) ? 0 :
	    ZMX_CHUNK;
	zmx_link_call(&m, fop_opened, op);
}

void
zmx_files_fopen(uint64_t serial, const struct zmx_msg *m)
{
	const struct zmx_msg_fopen *q = &m->u.fopen;
	struct sfile *e = find(q->path);
	struct fop *op = calloc(1, sizeof(*op));
	int acc = (int)q->flags & O_ACCMODE;

	if (op == NULL || (op->rpath = strdup(q->path)) == NULL ||
	    (op->lpath = strdup(q->lpath)) == NULL) {
		if (op != NULL)
			free(op->rpath);
		free(op);
		zmx_local_error(serial, m->id, ENOMEM, "session out of memory");
		return;
	}
	op->serial = serial;
	op->id = m->id;
	op->flags = (int)q->flags;
	op->mode = q->mode;
	op->memfd = -1;
	/* a name known not to be there, a directory known whole */
	if (e == NULL && zmx_attr_fopen(serial, m)) {
		fop_free(op);
		return;
	}
	if (e != NULL) {
		if ((op->flags & O_CREAT) && (op->flags & O_EXCL)) {
			fop_error(op, -EEXIST, "exists");
			return;
		}
		if (op->flags & O_DIRECTORY) {
			fop_error(op, -ENOTDIR, "not a directory");
			return;
		}
		/* a copy newer than agentd's is the file, for every local
		 * process: no round trip (agentd was asked once whether
		 * this key may write it) */
		if (held_newer(e) && (acc == O_RDONLY || e->may_write)) {
			F.hits++;
			attach(op, e);
			return;
		}
		/* agentd's version, and no INVAL since: it still is (no
		 * round trip; DESIGN.md decision 7) */
		if (e->trusted && (acc == O_RDONLY || e->may_write) &&
		    !(op->flags & O_CREAT)) {
			F.hits++;
			attach(op, e);
			return;
		}
		op->revalidate = 1;
	}
	if (op->flags & O_CREAT)
		zmx_attr_inval(op->rpath, ZMX_INVAL_NAMES);
	fop_start(op);
}

/* ---- fsync, barriers, and what agentd's answers change ------------------- */

int
zmx_files_answer(uint64_t serial, const struct zmx_msg *m)
{
	struct zmx_msg a = { .type = ZMX_MSG_ATTR, .id = m->id };
	struct sfile *e;
	struct stat ms;

	/* a stat of a file the session holds newer than agentd's: its
	 * own answer, as a local disk gives it (an lstat only of a file
	 * made here, which cannot be a symlink) */
	if (m->type != ZMX_MSG_STAT || (e = find(m->u.stat.path)) == NULL ||
	    e->doomed || !held_newer(e) || fstat(e->memfd, &ms) < 0 ||
	    ((m->u.stat.flags & ZMX_NOFOLLOW) && !e->lazy))
		return 0;
	a.u.attr.st = e->st;
	if (e->ino0 != 0) {
		a.u.attr.st.ino = e->ino0;
		a.u.attr.st.dev = e->dev0;
	}
	a.u.attr.st.size = ms.st_size;
	a.u.attr.st.blocks = ms.st_blocks;
	if (stamp_moved(e)) {
		a.u.attr.st.mtime_sec = ms.st_mtim.tv_sec;
		a.u.attr.st.mtime_nsec = ms.st_mtim.tv_nsec;
		a.u.attr.st.ctime_sec = ms.st_ctim.tv_sec;
		a.u.attr.st.ctime_nsec = ms.st_ctim.tv_nsec;
	}
	if (e->lazy)
		a.u.attr.st.nlink = 1;
	F.hits++;
	zmx_local_reply(serial, &a, -1);
	return 1;
}

struct fsync_wait {
	uint64_t	 serial, id;
};

static void
fsync_done(void *arg, int err)
{
	struct fsync_wait *w = arg;
	struct zmx_msg m = { .type = ZMX_MSG_OK, .id = w->id };

	if (err < 0)
		zmx_local_error(w->serial, w->id, -err, "write-back");
	else
		zmx_local_reply(w->serial, &m, -1);
	free(w);
}

static struct sfile *
find_memfd(uint64_t ino)
{
	struct sfile *e;
	struct stat ms;

	for (e = F.all; e != NULL; e = e->next)
		if (e->rpath[0] != '\0' && fstat(e->memfd, &ms) == 0 &&
		    (uint64_t)ms.st_ino == ino)
			return e;
	return NULL;
}

void
zmx_files_fsync(uint64_t serial, const struct zmx_msg *m)
{
	struct sfile *e = find_memfd(m->u.fsync.ino);
	struct fsync_wait *fw = malloc(sizeof(*fw));
	struct waiter *w;

	if (fw == NULL) {
		zmx_local_error(serial, m->id, ENOMEM, "session out of memory");
		return;
	}
	fw->serial = serial;
	fw->id = m->id;
	if (e == NULL || (!e->wb_on && !is_dirty(e))) {
		fsync_done(fw, 0);
		return;
	}
	if ((w = waiter_new(fsync_done, fw)) == NULL) {
		fsync_done(fw, -ENOMEM);
		return;
	}
	wb_start(e, w);
}

struct barrier {
	int		 left;
	void		(*go)(void *arg);
	void		*arg;
};

static void
barrier_one(void *arg, int err)
{
	struct barrier *b = arg;

	(void)err;	/* the request goes anyway; fsync and the session's
			 * end report the write-back's failure */
	if (--b->left == 0) {
		b->go(b->arg);
		free(b);
	}
}

/* Whether e is at path, or under it when tree. */
static int
is_at(const struct sfile *e, const char *path, int tree)
{
	size_t n = strlen(path);

	if (strcmp(e->rpath, path) == 0)
		return 1;
	return tree && strncmp(e->rpath, path, n) == 0 &&
	    (e->rpath[n] == '/' || (n > 0 && path[n - 1] == '/'));
}

/* tree: the files under path too; 2: only a file not made yet (before
 * an UNLINK, which must find it). */
static void
barrier_add(struct barrier *b, const char *path, int tree)
{
	struct sfile *e;
	struct waiter *w;

	for (e = F.all; e != NULL; e = e->next) {
		if (e->rpath[0] == '\0' || !is_at(e, path, tree == 1) ||
		    (tree == 2 && !e->lazy) ||
		    (!e->wb_on && !is_dirty(e)))
			continue;
		if ((w = waiter_new(barrier_one, b)) == NULL)
			continue;
		b->left++;
		wb_start(e, w);
	}
}

int
zmx_files_barrier(const struct zmx_msg *m, void (*go)(void *), void *arg)
{
	struct barrier *b;

	if (F.all == NULL || (b = calloc(1, sizeof(*b))) == NULL)
		return 0;
	b->go = go;
	b->arg = arg;
	b->left = 1;		/* ours, until every one is counted */
	switch (m->type) {
	case ZMX_MSG_STAT:
		barrier_add(b, m->u.stat.path, 0);
		break;
	case ZMX_MSG_ACCESS:
		barrier_add(b, m->u.access.path, 0);
		break;
	case ZMX_MSG_READDIR:
		barrier_add(b, m->u.readdir.path, 1);
		break;
	case ZMX_MSG_RMDIR:
		barrier_add(b, m->u.rmdir.path, 1);
		break;
	case ZMX_MSG_UNLINK:
		barrier_add(b, m->u.unlink.path, 2);
		break;
	case ZMX_MSG_LOCK:
		barrier_add(b, m->u.lock.path, 2);
		break;
	case ZMX_MSG_MKDIR:
		barrier_add(b, m->u.mkdir.path, 0);
		break;
	case ZMX_MSG_RENAME:
		barrier_add(b, m->u.rename.from, 1);
		break;
	case ZMX_MSG_LINK:
		barrier_add(b, m->u.link.from, 0);
		break;
	case ZMX_MSG_SYMLINK:
		barrier_add(b, m->u.symlink.path, 0);
		break;
	case ZMX_MSG_READLINK:
		barrier_add(b, m->u.readlink.path, 0);
		break;
	case ZMX_MSG_CHMOD:
		barrier_add(b, m->u.chmod.path, 0);
		break;
	case ZMX_MSG_CHOWN:
		barrier_add(b, m->u.chown.path, 0);
		break;
	case ZMX_MSG_UTIMENS:
		barrier_add(b, m->u.utimens.path, 0);
		break;
	case ZMX_MSG_TRUNCATE:
		barrier_add(b, m->u.truncate.path, 0);
		break;
	case ZMX_MSG_REALPATH:
		barrier_add(b, m->u.realpath.path, 0);
		break;
	case ZMX_MSG_SPAWN:
		/* a command may read any file: every change goes first */
		barrier_add(b, "/", 1);
		break;
	default:
		break;
	}
	if (--b->left == 0) {
		free(b);
		return 0;
	}
	return 1;
}

struct zmx_files_note {
	uint32_t	 type;
	char		*a, *b;
	uint32_t	 mode;
	uint64_t	 len;
};

/* While an UNLINK or RENAME is out, the files it removes or moves get no
 * write-back: one sent after it would bring the old name back. */
static void
doom(struct zmx_files_note *n, int on)
{
	struct sfile *e;

	if (n->type != ZMX_MSG_UNLINK && n->type != ZMX_MSG_RENAME)
		return;
	for (e = F.all; e != NULL; e = e->next) {
		if (e->rpath[0] == '\0')
			continue;
		if (is_at(e, n->a, n->type == ZMX_MSG_RENAME) ||
		    (n->b != NULL && is_at(e, n->b, 0)))
			e->doomed = on;
	}
}

struct zmx_files_note *
zmx_files_note(const struct zmx_msg *m)
{
	struct zmx_files_note *n;
	const char *a = NULL, *b = NULL;

	switch (m->type) {
	case ZMX_MSG_UNLINK:
		a = m->u.unlink.path;
		break;
	case ZMX_MSG_RENAME:
		a = m->u.rename.from;
		b = m->u.rename.to;
		break;
	case ZMX_MSG_CHMOD:
		a = m->u.chmod.path;
		break;
	case ZMX_MSG_TRUNCATE:
		a = m->u.truncate.path;
		break;
	case ZMX_MSG_STAT:
		if (find(m->u.stat.path) == NULL)
			return NULL;
		a = m->u.stat.path;
		break;
	default:
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->type = m->type;
	n->a = strdup(a);
	n->b = b ? strdup(b) : NULL;
	if (m->type == ZMX_MSG_CHMOD)
		n->mode = m->u.chmod.mode;
	if (m->type == ZMX_MSG_TRUNCATE)
		n->len = m->u.truncate.len;
	if (n->a == NULL || (b != NULL && n->b == NULL)) {
		zmx_files_apply(n, NULL);
		return NULL;
	}
	doom(n, 1);
	return n;
}

/* The entries at from (and under it) now live at to. */
static void
rename_entries(const char *from, const char *to)
{
	struct sfile *e, *old = find(to);
	size_t n = strlen(from);
	char *p;

	if (old != NULL)
		entry_forget(old);	/* replaced: its holders keep it */
	for (e = F.all; e != NULL; e = e->next) {
		if (e->rpath[0] == '\0' || !is_at(e, from, 1))
			continue;
		if (asprintf(&p, "%s%s", to, e->rpath + n) < 0)
			continue;
		hash_out(e);
		free(e->rpath);
		e->rpath = p;
		hash_in(e);
	}
}

void
zmx_files_apply(struct zmx_files_note *n, struct zmx_msg *rep)
{
	struct sfile *e;
	int ok = rep != NULL;

	if (n == NULL)
		return;
	doom(n, 0);
	if (ok && n->a != NULL) {
		e = find(n->a);
		switch (n->type) {
		case ZMX_MSG_UNLINK:
			if (e != NULL)
				entry_forget(e);
			break;
		case ZMX_MSG_RENAME:
			if (n->b != NULL)
				rename_entries(n->a, n->b);
			break;
		case ZMX_MSG_CHMOD:
			if (e != NULL)
				e->st.mode = (e->st.mode & S_IFMT) |
				    (n->mode & 07777);
			break;
		case ZMX_MSG_STAT:
			if (rep->type == ZMX_MSG_ATTR)
				zmx_files_identity(n->a, &rep->u.attr.st);
			break;
		case ZMX_MSG_TRUNCATE:
			/* written back before (the barrier): the copy takes
			 * agentd's new size as its own */
			if (e != NULL && !held_newer(e) &&
			    ftruncate(e->memfd, (off_t)n->len) == 0 &&
			    set_clean(e->memfd) == 0) {
				e->st.size = (int64_t)n->len;
				(void)digest(e->memfd, e->hash);
			}
			break;
		}
	}
	free(n->a);
	free(n->b);
	free(n);
}

int
zmx_files_pending(const char *path, int dir)
{
	struct sfile *e;
	const char *slash;
	size_t n = strlen(path), len;

	if (!dir)
		return (e = find(path)) != NULL && (held_newer(e) || e->closed);
	for (e = F.all; e != NULL; e = e->next) {
		if (e->rpath[0] == '\0' || strncmp(e->rpath, path, n) != 0 ||
		    (slash = strrchr(e->rpath, '/')) == NULL)
			continue;
		len = slash == e->rpath ? 1 : (size_t)(slash - e->rpath);
		if (len == n && (held_newer(e) || e->closed))
			return 1;
	}
	return 0;
}

void
zmx_files_inval(const char *path, uint32_t flags)
{
	struct sfile *e;
	int all = strcmp(path, "/") == 0;

	(void)flags;
	F.igen++;
	for (e = F.all; e != NULL; e = e->next)
		if (e->rpath[0] != '\0' && (all || is_at(e, path, 1)))
			e->trusted = 0;
}

/* ---- the kernel's word on closes, timers, the end ------------------------- */

int
zmx_files_init(int epfd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	if (sodium_init() < 0)
		return -EIO;
	if ((F.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, F.ifd, &ev) < 0) {
		zmx_err("session: inotify: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void
schedule(struct sfile *e)
{
	int64_t now = zmx_now_ms(), due;

	if (e->dirty_since == 0)
		e->dirty_since = now;
	due = now + FILES_QUIET_MS;
	if (due > e->dirty_since + FILES_MAX_MS)
		due = e->dirty_since + FILES_MAX_MS;
	e->due = due;
}

void
zmx_files_event(void)
{
	char buf[4096] __attribute__((aligned(8)));
	const struct inotify_event *ev;
	struct sfile *e;
	ssize_t n, off;

	while ((n = read(F.ifd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n; off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			if (ev->mask & IN_Q_OVERFLOW) {
				/* some closes went unseen: look at all */
				for (e = F.all; e != NULL; e = e->next) {
					e->closed = 1;
					schedule(e);
				}
				continue;
			}
			if ((e = find_wd(ev->wd)) == NULL ||
			    !(ev->mask & IN_CLOSE_WRITE))
				continue;
			e->closed = 1;
			schedule(e);
		}
	}
}

int
zmx_files_tick(void)
{
	int64_t now = zmx_now_ms(), next = -1;
	struct waiter *w;
	struct sfile *e;

	for (e = F.all; e != NULL; e = e->next) {
		if (e->due == 0 || e->wb_on)
			continue;
		if (e->due <= now) {
			e->due = 0;
			e->dirty_since = 0;
			if (is_dirty(e))
				wb_start(e, NULL);
			else if ((w = e->waiters) != NULL) {
				/* they waited for the write-back after the one
				 * under way, and nothing changed since: it was
				 * theirs (else a barrier or fsync waits for
				 * ever) */
				e->waiters = NULL;
				run_waiters(w, e->wb_err);
			}
			continue;
		}
		if (next < 0 || e->due - now < next)
			next = e->due - now;
	}
	return (int)next;
}

void
zmx_files_flush_all(void)
{
	struct sfile *e;

	/* one try each: what fails now goes to a recovery file, not
	 * round again while agentd is gone (the session would never end);
	 * a file only closed since it was fetched is not written back */
	for (e = F.all; e != NULL; e = e->next) {
		if (e->rpath[0] == '\0' || e->wb_on || e->last_try)
			continue;
		e->due = 0;
		if (is_dirty(e)) {
			e->last_try = 1;
			wb_start(e, NULL);
		}
	}
}

void
zmx_files_identity(const char *rpath, struct zmx_attr *a)
{
	struct sfile *e;

	if (S_ISREG(a->mode) && (e = find(rpath)) != NULL && e->ino0 != 0) {
		a->ino = e->ino0;
		a->dev = e->dev0;
	}
}

int
zmx_files_memfd(const char *rpath)
{
	struct sfile *e = find(rpath);

	return e != NULL ? e->memfd : -1;
}

int
zmx_files_busy(void)
{
	return F.busy;
}

/* Keeps e's content in a file named on stderr. */
static void
recover(struct sfile *e)
{
	const char *dir = getenv("ZMX_RECOVERY_DIR");
	const char *base = strrchr(e->lpath, '/');
	char path[4096];
	loff_t in = 0;
	struct stat ms;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/var/tmp/zmx-recovered";
	(void)mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/%ld-%ld-%s", dir, (long)time(NULL),
	    (long)getpid(), base ? base + 1 : e->lpath);
	if (fstat(e->memfd, &ms) < 0 || (fd = open(path, O_WRONLY | O_CREAT |
	    O_EXCL | O_CLOEXEC, 0600)) < 0) {
		zmx_err("%s was not written back (%s) and could not be kept "
		    "in %s: %s: its changes are lost", e->lpath,
		    strerror(e->wb_err ? -e->wb_err : EIO), path,
		    strerror(errno));
		return;
	}
	while (in < ms.st_size && sendfile(fd, e->memfd, &in,
	    (size_t)(ms.st_size - in)) > 0)
		;
	if (in < ms.st_size || close(fd) < 0) {
		zmx_err("%s was not written back (%s) and only %lld of its "
		    "%lld bytes could be kept in %s", e->lpath,
		    strerror(e->wb_err ? -e->wb_err : EIO), (long long)in,
		    (long long)ms.st_size, path);
		return;
	}
	zmx_err("%s was not written back (%s); its content is in %s",
	    e->lpath, strerror(e->wb_err ? -e->wb_err : EIO), path);
}

int
zmx_files_fini(void)
{
	int lost = 0;

	while (F.all != NULL) {
		struct sfile *e = F.all;

		if (e->rpath[0] != '\0' && (e->wb_on || e->wb_err ||
		    e->lazy || stamp_moved(e))) {
			recover(e);
			lost++;
		}
		e->wb_on = 0;
		entry_forget(e);
	}
	if (F.ifd >= 0)
		close(F.ifd);
	return lost;
}

void
zmx_files_stats(unsigned long *hits, unsigned long *misses,
    unsigned long *writebacks)
{
	*hits = F.hits;
	*misses = F.misses;
	*writebacks = F.writebacks;
}
