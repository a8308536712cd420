/* bench_session.c - what the session process costs the processes and
 * threads of an agent, for scripts/bench's session section: start-up of a
 * process that makes no remote call, a new process's and a new thread's
 * first remote call, and many processes at once. Plain libc calls, so
 * `zmx run` (or LD_PRELOAD) decides whether they go to agentd; times are
 * CLOCK_MONOTONIC, one clock for every process of the machine.
 *
 *   bench_session spawn N [-p LIB] PROG [ARG...]
 *	posix_spawn PROG N times, one at a time, each reaped before the
 *	next; with -p, each child gets LD_PRELOAD=LIB (the parent keeps
 *	its own environment). Prints "spawn N TOTAL_NS MEDIAN_NS": all N,
 *	and the median of one spawn to its reaped exit.
 *   bench_session newproc N DIR
 *	stats DIR (this process's first remote call, timed as FIRST_NS),
 *	then N times spawns itself as "bench_session child DIR/I" (I from
 *	0000) and times from just before posix_spawn to the return of the
 *	child's stat, and the child's stat alone. Prints "newproc N
 *	FIRST_NS MEDIAN_EXEC_NS MEDIAN_STAT_NS".
 *   bench_session newthread N DIR
 *	stats DIR, then N times starts a thread whose first call is a stat
 *	of DIR/I, and times from pthread_create to that stat's return, and
 *	the stat alone. Prints "newthread N MEDIAN_NS MEDIAN_STAT_NS".
 *   bench_session procs P SECONDS DIR COUNT SIZE
 *	P processes (fork), started together once each has made its first
 *	remote call, each for SECONDS: stat, open, read to EOF and close
 *	DIR/I, I going round COUNT files that must hold SIZE bytes. Prints
 *	"procs P seconds S ops K ops/s X errors E"; an op is the four
 *	calls.
 *   bench_session localstat N PATH
 *	stats PATH N times through stat(), which the shim interposes when
 *	it is loaded, and N times through libc's own stat (dlsym on
 *	libc.so.6), in turns of 1,000 in one process, so that a busy
 *	machine slows both alike. Prints "localstat N EXTRA_NS LIBC_NS":
 *	the median over turns of stat()'s extra time a call, and of libc's
 *	time a call. Without the shim EXTRA_NS is about 0.
 *
 * Every failure is described on stderr as "bench_session: MODE: what:
 * error" and the exit status is 1; usage errors exit 2. Distinct files
 * per child and thread defeat the shim's caches, so each stat is a first
 * touch. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BS_BUF		(64 * 1024)
#define BS_MAX_N	100000
#define BS_MAX_PROCS	256
#define BS_TURN		1000	/* stats of each kind a turn */

extern char **environ;

static const char *mode = "?";

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fprintf(stderr, "bench_session: %s: ", mode);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", e ? strerror(e) : "wrong result");
	exit(1);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
"usage: bench_session spawn N [-p LIB] PROG [ARG...]\n"
"       bench_session newproc N DIR\n"
"       bench_session newthread N DIR\n"
"       bench_session procs P SECONDS DIR COUNT SIZE\n"
"       bench_session localstat N PATH\n");
	exit(2);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long
num(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < 0 || v > max)
		usage();
	return v;
}

static void
nth(char *out, size_t outlen, const char *dir, long i)
{
	if ((size_t)snprintf(out, outlen, "%s/%04ld", dir, i) >= outlen) {
		errno = ENAMETOOLONG;
		fail("%s/%04ld", dir, i);
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The median of v[0..n-1], which it sorts; 0 if n is 0. */
static uint64_t
median(uint64_t *v, long n)
{
	if (n == 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t *
times_new(long n)
{
	uint64_t *v = calloc((size_t)n + 1, sizeof(*v));

	if (v == NULL)
		fail("calloc");
	return v;
}

static void
stat_file(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		fail("stat %s", path);
}

/* Waits for pid; it must have exited 0. */
static void
reap(pid_t pid, const char *what)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			fail("waitpid %s", what);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		errno = 0;
		fail("%s: wait status %#x", what, st);
	}
}

/* ---- spawn ---------------------------------------------------------------- */

/* environ with LD_PRELOAD=lib in place of any LD_PRELOAD. */
static char **
env_with_preload(const char *lib)
{
	char **env, *var;
	size_t n = 0, i, j = 0;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 2, sizeof(*env))) == NULL ||
	    asprintf(&var, "LD_PRELOAD=%s", lib) < 0)
		fail("malloc");
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[j++] = environ[i];
	env[j++] = var;
	env[j] = NULL;
	return env;
}

static void
do_spawn(int argc, char **argv)
{
	char **env = environ, **args;
	uint64_t *t, t0, total = 0;
	long n, i;
	pid_t pid;
	int r;

	if (argc < 4)
		usage();
	n = num(argv[2], BS_MAX_N);
	args = argv + 3;
	if (strcmp(args[0], "-p") == 0) {
		if (argc < 6)
			usage();
		env = env_with_preload(args[1]);
		args += 2;
	}
	t = times_new(n);
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		if ((r = posix_spawn(&pid, args[0], NULL, NULL, args, env)) !=
		    0) {
			errno = r;
			fail("posix_spawn %s", args[0]);
		}
		reap(pid, args[0]);
		t[i] = now_ns() - t0;
		total += t[i];
	}
	printf("spawn %ld %llu %llu\n", n, (unsigned long long)total,
	    (unsigned long long)median(t, n));
}

