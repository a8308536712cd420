/* bench_cmd.c - how long a command takes, start to reaped exit, for
 * scripts/bench's commands section. Under `zmx run` with a remote cwd
 * the shim makes each spawn a remote command (DESIGN.md decision 3);
 * without the shim it times whatever it is given, such as `ssh -S ctl
 * host true`, the same way. Times are CLOCK_MONOTONIC.
 *
 *   bench_cmd [-o FILE] [-w W] N PROG [ARG...]
 *	posix_spawnp PROG W times untimed (a session's connection, a
 *	ControlMaster's first channel), then N times timed, one at a time,
 *	each reaped before the next, with stdin /dev/null and stdout and
 *	stderr appended to FILE (default /dev/null). Prints each timed
 *	run's time, "run I NS" one a line, then "cmd N MEDIAN_NS MIN_NS
 *	MAX_NS".
 *
 * A run that does not exit 0 is a failure: "bench_cmd: PROG: run I:
 * exit status S" on stderr, exit status 1; usage errors exit 2. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BC_MAX_N	100000

extern char **environ;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: bench_cmd [-o FILE] [-w W] N PROG "
	    "[ARG...]\n");
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
num(const char *s, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > BC_MAX_N)
		usage();
	return v;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	const char *out = "/dev/null";
	uint64_t *t, t0;
	long n, w = 0, i;
	pid_t pid;
	int a = 1, in, fd, r, st;

	for (; a + 1 < argc && argv[a][0] == '-'; a += 2) {
		if (strcmp(argv[a], "-o") == 0)
			out = argv[a + 1];
		else if (strcmp(argv[a], "-w") == 0)
			w = num(argv[a + 1], 0);
		else
			usage();
	}
	if (argc - a < 2)
		usage();
	n = num(argv[a], 1);
	argv += a + 1;
	/* opened here, not by a file action in the child: the fds the
	 * child gets are this process's, local or not */
	if ((in = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 ||
	    (fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) < 0) {
		fprintf(stderr, "bench_cmd: %s: %s\n", out, strerror(errno));
		return 1;
	}
	if ((t = calloc((size_t)n, sizeof(*t))) == NULL) {
		fprintf(stderr, "bench_cmd: out of memory\n");
		return 1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	posix_spawn_file_actions_adddup2(&fa, fd, 2);
	for (i = -w; i < n; i++) {
		t0 = now_ns();
		if ((r = posix_spawnp(&pid, argv[0], &fa, NULL, argv,
		    environ)) != 0) {
			fprintf(stderr, "bench_cmd: posix_spawnp %s: %s\n",
			    argv[0], strerror(r));
			return 1;
		}
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR) {
				fprintf(stderr, "bench_cmd: waitpid: %s\n",
				    strerror(errno));
				return 1;
			}
		t0 = now_ns() - t0;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "bench_cmd: %s: run %ld: %s %d\n",
			    argv[0], i, WIFEXITED(st) ? "exit status" :
			    "signal", WIFEXITED(st) ? WEXITSTATUS(st) :
			    WTERMSIG(st));
			return 1;
		}
		if (i < 0)
			continue;	/* a warm-up */
		t[i] = t0;
		printf("run %ld %llu\n", i, (unsigned long long)t[i]);
	}
	qsort(t, (size_t)n, sizeof(*t), cmp_u64);
	printf("cmd %ld %llu %llu %llu\n", n, (unsigned long long)(n % 2 ?
	    t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2),
	    (unsigned long long)t[0], (unsigned long long)t[n - 1]);
	posix_spawn_file_actions_destroy(&fa);
	free(t);
	return 0;
}
