/* wrap_dir.c - opendir and friends, scandir (glibc's opens the directory
 * with an internal call), and getdents64. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "guard.h"
#include "real.h"

ZMX_EXPORT DIR *
opendir(const char *path)
{
	DIR *d;
	int err;

	if (!zmx_guard_enter())
		return real_opendir(path);
	d = zmx_fs_opendir(path, &err);
	if (d == NULL && err == 0) {
		zmx_guard_leave();
		return real_opendir(path);
	}
	zmx_guard_ret(err ? -err : 0);
	return d;
}

ZMX_EXPORT DIR *
fdopendir(int fd)
{
	DIR *d;
	int err;

	if (!zmx_guard_enter())
		return real_fdopendir(fd);
	d = zmx_fs_fdopendir(fd, &err);
	if (d == NULL && err == 0) {
		zmx_guard_leave();
		return real_fdopendir(fd);
	}
	zmx_guard_ret(err ? -err : 0);
	return d;
}

/* Our DIR handles are told apart by address, lock-free: a readdir loop
 * over a local directory pays one comparison. */
ZMX_EXPORT struct dirent *
readdir(DIR *d)
{
	struct dirent *e;
	int err;

	if (!zmx_fs_is_dir_handle(d))
		return real_readdir(d);
	zmx_guard_force();
	e = zmx_fs_readdir(d, &err);
	zmx_guard_ret(err ? -err : 0);
	return e;
}

ZMX_EXPORT struct dirent64 *
readdir64(DIR *d)
{
	if (!zmx_fs_is_dir_handle(d))
		return real_readdir64(d);
	return (struct dirent64 *)readdir(d);
}

static int
readdir_r_ours(DIR *d, struct dirent *entry, struct dirent **result)
{
	struct dirent *e;
	int err;

	zmx_guard_force();
	e = zmx_fs_readdir(d, &err);
	zmx_guard_leave();
	if (e != NULL)
		memcpy(entry, e, sizeof(*e));
	*result = e ? entry : NULL;
	return err;
}

ZMX_EXPORT int
readdir_r(DIR *d, struct dirent *entry, struct dirent **result)
{
	if (!zmx_fs_is_dir_handle(d))
		return real_readdir_r(d, entry, result);
	return readdir_r_ours(d, entry, result);
}

ZMX_EXPORT int
readdir64_r(DIR *d, struct dirent64 *entry, struct dirent64 **result)
{
	if (!zmx_fs_is_dir_handle(d))
		return real_readdir64_r(d, entry, result);
	return readdir_r_ours(d, (struct dirent *)entry,
	    (struct dirent **)result);
}

ZMX_EXPORT int
closedir(DIR *d)
{
	if (!zmx_fs_is_dir_handle(d))
		return real_closedir(d);
	zmx_guard_force();
	return (int)zmx_guard_ret(zmx_fs_closedir(d));
}

ZMX_EXPORT void
rewinddir(DIR *d)
{
	if (!zmx_fs_is_dir_handle(d)) {
		real_rewinddir(d);
		return;
	}
	zmx_fs_rewinddir(d);
}

ZMX_EXPORT long
telldir(DIR *d)
{
	if (!zmx_fs_is_dir_handle(d))
		return real_telldir(d);
	return zmx_fs_telldir(d);
}

ZMX_EXPORT void
seekdir(DIR *d, long pos)
{
	if (!zmx_fs_is_dir_handle(d)) {
		real_seekdir(d, pos);
		return;
	}
	zmx_fs_seekdir(d, pos);
}

ZMX_EXPORT int
dirfd(DIR *d)
{
	if (!zmx_fs_is_dir_handle(d))
		return real_dirfd(d);
	return zmx_fs_dirfd(d);
}

typedef int scan_filter_fn(const struct dirent *);
typedef int scan_compar_fn(const struct dirent **, const struct dirent **);

/* The program's filter runs outside the guard: a filter that stats the
 * name (a common idiom) must see remote files. */
static int
program_filter(scan_filter_fn *filter, const struct dirent *e)
{
	int keep;

	zmx_tls.depth--;
	keep = filter(e);
	zmx_tls.depth++;
	return keep;
}

/* scandir(3) over one of our handles. Returns the count or -errno. */
static int
scan(DIR *d, struct dirent ***list, scan_filter_fn *filter,
    scan_compar_fn *compar)
{
	struct dirent *e, *c, **v = NULL, **nv;
	size_t n = 0, cap = 0, len;
	int err = 0;

	while ((e = zmx_fs_readdir(d, &err)) != NULL) {
		if (filter != NULL && !program_filter(filter, e))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				err = ENOMEM;
				break;
			}
			v = nv;
		}
		len = offsetof(struct dirent, d_name) + strlen(e->d_name) + 1;
		if ((c = malloc(len < sizeof(*c) ? sizeof(*c) : len)) == NULL) {
			err = ENOMEM;
			break;
		}
		memcpy(c, e, len);
		v[n++] = c;
	}
	if (err != 0) {
		while (n > 0)
			free(v[--n]);
		free(v);
		return -err;
	}
	if (compar != NULL && n > 1) {
		zmx_tls.depth--;	/* the program's own code: its stat()s
					 * must reach the shim */
		qsort(v, n, sizeof(*v),
		    (int (*)(const void *, const void *))compar);
		zmx_tls.depth++;
	}
	*list = v;
	return (int)n;
}

static int
scandir_at(int dirfd, const char *path, struct dirent ***list,
    scan_filter_fn *filter, scan_compar_fn *compar, int *local)
{
	DIR *d;
	int fd, err, r;

	*local = 0;
	if (dirfd == AT_FDCWD || path[0] == '/') {
		d = zmx_fs_opendir(path, &err);
	} else {
		fd = zmx_fs_openat(dirfd, path, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC, 0);
		if (fd < 0)
			return fd;
		d = zmx_fs_fdopendir(fd, &err);
		if (d == NULL && err == 0) {
			real_close(fd);
			*local = 1;
			return 0;
		}
	}
	if (d == NULL) {
		*local = err == 0;
		return -err;
	}
	r = scan(d, list, filter, compar);
	zmx_fs_closedir(d);
	return r;
}

ZMX_EXPORT int
scandirat(int dirfd, const char *path, struct dirent ***list,
    scan_filter_fn *filter, scan_compar_fn *compar)
{
	int local, r;

	if (!zmx_guard_enter())
		return real_scandirat(dirfd, path, list, filter, compar);
	r = scandir_at(dirfd, path, list, filter, compar, &local);
	if (local) {
		zmx_guard_leave();
		return real_scandirat(dirfd, path, list, filter, compar);
	}
	return (int)zmx_guard_ret(r);
}

ZMX_EXPORT int
scandir(const char *path, struct dirent ***list, scan_filter_fn *filter,
    scan_compar_fn *compar)
{
	return scandirat(AT_FDCWD, path, list, filter, compar);
}

ZMX_EXPORT int
scandir64(const char *path, struct dirent64 ***list,
    int (*filter)(const struct dirent64 *),
    int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
	return scandirat(AT_FDCWD, path, (struct dirent ***)list,
	    (scan_filter_fn *)filter, (scan_compar_fn *)compar);
}

ZMX_EXPORT ssize_t
getdents64(int fd, void *buf, size_t len)
{
	if (!zmx_guard_enter())
		return real_getdents64(fd, buf, len);
	if (zmx_fdtab_get(fd) == NULL) {
		zmx_guard_leave();
		return real_getdents64(fd, buf, len);
	}
	return zmx_guard_ret(zmx_fs_getdents64(fd, buf, len));
}
