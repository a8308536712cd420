/* session.h - the session process (DESIGN.md decision 5): zmx run, beside
 * the agent, holds the one connection to agentd and serves every process
 * and thread of the agent over a Unix socket in a private directory. */
#ifndef ZMX_SESSION_H
#define ZMX_SESSION_H

#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
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
int	zmx_link_busy(void);		/* requests in flight, but for
					 * waits for a command's output */
void	zmx_link_fini(void);

struct zmx_link_stats {
	unsigned long	round_trips;	/* requests sent while none was out:
					 * the waits for agentd */
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
int	zmx_local_clients(void);	/* connections open now */
/* Sends a client's request m on to agentd (after the write-backs it
 * must wait for), and the answer back to the client with this serial. */
void	zmx_local_forward(uint64_t serial, const struct zmx_msg *m);

/* Replies to the client with this serial, if it is still there (else
 * fd, if any, is closed). */
void	zmx_local_reply(uint64_t serial, const struct zmx_msg *m, int fd);
void	zmx_local_error(uint64_t serial, uint64_t id, int err,
	    const char *detail);

/* ---- remote commands (session_procs.c) ---- */

/* A client's SPAWN: after the write-backs, staging the program if
 * agentd has not got it; the answer goes back to the client. */
void	zmx_procs_spawn(uint64_t serial, const struct zmx_msg *m);
/* A client's request for a command whose SPAWN is still on its way:
 * 1 if the session took it, else 0. It is held until the command runs
 * while the SPAWN waits (for write-backs, for staging); once the SPAWN
 * went to agentd, it follows at once (the shim sends the first
 * PREAD_OUT right behind the SPAWN). */
int	zmx_procs_hold(uint64_t serial, const struct zmx_msg *m);
/* A client's PROC_CTL, before it is forwarded (DONE: the command is
 * the client's no more). */
void	zmx_procs_ctl(const struct zmx_msg *m);
/* A client connection closed: the commands it started and did not see
 * end are killed on agentd, process tree and all. */
void	zmx_procs_client_gone(uint64_t serial);
/* The session ends: every command still running is killed on agentd,
 * process tree and all (its zmx-exec then sees the session go). */
void	zmx_procs_kill_all(void);
void	zmx_procs_fini(void);

/* ---- the attribute cache (session_attr.c) ---- */

/* A client's STAT, ACCESS F_OK or READDIR: 1 if answered here, or
 * waiting for a listing that will answer it; 0: forward it. */
int	zmx_attr_serve(uint64_t serial, const struct zmx_msg *m);
/* An FOPEN of a path the file cache does not hold: 1 if answered here
 * (a name known not to be there; a directory whose listing is known). */
int	zmx_attr_fopen(uint64_t serial, const struct zmx_msg *m);
/* What a forwarded request will tell (STAT, READDIR) or change (it is
 * forgotten now and when answered): apply with its reply (NULL: none). */
struct zmx_attr_note;
struct zmx_attr_note *zmx_attr_note(const struct zmx_msg *m);
void	zmx_attr_apply(struct zmx_attr_note *n, const struct zmx_frame *rep);
/* An INVAL from agentd, or the session's own change: what is known of
 * path and beneath it goes (zmx-protocol(7), INVALIDATIONS). */
void	zmx_attr_inval(const char *path, uint32_t flags);
/* Whether what agentd says of path may be kept: a normal path that no
 * INVAL NOWATCH covers. */
int	zmx_attr_cacheable(const char *path);
void	zmx_attr_stats(unsigned long *hits, unsigned long *misses);
void	zmx_attr_fini(void);

/* ---- the file cache (session_files.c) ---- */

int	zmx_files_init(int epfd, void *tag);
void	zmx_files_event(void);		/* the inotify fd is readable */
int	zmx_files_tick(void);		/* due write-backs; ms to the next */
void	zmx_files_fopen(uint64_t serial, const struct zmx_msg *m);
void	zmx_files_fsync(uint64_t serial, const struct zmx_msg *m);
/* 1 if the cache answered m itself (a stat of a file it holds newer
 * than agentd's), else 0. */
int	zmx_files_answer(uint64_t serial, const struct zmx_msg *m);
/* Before m goes to agentd: 0, or 1 if it must wait for write-backs of
 * the files it names, after which go(arg) runs. */
int	zmx_files_barrier(const struct zmx_msg *m, void (*go)(void *),
	    void *arg);
/* What m will change in the cache if agentd carries it out, or what of
 * its answer the cache has a say in: a note to apply once the answer is
 * in (rep: agentd's answer if it carried m out, else NULL; apply may
 * amend it). NULL: nothing. */
struct zmx_files_note;
struct zmx_files_note *zmx_files_note(const struct zmx_msg *m);
void	zmx_files_apply(struct zmx_files_note *n, struct zmx_msg *rep);
/* Whether the cache holds path (with dir, a file in directory path)
 * newer than agentd's, or not written back yet. */
int	zmx_files_pending(const char *path, int dir);
/* An INVAL: cached copies at path or beneath it are asked for again
 * before they are used ("/": every one). */
void	zmx_files_inval(const char *path, uint32_t flags);
void	zmx_files_flush_all(void);	/* the session's end */
int	zmx_files_busy(void);
/* The file as the session's programs know it: a write-back's rename
 * gives it a new inode on agentd, the one they opened stays theirs
 * (sqlite compares them). Sets a's ino and dev if the cache has rpath. */
void	zmx_files_identity(const char *rpath, struct zmx_attr *a);
/* The session's memfd of rpath, or -1. Borrowed. */
int	zmx_files_memfd(const char *rpath);
/* Keeps what was not written back in recovery files; returns how many. */
int	zmx_files_fini(void);
void	zmx_files_stats(unsigned long *hits, unsigned long *misses,
	    unsigned long *writebacks);

/* ---- flock locks on agentd (session_lock.c) ---- */

/* A LOCK from a client: op is what process pid now holds; the session's
 * lock on agentd follows the strongest its processes hold. Answered OK, or EAGAIN when agentd's side holds a
 * conflicting lock. */
void	zmx_locks_request(uint64_t serial, const struct zmx_msg *m);
/* Lets go of the locks of processes that are gone (a client left). */
void	zmx_locks_gone(void);
void	zmx_locks_release_all(void);	/* the session's end */
int	zmx_locks_busy(void);		/* LOCKs out to agentd */
int	zmx_locks_held(void);

/* ---- the loop (session.c) ---- */

/* A new private directory (mode 0700) for a session, in /dev/shm (local
 * by policy), else $XDG_RUNTIME_DIR, else /tmp. 0 or -errno after a
 * message naming it. */
int	zmx_session_mkdir(char *dir, size_t len);
void	zmx_session_rmdir(const char *dir);
/* The epoll set and the listening socket in dir, before the agent
 * starts (it connects at once). 0 or -errno after a message. */
int	zmx_session_open(const char *dir);
/* Serves until agent has ended (and, for a few seconds at most, the
 * processes it left connected), every change is written back and nothing
 * is in flight. The signals in sigs are blocked already. child: agent is
 * our child (zmx run: SIGCHLD in sigs; signals another process sends are
 * passed on to it); else agent is a process we watch (zmx session: INT,
 * TERM and HUP end the session). Returns agent's wait status (child);
 * *lost: files that could not be written back (kept in recovery files). */
int	zmx_session_serve(struct zmx_session_cfg *cfg, pid_t agent, int child,
	    const sigset_t *sigs, int *lost);

/* session_digests.c: fd's sha256 into digest, its fstat into sb; from
 * the cache of earlier sessions when the file is unchanged. 0 or
 * -errno. */
int	zmx_digest_file(int fd, const char *local, unsigned char *digest,
	    struct stat *sb);

#endif
