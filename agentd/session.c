/* session.c - HELLO binds a ROUTER identity to a session keyed by the
 * client's token, so threads and forked children of one agent share a
 * scope, a user and uploads (DESIGN.md decision 5). Tables are bounded:
 * idle identities and then their sessions are forgotten. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "log.h"
#include "op.h"
#include "session.h"

#define CONN_BUCKETS	4096
#define IDENT_MAX	255		/* ZeroMQ's routing id limit */

struct conn {
	unsigned char		 id[IDENT_MAX];
	size_t			 idlen;
	struct zmx_session	*s;
	time_t			 last;
	struct conn		*next;
};

/* All of this is written by the main loop only (agentd is one thread):
 * the identity hash table, the session list, and the configuration
 * that HELLO applies. */
static struct conn *conn_table[CONN_BUCKETS];
static size_t conn_count;
static struct zmx_session *session_list;
static size_t session_count;
static const struct zmx_authkeys *session_keys;	/* NULL: no keys */
static char *session_root;			/* without keys */
static int session_ro;

static unsigned
conn_hash(const void *id, size_t len)
{
	const unsigned char *p = id;
	unsigned h = 2166136261u;

	while (len-- > 0)
		h = (h ^ *p++) * 16777619u;
	return h % CONN_BUCKETS;
}

int
zmx_session_setup(const struct zmx_authkeys *ak, const char *root, int ro)
{
	char *r = NULL;

	if (root != NULL && (r = strdup(root)) == NULL)
		return -ENOMEM;
	free(session_root);
	session_root = r;
	session_keys = ak;
	session_ro = ro;
	return 0;
}

static struct conn *
conn_find(const void *id, size_t len, struct conn ***prevp)
{
	struct conn **pp, *c;

	for (pp = &conn_table[conn_hash(id, len)]; (c = *pp) != NULL;
	    pp = &c->next)
		if (c->idlen == len && memcmp(c->id, id, len) == 0) {
			if (prevp != NULL)
				*prevp = pp;
			return c;
		}
	return NULL;
}

static void
conn_unlink(struct conn **pp)
{
	struct conn *c = *pp;

	*pp = c->next;
	if (c->s != NULL)
		c->s->nconns--;
	free(c);
	conn_count--;
}

struct zmx_session *
zmx_session_lookup(const void *ident, size_t len, const char *key,
    time_t now)
{
	struct conn *c;

	if ((c = conn_find(ident, len, NULL)) == NULL)
		return NULL;
	if (strcmp(c->s->key, key ? key : "-") != 0) {
		zmx_warn("identity of session %s (key %s) used by key %s",
		    c->s->tag, c->s->key, key ? key : "-");
		return NULL;
	}
	c->last = now;
	c->s->last = now;
	return c->s;
}

static void
session_free(struct zmx_session *s)
{
	if (s == NULL)
		return;
	zmx_op_put_drop_all(s);
	zmx_scope_fini(&s->scope);
	free(s->groups);
	free(s->keyroot);
	free(s);
}

/* Unbinds every identity of s, unlinks s from the list and frees it. */
static void
session_drop(struct zmx_session *s)
{
	struct zmx_session **sp;
	struct conn **pp;
	unsigned i;

	for (i = 0; i < CONN_BUCKETS && s->nconns > 0; i++)
		for (pp = &conn_table[i]; *pp != NULL;)
			if ((*pp)->s == s)
				conn_unlink(pp);
			else
				pp = &(*pp)->next;
	for (sp = &session_list; *sp != NULL; sp = &(*sp)->next)
		if (*sp == s) {
			*sp = s->next;
			session_count--;
			break;
		}
	zmx_info("session %s (key %s) forgotten", s->tag, s->key);
	session_free(s);
}

