/* zmx.c - the command a user types: finds the subcommand in the table
 * and runs it; answers --help and --version. The subcommands live in
 * zmx-run.c, zmx-keygen.c and zmx-ping.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "zmx-cli.h"

/* The subcommands, in the order "zmx --help" lists them. */
static const struct zmx_cli_cmd *const commands[] = {
	&zmx_run_cmd,
	&zmx_keygen_cmd,
	&zmx_ping_cmd,
	&zmx_session_cmd,
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: zmx [--help | --version] COMMAND [ARGS...]\n\n"
	    "Runs a coding agent here with its files and commands on another "
	    "machine,\nwhere agentd serves them.\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i]->name,
		    commands[i]->summary);
	fprintf(f, "  %-8s %s\n", "help", "help on a command");
	fprintf(f, "\n'zmx COMMAND --help' says more; see also zmx(1).\n");
}

static const struct zmx_cli_cmd *
find(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct zmx_cli_cmd *c;

	zmx_log_init("zmx", NULL);
	if (argc < 2) {
		usage(stderr);
		return ZMX_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return ZMX_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "-V") == 0) {
		printf("zmx %s (protocol %d)\n", ZMX_VERSION,
		    ZMX_PROTO_VERSION);
		return ZMX_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			usage(stdout);
			return ZMX_EXIT_OK;
		}
		if ((c = find(argv[2])) == NULL) {
			zmx_cli_warn(NULL, "no command '%s'", argv[2]);
			return ZMX_EXIT_USAGE;
		}
		return zmx_cli_help(c);
	}
	if ((c = find(argv[1])) == NULL) {
		zmx_cli_warn(NULL, "no command '%s'; try 'zmx --help'",
		    argv[1]);
		return ZMX_EXIT_USAGE;
	}
	/* The subcommand sees argv[0] = its name, as getopt expects. */
	return c->main(argc - 1, argv + 1);
}
