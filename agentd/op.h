/* op.h - what a request handler gets and gives: the context of one
 * request, the op_* handlers (one per REQ row of msg.def) and the small
 * helpers they share (op.c). */
#ifndef ZMX_OP_H
#define ZMX_OP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/stat.h>

#include "msg.h"

struct zmx_session;

/* One request being answered. dispatch.c keeps one and resets the
 * per-request part; the scratch buffers persist between requests. */
struct zmx_op_ctx {
	/* the request */
	const void		*ident;		/* ROUTER identity */
	size_t			 identlen;
	const char		*user_id;	/* ZAP User-Id; NULL: no keys */
	const char		*peer;		/* address, for log lines */
	int			 srcfd;		/* libzmq's socket; -1 unknown */
	uint32_t		 reqtype;	/* the request's type */
	const void		*req;		/* its frame, for the reply */
	size_t			 reqlen;	/* cache's digest */
	struct zmx_session	*s;		/* NULL before HELLO */

	/* the answer: a handler fills rep and returns 0, or returns
	 * -errno and dispatch sends ERROR naming path (or detail) */
	struct zmx_msg		 rep;
	const char		*path;		/* what the request is about */
	const char		*to;		/* RENAME/LINK's second path */
	int			 audit;		/* this request changes things */
	int			 deferred;	/* answered later: no reply now
						 * (zmx_dispatch_defer) */
	char			 detail[512];

	/* scratch owned by dispatch.c, reused: reply data, entries */
	void			*data;
	size_t			 datacap;
	struct zmx_dirent	*ents;
	size_t			 entcap;
	char			*names;
	size_t			 namecap;
	char			 pathbuf[PATH_MAX];	/* PATH replies */
};

typedef int zmx_op_fn(struct zmx_op_ctx *, const struct zmx_msg *);

/* One handler per REQ row. Defined across session.c (hello),
 * dispatch.c (ping), op_file.c, op_dir.c, op_xattr.c and op_put.c: a
 * row without its op_* fails the link. */
#define OP_REQ(n)	zmx_op_fn op_##n;
#define OP_REP(n)
#define OP_LOC(n)
#define MSG(N, n, id, kind, fields) OP_##kind(n)
#include "msg.def"
#undef MSG
#undef OP_REQ
#undef OP_REP
#undef OP_LOC

/* Marks the request as one that changes something: it is audited, and
 * refused with -EROFS on a read-only session. Returns 0 or -EROFS. */
int	zmx_op_writes(struct zmx_op_ctx *c, const char *path, const char *to);

/* Sets c->detail ("what: why") and returns err (negative). */
int	zmx_op_fail(struct zmx_op_ctx *c, int err, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* The end of a handler that answers OK: closes fd, then answers OK if
 * r is 0, else returns r (-errno). */
int	zmx_op_done(struct zmx_op_ctx *c, int fd, int r);

/* zmx_scope_open()/zmx_scope_parent() of the session's scope, with a
 * detail naming the scope when the path is outside or leads out. */
int	zmx_op_open(struct zmx_op_ctx *c, const char *path, int flags,
	    mode_t mode);
int	zmx_op_parent(struct zmx_op_ctx *c, const char *path,
	    char name[NAME_MAX + 1], int *slashp);

/* fstat of an fd (O_PATH too) into a wire attribute. 0 or -errno. */
int	zmx_op_fstat(int fd, struct zmx_attr *a);
void	zmx_op_attr(struct zmx_attr *a, const struct stat *st);

/* UTIMENS or PUT times as utimensat(2) takes them: ZMX_UTIME_NOW and
 * ZMX_UTIME_OMIT become UTIME_NOW and UTIME_OMIT. 0, or -EINVAL for
 * nanoseconds out of range. */
int	zmx_op_times(int64_t asec, int64_t ansec, int64_t msec, int64_t mnsec,
	    struct timespec ts[2]);

/* ZMX_ATTR_NOXATTR if p (a /proc/self/fd path) names a file with no
 * extended attribute the session's user can list; with lcall, p's last
 * name itself. 0 otherwise, and when agentd cannot tell. So that a
 * client answers ls -l's per-file questions (security.selinux, ACLs)
 * without a round trip (op_xattr.c). */
uint32_t zmx_op_xflags(const char *p, int lcall);

/* Copies the extended attributes of from (an O_PATH fd) onto to (open
 * for writing), after removing what to got from its directory: the
 * security.* ones with security, else all the others. A failure on a
 * security.* or trusted.* one is ignored, on any other returned with a
 * detail naming it. 0 or -errno. Uses the data scratch (op_xattr.c). */
int	zmx_op_xattr_copy(struct zmx_op_ctx *c, int from, int to,
	    int security);

/* Removes the session's unfinished uploads (op_put.c). */
void	zmx_op_put_drop_all(struct zmx_session *s);
/* Releases the locks a session holds on agentd (op_lock.c). */
void	zmx_op_lock_drop_all(struct zmx_session *s);
/* The connection ident is gone: its uploads are removed at a sweep
 * ZMX_PUT_GRACE seconds later, unless a retry (the same client on a new
 * connection) takes them over first. */
void	zmx_op_put_conn_gone(struct zmx_session *s, const void *ident,
	    size_t len, time_t now);
void	zmx_op_put_sweep(struct zmx_session *s, time_t now);

/* Grows the data scratch to n bytes. NULL on failure. */
void	*zmx_op_data(struct zmx_op_ctx *c, size_t n);

#endif
