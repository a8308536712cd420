/* rawsys.c - file calls made with raw syscall instructions in the
 * program's own text, as Bun (Claude Code) makes its openat, read and
 * write: only Syscall User Dispatch sees them. Run under the shim by
 * tests/integration/sud.t, one mode per run; prints what it saw.
 *
 *   rawsys basic     create, write, read back, stat, list, openat2, mkdir
 *                    and an Edit through /proc/self/fd/N/name
 *   rawsys threads   8 threads, each its own file
 *   rawsys fork      a libc fork child and a raw fork child
 *   rawsys vfork     a vfork child chdirs (raw) and execs sh
 *   rawsys exec      the same program again, through execv
 *   rawsys sigsys    its own SIGSYS handler (sigaction, then raw), a kill
 *   rawsys seccomp   a seccomp trap reaches its handler
 *   rawsys blocked   SIGSYS blocked by every means, then raw calls
 *   rawsys iouring   io_uring_setup, raw and through syscall()
 *   rawsys early     a thread started before the shim's constructor
 *                    (built with -DRAWSYS_EARLY and rawsys_early.c)
 *   rawsys bench N   N raw getppid calls: ns each */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The instruction itself, here in the program's text. */
static long
rs(long n, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long ret;

	__asm__ volatile("syscall" : "=a"(ret)
	    : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
	    : "rcx", "r11", "memory");
	return ret;
}

static int
put(const char *path, const char *text)
{
	long fd = rs(SYS_openat, AT_FDCWD, (long)path,
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return (int)fd;
	rs(SYS_write, fd, (long)text, (long)strlen(text), 0);
	return (int)rs(SYS_close, fd, 0, 0, 0);
}

static long
get(const char *path, char *buf, size_t len)
{
	long fd = rs(SYS_openat, AT_FDCWD, (long)path, O_RDONLY, 0), n;

	if (fd < 0)
		return fd;
	n = rs(SYS_read, fd, (long)buf, (long)len - 1, 0);
	rs(SYS_close, fd, 0, 0, 0);
	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

static void
show(const char *path)
{
	char buf[256];
	long n = get(path, buf, sizeof(buf));

	if (n < 0)
		printf("%s: %s\n", path, strerror((int)-n));
	else
		printf("%s: %s", path, buf);
}

static int
basic(void)
{
	struct { unsigned long long flags, mode, resolve; } how = {
		O_RDONLY, 0, 0
	};
	char buf[4096], path[64], tmp[64], fin[64];
	struct stat st;
	long fd, n, off, dfd;

	printf("put %d\n", put("raw.txt", "written raw\n"));
	show("raw.txt");
	n = rs(SYS_newfstatat, AT_FDCWD, (long)"raw.txt", (long)&st, 0);
	printf("stat %ld size %ld\n", n, (long)st.st_size);
	fd = rs(SYS_openat, AT_FDCWD, (long)"raw.txt", O_RDONLY, 0);
	n = rs(SYS_fstat, fd, (long)&st, 0, 0);
	printf("fstat %ld size %ld\n", n, (long)st.st_size);
	rs(SYS_close, fd, 0, 0, 0);
	fd = rs(SYS_openat2, AT_FDCWD, (long)"only-remote.txt", (long)&how,
	    sizeof(how));
	n = fd < 0 ? fd : rs(SYS_read, fd, (long)buf, 100, 0);
	printf("openat2 %s", fd < 0 ? strerror((int)-fd) : "ok ");
	if (n > 0)
		printf("%.*s", (int)n, buf);
	rs(SYS_close, fd, 0, 0, 0);
	printf("mkdir %ld\n", rs(SYS_mkdirat, AT_FDCWD, (long)"rawdir", 0755,
	    0));
	/* what Claude Code's Edit does: the parent directory's fd, a
	 * temporary file through /proc/self/fd/N/, renamed over */
	dfd = rs(SYS_openat, AT_FDCWD, (long)"rawdir",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%ld/file", dfd);
	snprintf(tmp, sizeof(tmp), "/proc/self/fd/%ld/.file.tmp", dfd);
	snprintf(fin, sizeof(fin), "/proc/self/fd/%ld/file", dfd);
	printf("edit put %d\n", put(tmp, "edited\n"));
	printf("edit rename %ld\n", rs(SYS_renameat, AT_FDCWD, (long)tmp,
	    AT_FDCWD, (long)fin));
	n = get(path, buf, sizeof(buf));
	printf("edit read %s", n < 0 ? "failed\n" : buf);
	rs(SYS_close, dfd, 0, 0, 0);
	/* a listing, sorted by name */
	fd = rs(SYS_openat, AT_FDCWD, (long)".", O_RDONLY | O_DIRECTORY, 0);
	{
		char names[64][64];
		int k = 0, i, j;

		while ((n = rs(SYS_getdents64, fd, (long)buf, sizeof(buf),
		    0)) > 0)
			for (off = 0; off < n && k < 64;
			    off += ((struct dirent64 *)(buf + off))->d_reclen)
				snprintf(names[k++], 64, "%s",
				    ((struct dirent64 *)(buf + off))->d_name);
		for (i = 0; i < k; i++)
			for (j = i + 1; j < k; j++)
				if (strcmp(names[i], names[j]) > 0) {
					char t[64];

					memcpy(t, names[i], 64);
					memcpy(names[i], names[j], 64);
					memcpy(names[j], t, 64);
				}
		printf("list");
		for (i = 0; i < k; i++)
			printf(" %s", names[i]);
		printf("\n");
	}
	rs(SYS_close, fd, 0, 0, 0);
	return 0;
}

static void *
thread_main(void *p)
{
	char path[32], text[32], buf[64];
	int i = (int)(long)p;

	snprintf(path, sizeof(path), "t%d.txt", i);
	snprintf(text, sizeof(text), "thread %d\n", i);
	put(path, text);
	get(path, buf, sizeof(buf));
	return strcmp(buf, text) == 0 ? p : NULL;
}

static int
threads(void)
{
	pthread_t t[8];
	void *r;
	int i, ok = 0;

	for (i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, thread_main, (void *)(long)i);
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], &r);
		ok += r == (void *)(long)i;
	}
	printf("threads ok %d\n", ok);
	return 0;
}

