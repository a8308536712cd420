/* session.h - sessions: what a HELLO's token binds connections to (the
 * key, its scope, read-only flag and user), the table of ROUTER
 * identities that share each session, and the limits each key (or the
 * keyless user) is held to. */
#ifndef ZMX_SESSION_H
#define ZMX_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "authkeys.h"
#include "cookie.h"
#include "creds.h"
#include "msg.h"
#include "scope.h"

#define ZMX_SESSION_IDLE	600	/* seconds an unchecked identity lives */
#define ZMX_IDENT_MAX		255	/* ZeroMQ's routing id limit */

/* What one key (keyless clients count as the key "-") may hold at once,
 * so that one client's flood never refuses another key. Set from
 * agentd's command line before serving; agentd(8) lists them. */
struct zmx_limits {
	int		 sessions_per_key;
	int		 conns_per_key;
	int		 inflight_per_conn;	/* requests held back */
	int		 inflight_per_key;
	size_t		 queued_per_key;	/* bytes of replies held for a
						 * key (and of requests) */
	int		 sessions_max;		/* all keys together */
	int		 conns_max;
	int		 linger;	/* s a session outlives its connections */
	int		 watches_per_session;	/* watch.c's, per session */
	int		 watches_per_key;
	int		 procs_per_key;		/* commands (proc.c) */
};
extern struct zmx_limits zmx_limits;

/* One key's use of the limits above. */
struct zmx_quota {
	char			 key[ZMX_AUTHKEY_NAME_MAX + 1];
	int			 sessions;
	int			 conns;
	int			 parked;	/* requests held back */
	size_t			 parked_bytes;	/* their bytes */
	size_t			 queued;	/* replies' bytes held back */
	int			 watches;	/* watch.c's, all sessions */
	struct zmx_quota	*next;
};

struct zmx_upload;
struct zmx_lock;
struct zmx_replies;
struct zmx_parked;
struct zmx_watchset;

struct zmx_session {
	unsigned char		 token[ZMX_TOKEN_LEN];
	char			 key[ZMX_AUTHKEY_NAME_MAX + 1]; /* "-": no keys */
	char			 tag[9];	/* first 8 hex of the token */
	char			*keyroot;	/* the root as configured */
	struct zmx_scope	 scope;
	int			 ro;
	struct zmx_creds	 creds;
	gid_t			*groups;	/* creds.groups points here */
	struct zmx_upload	*uploads;	/* op_put.c's */
	struct zmx_replies	*replies;	/* replies.c's; NULL: none yet */
	struct zmx_lock		*locks;		/* op_lock.c's */
	struct zmx_watchset	*watch;		/* watch.c's; NULL: none yet */
	struct zmx_quota	*quota;
	int			 nconns;	/* identities bound to it */
	time_t			 last;		/* last request, any identity */
	time_t			 orphan;	/* when nconns became 0 */
	struct zmx_session	*next;
};

/* A ROUTER identity bound to a session by its HELLO: the connection it
 * came on (to notice when that goes), and what flow.c holds back for a
 * peer that does not read its replies. */
struct zmx_conn {
	unsigned char		 id[ZMX_IDENT_MAX];
	size_t			 idlen;
	struct zmx_session	*s;
	time_t			 last;
	int			 srcfd;		/* libzmq's fd; -1: unknown */
	dev_t			 sdev;		/* that socket's identity */
	ino_t			 sino;
	void			*held;		/* a reply with no room yet */
	size_t			 heldlen;
	uint64_t		 held_seq;	/* the invalidations queued
						 * before it (watch.c) */
	struct zmx_parked	*parked;	/* requests waiting behind it */
	struct zmx_parked	**parked_tail;
	int			 nparked;
	int			 stalled;	/* on flow.c's list */
	int			 dropping;	/* warned of drops this stall */
	struct zmx_conn		*next;
};

/* Without keys: a client whose HELLO carries cookie (the content of
 * cookie_path, named in refusals) gets root, ro and agentd's own user.
 * With keys (ak not NULL, borrowed until the next call), HELLO looks the
 * ZAP User-Id up in ak. Returns 0 or -errno. */
int	zmx_session_setup(const struct zmx_authkeys *ak, const char *root,
	    int ro, const uint8_t *cookie, const char *cookie_path);

/* The session an identity is bound to, or NULL; touches both. key is
 * the request's ZAP User-Id (NULL without keys) and srcfd the socket it
 * came on (ZMQ_SRCFD): an identity arriving with another key than its
 * session's, or on another connection than the one that said HELLO,
 * finds nothing, so a client that picks another's routing id cannot
 * borrow its session. */
struct zmx_session *zmx_session_lookup(const void *ident, size_t len,
	    const char *key, int srcfd, time_t now);

/* The binding of an identity, or NULL. Borrowed until the next sweep. */
struct zmx_conn *zmx_session_conn(const void *ident, size_t len);

/* Forgets identities whose connection is gone (or, where that cannot be
 * told, idle ZMX_SESSION_IDLE seconds), then sessions left without one
 * for zmx_limits.linger seconds (their uploads are removed). */
int	zmx_session_sweep(time_t now);	/* how many it forgot */

/* After the keys file changed: drops sessions whose key is gone or no
 * longer has the same root, mode or user (clients then re-HELLO). */
void	zmx_session_rekey(const struct zmx_authkeys *ak);

/* Frees everything, removing unfinished uploads (agentd's exit). */
void	zmx_session_free_all(void);

/* Whether the socket fd libzmq received a message on is still the one
 * recorded as dev/ino (fstat(2): a closed or reused number is not). */
int	zmx_session_sock_alive(int fd, dev_t dev, ino_t ino);

#endif
