/* session.h - sessions: what a HELLO's token binds connections to (the
 * key, its scope, read-only flag and user), and the table of ROUTER
 * identities that share each session. */
#ifndef ZMX_SESSION_H
#define ZMX_SESSION_H

#include <stddef.h>
#include <time.h>

#include "authkeys.h"
#include "creds.h"
#include "msg.h"
#include "scope.h"

#define ZMX_SESSION_IDLE	600	/* seconds before forgetting */
#define ZMX_SESSION_MAX		4096	/* sessions kept at once */
#define ZMX_SESSION_MAX_CONNS	65536	/* identities kept at once */

struct zmx_upload;

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
	int			 nconns;	/* identities bound to it */
	time_t			 last;		/* last request, any identity */
	struct zmx_session	*next;
};

/* Without keys: every client gets root, ro and agentd's own user. With
 * keys (ak not NULL, borrowed until the next call), HELLO looks the
 * ZAP User-Id up in ak. Returns 0 or -errno. */
int	zmx_session_setup(const struct zmx_authkeys *ak, const char *root,
	    int ro);

/* The session an identity is bound to, or NULL; touches both. key is
 * the request's ZAP User-Id (NULL without keys): an identity arriving
 * with another key than its session's finds nothing, so a client that
 * picks another's routing id cannot borrow its session. */
struct zmx_session *zmx_session_lookup(const void *ident, size_t len,
	    const char *key, time_t now);

/* Forgets identities idle for ZMX_SESSION_IDLE seconds, then sessions
 * left with none for as long (their uploads are removed). */
void	zmx_session_sweep(time_t now);

/* After the keys file changed: drops sessions whose key is gone or no
 * longer has the same root, mode or user (clients then re-HELLO). */
void	zmx_session_rekey(const struct zmx_authkeys *ak);

/* Frees everything, removing unfinished uploads (agentd's exit). */
void	zmx_session_free_all(void);

#endif
