/* authkeys.h - the authorized-keys file: which CURVE client keys agentd
 * accepts, and for each its root, read-only flag and Unix user. */
#ifndef ZMX_AUTHKEYS_H
#define ZMX_AUTHKEYS_H

#include <stddef.h>
#include <sys/types.h>

#include "keys.h"

#define ZMX_AUTHKEY_NAME_MAX	64	/* bytes in a key's name */
#define ZMX_AUTHKEYS_MAX_FILE	(1u << 20)

struct zmx_authkey {
	char	 key[ZMX_Z85_LEN + 1];	/* Z85 public key */
	char	 name[ZMX_AUTHKEY_NAME_MAX + 1];	/* ZAP User-Id */
	char	*root;			/* absolute directory */
	int	 ro;
	char	*user;			/* NULL: agentd's own user */
	int	 line;			/* in the file, for messages */
	uid_t	 uid;			/* set by zmx_authkeys_resolve() */
	gid_t	 gid;
	gid_t	*groups;
	int	 ngroups;
};

struct zmx_authkeys {
	struct zmx_authkey	*v;
	size_t			 n;
};

/* Parses the file's text (any bytes: the fuzz target calls this). On
 * failure returns -EINVAL with "LINE: reason" in why; *akp is NULL.
 * Users are not looked up here; see zmx_authkeys_resolve(). */
int	zmx_authkeys_parse(const char *text, size_t len,
	    struct zmx_authkeys **akp, char *why, size_t whylen);

/* Looks up each key's user (getpwnam, getgrouplist) and checks that its
 * root is a directory. Not root ourselves, a key for another user is
 * refused. Returns 0 or -errno with "LINE: reason" in why. */
int	zmx_authkeys_resolve(struct zmx_authkeys *ak, char *why,
	    size_t whylen);

/* Reads, parses and resolves a file: why says "FILE:LINE: reason". */
int	zmx_authkeys_load(const char *path, struct zmx_authkeys **akp,
	    char *why, size_t whylen);

/* The entry for a Z85 key or for a name; NULL if not listed. Borrowed:
 * valid until zmx_authkeys_free(ak). */
const struct zmx_authkey *zmx_authkeys_find_key(const struct zmx_authkeys *ak,
	    const char *z85);
const struct zmx_authkey *zmx_authkeys_find_name(
	    const struct zmx_authkeys *ak, const char *name);

void	zmx_authkeys_free(struct zmx_authkeys *ak);

#endif
