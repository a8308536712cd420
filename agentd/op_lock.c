/* op_lock.c - LOCK: whole-file flock(2) locks taken on agentd's side for
 * a session, so that a process there (or another session) is excluded
 * too. The session holds one fd per locked path with its lock; a lock
 * never blocks agentd (EWOULDBLOCK: the session tries again), and what a
 * session holds goes with it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "op.h"
#include "session.h"

struct zmx_lock {
	char		*path;
	int		 fd;
	uint32_t	 held;		/* ZMX_LOCK_SH or ZMX_LOCK_EX */
	struct zmx_lock	*next;
};

static struct zmx_lock **
find(struct zmx_session *s, const char *path)
{
	struct zmx_lock **pp;

	for (pp = &s->locks; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->path, path) == 0)
			return pp;
	return pp;
}

static void
drop(struct zmx_lock **pp)
{
	struct zmx_lock *l = *pp;

	*pp = l->next;
	close(l->fd);	/* the lock goes with the fd */
	free(l->path);
	free(l);
}

void
zmx_op_lock_drop_all(struct zmx_session *s)
{
	while (s->locks != NULL)
		drop(&s->locks);
}

int
op_lock(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_lock *q = &m->u.lock;
	struct zmx_lock **pp, *l;
	int fd, r;

	c->path = q->path;
	if (q->op != ZMX_LOCK_UN && q->op != ZMX_LOCK_SH &&
	    q->op != ZMX_LOCK_EX)
		return zmx_op_fail(c, -EINVAL, "%s: bad lock op %u", q->path,
		    q->op);
	pp = find(c->s, q->path);
	if (q->op == ZMX_LOCK_UN) {
		if (*pp != NULL)
			drop(pp);
		c->rep.type = ZMX_MSG_OK;
		return 0;
	}
	if ((l = *pp) == NULL) {
		/* O_NONBLOCK: a FIFO must not hold agentd up */
		if ((fd = zmx_op_open(c, q->path, O_RDONLY | O_NONBLOCK |
		    O_NOCTTY, 0)) < 0)
			return fd;
		if ((l = calloc(1, sizeof(*l))) == NULL ||
		    (l->path = strdup(q->path)) == NULL) {
			free(l);
			close(fd);
			return -ENOMEM;
		}
		l->fd = fd;
		l->next = c->s->locks;
		c->s->locks = l;
		pp = &c->s->locks;
	}
	r = flock(l->fd, (q->op == ZMX_LOCK_EX ? LOCK_EX : LOCK_SH) |
	    LOCK_NB) < 0 ? -errno : 0;
	if (r < 0 && l->held == 0)
		drop(pp);
	if (r < 0)
		return r == -EWOULDBLOCK ? -EAGAIN : r;
	l->held = q->op;
	c->rep.type = ZMX_MSG_OK;
	return 0;
}
