/* wrap_syscall.c - libc's generic syscall() function: libuv (node) calls
 * statx through it, Bun (Claude Code) statx and getdents64 (DESIGN.md
 * decision 4). A table by syscall number routes the file calls to the
 * same dispatcher as the libc symbols; the Syscall User Dispatch handler
 * (sud.c) uses the same table for raw syscall instructions. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs.h"
#include "guard.h"
#include "real.h"
#include "shim.h"
#include "sys.h"

#define A(i)	(a[i])
#define P(i)	((const char *)a[i])

static long sys_open(const long *a)
{ return zmx_fs_openat(AT_FDCWD, P(0), (int)A(1), (mode_t)A(2)); }
static long sys_openat(const long *a)
{ return zmx_fs_openat((int)A(0), P(1), (int)A(2), (mode_t)A(3)); }
static long sys_close(const long *a)
{ return zmx_fs_close((int)A(0)); }
static long sys_stat(const long *a)
{ return zmx_fs_fstatat(AT_FDCWD, P(0), (struct stat *)A(1), 0); }
static long sys_lstat(const long *a)
{ return zmx_fs_fstatat(AT_FDCWD, P(0), (struct stat *)A(1),
    AT_SYMLINK_NOFOLLOW); }
static long sys_fstat(const long *a)
{ return zmx_fs_fstat((int)A(0), (struct stat *)A(1)); }
static long sys_newfstatat(const long *a)
{ return zmx_fs_fstatat((int)A(0), P(1), (struct stat *)A(2), (int)A(3)); }
static long sys_statx(const long *a)
{ return zmx_fs_statx((int)A(0), P(1), (int)A(2), (unsigned)A(3),
    (struct statx *)A(4)); }
static long sys_access(const long *a)
{ return zmx_fs_faccessat(AT_FDCWD, P(0), (int)A(1), 0); }
static long sys_faccessat(const long *a)
{ return zmx_fs_faccessat((int)A(0), P(1), (int)A(2), 0); }
static long sys_faccessat2(const long *a)
{ return zmx_fs_faccessat((int)A(0), P(1), (int)A(2), (int)A(3)); }
static long sys_getdents64(const long *a)
{
	if (zmx_fdtab_get((int)A(0)) == NULL)
		return ZMX_SYS_LOCAL;
	return zmx_fs_getdents64((int)A(0), (void *)A(1), (size_t)A(2));
}
static long sys_readlink(const long *a)
{ return zmx_fs_readlinkat(AT_FDCWD, P(0), (char *)A(1), (size_t)A(2)); }
static long sys_readlinkat(const long *a)
{ return zmx_fs_readlinkat((int)A(0), P(1), (char *)A(2), (size_t)A(3)); }
static long sys_mkdir(const long *a)
{ return zmx_fs_mkdirat(AT_FDCWD, P(0), (mode_t)A(1)); }
static long sys_mkdirat(const long *a)
{ return zmx_fs_mkdirat((int)A(0), P(1), (mode_t)A(2)); }
static long sys_mknod(const long *a)
{ return zmx_fs_mknodat(AT_FDCWD, P(0), (mode_t)A(1), (dev_t)A(2)); }
static long sys_mknodat(const long *a)
{ return zmx_fs_mknodat((int)A(0), P(1), (mode_t)A(2), (dev_t)A(3)); }
static long sys_unlink(const long *a)
{ return zmx_fs_unlinkat(AT_FDCWD, P(0), 0); }
static long sys_rmdir(const long *a)
{ return zmx_fs_unlinkat(AT_FDCWD, P(0), AT_REMOVEDIR); }
static long sys_unlinkat(const long *a)
{ return zmx_fs_unlinkat((int)A(0), P(1), (int)A(2)); }
static long sys_rename(const long *a)
{ return zmx_fs_renameat2(AT_FDCWD, P(0), AT_FDCWD, P(1), 0); }
static long sys_renameat(const long *a)
{ return zmx_fs_renameat2((int)A(0), P(1), (int)A(2), P(3), 0); }
static long sys_renameat2(const long *a)
{ return zmx_fs_renameat2((int)A(0), P(1), (int)A(2), P(3),
    (unsigned)A(4)); }
static long sys_symlink(const long *a)
{ return zmx_fs_symlinkat(P(0), AT_FDCWD, P(1)); }
static long sys_symlinkat(const long *a)
{ return zmx_fs_symlinkat(P(0), (int)A(1), P(2)); }
static long sys_link(const long *a)
{ return zmx_fs_linkat(AT_FDCWD, P(0), AT_FDCWD, P(1), 0); }
static long sys_linkat(const long *a)
{ return zmx_fs_linkat((int)A(0), P(1), (int)A(2), P(3), (int)A(4)); }
static long sys_chdir(const long *a)
{ return zmx_fs_chdir(P(0)); }
static long sys_fchdir(const long *a)
{ return zmx_fs_fchdir((int)A(0)); }
static long sys_getcwd(const long *a)
{
	long n = zmx_fs_getcwd((char *)A(0), (size_t)A(1));

	return n < 0 ? n : n + 1;	/* the syscall counts the NUL */
}
static long sys_fsync(const long *a)
{ return zmx_fs_fsync((int)A(0)); }
static long sys_chmod(const long *a)
{ return zmx_fs_fchmodat(AT_FDCWD, P(0), (mode_t)A(1), 0); }
static long sys_fchmodat(const long *a)
{ return zmx_fs_fchmodat((int)A(0), P(1), (mode_t)A(2), 0); }
static long sys_fchmod(const long *a)
{ return zmx_fs_fchmodat((int)A(0), NULL, (mode_t)A(1), 0); }
static long sys_utimensat(const long *a)
{ return zmx_fs_utimensat((int)A(0), P(1), (const struct timespec *)A(2),
    (int)A(3)); }
