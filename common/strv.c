/* strv.c - reading the NUL-separated string vectors of SPAWN (strv.h).
 * The bytes come from the wire: nothing past len is read, and the
 * count is bounded before anything is allocated for it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

long
zmx_strv_count(const void *buf, size_t len)
{
	const char *p = buf, *end = p + len, *nul;
	long n = 0;

	if (len == 0)
		return 0;
	if (p[len - 1] != '\0')
		return -EINVAL;
	for (; p < end; p = nul + 1) {
		nul = memchr(p, '\0', end - p);
		if (++n > ZMX_STRV_MAX)
			return -EINVAL;
	}
	return n;
}

int
zmx_strv_parse(const void *buf, size_t len, char ***vp, size_t *np)
{
	char *p = (char *)buf, **v;
	long n, i;

	*vp = NULL;
	*np = 0;
	if ((n = zmx_strv_count(buf, len)) < 0)
		return (int)n;
	if ((v = calloc((size_t)n + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		v[i] = p;
		p += strlen(p) + 1;
	}
	*vp = v;
	*np = (size_t)n;
	return 0;
}
