/* zmx-keygen.c - "zmx keygen": makes a CURVE key pair, writes BASE.key
 * (0600, both halves) and BASE.pub, and prints the public key with the
 * line that lets it into agentd's authorized-keys file. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "zmx-cli.h"

#define KEYGEN_BASE	"zmx"

static const struct option keygen_options[] = {
	{ "output",	required_argument,	NULL, 'o' },
	{ "force",	no_argument,		NULL, 'f' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 },
};

/* Whether name ends in suffix. */
static int
keygen_ends(const char *name, size_t n, const char *suffix)
{
	size_t s = strlen(suffix);

	return n > s && strcmp(name + n - s, suffix) == 0;
}

static int
keygen_main(int argc, char **argv)
{
	struct zmx_keypair *kp = NULL;
	const char *arg = KEYGEN_BASE;
	char base[PATH_MAX], key[PATH_MAX + 4], pub[PATH_MAX + 4];
	size_t n;
	int ch, force = 0, r, made = 0;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:o:fh", keygen_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'o':
			arg = optarg;
			break;
		case 'f':
			force = 1;
			break;
		case 'h':
			return zmx_cli_help(&zmx_keygen_cmd);
		default:
			return zmx_cli_bad_option(&zmx_keygen_cmd, ch, argv);
		}
	}
	if (optind < argc)
		return zmx_cli_usage(&zmx_keygen_cmd, "unexpected argument "
		    "'%s'", argv[optind]);

	/* "-o client.key" means BASE "client", not "client.key.key". */
	n = strlen(arg);
	if (keygen_ends(arg, n, ".key") || keygen_ends(arg, n, ".pub"))
		n -= 4;
	if (n == 0 || n >= sizeof(base) || arg[n - 1] == '/')
		return zmx_cli_usage(&zmx_keygen_cmd, "-o %s: not a file "
		    "name", arg);
	memcpy(base, arg, n);
	base[n] = '\0';
	snprintf(key, sizeof(key), "%s.key", base);
	snprintf(pub, sizeof(pub), "%s.pub", base);

	if (!force) {
		if (access(key, F_OK) == 0 || access(pub, F_OK) == 0) {
			zmx_cli_warn("keygen", "%s exists; --force replaces "
			    "it", access(key, F_OK) == 0 ? key : pub);
			return ZMX_EXIT_FAIL;
		}
	} else if ((unlink(key) < 0 && errno != ENOENT) ||
	    (unlink(pub) < 0 && errno != ENOENT)) {
		zmx_cli_warn("keygen", "cannot replace %s: %s", base,
		    strerror(errno));
		return ZMX_EXIT_FAIL;
	}

	if ((kp = zmx_keys_generate()) == NULL) {
		zmx_cli_warn("keygen", "cannot make a key pair (is libzmq "
		    "built with CURVE?)");
		r = ZMX_EXIT_FAIL;
		goto out;
	}
	if ((r = zmx_keys_save(kp, base)) < 0) {
		/* BASE.key may be written while BASE.pub failed. */
		made = access(key, F_OK) == 0 && access(pub, F_OK) != 0;
		zmx_cli_warn("keygen", "writing %s: %s", made ? pub : key,
		    strerror(-r));
		if (made)
			unlink(key);
		r = ZMX_EXIT_FAIL;
		goto out;
	}
	printf("%s\n", kp->public);
	printf("\nwrote %s (secret, mode 0600) and %s (public)\n", key, pub);
	printf("for agentd's authorized-keys file (set the workspace and a "
	    "name):\n%s root=/path/to/workspace,rw NAME\n", kp->public);
	r = fflush(stdout) == 0 ? ZMX_EXIT_OK : ZMX_EXIT_FAIL;
out:
	zmx_keys_free(kp);
	return r;
}

const struct zmx_cli_cmd zmx_keygen_cmd = {
	.name = "keygen",
	.summary = "make a CURVE key pair for zmx or agentd",
	.usage = "zmx keygen [-o BASE] [--force]",
	.help =
"Writes BASE.key (public and secret halves, mode 0600) and BASE.pub, then\n"
"prints the public key on the first line of output and a line for\n"
"agentd's authorized-keys file. The same pair serves either side: a\n"
"client's BASE.key goes with zmx -k, a server's BASE.pub with zmx -S.\n"
"\n"
"options:\n"
"  -o, --output BASE  where to write (default: ./" KEYGEN_BASE "; a trailing\n"
"                     .key or .pub is dropped)\n"
"  -f, --force        replace existing files\n"
"  -h, --help         this help\n"
"\n"
"exit status: 0 when both files are written, 1 if they exist (without\n"
"--force) or cannot be written, 2 for a usage error.\n",
	.main = keygen_main,
};