static long sys_truncate(const long *a)
{ return zmx_fs_truncate(P(0), (off_t)A(1)); }
static long sys_creat(const long *a)
{ return zmx_fs_openat(AT_FDCWD, P(0), O_WRONLY | O_CREAT | O_TRUNC,
    (mode_t)A(1)); }
static long sys_chown(const long *a)
{ return zmx_fs_fchownat(AT_FDCWD, P(0), (uid_t)A(1), (gid_t)A(2), 0); }
static long sys_lchown(const long *a)
{ return zmx_fs_fchownat(AT_FDCWD, P(0), (uid_t)A(1), (gid_t)A(2),
    AT_SYMLINK_NOFOLLOW); }
static long sys_fchown(const long *a)
{ return zmx_fs_fchownat((int)A(0), NULL, (uid_t)A(1), (gid_t)A(2), 0); }
static long sys_fchownat(const long *a)
{ return zmx_fs_fchownat((int)A(0), P(1), (uid_t)A(2), (gid_t)A(3),
    (int)A(4)); }

/* The fd calls that must keep the table right: the kernel does the
 * work, the table follows (as wrap_open.c does for the libc names). */
static long sys_dup(const long *a)
{
	long r = real_syscall(SYS_dup, A(0));

	return r < 0 ? -errno : zmx_fs_dup_to((int)A(0), (int)r, (int)r);
}
static long sys_dup3(const long *a)
{
	long r;

	r = real_syscall(SYS_dup3, A(0), A(1), A(2));
	return zmx_fs_dup_to((int)A(0), (int)A(1), (int)r);
}
static long sys_dup2(const long *a)
{
	long r;

	r = real_syscall(SYS_dup2, A(0), A(1));
	return zmx_fs_dup_to((int)A(0), (int)A(1), (int)r);
}
static long sys_fcntl(const long *a)
{
	long r;

	if (A(1) != F_DUPFD && A(1) != F_DUPFD_CLOEXEC)
		return ZMX_SYS_LOCAL;
	r = real_syscall(SYS_fcntl, A(0), A(1), A(2));
	return r < 0 ? -errno : zmx_fs_dup_to((int)A(0), (int)r, (int)r);
}

/* openat2(2): glibc has no wrapper, Bun makes it raw. RESOLVE_* flags
 * are for the kernel's walk; a remote path is resolved by agentd, inside
 * the key's scope, whatever they say. */
struct zmx_open_how {
	unsigned long long	flags, mode, resolve;
};

