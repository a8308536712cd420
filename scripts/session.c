/* session.c - the session's loop: one epoll set over the local socket and
 * its clients, the link to agentd and the signals zmx run watches. It
 * ends when the agent has ended and nothing is in flight, then prints the
 * session's totals if asked (session.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "local.h"
#include "log.h"
#include "session.h"

#define SESSION_EVENTS	64
#define SESSION_LINGER_MS 3000	/* for processes the agent left behind */

static int sig_tag, link_tag, files_tag;
static int epfd = -1;

int
zmx_session_mkdir(char *dir, size_t len)
{
	const char *base = "/dev/shm";
	struct stat st;

	if (stat(base, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    access(base, W_OK | X_OK) < 0) {
		base = getenv("XDG_RUNTIME_DIR");
		if (base == NULL || base[0] != '/')
			base = "/tmp";
	}
	if ((size_t)snprintf(dir, len, "%s/zmx-session.XXXXXX", base) >=
	    len || mkdtemp(dir) == NULL) {
		int e = errno;

		zmx_err("session directory in %s: %s", base, strerror(e));
		dir[0] = '\0';
		return -e;
	}
	return 0;
}

void
zmx_session_rmdir(const char *dir)
{
	struct dirent *de;
	char p[4096];
	DIR *d;

	if (dir[0] == '\0')
		return;
	snprintf(p, sizeof(p), "%s/" ZMX_LOCAL_SOCK, dir);
	(void)unlink(p);
	/* the empty directories behind remote directory fds (libzmx's
	 * zmxd.*), one left by a process killed before it removed it */
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strncmp(de->d_name, "zmxd.", 5) == 0 &&
			    (size_t)snprintf(p, sizeof(p), "%s/%s", dir,
			    de->d_name) < sizeof(p))
				(void)rmdir(p);
		closedir(d);
	}
	if (rmdir(dir) < 0)
		zmx_warn("rmdir %s: %s", dir, strerror(errno));
}

int
zmx_session_open(const char *dir)
{
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -errno;
	return zmx_local_listen(dir, epfd);
}

/* Whether process p is agent or runs under it, by /proc's parent links. */
static int
is_under(pid_t p, pid_t agent)
{
	char path[64], line[256];
	FILE *f;
	int depth;
	long pp;

	for (depth = 0; depth < 64 && p > 1; depth++) {
		if (p == agent)
			return 1;
		snprintf(path, sizeof(path), "/proc/%ld/status", (long)p);
		if ((f = fopen(path, "re")) == NULL)
			return 0;
		pp = 0;
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "PPid: %ld", &pp) == 1)
				break;
		fclose(f);
		p = (pid_t)pp;
	}
	return 0;
}

static int
min_ms(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* Handles the queued signals; 1 once agent has been reaped (*st set),
 * or, watching a process that is not our child, once told to end. */
static int
signals(int sfd, pid_t agent, int child, int *st)
{
	struct signalfd_siginfo si;
	int done = 0, w_st;
	pid_t w;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (!child) {
			if (si.ssi_signo != SIGCHLD)
				done = 1;
			continue;
		}
		if (si.ssi_signo != SIGCHLD) {
			/* one a process outside the agent sent zmx run
			 * (kill -TERM), passed on; one from the agent's own
			 * tree (kill 0) is not meant to come back */
			if ((si.ssi_code == SI_USER ||
			    si.ssi_code == SI_QUEUE) &&
			    !is_under((pid_t)si.ssi_pid, agent))
				(void)kill(agent, (int)si.ssi_signo);
			continue;
		}
	}
	while ((w = waitpid(-1, &w_st, WNOHANG)) > 0)
		if (child && w == agent) {
			*st = w_st;
			done = 1;
		}
	return done;
}

