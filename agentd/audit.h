/* audit.h - the append-only audit log: one line per request that
 * changes something, and per refused client, each written whole. */
#ifndef ZMX_AUDIT_H
#define ZMX_AUDIT_H

/* Opens path O_APPEND (created 0640). NULL or never called: no log.
 * Returns 0 or -errno. */
int	zmx_audit_open(const char *path);
void	zmx_audit_close(void);
int	zmx_audit_enabled(void);

/* One line: time key= session= op= [path=] [to=] [peer=] result=.
 * tag is the session's first 8 hex digits or NULL ("-"); path, to and
 * peer may be NULL (left out); err is 0 (result=ok) or an errno. */
void	zmx_audit_log(const char *key, const char *tag, const char *op,
	    const char *path, const char *to, const char *peer, int err);

/* One line when a command ends: time key= session= op=command path=
 * (its cwd) argv= (each argument escaped, then joined by commas, a
 * comma in one written %2C) exit=N or signal=NAME ms= result=ok. */
void	zmx_audit_command(const char *key, const char *tag,
	    char *const *argv, const char *cwd, int status, long ms);

/* Writes s into out (outlen >= 4) with ' ', '%', '=', bytes below 0x21
 * and from 0x7f as %XX, so that every line splits on spaces. Returns
 * the length; output that would not fit is cut at a whole escape. */
int	zmx_audit_escape(const char *s, char *out, size_t outlen);

#endif
