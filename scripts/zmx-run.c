/* zmx-run.c - "zmx run": works out the environment libzmx.so reads (the
 * path policy, the workspace as the virtual cwd, the endpoint, the keys,
 * the session token), runs the agent with the shim preloaded and waits
 * for it, keeping the session's private directory (where its processes
 * share what they know of agentd's state) for the agent's lifetime.
 * Talks to nobody: a wrong endpoint shows up as EIO in the agent. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "cookie.h"
#include "local.h"
#include "session.h"
#include "path.h"
#include "policy.h"	/* ZMX_POLICY_MAX: what the shim takes */
#include "msg.h"
#include "zmx-cli.h"

#define RUN_LIB_NAME	"libzmx.so"
#define RUN_MAX_ENV	16
#define RUN_TIMEOUT_MS	5000	/* ZMX_TIMEOUT_MS: agentd's time to answer */

/* Exit codes for an AGENT that cannot be run, as env(1) has them. */
#define RUN_EXIT_NOEXEC	126
#define RUN_EXIT_NOENT	127

/* The rules every default policy has after the user's own: the agent's
 * runtime view of the kernel and its Unix sockets (DESIGN.md, decision 1;
 * Claude Code keeps /tmp/cc-socks/PID.sock) stay local. */
static const char *const run_local_defaults[] = {
	"/proc", "/sys", "/dev", "/tmp/cc-socks",
};

enum {
	OPT_NO_TMP = 256,
	OPT_STATS,
	OPT_SESSION,
	OPT_LIB,
	OPT_PRINT_ENV,
	OPT_COOKIE,
	OPT_LOCAL_CMD,
	OPT_REMOTE_CMD,
	OPT_LOCAL_CMDS,
};

static const struct option run_options[] = {
	{ "endpoint",	required_argument,	NULL, 'e' },
	{ "key",	required_argument,	NULL, 'k' },
	{ "server-key",	required_argument,	NULL, 'S' },
	{ "workspace",	required_argument,	NULL, 'C' },
	{ "remote",	required_argument,	NULL, 'R' },
	{ "local",	required_argument,	NULL, 'L' },
	{ "profile",	required_argument,	NULL, 'p' },
	{ "no-tmp",	no_argument,		NULL, OPT_NO_TMP },
	{ "stats",	no_argument,		NULL, OPT_STATS },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ "session",	required_argument,	NULL, OPT_SESSION },
	{ "lib",	required_argument,	NULL, OPT_LIB },
	{ "print-env",	no_argument,		NULL, OPT_PRINT_ENV },
	{ "cookie",	required_argument,	NULL, OPT_COOKIE },
	{ "local-command", required_argument,	NULL, OPT_LOCAL_CMD },
	{ "remote-command", required_argument,	NULL, OPT_REMOTE_CMD },
	{ "local-commands", no_argument,	NULL, OPT_LOCAL_CMDS },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 },
};

/* One variable zmx run sets for the agent. */
struct run_env {
	const char	*name;
	char		*value;
};

/* Everything one "zmx run" works out before the exec. */
struct run {
	char		 workspace[PATH_MAX];
	FILE		*policy;	/* open_memstream() of the rules */
	char		*policy_text;
	size_t		 policy_len;
	int		 nrules;
	int		 nexec;		/* exec rules */
	struct run_env	 env[RUN_MAX_ENV];
	int		 nenv;
	int		 oom;		/* a run_env_set() failed */
};

/* Adds one variable; an allocation failure sets run->oom. */
static void
run_env_set(struct run *run, const char *name, const char *value)
{
	assert(run->nenv < RUN_MAX_ENV);
	run->env[run->nenv].name = name;
	if ((run->env[run->nenv].value = strdup(value)) == NULL)
		run->oom = 1;
	run->nenv++;
}

static void
run_free(struct run *run)
{
	int i;

	for (i = 0; i < run->nenv; i++)
		free(run->env[i].value);
	if (run->policy != NULL)
		fclose(run->policy);
	free(run->policy_text);
}

/* ---- the policy ---------------------------------------------------- */

/* Normalizes a rule's prefix into out[PATH_MAX]. The shim splits rules
 * at newlines and ';', a rule at blanks, and cuts it at '#' (a comment),
 * so none of these may appear in a prefix. Returns 0 or -1 with why[]
 * set. */
