/* command.c - the SPAWN frame of a remote command (command.h), built with
 * raw syscalls into the caller's buffer: the shim builds it in a vfork
 * child, which must not allocate nor change the parent's state. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "local.h"
#include "msg.h"
#include "command.h"

#define SPAWN_SLACK	(2 * ZMX_MAX_PATH + 4096)	/* the rest of the
							 * frames */

static size_t
strv_len(char *const v[])
{
	size_t n = 0;

	while (v != NULL && *v != NULL)
		n += strlen(*v++) + 1;
	return n;
}

size_t
zmx_spawn_room(char *const argv[], char *const envp[])
{
	return strv_len(argv) + strv_len(envp) + SPAWN_SLACK;
}

int
zmx_spawn_env_keep(const char *e)
{
	if (strncmp(e, "ZMX_", 4) == 0)
		return 0;
	if (strncmp(e, "LD_PRELOAD=", 11) == 0)
		return 2;
	return 1;
}

size_t
zmx_spawn_preload(const char *e, char *out, size_t outlen)
{
	const char *p = e + 11, *end, *base;
	size_t n = 11, len, kept = 0;

	if (outlen < 12)
		return 0;
	memcpy(out, "LD_PRELOAD=", 11);
	/* entries are separated by spaces or colons (ld.so(8)) */
	while (*p != '\0') {
		len = strcspn(p, " :");
		end = p + len;
		for (base = end; base > p && base[-1] != '/'; base--)
			;
		if (len > 0 && strncmp(base, "libzmx", 6) != 0) {
			if (n + len + 2 > outlen)
				return 0;
			if (kept++)
				out[n++] = ':';
			memcpy(out + n, p, len);
			n += len;
		}
		p = *end ? end + 1 : end;
	}
	out[n] = '\0';
	return kept ? n : 0;
}

static int
is_tty(int fd)
{
	struct termios t;

	return syscall(SYS_ioctl, fd, TCGETS, &t) == 0;
}

uint32_t
zmx_spawn_ttys(void)
{
	uint32_t bits = 0;
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (is_tty(fd))
			bits |= 1u << fd;
	return (bits & 1) && (bits & 6) ? bits : 0;
}

/* Whether fds 1 and 2 are one open file (2>&1): kcmp(2), a raw call. */
static int
same_file(int a, int b)
{
	long pid = syscall(SYS_getpid);

	return syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b) == 0;
}

/* Appends the strings of v, each with its NUL, at *at. */
static char *
put_strv(char *at, char *const v[])
{
	size_t n;

	while (v != NULL && *v != NULL) {
		n = strlen(*v) + 1;
		memcpy(at, *v++, n);
		at += n;
	}
	return at;
}

/* The environment, filtered, at *at. */
static char *
put_env(char *at, char *end, char *const envp[])
{
	size_t n;

	for (; envp != NULL && *envp != NULL; envp++) {
		switch (zmx_spawn_env_keep(*envp)) {
		case 0:
			break;
		case 2:
			if ((n = zmx_spawn_preload(*envp, at, end - at)) > 0)
				at += n + 1;
			break;
		default:
			n = strlen(*envp) + 1;
			memcpy(at, *envp, n);
			at += n;
		}
	}
	return at;
}

/* Signals ignored and blocked, as a remote command inherits them. */
void
zmx_spawn_dispositions(uint64_t *ign, uint64_t *blocked)
{
	struct { void *handler; unsigned long flags; void *restorer;
	    uint64_t mask; } sa;
	uint64_t set = 0;
	int sig;

	*ign = 0;
	for (sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP &&
		    syscall(SYS_rt_sigaction, sig, NULL, &sa, 8) == 0 &&
		    sa.handler == (void *)SIG_IGN)
			*ign |= 1ull << (sig - 1);
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &set, 8) == 0)
		*blocked = set;
	else
		*blocked = 0;
}

/* Encodes m at b's end behind a local-leg header. */
static int
put_frame(struct zmx_buf *b, const struct zmx_msg *m)
{
	size_t at = b->len;
	int r;

	if (b->cap - b->len < ZMX_LOCAL_HDR)
		return -ENOMEM;
	b->len += ZMX_LOCAL_HDR;
	if ((r = zmx_msg_encode(m, b)) < 0)
		return r;
	zmx_local_hdr((unsigned char *)b->data + at,
	    (uint32_t)(b->len - at - ZMX_LOCAL_HDR));
	return 0;
}

ssize_t
zmx_spawn_frames(const struct zmx_spawn *sp, char *buf, size_t room)
{
	struct zmx_msg m = { .type = ZMX_MSG_SPAWN, .id = 1 };
	struct zmx_msg_spawn *s = &m.u.spawn;
	struct zmx_buf b;
	struct termios tio;
	struct winsize ws = { 0 };
	size_t blobs = strv_len(sp->argv) + strv_len(sp->envp);
	char *argv0, *env0, *end;
	mode_t um;
	int r, fd, i;

	if (room < blobs + SPAWN_SLACK)
		return -E2BIG;
	/* the blobs at the end of buf, the frames from its start */
	argv0 = buf + room - blobs;
	env0 = put_strv(argv0, sp->argv);
	end = put_env(env0, buf + room, sp->envp);
	s->h = sp->h;
	s->path = sp->path;
	s->flags = sp->flags | ZMX_SPAWN_CAPTURE;
	s->argv = argv0;
	s->argv_len = env0 - argv0;
	s->env = env0;
	s->env_len = end - env0;
	s->cwd = sp->cwd;
	um = (mode_t)syscall(SYS_umask, 022);
	(void)syscall(SYS_umask, um);
	s->umask = um;
	s->tty = zmx_spawn_ttys();
	s->termios = "";
	if (s->tty != 0) {
		fd = s->tty & 1 ? 0 : s->tty & 2 ? 1 : 2;
		if (syscall(SYS_ioctl, fd, TIOCGWINSZ, &ws) == 0) {
			s->rows = ws.ws_row;
			s->cols = ws.ws_col;
		}
		memset(&tio, 0, sizeof(tio));
		if (syscall(SYS_ioctl, fd, TCGETS, &tio) == 0) {
			s->termios = &tio;
			s->termios_len = sizeof(tio);
		}
	}
	if (!(s->tty & 1) && syscall(SYS_fcntl, 0, F_GETFD) >= 0)
		s->flags |= ZMX_SPAWN_PIPE_IN;
	if (!(s->tty & 6) && same_file(1, 2))
		s->flags |= ZMX_SPAWN_MERGE_ERR;
	if (sp->have_sig) {
		s->sigign = sp->sigign;
		s->sigmask = sp->sigmask;
	} else
		zmx_spawn_dispositions(&s->sigign, &s->sigmask);
	s->digest = "";
	b.data = buf;
	b.len = 0;
	b.cap = argv0 - buf;
	if ((r = put_frame(&b, &m)) < 0)
		return r;
	for (i = 0; i < ZMX_SPAWN_READS; i++) {
		m = (struct zmx_msg){ .type = ZMX_MSG_PREAD_OUT, .id = 2 + i };
		m.u.pread_out.h = sp->h;
		m.u.pread_out.seq = i;
		m.u.pread_out.wait = sp->wait;
		if ((r = put_frame(&b, &m)) < 0)
			return r;
	}
	return (ssize_t)b.len;
}
