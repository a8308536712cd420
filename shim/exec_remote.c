/* exec_remote.c - a command that runs remotely (DESIGN.md decision 3).
 * An exec whose program should run on agentd's side becomes, in the
 * same process, an exec of zmx-exec: the shim first asks the session to
 * SPAWN the command (so that a program agentd cannot run fails this
 * exec with agentd's errno, as locally: bash then says "Permission
 * denied" and returns 126), sends the first PREAD_OUTs behind it
 * (ZMX_SPAWN_READS), and hands zmx-exec the connection they went on. zmx-exec then streams the
 * command's stdin and output, forwards signals and dies as it did.
 *
 * This may run in a vfork child that shares the parent's memory: no
 * malloc here; the frames are built in an anonymous mapping that is
 * unmapped before the exec. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>

#include "conn.h"
#include "exec_remote.h"
#include "guard.h"
#include "local.h"
#include "log.h"
#include "path.h"
#include "real.h"
#include "shim.h"
#include "command.h"

#define EXEC_FIRST_WAIT_MS	1000	/* the first PREAD_OUTs' hold */

extern char **environ;

/* zmx-exec's path, found by the constructor; "" runs every command
 * locally. Read-only afterwards. */
static char exec_path[PATH_MAX];

/* zmx run's child, the agent's own process (ZMX_AGENT_PID): its execs
 * are how the agent starts (a "#!/usr/bin/env node" line, a wrapper
 * script), so they stay local. */
static long agent_pid;

void
zmx_exec_init(void)
{
	const char *e = getenv("ZMX_EXEC");
	char lib[PATH_MAX], *slash;
	Dl_info di;

	if ((e = getenv("ZMX_AGENT_PID")) != NULL) {
		agent_pid = atol(e);
		/* only that process: the agent's children run commands */
		if (agent_pid != (long)getpid())
			unsetenv("ZMX_AGENT_PID");
		e = getenv("ZMX_EXEC");
	}

	if (e != NULL && *e != '\0') {
		if (strlen(e) < sizeof(exec_path))
			strcpy(exec_path, e);
		return;
	}
	if (dladdr((void *)zmx_exec_init, &di) == 0 || di.dli_fname == NULL ||
	    realpath(di.dli_fname, lib) == NULL ||
	    (slash = strrchr(lib, '/')) == NULL)
		return;
	*slash = '\0';
	if ((size_t)snprintf(exec_path, sizeof(exec_path), "%s/zmx-exec",
	    lib) < sizeof(exec_path) && access(exec_path, X_OK) == 0)
		return;
	if ((size_t)snprintf(exec_path, sizeof(exec_path),
	    "%s/../../bin/zmx-exec", lib) < sizeof(exec_path) &&
	    access(exec_path, X_OK) == 0)
		return;
	exec_path[0] = '\0';
}

const char *
zmx_exec_path(void)
{
	return exec_path;
}

/* The remote cwd, or if the cwd is local the remote root of the first
 * remote rule. Sets *remote to whether the cwd is remote. */
static int
remote_cwd(char *out, size_t len, int *remote)
{
	char vc[PATH_MAX];
	const struct zmx_rule *r;
	int i;

	*remote = 0;
	if (zmx_vcwd_get(vc, sizeof(vc)) > 0 &&
	    (r = zmx_policy_match(&zmx_policy, vc)) != NULL) {
		*remote = 1;
		return zmx_policy_map(r, vc, out, len) < 0 ? -ENAMETOOLONG : 0;
	}
	for (i = 0; i < zmx_policy.n; i++)
		if (zmx_policy.rules[i].remote) {
			snprintf(out, len, "%s", zmx_policy.rules[i].rprefix);
			return 0;
		}
	return -ENOENT;
}

/* The agent's own process bookkeeping: ps or pgrep run by the agent
 * itself (tree-kill asks `ps --ppid PID` for its children, to kill a
 * command that timed out) must see local processes. What the agent's
 * shell runs follows the rules. */
static int
agents_own(const char *file)
{
	const char *base = zmx_path_base(file);

	if (agent_pid == 0 || (agent_pid != (long)getpid() &&
	    agent_pid != (long)getppid()))
		return 0;
	return strcmp(base, "ps") == 0 || strcmp(base, "pgrep") == 0;
}

/* Whether a program is zmx's own (it runs where it is). */
static int
is_ours(const char *path)
{
	const char *base = zmx_path_base(path);

	return strcmp(path, exec_path) == 0 || strcmp(base, "zmx-exec") == 0 ||
	    strcmp(base, "zmx") == 0;
}

