/* dispatch.h - reading one request from the ROUTER and answering it. */
#ifndef ZMX_DISPATCH_H
#define ZMX_DISPATCH_H

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
