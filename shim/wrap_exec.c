/* wrap_exec.c - the exec and spawn calls. Before an exec, changed remote
 * files are written back: the kernel closes the O_CLOEXEC ones, and the
 * program that follows adopts the others but knows nothing of what this
 * one wrote. The virtual cwd lives in this process's memory, which exec
 * discards, so the new program learns it from ZMX_CWD: kept current in
 * environ by chdir and put into every envp here (bash passes its own;
 * glibc's execv and friends reach execve internally, so they are wrapped
 * too). A command that runs remotely becomes an exec of zmx-exec
 * (exec_remote.c); posix_spawn, system and popen start zmx-exec, which
 * starts the command itself.
 *
 * An exec may run in a vfork child that shares the parent's memory: no
 * malloc here, the new environment is built on the stack. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "conn.h"
#include "exec_remote.h"
#include "fs.h"
#include "guard.h"
#include "real.h"
#include "shim.h"
#include "command.h"

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

/* A command that runs remotely: exec zmx-exec, or fail as agentd's
 * exec failed; else on to the local exec. */
#define TRY_REMOTE(file, search, argv, envp) do {			\
	int rr_ = 1;							\
									\
	exec_prepare();							\
	if (zmx_policy.any_remote && zmx_guard_enter()) {		\
		rr_ = zmx_exec_remote(file, search, argv, envp);	\
		zmx_guard_leave();					\
	}								\
	if (rr_ <= 0) {							\
		errno = -rr_;						\
		return -1;						\
	}								\
} while (0)

ZMX_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
	TRY_REMOTE(path, 0, argv, envp);
	WITH_CWD_ENV(envp, real_execve(path, argv, envp));
}

