/* vcwd.c - the virtual cwd and path classification (shim.h). When the
 * program's cwd is remote, the real cwd stays where it was and relative
 * paths are joined here; the kernel never sees them. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdtab.h"
#include "guard.h"
#include "path.h"
#include "real.h"
#include "shim.h"

/* The remote cwd, or NULL. Replaced under lock; an old string is freed
 * only under the lock, and readers copy it under the lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *vcwd;

/* Our pid, to tell a vfork child (same memory, other pid) from us.
 * Written by the constructor and the atfork child handler. */
int zmx_vcwd_pid;

/* A vfork child's cwd: kept out of the memory it shares with its parent
 * except this buffer, tagged with the child's pid (zmx_tls.vfork_pid), so
 * the parent ignores it. Only the exec that follows reads it. */
static __thread char vfork_cwd[PATH_MAX] __attribute__((tls_model("initial-exec")));

int
zmx_vcwd_in_vfork(void)
{
	return zmx_vcwd_pid != 0 && (int)syscall(SYS_getpid) != zmx_vcwd_pid;
}

int
zmx_vcwd_get(char *buf, size_t size)
{
	size_t n = 0;

	if (zmx_tls.vfork_pid != 0 && zmx_tls.vfork_pid ==
	    (int)syscall(SYS_getpid)) {
		n = strlen(vfork_cwd);
		if (n + 1 > size)
			return -ERANGE;
		memcpy(buf, vfork_cwd, n + 1);
		return (int)n;
	}
	if (__atomic_load_n(&vcwd, __ATOMIC_ACQUIRE) == NULL)
		return 0;
	pthread_mutex_lock(&lock);
	if (vcwd != NULL) {
		n = strlen(vcwd);
		if (n + 1 > size)
			n = (size_t)-ERANGE;
		else
			memcpy(buf, vcwd, n + 1);
	}
	pthread_mutex_unlock(&lock);
	return (int)n;
}

int
zmx_vcwd_set(const char *lpath)
{
	char *n = NULL, *old;

	if (zmx_vcwd_in_vfork()) {
		/* no malloc, no change the parent would see */
		if (lpath != NULL && strlen(lpath) >= sizeof(vfork_cwd))
			return -ENAMETOOLONG;
		strcpy(vfork_cwd, lpath ? lpath : "");
		zmx_tls.vfork_pid = (int)syscall(SYS_getpid);
		return 0;
	}
	if (lpath != NULL && (n = strdup(lpath)) == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&lock);
	old = vcwd;
	__atomic_store_n(&vcwd, n, __ATOMIC_RELEASE);
	/* what an exec'd program starts in (execv, system, popen use
	 * environ; wrap_exec.c fixes explicit environments) */
	setenv("ZMX_CWD", n ? n : "", 1);
	pthread_mutex_unlock(&lock);
	free(old);
	return 0;
}

int
zmx_vcwd_init(void)
{
	char buf[PATH_MAX], norm[PATH_MAX];
	const char *s = getenv("ZMX_CWD");

	zmx_vcwd_pid = (int)syscall(SYS_getpid);
	if (s == NULL || s[0] != '/') {
		if (real_getcwd(buf, sizeof(buf)) == NULL)
			return 0;
		s = buf;
	}
	if (zmx_path_join("/", s, norm, sizeof(norm)) < 0)
		return -ENAMETOOLONG;
	if (zmx_policy_match(&zmx_policy, norm) != NULL)
		return zmx_vcwd_set(norm);
	return 0;
}

/* Skips a run of digits at *p; its value, or -1 if there is none. */
static long
digits(const char **p)
{
	long v = 0;

	if (**p < '0' || **p > '9')
		return -1;
	while (**p >= '0' && **p <= '9' && v < 1000000000L)
		v = v * 10 + (*(*p)++ - '0');
	return v;
}

int
zmx_vcwd_proc_link(const char *path, int files, char *out, size_t outlen,
    int *bare)
{
	struct zmx_file *f = NULL;
	char base[PATH_MAX];
	const char *p;
	long fd;
	int r;

	*bare = 0;
	if (strncmp(path, "/proc/", 6) != 0)
		return 0;
	p = path + 6;
	if (strncmp(p, "self/", 5) == 0)
		p += 5;
	else if (strncmp(p, "thread-self/", 12) == 0)
		p += 12;
	else {
		/* our own pid, and maybe task/TID: what /proc/self and
		 * /proc/thread-self lead to (realpath, readlink -f) */
		if (digits(&p) != (long)syscall(SYS_getpid) || *p++ != '/')
			return 0;
		if (strncmp(p, "task/", 5) == 0) {
			p += 5;
			if (digits(&p) < 0 || *p++ != '/')
				return 0;
		}
	}
	if (strncmp(p, "cwd", 3) == 0 && (p[3] == '/' || p[3] == '\0')) {
		/* the real cwd stays local when the virtual one is remote */
		if ((r = zmx_vcwd_get(base, sizeof(base))) <= 0)
			return r;
		p += 3;
	} else if (strncmp(p, "fd/", 3) == 0) {
		p += 3;
		if ((fd = digits(&p)) < 0 || (*p != '/' && *p != '\0') ||
		    (f = zmx_fdtab_get((int)fd)) == NULL)
			return 0;
		/* A regular file's own link stays local for an open: it
		 * reopens the memfd, with what the program wrote. */
		if (!files && f->kind != ZMX_FILE_DIR && *p == '\0')
			return 0;
		if (strlen(f->lpath) >= sizeof(base))
			return -ENAMETOOLONG;
		strcpy(base, f->lpath);
	} else
		return 0;
	*bare = *p == '\0';
	return zmx_path_join(base, *p ? p + 1 : ".", out, outlen) < 0 ?
	    -ENAMETOOLONG : 1;
}