int
zmx_exec_plan(const char *file, int search, struct zmx_exec_plan *p)
{
	struct zmx_where w;
	int cwd_remote, rule, r;

	if (exec_path[0] == '\0' || !zmx_policy.any_remote || file == NULL ||
	    *file == '\0' || agents_own(file))
		return 0;
	if (remote_cwd(p->cwd, sizeof(p->cwd), &cwd_remote) < 0)
		return 0;
	p->flags = 0;
	if (search && strchr(file, '/') == NULL) {
		rule = zmx_policy_exec(&zmx_policy, file);
		if (rule == 0 || (rule < 0 && !cwd_remote) || is_ours(file))
			return 0;
		if (strlen(file) >= sizeof(p->path))
			return -ENAMETOOLONG;
		strcpy(p->path, file);
		p->flags = ZMX_SPAWN_SEARCH | ZMX_SPAWN_MAY_STAGE;
		return 1;
	}
	if ((r = zmx_where(AT_FDCWD, file, 0, &w)) < 0)
		return r;
	if (r == ZMX_REMOTE) {
		/* a program that is only there runs there, whatever the
		 * rules say */
		strcpy(p->path, w.rpath);
		return 1;
	}
	if (r == ZMX_LOCAL_ABS)
		file = w.lpath;
	rule = zmx_policy_exec(&zmx_policy, file);
	if (rule == 0 || (rule < 0 && !cwd_remote) || is_ours(file))
		return 0;
	if (file[0] != '/')
		return 0;	/* relative to a local cwd: it stays local */
	if (strlen(file) >= sizeof(p->path))
		return -ENAMETOOLONG;
	strcpy(p->path, file);
	p->flags = ZMX_SPAWN_MAY_STAGE;
	return 1;
}

static int
recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;
	int pass;

	while (len > 0) {
		pass = -1;
		n = zmx_local_recv(fd, p, len, &pass, 0);
		if (pass >= 0)
			real_close(pass);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -EPIPE : (int)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The SPAWN's answer on fd: 0 (running), or -errno. */
static int
spawn_answer(int fd)
{
	unsigned char hdr[ZMX_LOCAL_HDR], body[8192];
	uint32_t len;
	uint64_t id = 0;
	int r;

	if ((r = recv_all(fd, hdr, sizeof(hdr))) < 0)
		return -EIO;
	if ((len = zmx_local_len(hdr)) > sizeof(body))
		return -EIO;
	if ((r = recv_all(fd, body, len)) < 0)
		return -EIO;
	r = zmx_msg_peek_result(body, len, ZMX_MSG_OK, &id);
	return id == 1 ? r : -EIO;
}

int
zmx_exec_spawn(const struct zmx_exec_plan *p, char *const argv[],
    char *const envp[], int fd, uint64_t *hp)
{
	struct zmx_spawn sp = {
		.path = p->path, .flags = p->flags, .cwd = p->cwd,
		.argv = argv, .envp = envp, .wait = EXEC_FIRST_WAIT_MS,
	};
	size_t room = zmx_spawn_room(argv, envp);
	ssize_t len;
	char *buf;
	int r;

	while (sp.h == 0)
		if (syscall(SYS_getrandom, &sp.h, sizeof(sp.h), 0) !=
		    (long)sizeof(sp.h))
			return -EIO;
	room = (room + 4095) & ~(size_t)4095;
	buf = (char *)syscall(SYS_mmap, NULL, room, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if ((long)buf < 0 && (long)buf > -4096)
		return -ENOMEM;
	if ((len = zmx_spawn_frames(&sp, buf, room)) < 0)
		r = (int)len;
	else if ((r = zmx_local_send_all(fd, buf, (size_t)len)) == 0)
		r = spawn_answer(fd);
	(void)syscall(SYS_munmap, buf, room);
	*hp = sp.h;
	return r;
}

int
zmx_exec_remote(const char *file, int search, char *const argv[],
    char *const envp[])
{
	struct zmx_exec_plan p;
	char fdvar[64], hvar[64], *xargv[3], *xenv[5], tmo[64];
	const char *t;
	uint64_t h;
	int fd, r, n = 0;

	/* the agent's process replacing its image is the agent starting */
	if (agent_pid != 0 && agent_pid == (long)getpid())
		return 1;
	if ((r = zmx_exec_plan(file, search, &p)) <= 0)
		return r < 0 ? r : 1;
	if ((fd = zmx_conn_session_fd()) < 0)
		return -EIO;
	if ((r = zmx_exec_spawn(&p, argv, envp, fd, &h)) < 0) {
		real_close(fd);
		return r == -ENOPKG ? -ENOENT : r;
	}
	/* zmx-exec takes over the connection: the command's answers to
	 * come (the first PREAD_OUTs are ids 2 ...) go there */
	snprintf(fdvar, sizeof(fdvar), "ZMX_SESSION_FD=%d:%ld", fd,
	    zmx_conn_session_pid());
	xenv[n++] = fdvar;
	snprintf(hvar, sizeof(hvar), "ZMX_EXEC_H=%016llx",
	    (unsigned long long)h);
	xenv[n++] = hvar;
	if ((t = getenv("ZMX_TIMEOUT_MS")) != NULL &&
	    strlen(t) < sizeof(tmo) - 16) {
		snprintf(tmo, sizeof(tmo), "ZMX_TIMEOUT_MS=%s", t);
		xenv[n++] = tmo;
	}
	xenv[n] = NULL;
	xargv[0] = (char *)(argv[0] ? argv[0] : file);
	xargv[1] = "--attach";
	xargv[2] = NULL;
	/* a vfork child shares this thread's guard with its parent: it
	 * must be left as the parent will find it */
	zmx_tls.depth--;
	real_execve(exec_path, xargv, xenv);
	zmx_tls.depth++;
	r = -errno;
	zmx_err("%s: cannot run zmx-exec (%s): %s", file, exec_path,
	    strerror(errno));
	real_close(fd);
	return r;
}
