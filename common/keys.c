/* keys.c - reading, writing and making CURVE key files (keys.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "keys.h"

#define KEYS_MAX_FILE	4096

int
zmx_keys_valid_z85(const char *s, size_t len)
{
	static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
	size_t i;

	if (len != ZMX_Z85_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] == '\0' || strchr(z85, s[i]) == NULL)
			return 0;
	return 1;
}

int
zmx_keys_parse(const char *text, size_t len, int need_secret,
    struct zmx_keypair *kp, char *why, size_t whylen)
{
	const char *p = text, *end = text + len, *nl, *v;
	size_t n, vlen;
	int line = 0;

	memset(kp, 0, sizeof(*kp));
	for (; p < end; p = nl + 1) {
		line++;
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		n = nl - p;
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\r' ||
		    p[n - 1] == '\t'))
			n--;
		if (n == 0 || p[0] == '#')
			continue;
		if (n > 7 && memcmp(p, "public ", 7) == 0) {
			v = p + 7;
			vlen = n - 7;
			if (!zmx_keys_valid_z85(v, vlen))
				goto bad;
			memcpy(kp->public, v, ZMX_Z85_LEN);
		} else if (n > 7 && memcmp(p, "secret ", 7) == 0) {
			v = p + 7;
			vlen = n - 7;
			if (!zmx_keys_valid_z85(v, vlen))
				goto bad;
			memcpy(kp->secret, v, ZMX_Z85_LEN);
		} else
			goto bad;
	}
	if (kp->public[0] == '\0') {
		snprintf(why, whylen, "no 'public' line");
		return -EINVAL;
	}
	if (need_secret && kp->secret[0] == '\0') {
		snprintf(why, whylen, "no 'secret' line (is this a .pub file?)");
		return -EINVAL;
	}
	return 0;
bad:
	snprintf(why, whylen, "line %d: expected 'public <Z85 key>' or "
	    "'secret <Z85 key>' (40 characters)", line);
	sodium_memzero(kp, sizeof(*kp));
	return -EINVAL;
}

int
zmx_keys_load(const char *path, int need_secret, struct zmx_keypair **kpp,
    char *why, size_t whylen)
{
	struct zmx_keypair *kp = NULL;
	char *text = NULL;
	ssize_t n;
	size_t len = 0;
	int fd = -1, r;

	*kpp = NULL;
	if (sodium_init() < 0) {
		snprintf(why, whylen, "libsodium failed to start");
		return -EIO;
	}
	if ((text = sodium_malloc(KEYS_MAX_FILE)) == NULL ||
	    (kp = sodium_malloc(sizeof(*kp))) == NULL) {
		r = -ENOMEM;
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		r = -errno;
		snprintf(why, whylen, "%s", strerror(errno));
		goto out;
	}
	while (len < KEYS_MAX_FILE &&
	    (n = read(fd, text + len, KEYS_MAX_FILE - len)) > 0)
		len += n;
	if (len == KEYS_MAX_FILE) {
		r = -EFBIG;
		snprintf(why, whylen, "larger than %d bytes", KEYS_MAX_FILE);
		goto out;
	}
	if ((r = zmx_keys_parse(text, len, need_secret, kp, why, whylen)) < 0)
		goto out;
	*kpp = kp;
	kp = NULL;
out:
	if (fd >= 0)
		close(fd);
	if (text != NULL)
		sodium_free(text);	/* wipes */
	zmx_keys_free(kp);
	return r;
}

struct zmx_keypair *
zmx_keys_generate(void)
{
	struct zmx_keypair *kp;

	if (sodium_init() < 0 || (kp = sodium_malloc(sizeof(*kp))) == NULL)
		return NULL;
	memset(kp, 0, sizeof(*kp));
	if (zmq_curve_keypair(kp->public, kp->secret) < 0) {
		zmx_keys_free(kp);
		return NULL;
	}
	return kp;
}

static int
write_file(const char *path, mode_t mode, const char *text)
{
	size_t len = strlen(text), off = 0;
	ssize_t n;
	int fd, r = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) < 0)
		return -errno;
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) < 0) {
			r = -errno;
			break;
		}
		off += n;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

int
zmx_keys_save(const struct zmx_keypair *kp, const char *base)
{
	char path[4096], *text;
	size_t cap = 256;
	int r;

	if ((text = sodium_malloc(cap)) == NULL)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s.key", base);
	snprintf(text, cap, "# zmx secret key: keep private\npublic %s\n"
	    "secret %s\n", kp->public, kp->secret);
	r = write_file(path, 0600, text);
	if (r == 0) {
		snprintf(path, sizeof(path), "%s.pub", base);
		snprintf(text, cap, "# zmx public key\npublic %s\n",
		    kp->public);
		r = write_file(path, 0644, text);
	}
	sodium_free(text);
	return r;
}

void
zmx_keys_free(struct zmx_keypair *kp)
{
	if (kp != NULL)
		sodium_free(kp);	/* wipes */
}
