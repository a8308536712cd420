/* watch.c - invalidations (watch.h). One inotify instance for agentd;
 * per session, the tree of paths it looked at that are watched (a path's
 * parent is always there too, up to the scope root, so whatever goes,
 * goes with all beneath it), and the queue of INVAL frames not sent yet.
 * Watches are added before the request that needs them is carried out,
 * so a change after the answer was read is always seen. Sending is
 * flow.c's: INVALs go ahead of any later reply on the same connection. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "flow.h"
#include "log.h"
#include "op.h"
#include "path.h"
#include "scope.h"
#include "session.h"
#include "watch.h"

/* What changes an entry, its content or its attributes; IN_EXCL_UNLINK:
 * nothing more about a name once it is unlinked. */
#define WATCH_MASK	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
	IN_MOVED_TO | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | \
	IN_DELETE_SELF | IN_MOVE_SELF | IN_EXCL_UNLINK)
#define WATCH_NAMES	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
#define WATCH_GONE	(IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | \
	IN_UNMOUNT)
#define WATCH_BUCKETS	4096		/* the wd table */
#define WATCH_QUEUE_MAX	(64u << 10)	/* bytes of INVALs queued a session;
					 * past that, "/" */
#define WATCH_NOWATCH_MAX 64		/* NOWATCH entries a READDIR tells;
					 * then the directory's own */

struct wdir;

/* One path of a session, watched; w NULL never (what cannot be watched
 * is told as NOWATCH and not kept). A directory's entries' changes are
 * told as INVALs of path/name, a file's (or a directory's) own as path. */
struct wreg {
	struct zmx_session	*s;
	struct wdir		*w;
	struct wreg		*up, *kids;		/* the session's tree */
	struct wreg		*prev, *next;		/* siblings */
	struct wreg		*hnext;			/* the session's hash */
	struct wreg		*wnext;			/* the wdir's list */
	char			 path[];
};

/* One inotify watch, with every session's path for it. */
struct wdir {
	int			 wd;
	int			 gone;		/* the kernel removed it */
	struct wreg		*regs;
	struct wdir		*hnext;
};

/* An INVAL not sent yet; seq orders it against a held reply. */
struct inval {
	struct inval		*next;
	uint64_t		 seq;
	uint32_t		 flags;
	char			 path[];
};

struct zmx_watchset {
	struct zmx_session	*s;
	struct wreg		**bucket;
	size_t			 nbucket;
	size_t			 count;		/* paths held (the limits) */
	int			 ever;		/* it watched something once */
	int			 blind;		/* told NOWATCH of its root */
	struct zmx_conn		*cur;		/* where INVALs go; NULL */
	int			 lost;		/* INVALs may have been lost */
	struct inval		*head, **tail;
	size_t			 qbytes;
	uint64_t		 seq;		/* the last queued */
	struct zmx_watchset	*prev, *next;
};

/* All written by the main loop only (agentd is one thread). */
static int watch_fd = -1;
static struct wdir *watch_wds[WATCH_BUCKETS];
static struct zmx_watchset *watch_all;	/* every session's */
static struct zmx_buf watch_frame;	/* zmx_watch_next()'s */
static int watch_nowatch_left;		/* this request's NOWATCH budget */
static int watch_warned_space;