static int
run_prefix(const char *in, char *out, char *why, size_t whylen)
{
	const unsigned char *p;

	if (in[0] != '/') {
		snprintf(why, whylen, "'%s' is not an absolute path", in);
		return -1;
	}
	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		if (isspace(*p) || iscntrl(*p)) {
			snprintf(why, whylen, "'%s' contains %s, which a "
			    "rule cannot hold", in, isspace(*p) ?
			    "white space" : "a control character");
			return -1;
		}
		if (*p == ';' || *p == '#') {
			snprintf(why, whylen, "'%s' contains '%c', which a "
			    "rule cannot hold", in, *p);
			return -1;
		}
	}
	if (zmx_cli_path_norm(in, NULL, out, PATH_MAX) < 0) {
		snprintf(why, whylen, "'%s' is too long", in);
		return -1;
	}
	return 0;
}

/* Appends one rule; remote is NULL for a local rule, and equal to prefix
 * (or "") for a remote rule that keeps the path. where names the rule's
 * source for the error message. */
static int
run_rule(struct run *run, const char *where, const char *prefix,
    const char *remote)
{
	char p[PATH_MAX], rp[PATH_MAX], why[PATH_MAX + 64];

	if (run_prefix(prefix, p, why, sizeof(why)) < 0 ||
	    (remote != NULL && *remote != '\0' &&
	    run_prefix(remote, rp, why, sizeof(why)) < 0)) {
		zmx_cli_warn("run", "%s: %s", where, why);
		return ZMX_EXIT_USAGE;
	}
	if (run->nrules == ZMX_POLICY_MAX) {
		zmx_cli_warn("run", "%s: one rule too many; the shim takes "
		    "%d", where, ZMX_POLICY_MAX);
		return ZMX_EXIT_USAGE;
	}
	if (run->nrules++ + run->nexec > 0)
		fputc('\n', run->policy);
	if (remote == NULL)
		fprintf(run->policy, "local %s", p);
	else if (*remote == '\0' || strcmp(p, rp) == 0)
		fprintf(run->policy, "remote %s", p);
	else
		fprintf(run->policy, "remote %s %s", p, rp);
	return 0;
}

/* "exec local|remote PROGRAM": where that command runs (a path, a
 * name, or "*"), whatever its cwd. */
static int
run_exec_rule(struct run *run, const char *where, int remote,
    const char *prog)
{
	if (*prog == '\0' || strpbrk(prog, " \t\n;#") != NULL ||
	    (prog[0] == '/' && !zmx_path_is_normal(prog))) {
		zmx_cli_warn("run", "%s: '%s' is not a program: a normal "
		    "absolute path, a name or '*'", where, prog);
		return ZMX_EXIT_USAGE;
	}
	if (run->nexec == ZMX_POLICY_MAX) {
		zmx_cli_warn("run", "%s: one exec rule too many; the shim "
		    "takes %d", where, ZMX_POLICY_MAX);
		return ZMX_EXIT_USAGE;
	}
	if (run->nrules + run->nexec++ > 0)
		fputc('\n', run->policy);
	fprintf(run->policy, "exec %s %s", remote ? "remote" : "local", prog);
	return 0;
}

/* A -R argument: PREFIX[=REMOTE_PREFIX]. */
static int
run_rule_remote(struct run *run, const char *arg)
{
	const char *eq;
	char *p;
	int r;

	if ((eq = strchr(arg, '=')) == NULL)
		return run_rule(run, "-R", arg, "");
	if (eq[1] == '\0') {
		zmx_cli_warn("run", "-R %s: no remote prefix after '='", arg);
		return ZMX_EXIT_USAGE;
	}
	if ((p = strndup(arg, eq - arg)) == NULL) {
		zmx_cli_warn("run", "out of memory");
		return ZMX_EXIT_USAGE;
	}
	r = run_rule(run, "-R", p, eq + 1);
	free(p);
	return r;
}

/* Reads rules from a profile: the lines of ZMX_POLICY, plus blank lines
 * and '#' comments. */
