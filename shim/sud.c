/* sud.c - raw syscall instructions in the program's own text (Bun's,
 * in Claude Code) reach the same dispatcher as the libc symbols and
 * syscall() (DESIGN.md decision 4), through Syscall User Dispatch.
 *
 * The kernel is asked to trap only syscalls made from the main
 * executable's text (PR_SYS_DISPATCH_INCLUSIVE_ON, Linux 6.16): libc, the
 * loader, the vDSO and the shim itself run untrapped, so only the
 * instructions the libc hooks cannot see cost a signal. A trap raises
 * SIGSYS here; the handler serves the call and writes its result into
 * the interrupted context, which resumes after the instruction.
 *
 * SUD is per thread and is cleared by fork and exec: it is armed in the
 * constructor (and in threads that already ran by then, through a
 * queued SIGSYS they answer), in every thread pthread_create starts, in
 * fork and vfork children, and in a new image by its own constructor.
 *
 * The shim owns SIGSYS: a trapped syscall with SIGSYS blocked, or caught
 * by the program's handler (Bun installs one), would kill the program.
 * So sigaction/signal and raw rt_sigaction record the program's SIGSYS
 * handler instead of installing it, masks never block SIGSYS, and a
 * SIGSYS that is not a trap (seccomp, kill) goes on to the program's
 * handler as if it had been installed.
 *
 * The trap is synchronous, raised by the program's own code: the thread
 * then holds no lock of libc or the shim (the handler uses the ordinary
 * shim paths, which take locks other threads release). Its requests go
 * to the session over the thread's Unix socket. */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "guard.h"
#include "log.h"
#include "real.h"
#include "sys.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH	59
#endif
#define SUD_INCLUSIVE_ON	2	/* PR_SYS_DISPATCH_INCLUSIVE_ON */
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH	2	/* si_code of a SUD trap */
#endif
/* A queued SIGSYS carrying this asks a thread to arm itself. */
#define SUD_ARM_MAGIC		0x7a6d7853

#ifndef SA_RESTORER
#define SA_RESTORER		0x04000000	/* the kernel's, x86 */
#endif

#define SIGSYS_BIT	(1UL << (SIGSYS - 1))

/* The kernel's struct sigaction (rt_sigaction's, 8-byte mask). */
struct ksigaction {
	void		(*handler)(int);
	unsigned long	 flags;
	void		(*restorer)(void);
	unsigned long	 mask;
};

/* Set once by zmx_sud_init() before the program runs. A vfork child
 * arms itself from these in assembly (wrap_exec.c): the layout is fixed. */
struct zmx_sud_conf zmx_sud_conf = { .sigsys_mask = SIGSYS_BIT };
#define sud_on		zmx_sud_conf.on
#define text_start	zmx_sud_conf.start
#define text_len	zmx_sud_conf.len

/* The program's own SIGSYS disposition, kernel form. Written by
 * whichever thread changes it (under prog_lock), read by the handler. */
static struct ksigaction prog_sigsys;
static int prog_lock;

/* rt_sigreturn from the restorer the handler frames carry: it must not
 * lie in the trapped text, or returning from a signal would trap. */
void zmx_sud_restorer(void);
__asm__(
	".text\n"
	".align 16\n"
	".type zmx_sud_restorer, @function\n"
	"zmx_sud_restorer:\n"
	"	mov $15, %eax\n"	/* SYS_rt_sigreturn */
	"	syscall\n"
	".size zmx_sud_restorer, .-zmx_sud_restorer\n");

static long
raw(long nr, long a0, long a1, long a2, long a3)
{
	long a[6] = { a0, a1, a2, a3, 0, 0 };

	return zmx_raw_syscall(nr, a);
}

static void
prog_lock_take(void)
{
	while (__atomic_exchange_n(&prog_lock, 1, __ATOMIC_ACQUIRE))
		raw(SYS_sched_yield, 0, 0, 0, 0);
}

static void
prog_lock_drop(void)
{
	__atomic_store_n(&prog_lock, 0, __ATOMIC_RELEASE);
}

void
zmx_sud_arm(void)
{
	if (!sud_on)
		return;
	raw(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&zmx_sud_conf.sigsys_mask,
	    0, 8);
	raw(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, SUD_INCLUSIVE_ON,
	    (long)text_start, (long)text_len);
}

