/* wrap_lock.c - flock(2) on a remote fd: the lock is taken on the
 * session's memfd first (the session's processes exclude each other
 * there, as on a local disk), then on agentd through the session, so a
 * process on agentd's side is excluded too. agentd never blocks: a
 * blocking flock waits here, trying again, holding the local lock.
 * fcntl record locks and lockf stay local to the session (libzmx(7)). */
#include <errno.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "fs.h"
#include "fdtab.h"
#include "guard.h"
#include "real.h"

#define LOCK_RETRY_MIN_MS	5
#define LOCK_RETRY_MAX_MS	200

static int
remote_lock(struct zmx_file *f, uint32_t op)
{
	struct zmx_msg req = { .type = ZMX_MSG_LOCK };
	struct zmx_frame rep = { 0 };
	int r;

	req.u.lock.path = f->rpath;
	req.u.lock.op = op;
	req.u.lock.pid = (uint32_t)getpid();
	r = zmx_conn_call(&req, &rep, ZMX_MSG_OK);
	zmx_frame_close(&rep);
	if (r == 0)
		f->lock = op;
	return r;
}

static int
fs_flock(int fd, int op)
{
	struct zmx_file *f = zmx_fdtab_get(fd);
	struct timespec ts;
	uint32_t want, had;
	int r, wait_ms = LOCK_RETRY_MIN_MS;

	if (f == NULL || f->kind == ZMX_FILE_TMP)
		return real_flock(fd, op) < 0 ? -errno : 0;
	had = f->lock;
	if (op & LOCK_UN) {
		r = real_flock(fd, op) < 0 ? -errno : 0;
		if (r == 0 && had != ZMX_LOCK_UN)
			(void)remote_lock(f, ZMX_LOCK_UN);
		return r;
	}
	want = op & LOCK_EX ? ZMX_LOCK_EX : ZMX_LOCK_SH;
	if (real_flock(fd, op) < 0)
		return -errno;
	for (;;) {
		if ((r = remote_lock(f, want)) != -EAGAIN)
			break;
		if (op & LOCK_NB) {
			r = -EWOULDBLOCK;
			break;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = (long)wait_ms * 1000000;
		nanosleep(&ts, NULL);
		if ((wait_ms *= 2) > LOCK_RETRY_MAX_MS)
			wait_ms = LOCK_RETRY_MAX_MS;
	}
	if (r < 0)	/* back to what this description held */
		(void)real_flock(fd, had == ZMX_LOCK_EX ? LOCK_EX :
		    had == ZMX_LOCK_SH ? LOCK_SH : LOCK_UN);
	return r;
}

void
zmx_lock_release(struct zmx_file *f)
{
	/* the kernel drops the local lock with the description */
	if (f->lock != ZMX_LOCK_UN)
		(void)remote_lock(f, ZMX_LOCK_UN);
}

ZMX_EXPORT int
flock(int fd, int op)
{
	DISPATCH(int, real_flock(fd, op), fs_flock(fd, op));
}
