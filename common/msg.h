/* msg.h - the zmx protocol as C types: one struct per row of msg.def, the
 * constants the rows use, and the codec. Frames are msgpack:
 * [type, id, {field: value, ...}]; zmx-protocol(7) is the spec. */
#ifndef ZMX_MSG_H
#define ZMX_MSG_H

#include <stddef.h>
#include <stdint.h>

#define ZMX_PROTO_VERSION	4
#define ZMX_VERSION		"0.1.0"

#define ZMX_MAX_PATH	4096		/* bytes in a STR field */
#define ZMX_MAX_DATA	(16u << 20)	/* bytes in a BIN field */
#define ZMX_MAX_ENTS	(1u << 20)	/* entries in an ENTS field */
#define ZMX_MAX_FRAME	(64u << 20)	/* bytes in a whole frame */
#define ZMX_CHUNK	(1u << 20)	/* whole-fetch threshold, chunk size */
#define ZMX_TOKEN_LEN	32		/* session token bytes */

/* STAT flags, also CHMOD/CHOWN/UTIMENS/ACCESS and the xattr rows' */
#define ZMX_NOFOLLOW	0x1		/* do not follow a final symlink */
#define ZMX_EACCESS	0x2		/* ACCESS: effective ids (AT_EACCESS) */
#define ZMX_FOLLOW	0x4		/* LINK's only flag: follow a symlink at from */

/* OPEN flags: read access is always implied */
#define ZMX_O_WRITE	0x01		/* O_WRONLY or O_RDWR */
#define ZMX_O_CREAT	0x02
#define ZMX_O_EXCL	0x04
#define ZMX_O_TRUNC	0x08
#define ZMX_O_NOFOLLOW	0x10
#define ZMX_O_DIRECTORY	0x20
#define ZMX_O_APPEND	0x40		/* a change: refused on a read-only key */
#define ZMX_O_LAZY	0x80		/* with CREAT: a new file is made by the
					 * write-back (PUT), not now */

/* PUT flags: a write-back of a whole file, never torn */
#define ZMX_PUT_BEGIN	0x1		/* first chunk: start a new upload */
#define ZMX_PUT_COMMIT	0x2		/* last chunk: replace the file */

/* LOCK ops; pid: the holder, a process of the session (agentd ignores
 * it: the session holds the lock there) */
#define ZMX_LOCK_UN	0		/* unlock */
#define ZMX_LOCK_SH	1		/* shared, as flock(LOCK_SH) */
#define ZMX_LOCK_EX	2		/* exclusive, as flock(LOCK_EX) */

/* RENAME flags are renameat2(2)'s, which are the same on every Linux */
#define ZMX_RENAME_NOREPLACE	0x1
#define ZMX_RENAME_EXCHANGE	0x2

/* SETXATTR flags besides ZMX_NOFOLLOW: setxattr(2)'s XATTR_CREATE and
 * XATTR_REPLACE, moved clear of it */
#define ZMX_XATTR_CREATE	0x8
#define ZMX_XATTR_REPLACE	0x10

/* The most bytes of an extended attribute's value (Linux's
 * XATTR_SIZE_MAX) and of a name list (XATTR_LIST_MAX) */
#define ZMX_XATTR_MAX	65536

/* WELCOME flags */
#define ZMX_WELCOME_RO	0x1		/* the session's key is read-only */

/* UTIMENS and PUT nsec values with a special meaning, as in
 * utimensat(2) */
#define ZMX_UTIME_NOW	((1l << 30) - 1l)
#define ZMX_UTIME_OMIT	((1l << 30) - 2l)

/* INVAL flags. An INVAL of "/" means: trust nothing (agentd lost
 * events, dropped the session's watches or took another connection). */
#define ZMX_INVAL_NAMES		0x1	/* the entry was made, removed or
					 * renamed: its directory changed */
#define ZMX_INVAL_NOWATCH	0x2	/* agentd does not watch path: cache
					 * nothing at or under it */