static int
forks(void)
{
	int st;
	long pid;

	fflush(stdout);
	if ((pid = fork()) == 0)
		_exit(put("child.txt", "libc fork child\n") == 0 ? 0 : 1);
	waitpid((pid_t)pid, &st, 0);
	printf("fork child %d\n", WEXITSTATUS(st));
	fflush(stdout);
	if ((pid = rs(SYS_fork, 0, 0, 0, 0)) == 0)
		_exit(put("rawchild.txt", "raw fork child\n") == 0 ? 0 : 1);
	waitpid((pid_t)pid, &st, 0);
	printf("raw fork child %d\n", WEXITSTATUS(st));
	return 0;
}

static int
vforks(void)
{
	char *argv[] = { "sh", "-c", "pwd > ../vfork-pwd.txt", NULL };
	int st;
	pid_t pid;

	rs(SYS_mkdirat, AT_FDCWD, (long)"sub", 0755, 0);
	if ((pid = vfork()) == 0) {
		if (rs(SYS_chdir, (long)"sub", 0, 0, 0) < 0)
			_exit(3);
		execv("/bin/sh", argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	printf("vfork child %d\n", WEXITSTATUS(st));
	show("vfork-pwd.txt");
	return 0;
}

static int
execs(const char *self)
{
	char *argv[] = { (char *)self, "after-exec", NULL };

	fflush(stdout);
	execv(self, argv);
	printf("execv: %s\n", strerror(errno));
	return 1;
}

static volatile int got_sigsys, got_code;

static void
on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	got_sigsys++;
	got_code = si->si_code;
}

static int
sigsys(void)
{
	struct sigaction sa, old;
	struct { void *h; unsigned long flags; void *r; unsigned long mask; }
	    k, kold;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	printf("sigaction %d\n", sigaction(SIGSYS, &sa, NULL));
	printf("put %d\n", put("after-handler.txt", "with a handler\n"));
	sigaction(SIGSYS, NULL, &old);
	printf("query gives ours %d\n", old.sa_sigaction == on_sigsys);
	kill(getpid(), SIGSYS);
	printf("kill: handler ran %d code %s\n", got_sigsys,
	    got_code == SI_USER ? "SI_USER" : "other");
	/* raw, as Bun's own std library may */
	memset(&k, 0, sizeof(k));
	k.h = SIG_IGN;
	printf("raw rt_sigaction %ld\n", rs(SYS_rt_sigaction, SIGSYS,
	    (long)&k, (long)&kold, 8));
	printf("raw old is ours %d\n", kold.h == (void *)on_sigsys);
	printf("put %d\n", put("after-raw.txt", "after a raw handler\n"));
	kill(getpid(), SIGSYS);
	printf("ignored: handler ran %d\n", got_sigsys);
	return 0;
}

static int
seccomp(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),	/* nr */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { 4, f };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		printf("seccomp: %s\n", strerror(errno));
		return 1;
	}
	getppid();
	printf("seccomp trap: handler ran %d code %s\n", got_sigsys,
	    got_code == 1 ? "SYS_SECCOMP" : "other");
	rs(SYS_getppid, 0, 0, 0, 0);	/* trapped twice: SUD, seccomp */
	printf("raw: handler ran %d\n", got_sigsys);
	printf("put %d\n", put("after-seccomp.txt", "seccomp on\n"));
	return 0;
}

