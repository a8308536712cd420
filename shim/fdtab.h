/* fdtab.h - which fds of the program are remote files or directories, and
 * the state needed to write them back. Knows nothing about the network. */
#ifndef ZMX_FDTAB_H
#define ZMX_FDTAB_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

enum zmx_file_kind {
	ZMX_FILE_REG = 1,	/* memfd holding the content */
	ZMX_FILE_DIR,		/* placeholder memfd; listing on demand */
	ZMX_FILE_TMP,		/* O_TMPFILE: a memfd never written back */
};

struct zmx_dirlist {
	size_t		 n;
	struct {
		const char	*name;
		uint64_t	 ino;
		unsigned char	 type;	/* DT_* */
	}		 e[];		/* names follow the array */
};

/* One open file description, shared by its dups in this process. */
struct zmx_file {
	int			 refs;		/* fds mapped to it (fdtab lock) */
	int			 kind;
	char			*lpath;		/* the program's view */
	char			*rpath;		/* agentd's view */
	struct zmx_attr		 st;		/* remote attributes */
	uint64_t		 memfd_ino;	/* tells a reused fd number apart */
	struct zmx_dirlist	*list;		/* DIR: getdents64 source */
	size_t			 pos;		/* DIR: getdents64 position */
	uint32_t		 lock;		/* ZMX_LOCK_*: its flock on
						 * agentd (wrap_lock.c) */
};

/* A new file with one reference, the caller's (zmx_fdtab_unref). */
struct zmx_file *zmx_file_new(int kind, const char *lpath, const char *rpath);
/* The file fd refers to, or NULL if fd is not remote. Borrowed: valid
 * while the fd stays open (a rename swaps its path strings but never
 * frees them). Lock-free: this is on the path of every
 * close() and fstat() the program makes. */
struct zmx_file *zmx_fdtab_get(int fd);
/* Maps fd to f, taking a reference. Returns 0 or -ENOMEM. */
int	zmx_fdtab_set(int fd, struct zmx_file *f);
/* Unmaps fd. Returns its file with the reference the table held (the
 * caller zmx_fdtab_unref()s it), or NULL. *last says whether that was
 * the last fd of this process on it. */
struct zmx_file *zmx_fdtab_take(int fd, int *last);
void	zmx_fdtab_unref(struct zmx_file *f);
/* Calls fn for every mapped fd under the table lock: fn must not call
 * back into fdtab, nor wait for anything (no network). */
void	zmx_fdtab_each(void (*fn)(int fd, struct zmx_file *f, void *arg),
	    void *arg);

/* The fds whose file match() accepts, each with a reference taken, so
 * the caller can do network work on them without the lock. Returns the
 * count (*out malloc'd; zmx_fdtab_release() it) or -ENOMEM. */
struct zmx_fdref {
	int			 fd;
	struct zmx_file		*f;
};
int	zmx_fdtab_collect(int (*match)(const struct zmx_file *, const void *),
	    const void *arg, struct zmx_fdref **out);
void	zmx_fdtab_release(struct zmx_fdref *v, int n);

/* pthread_atfork: no fork may copy the lock while another thread holds
 * it. phase: 0 prepare, 1 parent, 2 child. */
void	zmx_fdtab_fork(int phase);

#endif
