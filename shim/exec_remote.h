/* exec_remote.h - running a command on agentd's side through zmx-exec
 * (exec_remote.c): where a command runs, and the SPAWN that starts it. */
#ifndef ZMX_EXEC_REMOTE_H
#define ZMX_EXEC_REMOTE_H

#include <limits.h>
#include <stdint.h>

struct zmx_exec_plan {
	char		path[PATH_MAX];	/* agentd's program (or a name) */
	char		cwd[PATH_MAX];	/* agentd's cwd */
	uint32_t	flags;		/* ZMX_SPAWN_* */
};

/* Finds zmx-exec ($ZMX_EXEC, beside libzmx.so, PREFIX/bin). */
void	zmx_exec_init(void);
const char *zmx_exec_path(void);

/* Where file (a path; with search, a name looked up in PATH) runs: 1
 * remotely (p filled), 0 locally, -errno. Remote: a program under a
 * remote prefix; else one the exec rules send there; else any, when the
 * cwd is remote. */
int	zmx_exec_plan(const char *file, int search, struct zmx_exec_plan *p);

/* Sends SPAWN and the first PREAD_OUTs on fd (a session connection) and
 * waits for the SPAWN's answer: 0, or -errno (ENOPKG: not on agentd and
 * nothing to stage). The command's handle goes into *hp. No
 * allocation. */
int	zmx_exec_spawn(const struct zmx_exec_plan *p, char *const argv[],
	    char *const envp[], int fd, uint64_t *hp);

/* An exec that runs remotely: execs zmx-exec and does not return, or
 * returns -errno (the exec fails as it would have on agentd's side);
 * 1 if the command runs locally (the caller execs it). Called inside
 * the guard, which it leaves for the exec itself. */
int	zmx_exec_remote(const char *file, int search, char *const argv[],
	    char *const envp[]);

#endif
