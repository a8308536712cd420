/* stage.c - the staging store (stage.h). Layout: <state>/stage/ (0711),
 * one directory per key (0711), a program per file named by its
 * digest's hex (0755), so that a command running as the key's user may
 * run it. Uploads go into ".up-<hex>-<n>" beside, renamed in once the
 * digest matches; those left by a killed agentd are removed at start. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "io.h"
#include "log.h"
#include "stage.h"

#define STAGE_TMP	".up-"

size_t zmx_stage_max = (size_t)2 << 30;

/* One unfinished upload. */
struct stage_up {
	const void		*owner;
	char			 keydir[33];
	uint8_t			 digest[32];
	char			 tmp[128];
	int			 fd;
	uint64_t		 got, size;
	crypto_hash_sha256_state sha;
	struct stage_up		*next;
};

/* The store's fd, the uploads under way and a counter naming their
 * temp files. Written by the main loop only. */
static int stage_fd = -1;
static struct stage_up *stage_ups;
static unsigned long stage_seq;

static void
hex(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

void
zmx_stage_keydir(const char *key, char out[33])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)key, strlen(key));
	hex(h, 16, out);
}

/* Removes the temp files in directory fd (taken). */
static void
clean_dir(int fd)
{
	struct dirent *e;
	DIR *d;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, STAGE_TMP, strlen(STAGE_TMP)) == 0)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

