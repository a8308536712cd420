/* fs_local.h - the dispatcher's shared moves: return a local call's
 * result as -errno, or resolve a path and return early when it is local.
 * Included by fs*.c only. */
#ifndef ZMX_FS_LOCAL_H
#define ZMX_FS_LOCAL_H

#include <errno.h>
#include <fcntl.h>

#include "msg.h"
#include "shim.h"

/* Sends a request answered by OK (the session forgets what it changes).
 * 0 or -errno. */
int	zmx_fs_call_ok(struct zmx_msg *req);

#define LOCAL_RET(expr)	do { long r_ = (long)(expr); \
	return r_ < 0 ? -errno : r_; } while (0)

/* Resolves (dirfd, path) for an operation that has a local twin taking
 * (dirfd, path): returns ZMX_REMOTE, or the local result already. */
#define WHERE_OR(w, dirfd, path, empty, local_call) do {		\
	int r_ = zmx_where((dirfd), (path), (empty), (w));		\
	if (r_ == ZMX_LOCAL) {						\
		int dfd_ = (dirfd);					\
		const char *p_ = (path);				\
		LOCAL_RET(local_call);					\
	}								\
	if (r_ == ZMX_LOCAL_ABS) {					\
		int dfd_ = AT_FDCWD;					\
		const char *p_ = (w)->lpath;				\
		LOCAL_RET(local_call);					\
	}								\
	if (r_ < 0)							\
		return r_;						\
} while (0)

#endif
