/* path.c - lexical path normalisation (path.h). Lexical ".." is what a
 * path policy must see: "/ws/../etc" names /etc, not the workspace. */
#include <errno.h>
#include <string.h>

#include "path.h"

int
zmx_path_is_normal(const char *p)
{
	const char *s;

	if (p[0] != '/')
		return 0;
	if (p[1] == '\0')
		return 1;
	for (s = p; *s != '\0'; s++) {
		if (s[0] != '/')
			continue;
		if (s[1] == '/' || s[1] == '\0')
			return 0;
		if (s[1] == '.' && (s[2] == '/' || s[2] == '\0'))
			return 0;
		if (s[1] == '.' && s[2] == '.' && (s[3] == '/' || s[3] == '\0'))
			return 0;
	}
	return 1;
}

/* Appends component c (length n) to out at *len, handling "." and "..". */
static int
push(char *out, size_t outlen, size_t *len, const char *c, size_t n)
{
	char *slash;

	if (n == 0 || (n == 1 && c[0] == '.'))
		return 0;
	if (n == 2 && c[0] == '.' && c[1] == '.') {
		if (*len > 1) {
			slash = memrchr(out, '/', *len);
			*len = slash == out ? 1 : (size_t)(slash - out);
			out[*len] = '\0';
		}
		return 0;
	}
	if (*len + (*len > 1) + n + 1 > outlen)
		return -ENAMETOOLONG;
	if (*len > 1)
		out[(*len)++] = '/';
	memcpy(out + *len, c, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

static int
push_all(char *out, size_t outlen, size_t *len, const char *p)
{
	const char *e;
	int r;

	while (*p != '\0') {
		while (*p == '/')
			p++;
		if ((e = strchr(p, '/')) == NULL)
			e = p + strlen(p);
		if ((r = push(out, outlen, len, p, e - p)) < 0)
			return r;
		p = e;
	}
	return 0;
}

int
zmx_path_join(const char *base, const char *rel, char *out, size_t outlen)
{
	size_t len = 1;
	int r;

	if (outlen < 2)
		return -ENAMETOOLONG;
	out[0] = '/';
	out[1] = '\0';
	if (rel[0] != '/' && (r = push_all(out, outlen, &len, base)) < 0)
		return r;
	if ((r = push_all(out, outlen, &len, rel)) < 0)
		return r;
	return (int)len;
}

const char *
zmx_path_base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}
