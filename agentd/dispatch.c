/* dispatch.c - one request in, one reply out: reads [identity][frame]
 * from the ROUTER, queues it behind a peer that is not reading its
 * replies (flow.c), refuses what is malformed or out of turn, finds the
 * session, answers a repeated change from the reply cache (replies.c)
 * or runs the op_* from the table derived from msg.def as the session's
 * user, writes the audit line and sends the reply. Pending inotify
 * events are read first, so that the reply follows the INVALs of every
 * change made before the request arrived (watch.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "audit.h"
#include "creds.h"
#include "dispatch.h"
#include "err.h"
#include "flow.h"
#include "log.h"
#include "op.h"
#include "replies.h"
#include "session.h"
#include "watch.h"
#include "wire.h"

/* The handler for every REQ row; a row without an op_* fails the link.
 * REP rows leave their slot NULL: a reply sent as a request is
 * refused. */
#define OP_REQ(N, n)	[ZMX_MSG_##N] = op_##n,
#define OP_REP(N, n)
#define OP_LOC(N, n)
#define MSG(N, n, id, kind, fields) OP_##kind(N, n)
static zmx_op_fn *const op_table[ZMX_MSG_MAX] = {
#include "msg.def"
};
#undef MSG
#undef OP_REQ
#undef OP_REP
#undef OP_LOC

/* The context reused for every request, with its scratch buffers, and
 * the encoder's buffer. Written by the main loop only. */
static struct zmx_op_ctx dispatch_ctx;
static struct zmx_buf dispatch_out;

/* The ROUTER, for answers given later; set once before serving. */
static void *dispatch_sock;

/* Later answers that found their peer's one held reply slot taken
 * (flow.c), in the order they were made; dispatch_nwaiting counts
 * them. Written by the main loop only. */
struct dispatch_wait {
	unsigned char		 ident[255];
	size_t			 identlen;
	void			*frame;
	size_t			 len;
	struct dispatch_wait	*next;
};
static struct dispatch_wait *dispatch_waiting, **dispatch_wtail =
    &dispatch_waiting;
static int dispatch_nwaiting;

void
zmx_dispatch_init(void *sock)
{
	dispatch_sock = sock;
}

void
zmx_dispatch_fini(void)
{
	struct dispatch_wait *w;

	while ((w = dispatch_waiting) != NULL) {
		dispatch_waiting = w->next;
		free(w->frame);
		free(w);
	}
	dispatch_wtail = &dispatch_waiting;
	dispatch_nwaiting = 0;
	free(dispatch_ctx.data);
	free(dispatch_ctx.ents);
	free(dispatch_ctx.names);
	memset(&dispatch_ctx, 0, sizeof(dispatch_ctx));
	zmx_buf_free(&dispatch_out);
}

int
op_ping(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	c->rep.type = ZMX_MSG_PONG;
	c->rep.u.pong.stamp = m->u.ping.stamp;
	c->rep.u.pong.server = "agentd " ZMX_VERSION;
	return 0;
}

/* Sends c->rep; with keep, the session's reply cache keeps a copy. */
static void
send_reply(void *sock, struct zmx_op_ctx *c, int keep)
{
	int r;

	dispatch_out.len = 0;
	if ((r = zmx_msg_encode(&c->rep, &dispatch_out)) == 0 &&
	    dispatch_out.len > ZMX_MAX_FRAME)
		r = -EFBIG;
	if (r < 0) {
		/* an answer too big for the peer to take (a huge
		 * directory) becomes an error it can take */
		snprintf(c->detail, sizeof(c->detail), "%s: reply of %zu "
		    "bytes, more than %u", c->path ? c->path : "?",
		    dispatch_out.len, ZMX_MAX_FRAME);
		zmx_msg_error(&c->rep, c->rep.id, -r, c->detail);
		dispatch_out.len = 0;
		if (zmx_msg_encode(&c->rep, &dispatch_out) < 0)
			return;
	}
	if (keep && c->s != NULL && zmx_replies_put(&c->s->replies,
	    c->rep.id, c->reqtype, c->req, c->reqlen, dispatch_out.data,
	    dispatch_out.len) < 0)
		zmx_warn("session %s: reply to %llu not kept: out of memory",
		    c->s->tag, (unsigned long long)c->rep.id);
	(void)zmx_flow_send(sock, zmx_session_conn(c->ident, c->identlen),
	    c->ident, c->identlen, dispatch_out.data, dispatch_out.len);
	/* keep the buffer from growing to a once-seen 64 MiB forever */
	if (dispatch_out.cap > 4 * ZMX_CHUNK) {
		zmx_buf_free(&dispatch_out);
	}
}

