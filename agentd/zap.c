/* zap.c - the ZAP handler (zap.h). libzmq asks it, over an inproc REP
 * socket, about every CURVE handshake on the ROUTER; a key not in the
 * authorized-keys file gets 400 and its connection never carries a
 * message, which a DEALER sees as silence. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "audit.h"
#include "log.h"
#include "zap.h"

#define ZAP_ENDPOINT	"inproc://zeromq.zap.01"
#define ZAP_FRAMES	7	/* version id domain address identity
				   mechanism key (CURVE has one key) */

void *
zmx_zap_open(void *ctx)
{
	void *sock;
	int zero = 0;

	if ((sock = zmq_socket(ctx, ZMQ_REP)) == NULL)
		return NULL;
	if (zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
	    zmq_bind(sock, ZAP_ENDPOINT) < 0) {
		int e = errno;

		zmq_close(sock);
		errno = e;
		return NULL;
	}
	return sock;
}

/* A frame as a C string (cut to fit), for logging and comparing. */
static void
frame_str(zmq_msg_t *f, char *out, size_t outlen)
{
	size_t n = zmq_msg_size(f);

	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, zmq_msg_data(f), n);
	out[n] = '\0';
}

static int
reply(void *sock, zmq_msg_t *id, const char *code, const char *text,
    const char *user)
{
	if (zmq_send(sock, "1.0", 3, ZMQ_SNDMORE) < 0 ||
	    zmq_send(sock, zmq_msg_data(id), zmq_msg_size(id),
	    ZMQ_SNDMORE) < 0 ||
	    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE) < 0 ||
	    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE) < 0 ||
	    zmq_send(sock, user, strlen(user), ZMQ_SNDMORE) < 0 ||
	    zmq_send(sock, "", 0, 0) < 0)
		return -errno;
	return 0;
}

int
zmx_zap_handle(void *sock, const struct zmx_authkeys *ak)
{
	zmq_msg_t f[ZAP_FRAMES], extra;
	const struct zmx_authkey *k = NULL;
	char version[8], mech[16], addr[64], z85[41] = "", short8[9];
	int n = 0, more = 1, r;
	size_t len = sizeof(more);

	/* read every frame, keeping the first ZAP_FRAMES */
	while (more) {
		zmq_msg_t *m = n < ZAP_FRAMES ? &f[n] : &extra;

		zmq_msg_init(m);
		if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) < 0) {
			r = -errno;
			zmq_msg_close(m);
			goto out;
		}
		if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len) < 0)
			more = 0;
		if (n < ZAP_FRAMES)
			n++;
		else
			zmq_msg_close(m);
	}
	if (n < 6) {
		zmx_warn("ZAP request of %d frames", n);
		r = n >= 2 ? reply(sock, &f[1], "500", "bad request", "") :
		    -EPROTO;
		goto out;
	}
	frame_str(&f[0], version, sizeof(version));
	frame_str(&f[3], addr, sizeof(addr));
	frame_str(&f[5], mech, sizeof(mech));
	if (strcmp(version, "1.0") != 0) {
		r = reply(sock, &f[1], "500", "version 1.0 only", "");
		goto out;
	}
	if (strcmp(mech, "CURVE") == 0 && n == 7 && zmq_msg_size(&f[6]) == 32)
		zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
	if (z85[0] != '\0')
		k = zmx_authkeys_find_key(ak, z85);
	if (k == NULL) {
		snprintf(short8, sizeof(short8), "%.8s", z85[0] ? z85 : mech);
		zmx_warn("refused key %s from %s: not in the authorized keys",
		    short8, addr);
		zmx_audit_log(short8, NULL, "auth", NULL, NULL, addr, EACCES);
		r = reply(sock, &f[1], "400", "key not authorized", "");
		goto out;
	}
	zmx_info("key %s (%.8s) connected from %s", k->name, z85, addr);
	r = reply(sock, &f[1], "200", "OK", k->name);
out:
	while (n > 0)
		zmq_msg_close(&f[--n]);
	return r;
}
