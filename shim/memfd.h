/* memfd.h - remote regular files as real file descriptors (DESIGN.md
 * decision 2): fetched whole into a memfd on open, written back whole on
 * close or fsync when changed; remote directories as real directory fds
 * of an empty local directory. */
#ifndef ZMX_MEMFD_H
#define ZMX_MEMFD_H

#include <sys/stat.h>
#include <sys/types.h>

#include "fdtab.h"
#include "local.h"

/* Whether a memfd's attributes show its content as fetched. */
static inline int
zmx_memfd_is_clean(const struct stat *ms)
{
	return ms->st_mtim.tv_sec == ZMX_MEMFD_CLEAN_SEC &&
	    ms->st_mtim.tv_nsec == ZMX_MEMFD_CLEAN_NSEC;
}

/* Maps fd to f, remembering which memfd it is (see fs.c still_ours).
 * Returns 0 or -errno. */
int	zmx_memfd_map(int fd, struct zmx_file *f);

/* Opens lpath/rpath through the session with open(2) flags and mode;
 * returns the fd (in fdtab) or -errno. A directory gets a
 * zmx_memfd_dir() fd of kind DIR. */
int	zmx_memfd_open(const char *lpath, const char *rpath, int flags,
	    mode_t mode);
/* Has the session write fd's file back now if it changed (fsync), and
 * waits. 0 or -errno. */
int	zmx_memfd_flush(struct zmx_file *f, int fd);
/* A new memfd for a file, named so that an exec'd program can adopt it.
 * Returns the fd or -errno. */
int	zmx_memfd_create(int kind, const char *lpath, int cloexec);
/* A local fd that stands for the remote directory lpath: a directory
 * made for it, opened (O_CLOEXEC, O_PATH and O_NONBLOCK from flags) and
 * removed at once, so read(2) gives EISDIR; its name holds lpath, for
 * the adoption after an exec. Falls back to a placeholder memfd where no
 * directory can be made. Returns the fd or -errno. */
int	zmx_memfd_dir(const char *lpath, int flags);
/* At start-up, before any zmx_memfd_dir(): where directories are made. */
void	zmx_memfd_init(void);
/* At start-up: take over memfds this process inherited across exec. */
void	zmx_memfd_adopt(void);

#endif