static int
run_profile(struct run *run, const char *path)
{
	char *line = NULL, *save, *kind, *pre, *rem, *extra;
	char where[PATH_MAX + 32];
	size_t cap = 0;
	FILE *f;
	int lineno = 0, r = 0, before = run->nrules;

	if ((f = fopen(path, "re")) == NULL) {
		zmx_cli_warn("run", "profile %s: %s", path, strerror(errno));
		return ZMX_EXIT_USAGE;
	}
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		snprintf(where, sizeof(where), "profile %s line %d", path,
		    lineno);
		if ((kind = strtok_r(line, " \t\r\n", &save)) == NULL ||
		    kind[0] == '#')
			continue;
		pre = strtok_r(NULL, " \t\r\n", &save);
		rem = strtok_r(NULL, " \t\r\n", &save);
		extra = strtok_r(NULL, " \t\r\n", &save);
		if (pre != NULL && extra == NULL &&
		    strcmp(kind, "local") == 0 && rem == NULL)
			r = run_rule(run, where, pre, NULL);
		else if (pre != NULL && extra == NULL &&
		    strcmp(kind, "remote") == 0)
			r = run_rule(run, where, pre, rem ? rem : "");
		else if (rem != NULL && extra == NULL &&
		    strcmp(kind, "exec") == 0 && (strcmp(pre, "local") == 0 ||
		    strcmp(pre, "remote") == 0))
			r = run_exec_rule(run, where, pre[0] == 'r', rem);
		else {
			zmx_cli_warn("run", "%s: expected 'local PREFIX', "
			    "'remote PREFIX [REMOTE_PREFIX]' or 'exec local|"
			    "remote PROGRAM'", where);
			r = ZMX_EXIT_USAGE;
		}
		if (r != 0)
			break;
	}
	if (r == 0 && ferror(f)) {
		zmx_cli_warn("run", "profile %s: %s", path, strerror(errno));
		r = ZMX_EXIT_USAGE;
	}
	if (r == 0 && run->nrules == before)
		zmx_cli_warn("run", "warning: profile %s has no rules", path);
	free(line);
	fclose(f);
	return r;
}

/* Shells that stay local when the agent is Claude Code: its Bash tool
 * sources a shell snapshot from the agent's home and runs the user's
 * command in it, so the shell itself runs here, under the shim, and
 * every program it starts runs where the cwd is. */
static const char *const run_claude_shells[] = { "bash", "zsh" };

/* claude, or node running a script of Claude Code's package. */
static int
run_is_claude(char *const *argv)
{
	if (strcmp(zmx_path_base(argv[0]), "claude") == 0)
		return 1;
	return strcmp(zmx_path_base(argv[0]), "node") == 0 && argv[1] != NULL &&
	    strstr(argv[1], "/@anthropic-ai/claude-code/") != NULL;
}

/* The rules that follow the user's when there is no profile. */
static int
run_defaults(struct run *run, int no_tmp, char *const *agent)
{
	const char *home = getenv("HOME");
	char h[PATH_MAX];
	size_t i;
	int r, claude = agent != NULL && run_is_claude(agent);

	/* A remote "/" would take the agent's own binary and libraries
	 * with it. */
	if (strcmp(run->workspace, "/") == 0) {
		zmx_cli_warn("run", "the workspace is /, which would make "
		    "every path remote; name one with -C");
		return ZMX_EXIT_USAGE;
	}
	if (home != NULL && home[0] == '/' &&
	    zmx_cli_path_norm(home, NULL, h, sizeof(h)) == 0 &&
	    zmx_cli_path_within(h, run->workspace))
		zmx_cli_warn("run", "warning: the workspace %s holds $HOME, "
		    "so the agent's own configuration there is remote too "
		    "(-L %s/.NAME keeps it local)", run->workspace, h);
	for (i = 0; i < sizeof(run_local_defaults) /
	    sizeof(run_local_defaults[0]); i++)
		if ((r = run_rule(run, "default rule",
		    run_local_defaults[i], NULL)) != 0)
			return r;
	/* Claude Code's scratch dir: the files its Bash tool's commands
	 * write their output to (it passes them as stdout, and the shell
	 * runs here), and its own git bookkeeping of edits */
	if (claude) {
		snprintf(h, sizeof(h), "/tmp/claude-%ld", (long)getuid());
		if ((r = run_rule(run, "default rule", h, NULL)) != 0)
			return r;
	}
	if ((r = run_rule(run, "workspace", run->workspace, "")) != 0)
		return r;
	if (!no_tmp && (r = run_rule(run, "default rule", "/tmp", "")) != 0)
		return r;
	if (claude)
		for (i = 0; i < sizeof(run_claude_shells) /
		    sizeof(run_claude_shells[0]); i++)
			if ((r = run_exec_rule(run, "default rule", 0,
			    run_claude_shells[i])) != 0)
				return r;
	return 0;
}

