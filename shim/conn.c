/* conn.c - per-thread DEALER sockets to agentd, the HELLO that joins them
 * to the session, pipelined request/reply matching by id, one retry on a
 * new connection (same ids: agentd's reply cache answers a request it
 * already carried out), and timeouts that turn a silent agentd into EIO
 * rather than a hang, remembered by the whole session (conn.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "conn.h"
#include "cookie.h"
#include "err.h"
#include "hex.h"
#include "io.h"
#include "keys.h"
#include "log.h"
#include "msg.h"

#define CONN_DEFAULT_ENDPOINT	"tcp://127.0.0.1:7400"
#define CONN_DEFAULT_TIMEOUT	5000
#define CONN_DOWN_MS		5000	/* fail fast this long after a timeout */

/* What every process of a session shares through ZMX_SESSION_DIR/link
 * (a page mapped MAP_SHARED): when agentd last failed to answer, so that
 * a script of many short commands against a stopped agentd pays one
 * timeout, not one per process. CLOCK_MONOTONIC is the machine's. */
struct conn_shared {
	int64_t		 down_until;	/* monotonic ms; 0: up */
};

struct conn {
	void		*sock;
	unsigned	 gen;		/* process generation it belongs to */
	/* Request ids are unique in the session: a random nonce in the
	 * high 32 bits, a counter below. agentd's reply cache keys on
	 * them, and so does an upload, which survives a new socket. */
	uint64_t	 next_id;
	int		 helloed;	/* WELCOME received on this socket */
	uint64_t	 hello_sent;	/* id of a HELLO not yet answered */
	struct zmx_buf	 buf;
};

/* Process-wide state. Written by zmx_conn_init() (constructor, before
 * threads) and under g.lock; zmx_conn_atfork_child() resets what must not
 * cross fork. */
static struct {
	pthread_mutex_t		 lock;
	void			*ctx;
	unsigned		 gen;
	char			 endpoint[512];
	struct zmx_keypair	*kp;
	char			 server_pub[ZMX_Z85_LEN + 1];
	uint8_t			 token[ZMX_TOKEN_LEN];
	uint8_t			 cookie[ZMX_COOKIE_LEN];	/* keyless proof */
	size_t			 cookie_len;	/* 0: none could be read */
	int			 timeout_ms;
	struct conn_shared	 own;		/* without a session dir */
	struct conn_shared	*shared;	/* &own, or the mapped page */
	pthread_key_t		 key;		/* closes a thread's socket */
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .shared = &g.own };

/* Statistics: relaxed atomic counters, reset in a fork child. */
static unsigned long stat_rtt, stat_req[ZMX_MSG_MAX];

/* This thread's connection; NULL until its first request. */
static __thread struct conn *tconn __attribute__((tls_model("initial-exec")));

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Maps ZMX_SESSION_DIR/link, made by zmx run, shared by the session's
 * processes; without it (or on any error) the state is this process's.
 * Raw syscalls: this runs in the constructor, and the dir is local. */
static void
shared_map(void)
{
	const char *dir = getenv("ZMX_SESSION_DIR");
	char path[512];
	void *p;
	int fd;

	if (dir == NULL || *dir != '/' || (size_t)snprintf(path, sizeof(path),
	    "%s/link", dir) >= sizeof(path))
		return;
	fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (syscall(SYS_ftruncate, fd, (long)sizeof(struct conn_shared)) ==
	    0 && (p = mmap(NULL, sizeof(struct conn_shared), PROT_READ |
	    PROT_WRITE, MAP_SHARED, fd, 0)) != MAP_FAILED)
		g.shared = p;
	syscall(SYS_close, fd);
}

static int64_t
down_until(void)
{
	return __atomic_load_n(&g.shared->down_until, __ATOMIC_RELAXED);
}

static void
set_down_until(int64_t t)
{
	__atomic_store_n(&g.shared->down_until, t, __ATOMIC_RELAXED);
}

static void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	/* A socket of an earlier generation belongs to a context whose
	 * threads stayed in the parent: touching it could hang. */
	if (c->sock != NULL && c->gen == g.gen)
		zmq_close(c->sock);
	zmx_buf_free(&c->buf);
	free(c);
}

static void
thread_exit(void *p)
{
	struct conn *c = p;

	if (c == tconn)
		tconn = NULL;
	conn_free(c);
}

