/* zmx-exec.c - the local stand-in of a remote command (DESIGN.md
 * decision 3, zmx-exec(1)). The shim execs it in place of a command that
 * runs on agentd's side, after the SPAWN went out on the session
 * connection it passes (--attach); run by hand, it starts the command
 * itself. Either way it then behaves as the command would have: it feeds
 * the command's stdin from its own, writes the command's stdout and
 * stderr to its own fds, forwards the signals it gets, puts a local
 * terminal in raw mode while a remote pty serves it, and exits with the
 * command's status or dies of its signal.
 *
 * Flow control is the protocol's: at most OUT_WINDOW PREAD_OUTs and
 * IN_WINDOW PWRITE_INs are out at once, and a write to our stdout that
 * blocks stops the asking, so agentd's buffer fills and the remote
 * command blocks, as on a full pipe. Links only msgpack-c: it starts
 * in well under a millisecond. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "local.h"
#include "msg.h"
#include "path.h"
#include "policy.h"
#include "command.h"

#define OUT_WINDOW	8		/* PREAD_OUTs out at once */
#define IN_WINDOW	4		/* PWRITE_INs out at once */
#define IN_CHUNK	(256u << 10)	/* stdin bytes per PWRITE_IN */
#define WAIT_MS		1000		/* how long agentd may hold one,
					 * at most a quarter of the
					 * session's timeout */
#define EXIT_LINK	255		/* as ssh: the link failed */

static const char *prog = "zmx-exec";	/* the command, in messages */
static uint32_t wait_ms = WAIT_MS;
static uint64_t sig_ign, sig_mask;	/* ours as we started */

static struct {
	int		 fd;		/* the session connection */
	uint64_t	 h;
	uint64_t	 next_id;
	/* output */
	uint64_t	 out_ask;	/* the next seq to ask for */
	uint64_t	 out_write;	/* the next seq to write */
	struct outslot {
		uint64_t	 id, seq;
		int		 busy, have;
		struct zmx_buf	 frame;	/* the OUTPUT, when it came early */
	}		 out[OUT_WINDOW];
	int		 out_closed[3];	/* our fd 1 or 2 is gone */
	/* input */
	int		 in_open;	/* still reading our stdin */
	int		 in_eof_sent;
	uint64_t	 in_seq;
	uint64_t	 in_ids[IN_WINDOW];
	int		 nin;
	/* terminal */
	uint32_t	 tty;
	int		 raw;
	struct termios	 saved;
	int		 shadow;	/* the command ended, its leftovers
					 * did not: their output goes on here */
	/* input buffer from the session */
	unsigned char	*rb;
	size_t		 rlen, rcap;
	int		 sigfd;
} X = { .fd = -1 };

_Static_assert(OUT_WINDOW >= ZMX_SPAWN_READS,
    "the window holds the PREAD_OUTs sent behind the SPAWN");

static void
die_link(const char *fmt, const char *what)
{
	/* a shadow's job is killed with its session: nothing to say */
	if (X.shadow)
		_exit(EXIT_LINK);
	fprintf(stderr, "zmx-exec: %s: ", prog);
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	if (X.raw)
		(void)tcsetattr(0, TCSADRAIN, &X.saved);
	exit(EXIT_LINK);
}

static void
send_msg(struct zmx_msg *m)
{
	struct zmx_buf b = { 0 };
	unsigned char *p;
	int r;

	if ((p = malloc(ZMX_LOCAL_HDR)) == NULL)
		die_link("%s", "out of memory");
	b.data = (char *)p;
	b.cap = ZMX_LOCAL_HDR;
	b.len = ZMX_LOCAL_HDR;
	if (zmx_msg_encode(m, &b) < 0)
		die_link("%s", "cannot encode a request");
	zmx_local_hdr((unsigned char *)b.data, (uint32_t)(b.len -
	    ZMX_LOCAL_HDR));
	if ((r = zmx_local_send_all(X.fd, b.data, b.len)) < 0)
		die_link("the session is gone (%s)", strerror(-r));
	zmx_buf_free(&b);
}

static uint64_t
ask(uint32_t type, struct zmx_msg *m)
{
	m->type = type;
	m->id = X.next_id++;
	send_msg(m);
	return m->id;
}