/* ---- the rest of the environment ----------------------------------- */

static int
run_is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, R_OK) == 0;
}

/* Finds libzmx.so: --lib, else $ZMX_LIB, else beside this program, else
 * in ../lib/zmx/ from it (the layout "make install" makes). Writes its
 * absolute path to out[PATH_MAX]. */
static int
run_lib(const char *arg, char *out)
{
	char self[PATH_MAX], try1[PATH_MAX + 16], try2[PATH_MAX + 32];
	const char *given = arg, *what = "--lib", *p;
	ssize_t n;

	if (given == NULL && (given = getenv("ZMX_LIB")) != NULL &&
	    *given != '\0')
		what = "ZMX_LIB";
	else if (given == NULL || *given == '\0')
		given = NULL;
	if (given != NULL) {
		if (realpath(given, out) == NULL) {
			zmx_cli_warn("run", "%s %s: %s", what, given,
			    strerror(errno));
			return ZMX_EXIT_USAGE;
		}
		if (!run_is_file(out)) {
			zmx_cli_warn("run", "%s %s: not a readable file",
			    what, given);
			return ZMX_EXIT_USAGE;
		}
	} else {
		if ((n = readlink("/proc/self/exe", self,
		    sizeof(self) - 1)) < 0) {
			zmx_cli_warn("run", "cannot find libzmx.so: "
			    "/proc/self/exe: %s; name it with --lib or "
			    "ZMX_LIB", strerror(errno));
			return ZMX_EXIT_USAGE;
		}
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		snprintf(try1, sizeof(try1), "%s/%s", self, RUN_LIB_NAME);
		snprintf(try2, sizeof(try2), "%s/../lib/zmx/%s", self,
		    RUN_LIB_NAME);
		if (!(run_is_file(try1) && realpath(try1, out) != NULL) &&
		    !(run_is_file(try2) && realpath(try2, out) != NULL)) {
			zmx_cli_warn("run", "cannot find libzmx.so (not at "
			    "%s nor %s); build it with make, or name it "
			    "with --lib or ZMX_LIB", try1, try2);
			return ZMX_EXIT_USAGE;
		}
	}
	/* ld.so splits LD_PRELOAD at blanks and colons. */
	for (p = out; *p != '\0'; p++)
		if (*p == ':' || isspace((unsigned char)*p)) {
			zmx_cli_warn("run", "%s: LD_PRELOAD cannot hold a "
			    "path with ':' or white space", out);
			return ZMX_EXIT_USAGE;
		}
	return 0;
}

/* LD_PRELOAD with lib first and the other entries kept, once each. */
static char *
run_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD"), *p, *e;
	size_t cap, n, len;
	char *s;

	cap = strlen(lib) + (old ? strlen(old) : 0) + 2;
	if ((s = malloc(cap)) == NULL)
		return NULL;
	len = strlen(lib);
	memcpy(s, lib, len + 1);
	for (p = old; p != NULL && *p != '\0'; p = e) {
		p += strspn(p, ": \t");
		e = p + strcspn(p, ": \t");
		if ((n = e - p) == 0 || (n == strlen(lib) &&
		    memcmp(p, lib, n) == 0))
			continue;
		s[len++] = ':';
		memcpy(s + len, p, n);
		s[len += n] = '\0';
	}
	return s;
}

/* A session token: 64 hex digits (ZMX_TOKEN_LEN bytes). */
static int
run_session(const char *arg, char *out)
{
	unsigned char tok[ZMX_TOKEN_LEN];
	size_t i;

	if (arg != NULL) {
		for (i = 0; arg[i] != '\0'; i++)
			if (!isxdigit((unsigned char)arg[i]))
				break;
		if (arg[i] != '\0' || i != 2 * ZMX_TOKEN_LEN) {
			zmx_cli_warn("run", "--session: expected %d hex "
			    "digits", 2 * ZMX_TOKEN_LEN);
			return ZMX_EXIT_USAGE;
		}
		for (i = 0; arg[i] != '\0'; i++)
			out[i] = tolower((unsigned char)arg[i]);
		out[i] = '\0';
		return 0;
	}
	if (sodium_init() < 0) {
		zmx_cli_warn("run", "libsodium failed to start");
		return ZMX_EXIT_USAGE;
	}
	randombytes_buf(tok, sizeof(tok));
	sodium_bin2hex(out, 2 * ZMX_TOKEN_LEN + 1, tok, sizeof(tok));
	return 0;
}

