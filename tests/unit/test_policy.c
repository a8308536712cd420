/* test_policy.c - rule parsing and first-match-wins matching. */
#include <errno.h>
#include <limits.h>

#include "policy.h"
#include "tap.h"

static const char *
where(const struct zmx_policy *p, const char *path)
{
	static char out[PATH_MAX];
	const struct zmx_rule *r = zmx_policy_match(p, path);

	if (r == NULL)
		return "local";
	if (zmx_policy_map(r, path, out, sizeof(out)) < 0)
		return "toolong";
	return out;
}

int
main(void)
{
	struct zmx_policy p = { 0 };
	char why[256];

	ok(zmx_policy_parse(&p, "local /proc\nlocal /tmp/cc-socks;"
	    "remote /ws # the workspace\nremote /tmp\n\n  remote /data /srv/d\n",
	    why, sizeof(why)) == 0, "parse a profile (%s)", why);
	ok(p.n == 5 && p.any_remote, "five rules, some remote");
	is_str(where(&p, "/ws"), "/ws", "the workspace itself");
	is_str(where(&p, "/ws/a.c"), "/ws/a.c", "a workspace file");
	is_str(where(&p, "/wsx/a.c"), "local", "a sibling with the prefix");
	is_str(where(&p, "/tmp/x"), "/tmp/x", "/tmp is remote");
	is_str(where(&p, "/tmp/cc-socks/1.sock"), "local",
	    "an earlier local rule wins");
	is_str(where(&p, "/tmp/cc-socksx"), "/tmp/cc-socksx",
	    "prefix match is by component");
	is_str(where(&p, "/data/a/b"), "/srv/d/a/b", "remote prefix mapping");
	is_str(where(&p, "/data"), "/srv/d", "the mapped root itself");
	is_str(where(&p, "/etc/passwd"), "local", "unmatched is local");
	is_str(where(&p, "/"), "local", "/ is local");
	zmx_policy_free(&p);

	ok(zmx_policy_parse(&p, "remote / /srv/root", why, sizeof(why)) == 0,
	    "a catch-all remote rule");
	is_str(where(&p, "/a/b"), "/srv/root/a/b", "everything mapped");
	is_str(where(&p, "/"), "/srv/root", "even /");
	zmx_policy_free(&p);
	ok(zmx_policy_parse(&p, "remote /x /", why, sizeof(why)) == 0,
	    "a prefix mapped to /");
	is_str(where(&p, "/x"), "/", "/x is agentd's /");
	is_str(where(&p, "/x/etc"), "/etc", "/x/etc is agentd's /etc");
	zmx_policy_free(&p);

	ok(zmx_policy_parse(&p, "remote ws", why, sizeof(why)) == -EINVAL,
	    "a relative prefix is refused (%s)", why);
	zmx_policy_free(&p);
	ok(zmx_policy_parse(&p, "remote /ws/../etc", why, sizeof(why)) ==
	    -EINVAL, "a prefix with .. is refused (%s)", why);
	zmx_policy_free(&p);
	ok(zmx_policy_parse(&p, "elsewhere /ws", why, sizeof(why)) == -EINVAL,
	    "an unknown kind is refused (%s)", why);
	zmx_policy_free(&p);
	ok(zmx_policy_parse(&p, "local", why, sizeof(why)) == -EINVAL,
	    "a rule without a prefix is refused (%s)", why);
	zmx_policy_free(&p);
	ok(zmx_policy_parse(&p, "local /a\n", why, sizeof(why)) == 0 &&
	    !p.any_remote, "only local rules: nothing remote");
	is_str(where(&p, "/a/b"), "local", "and nothing matches remote");
	zmx_policy_free(&p);

	/* where commands run */
	ok(zmx_policy_parse(&p, "remote /ws\nexec local git\n"
	    "exec remote /opt/tools;exec local /usr/bin/make\nexec remote *",
	    why, sizeof(why)) == 0 && p.nexec == 4, "exec rules");
	ok(zmx_policy_exec(&p, "git") == 0, "a name: git local");
	ok(zmx_policy_exec(&p, "/usr/bin/git") == 0, "by its last component");
	ok(zmx_policy_exec(&p, "/opt/tools/bin/x") == 1,
	    "a directory covers what is under it");
	ok(zmx_policy_exec(&p, "/opt/toolsx") == 1, "'*' catches the rest");
	ok(zmx_policy_exec(&p, "/usr/bin/make") == 0, "a path: that program");
	zmx_policy_free(&p);
	ok(zmx_policy_parse(&p, "exec local /opt/tools", why, sizeof(why)) ==
	    0 && zmx_policy_exec(&p, "/opt/toolsx") == -1 &&
	    zmx_policy_exec(&p, "make") == -1,
	    "whole components only; no rule says: -1");
	zmx_policy_free(&p);
	ok(zmx_policy_parse(&p, "exec elsewhere x", why, sizeof(why)) ==
	    -EINVAL, "exec needs local or remote (%s)", why);
	zmx_policy_free(&p);
	ok(zmx_policy_parse(&p, "exec local /a/../b", why, sizeof(why)) ==
	    -EINVAL, "an exec path with .. is refused (%s)", why);
	zmx_policy_free(&p);
	ok(zmx_policy_parse(&p, "exec local", why, sizeof(why)) == -EINVAL,
	    "exec without a program is refused (%s)", why);
	zmx_policy_free(&p);
	return tap_done();
}
