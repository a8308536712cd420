/* session_lock.c - flock(2) locks reach agentd: the session takes one
 * lock on agentd per path for all its processes, the strongest any of
 * them holds, so that a process on agentd's side, or another session, is
 * excluded too. Local processes lock the session's memfd of the file
 * (and exclude each other there, as on a local disk); what they hold is
 * read from the kernel by trying a lock on a description of the session's
 * own, so a lock held by an fd that outlives its locker (exec 9>f; flock
 * 9) or dropped by a process's end is seen as it is. A path the session
 * has no copy of (a directory) counts holders by process instead. The
 * session looks again whenever a process asks or a client leaves, and
 * lets everything go at its end. Requests for one path go to agentd one
 * at a time; agentd never blocks (EAGAIN: the shim tries again, unless
 * LOCK_NB). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

struct holder {
	pid_t		 pid;
	uint32_t	 held;		/* ZMX_LOCK_SH or ZMX_LOCK_EX */
	struct holder	*next;
};

/* A change to a path's holders, waiting for agentd. */
struct lwait {
	uint64_t	 serial, id;	/* serial 0: nobody to answer */
	pid_t		 pid;
	uint32_t	 op, was;
	struct lwait	*next;
};

struct slock {
	char		*path;
	struct holder	*holders;
	uint32_t	 remote;	/* what agentd holds for us */
	int		 remote_forced;	/* the end: let go whatever the
					 * processes hold */
	int		 busy;		/* a LOCK to agentd is out */
	struct lwait	*cur, *queue, **tail;
	struct slock	*next;
};

static struct slock *locks;
static int busy;

static struct slock *
lock_get(const char *path)
{
	struct slock *l;

	for (l = locks; l != NULL; l = l->next)
		if (strcmp(l->path, path) == 0)
			return l;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->path = strdup(path)) == NULL) {
		free(l);
		return NULL;
	}
	l->tail = &l->queue;
	l->next = locks;
	locks = l;
	return l;
}

static struct holder **
holder_find(struct slock *l, pid_t pid)
{
	struct holder **pp;

	for (pp = &l->holders; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->pid == pid)
			break;
	return pp;
}

/* Sets what pid holds (ZMX_LOCK_UN: nothing); returns what it held. */
static uint32_t
holder_set(struct slock *l, pid_t pid, uint32_t op)
{
	struct holder **pp = holder_find(l, pid), *h = *pp;
	uint32_t was = h ? h->held : ZMX_LOCK_UN;

	if (op == ZMX_LOCK_UN) {
		if (h != NULL) {
			*pp = h->next;
			free(h);
		}
	} else if (h != NULL)
		h->held = op;
	else if ((h = calloc(1, sizeof(*h))) != NULL) {
		h->pid = pid;
		h->held = op;
		h->next = l->holders;
		l->holders = h;
	}
	return was;
}

/* What the session's processes hold on path's memfd (fd): the kernel
 * says, when asked for a lock on another description. -1: no memfd. */