int
zmx_conn_init(void)
{
	const char *s;
	char why[256];
	int i, hi, lo;

	s = getenv("ZMX_ENDPOINT");
	snprintf(g.endpoint, sizeof(g.endpoint), "%s",
	    s && *s ? s : CONN_DEFAULT_ENDPOINT);
	s = getenv("ZMX_TIMEOUT_MS");
	g.timeout_ms = s && atoi(s) > 0 ? atoi(s) : CONN_DEFAULT_TIMEOUT;
	pthread_key_create(&g.key, thread_exit);
	shared_map();

	s = getenv("ZMX_SESSION");
	if (s != NULL && strlen(s) == 2 * ZMX_TOKEN_LEN) {
		for (i = 0; i < ZMX_TOKEN_LEN; i++) {
			hi = zmx_hex_value(s[2 * i]);
			lo = zmx_hex_value(s[2 * i + 1]);
			if (hi < 0 || lo < 0)
				break;
			g.token[i] = (uint8_t)(hi << 4 | lo);
		}
		if (i < ZMX_TOKEN_LEN) {
			zmx_warn("ZMX_SESSION is not %d hex digits; using a "
			    "session of this process only", 2 * ZMX_TOKEN_LEN);
			s = NULL;
		}
	} else
		s = NULL;
	if (s == NULL && getrandom(g.token, sizeof(g.token), 0) !=
	    sizeof(g.token))
		return -EIO;

	if ((s = getenv("ZMX_KEY")) != NULL && *s != '\0') {
		struct zmx_keypair *srv = NULL;
		const char *sp = getenv("ZMX_SERVER_KEY");

		if (zmx_keys_load(s, 1, &g.kp, why, sizeof(why)) < 0) {
			zmx_err("ZMX_KEY %s: %s", s, why);
			return -EINVAL;
		}
		if (sp == NULL || zmx_keys_load(sp, 0, &srv, why,
		    sizeof(why)) < 0) {
			zmx_err("ZMX_SERVER_KEY %s: %s", sp ? sp : "(unset)",
			    sp ? why : "needed with ZMX_KEY");
			return -EINVAL;
		}
		memcpy(g.server_pub, srv->public, sizeof(g.server_pub));
		zmx_keys_free(srv);
	} else
		/* without keys agentd wants the cookie of its user; a
		 * missing one is agentd's to refuse, naming its file */
		g.cookie_len = zmx_cookie_client(g.cookie);
	return 0;
}

void
zmx_conn_atfork_prepare(void)
{
	pthread_mutex_lock(&g.lock);
}

void
zmx_conn_atfork_parent(void)
{
	pthread_mutex_unlock(&g.lock);
}

void
zmx_conn_atfork_child(void)
{
	pthread_mutex_init(&g.lock, NULL);
	g.ctx = NULL;		/* abandoned: its threads are not here */
	g.gen++;
	tconn = NULL;		/* abandoned too; see conn_free() */
	memset(stat_req, 0, sizeof(stat_req));
	stat_rtt = 0;
}

/* This thread's connection, made on first use. */
static struct conn *
conn_get(void)
{
	struct conn *c = tconn;
	sigset_t all, old;
	int r;

	if (c != NULL && c->gen == g.gen && c->sock != NULL)
		return c;
	if (c == NULL || c->gen != g.gen) {
		uint32_t nonce;

		if (getrandom(&nonce, sizeof(nonce), GRND_NONBLOCK) !=
		    (ssize_t)sizeof(nonce))
			nonce = (uint32_t)now_ms() ^ (uint32_t)getpid() << 12;
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return NULL;
		c->next_id = (uint64_t)nonce << 32;
		tconn = c;
		pthread_setspecific(g.key, c);
	}
	c->gen = g.gen;
	c->helloed = 0;
	/* libzmq's threads must not take the program's signals. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_mutex_lock(&g.lock);
	if (g.ctx == NULL)
		g.ctx = zmq_ctx_new();
	if (g.ctx != NULL)
		c->sock = zmq_socket(g.ctx, ZMQ_DEALER);
	pthread_mutex_unlock(&g.lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (c->sock == NULL)
		goto fail;
	/* No ZMQ_IMMEDIATE: requests queue while the connection is made,
	 * so the HELLO sent at load overlaps the program's start. A socket
	 * whose peer stays silent is closed (with linger 0, so nothing it
	 * queued is ever delivered late). */
	r = zmx_wire_common_opts(c->sock);
	if (r == 0)
		r = zmx_wire_client_keys(c->sock, g.kp, g.server_pub);
	if (r == 0)
		r = zmq_connect(c->sock, g.endpoint);
	if (r != 0) {
		zmx_err("%s: cannot connect: %s", g.endpoint,
		    zmq_strerror(errno));
		zmq_close(c->sock);
		c->sock = NULL;
		goto fail;
	}
	return c;
fail:
	return NULL;
}