/* ---- SIGSYS as the program sees it ----------------------------------- */

/* A SIGSYS that is no trap of ours: what the program's handler would
 * have done. */
static void
chain(int sig, siginfo_t *si, void *ctx)
{
	struct ksigaction pa = prog_sigsys;
	struct ksigaction dfl = { .handler = SIG_DFL };

	if (pa.handler == SIG_IGN)
		return;
	if (pa.handler == SIG_DFL) {
		/* die of it, as without the shim (a core, for seccomp) */
		raw(SYS_rt_sigaction, SIGSYS, (long)&dfl, 0, 8);
		raw(SYS_tgkill, raw(SYS_getpid, 0, 0, 0, 0),
		    raw(SYS_gettid, 0, 0, 0, 0), SIGSYS, 0);
		return;
	}
	if (pa.flags & SA_RESETHAND)
		prog_sigsys.handler = SIG_DFL;
	if (pa.flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))(void *)pa.handler)(sig,
		    si, ctx);
	else
		pa.handler(sig);
}

static long
sud_rt_sigaction(const long *a)
{
	const struct ksigaction *act = (const void *)a[1];
	struct ksigaction *old = (void *)a[2], copy;
	long b[6] = { a[0], a[1], a[2], a[3], 0, 0 };

	if (!sud_on)
		return ZMX_SYS_LOCAL;
	if (a[0] == SIGSYS) {
		if (a[3] != 8)
			return -EINVAL;
		prog_lock_take();
		if (old != NULL)
			*old = prog_sigsys;
		if (act != NULL)
			prog_sigsys = *act;
		prog_lock_drop();
		return 0;
	}
	if (act != NULL) {
		/* SIGSYS stays deliverable while the handler runs, and its
		 * return must not trap */
		copy = *act;
		copy.mask &= ~SIGSYS_BIT;
		if ((copy.flags & SA_RESTORER) &&
		    (unsigned long)copy.restorer - text_start < text_len)
			copy.restorer = zmx_sud_restorer;
		b[1] = (long)&copy;
	}
	return zmx_raw_syscall(SYS_rt_sigaction, b);
}

static long
sud_rt_sigprocmask(const long *a)
{
	unsigned long m;
	long b[6] = { a[0], a[1], a[2], a[3], 0, 0 };

	if (!sud_on || a[1] == 0 || a[0] == SIG_UNBLOCK)
		return ZMX_SYS_LOCAL;
	m = *(const unsigned long *)a[1] & ~SIGSYS_BIT;
	b[1] = (long)&m;
	return zmx_raw_syscall(SYS_rt_sigprocmask, b);
}

long
zmx_sud_signals(long nr, const long *a)
{
	if (nr == SYS_rt_sigaction)
		return sud_rt_sigaction(a);
	if (nr == SYS_rt_sigprocmask)
		return sud_rt_sigprocmask(a);
	return ZMX_SYS_LOCAL;
}

/* The libc names for the same, which glibc does not route through any
 * symbol we could catch lower down. */
static void
to_kernel(const struct sigaction *sa, struct ksigaction *k)
{
	memset(k, 0, sizeof(*k));
	k->handler = sa->sa_handler;
	k->flags = (unsigned long)sa->sa_flags;
	memcpy(&k->mask, &sa->sa_mask, sizeof(k->mask));
}

static void
from_kernel(const struct ksigaction *k, struct sigaction *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sa_handler = k->handler;
	sa->sa_flags = (int)(k->flags & ~(unsigned long)SA_RESTORER);
	memcpy(&sa->sa_mask, &k->mask, sizeof(k->mask));
}

ZMX_EXPORT int
sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct ksigaction kact, kold;
	struct sigaction copy;
	long a[6];
	int r;

	zmx_real_ensure();
	if (!sud_on)
		return real_sigaction(sig, act, old);
	if (sig != SIGSYS) {
		if (act == NULL)
			return real_sigaction(sig, act, old);
		copy = *act;
		sigdelset(&copy.sa_mask, SIGSYS);
		return real_sigaction(sig, &copy, old);
	}
	if (act != NULL)
		to_kernel(act, &kact);
	a[0] = SIGSYS;
	a[1] = act != NULL ? (long)&kact : 0;
	a[2] = (long)&kold;
	a[3] = 8;
	if ((r = (int)sud_rt_sigaction(a)) < 0) {
		errno = -r;
		return -1;
	}
	if (old != NULL)
		from_kernel(&kold, old);
	return 0;
}

