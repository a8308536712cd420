/* keys.h - CURVE key files. A key file holds "public <Z85>" and, for a
 * secret key file, "secret <Z85>" lines; '#' starts a comment. Secret
 * halves live in sodium_malloc() memory and are wiped on free. */
#ifndef ZMX_KEYS_H
#define ZMX_KEYS_H

#define ZMX_Z85_LEN	40	/* a Z85-encoded 32-byte key */

struct zmx_keypair {
	char	public[ZMX_Z85_LEN + 1];
	char	secret[ZMX_Z85_LEN + 1];	/* "" for a public key file */
};

/* Loads a key file. With need_secret, a file without a secret line is
 * an error. Returns 0 or -errno; *kpp is NULL on failure. why[] says
 * what was wrong with the file, naming the line. */
int	zmx_keys_load(const char *path, int need_secret,
	    struct zmx_keypair **kpp, char *why, size_t whylen);
/* Parses key file text (the decoder the fuzzer exercises). */
int	zmx_keys_parse(const char *text, size_t len, int need_secret,
	    struct zmx_keypair *kp, char *why, size_t whylen);
/* A fresh pair from zmq_curve_keypair(); NULL on failure. */
struct zmx_keypair *zmx_keys_generate(void);
/* Writes base.key (0600, both halves) and base.pub. Returns 0/-errno. */
int	zmx_keys_save(const struct zmx_keypair *kp, const char *base);
void	zmx_keys_free(struct zmx_keypair *kp);
/* Whether s is a well-formed Z85 key of 40 characters. */
int	zmx_keys_valid_z85(const char *s, size_t len);

#endif