static void
ctl(uint32_t op, uint32_t arg, uint32_t arg2)
{
	struct zmx_msg m = { 0 };

	m.u.proc_ctl.h = X.h;
	m.u.proc_ctl.op = op;
	m.u.proc_ctl.arg = arg;
	m.u.proc_ctl.arg2 = arg2;
	(void)ask(ZMX_MSG_PROC_CTL, &m);
}

static void
ask_out(struct outslot *s, uint64_t seq)
{
	struct zmx_msg m = { 0 };

	m.u.pread_out.h = X.h;
	m.u.pread_out.seq = seq;
	m.u.pread_out.wait = wait_ms;
	s->seq = seq;
	s->busy = 1;
	s->have = 0;
	s->id = ask(ZMX_MSG_PREAD_OUT, &m);
}

/* Keeps OUT_WINDOW chunks asked for. */
static void
fill_out_window(void)
{
	int i;

	for (i = 0; i < OUT_WINDOW; i++)
		if (!X.out[i].busy)
			ask_out(&X.out[i], X.out_ask++);
}

static void
raw_on(void)
{
	struct termios t;

	if (!(X.tty & 1) || X.raw || tcgetattr(0, &X.saved) < 0)
		return;
	t = X.saved;
	cfmakeraw(&t);
	if (tcsetattr(0, TCSADRAIN, &t) == 0)
		X.raw = 1;
}

static void
raw_off(void)
{
	if (X.raw)
		(void)tcsetattr(0, TCSADRAIN, &X.saved);
	X.raw = 0;
}

/* Writes all of p to fd (waiting if fd is non-blocking); -errno on
 * failure. */
static int
put(int fd, const void *p, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				(void)poll(&pfd, 1, -1);
				continue;
			}
			return -errno;
		}
		p = (const char *)p + n;
		len -= (size_t)n;
	}
	return 0;
}

/* The command's bytes for our fd (1 or 2). A reader that left (EPIPE)
 * or a closed fd: agentd closes its end, the command gets SIGPIPE. */
static void
deliver(int fd, const void *p, size_t len)
{
	if (len == 0 || X.out_closed[fd])
		return;
	if (put(fd, p, len) < 0) {
		X.out_closed[fd] = 1;
		ctl(ZMX_CTL_CLOSE, (uint32_t)fd, 0);
	}
}

/* Exits as the command did. */
static void
exit_as(int status)
{
	raw_off();
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		struct rlimit no = { 0, 0 };
		sigset_t all;

		/* the command dumped its core there, not here */
		(void)setrlimit(RLIMIT_CORE, &no);
		signal(sig, SIG_DFL);
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		raise(sig);
		exit(128 + sig);
	}
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_LINK);
}

static void
finish(int status)
{
	ctl(ZMX_CTL_DONE, 0, 0);
	if (X.shadow)
		_exit(0);	/* the leftovers' streams ended */
	exit_as(status);
}

/* The command ended but left processes that hold its streams (a
 * background job): as locally, whoever waits for the command is told
 * now, and the streams stay open until those end. A child of ours
 * (the shadow) keeps them: it goes on carrying their output, in the
 * same process group, so signals to the group still reach them. */
static void
ended(int status)
{
	pid_t pid;

	if (X.shadow || (pid = fork()) < 0)
		return;			/* then one process does both */
	if (pid == 0) {
		X.shadow = 1;
		X.raw = 0;		/* the terminal is the parent's */
		return;
	}
	exit_as(status);
}

/* The shadow holds only the fds whose remote streams are still open:
 * one that ended is closed here, as the job would not hold it. */
static void
shadow_close(uint32_t flags)
{
	if (!X.shadow)
		return;
	if ((flags & ZMX_OUT_EOF_OUT) && !X.out_closed[1]) {
		X.out_closed[1] = 1;
		close(1);
	}
	if ((flags & ZMX_OUT_EOF_ERR) && !X.out_closed[2]) {
		X.out_closed[2] = 1;
		close(2);
	}
}

