/* fuzz.h - what every libFuzzer target here shares: CHECK aborts (so
 * libFuzzer keeps the input) with a line naming the target, FUZZ_NAME,
 * the condition and why it matters. */
#ifndef ZMX_FUZZ_H
#define ZMX_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, what) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s: %s: %s\n", FUZZ_NAME, #cond, what);	\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
