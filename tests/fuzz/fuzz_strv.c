/* fuzz_strv.c - libFuzzer target for zmx_strv_parse() (common/strv.c):
 * SPAWN's argv and env are any bytes a peer sends. What it accepts is a
 * vector whose strings, NULs put back, are the input again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

#define FUZZ_NAME "fuzz_strv"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, **v;
	size_t n, i, off = 0, k;
	long c;

	/* an exact-size copy, so ASan sees any read past its end */
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	c = zmx_strv_count(buf, size);
	if (zmx_strv_parse(buf, size, &v, &n) == 0) {
		CHECK(c >= 0 && (size_t)c == n, "count and parse disagree");
		CHECK(size == 0 || buf[size - 1] == '\0', "no final NUL");
		for (i = 0; i < n; i++) {
			k = strlen(v[i]) + 1;
			CHECK(v[i] == buf + off, "a string out of place");
			off += k;
		}
		CHECK(off == size, "bytes left over");
		CHECK(v[n] == NULL, "not NULL-ended");
		free(v);
	} else
		CHECK(c < 0, "parse refused what count accepted");
	free(buf);
	return 0;
}
