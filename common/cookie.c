/* cookie.c - the keyless cookie (cookie.h): where it lives, reading it
 * on the client side, making it on agentd's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cookie.h"
#include "hex.h"

int
zmx_cookie_default_dir(char *buf, size_t len)
{
	const char *s;
	int n;

	if (geteuid() == 0)
		n = snprintf(buf, len, "/var/lib/agentd");
	else if ((s = getenv("XDG_STATE_HOME")) != NULL && s[0] == '/')
		n = snprintf(buf, len, "%s/agentd", s);
	else if ((s = getenv("HOME")) != NULL && s[0] == '/')
		n = snprintf(buf, len, "%s/.local/state/agentd", s);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int
zmx_cookie_client_path(char *buf, size_t len)
{
	const char *s = getenv("ZMX_COOKIE");
	size_t n;
	int r;

	if (s != NULL && *s != '\0') {
		if (snprintf(buf, len, "%s", s) >= (int)len)
			return -ENAMETOOLONG;
		return 0;
	}
	if ((r = zmx_cookie_default_dir(buf, len)) < 0)
		return r;
	n = strlen(buf);
	if (snprintf(buf + n, len - n, "/%s", ZMX_COOKIE_NAME) >=
	    (int)(len - n))
		return -ENAMETOOLONG;
	return 0;
}

/* 64 hex digits, then a newline or the end: into cookie. */
static int
parse(const char *text, size_t len, uint8_t cookie[ZMX_COOKIE_LEN])
{
	int i, hi, lo;

	if (len < 2 * ZMX_COOKIE_LEN || (len > 2 * ZMX_COOKIE_LEN &&
	    (len != 2 * ZMX_COOKIE_LEN + 1 || text[len - 1] != '\n')))
		return -EINVAL;
	for (i = 0; i < ZMX_COOKIE_LEN; i++) {
		if ((hi = zmx_hex_value(text[2 * i])) < 0 ||
		    (lo = zmx_hex_value(text[2 * i + 1])) < 0)
			return -EINVAL;
		cookie[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
zmx_cookie_read(const char *path, uint8_t cookie[ZMX_COOKIE_LEN])
{
	char text[2 * ZMX_COOKIE_LEN + 2];
	long fd, n, got = 0;

	fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	while (got < (long)sizeof(text) &&
	    (n = syscall(SYS_read, fd, text + got, sizeof(text) - got)) > 0)
		got += n;
	syscall(SYS_close, fd);
	return parse(text, (size_t)got, cookie);
}

int
zmx_cookie_make(const char *path, uint8_t cookie[ZMX_COOKIE_LEN])
{
	char text[2 * ZMX_COOKIE_LEN + 2], tmp[4096];
	int fd, i, r;

	if ((r = zmx_cookie_read(path, cookie)) != -ENOENT)
		return r;
	if (getrandom(cookie, ZMX_COOKIE_LEN, 0) != ZMX_COOKIE_LEN)
		return -EIO;
	for (i = 0; i < ZMX_COOKIE_LEN; i++)
		snprintf(text + 2 * i, 3, "%02x", cookie[i]);
	text[2 * ZMX_COOKIE_LEN] = '\n';
	if (snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* whole or not at all: a client never reads half a cookie */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return -errno;
	errno = EIO;
	r = write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1 &&
	    fchmod(fd, 0600) == 0 ? 0 : -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

size_t
zmx_cookie_client(uint8_t cookie[ZMX_COOKIE_LEN])
{
	char path[4096];

	if (zmx_cookie_client_path(path, sizeof(path)) == 0 &&
	    zmx_cookie_read(path, cookie) == 0)
		return ZMX_COOKIE_LEN;
	return 0;
}
