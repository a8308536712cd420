/* policy.h - which paths are remote: an ordered list of prefix rules,
 * first match wins, unmatched paths are local (DESIGN.md decision 1). */
#ifndef ZMX_POLICY_H
#define ZMX_POLICY_H

#include <stddef.h>

#define ZMX_POLICY_MAX	64

struct zmx_rule {
	int		 remote;
	char		*prefix;	/* normal absolute path */
	size_t		 len;
	char		*rprefix;	/* where it is on agentd; = prefix */
	size_t		 rlen;
};

struct zmx_policy {
	struct zmx_rule	rules[ZMX_POLICY_MAX];
	int		n;
	int		any_remote;	/* fast exit when nothing is remote */
};

/* Parses rules: lines (or ';'-separated) "local PREFIX" or
 * "remote PREFIX [REMOTE_PREFIX]"; '#' starts a comment. Appends to p.
 * Returns 0 or -EINVAL with why[] naming the rule. */
int	zmx_policy_parse(struct zmx_policy *p, const char *text, char *why,
	    size_t whylen);
void	zmx_policy_free(struct zmx_policy *p);

/* The remote rule a normal absolute path falls under, or NULL (local). */
const struct zmx_rule *zmx_policy_match(const struct zmx_policy *p,
	    const char *path);

/* Maps a normal path under rule r to agentd's path. Returns the length
 * or -ENAMETOOLONG. */
int	zmx_policy_map(const struct zmx_rule *r, const char *path, char *out,
	    size_t outlen);

#endif
