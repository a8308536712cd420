/* bench_load.c - a load generator for agentd: many clients, each on its
 * own DEALER socket and session, asking for one file over and over, and
 * many idle connections beside them, so scripts/bench can see how
 * agentd's throughput, CPU and memory hold up.
 *
 *   bench_load -e ENDPOINT [-k KEYFILE -S SERVERPUB] -c CLIENTS -i IDLE
 *              -d SECONDS -f PATH [-T TIMEOUT_MS]
 *
 * First IDLE connections each send HELLO with their own token, wait for
 * WELCOME and then stay silent. Then CLIENTS threads each say HELLO and,
 * for SECONDS, repeat one op: STAT PATH, then OPEN PATH (flags 0, max 1
 * MiB), one request at a time. After the run every idle connection
 * sends one PING, to show that agentd still answers it.
 *
 * Prints one line on stdout:
 *   clients N idle M seconds S ops K ops/s X errors E
 * An error is an ERROR reply, a reply of the wrong type or size, or no
 * reply within TIMEOUT_MS (default 5000; a client stops at its first
 * timeout). The first few are described on stderr. Exit 0 if there was
 * none, 1 if there was, 2 on bad usage or set-up failure. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "cookie.h"
#include "keys.h"
#include "msg.h"
#include "wire.h"

#define LOAD_EXIT_ERRORS	1
#define LOAD_EXIT_USAGE		2
#define LOAD_MAX_OPEN		(1u << 20)	/* OPEN's max: 1 MiB */
#define LOAD_SAY_MAX		10		/* errors described */

/* One connection to agentd: a socket, its session token and the ids of
 * its requests, a random nonce in the high 32 bits and a count in the
 * low ones, so ids differ across connections and never repeat in one. */
struct load_conn {
	void		*sock;
	unsigned char	 token[ZMX_TOKEN_LEN];
	uint64_t	 nonce;		/* already shifted into the high bits */
	uint32_t	 seq;
	struct zmx_buf	 buf;		/* the encoder's scratch */
};

/* A client thread's share of the work. */
struct load_client {
	pthread_t	 thread;
	struct load_conn conn;
	int		 ready;		/* HELLO answered */
	uint64_t	 ops, errors;
};

/* Set by main() before any thread starts, read-only afterwards. */
static void *load_ctx;
static const char *load_ep;
static const char *load_path;
static struct zmx_keypair *load_kp, *load_spub;
static int load_timeout_ms = 5000;
static uint8_t load_cookie[ZMX_COOKIE_LEN];	/* without keys: ZMX_COOKIE */
static size_t load_cookie_len;
static uint64_t load_deadline_ns;	/* written between the barriers */
static pthread_barrier_t load_ready, load_go;

/* How many errors were described on stderr; any thread. */
static atomic_int load_said;

static void
usage(void)
{
	fprintf(stderr,
"usage: bench_load -e ENDPOINT [-k KEYFILE -S SERVERPUBFILE] -c CLIENTS\n"
"                  -i IDLE -d SECONDS -f PATH [-T TIMEOUT_MS]\n");
	exit(LOAD_EXIT_USAGE);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long
num(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end != '\0' || *s == '\0' || v < 0) {
		fprintf(stderr, "bench_load: %s: not a count: '%s'\n", what, s);
		exit(LOAD_EXIT_USAGE);
	}
	return v;
}

/* Describes an error on stderr, for the first LOAD_SAY_MAX of them. */
static void __attribute__((format(printf, 1, 2)))
say(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (atomic_fetch_add(&load_said, 1) >= LOAD_SAY_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "bench_load: %s\n", line);
}

/* Sends m with the connection's next id and waits for the reply to it,
 * skipping late replies to earlier ones. Returns 0 with f open, -EPROTO
 * if the reply did not decode (why[] says how), -ETIMEDOUT, or -errno
 * from zmq. Close f whatever the result. */
