/* replies.c - the reply cache of a session (replies.h): a ring of the
 * last ZMX_REPLIES_MAX answers to requests that changed something. A
 * linear search is a few hundred integer compares, cheaper than the
 * request it saves. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "replies.h"

#define DIGEST_BYTES	4096	/* hashed of a request's start */

struct reply {
	uint64_t	 id;
	uint64_t	 digest;
	uint32_t	 type;
	size_t		 len;
	void		*frame;		/* NULL: an empty slot */
};

struct zmx_replies {
	struct reply	 ring[ZMX_REPLIES_MAX];
	unsigned	 next;		/* the slot written next */
	size_t		 bytes;
};

static void
slot_clear(struct zmx_replies *r, struct reply *e)
{
	r->bytes -= e->len;
	free(e->frame);
	memset(e, 0, sizeof(*e));
}

uint64_t
zmx_replies_digest(const void *req, size_t reqlen)
{
	const unsigned char *p = req;
	uint64_t h = 14695981039346656037ull ^ reqlen;	/* FNV-1a */
	size_t i, n = reqlen < DIGEST_BYTES ? reqlen : DIGEST_BYTES;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

const void *
zmx_replies_get(const struct zmx_replies *r, uint64_t id, uint32_t type,
    const void *req, size_t reqlen, size_t *lenp)
{
	unsigned i;

	if (r == NULL)
		return NULL;
	for (i = 0; i < ZMX_REPLIES_MAX; i++)
		if (r->ring[i].frame != NULL && r->ring[i].id == id &&
		    r->ring[i].type == type && r->ring[i].digest ==
		    zmx_replies_digest(req, reqlen)) {
			*lenp = r->ring[i].len;
			return r->ring[i].frame;
		}
	return NULL;
}

int
zmx_replies_put(struct zmx_replies **rp, uint64_t id, uint32_t type,
    const void *req, size_t reqlen, const void *frame, size_t len)
{
	struct zmx_replies *r = *rp;
	struct reply *e;
	unsigned i;
	void *copy;

	if (len > ZMX_REPLIES_ONE)
		return 0;
	if (r == NULL && (r = *rp = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	if ((copy = malloc(len)) == NULL)
		return -ENOMEM;
	memcpy(copy, frame, len);
	e = &r->ring[r->next];
	slot_clear(r, e);
	/* the oldest go first until the bytes fit */
	for (i = 1; r->bytes + len > ZMX_REPLIES_BYTES &&
	    i < ZMX_REPLIES_MAX; i++)
		slot_clear(r, &r->ring[(r->next + i) % ZMX_REPLIES_MAX]);
	e->id = id;
	e->digest = zmx_replies_digest(req, reqlen);
	e->type = type;
	e->len = len;
	e->frame = copy;
	r->bytes += len;
	r->next = (r->next + 1) % ZMX_REPLIES_MAX;
	return 0;
}

void
zmx_replies_free(struct zmx_replies *r)
{
	unsigned i;

	if (r == NULL)
		return;
	for (i = 0; i < ZMX_REPLIES_MAX; i++)
		free(r->ring[i].frame);
	free(r);
}