static int
probe(int fd)
{
	char p[64];
	int pfd, r = ZMX_LOCK_EX;

	if (fd < 0)
		return -1;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if ((pfd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (flock(pfd, LOCK_EX | LOCK_NB) == 0)
		r = ZMX_LOCK_UN;
	else if (flock(pfd, LOCK_SH | LOCK_NB) == 0)
		r = ZMX_LOCK_SH;
	close(pfd);		/* and its lock */
	return r;
}

static uint32_t
strongest(const struct slock *l)
{
	const struct holder *h;
	uint32_t s = ZMX_LOCK_UN;
	int k;

	if (l->remote_forced)
		return ZMX_LOCK_UN;
	if ((k = probe(zmx_files_memfd(l->path))) >= 0)
		return (uint32_t)k;
	for (h = l->holders; h != NULL; h = h->next)
		if (h->held > s)
			s = h->held;
	return s;
}

static void	next_req(struct slock *l);

static void
reply(struct lwait *w, int err)
{
	struct zmx_msg ok = { .type = ZMX_MSG_OK, .id = w->id };

	if (w->serial == 0)
		;
	else if (err < 0)
		zmx_local_error(w->serial, w->id, -err, "lock");
	else
		zmx_local_reply(w->serial, &ok, -1);
	free(w);
}

static void
answered(void *arg, struct zmx_frame *rep, int err)
{
	struct slock *l = arg;
	struct lwait *w = l->cur;
	uint32_t want = strongest(l);

	if (err == 0)
		err = zmx_msg_result(&rep->msg, ZMX_MSG_OK);
	l->busy = 0;
	busy--;
	l->cur = NULL;
	if (err == 0 || want == ZMX_LOCK_UN)
		l->remote = want;	/* an unlock holds nothing either way */
	else
		(void)holder_set(l, w->pid, w->was);	/* not taken */
	reply(w, want == ZMX_LOCK_UN ? 0 : err);
	next_req(l);
}

static void
send_lock(void *arg)
{
	struct slock *l = arg;
	struct zmx_msg m = { .type = ZMX_MSG_LOCK };

	m.u.lock.path = l->path;
	m.u.lock.op = strongest(l);
	zmx_link_call(&m, answered, l);
}

/* Takes the next change of l's queue, if agentd is not busy with one. */
static void
next_req(struct slock *l)
{
	struct zmx_msg m = { .type = ZMX_MSG_LOCK };
	struct lwait *w;

	while (!l->busy && (w = l->queue) != NULL) {
		if ((l->queue = w->next) == NULL)
			l->tail = &l->queue;
		w->was = holder_set(l, w->pid, w->op);
		if (strongest(l) == l->remote) {
			reply(w, 0);
			continue;
		}
		l->busy = 1;
		busy++;
		l->cur = w;
		/* a file the session made and has not written back must be
		 * on agentd's side to be locked there */
		m.u.lock.path = l->path;
		m.u.lock.op = strongest(l);
		if (!zmx_files_barrier(&m, send_lock, l))
			send_lock(l);
	}
}

static void
queue(struct slock *l, uint64_t serial, uint64_t id, pid_t pid, uint32_t op)
{
	struct lwait *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		if (serial != 0)
			zmx_local_error(serial, id, ENOMEM, "lock");
		return;
	}
	w->serial = serial;
	w->id = id;
	w->pid = pid;
	w->op = op;
	*l->tail = w;
	l->tail = &w->next;
	next_req(l);
}

void
zmx_locks_request(uint64_t serial, const struct zmx_msg *m)
{
	struct slock *l;

	if (m->u.lock.op > ZMX_LOCK_EX) {
		zmx_local_error(serial, m->id, EINVAL, "lock op");
		return;
	}
	if ((l = lock_get(m->u.lock.path)) == NULL) {
		zmx_local_error(serial, m->id, ENOMEM, "lock");
		return;
	}
	queue(l, serial, m->id, (pid_t)m->u.lock.pid, m->u.lock.op);
}

/* Lets go of what the processes (all: every one) that are gone held. */
static void
release(int all)
{
	struct slock *l;
	struct holder *h;
	pid_t pid;

	for (l = locks; l != NULL; l = l->next) {
		/* a memfd's holders: as the kernel now says */
		if (!all && !l->busy && l->queue == NULL &&
		    l->remote != ZMX_LOCK_UN && strongest(l) != l->remote) {
			queue(l, 0, 0, 0, ZMX_LOCK_UN);
			continue;
		}
		do {
			pid = 0;
			for (h = l->holders; h != NULL && pid == 0; h = h->next)
				if (all || (kill(h->pid, 0) < 0 &&
				    errno == ESRCH))
					pid = h->pid;
			/* queue() may free h: one at a time */
			if (pid != 0)
				queue(l, 0, 0, pid, ZMX_LOCK_UN);
		} while (pid != 0 && !l->busy);
	}
}

void
zmx_locks_gone(void)
{
	release(0);
}

void
zmx_locks_release_all(void)
{
	struct slock *l;

	release(1);
	for (l = locks; l != NULL; l = l->next)
		if (l->remote != ZMX_LOCK_UN && !l->busy && l->queue == NULL) {
			l->remote_forced = 1;
			queue(l, 0, 0, 0, ZMX_LOCK_UN);
		}
}

int
zmx_locks_held(void)
{
	const struct slock *l;

	for (l = locks; l != NULL; l = l->next)
		if (l->holders != NULL || l->remote != ZMX_LOCK_UN)
			return 1;
	return 0;
}

int
zmx_locks_busy(void)
{
	return busy;
}