ZMX_EXPORT int
execvpe(const char *file, char *const argv[], char *const envp[])
{
	TRY_REMOTE(file, 1, argv, envp);
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

/* posix_spawn of a remote command: zmx-exec starts it, after the file
 * actions made its fds what they will be (a failure to start is then
 * its exit status 127 or 126, not posix_spawn's answer). zmx-exec gets
 * the environment without libzmx, and the command gets zmx-exec's. 1:
 * local. */
static int
spawn_remote(pid_t *pid, const char *file, int search,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[])
{
	struct zmx_exec_plan p;
	size_t n = env_count(envp), na = env_count(argv), i, j = 0;
	int r, sfd;

	if (!zmx_policy.any_remote || n > ENV_MAX || !zmx_guard_enter())
		return 1;
	r = zmx_exec_plan(file, search, &p);
	sfd = r > 0 ? zmx_conn_session_fd() : -1;
	zmx_guard_leave();
	if (r <= 0)
		return r < 0 ? -r : 1;
	if (sfd < 0)
		return EIO;
	{
		char *xargv[na + 9], *xenv[n + 3], fdvar[64];
		char pre[4096];
		int k = 0;

		xargv[k++] = argv[0] ? argv[0] : (char *)file;
		xargv[k++] = "--program";
		xargv[k++] = p.path;
		xargv[k++] = "--cwd";
		xargv[k++] = p.cwd;
		if (p.flags & ZMX_SPAWN_SEARCH)
			xargv[k++] = "--search";
		xargv[k++] = "--";
		for (i = 0; i < na; i++)
			xargv[k++] = argv[i];
		xargv[k] = NULL;
		for (i = 0; i < n; i++) {
			if (strncmp(envp[i], FD_VAR, FD_VAR_LEN) == 0)
				continue;
			if (zmx_spawn_env_keep(envp[i]) == 2) {
				if (zmx_spawn_preload(envp[i], pre,
				    sizeof(pre)) > 0)
					xenv[j++] = pre;
				continue;
			}
			xenv[j++] = envp[i];
		}
		snprintf(fdvar, sizeof(fdvar), FD_VAR "%d:%ld", sfd,
		    zmx_conn_session_pid());
		xenv[j++] = fdvar;
		xenv[j] = NULL;
		r = real_posix_spawn(pid, zmx_exec_path(), fa, attr, xargv,
		    xenv);
	}
	real_close(sfd);
	return r;
}

ZMX_EXPORT int
posix_spawn(pid_t *pid, const char *path,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[])
{
	int r;

	exec_prepare();
	if ((r = spawn_remote(pid, path, 0, fa, attr, argv, envp)) != 1)
		return r;
	WITH_CWD_ENV(envp, real_posix_spawn(pid, path, fa, attr, argv, envp));
}

ZMX_EXPORT int
posix_spawnp(pid_t *pid, const char *file,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[])
{
	int r;

	exec_prepare();
	if ((r = spawn_remote(pid, file, 1, fa, attr, argv, envp)) != 1)
		return r;
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
 * parent. So it calls vfork_prepare(), keeps the return address in a
 * thread-local slot and calls the next vfork (libc's, or ASan's, which
 * must see the parent come back); the child, whose Syscall User Dispatch
 * the kernel cleared, arms it again before it returns to the program,
 * with raw calls and no C frame on the stack the parent gets back. */
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

/* The caller's return address while libc's (or ASan's) vfork runs: the
 * child and the parent both come back through it, and neither may keep
 * it on the stack they share. */
__thread unsigned long zmx_vfork_ret
    __attribute__((tls_model("initial-exec"), used));

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
	"	pop %rdi\n"
	"	mov zmx_vfork_ret@gottpoff(%rip), %rax\n"
	"	mov %rdi, %fs:(%rax)\n"
	"	call *real_vfork(%rip)\n"
	"	mov zmx_vfork_ret@gottpoff(%rip), %rcx\n"
	"	push %fs:(%rcx)\n"
	"	test %eax, %eax\n"
	"	jnz 3f\n"		/* the parent, or -1 and errno */
	/* the child, whose SUD the kernel cleared, arms it again with
	 * raw calls (zmx_sud_arm's, without a C frame on the stack it
	 * shares with its parent): rt_sigprocmask(SIG_UNBLOCK, SIGSYS),
	 * then prctl(PR_SET_SYSCALL_USER_DISPATCH, INCLUSIVE_ON, start,
	 * len) */
	"	cmpq $0, zmx_sud_conf(%rip)\n"
	"	je 2f\n"
	"	mov $14, %eax\n"
	"	mov $1, %edi\n"
	"	lea zmx_sud_conf+24(%rip), %rsi\n"
	"	xor %edx, %edx\n"
	"	mov $8, %r10d\n"
	"	syscall\n"
	"	mov $157, %eax\n"
	"	mov $59, %edi\n"
	"	mov $2, %esi\n"
	"	mov zmx_sud_conf+8(%rip), %rdx\n"
	"	mov zmx_sud_conf+16(%rip), %r10\n"
	"	xor %r8d, %r8d\n"
	"	syscall\n"
	"2:	xor %eax, %eax\n"
	"3:	ret\n"
	".size vfork, .-vfork\n");
#endif

/* system and popen spawn /bin/sh with glibc's internal posix_spawn,
 * which no wrapper sees: when the shell is to run remotely they are
 * done here, over the posix_spawn above. */
static int
shell_remote(void)
{
	struct zmx_exec_plan p;
	int r = 0;

	if (zmx_policy.any_remote && zmx_guard_enter()) {
		r = zmx_exec_plan("/bin/sh", 0, &p);
		zmx_guard_leave();
	}
	return r > 0;
}

ZMX_EXPORT int
system(const char *cmd)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, oint, oquit;
	posix_spawnattr_t attr;
	sigset_t chld, omask, def;
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	pid_t pid;
	int st, r;

	exec_prepare();
	if (cmd == NULL || !shell_remote())
		return real_system(cmd);
	/* as glibc's: SIGINT and SIGQUIT ignored and SIGCHLD blocked
	 * here while the shell runs, the defaults there */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &omask);
	posix_spawnattr_init(&attr);
	sigemptyset(&def);
	if (oint.sa_handler != SIG_IGN)
		sigaddset(&def, SIGINT);
	if (oquit.sa_handler != SIG_IGN)
		sigaddset(&def, SIGQUIT);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setsigmask(&attr, &omask);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETSIGMASK);
	if ((r = posix_spawn(&pid, "/bin/sh", NULL, &attr, argv,
	    environ)) == 0) {
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR) {
				st = -1;
				break;
			}
	} else
		st = 127 << 8;
	posix_spawnattr_destroy(&attr);
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	sigprocmask(SIG_SETMASK, &omask, NULL);
	return st;
}

