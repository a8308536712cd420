/* authkeys.c - reading the authorized-keys file (authkeys.h): one key a
 * line, "<Z85 key> <options> [name]", options root=/dir, ro|rw, user=NAME.
 * The parser takes any bytes and never trusts a length; users are looked
 * up separately so the fuzz target stays pure. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authkeys.h"

#define AUTHKEYS_MAX_KEYS	65536
#define AUTHKEYS_USER_MAX	32	/* useradd's limit */
#define AUTHKEYS_MAX_GROUPS	65536

static int
why_line(char *why, size_t whylen, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
why_line(char *why, size_t whylen, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (whylen == 0)
		return -EINVAL;
	n = snprintf(why, whylen, "%d: ", line);
	if (n >= 0 && (size_t)n < whylen) {
		va_start(ap, fmt);
		vsnprintf(why + n, whylen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int
name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	    c == '@' || c == '+';
}

/* A name or user: the characters above, 1 to max bytes. */
static int
valid_name(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++)
		if (!name_char((unsigned char)s[i]))
			return 0;
	return 1;
}

static void
key_clear(struct zmx_authkey *k)
{
	free(k->root);
	free(k->user);
	free(k->groups);
	memset(k, 0, sizeof(*k));
}

void
zmx_authkeys_free(struct zmx_authkeys *ak)
{
	size_t i;

	if (ak == NULL)
		return;
	for (i = 0; i < ak->n; i++)
		key_clear(&ak->v[i]);
	free(ak->v);
	free(ak);
}

/* The next field of [*pp, end) separated by blanks; 0 if none. */
static int
next_field(const char **pp, const char *end, const char **f, size_t *flen)
{
	const char *p = *pp;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end)
		return 0;
	*f = p;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	*flen = p - *f;
	*pp = p;
	return 1;
}

static int
parse_options(struct zmx_authkey *k, const char *o, size_t olen, int line,
    char *why, size_t whylen)
{
	const char *end = o + olen, *c;
	size_t n;
	int seen_mode = 0;

	for (; o < end; o = c + 1) {
		if ((c = memchr(o, ',', end - o)) == NULL)
			c = end;
		n = c - o;
		if (n == 0)
			return why_line(why, whylen, line, "empty option");
		if (n == 2 && (memcmp(o, "ro", 2) == 0 ||
		    memcmp(o, "rw", 2) == 0)) {
			if (seen_mode++)
				return why_line(why, whylen, line,
				    "ro or rw given twice");
			k->ro = o[1] == 'o';
		} else if (n > 5 && memcmp(o, "root=", 5) == 0) {
			if (k->root != NULL)
				return why_line(why, whylen, line,
				    "root= given twice");
			if (o[5] != '/')
				return why_line(why, whylen, line,
				    "root= must be an absolute path");
			if (n - 5 >= PATH_MAX)
				return why_line(why, whylen, line,
				    "root= is too long");
			if ((k->root = strndup(o + 5, n - 5)) == NULL)
				return -ENOMEM;
		} else if (n > 5 && memcmp(o, "user=", 5) == 0) {
			if (k->user != NULL)
				return why_line(why, whylen, line,
				    "user= given twice");
			if (!valid_name(o + 5, n - 5, AUTHKEYS_USER_MAX))
				return why_line(why, whylen, line,
				    "user= is not a user name");
			if ((k->user = strndup(o + 5, n - 5)) == NULL)
				return -ENOMEM;
		} else
			return why_line(why, whylen, line,
			    "unknown option '%.*s' (want root=DIR, ro, rw, "
			    "user=NAME)", (int)(n > 32 ? 32 : n), o);
	}
	if (k->root == NULL)
		return why_line(why, whylen, line, "no root= option");
	if (!seen_mode)
		k->ro = 1;		/* least privilege by default */
	return 0;
}

static int
parse_line(struct zmx_authkeys *ak, const char *p, const char *end, int line,
    char *why, size_t whylen)
{
	struct zmx_authkey k;
	const char *f[4];
	size_t flen[4], i;
	int nf = 0, r;

	memset(&k, 0, sizeof(k));
	if (memchr(p, '\0', end - p) != NULL)
		return why_line(why, whylen, line, "a NUL byte");
	while (nf < 4 && next_field(&p, end, &f[nf], &flen[nf]))
		nf++;
	if (nf < 2)
		return why_line(why, whylen, line,
		    "want '<Z85 public key> root=DIR[,ro|rw][,user=NAME] "
		    "[name]'");
	if (nf > 3)
		return why_line(why, whylen, line, "more than three fields");
	if (!zmx_keys_valid_z85(f[0], flen[0]))
		return why_line(why, whylen, line,
		    "not a Z85 public key of %d characters", ZMX_Z85_LEN);
	memcpy(k.key, f[0], ZMX_Z85_LEN);
	if ((r = parse_options(&k, f[1], flen[1], line, why, whylen)) < 0)
		goto out;
	if (nf == 3) {
		if (!valid_name(f[2], flen[2], ZMX_AUTHKEY_NAME_MAX)) {
			r = why_line(why, whylen, line, "a name is 1 to %d of "
			    "A-Z a-z 0-9 . _ - @ +", ZMX_AUTHKEY_NAME_MAX);
			goto out;
		}
		memcpy(k.name, f[2], flen[2]);
	} else
		memcpy(k.name, k.key, 8);
	for (i = 0; i < ak->n; i++) {
		if (strcmp(ak->v[i].key, k.key) == 0) {
			r = why_line(why, whylen, line,
			    "key already listed on line %d", ak->v[i].line);
			goto out;
		}
		if (strcmp(ak->v[i].name, k.name) == 0) {
			r = why_line(why, whylen, line,
			    "name '%s' already used on line %d", k.name,
			    ak->v[i].line);
			goto out;
		}
	}
	if (ak->n >= AUTHKEYS_MAX_KEYS) {
		r = why_line(why, whylen, line, "more than %d keys",
		    AUTHKEYS_MAX_KEYS);
		goto out;
	}
	k.line = line;
	ak->v[ak->n++] = k;
	memset(&k, 0, sizeof(k));	/* the table owns it now */
	r = 0;
out:
	key_clear(&k);
	return r;
}

int
zmx_authkeys_parse(const char *text, size_t len, struct zmx_authkeys **akp,
    char *why, size_t whylen)
{
	struct zmx_authkeys *ak;
	const char *p = text, *end = text + len, *nl, *e;
	size_t cap = 0, n;
	int line = 0, r;
	void *v;

	*akp = NULL;
	if (whylen)
		why[0] = '\0';
	if ((ak = calloc(1, sizeof(*ak))) == NULL)
		return -ENOMEM;
	for (; p < end; p = nl + 1) {
		line++;
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		e = nl;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' ||
		    e[-1] == '\r'))
			e--;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p == e || *p == '#')
			continue;
		if (ak->n == cap) {
			n = cap ? cap * 2 : 8;
			if ((v = reallocarray(ak->v, n, sizeof(*ak->v))) ==
			    NULL) {
				r = -ENOMEM;
				goto out;
			}
			ak->v = v;
			cap = n;
		}
		if ((r = parse_line(ak, p, e, line, why, whylen)) < 0)
			goto out;
	}
	*akp = ak;
	ak = NULL;
	r = 0;
