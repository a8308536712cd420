/* clock.h - the monotonic milliseconds every timeout and timer here is
 * counted in. */
#ifndef ZMX_CLOCK_H
#define ZMX_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
zmx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
