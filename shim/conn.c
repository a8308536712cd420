/* conn.c - the shim's link to its session process (DESIGN.md decision 5):
 * plain send and receive on Unix stream sockets, no threads, no libzmq.
 * Each process has a root connection, made by path or inherited across
 * exec as an fd; each thread that makes a request gets its own connection
 * from the root (CONNECT: the session passes one end of a socketpair), so
 * a program that changed its uid, or sits in a vfork child, never needs to
 * reach the session's directory again. The session talks to agentd,
 * retries, and answers EIO when agentd does not (conn.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "autostart.h"
#include "clock.h"
#include "conn.h"
#include "err.h"
#include "local.h"
#include "log.h"
#include "msg.h"
#include "shim.h"

#define CONN_DEFAULT_TIMEOUT	5000
#define CONN_SESSION_GRACE	5000	/* past agentd's timeout: the
					 * session itself is stuck */
#define CONN_FD_MIN		600	/* out of the way of shells' fds */

/* Process-wide state: written by the constructor (before threads) and
 * under g.lock. */
static struct {
	pthread_mutex_t	 lock;
	char		 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int		 root;		/* -1: none yet */
	pid_t		 root_pid;	/* the process it belongs to */
	int		 spare;		/* a fork child's root, made before */
	uid_t		 owner;		/* the session directory's */
	long		 session_pid;	/* the root's peer */
	int		 wait_ms;
	int		 warned;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .root = -1, .spare = -1 };

/* This thread's connection, and the process it was made in. */
static __thread int t_fd __attribute__((tls_model("initial-exec"))) = -1;
static __thread pid_t t_pid __attribute__((tls_model("initial-exec")));
static __thread uint64_t t_next __attribute__((tls_model("initial-exec")));
static pthread_key_t thread_key;

static int
sys_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

static pid_t
sys_getpid(void)
{
	return (pid_t)syscall(SYS_getpid);
}

/* Moves fd above the numbers programs use (dup2 of 10 or 255 by a shell
 * would close ours), close-on-exec. */
static int
move_high(int fd)
{
	int nfd = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, CONN_FD_MIN);

	if (nfd < 0)
		return fd;
	sys_close(fd);
	return nfd;
}

static void
gone(const char *why)
{
	if (__atomic_exchange_n(&g.warned, 1, __ATOMIC_RELAXED) == 0)
		zmx_err("session %s: %s: remote calls fail with EIO",
		    g.path[0] ? g.path : "(none)", why);
}

/* Connects to the session's socket by path. fd or -errno. */
static int
connect_path(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (g.path[0] == '\0')
		return -ENOENT;
	memcpy(sa.sun_path, g.path, sizeof(sa.sun_path));
	fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	do
		r = (int)syscall(SYS_connect, fd, &sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		r = -errno;
		sys_close(fd);
		return r;
	}
	return move_high(fd);
}

/* An fd from ZMX_SESSION_FD ("N:PID"), passed by the exec that started
 * this program: a socket whose peer is the session PID. */
