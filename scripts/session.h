/* session.h - the session process (DESIGN.md decision 5): zmx run, beside
 * the agent, holds the one connection to agentd and serves every process
 * and thread of the agent over a Unix socket in a private directory. */
#ifndef ZMX_SESSION_H
#define ZMX_SESSION_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "cookie.h"
#include "keys.h"
#include "msg.h"

struct zmx_session_cfg {
	const char		*endpoint;
	struct zmx_keypair	*kp;		/* NULL: no CURVE */
	char			 server_pub[ZMX_Z85_LEN + 1];
	uint8_t			 token[ZMX_TOKEN_LEN];
	uint8_t			 cookie[ZMX_COOKIE_LEN];
	size_t			 cookie_len;	/* 0: none */
	int			 timeout_ms;
	char			 dir[4096];	/* private, 0700; the socket */
	int			 stats;		/* totals on stderr at exit */
};

/* ---- the link to agentd (session_link.c) ---- */

/* A request's end: rep is its reply (err 0), which the callee may keep
 * by copying the struct and zeroing *rep; or err < 0 (-EIO: no answer in
 * time, or the session fails fast). */
typedef void zmx_link_done_fn(void *arg, struct zmx_frame *rep, int err);

int	zmx_link_init(const struct zmx_session_cfg *cfg);
int	zmx_link_fd(void);		/* for epoll: readable = look */
/* Sends m (its id is set here). fn runs later, exactly once. */
void	zmx_link_call(struct zmx_msg *m, zmx_link_done_fn *fn, void *arg);
/* Receives and sends what can be: call after every wake-up. */
void	zmx_link_events(void);
/* Retries on silence and fails what waited too long; returns the ms to
 * the next thing it has to do, or -1. */
int	zmx_link_tick(void);
int	zmx_link_busy(void);		/* requests in flight */
void	zmx_link_fini(void);

struct zmx_link_stats {
	unsigned long	req[ZMX_MSG_MAX];	/* sent, by type */
	unsigned long	retries, timeouts;
	uint64_t	bytes_out, bytes_in;
};
extern struct zmx_link_stats zmx_link_stats;

/* ---- the local socket (session_local.c) ---- */

int	zmx_local_listen(const char *dir, int epfd);
/* An epoll event for data: its fd's owner handles it. */
void	zmx_local_event(void *data, uint32_t events);
void	zmx_local_fini(void);
extern unsigned long zmx_local_round_trips;

/* ---- the loop (session.c) ---- */

/* The epoll set and the listening socket in dir, before the agent
 * starts (it connects at once). 0 or -errno after a message. */
int	zmx_session_open(const char *dir);
/* Serves until agent (a child) has ended and nothing is in flight; the
 * signals in sigs are blocked already (SIGCHLD among them) and those
 * another process sends are passed on to agent. Returns agent's wait
 * status. */
int	zmx_session_serve(struct zmx_session_cfg *cfg, pid_t agent,
	    const sigset_t *sigs);

#endif
