/* session_local.c - the session's Unix socket: accepts the agent's
 * processes (peer credentials checked), reads their frames, forwards
 * requests to agentd under the session's own ids and their replies back
 * under the client's, and answers the local leg's own requests
 * (CONNECT: a new connection for a thread, a fork child or an exec'd
 * program, passed as an fd). Nothing here blocks: a client that does not
 * read its replies only grows its own queue. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "local.h"
#include "log.h"
#include "session.h"

struct outq {
	struct outq	*next;
	size_t		 len, off;
	int		 fd;		/* passed with the first byte, or -1 */
	unsigned char	 data[];
};

struct client {
	int		 fd;
	uint64_t	 serial;
	pid_t		 pid;
	uid_t		 uid;
	unsigned char	*in;
	size_t		 inlen, incap;
	struct outq	*out, *outtail;
	struct client	*prev, *next;
	uint32_t	 ev;		/* registered epoll events */
};

/* A forwarded request's way back. */
struct fwd {
	uint64_t	 serial;
	uint64_t	 id;		/* the client's */
	struct zmx_files_note *note;	/* what its success changes */
	struct zmx_attr_note *anote;	/* what it tells or changes */
	struct zmx_buf	 held;		/* the request, while a barrier
					 * holds it back */
};

static int listen_kind;
static struct {
	int		 epfd;
	int		 lfd;
	uint64_t	 serial;
	struct client	*clients;
	struct zmx_buf	 buf;
} S = { .lfd = -1 };

static void
set_events(struct client *c)
{
	struct epoll_event ev = { .data.ptr = c };
	uint32_t want = EPOLLIN | (c->out ? EPOLLOUT : 0);

	if (want == c->ev)
		return;
	ev.events = want;
	(void)epoll_ctl(S.epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->ev = want;
}

static struct client *
client_add(int fd, pid_t pid, uid_t uid)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->serial = ++S.serial;
	c->pid = pid;
	c->uid = uid;
	c->ev = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(S.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		zmx_warn("session: epoll: %s", strerror(errno));
		close(fd);
		free(c);
		return NULL;
	}
	c->next = S.clients;
	if (S.clients)
		S.clients->prev = c;
	S.clients = c;
	return c;
}

static void
client_drop(struct client *c)
{
	struct outq *o;

	if (c->prev)
		c->prev->next = c->next;
	else
		S.clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	close(c->fd);	/* leaves the epoll set with it */
	zmx_locks_gone();	/* if it was a holder's last, it ended */
	zmx_procs_client_gone(c->serial);
	while ((o = c->out) != NULL) {
		c->out = o->next;
		if (o->fd >= 0)
			close(o->fd);
		free(o);
	}
	free(c->in);
	free(c);
}

static struct client *
client_find(uint64_t serial)
{
	struct client *c;

	for (c = S.clients; c != NULL; c = c->next)
		if (c->serial == serial)
			return c;
	return NULL;
}

/* Writes what c's queue holds, as far as the socket takes it. */
static void
client_flush(struct client *c)
{
	struct outq *o;
	ssize_t n;

	while ((o = c->out) != NULL) {
		n = zmx_local_send(c->fd, o->data + o->off, o->len - o->off,
		    o->off == 0 ? o->fd : -1, 1);
		if (n == -EAGAIN || n == -EINTR)
			break;
		if (n < 0)
			return;		/* gone: its EPOLLHUP drops it */
		if (o->off == 0 && o->fd >= 0) {
			close(o->fd);
			o->fd = -1;
		}
		o->off += (size_t)n;
		if (o->off < o->len)
			break;
		c->out = o->next;
		if (c->out == NULL)
			c->outtail = NULL;
		free(o);
	}
	set_events(c);
}

/* Queues m for c (with fd, which becomes the queue's) and sends. */
static void
client_reply(struct client *c, const struct zmx_msg *m, int fd)
{
	struct outq *o;

	S.buf.len = 0;
	if (zmx_msg_encode(m, &S.buf) < 0 ||
	    (o = malloc(sizeof(*o) + ZMX_LOCAL_HDR + S.buf.len)) == NULL) {
		if (fd >= 0)
			close(fd);
		zmx_warn("session: pid %ld: a reply could not be made",
		    (long)c->pid);
		return;
	}
	o->next = NULL;
	o->len = ZMX_LOCAL_HDR + S.buf.len;
	o->off = 0;
	o->fd = fd;
	zmx_local_hdr(o->data, (uint32_t)S.buf.len);
	memcpy(o->data + ZMX_LOCAL_HDR, S.buf.data, S.buf.len);
	if (c->outtail)
		c->outtail->next = o;
	else
		c->out = o;
	c->outtail = o;
	client_flush(c);
}

