/* zmx-cli.c - helpers the zmx subcommands share (zmx-cli.h): messages in
 * the "zmx: CMD: what" form, numbers, lexical paths, the endpoint and the
 * client key files. Nothing here talks to agentd. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "path.h"
#include "zmx-cli.h"

void
zmx_cli_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (cmd != NULL)
		fprintf(stderr, "zmx: %s: ", cmd);
	else
		fprintf(stderr, "zmx: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
zmx_cli_usage(const struct zmx_cli_cmd *c, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "zmx: %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\ntry 'zmx %s --help'\n", c->usage,
	    c->name);
	return ZMX_EXIT_USAGE;
}

int
zmx_cli_bad_option(const struct zmx_cli_cmd *c, int ch, char **argv)
{
	const char *last = argv[optind - 1];
	char opt[3] = { '-', (char)optopt, '\0' };
	int n;

	/* getopt_long() leaves a bad long option in argv[optind - 1] and
	 * a bad short one in optopt. */
	if (strncmp(last, "--", 2) == 0) {
		n = (int)strcspn(last, "=");
		if (ch == ':')
			return zmx_cli_usage(c, "option %.*s needs an "
			    "argument", n, last);
		return zmx_cli_usage(c, "unknown option %.*s", n, last);
	}
	if (ch == ':')
		return zmx_cli_usage(c, "option %s needs an argument", opt);
	return zmx_cli_usage(c, "unknown option %s", opt);
}

int
zmx_cli_help(const struct zmx_cli_cmd *c)
{
	printf("usage: %s\n\n%s", c->usage, c->help);
	return ZMX_EXIT_OK;
}

int
zmx_cli_number(const char *s, long min, long max, long *vp)
{
	char *end;
	long v;

	*vp = 0;
	if (s == NULL || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*vp = v;
	return 0;
}

int
zmx_cli_path_norm(const char *path, const char *base, char *out, size_t len)
{
	int r;

	if (path[0] != '/' && (base == NULL || base[0] != '/'))
		return -EINVAL;
	/* one normaliser for the whole project: the shim's policy sees
	 * paths made by the same code */
	if ((r = zmx_path_join(base ? base : "/", path, out, len)) < 0) {
		if (len > 0)
			out[0] = '\0';
		return r;
	}
	return 0;
}

int
zmx_cli_path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

int
zmx_cli_cwd(char *out, size_t len)
{
	const char *pwd = getenv("PWD");

	/* $PWD keeps the path the user typed (through symlinks); a shell
	 * keeps it current, and getcwd() is the fallback without one. */
	if (pwd != NULL && pwd[0] == '/' &&
	    zmx_cli_path_norm(pwd, NULL, out, len) == 0)
		return 0;
	if (getcwd(out, len) == NULL)
		return -errno;
	return 0;
}

const char *
zmx_cli_endpoint(const char *arg)
{
	const char *e;

	if (arg != NULL)
		return arg;
	if ((e = getenv("ZMX_ENDPOINT")) != NULL && *e != '\0')
		return e;
	return ZMX_CLI_ENDPOINT;
}

/* An argument if given, else a non-empty environment variable. */
static const char *
arg_or_env(const char *arg, const char *name)
{
	const char *e;

	if (arg != NULL)
		return arg;
	if ((e = getenv(name)) != NULL && *e != '\0')
		return e;
	return NULL;
}

/* Loads one key file and writes its absolute path to abs[PATH_MAX]. */
static int
load_key(const struct zmx_cli_cmd *c, const char *what, const char *path,
    int need_secret, char *abs, struct zmx_keypair **kpp)
{
	char why[256];
	int r;

	if ((r = zmx_keys_load(path, need_secret, kpp, why,
	    sizeof(why))) < 0) {
		zmx_cli_warn(c->name, "%s %s: %s", what, path, why);
		return ZMX_EXIT_USAGE;
	}
	if (realpath(path, abs) == NULL) {
		zmx_cli_warn(c->name, "%s %s: %s", what, path,
		    strerror(errno));
		zmx_keys_free(*kpp);
		*kpp = NULL;
		return ZMX_EXIT_USAGE;
	}
	return 0;
}

int
zmx_cli_keys(const struct zmx_cli_cmd *c, const char *keyarg,
    const char *srvarg, char *keyabs, char *srvabs,
    struct zmx_keypair **kpp, char *srvpub)
{
	struct zmx_keypair *kp = NULL, *sp = NULL;
	const char *key, *srv;
	int r;

	keyabs[0] = srvabs[0] = '\0';
	if (kpp != NULL)
		*kpp = NULL;
	if (srvpub != NULL)
		srvpub[0] = '\0';
	key = arg_or_env(keyarg, "ZMX_KEY");
	srv = arg_or_env(srvarg, "ZMX_SERVER_KEY");
	if (key == NULL && srv == NULL)
		return 0;
	if (key == NULL) {
		zmx_cli_warn(c->name, "a server key (-S, ZMX_SERVER_KEY) "
		    "needs a client key (-k, ZMX_KEY) to go with it");
		return ZMX_EXIT_USAGE;
	}
	if (srv == NULL) {
		zmx_cli_warn(c->name, "a client key (-k, ZMX_KEY) needs the "
		    "server's public key (-S, ZMX_SERVER_KEY) to go with it");
		return ZMX_EXIT_USAGE;
	}
	if ((r = load_key(c, "key file", key, 1, keyabs, &kp)) != 0 ||
	    (r = load_key(c, "server key file", srv, 0, srvabs, &sp)) != 0)
		goto out;
	if (srvpub != NULL)
		memcpy(srvpub, sp->public, ZMX_Z85_LEN + 1);
	if (kpp != NULL) {
		*kpp = kp;
		kp = NULL;
	}
	r = 0;
out:
	if (r != 0)
		keyabs[0] = srvabs[0] = '\0';
	zmx_keys_free(kp);
	zmx_keys_free(sp);
	return r;
}