/* Fills rep with ERROR for err, with c->detail or "op path: why". */
static void
error_reply(struct zmx_op_ctx *c, const char *opname, int err)
{
	if (c->detail[0] == '\0')
		snprintf(c->detail, sizeof(c->detail), "%s %s: %s", opname,
		    c->path ? c->path : "", strerror(err));
	zmx_msg_error(&c->rep, c->rep.id, err, c->detail);
}

/* Drains the rest of a multipart message. Returns how many parts. */
static int
drain(void *sock)
{
	zmq_msg_t m;
	int more = 1, n = 0;
	size_t len = sizeof(more);

	while (more) {
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			break;
		}
		zmq_msg_close(&m);
		n++;
		if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len) < 0)
			break;
	}
	return n;
}

static void
run(void *sock, struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const char *name = zmx_msg_name(m->type);
	zmx_op_fn *op = op_table[m->type];
	const void *kept;
	size_t keptlen;
	int r, keep = 0;

	if (op == NULL) {
		const char *what = zmx_msg_kind(m->type) == ZMX_LOC ?
		    "a request of the local leg (for zmx run)" :
		    "a reply, not a request";

		zmx_warn("%s (key %s): %s is %s", c->peer,
		    c->user_id ? c->user_id : "-", name, what);
		snprintf(c->detail, sizeof(c->detail), "%s is %s", name, what);
		error_reply(c, name, EPROTO);
		goto out;
	}
	c->s = zmx_session_lookup(c->ident, c->identlen, c->user_id,
	    c->srcfd, time(NULL));
	if (c->s == NULL && m->type != ZMX_MSG_HELLO &&
	    m->type != ZMX_MSG_PING) {
		snprintf(c->detail, sizeof(c->detail), "send HELLO first");
		error_reply(c, name, ENOTCONN);
		goto out;
	}
	if (c->s != NULL)
		zmx_watch_use(c->s, zmx_session_conn(c->ident, c->identlen));
	/* a retry of a change already made: the first answer again */
	if (c->s != NULL && (kept = zmx_replies_get(c->s->replies, m->id,
	    m->type, c->req, c->reqlen, &keptlen)) != NULL) {
		zmx_info("session %s: %s %llu answered again from the reply "
		    "cache", c->s->tag, name, (unsigned long long)m->id);
		(void)zmx_flow_send(sock, zmx_session_conn(c->ident,
		    c->identlen), c->ident, c->identlen, kept, keptlen);
		return;
	}
	if (c->s != NULL && m->type != ZMX_MSG_HELLO &&
	    m->type != ZMX_MSG_PING) {
		if ((r = zmx_creds_enter(&c->s->creds)) < 0) {
			zmx_err("session %s: cannot become uid %u: %s",
			    c->s->tag, (unsigned)c->s->creds.uid,
			    strerror(-r));
			snprintf(c->detail, sizeof(c->detail), "agentd cannot "
			    "act as uid %u", (unsigned)c->s->creds.uid);
			error_reply(c, name, -r);
			goto out;
		}
		/* watched before it is read, so no change is missed */
		zmx_watch_request(c, m);
		r = op(c, m);
		zmx_creds_leave();
	} else if ((r = op(c, m)) == 0 && m->type == ZMX_MSG_HELLO)
		zmx_watch_use(c->s, zmx_session_conn(c->ident, c->identlen));
	if (r == 0 && c->deferred) {
		zmx_debug("%s %s: answered later", name,
		    c->path ? c->path : "");
		return;
	}
	if (r < 0)
		error_reply(c, name, -r);
	if (c->audit)
		zmx_audit_log(c->s->key, c->s->tag, name, c->path, c->to,
		    NULL, r < 0 ? -r : 0);
	/* what changed something (and every PUT chunk: a repeated BEGIN
	 * would start the upload anew) is answered the same way again */
	keep = c->audit || m->type == ZMX_MSG_PUT;
	zmx_debug("%s %s%s%s: %s", name, c->path ? c->path : "",
	    c->to ? " " : "", c->to ? c->to : "",
	    r < 0 ? zmx_err_name(-r) : "ok");
out:
	c->rep.id = m->id;
	send_reply(sock, c, keep);
}