out:
	zmx_authkeys_free(ak);
	return r;
}

static int
resolve_key(struct zmx_authkey *k, char *why, size_t whylen)
{
	struct passwd *pw;
	struct stat st;
	gid_t *g = NULL;
	int n;

	if (stat(k->root, &st) < 0)
		return why_line(why, whylen, k->line, "root %s: %s", k->root,
		    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return why_line(why, whylen, k->line,
		    "root %s: not a directory", k->root);
	if (k->user == NULL) {
		k->uid = geteuid();
		k->gid = getegid();
		if ((n = getgroups(0, NULL)) < 0 ||
		    (g = calloc(n + 1, sizeof(*g))) == NULL ||
		    (n = getgroups(n, g)) < 0) {
			free(g);
			return why_line(why, whylen, k->line, "getgroups: %s",
			    strerror(errno));
		}
		k->groups = g;
		k->ngroups = n;
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(k->user)) == NULL)
		return why_line(why, whylen, k->line, "user=%s: %s", k->user,
		    errno ? strerror(errno) : "no such user");
	if (geteuid() != 0 && pw->pw_uid != geteuid())
		return why_line(why, whylen, k->line, "user=%s: agentd is "
		    "not root and so cannot act as another user", k->user);
	k->uid = pw->pw_uid;
	k->gid = pw->pw_gid;
	n = 64;
	for (;;) {
		if ((g = calloc(n, sizeof(*g))) == NULL)
			return -ENOMEM;
		if (getgrouplist(k->user, k->gid, g, &n) >= 0)
			break;
		free(g);
		if (n > AUTHKEYS_MAX_GROUPS)
			return why_line(why, whylen, k->line,
			    "user=%s: too many groups", k->user);
	}
	k->groups = g;
	k->ngroups = n;
	return 0;
}

int
zmx_authkeys_resolve(struct zmx_authkeys *ak, char *why, size_t whylen)
{
	size_t i;
	int r;

	for (i = 0; i < ak->n; i++)
		if ((r = resolve_key(&ak->v[i], why, whylen)) < 0)
			return r;
	return 0;
}

int
zmx_authkeys_load(const char *path, struct zmx_authkeys **akp, char *why,
    size_t whylen)
{
	struct zmx_authkeys *ak = NULL;
	char *text = NULL, msg[512];
	size_t len = 0;
	ssize_t n;
	int fd = -1, r;

	*akp = NULL;
	msg[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		r = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((text = malloc(ZMX_AUTHKEYS_MAX_FILE + 1)) == NULL) {
		r = -ENOMEM;
		snprintf(why, whylen, "%s: out of memory", path);
		goto out;
	}
	while (len <= ZMX_AUTHKEYS_MAX_FILE && (n = read(fd, text + len,
	    ZMX_AUTHKEYS_MAX_FILE + 1 - len)) > 0)
		len += n;
	if (len > ZMX_AUTHKEYS_MAX_FILE) {
		r = -EFBIG;
		snprintf(why, whylen, "%s: larger than %u bytes", path,
		    ZMX_AUTHKEYS_MAX_FILE);
		goto out;
	}
	if ((r = zmx_authkeys_parse(text, len, &ak, msg, sizeof(msg))) < 0 ||
	    (r = zmx_authkeys_resolve(ak, msg, sizeof(msg))) < 0) {
		snprintf(why, whylen, "%s:%s", path, msg);
		goto out;
	}
	*akp = ak;
	ak = NULL;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	zmx_authkeys_free(ak);
	return r;
}

const struct zmx_authkey *
zmx_authkeys_find_key(const struct zmx_authkeys *ak, const char *z85)
{
	size_t i;

	for (i = 0; ak != NULL && i < ak->n; i++)
		if (strcmp(ak->v[i].key, z85) == 0)
			return &ak->v[i];
	return NULL;
}

const struct zmx_authkey *
zmx_authkeys_find_name(const struct zmx_authkeys *ak, const char *name)
{
	size_t i;

	for (i = 0; ak != NULL && i < ak->n; i++)
		if (strcmp(ak->v[i].name, name) == 0)
			return &ak->v[i];
	return NULL;
}