static void
client_error(struct client *c, uint64_t id, int err, const char *detail)
{
	struct zmx_msg m;

	zmx_msg_error(&m, id, err, detail);
	client_reply(c, &m, -1);
}

void
zmx_local_reply(uint64_t serial, const struct zmx_msg *m, int fd)
{
	struct client *c = client_find(serial);

	if (c != NULL)
		client_reply(c, m, fd);
	else if (fd >= 0)
		close(fd);
}

void
zmx_local_error(uint64_t serial, uint64_t id, int err, const char *detail)
{
	struct client *c = client_find(serial);

	if (c != NULL)
		client_error(c, id, err, detail);
}

static void
forwarded(void *arg, struct zmx_frame *rep, int err)
{
	struct fwd *w = arg;
	struct client *c = client_find(w->serial);

	zmx_files_apply(w->note, err == 0 && rep->msg.type != ZMX_MSG_ERROR ?
	    &rep->msg : NULL);
	/* before the client hears it, so its next stat sees the change */
	zmx_attr_apply(w->anote, err == 0 ? rep : NULL);
	if (c != NULL) {
		if (err < 0)
			client_error(c, w->id, -err, "the session could not "
			    "reach agentd");
		else {
			rep->msg.id = w->id;
			client_reply(c, &rep->msg, -1);
		}
	}
	free(w);
}

/* A request held back by a barrier goes on. */
static void
resume(void *arg)
{
	struct fwd *w = arg;
	struct zmx_msg m;
	char why[256];

	if (zmx_msg_decode(&m, w->held.data, w->held.len, why,
	    sizeof(why)) < 0) {
		zmx_msg_close(&m);
		zmx_buf_free(&w->held);
		forwarded(w, NULL, -EIO);
		return;
	}
	zmx_link_call(&m, forwarded, w);
	zmx_msg_close(&m);
	zmx_buf_free(&w->held);
}

/* CONNECT: a socketpair, one end a new client with c's credentials, the
 * other end c's, passed back with OK. */
static void
do_connect(struct client *c, const struct zmx_msg *m)
{
	struct zmx_msg ok = { .type = ZMX_MSG_OK, .id = m->id };
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, sv) < 0) {
		client_error(c, m->id, errno, "socketpair");
		return;
	}
	if (client_add(sv[0], c->pid, c->uid) == NULL) {
		close(sv[1]);
		client_error(c, m->id, ENOMEM, "no room for a client");
		return;
	}
	/* the client's end blocks: the shim waits on it */
	(void)fcntl(sv[1], F_SETFL, 0);
	client_reply(c, &ok, sv[1]);
}

void
zmx_local_forward(uint64_t serial, const struct zmx_msg *m)
{
	struct zmx_msg copy = *m;	/* its id becomes the session's */
	struct fwd *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		zmx_local_error(serial, m->id, ENOMEM, "session out of memory");
		return;
	}
	w->serial = serial;
	w->id = m->id;
	w->anote = zmx_attr_note(m);
	/* a changed file it names goes to agentd first; the request
	 * waits, as its bytes (m borrows the input buffer) */
	if (zmx_msg_encode(m, &w->held) == 0 &&
	    zmx_files_barrier(m, resume, w)) {
		w->note = zmx_files_note(m);
		return;
	}
	w->note = zmx_files_note(m);
	zmx_buf_free(&w->held);
	zmx_link_call(&copy, forwarded, w);
}

static void
client_frame(struct client *c, const unsigned char *p, size_t len)
{
	struct zmx_msg m;
	char why[256];

	if (zmx_msg_decode(&m, p, len, why, sizeof(why)) < 0) {
		zmx_warn("session: pid %ld: bad frame: %s", (long)c->pid, why);
		if (m.type != 0)
			client_error(c, m.id, EPROTO, why);
		zmx_msg_close(&m);
		return;
	}
	switch (zmx_msg_kind(m.type)) {
	case ZMX_LOC:
		if (m.type == ZMX_MSG_CONNECT)
			do_connect(c, &m);
		else if (m.type == ZMX_MSG_FOPEN)
			zmx_files_fopen(c->serial, &m);
		else if (m.type == ZMX_MSG_FSYNC)
			zmx_files_fsync(c->serial, &m);
		else
			client_error(c, m.id, ENOSYS, "not served here");
		break;
	case ZMX_REQ:
		if (m.type == ZMX_MSG_HELLO) {
			client_error(c, m.id, EPROTO, "the session says HELLO "
			    "for its processes");
			break;
		}
		if (zmx_files_answer(c->serial, &m))
			break;
		if (m.type == ZMX_MSG_LOCK) {
			zmx_locks_request(c->serial, &m);
			break;
		}
		if (m.type == ZMX_MSG_SPAWN) {
			zmx_procs_spawn(c->serial, &m);
			break;
		}
		if (zmx_procs_hold(c->serial, &m))
			break;
		if (m.type == ZMX_MSG_PROC_CTL)
			zmx_procs_ctl(&m);
		if (!zmx_attr_serve(c->serial, &m))
			zmx_local_forward(c->serial, &m);
		break;
	default:
		client_error(c, m.id, EPROTO, "a reply sent as a request");
	}
	zmx_msg_close(&m);
}