static unsigned
hash_str(const char *p)
{
	unsigned h = 2166136261u;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

int
zmx_watch_init(void)
{
	if ((watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		return -errno;
	return 0;
}

int
zmx_watch_fd(void)
{
	return watch_fd;
}

/* ---- the wd table -------------------------------------------------------- */

static struct wdir *
wdir_find(int wd)
{
	struct wdir *w;

	for (w = watch_wds[(unsigned)wd % WATCH_BUCKETS]; w != NULL;
	    w = w->hnext)
		if (w->wd == wd)
			return w;
	return NULL;
}

static struct wdir *
wdir_get(int wd)
{
	struct wdir *w;

	if ((w = wdir_find(wd)) != NULL)
		return w;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->wd = wd;
	w->hnext = watch_wds[(unsigned)wd % WATCH_BUCKETS];
	watch_wds[(unsigned)wd % WATCH_BUCKETS] = w;
	return w;
}

static void
wdir_free(struct wdir *w)
{
	struct wdir **pp = &watch_wds[(unsigned)w->wd % WATCH_BUCKETS];

	while (*pp != w)
		pp = &(*pp)->hnext;
	*pp = w->hnext;
	if (!w->gone)
		(void)inotify_rm_watch(watch_fd, w->wd);
	free(w);
}

/* ---- a session's paths --------------------------------------------------- */

static struct zmx_watchset *
set_get(struct zmx_session *s)
{
	struct zmx_watchset *ws;

	if (s->watch != NULL)
		return s->watch;
	if ((ws = calloc(1, sizeof(*ws))) == NULL)
		return NULL;
	ws->nbucket = 64;
	if ((ws->bucket = calloc(ws->nbucket, sizeof(*ws->bucket))) == NULL) {
		free(ws);
		return NULL;
	}
	ws->s = s;
	ws->tail = &ws->head;
	ws->next = watch_all;
	if (watch_all != NULL)
		watch_all->prev = ws;
	watch_all = ws;
	s->watch = ws;
	return ws;
}

static struct wreg *
reg_find(const struct zmx_watchset *ws, const char *path)
{
	struct wreg *r;

	if (ws == NULL)
		return NULL;
	for (r = ws->bucket[hash_str(path) & (ws->nbucket - 1)]; r != NULL;
	    r = r->hnext)
		if (strcmp(r->path, path) == 0)
			return r;
	return NULL;
}

/* Doubles the hash when it holds twice as many paths as buckets. */
static void
grow(struct zmx_watchset *ws)
{
	struct wreg **nb, *r, *next;
	size_t n = ws->nbucket * 2, i;

	if (ws->count < 2 * ws->nbucket ||
	    (nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < ws->nbucket; i++)
		for (r = ws->bucket[i]; r != NULL; r = next) {
			next = r->hnext;
			r->hnext = nb[hash_str(r->path) & (n - 1)];
			nb[hash_str(r->path) & (n - 1)] = r;
		}
	free(ws->bucket);
	ws->bucket = nb;
	ws->nbucket = n;
}

/* Unlinks r from everything and frees it; a wdir left without paths
 * goes (its inotify watch with it). */
static void
reg_unhook(struct wreg *r)
{
	struct zmx_watchset *ws = r->s->watch;
	struct wreg **pp;

	for (pp = &ws->bucket[hash_str(r->path) & (ws->nbucket - 1)];
	    *pp != r; pp = &(*pp)->hnext)
		;
	*pp = r->hnext;
	if (r->prev != NULL)
		r->prev->next = r->next;
	else if (r->up != NULL)
		r->up->kids = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	for (pp = &r->w->regs; *pp != r; pp = &(*pp)->wnext)
		;
	*pp = r->wnext;
	if (r->w->regs == NULL)
		wdir_free(r->w);
	ws->count--;
	r->s->quota->watches--;
	free(r);
}

/* Drops r and everything beneath it. */
static void
reg_drop(struct wreg *r)
{
	while (r->kids != NULL)
		reg_drop(r->kids);
	reg_unhook(r);
}

/* Drops the path of ws at path, with everything beneath, if there. */
static void
drop_path(struct zmx_watchset *ws, const char *path)
{
	struct wreg *r = reg_find(ws, path);

	if (r != NULL)
		reg_drop(r);
}

static void
drop_all(struct zmx_watchset *ws)
{
	size_t i;

	for (i = 0; i < ws->nbucket; i++)
		while (ws->bucket[i] != NULL)
			reg_drop(ws->bucket[i]);
}

/* Watches target (a path inotify resolves: /proc/self/fd/N[/name]) for
 * ws as path, beneath up. The reg, or NULL with *err set. */
static struct wreg *
reg_watch(struct zmx_watchset *ws, struct wreg *up, const char *path,
    const char *target, uint32_t extra, int *err)
{
	struct wreg *r;
	struct wdir *w;
	size_t len = strlen(path);
	int wd;

	if ((wd = inotify_add_watch(watch_fd, target, WATCH_MASK | extra)) <
	    0) {
		*err = -errno;
		return NULL;
	}
	if ((w = wdir_get(wd)) == NULL ||
	    (r = calloc(1, sizeof(*r) + len + 1)) == NULL) {
		if (w != NULL && w->regs == NULL)
			wdir_free(w);
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(r->path, path, len + 1);
	r->s = ws->s;
	r->w = w;
	r->wnext = w->regs;
	w->regs = r;
	r->up = up;
	if (up != NULL) {
		r->next = up->kids;
		if (up->kids != NULL)
			up->kids->prev = r;
		up->kids = r;
	}
	r->hnext = ws->bucket[hash_str(path) & (ws->nbucket - 1)];
	ws->bucket[hash_str(path) & (ws->nbucket - 1)] = r;
	ws->count++;
	ws->ever = 1;
	ws->s->quota->watches++;
	grow(ws);
	return r;
}

/* ---- the queue of INVALs ------------------------------------------------- */

/* Whether ws's current connection holds a reply back; *seq: the INVALs
 * that go before it. */
static int
held(const struct zmx_watchset *ws, uint64_t *seq)
{
	if (ws->cur == NULL || ws->cur->held == NULL)
		return 0;
	*seq = ws->cur->held_seq;
	return 1;
}

static struct inval *
inval_new(const char *path, uint32_t flags, uint64_t seq)
{
	size_t len = strlen(path);
	struct inval *q = malloc(sizeof(*q) + len + 1);

	if (q == NULL)
		return NULL;
	q->next = NULL;
	q->seq = seq;
	q->flags = flags;
	memcpy(q->path, path, len + 1);
	return q;
}

static void
append(struct zmx_watchset *ws, struct inval *q)
{
	*ws->tail = q;
	ws->tail = &q->next;
	ws->qbytes += sizeof(*q) + strlen(q->path) + 1;
}

/* Everything queued becomes INVAL "/" (trust nothing), before and after
 * a held reply as needed; NOWATCH entries stay, in their place, as the
 * session forgets its NOWATCH marks at "/" but must not cache what the
 * reply that follows them brings. On allocation failure the path is
 * lost: logged. */
static void
collapse(struct zmx_watchset *ws)
{
	struct inval *q, *next, *keep = NULL, **kt = &keep, *slash;
	uint64_t h = 0;
	int hold = held(ws, &h), before = 0;

	for (q = ws->head; q != NULL; q = next) {
		next = q->next;
		if (hold && q->seq <= h)
			before = 1;
		if (q->flags & ZMX_INVAL_NOWATCH) {
			q->next = NULL;
			*kt = q;
			kt = &q->next;
		} else
			free(q);
	}
	ws->head = NULL;
	ws->tail = &ws->head;
	ws->qbytes = 0;
	if (before && (slash = inval_new("/", 0, h)) != NULL)
		append(ws, slash);
	/* the NOWATCHes before the held reply, then "/" after it */
	while (keep != NULL && hold && keep->seq <= h) {
		q = keep;
		keep = q->next;
		q->next = NULL;
		append(ws, q);
	}
	if ((slash = inval_new("/", 0, ++ws->seq)) != NULL)
		append(ws, slash);
	else
		zmx_err("session %s: INVAL / lost: out of memory", ws->s->tag);
	while ((q = keep) != NULL) {
		keep = q->next;
		q->next = NULL;
		q->seq = ++ws->seq;
		append(ws, q);
	}
	ws->blind = 0;
}

/* Queues INVAL path for ws. The same path queued and not bound to go
 * before a held reply is told once. */
static void
enqueue(struct zmx_watchset *ws, const char *path, uint32_t flags)
{
	struct inval *q;
	uint64_t h = 0;

	if (!held(ws, &h))
		h = 0;
	for (q = ws->head; q != NULL; q = q->next)
		if (q->seq > h && strcmp(q->path, path) == 0 &&
		    (q->flags & ZMX_INVAL_NOWATCH) ==
		    (flags & ZMX_INVAL_NOWATCH)) {
			q->flags |= flags;
			return;
		}
	/* NOWATCH entries are few (a request tells at most
	 * WATCH_NOWATCH_MAX + depth) and must not be lost */
	if (!(flags & ZMX_INVAL_NOWATCH) && (strcmp(path, "/") == 0 ||
	    ws->qbytes + sizeof(*q) + strlen(path) + 1 > WATCH_QUEUE_MAX)) {
		collapse(ws);
		return;
	}
	if ((q = inval_new(path, flags, ++ws->seq)) == NULL) {
		collapse(ws);
		return;
	}
	append(ws, q);
}

/* INVAL NOWATCH of path: agentd could not watch it (err). */
static void
nowatch(struct zmx_watchset *ws, const char *path, int err)
{
	if (err == -ENOSPC && !watch_warned_space) {
		zmx_warn("inotify: no watch left for %s (session %s): raise "
		    "fs.inotify.max_user_watches; sessions ask again instead "
		    "of caching", path, ws->s->tag);
		watch_warned_space = 1;
	} else
		zmx_debug("session %s: %s not watched: %s", ws->s->tag, path,
		    strerror(-err));
	enqueue(ws, path, ZMX_INVAL_NOWATCH);
}

/* Drops every path of ws and tells it "/". */
static void
reset(struct zmx_watchset *ws, const char *why)
{
	zmx_info("session %s (key %s): %zu watches, %s: dropped, INVAL /",
	    ws->s->tag, ws->s->key, ws->count, why);
	drop_all(ws);
	collapse(ws);
}

const void *
zmx_watch_next(struct zmx_conn *c, uint64_t upto, size_t *len)
{
	struct zmx_watchset *ws = c->s != NULL ? c->s->watch : NULL;
	struct zmx_msg m = { .type = ZMX_MSG_INVAL };

	if (ws == NULL || ws->cur != c || ws->head == NULL ||
	    ws->head->seq > upto)
		return NULL;
	m.u.inval.path = ws->head->path;
	m.u.inval.flags = ws->head->flags;
	watch_frame.len = 0;
	if (zmx_msg_encode(&m, &watch_frame) < 0)
		return NULL;
	*len = watch_frame.len;
	return watch_frame.data;
}

void
zmx_watch_sent(struct zmx_conn *c)
{
	struct zmx_watchset *ws = c->s->watch;
	struct inval *q = ws->head;

	if ((ws->head = q->next) == NULL)
		ws->tail = &ws->head;
	ws->qbytes -= sizeof(*q) + strlen(q->path) + 1;
	free(q);
}

int
zmx_watch_pending(const struct zmx_conn *c)
{
	const struct zmx_watchset *ws = c->s != NULL ? c->s->watch : NULL;

	return ws != NULL && ws->cur == c && ws->head != NULL;
}

uint64_t
zmx_watch_last_seq(const struct zmx_conn *c)
{
	return c->s != NULL && c->s->watch != NULL ? c->s->watch->seq : 0;
}

static void
queue_free(struct zmx_watchset *ws)
{
	struct inval *q;

	while ((q = ws->head) != NULL) {
		ws->head = q->next;
		free(q);
	}
	ws->tail = &ws->head;
	ws->qbytes = 0;
}

void
zmx_watch_lost(struct zmx_conn *c)
{
	struct zmx_watchset *ws = c->s != NULL ? c->s->watch : NULL;

	if (ws == NULL || ws->cur != c)
		return;
	queue_free(ws);
	ws->cur = NULL;
	ws->lost = 1;
}

void
zmx_watch_conn_gone(struct zmx_conn *c)
{
	zmx_watch_lost(c);
}

void
zmx_watch_use(struct zmx_session *s, struct zmx_conn *conn)
{
	struct zmx_watchset *ws = set_get(s);

	if (ws == NULL || ws->cur == conn)
		return;
	if (ws->ever && (ws->cur != NULL || ws->lost))
		collapse(ws);
	ws->cur = conn;
	ws->lost = 0;
}

void
zmx_watch_push(void *sock)
{
	struct zmx_watchset *ws;

	for (ws = watch_all; ws != NULL; ws = ws->next)
		if (ws->head != NULL && ws->cur != NULL)
			(void)zmx_flow_invals(sock, ws->cur);
}

/* ---- events -------------------------------------------------------------- */

/* dir + "/" + name into out; 0 or -ENAMETOOLONG. */
static int
join(const char *dir, const char *name, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", strcmp(dir, "/") == 0 ? "" :
	    dir, name);

	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* Each session's paths to drop after an event, found again by path (a
 * drop may free regs of the same wdir: a symlink to its own directory). */
struct dropv {
	struct zmx_watchset	**ws;
	char			**path;
	size_t			 n;
};

static void
dropv_add(struct dropv *d, size_t cap, struct zmx_watchset *ws,
    const char *path)
{
	if (d->n < cap && (d->path[d->n] = strdup(path)) != NULL)
		d->ws[d->n++] = ws;
}

static void
dropv_run(struct dropv *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		drop_path(d->ws[i], d->path[i]);
		free(d->path[i]);
	}
	free(d->ws);
	free(d->path);
}

static void
event(const struct inotify_event *ev)
{
	struct zmx_watchset *ws;
	struct dropv d = { 0 };
	struct wdir *w;
	struct wreg *r;
	char path[PATH_MAX];
	uint32_t flags;
	size_t n = 0;
	int entry;

	if (ev->mask & IN_Q_OVERFLOW) {
		zmx_warn("inotify: events lost (queue overflow): every "
		    "session is told INVAL /");
		for (ws = watch_all; ws != NULL; ws = ws->next)
			if (ws->ever)
				collapse(ws);
		return;
	}
	if ((w = wdir_find(ev->wd)) == NULL)
		return;
	entry = ev->len > 0 && ev->name[0] != '\0';
	if (entry)
		flags = ev->mask & WATCH_NAMES ? ZMX_INVAL_NAMES : 0;
	else
		flags = ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF) ?
		    ZMX_INVAL_NAMES : 0;
	for (r = w->regs; r != NULL; r = r->wnext) {
		n++;
		if (!entry)
			enqueue(r->s->watch, r->path, flags);
		else if (join(r->path, ev->name, path, sizeof(path)) == 0)
			enqueue(r->s->watch, path, flags);
		else
			collapse(r->s->watch);
	}
	/* what the name led to (a directory, a symlink to one, a file) is
	 * no longer where the paths beneath it say; a watched inode that
	 * moved or went takes its paths along */
	if ((entry && flags == 0) || (!entry && !(ev->mask & WATCH_GONE)))
		return;
	if (!entry && (ev->mask & IN_IGNORED))
		w->gone = 1;
	d.ws = calloc(n, sizeof(*d.ws));
	d.path = calloc(n, sizeof(*d.path));
	if (d.ws == NULL || d.path == NULL)
		n = 0;
	for (r = w->regs; r != NULL; r = r->wnext)
		if (!entry)
			dropv_add(&d, n, r->s->watch, r->path);
		else if (join(r->path, ev->name, path, sizeof(path)) == 0)
			dropv_add(&d, n, r->s->watch, path);
	dropv_run(&d);
	/* IN_IGNORED with paths still on it (allocation failed above):
	 * the kernel's watch is gone, so they must go too */
	if (!entry && (ev->mask & IN_IGNORED))
		while ((w = wdir_find(ev->wd)) != NULL)
			reg_drop(w->regs);
}

void
zmx_watch_drain(void)
{
	static char buf[65536] __attribute__((aligned(8)));
	const struct inotify_event *ev;
	ssize_t n, off;

	if (watch_fd < 0)
		return;
	while ((n = read(watch_fd, buf, sizeof(buf))) > 0)
		for (off = 0; off + (ssize_t)sizeof(*ev) <= n;
		    off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			event(ev);
		}
}

/* ---- what requests watch ------------------------------------------------- */

/* Room for one more path of ws: 0; -EAGAIN when ws's own paths were
 * dropped to make it (the caller starts over); -ENOSPC without may_reset
 * (in the middle of a request nothing it stands on may go). */
static int
room(struct zmx_watchset *ws, int may_reset)
{
	struct zmx_quota *q = ws->s->quota;
	struct zmx_watchset *v, *victim = NULL;

	if ((int)ws->count >= zmx_limits.watches_per_session) {
		if (!may_reset)
			return -ENOSPC;
		reset(ws, "its limit (agentd --max-watches-per-session)");
		return -EAGAIN;
	}
	if (q->watches < zmx_limits.watches_per_key)
		return 0;
	if (!may_reset)
		return -ENOSPC;
	for (v = watch_all; v != NULL; v = v->next)
		if (v->s->quota == q && (victim == NULL ||
		    v->count > victim->count))
			victim = v;
	if (victim == NULL || victim->count == 0)
		return -ENOSPC;
	reset(victim, "its key's limit (agentd --max-watches-per-key)");
	return victim == ws ? -EAGAIN : 0;
}

/* Watches dir and each directory above it up to the scope root (dir[0,
 * first)) for c's session, top down, stopping at the first that cannot
 * be (told NOWATCH) or is not there (the request fails as well). */
static int
chain(struct zmx_op_ctx *c, struct zmx_watchset *ws, char *dir,
    size_t first, int may_reset)
{
	struct wreg *up = NULL, *r;
	size_t i = first, len = strlen(dir);
	char save, proc[32];
	int fd, err = 0;

	for (;;) {
		save = dir[i];
		dir[i] = '\0';
		if ((r = reg_find(ws, dir)) == NULL) {
			if ((err = room(ws, may_reset)) == -EAGAIN) {
				dir[i] = save;
				return err;
			}
			if (err == 0) {
				/* the scope's resolution, so the watch is on
				 * what the request will reach */
				fd = zmx_scope_open(&c->s->scope, dir,
				    O_PATH | O_DIRECTORY, 0);
				if (fd < 0) {
					dir[i] = save;
					return 0;
				}
				zmx_scope_proc_path(fd, proc);
				r = reg_watch(ws, up, dir, proc, IN_ONLYDIR,
				    &err);
				close(fd);
			}
			if (r == NULL) {
				nowatch(ws, dir, err);
				dir[i] = save;
				return 0;
			}
		}
		up = r;
		dir[i] = save;
		if (i >= len)
			return 0;
		for (i++; i < len && dir[i] != '/'; i++)
			;
	}
}

/* The directory a request on path is about (self: path itself, else
 * its parent; the root is its own) into out, and where the scope root
 * ends in it. -EINVAL for a path that is not normal or not beneath the
 * root: nothing is watched, and the client does not cache it. */
static int
request_dir(const struct zmx_scope *sc, const char *path, int self,
    char *out, size_t outlen, size_t *first)
{
	const char *slash;
	size_t n;

	if (!zmx_path_is_normal(path))
		return -EINVAL;
	if (!sc->in_root && (strncmp(path, sc->root, sc->rootlen) != 0 ||
	    (path[sc->rootlen] != '\0' && path[sc->rootlen] != '/')))
		return -EINVAL;
	*first = sc->in_root ? 1 : sc->rootlen;
	n = strlen(path);
	if (!self && n > *first) {
		slash = strrchr(path, '/');
		n = slash == path ? 1 : (size_t)(slash - path);
	}
	if (n >= outlen)
		return -EINVAL;
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

void
zmx_watch_request(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	struct zmx_watchset *ws;
	const char *path;
	char dir[PATH_MAX];
	size_t first;
	int self = 0;

	watch_nowatch_left = WATCH_NOWATCH_MAX;
	switch (m->type) {
	case ZMX_MSG_STAT:
		path = m->u.stat.path;
		break;
	case ZMX_MSG_ACCESS:
		path = m->u.access.path;
		break;
	case ZMX_MSG_READLINK:
		path = m->u.readlink.path;
		break;
	case ZMX_MSG_OPEN:
		path = m->u.open.path;
		break;
	case ZMX_MSG_READDIR:
		path = m->u.readdir.path;
		self = 1;
		break;
	default:
		return;
	}
	if (c->s == NULL || (ws = set_get(c->s)) == NULL)
		return;
	if (watch_fd < 0) {
		/* no inotify: nothing may be cached, once a session */
		if (!ws->blind)
			enqueue(ws, c->s->scope.root, ZMX_INVAL_NOWATCH);
		ws->blind = 1;
		return;
	}
	if (request_dir(&c->s->scope, path, self, dir, sizeof(dir),
	    &first) < 0)
		return;
	if (chain(c, ws, dir, first, 1) == -EAGAIN)
		(void)chain(c, ws, dir, first, 0);
}

/* Watches target for c's session as path beneath up, or tells NOWATCH:
 * 1 if watched. */
static int
watch_leaf(struct zmx_op_ctx *c, struct wreg *up, const char *path,
    const char *target, uint32_t extra, const char *dir)
{
	struct zmx_watchset *ws = c->s->watch;
	int err;

	if ((err = room(ws, 0)) == 0 &&
	    reg_watch(ws, up, path, target, extra, &err) != NULL)
		return 1;
	if (watch_nowatch_left > 0 && --watch_nowatch_left == 0)
		nowatch(ws, dir, err);	/* enough: the whole directory */
	else if (watch_nowatch_left > 0)
		nowatch(ws, path, err);
	return 0;
}

int
zmx_watch_entry(struct zmx_op_ctx *c, const char *dir, int dfd,
    const char *name, const struct stat *st)
{
	struct zmx_watchset *ws = c->s != NULL ? c->s->watch : NULL;
	char path[PATH_MAX], target[32 + NAME_MAX + 1];
	struct wreg *up;

	if (!S_ISDIR(st->st_mode) && !(S_ISREG(st->st_mode) &&
	    st->st_nlink > 1))
		return 0;
	if (watch_nowatch_left == 0 || (up = reg_find(ws, dir)) == NULL ||
	    join(dir, name, path, sizeof(path)) < 0 ||
	    reg_find(ws, path) != NULL)
		return 0;
	snprintf(target, sizeof(target), "/proc/self/fd/%d/%s", dfd, name);
	return watch_leaf(c, up, path, target, IN_DONT_FOLLOW |
	    (S_ISDIR(st->st_mode) ? IN_ONLYDIR : 0), dir);
}

int
zmx_watch_file(struct zmx_op_ctx *c, const char *path, int fd,
    const struct stat *st, int via_link)
{
	struct zmx_watchset *ws = c->s != NULL ? c->s->watch : NULL;
	char dir[PATH_MAX], where[PATH_MAX], proc[32];
	struct wreg *up;
	size_t first;

	if (!S_ISREG(st->st_mode) || (st->st_nlink <= 1 && !via_link))
		return 0;
	if (ws == NULL || request_dir(&c->s->scope, path, 0, dir, sizeof(dir),
	    &first) < 0 || strcmp(dir, path) == 0 ||
	    (up = reg_find(ws, dir)) == NULL || reg_find(ws, path) != NULL)
		return 0;
	/* reached through no symlink: the parent's watch says it all */
	if (st->st_nlink <= 1 && zmx_scope_where(&c->s->scope, fd, where,
	    sizeof(where)) >= 0 && strcmp(where, path) == 0)
		return 0;
	zmx_scope_proc_path(fd, proc);
	return watch_leaf(c, up, path, proc, 0, path);
}

/* ---- the end ------------------------------------------------------------- */

void
zmx_watch_session_free(struct zmx_session *s)
{
	struct zmx_watchset *ws = s->watch;

	if (ws == NULL)
		return;
	drop_all(ws);
	queue_free(ws);
	if (ws->prev != NULL)
		ws->prev->next = ws->next;
	else
		watch_all = ws->next;
	if (ws->next != NULL)
		ws->next->prev = ws->prev;
	free(ws->bucket);
	free(ws);
	s->watch = NULL;
}

void
zmx_watch_fini(void)
{
	if (watch_fd >= 0)
		close(watch_fd);
	watch_fd = -1;
	zmx_buf_free(&watch_frame);
}