int
zmx_stage_open(const char *statedir)
{
	struct dirent *e;
	char path[4096];
	DIR *d;
	int fd, kfd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", statedir,
	    ZMX_STAGE_DIR) >= sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(path, 0711) < 0 && errno != EEXIST)
		return -errno;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -errno;
	(void)fchmod(fd, 0711);
	zmx_stage_close();
	stage_fd = fd;
	if ((fd = dup(stage_fd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && (kfd = openat(stage_fd, e->d_name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0)
			clean_dir(kfd);
	closedir(d);
	return 0;
}

static void
up_free(struct stage_up *u)
{
	int kfd;

	if (u->fd >= 0)
		close(u->fd);
	if (u->tmp[0] != '\0' && (kfd = openat(stage_fd, u->keydir,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		(void)unlinkat(kfd, u->tmp, 0);
		close(kfd);
	}
	free(u);
}

void
zmx_stage_close(void)
{
	struct stage_up *u;

	while ((u = stage_ups) != NULL) {
		stage_ups = u->next;
		up_free(u);
	}
	if (stage_fd >= 0)
		close(stage_fd);
	stage_fd = -1;
}

void
zmx_stage_drop(const void *owner)
{
	struct stage_up **pp, *u;

	for (pp = &stage_ups; (u = *pp) != NULL;)
		if (u->owner == owner) {
			*pp = u->next;
			up_free(u);
		} else
			pp = &u->next;
}

/* The key's directory, made if missing. fd or -errno. */
static int
key_open(const char *keydir, int make)
{
	int fd;

	if (stage_fd < 0)
		return -ENOPKG;
	if ((fd = openat(stage_fd, keydir, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) >= 0 || errno != ENOENT || !make)
		return fd >= 0 ? fd : -errno;
	if (mkdirat(stage_fd, keydir, 0711) < 0 && errno != EEXIST)
		return -errno;
	if ((fd = openat(stage_fd, keydir, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -errno;
	(void)fchmod(fd, 0711);
	return fd;
}

/* Whether name is a stored program's: 64 lowercase hex digits. */
static int
is_prog(const char *name)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return name[64] == '\0';
}

/* Removes the programs of directory kfd run longest ago until they
 * fit in zmx_stage_max; keep (just installed) stays whatever its size. */
static void
evict(int kfd, const char *keep)
{
	struct { char name[65]; off_t size; struct timespec t; } *v = NULL, *n;
	struct dirent *e;
	struct stat st;
	size_t cnt = 0, cap = 0, i, old;
	uint64_t total = 0;
	DIR *d;
	int fd;

	if ((fd = dup(kfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (!is_prog(e->d_name) || fstatat(kfd, e->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (cnt == cap) {
			cap = cap ? 2 * cap : 16;
			if ((n = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = n;
		}
		memcpy(v[cnt].name, e->d_name, 65);
		v[cnt].size = st.st_size;
		v[cnt].t = st.st_mtim;
		total += st.st_size;
		cnt++;
	}
	closedir(d);
	while (total > zmx_stage_max) {
		old = cnt;
		for (i = 0; i < cnt; i++)
			if (v[i].name[0] != '\0' && strcmp(v[i].name, keep) !=
			    0 && (old == cnt || v[i].t.tv_sec < v[old].t.tv_sec ||
			    (v[i].t.tv_sec == v[old].t.tv_sec &&
			    v[i].t.tv_nsec < v[old].t.tv_nsec)))
				old = i;
		if (old == cnt)
			break;
		if (unlinkat(kfd, v[old].name, 0) == 0)
			zmx_info("stage: %.16s... removed (store over %zu "
			    "bytes)", v[old].name, zmx_stage_max);
		total -= v[old].size;
		v[old].name[0] = '\0';
	}
	free(v);
}

static struct stage_up *
up_find(const void *owner, const char *keydir, const uint8_t *digest)
{
	struct stage_up *u;

	for (u = stage_ups; u != NULL; u = u->next)
		if (u->owner == owner && strcmp(u->keydir, keydir) == 0 &&
		    memcmp(u->digest, digest, 32) == 0)
			return u;
	return NULL;
}

static void
up_unlink(struct stage_up *u)
{
	struct stage_up **pp;

	for (pp = &stage_ups; *pp != NULL; pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	up_free(u);
}

static int
up_new(const void *owner, const char *keydir, int kfd, const uint8_t *digest,
    const char *name, uint64_t size, struct stage_up **up)
{
	struct stage_up *u;
	int n = 0;

	*up = NULL;
	for (u = stage_ups; u != NULL; u = u->next)
		if (u->owner == owner && ++n >= ZMX_STAGE_UPLOADS)
			return -EAGAIN;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return -ENOMEM;
	u->owner = owner;
	memcpy(u->keydir, keydir, 33);
	memcpy(u->digest, digest, 32);
	u->size = size;
	snprintf(u->tmp, sizeof(u->tmp), STAGE_TMP "%.16s-%lu", name,
	    ++stage_seq);
	if ((u->fd = openat(kfd, u->tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0700)) < 0) {
		n = -errno;
		u->tmp[0] = '\0';
		free(u);
		return n;
	}
	crypto_hash_sha256_init(&u->sha);
	u->next = stage_ups;
	stage_ups = u;
	*up = u;
	return 0;
}

int
zmx_stage_put(const char *key, const void *owner, const uint8_t digest[32],
    uint64_t off, const void *data, size_t len, uint64_t size)
{
	struct stage_up *u;
	uint8_t h[32];
	char keydir[33], name[65];
	struct stat st;
	int kfd = -1, r;

	zmx_stage_keydir(key, keydir);
	hex(digest, 32, name);
	if ((kfd = key_open(keydir, 1)) < 0)
		return kfd;
	/* stored already: a query, a repeated last chunk, another
	 * session's upload of the same program */
	if (fstatat(kfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode)) {
		r = 0;
		goto out;
	}
	if (off == 0 && len == 0) {
		r = -ENOENT;
		goto out;
	}
	r = -EFBIG;
	if (size > zmx_stage_max)
		goto out;
	r = -EINVAL;
	if ((u = up_find(owner, keydir, digest)) == NULL) {
		if (off != 0)
			goto out;
		if ((r = up_new(owner, keydir, kfd, digest, name, size,
		    &u)) < 0)
			goto out;
	}
	r = -EINVAL;
	if (u->size != size || off + len > size)
		goto out;
	if (off < u->got && off + len <= u->got) {
		r = 0;			/* a chunk repeated */
		goto out;
	}
	if (off != u->got)
		goto out;
	if ((r = zmx_io_write_all(u->fd, data, len, (off_t)off)) < 0) {
		up_unlink(u);
		goto out;
	}
	crypto_hash_sha256_update(&u->sha, data, len);
	u->got += len;
	r = 0;
	if (u->got < u->size)
		goto out;
	crypto_hash_sha256_final(&u->sha, h);
	if (sodium_memcmp(h, digest, 32) != 0) {
		up_unlink(u);
		r = -EBADMSG;
		goto out;
	}
	if (fchmod(u->fd, 0755) < 0 || fsync(u->fd) < 0 ||
	    renameat(kfd, u->tmp, kfd, name) < 0) {
		r = -errno;
		up_unlink(u);
		goto out;
	}
	u->tmp[0] = '\0';		/* in place: nothing to remove */
	up_unlink(u);
	zmx_info("stage: key %s: %.16s... stored, %llu bytes", key, name,
	    (unsigned long long)size);
	evict(kfd, name);
	r = 0;
out:
	close(kfd);
	return r;
}

int
zmx_stage_prog(const char *key, const uint8_t digest[32])
{
	char keydir[33], name[65];
	int kfd, fd;

	zmx_stage_keydir(key, keydir);
	hex(digest, 32, name);
	if ((kfd = key_open(keydir, 0)) < 0)
		return kfd == -ENOENT ? -ENOPKG : kfd;
	fd = openat(kfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(kfd);
	if (fd < 0)
		return errno == ENOENT ? -ENOPKG : -errno;
	/* run now: the last to go when the store is full */
	(void)futimens(fd, NULL);
	return fd;
}
