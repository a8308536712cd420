/* session_attr.c - the session's attribute cache (DESIGN.md decisions 5
 * and 7): lstat attributes by remote path, and which names a directory
 * holds, from STAT and READDIR answers; kept true by agentd's INVALs and
 * by the session's own changes (session.h). A STAT, ACCESS F_OK or
 * READDIR from a process is answered here when the cache knows, a name
 * missing from a whole listing included; one that misses fetches its
 * directory's listing instead (one READDIR, shared by every miss there
 * meanwhile) and is answered from that, so a tree costs about a round
 * trip per directory the first time in a session, and none after. Only
 * normal paths are kept, and none that agentd said it does not watch. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "path.h"
#include "session.h"

#define ATTR_MAX_NODES	(1u << 19)	/* past that, everything goes */
#define ATTR_MAX_MARKS	4096		/* NOWATCH paths; past that, none
					 * is kept until INVAL / */

/* One path the cache knows something of. The nodes form a tree (a
 * node's parent is there too, up to "/"); a complete directory's kids are
 * exactly its entries, in the order agentd listed them. */
struct anode {
	struct anode	*up, *kids, *kidtail, *prev, *next;
	struct anode	*hnext;
	struct zmx_attr	 st;		/* lstat, if known */
	struct zmx_attr	 dst;		/* as READDIR saw it, if complete */
	unsigned	 known:1;	/* st is agentd's */
	unsigned	 complete:1;	/* kids are all its entries */
	unsigned	 nolist:1;	/* READDIR of it failed: ask STAT */
	unsigned	 mark:1;	/* fill_listing()'s */
	uint32_t	 access_ok;	/* ACCESS answered OK, by access_bit() */
	char		 path[];
};

/* A READDIR out to answer what waits on it. */
struct lwait {
	struct lwait	*next;
	uint64_t	 serial, id;	/* the client's */
	uint32_t	 type;		/* STAT, ACCESS or READDIR */
	uint32_t	 flags, mode;
	char		 path[];
};

struct lsop {
	struct lsop	*next;
	struct lwait	*waiters;
	char		 dir[];
};

/* What a forwarded request will tell or change (zmx_attr_note). */
struct zmx_attr_note {
	uint32_t	 type;
	uint32_t	 flags;		/* ZMX_INVAL_* for a change */
	char		*a, *b;
};

/* All of it is the session loop's (one thread). */
static struct {
	struct anode	**bucket;
	size_t		 nbucket, count;
	struct lsop	*listings;	/* READDIRs out */
	char		**marks;	/* NOWATCH paths, open addressing */
	size_t		 nmarks;
	int		 blind;		/* too many marks: cache nothing */
	struct zmx_dirent *ents;	/* serve_readdir()'s scratch */
	size_t		 entcap;
	unsigned long	 hits, misses;
} A;

static unsigned
hash_str(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* The parent of a normal path into out ("/" for "/x"); -1 for "/". */
static int
parent_of(const char *path, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (path[1] == '\0' || slash == NULL)
		return -1;
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= outlen)
		return -1;
	memmove(out, path, n);	/* out may be path */
	out[n] = '\0';
	return 0;
}

static int
join(const char *dir, const char *name, char *out, size_t outlen)
{
	size_t d = strcmp(dir, "/") == 0 ? 0 : strlen(dir), n = strlen(name);

	if (d + 1 + n + 1 > outlen)
		return -1;
	memcpy(out, dir, d);
	out[d] = '/';
	memcpy(out + d + 1, name, n + 1);
	return 0;
}

/* Which bit of access_ok an ACCESS of mode and flags is: its answer
 * depends on the file's attributes, its directories' and the session's
 * user, all of which an INVAL covers. */
static uint32_t
access_bit(uint32_t mode, uint32_t flags)
{
	return 1u << ((mode & 7) | (flags & (ZMX_NOFOLLOW | ZMX_EACCESS)) << 3);
}

/* ---- NOWATCH marks ------------------------------------------------------- */

static void
marks_clear(void)
{
	size_t i;

	for (i = 0; i < A.nmarks && A.marks != NULL; i++)
		free(A.marks[i]);
	free(A.marks);
	A.marks = NULL;
	A.nmarks = 0;
	A.blind = 0;
}

static int
marked(const char *path)
{
	size_t i;

	for (i = 0; i < A.nmarks; i++)
		if (strcmp(A.marks[i], path) == 0)
			return 1;
	return 0;
}

