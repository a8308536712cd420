/* test_scope.c - scope.c keeps every path beneath the root: "..",
 * absolute and relative symlinks out, /proc magic links, long names and
 * a symlink swapped in mid-walk are refused, normal paths work; run
 * once with openat2 and once with the userspace walk. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scope.h"
#include "tap.h"

static char top[128];	/* the test's temp dir: top/ws is the root */
static char wsroot[160];

static void
mkfile(const char *rel, const char *text)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
		perror(p);
		exit(99);
	}
	if (write(fd, text, strlen(text)) < 0)
		exit(99);
	close(fd);
}

static void
mkd(const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (mkdir(p, 0755) < 0 && errno != EEXIST) {
		perror(p);
		exit(99);
	}
}

static void
mkln(const char *target, const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	unlink(p);
	if (symlink(target, p) < 0) {
		perror(p);
		exit(99);
	}
}

/* "/<top>/ws" + rel */
static const char *
wp(const char *rel)
{
	static char buf[4][PATH_MAX * 2];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", wsroot, rel);
	return buf[i];
}

/* Opens and reads the first line; "" on failure, errno in *errp. */
static const char *
slurp(const struct zmx_scope *s, const char *path, int flags, int *errp)
{
	static char buf[256];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	*errp = 0;
	if ((fd = zmx_scope_open(s, path, flags, 0644)) < 0) {
		*errp = -fd;
		return buf;
	}
	if ((n = read(fd, buf, sizeof(buf) - 1)) < 0)
		n = 0;
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void
refused(const struct zmx_scope *s, const char *path, int flags, int want,
    const char *why)
{
	int fd = zmx_scope_open(s, path, flags, 0644);

	ok(fd == -want, "%s: %s refused with %s", why, path, strerror(want));
	if (fd >= 0) {
		printf("#   got fd %d\n", fd);
		close(fd);
	} else if (fd != -want)
		printf("#   got %s\n", strerror(-fd));
}

static void
works(const struct zmx_scope *s, const char *path, const char *want,
    const char *why)
{
	int err;
	const char *got = slurp(s, path, O_RDONLY, &err);

	ok(err == 0 && strcmp(got, want) == 0, "%s: %s reads '%s'", why, path,
	    want);
	if (err)
		printf("#   error %s\n", strerror(err));
}

static int
exists(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	return lstat(p, &st) == 0;
}

/* ---- the race: ws/race flips between a directory and a symlink out */

static volatile int race_stop;

static void *
race_flipper(void *arg)
{
	char dir[PATH_MAX], tmp[PATH_MAX], lnk[PATH_MAX];

	(void)arg;
	snprintf(dir, sizeof(dir), "%s/ws/race", top);
	snprintf(tmp, sizeof(tmp), "%s/ws/race.dir", top);
	snprintf(lnk, sizeof(lnk), "%s/ws/race.lnk", top);
	while (!race_stop) {
		/* race is a directory (race.lnk waits beside it)... */
		rename(dir, tmp);
		rename(lnk, dir);	/* ...now a symlink to outdir */
		rename(dir, lnk);
		rename(tmp, dir);
	}
	return NULL;
}

static void
race_test(const struct zmx_scope *s, const char *mode)
{
	char lnk[PATH_MAX], out[PATH_MAX];
	pthread_t t;
	int i, in = 0, outside = 0, err;
	const char *got;

	mkd("ws/race");
	mkfile("ws/race/f", "IN");
	snprintf(lnk, sizeof(lnk), "%s/ws/race.lnk", top);
	snprintf(out, sizeof(out), "%s/outdir", top);
	unlink(lnk);
	if (symlink(out, lnk) < 0)
		exit(99);
	race_stop = 0;
	pthread_create(&t, NULL, race_flipper, NULL);
	for (i = 0; i < 20000; i++) {
		got = slurp(s, wp("/race/f"), O_RDONLY, &err);
		if (strcmp(got, "IN") == 0)
			in++;
		else if (strcmp(got, "OUT") == 0)
			outside++;
	}
	race_stop = 1;
	pthread_join(t, NULL);
	ok(outside == 0, "%s: a symlink swapped in mid-walk never leads out "
	    "(%d reads inside, %d outside of 20000)", mode, in, outside);
}

static void
escapes(const char *mode)
{
	struct zmx_scope s;
	char name[NAME_MAX + 1], buf[PATH_MAX * 2], where[PATH_MAX];
	struct stat st;
	int fd, slash, r;

	ok(zmx_scope_init(&s, wsroot) == 0, "%s: init %s", mode, wsroot);

	/* normal paths */
	works(&s, wp("/a.txt"), "A", mode);
	works(&s, wp("/sub/b.txt"), "B", mode);
	snprintf(buf, sizeof(buf), "/%s//sub///b.txt", wsroot);
	works(&s, buf, "B", "duplicate slashes");
	works(&s, wp("/sub/../a.txt"), "A", ".. that stays inside");
	works(&s, wp("/./sub/./b.txt"), "B", ". components");
	works(&s, wp("/lnk_in"), "B", "relative symlink inside");
	works(&s, wp("/sub/up/a.txt"), "A", "symlink to .. inside");
	works(&s, wp("/sublink/b.txt"), "B", "symlink to a directory inside");
	works(&s, wp("/chain1"), "B", "a chain of symlinks inside");
	fd = zmx_scope_open(&s, wsroot, O_RDONLY | O_DIRECTORY, 0);
	ok(fd >= 0, "%s: the root itself opens", mode);
	if (fd >= 0)
		close(fd);
	fd = zmx_scope_open(&s, wp("/"), O_PATH, 0);
	ok(fd >= 0, "%s: the root with a trailing slash opens", mode);
	if (fd >= 0)
		close(fd);

	/* outside lexically */
	refused(&s, "relative/a.txt", O_RDONLY, EACCES, "relative path");
	refused(&s, "", O_RDONLY, ENOENT, "empty path");
	snprintf(buf, sizeof(buf), "%s2/a.txt", wsroot);
	refused(&s, buf, O_RDONLY, EACCES, "sibling with the root as prefix");
	refused(&s, top, O_RDONLY, EACCES, "the root's parent");
	refused(&s, "/etc/passwd", O_RDONLY, EACCES, "elsewhere");

	/* "..", symlinks */
	refused(&s, wp("/../secret"), O_RDONLY, EXDEV, "..");
	refused(&s, wp("/sub/../../secret"), O_RDONLY, EXDEV, "../..");
	refused(&s, wp("/.."), O_RDONLY, EXDEV, "final ..");
	refused(&s, wp("/lnk_abs"), O_RDONLY, EXDEV, "absolute symlink out");
	refused(&s, wp("/lnk_abs_in"), O_RDONLY, EXDEV,
	    "absolute symlink, even one pointing inside");
	refused(&s, wp("/lnk_rel_out"), O_RDONLY, EXDEV,
	    "relative symlink out");
	refused(&s, wp("/sub/upup/secret"), O_RDONLY, EXDEV,
	    "symlink to ../.. from a subdirectory");
	refused(&s, wp("/lnk_dir_out/x"), O_RDONLY, EXDEV,
	    "symlink out as a middle component");
	refused(&s, wp("/proc_root/etc/hostname"), O_RDONLY, EXDEV,
	    "symlink to /proc/self/root");
	refused(&s, wp("/loop"), O_RDONLY, ELOOP, "symlink loop");
	refused(&s, wp("/lnk_in"), O_RDONLY | O_NOFOLLOW, ELOOP,
	    "O_NOFOLLOW on a symlink");
	fd = zmx_scope_open(&s, wp("/lnk_abs"), O_PATH | O_NOFOLLOW, 0);
	ok(fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode),
	    "%s: O_PATH|O_NOFOLLOW gets the symlink itself", mode);
	if (fd >= 0)
		close(fd);

	/* creating through a dangling symlink out creates nothing */
	refused(&s, wp("/dang_abs"), O_WRONLY | O_CREAT, EXDEV,
	    "O_CREAT through an absolute dangling symlink");
	ok(!exists("created_abs"), "%s: nothing created outside", mode);
	refused(&s, wp("/dang_rel"), O_WRONLY | O_CREAT, EXDEV,
	    "O_CREAT through a relative dangling symlink");
	ok(!exists("created_rel"), "%s: nothing created outside", mode);
	fd = zmx_scope_open(&s, wp("/new.txt"), O_WRONLY | O_CREAT | O_EXCL,
	    0600);
	ok(fd >= 0 && exists("ws/new.txt"), "%s: O_CREAT inside works", mode);
	if (fd >= 0)
		close(fd);
	unlink(wp("/new.txt"));
	refused(&s, wp("/a.txt"), O_WRONLY | O_CREAT | O_EXCL, EEXIST,
	    "O_EXCL on an existing file");

	/* lengths */
	memset(name, 'n', NAME_MAX);
	name[NAME_MAX] = '\0';
	snprintf(buf, sizeof(buf), "%s/%sX", wsroot, name);
	refused(&s, buf, O_RDONLY, ENAMETOOLONG, "a name over NAME_MAX");
	snprintf(buf, sizeof(buf), "%s", wsroot);
	while (strlen(buf) < PATH_MAX + 10)
		strcat(buf, "/sub/..");
	refused(&s, buf, O_RDONLY, ENAMETOOLONG, "a path over PATH_MAX");

	/* final components */
	fd = zmx_scope_parent(&s, wp("/sub/b.txt"), name, &slash);
	ok(fd >= 0 && strcmp(name, "b.txt") == 0 && !slash &&
	    fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_size == 1, "%s: parent of sub/b.txt", mode);
	if (fd >= 0)
		close(fd);
	fd = zmx_scope_parent(&s, wp("/newdir/"), name, &slash);
	ok(fd >= 0 && strcmp(name, "newdir") == 0 && slash,
	    "%s: parent of newdir/ notes the slash", mode);
	if (fd >= 0)
		close(fd);
	fd = zmx_scope_parent(&s, wp("/sublink/b.txt"), name, NULL);
	ok(fd >= 0, "%s: parent through a symlink inside", mode);
	if (fd >= 0)
		close(fd);
	r = zmx_scope_parent(&s, wsroot, name, NULL);
	ok(r == -EBUSY, "%s: the root has no parent (%d)", mode, r);
	r = zmx_scope_parent(&s, wp("/sub/.."), name, NULL);
	ok(r == -EINVAL, "%s: last component .. refused (%d)", mode, r);
	r = zmx_scope_parent(&s, wp("/sub/."), name, NULL);
	ok(r == -EINVAL, "%s: last component . refused (%d)", mode, r);
	r = zmx_scope_parent(&s, wp("/lnk_dir_out/x"), name, NULL);
	ok(r == -EXDEV, "%s: parent through a symlink out (%d)", mode, r);
	r = zmx_scope_parent(&s, wp("/../secret"), name, NULL);
	ok(r == -EXDEV, "%s: parent .. out (%d)", mode, r);
	memset(buf, 0, sizeof(buf));
	memset(name, 'n', NAME_MAX);
	snprintf(buf, sizeof(buf), "%s/%.*sX", wsroot, NAME_MAX, name);
	r = zmx_scope_parent(&s, buf, name, NULL);
	ok(r == -ENAMETOOLONG, "%s: last name over NAME_MAX (%d)", mode, r);
	r = zmx_scope_parent(&s, "/etc/passwd", name, NULL);
	ok(r == -EACCES, "%s: parent elsewhere (%d)", mode, r);
	/* unlinking a symlink out removes the link, not its target */
	fd = zmx_scope_parent(&s, wp("/lnk_abs"), name, NULL);
	ok(fd >= 0 && unlinkat(fd, name, 0) == 0 && exists("secret") &&
	    !exists("ws/lnk_abs"), "%s: unlink of a symlink out", mode);
	if (fd >= 0)
		close(fd);
	snprintf(buf, sizeof(buf), "%s/secret", top);
	mkln(buf, "ws/lnk_abs");

	/* where: the wire path of an fd */
	fd = zmx_scope_open(&s, wp("/lnk_in"), O_PATH, 0);
	r = fd >= 0 ? zmx_scope_where(&s, fd, where, sizeof(where)) : fd;
	snprintf(buf, sizeof(buf), "%s/sub/b.txt", wsroot);
	ok(r > 0 && strcmp(where, buf) == 0, "%s: where lnk_in is", mode);
	if (fd >= 0)
		close(fd);

	race_test(&s, mode);
	zmx_scope_fini(&s);

	/* a root reached through a symlink keeps its configured name */
	snprintf(buf, sizeof(buf), "%s/wsalias", top);
	ok(zmx_scope_init(&s, buf) == 0, "%s: init through a symlink", mode);
	fd = zmx_scope_open(&s, strcat(buf, "/sub/b.txt"), O_PATH, 0);
	r = fd >= 0 ? zmx_scope_where(&s, fd, where, sizeof(where)) : fd;
	ok(r > 0 && strcmp(where, buf) == 0, "%s: where says %s (%s)", mode,
	    buf, r > 0 ? where : strerror(-r));
	if (fd >= 0)
		close(fd);
	zmx_scope_fini(&s);

	/* root "/" */
	ok(zmx_scope_init(&s, "/") == 0, "%s: init /", mode);
	snprintf(buf, sizeof(buf), "%s/secret", top);
	works(&s, buf, "SECRET", "root /: any absolute path");
	works(&s, wp("/lnk_abs"), "SECRET", "root /: absolute symlinks work");
	snprintf(buf, sizeof(buf), "/../../..%s/a.txt", wsroot);
	works(&s, buf, "A", "root /: .. stops at /");
	if (!zmx_scope_no_openat2) {
		refused(&s, "/proc/self/root/etc/hostname", O_RDONLY, ELOOP,
		    "root /: /proc/self/root is a magic link");
		fd = open("/etc/hostname", O_RDONLY);
		snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
		refused(&s, buf, O_RDONLY, ELOOP,
		    "root /: /proc/self/fd/N is a magic link");
		close(fd);
	} else {
		/* The walk reads a magic link as text and resolves that
		 * beneath the root: at "/" it lands where it says. */
		fd = zmx_scope_open(&s, "/proc/self/root/etc/hostname",
		    O_RDONLY, 0);
		r = open("/etc/hostname", O_RDONLY);
		ok(fd >= 0 && r >= 0, "%s: /proc/self/root read as text", mode);
		close(fd);
		close(r);
	}
	fd = zmx_scope_parent(&s, "/", name, NULL);
	ok(fd == -EBUSY, "%s: root /: / has no parent", mode);
	fd = zmx_scope_parent(&s, "/etc", name, NULL);
	ok(fd >= 0 && strcmp(name, "etc") == 0, "%s: root /: parent of /etc",
	    mode);
	if (fd >= 0)
		close(fd);
	zmx_scope_fini(&s);
}