static void
print_stats(void)
{
	unsigned long hits, misses, wbs;
	char line[4096];
	size_t n;
	int i;

	n = (size_t)snprintf(line, sizeof(line), "zmx: stats: session pid "
	    "%ld: %lu round trips;", (long)getpid(), zmx_link_stats.round_trips);
	for (i = 0; i < ZMX_MSG_MAX && n < sizeof(line); i++)
		if (zmx_link_stats.req[i] && zmx_msg_name(i))
			n += (size_t)snprintf(line + n, sizeof(line) - n,
			    " %s %lu", zmx_msg_name(i), zmx_link_stats.req[i]);
	zmx_files_stats(&hits, &misses, &wbs);
	if (n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, "; %llu "
		    "bytes out, %llu bytes in; file cache %lu hits, %lu "
		    "misses, %lu write-backs; %lu retries, %lu timeouts\n",
		    (unsigned long long)zmx_link_stats.bytes_out,
		    (unsigned long long)zmx_link_stats.bytes_in,
		    hits, misses, wbs,
		    zmx_link_stats.retries, zmx_link_stats.timeouts);
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	(void)zmx_io_write_all(2, line, n, -1);
}

int
zmx_session_serve(struct zmx_session_cfg *cfg, pid_t agent, int child,
    const sigset_t *sigs, int *lost)
{
	struct epoll_event ev[SESSION_EVENTS], e;
	int sfd, lfd = -1, nfd, i, n, timeout, st = 0, done = 0, ending = 0;
	int64_t t0 = 0;

	if ((sfd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		zmx_err("session: signalfd: %s", strerror(errno));
		return 1 << 8;
	}
	e.events = EPOLLIN;
	e.data.ptr = &sig_tag;
	(void)epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &e);
	(void)zmx_link_init(cfg);	/* failing: requests get EIO */
	(void)zmx_files_init(epfd, &files_tag);
	for (;;) {
		/* a new connection has a new fd to watch */
		if ((nfd = zmx_link_fd()) != lfd && nfd >= 0) {
			e.events = EPOLLIN;
			e.data.ptr = &link_tag;
			if (epoll_ctl(epfd, EPOLL_CTL_ADD, nfd, &e) < 0 &&
			    errno == EEXIST)
				(void)epoll_ctl(epfd, EPOLL_CTL_MOD, nfd, &e);
			lfd = nfd;
		}
		timeout = min_ms(zmx_link_tick(), zmx_files_tick());
		/* a watched process (not our child) that is gone */
		if (!child && !done && kill(agent, 0) < 0 && errno == ESRCH)
			done = 1;
		if (done && !ending) {
			ending = 1;
			t0 = zmx_now_ms();
		}
		if (ending) {
			/* what the agent left running may still close files
			 * (their write-backs follow); then every change goes
			 * back now */
			if (zmx_local_clients() == 0 || zmx_now_ms() - t0 >=
			    SESSION_LINGER_MS) {
				zmx_files_flush_all();
				zmx_locks_release_all();
				zmx_procs_kill_all();
				if (!zmx_link_busy() && !zmx_files_busy() &&
				    !zmx_locks_busy())
					break;
			}
		}
		if ((done || !child) && (timeout < 0 || timeout > 100))
			timeout = done ? 50 : 500;
		/* a holder that ended while its connections stay open
		 * elsewhere (a zombie, a child that kept them) */
		if (zmx_locks_held()) {
			zmx_locks_gone();
			if (timeout < 0 || timeout > 500)
				timeout = 500;
		}
		n = epoll_wait(epfd, ev, SESSION_EVENTS, timeout);
		/* agentd's word first: an INVAL that came in must be heard
		 * before a client's open or stat is answered from the
		 * caches, and so must a write-back's end */
		zmx_link_events();
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr == &sig_tag) {
				if (signals(sfd, agent, child, &st))
					done = 1;
			} else if (ev[i].data.ptr == &files_tag)
				zmx_files_event();
			else if (ev[i].data.ptr != &link_tag)
				zmx_local_event(ev[i].data.ptr, ev[i].events);
		}
		zmx_link_events();
	}
	if (cfg->stats)
		print_stats();
	zmx_link_fini();
	*lost = zmx_files_fini();
	zmx_local_fini();
	zmx_procs_fini();
	close(sfd);
	close(epfd);
	return st;
}