static sighandler_t
set_handler(int sig, sighandler_t h, int flags)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sa.sa_flags = flags;
	if (sigaction(sig, &sa, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

ZMX_EXPORT sighandler_t
signal(int sig, sighandler_t h)
{
	zmx_real_ensure();
	if (!sud_on || sig != SIGSYS)
		return real_signal(sig, h);
	return set_handler(sig, h, SA_RESTART);
}

ZMX_EXPORT sighandler_t
bsd_signal(int sig, sighandler_t h)
{
	return signal(sig, h);
}

ZMX_EXPORT sighandler_t
sysv_signal(int sig, sighandler_t h)
{
	zmx_real_ensure();
	if (!sud_on || sig != SIGSYS)
		return real_sysv_signal(sig, h);
	return set_handler(sig, h, SA_RESETHAND | SA_NODEFER);
}

static int
mask_call(int how, const sigset_t *set, sigset_t *old,
    int (*real)(int, const sigset_t *, sigset_t *))
{
	sigset_t copy;

	if (!sud_on || set == NULL || how == SIG_UNBLOCK)
		return real(how, set, old);
	copy = *set;
	sigdelset(&copy, SIGSYS);
	return real(how, &copy, old);
}

ZMX_EXPORT int
sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	zmx_real_ensure();
	return mask_call(how, set, old, real_sigprocmask);
}

ZMX_EXPORT int
pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	zmx_real_ensure();
	return mask_call(how, set, old, real_pthread_sigmask);
}

/* ---- the trap ------------------------------------------------------- */

/* clone, fork and vfork from the program's text run here, in the
 * handler: a child that shares the memory would return through the
 * handler's frame on the parent's stack, so a vfork becomes a fork, and
 * a new thread on its own stack cannot be made here at all (programs
 * make threads through pthread_create, and fall back from clone3). A
 * fork child gets what a libc fork child gets from the shim. */
static long
sud_fork(long nr, const long *a)
{
	long b[6] = { a[0], a[1], a[2], a[3], a[4], a[5] }, r;

	if (nr == SYS_clone3)
		return -ENOSYS;
	if (nr == SYS_clone) {
		if ((a[0] & CLONE_VM) && a[1] != 0) {
			zmx_warn("a thread made with a raw clone from the "
			    "program's text: not supported (ENOSYS)");
			return -ENOSYS;
		}
		b[0] &= ~(long)(CLONE_VM | CLONE_VFORK);
	} else {
		nr = SYS_clone;
		memset(b, 0, sizeof(b));
		b[0] = SIGCHLD;
	}
	zmx_fork_prepare();
	r = zmx_raw_syscall(nr, b);
	if (r == 0) {
		zmx_fork_child();
		zmx_sud_arm();
	} else
		zmx_fork_parent();
	return r;
}

static long
sud_call(long nr, const long *a)
{
	long r;

	switch (nr) {
	case SYS_clone:
	case SYS_clone3:
	case SYS_fork:
	case SYS_vfork:
		return sud_fork(nr, a);
	case SYS_execve:
		/* the libc symbol's path: a remote command, or the shim
		 * kept in the new image */
		r = execve((const char *)a[0], (char *const *)a[1],
		    (char *const *)a[2]);
		return r < 0 ? -errno : r;
	}
	if ((r = zmx_sud_signals(nr, a)) != ZMX_SYS_LOCAL)
		return r;
	if (!zmx_guard_enter())
		return zmx_raw_syscall(nr, a);
	r = zmx_sys_dispatch(nr, a);
	zmx_guard_leave();
	return r == ZMX_SYS_LOCAL ? zmx_raw_syscall(nr, a) : r;
}

static void
sigsys_handler(int sig, siginfo_t *si, void *ctx)
{
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	int e = errno;
	long a[6];

	if (si->si_code != SYS_USER_DISPATCH) {
		if (si->si_code == SI_QUEUE && si->si_pid == getpid() &&
		    si->si_value.sival_int == SUD_ARM_MAGIC)
			zmx_sud_arm();
		else
			chain(sig, si, ctx);
		errno = e;
		return;
	}
	a[0] = g[REG_RDI];
	a[1] = g[REG_RSI];
	a[2] = g[REG_RDX];
	a[3] = g[REG_R10];
	a[4] = g[REG_R8];
	a[5] = g[REG_R9];
	g[REG_RAX] = sud_call(si->si_syscall, a);
	errno = e;
}