/* ---- a new process's first remote call ----------------------------------- */

/* The child: stat path, then say when it returned and how long it took. */
static void
do_child(int argc, char **argv)
{
	uint64_t t0, t1;

	if (argc != 3)
		usage();
	t0 = now_ns();
	stat_file(argv[2]);
	t1 = now_ns();
	printf("%llu %llu\n", (unsigned long long)t1,
	    (unsigned long long)(t1 - t0));
}

/* Runs "self child path" with stdout to a pipe; its two numbers. */
static void
run_child(const char *self, const char *path, uint64_t *end, uint64_t *took)
{
	posix_spawn_file_actions_t fa;
	char buf[128], *args[] = { (char *)self, "child", (char *)path, NULL };
	unsigned long long a, b;
	ssize_t got, r;
	pid_t pid;
	int p[2], e;

	if (pipe2(p, O_CLOEXEC) < 0)
		fail("pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	if ((e = posix_spawn(&pid, self, &fa, NULL, args, environ)) != 0) {
		errno = e;
		fail("posix_spawn %s", self);
	}
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	for (got = 0; got < (ssize_t)sizeof(buf) - 1; got += r)
		if ((r = read(p[0], buf + got, sizeof(buf) - 1 - got)) <= 0) {
			if (r < 0 && errno == EINTR) {
				r = 0;
				continue;
			}
			break;
		}
	close(p[0]);
	reap(pid, path);
	buf[got] = '\0';
	if (sscanf(buf, "%llu %llu", &a, &b) != 2) {
		errno = 0;
		fail("child %s said '%s'", path, buf);
	}
	*end = a;
	*took = b;
}

