/* zmx-cli.h - what the zmx subcommands (zmx-run.c, zmx-keygen.c,
 * zmx-ping.c) share with zmx.c and each other: the command table entry,
 * user-facing messages and exit codes, paths, keys and the endpoint. */
#ifndef ZMX_CLI_H
#define ZMX_CLI_H

#include <stddef.h>

#include "keys.h"

#define ZMX_CLI_ENDPOINT	"tcp://127.0.0.1:7400"

/* Exit codes every subcommand uses; run adds 126 and 127 (env(1)). */
#define ZMX_EXIT_OK		0
#define ZMX_EXIT_FAIL		1	/* the operation did not work */
#define ZMX_EXIT_USAGE		2	/* wrong arguments or set-up */

/* One subcommand. zmx.c collects these; usage is the first line of the
 * help text and help the rest (options), both printed by --help. */
struct zmx_cli_cmd {
	const char	*name;
	const char	*summary;	/* one line for "zmx --help" */
	const char	*usage;
	const char	*help;
	int		(*main)(int argc, char **argv);
};

extern const struct zmx_cli_cmd zmx_run_cmd;
extern const struct zmx_cli_cmd zmx_keygen_cmd;
extern const struct zmx_cli_cmd zmx_ping_cmd;
extern const struct zmx_cli_cmd zmx_session_cmd;

/* "zmx: CMD: message" on stderr. */
void	zmx_cli_warn(const char *cmd, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The same, then "try 'zmx CMD --help'"; returns ZMX_EXIT_USAGE. */
int	zmx_cli_usage(const struct zmx_cli_cmd *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* For getopt_long() with ':' first in optstring and opterr = 0: says
 * what was wrong with the option just read (ch is ':' or '?').
 * Returns ZMX_EXIT_USAGE. */
int	zmx_cli_bad_option(const struct zmx_cli_cmd *c, int ch, char **argv);
/* Prints c's usage and help to stdout; returns ZMX_EXIT_OK. */
int	zmx_cli_help(const struct zmx_cli_cmd *c);

/* Parses a decimal number in [min, max]. Returns 0 or -EINVAL. */
int	zmx_cli_number(const char *s, long min, long max, long *vp);

/* Makes path absolute against base (when relative) and removes "." and
 * ".." components, repeated and trailing slashes, without looking at the
 * file system: the path may exist only on the remote side. Writes at
 * most len bytes to out. Returns 0, -EINVAL if base is needed but not
 * absolute, or -ENAMETOOLONG. */
int	zmx_cli_path_norm(const char *path, const char *base, char *out,
	    size_t len);
/* Whether dir is path or one of its ancestors, by whole components;
 * both normalized. */
int	zmx_cli_path_within(const char *path, const char *dir);

/* The process's idea of its cwd: $PWD if absolute, else getcwd().
 * Returns 0 or -errno. */
int	zmx_cli_cwd(char *out, size_t len);

/* The endpoint: arg, else $ZMX_ENDPOINT, else ZMX_CLI_ENDPOINT. */
const char *zmx_cli_endpoint(const char *arg);

/* Client key files for a subcommand: the arguments, else $ZMX_KEY and
 * $ZMX_SERVER_KEY. Both or neither. Both files are read to check them
 * (a message naming the file on failure) and their absolute paths are
 * written to keyabs/srvabs (PATH_MAX bytes each; "" for neither). When
 * kpp and srvpub are not NULL the loaded client pair and the server's
 * public key (Z85, ZMX_Z85_LEN + 1 bytes) are returned too.
 * Returns 0 or ZMX_EXIT_USAGE after a message. */
int	zmx_cli_keys(const struct zmx_cli_cmd *c, const char *keyarg,
	    const char *srvarg, char *keyabs, char *srvabs,
	    struct zmx_keypair **kpp, char *srvpub);

#endif
