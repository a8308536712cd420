/* reaper.c - the reaper R and the command C (reaper.h). Everything
 * after fork() here runs in a copy of a threaded process whose other
 * threads (libzmq's) are gone and may have held locks: only raw
 * syscalls and async-signal-safe libc, stack buffers, _exit. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "reaper.h"

#define REAPER_SH	"/bin/sh"
#define REAPER_SH_ARGS	4096	/* argv of a script run by sh (ENOEXEC) */

/* C: tells agentd why the program does not run, and ends. */
static void __attribute__((noreturn))
fail(int errw, int err, int notfound)
{
	struct zmx_reaper_fail f = { err, notfound };

	(void)!write(errw, &f, sizeof(f));
	_exit(127);
}

/* Closes every fd but those in keep[n] (-1s skipped). */
static void
keep_only(const int *keep, int n)
{
	int v[16], m = 0, i, j, t;
	unsigned lo = 0;

	for (i = 0; i < n && m < 16; i++)
		if (keep[i] >= 0)
			v[m++] = keep[i];
	for (i = 1; i < m; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (i = 0; i < m; i++) {
		if ((unsigned)v[i] > lo)
			(void)close_range(lo, v[i] - 1, 0);
		lo = v[i] + 1;
	}
	(void)close_range(lo, ~0U, 0);
}

/* C: an fd moved to 3 or above, so that dup2 onto 0..2 clobbers none
 * of the others; close-on-exec. */
static int
high(int fd, int errw)
{
	int r;

	if (fd < 0)
		return -1;
	if ((r = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		fail(errw, errno, 0);
	return r;
}

/* C: execve as execvp(3) does it for a file that is no ELF and has no
 * #!: the shell runs it. */
static void
exec_sh(const char *file, char *const *argv, char *const *envp)
{
	char *v[REAPER_SH_ARGS + 2];
	int n;

	for (n = 0; argv[n] != NULL; n++)
		if (n >= REAPER_SH_ARGS) {
			errno = E2BIG;
			return;
		}
	v[0] = (char *)REAPER_SH;
	v[1] = (char *)file;
	if (n > 0)
		memcpy(v + 2, argv + 1, n * sizeof(*v));
	else
		v[2] = NULL;
	execve(REAPER_SH, v, envp);
}

/* C: whether the file exists, so that ENOENT from execve names the
 * interpreter (or loader) rather than the program. */
static int
exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* C: the PATH lookup of execvpe(3), with stack buffers only. */
static void __attribute__((noreturn))
exec_search(const struct zmx_reaper_spec *sp, int errw)
{
	char buf[PATH_MAX];
	const char *p = sp->pathvar, *end;
	size_t dl, nl = strlen(sp->path);
	int eacces = 0, found = 0;

	if (nl == 0)
		fail(errw, ENOENT, 1);
	for (;; p = end + 1) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		dl = end - p;
		if (dl + 1 + nl + 1 <= sizeof(buf)) {
			/* an empty entry is the working directory */
			if (dl == 0)
				buf[0] = '.', dl = 1;
			else
				memcpy(buf, p, dl);
			buf[dl] = '/';
			memcpy(buf + dl + 1, sp->path, nl + 1);
			execve(buf, sp->argv, sp->envp);
			switch (errno) {
			case ENOEXEC:
				exec_sh(buf, sp->argv, sp->envp);
				fail(errw, errno, 0);
			case EACCES:
				eacces = 1;
				found = 1;
				break;
			case ENOENT:
				if (exists(buf))
					found = 1;
				break;
			case ENOTDIR:
			case ESTALE:
			case ENODEV:
			case ETIMEDOUT:
				break;
			default:
				fail(errw, errno, 0);
			}
		}
		if (*end == '\0')
			break;
	}
	fail(errw, eacces ? EACCES : ENOENT, !found);
}

/* C, in the new process: its session, fds, signals, umask, cwd, ids,
 * then the program. */
static void __attribute__((noreturn))
command(const struct zmx_reaper_spec *sp)
{
	struct sigaction sa;
	sigset_t set;
	int errw, cwd, exe, fd[3], i, nul;

	errw = sp->errw;
	if (setsid() < 0)
		fail(errw, errno, 0);
	if (sp->slave >= 0 && ioctl(sp->slave, TIOCSCTTY, 0) < 0)
		fail(errw, errno, 0);
	errw = high(sp->errw, sp->errw);
	cwd = high(sp->cwd, errw);
	exe = high(sp->exe, errw);
	for (i = 0; i < 3; i++) {
		if (sp->fds[i] >= 0)
			fd[i] = high(sp->fds[i], errw);
		else if ((nul = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
			fail(errw, errno, 0);
		else
			fd[i] = high(nul, errw);
	}
	for (i = 0; i < 3; i++)
		if (dup2(fd[i], i) < 0)
			fail(errw, errno, 0);
	/* whatever else this process holds goes at exec */
	(void)close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

	memset(&sa, 0, sizeof(sa));
	for (i = 1; i < 65; i++) {
		if (i == SIGKILL || i == SIGSTOP)
			continue;
		sa.sa_handler = sp->sigign & (1ull << (i - 1)) ? SIG_IGN :
		    SIG_DFL;
		(void)sigaction(i, &sa, NULL);	/* 32, 33: glibc's */
	}
	sigemptyset(&set);
	for (i = 1; i < 65; i++)
		if (sp->sigmask & (1ull << (i - 1)))
			(void)sigaddset(&set, i);
	(void)sigprocmask(SIG_SETMASK, &set, NULL);
	umask(sp->umask & 0777);
	/* the raw calls: set this process's ids, and only its */
	if (sp->setids && (syscall(SYS_setgroups, (size_t)sp->ngroups,
	    sp->groups) < 0 || syscall(SYS_setgid, sp->gid) < 0 ||
	    syscall(SYS_setuid, sp->uid) < 0))
		fail(errw, errno, 0);
	if (fchdir(cwd) < 0)
		fail(errw, errno, 0);
	if (exe >= 0) {
		syscall(SYS_execveat, exe, "", sp->argv, sp->envp,
		    AT_EMPTY_PATH);
		fail(errw, errno, 0);
	}
	if (sp->search && strchr(sp->path, '/') == NULL)
		exec_search(sp, errw);
	execve(sp->path, sp->argv, sp->envp);
	i = errno;
	fail(errw, i, i == ENOENT && !exists(sp->path));
}

/* R: one note to agentd (which may be gone). */
static void
note(int ctl, int what, int val)
{
	struct zmx_reaper_note n = { what, val };

	(void)!send(ctl, &n, sizeof(n), MSG_NOSIGNAL);
}

/* R: SIGKILL to every child listed in /proc/self/task/R/children. */
static void
kill_children(void)
{
	char path[64], buf[4096];
	ssize_t n, i;
	long pid = 0;
	int fd, len, in = 0;
	pid_t me = getpid();
	char digits[16];

	len = 0;
	do
		digits[len++] = '0' + me % 10;
	while ((me /= 10) > 0);
	memcpy(path, "/proc/self/task/", 16);
	for (i = 0; i < len; i++)
		path[16 + i] = digits[len - 1 - i];
	memcpy(path + 16 + len, "/children", 10);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				pid = pid * 10 + (buf[i] - '0');
				in = 1;
			} else if (in) {
				if (pid > 1)
					kill((pid_t)pid, SIGKILL);
				pid = 0;
				in = 0;
			}
		}
	if (in && pid > 1)
		kill((pid_t)pid, SIGKILL);
	close(fd);
}

/* R: kills C's tree, everything reparented to R, until none is left,
 * reporting C's status if it comes now. */
static void __attribute__((noreturn))
kill_all(int ctl, pid_t c, int cdone)
{
	pid_t w;
	int st;

	for (;;) {
		if (!cdone)
			kill(-c, SIGKILL);
		kill_children();
		if ((w = waitpid(-1, &st, 0)) < 0) {
			if (errno == EINTR)
				continue;
			break;			/* ECHILD: all gone */
		}
		if (w == c && !cdone) {
			note(ctl, ZMX_REAPER_STATUS, st);
			cdone = 1;
		}
	}
	_exit(0);
}

/* R: forks C, then reaps until everything it started is gone. */
static void __attribute__((noreturn))
reaper(const struct zmx_reaper_spec *sp, int ctl)
{
	int keep[10] = { ctl, sp->fds[0], sp->fds[1], sp->fds[2], sp->slave,
	    sp->errw, sp->cwd, sp->exe, -1, -1 };
	struct pollfd pf[2];
	struct signalfd_siginfo si;
	sigset_t chld;
	pid_t c, w;
	int sfd, st, cdone = 0;
	char b;

	/* what agentd holds for other commands (their pipes, control
	 * sockets) must not live on here */
	keep_only(keep, 8);
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	(void)sigprocmask(SIG_BLOCK, &chld, NULL);
	if ((sfd = signalfd(-1, &chld, SFD_CLOEXEC)) < 0)
		fail(sp->errw, errno, 0);
	if ((c = fork()) < 0)
		fail(sp->errw, errno, 0);
	if (c == 0)
		command(sp);
	note(ctl, ZMX_REAPER_PID, c);
	keep[0] = ctl;
	keep[1] = sfd;
	keep_only(keep, 2);
	pf[0] = (struct pollfd){ .fd = ctl, .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			kill_all(ctl, c, cdone);
		}
		if (pf[1].revents) {
			(void)!read(sfd, &si, sizeof(si));
			while ((w = waitpid(-1, &st, WNOHANG)) > 0)
				if (w == c) {
					note(ctl, ZMX_REAPER_STATUS, st);
					cdone = 1;
				}
			if (w < 0 && errno == ECHILD)
				_exit(0);
		}
		if (pf[0].revents) {
			/* a kill request, or agentd is gone */
			if (read(ctl, &b, 1) != 1 || b == ZMX_REAPER_KILL)
				kill_all(ctl, c, cdone);
		}
	}
}

pid_t
zmx_reaper_start(const struct zmx_reaper_spec *sp, int *ctlp)
{
	int sv[2], r;
	pid_t pid;

	*ctlp = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if ((pid = fork()) < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0)
		reaper(sp, sv[1]);
	close(sv[1]);
	(void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
	*ctlp = sv[0];
	return pid;
}