/* SPAWN flags */
#define ZMX_SPAWN_SEARCH	0x1	/* path is a name: look it up in the
					 * env's PATH on agentd, as execvp */
#define ZMX_SPAWN_MAY_STAGE	0x2	/* a program not on agentd: ENOPKG,
					 * not ENOENT (the client stages it) */
#define ZMX_SPAWN_PIPE_IN	0x4	/* stdin is a pipe from the client;
					 * else /dev/null */
#define ZMX_SPAWN_CAPTURE	0x8	/* stdout/stderr (those not on the
					 * pty) come back in OUTPUT; else the
					 * command's go to /dev/null */
#define ZMX_SPAWN_MERGE_ERR	0x10	/* fd 2 is fd 1 (the client's were
					 * one open file): one pipe, in order */
#define ZMX_DIGEST_LEN		32	/* SPAWN/STAGE digest: sha256 */

/* OUTPUT flags. The last OUTPUT of a command has ZMX_OUT_EXIT and comes
 * after both streams ended; status is then a wait(2) status. */
#define ZMX_OUT_EOF_OUT		0x1	/* stdout (or the pty) ended */
#define ZMX_OUT_EOF_ERR		0x2	/* stderr ended */
#define ZMX_OUT_EXIT		0x4	/* the command ended: status */
#define ZMX_OUT_IDLE		0x8	/* nothing yet: ask seq again */
#define ZMX_OUT_IN_CLOSED	0x10	/* the command closed its stdin */
#define ZMX_OUT_ENDED		0x20	/* its first process ended (status)
					 * but what it left holds a stream:
					 * more output may follow */

/* PWRITE_IN flags */
#define ZMX_IN_EOF		0x1	/* close the command's stdin after */

