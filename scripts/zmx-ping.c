/* zmx-ping.c - "zmx ping": says whether agentd answers at an endpoint,
 * with which keys, as whom and how fast: HELLO, then COUNT PINGs, each
 * matched to its PONG by id. A socket monitor tells a refused key from a
 * dead endpoint where ZeroMQ lets it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zmq.h>

#include "cookie.h"
#include "keys.h"
#include "log.h"
#include "msg.h"
#include "wire.h"
#include "zmx-cli.h"

#define PING_COUNT	4
#define PING_TIMEOUT_MS	3000
#define PING_CLIENT	"zmx ping " ZMX_VERSION
#define PING_MONITOR	"inproc://zmx-ping-monitor"

static const struct option ping_options[] = {
	{ "endpoint",	required_argument,	NULL, 'e' },
	{ "key",	required_argument,	NULL, 'k' },
	{ "server-key",	required_argument,	NULL, 'S' },
	{ "count",	required_argument,	NULL, 'c' },
	{ "timeout",	required_argument,	NULL, 'W' },
	{ "cookie",	required_argument,	NULL, 'K' },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 },
};

/* One conversation with agentd. */
struct ping {
	const char	*endpoint;
	long		 timeout_ms;
	int		 verbose;
	int		 curve;		/* keys given: a CURVE client */
	void		*ctx;
	void		*sock;		/* DEALER to agentd */
	void		*mon;		/* PAIR: sock's monitor events */
	struct zmx_buf	 buf;		/* encoder scratch */
	uint64_t	 next_id;
	/* what the monitor saw */
	int		 connected;	/* a TCP (or IPC) connection */
	int		 handshaken;	/* ZMTP/CURVE handshake done */
	int		 hs_event;	/* last ZMQ_EVENT_HANDSHAKE_FAILED_* */
	uint32_t	 hs_value;
};

static uint64_t
ping_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reads one monitor event (two frames: event and value, then address). */
static void
ping_event(struct ping *p)
{
	unsigned char head[6];
	char addr[256];
	uint16_t ev;
	uint32_t val;
	int n, more;
	size_t sz = sizeof(more);

	if ((n = zmq_recv(p->mon, head, sizeof(head), ZMQ_DONTWAIT)) < 0)
		return;
	more = 0;
	zmq_getsockopt(p->mon, ZMQ_RCVMORE, &more, &sz);
	addr[0] = '\0';
	if (more && (n = zmq_recv(p->mon, addr, sizeof(addr) - 1, 0)) >= 0)
		addr[n < (int)sizeof(addr) ? n : (int)sizeof(addr) - 1] = '\0';
	memcpy(&ev, head, sizeof(ev));
	memcpy(&val, head + 2, sizeof(val));
	switch (ev) {
	case ZMQ_EVENT_CONNECTED:
		p->connected = 1;
		break;
	case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
		p->handshaken = 1;
		break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
	case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
	case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
		p->hs_event = ev;
		p->hs_value = val;
		break;
	}
	zmx_debug("monitor: event 0x%x value 0x%x %s", ev, val, addr);
}

