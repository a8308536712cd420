/* sys.h - file syscalls by number, routed to the dispatcher: the table
 * behind syscall() now and the Syscall User Dispatch handler next. */
#ifndef ZMX_SYS_H
#define ZMX_SYS_H

/* Not a remote file call: make the real syscall. Below any -errno. */
#define ZMX_SYS_LOCAL	(-100000L)

/* a[6] are the syscall's arguments. Returns its result, -errno, or
 * ZMX_SYS_LOCAL. */
long	zmx_sys_dispatch(long nr, const long *a);

#endif
