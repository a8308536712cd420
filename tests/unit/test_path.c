/* test_path.c - lexical normalisation: what the policy sees must be what
 * the kernel would resolve without symlinks. */
#include <errno.h>
#include <limits.h>

#include "path.h"
#include "tap.h"

static void
join(const char *base, const char *rel, const char *want)
{
	char out[PATH_MAX];
	int r = zmx_path_join(base, rel, out, sizeof(out));

	ok(r == (int)strlen(want), "join('%s', '%s') length", base, rel);
	is_str(out, want, "join('%s', '%s') = '%s'", base, rel, want);
}

int
main(void)
{
	char small[8], big[PATH_MAX + 10];

	join("/", "/ws/a.c", "/ws/a.c");
	join("/ws", "a.c", "/ws/a.c");
	join("/ws/", "./a//b/", "/ws/a/b");
	join("/ws/sub", "../a.c", "/ws/a.c");
	join("/ws", "../../../etc/passwd", "/etc/passwd");
	join("/ws", "/ws/../etc", "/etc");
	join("/", "..", "/");
	join("/ws", ".", "/ws");
	join("/ws", "", "/ws");
	join("/ws", "a/./b/../c", "/ws/a/c");
	join("/", "/...", "/...");
	join("/", "/a/..b/.c", "/a/..b/.c");

	ok(zmx_path_join("/", "/toolong/path", small, sizeof(small)) ==
	    -ENAMETOOLONG, "too long for the buffer: ENAMETOOLONG");
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	ok(zmx_path_join("/", big, (char[PATH_MAX]){ 0 }, PATH_MAX) ==
	    -ENAMETOOLONG, "longer than PATH_MAX: ENAMETOOLONG");

	ok(zmx_path_is_normal("/"), "'/' is normal");
	ok(zmx_path_is_normal("/ws/a.c"), "'/ws/a.c' is normal");
	ok(zmx_path_is_normal("/ws/.hidden/..x"), "dot names are normal");
	ok(!zmx_path_is_normal("/ws/"), "trailing slash is not");
	ok(!zmx_path_is_normal("/ws//a"), "double slash is not");
	ok(!zmx_path_is_normal("/ws/./a"), "'.' is not");
	ok(!zmx_path_is_normal("/ws/.."), "'..' is not");
	ok(!zmx_path_is_normal("ws"), "relative is not");

	is_str(zmx_path_base("/ws/a.c"), "a.c", "base of /ws/a.c");
	is_str(zmx_path_base("/"), "", "base of /");
	return tap_done();
}