/* PROC_CTL ops */
#define ZMX_CTL_SIGNAL		1	/* arg: signal, to its process group
					 * (a pty's foreground group) */
#define ZMX_CTL_KILL_TREE	2	/* SIGKILL every process it started */
#define ZMX_CTL_WINCH		3	/* arg rows, arg2 cols */
#define ZMX_CTL_CLOSE		4	/* arg 1 or 2: the client's stdout or
					 * stderr is gone (EPIPE there) */
#define ZMX_CTL_DONE		5	/* the client has the exit: forget */

/* CHOWN: leave this id unchanged */
#define ZMX_ID_KEEP	0xffffffffu

/* File metadata as it crosses the wire: a msgpack array of 17 integers in
 * this order (a decoder takes 16, xflags then 0). Times are seconds and
 * nanoseconds. */
struct zmx_attr {
	uint64_t	dev, ino;
	uint32_t	mode, nlink, uid, gid;
	uint64_t	rdev;
	int64_t		size;
	int64_t		blksize, blocks;
	int64_t		atime_sec, atime_nsec;
	int64_t		mtime_sec, mtime_nsec;
	int64_t		ctime_sec, ctime_nsec;
	uint32_t	xflags;		/* ZMX_ATTR_* */
};
#define ZMX_ATTR_FIELDS	17		/* what an encoder writes */
#define ZMX_ATTR_MIN	16		/* what a decoder needs */

/* ATTR xflags: what agentd found out about extended attributes; 0 says
 * nothing (STAT and READDIR fill it, other replies leave it 0) */
#define ZMX_ATTR_NOXATTR	0x1	/* none the session's user can list */

struct zmx_dirent {
	const char	*name;
	struct zmx_attr	 st;		/* mode 0: the entry vanished */
};

enum zmx_msg_kind { ZMX_REQ, ZMX_REP, ZMX_LOC };

enum zmx_msg_type {
	ZMX_MSG_NONE = 0,
#define MSG(N, n, id, kind, fields) ZMX_MSG_##N = id,
#include "msg.def"
#undef MSG
	ZMX_MSG_MAX
};

/* One struct per message. Decoded STR, BIN and ENTS fields are borrowed:
 * they live until zmx_msg_close() and, for BIN, as long as the frame
 * buffer given to zmx_msg_decode(). */
#define U32(f)	uint32_t f;
#define U64(f)	uint64_t f;
#define I32(f)	int32_t f;
#define I64(f)	int64_t f;
#define STR(f)	const char *f;
#define BIN(f)	const void *f; size_t f##_len;
#define ATTR(f)	struct zmx_attr f;
#define ENTS(f)	const struct zmx_dirent *f; size_t f##_count;
#define MSG(N, n, id, kind, fields) struct zmx_msg_##n { char _none; fields };
#include "msg.def"
#undef MSG
#undef U32
#undef U64
#undef I32
#undef I64
#undef STR
#undef BIN
#undef ATTR
#undef ENTS

struct zmx_msg {
	uint32_t	type;		/* enum zmx_msg_type */
	uint64_t	id;		/* a reply carries its request's id */
	union {
#define MSG(N, n, id, kind, fields) struct zmx_msg_##n n;
#include "msg.def"
#undef MSG
	} u;
	void		*priv;		/* decoder state; NULL when built */
};

/* The name of a type ("stat"), or NULL if there is no such row. */
const char	*zmx_msg_name(uint32_t type);
/* ZMX_REQ, ZMX_REP or ZMX_LOC; -1 if there is no such row. */
int		 zmx_msg_kind(uint32_t type);

struct zmx_buf {
	char	*data;
	size_t	 len, cap;
};
void	zmx_buf_free(struct zmx_buf *b);

/* Appends the frame for m to b (which may hold earlier frames' bytes
 * after a reset: b->len = 0). Returns 0 or -ENOMEM/-EINVAL. */
int	zmx_msg_encode(const struct zmx_msg *m, struct zmx_buf *b);

/* At most this many msgpack elements in a frame given to
 * zmx_msg_decode(); 0: only the frame's size bounds them. msgpack-c
 * spends about 24 bytes per element, so a peer that only sends
 * requests (agentd) sets a small budget. Written once at start-up. */
extern uint32_t zmx_msg_max_elements;

/* Decodes one frame into m. On failure returns -EPROTO (or -ENOMEM)
 * and writes one line saying why into why[whylen]; m->id (read before
 * the type) and m->type are set when the frame got that far, so the
 * peer can be answered. */
int	zmx_msg_decode(struct zmx_msg *m, const void *buf, size_t len,
	    char *why, size_t whylen);

/* Frees what decoding allocated. Accepts a zeroed or built message. */
void	zmx_msg_close(struct zmx_msg *m);

/* A received frame: the decoded message borrows from mem, so both live
 * and die together (zmx_frame_close). On the local leg a frame may bring
 * an fd (has_fd): zmx_frame_close() closes it unless the receiver took it
 * with zmx_frame_take_fd(). A zeroed frame is closed already. */
struct zmx_frame {
	struct zmx_msg	 msg;
	int		 open;
	int		 has_fd, fd;
	void		*mem;
	void		(*release)(void *mem);
};
void	zmx_frame_close(struct zmx_frame *f);
/* The fd that came with f, now the caller's; -1 if none. */
int	zmx_frame_take_fd(struct zmx_frame *f);

/* What a reply says of its request: 0 if it is of type want, -errno
 * for an ERROR (errno crosses by name; one this side does not know is
 * EIO), -EIO for a reply of another type. */
int	zmx_msg_result(const struct zmx_msg *rep, unsigned want);

/* zmx_msg_result() of an encoded reply, without allocating (for a
 * vfork child): 0, -errno, or -EIO for anything it cannot read. The
 * reply's id goes into *idp if idp is not NULL. */
int	zmx_msg_peek_result(const void *frame, size_t len, unsigned want,
	    uint64_t *idp);

/* Convenience for the common reply. */
void	zmx_msg_error(struct zmx_msg *m, uint64_t id, int err,
	    const char *detail);

#endif