/* The streams popen made here, for pclose to wait for their shell. */
#define POPEN_MAX	64
static struct { FILE *f; pid_t pid; } popens[POPEN_MAX];
static pthread_mutex_t popen_lock = PTHREAD_MUTEX_INITIALIZER;

ZMX_EXPORT FILE *
popen(const char *cmd, const char *mode)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	int fds[2], rd, mine, theirs, slot = -1, i, r;
	pid_t pid;
	FILE *f;

	exec_prepare();
	if (cmd == NULL || mode == NULL || (mode[0] != 'r' &&
	    mode[0] != 'w') || !shell_remote())
		return real_popen(cmd, mode);
	pthread_mutex_lock(&popen_lock);
	for (i = 0; i < POPEN_MAX && slot < 0; i++)
		if (popens[i].f == NULL)
			slot = i;
	pthread_mutex_unlock(&popen_lock);
	if (slot < 0)
		return real_popen(cmd, mode);
	rd = mode[0] == 'r';
	if (pipe2(fds, O_CLOEXEC) < 0)
		return NULL;
	mine = rd ? fds[0] : fds[1];
	theirs = rd ? fds[1] : fds[0];
	posix_spawn_file_actions_init(&fa);
	/* a dup2 onto itself would keep close-on-exec */
	if (theirs == (rd ? 1 : 0)) {
		int t = fcntl(theirs, F_DUPFD_CLOEXEC, 3);

		real_close(theirs);
		theirs = t;
	}
	posix_spawn_file_actions_adddup2(&fa, theirs, rd ? 1 : 0);
	/* the streams of earlier popens are not the new shell's (POSIX) */
	pthread_mutex_lock(&popen_lock);
	for (i = 0; i < POPEN_MAX; i++)
		if (popens[i].f != NULL && fileno(popens[i].f) > 2)
			posix_spawn_file_actions_addclose(&fa,
			    fileno(popens[i].f));
	pthread_mutex_unlock(&popen_lock);
	r = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	real_close(theirs);
	if (r != 0) {
		real_close(mine);
		errno = r;
		return NULL;
	}
	if (strchr(mode, 'e') == NULL)
		(void)fcntl(mine, F_SETFD, 0);
	if ((f = fdopen(mine, rd ? "r" : "w")) == NULL) {
		real_close(mine);
		return NULL;
	}
	pthread_mutex_lock(&popen_lock);
	for (i = 0; i < POPEN_MAX; i++)
		if (popens[i].f == NULL) {
			popens[i].f = f;
			popens[i].pid = pid;
			break;
		}
	pthread_mutex_unlock(&popen_lock);
	return f;
}

ZMX_EXPORT int
pclose(FILE *f)
{
	pid_t pid = -1;
	int i, st;

	pthread_mutex_lock(&popen_lock);
	for (i = 0; i < POPEN_MAX; i++)
		if (f != NULL && popens[i].f == f) {
			pid = popens[i].pid;
			popens[i].f = NULL;
			break;
		}
	pthread_mutex_unlock(&popen_lock);
	if (pid < 0) {
		zmx_real_ensure();
		return real_pclose(f);
	}
	fclose(f);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}