static void
conn_drop_socket(struct conn *c)
{
	if (c->sock != NULL)
		zmq_close(c->sock);
	c->sock = NULL;
	c->helloed = 0;
	c->hello_sent = 0;
}

static void
hello_msg(struct zmx_msg *m, char *client, size_t len)
{
	memset(m, 0, sizeof(*m));
	snprintf(client, len, "libzmx %s pid %ld", ZMX_VERSION,
	    (long)getpid());
	m->type = ZMX_MSG_HELLO;
	m->u.hello.version = ZMX_PROTO_VERSION;
	m->u.hello.token = g.token;
	m->u.hello.token_len = sizeof(g.token);
	m->u.hello.client = client;
	m->u.hello.cookie = g.cookie;
	m->u.hello.cookie_len = g.cookie_len;
}

void
zmx_conn_preconnect(void)
{
	struct zmx_msg hello;
	struct conn *c;
	char client[64];

	if ((c = conn_get()) == NULL || c->helloed || c->hello_sent)
		return;
	hello_msg(&hello, client, sizeof(client));
	hello.id = ++c->next_id;
	if (zmx_wire_send(c->sock, &hello, &c->buf, ZMQ_DONTWAIT) == 0)
		c->hello_sent = hello.id;
}

/* Waits for one frame until deadline. 0, -ETIMEDOUT, or -errno. */
static int
recv_until(struct conn *c, struct zmx_frame *f, int64_t deadline)
{
	zmq_pollitem_t it = { .socket = c->sock, .events = ZMQ_POLLIN };
	char why[256];
	int64_t left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = zmq_poll(&it, 1, (long)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		r = zmx_wire_recv(c->sock, f, ZMQ_DONTWAIT, why, sizeof(why));
		if (r == -EAGAIN || r == -EINTR) {
			zmx_frame_close(f);
			continue;
		}
		if (r < 0) {
			zmx_warn("%s: bad reply: %s", g.endpoint, why);
			zmx_frame_close(f);
			return -EIO;
		}
		return 0;
	}
}

/* Sends a frame, waiting up to deadline while the socket's queue is
 * full (its high-water mark). */
static int
send_until(struct conn *c, const struct zmx_msg *m, int64_t deadline)
{
	zmq_pollitem_t it = { .socket = c->sock, .events = ZMQ_POLLOUT };
	int64_t left;
	int r;

	for (;;) {
		r = zmx_wire_send(c->sock, m, &c->buf, ZMQ_DONTWAIT);
		if (r != -EAGAIN && r != -EINTR)
			return r;
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (zmq_poll(&it, 1, (long)left) < 0 && errno != EINTR)
			return -errno;
	}
}

/* Whether a reply says the connection has no session (agentd restarted
 * or forgot it): errno crosses by name, the number is the peer's. */
static int
is_lost(const struct zmx_frame *f)
{
	return f->open && f->msg.type == ZMX_MSG_ERROR &&
	    strcmp(f->msg.u.error.errname, "ENOTCONN") == 0;
}

/* Sends the requests that have no reply in reps yet, with the ids they
 * already carry (a repeat of a change is answered from agentd's reply
 * cache), and waits for their replies. Gives up with -ETIMEDOUT when
 * nothing at all arrives for quiet_ms: a slow link that keeps answering
 * is not a dead one. */
static int
batch_once(struct conn *c, struct zmx_msg *reqs, struct zmx_frame *reps,
    int n, int quiet_ms, int *lost_session)
{
	struct zmx_msg hello;
	struct zmx_frame f;
	uint64_t first = reqs[0].id, hello_id = 0;
	int64_t deadline = now_ms() + quiet_ms;
	char client[64];
	int i, got = 0, r;

	*lost_session = 0;
	if (!c->helloed && c->hello_sent)
		hello_id = c->hello_sent;	/* sent at load, still due */
	else if (!c->helloed) {
		hello_msg(&hello, client, sizeof(client));
		hello.id = hello_id = ++c->next_id;
		if ((r = send_until(c, &hello, deadline)) < 0)
			return r;
		c->hello_sent = hello_id;
	}
	for (i = 0; i < n; i++) {
		if (reps[i].open) {
			got++;
			continue;
		}
		if ((r = send_until(c, &reqs[i], deadline)) < 0)
			return r;
	}
	__atomic_add_fetch(&stat_rtt, 1, __ATOMIC_RELAXED);
	while (got < n || (hello_id && !c->helloed)) {
		if ((r = recv_until(c, &f, deadline)) < 0)
			return r;
		deadline = now_ms() + quiet_ms;		/* it answers */
		if (hello_id && f.msg.id == hello_id) {
			c->hello_sent = 0;
			if (f.msg.type == ZMX_MSG_WELCOME)
				c->helloed = 1;
			else {
				r = zmx_conn_reply_err(&f, ZMX_MSG_WELCOME);
				zmx_err("%s: HELLO refused: %s %s", g.endpoint,
				    zmx_err_name(r),
				    f.msg.type == ZMX_MSG_ERROR ?
				    f.msg.u.error.detail : "");
				zmx_frame_close(&f);
				return r < 0 ? r : -EPROTO;
			}
			zmx_frame_close(&f);
			continue;
		}
		if (f.msg.id < first || f.msg.id >= first + (uint64_t)n ||
		    reps[f.msg.id - first].open) {
			zmx_frame_close(&f);	/* a late answer to a timeout */
			continue;
		}
		i = (int)(f.msg.id - first);
		reps[i] = f;
		got++;
		if (is_lost(&reps[i]))
			*lost_session = 1;
	}
	return 0;
}