static int
load_call(struct load_conn *c, struct zmx_msg *m, struct zmx_frame *f,
    char *why, size_t whylen)
{
	zmq_pollitem_t it = { c->sock, 0, ZMQ_POLLIN, 0 };
	uint64_t deadline;
	long left;
	int r;

	memset(f, 0, sizeof(*f));
	m->id = c->nonce | ++c->seq;
	if ((r = zmx_wire_send(c->sock, m, &c->buf, 0)) < 0) {
		snprintf(why, whylen, "send: %s", zmq_strerror(-r));
		return r;
	}
	deadline = now_ns() + (uint64_t)load_timeout_ms * 1000000u;
	for (;;) {
		left = (long)((int64_t)(deadline - now_ns()) / 1000000);
		if (left <= 0 || (r = zmq_poll(&it, 1, left)) == 0) {
			snprintf(why, whylen, "no reply in %d ms",
			    load_timeout_ms);
			return -ETIMEDOUT;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			snprintf(why, whylen, "poll: %s", zmq_strerror(errno));
			return -errno;
		}
		zmx_frame_close(f);
		r = zmx_wire_recv(c->sock, f, ZMQ_DONTWAIT, why, whylen);
		if (r == -EAGAIN)
			continue;
		if (r < 0 && r != -EPROTO)
			snprintf(why, whylen, "receive: %s", zmq_strerror(-r));
		if (r < 0)
			return r;
		if (f->msg.id == m->id)
			return 0;
	}
}

/* 0 if the reply in f is of type want; else -EPROTO with why[] set to
 * what came instead. */
static int
load_expect(const struct zmx_frame *f, uint32_t want, char *why,
    size_t whylen)
{
	const char *got = zmx_msg_name(f->msg.type);

	if (f->msg.type == want)
		return 0;
	if (f->msg.type == ZMX_MSG_ERROR)
		snprintf(why, whylen, "ERROR %s: %s", f->msg.u.error.errname,
		    f->msg.u.error.detail);
	else
		snprintf(why, whylen, "%s instead of %s", got ? got : "?",
		    zmx_msg_name(want));
	return -EPROTO;
}

/* Opens a connection and says HELLO. 0, or -errno with why[] set. */
static int
load_conn_open(struct load_conn *c, char *why, size_t whylen)
{
	struct zmx_frame f;
	struct zmx_msg m;
	uint32_t nonce;
	int r;

	memset(c, 0, sizeof(*c));
	if (getrandom(c->token, sizeof(c->token), 0) != sizeof(c->token) ||
	    getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce)) {
		snprintf(why, whylen, "getrandom: %s", strerror(errno));
		return -errno;
	}
	c->nonce = (uint64_t)nonce << 32;
	if ((c->sock = zmq_socket(load_ctx, ZMQ_DEALER)) == NULL ||
	    zmx_wire_common_opts(c->sock) < 0 ||
	    zmx_wire_client_keys(c->sock, load_kp,
	    load_spub ? load_spub->public : NULL) < 0 ||
	    zmq_connect(c->sock, load_ep) < 0) {
		r = -errno;
		snprintf(why, whylen, "socket to %s: %s", load_ep,
		    zmq_strerror(errno));
		return r;
	}
	memset(&m, 0, sizeof(m));
	m.type = ZMX_MSG_HELLO;
	m.u.hello.version = ZMX_PROTO_VERSION;
	m.u.hello.token = c->token;
	m.u.hello.token_len = sizeof(c->token);
	m.u.hello.client = "bench_load";
	m.u.hello.cookie = load_cookie;
	m.u.hello.cookie_len = load_cookie_len;
	if ((r = load_call(c, &m, &f, why, whylen)) == 0)
		r = load_expect(&f, ZMX_MSG_WELCOME, why, whylen);
	zmx_frame_close(&f);
	return r;
}

static void
load_conn_close(struct load_conn *c)
{
	if (c->sock != NULL)
		zmq_close(c->sock);
	c->sock = NULL;
	zmx_buf_free(&c->buf);
}

