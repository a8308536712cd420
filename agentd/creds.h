/* creds.h - running one operation as the session's Unix user when
 * agentd is root: per-thread fsuid, fsgid and groups, restored after. */
#ifndef ZMX_CREDS_H
#define ZMX_CREDS_H

#include <sys/types.h>

struct zmx_creds {
	uid_t		 uid;
	gid_t		 gid;
	const gid_t	*groups;	/* borrowed from the session */
	int		 ngroups;	/* -1: agentd's own ids */
};

/* Records agentd's own ids and groups. Returns 0 or -errno. */
int	zmx_creds_init(void);
void	zmx_creds_fini(void);
/* Whether agentd runs as root and so switches for each operation. */
int	zmx_creds_switching(void);
/* Becomes c for file access. Returns 0 or -errno (then nothing
 * changed). Every successful enter is paired with a leave. */
int	zmx_creds_enter(const struct zmx_creds *c);
void	zmx_creds_leave(void);
/* agentd's own ids for a moment inside enter/leave (its state files):
 * pause returns whether it left c, resume takes c again if so. */
int	zmx_creds_pause(void);
void	zmx_creds_resume(const struct zmx_creds *c, int paused);

#endif