/* ---- the command ---------------------------------------------------- */

/* A -R or -L argument, kept in command-line order. */
struct run_arg {
	int		 remote;
	int		 exec;		/* a command rule */
	const char	*arg;
};

/* Adds NAME=VALUE pairs for everything the agent needs to run->env. */
static int
run_environment(struct run *run, const char *endpoint, const char *keyabs,
    const char *srvabs, const char *tok, int verbose, const char *lib)
{
	char *preload;

	run_env_set(run, "ZMX_ENDPOINT", endpoint);
	if (keyabs[0] != '\0') {
		run_env_set(run, "ZMX_KEY", keyabs);
		run_env_set(run, "ZMX_SERVER_KEY", srvabs);
	}
	run_env_set(run, "ZMX_SESSION", tok);
	run_env_set(run, "ZMX_CWD", run->workspace);
	run_env_set(run, "ZMX_POLICY", run->policy_text);
	if (verbose)
		run_env_set(run, "ZMX_LOG", verbose > 1 ? "debug" : "info");
	run_env_set(run, "ZMX_LIB", lib);
	if ((preload = run_preload(lib)) != NULL)
		run_env_set(run, "LD_PRELOAD", preload);
	else
		run->oom = 1;
	free(preload);
	/* libuv (inside node) would bypass libc through io_uring */
	run_env_set(run, "UV_USE_IO_URING", "0");
	/* shells trust $PWD when it names their cwd, as it does through
	 * the shim */
	run_env_set(run, "PWD", run->workspace);
	if (run->oom) {
		zmx_cli_warn("run", "out of memory");
		return ZMX_EXIT_USAGE;
	}
	return 0;
}

static int	run_exec(struct run *run, char **argv, int verbose);

/* Signals zmx run passes on to the agent when a process sent them (kill
 * -TERM of zmx run); those a terminal sends reach the agent anyway, as
 * it is in the same process group. One sent by the agent or a process
 * under it is not passed on: that is a kill of the group (kill 0) or of
 * its parent, and not meant to come back. */
static const int run_forwarded[] = {
	SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2,
};

/* The agent's status as zmx run's own: its exit code, or death by the
 * same signal (without a second core dump). */
static int
run_status(int st)
{
	struct rlimit nocore = { 0, 0 };
	sigset_t set;
	int sig;

	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	sig = WTERMSIG(st);
	(void)setrlimit(RLIMIT_CORE, &nocore);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	fflush(NULL);
	(void)kill(getpid(), sig);
	return 128 + sig;
}

/* Runs AGENT in a child and serves it as its session until it ends;
 * returns its status as ours (run_status), or env(1)'s code if it could
 * not be run. */
static int
run_spawn(struct run *run, char **argv, int verbose,
    struct zmx_session_cfg *cfg)
{
	sigset_t set, old;
	size_t i;
	pid_t pid;
	int st, lost = 0;