int
main(void)
{
	struct zmx_scope s;
	char rel[PATH_MAX], buf[PATH_MAX];

	snprintf(top, sizeof(top), "/tmp/zmx-test-scope-XXXXXX");
	if (mkdtemp(top) == NULL)
		return 99;
	snprintf(wsroot, sizeof(wsroot), "%s/ws", top);
	mkd("ws");
	mkd("ws/sub");
	mkd("outdir");
	mkfile("ws/a.txt", "A");
	mkfile("ws/sub/b.txt", "B");
	mkfile("secret", "SECRET");
	mkfile("outdir/f", "OUT");
	snprintf(buf, sizeof(buf), "%s/secret", top);
	mkln(buf, "ws/lnk_abs");
	snprintf(buf, sizeof(buf), "%s/ws/a.txt", top);
	mkln(buf, "ws/lnk_abs_in");
	snprintf(buf, sizeof(buf), "%s/outdir", top);
	mkln(buf, "ws/lnk_dir_out");
	snprintf(buf, sizeof(buf), "%s/created_abs", top);
	mkln(buf, "ws/dang_abs");
	mkln("../created_rel", "ws/dang_rel");
	mkln("../secret", "ws/lnk_rel_out");
	mkln("sub/b.txt", "ws/lnk_in");
	mkln("sub", "ws/sublink");
	mkln("chain2", "ws/chain1");
	mkln("sublink/../lnk_in", "ws/chain2");
	mkln("..", "ws/sub/up");
	mkln("../..", "ws/sub/upup");
	mkln("/proc/self/root", "ws/proc_root");
	mkln("loop", "ws/loop");
	mkln("ws", "wsalias");

	/* squeeze and rel */
	ok(zmx_scope_squeeze("//a///b//", buf, sizeof(buf)) == 5 &&
	    strcmp(buf, "/a/b/") == 0, "squeeze collapses slashes");
	ok(zmx_scope_squeeze("/abc", buf, 4) == -ENAMETOOLONG,
	    "squeeze reports a short buffer");
	ok(zmx_scope_init(&s, "relative") == -EINVAL, "a relative root");
	ok(zmx_scope_init(&s, "/nonexistent/zmx/root") == -ENOENT,
	    "a missing root");
	ok(zmx_scope_init(&s, wp("//")) == 0 && strcmp(s.root, wsroot) == 0,
	    "a root's trailing slashes go");
	ok(zmx_scope_rel(&s, wsroot, rel, sizeof(rel)) == 0 &&
	    strcmp(rel, ".") == 0, "the root is '.'");
	ok(zmx_scope_rel(&s, wp("//x//y/"), rel, sizeof(rel)) == 0 &&
	    strcmp(rel, "x/y/") == 0, "rel keeps a trailing slash");
	ok(zmx_scope_rel(&s, wp("x"), rel, sizeof(rel)) == -EACCES,
	    "a sibling named like the root is outside");
	zmx_scope_fini(&s);
	zmx_scope_fini(&s);	/* twice is harmless */

	zmx_scope_no_openat2 = 0;
	escapes("openat2");
	zmx_scope_no_openat2 = 1;
	escapes("walk");

	snprintf(buf, sizeof(buf), "rm -rf '%s'", top);
	if (system(buf) != 0)
		printf("# could not remove %s\n", top);
	return tap_done();
}
