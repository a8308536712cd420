/* zap.h - the ZAP handler (RFC 27): which CURVE client keys may connect,
 * answered in agentd's own poll loop. */
#ifndef ZMX_ZAP_H
#define ZMX_ZAP_H

#include "authkeys.h"

/* Binds a REP socket to inproc://zeromq.zap.01 in ctx. It must exist
 * before the ROUTER binds. Returns the socket or NULL (errno set). */
void	*zmx_zap_open(void *ctx);

/* Answers one pending ZAP request: 200 with the key's name as User-Id
 * if ak lists the key, else 400. Returns 0 or -errno. */
int	zmx_zap_handle(void *sock, const struct zmx_authkeys *ak);

#endif
