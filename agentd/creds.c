/* creds.c - when agentd runs as root, each operation runs with the
 * session user's filesystem ids: setfsuid/setfsgid and the raw setgroups
 * syscall, all per thread. glibc's setgroups() would signal every
 * thread, libzmq's I/O threads included, so the raw call is used. The
 * kernel drops the filesystem capabilities while fsuid is not 0. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"

/* Written by zmx_creds_init() and fini() only; agentd is one thread. */
static int creds_root;			/* euid 0: switching is on */
static uid_t creds_uid;
static gid_t creds_gid;
static gid_t *creds_groups;		/* agentd's own, to restore */
static int creds_ngroups;
static int creds_switched;		/* inside enter/leave */

int
zmx_creds_init(void)
{
	int n;

	creds_uid = geteuid();
	creds_gid = getegid();
	creds_root = creds_uid == 0;
	if ((n = getgroups(0, NULL)) < 0)
		return -errno;
	if ((creds_groups = calloc(n + 1, sizeof(gid_t))) == NULL)
		return -ENOMEM;
	if ((n = getgroups(n, creds_groups)) < 0)
		return -errno;
	creds_ngroups = n;
	return 0;
}

void
zmx_creds_fini(void)
{
	free(creds_groups);
	creds_groups = NULL;
	creds_ngroups = 0;
}

int
zmx_creds_switching(void)
{
	return creds_root;
}

int
zmx_creds_enter(const struct zmx_creds *c)
{
	if (!creds_root || c->ngroups < 0 || (c->uid == creds_uid && c->gid == creds_gid &&
	    c->ngroups == creds_ngroups && (c->ngroups == 0 ||
	    memcmp(c->groups, creds_groups, c->ngroups * sizeof(gid_t)) == 0)))
		return 0;
	/* groups first, while we still hold CAP_SETGID for certain */
	if (syscall(SYS_setgroups, (size_t)c->ngroups, c->groups) < 0)
		return -errno;
	setfsgid(c->gid);
	setfsuid(c->uid);
	/* setfsuid() cannot report failure; asking again returns the
	 * value now in force. */
	if ((uid_t)setfsuid(c->uid) != c->uid ||
	    (gid_t)setfsgid(c->gid) != c->gid) {
		creds_switched = 1;
		zmx_creds_leave();
		return -EPERM;
	}
	creds_switched = 1;
	return 0;
}

void
zmx_creds_leave(void)
{
	if (!creds_switched)
		return;
	setfsuid(creds_uid);
	setfsgid(creds_gid);
	if (syscall(SYS_setgroups, (size_t)creds_ngroups, creds_groups) < 0)
		zmx_err("cannot restore agentd's groups: errno %d", errno);
	creds_switched = 0;
}

int
zmx_creds_pause(void)
{
	int was = creds_switched;

	zmx_creds_leave();
	return was;
}

void
zmx_creds_resume(const struct zmx_creds *c, int paused)
{
	/* the request goes on after this: going on as agentd itself
	 * (root) would be worse than stopping */
	if (paused && zmx_creds_enter(c) < 0) {
		zmx_err("cannot act as uid %u again: stopping",
		    (unsigned)c->uid);
		abort();
	}
}
