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

/* Where a command runs: "exec local|remote PROGRAM". PROGRAM is an
 * absolute path (that program, or every one under that directory), a
 * name (matched against the program's last component), or "*". */
struct zmx_exec_rule {
	int		 remote;
	char		*prog;
	size_t		 len;
};

struct zmx_policy {
	struct zmx_rule	rules[ZMX_POLICY_MAX];
	int		n;
	int		any_remote;	/* fast exit when nothing is remote */
	struct zmx_exec_rule execs[ZMX_POLICY_MAX];
	int		nexec;
};

/* Where the exec rules send program (a path or a name): 1 remote,
 * 0 local, -1 no rule says (then: remote when the cwd is remote). */
int	zmx_policy_exec(const struct zmx_policy *p, const char *program);

/* Parses rules: lines (or ';'-separated) "local PREFIX",
 * "remote PREFIX [REMOTE_PREFIX]" or "exec local|remote PROGRAM"; '#' starts a comment. Appends to p.
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
