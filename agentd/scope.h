/* scope.h - resolving wire paths beneath a session's root, so that no
 * request can reach outside it. Knows nothing about the network. */
#ifndef ZMX_SCOPE_H
#define ZMX_SCOPE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct zmx_scope {
	char	*root;		/* as configured, slashes collapsed: "/ws" */
	size_t	 rootlen;
	char	*real;		/* the root's canonical path (REALPATH) */
	size_t	 reallen;
	int	 fd;		/* O_PATH directory fd of the root */
	int	 in_root;	/* root is "/": RESOLVE_IN_ROOT */
};

/* Set by tests only: 1 forces the userspace resolver that is used when
 * the kernel has no openat2(2) (before 5.6, or under valgrind 3.19). */
extern int zmx_scope_no_openat2;

/* Opens root (absolute) as the scope. Returns 0 or -errno. */
int	zmx_scope_init(struct zmx_scope *s, const char *root);
/* Releases what init took; accepts a zeroed or finished scope. */
void	zmx_scope_fini(struct zmx_scope *s);

/* Copies in to out with runs of '/' collapsed and a trailing '/' kept.
 * Returns the length or -ENAMETOOLONG. */
int	zmx_scope_squeeze(const char *in, char *out, size_t outlen);

/* The part of the wire path beneath the root, "." for the root itself,
 * a trailing '/' kept. -EACCES if path is not absolute or not beneath
 * the root (lexically: ".." is left to the resolver). */
int	zmx_scope_rel(const struct zmx_scope *s, const char *path, char *rel,
	    size_t rellen);

/* openat2(2) of path beneath the root with open(2) flags (O_CLOEXEC is
 * added). Returns the fd or -errno; escapes fail with -EXDEV (a ".."
 * or an absolute symlink leaving the root) or -ELOOP (magic links). */
int	zmx_scope_open(const struct zmx_scope *s, const char *path, int flags,
	    mode_t mode);

/* For an operation on a final component: opens the parent directory of
 * path (O_PATH) and copies the last component into name. Returns the
 * dirfd or -errno: -EBUSY for the root itself, -EINVAL for a last
 * component "." or "..", -ENAMETOOLONG past NAME_MAX. *slashp (may be
 * NULL) is set when path ended in '/'. */
int	zmx_scope_parent(const struct zmx_scope *s, const char *path,
	    char name[NAME_MAX + 1], int *slashp);

/* The wire path of what fd refers to (via /proc/self/fd), beneath the
 * root, written to out. Returns the length or -errno (-EACCES if the
 * kernel reports a place outside the root). */
int	zmx_scope_where(const struct zmx_scope *s, int fd, char *out,
	    size_t outlen);

/* "/proc/self/fd/N" for fd, to apply path-only calls (chmod, utimensat,
 * linkat AT_SYMLINK_FOLLOW) to an inode already resolved in scope. */
void	zmx_scope_proc_path(int fd, char buf[32]);

#endif
