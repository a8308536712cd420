/* init.c - the shim's start and end in the program: load the policy, join
 * agentd's session, adopt remote fds inherited across exec; at exit, write
 * back what is still open. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conn.h"
#include "exec_remote.h"
#include "fdtab.h"
#include "fs.h"
#include "guard.h"
#include "io.h"
#include "log.h"
#include "memfd.h"
#include "real.h"
#include "shim.h"
#include "sys.h"

__thread struct zmx_tls zmx_tls __attribute__((tls_model("initial-exec")));

/* Both written by the constructor only, before the program's threads. */
int zmx_shim_ready;
struct zmx_policy zmx_policy;
unsigned zmx_umask = 022;

static int
load_policy(void)
{
	const char *text = getenv("ZMX_POLICY"), *file = getenv("ZMX_PROFILE");
	char why[512], buf[65536];
	ssize_t n;
	int fd, r;

	if ((text == NULL || *text == '\0') && file != NULL && *file != '\0') {
		if ((fd = real_openat(AT_FDCWD, file, O_RDONLY | O_CLOEXEC)) <
		    0 || (n = zmx_io_read_all(fd, buf, sizeof(buf) - 1, -1)) < 0) {
			zmx_err("ZMX_PROFILE %s: %s", file, strerror(errno));
			if (fd >= 0)
				real_close(fd);
			return -EINVAL;
		}
		real_close(fd);
		buf[n] = '\0';
		text = buf;
	}
	if (text == NULL)
		return 0;
	if ((r = zmx_policy_parse(&zmx_policy, text, why, sizeof(why))) < 0) {
		zmx_err("ZMX_POLICY: %s; every path stays local", why);
		zmx_policy_free(&zmx_policy);
	}
	return r;
}

/* No lock of the shim may be copied into a child while another thread
 * holds it: all are taken before fork (none is held across a round trip)
 * and released after, in a fixed order. */
void
zmx_fork_prepare(void)
{
	zmx_conn_atfork_prepare();
	zmx_vcwd_fork(0);
	zmx_fdtab_fork(0);
	zmx_dir_fork(0);
}

void
zmx_fork_parent(void)
{
	zmx_dir_fork(1);
	zmx_fdtab_fork(1);
	zmx_vcwd_fork(1);
	zmx_conn_atfork_parent();
}

void
zmx_fork_child(void)
{
	zmx_dir_fork(2);
	zmx_fdtab_fork(2);
	zmx_vcwd_fork(2);
	zmx_conn_atfork_child();
	zmx_vcwd_pid = (int)syscall(SYS_getpid);
	zmx_tls.vfork_pid = 0;	/* a vfork child's, from before: not ours */
	zmx_tls.vfork_conn = 0;	/* the connections were the parent's */
	zmx_sud_arm();		/* fork cleared it */
}

__attribute__((constructor)) static void
zmx_init(void)
{
	zmx_real_init();
	zmx_tls.depth++;	/* our own calls below go to libc */
	zmx_log_init("zmx", getenv);
	if (load_policy() < 0 || !zmx_policy.any_remote)
		goto out;	/* nothing remote: the shim stays out of the way */
	if (zmx_conn_init() < 0) {
		zmx_policy_free(&zmx_policy);
		goto out;
	}
	if (zmx_vcwd_init() < 0)
		zmx_warn("ZMX_CWD: too long; the cwd stays local");
	zmx_umask = real_umask(0);
	real_umask(zmx_umask);
	zmx_memfd_init();
	zmx_exec_init();
	zmx_memfd_adopt();
	pthread_atfork(zmx_fork_prepare, zmx_fork_parent, zmx_fork_child);
	/* libuv would do file I/O through io_uring, behind every hook */
	setenv("UV_USE_IO_URING", "0", 1);
	__atomic_store_n(&zmx_shim_ready, 1, __ATOMIC_RELEASE);
	zmx_sud_init();
out:
	zmx_tls.depth--;
}
