/* local.h - the local leg: msg.h frames between the shim and its session
 * process over a Unix stream socket. A frame is its length (4 bytes, little
 * endian) and then its bytes; a frame may carry one fd, passed with
 * SCM_RIGHTS on its first byte (zmx-protocol(7), LOCAL LEG). */
#ifndef ZMX_LOCAL_H
#define ZMX_LOCAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ZMX_LOCAL_HDR		4
#define ZMX_LOCAL_SOCK		"sock"	/* its name in ZMX_SESSION_DIR */

/* The mtime a clean memfd of the session's file cache carries: a write
 * (or the first write through a mapping) moves it, so "changed since
 * fetched or written back" is one fstat, in any process. */
#define ZMX_MEMFD_CLEAN_SEC	1
#define ZMX_MEMFD_CLEAN_NSEC	20251125

/* FOPEN flags are open(2)'s (O_ACCMODE, O_CREAT, O_EXCL, O_TRUNC,
 * O_APPEND, O_NOFOLLOW, O_DIRECTORY), as on every Linux of x86_64. */

static inline void
zmx_local_hdr(unsigned char *h, uint32_t len)
{
	h[0] = len & 0xff;
	h[1] = len >> 8 & 0xff;
	h[2] = len >> 16 & 0xff;
	h[3] = len >> 24 & 0xff;
}

static inline uint32_t
zmx_local_len(const unsigned char *h)
{
	return (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
	    (uint32_t)h[3] << 24;
}

/* One sendmsg of len bytes, with passfd attached if >= 0 (it is sent with
 * the first byte only if that byte goes). MSG_NOSIGNAL, MSG_DONTWAIT if
 * nonblock. Returns the bytes sent or -errno. */
ssize_t	zmx_local_send(int sock, const void *buf, size_t len, int passfd,
	    int nonblock);

/* All of buf, blocking, passing no fd (EINTR retried). 0 or -errno.
 * Allocates nothing: a vfork child may call it. */
int	zmx_local_send_all(int sock, const void *buf, size_t len);

/* One recvmsg into buf; an fd that comes with the bytes is stored in
 * *fdp (close-on-exec), which the caller set to -1 (a second one is
 * closed). Returns the bytes read, 0 at end of stream, or -errno. */
ssize_t	zmx_local_recv(int sock, void *buf, size_t len, int *fdp,
	    int nonblock);

#endif
