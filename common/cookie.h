/* cookie.h - the proof a client gives an agentd without keys that it
 * runs as the user who started it: 32 random bytes agentd keeps in a file
 * only that user can read (its state directory), sent in HELLO. Like an
 * X11 cookie; a peer's fd-based credentials would be read too late to be
 * trusted (libzmq may have reused the fd number by then). */
#ifndef ZMX_COOKIE_H
#define ZMX_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#define ZMX_COOKIE_LEN		32	/* bytes; the file holds them in hex */
#define ZMX_COOKIE_NAME		"cookie"

/* agentd's default state directory for this user: /var/lib/agentd for
 * root, else $XDG_STATE_HOME/agentd or ~/.local/state/agentd. Writes it
 * to buf and returns 0, or -ENOENT when there is no HOME to use. */
int	zmx_cookie_default_dir(char *buf, size_t len);

/* The cookie file a client reads: $ZMX_COOKIE if set, else the default
 * state directory's. 0, or -errno. */
int	zmx_cookie_client_path(char *buf, size_t len);

/* Reads a cookie file (64 hex digits and a newline). Raw system calls,
 * no allocation: the shim calls it in its constructor. 0, -errno, or
 * -EINVAL for a file that is not a cookie. */
int	zmx_cookie_read(const char *path, uint8_t cookie[ZMX_COOKIE_LEN]);

/* A client's cookie, from zmx_cookie_client_path(): ZMX_COOKIE_LEN,
 * or 0 when there is none to read (fine with keys). No allocation. */
size_t	zmx_cookie_client(uint8_t cookie[ZMX_COOKIE_LEN]);

/* agentd: reads the cookie at path, or makes a new one there (mode
 * 0600) if there is none. 0 or -errno. */
int	zmx_cookie_make(const char *path, uint8_t cookie[ZMX_COOKIE_LEN]);

#endif
