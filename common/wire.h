/* wire.h - moving msg.h frames over ZeroMQ sockets, and the socket
 * options both ends agree on (CURVE keys, limits, linger). */
#ifndef ZMX_WIRE_H
#define ZMX_WIRE_H

#include <zmq.h>

#include "msg.h"

struct zmx_keypair;

/* Encodes m into scratch (reset first) and sends it as one frame.
 * flags are zmq_send()'s. Returns 0 or -errno. */
int	zmx_wire_send(void *sock, const struct zmx_msg *m,
	    struct zmx_buf *scratch, int flags);

/* Receives one frame and decodes it. -EPROTO with why[] filled if the
 * bytes are not a frame (f->msg.type/id are set if they got that far);
 * -errno from zmq otherwise. Always zmx_frame_close() afterwards. */
int	zmx_wire_recv(void *sock, struct zmx_frame *f, int flags, char *why,
	    size_t whylen);

/* Client side: make sock a CURVE client with kp (may be NULL: no
 * security) towards a server whose public key is server_pub (Z85). */
int	zmx_wire_client_keys(void *sock, const struct zmx_keypair *kp,
	    const char *server_pub);

/* Common options: no linger on close, frames at most ZMX_MAX_FRAME. */
int	zmx_wire_common_opts(void *sock);

#endif
