/* flow.c - a peer's unsent reply and the requests queued behind it
 * (flow.h). The ROUTER sends with ZMQ_ROUTER_MANDATORY, so a full queue
 * (the peer's ZMQ_SNDHWM replies, at most ZMX_CHUNK of data each) is
 * EAGAIN for that peer alone instead of a silent drop or a blocked
 * agentd; what agentd then holds is counted in the key's quota. The
 * INVALs watch.c queues for a connection go out ahead of any reply made
 * after them, and behind a reply held before them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "log.h"
#include "session.h"
#include "watch.h"

/* The peers with something waiting, in no order. Written by the main
 * loop only. flow_forgets counts zmx_flow_forget() calls, so that
 * resume notices a peer forgotten under it. */
static struct zmx_conn **flow_stalled;
static size_t flow_nstalled, flow_cap;
static unsigned long flow_forgets;

static int
stall(struct zmx_conn *c)
{
	struct zmx_conn **v;
	size_t cap;

	if (c->stalled)
		return 0;
	if (flow_nstalled == flow_cap) {
		cap = flow_cap ? 2 * flow_cap : 16;
		if ((v = realloc(flow_stalled, cap * sizeof(*v))) == NULL)
			return -ENOMEM;
		flow_stalled = v;
		flow_cap = cap;
	}
	flow_stalled[flow_nstalled++] = c;
	c->stalled = 1;
	return 0;
}

static void
unstall(size_t i)
{
	flow_stalled[i]->stalled = 0;
	flow_stalled[i]->dropping = 0;
	flow_stalled[i] = flow_stalled[--flow_nstalled];
}

