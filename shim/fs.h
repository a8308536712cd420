/* fs.h - the dispatcher: every interposed call, whatever channel it came
 * through (a libc symbol, libc's syscall(); trapped syscall instructions
 * next), lands here with syscall-like arguments and is served locally or
 * remotely. Each returns a value >= 0 or -errno and never touches errno
 * of the program; wrappers convert with zmx_guard_ret(). */
#ifndef ZMX_FS_H
#define ZMX_FS_H

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fdtab.h"
#include "msg.h"

/* files (fs.c) */
int	zmx_fs_openat(int dirfd, const char *path, int flags, mode_t mode);
int	zmx_fs_close(int fd);
/* Unmaps fd before something else closes it (fclose). The session
 * writes the file back once the kernel has closed it. Returns 0. */
int	zmx_fs_release(int fd);
int	zmx_fs_dup_to(int oldfd, int newfd, int r);	/* after a real dup */
/* The last fd of f in this process is closing: its flock on agentd goes
 * (wrap_lock.c). */
void	zmx_lock_release(struct zmx_file *f);
int	zmx_fs_fsync(int fd);
/* A write-back's -errno as close() and fsync() report it: ENOSPC,
 * EDQUOT, EROFS and the like as they are, the rest as EIO. */
int	zmx_fs_writeback_err(int r);
int	zmx_fs_fstatat(int dirfd, const char *path, struct stat *st, int flags);
int	zmx_fs_fstat(int fd, struct stat *st);
int	zmx_fs_statx(int dirfd, const char *path, int flags, unsigned mask,
	    struct statx *stx);
int	zmx_fs_faccessat(int dirfd, const char *path, int mode, int flags);
int	zmx_fs_fchmodat(int dirfd, const char *path, mode_t mode, int flags);
int	zmx_fs_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid,
	    int flags);
int	zmx_fs_utimensat(int dirfd, const char *path,
	    const struct timespec ts[2], int flags);
int	zmx_fs_truncate(const char *path, off_t len);
/* Extended attributes: a path (fd AT_FDCWD), or a remote fd with path
 * NULL for the f* calls; nofollow for the l* calls. */
ssize_t	zmx_fs_getxattr(int fd, const char *path, int nofollow,
	    const char *name, void *value, size_t size);
ssize_t	zmx_fs_listxattr(int fd, const char *path, int nofollow, char *list,
	    size_t size);
int	zmx_fs_setxattr(int fd, const char *path, int nofollow,
	    const char *name, const void *value, size_t size, int flags);
int	zmx_fs_removexattr(int fd, const char *path, int nofollow,
	    const char *name);
void	zmx_attr_to_stat(const struct zmx_attr *a, struct stat *st);

/* names (fs_ns.c) */
int	zmx_fs_mkdirat(int dirfd, const char *path, mode_t mode);
int	zmx_fs_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev);
int	zmx_fs_unlinkat(int dirfd, const char *path, int flags);
int	zmx_fs_renameat2(int od, const char *op, int nd, const char *np,
	    unsigned flags);
int	zmx_fs_linkat(int od, const char *op, int nd, const char *np,
	    int flags);
int	zmx_fs_symlinkat(const char *target, int dirfd, const char *path);
ssize_t	zmx_fs_readlinkat(int dirfd, const char *path, char *buf, size_t len);
/* realpath(3) into out[PATH_MAX]: 0, 1 if local (not done), -errno */
int	zmx_fs_realpath(const char *path, char *out);
int	zmx_fs_chdir(const char *path);
int	zmx_fs_fchdir(int fd);
/* getcwd(3) into buf: the length or -errno */
int	zmx_fs_getcwd(char *buf, size_t size);
/* mkstemp family on a remote template; *local set if it is local */
int	zmx_fs_mkstemp(char *tmpl, int suffixlen, int flags, int dir,
	    int *local);

/* directories (fs_dir.c) */
int	zmx_fs_is_dir_handle(const DIR *d);
DIR	*zmx_fs_opendir(const char *path, int *err);	/* NULL + *err=0: local */
DIR	*zmx_fs_fdopendir(int fd, int *err);
struct dirent *zmx_fs_readdir(DIR *d, int *err);
int	zmx_fs_closedir(DIR *d);
void	zmx_fs_rewinddir(DIR *d);
long	zmx_fs_telldir(DIR *d);
void	zmx_fs_seekdir(DIR *d, long pos);
int	zmx_fs_dirfd(DIR *d);
ssize_t	zmx_fs_getdents64(int fd, void *buf, size_t len);
void	zmx_dir_fork(int phase);	/* as zmx_fdtab_fork() */
/* fetches a directory listing into f (f->list); 0 or -errno */
int	zmx_fs_list(struct zmx_file *f);

#endif
