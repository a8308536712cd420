/* conn.h - the shim's link to agentd: one DEALER socket per thread (ZeroMQ
 * sockets are not thread-safe), one context per process, all joined to one
 * session by token (DESIGN.md decision 5). Requests are pipelined and
 * matched to replies by id. */
#ifndef ZMX_CONN_H
#define ZMX_CONN_H

#include "wire.h"

/* Reads ZMX_ENDPOINT, ZMX_KEY, ZMX_SERVER_KEY, ZMX_SESSION, ZMX_TIMEOUT_MS.
 * Returns 0 or -errno (a line on stderr names the problem). */
int	zmx_conn_init(void);

/* Sends n requests (ids assigned here), waits for all n replies, in
 * one round trip. reps[i] answers reqs[i] and must be zmx_frame_close()d
 * whatever the result. Returns 0 if every reply arrived (some may be
 * ERROR: see zmx_conn_reply_err); -EIO if agentd did not answer in time
 * (one stderr line says so, naming the endpoint). */
int	zmx_conn_batch(struct zmx_msg *reqs, struct zmx_frame *reps, int n);

/* One request, one reply of type want: 0, or -errno from an ERROR reply,
 * or -EIO for anything else. rep must be closed by the caller. */
int	zmx_conn_call(struct zmx_msg *req, struct zmx_frame *rep,
	    unsigned want);

/* -errno for an ERROR reply, -EIO for a reply of another type than
 * want, 0 if rep is of type want. */
int	zmx_conn_reply_err(const struct zmx_frame *rep, unsigned want);

/* Starts connecting and queues the HELLO without waiting: the program's
 * own start-up then hides the TCP and CURVE handshakes. */
void	zmx_conn_preconnect(void);

/* Around fork: the lock is taken before, released after; in the child
 * the parent's context and sockets are forgotten without being touched
 * (their threads are not in this process). */
void	zmx_conn_atfork_prepare(void);
void	zmx_conn_atfork_parent(void);
void	zmx_conn_atfork_child(void);

/* Statistics for ZMX_STATS: round trips and requests per type. */
void	zmx_conn_print_stats(int fd);

#endif