static int
inherited_root(void)
{
	const char *s = getenv("ZMX_SESSION_FD");
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct stat st;
	long fd, pid;
	char *end;

	if (s == NULL || (fd = strtol(s, &end, 10)) < 0 || *end != ':' ||
	    (pid = strtol(end + 1, &end, 10)) <= 0 || *end != '\0' ||
	    fd > 1 << 20)
		return -1;
	if (syscall(SYS_fstat, (int)fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt((int)fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    cr.pid != (pid_t)pid)
		return -1;
	(void)syscall(SYS_fcntl, (int)fd, F_SETFD, FD_CLOEXEC);
	return move_high((int)fd);
}

static void
note_peer(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
		g.session_pid = cr.pid;
}

long
zmx_conn_session_pid(void)
{
	return g.session_pid;
}

static void
thread_exit(void *p)
{
	(void)p;
	if (t_fd >= 0 && t_pid == sys_getpid())
		sys_close(t_fd);
	t_fd = -1;
}

int
zmx_conn_init(void)
{
	const char *dir = getenv("ZMX_SESSION_DIR"), *s;
	static char started[4096];
	struct stat st;

	s = getenv("ZMX_TIMEOUT_MS");
	g.wait_ms = (s && atoi(s) > 0 ? atoi(s) : CONN_DEFAULT_TIMEOUT) +
	    CONN_SESSION_GRACE;
	pthread_key_create(&thread_key, thread_exit);
	if ((g.root = inherited_root()) >= 0) {
		g.root_pid = sys_getpid();
		note_peer(g.root);
	} else if ((dir == NULL || *dir == '\0') &&
	    zmx_autostart(started, sizeof(started)) == 0)
		dir = started;
	if (dir != NULL && *dir == '/') {
		if ((size_t)snprintf(g.path, sizeof(g.path), "%s/%s", dir,
		    ZMX_LOCAL_SOCK) >= sizeof(g.path))
			g.path[0] = '\0';
		if (syscall(SYS_stat, dir, &st) == 0)
			g.owner = st.st_uid;
		else
			g.owner = geteuid();
	}
	if (g.root < 0 && g.path[0] == '\0') {
		zmx_err("no session: ZMX_SESSION_DIR is not set and none "
		    "could be started; every path stays local");
		return -ENOENT;
	}
	/* now, while the program has the uid that may reach the session
	 * (setpriv, su, a daemon dropping privileges come later) */
	if (g.root < 0 && (g.root = connect_path()) >= 0) {
		g.root_pid = sys_getpid();
		note_peer(g.root);
	}
	return 0;
}

/* Reads exactly len bytes by deadline; an fd on the way goes to *fdp. */
static int
recv_all(int fd, void *buf, size_t len, int *fdp, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char *p = buf;
	int64_t left;
	ssize_t n;

	while (len > 0) {
		left = deadline - zmx_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = syscall(SYS_poll, &pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		n = zmx_local_recv(fd, p, len, fdp, 0);
		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Receives one frame into f (its buffer malloc'd). 0 or -errno. */
static int
recv_frame(int fd, struct zmx_frame *f, int64_t deadline)
{
	unsigned char h[ZMX_LOCAL_HDR];
	char why[256];
	uint32_t len;
	void *buf;
	int pfd = -1, r;

	memset(f, 0, sizeof(*f));
	if ((r = recv_all(fd, h, sizeof(h), &pfd, deadline)) < 0)
		goto fail;
	len = zmx_local_len(h);
	r = -EPROTO;
	if (len > ZMX_MAX_FRAME || (buf = malloc(len ? len : 1)) == NULL)
		goto fail;
	if ((r = recv_all(fd, buf, len, &pfd, deadline)) < 0) {
		free(buf);
		goto fail;
	}
	f->mem = buf;
	f->release = free;
	f->open = 1;
	if (pfd >= 0) {
		f->has_fd = 1;
		f->fd = pfd;
	}
	if ((r = zmx_msg_decode(&f->msg, buf, len, why, sizeof(why))) < 0)
		zmx_warn("session: bad reply: %s", why);
	return r;
fail:
	if (pfd >= 0)
		sys_close(pfd);
	return r;
}

/* One request on fd and its reply, outside the batch machinery: the
 * CONNECT that makes a connection. Returns the passed fd or -errno. */
static int
connect_via(int fd)
{
	struct zmx_msg m = { .type = ZMX_MSG_CONNECT, .id = 1 };
	struct zmx_buf b = { 0 };
	struct zmx_frame f;
	unsigned char h[ZMX_LOCAL_HDR];
	int r;

	if ((r = zmx_msg_encode(&m, &b)) < 0)
		return r;
	zmx_local_hdr(h, (uint32_t)b.len);
	if ((r = zmx_local_send_all(fd, h, sizeof(h))) == 0)
		r = zmx_local_send_all(fd, b.data, b.len);
	zmx_buf_free(&b);
	if (r < 0)
		return r;
	if ((r = recv_frame(fd, &f, zmx_now_ms() + g.wait_ms)) == 0) {
		if (f.msg.type == ZMX_MSG_OK && f.has_fd)
			r = move_high(zmx_frame_take_fd(&f));
		else
			r = -EPROTO;
	}
	zmx_frame_close(&f);
	return r;
}

/* This process's root connection; g.lock held. */
static int
root_get(void)
{
	pid_t pid = sys_getpid();
	int r;

	if (g.root >= 0 && g.root_pid == pid)
		return g.root;
	if ((r = connect_path()) < 0)
		return r;
	note_peer(r);
	g.root = r;
	g.root_pid = pid;
	return r;
}

/* A new connection to the session. fd or -errno. */
static int
conn_new(void)
{
	int r, root;

	pthread_mutex_lock(&g.lock);
	if ((root = root_get()) < 0)
		r = root;
	else if ((r = connect_via(root)) < 0 && g.root_pid == sys_getpid()) {
		/* the root broke: the next request tries a new one */
		sys_close(g.root);
		g.root = -1;
	}
	pthread_mutex_unlock(&g.lock);
	return r;
}

/* This thread's connection. In a vfork child, the parent thread's
 * (suspended meanwhile): nothing here may change what the parent sees. */
static int
conn_fd(void)
{
	pid_t pid = sys_getpid();
	int fd;

	if (t_fd >= 0 && (t_pid == pid || zmx_vcwd_in_vfork()))
		return t_fd;
	if (zmx_vcwd_in_vfork())
		return -EIO;	/* the parent never asked: no room here */
	if ((fd = conn_new()) < 0) {
		gone(strerror(-fd));
		return -EIO;
	}
	t_fd = fd;
	t_pid = pid;
	pthread_setspecific(thread_key, &t_fd);
	return fd;
}

int
zmx_conn_thread_fd(void)
{
	return t_fd;
}

static void
conn_drop(void)
{
	if (t_fd >= 0 && t_pid == sys_getpid())
		sys_close(t_fd);
	t_fd = -1;
}

int
zmx_conn_session_fd(void)
{
	int fd = conn_fd();

	if (fd < 0)
		return fd;
	if ((fd = connect_via(fd)) < 0)
		return fd;
	/* for the program exec'd next: kept across exec (the caller says
	 * which fd in ZMX_SESSION_FD) */
	(void)syscall(SYS_fcntl, fd, F_SETFD, 0);
	return fd;
}

void
zmx_conn_atfork_prepare(void)
{
	pthread_mutex_lock(&g.lock);
	/* a process that changed its uid may not reach the session's
	 * directory: its child gets a connection made now */
	if (geteuid() != g.owner && g.root >= 0 && g.root_pid == sys_getpid())
		g.spare = connect_via(g.root);
}

void
zmx_conn_atfork_parent(void)
{
	if (g.spare >= 0)
		sys_close(g.spare);
	g.spare = -1;
	pthread_mutex_unlock(&g.lock);
}

void
zmx_conn_atfork_child(void)
{
	pthread_mutex_init(&g.lock, NULL);
	/* the parent's connections stay the parent's */
	if (g.root >= 0)
		sys_close(g.root);
	g.root = g.spare >= 0 ? g.spare : connect_path();
	g.root_pid = sys_getpid();
	g.spare = -1;
	if (t_fd >= 0)
		sys_close(t_fd);
	t_fd = -1;
}

/* Sends the requests (ids from this thread's counter) and collects their
 * replies, matched by id. 0, or -errno with every frame closed. */
static int
batch_once(int fd, struct zmx_msg *reqs, struct zmx_frame *reps, int n)
{
	struct zmx_buf b = { 0 };
	struct zmx_frame f;
	int64_t deadline;
	uint64_t first = 0;
	size_t at;
	int i, got = 0, r = 0;

	for (i = 0; i < n && r == 0; i++) {
		reqs[i].id = ++t_next;
		if (i == 0)
			first = reqs[i].id;
		/* room for the length, written once the frame is there */
		at = b.len;
		if (b.cap < at + ZMX_LOCAL_HDR) {
			char *p = realloc(b.data, at + 4096);

			if (p == NULL) {
				r = -ENOMEM;
				break;
			}
			b.data = p;
			b.cap = at + 4096;
		}
		b.len = at + ZMX_LOCAL_HDR;
		if ((r = zmx_msg_encode(&reqs[i], &b)) < 0)
			break;
		zmx_local_hdr((unsigned char *)b.data + at,
		    (uint32_t)(b.len - at - ZMX_LOCAL_HDR));
	}
	if (r == 0)
		r = zmx_local_send_all(fd, b.data, b.len);
	zmx_buf_free(&b);
	deadline = zmx_now_ms() + g.wait_ms;
	while (r == 0 && got < n) {
		if ((r = recv_frame(fd, &f, deadline)) < 0) {
			zmx_frame_close(&f);
			break;
		}
		if (f.msg.id < first || f.msg.id >= first + (uint64_t)n ||
		    reps[f.msg.id - first].open) {
			zmx_frame_close(&f);	/* not ours: stale */
			continue;
		}
		reps[f.msg.id - first] = f;
		got++;
	}
	return r;
}

int
zmx_conn_batch(struct zmx_msg *reqs, struct zmx_frame *reps, int n)
{
	int fd, i, r;

	for (i = 0; i < n; i++)
		memset(&reps[i], 0, sizeof(reps[i]));
	if ((fd = conn_fd()) < 0)
		return -EIO;
	if ((r = batch_once(fd, reqs, reps, n)) == 0)
		return 0;
	for (i = 0; i < n; i++)
		zmx_frame_close(&reps[i]);
	if (r == -ETIMEDOUT)
		gone("no answer in time");
	else if (r != -EPROTO && r != -ENOMEM)
		gone(strerror(-r));
	/* what is left on this connection would confuse the next call */
	if (!zmx_vcwd_in_vfork())
		conn_drop();
	return -EIO;
}

int
zmx_conn_reply_err(const struct zmx_frame *rep, unsigned want)
{
	return zmx_msg_result(&rep->msg, want);
}

int
zmx_conn_call(struct zmx_msg *req, struct zmx_frame *rep, unsigned want)
{
	int r;

	if ((r = zmx_conn_batch(req, rep, 1)) < 0)
		return r;
	return zmx_conn_reply_err(rep, want);
}