/* An OUTPUT in order: written out; 1 if it was the last. */
static int
take_output(const struct zmx_msg_output *o)
{
	/* agentd put the pty's bytes with the stream of the fd it serves */
	deliver(1, o->out, o->out_len);
	deliver(2, o->err, o->err_len);
	if ((o->flags & ZMX_OUT_IN_CLOSED) && X.in_open) {
		X.in_open = 0;
		close(0);	/* a local writer gets EPIPE, as locally */
	}
	if (o->flags & ZMX_OUT_EXIT)
		finish(o->status);
	else if (o->flags & ZMX_OUT_ENDED)
		ended(o->status);
	shadow_close(o->flags);
	return 0;
}

/* Writes what arrived in order, asking for more. */
static void
drain_in_order(void)
{
	struct zmx_msg m;
	char why[128];
	int i, progress = 1;

	while (progress) {
		progress = 0;
		for (i = 0; i < OUT_WINDOW; i++) {
			struct outslot *s = &X.out[i];

			if (!s->busy || !s->have || s->seq != X.out_write)
				continue;
			if (zmx_msg_decode(&m, s->frame.data, s->frame.len,
			    why, sizeof(why)) < 0)
				die_link("a bad answer: %s", why);
			s->busy = s->have = 0;
			X.out_write++;
			take_output(&m.u.output);
			zmx_msg_close(&m);
			zmx_buf_free(&s->frame);
			progress = 1;
		}
	}
	fill_out_window();
}

static void
on_frame(const unsigned char *p, size_t len)
{
	struct zmx_msg m;
	char why[128];
	int i, r;

	if (zmx_msg_decode(&m, p, len, why, sizeof(why)) < 0)
		die_link("a bad frame from the session: %s", why);
	for (i = 0; i < OUT_WINDOW; i++) {
		struct outslot *s = &X.out[i];

		if (!s->busy || s->id != m.id)
			continue;
		if (m.type == ZMX_MSG_ERROR)
			die_link("agentd: %s", m.u.error.detail);
		if (m.type != ZMX_MSG_OUTPUT)
			die_link("%s", "an answer of the wrong kind");
		if ((m.u.output.flags & ZMX_OUT_IDLE) &&
		    m.u.output.out_len == 0 && m.u.output.err_len == 0 &&
		    !(m.u.output.flags & ZMX_OUT_EXIT)) {
			ask_out(s, s->seq);	/* nothing yet: again */
			break;
		}
		s->have = 1;
		s->frame.len = 0;
		if (s->frame.cap < len) {
			free(s->frame.data);
			if ((s->frame.data = malloc(len)) == NULL)
				die_link("%s", "out of memory");
			s->frame.cap = len;
		}
		memcpy(s->frame.data, p, len);
		s->frame.len = len;
		zmx_msg_close(&m);
		drain_in_order();
		return;
	}
	for (i = 0; i < X.nin; i++) {
		if (X.in_ids[i] != m.id)
			continue;
		X.in_ids[i] = X.in_ids[--X.nin];
		r = zmx_msg_result(&m, ZMX_MSG_OK);
		if (r == -EPIPE && X.in_open) {
			X.in_open = 0;
			close(0);
		} else if (r < 0 && r != -EPIPE)
			die_link("agentd: stdin: %s", strerror(-r));
		break;
	}
	/* PROC_CTL answers: nothing to do */
	zmx_msg_close(&m);
}

/* Reads what the session sent and handles each whole frame. */
static void
on_session(void)
{
	size_t off = 0;
	uint32_t len;
	ssize_t n;
	int fd;

	if (X.rcap - X.rlen < 65536) {
		size_t cap = X.rcap ? X.rcap * 2 : 262144;

		if ((X.rb = realloc(X.rb, cap)) == NULL)
			die_link("%s", "out of memory");
		X.rcap = cap;
	}
	fd = -1;
	n = zmx_local_recv(X.fd, X.rb + X.rlen, X.rcap - X.rlen, &fd, 1);
	if (fd >= 0)
		close(fd);
	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n <= 0)
		die_link("%s", "the session ended");
	X.rlen += (size_t)n;
	while (X.rlen - off >= ZMX_LOCAL_HDR) {
		len = zmx_local_len(X.rb + off);
		if (len > ZMX_MAX_FRAME)
			die_link("%s", "a frame too big from the session");
		if (X.rlen - off - ZMX_LOCAL_HDR < len)
			break;
		on_frame(X.rb + off + ZMX_LOCAL_HDR, len);
		off += ZMX_LOCAL_HDR + len;
	}
	memmove(X.rb, X.rb + off, X.rlen - off);
	X.rlen -= off;
}

