/* policy.c - parsing and matching path rules (policy.h). Matching is on
 * the hot path of every interposed call with a path: a few memcmp()s. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "policy.h"

static int
add_rule(struct zmx_policy *p, int remote, const char *prefix,
    const char *rprefix, char *why, size_t whylen)
{
	struct zmx_rule *r;

	if (p->n == ZMX_POLICY_MAX) {
		snprintf(why, whylen, "more than %d rules", ZMX_POLICY_MAX);
		return -EINVAL;
	}
	if (prefix[0] != '/' || !zmx_path_is_normal(prefix) ||
	    (rprefix && (rprefix[0] != '/' || !zmx_path_is_normal(rprefix)))) {
		snprintf(why, whylen, "'%s%s%s': prefixes must be normal "
		    "absolute paths", prefix, rprefix ? " " : "",
		    rprefix ? rprefix : "");
		return -EINVAL;
	}
	r = &p->rules[p->n];
	if ((r->prefix = strdup(prefix)) == NULL ||
	    (r->rprefix = strdup(rprefix ? rprefix : prefix)) == NULL) {
		free(r->prefix);
		r->prefix = NULL;
		return -ENOMEM;
	}
	r->remote = remote;
	r->len = strlen(r->prefix);
	r->rlen = strlen(r->rprefix);
	if (r->len == 1)	/* "/" matches everything: compare nothing */
		r->len = 0;
	if (r->rlen == 1)
		r->rlen = 0;
	p->n++;
	if (remote)
		p->any_remote = 1;
	return 0;
}

static int
add_exec(struct zmx_policy *p, const char *where, const char *prog,
    char *why, size_t whylen)
{
	struct zmx_exec_rule *x;
	int remote;

	if (strcmp(where, "local") == 0)
		remote = 0;
	else if (strcmp(where, "remote") == 0)
		remote = 1;
	else {
		snprintf(why, whylen, "'exec %s %s': expected 'exec local "
		    "PROGRAM' or 'exec remote PROGRAM'", where, prog);
		return -EINVAL;
	}
	if (p->nexec == ZMX_POLICY_MAX) {
		snprintf(why, whylen, "more than %d exec rules",
		    ZMX_POLICY_MAX);
		return -EINVAL;
	}
	if (prog[0] == '/' && !zmx_path_is_normal(prog)) {
		snprintf(why, whylen, "'exec %s %s': a program path must be "
		    "a normal absolute path", where, prog);
		return -EINVAL;
	}
	x = &p->execs[p->nexec];
	if ((x->prog = strdup(prog)) == NULL)
		return -ENOMEM;
	x->remote = remote;
	x->len = strlen(prog);
	p->nexec++;
	return 0;
}

int
zmx_policy_exec(const struct zmx_policy *p, const char *program)
{
	const struct zmx_exec_rule *x;
	const char *base = strrchr(program, '/');
	int i;

	base = base ? base + 1 : program;
	for (i = 0; i < p->nexec; i++) {
		x = &p->execs[i];
		if (strcmp(x->prog, "*") == 0)
			return x->remote;
		if (x->prog[0] != '/') {
			if (strcmp(x->prog, base) == 0)
				return x->remote;
		} else if (strncmp(program, x->prog, x->len) == 0 &&
		    (program[x->len] == '/' || program[x->len] == '\0' ||
		    x->len == 1))
			return x->remote;
	}
	return -1;
}

int
zmx_policy_parse(struct zmx_policy *p, const char *text, char *why,
    size_t whylen)
{
	char line[3 * 4096], *w[4], *save, *s;
	const char *e;
	size_t n;
	int nw, r;

	for (; *text != '\0'; text = *e ? e + 1 : e) {
		e = text + strcspn(text, "\n;");
		if ((n = e - text) >= sizeof(line)) {
			snprintf(why, whylen, "rule longer than %zu bytes",
			    sizeof(line));
			return -EINVAL;
		}
		memcpy(line, text, n);
		line[n] = '\0';
		if ((s = strchr(line, '#')) != NULL)
			*s = '\0';
		nw = 0;
		for (s = strtok_r(line, " \t\r", &save); s != NULL;
		    s = strtok_r(NULL, " \t\r", &save)) {
			if (nw == 4)
				break;
			w[nw++] = s;
		}
		if (nw == 0)
			continue;
		if (strcmp(w[0], "local") == 0 && nw == 2)
			r = add_rule(p, 0, w[1], NULL, why, whylen);
		else if (strcmp(w[0], "remote") == 0 && (nw == 2 || nw == 3))
			r = add_rule(p, 1, w[1], nw == 3 ? w[2] : NULL, why,
			    whylen);
		else if (strcmp(w[0], "exec") == 0 && nw == 3)
			r = add_exec(p, w[1], w[2], why, whylen);
		else {
			snprintf(why, whylen, "'%.*s': expected 'local PREFIX', "
			    "'remote PREFIX [REMOTE_PREFIX]' or 'exec local|"
			    "remote PROGRAM'", (int)n, text);
			r = -EINVAL;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

void
zmx_policy_free(struct zmx_policy *p)
{
	int i;

	for (i = 0; i < p->n; i++) {
		free(p->rules[i].prefix);
		free(p->rules[i].rprefix);
	}
	for (i = 0; i < p->nexec; i++)
		free(p->execs[i].prog);
	memset(p, 0, sizeof(*p));
}

const struct zmx_rule *
zmx_policy_match(const struct zmx_policy *p, const char *path)
{
	const struct zmx_rule *r;
	int i;

	if (!p->any_remote)
		return NULL;
	for (i = 0; i < p->n; i++) {
		r = &p->rules[i];
		if (strncmp(path, r->prefix, r->len) == 0 &&
		    (path[r->len] == '/' || path[r->len] == '\0'))
			return r->remote ? r : NULL;
	}
	return NULL;
}

int
zmx_policy_map(const struct zmx_rule *r, const char *path, char *out,
    size_t outlen)
{
	const char *rest = path + r->len;	/* "" or "/..." */
	size_t n;

	if (strcmp(rest, "/") == 0)
		rest = "";
	n = r->rlen + strlen(rest);
	if (n + 2 > outlen)
		return -ENAMETOOLONG;
	memcpy(out, r->rprefix, r->rlen);
	strcpy(out + r->rlen, rest);
	if (n == 0) {
		strcpy(out, "/");
		n = 1;
	}
	return (int)n;
}
