/* test_audit.c - audit lines split on spaces whatever the path holds:
 * escaping, and a real line written to a file. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "tap.h"

int
main(void)
{
	char out[64], path[] = "/tmp/zmx-test-audit-XXXXXX", line[1024];
	ssize_t n;
	int fd;

	zmx_audit_escape("/ws/a b%c=d\n\x7f\xc3\xa9", out, sizeof(out));
	is_str(out, "/ws/a%20b%25c%3Dd%0A%7F%C3%A9", "escapes");
	zmx_audit_escape("/ws/plain-name_1.c", out, sizeof(out));
	is_str(out, "/ws/plain-name_1.c", "plain paths unchanged");
	ok(zmx_audit_escape("     ", out, 8) == 6 && strcmp(out, "%20%20")
	    == 0, "cut at a whole escape");

	if ((fd = mkstemp(path)) < 0)
		return 99;
	close(fd);
	ok(zmx_audit_enabled() == 0, "off until opened");
	ok(zmx_audit_open(path) == 0 && zmx_audit_enabled(), "opened");
	zmx_audit_log("alice", "0123abcd", "rename", "/ws/a b", "/ws/c",
	    NULL, 0);
	zmx_audit_log("bob", NULL, "hello", NULL, NULL, "10.0.0.1", 1);
	zmx_audit_close();
	fd = open(path, O_RDONLY);
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	unlink(path);
	line[n > 0 ? n : 0] = '\0';
	ok(n > 0 && strstr(line, "Z key=alice session=0123abcd op=rename "
	    "path=/ws/a%20b to=/ws/c result=ok\n") != NULL, "a rename line");
	ok(strstr(line, "Z key=bob session=- op=hello peer=10.0.0.1 "
	    "result=EPERM\n") != NULL, "a refused hello line");
	ok(line[4] == '-' && line[10] == 'T' && line[26] == 'Z',
	    "ISO 8601 UTC time with microseconds");
	printf("# %s", line);
	return tap_done();
}