	if (zmx_session_open(cfg->dir) < 0)
		return ZMX_EXIT_USAGE;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (i = 0; i < sizeof(run_forwarded) / sizeof(run_forwarded[0]); i++)
		sigaddset(&set, run_forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	fflush(NULL);
	if ((pid = fork()) < 0) {
		zmx_cli_warn("run", "fork: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return ZMX_EXIT_USAGE;
	}
	if (pid == 0) {
		/* zmx run killed outright: the agent hears of it as of a
		 * hung-up terminal, rather than running on unwatched */
		(void)prctl(PR_SET_PDEATHSIG, SIGHUP);
		if (getppid() == 1)
			_exit(RUN_EXIT_NOEXEC);
		sigprocmask(SIG_SETMASK, &old, NULL);
		_exit(run_exec(run, argv, verbose));
	}
	st = zmx_session_serve(cfg, pid, 1, &set, &lost);
	zmx_session_rmdir(cfg->dir);
	/* an agent that did its work while its changes were lost has not
	 * done it: the recovery files are named above */
	if (lost > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return ZMX_EXIT_FAIL;
	return run_status(st);
}

/* Execs AGENT; returns only on failure, with env(1)'s exit code. */
static int
run_exec(struct run *run, char **argv, int verbose)
{
	char pid[24];
	struct stat st;
	int i, err;

	/* The real cwd follows the virtual one when it can, so that what
	 * the shim does not see (yet) still starts in the right place. */
	if (stat(run->workspace, &st) == 0 && S_ISDIR(st.st_mode) &&
	    chdir(run->workspace) < 0)
		zmx_cli_warn("run", "warning: chdir %s: %s", run->workspace,
		    strerror(errno));
	/* ZMX_PROFILE is folded into ZMX_POLICY already. */
	unsetenv("ZMX_PROFILE");
	for (i = 0; i < run->nenv; i++)
		if (setenv(run->env[i].name, run->env[i].value, 1) < 0) {
			zmx_cli_warn("run", "setenv %s: %s",
			    run->env[i].name, strerror(errno));
			return ZMX_EXIT_USAGE;
		}
	/* the agent's own process stays local through the execs that
	 * start it (a "#!/usr/bin/env node" line, a wrapper script) */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (setenv("ZMX_AGENT_PID", pid, 1) < 0) {
		zmx_cli_warn("run", "setenv ZMX_AGENT_PID: %s",
		    strerror(errno));
		return ZMX_EXIT_USAGE;
	}
	if (verbose)
		zmx_cli_warn("run", "%s in %s through %s", argv[0],
		    run->workspace, getenv("ZMX_ENDPOINT"));
	fflush(NULL);
	execvp(argv[0], argv);
	err = errno;
	zmx_cli_warn("run", "%s: %s", argv[0], strerror(err));
	return err == ENOENT ? RUN_EXIT_NOENT : RUN_EXIT_NOEXEC;
}

static int
run_main(int argc, char **argv)
{
	struct run run = { .nenv = 0 };
	struct run_arg *rules;
	const char *endpoint = NULL, *keyarg = NULL, *srvarg = NULL;
	const char *wsarg = NULL, *profile = NULL, *session = NULL;
	const char *libarg = NULL, *cookiearg = NULL;
	char base[PATH_MAX], keyabs[PATH_MAX], srvabs[PATH_MAX];
	char lib[PATH_MAX], tok[2 * ZMX_TOKEN_LEN + 1];
	static struct zmx_session_cfg cfg;
	const char *s;
	char cookie[PATH_MAX], cookieabs[PATH_MAX] = "";
	int ch, i, nrules = 0, no_tmp = 0, stats = 0, verbose = 0;
	int print_env = 0, r;

	if ((rules = calloc(argc, sizeof(*rules))) == NULL) {
		zmx_cli_warn("run", "out of memory");
		return ZMX_EXIT_USAGE;
	}
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:e:k:S:C:R:L:p:vh",
	    run_options, NULL)) != -1) {
		switch (ch) {
		case 'e':
			endpoint = optarg;
			break;
		case 'k':
			keyarg = optarg;
			break;
		case 'S':
			srvarg = optarg;
			break;
		case 'C':
			wsarg = optarg;
			break;
		case 'R':
		case 'L':
			rules[nrules].remote = ch == 'R';
			rules[nrules++].arg = optarg;
			break;
		case 'p':
			profile = optarg;
			break;
		case OPT_NO_TMP:
			no_tmp = 1;
			break;
		case OPT_STATS:
			stats = 1;
			break;
		case 'v':
			verbose++;
			break;
		case OPT_SESSION:
			session = optarg;
			break;
		case OPT_LIB:
			libarg = optarg;
			break;
		case OPT_COOKIE:
			cookiearg = optarg;
			break;
		case OPT_PRINT_ENV:
			print_env = 1;
			break;
		case OPT_LOCAL_CMD:
		case OPT_REMOTE_CMD:
		case OPT_LOCAL_CMDS:
			rules[nrules].exec = 1;
			rules[nrules].remote = ch == OPT_REMOTE_CMD;
			rules[nrules++].arg = ch == OPT_LOCAL_CMDS ? "*" :
			    optarg;
			break;
		case 'h':
			r = zmx_cli_help(&zmx_run_cmd);
			goto out;
		default:
			r = zmx_cli_bad_option(&zmx_run_cmd, ch, argv);
			goto out;
		}
	}
	if (optind == argc && !print_env) {
		r = zmx_cli_usage(&zmx_run_cmd, "no AGENT to run");
		goto out;
	}
	endpoint = zmx_cli_endpoint(endpoint);
	if (strstr(endpoint, "://") == NULL) {
		r = zmx_cli_usage(&zmx_run_cmd, "endpoint '%s' is not "
		    "TRANSPORT://ADDRESS (tcp://host:7400)", endpoint);
		goto out;
	}

