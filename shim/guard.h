/* guard.h - the re-entrancy guard every wrapper passes first, and the
 * errno discipline at the interposed edge (STYLE.md "The shim lives in
 * someone else's process"). */
#ifndef ZMX_GUARD_H
#define ZMX_GUARD_H

#include <errno.h>

#include "real.h"

/* Per-thread state: one struct, initial-exec TLS so the access is a
 * single %fs-relative load on the hot path. */
struct zmx_tls {
	int	depth;		/* >0: inside the shim on this thread */
	int	saved_errno;	/* errno at entry, restored on success */
	int	vfork_pid;	/* a vfork child's chdir: its pid (vcwd.c) */
	int	vfork_conn;	/* this thread has its session connection,
				 * which a vfork child borrows (wrap_exec.c) */
};
extern __thread struct zmx_tls zmx_tls
    __attribute__((tls_model("initial-exec")));

/* Set by the constructor once the shim can serve remote paths. */
extern int zmx_shim_ready;

/* True: the caller may do shim work and must zmx_guard_leave(). False:
 * nested call (libzmq, msgpack, dlsym calling libc) or not ready; go
 * straight to the real function. */
static inline int
zmx_guard_enter(void)
{
	if (__builtin_expect(zmx_tls.depth > 0 || !zmx_shim_ready, 0)) {
		/* a call before our constructor still needs real_*() */
		if (!__atomic_load_n(&zmx_real_ready, __ATOMIC_ACQUIRE))
			zmx_real_init();
		return 0;
	}
	zmx_tls.depth++;
	zmx_tls.saved_errno = errno;
	return 1;
}

/* For calls on handles only the shim hands out (our DIRs): enter even
 * when nested, so zmx_guard_ret() stays balanced. */
static inline void
zmx_guard_force(void)
{
	zmx_tls.depth++;
	zmx_tls.saved_errno = errno;
}

/* For wrappers that only need real_*() resolved. */
static inline void
zmx_real_ensure(void)
{
	if (!__atomic_load_n(&zmx_real_ready, __ATOMIC_ACQUIRE))
		zmx_real_init();
}

static inline void
zmx_guard_leave(void)
{
	zmx_tls.depth--;
}

/* r is 0/a count or -errno: set errno the libc way and leave. */
static inline long
zmx_guard_ret(long r)
{
	int saved = zmx_tls.saved_errno;

	zmx_tls.depth--;
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	errno = saved;
	return r;
}

/* The body of most wrappers: the real call when nested or not ready,
 * else the dispatcher's result with errno set the libc way. */
#define DISPATCH(type, real_call, fs_call) do {				\
	if (!zmx_guard_enter())						\
		return real_call;					\
	return (type)zmx_guard_ret(fs_call);				\
} while (0)

#endif