/* Answers one request. The messages stay the caller's. */
static void
handle(void *sock, zmq_msg_t *ident, zmq_msg_t *raw, int extra)
{
	struct zmx_op_ctx *c = &dispatch_ctx;
	struct zmx_msg m = { 0 };
	char why[256];
	const char *s;
	int r;

	zmx_watch_drain();
	/* reset the per-request part of the context */
	c->ident = zmq_msg_data(ident);
	c->identlen = zmq_msg_size(ident);
	c->srcfd = zmq_msg_get(raw, ZMQ_SRCFD);
	c->s = NULL;
	memset(&c->rep, 0, sizeof(c->rep));
	c->path = c->to = NULL;
	c->audit = 0;
	c->deferred = 0;
	c->detail[0] = '\0';
	s = zmq_msg_gets(raw, "Peer-Address");
	c->peer = s ? s : "?";
	s = zmq_msg_gets(raw, "User-Id");
	c->user_id = s && *s ? s : NULL;

	r = zmx_msg_decode(&m, zmq_msg_data(raw), zmq_msg_size(raw), why,
	    sizeof(why));
	c->reqtype = m.type;
	c->req = zmq_msg_data(raw);
	c->reqlen = zmq_msg_size(raw);
	if (r < 0 || extra > 0) {
		if (extra > 0)
			snprintf(why, sizeof(why), "%d frames after the "
			    "request: send one frame", extra);
		else if (r == -ENOMEM)
			snprintf(why, sizeof(why), "out of memory");
		zmx_warn("bad request from %s (key %s): %s", c->peer,
		    c->user_id ? c->user_id : "-", why);
		snprintf(c->detail, sizeof(c->detail), "%s", why);
		zmx_msg_error(&c->rep, 0, r == -ENOMEM ? ENOMEM : EPROTO,
		    c->detail);
		/* the decoder reads the id first, whatever fails later;
		 * a second unpack here would skip its allocation checks */
		c->rep.id = m.id;
		send_reply(sock, c, 0);
	} else
		run(sock, c, &m);
	zmx_msg_close(&m);
}

int
zmx_dispatch_one(void *sock)
{
	struct zmx_conn *conn;
	zmq_msg_t ident, raw;
	int more = 0, r, extra = 0;
	size_t len = sizeof(more);

	zmq_msg_init(&ident);
	zmq_msg_init(&raw);
	if (zmq_msg_recv(&ident, sock, ZMQ_DONTWAIT) < 0) {
		r = -errno;
		goto out;
	}
	r = 1;
	if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len) < 0 || !more)
		goto out;		/* ROUTER always sends two parts */
	if (zmq_msg_recv(&raw, sock, ZMQ_DONTWAIT) < 0) {
		zmx_warn("receive: %s", zmq_strerror(errno));
		goto out;
	}
	if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len) == 0 && more)
		extra = drain(sock);
	/* behind a reply the peer has not taken yet: wait in line */
	conn = zmx_session_conn(zmq_msg_data(&ident), zmq_msg_size(&ident));
	if (conn != NULL && zmx_flow_busy(conn)) {
		(void)zmx_flow_park(conn, &ident, &raw, extra);
		goto out;
	}
	handle(sock, &ident, &raw, extra);
