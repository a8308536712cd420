/* err.h - errno as it crosses the wire: a number plus a name, so a peer
 * with other numbers still understands (errnames.def). */
#ifndef ZMX_ERR_H
#define ZMX_ERR_H

/* "ENOENT" for ENOENT; "EIO" for a value the table does not list. */
const char	*zmx_err_name(int err);
/* The local errno for a name; EIO for a name the table does not list. */
int		 zmx_err_from_name(const char *name);

#endif
