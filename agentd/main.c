/* main.c - agentd's command line, its sockets and its one poll loop over
 * the ROUTER, the ZAP handler, a signalfd and the inotify fd. Requests
 * are dispatch.c's business; this file only decides what runs and when
 * it stops. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "audit.h"
#include "authkeys.h"
#include "cookie.h"
#include "creds.h"
#include "dispatch.h"
#include "flow.h"
#include "keys.h"
#include "log.h"
#include "msg.h"
#include "op.h"
#include "proc.h"
#include "session.h"
#include "stage.h"
#include "uprec.h"
#include "watch.h"
#include "wire.h"
#include "zap.h"

#define MAIN_DEFAULT_ENDPOINT	"tcp://127.0.0.1:7400"
#define MAIN_SWEEP_SECONDS	2	/* connections gone, sessions lingered */
#define MAIN_RESUME_MS		2	/* retry replies that had no room, */
#define MAIN_RESUME_MAX_MS	200	/* backing off to this while stuck */
#define MAIN_BATCH		256	/* requests per wakeup, then signals */
#define MAIN_SNDHWM		1	/* replies queued per peer */
#define EXIT_RUNTIME		1
#define EXIT_USAGE		2

enum {
	OPT_READ_ONLY = 256,
	OPT_LOG_LEVEL,
	OPT_STATE_DIR,
	OPT_MAX_SESSIONS_PER_KEY,
	OPT_MAX_CONNS_PER_KEY,
	OPT_MAX_INFLIGHT,
	OPT_MAX_INFLIGHT_PER_KEY,
	OPT_MAX_QUEUED,
	OPT_MAX_SESSIONS,
	OPT_LINGER,
	OPT_MAX_WATCHES,
	OPT_MAX_WATCHES_PER_KEY,
	OPT_MAX_PROCS,
	OPT_STAGE_MAX,
};

static const struct option main_options[] = {
	{ "listen",		required_argument,	NULL, 'l' },
	{ "endpoint-file",	required_argument,	NULL, 'E' },
	{ "root",		required_argument,	NULL, 'r' },
	{ "read-only",		no_argument,		NULL, OPT_READ_ONLY },
	{ "keys",		required_argument,	NULL, 'k' },
	{ "server-key",		required_argument,	NULL, 's' },
	{ "audit",		required_argument,	NULL, 'a' },
	{ "log-level",		required_argument,	NULL, OPT_LOG_LEVEL },
	{ "state-dir",		required_argument,	NULL, OPT_STATE_DIR },
	{ "max-sessions-per-key", required_argument,	NULL,
	    OPT_MAX_SESSIONS_PER_KEY },
	{ "max-conns-per-key",	required_argument,	NULL,
	    OPT_MAX_CONNS_PER_KEY },
	{ "max-inflight",	required_argument,	NULL, OPT_MAX_INFLIGHT },
	{ "max-inflight-per-key", required_argument,	NULL,
	    OPT_MAX_INFLIGHT_PER_KEY },
	{ "max-queued-per-key",	required_argument,	NULL, OPT_MAX_QUEUED },
	{ "max-sessions",	required_argument,	NULL, OPT_MAX_SESSIONS },
	{ "linger",		required_argument,	NULL, OPT_LINGER },
	{ "max-watches-per-session", required_argument, NULL,
	    OPT_MAX_WATCHES },
	{ "max-watches-per-key", required_argument,	NULL,
	    OPT_MAX_WATCHES_PER_KEY },
	{ "max-procs",		required_argument,	NULL, OPT_MAX_PROCS },
	{ "stage-max",		required_argument,	NULL, OPT_STAGE_MAX },
	{ "version",		no_argument,		NULL, 'V' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL,			0,			NULL, 0 }
};