/* One op: STAT PATH, then OPEN PATH and its data, which must be as long
 * as the file. 0, or -errno with why[] set. */
static int
load_op(struct load_conn *c, char *why, size_t whylen)
{
	struct zmx_frame f;
	struct zmx_msg m;
	int64_t size;
	int r;

	memset(&m, 0, sizeof(m));
	m.type = ZMX_MSG_STAT;
	m.u.stat.path = load_path;
	if ((r = load_call(c, &m, &f, why, whylen)) < 0 ||
	    (r = load_expect(&f, ZMX_MSG_ATTR, why, whylen)) < 0)
		goto out;
	size = f.msg.u.attr.st.size;
	zmx_frame_close(&f);

	memset(&m, 0, sizeof(m));
	m.type = ZMX_MSG_OPEN;
	m.u.open.path = load_path;
	m.u.open.max = LOAD_MAX_OPEN;
	if ((r = load_call(c, &m, &f, why, whylen)) < 0 ||
	    (r = load_expect(&f, ZMX_MSG_OPENED, why, whylen)) < 0)
		goto out;
	if ((int64_t)f.msg.u.opened.data_len != size) {
		snprintf(why, whylen, "OPENED %zu bytes of a %lld-byte file",
		    f.msg.u.opened.data_len, (long long)size);
		r = -EPROTO;
	}
out:
	zmx_frame_close(&f);
	return r;
}

static void *
load_client_run(void *arg)
{
	struct load_client *cl = arg;
	char why[512];
	int r;

	if (load_conn_open(&cl->conn, why, sizeof(why)) < 0)
		say("client hello: %s", why);
	else
		cl->ready = 1;
	pthread_barrier_wait(&load_ready);
	pthread_barrier_wait(&load_go);
	if (!cl->ready)
		goto out;
	while (now_ns() < load_deadline_ns) {
		if ((r = load_op(&cl->conn, why, sizeof(why))) == 0) {
			cl->ops++;
			continue;
		}
		cl->errors++;
		say("%s: %s", load_path, why);
		if (r == -ETIMEDOUT)
			break;		/* its reply may still come */
	}
out:
	load_conn_close(&cl->conn);
	return NULL;
}

/* Room for every socket: zmq's own limit, and two fds per connection
 * (the TCP socket and the socket's mailbox). */
static int
load_limits(long conns)
{
	struct rlimit rl;
	int max = (int)conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (max > zmq_ctx_get(load_ctx, ZMQ_MAX_SOCKETS) &&
	    zmq_ctx_set(load_ctx, ZMQ_MAX_SOCKETS, max) < 0)
		return -errno;
	return 0;
}

