/* hex.h - one hexadecimal digit's value, for the few places that read
 * hex (session tokens, upload records, test tools). Async-signal-safe. */
#ifndef ZMX_HEX_H
#define ZMX_HEX_H

/* 0..15, or -1 if c is not a hex digit (either case). */
static inline int
zmx_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
