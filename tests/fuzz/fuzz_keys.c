/* fuzz_keys.c - libFuzzer target for zmx_keys_parse() (common/keys.c): a
 * key file is any bytes. What it accepts must be well-formed Z85; what it
 * refuses must say why. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

#define FUZZ_NAME "fuzz_keys"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zmx_keypair kp;
	char why[256];
	char *text;
	int need_secret, r;

	if (size < 1)
		return 0;
	/* the first byte picks the mode; the text is an exact-size copy so
	 * ASan sees any read past its end */
	need_secret = data[0] & 1;
	if ((text = malloc(size - 1 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	why[0] = '\0';
	r = zmx_keys_parse(text, size - 1, need_secret, &kp, why,
	    sizeof(why));
	CHECK(r == 0 || r == -EINVAL, "unexpected error");
	if (r == 0) {
		CHECK(zmx_keys_valid_z85(kp.public, strlen(kp.public)),
		    "accepted a bad public key");
		CHECK(kp.secret[0] == '\0' ||
		    zmx_keys_valid_z85(kp.secret, strlen(kp.secret)),
		    "accepted a bad secret key");
		CHECK(!need_secret || kp.secret[0] != '\0',
		    "no secret but need_secret");
	} else {
		CHECK(why[0] != '\0', "a refusal without a reason");
		CHECK(memchr(why, '\0', sizeof(why)) != NULL,
		    "why[] not terminated");
	}
	free(text);
	return 0;
}
