/* autostart.c - a session for a program preloaded without zmx run
 * (DESIGN.md decision 5): `zmx session --for PID`, found beside
 * libzmx.so, prints its directory and goes to the background; this
 * process and every child it starts then use it (ZMX_SESSION_DIR). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "autostart.h"
#include "log.h"
#include "real.h"

#define AUTOSTART_WAIT_MS	5000

extern char **environ;

/* The zmx next to this library (build/), or PREFIX/bin from
 * PREFIX/lib/zmx; $ZMX_BIN first. */
static int
find_zmx(char *out, size_t len)
{
	const char *bin = getenv("ZMX_BIN");
	char lib[PATH_MAX], *slash;
	Dl_info di;

	if (bin != NULL && *bin != '\0') {
		snprintf(out, len, "%s", bin);
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	if (dladdr((void *)find_zmx, &di) == 0 || di.dli_fname == NULL ||
	    realpath(di.dli_fname, lib) == NULL ||
	    (slash = strrchr(lib, '/')) == NULL)
		return -ENOENT;
	*slash = '\0';
	if ((size_t)snprintf(out, len, "%s/zmx", lib) < len &&
	    access(out, X_OK) == 0)
		return 0;
	if ((size_t)snprintf(out, len, "%s/../../bin/zmx", lib) < len &&
	    access(out, X_OK) == 0)
		return 0;
	return -ENOENT;
}

int
zmx_autostart(char *dir, size_t len)
{
	posix_spawn_file_actions_t fa;
	struct pollfd pfd;
	char zmx[PATH_MAX], forpid[32], *argv[5], **env;
	size_t n = 0, i, j = 0, got = 0;
	ssize_t k;
	pid_t pid;
	int p[2], st, r;

	if ((r = find_zmx(zmx, sizeof(zmx))) < 0) {
		zmx_err("no session and no zmx to start one (beside libzmx.so "
		    "or $ZMX_BIN); start the agent with 'zmx run'");
		return r;
	}
	/* zmx itself runs without the shim */
	while (environ != NULL && environ[n] != NULL)
		n++;
	if ((env = calloc(n + 1, sizeof(*env))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[j++] = environ[i];
	snprintf(forpid, sizeof(forpid), "%ld", (long)getpid());
	argv[0] = zmx;
	argv[1] = "session";
	argv[2] = "--for";
	argv[3] = forpid;
	argv[4] = NULL;
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(env);
		return -errno;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	r = real_posix_spawn(&pid, zmx, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		zmx_err("%s session: %s", zmx, strerror(r));
		return -r;
	}
	/* one line, the directory; then the first process exits */
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (got < len - 1 && poll(&pfd, 1, AUTOSTART_WAIT_MS) > 0 &&
	    (k = read(p[0], dir + got, len - 1 - got)) > 0)
		got += (size_t)k;
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	dir[got] = '\0';
	if (got == 0 || dir[got - 1] != '\n' || dir[0] != '/') {
		zmx_err("%s session did not start (see above)", zmx);
		return -EIO;
	}
	dir[got - 1] = '\0';
	/* for every process this one starts */
	if (setenv("ZMX_SESSION_DIR", dir, 1) < 0)
		return -errno;
	return 0;
}
