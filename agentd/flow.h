/* flow.h - flow control towards a peer that does not read its replies:
 * agentd keeps at most one reply it had no room to send and a bounded
 * queue of that peer's requests behind it, and serves nothing more of
 * the peer's until it reads; memory stays bounded, other peers go on. */
#ifndef ZMX_FLOW_H
#define ZMX_FLOW_H

#include <stddef.h>

#include <zmq.h>

struct zmx_conn;

/* A request held back behind a peer's unsent reply. */
struct zmx_parked {
	zmq_msg_t		 ident;
	zmq_msg_t		 raw;
	int			 extra;		/* frames after the request */
	size_t			 len;
	struct zmx_parked	*next;
};

/* Sends [ident][frame] without waiting. When the peer's queue is full
 * (ZMQ_SNDHWM) and c is its binding, a copy is kept on c and sent when
 * there is room; with c NULL, or a peer that is gone, the reply is
 * dropped (logged). Returns 0, or -errno when nothing could be done. */
int	zmx_flow_send(void *sock, struct zmx_conn *c, const void *ident,
	    size_t identlen, const void *frame, size_t len);

/* Sends the INVALs queued for c (watch.c) as far as there is room;
 * resume sends the rest. 0 or -ENOMEM. */
int	zmx_flow_invals(void *sock, struct zmx_conn *c);

/* Whether c has a reply or requests waiting: a new request from it must
 * queue behind them. */
int	zmx_flow_busy(const struct zmx_conn *c);

/* Queues a request behind c's, taking both messages (the caller's are
 * left empty). -EAGAIN when c or its key has as many requests or bytes
 * held back as zmx_limits allows: the caller drops the request (one
 * warning a stall says so). */
int	zmx_flow_park(struct zmx_conn *c, zmq_msg_t *ident, zmq_msg_t *raw,
	    int extra);

/* Sends what waits where there is room now and runs the requests queued
 * behind it, through fn, until a peer stalls again. fn owns nothing: the
 * messages are closed after it returns. */
typedef void zmx_flow_run_fn(void *sock, zmq_msg_t *ident, zmq_msg_t *raw,
	    int extra);
/* Returns whether anything moved (the loop backs off when not). */
int	zmx_flow_resume(void *sock, zmx_flow_run_fn *fn);

/* Whether any peer has something waiting: the loop polls again soon. */
int	zmx_flow_pending(void);

/* Frees what c holds, before c is forgotten. */
void	zmx_flow_forget(struct zmx_conn *c);

/* Frees the list of stalled peers (at exit). */
void	zmx_flow_fini(void);

#endif