static void
on_stdin(void)
{
	static char buf[IN_CHUNK];
	struct zmx_msg m = { 0 };
	ssize_t n;

	n = read(0, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	m.u.pwrite_in.h = X.h;
	m.u.pwrite_in.seq = X.in_seq++;
	m.u.pwrite_in.data = buf;
	m.u.pwrite_in.data_len = n > 0 ? (size_t)n : 0;
	if (n <= 0) {
		/* a pty's stdin has no end to send: its EOF is a byte */
		m.u.pwrite_in.flags = ZMX_IN_EOF;
		X.in_open = 0;
		X.in_eof_sent = 1;
	}
	X.in_ids[X.nin++] = ask(ZMX_MSG_PWRITE_IN, &m);
}

static void
stop_self(void)
{
	sigset_t one;

	sigemptyset(&one);
	sigaddset(&one, SIGTSTP);
	signal(SIGTSTP, SIG_DFL);
	raise(SIGTSTP);		/* pending until unblocked: */
	sigprocmask(SIG_UNBLOCK, &one, NULL);	/* stops here */
	sigprocmask(SIG_BLOCK, &one, NULL);
}

static void
on_signal(void)
{
	struct signalfd_siginfo si;
	struct winsize ws;
	int fd;

	while (read(X.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGWINCH:
			fd = X.tty & 1 ? 0 : X.tty & 2 ? 1 : 2;
			if (X.tty && ioctl(fd, TIOCGWINSZ, &ws) == 0)
				ctl(ZMX_CTL_WINCH, ws.ws_row, ws.ws_col);
			break;
		case SIGTSTP:
			/* the command stops there, we stop here, of the same
			 * signal (a shell's wait sees WSTOPSIG SIGTSTP) */
			ctl(ZMX_CTL_SIGNAL, SIGTSTP, 0);
			raw_off();
			stop_self();
			break;
		case SIGCONT:
			raw_on();
			ctl(ZMX_CTL_SIGNAL, SIGCONT, 0);
			break;
		default:
			ctl(ZMX_CTL_SIGNAL, si.ssi_signo, 0);
		}
	}
}

static void
loop(void)
{
	struct pollfd p[3];
	int n;

	fill_out_window();
	for (;;) {
		n = 0;
		p[n++] = (struct pollfd){ .fd = X.fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = X.sigfd, .events = POLLIN };
		if (X.in_open && X.nin < IN_WINDOW)
			p[n++] = (struct pollfd){ .fd = 0, .events = POLLIN };
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_link("poll: %s", strerror(errno));
		}
		if (p[1].revents)
			on_signal();
		if (n > 2 && p[2].revents)
			on_stdin();
		if (p[0].revents)
			on_session();
	}
}

/* The session connection: ZMX_SESSION_FD=FD:PID (from the shim), or a
 * new one to ZMX_SESSION_DIR's socket. */
static int
session_connect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const char *s = getenv("ZMX_SESSION_FD"), *dir;
	int fd;

	if (s != NULL && (fd = atoi(s)) > 2 && fcntl(fd, F_GETFD) >= 0) {
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		return fd;
	}
	if ((dir = getenv("ZMX_SESSION_DIR")) == NULL || *dir == '\0') {
		fprintf(stderr, "zmx-exec: no session: run it under 'zmx "
		    "run' (ZMX_SESSION_DIR is not set)\n");
		exit(EXIT_LINK);
	}
	if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", dir,
	    ZMX_LOCAL_SOCK) >= sizeof(a.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "zmx-exec: session %s/%s: %s\n", dir,
		    ZMX_LOCAL_SOCK, strerror(errno));
		exit(EXIT_LINK);
	}
	return fd;
}

/* The remote cwd for a command started here: ZMX_CWD (the shim's
 * virtual cwd) or $PWD/getcwd(), mapped by the policy. */