/* Reads what c sent and handles every whole frame; 0, or -1 when c is
 * gone (dropped). */
static int
client_read(struct client *c)
{
	size_t off = 0, need;
	ssize_t n;
	uint32_t len;
	int fd;

	for (;;) {
		if (c->incap - c->inlen < 65536) {
			size_t cap = c->incap ? c->incap * 2 : 131072;
			unsigned char *p = realloc(c->in, cap);

			if (p == NULL) {
				client_drop(c);
				return -1;
			}
			c->in = p;
			c->incap = cap;
		}
		fd = -1;
		n = zmx_local_recv(c->fd, c->in + c->inlen, c->incap -
		    c->inlen, &fd, 1);
		if (fd >= 0)
			close(fd);	/* clients pass none */
		if (n == -EAGAIN || n == -EINTR)
			break;
		if (n <= 0) {
			client_drop(c);
			return -1;
		}
		c->inlen += (size_t)n;
		while (c->inlen - off >= ZMX_LOCAL_HDR) {
			len = zmx_local_len(c->in + off);
			if (len > ZMX_MAX_FRAME) {
				zmx_warn("session: pid %ld: frame of %u bytes",
				    (long)c->pid, len);
				client_drop(c);
				return -1;
			}
			need = ZMX_LOCAL_HDR + (size_t)len;
			if (c->inlen - off < need) {
				if (c->incap < need) {
					unsigned char *p;

					memmove(c->in, c->in + off,
					    c->inlen - off);
					c->inlen -= off;
					off = 0;
					if ((p = realloc(c->in, need +
					    65536)) == NULL) {
						client_drop(c);
						return -1;
					}
					c->in = p;
					c->incap = need + 65536;
				}
				break;
			}
			client_frame(c, c->in + off + ZMX_LOCAL_HDR, len);
			off += need;
		}
		if (off > 0) {
			memmove(c->in, c->in + off, c->inlen - off);
			c->inlen -= off;
			off = 0;
		}
	}
	return 0;
}

static void
accept_all(void)
{
	struct ucred cr;
	socklen_t len;
	int fd;

	while ((fd = accept4(S.lfd, NULL, NULL, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) >= 0) {
		len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
		    (cr.uid != geteuid() && cr.uid != 0)) {
			zmx_warn("session: refused pid %ld uid %ld: not the "
			    "session's user", (long)cr.pid, (long)cr.uid);
			close(fd);
			continue;
		}
		(void)client_add(fd, cr.pid, cr.uid);
	}
}

void
zmx_local_event(void *data, uint32_t events)
{
	struct client *c = data;

	if (data == &listen_kind) {
		accept_all();
		return;
	}
	if (events & EPOLLOUT)
		client_flush(c);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		(void)client_read(c);
}

int
zmx_local_listen(const char *dir, int epfd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &listen_kind };

	S.epfd = epfd;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir,
	    ZMX_LOCAL_SOCK) >= sizeof(sa.sun_path)) {
		zmx_err("session: %s/%s: name too long for a socket", dir,
		    ZMX_LOCAL_SOCK);
		return -ENAMETOOLONG;
	}
	if ((S.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0 ||
	    bind(S.lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(S.lfd, 512) < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, S.lfd, &ev) < 0) {
		int e = errno;

		zmx_err("session: %s: %s", sa.sun_path, strerror(e));
		return -e;
	}
	return 0;
}

void
zmx_local_fini(void)
{
	while (S.clients != NULL)
		client_drop(S.clients);
	if (S.lfd >= 0)
		close(S.lfd);
	S.lfd = -1;
	zmx_buf_free(&S.buf);
}

int
zmx_local_clients(void)
{
	struct client *c;
	int n = 0;

	for (c = S.clients; c != NULL; c = c->next)
		n++;
	return n;
}