/* Binds ident to s, evicting the identity idle longest when full. */
static int
conn_bind(const void *ident, size_t len, struct zmx_session *s, time_t now)
{
	struct conn *c, **pp, **oldest = NULL;
	unsigned i, h;

	if (len == 0 || len > IDENT_MAX)
		return -EINVAL;
	if ((c = conn_find(ident, len, NULL)) != NULL) {
		if (c->s != s) {
			c->s->nconns--;
			c->s = s;
			s->nconns++;
		}
		c->last = now;
		return 0;
	}
	if (conn_count >= ZMX_SESSION_MAX_CONNS) {
		for (i = 0; i < CONN_BUCKETS; i++)
			for (pp = &conn_table[i]; *pp != NULL;
			    pp = &(*pp)->next)
				if (oldest == NULL ||
				    (*pp)->last < (*oldest)->last)
					oldest = pp;
		if (oldest != NULL)
			conn_unlink(oldest);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	memcpy(c->id, ident, len);
	c->idlen = len;
	c->s = s;
	c->last = now;
	h = conn_hash(ident, len);
	c->next = conn_table[h];
	conn_table[h] = c;
	conn_count++;
	s->nconns++;
	return 0;
}

static struct zmx_session *
session_find(const unsigned char *token)
{
	struct zmx_session *s;

	for (s = session_list; s != NULL; s = s->next)
		if (memcmp(s->token, token, ZMX_TOKEN_LEN) == 0)
			return s;
	return NULL;
}

/* Makes room for one more session: the idle one unused longest goes. */
static int
session_room(void)
{
	struct zmx_session *s, *victim = NULL;

	if (session_count < ZMX_SESSION_MAX)
		return 0;
	for (s = session_list; s != NULL; s = s->next)
		if (s->nconns == 0 && (victim == NULL ||
		    s->last < victim->last))
			victim = s;
	if (victim == NULL)
		return -EAGAIN;
	session_drop(victim);
	return 0;
}

static int
session_new(struct zmx_op_ctx *c, const unsigned char *token,
    const char *key, const struct zmx_authkey *k, time_t now,
    struct zmx_session **sp)
{
	struct zmx_session *s;
	const char *root = k ? k->root : session_root;
	int r, i;

	*sp = NULL;
	if ((r = session_room()) < 0)
		return zmx_op_fail(c, r, "too many sessions (%d)",
		    ZMX_SESSION_MAX);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	memcpy(s->token, token, ZMX_TOKEN_LEN);
	snprintf(s->key, sizeof(s->key), "%s", key);
	for (i = 0; i < 4; i++)
		snprintf(s->tag + 2 * i, 3, "%02x", token[i]);
	s->ro = k ? k->ro : session_ro;
	s->last = now;
	if ((s->keyroot = strdup(root)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = zmx_scope_init(&s->scope, root)) < 0) {
		zmx_op_fail(c, r, "root %s: %s", root, strerror(-r));
		goto out;
	}
	if (k != NULL && k->user != NULL) {
		s->creds.uid = k->uid;
		s->creds.gid = k->gid;
		if ((s->groups = calloc(k->ngroups + 1, sizeof(gid_t))) ==
		    NULL) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(s->groups, k->groups, k->ngroups * sizeof(gid_t));
		s->creds.groups = s->groups;
		s->creds.ngroups = k->ngroups;
	} else {
		s->creds.uid = geteuid();
		s->creds.gid = getegid();
		s->creds.ngroups = -1;		/* agentd's own: no switch */
	}
	s->next = session_list;
	session_list = s;
	session_count++;
	*sp = s;
	zmx_info("session %s: key %s, root %s%s, from %s", s->tag, s->key,
	    root, s->ro ? " (read-only)" : "", c->peer);
	return 0;
out:
	session_free(s);
	return r;
}

/* A refused HELLO: audited and logged, then answered with err. */
static int
refuse(struct zmx_op_ctx *c, const char *key, const char *tag, int err,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
refuse(struct zmx_op_ctx *c, const char *key, const char *tag, int err,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	zmx_warn("hello from %s (key %s) refused: %s", c->peer, key,
	    c->detail);
	zmx_audit_log(key, tag, "hello", NULL, NULL, c->peer, -err);
	return err;
}

int
op_hello(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_hello *h = &m->u.hello;
	const struct zmx_authkey *k = NULL;
	struct zmx_session *s;
	const char *key = "-";
	char tag[9] = "-";
	time_t now = time(NULL);
	int i, r;

	if (session_keys != NULL) {
		key = c->user_id ? c->user_id : "";
		if ((k = zmx_authkeys_find_name(session_keys, key)) == NULL)
			return refuse(c, key, NULL, -EACCES, "key '%s' is "
			    "not (or no longer) authorized", key);
	}
	if (h->token_len == ZMX_TOKEN_LEN)
		for (i = 0; i < 4; i++)
			snprintf(tag + 2 * i, 3, "%02x",
			    ((const unsigned char *)h->token)[i]);
	if (h->version != ZMX_PROTO_VERSION)
		return refuse(c, key, tag, -EPROTO, "client speaks protocol "
		    "version %u, agentd speaks version %u", h->version,
		    ZMX_PROTO_VERSION);
	if (h->token_len != ZMX_TOKEN_LEN)
		return refuse(c, key, NULL, -EINVAL, "token of %zu bytes, "
		    "want %d", h->token_len, ZMX_TOKEN_LEN);
	if ((s = session_find(h->token)) != NULL) {
		if (strcmp(s->key, key) != 0)
			return refuse(c, key, tag, -EPERM, "session %s "
			    "belongs to another key", tag);
	} else if ((r = session_new(c, h->token, key, k, now, &s)) < 0) {
		zmx_audit_log(key, tag, "hello", NULL, NULL, c->peer, -r);
		zmx_warn("hello from %s (key %s): %s", c->peer, key,
		    c->detail[0] ? c->detail : strerror(-r));
		return r;
	}
	if ((r = conn_bind(c->ident, c->identlen, s, now)) < 0)
		return r;
	s->last = now;
	c->s = s;
	zmx_debug("hello from %s (%s): session %s", c->peer,
	    h->client, s->tag);
	c->rep.type = ZMX_MSG_WELCOME;
	c->rep.u.welcome.version = ZMX_PROTO_VERSION;
	c->rep.u.welcome.server = "agentd " ZMX_VERSION;
	c->rep.u.welcome.root = s->scope.root;
	c->rep.u.welcome.flags = s->ro ? ZMX_WELCOME_RO : 0;
	return 0;
}

void
zmx_session_sweep(time_t now)
{
	struct zmx_session *s, *next;
	struct conn **pp;
	unsigned i;

	for (i = 0; i < CONN_BUCKETS; i++)
		for (pp = &conn_table[i]; *pp != NULL;)
			if ((*pp)->last + ZMX_SESSION_IDLE < now)
				conn_unlink(pp);
			else
				pp = &(*pp)->next;
	for (s = session_list; s != NULL; s = next) {
		next = s->next;
		if (s->nconns == 0 && s->last + ZMX_SESSION_IDLE < now)
			session_drop(s);
	}
}

void
zmx_session_rekey(const struct zmx_authkeys *ak)
{
	const struct zmx_authkey *k;
	struct zmx_session *s, *next;

	session_keys = ak;
	for (s = session_list; s != NULL; s = next) {
		next = s->next;
		if (ak == NULL)
			continue;
		k = zmx_authkeys_find_name(ak, s->key);
		if (k != NULL && strcmp(k->root, s->keyroot) == 0 &&
		    k->ro == s->ro && (k->user == NULL ?
		    s->creds.ngroups < 0 : (s->creds.ngroups >= 0 &&
		    k->uid == s->creds.uid && k->gid == s->creds.gid)))
			continue;
		zmx_info("session %s: key %s changed or removed", s->tag,
		    s->key);
		session_drop(s);
	}
}

void
zmx_session_free_all(void)
{
	while (session_list != NULL)
		session_drop(session_list);
	free(session_root);
	session_root = NULL;
}
