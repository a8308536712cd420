/* uprec.c - records of unfinished uploads (uprec.h). A record is
 * written when an upload begins and removed when it ends; what is left
 * at start belongs to an agentd that was killed, and names a temp file
 * to remove. A record can only ever remove a file named like a temp
 * file, in a directory reached without following symlinks. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hex.h"
#include "io.h"
#include "log.h"
#include "uprec.h"

/* The state directory's uploads/ and its lock, held while agentd runs.
 * Written at start and exit only; uprec_seq names the records. */
static int uprec_dirfd = -1;
static int uprec_lockfd = -1;
static unsigned long uprec_seq;

int
zmx_uprec_is_temp(const char *name)
{
	size_t n = strlen(name), k = strlen(ZMX_TEMP_SUFFIX), i;

	if (n < 2 + k + ZMX_TEMP_RAND || n > NAME_MAX || name[0] != '.' ||
	    strchr(name, '/') != NULL ||
	    strncmp(name + n - ZMX_TEMP_RAND - k, ZMX_TEMP_SUFFIX, k) != 0)
		return 0;
	for (i = n - ZMX_TEMP_RAND; i < n; i++)
		if (!isalnum((unsigned char)name[i]))
			return 0;
	return 1;
}

/* Appends s to buf at *k, with bytes that are not printable (and '%')
 * as %XX, then a newline. 0 or -ENAMETOOLONG. */
static int
put_escaped(char *buf, size_t len, size_t *k, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*k + 4 > len)
			return -ENAMETOOLONG;
		if (*p <= ' ' || *p >= 0x7f || *p == '%')
			*k += (size_t)snprintf(buf + *k, len - *k, "%%%02X",
			    *p);
		else
			buf[(*k)++] = (char)*p;
	}
	if (*k + 1 > len)
		return -ENAMETOOLONG;
	buf[(*k)++] = '\n';
	return 0;
}

int
zmx_uprec_format(const char *dir, const char *tmp, char *buf, size_t len)
{
	size_t k = 0;
	int r;

	if ((r = put_escaped(buf, len, &k, dir)) < 0 ||
	    (r = put_escaped(buf, len, &k, tmp)) < 0)
		return r;
	return (int)k;
}

/* Reads one escaped line of buf from *i into out (at most max bytes
 * and a NUL), past its newline. 0 or -EINVAL. */
static int
get_escaped(const char *buf, size_t len, size_t *i, char *out, size_t max)
{
	size_t n = 0;
	int hi, lo;

	for (; *i < len && buf[*i] != '\n'; (*i)++) {
		if (n >= max || buf[*i] == '\0')
			return -EINVAL;
		if (buf[*i] != '%') {
			out[n++] = buf[*i];
			continue;
		}
		if (*i + 2 >= len || (hi = zmx_hex_value(buf[*i + 1])) < 0 ||
		    (lo = zmx_hex_value(buf[*i + 2])) < 0 ||
		    (hi == 0 && lo == 0))
			return -EINVAL;
		out[n++] = (char)(hi << 4 | lo);
		*i += 2;
	}
	out[n] = '\0';
	if ((*i)++ >= len || n == 0)
		return -EINVAL;
	return 0;
}

int
zmx_uprec_parse(const char *buf, size_t len, char *dir, char *tmp)
{
	size_t i = 0;

	if (get_escaped(buf, len, &i, dir, PATH_MAX - 1) < 0 ||
	    dir[0] != '/' || get_escaped(buf, len, &i, tmp, NAME_MAX) < 0 ||
	    i != len || !zmx_uprec_is_temp(tmp))
		return -EINVAL;
	return 0;
}

int
zmx_uprec_add(int dirfd, const char *tmp, char *name, size_t len)
{
	char proc[32], dir[PATH_MAX], text[3 * PATH_MAX + NAME_MAX + 4];
	ssize_t n;
	int fd, r;

	name[0] = '\0';
	if (uprec_dirfd < 0)
		return 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
	if ((n = readlink(proc, dir, sizeof(dir) - 1)) <= 0)
		return -errno;
	dir[n] = '\0';
	if ((r = zmx_uprec_format(dir, tmp, text, sizeof(text))) < 0)
		return r;
	snprintf(name, len, "%ld-%lu", (long)getpid(), ++uprec_seq);
	if ((fd = openat(uprec_dirfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600)) < 0) {
		r = -errno;
		name[0] = '\0';
		return r;
	}
	if ((r = zmx_io_write_all(fd, text, (size_t)r, -1)) < 0) {
		(void)unlinkat(uprec_dirfd, name, 0);
		name[0] = '\0';
	}
	close(fd);
	return r < 0 ? r : 0;
}

void
zmx_uprec_remove(const char *name)
{
	if (uprec_dirfd < 0 || name[0] == '\0')
		return;
	if (unlinkat(uprec_dirfd, name, 0) < 0 && errno != ENOENT)
		zmx_warn("state record %s: %s", name, strerror(errno));
}

/* Removes the temp file a record names, then the record. */
static void
sweep_one(int dfd, const char *rec)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	char buf[3 * PATH_MAX + NAME_MAX + 4];
	char dir[PATH_MAX], tmp[NAME_MAX + 1];
	struct stat st;
	ssize_t n = -1;
	int fd;

	if ((fd = openat(dfd, rec, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		n = zmx_io_read_all(fd, buf, sizeof(buf), -1);
		close(fd);
	}
	if (n <= 0 || zmx_uprec_parse(buf, (size_t)n, dir, tmp) < 0) {
		zmx_warn("state record %s: not a record of agentd: left", rec);
		return;
	}
	fd = (int)syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && fstatat(fd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode)) {
		if (unlinkat(fd, tmp, 0) == 0)
			zmx_warn("removed %s/%s, an upload agentd did not "
			    "finish", dir, tmp);
		else
			zmx_warn("cannot remove %s/%s: %s", dir, tmp,
			    strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	(void)unlinkat(dfd, rec, 0);
}

int
zmx_uprec_open(const char *dir, char *why, size_t whylen)
{
	struct dirent *d;
	DIR *dp;
	int fd = -1, lfd = -1, dfd = -1, r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		goto fail_errno;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (lfd = openat(fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) < 0)
		goto fail_errno;
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		snprintf(why, whylen, "state directory %s is in use by another "
		    "agentd: give each its own --state-dir", dir);
		goto fail;
	}
	if ((mkdirat(fd, "uploads", 0700) < 0 && errno != EEXIST) ||
	    (dfd = openat(fd, "uploads", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0)
		goto fail_errno;
	close(fd);
	/* what a killed agentd left */
	if ((fd = dup(dfd)) >= 0 && (dp = fdopendir(fd)) != NULL) {
		while ((d = readdir(dp)) != NULL)
			if (d->d_name[0] != '.')
				sweep_one(dfd, d->d_name);
		closedir(dp);
	} else if (fd >= 0)
		close(fd);
	uprec_dirfd = dfd;
	uprec_lockfd = lfd;
	return 0;
fail_errno:
	r = -errno;
	snprintf(why, whylen, "state directory %s: %s", dir, strerror(errno));
fail:
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd);
	return r;
}

void
zmx_uprec_close(void)
{
	if (uprec_dirfd >= 0)
		close(uprec_dirfd);
	if (uprec_lockfd >= 0)
		close(uprec_lockfd);
	uprec_dirfd = uprec_lockfd = -1;
}
