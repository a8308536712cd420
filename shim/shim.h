/* shim.h - process-wide state of libzmx.so and the question every wrapper
 * asks first: is this path remote, and what is it called on agentd? */
#ifndef ZMX_SHIM_H
#define ZMX_SHIM_H

#include <limits.h>

#include "policy.h"

/* Loaded by the constructor from ZMX_POLICY / ZMX_PROFILE, before any
 * thread of the program runs; read-only afterwards. */
extern struct zmx_policy zmx_policy;

struct zmx_where {
	const struct zmx_rule	*rule;
	char			 lpath[PATH_MAX];	/* the program's view */
	char			 rpath[PATH_MAX];	/* agentd's view */
	int			 slash;	/* the path ended in '/': it must be a
					 * directory, a symlink is followed */
};

enum {
	ZMX_LOCAL = 0,		/* local: call libc with the original args */
	ZMX_REMOTE = 1,		/* remote: w->lpath and w->rpath are set */
	ZMX_LOCAL_ABS = 2,	/* local, but only as w->lpath (a relative
				 * path that left a remote cwd or fd) */
};

/* Where (dirfd, path) lives. empty_ok: AT_EMPTY_PATH semantics. Returns
 * ZMX_LOCAL, ZMX_REMOTE, ZMX_LOCAL_ABS or -errno. */
int	zmx_where(int dirfd, const char *path, int empty_ok,
	    struct zmx_where *w);

/* The program's umask, applied here to what is created remotely (agentd
 * runs with umask 0). Set by the constructor and by umask(2) (wrap_open.c). */
extern unsigned zmx_umask;

/* The virtual cwd (vcwd.c): NULL when the cwd is local. */
int	zmx_vcwd_init(void);
int	zmx_vcwd_get(char *buf, size_t size);	/* length, 0 if local */
int	zmx_vcwd_set(const char *lpath);	/* NULL: local again */
extern int zmx_vcwd_pid;			/* reset after fork */
/* A /proc link of this process ("/proc/self", "/proc/thread-self",
 * "/proc/<pid>[/task/<tid>]") that stands for a remote path: "fd/N" of a
 * remote fd, "cwd" when the cwd is remote, then nothing or "/rest". The
 * path it stands for goes into out; *bare says nothing followed. With
 * files 0 a regular file's bare link does not count (an open of it
 * reopens the memfd locally). Returns 1, 0 if not such a link, -errno. */
int	zmx_vcwd_proc_link(const char *path, int files, char *out,
	    size_t outlen, int *bare);
/* Whether this is a vfork child (posix_spawn, subprocess): it shares the
 * parent's memory and its one thread's sockets, so it may only exec. */
int	zmx_vcwd_in_vfork(void);
void	zmx_vcwd_fork(int phase);	/* as zmx_fdtab_fork() */

#endif
