/* bench_ops.c - times N of one file operation, the way a program under the
 * shim makes it: plain libc calls, so `zmx run` (or LD_PRELOAD) decides
 * whether they go to agentd. scripts/bench runs one operation kind per
 * process, with N and with 0, and takes the difference of the shim's
 * ZMX_STATS round trips to get round trips per operation.
 *
 *   bench_ops stat N DIR            stat DIR/0000 .. DIR/N-1
 *   bench_ops read N DIR SIZE       open, read to EOF, close DIR/0000 ..;
 *                                   each must hold SIZE bytes
 *   bench_ops write N DIR SIZE      create DIR/0000 .., write SIZE bytes,
 *                                   close
 *   bench_ops readdir N DIR COUNT   list the directories DIR/0000 ..; each
 *                                   must hold COUNT entries
 *   bench_ops lsstat N DIR COUNT    list DIR (COUNT entries; not timed),
 *                                   then stat its first N entries
 *   bench_ops localstat N PATH      stat PATH N times
 *   bench_ops connect N DIR         stat DIR once (N is 1) as the first
 *                                   remote call: the connection to agentd
 *                                   is made then, so this times its set-up
 *
 * Other remote operations first stat DIR, not timed, so that the set-up
 * of the connection is not counted against the first of them.
 *
 * Every operation is checked; the first failure is printed on stderr as
 * "bench_ops: OP: what: error" and the exit status is 1. On success one
 * line goes to stdout: "OP N TOTAL_NS". Distinct files per iteration
 * defeat the shim's caches, so each is a first touch. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BENCH_BUF	(64 * 1024)

static const char *op;

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fprintf(stderr, "bench_ops: %s: ", op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", e ? strerror(e) : "wrong result");
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
nth(char *out, size_t outlen, const char *dir, long i)
{
	if ((size_t)snprintf(out, outlen, "%s/%04ld", dir, i) >= outlen) {
		errno = ENAMETOOLONG;
		fail("%s/%04ld", dir, i);
	}
}

static void
do_stat(long n, const char *dir)
{
	char path[4096];
	struct stat st;
	long i;

	for (i = 0; i < n; i++) {
		nth(path, sizeof(path), dir, i);
		if (stat(path, &st) < 0)
			fail("stat %s", path);
		if (!S_ISREG(st.st_mode)) {
			errno = 0;
			fail("stat %s: mode %o, not a regular file", path,
			    st.st_mode);
		}
	}
}

static void
do_read(long n, const char *dir, long size, char *buf)
{
	char path[4096];
	ssize_t r;
	long i, got;
	int fd;

	for (i = 0; i < n; i++) {
		nth(path, sizeof(path), dir, i);
		if ((fd = open(path, O_RDONLY)) < 0)
			fail("open %s", path);
		got = 0;
		while ((r = read(fd, buf, BENCH_BUF)) > 0)
			got += r;
		if (r < 0)
			fail("read %s", path);
		if (close(fd) < 0)
			fail("close %s", path);
		if (got != size) {
			errno = 0;
			fail("read %s: %ld bytes, want %ld", path, got, size);
		}
	}
}

static void
do_write(long n, const char *dir, long size, char *buf)
{
	char path[4096];
	ssize_t r;
	long i, off;
	int fd;

	memset(buf, 'w', BENCH_BUF);
	for (i = 0; i < n; i++) {
		nth(path, sizeof(path), dir, i);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
			fail("open %s for writing", path);
		for (off = 0; off < size; off += r) {
			r = write(fd, buf, size - off > BENCH_BUF ? BENCH_BUF :
			    size - off);
			if (r <= 0)
				fail("write %s", path);
		}
		if (close(fd) < 0)
			fail("close %s", path);
	}
}

/* Lists dir; the names go to names[] if it is not NULL. */
static long
list(const char *dir, char **names, long max)
{
	struct dirent *e;
	DIR *d;
	long n = 0;

	if ((d = opendir(dir)) == NULL)
		fail("opendir %s", dir);
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (names != NULL && n < max &&
		    (names[n] = strdup(e->d_name)) == NULL)
			fail("strdup");
		n++;
	}
	if (errno != 0)
		fail("readdir %s", dir);
	if (closedir(d) < 0)
		fail("closedir %s", dir);
	return n;
}

static void
do_readdir(long n, const char *dir, long count)
{
	char path[4096];
	long i, got;

	for (i = 0; i < n; i++) {
		nth(path, sizeof(path), dir, i);
		if ((got = list(path, NULL, 0)) != count) {
			errno = 0;
			fail("readdir %s: %ld entries, want %ld", path, got,
			    count);
		}
	}
}

static void
check_list(const char *dir, long count, char **names)
{
	long got;

	if ((got = list(dir, names, count)) != count) {
		errno = 0;
		fail("readdir %s: %ld entries, want %ld", dir, got, count);
	}
}

static void
do_lsstat(long n, const char *dir, char **names)
{
	char path[4096];
	struct stat st;
	long i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) < 0)
			fail("stat %s after listing it", path);
	}
}

static void
do_localstat(long n, const char *path)
{
	struct stat st;
	long i;

	for (i = 0; i < n; i++)
		if (stat(path, &st) < 0)
			fail("stat %s", path);
}

static void
do_connect(long n, const char *dir)
{
	struct stat st;

	if (n > 0 && stat(dir, &st) < 0)
		fail("stat %s", dir);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: bench_ops stat|read|write|readdir|lsstat|"
	    "localstat|connect N PATH [SIZE|COUNT]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	char *buf = NULL, **names = NULL;
	long n, arg = 0;
	uint64_t t0, t1;

	if (argc < 4)
		usage();
	op = argv[1];
	n = strtol(argv[2], NULL, 10);
	if (argc > 4)
		arg = strtol(argv[4], NULL, 10);
	if (n < 0 || arg < 0)
		usage();
	if ((buf = malloc(BENCH_BUF)) == NULL)
		fail("malloc");
	if (strcmp(op, "lsstat") == 0) {
		if (argc != 5 || n > arg)
			usage();
		if ((names = calloc(arg + 1, sizeof(*names))) == NULL)
			fail("calloc");
		check_list(argv[3], arg, names);	/* not timed */
	} else if (strcmp(op, "localstat") != 0 && strcmp(op, "connect") != 0)
		do_connect(1, argv[3]);			/* not timed */

	t0 = now_ns();
	if (strcmp(op, "stat") == 0 && argc == 4)
		do_stat(n, argv[3]);
	else if (strcmp(op, "read") == 0 && argc == 5)
		do_read(n, argv[3], arg, buf);
	else if (strcmp(op, "write") == 0 && argc == 5)
		do_write(n, argv[3], arg, buf);
	else if (strcmp(op, "readdir") == 0 && argc == 5)
		do_readdir(n, argv[3], arg);
	else if (strcmp(op, "lsstat") == 0)
		do_lsstat(n, argv[3], names);
	else if (strcmp(op, "localstat") == 0 && argc == 4)
		do_localstat(n, argv[3]);
	else if (strcmp(op, "connect") == 0 && argc == 4 && n <= 1)
		do_connect(n, argv[3]);
	else
		usage();
	t1 = now_ns();

	printf("%s %ld %llu\n", op, n, (unsigned long long)(t1 - t0));
	fflush(stdout);
	return 0;
}