/* One try: 0 sent, -EAGAIN no room, other -errno: the peer is gone. */
static int
try_send(void *sock, const void *ident, size_t identlen, const void *frame,
    size_t len)
{
	if (zmq_send(sock, ident, identlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return -errno;
	/* the identity part found room, so the frame does too */
	if (zmq_send(sock, frame, len, ZMQ_DONTWAIT) < 0)
		return -errno;
	return 0;
}

/* Sends the INVALs queued for c up to seq upto, in order; *moved is set
 * if one went. 0, or -EAGAIN: no room for the rest. A peer that is gone
 * loses them (its session's next connection gets INVAL "/"). */
static int
send_invals(void *sock, struct zmx_conn *c, uint64_t upto, int *moved)
{
	const void *f;
	size_t len;
	int r;

	while ((f = zmx_watch_next(c, upto, &len)) != NULL) {
		if ((r = try_send(sock, c->id, c->idlen, f, len)) == -EAGAIN)
			return r;
		*moved = 1;
		if (r < 0) {
			zmx_watch_lost(c);
			return 0;
		}
		zmx_watch_sent(c);
	}
	return 0;
}

int
zmx_flow_invals(void *sock, struct zmx_conn *c)
{
	int moved = 0;

	/* behind a held reply, resume sends them in their order */
	if (c->held != NULL || send_invals(sock, c, UINT64_MAX, &moved) == 0)
		return 0;
	return stall(c);
}

int
zmx_flow_send(void *sock, struct zmx_conn *c, const void *ident,
    size_t identlen, const void *frame, size_t len)
{
	struct zmx_quota *q;
	int r = 0, moved = 0;

	/* a busy peer's requests are parked, and resume sends the held
	 * reply before it runs them: c->held is NULL here */
	if (c != NULL && c->held != NULL) {
		zmx_warn("session %s: a second reply held back: dropped",
		    c->s->tag);
		return -EAGAIN;
	}
	/* what changed before this reply was made is told first */
	if (c == NULL || (r = send_invals(sock, c, UINT64_MAX, &moved)) == 0) {
		if ((r = try_send(sock, ident, identlen, frame, len)) == 0)
			return 0;
		if (r != -EAGAIN || c == NULL) {
			zmx_debug("reply dropped: %s", zmq_strerror(-r));
			return r;
		}
	}
	q = c->s->quota;
	if ((c->held = malloc(len)) == NULL || stall(c) < 0) {
		free(c->held);
		c->held = NULL;
		zmx_warn("session %s (key %s): reply dropped: out of memory",
		    c->s->tag, c->s->key);
		return -ENOMEM;
	}
	memcpy(c->held, frame, len);
	c->heldlen = len;
	c->held_seq = zmx_watch_last_seq(c);
	q->queued += len;
	return 0;
}

int
zmx_flow_busy(const struct zmx_conn *c)
{
	return c->held != NULL || c->parked != NULL ||
	    c->s->quota->queued >= zmx_limits.queued_per_key;
}

int
zmx_flow_park(struct zmx_conn *c, zmq_msg_t *ident, zmq_msg_t *raw,
    int extra)
{
	struct zmx_quota *q = c->s->quota;
	struct zmx_parked *p;
	size_t len = zmq_msg_size(raw) + zmq_msg_size(ident);

	if (c->nparked >= zmx_limits.inflight_per_conn ||
	    q->parked >= zmx_limits.inflight_per_key ||
	    q->parked_bytes + len > zmx_limits.queued_per_key) {
		/* one line a stall, not one a dropped request */
		if (!c->dropping)
			zmx_warn("session %s (key %s): requests wait behind "
			    "replies the peer does not read (%d here, %d "
			    "for the key): more are dropped", c->s->tag,
			    c->s->key, c->nparked, q->parked);
		c->dropping = 1;
		return -EAGAIN;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL || stall(c) < 0) {
		free(p);
		return -ENOMEM;
	}
	zmq_msg_init(&p->ident);
	zmq_msg_init(&p->raw);
	zmq_msg_move(&p->ident, ident);
	zmq_msg_move(&p->raw, raw);
	p->extra = extra;
	p->len = len;
	*c->parked_tail = p;
	c->parked_tail = &p->next;
	c->nparked++;
	q->parked++;
	q->parked_bytes += len;
	return 0;
}

static struct zmx_parked *
unpark(struct zmx_conn *c)
{
	struct zmx_parked *p = c->parked;

	if ((c->parked = p->next) == NULL)
		c->parked_tail = &c->parked;
	c->nparked--;
	c->s->quota->parked--;
	c->s->quota->parked_bytes -= p->len;
	return p;
}

static void
parked_free(struct zmx_parked *p)
{
	zmq_msg_close(&p->ident);
	zmq_msg_close(&p->raw);
	free(p);
}

int
zmx_flow_resume(void *sock, zmx_flow_run_fn *fn)
{
	struct zmx_conn *c;
	struct zmx_parked *p;
	unsigned long forgets;
	size_t i;
	int r, progress = 0;

again:
	for (i = 0; i < flow_nstalled;) {
		c = flow_stalled[i];
		if (send_invals(sock, c, c->held != NULL ? c->held_seq :
		    UINT64_MAX, &progress) == -EAGAIN) {
			i++;
			continue;
		}
		if (c->held != NULL) {
			r = try_send(sock, c->id, c->idlen, c->held,
			    c->heldlen);
			if (r == -EAGAIN) {
				i++;
				continue;
			}
			progress = 1;
			c->s->quota->queued -= c->heldlen;
			free(c->held);
			c->held = NULL;
			if (r < 0) {
				/* the peer is gone: what waited for it is
				 * not carried out for nobody */
				zmx_debug("held reply dropped: %s",
				    zmq_strerror(-r));
				while (c->parked != NULL)
					parked_free(unpark(c));
			}
		}
		if (c->held == NULL && send_invals(sock, c, UINT64_MAX,
		    &progress) == -EAGAIN) {
			i++;
			continue;
		}
		/* a key over its share waits for its other replies */
		while (c->held == NULL && c->parked != NULL &&
		    c->s->quota->queued < zmx_limits.queued_per_key) {
			p = unpark(c);
			progress = 1;
			forgets = flow_forgets;
			fn(sock, &p->ident, &p->raw, p->extra);
			parked_free(p);
			if (forgets != flow_forgets)
				goto again;	/* c may be gone */
		}
		if (c->held == NULL && c->parked == NULL &&
		    !zmx_watch_pending(c))
			unstall(i);
		else
			i++;
	}
	return progress;
}

int
zmx_flow_pending(void)
{
	return flow_nstalled > 0;
}

void
zmx_flow_forget(struct zmx_conn *c)
{
	size_t i;

	flow_forgets++;
	while (c->parked != NULL)
		parked_free(unpark(c));
	if (c->held != NULL) {
		c->s->quota->queued -= c->heldlen;
		free(c->held);
		c->held = NULL;
	}
	if (!c->stalled)
		return;
	for (i = 0; i < flow_nstalled; i++)
		if (flow_stalled[i] == c) {
			unstall(i);
			break;
		}
}

void
zmx_flow_fini(void)
{
	free(flow_stalled);
	flow_stalled = NULL;
	flow_nstalled = flow_cap = 0;
}