	/* The workspace: made absolute by text alone, since it may exist
	 * only on the remote side. */
	if ((r = zmx_cli_cwd(base, sizeof(base))) < 0) {
		zmx_cli_warn("run", "the current directory: %s",
		    strerror(-r));
		r = ZMX_EXIT_USAGE;
		goto out;
	}
	if ((r = zmx_cli_path_norm(wsarg ? wsarg : base, base,
	    run.workspace, sizeof(run.workspace))) < 0) {
		zmx_cli_warn("run", "workspace %s: %s", wsarg ? wsarg : base,
		    strerror(-r));
		r = ZMX_EXIT_USAGE;
		goto out;
	}

	/* The policy: the user's rules, then a profile or the defaults.
	 * First match wins in the shim. */
	if ((run.policy = open_memstream(&run.policy_text,
	    &run.policy_len)) == NULL) {
		zmx_cli_warn("run", "out of memory");
		r = ZMX_EXIT_USAGE;
		goto out;
	}
	for (i = 0; i < nrules; i++) {
		if (rules[i].exec)
			r = run_exec_rule(&run, rules[i].remote ?
			    "--remote-command" : "--local-command",
			    rules[i].remote, rules[i].arg);
		else if (rules[i].remote)
			r = run_rule_remote(&run, rules[i].arg);
		else
			r = run_rule(&run, "-L", rules[i].arg, NULL);
		if (r != 0)
			goto out;
	}
	if (profile == NULL && (profile = getenv("ZMX_PROFILE")) != NULL &&
	    *profile == '\0')
		profile = NULL;
	if ((r = profile != NULL ? run_profile(&run, profile) :
	    run_defaults(&run, no_tmp, optind < argc ? argv + optind :
	    NULL)) != 0)
		goto out;
	if (fflush(run.policy) != 0) {
		zmx_cli_warn("run", "out of memory");
		r = ZMX_EXIT_USAGE;
		goto out;
	}

	if ((r = zmx_cli_keys(&zmx_run_cmd, keyarg, srvarg, keyabs, srvabs,
	    &cfg.kp, cfg.server_pub)) != 0 ||
	    (r = run_session(session, tok)) != 0 ||
	    (r = run_lib(libarg, lib)) != 0 ||
	    (r = run_environment(&run, endpoint, keyabs, srvabs, tok,
	    verbose, lib)) != 0)
		goto out;

	/* the cookie's path, absolute, for every process of the agent
	 * (one that changes its uid would look elsewhere by default) */
	if (keyabs[0] == '\0') {
		if (cookiearg != NULL && setenv("ZMX_COOKIE", cookiearg, 1) < 0)
			r = ZMX_EXIT_USAGE;
		else if (zmx_cookie_client_path(cookie, sizeof(cookie)) < 0 ||
		    zmx_cli_path_norm(cookie, base, cookieabs,
		    sizeof(cookieabs)) < 0)
			cookieabs[0] = '\0';
		if (cookieabs[0] != '\0')
			run_env_set(&run, "ZMX_COOKIE", cookieabs);
	}
	if (print_env) {
		for (i = 0; i < run.nenv; i++)
			printf("%s=%s\n", run.env[i].name, run.env[i].value);
		r = fflush(stdout) == 0 ? ZMX_EXIT_OK : ZMX_EXIT_FAIL;
		goto out;
	}
	if (zmx_session_mkdir(cfg.dir, sizeof(cfg.dir)) < 0) {
		r = ZMX_EXIT_USAGE;
		goto out;
	}
	run_env_set(&run, "ZMX_SESSION_DIR", cfg.dir);
	if (run.oom) {
		zmx_cli_warn("run", "out of memory");
		zmx_session_rmdir(cfg.dir);
		r = ZMX_EXIT_USAGE;
		goto out;
	}
	cfg.endpoint = endpoint;
	s = getenv("ZMX_STATS");
	cfg.stats = stats || (s != NULL && *s != '\0' && strcmp(s, "0") != 0);
	s = getenv("ZMX_TIMEOUT_MS");
	cfg.timeout_ms = s && atoi(s) > 0 ? atoi(s) : RUN_TIMEOUT_MS;
	(void)sodium_hex2bin(cfg.token, sizeof(cfg.token), tok, strlen(tok),
	    NULL, NULL, NULL);
	if (cfg.kp == NULL)
		cfg.cookie_len = zmx_cookie_client(cfg.cookie);
	r = run_spawn(&run, argv + optind, verbose, &cfg);
out:
	zmx_keys_free(cfg.kp);
	free(rules);
	run_free(&run);
	return r;
}

