/* wire.c - frames over ZeroMQ: one zmq message per msg.h frame. DEALER
 * sends the frame alone; ROUTER's identity frame is agentd's business. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "keys.h"
#include "wire.h"

int
zmx_wire_send(void *sock, const struct zmx_msg *m, struct zmx_buf *scratch,
    int flags)
{
	int r;

	scratch->len = 0;
	if ((r = zmx_msg_encode(m, scratch)) < 0)
		return r;
	if (zmq_send(sock, scratch->data, scratch->len, flags) < 0)
		return -errno;
	return 0;
}

static void
wire_release(void *mem)
{
	zmq_msg_close(mem);
	free(mem);
}

int
zmx_wire_recv(void *sock, struct zmx_frame *f, int flags, char *why,
    size_t whylen)
{
	zmq_msg_t *raw;

	memset(f, 0, sizeof(*f));
	if ((raw = malloc(sizeof(*raw))) == NULL)
		return -ENOMEM;
	zmq_msg_init(raw);
	f->mem = raw;
	f->release = wire_release;
	f->open = 1;
	if (zmq_msg_recv(raw, sock, flags) < 0)
		return -errno;
	return zmx_msg_decode(&f->msg, zmq_msg_data(raw), zmq_msg_size(raw),
	    why, whylen);
}

int
zmx_wire_common_opts(void *sock)
{
	int64_t max = ZMX_MAX_FRAME;
	int zero = 0;

	if (zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
	    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof(max)) < 0)
		return -errno;
	return 0;
}

int
zmx_wire_client_keys(void *sock, const struct zmx_keypair *kp,
    const char *server_pub)
{
	if (kp == NULL)
		return 0;
	if (server_pub == NULL)
		return -EINVAL;
	if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_pub, 40) < 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, kp->public, 40) < 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, kp->secret, 40) < 0)
		return -errno;
	return 0;
}
