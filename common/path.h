/* path.h - lexical path work: joining and normalising absolute paths.
 * Pure functions; no I/O. */
#ifndef ZMX_PATH_H
#define ZMX_PATH_H

#include <stddef.h>

/* Whether an absolute path is already normal: no "//", no "." or ".."
 * component, no trailing slash (except "/" itself). */
int	zmx_path_is_normal(const char *p);

/* Writes the normal form of base + "/" + rel (rel alone if absolute;
 * base must be absolute) into out. ".." at the root stays at the root,
 * as the kernel does. Returns the length or -ENAMETOOLONG. */
int	zmx_path_join(const char *base, const char *rel, char *out,
	    size_t outlen);

/* Splits "/a/b/c" into its last component; "/" has none (returns ""). */
const char *zmx_path_base(const char *p);

#endif
