/* real.h - pointers to the libc functions the shim interposes (real.def),
 * so the shim can call the real thing. */
#ifndef ZMX_REAL_H
#define ZMX_REAL_H

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <spawn.h>
#include <utime.h>

#define ZMX_EXPORT __attribute__((visibility("default")))

/* Written once by zmx_real_init() (idempotent, first caller wins, every
 * writer stores the same value); read by every wrapper. */
#define REAL(ret, name, args) extern ret (*real_##name) args;
#include "real.def"
#undef REAL

/* Resolves every real_* pointer. Safe to call more than once. */
void	zmx_real_init(void);
extern int zmx_real_ready;

#endif