/* The path the kernel gives for a local fd (its /proc/self/fd link),
 * into out: its length, or 0 if it has none that is a path. Raw
 * syscalls: this runs in the SIGSYS handler too. Async-signal-safe. */
static int
local_fd_path(int fd, char *out, size_t outlen)
{
	char proc[32] = "/proc/self/fd/", digits[12];
	size_t n = 0, i = 14;
	long len;

	do
		digits[n++] = (char)('0' + fd % 10);
	while ((fd /= 10) > 0 && n < sizeof(digits));
	while (n > 0)
		proc[i++] = digits[--n];
	proc[i] = '\0';
	len = syscall(SYS_readlinkat, AT_FDCWD, proc, out, outlen - 1);
	if (len <= 0 || out[0] != '/')
		return 0;
	out[len] = '\0';
	return (int)len;
}

int
zmx_where(int dirfd, const char *path, int empty_ok, struct zmx_where *w)
{
	struct zmx_file *f;
	char base[PATH_MAX];
	int bare, r;

	if (path == NULL || !zmx_policy.any_remote)
		return ZMX_LOCAL;
	w->slash = path[0] != '\0' && path[strlen(path) - 1] == '/';
	if (path[0] == '/') {
		if (path[1] == 'p' && (r = zmx_vcwd_proc_link(path, 0,
		    w->lpath, sizeof(w->lpath), &bare)) != 0) {
			if (r < 0)
				return r;
		} else if (zmx_path_is_normal(path)) {
			/* the common case: no copy unless remote */
			if ((w->rule = zmx_policy_match(&zmx_policy, path)) ==
			    NULL)
				return ZMX_LOCAL;
			if (strlen(path) >= sizeof(w->lpath))
				return -ENAMETOOLONG;
			strcpy(w->lpath, path);
			goto remote;
		} else {
			if (zmx_path_join("/", path, w->lpath,
			    sizeof(w->lpath)) < 0)
				return -ENAMETOOLONG;
			/* a local absolute path goes to the kernel as given:
			 * it walks "link/.." and "file/" its own way */
			if ((w->rule = zmx_policy_match(&zmx_policy,
			    w->lpath)) == NULL)
				return ZMX_LOCAL;
			goto remote;
		}
		if ((w->rule = zmx_policy_match(&zmx_policy, w->lpath)) == NULL)
			return ZMX_LOCAL_ABS;
		goto remote;
	}
	if (dirfd == AT_FDCWD) {
		if ((r = zmx_vcwd_get(base, sizeof(base))) <= 0)
			return r < 0 ? r : ZMX_LOCAL;
	} else if ((f = zmx_fdtab_get(dirfd)) == NULL) {
		/* a local directory whose name leads into a remote prefix:
		 * rsync's secure chdir, for one, walks from "/" opening
		 * each name O_PATH beneath the last */
		if (dirfd < 0 || path[0] == '\0' ||
		    local_fd_path(dirfd, base, sizeof(base)) == 0 ||
		    zmx_path_join(base, path, w->lpath, sizeof(w->lpath)) < 0 ||
		    (w->rule = zmx_policy_match(&zmx_policy, w->lpath)) ==
		    NULL)
			return ZMX_LOCAL;
		goto remote;
	} else {
		if (path[0] == '\0' && !empty_ok)
			return -ENOENT;
		if (f->kind != ZMX_FILE_DIR && path[0] != '\0')
			return -ENOTDIR;
		if (strlen(f->lpath) >= sizeof(base))
			return -ENAMETOOLONG;
		strcpy(base, f->lpath);
	}
	if (path[0] == '\0' && dirfd == AT_FDCWD)
		return ZMX_LOCAL;	/* the kernel says ENOENT */
	if (zmx_path_join(base, path, w->lpath, sizeof(w->lpath)) < 0)
		return -ENAMETOOLONG;
	if ((w->rule = zmx_policy_match(&zmx_policy, w->lpath)) == NULL)
		return ZMX_LOCAL_ABS;
remote:
	if ((r = zmx_policy_map(w->rule, w->lpath, w->rpath,
	    sizeof(w->rpath))) < 0)
		return -ENAMETOOLONG;
	/* agentd then says ENOTDIR for "file/", as the kernel does */
	if (w->slash && r > 1 && (size_t)r + 1 < sizeof(w->rpath))
		strcpy(w->rpath + r, "/");
	return ZMX_REMOTE;
}

void
zmx_vcwd_fork(int phase)
{
	if (phase == 0)
		pthread_mutex_lock(&lock);
	else
		pthread_mutex_unlock(&lock);
}
