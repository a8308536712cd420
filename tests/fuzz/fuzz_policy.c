/* fuzz_policy.c - libFuzzer target for the path policy (common/policy.c,
 * common/path.c): zmx_policy_parse() on any NUL-terminated text, then
 * zmx_policy_match() and zmx_policy_map() on paths, checked against a
 * plain reimplementation of "first matching prefix wins".
 *
 * Input: RULES '\0' PATH '\0' PATH ... The rules are the text up to the
 * first NUL; each later NUL-separated piece is a path, made normal the way
 * the shim does (zmx_where() in shim/vcwd.c) and then handed over in an
 * exact-size heap copy, as a program's own string would be. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "policy.h"

#define FUZZ_NAME "fuzz_policy"
#include "fuzz.h"

/* The reference: does rule prefix pre cover the normal path p? */
static int
covers(const char *pre, const char *p)
{
	size_t n = strlen(pre);

	if (strcmp(pre, "/") == 0)
		return 1;
	return strncmp(p, pre, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

static void
check_path(const struct zmx_policy *pol, const char *path, size_t outlen)
{
	char norm[4096], out[4096 + 2], *p, *small;
	const struct zmx_rule *r, *want = NULL;
	int i, n;

	/* zmx_where(): a normal path is used as given, others are joined */
	if (zmx_path_is_normal(path)) {
		if ((p = strdup(path)) == NULL)
			return;
	} else {
		if (zmx_path_join("/", path, norm, sizeof(norm)) < 0)
			return;
		CHECK(zmx_path_is_normal(norm), "zmx_path_join() output is "
		    "not normal");
		if ((p = strdup(norm)) == NULL)
			return;
	}
	for (i = 0; i < pol->n; i++)
		if (covers(pol->rules[i].prefix, p)) {
			want = pol->rules[i].remote ? &pol->rules[i] : NULL;
			break;
		}
	if (!pol->any_remote)
		want = NULL;
	r = zmx_policy_match(pol, p);
	CHECK(r == want, "zmx_policy_match() disagrees with the reference");
	if (r == NULL)
		goto out;
	n = zmx_policy_map(r, p, out, sizeof(out));
	CHECK(n == -ENAMETOOLONG || (n > 0 && (size_t)n == strlen(out)),
	    "zmx_policy_map() length");
	if (n > 0) {
		CHECK(zmx_path_is_normal(out), "mapped path is not normal");
		CHECK(strncmp(out, r->rprefix, r->rlen) == 0,
		    "mapped path is not under the remote prefix");
	}
	/* a short exact-size buffer: ENAMETOOLONG, never an overflow */
	if ((small = malloc(outlen ? outlen : 1)) == NULL)
		goto out;
	n = zmx_policy_map(r, p, small, outlen);
	CHECK(n == -ENAMETOOLONG || (n > 0 && (size_t)n < outlen),
	    "zmx_policy_map() with a short buffer");
	free(small);
out:
	free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zmx_policy pol;
	char why[256], *text, *p, *end;
	size_t outlen;
	int i, r;

	/* one NUL-terminated copy; pieces are its NUL-separated parts */
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	end = text + size;
	outlen = size > 0 ? data[size - 1] % 64 : 0;

	memset(&pol, 0, sizeof(pol));
	why[0] = '\0';
	r = zmx_policy_parse(&pol, text, why, sizeof(why));
	CHECK(r == 0 || r == -EINVAL || r == -ENOMEM, "unexpected error");
	CHECK(r == 0 || r == -ENOMEM || why[0] != '\0',
	    "a refusal without a reason");
	CHECK(pol.n >= 0 && pol.n <= ZMX_POLICY_MAX, "rule count");
	for (i = 0; i < pol.n; i++) {
		CHECK(zmx_path_is_normal(pol.rules[i].prefix),
		    "a rule prefix is not normal");
		CHECK(zmx_path_is_normal(pol.rules[i].rprefix),
		    "a remote prefix is not normal");
	}
	if (r == 0) {
		for (p = text + strlen(text) + 1; p <= end;
		    p += strlen(p) + 1)
			check_path(&pol, p, outlen);
		/* the rules' own prefixes, and their parents and children */
		for (i = 0; i < pol.n; i++) {
			char buf[4096 + 8];

			check_path(&pol, pol.rules[i].prefix, outlen);
			snprintf(buf, sizeof(buf), "%s/x", pol.rules[i].prefix);
			check_path(&pol, buf, outlen);
			snprintf(buf, sizeof(buf), "%sx", pol.rules[i].prefix);
			check_path(&pol, buf, outlen);
			snprintf(buf, sizeof(buf), "%s/..", pol.rules[i].prefix);
			check_path(&pol, buf, outlen);
		}
		check_path(&pol, "/", outlen);
	}
	zmx_policy_free(&pol);
	free(text);
	return 0;
}
