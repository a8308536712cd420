/* peer.h - who is at the other end of a local connection: the Unix user
 * of a peer on a Unix socket or on loopback TCP. */
#ifndef ZMX_PEER_H
#define ZMX_PEER_H

#include <sys/types.h>

/* The uid of the process that owns the other end of socket fd (libzmq's
 * ZMQ_SRCFD of a request). AF_UNIX: SO_PEERCRED. TCP: the kernel's
 * socket table (sock_diag), which knows the owner of the peer's socket
 * when it is on this machine. 0, or -errno (-ENOENT: peer not local). */
int	zmx_peer_uid(int fd, uid_t *uidp);

#endif
