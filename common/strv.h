/* strv.h - string vectors as they cross the wire: NUL-ended strings one
 * after another in a BIN field (SPAWN's argv and env). */
#ifndef ZMX_STRV_H
#define ZMX_STRV_H

#include <stddef.h>

#define ZMX_STRV_MAX	(1u << 18)	/* strings in one vector */

/* How many strings buf[len] holds: 0 for an empty buffer, -EINVAL when
 * its last byte is not a NUL or it holds more than ZMX_STRV_MAX. */
long	zmx_strv_count(const void *buf, size_t len);

/* A NULL-ended array of pointers into buf (which must outlive it), and
 * the count in *np. Free the array with free(). 0, -EINVAL as above, or
 * -ENOMEM. */
int	zmx_strv_parse(const void *buf, size_t len, char ***vp, size_t *np);

#endif
