/* uprec.h - records of unfinished uploads in agentd's state directory:
 * one small file per upload naming its temp file, so that the temp
 * files of an agentd that was killed are removed when it starts again. */
#ifndef ZMX_UPREC_H
#define ZMX_UPREC_H

#include <limits.h>
#include <stddef.h>

/* An upload's temp file: ".<name>.zmx-XXXXXX" beside its target. */
#define ZMX_TEMP_SUFFIX	".zmx-"
#define ZMX_TEMP_RAND	6

#define ZMX_UPREC_NAME	48	/* a record's file name, with its NUL */

/* Takes dir (made 0700 if missing) as the state directory: locks it
 * (one agentd a directory), then removes the temp files its records
 * name and the records. Returns 0, or -errno with why[] filled. */
int	zmx_uprec_open(const char *dir, char *why, size_t whylen);
void	zmx_uprec_close(void);

/* Records temp file tmp in directory dirfd; name[] gets the record's
 * name ("" when none was made). 0 or -errno. Call with agentd's own
 * ids. */
int	zmx_uprec_add(int dirfd, const char *tmp, char *name, size_t len);
/* Removes a record (the upload ended either way). */
void	zmx_uprec_remove(const char *name);

/* A record's text: the temp file's directory, absolute, and the temp
 * file's name, each with bytes that are not printable (and '%') as %XX
 * and a newline. format writes it to buf; parse reads it back into
 * dir[PATH_MAX] and tmp[NAME_MAX + 1], refusing (-EINVAL) anything else,
 * including a name that is not a temp file's. */
int	zmx_uprec_format(const char *dir, const char *tmp, char *buf,
	    size_t len);
int	zmx_uprec_parse(const char *buf, size_t len, char *dir, char *tmp);

/* Whether name is ".<something>.zmx-XXXXXX". */
int	zmx_uprec_is_temp(const char *name);

#endif
