/* sys.h - syscalls by number, routed to the dispatcher: the table behind
 * the syscall() hook (wrap_syscall.c) and the Syscall User Dispatch
 * handler (sud.c), so both see what the libc symbols see. */
#ifndef ZMX_SYS_H
#define ZMX_SYS_H

/* Not a remote file call: make the real syscall. Below any -errno. */
#define ZMX_SYS_LOCAL	(-100000L)

/* a[6] are the syscall's arguments. Returns its result, -errno, or
 * ZMX_SYS_LOCAL. */
long	zmx_sys_dispatch(long nr, const long *a);

/* The syscall itself, made from the shim's own text (which Syscall User
 * Dispatch never traps): its result or -errno; errno untouched. */
static inline long
zmx_raw_syscall(long nr, const long *a)
{
	register long r10 __asm__("r10") = a[3];
	register long r8 __asm__("r8") = a[4];
	register long r9 __asm__("r9") = a[5];
	long ret;

	__asm__ volatile("syscall"
	    : "=a"(ret)
	    : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8),
	      "r"(r9)
	    : "rcx", "r11", "memory");
	return ret;
}

/* sud.c: Syscall User Dispatch and the shim's ownership of SIGSYS. */
struct zmx_sud_conf {
	long		on;		/* offset 0: raw syscalls are trapped */
	unsigned long	start;		/* 8: the executable's text */
	unsigned long	len;		/* 16 */
	unsigned long	sigsys_mask;	/* 24: SIGSYS's bit, for unblocking */
};
extern struct zmx_sud_conf zmx_sud_conf;
void	zmx_sud_init(void);		/* the constructor, once ready */
void	zmx_sud_arm(void);		/* this thread; a fork child */
/* rt_sigaction and rt_sigprocmask as the program asked for them, with
 * SIGSYS kept for the shim: its handler recorded, never blocked. Both
 * channels (a trap, syscall()) ask first, before the guard: that holds
 * inside the shim too. The result, -errno, or ZMX_SYS_LOCAL (another
 * call, or nothing to change: make it as it is). a[] as
 * zmx_sys_dispatch's. */
long	zmx_sud_signals(long nr, const long *a);

/* init.c: what a fork does to the shim's state, around a fork libc did
 * not make (a raw clone from the program's text). */
void	zmx_fork_prepare(void);
void	zmx_fork_parent(void);
void	zmx_fork_child(void);

#endif