static int
plan_cwd(char *out, size_t len)
{
	struct zmx_policy pol = { 0 };
	const struct zmx_rule *r;
	const char *text = getenv("ZMX_POLICY"), *cwd = getenv("ZMX_CWD");
	char why[256], here[PATH_MAX];
	int i;

	if (text == NULL || zmx_policy_parse(&pol, text, why,
	    sizeof(why)) < 0) {
		fprintf(stderr, "zmx-exec: no usable ZMX_POLICY: run it under "
		    "'zmx run'\n");
		return -1;
	}
	if (cwd == NULL || cwd[0] != '/')
		cwd = getcwd(here, sizeof(here));
	if (cwd != NULL && (r = zmx_policy_match(&pol, cwd)) != NULL) {
		i = zmx_policy_map(r, cwd, out, len);
		zmx_policy_free(&pol);
		return i < 0 ? -1 : 0;
	}
	for (i = 0; i < pol.n; i++)
		if (pol.rules[i].remote) {
			snprintf(out, len, "%s", pol.rules[i].rprefix);
			zmx_policy_free(&pol);
			return 0;
		}
	zmx_policy_free(&pol);
	fprintf(stderr, "zmx-exec: ZMX_POLICY names nothing remote\n");
	return -1;
}

/* Starts the command (by hand, or for posix_spawn): SPAWN and the
 * PREAD_OUTs behind it, then the SPAWN's answer. Exits 127/126 as a shell would if
 * agentd cannot run it. */
static void
spawn(char *path, uint32_t flags, char *cwd, char **argv)
{
	extern char **environ;
	struct zmx_spawn sp = {
		.path = path, .flags = flags, .cwd = cwd, .argv = argv,
		.envp = environ, .wait = wait_ms, .have_sig = 1,
		.sigign = sig_ign, .sigmask = sig_mask,
	};
	size_t room = zmx_spawn_room(argv, environ);
	unsigned char hdr[ZMX_LOCAL_HDR];
	struct zmx_msg m;
	char *buf, why[128], *body;
	ssize_t len, n;
	size_t got;
	int r;

	while (sp.h == 0)
		if (getrandom(&sp.h, sizeof(sp.h), 0) != sizeof(sp.h))
			die_link("%s", "getrandom failed");
	if ((buf = malloc(room)) == NULL)
		die_link("%s", "out of memory");
	if ((len = zmx_spawn_frames(&sp, buf, room)) < 0)
		die_link("%s", strerror((int)-len));
	if ((r = zmx_local_send_all(X.fd, buf, (size_t)len)) < 0)
		die_link("the session is gone (%s)", strerror(-r));
	free(buf);
	for (got = 0; got < sizeof(hdr); got += (size_t)n)
		if ((n = read(X.fd, hdr + got, sizeof(hdr) - got)) <= 0)
			die_link("%s", "the session ended");
	if ((body = malloc(zmx_local_len(hdr) + 1)) == NULL)
		die_link("%s", "out of memory");
	for (got = 0; got < zmx_local_len(hdr); got += (size_t)n)
		if ((n = read(X.fd, body + got, zmx_local_len(hdr) - got)) <= 0)
			die_link("%s", "the session ended");
	if (zmx_msg_decode(&m, body, got, why, sizeof(why)) < 0)
		die_link("a bad answer: %s", why);
	if ((r = zmx_msg_result(&m, ZMX_MSG_OK)) < 0) {
		fprintf(stderr, "zmx-exec: %s: %s\n", path,
		    strerror(r == -ENOPKG ? ENOENT : -r));
		exit(r == -ENOENT || r == -ENOPKG ? 127 : 126);
	}
	zmx_msg_close(&m);
	free(body);
	X.h = sp.h;
}

static int
usage(FILE *f)
{
	fprintf(f,
"usage: zmx-exec [--] PROGRAM [ARG...]\n"
"       zmx-exec --program PATH [--search] [--cwd DIR] -- ARGV0 [ARG...]\n"
"Runs PROGRAM on agentd's side of the zmx session this process is in,\n"
"in the remote counterpart of the current directory, with this\n"
"environment (less ZMX_*), and behaves as PROGRAM would: its stdin,\n"
"stdout and stderr are ours, signals sent to zmx-exec reach it, a\n"
"terminal gets a remote pty, and zmx-exec exits with its status or\n"
"dies of its signal. 255 if the session or agentd failed. The shim\n"
"runs commands this way by itself; see zmx-exec(1).\n"
"  --program PATH  the program to run (default: PROGRAM); ARGV0 is\n"
"                  what it gets as argv[0]\n"
"  --search        look PATH up in the remote PATH (as execvp)\n"
"  --cwd DIR       the remote directory to run in (agentd's name)\n"
"  -h, --help      this help\n");
	return f == stdout ? 0 : 2;
}

