/* zmx-session.c - "zmx session": a session process of its own, for a
 * program started as LD_PRELOAD=libzmx.so PROG without zmx run (the shim
 * starts one on first use). It prints its directory, goes to the
 * background and serves until the process it was started for is gone,
 * the processes that connected have left and every change is written
 * back (session.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "session.h"
#include "zmx-cli.h"

enum { OPT_FOR = 256, OPT_COOKIE, OPT_STATS };

static const struct option session_options[] = {
	{ "endpoint",	required_argument,	NULL, 'e' },
	{ "key",	required_argument,	NULL, 'k' },
	{ "server-key",	required_argument,	NULL, 'S' },
	{ "cookie",	required_argument,	NULL, OPT_COOKIE },
	{ "for",	required_argument,	NULL, OPT_FOR },
	{ "stats",	no_argument,		NULL, OPT_STATS },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 },
};

static int
session_main(int argc, char **argv)
{
	static struct zmx_session_cfg cfg;
	const char *keyarg = NULL, *srvarg = NULL, *s;
	char keyabs[PATH_MAX], srvabs[PATH_MAX];
	sigset_t set;
	long pid = (long)getppid();
	int ch, r, lost = 0, nul;

	opterr = 0;
	cfg.endpoint = NULL;
	while ((ch = getopt_long(argc, argv, "+:e:k:S:h", session_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'e':
			cfg.endpoint = optarg;
			break;
		case 'k':
			keyarg = optarg;
			break;
		case 'S':
			srvarg = optarg;
			break;
		case OPT_COOKIE:
			if (setenv("ZMX_COOKIE", optarg, 1) < 0)
				return ZMX_EXIT_USAGE;
			break;
		case OPT_FOR:
			if (zmx_cli_number(optarg, 1, INT_MAX, &pid) < 0)
				return zmx_cli_usage(&zmx_session_cmd,
				    "--for %s: not a process id", optarg);
			break;
		case OPT_STATS:
			cfg.stats = 1;
			break;
		case 'h':
			return zmx_cli_help(&zmx_session_cmd);
		default:
			return zmx_cli_bad_option(&zmx_session_cmd, ch, argv);
		}
	}
	if (optind != argc)
		return zmx_cli_usage(&zmx_session_cmd, "no arguments wanted");
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
		zmx_cli_warn("session", "--for %ld: no such process", pid);
		return ZMX_EXIT_USAGE;
	}
	cfg.endpoint = zmx_cli_endpoint(cfg.endpoint);
	if ((r = zmx_cli_keys(&zmx_session_cmd, keyarg, srvarg, keyabs,
	    srvabs, &cfg.kp, cfg.server_pub)) != 0)
		return r;
	if (sodium_init() < 0)
		return ZMX_EXIT_USAGE;
	randombytes_buf(cfg.token, sizeof(cfg.token));
	if (cfg.kp == NULL)
		cfg.cookie_len = zmx_cookie_client(cfg.cookie);
	s = getenv("ZMX_TIMEOUT_MS");
	cfg.timeout_ms = s && atoi(s) > 0 ? atoi(s) : 5000;
	if (zmx_session_mkdir(cfg.dir, sizeof(cfg.dir)) < 0 ||
	    zmx_session_open(cfg.dir) < 0) {
		zmx_session_rmdir(cfg.dir);
		return ZMX_EXIT_FAIL;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* the directory, once it listens, for whoever started us; then
	 * the background, out of the caller's process group and wait() */
	printf("%s\n", cfg.dir);
	if (fflush(stdout) != 0)
		return ZMX_EXIT_FAIL;
	switch (fork()) {
	case -1:
		zmx_cli_warn("session", "fork: %s", strerror(errno));
		return ZMX_EXIT_FAIL;
	case 0:
		break;
	default:
		_exit(ZMX_EXIT_OK);
	}
	(void)setsid();
	if ((nul = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		close(nul);
	}
	(void)zmx_session_serve(&cfg, (pid_t)pid, 0, &set, &lost);
	zmx_session_rmdir(cfg.dir);
	zmx_keys_free(cfg.kp);
	return lost > 0 ? ZMX_EXIT_FAIL : ZMX_EXIT_OK;
}

const struct zmx_cli_cmd zmx_session_cmd = {
	.name = "session",
	.summary = "a session process for a program preloaded without run",
	.usage = "zmx session [options]",
	.help =
"Starts a session process (what zmx run is beside its agent): it prints\n"
"its private directory (for ZMX_SESSION_DIR), goes to the background and\n"
"serves the processes that connect, until the process it is for has ended,\n"
"they have all left (or 3 s later) and every change is written back.\n"
"libzmx.so runs it by itself when a program is preloaded with ZMX_POLICY\n"
"set but no session (ZMX_SESSION_DIR unset).\n"
"\n"
"options:\n"
"  -e, --endpoint ENDPOINT  agentd's address (default: $ZMX_ENDPOINT,\n"
"                         else " ZMX_CLI_ENDPOINT ")\n"
"  -k, --key FILE         this client's secret key file (default: $ZMX_KEY)\n"
"  -S, --server-key FILE  agentd's public key file (default:\n"
"                         $ZMX_SERVER_KEY); -k and -S go together\n"
"      --cookie FILE      without keys: the cookie of agentd's user (default:\n"
"                         $ZMX_COOKIE, else agentd's default state\n"
"                         directory's)\n"
"      --for PID          the process it serves (default: its parent)\n"
"      --stats            the session's totals on stderr at its end\n"
"  -h, --help             this help\n"
"\n"
"exit status: 0 once the session has ended with every change written\n"
"back (the first process exits 0 as soon as the directory is printed);\n"
"1 if a change could not be written back (kept in a recovery file);\n"
"2 for a usage or set-up error.\n",
	.main = session_main,
};