const struct zmx_cli_cmd zmx_run_cmd = {
	.name = "run",
	.summary = "run an agent here with its workspace on agentd",
	.usage = "zmx run [options] [--] AGENT [ARGS...]",
	.help =
"Runs AGENT with libzmx.so preloaded, so that its file operations under\n"
"the workspace (and /tmp) go to agentd. Rules are tried in order, the first\n"
"match wins, and a path no rule matches stays local.\n"
"\n"
"options:\n"
"  -C, --workspace DIR    the workspace and the agent's cwd; need not exist\n"
"                         here (default: the current directory)\n"
"  -e, --endpoint ENDPOINT  agentd's address (default: $ZMX_ENDPOINT,\n"
"                         else " ZMX_CLI_ENDPOINT ")\n"
"  -k, --key FILE         this client's secret key file (default: $ZMX_KEY)\n"
"  -S, --server-key FILE  agentd's public key file (default:\n"
"                         $ZMX_SERVER_KEY); -k and -S go together\n"
"  -R, --remote PREFIX[=REMOTE_PREFIX]\n"
"                         make PREFIX remote, at REMOTE_PREFIX on agentd's\n"
"                         side if given (repeatable; tried first)\n"
"  -L, --local PREFIX     keep PREFIX local (repeatable; tried first)\n"
"  -p, --profile FILE     rules from FILE instead of the defaults (default:\n"
"                         $ZMX_PROFILE); lines 'local PREFIX',\n"
"                         'remote PREFIX [REMOTE_PREFIX]' or 'exec local|\n"
"                         remote PROGRAM', '#' comments\n"
"      --no-tmp           keep /tmp local\n"
"      --local-command PROGRAM, --remote-command PROGRAM\n"
"                         run PROGRAM (a path, under which every program\n"
"                         goes, a name, or '*') locally, or remotely,\n"
"                         wherever the cwd is (repeatable; first match wins;\n"
"                         by default a command runs remotely when its cwd is\n"
"                         remote, and a program under a remote prefix always)\n"
"      --local-commands   every command runs locally (= --local-command '*')\n"
"      --stats            at exit, the session's round trips, requests per\n"
"                         type and bytes, every process counted (also\n"
"                         ZMX_STATS=1)\n"
"  -v, --verbose          the shim logs more: -v info, -vv debug\n"
"      --session TOKEN    join this session (64 hex digits; default: new)\n"
"      --lib PATH         the libzmx.so to preload (default: $ZMX_LIB, else\n"
"                         beside zmx, else ../lib/zmx/ from it)\n"
"      --cookie FILE      without keys: the cookie of agentd's user (default:\n"
"                         $ZMX_COOKIE, else agentd's default state\n"
"                         directory's)\n"
"      --print-env        print the variables it would set, NAME=VALUE\n"
"                         (ZMX_POLICY spans one line per rule), and exit\n"
"  -h, --help             this help\n"
"\n"
"default rules, after those of -R and -L:\n"
"  local /proc\n"
"  local /sys\n"
"  local /dev\n"
"  local /tmp/cc-socks\n"
"  local /tmp/claude-UID  (AGENT named claude, or node running Claude\n"
"                         Code's cli.js: its scratch dir)\n"
"  remote WORKSPACE\n"
"  remote /tmp            (not with --no-tmp)\n"
"  exec local bash        (the same: its Bash tool's shell)\n"
"  exec local zsh         (the same)\n"
"\n"
"zmx run waits for AGENT, passing on the signals another process sends it\n"
"(INT, QUIT, TERM, HUP, USR1, USR2). The session's processes share a private\n"
"directory, $ZMX_SESSION_DIR (in /dev/shm), removed when AGENT ends.\n"
"\n"
"exit status: AGENT's, or death by the signal AGENT died of; 2 for a usage\n"
"or set-up error, 126 if AGENT cannot be run, 127 if it is not found.\n",
	.main = run_main,
};
