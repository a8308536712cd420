/* watch.h - invalidations (DESIGN.md decision 7): agentd watches, with
 * inotify, the directories whose entries a session has looked at, and
 * tells the session of every change there with an INVAL frame on its
 * current connection, ahead of the reply to any request it sends after
 * the change (zmx-protocol(7), INVALIDATIONS). */
#ifndef ZMX_WATCH_H
#define ZMX_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "msg.h"

struct zmx_conn;
struct zmx_op_ctx;
struct zmx_session;

/* The one inotify instance of agentd. 0 or -errno. */
int	zmx_watch_init(void);
int	zmx_watch_fd(void);		/* for the poll: readable = drain */
void	zmx_watch_fini(void);

/* Reads every pending inotify event and queues the INVALs it means for
 * the sessions watching. Called before each request is answered, so a
 * change made before the request arrived is told before its reply. */
void	zmx_watch_drain(void);
/* Sends the queued INVALs of every session to its current connection,
 * as far as there is room (flow.c holds the rest). */
void	zmx_watch_push(void *sock);

/* A request of session s arrived on conn (NULL: unknown): conn becomes
 * the one INVALs go to. When that changes from a connection that had
 * them, the new one first gets INVAL "/": what went to the old one may
 * be lost. */
void	zmx_watch_use(struct zmx_session *s, struct zmx_conn *conn);
/* conn is going away. */
void	zmx_watch_conn_gone(struct zmx_conn *conn);

/* Before request m of c->s runs, as the session's user: watches the
 * directories its answer is about, from the scope root down to P's
 * parent for STAT, ACCESS, READLINK and OPEN of P (the root itself for
 * the root), down to D for READDIR of D. A directory that cannot be
 * watched is told as INVAL NOWATCH; over the session's or the key's
 * limit, the session's watches are dropped and INVAL "/" says so. */
void	zmx_watch_request(struct zmx_op_ctx *c, const struct zmx_msg *m);

/* Entry name of directory dir (open as dfd), whose lstat is st, goes
 * into a READDIR answer: a subdirectory is watched too (its own
 * attributes change with its entries), and so is a regular file with
 * more than one link (a change through another name is seen nowhere
 * else). Returns 1 if a watch was added after st was read: the caller
 * reads st again. */
int	zmx_watch_entry(struct zmx_op_ctx *c, const char *dir, int dfd,
	    const char *name, const struct stat *st);
/* The same for path itself, open as fd, whose stat is st (STAT, OPEN):
 * a regular file with more than one link, or, with via_link, one that
 * path may reach through a symlink, is watched itself. */
int	zmx_watch_file(struct zmx_op_ctx *c, const char *path, int fd,
	    const struct stat *st, int via_link);

/* The INVALs queued for c's session while c is its current connection,
 * in order, those queued up to seq upto only: next gives the head's
 * frame (borrowed until the next call), or NULL; sent drops it. */
const void *zmx_watch_next(struct zmx_conn *c, uint64_t upto, size_t *len);
void	zmx_watch_sent(struct zmx_conn *c);
/* c is gone: what was queued for it is dropped (the next connection
 * gets INVAL "/"). */
void	zmx_watch_lost(struct zmx_conn *c);
/* Whether INVALs wait for c (its session's current connection). */
int	zmx_watch_pending(const struct zmx_conn *c);
/* The seq of the last INVAL queued for c's session (0: none yet). */
uint64_t zmx_watch_last_seq(const struct zmx_conn *c);

/* The session ends: its watches and queue go. */
void	zmx_watch_session_free(struct zmx_session *s);

#endif
