/* fuzz_msg.c - libFuzzer target for zmx_msg_decode() (common/msg.c), the
 * first code to touch bytes from the peer on both sides. Any input must
 * decode or be refused with a reason; what decodes must survive a round
 * trip: encode it, decode that again, and get the same type, id and, when
 * encoded once more, the same bytes (the encoding is canonical). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

#define CHECK(cond, what) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_msg: %s: %s (type %u id %llu)\n",	\
		    #cond, what, m.type, (unsigned long long)m.id);	\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zmx_msg m, m2, m3;
	struct zmx_buf b = { 0 }, b2 = { 0 };
	char why[256];
	int r;

	/* the vfork child's reader takes anything, and agrees with the
	 * decoder on what a well-formed reply says */
	{
		uint64_t pid;
		int pr = zmx_msg_peek_result(data, size, ZMX_MSG_OK, &pid);

		r = zmx_msg_decode(&m, data, size, why, sizeof(why));
		CHECK(pr <= 0, "peek_result returned > 0");
		if (r == 0 && (m.type == ZMX_MSG_OK || m.type == ZMX_MSG_ERROR))
			CHECK(pr == zmx_msg_result(&m, ZMX_MSG_OK) &&
			    pid == m.id, "peek_result and decode disagree");
		zmx_msg_close(&m);
	}
	r = zmx_msg_decode(&m, data, size, why, sizeof(why));
	CHECK(r == 0 || r == -EPROTO || r == -ENOMEM, "unexpected error");
	CHECK(r == 0 || why[0] != '\0' || r == -ENOMEM,
	    "a refusal without a reason");
	CHECK(memchr(why, '\0', sizeof(why)) != NULL, "why[] not terminated");
	if (r < 0) {
		zmx_msg_close(&m);
		return 0;
	}
	CHECK(zmx_msg_name(m.type) != NULL, "decoded an unknown type");

	/* Round trip. BIN fields of m point into data, of m2 into b. */
	r = zmx_msg_encode(&m, &b);
	CHECK(r == 0, "a decoded message does not encode");
	r = zmx_msg_decode(&m2, b.data, b.len, why, sizeof(why));
	if (r != 0)
		fprintf(stderr, "fuzz_msg: re-decode: %s\n", why);
	CHECK(r == 0, "our own encoding does not decode");
	CHECK(m2.type == m.type, "type changed in a round trip");
	CHECK(m2.id == m.id, "id changed in a round trip");
	r = zmx_msg_encode(&m2, &b2);
	CHECK(r == 0, "a re-decoded message does not encode");
	CHECK(b2.len == b.len && memcmp(b2.data, b.data, b.len) == 0,
	    "encode(decode(encode(m))) differs from encode(m)");

	/* and the decoder's result does not depend on the buffer's bytes
	 * past the frame */
	r = zmx_msg_decode(&m3, b.data, b.len - 1, why, sizeof(why));
	CHECK(r != 0, "a truncated frame decodes");
	zmx_msg_close(&m3);

	zmx_msg_close(&m2);
	zmx_msg_close(&m);
	zmx_buf_free(&b2);
	zmx_buf_free(&b);
	return 0;
}
