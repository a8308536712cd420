/* wrap_exec.c - the exec and spawn calls. Before an exec, changed remote
 * files are written back: the kernel closes the O_CLOEXEC ones, and the
 * program that follows adopts the others but knows nothing of what this
 * one wrote. The virtual cwd lives in this process's memory, which exec
 * discards, so the new program learns it from ZMX_CWD: kept current in
 * environ by chdir and put into every envp here (bash passes its own;
 * glibc's execv and friends reach execve internally, so they are wrapped
 * too). Commands still run locally in this version; rewriting them to
 * zmx-exec will start from these wrappers.
 *
 * An exec may run in a vfork child that shares the parent's memory: no
 * malloc here, the new environment is built on the stack. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "fs.h"
#include "guard.h"
#include "real.h"
#include "shim.h"

extern char **environ;

#define CWD_VAR		"ZMX_CWD="
#define CWD_VAR_LEN	(sizeof(CWD_VAR) - 1)
#define FD_VAR		"ZMX_SESSION_FD="
#define FD_VAR_LEN	(sizeof(FD_VAR) - 1)
#define ENV_MAX		65536	/* entries copied; past that, as given */

static size_t
env_count(char *const envp[])
{
	size_t n = 0;

	while (envp != NULL && envp[n] != NULL)
		n++;
	return n;
}

/* Copies envp into ne[] (n + 3 slots) with ZMX_CWD set from the vcwd,
 * using var[] (PATH_MAX + CWD_VAR_LEN + 1) for the entry, and with
 * ZMX_SESSION_FD naming sfd (if >= 0) in fdvar[64]: the new program's
 * connection to the session, made here, so that it needs no access to
 * the session's directory (a program that changed its uid). */
static char **
env_with_cwd(char *const envp[], size_t n, char **ne, char *var, int sfd,
    char *fdvar)
{
	size_t i, j = 0;
	int len;

	memcpy(var, CWD_VAR, CWD_VAR_LEN);
	len = zmx_vcwd_get(var + CWD_VAR_LEN, PATH_MAX);
	var[CWD_VAR_LEN + (len > 0 ? len : 0)] = '\0';
	for (i = 0; i < n; i++)
		if (strncmp(envp[i], CWD_VAR, CWD_VAR_LEN) != 0 &&
		    strncmp(envp[i], FD_VAR, FD_VAR_LEN) != 0)
			ne[j++] = envp[i];
	ne[j++] = var;
	if (sfd >= 0) {
		snprintf(fdvar, 64, FD_VAR "%d:%ld", sfd,
		    zmx_conn_session_pid());
		ne[j++] = fdvar;
	}
	ne[j] = NULL;
	return ne;
}

/* A connection for the program to come, or -1. */
static int
exec_session_fd(void)
{
	int fd = -1;

	if (zmx_guard_enter()) {
		fd = zmx_conn_session_fd();
		zmx_guard_leave();
	}
	return fd < 0 ? -1 : fd;
}

/* What this process changed is the session's to write back, so an exec
 * has nothing to do first but make sure libc's functions are known. */
static void
exec_prepare(void)
{
	zmx_real_ensure();
}

/* Runs call with env replaced by a copy carrying ZMX_CWD and
 * ZMX_SESSION_FD; the fd is closed here once call returns (a failed
 * exec, or a spawn whose child has its own copy). */
#define WITH_CWD_ENV(env, call) do {					\
	size_t n_;							\
	exec_prepare();							\
	n_ = env_count(env);						\
	if (!zmx_policy.any_remote || n_ > ENV_MAX)			\
		return (call);						\
	{								\
		char *ne_[n_ + 3], var_[PATH_MAX + CWD_VAR_LEN + 1];	\
		char fdvar_[64];					\
		char *const *env_saved_ = (env);			\
		int r_, e_, sfd_ = exec_session_fd();			\
		(env) = env_with_cwd(env_saved_, n_, ne_, var_, sfd_,	\
		    fdvar_);						\
		r_ = (call);						\
		e_ = errno;						\
		(env) = env_saved_;					\
		if (sfd_ >= 0)						\
			real_close(sfd_);				\
		errno = e_;						\
		return r_;						\
	}								\
} while (0)