static long sys_openat2(const long *a)
{
	const struct zmx_open_how *how = (const void *)A(2);
	struct zmx_where w;
	int r;

	if (how == NULL || (size_t)A(3) < sizeof(*how))
		return ZMX_SYS_LOCAL;	/* the kernel says EFAULT/EINVAL */
	if ((r = zmx_where((int)A(0), P(1), 0, &w)) < 0)
		return r;
	if (r != ZMX_REMOTE)
		return ZMX_SYS_LOCAL;
	return zmx_fs_openat((int)A(0), P(1), (int)how->flags,
	    (mode_t)how->mode);
}

/* io_uring would read and write files behind every hook (libuv uses it
 * for file I/O when it can): programs fall back to plain syscalls. */
static long sys_io_uring_setup(const long *a)
{ (void)a; return -ENOSYS; }

/* Indexed by syscall number; a hole means "not a file call: pass it on". */
static long (*const sys_table[])(const long *) = {
	[SYS_open] = sys_open,
	[SYS_openat] = sys_openat,
	[SYS_close] = sys_close,
	[SYS_stat] = sys_stat,
	[SYS_lstat] = sys_lstat,
	[SYS_fstat] = sys_fstat,
	[SYS_newfstatat] = sys_newfstatat,
	[SYS_statx] = sys_statx,
	[SYS_access] = sys_access,
	[SYS_faccessat] = sys_faccessat,
	[SYS_faccessat2] = sys_faccessat2,
	[SYS_getdents64] = sys_getdents64,
	[SYS_readlink] = sys_readlink,
	[SYS_readlinkat] = sys_readlinkat,
	[SYS_mkdir] = sys_mkdir,
	[SYS_mkdirat] = sys_mkdirat,
	[SYS_mknod] = sys_mknod,
	[SYS_mknodat] = sys_mknodat,
	[SYS_unlink] = sys_unlink,
	[SYS_rmdir] = sys_rmdir,
	[SYS_unlinkat] = sys_unlinkat,
	[SYS_rename] = sys_rename,
	[SYS_renameat] = sys_renameat,
	[SYS_renameat2] = sys_renameat2,
	[SYS_symlink] = sys_symlink,
	[SYS_symlinkat] = sys_symlinkat,
	[SYS_link] = sys_link,
	[SYS_linkat] = sys_linkat,
	[SYS_chdir] = sys_chdir,
	[SYS_fchdir] = sys_fchdir,
	[SYS_getcwd] = sys_getcwd,
	[SYS_fsync] = sys_fsync,
	[SYS_fdatasync] = sys_fsync,
	[SYS_chmod] = sys_chmod,
	[SYS_fchmodat] = sys_fchmodat,
	[SYS_fchmod] = sys_fchmod,
	[SYS_utimensat] = sys_utimensat,
	[SYS_truncate] = sys_truncate,
	[SYS_creat] = sys_creat,
	[SYS_chown] = sys_chown,
	[SYS_lchown] = sys_lchown,
	[SYS_fchown] = sys_fchown,
	[SYS_fchownat] = sys_fchownat,
	[SYS_dup] = sys_dup,
	[SYS_dup2] = sys_dup2,
	[SYS_dup3] = sys_dup3,
	[SYS_fcntl] = sys_fcntl,
	[SYS_openat2] = sys_openat2,
	[SYS_io_uring_setup] = sys_io_uring_setup,
};

long
zmx_sys_dispatch(long nr, const long *a)
{
	if (nr < 0 || (size_t)nr >= sizeof(sys_table) / sizeof(sys_table[0]) ||
	    sys_table[nr] == NULL)
		return ZMX_SYS_LOCAL;
	return sys_table[nr](a);
}

/* Like libc's own syscall(), this takes six arguments whatever the call:
 * the sixth comes from the caller's stack even when the caller passed
 * fewer. That read is harmless (the slot is in the caller's frame) but
 * ASan calls it an underflow, so it is not instrumented here. */
ZMX_EXPORT __attribute__((no_sanitize("address"))) long
syscall(long nr, ...)
{
	va_list ap;
	long a[6], r;
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if ((r = zmx_sud_signals(nr, a)) != ZMX_SYS_LOCAL) {
		if (r < 0) {
			errno = (int)-r;
			return -1;
		}
		return r;
	}
	if (!zmx_guard_enter())
		return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	r = zmx_sys_dispatch(nr, a);
	if (r == ZMX_SYS_LOCAL) {
		zmx_guard_leave();
		return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
	return zmx_guard_ret(r);
}