/* ---- threads -------------------------------------------------------- */

struct start {
	void	*(*fn)(void *);
	void	*arg;
};

static void *
thread_start(void *p)
{
	struct start s = *(struct start *)p;

	free(p);
	zmx_sud_arm();
	return s.fn(s.arg);
}

ZMX_EXPORT int
pthread_create(pthread_t *t, const pthread_attr_t *attr,
    void *(*fn)(void *), void *arg)
{
	struct start *s;
	int r;

	zmx_real_ensure();
	if (!sud_on || (s = malloc(sizeof(*s))) == NULL)
		return real_pthread_create(t, attr, fn, arg);
	s->fn = fn;
	s->arg = arg;
	if ((r = real_pthread_create(t, attr, thread_start, s)) != 0)
		free(s);
	return r;
}

/* Threads that ran before the constructor (a library's constructor may
 * start one): each is asked to arm itself. */
static void
arm_others(void)
{
	char buf[4096];
	long pid = raw(SYS_getpid, 0, 0, 0, 0);
	long self = raw(SYS_gettid, 0, 0, 0, 0), n, off, tid;
	siginfo_t si;
	int fd;

	fd = (int)raw(SYS_openat, AT_FDCWD, (long)"/proc/self/task",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return;
	while ((n = raw(SYS_getdents64, fd, (long)buf, sizeof(buf), 0)) > 0) {
		for (off = 0; off < n;
		    off += ((struct dirent64 *)(buf + off))->d_reclen) {
			const char *name = ((struct dirent64 *)(buf + off))->
			    d_name;

			if (name[0] < '0' || name[0] > '9' ||
			    (tid = atol(name)) == self)
				continue;
			memset(&si, 0, sizeof(si));
			si.si_signo = SIGSYS;
			si.si_code = SI_QUEUE;
			si.si_pid = (pid_t)pid;
			si.si_uid = getuid();
			si.si_value.sival_int = SUD_ARM_MAGIC;
			raw(SYS_rt_tgsigqueueinfo, pid, tid, SIGSYS,
			    (long)&si);
		}
	}
	raw(SYS_close, fd, 0, 0, 0);
}

/* The main executable's text: the span of its executable segments. */
static int
find_text(struct dl_phdr_info *info, size_t size, void *data)
{
	unsigned long lo = ~0UL, hi = 0, s, e;
	int i;

	(void)size;
	(void)data;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		s = info->dlpi_addr + ph->p_vaddr;
		e = s + ph->p_memsz;
		if (s < lo)
			lo = s;
		if (e > hi)
			hi = e;
	}
	if (hi > lo) {
		text_start = lo;
		text_len = hi - lo;
	}
	return 1;	/* the first object is the program */
}

void
zmx_sud_init(void)
{
	const char *v = getenv("ZMX_SUD");
	struct ksigaction ours = {
		.handler = (void (*)(int))(void *)sigsys_handler,
		.flags = SA_SIGINFO | SA_NODEFER | SA_RESTART | SA_RESTORER,
		.restorer = zmx_sud_restorer,
	};
	long r;

	if (v != NULL && strcmp(v, "0") == 0)
		return;
	dl_iterate_phdr(find_text, NULL);
	if (text_len == 0)
		return;
	/* the disposition the program started with is its own */
	if (raw(SYS_rt_sigaction, SIGSYS, 0, (long)&prog_sigsys, 8) < 0 ||
	    raw(SYS_rt_sigaction, SIGSYS, (long)&ours, 0, 8) < 0)
		return;
	r = raw(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, SUD_INCLUSIVE_ON,
	    (long)text_start, (long)text_len);
	if (r < 0) {
		/* before Linux 6.16, or without CONFIG_SYSCALL_USER_DISPATCH */
		zmx_info("raw syscalls in the program are not caught: "
		    "syscall user dispatch: %s", strerror((int)-r));
		raw(SYS_rt_sigaction, SIGSYS, (long)&prog_sigsys, 0, 8);
		return;
	}
	sud_on = 1;
	zmx_sud_arm();
	arm_others();
}
