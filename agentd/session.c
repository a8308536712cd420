/* session.c - HELLO binds a ROUTER identity to a session keyed by the
 * client's token, so threads and forked children of one agent share a
 * scope, a user, uploads and a reply cache (DESIGN.md decision 5).
 * Tables are bounded per key: a key's flood evicts or refuses only that
 * key's own sessions and connections. Identities whose connection is
 * gone are forgotten at the next sweep, their sessions soon after. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "flow.h"
#include "log.h"
#include "op.h"
#include "proc.h"
#include "replies.h"
#include "session.h"
#include "stage.h"
#include "watch.h"

#define CONN_BUCKETS	4096

struct zmx_limits zmx_limits = {
	.sessions_per_key	= 64,
	.conns_per_key		= 128,
	.inflight_per_conn	= 64,
	.inflight_per_key	= 1024,
	.queued_per_key		= 64u << 20,
	.sessions_max		= 4096,
	.conns_max		= 65536,
	.linger			= 30,
	.watches_per_session	= 16384,
	.watches_per_key	= 65536,
	.procs_per_key		= 64,
};

/* All of this is written by the main loop only (agentd is one thread):
 * the identity hash table, the session list, the keys' quotas, and the
 * configuration that HELLO applies. */
static struct zmx_conn *conn_table[CONN_BUCKETS];
static int conn_count;
static struct zmx_session *session_list;
static int session_count;
static struct zmx_quota *quota_list;
static const struct zmx_authkeys *session_keys;	/* NULL: no keys */
static uint8_t session_cookie[ZMX_COOKIE_LEN];	/* without keys */
static char *session_cookie_path;
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

/* The quota of key, made on first use; NULL when out of memory. Keys
 * come from the authorized keys file (or are "-"), never from a peer,
 * so the list stays as short as that file. */
static struct zmx_quota *
quota_get(const char *key)
{
	struct zmx_quota *q;

	for (q = quota_list; q != NULL; q = q->next)
		if (strcmp(q->key, key) == 0)
			return q;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	snprintf(q->key, sizeof(q->key), "%s", key);
	q->next = quota_list;
	quota_list = q;
	return q;
}

int
zmx_session_sock_alive(int fd, dev_t dev, ino_t ino)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == dev && st.st_ino == ino;
}

int
zmx_session_setup(const struct zmx_authkeys *ak, const char *root, int ro,
    const uint8_t *cookie, const char *cookie_path)
{
	char *r = NULL, *cp = NULL;

	if ((root != NULL && (r = strdup(root)) == NULL) ||
	    (cookie_path != NULL && (cp = strdup(cookie_path)) == NULL)) {
		free(r);
		return -ENOMEM;
	}
	free(session_root);
	session_root = r;
	free(session_cookie_path);
	session_cookie_path = cp;
	if (cookie != NULL)
		memcpy(session_cookie, cookie, ZMX_COOKIE_LEN);
	session_keys = ak;
	session_ro = ro;
	return 0;
}

static struct zmx_conn *
conn_find(const void *id, size_t len, struct zmx_conn ***prevp)
{
	struct zmx_conn **pp, *c;

	for (pp = &conn_table[conn_hash(id, len)]; (c = *pp) != NULL;
	    pp = &c->next)
		if (c->idlen == len && memcmp(c->id, id, len) == 0) {
			if (prevp != NULL)
				*prevp = pp;
			return c;
		}
	return NULL;
}

/* Unbinds an identity: what flow.c held for it goes, and its session,
 * left without any, starts to linger. */
static void
conn_unlink(struct zmx_conn **pp, time_t now)
{
	struct zmx_conn *c = *pp;

	*pp = c->next;
	zmx_flow_forget(c);
	zmx_watch_conn_gone(c);
	if (c->s != NULL) {
		zmx_op_put_conn_gone(c->s, c->id, c->idlen, now);
		if (--c->s->nconns == 0)
			c->s->orphan = now;
		c->s->quota->conns--;
	}
	free(c);
	conn_count--;
}

/* Records which socket (libzmq's fd srcfd) a binding came on. */
static void
conn_set_sock(struct zmx_conn *c, int srcfd)
{
	struct stat st;

	c->srcfd = -1;
	if (srcfd >= 0 && fstat(srcfd, &st) == 0 && S_ISSOCK(st.st_mode)) {
		c->srcfd = srcfd;
		c->sdev = st.st_dev;
		c->sino = st.st_ino;
	}
}

