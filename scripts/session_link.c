/* session_link.c - the session's one DEALER connection to agentd: the
 * HELLO that joins it to the session, many requests in flight matched to
 * replies by id, a resend on a new connection after half the timeout of
 * silence (same ids: agentd's reply cache answers what it carried out),
 * a new HELLO when agentd forgot the session, and EIO for what is still
 * unanswered after the whole timeout (session.h). agentd's INVALs (id 0)
 * go to the attribute and file caches; on a new connection or a new
 * HELLO, what those caches hold is trusted no more. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "session.h"
#include "wire.h"

#define LINK_BUCKETS	1024
#define LINK_DOWN_MS	5000	/* fail fast this long after a timeout */
/* Requests out to agentd at once: the session carries every process's
 * requests on one connection, and agentd holds back (then drops) what a
 * connection sends past its limit (agentd(8), --max-inflight, 64) while
 * a reply waits for room; the rest wait here, in order. */
#define LINK_WINDOW	32

struct lreq {
	uint64_t		 id;
	uint32_t		 type;
	struct zmx_buf		 frame;		/* as sent, for a resend */
	zmx_link_done_fn	*fn;
	void			*arg;
	int			 unsent;	/* the socket's queue was full */
	int			 resent_lost;	/* resent after ENOTCONN */
	struct lreq		*hnext;
	struct lreq		*prev, *next;	/* in id order */
};

struct zmx_link_stats zmx_link_stats;

static struct {
	const struct zmx_session_cfg *cfg;
	void		*ctx, *sock;
	uint64_t	 next_id;
	uint64_t	 hello_id;	/* the HELLO in flight, 0: none */
	int		 helloed;
	struct lreq	*bucket[LINK_BUCKETS];
	struct lreq	*head, *tail;
	struct lreq	*failq;		/* failed at once, told later */
	int		 busy;
	int		 unsent;
	int		 polls;		/* PREAD_OUTs out: agentd holds them
					 * until a command writes, so they
					 * take no room in the window */
	int		 npolls;	/* PREAD_OUTs in all, out or not */
	int64_t		 quiet_since;	/* last sign of life, or first wait */
	int		 retried;	/* this wait went to a new socket */
	int64_t		 down_until;
	int		 closing;	/* zmx_link_fini(): nothing goes out */
	struct zmx_buf	 buf;
} L;

static int
link_connect(void)
{
	int r;

	if ((L.sock = zmq_socket(L.ctx, ZMQ_DEALER)) == NULL)
		return -errno;
	r = zmx_wire_common_opts(L.sock);
	if (r == 0)
		r = zmx_wire_client_keys(L.sock, L.cfg->kp,
		    L.cfg->kp ? L.cfg->server_pub : NULL);
	if (r == 0 && zmq_connect(L.sock, L.cfg->endpoint) < 0)
		r = -errno;
	if (r < 0) {
		zmx_err("%s: cannot connect: %s", L.cfg->endpoint,
		    zmq_strerror(-r));
		zmq_close(L.sock);
		L.sock = NULL;
	}
	L.helloed = 0;
	L.hello_id = 0;
	return r;
}

