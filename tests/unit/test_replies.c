/* test_replies.c - the reply cache: an answer kept is found by id and
 * type only; the oldest go first, by count and by bytes; an answer too
 * big to keep is not kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replies.h"
#include "tap.h"

#define RQ	"rq", 2		/* a request frame and its length */

int
main(void)
{
	struct zmx_replies *r = NULL;
	static char big[ZMX_REPLIES_ONE + 1];
	char frame[64];
	const char *got;
	size_t len = 0;
	unsigned i;

	ok(zmx_replies_get(NULL, 1, 30, RQ, &len) == NULL, "an empty cache");
	ok(zmx_replies_put(&r, 0x100000001ull, 30, RQ, "ok-1", 4) == 0 &&
	    r != NULL,
	    "an answer kept");
	got = zmx_replies_get(r, 0x100000001ull, 30, RQ, &len);
	ok(got != NULL && len == 4 && memcmp(got, "ok-1", 4) == 0,
	    "found by id and type");
	ok(zmx_replies_get(r, 0x100000001ull, 32, RQ, &len) == NULL,
	    "not for another type");
	ok(zmx_replies_get(r, 0x200000001ull, 30, RQ, &len) == NULL,
	    "not for another nonce");
	ok(zmx_replies_get(r, 0x100000001ull, 30, "rx", 2, &len) == NULL,
	    "not for another request that drew the same id");
	ok(zmx_replies_digest("mkdir /a", 8) != zmx_replies_digest("mkdir /b",
	    8), "digests tell requests apart");
	ok(zmx_replies_put(&r, 7, 17, RQ, big, sizeof(big)) == 0 &&
	    zmx_replies_get(r, 7, 17, RQ, &len) == NULL,
	    "a big answer is not kept");

	for (i = 0; i < ZMX_REPLIES_MAX; i++) {
		snprintf(frame, sizeof(frame), "answer %u", i);
		zmx_replies_put(&r, 1000 + i, 30, RQ, frame, strlen(frame));
	}
	ok(zmx_replies_get(r, 0x100000001ull, 30, RQ, &len) == NULL,
	    "the oldest went after %d more", ZMX_REPLIES_MAX);
	got = zmx_replies_get(r, 1000, 30, RQ, &len);
	ok(got != NULL && len == 8 && memcmp(got, "answer 0", 8) == 0,
	    "the last %d are all there", ZMX_REPLIES_MAX);
	ok(zmx_replies_get(r, 1000 + ZMX_REPLIES_MAX - 1, 30, RQ, &len) != NULL,
	    "the newest too");

	/* 20 answers of 60 KiB: at most 1 MiB of them stays */
	memset(big, 'x', sizeof(big));
	for (i = 0; i < 20; i++)
		zmx_replies_put(&r, 5000 + i, 17, RQ, big, 60 << 10);
	ok(zmx_replies_get(r, 5019, 17, RQ, &len) != NULL && len == 60 << 10,
	    "the newest big answer is kept");
	ok(zmx_replies_get(r, 5000, 17, RQ, &len) == NULL,
	    "the oldest went to keep the bytes under %u", ZMX_REPLIES_BYTES);
	ok(zmx_replies_get(r, 5020 - ZMX_REPLIES_BYTES / (60 << 10), 17, RQ,
	    &len) != NULL, "as many as fit are kept");
	zmx_replies_free(r);
	zmx_replies_free(NULL);
	return tap_done();
}
