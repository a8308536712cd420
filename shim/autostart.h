/* autostart.h - starting a session process for a program preloaded
 * without zmx run. */
#ifndef ZMX_AUTOSTART_H
#define ZMX_AUTOSTART_H

#include <stddef.h>

/* Starts `zmx session --for <this pid>`, writes its directory to dir and
 * sets ZMX_SESSION_DIR. 0 or -errno after a message. */
int	zmx_autostart(char *dir, size_t len);

#endif
