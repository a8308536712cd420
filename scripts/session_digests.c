/* session_digests.c - the sha256 of a local program to be staged,
 * remembered across sessions: hashing Claude Code's 400 MB binary takes
 * over a second, during which the session serves nothing, and every new
 * session would pay it again although agentd's store has it already.
 *
 * One line per file in $XDG_CACHE_HOME/zmx/staged-digests (default
 * ~/.cache/zmx/): "dev ino size mtime.nsec hex-digest path". A line
 * counts only while the file's identity and mtime are what it says, the
 * same test the session applies within itself. The file is the user's
 * own (0600); a line that does not parse is skipped; past 1 MiB the file
 * starts over. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "hex.h"
#include "msg.h"
#include "session.h"

#define DIGESTS_MAX	(1 << 20)

/* The cache file's path into out; -1 when there is no home to keep it. */
static int
digests_path(char *out, size_t len, int make_dir)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char dir[PATH_MAX];

	if (xdg != NULL && xdg[0] == '/')
		snprintf(dir, sizeof(dir), "%s/zmx", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(dir, sizeof(dir), "%s/.cache/zmx", home);
	else
		return -1;
	if (make_dir) {
		char parent[PATH_MAX], *slash;

		snprintf(parent, sizeof(parent), "%s", dir);
		if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
			*slash = '\0';
			(void)mkdir(parent, 0700);
		}
		(void)mkdir(dir, 0700);
	}
	return (size_t)snprintf(out, len, "%s/staged-digests", dir) < len ?
	    0 : -1;
}

static int
from_hex(const char *s, unsigned char *out, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if ((hi = zmx_hex_value(s[2 * i])) < 0 ||
		    (lo = zmx_hex_value(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return s[2 * n] == ' ' ? 0 : -1;
}

/* 1 with out set if the cache holds sb's file as it is now. */
static int
digests_find(const struct stat *sb, unsigned char *out)
{
	unsigned long long dev, ino;
	long long size, sec;
	long nsec;
	char path[PATH_MAX], line[PATH_MAX + 256];
	int n, found = 0;
	FILE *f;

	if (digests_path(path, sizeof(path), 0) < 0 ||
	    (f = fopen(path, "re")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%llu %llu %lld %lld.%ld %n", &dev, &ino,
		    &size, &sec, &nsec, &n) != 5)
			continue;
		if (dev == (unsigned long long)sb->st_dev &&
		    ino == (unsigned long long)sb->st_ino &&
		    size == (long long)sb->st_size &&
		    sec == (long long)sb->st_mtim.tv_sec &&
		    nsec == sb->st_mtim.tv_nsec &&
		    strlen(line + n) > 2 * ZMX_DIGEST_LEN &&
		    from_hex(line + n, out, ZMX_DIGEST_LEN) == 0)
			found = 1;
	}
	fclose(f);
	return found;
}

static void
digests_add(const struct stat *sb, const char *local,
    const unsigned char *digest)
{
	char path[PATH_MAX], hex[2 * ZMX_DIGEST_LEN + 1];
	struct stat cs;
	FILE *f;
	int fd;

	if (digests_path(path, sizeof(path), 1) < 0)
		return;
	if (stat(path, &cs) == 0 && cs.st_size > DIGESTS_MAX)
		(void)unlink(path);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) < 0)
		return;
	if ((f = fdopen(fd, "a")) == NULL) {
		close(fd);
		return;
	}
	sodium_bin2hex(hex, sizeof(hex), digest, ZMX_DIGEST_LEN);
	/* one write, so that two sessions' lines do not interleave */
	setvbuf(f, NULL, _IOFBF, PATH_MAX + 256);
	fprintf(f, "%llu %llu %lld %lld.%09ld %s %s\n",
	    (unsigned long long)sb->st_dev, (unsigned long long)sb->st_ino,
	    (long long)sb->st_size, (long long)sb->st_mtim.tv_sec,
	    sb->st_mtim.tv_nsec, hex, local);
	fclose(f);
}

int
zmx_digest_file(int fd, const char *local, unsigned char *digest,
    struct stat *sb)
{
	crypto_hash_sha256_state h;
	unsigned char *buf;
	ssize_t n;

	if (fstat(fd, sb) < 0)
		return -errno;
	if (digests_find(sb, digest))
		return 0;
	if ((buf = malloc(ZMX_CHUNK)) == NULL)
		return -ENOMEM;
	crypto_hash_sha256_init(&h);
	while ((n = read(fd, buf, ZMX_CHUNK)) > 0)
		crypto_hash_sha256_update(&h, buf, (size_t)n);
	free(buf);
	if (n < 0)
		return -errno;
	crypto_hash_sha256_final(&h, digest);
	digests_add(sb, local, digest);
	return 0;
}