int
main(int argc, char **argv)
{
	struct load_client *cl = NULL;
	struct load_conn *idle = NULL;
	struct zmx_frame f;
	struct zmx_msg m;
	const char *keyfile = NULL, *spubfile = NULL;
	char why[512];
	uint64_t t0, t1, ops = 0, errors = 0;
	long nclients = -1, nidle = 0, seconds = -1, i, nopen = 0;
	int ch, r, status = LOAD_EXIT_USAGE;
	double elapsed;

	while ((ch = getopt(argc, argv, "e:k:S:c:i:d:f:T:")) != -1) {
		switch (ch) {
		case 'e': load_ep = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'S': spubfile = optarg; break;
		case 'c': nclients = num(optarg, "-c"); break;
		case 'i': nidle = num(optarg, "-i"); break;
		case 'd': seconds = num(optarg, "-d"); break;
		case 'f': load_path = optarg; break;
		case 'T': load_timeout_ms = (int)num(optarg, "-T"); break;
		default: usage();
		}
	}
	if (optind != argc || load_ep == NULL || load_path == NULL ||
	    nclients < 1 || seconds < 0 || load_timeout_ms < 1 ||
	    (keyfile == NULL) != (spubfile == NULL))
		usage();
	if (keyfile != NULL && (zmx_keys_load(keyfile, 1, &load_kp, why,
	    sizeof(why)) < 0 || zmx_keys_load(spubfile, 0, &load_spub, why,
	    sizeof(why)) < 0)) {
		fprintf(stderr, "bench_load: key file: %s\n", why);
		goto out;
	}
	load_cookie_len = zmx_cookie_client(load_cookie);
	if ((load_ctx = zmq_ctx_new()) == NULL ||
	    load_limits(nclients + nidle) < 0) {
		fprintf(stderr, "bench_load: zmq context: %s\n",
		    zmq_strerror(errno));
		goto out;
	}
	if ((idle = calloc(nidle + 1, sizeof(*idle))) == NULL ||
	    (cl = calloc(nclients, sizeof(*cl))) == NULL) {
		fprintf(stderr, "bench_load: out of memory\n");
		goto out;
	}

	/* the idle connections, each a session of its own */
	for (nopen = 0; nopen < nidle; nopen++)
		if (load_conn_open(&idle[nopen], why, sizeof(why)) < 0) {
			fprintf(stderr, "bench_load: idle connection %ld: "
			    "%s\n", nopen, why);
			load_conn_close(&idle[nopen]);
			goto out;
		}

	/* the clients say HELLO, then all start at once: the clock starts
	 * once every HELLO is answered, and the second barrier orders the
	 * deadline's write before the clients read it */
	if ((r = pthread_barrier_init(&load_ready, NULL,
	    (unsigned)nclients + 1)) != 0 || (r = pthread_barrier_init(
	    &load_go, NULL, (unsigned)nclients + 1)) != 0) {
		fprintf(stderr, "bench_load: barrier: %s\n", strerror(r));
		goto out;
	}
	for (i = 0; i < nclients; i++)
		if ((r = pthread_create(&cl[i].thread, NULL, load_client_run,
		    &cl[i])) != 0) {
			/* the barrier would never open: nothing to undo */
			fprintf(stderr, "bench_load: thread: %s\n",
			    strerror(r));
			exit(LOAD_EXIT_USAGE);
		}
	pthread_barrier_wait(&load_ready);
	t0 = now_ns();
	load_deadline_ns = t0 + (uint64_t)seconds * 1000000000u;
	pthread_barrier_wait(&load_go);
	for (i = 0; i < nclients; i++) {
		pthread_join(cl[i].thread, NULL);
		ops += cl[i].ops;
		errors += cl[i].errors + !cl[i].ready;
	}
	t1 = now_ns();
	pthread_barrier_destroy(&load_ready);
	pthread_barrier_destroy(&load_go);

	/* idle all along: does agentd still answer them? */
	for (i = 0; i < nopen; i++) {
		memset(&m, 0, sizeof(m));
		m.type = ZMX_MSG_PING;
		m.u.ping.stamp = (uint64_t)i;
		if ((r = load_call(&idle[i], &m, &f, why, sizeof(why))) == 0)
			r = load_expect(&f, ZMX_MSG_PONG, why, sizeof(why));
		zmx_frame_close(&f);
		if (r < 0) {
			errors++;
			say("idle connection %ld after the run: %s", i, why);
		}
	}

	elapsed = (double)(t1 - t0) / 1e9;
	printf("clients %ld idle %ld seconds %ld ops %llu ops/s %.0f "
	    "errors %llu\n", nclients, nidle, seconds,
	    (unsigned long long)ops, elapsed > 0 ? (double)ops / elapsed : 0,
	    (unsigned long long)errors);
	fflush(stdout);
	status = errors > 0 ? LOAD_EXIT_ERRORS : 0;
out:
	for (i = 0; i < nopen; i++)
		load_conn_close(&idle[i]);
	free(idle);
	free(cl);
	zmx_keys_free(load_kp);
	zmx_keys_free(load_spub);
	if (load_ctx != NULL)
		zmq_ctx_term(load_ctx);
	return status;
}
