/* conn.h - the shim's link to its session process (zmx run): one Unix
 * socket connection per thread, made from the process's root connection,
 * requests matched to replies by id. The session holds the one connection
 * to agentd (DESIGN.md decision 5). */
#ifndef ZMX_CONN_H
#define ZMX_CONN_H

#include "msg.h"

/* Reads ZMX_SESSION_DIR, ZMX_SESSION_FD and ZMX_TIMEOUT_MS. Returns 0 or
 * -errno (a line on stderr names the problem). */
int	zmx_conn_init(void);

/* Sends n requests (ids assigned here), waits for all n replies, in
 * one round trip. reps[i] answers reqs[i] and must be zmx_frame_close()d
 * whatever the result. Returns 0 if every reply arrived (some may be
 * ERROR: see zmx_conn_reply_err; the session answers EIO for agentd when
 * agentd did not answer in time); -EIO if the session is gone (one
 * stderr line says so, naming its socket). */
int	zmx_conn_batch(struct zmx_msg *reqs, struct zmx_frame *reps, int n);

/* One request, one reply of type want: 0, or -errno from an ERROR reply,
 * or -EIO for anything else. rep must be closed by the caller. */
int	zmx_conn_call(struct zmx_msg *req, struct zmx_frame *rep,
	    unsigned want);

/* -errno for an ERROR reply, -EIO for a reply of another type than
 * want, 0 if rep is of type want. */
int	zmx_conn_reply_err(const struct zmx_frame *rep, unsigned want);

/* A new connection for the program an exec starts, without
 * close-on-exec (passed as ZMX_SESSION_FD=FD:SESSION_PID). fd or -errno. */
int	zmx_conn_session_fd(void);
/* This thread's connection, or -1 (a vfork child keeps it open). */
int	zmx_conn_thread_fd(void);
/* The session's pid, for ZMX_SESSION_FD; 0 if unknown. */
long	zmx_conn_session_pid(void);

/* Around fork: the lock is taken before, released after; the child
 * forgets the parent's connections (closing only its copies) and makes
 * its own on first use, or takes one made before the fork when it may not
 * reach the session's directory (a changed uid). */
void	zmx_conn_atfork_prepare(void);
void	zmx_conn_atfork_parent(void);
void	zmx_conn_atfork_child(void);

#endif
