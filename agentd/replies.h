/* replies.h - a session's reply cache (DESIGN.md decision 8): the encoded
 * answers to its last requests that changed something, by request id,
 * so that a client's retry (a new connection, the same id) gets the
 * first answer and the change is never made twice. */
#ifndef ZMX_REPLIES_H
#define ZMX_REPLIES_H

#include <stddef.h>
#include <stdint.h>

#define ZMX_REPLIES_MAX		256		/* answers kept per session */
#define ZMX_REPLIES_BYTES	(1u << 20)	/* their bytes, at most */
#define ZMX_REPLIES_ONE		(64u << 10)	/* a bigger one is not kept */

struct zmx_replies;

/* A request's digest: its length and a hash of its first bytes. A
 * retry is the same frame byte for byte; two clients that drew the same
 * id nonce (one in 2^32) would also have to send the same request. */
uint64_t	 zmx_replies_digest(const void *req, size_t reqlen);

/* The kept answer to request req (its frame, reqlen bytes), id id of
 * type type, or NULL. The digest is only worked out for an answer of
 * that id and type. Borrowed until the next zmx_replies_put() or
 * zmx_replies_free(). */
const void	*zmx_replies_get(const struct zmx_replies *r, uint64_t id,
		    uint32_t type, const void *req, size_t reqlen,
		    size_t *lenp);

/* Keeps a copy of an answer, forgetting the oldest beyond the bounds;
 * *rp is made on first use. An answer over ZMX_REPLIES_ONE (a file's
 * content) is not kept: requests whose answer carries data repeat
 * harmlessly. Returns 0 or -ENOMEM (then nothing is kept). */
int		 zmx_replies_put(struct zmx_replies **rp, uint64_t id,
		    uint32_t type, const void *req, size_t reqlen,
		    const void *frame, size_t len);

/* Accepts NULL. */
void		 zmx_replies_free(struct zmx_replies *r);

#endif
