/* command.h - what a remote command takes with it: the SPAWN frame built
 * from this process (argv, the environment without the shim's own
 * variables, umask, terminal, signal dispositions), written into a
 * caller's buffer without allocating, for a vfork child's exec. */
#ifndef ZMX_COMMAND_H
#define ZMX_COMMAND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct zmx_spawn {
	uint64_t	 h;		/* the handle, nonzero */
	const char	*path;		/* the program as agentd names it */
	uint32_t	 flags;		/* ZMX_SPAWN_SEARCH, _MAY_STAGE */
	const char	*cwd;		/* agentd's name of the cwd */
	char *const	*argv;
	char *const	*envp;
	uint32_t	 wait;		/* the PREAD_OUTs' wait, ms */
	int		 have_sig;	/* sigign/sigmask given, not this
					 * process's (zmx-exec's own differ) */
	uint64_t	 sigign, sigmask;
};

/* PREAD_OUTs sent right behind the SPAWN, of chunks 0, 1 ... (ids 2,
 * 3 ...): agentd makes a chunk as soon as a stream ends, so a command
 * that prints nothing and exits takes two (stderr's end, then the exit);
 * asked for together, both come back with the SPAWN's answer, one round
 * trip for the whole command (DESIGN.md decision 7). */
#define ZMX_SPAWN_READS	8

/* The bytes zmx_spawn_frames() may need for these argv and envp. */
size_t	zmx_spawn_room(char *const argv[], char *const envp[]);

/* Writes the local leg's frames SPAWN (id 1) and PREAD_OUT of chunks 0
 * to ZMX_SPAWN_READS - 1 (ids 2 ...) into buf. The terminal, umask and
 * signal dispositions are this process's, read with raw syscalls; stdin
 * is piped if fd 0 is open and not the terminal; fds 1 and 2 that are
 * one open file stay one (ZMX_SPAWN_MERGE_ERR: their bytes keep their
 * order). Returns the length, or -errno. */
ssize_t	zmx_spawn_frames(const struct zmx_spawn *sp, char *buf, size_t room);

/* Whether NAME=VALUE crosses to a remote command: 0 if it is the
 * shim's own (ZMX_*), 1 if as it is, 2 if it is LD_PRELOAD (which goes
 * without libzmx: zmx_spawn_preload()). */
int	zmx_spawn_env_keep(const char *entry);
/* Writes "LD_PRELOAD=..." without the libzmx entries into out; 0 if
 * none is left (the variable is dropped), else its length. */
size_t	zmx_spawn_preload(const char *entry, char *out, size_t outlen);

/* Which of fds 0, 1, 2 get the remote pty (bits 0x1, 0x2, 0x4): those
 * that are a terminal here, when stdin is one and stdout or stderr is
 * too; else none (a pty that only echoes, or only writes, would mix
 * what the terminal shows into a pipe's bytes). */
uint32_t zmx_spawn_ttys(void);
/* This process's ignored and blocked signals (bit n-1: signal n). */
void	zmx_spawn_dispositions(uint64_t *ign, uint64_t *blocked);

#endif