static void
do_newproc(int argc, char **argv)
{
	char self[4096], path[4096];
	uint64_t *exec, *stat1, t0, end, took, first;
	ssize_t len;
	long n, i;

	if (argc != 4)
		usage();
	n = num(argv[2], BS_MAX_N);
	if ((len = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		fail("readlink /proc/self/exe");
	self[len] = '\0';
	t0 = now_ns();
	stat_file(argv[3]);		/* the session's HELLO, if first */
	first = now_ns() - t0;
	exec = times_new(n);
	stat1 = times_new(n);
	for (i = 0; i < n; i++) {
		nth(path, sizeof(path), argv[3], i);
		t0 = now_ns();
		run_child(self, path, &end, &took);
		if (end < t0) {
			errno = 0;
			fail("child %s returned before it started", path);
		}
		exec[i] = end - t0;
		stat1[i] = took;
	}
	printf("newproc %ld %llu %llu %llu\n", n, (unsigned long long)first,
	    (unsigned long long)median(exec, n),
	    (unsigned long long)median(stat1, n));
}

/* ---- a new thread's first remote call ------------------------------------ */

struct bs_thread {
	const char	*path;
	uint64_t	 end, took;
};

static void *
thread_main(void *arg)
{
	struct bs_thread *t = arg;
	uint64_t t0 = now_ns();

	stat_file(t->path);
	t->end = now_ns();
	t->took = t->end - t0;
	return NULL;
}

static void
do_newthread(int argc, char **argv)
{
	char path[4096];
	struct bs_thread t;
	pthread_t th;
	uint64_t *all, *stat1, t0;
	long n, i;
	int r;

	if (argc != 4)
		usage();
	n = num(argv[2], BS_MAX_N);
	stat_file(argv[3]);	/* this process's connection, not timed */
	all = times_new(n);
	stat1 = times_new(n);
	for (i = 0; i < n; i++) {
		nth(path, sizeof(path), argv[3], i);
		t.path = path;
		t0 = now_ns();
		if ((r = pthread_create(&th, NULL, thread_main, &t)) != 0) {
			errno = r;
			fail("pthread_create");
		}
		if ((r = pthread_join(th, NULL)) != 0) {
			errno = r;
			fail("pthread_join");
		}
		all[i] = t.end - t0;
		stat1[i] = t.took;
	}
	printf("newthread %ld %llu %llu\n", n,
	    (unsigned long long)median(all, n),
	    (unsigned long long)median(stat1, n));
}

/* ---- many processes at once --------------------------------------------- */

/* One process's loop until deadline; its op count. Exits 1 on the first
 * failure, described. */
static uint64_t
procs_loop(const char *dir, long count, long size, uint64_t deadline)
{
	char path[4096], *buf;
	struct stat st;
	uint64_t ops = 0;
	ssize_t r;
	long i = 0, got;
	int fd;

	if ((buf = malloc(BS_BUF)) == NULL)
		fail("malloc");
	while (now_ns() < deadline) {
		nth(path, sizeof(path), dir, i);
		i = (i + 1) % count;
		if (stat(path, &st) < 0)
			fail("stat %s", path);
		if ((fd = open(path, O_RDONLY)) < 0)
			fail("open %s", path);
		got = 0;
		while ((r = read(fd, buf, BS_BUF)) > 0)
			got += r;
		if (r < 0)
			fail("read %s", path);
		if (close(fd) < 0)
			fail("close %s", path);
		if (got != size || st.st_size != size) {
			errno = 0;
			fail("%s: %ld bytes read, %lld by stat, want %ld", path,
			    got, (long long)st.st_size, size);
		}
		ops++;
	}
	free(buf);
	return ops;
}

static void
do_procs(int argc, char **argv)
{
	pid_t pids[BS_MAX_PROCS];
	int ready[2], go[2], res[2];
	long p, secs, count, size, i, errors = 0;
	uint64_t ops = 0, one, deadline;
	char c;

	if (argc != 7)
		usage();
	p = num(argv[2], BS_MAX_PROCS);
	secs = num(argv[3], 3600);
	count = num(argv[5], BS_MAX_N);
	size = num(argv[6], 1L << 30);
	if (p == 0 || count == 0)
		usage();
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 ||
	    pipe2(res, O_CLOEXEC) < 0)
		fail("pipe");
	for (i = 0; i < p; i++) {
		if ((pids[i] = fork()) < 0)
			fail("fork");
		if (pids[i] > 0)
			continue;
		close(go[1]);
		stat_file(argv[4]);	/* its connection, not timed */
		if (write(ready[1], "r", 1) != 1)
			fail("write");
		if (read(go[0], &c, 1) != 0)	/* the parent closes it */
			fail("read");
		deadline = now_ns() + (uint64_t)secs * 1000000000u;
		one = procs_loop(argv[4], count, size, deadline);
		if (write(res[1], &one, sizeof(one)) != (ssize_t)sizeof(one))
			fail("write");
		_exit(0);
	}
	close(ready[1]);
	close(res[1]);
	for (i = 0; i < p; i++)
		if (read(ready[0], &c, 1) != 1) {
			errno = 0;
			fail("a process ended before its first call");
		}
	close(go[1]);		/* go */
	while (read(res[0], &one, sizeof(one)) == (ssize_t)sizeof(one))
		ops += one;
	for (i = 0; i < p; i++) {
		int st;

		while (waitpid(pids[i], &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			errors++;
	}
	printf("procs %ld seconds %ld ops %llu ops/s %.0f errors %ld\n", p,
	    secs, (unsigned long long)ops, secs ? (double)ops / secs : 0.0,
	    errors);
	if (errors)
		exit(1);
}

/* ---- a local path's stat ----------------------------------------------- */

typedef int stat_fn(const char *, struct stat *);

/* n stats of path through fn; their time. */
static uint64_t
stat_turn(stat_fn *fn, const char *path, long n)
{
	struct stat st;
	uint64_t t0 = now_ns();
	long i;

	for (i = 0; i < n; i++)
		if (fn(path, &st) < 0)
			fail("stat %s", path);
	return now_ns() - t0;
}

static void
do_localstat(int argc, char **argv)
{
	stat_fn *libc_stat;
	uint64_t *extra, *base, a, b;
	void *libc;
	long n, turns, i;

	if (argc != 4)
		usage();
	n = num(argv[2], 1L << 30);
	if ((turns = n / BS_TURN) < 1)
		turns = 1;
	if ((libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD)) == NULL ||
	    (libc_stat = (stat_fn *)dlsym(libc, "stat")) == NULL) {
		errno = 0;
		fail("libc's stat: %s", dlerror());
	}
	extra = times_new(turns);
	base = times_new(turns);
	for (i = 0; i < turns; i++) {
		/* in turn first, so that neither always follows the other */
		if (i % 2) {
			a = stat_turn(stat, argv[3], BS_TURN);
			b = stat_turn(libc_stat, argv[3], BS_TURN);
		} else {
			b = stat_turn(libc_stat, argv[3], BS_TURN);
			a = stat_turn(stat, argv[3], BS_TURN);
		}
		/* signed, stored with an offset so that it sorts */
		extra[i] = (uint64_t)((int64_t)a - (int64_t)b + INT64_MAX / 2);
		base[i] = b;
	}
	printf("localstat %ld %.1f %.1f\n", turns * BS_TURN,
	    (double)((int64_t)median(extra, turns) - INT64_MAX / 2) / BS_TURN,
	    (double)median(base, turns) / BS_TURN);
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	mode = argv[1];
	if (strcmp(mode, "spawn") == 0)
		do_spawn(argc, argv);
	else if (strcmp(mode, "child") == 0)
		do_child(argc, argv);
	else if (strcmp(mode, "newproc") == 0)
		do_newproc(argc, argv);
	else if (strcmp(mode, "newthread") == 0)
		do_newthread(argc, argv);
	else if (strcmp(mode, "procs") == 0)
		do_procs(argc, argv);
	else if (strcmp(mode, "localstat") == 0)
		do_localstat(argc, argv);
	else
		usage();
	fflush(stdout);
	return ferror(stdout) ? 1 : 0;
}