/* Why a handshake failed, or NULL if none did. */
static const char *
ping_hs_reason(const struct ping *p, char *s, size_t len)
{
	switch (p->hs_event) {
	case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
		snprintf(s, len, "agentd refused this key (ZAP status %u); "
		    "is it in agentd's authorized-keys file?", p->hs_value);
		return s;
	case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
		if (p->hs_value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
			snprintf(s, len, "security mismatch: one side uses "
			    "CURVE keys and the other does not (-k, -S)");
		else if (p->hs_value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
			snprintf(s, len, "the CURVE handshake failed; is -S "
			    "agentd's public key?");
		else
			snprintf(s, len, "the handshake failed (ZMTP protocol "
			    "error 0x%x)", p->hs_value);
		return s;
	case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
		/* A CURVE server that cannot decrypt our HELLO (another
		 * server key) just hangs up. */
		snprintf(s, len, "the handshake failed (%s)%s",
		    zmq_strerror((int)p->hs_value), p->curve ?
		    "; is -S agentd's public key?" : "");
		return s;
	}
	return NULL;
}

/* Sends a request with the next id; *idp says which. */
static int
ping_send(struct ping *p, struct zmx_msg *m, uint64_t *idp)
{
	m->id = *idp = ++p->next_id;
	return zmx_wire_send(p->sock, m, &p->buf, 0);
}

/* Waits up to the timeout for the reply to id, skipping any other.
 * Returns 0 with f open, -ETIMEDOUT, -ECONNREFUSED after a failed
 * handshake, -EPROTO with why[] filled, or another -errno. */
static int
ping_recv(struct ping *p, uint64_t id, struct zmx_frame *f, char *why,
    size_t whylen)
{
	zmq_pollitem_t items[2] = {
		{ p->sock, 0, ZMQ_POLLIN, 0 },
		{ p->mon, 0, ZMQ_POLLIN, 0 },
	};
	uint64_t deadline = ping_now_ns() + p->timeout_ms * 1000000ull;
	uint64_t now;
	int r;

	for (;;) {
		if ((now = ping_now_ns()) >= deadline)
			return -ETIMEDOUT;
		r = zmq_poll(items, 2, (long)((deadline - now + 999999) /
		    1000000));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (items[1].revents & ZMQ_POLLIN) {
			ping_event(p);
			/* A failed handshake is not retried by a peer
			 * that refuses us for good: say so now. */
			if (p->hs_event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
			    (p->hs_event ==
			    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
			    p->hs_value ==
			    ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH))
				return -ECONNREFUSED;
		}
		if (!(items[0].revents & ZMQ_POLLIN))
			continue;
		r = zmx_wire_recv(p->sock, f, ZMQ_DONTWAIT, why, whylen);
		if (r == -EAGAIN) {
			zmx_frame_close(f);
			continue;
		}
		if (r < 0)
			return r;
		if (f->msg.id == id)
			return 0;
		zmx_debug("skipping %s id %llu, waiting for id %llu",
		    zmx_msg_name(f->msg.type),
		    (unsigned long long)f->msg.id, (unsigned long long)id);
		zmx_frame_close(f);
	}
}

/* Reports a failed ping_recv() or an unexpected reply; returns 1. */
static int
ping_fail(struct ping *p, int r, const struct zmx_frame *f,
    const char *why, const char *expected)
{
	char reason[256];

	if (r == -ETIMEDOUT) {
		zmx_cli_warn("ping", "%s: no answer in %ld ms (agentd down, "
		    "or key refused)", p->endpoint, p->timeout_ms);
		if (ping_hs_reason(p, reason, sizeof(reason)) != NULL)
			zmx_cli_warn("ping", "%s: %s", p->endpoint, reason);
		else if (!p->connected)
			zmx_cli_warn("ping", "%s: no connection was made",
			    p->endpoint);
		else if (!p->handshaken)
			zmx_cli_warn("ping", "%s: connected, but the "
			    "handshake did not finish", p->endpoint);
	} else if (r == -ECONNREFUSED)
		zmx_cli_warn("ping", "%s: %s", p->endpoint,
		    ping_hs_reason(p, reason, sizeof(reason)));
	else if (r == -EPROTO)
		zmx_cli_warn("ping", "%s: a reply that is not a zmx frame: "
		    "%s", p->endpoint, why);
	else if (r < 0)
		zmx_cli_warn("ping", "%s: %s", p->endpoint, strerror(-r));
	else if (f->msg.type == ZMX_MSG_ERROR)
		zmx_cli_warn("ping", "%s: agentd answered %s%s%s",
		    p->endpoint, f->msg.u.error.errname,
		    *f->msg.u.error.detail ? ": " : "",
		    f->msg.u.error.detail);
	else
		zmx_cli_warn("ping", "%s: agentd answered %s where %s was "
		    "due", p->endpoint, zmx_msg_name(f->msg.type), expected);
	return ZMX_EXIT_FAIL;
}

/* Sets up the context, the monitored DEALER and its keys. */
static int
ping_open(struct ping *p, const struct zmx_keypair *kp, const char *srvpub)
{
	int zero = 0, r;

	p->curve = kp != NULL;
	if ((p->ctx = zmq_ctx_new()) == NULL ||
	    (p->sock = zmq_socket(p->ctx, ZMQ_DEALER)) == NULL) {
		zmx_cli_warn("ping", "zmq: %s", zmq_strerror(errno));
		return ZMX_EXIT_FAIL;
	}
	if ((r = zmx_wire_common_opts(p->sock)) < 0 ||
	    (r = zmx_wire_client_keys(p->sock, kp, srvpub)) < 0) {
		zmx_cli_warn("ping", "socket options: %s%s", strerror(-r),
		    kp != NULL && !zmq_has("curve") ?
		    " (libzmq has no CURVE)" : "");
		return ZMX_EXIT_FAIL;
	}
	if (zmq_socket_monitor(p->sock, PING_MONITOR, ZMQ_EVENT_ALL) < 0 ||
	    (p->mon = zmq_socket(p->ctx, ZMQ_PAIR)) == NULL ||
	    zmq_setsockopt(p->mon, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
	    zmq_connect(p->mon, PING_MONITOR) < 0) {
		zmx_cli_warn("ping", "zmq monitor: %s", zmq_strerror(errno));
		return ZMX_EXIT_FAIL;
	}
	if (zmq_connect(p->sock, p->endpoint) < 0) {
		zmx_cli_warn("ping", "%s: %s", p->endpoint,
		    zmq_strerror(errno));
		return ZMX_EXIT_USAGE;
	}
	return 0;
}

static void
ping_close(struct ping *p)
{
	if (p->sock != NULL) {
		zmq_socket_monitor(p->sock, NULL, 0);
		zmq_close(p->sock);
	}
	if (p->mon != NULL)
		zmq_close(p->mon);
	if (p->ctx != NULL)
		zmq_ctx_term(p->ctx);
	zmx_buf_free(&p->buf);
}

/* HELLO and its WELCOME; prints who answered. */
static int
ping_hello(struct ping *p)
{
	unsigned char token[ZMX_TOKEN_LEN];
	uint8_t cookie[ZMX_COOKIE_LEN];
	struct zmx_msg m = { .type = ZMX_MSG_HELLO };
	struct zmx_frame f = { .open = 0 };
	const struct zmx_msg_welcome *w;
	char why[256] = "";
	uint64_t id;
	int r;

	randombytes_buf(token, sizeof(token));
	m.u.hello.cookie = cookie;
	m.u.hello.cookie_len = zmx_cookie_client(cookie);
	m.u.hello.version = ZMX_PROTO_VERSION;
	m.u.hello.token = token;
	m.u.hello.token_len = sizeof(token);
	m.u.hello.client = PING_CLIENT;
	if ((r = ping_send(p, &m, &id)) < 0) {
		zmx_cli_warn("ping", "%s: sending hello: %s", p->endpoint,
		    strerror(-r));
		return ZMX_EXIT_FAIL;
	}
	if ((r = ping_recv(p, id, &f, why, sizeof(why))) < 0 ||
	    f.msg.type != ZMX_MSG_WELCOME) {
		r = ping_fail(p, r, &f, why, "welcome");
		goto out;
	}
	w = &f.msg.u.welcome;
	printf("%s (protocol %u) at %s, root %s, %s\n", w->server,
	    w->version, p->endpoint, w->root,
	    w->flags & ZMX_WELCOME_RO ? "read-only" : "read-write");
	if (w->version != ZMX_PROTO_VERSION)
		zmx_cli_warn("ping", "warning: agentd speaks protocol %u, "
		    "this zmx %d", w->version, ZMX_PROTO_VERSION);
	r = 0;
out:
	zmx_frame_close(&f);
	return r;
}

/* count PINGs, one at a time; prints min/avg/max. */
static int
ping_pings(struct ping *p, long count)
{
	struct zmx_msg m = { .type = ZMX_MSG_PING };
	struct zmx_frame f = { .open = 0 };
	double ms, min = 0, max = 0, sum = 0;
	char why[256] = "";
	uint64_t id, sent;
	long i;
	int r = 0;

	for (i = 0; i < count; i++) {
		m.u.ping.stamp = sent = ping_now_ns();
		if ((r = ping_send(p, &m, &id)) < 0) {
			zmx_cli_warn("ping", "%s: sending ping: %s",
			    p->endpoint, strerror(-r));
			return ZMX_EXIT_FAIL;
		}
		if ((r = ping_recv(p, id, &f, why, sizeof(why))) < 0 ||
		    f.msg.type != ZMX_MSG_PONG) {
			r = ping_fail(p, r, &f, why, "pong");
			goto out;
		}
		ms = (ping_now_ns() - sent) / 1e6;
		if (f.msg.u.pong.stamp != sent)
			zmx_cli_warn("ping", "warning: pong %ld carries stamp "
			    "%llu, not %llu", i + 1,
			    (unsigned long long)f.msg.u.pong.stamp,
			    (unsigned long long)sent);
		if (p->verbose)
			printf("pong %ld from %s: %.3f ms\n", i + 1,
			    f.msg.u.pong.server, ms);
		zmx_frame_close(&f);
		if (i == 0 || ms < min)
			min = ms;
		if (i == 0 || ms > max)
			max = ms;
		sum += ms;
	}
	if (count > 0)
		printf("rtt min/avg/max = %.3f/%.3f/%.3f ms (%ld ping%s)\n",
		    min, sum / count, max, count, count == 1 ? "" : "s");
	r = 0;
out:
	zmx_frame_close(&f);
	return r;
}

static int
ping_main(int argc, char **argv)
{
	struct ping p = { .timeout_ms = PING_TIMEOUT_MS };
	struct zmx_keypair *kp = NULL;
	const char *keyarg = NULL, *srvarg = NULL, *endpoint = NULL;
	char keyabs[PATH_MAX], srvabs[PATH_MAX], srvpub[ZMX_Z85_LEN + 1];
	long count = PING_COUNT;
	int ch, r;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:e:k:S:c:W:vh", ping_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'e':
			endpoint = optarg;
			break;
		case 'k':
			keyarg = optarg;
			break;
		case 'S':
			srvarg = optarg;
			break;
		case 'c':
			if (zmx_cli_number(optarg, 0, 1000000, &count) < 0)
				return zmx_cli_usage(&zmx_ping_cmd, "-c %s: "
				    "expected a count from 0 to 1000000",
				    optarg);
			break;
		case 'W':
			if (zmx_cli_number(optarg, 1, 3600000,
			    &p.timeout_ms) < 0)
				return zmx_cli_usage(&zmx_ping_cmd, "-W %s: "
				    "expected milliseconds from 1 to 3600000",
				    optarg);
			break;
		case 'K':
			/* read by zmx_cookie_client(), as in the shim */
			if (setenv("ZMX_COOKIE", optarg, 1) < 0)
				return ZMX_EXIT_USAGE;
			break;
		case 'v':
			p.verbose++;
			break;
		case 'h':
			return zmx_cli_help(&zmx_ping_cmd);
		default:
			return zmx_cli_bad_option(&zmx_ping_cmd, ch, argv);
		}
	}
	if (optind < argc)
		return zmx_cli_usage(&zmx_ping_cmd, "unexpected argument "
		    "'%s'", argv[optind]);
	if (p.verbose > 1)
		zmx_log_set_level(ZMX_LOG_DEBUG);
	p.endpoint = zmx_cli_endpoint(endpoint);
	if (sodium_init() < 0) {
		zmx_cli_warn("ping", "libsodium failed to start");
		return ZMX_EXIT_FAIL;
	}
	if ((r = zmx_cli_keys(&zmx_ping_cmd, keyarg, srvarg, keyabs, srvabs,
	    &kp, srvpub)) != 0)
		return r;
	if ((r = ping_open(&p, kp, srvpub)) == 0 &&
	    (r = ping_hello(&p)) == 0)
		r = ping_pings(&p, count);
	fflush(stdout);
	ping_close(&p);
	zmx_keys_free(kp);
	return r;
}

const struct zmx_cli_cmd zmx_ping_cmd = {
	.name = "ping",
	.summary = "check that agentd answers, as whom, and how fast",
	.usage = "zmx ping [-e ENDPOINT] [-k KEY -S SERVERPUB] [-c COUNT] "
	    "[-W TIMEOUT_MS] [--cookie FILE]",
	.help =
"Says hello to agentd as zmx run's shim would, prints what agentd says\n"
"about itself and the key's scope, then sends COUNT pings one at a time\n"
"and prints the round trips.\n"
"\n"
"options:\n"
"  -e, --endpoint ENDPOINT  agentd's address (default: $ZMX_ENDPOINT, else\n"
"                           " ZMX_CLI_ENDPOINT ")\n"
"  -k, --key FILE           this client's secret key file (default: $ZMX_KEY)\n"
"  -S, --server-key FILE    agentd's public key file (default:\n"
"                           $ZMX_SERVER_KEY); -k and -S go together\n"
"  -c, --count COUNT        pings after the hello (default: 4; 0: hello only)\n"
"  -W, --timeout MS         how long to wait for each answer (default: 3000)\n"
"      --cookie FILE        without keys: the cookie of agentd's user\n"
"                           (default: $ZMX_COOKIE, else agentd's default\n"
"                           state directory's)\n"
"  -v, --verbose            print every pong; -vv also connection events\n"
"  -h, --help               this help\n"
"\n"
"exit status: 0 when every answer came, 1 when one did not or was an\n"
"error, 2 for a usage error.\n",
	.main = ping_main,
};
