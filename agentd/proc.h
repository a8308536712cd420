/* proc.h - remote commands (zmx-protocol(7), COMMANDS): the table of a
 * session's commands by handle, their reapers (reaper.c), and the
 * pumping of their streams through one epoll fd that agentd's loop
 * polls. Requests that cannot be answered yet are answered later
 * (dispatch.h). */
#ifndef ZMX_PROC_H
#define ZMX_PROC_H

#include <stdint.h>

#include "msg.h"

struct zmx_op_ctx;
struct zmx_quota;
struct zmx_session;

#define ZMX_PROC_OUT_MAX	(4u << 20)	/* unasked output held */
#define ZMX_PROC_IN_MAX		(1u << 20)	/* stdin held before OK waits */
#define ZMX_PROC_KEEP		8		/* chunks kept for repeats */
#define ZMX_PROC_AHEAD		64		/* seqs a request may run ahead */
#define ZMX_PROC_WAIT_MAX	5000		/* ms a PREAD_OUT is held */
#define ZMX_PROC_READS		16		/* PREAD_OUTs held per command */
#define ZMX_PROC_ENDED_MS	100		/* streams held this long after
						 * the command ended: ENDED */

/* The epoll instance the commands' fds are on. 0 or -errno. */
int	zmx_proc_init(void);
int	zmx_proc_fd(void);	/* for the poll: readable = zmx_proc_run */
/* Kills every command's tree and reaps the reapers (agentd's exit). */
void	zmx_proc_fini(void);

/* Moves what is ready: reads output, writes input, takes the reapers'
 * notes, answers the requests that can be answered now and those whose
 * wait ran out. Never blocks. Call each loop turn. */
void	zmx_proc_run(void);
/* ms until a held request's wait runs out, at most max. */
int	zmx_proc_timeout(int max);

/* The session ends: every command's tree is killed. */
void	zmx_proc_session_free(struct zmx_session *s);
/* Commands of q's key whose reaper lives. */
int	zmx_proc_count(const struct zmx_quota *q);

/* The request handlers' side (op_proc.c checked the request). spawn
 * takes cwd and exe (fds, closed either way) and argv, envp (arrays
 * into the request; the fork copies them); it answers later. */
int	zmx_proc_spawn(struct zmx_op_ctx *c, uint64_t id,
	    const struct zmx_msg_spawn *m, char *const *argv,
	    char *const *envp, int cwd, int exe);
/* A SPAWN for a handle in use: 1 and answered (now or later) if it is
 * a retry of the same request, 0 if the handle is another command's,
 * -ESRCH if it is free. */
int	zmx_proc_respawn(struct zmx_op_ctx *c, uint64_t id, uint64_t h);
int	zmx_proc_read(struct zmx_op_ctx *c, uint64_t id,
	    const struct zmx_msg_pread_out *m);
int	zmx_proc_write(struct zmx_op_ctx *c, uint64_t id,
	    const struct zmx_msg_pwrite_in *m);
int	zmx_proc_ctl(struct zmx_op_ctx *c, const struct zmx_msg_proc_ctl *m);

#endif
