/* fuzz_uprec.c - libFuzzer target for zmx_uprec_parse() (agentd/uprec.c):
 * a record in agentd's state directory is any bytes when something else
 * wrote there. What it accepts names an absolute directory and a temp
 * file's name, and formats back to the same bytes. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uprec.h"

#define FUZZ_NAME "fuzz_uprec"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[PATH_MAX], tmp[NAME_MAX + 1];
	static char again[3 * PATH_MAX + NAME_MAX + 4];
	char *text;
	int n;

	/* an exact-size copy, so ASan sees any read past its end */
	if ((text = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	if (zmx_uprec_parse(text, size, dir, tmp) == 0) {
		CHECK(dir[0] == '/', "a relative directory accepted");
		CHECK(zmx_uprec_is_temp(tmp), "a name that is no temp file");
		CHECK(strchr(tmp, '/') == NULL, "a slash in the name");
		n = zmx_uprec_format(dir, tmp, again, sizeof(again));
		CHECK(n > 0, "an accepted record does not format");
		/* the same record, though escapes may be spelled otherwise
		 * (%2f or %2F, or a byte escaped that needs not be) */
		CHECK(zmx_uprec_parse(again, (size_t)n, dir, tmp) == 0,
		    "a formatted record does not parse");
	}
	free(text);
	return 0;
}
