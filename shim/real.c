/* real.c - finds the next definition of every interposed libc function,
 * once, with dlsym(RTLD_NEXT). A name this libc lacks stays NULL and its
 * wrapper answers ENOSYS. */
#include <dlfcn.h>

#include "real.h"

#define REAL(ret, name, args) ret (*real_##name) args;
#include "real.def"
#undef REAL

int zmx_real_ready;

void
zmx_real_init(void)
{
	if (__atomic_load_n(&zmx_real_ready, __ATOMIC_ACQUIRE))
		return;
#define REAL(ret, name, args) \
	real_##name = (ret (*) args)dlsym(RTLD_NEXT, #name);
#include "real.def"
#undef REAL
	__atomic_store_n(&zmx_real_ready, 1, __ATOMIC_RELEASE);
}
