/* reaper.h - starting a command under its reaper: agentd forks the
 * reaper R, a child subreaper that forks the command C, reports C's pid
 * and wait status over a control socket, outlives C while anything C
 * started lives, and kills the whole tree when asked or when agentd's
 * end of the socket closes. Both run in a fork of a threaded agentd:
 * only async-signal-safe calls, no malloc, no stdio. */
#ifndef ZMX_REAPER_H
#define ZMX_REAPER_H

#include <stdint.h>
#include <sys/types.h>

/* What C gets; every fd is agentd's, closed in R and C but those. */
struct zmx_reaper_spec {
	int		 fds[3];	/* C's fds 0, 1, 2; -1: /dev/null */
	int		 slave;		/* pty slave, the controlling tty */
	int		 errw;		/* the error pipe (O_CLOEXEC) */
	int		 cwd;		/* O_PATH directory */
	int		 exe;		/* staged program (O_CLOEXEC) or -1 */
	const char	*path;		/* the program, or a name (search) */
	int		 search;	/* look path up in pathvar */
	const char	*pathvar;	/* PATH's value (never NULL) */
	char *const	*argv;
	char *const	*envp;
	mode_t		 umask;
	uint64_t	 sigign;	/* bit n-1: signal n ignored */
	uint64_t	 sigmask;	/* bit n-1: signal n blocked */
	int		 setids;	/* become uid, gid, groups */
	uid_t		 uid;
	gid_t		 gid;
	const gid_t	*groups;
	int		 ngroups;
};

/* What C writes to the error pipe when it cannot run the program: the
 * errno, and whether the program itself was not found (not its
 * interpreter, not the cwd). EOF on the pipe: the exec succeeded. */
struct zmx_reaper_fail {
	int		 err;
	int		 notfound;
};

/* What R writes on the control socket (SOCK_SEQPACKET). */
#define ZMX_REAPER_PID		1	/* val: C's pid (and process group) */
#define ZMX_REAPER_STATUS	2	/* val: C's wait status */
struct zmx_reaper_note {
	int		 what;
	int		 val;
};
/* What agentd writes to R: kill everything (so does closing it). */
#define ZMX_REAPER_KILL		'K'

/* Forks R for sp. Returns R's pid with *ctlp agentd's end of the
 * control socket (non-blocking, close-on-exec), or -errno. */
pid_t	zmx_reaper_start(const struct zmx_reaper_spec *sp, int *ctlp);

#endif
