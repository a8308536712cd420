/* dispatch.h - reading one request from the ROUTER and answering it. */
#ifndef ZMX_DISPATCH_H
#define ZMX_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

struct zmx_msg;
struct zmx_op_ctx;

/* Where the answer to a request goes when its handler gives it later
 * (a command's start, its output): the peer's ROUTER identity, copied,
 * and the request's id. */
struct zmx_later {
	unsigned char	 ident[255];	/* ZMX_IDENT_MAX */
	size_t		 identlen;
	uint64_t	 id;
};

/* The ROUTER that later answers go out on (set before serving). */
void	zmx_dispatch_init(void *sock);

/* Called by a handler that answers request id later: fills l, and the
 * request gets no reply now and no place in the reply cache. */
void	zmx_dispatch_defer(struct zmx_op_ctx *c, uint64_t id,
	    struct zmx_later *l);

/* Sends rep (its id is set from l) to where l says, after the INVALs of
 * every change made so far (zmx_watch_drain, then push): what a command
 * changed is told before the OUTPUT that says it ended. Behind a reply
 * the peer has not taken yet it waits its turn; to a peer that is gone
 * it is dropped. Returns 0 or -errno (logged). */
int	zmx_dispatch_later(const struct zmx_later *l, struct zmx_msg *rep);
/* Sends later answers that waited behind another reply; whether any
 * still waits (the loop polls again soon). */
int	zmx_dispatch_later_flush(void);

/* Receives one [identity][frame] without waiting and replies to it.
 * Returns 1 if a request was handled, 0 if none was waiting, -errno if
 * the socket failed. Bad input is answered and logged, never fatal. */
int	zmx_dispatch_one(void *sock);
/* Sends replies that had no room and runs the requests waiting behind
 * them (flow.c), for peers that read again. */
int	zmx_dispatch_resume(void *sock);	/* whether anything moved */
/* Frees the scratch buffers (at exit, for leak checkers). */
void	zmx_dispatch_fini(void);

#endif