struct main_cfg {
	const char	*listen;
	const char	*endpoint_file;
	const char	*root;
	int		 ro;
	const char	*keys;
	const char	*server_key;
	const char	*audit;
	const char	*state_dir;
	char		 state_buf[4096];
	char		 listen_buf[1024];
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: agentd [-l ENDPOINT] [-E FILE] [-r DIR] [--read-only]\n"
"              [-k AUTHORIZED_KEYS -s SERVER_KEY] [-a AUDIT_LOG]\n"
"              [--state-dir DIR] [--log-level error|warn|info|debug]\n"
"              [--max-... N] [--linger SECONDS]\n"
"\n"
"Serves zmx clients' file operations beneath a root (see agentd(8)).\n"
"\n"
"  -l, --listen ENDPOINT     ZeroMQ endpoint to bind (default %s;\n"
"                            tcp://127.0.0.1:* picks a free port)\n"
"  -E, --endpoint-file FILE  write the bound endpoint and a newline here\n"
"  -r, --root DIR            clients' scope without keys (default /)\n"
"      --read-only           clients without keys may not change files\n"
"  -k, --keys FILE           authorized keys: CURVE, only these clients\n"
"  -s, --server-key FILE     agentd's secret key file (with --keys)\n"
"  -a, --audit FILE          append a line per change to FILE\n"
"      --state-dir DIR       where agentd records unfinished uploads, to\n"
"                            remove their temp files if it is killed\n"
"                            (default /var/lib/agentd as root, else\n"
"                            ~/.local/state/agentd)\n"
"      --log-level LEVEL     error, warn (default), info or debug\n"
"\n"
"Limits for each key (keyless clients count as one key):\n"
"      --max-sessions-per-key N   sessions (default 64)\n"
"      --max-conns-per-key N      connections (default 128)\n"
"      --max-inflight N           requests held back per connection\n"
"                                 while its replies are not read (64)\n"
"      --max-inflight-per-key N   the same for all of a key's (1024)\n"
"      --max-queued-per-key BYTES unsent replies kept for a key; as\n"
"                                 much again of held-back requests\n"
"                                 (default 64M; K, M, G suffixes)\n"
"      --max-sessions N           sessions of all keys (default 4096)\n"
"      --linger SECONDS           a session outlives its last connection\n"
"                                 (default 30)\n"
"      --max-watches-per-session N  paths watched for a session's\n"
"                                 invalidations (default 16384)\n"
"      --max-watches-per-key N    the same for all of a key's (65536)\n"
"      --max-procs N              commands running at once (default 64)\n"
"      --stage-max BYTES          programs kept in the staging store\n"
"                                 (default 2G; K, M, G suffixes)\n"
"\n"
"  -V, --version             print the version and exit\n"
"  -h, --help                print this and exit\n"
"\n"
"Without --keys agentd listens on loopback only and serves only the\n"
"Unix user who started it.\n",
	    MAIN_DEFAULT_ENDPOINT);
}

/* Whether an endpoint is reachable from this machine only. */
static int
is_loopback(const char *ep)
{
	const char *host, *colon;
	size_t n, i;
	int dots = 0;

	if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0)
		return 1;
	if (strncmp(ep, "tcp://", 6) != 0)
		return 0;
	host = ep + 6;
	if ((colon = strrchr(host, ':')) == NULL || strchr(host, ';') != NULL)
		return 0;
	n = colon - host;
	if ((n == 9 && strncmp(host, "localhost", 9) == 0) ||
	    (n == 5 && strncmp(host, "[::1]", 5) == 0))
		return 1;
	if (n < 7 || strncmp(host, "127.", 4) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (host[i] == '.')
			dots++;
		else if (host[i] < '0' || host[i] > '9')
			return 0;
	}
	return dots == 3;
}