out:
	zmq_msg_close(&raw);
	zmq_msg_close(&ident);
	return r == -EAGAIN || r == -EINTR ? 0 : r;
}

void
zmx_dispatch_defer(struct zmx_op_ctx *c, uint64_t id, struct zmx_later *l)
{
	memset(l, 0, sizeof(*l));
	l->identlen = c->identlen < sizeof(l->ident) ? c->identlen :
	    sizeof(l->ident);
	memcpy(l->ident, c->ident, l->identlen);
	l->id = id;
	c->deferred = 1;
}

/* Whether a later answer to ident already waits: a new one goes behind
 * it, so that a peer sees them in the order they were made. */
static int
later_waits(const void *ident, size_t len)
{
	struct dispatch_wait *w;

	if (dispatch_nwaiting == 0)
		return 0;
	for (w = dispatch_waiting; w != NULL; w = w->next)
		if (w->identlen == len && memcmp(w->ident, ident, len) == 0)
			return 1;
	return 0;
}

int
zmx_dispatch_later(const struct zmx_later *l, struct zmx_msg *rep)
{
	struct dispatch_wait *w;
	struct zmx_conn *conn;
	int r;

	rep->id = l->id;
	dispatch_out.len = 0;
	if ((r = zmx_msg_encode(rep, &dispatch_out)) < 0) {
		zmx_warn("%s %llu: not encoded: %s", zmx_msg_name(rep->type),
		    (unsigned long long)l->id, strerror(-r));
		return r;
	}
	/* what the command changed goes first (DESIGN.md decision 7) */
	zmx_watch_drain();
	zmx_watch_push(dispatch_sock);
	conn = zmx_session_conn(l->ident, l->identlen);
	if ((conn != NULL && conn->held != NULL) ||
	    later_waits(l->ident, l->identlen)) {
		if ((w = calloc(1, sizeof(*w))) == NULL ||
		    (w->frame = malloc(dispatch_out.len)) == NULL) {
			free(w);
			zmx_warn("%s %llu: dropped: out of memory",
			    zmx_msg_name(rep->type),
			    (unsigned long long)l->id);
			return -ENOMEM;
		}
		memcpy(w->ident, l->ident, l->identlen);
		w->identlen = l->identlen;
		memcpy(w->frame, dispatch_out.data, dispatch_out.len);
		w->len = dispatch_out.len;
		*dispatch_wtail = w;
		dispatch_wtail = &w->next;
		dispatch_nwaiting++;
		return 0;
	}
	r = zmx_flow_send(dispatch_sock, conn, l->ident, l->identlen,
	    dispatch_out.data, dispatch_out.len);
	if (dispatch_out.cap > 4 * ZMX_CHUNK)
		zmx_buf_free(&dispatch_out);
	return r;
}

int
zmx_dispatch_later_flush(void)
{
	struct dispatch_wait **pp, *w, *v;
	struct zmx_conn *conn;

	for (pp = &dispatch_waiting; (w = *pp) != NULL;) {
		conn = zmx_session_conn(w->ident, w->identlen);
		if (conn != NULL && conn->held != NULL) {
			pp = &w->next;
			continue;
		}
		/* one of this peer's before it still waits: keep order */
		for (v = dispatch_waiting; v != w; v = v->next)
			if (v->identlen == w->identlen &&
			    memcmp(v->ident, w->ident, w->identlen) == 0)
				break;
		if (v != w) {
			pp = &w->next;
			continue;
		}
		(void)zmx_flow_send(dispatch_sock, conn, w->ident,
		    w->identlen, w->frame, w->len);
		*pp = w->next;
		if (dispatch_wtail == &w->next)
			dispatch_wtail = pp;
		dispatch_nwaiting--;
		free(w->frame);
		free(w);
	}
	return dispatch_nwaiting > 0;
}

int
zmx_dispatch_resume(void *sock)
{
	return zmx_flow_resume(sock, handle);
}