int
zmx_link_init(const struct zmx_session_cfg *cfg)
{
	uint32_t nonce;

	L.cfg = cfg;
	if (getrandom(&nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
		nonce = (uint32_t)zmx_now_ms() ^ (uint32_t)getpid() << 12;
	L.next_id = (uint64_t)nonce << 32;
	if ((L.ctx = zmq_ctx_new()) == NULL)
		return -errno;
	return link_connect();
}

int
zmx_link_fd(void)
{
	int fd = -1;
	size_t len = sizeof(fd);

	if (L.sock != NULL)
		(void)zmq_getsockopt(L.sock, ZMQ_FD, &fd, &len);
	return fd;
}

int
zmx_link_busy(void)
{
	/* a wait for a command's output is no work to finish */
	return L.busy - L.npolls + (L.failq != NULL);
}

static struct lreq *
lookup(uint64_t id)
{
	struct lreq *q;

	for (q = L.bucket[id % LINK_BUCKETS]; q != NULL; q = q->hnext)
		if (q->id == id)
			return q;
	return NULL;
}

static void
unlink_req(struct lreq *q)
{
	struct lreq **pp = &L.bucket[q->id % LINK_BUCKETS];

	while (*pp != q)
		pp = &(*pp)->hnext;
	*pp = q->hnext;
	if (q->prev)
		q->prev->next = q->next;
	else
		L.head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else
		L.tail = q->prev;
	if (q->unsent)
		L.unsent--;
	else if (q->type == ZMX_MSG_PREAD_OUT)
		L.polls--;
	if (q->type == ZMX_MSG_PREAD_OUT)
		L.npolls--;
	L.busy--;
}

/* Sends a frame; 1 if the socket's queue was full (sent later). */
static int
send_raw(const struct zmx_buf *b)
{
	if (L.sock == NULL)
		return 1;
	if (zmq_send(L.sock, b->data, b->len, ZMQ_DONTWAIT) < 0)
		return 1;	/* EAGAIN, or a socket being replaced */
	zmx_link_stats.bytes_out += b->len;
	return 0;
}

static void
send_hello(void)
{
	struct zmx_msg m = { .type = ZMX_MSG_HELLO };
	char client[64];

	snprintf(client, sizeof(client), "zmx session %s pid %ld",
	    ZMX_VERSION, (long)getpid());
	m.id = L.hello_id = ++L.next_id;
	m.u.hello.version = ZMX_PROTO_VERSION;
	m.u.hello.token = L.cfg->token;
	m.u.hello.token_len = sizeof(L.cfg->token);
	m.u.hello.client = client;
	m.u.hello.cookie = L.cfg->cookie;
	m.u.hello.cookie_len = L.cfg->cookie_len;
	L.buf.len = 0;
	if (zmx_msg_encode(&m, &L.buf) == 0)
		(void)send_raw(&L.buf);
}

static void
send_req(struct lreq *q)
{
	if (!L.helloed && L.hello_id == 0)
		send_hello();
	if (q->type == ZMX_MSG_PREAD_OUT) {
		/* a wait for output: out of turn, outside the window */
		if (send_raw(&q->frame)) {
			q->unsent = 1;
			L.unsent++;
		} else
			L.polls++;
		return;
	}
	if ((L.unsent > 0 || L.busy - L.unsent - L.polls > LINK_WINDOW) &&
	    !q->unsent) {
		/* keep the order: behind those still waiting */
		q->unsent = 1;
		L.unsent++;
		return;
	}
	if (send_raw(&q->frame)) {
		if (!q->unsent)
			L.unsent++;
		q->unsent = 1;
	} else if (q->unsent) {
		q->unsent = 0;
		L.unsent--;
	}
}

static void	flush_unsent(void);

static void
finish(struct lreq *q, struct zmx_frame *rep, int err)
{
	unlink_req(q);
	if (L.unsent > 0)
		flush_unsent();		/* room in the window */
	q->fn(q->arg, rep, err);
	zmx_buf_free(&q->frame);
	free(q);
}

/* A request that fails at once is told so from zmx_link_events(), never
 * inside zmx_link_call(): callers need not expect their callback early. */
static void
fail_later(struct lreq *q, int err)
{
	zmx_buf_free(&q->frame);
	q->resent_lost = err;		/* the error, for drain_failed() */
	q->next = L.failq;
	L.failq = q;
}

static void
drain_failed(void)
{
	struct lreq *q;

	while ((q = L.failq) != NULL) {
		L.failq = q->next;
		q->fn(q->arg, NULL, q->resent_lost);
		free(q);
	}
}

void
zmx_link_call(struct zmx_msg *m, zmx_link_done_fn *fn, void *arg)
{
	struct lreq *q;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		zmx_err("session: out of memory; exiting");
		exit(1);	/* a session that cannot keep its promises */
	}
	q->id = m->id = ++L.next_id;
	q->type = m->type;
	q->fn = fn;
	q->arg = arg;
	if (zmx_msg_encode(m, &q->frame) < 0) {
		fail_later(q, -EINVAL);
		return;
	}
	if (L.closing || (L.down_until != 0 && zmx_now_ms() < L.down_until)) {
		fail_later(q, -EIO);
		return;
	}
	if (m->type < ZMX_MSG_MAX)
		zmx_link_stats.req[m->type]++;
	if (m->type == ZMX_MSG_PREAD_OUT)
		L.npolls++;
	q->hnext = L.bucket[q->id % LINK_BUCKETS];
	L.bucket[q->id % LINK_BUCKETS] = q;
	q->prev = L.tail;
	if (L.tail)
		L.tail->next = q;
	else
		L.head = q;
	L.tail = q;
	if (L.busy++ == 0) {
		L.quiet_since = zmx_now_ms();
		L.retried = 0;
		zmx_link_stats.round_trips++;
	}
	send_req(q);
}

static void
flush_unsent(void)
{
	struct lreq *q;

	for (q = L.head; q != NULL && L.unsent > 0; q = q->next) {
		if (!q->unsent)
			continue;
		if (q->type != ZMX_MSG_PREAD_OUT &&
		    L.busy - L.unsent - L.polls >= LINK_WINDOW)
			continue;	/* the polls behind may go */
		if (send_raw(&q->frame))
			return;
		q->unsent = 0;
		L.unsent--;
		if (q->type == ZMX_MSG_PREAD_OUT)
			L.polls++;
	}
}

/* Whether a reply says the connection has no session (agentd restarted
 * or forgot it). errno crosses by name. */
static int
is_lost(const struct zmx_frame *f)
{
	return f->msg.type == ZMX_MSG_ERROR &&
	    strcmp(f->msg.u.error.errname, "ENOTCONN") == 0;
}

/* INVALs may have been lost, or agentd forgot what it watched for us. */
static void
trust_nothing(void)
{
	zmx_attr_inval("/", 0);
	zmx_files_inval("/", 0);
}

static void
got_hello(struct zmx_frame *f)
{
	L.hello_id = 0;
	if (f->msg.type == ZMX_MSG_WELCOME) {
		L.helloed = 1;
		if (L.down_until)
			L.down_until = 0;
		return;
	}
	zmx_err("%s: HELLO refused: %s %s", L.cfg->endpoint,
	    f->msg.type == ZMX_MSG_ERROR ? f->msg.u.error.errname : "?",
	    f->msg.type == ZMX_MSG_ERROR ? f->msg.u.error.detail : "");
	/* nothing on this connection will be served: fail what waits and
	 * what comes for a while, then try again */
	L.down_until = zmx_now_ms() + LINK_DOWN_MS;
	while (L.head != NULL)
		finish(L.head, NULL, -EIO);
}

static void
got_frame(struct zmx_frame *f)
{
	struct lreq *q;

	L.quiet_since = zmx_now_ms();
	if (f->msg.id == 0 && f->msg.type == ZMX_MSG_INVAL) {
		zmx_debug("INVAL %s 0x%x", f->msg.u.inval.path,
		    f->msg.u.inval.flags);
		zmx_attr_inval(f->msg.u.inval.path, f->msg.u.inval.flags);
		zmx_files_inval(f->msg.u.inval.path, f->msg.u.inval.flags);
		return;
	}
	if (L.hello_id != 0 && f->msg.id == L.hello_id) {
		got_hello(f);
		return;
	}
	if ((q = lookup(f->msg.id)) == NULL)
		return;		/* a late answer to what timed out */
	if (is_lost(f) && !q->resent_lost) {
		/* agentd forgot us: join again, ask again */
		q->resent_lost = 1;
		if (L.helloed)
			trust_nothing();
		L.helloed = 0;
		if (L.hello_id == 0)
			send_hello();
		send_req(q);
		return;
	}
	finish(q, f, 0);
}

void
zmx_link_events(void)
{
	struct zmx_frame f;
	char why[256];
	size_t len;
	int ev, r;

	drain_failed();
	while (L.sock != NULL) {
		len = sizeof(ev);
		if (zmq_getsockopt(L.sock, ZMQ_EVENTS, &ev, &len) < 0)
			return;
		if ((ev & ZMQ_POLLOUT) && L.unsent > 0)
			flush_unsent();
		if (!(ev & ZMQ_POLLIN))
			return;
		r = zmx_wire_recv(L.sock, &f, ZMQ_DONTWAIT, why, sizeof(why));
		if (r == -EAGAIN || r == -EINTR) {
			zmx_frame_close(&f);
			continue;
		}
		if (r < 0) {
			zmx_warn("%s: bad reply: %s", L.cfg->endpoint,
			    r == -EPROTO ? why : strerror(-r));
			zmx_frame_close(&f);
			continue;
		}
		zmx_link_stats.bytes_in += zmq_msg_size(f.mem);
		got_frame(&f);
		zmx_frame_close(&f);
	}
}

/* Everything unanswered again, on a new connection, with its id. */
static void
resend_all(void)
{
	struct lreq *q;

	if (L.sock != NULL)
		zmq_close(L.sock);
	L.sock = NULL;
	trust_nothing();
	if (link_connect() < 0)
		return;
	zmx_link_stats.retries++;
	send_hello();
	/* all of them unsent again; the window lets them out in order */
	L.unsent = 0;
	L.polls = 0;
	for (q = L.head; q != NULL; q = q->next) {
		q->unsent = 1;
		L.unsent++;
	}
	flush_unsent();
}

int
zmx_link_tick(void)
{
	int64_t now = zmx_now_ms(), half = L.cfg->timeout_ms / 2, left;

	/* what failed at once (a caller's callback may have sent more while
	 * the session fails fast) is told at the next wake-up: now */
	if (L.failq != NULL)
		return 0;
	if (L.busy == 0)
		return -1;
	left = L.quiet_since + half - now;
	if (left > 0)
		return (int)left;
	if (!L.retried) {
		/* silent for half the time: the connection may be dead
		 * without knowing it (a dropped link, a NAT that forgot it) */
		L.retried = 1;
		L.quiet_since = now;
		resend_all();
		return (int)half;
	}
	zmx_err("%s: no answer from agentd for %d ms: EIO (the session "
	    "fails fast for %d ms)", L.cfg->endpoint, L.cfg->timeout_ms,
	    LINK_DOWN_MS);
	zmx_link_stats.timeouts++;
	L.down_until = now + LINK_DOWN_MS;
	trust_nothing();
	while (L.head != NULL)
		finish(L.head, NULL, -EIO);
	/* late replies must not reach what comes next */
	if (L.sock != NULL)
		zmq_close(L.sock);
	L.sock = NULL;
	(void)link_connect();
	return L.failq != NULL ? 0 : -1;
}

void
zmx_link_fini(void)
{
	L.closing = 1;
	while (L.head != NULL || L.failq != NULL) {
		while (L.head != NULL)
			finish(L.head, NULL, -EIO);
		drain_failed();
	}
	if (L.sock != NULL)
		zmq_close(L.sock);
	if (L.ctx != NULL)
		zmq_ctx_term(L.ctx);
	zmx_buf_free(&L.buf);
	L.sock = L.ctx = NULL;
}