/* A positive count for a limit option, with an optional K, M or G. */
static int
parse_limit(const char *opt, const char *arg, int bytes, size_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (bytes && (*end == 'K' || *end == 'k'))
		shift = 10, end++;
	else if (bytes && (*end == 'M' || *end == 'm'))
		shift = 20, end++;
	else if (bytes && (*end == 'G' || *end == 'g'))
		shift = 30, end++;
	/* checked before the shift, which could wrap */
	if (errno != 0 || end == arg || *end != '\0' || v == 0 ||
	    v > (bytes ? (1ull << 40) >> shift : 1000000ull)) {
		fprintf(stderr, "agentd: --%s: '%s' is not a positive %s\n",
		    opt, arg, bytes ? "size" : "count");
		return -1;
	}
	*out = (size_t)(v << shift);
	return 0;
}

/* Which of zmx_limits (session.h) each limit option sets: a count, or
 * a size (bytes, with K, M or G). */
static const struct main_limit {
	int		 opt;
	int		*count;
	size_t		*size;
} main_limits[] = {
	{ OPT_MAX_SESSIONS_PER_KEY, &zmx_limits.sessions_per_key, NULL },
	{ OPT_MAX_CONNS_PER_KEY, &zmx_limits.conns_per_key, NULL },
	{ OPT_MAX_INFLIGHT, &zmx_limits.inflight_per_conn, NULL },
	{ OPT_MAX_INFLIGHT_PER_KEY, &zmx_limits.inflight_per_key, NULL },
	{ OPT_MAX_QUEUED, NULL, &zmx_limits.queued_per_key },
	{ OPT_MAX_SESSIONS, &zmx_limits.sessions_max, NULL },
	{ OPT_LINGER, &zmx_limits.linger, NULL },
	{ OPT_MAX_WATCHES, &zmx_limits.watches_per_session, NULL },
	{ OPT_MAX_WATCHES_PER_KEY, &zmx_limits.watches_per_key, NULL },
	{ OPT_MAX_PROCS, &zmx_limits.procs_per_key, NULL },
	{ OPT_STAGE_MAX, NULL, &zmx_stage_max },
};

/* Sets the limit of option opt (one of main_limits) from arg. */
static int
parse_limit_opt(int opt, const char *arg)
{
	const struct option *o = main_options;
	size_t i, v;

	while (o->name != NULL && o->val != opt)
		o++;
	for (i = 0; i < sizeof(main_limits) / sizeof(main_limits[0]); i++) {
		if (main_limits[i].opt != opt)
			continue;
		if (parse_limit(o->name, arg, main_limits[i].size != NULL,
		    &v) < 0)
			return -1;
		if (main_limits[i].size != NULL)
			*main_limits[i].size = v;
		else
			*main_limits[i].count = (int)v;
		return 0;
	}
	return -1;
}

/* The default state directory (cookie.c says which, as clients find
 * the cookie there too), with its parents made as needed (0700). */
static const char *
default_state_dir(char *buf, size_t len)
{
	char *p;

	if (zmx_cookie_default_dir(buf, len) < 0)
		return NULL;
	for (p = strchr(buf + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		(void)mkdir(buf, 0700);
		*p = '/';
	}
	return buf;
}

/* libzmq binds a TCP host part as an interface name or an address:
 * "localhost" is neither, so it becomes 127.0.0.1. */
static const char *
bind_endpoint(const char *ep, char *buf, size_t len)
{
	if (strncmp(ep, "tcp://localhost:", 16) == 0) {
		snprintf(buf, len, "tcp://127.0.0.1:%s", ep + 16);
		return buf;
	}
	return ep;
}

/* Writes the endpoint beside FILE then renames it in, so a test that
 * waits for FILE never reads half a line. */
static int
write_endpoint(const char *file, const char *ep)
{
	char tmp[4096];
	FILE *f;
	int fd, r = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", file,
	    (long)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	/* 0644 whatever the umask: agentd runs with umask 0 */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0)
		return -errno;
	if ((f = fdopen(fd, "w")) == NULL) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	if (fprintf(f, "%s\n", ep) < 0)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, file) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static int