ZMX_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
	WITH_CWD_ENV(envp, real_execve(path, argv, envp));
}

ZMX_EXPORT int
execvpe(const char *file, char *const argv[], char *const envp[])
{
	WITH_CWD_ENV(envp, real_execvpe(file, argv, envp));
}

ZMX_EXPORT int
fexecve(int fd, char *const argv[], char *const envp[])
{
	WITH_CWD_ENV(envp, real_fexecve(fd, argv, envp));
}

/* execl, execlp, execle: the arguments into an array on the stack;
 * then runs `after` (execle's envp follows the NULL) and returns call. */
#define EXECL_ARGV(arg, after, call) do {				\
	va_list ap;							\
	size_t n = 1, i;						\
									\
	va_start(ap, arg);						\
	while (va_arg(ap, char *) != NULL)				\
		n++;							\
	va_end(ap);							\
	{								\
		char *argv[n + 1];					\
									\
		va_start(ap, arg);					\
		argv[0] = (char *)arg;					\
		for (i = 1; i <= n; i++)				\
			argv[i] = va_arg(ap, char *);	/* ends with NULL */ \
		after;							\
		va_end(ap);						\
		return call;						\
	}								\
} while (0)

ZMX_EXPORT int
execle(const char *path, const char *arg, ...)
{
	char *const *envp;

	EXECL_ARGV(arg, envp = va_arg(ap, char *const *),
	    execve(path, argv, envp));
}

ZMX_EXPORT int
posix_spawn(pid_t *pid, const char *path,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[])
{
	WITH_CWD_ENV(envp, real_posix_spawn(pid, path, fa, attr, argv, envp));
}

ZMX_EXPORT int
posix_spawnp(pid_t *pid, const char *file,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[])
{
	WITH_CWD_ENV(envp, real_posix_spawnp(pid, file, fa, attr, argv,
	    envp));
}

ZMX_EXPORT int
execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

ZMX_EXPORT int
execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

ZMX_EXPORT int
execl(const char *path, const char *arg, ...)
{
	EXECL_ARGV(arg, (void)0, execve(path, argv, environ));
}

ZMX_EXPORT int
execlp(const char *file, const char *arg, ...)
{
	EXECL_ARGV(arg, (void)0, execvpe(file, argv, environ));
}

/* vfork(2): the child runs on this thread's stack and may make requests
 * before its exec (Python's subprocess does chdir(cwd) there), on the
 * connection this thread has: it may not make one (conn.c). A thread
 * whose first remote call would come from the child gets its connection
 * here, before. The wrapper cannot be a C function that calls vfork and
 * returns: the child would return through its frame and wreck it for the
 * parent. So it calls vfork_prepare() and jumps to libc's vfork, which
 * returns straight to the program. */
static void vfork_prepare(void) __attribute__((used));

static void
vfork_prepare(void)
{
	int e = errno, fd;

	zmx_real_ensure();
	if (!zmx_tls.vfork_conn && zmx_guard_enter()) {
		/* the connection comes with the spare one CONNECT makes */
		if ((fd = zmx_conn_session_fd()) >= 0) {
			real_close(fd);
			zmx_tls.vfork_conn = 1;
		}
		zmx_guard_leave();
	}
	errno = e;
}

#if defined(__x86_64__)
__asm__(
	".text\n"
	".globl vfork\n"
	".type vfork, @function\n"
	"vfork:\n"
	"	endbr64\n"
	"	sub $8, %rsp\n"		/* the call's 16-byte alignment */
	"	call vfork_prepare\n"
	"	add $8, %rsp\n"
	"	jmp *real_vfork(%rip)\n"
	".size vfork, .-vfork\n");
#endif

/* system and popen spawn with glibc's internal posix_spawn: write back
 * first; the cwd is in environ already. */
ZMX_EXPORT int
system(const char *cmd)
{
	exec_prepare();
	return real_system(cmd);
}

ZMX_EXPORT FILE *
popen(const char *cmd, const char *mode)
{
	exec_prepare();
	return real_popen(cmd, mode);
}