struct zmx_session *
zmx_session_lookup(const void *ident, size_t len, const char *key,
    int srcfd, time_t now)
{
	struct zmx_conn *c;

	if ((c = conn_find(ident, len, NULL)) == NULL)
		return NULL;
	/* a binding holds for the connection that said HELLO: a client
	 * that picks the routing id of one that is gone gets none */
	if (c->srcfd >= 0 && !zmx_session_sock_alive(srcfd, c->sdev,
	    c->sino))
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

struct zmx_conn *
zmx_session_conn(const void *ident, size_t len)
{
	return conn_find(ident, len, NULL);
}

static void
session_free(struct zmx_session *s)
{
	if (s == NULL)
		return;
	zmx_proc_session_free(s);
	zmx_stage_drop(s);
	zmx_op_put_drop_all(s);
	zmx_op_lock_drop_all(s);
	zmx_watch_session_free(s);
	zmx_replies_free(s->replies);
	zmx_scope_fini(&s->scope);
	free(s->groups);
	free(s->keyroot);
	free(s);
}

/* Unbinds every identity of s, unlinks s from the list and frees it. */
static void
session_drop(struct zmx_session *s, time_t now)
{
	struct zmx_session **sp;
	struct zmx_conn **pp;
	unsigned i;

	for (i = 0; i < CONN_BUCKETS && s->nconns > 0; i++)
		for (pp = &conn_table[i]; *pp != NULL;)
			if ((*pp)->s == s)
				conn_unlink(pp, now);
			else
				pp = &(*pp)->next;
	for (sp = &session_list; *sp != NULL; sp = &(*sp)->next)
		if (*sp == s) {
			*sp = s->next;
			session_count--;
			s->quota->sessions--;
			break;
		}
	zmx_info("session %s (key %s) forgotten", s->tag, s->key);
	session_free(s);
}

/* Forgets the identities (of quota q's key, or all if q is NULL) whose
 * connection is gone, or, where that cannot be told, that were idle
 * ZMX_SESSION_IDLE seconds. */
static void
conns_reap(const struct zmx_quota *q, time_t now)
{
	struct zmx_conn **pp, *c;
	unsigned i;

	for (i = 0; i < CONN_BUCKETS; i++)
		for (pp = &conn_table[i]; (c = *pp) != NULL;) {
			if ((q == NULL || c->s->quota == q) && (c->srcfd >= 0 ?
			    !zmx_session_sock_alive(c->srcfd, c->sdev,
			    c->sino) : c->last + ZMX_SESSION_IDLE < now))
				conn_unlink(pp, now);
			else
				pp = &c->next;
		}
}

/* Binds ident, which came on libzmq's socket srcfd, to s. Within its
 * key's share first: a full share is first cleared of connections that
 * are gone, then refused. The whole table, when full, loses the
 * identity idle longest. */
static int
conn_bind(struct zmx_op_ctx *oc, struct zmx_session *s, time_t now)
{
	struct zmx_conn *c, **pp, **oldest = NULL;
	unsigned i, h;

	if (oc->identlen == 0 || oc->identlen > ZMX_IDENT_MAX)
		return -EINVAL;
	if ((c = conn_find(oc->ident, oc->identlen, &pp)) != NULL) {
		if (c->s == s) {
			c->last = now;
			conn_set_sock(c, oc->srcfd);
			return 0;
		}
		/* to another session: what it held was the old one's */
		conn_unlink(pp, now);
	}
	if (s->quota->conns >= zmx_limits.conns_per_key)
		conns_reap(s->quota, now);
	if (s->quota->conns >= zmx_limits.conns_per_key)
		return zmx_op_fail(oc, -EAGAIN, "key %s holds %d connections, "
		    "its limit (agentd --max-conns-per-key)", s->key,
		    s->quota->conns);
	if (conn_count >= zmx_limits.conns_max) {
		for (i = 0; i < CONN_BUCKETS; i++)
			for (pp = &conn_table[i]; *pp != NULL;
			    pp = &(*pp)->next)
				if (oldest == NULL ||
				    (*pp)->last < (*oldest)->last)
					oldest = pp;
		if (oldest != NULL)
			conn_unlink(oldest, now);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	memcpy(c->id, oc->ident, oc->identlen);
	c->idlen = oc->identlen;
	c->s = s;
	c->last = now;
	conn_set_sock(c, oc->srcfd);
	c->parked_tail = &c->parked;
	h = conn_hash(oc->ident, oc->identlen);
	c->next = conn_table[h];
	conn_table[h] = c;
	conn_count++;
	s->nconns++;
	s->quota->conns++;
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

/* The session of q's key (or of any key, if q is NULL) that has no
 * connection and was used longest ago, or NULL. */
static struct zmx_session *
session_victim(const struct zmx_quota *q)
{
	struct zmx_session *s, *victim = NULL;

	for (s = session_list; s != NULL; s = s->next)
		if ((q == NULL || s->quota == q) && s->nconns == 0 &&
		    (victim == NULL || s->last < victim->last))
			victim = s;
	return victim;
}

/* Drops the session of q's key (any key's if q is NULL) without a
 * connection used longest ago, after forgetting connections that are
 * gone if none has. 0, or -EAGAIN when every one is in use. */
static int
session_evict(struct zmx_quota *q, time_t now)
{
	struct zmx_session *victim;

	if ((victim = session_victim(q)) == NULL) {
		conns_reap(q, now);
		victim = session_victim(q);
	}
	if (victim == NULL)
		return -EAGAIN;
	session_drop(victim, now);
	return 0;
}

/* Makes room for one more session of q's key: within the key's share,
 * one of its own sessions goes; the whole table, when full, loses the
 * one of any key. Another key's flood thus never takes a key's place. */
static int
session_room(struct zmx_op_ctx *c, struct zmx_quota *q, time_t now)
{
	if (q->sessions >= zmx_limits.sessions_per_key &&
	    session_evict(q, now) < 0)
		return zmx_op_fail(c, -EAGAIN, "key %s holds %d sessions in "
		    "use, its limit (agentd --max-sessions-per-key)", q->key,
		    q->sessions);
	if (session_count >= zmx_limits.sessions_max &&
	    session_evict(NULL, now) < 0)
		return zmx_op_fail(c, -EAGAIN, "%d sessions in use, agentd's "
		    "limit (--max-sessions)", session_count);
	return 0;
}

static int
session_new(struct zmx_op_ctx *c, const unsigned char *token,
    const char *key, const struct zmx_authkey *k, time_t now,
    struct zmx_session **sp)
{
	struct zmx_session *s;
	struct zmx_quota *q;
	const char *root = k ? k->root : session_root;
	int r, i;

	*sp = NULL;
	if ((q = quota_get(key)) == NULL)
		return -ENOMEM;
	if ((r = session_room(c, q, now)) < 0)
		return r;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	memcpy(s->token, token, ZMX_TOKEN_LEN);
	snprintf(s->key, sizeof(s->key), "%s", key);
	for (i = 0; i < 4; i++)
		snprintf(s->tag + 2 * i, 3, "%02x", token[i]);
	s->ro = k ? k->ro : session_ro;
	s->last = s->orphan = now;
	s->quota = q;
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
	q->sessions++;
	*sp = s;
	zmx_info("session %s: key %s, root %s%s, from %s", s->tag, s->key,
	    root, s->ro ? " (read-only)" : "", c->peer);
	return 0;
out:
	session_free(s);
	return r;
}

/* A refused HELLO: audited and logged, then answered with err. */
static int __attribute__((format(printf, 5, 6)))
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

/* Without keys agentd serves only the Unix user who started it: the
 * HELLO must carry the cookie from its state directory, a file only that
 * user (and root) can read (cookie.h). 0 or -EACCES. */
static int
keyless_peer_ok(struct zmx_op_ctx *c, const struct zmx_msg_hello *h)
{
	if (h->cookie_len == ZMX_COOKIE_LEN &&
	    sodium_memcmp(h->cookie, session_cookie, ZMX_COOKIE_LEN) == 0)
		return 0;
	return refuse(c, "-", NULL, -EACCES, "agentd without keys serves only "
	    "uid %u, whose cookie (%s, named by ZMX_COOKIE) this client %s",
	    (unsigned)getuid(), session_cookie_path ? session_cookie_path :
	    "?", h->cookie_len ? "did not send" : "could not read");
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

	c->s = NULL;	/* set again below, once the session is sure */
	if (session_keys != NULL) {
		key = c->user_id ? c->user_id : "";
		if ((k = zmx_authkeys_find_name(session_keys, key)) == NULL)
			return refuse(c, key, NULL, -EACCES, "key '%s' is "
			    "not (or no longer) authorized", key);
	} else if ((r = keyless_peer_ok(c, h)) < 0)
		return r;
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
	if ((r = conn_bind(c, s, now)) < 0) {
		zmx_warn("hello from %s (key %s): %s", c->peer, key,
		    c->detail[0] ? c->detail : strerror(-r));
		return r;
	}
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

int
zmx_session_sweep(time_t now)
{
	struct zmx_session *s, *next;
	int before = conn_count + session_count;

	conns_reap(NULL, now);
	for (s = session_list; s != NULL; s = next) {
		next = s->next;
		if (s->nconns == 0 && s->orphan + zmx_limits.linger <= now)
			session_drop(s, now);
		else
			zmx_op_put_sweep(s, now);
	}
	return before - (conn_count + session_count);
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
		session_drop(s, time(NULL));
	}
}

void
zmx_session_free_all(void)
{
	struct zmx_quota *q;

	while (session_list != NULL)
		session_drop(session_list, time(NULL));
	while ((q = quota_list) != NULL) {
		quota_list = q->next;
		free(q);
	}
	free(session_root);
	session_root = NULL;
	free(session_cookie_path);
	session_cookie_path = NULL;
	sodium_memzero(session_cookie, sizeof(session_cookie));
}