int
zmx_conn_batch(struct zmx_msg *reqs, struct zmx_frame *reps, int n)
{
	struct conn *c;
	int i, lost, r;

	for (i = 0; i < n; i++)
		memset(&reps[i], 0, sizeof(reps[i]));
	if (down_until() != 0 && now_ms() < down_until())
		return -EIO;
	if ((c = conn_get()) == NULL)
		return -EIO;
	/* every id before anything is sent: a repeat carries the same */
	for (i = 0; i < n; i++) {
		reqs[i].id = ++c->next_id;
		if (reqs[i].type < ZMX_MSG_MAX)
			__atomic_add_fetch(&stat_req[reqs[i].type], 1,
			    __ATOMIC_RELAXED);
	}
	r = batch_once(c, reqs, reps, n, g.timeout_ms / 2, &lost);
	if (r == -ETIMEDOUT) {
		/* silent for half the time: the connection may be dead
		 * without knowing it (a dropped link, a NAT that forgot
		 * it). The rest on a new one, with the same ids. */
		conn_drop_socket(c);
		if ((c = conn_get()) == NULL) {
			r = -EIO;
			goto fail;
		}
		r = batch_once(c, reqs, reps, n, g.timeout_ms -
		    g.timeout_ms / 2, &lost);
	}
	if (r == 0 && lost) {
		/* agentd restarted and forgot us: join again, ask again
		 * what it answered ENOTCONN, which it did not carry out */
		for (i = 0; i < n; i++)
			if (is_lost(&reps[i]))
				zmx_frame_close(&reps[i]);
		c->helloed = 0;
		c->hello_sent = 0;
		r = batch_once(c, reqs, reps, n, g.timeout_ms, &lost);
	}
	if (r == 0) {
		if (down_until() != 0)
			set_down_until(0);
		return 0;
	}
fail:
	for (i = 0; i < n; i++)
		zmx_frame_close(&reps[i]);
	if (r == -ETIMEDOUT || r == -EIO) {
		zmx_err("%s: no answer from agentd for %d ms: EIO (the "
		    "session fails fast for %d ms)", g.endpoint, g.timeout_ms,
		    CONN_DOWN_MS);
		set_down_until(now_ms() + CONN_DOWN_MS);
		if (c != NULL)
			conn_drop_socket(c);	/* late replies must not confuse */
		return -EIO;
	}
	/* a refused HELLO: the program's own call did not fail, the
	 * portal did (the stderr line says why) */
	conn_drop_socket(c);
	return -EIO;
}

int
zmx_conn_reply_err(const struct zmx_frame *rep, unsigned want)
{
	int e;

	if (rep->msg.type == want)
		return 0;
	if (rep->msg.type == ZMX_MSG_ERROR) {
		e = zmx_err_from_name(rep->msg.u.error.errname);
		return e > 0 ? -e : -EIO;
	}
	return -EIO;
}

int
zmx_conn_call(struct zmx_msg *req, struct zmx_frame *rep, unsigned want)
{
	int r;

	if ((r = zmx_conn_batch(req, rep, 1)) < 0)
		return r;
	return zmx_conn_reply_err(rep, want);
}

void
zmx_conn_print_stats(int fd)
{
	char line[2048];
	size_t n;
	int i;

	n = snprintf(line, sizeof(line), "zmx: stats: pid %ld: %lu round "
	    "trips;", (long)getpid(), stat_rtt);
	for (i = 0; i < ZMX_MSG_MAX && n < sizeof(line); i++)
		if (stat_req[i] && zmx_msg_name(i))
			n += snprintf(line + n, sizeof(line) - n, " %s %lu",
			    zmx_msg_name(i), stat_req[i]);
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)zmx_io_write_all(fd, line, n, -1);
}