parse_args(int argc, char **argv, struct main_cfg *cfg)
{
	struct stat st;
	int ch, level;

	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = MAIN_DEFAULT_ENDPOINT;
	while ((ch = getopt_long(argc, argv, "l:E:r:k:s:a:Vh", main_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'l':
			cfg->listen = optarg;
			break;
		case 'E':
			cfg->endpoint_file = optarg;
			break;
		case 'r':
			cfg->root = optarg;
			break;
		case OPT_READ_ONLY:
			cfg->ro = 1;
			break;
		case 'k':
			cfg->keys = optarg;
			break;
		case 's':
			cfg->server_key = optarg;
			break;
		case 'a':
			cfg->audit = optarg;
			break;
		case OPT_STATE_DIR:
			cfg->state_dir = optarg;
			break;
		case OPT_MAX_SESSIONS_PER_KEY:
		case OPT_MAX_CONNS_PER_KEY:
		case OPT_MAX_INFLIGHT:
		case OPT_MAX_INFLIGHT_PER_KEY:
		case OPT_MAX_QUEUED:
		case OPT_MAX_SESSIONS:
		case OPT_LINGER:
		case OPT_MAX_WATCHES:
		case OPT_MAX_WATCHES_PER_KEY:
		case OPT_MAX_PROCS:
		case OPT_STAGE_MAX:
			if (parse_limit_opt(ch, optarg) < 0)
				return -1;
			break;
		case OPT_LOG_LEVEL:
			if ((level = zmx_log_parse_level(optarg)) < 0) {
				fprintf(stderr, "agentd: --log-level: '%s' is "
				    "not error, warn, info or debug\n", optarg);
				return -1;
			}
			zmx_log_set_level(level);
			break;
		case 'V':
			printf("agentd %s (protocol %d)\n", ZMX_VERSION,
			    ZMX_PROTO_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "agentd: unexpected argument '%s'\n",
		    argv[optind]);
		return -1;
	}
	if (cfg->keys != NULL && cfg->server_key == NULL) {
		fprintf(stderr, "agentd: --keys needs --server-key, "
		    "agentd's secret key file\n");
		return -1;
	}
	if (cfg->server_key != NULL && cfg->keys == NULL) {
		fprintf(stderr, "agentd: --server-key without --keys would "
		    "accept any client key; give --keys too\n");
		return -1;
	}
	if (cfg->keys == NULL && !is_loopback(cfg->listen)) {
		fprintf(stderr, "agentd: without --keys agentd listens on "
		    "loopback only (tcp://127.0.0.1, tcp://[::1], "
		    "tcp://localhost, ipc://, inproc://), not %s\n",
		    cfg->listen);
		return -1;
	}
	if (cfg->keys != NULL && (cfg->root != NULL || cfg->ro))
		fprintf(stderr, "agentd: --root and --read-only are ignored "
		    "with --keys: each key has its own root= and ro|rw\n");
	if (cfg->root == NULL)
		cfg->root = "/";
	if (cfg->state_dir == NULL && (cfg->state_dir = default_state_dir(
	    cfg->state_buf, sizeof(cfg->state_buf))) == NULL) {
		fprintf(stderr, "agentd: no HOME to keep state in: give "
		    "--state-dir\n");
		return -1;
	}
	cfg->listen = bind_endpoint(cfg->listen, cfg->listen_buf,
	    sizeof(cfg->listen_buf));
	if (cfg->keys == NULL) {
		if (cfg->root[0] != '/') {
			fprintf(stderr, "agentd: --root %s: not an absolute "
			    "path\n", cfg->root);
			return -1;
		}
		if (stat(cfg->root, &st) < 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "agentd: --root %s: %s\n", cfg->root,
			    errno ? strerror(errno) : "not a directory");
			return -1;
		}
	}
	return 0;
}

/* SIGHUP: the keys file again (a bad one keeps the old), and the audit
 * log reopened for logrotate. */
static void
reload(const struct main_cfg *cfg, struct zmx_authkeys **akp)
{
	struct zmx_authkeys *ak = NULL;
	char why[1024];
	int r;

	if (cfg->audit != NULL && (r = zmx_audit_open(cfg->audit)) < 0)
		zmx_err("audit log %s: %s", cfg->audit, strerror(-r));
	if (cfg->keys == NULL)
		return;
	if (zmx_authkeys_load(cfg->keys, &ak, why, sizeof(why)) < 0) {
		zmx_err("keys not reloaded: %s", why);
		return;
	}
	zmx_session_rekey(ak);
	zmx_authkeys_free(*akp);
	*akp = ak;
	zmx_info("reloaded %zu keys from %s", ak->n, cfg->keys);
}

/* Each session holds its scope's fd and each unfinished upload two:
 * take all the fds the hard limit allows. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
setup_router(void *router, const struct main_cfg *cfg,
    const struct zmx_keypair *kp)
{
	/* a request is at most one chunk of data and its fields; a peer
	 * may queue only a few before it waits for agentd */
	int64_t maxmsg = ZMX_MAX_DATA + (64 << 10);
	int one = 1, hwm = 16, sndhwm = MAIN_SNDHWM;

	/* No ZMQ_ROUTER_HANDOVER: a peer may choose its routing id, and
	 * taking over another client's pipe would be taking its session. */
	if (zmx_wire_common_opts(router) < 0 ||
	    zmq_setsockopt(router, ZMQ_MAXMSGSIZE, &maxmsg,
	    sizeof(maxmsg)) < 0 ||
	    zmq_setsockopt(router, ZMQ_RCVHWM, &hwm, sizeof(hwm)) < 0 ||
	    zmq_setsockopt(router, ZMQ_SNDHWM, &sndhwm, sizeof(sndhwm)) < 0 ||
	    zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one,
	    sizeof(one)) < 0)
		return -errno;
	if (strncmp(cfg->listen, "tcp://[", 7) == 0 &&
	    zmq_setsockopt(router, ZMQ_IPV6, &one, sizeof(one)) < 0)
		return -errno;
	if (kp == NULL)
		return 0;
	if (zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof(one)) < 0 ||
	    zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, kp->secret,
	    ZMX_Z85_LEN) < 0)
		return -errno;
	return 0;
}