static void
mark_add(const char *path)
{
	char **m;

	if (A.blind || marked(path))
		return;
	if (A.nmarks >= ATTR_MAX_MARKS ||
	    (m = realloc(A.marks, (A.nmarks + 1) * sizeof(*m))) == NULL) {
		A.blind = 1;
		return;
	}
	A.marks = m;
	if ((A.marks[A.nmarks] = strdup(path)) == NULL) {
		A.blind = 1;
		return;
	}
	A.nmarks++;
}

int
zmx_attr_cacheable(const char *path)
{
	char p[ZMX_MAX_PATH + 1];
	char *slash;
	size_t n;

	if (A.blind)
		return 0;
	if (!zmx_path_is_normal(path))
		return 0;
	if (A.nmarks == 0)
		return 1;
	if ((n = strlen(path)) > ZMX_MAX_PATH)
		return 0;
	memcpy(p, path, n + 1);
	for (;;) {
		if (marked(p))
			return 0;
		if (strcmp(p, "/") == 0)
			return 1;
		slash = strrchr(p, '/');
		if (slash == p)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}

/* ---- the tree ------------------------------------------------------------ */

static struct anode *
node_find(const char *path)
{
	struct anode *n;

	if (A.bucket == NULL)
		return NULL;
	for (n = A.bucket[hash_str(path) & (A.nbucket - 1)]; n != NULL;
	    n = n->hnext)
		if (strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

static void
kid_unlink(struct anode *k)
{
	struct anode *d = k->up;

	if (d == NULL)
		return;
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		d->kids = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	else
		d->kidtail = k->prev;
	k->prev = k->next = NULL;
}

static void
kid_append(struct anode *d, struct anode *k)
{
	k->up = d;
	k->next = NULL;
	k->prev = d->kidtail;
	if (d->kidtail != NULL)
		d->kidtail->next = k;
	else
		d->kids = k;
	d->kidtail = k;
}

/* Frees n and everything beneath it. */
static void
node_free(struct anode *n)
{
	struct anode **pp;

	while (n->kids != NULL)
		node_free(n->kids);
	kid_unlink(n);
	for (pp = &A.bucket[hash_str(n->path) & (A.nbucket - 1)]; *pp != n;
	    pp = &(*pp)->hnext)
		;
	*pp = n->hnext;
	A.count--;
	free(n);
}

static void
drop_all(void)
{
	size_t i;

	for (i = 0; i < A.nbucket; i++)
		while (A.bucket[i] != NULL) {
			struct anode *n = A.bucket[i];

			while (n->up != NULL)
				n = n->up;
			node_free(n);
		}
}

static void
grow(void)
{
	struct anode **nb, *n, *next;
	size_t size = A.nbucket ? A.nbucket * 2 : 1024, i;

	if (A.bucket != NULL && A.count < 2 * A.nbucket)
		return;
	if ((nb = calloc(size, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < A.nbucket; i++)
		for (n = A.bucket[i]; n != NULL; n = next) {
			next = n->hnext;
			n->hnext = nb[hash_str(n->path) & (size - 1)];
			nb[hash_str(n->path) & (size - 1)] = n;
		}
	free(A.bucket);
	A.bucket = nb;
	A.nbucket = size;
}

/* A new node for path beneath d (NULL: the root), last of its kids. */
static struct anode *
node_new(struct anode *d, const char *path)
{
	size_t len = strlen(path);
	struct anode *n;

	if (A.count >= ATTR_MAX_NODES) {
		zmx_info("session: attribute cache full (%u paths): emptied",
		    ATTR_MAX_NODES);
		drop_all();
		return NULL;		/* d may be gone */
	}
	grow();
	if (A.bucket == NULL || (n = calloc(1, sizeof(*n) + len + 1)) == NULL)
		return NULL;
	memcpy(n->path, path, len + 1);
	n->hnext = A.bucket[hash_str(path) & (A.nbucket - 1)];
	A.bucket[hash_str(path) & (A.nbucket - 1)] = n;
	A.count++;
	if (d != NULL)
		kid_append(d, n);
	return n;
}

/* The node of path, made with its parents as needed. A name new to a
 * complete listing makes it incomplete: the listing is older. */
static struct anode *
node_get(const char *path)
{
	char dir[ZMX_MAX_PATH + 1];
	struct anode *n, *d = NULL;

	if ((n = node_find(path)) != NULL)
		return n;
	if (parent_of(path, dir, sizeof(dir)) == 0) {
		if ((d = node_get(dir)) == NULL)
			return NULL;
		d->complete = 0;
	}
	return node_new(d, path);
}

/* ---- what the cache says ------------------------------------------------- */

/* What is known of path: 1 with *st (lstat); -ENOENT or -ENOTDIR when
 * it is known not to be there; 0 when unknown, with *listed set if it
 * is a name of a whole listing (one STAT away). */
static int
look(const char *path, struct zmx_attr *st, int *listed)
{
	char p[ZMX_MAX_PATH + 1];
	struct anode *n;

	*listed = 0;
	if ((n = node_find(path)) != NULL) {
		if (n->known) {
			*st = n->st;
			return 1;
		}
		*listed = n->up != NULL && n->up->complete;
		return 0;
	}
	if (strlen(path) > ZMX_MAX_PATH)
		return 0;
	strcpy(p, path);
	/* the deepest directory above it that the cache holds */
	while (parent_of(p, p, sizeof(p)) == 0) {
		if ((n = node_find(p)) == NULL)
			continue;
		if (n->complete)
			return -ENOENT;
		if (n->known && !S_ISDIR(n->st.mode) && !S_ISLNK(n->st.mode))
			return -ENOTDIR;
		return 0;
	}
	return 0;
}

static void
fill_stat(const char *path, const struct zmx_attr *st)
{
	struct anode *n;

	if (!zmx_attr_cacheable(path) || (n = node_get(path)) == NULL)
		return;
	n->st = *st;
	n->known = 1;
}

/* A READDIR answer for dir: its entries become its kids, in order. */
static void
fill_listing(const char *dir, const struct zmx_msg_entries *e)
{
	char p[ZMX_MAX_PATH + 1];
	struct anode *d, *k, *next, **v;
	size_t i, n = 0;

	if (!zmx_attr_cacheable(dir) ||
	    A.count + e->ents_count + 1 >= ATTR_MAX_NODES ||
	    (d = node_get(dir)) == NULL)
		return;
	if ((v = calloc(e->ents_count + 1, sizeof(*v))) == NULL)
		return;
	for (k = d->kids; k != NULL; k = k->next)
		k->mark = 0;
	for (i = 0; i < e->ents_count; i++) {
		const char *name = e->ents[i].name;

		if (e->ents[i].st.mode == 0 || name[0] == '\0' ||
		    strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
		    strcmp(name, "..") == 0 ||
		    join(dir, name, p, sizeof(p)) < 0)
			continue;	/* vanished, or not a name */
		if ((k = node_find(p)) == NULL &&
		    (k = node_new(d, p)) == NULL) {
			free(v);	/* what is in stays true, not whole */
			return;
		}
		if (k->up != d || k->mark)
			continue;
		k->mark = 1;
		/* a subdirectory's or file's own NOWATCH: listed, but its
		 * attributes are asked for */
		k->known = zmx_attr_cacheable(p);
		k->st = e->ents[i].st;
		v[n++] = k;
	}
	/* what was not listed is gone; the rest in agentd's order */
	for (k = d->kids; k != NULL; k = next) {
		next = k->next;
		if (k->mark)
			kid_unlink(k);
		else
			node_free(k);
	}
	for (i = 0; i < n; i++)
		kid_append(d, v[i]);
	free(v);
	d->complete = 1;
	d->nolist = 0;
	d->dst = e->st;
}

/* ---- invalidations ------------------------------------------------------- */

void
zmx_attr_inval(const char *path, uint32_t flags)
{
	char dir[ZMX_MAX_PATH + 1];
	struct anode *n;

	if (strcmp(path, "/") == 0 && !(flags & ZMX_INVAL_NOWATCH)) {
		drop_all();
		marks_clear();
		return;
	}
	if (flags & ZMX_INVAL_NOWATCH)
		mark_add(path);
	if ((n = node_find(path)) != NULL) {
		while (n->kids != NULL)
			node_free(n->kids);
		n->complete = 0;
		n->nolist = 0;
		/* a name still in a whole listing stays, unknown */
		if ((flags & ZMX_INVAL_NAMES) || n->up == NULL ||
		    !n->up->complete)
			node_free(n);
		else
			n->known = n->access_ok = 0;
	}
	/* a name made or removed changed its directory: its listing, and
	 * its own attributes (mtime, nlink) */
	if ((flags & ZMX_INVAL_NAMES) &&
	    parent_of(path, dir, sizeof(dir)) == 0 &&
	    (n = node_find(dir)) != NULL) {
		n->complete = 0;
		n->known = n->access_ok = 0;
	}
}

/* ---- answering ----------------------------------------------------------- */

static void
reply_attr(uint64_t serial, uint64_t id, uint32_t type, const char *path,
    const struct zmx_attr *st)
{
	struct zmx_msg m = { .type = ZMX_MSG_ATTR, .id = id };

	if (type == ZMX_MSG_ACCESS)
		m.type = ZMX_MSG_OK;
	else {
		m.u.attr.st = *st;
		/* the inode the session's programs opened (session_files.c) */
		zmx_files_identity(path, &m.u.attr.st);
	}
	zmx_local_reply(serial, &m, -1);
}

static void
reply_err(uint64_t serial, uint64_t id, int err, const char *path)
{
	zmx_local_error(serial, id, -err, path);
}

/* A STAT (or ACCESS F_OK, which is one) from what the cache knows:
 * 1 answered, 0 not. */
static int
answer_stat(uint64_t serial, uint64_t id, uint32_t type, const char *path,
    int follow, int *listed)
{
	struct zmx_attr st;
	int r = look(path, &st, listed);

	if (r == 1 && !(follow && S_ISLNK(st.mode))) {
		reply_attr(serial, id, type, path, &st);
		return 1;
	}
	if (r < 0) {
		reply_err(serial, id, r, path);
		return 1;
	}
	if (r == 1)
		*listed = 1;	/* a symlink: STAT of it is the one trip */
	return 0;
}

/* READDIR of dir from a whole listing, every entry's attributes known:
 * 1 answered, 0 not. */
static int
answer_readdir(uint64_t serial, uint64_t id, const char *dir)
{
	struct zmx_msg m = { .type = ZMX_MSG_ENTRIES, .id = id };
	struct anode *d = node_find(dir), *k;
	size_t n = 0;
	void *p;

	if (d == NULL || !d->complete)
		return 0;
	for (k = d->kids; k != NULL; k = k->next, n++)
		if (!k->known)
			return 0;
	if (n > A.entcap) {
		if ((p = reallocarray(A.ents, n, sizeof(*A.ents))) == NULL)
			return 0;
		A.ents = p;
		A.entcap = n;
	}
	n = 0;
	for (k = d->kids; k != NULL; k = k->next, n++) {
		A.ents[n].name = zmx_path_base(k->path);
		A.ents[n].st = k->st;
	}
	m.u.entries.st = d->dst;
	m.u.entries.ents = A.ents;
	m.u.entries.ents_count = n;
	zmx_local_reply(serial, &m, -1);
	return 1;
}

/* The request a waiter stands for, sent on to agentd after all. */
static void
forward(const struct lwait *w)
{
	struct zmx_msg m = { .type = w->type, .id = w->id };

	switch (w->type) {
	case ZMX_MSG_STAT:
		m.u.stat.path = w->path;
		m.u.stat.flags = w->flags;
		break;
	case ZMX_MSG_ACCESS:
		m.u.access.path = w->path;
		m.u.access.mode = w->mode;
		m.u.access.flags = w->flags;
		break;
	default:
		m.u.readdir.path = w->path;
	}
	zmx_local_forward(w->serial, &m);
}

static void
listed(void *arg, struct zmx_frame *rep, int err)
{
	struct lsop *op = arg, **pp;
	struct lwait *w;
	struct anode *d;
	int known;

	for (pp = &A.listings; *pp != op; pp = &(*pp)->next)
		;
	*pp = op->next;
	if (err == 0 && (err = zmx_msg_result(&rep->msg,
	    ZMX_MSG_ENTRIES)) == 0)
		fill_listing(op->dir, &rep->msg.u.entries);
	/* ENOENT, ENOTDIR: what was asked beneath it is not there either;
	 * anything else (EACCES: a directory that can be searched, not
	 * read), and its names are asked one by one */
	if (err < 0 && err != -ENOENT && err != -ENOTDIR &&
	    zmx_attr_cacheable(op->dir) && (d = node_get(op->dir)) != NULL)
		d->nolist = 1;
	while ((w = op->waiters) != NULL) {
		op->waiters = w->next;
		if (w->type == ZMX_MSG_FOPEN) {
			/* a directory read whole: what it is, no content */
			struct zmx_msg f = { .type = ZMX_MSG_FILE };

			f.id = w->id;
			if (err < 0)
				reply_err(w->serial, w->id, err, w->path);
			else {
				f.u.file.st = rep->msg.u.entries.st;
				zmx_local_reply(w->serial, &f, -1);
			}
		} else if (w->type == ZMX_MSG_READDIR) {
			/* the answer to its own request */
			if (rep != NULL) {
				rep->msg.id = w->id;
				zmx_local_reply(w->serial, &rep->msg, -1);
			} else
				reply_err(w->serial, w->id, err, w->path);
		} else if (err == -ENOENT || err == -ENOTDIR)
			reply_err(w->serial, w->id, err, w->path);
		else if (!answer_stat(w->serial, w->id, w->type, w->path,
		    !(w->flags & ZMX_NOFOLLOW), &known))
			forward(w);
		free(w);
	}
	free(op);
}

/* Waits for the listing of dir (sent now if none is out): 0, or -ENOMEM
 * (the caller forwards the request itself). */
static int
wait_listing(const char *dir, uint64_t serial, const struct zmx_msg *m,
    const char *path, uint32_t flags, uint32_t mode)
{
	struct zmx_msg req = { .type = ZMX_MSG_READDIR };
	struct lsop *op;
	struct lwait *w;
	size_t n = strlen(path);
	int fresh = 0;

	for (op = A.listings; op != NULL; op = op->next)
		if (strcmp(op->dir, dir) == 0)
			break;
	if (op == NULL) {
		if ((op = calloc(1, sizeof(*op) + strlen(dir) + 1)) == NULL)
			return -ENOMEM;
		strcpy(op->dir, dir);
		fresh = 1;
	}
	if ((w = calloc(1, sizeof(*w) + n + 1)) == NULL) {
		if (fresh)
			free(op);
		return -ENOMEM;
	}
	w->serial = serial;
	w->id = m->id;
	w->type = m->type;
	w->flags = flags;
	w->mode = mode;
	memcpy(w->path, path, n + 1);
	w->next = op->waiters;
	op->waiters = w;
	if (fresh) {
		op->next = A.listings;
		A.listings = op;
		req.u.readdir.path = op->dir;
		zmx_debug("listing %s", op->dir);
		zmx_link_call(&req, listed, op);
	}
	return 0;
}

/* STAT or ACCESS F_OK of path. */
static int
serve_stat(uint64_t serial, const struct zmx_msg *m, const char *path,
    uint32_t flags, uint32_t mode)
{
	char dir[ZMX_MAX_PATH + 1];
	struct anode *d;
	int known;

	if (answer_stat(serial, m->id, m->type, path, !(flags & ZMX_NOFOLLOW),
	    &known)) {
		A.hits++;
		return 1;
	}
	A.misses++;
	zmx_debug("miss %s (%s)", path, known ? "listed" : "unknown");
	/* a listed name or a symlink: its own STAT is one round trip, as
	 * its directory's listing would be */
	if (known || parent_of(path, dir, sizeof(dir)) < 0 ||
	    !zmx_attr_cacheable(dir) ||
	    ((d = node_find(dir)) != NULL && d->nolist))
		return 0;
	return wait_listing(dir, serial, m, path, flags, mode) == 0;
}

/* READLINK of what is known not to be there, or not to be a symlink;
 * a symlink's target is asked for. */
static int
serve_readlink(uint64_t serial, const struct zmx_msg *m, const char *path)
{
	struct zmx_attr st;
	int listed, r = look(path, &st, &listed);

	if (r == 1 && !S_ISLNK(st.mode))
		r = -EINVAL;
	if (r >= 0)
		return 0;
	A.hits++;
	reply_err(serial, m->id, r, path);
	return 1;
}

/* ACCESS R_OK, W_OK, X_OK: what agentd answered before for the same
 * mode, while nothing changed; or ENOENT for what is not there. */
static int
serve_access(uint64_t serial, const struct zmx_msg *m, const char *path)
{
	struct zmx_msg ok = { .type = ZMX_MSG_OK, .id = m->id };
	struct zmx_attr st;
	struct anode *n;
	int listed, r = look(path, &st, &listed);

	if (r < 0) {
		A.hits++;
		reply_err(serial, m->id, r, path);
		return 1;
	}
	if ((n = node_find(path)) == NULL || !n->known ||
	    !(n->access_ok & access_bit(m->u.access.mode,
	    m->u.access.flags)))
		return 0;
	A.hits++;
	zmx_local_reply(serial, &ok, -1);
	return 1;
}

/* "dir/" names dir (READDIR): the path without its last slash into
 * buf, if that is normal; else path. */
static const char *
no_slash(const char *path, char *buf, size_t len)
{
	size_t n = strlen(path);

	if (n < 2 || path[n - 1] != '/' || n > len)
		return path;
	memcpy(buf, path, n - 1);
	buf[n - 1] = '\0';
	return zmx_path_is_normal(buf) ? buf : path;
}

int
zmx_attr_serve(uint64_t serial, const struct zmx_msg *m)
{
	char buf[ZMX_MAX_PATH + 1];
	const char *path;

	switch (m->type) {
	case ZMX_MSG_STAT:
		path = m->u.stat.path;
		if (m->u.stat.flags & ~(uint32_t)ZMX_NOFOLLOW)
			return 0;
		break;
	case ZMX_MSG_ACCESS:
		path = m->u.access.path;
		if ((m->u.access.mode & ~(uint32_t)7) || (m->u.access.flags &
		    ~(uint32_t)(ZMX_NOFOLLOW | ZMX_EACCESS)))
			return 0;
		break;
	case ZMX_MSG_READLINK:
		path = m->u.readlink.path;
		break;
	case ZMX_MSG_READDIR:
		path = no_slash(m->u.readdir.path, buf, sizeof(buf));
		break;
	default:
		return 0;
	}
	/* what a process holds changed, or made and not written back yet,
	 * goes to agentd first (session_files.c's barrier) */
	if (!zmx_attr_cacheable(path) ||
	    zmx_files_pending(path, m->type == ZMX_MSG_READDIR))
		return 0;
	if (m->type == ZMX_MSG_READLINK)
		return serve_readlink(serial, m, path);
	if (m->type == ZMX_MSG_ACCESS && m->u.access.mode != F_OK)
		return serve_access(serial, m, path);
	if (m->type == ZMX_MSG_READDIR) {
		if (answer_readdir(serial, m->id, path)) {
			A.hits++;
			return 1;
		}
		A.misses++;
		zmx_debug("miss readdir %s", path);
		return wait_listing(path, serial, m, path, 0, 0) == 0;
	}
	return serve_stat(serial, m, path, m->type == ZMX_MSG_STAT ?
	    m->u.stat.flags : m->u.access.flags, 0);
}

int
zmx_attr_fopen(uint64_t serial, const struct zmx_msg *m)
{
	const struct zmx_msg_fopen *q = &m->u.fopen;
	struct zmx_msg f = { .type = ZMX_MSG_FILE, .id = m->id };
	struct zmx_attr st;
	struct anode *n;
	int r, listed;

	if (!zmx_attr_cacheable(q->path))
		return 0;
	r = look(q->path, &st, &listed);
	if (r < 0 && !(q->flags & O_CREAT)) {
		A.hits++;
		reply_err(serial, m->id, r, q->path);
		return 1;
	}
	/* a directory read whole: it may be read, and is what it was */
	if ((q->flags & (O_ACCMODE | O_CREAT | O_TRUNC)) != O_RDONLY ||
	    (n = node_find(q->path)) == NULL)
		return 0;
	if (n->complete && (!(q->flags & O_NOFOLLOW) || (n->known &&
	    S_ISDIR(n->st.mode)))) {
		A.hits++;
		f.u.file.st = n->dst;
		zmx_local_reply(serial, &f, -1);
		return 1;
	}
	/* a directory not read yet: its listing says what an OPEN would,
	 * and the getdents64 that follows needs it anyway (find, fts) */
	if (n->known && S_ISDIR(n->st.mode) && !n->nolist &&
	    !zmx_files_pending(q->path, 1)) {
		A.misses++;
		return wait_listing(q->path, serial, m, q->path, q->flags,
		    0) == 0;
	}
	return 0;
}

/* ---- what forwarded requests tell and change ----------------------------- */

/* What a change's note names is forgotten. */
static void
note_forget(const struct zmx_attr_note *n)
{
	if (n->type == ZMX_MSG_STAT || n->type == ZMX_MSG_READDIR ||
	    n->type == ZMX_MSG_ACCESS)
		return;
	zmx_attr_inval(n->a, n->flags);
	if (n->b != NULL)
		zmx_attr_inval(n->b, n->type == ZMX_MSG_LINK ? 0 : n->flags);
}

struct zmx_attr_note *
zmx_attr_note(const struct zmx_msg *m)
{
	struct zmx_attr_note *n;
	const char *a = NULL, *b = NULL;
	uint32_t flags = ZMX_INVAL_NAMES;

	switch (m->type) {
	case ZMX_MSG_STAT:
		if (m->u.stat.flags != ZMX_NOFOLLOW)
			return NULL;	/* lstat answers only */
		a = m->u.stat.path;
		break;
	case ZMX_MSG_READDIR:
		a = m->u.readdir.path;
		break;
	case ZMX_MSG_ACCESS:
		a = m->u.access.path;
		flags = access_bit(m->u.access.mode, m->u.access.flags);
		break;
	case ZMX_MSG_MKDIR:
		a = m->u.mkdir.path;
		break;
	case ZMX_MSG_RMDIR:
		a = m->u.rmdir.path;
		break;
	case ZMX_MSG_UNLINK:
		a = m->u.unlink.path;
		break;
	case ZMX_MSG_SYMLINK:
		a = m->u.symlink.path;
		break;
	case ZMX_MSG_RENAME:
		a = m->u.rename.from;
		b = m->u.rename.to;
		break;
	case ZMX_MSG_LINK:
		a = m->u.link.to;
		b = m->u.link.from;	/* its link count */
		break;
	case ZMX_MSG_CHMOD:
		a = m->u.chmod.path;
		flags = 0;
		break;
	case ZMX_MSG_CHOWN:
		a = m->u.chown.path;
		flags = 0;
		break;
	case ZMX_MSG_UTIMENS:
		a = m->u.utimens.path;
		flags = 0;
		break;
	case ZMX_MSG_TRUNCATE:
		a = m->u.truncate.path;
		flags = 0;
		break;
	case ZMX_MSG_PWRITE:
		a = m->u.pwrite.path;
		flags = 0;
		break;
	case ZMX_MSG_OPEN:
		if (!(m->u.open.flags & (ZMX_O_WRITE | ZMX_O_CREAT |
		    ZMX_O_TRUNC | ZMX_O_APPEND)))
			return NULL;
		a = m->u.open.path;
		break;
	case ZMX_MSG_PUT:
		if (!(m->u.put.flags & ZMX_PUT_COMMIT))
			return NULL;
		a = m->u.put.path;
		break;
	default:
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    (n->a = strdup(a)) == NULL || (b != NULL &&
	    (n->b = strdup(b)) == NULL)) {
		if (n != NULL)
			free(n->a);
		free(n);
		zmx_attr_inval("/", 0);	/* cannot follow it: forget */
		return NULL;
	}
	n->type = m->type;
	n->flags = flags;
	/* a change is forgotten now, and again when it is answered (a
	 * listing answered meanwhile may be older) */
	note_forget(n);
	return n;
}

void
zmx_attr_apply(struct zmx_attr_note *n, const struct zmx_frame *rep)
{
	if (n == NULL)
		return;
	if (n->type == ZMX_MSG_STAT) {
		if (rep != NULL && rep->msg.type == ZMX_MSG_ATTR)
			fill_stat(n->a, &rep->msg.u.attr.st);
	} else if (n->type == ZMX_MSG_READDIR) {
		if (rep != NULL && rep->msg.type == ZMX_MSG_ENTRIES)
			fill_listing(n->a, &rep->msg.u.entries);
	} else if (n->type == ZMX_MSG_ACCESS) {
		struct anode *a = node_find(n->a);

		/* kept with the attributes it was decided on */
		if (rep != NULL && rep->msg.type == ZMX_MSG_OK && a != NULL &&
		    a->known)
			a->access_ok |= n->flags;
	} else
		note_forget(n);
	free(n->a);
	free(n->b);
	free(n);
}

void
zmx_attr_stats(unsigned long *hits, unsigned long *misses)
{
	*hits = A.hits;
	*misses = A.misses;
}

void
zmx_attr_fini(void)
{
	drop_all();
	marks_clear();
	free(A.bucket);
	free(A.ents);
	memset(&A, 0, sizeof(A));
}
