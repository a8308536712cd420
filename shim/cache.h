/* cache.h - remote attributes the shim already knows (lstat results,
 * mostly from directory listings), so that the stat after a readdir costs
 * no round trip (DESIGN.md decision 7). Valid for ZMX_CACHE_TTL_MS at
 * most; dropped whole when this process changes anything remote and when
 * it reaps a child (whose changes it may be about to look at). */
#ifndef ZMX_CACHE_H
#define ZMX_CACHE_H

#include "msg.h"

#define ZMX_CACHE_TTL_MS	2000

/* 1 and *a filled if rpath's lstat attributes are known; with follow,
 * only if the entry is not a symlink. 0 otherwise. */
int	zmx_cache_get(const char *rpath, int follow, struct zmx_attr *a);
/* Remembers rpath's lstat attributes (dir + "/" + name if name). */
void	zmx_cache_put(const char *dir, const char *name,
	    const struct zmx_attr *a);
void	zmx_cache_invalidate(void);
void	zmx_cache_fork(int phase);	/* as zmx_fdtab_fork() */

#endif