int
main(int argc, char **argv)
{
	sigset_t set;
	char cwdbuf[PATH_MAX], *program = NULL, *cwd = NULL;
	const char *t;
	uint32_t flags = ZMX_SPAWN_MAY_STAGE;
	int i, a, attach = 0;

	/* what the command is to inherit, before we change ours */
	zmx_spawn_dispositions(&sig_ign, &sig_mask);

	for (a = 1; a < argc && argv[a][0] == '-'; a++) {
		if (strcmp(argv[a], "--") == 0) {
			a++;
			break;
		}
		if (strcmp(argv[a], "--attach") == 0)
			attach = 1;
		else if (strcmp(argv[a], "--search") == 0)
			flags |= ZMX_SPAWN_SEARCH;
		else if (strcmp(argv[a], "--program") == 0 && a + 1 < argc)
			program = argv[++a];
		else if (strcmp(argv[a], "--cwd") == 0 && a + 1 < argc)
			cwd = argv[++a];
		else if (strcmp(argv[a], "-h") == 0 ||
		    strcmp(argv[a], "--help") == 0)
			return usage(stdout);
		else {
			fprintf(stderr, "zmx-exec: unknown option %s\n",
			    argv[a]);
			return usage(stderr);
		}
	}
	if (!attach && a >= argc)
		return usage(stderr);
	if ((t = getenv("ZMX_TIMEOUT_MS")) != NULL && atoi(t) >= 400 &&
	    (uint32_t)atoi(t) / 4 < wait_ms)
		wait_ms = (uint32_t)atoi(t) / 4;
	prog = attach ? argv[0] : argv[a];
	X.fd = session_connect();
	X.tty = zmx_spawn_ttys();
	sigemptyset(&set);
	for (i = 1; i < NSIG; i++)
		if (i != SIGKILL && i != SIGSTOP && i != SIGPIPE &&
		    i != SIGCHLD && i != SIGSEGV && i != SIGBUS &&
		    i != SIGFPE && i != SIGILL && i != SIGTRAP &&
		    i != SIGSYS && i != SIGTTIN && i != SIGTTOU &&
		    i != SIGURG && i < SIGRTMIN)
			sigaddset(&set, i);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((X.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		die_link("signalfd: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	if (attach) {
		/* the shim sent SPAWN (id 1, answered) and the PREAD_OUTs
		 * behind it, with the handle in ZMX_EXEC_H */
		const char *h = getenv("ZMX_EXEC_H");

		X.h = h ? strtoull(h, NULL, 16) : 0;
		if (X.h == 0)
			die_link("%s", "--attach without ZMX_EXEC_H");
	} else {
		if (program == NULL) {
			program = argv[a];
			if (strchr(program, '/') == NULL)
				flags |= ZMX_SPAWN_SEARCH;
		}
		if (cwd == NULL) {
			if (plan_cwd(cwdbuf, sizeof(cwdbuf)) < 0)
				return EXIT_LINK;
			cwd = cwdbuf;
		}
		spawn(program, flags, cwd, argv + a);
	}
	/* chunks 0 .. ZMX_SPAWN_READS - 1 are asked for, ids 2 ... */
	for (i = 0; i < ZMX_SPAWN_READS; i++) {
		X.out[i].busy = 1;
		X.out[i].id = 2 + (uint64_t)i;
		X.out[i].seq = (uint64_t)i;
	}
	X.out_ask = ZMX_SPAWN_READS;
	X.next_id = 2 + ZMX_SPAWN_READS;
	X.in_open = !(X.tty & 1) ? fcntl(0, F_GETFD) >= 0 : 1;
	raw_on();
	loop();
	return EXIT_LINK;
}
