/* test_uprec.c - upload records: what format writes, parse reads back
 * whatever bytes the directory holds; parse refuses what is not a
 * record, and never a name that is not a temp file's; and a real state
 * directory: a record left by a "killed" agentd removes its temp file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "uprec.h"

static int
roundtrip(const char *dir, const char *tmp)
{
	char buf[3 * PATH_MAX + NAME_MAX + 4], d[PATH_MAX], t[NAME_MAX + 1];
	int n;

	if ((n = zmx_uprec_format(dir, tmp, buf, sizeof(buf))) < 0 ||
	    zmx_uprec_parse(buf, (size_t)n, d, t) < 0)
		return 0;
	return strcmp(d, dir) == 0 && strcmp(t, tmp) == 0;
}

static int
parses(const char *text)
{
	char d[PATH_MAX], t[NAME_MAX + 1];

	return zmx_uprec_parse(text, strlen(text), d, t) == 0;
}

int
main(void)
{
	char base[] = "/var/tmp/zmx-test-uprec-XXXXXX", p[PATH_MAX + 64];
	char state[PATH_MAX], why[256], name[ZMX_UPREC_NAME];
	struct stat st;
	int dfd, fd;

	ok(zmx_uprec_is_temp(".a.c.zmx-Ab12Cd"), "a temp file's name");
	ok(!zmx_uprec_is_temp("a.c"), "a plain name is not");
	ok(!zmx_uprec_is_temp(".a.c.zmx-Ab12C!"), "nor a bad suffix");
	ok(!zmx_uprec_is_temp(".x/.zmx-Ab12Cd"), "nor one with a slash");

	ok(roundtrip("/ws/src", ".main.c.zmx-abcdef"), "a plain record");
	ok(roundtrip("/ws/a b\n%c\x7f\xc3\xa9", ".f.zmx-ABCDEF"),
	    "spaces, newlines, %%, DEL and UTF-8 in the directory");
	ok(roundtrip("/ws", ".a\nb %.zmx-ABCDEF"),
	    "a newline and a %% in the temp file's name");
	ok(!parses("/ws\n.a.zmx-abcdef"), "no final newline: refused");
	ok(!parses("/ws\n.a.zmx-abcdef\nmore\n"), "more after it: refused");
	ok(!parses("ws\n.a.zmx-abcdef\n"), "a relative directory: refused");
	ok(!parses("/ws\n/etc/passwd\n"), "a name that is no temp file: refused");
	ok(!parses("/ws\n..\n"), "..: refused");
	ok(!parses("/w%00s\n.a.zmx-abcdef\n"), "an escaped NUL: refused");
	ok(!parses("/w%4\n.a.zmx-abcdef\n"), "a cut escape: refused");
	ok(!parses(""), "nothing: refused");

	/* a state directory with a record left behind */
	if (mkdtemp(base) == NULL)
		return 99;
	snprintf(state, sizeof(state), "%s/state", base);
	snprintf(p, sizeof(p), "%s/.t.zmx-Qw3rty", base);
	if ((fd = open(p, O_WRONLY | O_CREAT, 0600)) < 0)
		return 99;
	close(fd);
	ok(zmx_uprec_open(state, why, sizeof(why)) == 0, "state dir opened");
	dfd = open(base, O_PATH | O_DIRECTORY);
	ok(zmx_uprec_add(dfd, ".t.zmx-Qw3rty", name, sizeof(name)) == 0 &&
	    name[0] != '\0', "a record added");
	ok(zmx_uprec_open(state, why, sizeof(why)) == -EWOULDBLOCK &&
	    strstr(why, "in use by another agentd") != NULL,
	    "a second opener is refused: %s", why);
	zmx_uprec_close();		/* as if killed: the record stays */
	ok(stat(p, &st) == 0, "the temp file is still there");
	ok(zmx_uprec_open(state, why, sizeof(why)) == 0, "opened again");
	ok(stat(p, &st) < 0 && errno == ENOENT, "and the temp file is gone");
	snprintf(p, sizeof(p), "%s/uploads/%s", state, name);
	ok(stat(p, &st) < 0 && errno == ENOENT, "so is its record");
	zmx_uprec_close();
	close(dfd);
	snprintf(p, sizeof(p), "rm -rf '%s'", base);
	if (system(p) != 0)
		return 99;
	return tap_done();
}
