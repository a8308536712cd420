/* wrap_proc.c - the wait family: a reaped child may have changed remote
 * files, so what this process cached about them is dropped. */
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "cache.h"
#include "guard.h"
#include "real.h"

static pid_t
reaped(pid_t r)
{
	if (r > 0)
		zmx_cache_invalidate();
	return r;
}

ZMX_EXPORT pid_t
wait(int *status)
{
	if (!zmx_guard_enter())
		return real_wait(status);
	zmx_guard_leave();
	return reaped(real_wait(status));
}

ZMX_EXPORT pid_t
waitpid(pid_t pid, int *status, int options)
{
	if (!zmx_guard_enter())
		return real_waitpid(pid, status, options);
	zmx_guard_leave();
	return reaped(real_waitpid(pid, status, options));
}

ZMX_EXPORT pid_t
wait3(int *status, int options, struct rusage *ru)
{
	if (!zmx_guard_enter())
		return real_wait3(status, options, ru);
	zmx_guard_leave();
	return reaped(real_wait3(status, options, ru));
}

ZMX_EXPORT pid_t
wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	if (!zmx_guard_enter())
		return real_wait4(pid, status, options, ru);
	zmx_guard_leave();
	return reaped(real_wait4(pid, status, options, ru));
}

ZMX_EXPORT int
waitid(idtype_t type, id_t id, siginfo_t *info, int options)
{
	int r;

	if (!zmx_guard_enter())
		return real_waitid(type, id, info, options);
	zmx_guard_leave();
	r = real_waitid(type, id, info, options);
	if (r == 0 && info != NULL && info->si_pid > 0)
		zmx_cache_invalidate();
	return r;
}