static int
blocked(void)
{
	unsigned long m = 1UL << (SIGSYS - 1);
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGSYS);
	sigprocmask(SIG_BLOCK, &s, NULL);
	printf("put %d\n", put("blocked1.txt", "sigprocmask\n"));
	pthread_sigmask(SIG_SETMASK, &s, NULL);
	printf("put %d\n", put("blocked2.txt", "pthread_sigmask\n"));
	rs(SYS_rt_sigprocmask, SIG_BLOCK, (long)&m, 0, 8);
	printf("put %d\n", put("blocked3.txt", "raw rt_sigprocmask\n"));
	sigfillset(&s);
	sigprocmask(SIG_SETMASK, &s, NULL);
	printf("put %d\n", put("blocked4.txt", "everything blocked\n"));
	return 0;
}

static int
iouring(void)
{
	char params[120];

	memset(params, 0, sizeof(params));
	printf("raw io_uring_setup %s\n", strerror((int)-rs(SYS_io_uring_setup,
	    8, (long)params, 0, 0)));
	errno = 0;
	syscall(SYS_io_uring_setup, 8, params);
	printf("syscall() io_uring_setup %s\n", strerror(errno));
	printf("UV_USE_IO_URING=%s\n", getenv("UV_USE_IO_URING") ?
	    getenv("UV_USE_IO_URING") : "(unset)");
	return 0;
}

#ifdef RAWSYS_EARLY
void early_run(void (*fn)(void));

static void
early_job(void)
{
	put("early.txt", "from a thread older than the shim\n");
}

static int
early(void)
{
	early_run(early_job);
	show("early.txt");
	return 0;
}
#endif

static int
bench(long n)
{
	struct timespec a, b;
	long i;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++)
		rs(SYS_getppid, 0, 0, 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f ns per raw getppid\n", ((b.tv_sec - a.tv_sec) * 1e9 +
	    (b.tv_nsec - a.tv_nsec)) / (double)n);
	return 0;
}

static int
after_exec(void)
{
	printf("after exec put %d\n", put("exec.txt", "new image\n"));
	show("exec.txt");
	return 0;
}

/* The modes that take no argument. */
static const struct {
	const char	*name;
	int		(*run)(void);
} modes[] = {
	{ "basic", basic }, { "threads", threads }, { "fork", forks },
	{ "vfork", vforks }, { "after-exec", after_exec },
	{ "sigsys", sigsys }, { "seccomp", seccomp }, { "blocked", blocked },
	{ "iouring", iouring },
#ifdef RAWSYS_EARLY
	{ "early", early },
#endif
};

int
main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "basic";
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(m, modes[i].name) == 0)
			return modes[i].run();
	if (strcmp(m, "exec") == 0)
		return execs(argv[0]);
	if (strcmp(m, "bench") == 0)
		return bench(argc > 2 ? atol(argv[2]) : 1000000);
	fprintf(stderr, "rawsys: unknown mode %s\n", m);
	return 2;
}