int
main(int argc, char **argv)
{
	struct main_cfg cfg;
	struct zmx_authkeys *ak = NULL;
	struct zmx_keypair *kp = NULL;
	struct signalfd_siginfo si;
	zmq_pollitem_t items[5];
	sigset_t mask;
	char why[1024], ep[1024], cookie_path[4200];
	uint8_t cookie[ZMX_COOKIE_LEN];
	size_t eplen = sizeof(ep);
	void *ctx = NULL, *router = NULL, *zap = NULL;
	time_t last_sweep = time(NULL), now;
	int sfd = -1, nitems, i, r, status = EXIT_USAGE, stop = 0, wrote = 0;
	int resume_ms = MAIN_RESUME_MS, timeout, waiting;

	zmx_log_init("agentd", NULL);
	if (parse_args(argc, argv, &cfg) < 0)
		return EXIT_USAGE;
	if ((r = zmx_creds_init()) < 0) {
		fprintf(stderr, "agentd: reading our own ids: %s\n",
		    strerror(-r));
		goto out;
	}
	if (cfg.keys != NULL) {
		if (zmx_authkeys_load(cfg.keys, &ak, why, sizeof(why)) < 0) {
			fprintf(stderr, "agentd: %s\n", why);
			goto out;
		}
		if (zmx_keys_load(cfg.server_key, 1, &kp, why,
		    sizeof(why)) < 0) {
			fprintf(stderr, "agentd: %s: %s\n", cfg.server_key,
			    why);
			goto out;
		}
		if (ak->n == 0)
			fprintf(stderr, "agentd: %s lists no keys: every "
			    "client will be refused\n", cfg.keys);
	}
	if ((r = zmx_audit_open(cfg.audit)) < 0) {
		fprintf(stderr, "agentd: audit log %s: %s\n", cfg.audit,
		    strerror(-r));
		goto out;
	}
	if (zmx_uprec_open(cfg.state_dir, why, sizeof(why)) < 0) {
		fprintf(stderr, "agentd: %s\n", why);
		goto out;
	}
	if ((r = zmx_stage_open(cfg.state_dir)) < 0) {
		fprintf(stderr, "agentd: staging store in %s: %s\n",
		    cfg.state_dir, strerror(-r));
		goto out;
	}
	if (ak == NULL) {
		snprintf(cookie_path, sizeof(cookie_path), "%s/%s",
		    cfg.state_dir, ZMX_COOKIE_NAME);
		if ((r = zmx_cookie_make(cookie_path, cookie)) < 0) {
			fprintf(stderr, "agentd: cookie %s: %s\n", cookie_path,
			    r == -EINVAL ? "not a cookie (remove it to make a "
			    "new one)" : strerror(-r));
			goto out;
		}
	}
	if (zmx_session_setup(ak, cfg.root, cfg.ro, ak ? NULL : cookie,
	    ak ? NULL : cookie_path) < 0) {
		fprintf(stderr, "agentd: out of memory\n");
		goto out;
	}

	/* signals arrive on an fd that zmq_poll watches with the sockets:
	 * no handler, no race between a flag and the poll */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		fprintf(stderr, "agentd: signalfd: %s\n", strerror(errno));
		status = EXIT_RUNTIME;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	/* modes arrive with the client's umask applied (libzmx(7)); ours
	 * must not take more away. Temp files are made 0600 explicitly. */
	umask(0);
	/* requests have a few dozen elements; a frame that declares a
	 * million must not make msgpack-c allocate for them */
	zmx_msg_max_elements = 4096;
	raise_fd_limit();
	if ((r = zmx_proc_init()) < 0) {
		fprintf(stderr, "agentd: epoll: %s\n", strerror(-r));
		goto out;
	}
	if ((r = zmx_watch_init()) < 0)
		zmx_warn("inotify: %s: sessions will cache nothing",
		    strerror(-r));

	status = EXIT_RUNTIME;
	if ((ctx = zmq_ctx_new()) == NULL) {
		fprintf(stderr, "agentd: zmq_ctx_new: %s\n",
		    zmq_strerror(errno));
		goto out;
	}
	/* the ZAP handler must be bound before the ROUTER binds, or the
	 * first handshakes would go unchecked */
	if (ak != NULL && (zap = zmx_zap_open(ctx)) == NULL) {
		fprintf(stderr, "agentd: ZAP handler: %s\n",
		    zmq_strerror(errno));
		goto out;
	}
	if ((router = zmq_socket(ctx, ZMQ_ROUTER)) == NULL ||
	    (r = setup_router(router, &cfg, kp)) < 0) {
		fprintf(stderr, "agentd: ROUTER socket: %s\n",
		    zmq_strerror(errno));
		goto out;
	}
	/* an ipc:// socket file is agentd's alone (umask 0 would make
	 * it 0777); its peers are checked anyway (session.c) */
	umask(077);
	r = zmq_bind(router, cfg.listen);
	umask(0);
	if (r < 0) {
		fprintf(stderr, "agentd: bind %s: %s\n", cfg.listen,
		    zmq_strerror(errno));
		goto out;
	}
	if (zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &eplen) < 0)
		snprintf(ep, sizeof(ep), "%s", cfg.listen);
	if (cfg.endpoint_file != NULL &&
	    (r = write_endpoint(cfg.endpoint_file, ep)) < 0) {
		fprintf(stderr, "agentd: %s: %s\n", cfg.endpoint_file,
		    strerror(-r));
		goto out;
	}
	wrote = cfg.endpoint_file != NULL;
	zmx_dispatch_init(router);
	zmx_info("agentd %s listening on %s, %s", ZMX_VERSION, ep,
	    ak ? "CURVE with authorized keys" : "loopback without keys");

	while (!stop) {
		items[0] = (zmq_pollitem_t){ router, 0, ZMQ_POLLIN, 0 };
		items[1] = (zmq_pollitem_t){ NULL, sfd, ZMQ_POLLIN, 0 };
		nitems = 2;
		if (zap != NULL)
			items[nitems++] = (zmq_pollitem_t){ zap, 0,
			    ZMQ_POLLIN, 0 };
		if (zmx_watch_fd() >= 0)
			items[nitems++] = (zmq_pollitem_t){ NULL,
			    zmx_watch_fd(), ZMQ_POLLIN, 0 };
		/* the commands' pipes, ptys and reapers */
		items[nitems++] = (zmq_pollitem_t){ NULL, zmx_proc_fd(),
		    ZMQ_POLLIN, 0 };
		/* flush first: a reply it sends may find no room and be
		 * held, which makes the flow pending (a flush that left
		 * nothing waiting must not mean "sleep to the sweep") */
		waiting = zmx_dispatch_later_flush();
		timeout = waiting || zmx_flow_pending() ?
		    resume_ms : MAIN_SWEEP_SECONDS * 1000;
		timeout = zmx_proc_timeout(timeout);
		if (zmq_poll(items, nitems, timeout) < 0) {
			if (errno == EINTR)
				continue;
			zmx_err("zmq_poll: %s", zmq_strerror(errno));
			break;
		}
		if (zap != NULL && (items[2].revents & ZMQ_POLLIN))
			for (i = 0; i < MAIN_BATCH; i++)
				if (zmx_zap_handle(zap, ak) < 0)
					break;
		/* a change made remotely is told at once, not at the
		 * session's next request */
		zmx_watch_drain();
		zmx_watch_push(router);
		if (zmx_flow_pending()) {
			/* a peer that reads again is served at once; one
			 * that does not costs ever fewer wakeups */
			if (zmx_dispatch_resume(router))
				resume_ms = MAIN_RESUME_MS;
			else if ((resume_ms *= 2) > MAIN_RESUME_MAX_MS)
				resume_ms = MAIN_RESUME_MAX_MS;
		}
		if (items[0].revents & ZMQ_POLLIN)
			for (i = 0; i < MAIN_BATCH; i++)
				if (zmx_dispatch_one(router) <= 0)
					break;
		/* output, input, exits; and held requests that may be
		 * answered now or whose wait ran out */
		zmx_proc_run();
		zmx_watch_push(router);
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGHUP)
				reload(&cfg, &ak);
			else {
				zmx_info("signal %u: exiting", si.ssi_signo);
				stop = 1;
			}
		}
		if ((now = time(NULL)) - last_sweep >= MAIN_SWEEP_SECONDS) {
			/* libzmq's I/O thread frees into an arena of its
			 * own, which glibc keeps unless asked */
			if (zmx_session_sweep(now) > 0)
				malloc_trim(0);
			last_sweep = now;
		}
	}
	status = stop ? 0 : EXIT_RUNTIME;
out:
	/* unfinished uploads' temp files go with the sessions, and
	 * their commands' trees */
	zmx_session_free_all();
	zmx_proc_fini();
	zmx_stage_close();
	zmx_uprec_close();
	zmx_flow_fini();
	zmx_watch_fini();
	zmx_dispatch_fini();
	if (router != NULL)
		zmq_close(router);
	if (zap != NULL)
		zmq_close(zap);
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	if (sfd >= 0)
		close(sfd);
	if (wrote)
		unlink(cfg.endpoint_file);
	zmx_audit_close();
	zmx_authkeys_free(ak);
	zmx_keys_free(kp);
	zmx_creds_fini();
	return status;
}
