/* proc.c - remote commands (proc.h): each runs under a reaper
 * (reaper.c); agentd holds its pipes or pty master, non-blocking, on one
 * epoll fd, buffers its output until PREAD_OUT asks (4 MiB, then the
 * command blocks as on a full pipe) and its input until it reads, and
 * answers PREAD_OUT, PWRITE_IN and SPAWN when there is something to say
 * (dispatch.h's later answers), after the INVALs of what it changed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "creds.h"
#include "dispatch.h"
#include "err.h"
#include "log.h"
#include "op.h"
#include "proc.h"
#include "reaper.h"
#include "session.h"

#define PROC_READ	(64u << 10)	/* bytes per read(2) */
#define PROC_ARGV_TEXT	4096		/* argv kept for log lines */

/* The fds agentd watches for a command. */
enum { SRC_OUT, SRC_ERR, SRC_PTY, SRC_IN, SRC_FAIL, SRC_CTL, SRC_N };

struct proc_src {
	struct zmx_proc		*p;
	int			 kind;
	int			 fd;		/* -1: closed */
	uint32_t		 ev;		/* registered events */
};

/* A request held until it can be answered. */
struct proc_req {
	struct zmx_later	 to;
	uint64_t		 seq;
	int64_t			 deadline;	/* ms, monotonic (reads) */
	void			*data;		/* a write ahead of its turn */
	size_t			 len;
	uint32_t		 flags;
	struct proc_req		*next;
};

struct proc_chunk {
	uint64_t		 seq;
	int			 used;
	char			*out, *err;
	size_t			 outlen, errlen;
	uint32_t		 flags;
	int32_t			 status;
};

struct zmx_proc {
	struct zmx_session	*s;		/* NULL: its session ended */
	uint64_t		 h;
	int			 forgotten;	/* DONE, failed, or no session */
	pid_t			 r, c;		/* reaper, command (0: not yet) */
	struct proc_src		 src[SRC_N];
	int			 pty;		/* master (== src[SRC_PTY].fd) */
	int			 in_pty;	/* stdin is the pty */
	int			 pty_err;	/* the pty's bytes are stderr's:
						 * it serves fd 2, not fd 1 */

	int			 started;	/* 0 pending, 1 runs */
	uint64_t		 spawn_id;
	struct zmx_later	 spawn_to;
	int			 may_stage;
	char			*prog;		/* for the error's detail */

	struct zmx_buf		 out, err;	/* unasked output */
	int			 out_open, err_open;	/* sources left */
	int			 exited, status, in_closed;
	int64_t			 ms;		/* how long it ran */
	int64_t			 exited_at;	/* ms, when exited became 1 */
	int			 ended;		/* told ENDED: the streams stayed
						 * open past the grace */
	uint64_t		 next_seq;	/* the next chunk to make */
	uint32_t		 last_flags;
	int			 exit_sent;
	struct proc_chunk	 keep[ZMX_PROC_KEEP];
	struct proc_req		*reads;
	int			 nreads;

	struct zmx_buf		 in;		/* stdin not yet written */
	size_t			 inoff;
	uint64_t		 in_next;	/* the next PWRITE_IN seq */
	int			 in_eof, in_broken;
	struct proc_req		*ahead;		/* writes before their turn */
	struct proc_req		*okwait;	/* OKs waiting for room */

	char			*argv0;		/* argv, NUL-separated */
	size_t			 argvlen;
	char			*cwd;
	struct timespec		 t0;
	struct zmx_proc		*next;
};

/* The epoll fd and every command of every session. Written by the
 * main loop only. */
static int proc_epfd = -1;
static struct zmx_proc *proc_list;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
zmx_proc_init(void)
{
	if ((proc_epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -errno;
	return 0;
}

int
zmx_proc_fd(void)
{
	return proc_epfd;
}

/* Watches src for ev (0: not at all). */
static void
src_watch(struct proc_src *src, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = src };

	if (src->fd < 0 || src->ev == ev)
		return;
	if (ev == 0)
		(void)epoll_ctl(proc_epfd, EPOLL_CTL_DEL, src->fd, NULL);
	else if (epoll_ctl(proc_epfd, src->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    src->fd, &e) < 0) {
		zmx_err("epoll_ctl: %s", strerror(errno));
		return;
	}
	src->ev = ev;
}

static void
src_close(struct proc_src *src)
{
	if (src->fd < 0)
		return;
	src_watch(src, 0);
	close(src->fd);
	src->fd = -1;
}

/* Appends len bytes to b. 0 or -ENOMEM. */
static int
buf_add(struct zmx_buf *b, const void *p, size_t len)
{
	size_t cap;
	char *d;

	if (len == 0)
		return 0;	/* an EOF alone: p may be NULL */
	if (b->len + len > b->cap) {
		for (cap = b->cap ? b->cap : 4096; cap < b->len + len;)
			cap *= 2;
		if ((d = realloc(b->data, cap)) == NULL)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return 0;
}

static void
chunk_clear(struct proc_chunk *k)
{
	free(k->out);
	free(k->err);
	memset(k, 0, sizeof(*k));
}

static void
reqs_free(struct proc_req **head)
{
	struct proc_req *q;

	while ((q = *head) != NULL) {
		*head = q->next;
		free(q->data);
		free(q);
	}
}

/* Answers a held request with ERROR err (or drops it with no session). */
static void
answer_error(struct zmx_proc *p, struct proc_req *q, int err,
    const char *detail)
{
	struct zmx_msg rep = { 0 };

	if (p->s == NULL)
		return;
	zmx_msg_error(&rep, q->to.id, err, detail);
	(void)zmx_dispatch_later(&q->to, &rep);
}

static void
reqs_fail(struct zmx_proc *p, struct proc_req **head, int err,
    const char *detail)
{
	struct proc_req *q;

	for (q = *head; q != NULL; q = q->next)
		answer_error(p, q, err, detail);
	reqs_free(head);
}

/* Forgets p's handle: what was held is answered ESRCH, its buffers and
 * streams go. The reaper stays (and p with it) until it ends. */
static void
proc_forget(struct zmx_proc *p)
{
	int i;

	if (p->forgotten)
		return;
	p->forgotten = 1;
	reqs_fail(p, &p->reads, ESRCH, "the command was forgotten");
	p->nreads = 0;
	reqs_fail(p, &p->ahead, ESRCH, "the command was forgotten");
	reqs_fail(p, &p->okwait, ESRCH, "the command was forgotten");
	for (i = 0; i < SRC_N; i++)
		if (i != SRC_CTL)
			src_close(&p->src[i]);
	p->pty = -1;
	zmx_buf_free(&p->out);
	zmx_buf_free(&p->err);
	zmx_buf_free(&p->in);
	for (i = 0; i < ZMX_PROC_KEEP; i++)
		chunk_clear(&p->keep[i]);
}

static void
proc_unlink_free(struct zmx_proc *p)
{
	struct zmx_proc **pp;

	for (pp = &proc_list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	proc_forget(p);
	src_close(&p->src[SRC_CTL]);
	free(p->prog);
	free(p->argv0);
	free(p->cwd);
	free(p);
}

/* Asks the reaper to kill the command's whole tree. */
static void
proc_kill_tree(struct zmx_proc *p)
{
	char b = ZMX_REAPER_KILL;

	if (p->src[SRC_CTL].fd >= 0)
		(void)!write(p->src[SRC_CTL].fd, &b, 1);
}

static struct zmx_proc *
proc_find(const struct zmx_session *s, uint64_t h)
{
	struct zmx_proc *p;

	for (p = proc_list; p != NULL; p = p->next)
		if (p->s == s && p->h == h && !p->forgotten)
			return p;
	return NULL;
}

int
zmx_proc_count(const struct zmx_quota *q)
{
	struct zmx_proc *p;
	int n = 0;

	for (p = proc_list; p != NULL; p = p->next)
		n += p->s != NULL && p->s->quota == q && p->r > 0;
	return n;
}

/* ---- output ------------------------------------------------------------ */

static void
watch_output(struct zmx_proc *p)
{
	uint32_t ev = p->out.len + p->err.len < ZMX_PROC_OUT_MAX ? EPOLLIN : 0;

	src_watch(&p->src[SRC_OUT], ev);
	src_watch(&p->src[SRC_ERR], ev);
	src_watch(&p->src[SRC_PTY], ev);
}

/* Reads a stream while there is room; EOF (and a pty's EIO) ends it. */
static void
read_stream(struct zmx_proc *p, struct proc_src *src)
{
	int is_err = src->kind == SRC_ERR ||
	    (src->kind == SRC_PTY && p->pty_err);
	struct zmx_buf *b = is_err ? &p->err : &p->out;
	char tmp[PROC_READ];
	size_t room;
	ssize_t n;

	while (src->fd >= 0 && p->out.len + p->err.len < ZMX_PROC_OUT_MAX) {
		room = ZMX_PROC_OUT_MAX - p->out.len - p->err.len;
		n = read(src->fd, tmp, room < sizeof(tmp) ? room : sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n > 0 && buf_add(b, tmp, n) == 0)
			continue;
		/* EOF, EIO (a pty whose slave is closed everywhere) */
		src_close(src);
		if (is_err)
			p->err_open--;
		else
			p->out_open--;
		if (src->kind == SRC_PTY) {
			p->pty = -1;
			if (p->in_pty)
				src_close(&p->src[SRC_IN]);	/* a dup of it */
		}
		return;
	}
	watch_output(p);
}

/* The flags the next chunk carries if it takes everything buffered. */
static uint32_t
flags_now(const struct zmx_proc *p)
{
	uint32_t f = 0;

	if (p->out_open == 0 && p->out.len == 0)
		f |= ZMX_OUT_EOF_OUT;
	if (p->err_open == 0 && p->err.len == 0)
		f |= ZMX_OUT_EOF_ERR;
	if ((f & (ZMX_OUT_EOF_OUT | ZMX_OUT_EOF_ERR)) ==
	    (ZMX_OUT_EOF_OUT | ZMX_OUT_EOF_ERR) && p->exited)
		f |= ZMX_OUT_EXIT;
	else if (p->ended)
		f |= ZMX_OUT_ENDED;
	if (p->in_closed)
		f |= ZMX_OUT_IN_CLOSED;
	return f;
}

static void
send_chunk(struct zmx_proc *p, const struct zmx_later *to,
    const struct proc_chunk *k, uint64_t seq, uint32_t flags)
{
	struct zmx_msg rep = { 0 };

	if (p->s == NULL)
		return;
	rep.type = ZMX_MSG_OUTPUT;
	rep.u.output.seq = seq;
	if (k != NULL) {
		rep.u.output.out = k->out;
		rep.u.output.out_len = k->outlen;
		rep.u.output.err = k->err;
		rep.u.output.err_len = k->errlen;
		rep.u.output.status = k->status;
	} else if (flags & (ZMX_OUT_EXIT | ZMX_OUT_ENDED))
		rep.u.output.status = p->status;
	rep.u.output.flags = flags;
	(void)zmx_dispatch_later(to, &rep);
}

/* Takes buf's first n bytes into a new copy. */
static char *
take(struct zmx_buf *b, size_t n)
{
	char *d;

	if (n == 0 || (d = malloc(n)) == NULL)
		return NULL;
	memcpy(d, b->data, n);
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	return d;
}

/* Makes chunk next_seq out of what is buffered. */
static struct proc_chunk *
make_chunk(struct zmx_proc *p)
{
	struct proc_chunk *k = &p->keep[p->next_seq % ZMX_PROC_KEEP];
	size_t no = p->out.len < ZMX_CHUNK ? p->out.len : ZMX_CHUNK;
	size_t ne = p->err.len < ZMX_CHUNK - no ? p->err.len : ZMX_CHUNK - no;

	chunk_clear(k);
	if ((no > 0 && (k->out = take(&p->out, no)) == NULL) ||
	    (ne > 0 && (k->err = take(&p->err, ne)) == NULL))
		return NULL;
	k->outlen = k->out ? no : 0;
	k->errlen = k->err ? ne : 0;
	k->seq = p->next_seq++;
	k->used = 1;
	k->flags = flags_now(p);
	if (k->flags & (ZMX_OUT_EXIT | ZMX_OUT_ENDED))
		k->status = p->status;
	if (k->flags & ZMX_OUT_EXIT)
		p->exit_sent = 1;
	p->last_flags = k->flags;
	watch_output(p);
	return k;
}

/* Answers the PREAD_OUTs that can be answered now. */
static void
pump_reads(struct zmx_proc *p, int64_t now)
{
	struct proc_req **qq, *q;
	struct proc_chunk *k;
	int again = 1;

	if (p->started != 1)
		return;
	/* its first process ended and a stream is still held (a
	 * background job's): after a grace in which the streams of a
	 * command that left nothing behind reach their end */
	if (p->exited && !p->ended && (p->out_open || p->err_open) &&
	    now >= p->exited_at + ZMX_PROC_ENDED_MS)
		p->ended = 1;
	while (again) {
		again = 0;
		for (qq = &p->reads; (q = *qq) != NULL;) {
			k = &p->keep[q->seq % ZMX_PROC_KEEP];
			if (q->seq < p->next_seq && k->used &&
			    k->seq == q->seq)
				send_chunk(p, &q->to, k, q->seq, k->flags);
			else if (q->seq < p->next_seq)
				answer_error(p, q, EINVAL, "that chunk is no "
				    "longer kept");
			else if (p->exit_sent)
				/* after the last chunk: the end again */
				send_chunk(p, &q->to, NULL, q->seq,
				    p->last_flags);
			else if (q->seq == p->next_seq && (p->out.len > 0 ||
			    p->err.len > 0 || flags_now(p) != p->last_flags)) {
				if ((k = make_chunk(p)) == NULL) {
					answer_error(p, q, ENOMEM, "out of "
					    "memory");
				} else {
					send_chunk(p, &q->to, k, k->seq,
					    k->flags);
					again = 1;
				}
			} else if (now >= q->deadline)
				send_chunk(p, &q->to, NULL, q->seq,
				    ZMX_OUT_IDLE | p->last_flags);
			else {
				qq = &q->next;
				continue;
			}
			*qq = q->next;
			p->nreads--;
			free(q);
		}
	}
}

int
zmx_proc_read(struct zmx_op_ctx *c, uint64_t id,
    const struct zmx_msg_pread_out *m)
{
	struct zmx_proc *p;
	struct proc_req *q, **qq;
	uint32_t wait = m->wait < ZMX_PROC_WAIT_MAX ? m->wait :
	    ZMX_PROC_WAIT_MAX;

	if ((p = proc_find(c->s, m->h)) == NULL)
		return zmx_op_fail(c, -ESRCH, "no command %llu",
		    (unsigned long long)m->h);
	if (m->seq > p->next_seq + ZMX_PROC_AHEAD)
		return zmx_op_fail(c, -EINVAL, "chunk %llu: the next is %llu",
		    (unsigned long long)m->seq,
		    (unsigned long long)p->next_seq);
	if (p->nreads >= ZMX_PROC_READS) {
		/* the oldest is answered "nothing yet" to make room */
		q = p->reads;
		p->reads = q->next;
		p->nreads--;
		send_chunk(p, &q->to, NULL, q->seq, ZMX_OUT_IDLE |
		    p->last_flags);
		free(q);
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -ENOMEM;
	zmx_dispatch_defer(c, id, &q->to);
	q->seq = m->seq;
	q->deadline = now_ms() + wait;
	for (qq = &p->reads; *qq != NULL; qq = &(*qq)->next)
		;
	*qq = q;
	p->nreads++;
	pump_reads(p, now_ms());
	return 0;
}

/* ---- input ------------------------------------------------------------- */

static void
input_broken(struct zmx_proc *p)
{
	p->in_broken = 1;
	p->in_closed = 1;
	src_close(&p->src[SRC_IN]);
	p->in.len = p->inoff = 0;
	reqs_fail(p, &p->okwait, EPIPE, "the command closed its stdin");
	reqs_fail(p, &p->ahead, EPIPE, "the command closed its stdin");
}

/* Writes buffered stdin while the pipe takes it; answers the OKs that
 * waited for room. */
static void
pump_writes(struct zmx_proc *p)
{
	struct proc_src *src = &p->src[SRC_IN];
	struct proc_req *q;
	struct zmx_msg rep = { 0 };
	ssize_t n;

	while (src->fd >= 0 && p->inoff < p->in.len) {
		n = write(src->fd, p->in.data + p->inoff, p->in.len - p->inoff);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			input_broken(p);
			return;
		}
		p->inoff += n;
	}
	if (p->inoff == p->in.len) {
		p->in.len = p->inoff = 0;
		if (p->in_eof && src->kind == SRC_IN && !p->in_pty)
			src_close(src);		/* the command sees EOF */
	}
	if (src->fd >= 0)
		/* EPOLLERR comes anyway: the reader closed its end */
		src_watch(src, p->inoff < p->in.len ? EPOLLOUT : EPOLLET);
	if (p->in.len - p->inoff >= ZMX_PROC_IN_MAX)
		return;
	while ((q = p->okwait) != NULL) {
		p->okwait = q->next;
		if (p->s != NULL) {
			rep.type = ZMX_MSG_OK;
			(void)zmx_dispatch_later(&q->to, &rep);
		}
		free(q);
	}
}

/* Takes chunk in_next. 1 if its OK must wait for room, else 0. */
static int
accept_input(struct zmx_proc *p, const void *data, size_t len, uint32_t flags)
{
	if (buf_add(&p->in, data, len) < 0)
		return -ENOMEM;
	p->in_next++;
	if (flags & ZMX_IN_EOF)
		p->in_eof = 1;
	pump_writes(p);
	return !p->in_broken && p->in.len - p->inoff >= ZMX_PROC_IN_MAX;
}

/* Takes the writes that waited for their turn and now have it. */
static void
accept_ahead(struct zmx_proc *p)
{
	struct proc_req **qq, *q;
	struct zmx_msg rep = { 0 };
	int found = 1, r;

	while (found && !p->in_broken) {
		found = 0;
		for (qq = &p->ahead; (q = *qq) != NULL; qq = &q->next)
			if (q->seq == p->in_next) {
				*qq = q->next;
				found = 1;
				break;
			}
		if (!found)
			break;
		if ((r = accept_input(p, q->data, q->len, q->flags)) > 0) {
			free(q->data);
			q->data = NULL;
			q->next = p->okwait;
			p->okwait = q;
			continue;
		}
		if (r < 0)
			answer_error(p, q, -r, "stdin");
		else if (p->in_broken)
			answer_error(p, q, EPIPE, "the command closed its stdin");
		else if (p->s != NULL) {
			rep.type = ZMX_MSG_OK;
			(void)zmx_dispatch_later(&q->to, &rep);
		}
		free(q->data);
		free(q);
	}
}

int
zmx_proc_write(struct zmx_op_ctx *c, uint64_t id,
    const struct zmx_msg_pwrite_in *m)
{
	struct zmx_proc *p;
	struct proc_req *q;
	size_t held;
	int r;

	if ((p = proc_find(c->s, m->h)) == NULL)
		return zmx_op_fail(c, -ESRCH, "no command %llu",
		    (unsigned long long)m->h);
	if (p->in_broken || p->src[SRC_IN].fd < 0)
		return zmx_op_fail(c, -EPIPE, "the command's stdin is closed");
	if (m->seq < p->in_next)
		goto ok;			/* a repeat: taken already */
	if (m->seq > p->in_next + ZMX_PROC_AHEAD)
		return zmx_op_fail(c, -EINVAL, "stdin chunk %llu: the next "
		    "is %llu", (unsigned long long)m->seq,
		    (unsigned long long)p->in_next);
	/* a client that writes on without waiting for its OKs is held to a
	 * few MiB: what the command does not read is not agentd's to keep */
	held = p->in.len - p->inoff;
	for (q = p->ahead; q != NULL; q = q->next) {
		if (q->seq == m->seq)
			return zmx_op_fail(c, -EINVAL, "stdin chunk %llu sent "
			    "twice ahead of its turn",
			    (unsigned long long)m->seq);
		held += q->len;
	}
	if (held + m->data_len > 4 * ZMX_PROC_IN_MAX)
		return zmx_op_fail(c, -EAGAIN, "stdin: %zu bytes held already "
		    "(wait for the OKs)", held);
	if (m->seq > p->in_next) {
		if ((q = calloc(1, sizeof(*q))) == NULL ||
		    (m->data_len > 0 && (q->data = malloc(m->data_len)) ==
		    NULL)) {
			free(q);
			return -ENOMEM;
		}
		if (m->data_len > 0)
			memcpy(q->data, m->data, m->data_len);
		q->len = m->data_len;
		q->seq = m->seq;
		q->flags = m->flags;
		zmx_dispatch_defer(c, id, &q->to);
		q->next = p->ahead;
		p->ahead = q;
		return 0;
	}
	if ((r = accept_input(p, m->data, m->data_len, m->flags)) < 0)
		return r;
	if (r > 0) {
		if ((q = calloc(1, sizeof(*q))) == NULL)
			return -ENOMEM;
		zmx_dispatch_defer(c, id, &q->to);
		q->next = p->okwait;
		p->okwait = q;
	}
	accept_ahead(p);
	if (r > 0)
		return 0;
	if (p->in_broken)
		return zmx_op_fail(c, -EPIPE, "the command closed its stdin");
ok:
	c->rep.type = ZMX_MSG_OK;
	return 0;
}

/* ---- spawn ------------------------------------------------------------- */

/* The audit line of a command that ran and ended. */
static void
audit_exit(struct zmx_proc *p)
{
	char **argv;
	size_t i, k;

	if (p->s == NULL)
		return;
	/* the audit line wants argv as a vector */
	for (i = k = 0; i < p->argvlen; i++)
		k += p->argv0[i] == '\0';
	if ((argv = calloc(k + 1, sizeof(*argv))) == NULL)
		return;
	for (i = k = 0; i < p->argvlen; i += strlen(p->argv0 + i) + 1)
		argv[k++] = p->argv0 + i;
	zmx_audit_command(p->s->key, p->s->tag, argv, p->cwd, p->status,
	    p->ms);
	free(argv);
}

/* The SPAWN's answer, once the error pipe told. */
static void
spawn_answer(struct zmx_proc *p, int err, int notfound)
{
	struct zmx_msg rep = { 0 };
	char detail[512];

	if (err == ENOENT && notfound && p->may_stage)
		err = ENOPKG;
	p->started = err ? -err : 1;
	if (p->s == NULL)
		return;
	/* it ended before its exec was confirmed (the reaper's note came
	 * first): its audit line waited for this */
	if (err == 0 && p->exited)
		audit_exit(p);
	if (err == 0) {
		rep.type = ZMX_MSG_OK;
		(void)zmx_dispatch_later(&p->spawn_to, &rep);
		pump_reads(p, now_ms());
		return;
	}
	snprintf(detail, sizeof(detail), "%s: %s", p->prog, err == ENOPKG ?
	    "not on agentd's machine (stage it)" : strerror(err));
	zmx_debug("session %s: spawn %s: %s", p->s->tag, p->prog,
	    zmx_err_name(err));
	zmx_msg_error(&rep, p->spawn_id, err, detail);
	(void)zmx_dispatch_later(&p->spawn_to, &rep);
	/* C is gone already; the reaper follows */
	proc_kill_tree(p);
	proc_forget(p);
}

static void
read_fail(struct zmx_proc *p)
{
	struct zmx_reaper_fail f;
	ssize_t n;

	n = read(p->src[SRC_FAIL].fd, &f, sizeof(f));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	src_close(&p->src[SRC_FAIL]);
	if (n == (ssize_t)sizeof(f))
		spawn_answer(p, f.err > 0 ? f.err : EIO, f.notfound);
	else if (n == 0)
		spawn_answer(p, 0, 0);
	else
		spawn_answer(p, EIO, 0);
}

/* Takes the reaper's notes; EOF: it is gone. */
static void
read_ctl(struct zmx_proc *p)
{
	struct zmx_reaper_note n;
	struct timespec t1;
	ssize_t r;
	int st;

	for (;;) {
		r = recv(p->src[SRC_CTL].fd, &n, sizeof(n), MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r != (ssize_t)sizeof(n))
			break;
		if (n.what == ZMX_REAPER_PID)
			p->c = n.val;
		else if (n.what == ZMX_REAPER_STATUS && !p->exited) {
			p->exited = 1;
			p->exited_at = now_ms();
			p->status = n.val;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			p->ms = (t1.tv_sec - p->t0.tv_sec) * 1000 +
			    (t1.tv_nsec - p->t0.tv_nsec) / 1000000;
			if (p->started == 1)
				audit_exit(p);
		}
	}
	/* the reaper ended (or broke its side): it is reaped now */
	src_close(&p->src[SRC_CTL]);
	if (p->r > 0 && waitpid(p->r, &st, 0) == p->r)
		p->r = 0;
	if (!p->exited) {
		p->exited = 1;
		p->exited_at = now_ms();
		p->status = SIGKILL;	/* as if killed: no status came */
	}
}

static int
proc_pipe(int fds[2], int agentd_end)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	(void)fcntl(fds[agentd_end], F_SETFL, O_NONBLOCK);
	return 0;
}

/* A pty for the command: the master (agentd's, non-blocking) and the
 * slave, its window size and, when given, the client's termios. */
static int
open_pty(const struct zmx_msg_spawn *m, int *masterp, int *slavep)
{
	struct winsize ws = { .ws_row = m->rows, .ws_col = m->cols };
	char name[128];
	int master, slave = -1, r;

	*masterp = *slavep = -1;
	if ((master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return -errno;
	if (grantpt(master) < 0 || unlockpt(master) < 0 ||
	    ptsname_r(master, name, sizeof(name)) != 0 ||
	    (slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		goto fail;
	if (m->termios_len == sizeof(struct termios) &&
	    tcsetattr(slave, TCSANOW, (const struct termios *)m->termios) < 0)
		goto fail;
	if (m->rows > 0 && m->cols > 0 && ioctl(master, TIOCSWINSZ, &ws) < 0)
		goto fail;
	(void)fcntl(master, F_SETFL, O_NONBLOCK);
	*masterp = master;
	*slavep = slave;
	return 0;
fail:
	r = -errno;
	if (slave >= 0)
		close(slave);
	close(master);
	return r;
}

/* PATH's value in envp, or execvp's default. */
static const char *
path_var(char *const *envp)
{
	for (; *envp != NULL; envp++)
		if (strncmp(*envp, "PATH=", 5) == 0)
			return *envp + 5;
	return "/usr/local/bin:/usr/bin:/bin";
}

int
zmx_proc_respawn(struct zmx_op_ctx *c, uint64_t id, uint64_t h)
{
	struct zmx_proc *p;

	if ((p = proc_find(c->s, h)) == NULL)
		return -ESRCH;
	if (p->spawn_id != id)
		return 0;
	/* the same request on a new connection: the answer goes there */
	if (p->started == 0) {
		zmx_dispatch_defer(c, id, &p->spawn_to);
		return 1;
	}
	c->rep.type = ZMX_MSG_OK;
	return 1;
}

int
zmx_proc_spawn(struct zmx_op_ctx *c, uint64_t id, const struct zmx_msg_spawn *m,
    char *const *argv, char *const *envp, int cwd, int exe)
{
	struct zmx_reaper_spec sp = { .fds = { -1, -1, -1 }, .slave = -1 };
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, inp[2] = { -1, -1 };
	int failp[2] = { -1, -1 }, master = -1, slave = -1, ctl = -1, i, r;
	struct zmx_proc *p = NULL;
	size_t n;
	pid_t pid;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < SRC_N; i++)
		p->src[i] = (struct proc_src){ p, i, -1, 0 };
	p->pty = -1;
	for (n = 0; argv[n] != NULL; n++)
		p->argvlen += strlen(argv[n]) + 1;
	if ((p->argv0 = malloc(p->argvlen)) == NULL ||
	    (p->cwd = strdup(m->cwd)) == NULL ||
	    (p->prog = strdup(m->path[0] ? m->path : argv[0])) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(p->argv0, m->argv, p->argvlen);
	if (m->tty != 0 && (r = open_pty(m, &master, &slave)) < 0) {
		zmx_op_fail(c, r, "pty: %s", strerror(-r));
		goto out;
	}
	if (!(m->tty & 1) && (m->flags & ZMX_SPAWN_PIPE_IN) &&
	    (r = proc_pipe(inp, 1)) < 0)
		goto out;
	if (!(m->tty & 2) && (m->flags & ZMX_SPAWN_CAPTURE) &&
	    (r = proc_pipe(outp, 0)) < 0)
		goto out;
	if (!(m->tty & 4) && (m->flags & ZMX_SPAWN_CAPTURE) &&
	    !((m->flags & ZMX_SPAWN_MERGE_ERR) && outp[1] >= 0) &&
	    (r = proc_pipe(errp, 0)) < 0)
		goto out;
	if ((r = proc_pipe(failp, 0)) < 0)
		goto out;
	sp.fds[0] = m->tty & 1 ? slave : inp[0];
	sp.fds[1] = m->tty & 2 ? slave : outp[1];
	sp.fds[2] = m->tty & 4 ? slave : errp[1] >= 0 ? errp[1] :
	    (m->flags & ZMX_SPAWN_MERGE_ERR) ? outp[1] : -1;
	sp.slave = slave;
	sp.errw = failp[1];
	sp.cwd = cwd;
	sp.exe = exe;
	sp.path = m->path[0] ? m->path : argv[0];
	sp.search = (m->flags & ZMX_SPAWN_SEARCH) != 0;
	sp.pathvar = path_var(envp);
	sp.argv = argv;
	sp.envp = envp;
	sp.umask = m->umask;
	sp.sigign = m->sigign;
	sp.sigmask = m->sigmask;
	if (zmx_creds_switching() && c->s->creds.ngroups >= 0) {
		sp.setids = 1;
		sp.uid = c->s->creds.uid;
		sp.gid = c->s->creds.gid;
		sp.groups = c->s->creds.groups;
		sp.ngroups = c->s->creds.ngroups;
	}
	if ((pid = zmx_reaper_start(&sp, &ctl)) < 0) {
		r = pid;
		zmx_op_fail(c, r, "%s: cannot fork: %s", sp.path,
		    strerror(-r));
		goto out;
	}
	p->s = c->s;
	p->h = m->h;
	p->r = pid;
	p->spawn_id = id;
	p->may_stage = (m->flags & ZMX_SPAWN_MAY_STAGE) != 0;
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	p->src[SRC_CTL].fd = ctl;
	p->src[SRC_FAIL].fd = failp[0];
	failp[0] = -1;
	p->src[SRC_OUT].fd = outp[0];
	p->src[SRC_ERR].fd = errp[0];
	/* the pty's bytes go where the client's terminal is */
	p->in_pty = (m->tty & 1) != 0;
	p->pty_err = master >= 0 && !(m->tty & 2) && (m->tty & 4);
	p->out_open = (outp[0] >= 0) + (master >= 0 && !p->pty_err);
	p->err_open = (errp[0] >= 0) + (master >= 0 && p->pty_err);
	outp[0] = errp[0] = -1;
	if (master >= 0) {
		p->src[SRC_PTY].fd = master;
		p->pty = master;
		if (m->tty & 1 && (p->src[SRC_IN].fd = fcntl(master,
		    F_DUPFD_CLOEXEC, 3)) < 0)
			p->src[SRC_IN].fd = -1;
		master = -1;
	}
	if (!(m->tty & 1)) {
		p->src[SRC_IN].fd = inp[1];
		inp[1] = -1;
	}
	src_watch(&p->src[SRC_CTL], EPOLLIN);
	src_watch(&p->src[SRC_FAIL], EPOLLIN);
	watch_output(p);
	if (p->src[SRC_IN].fd >= 0)
		src_watch(&p->src[SRC_IN], EPOLLET);
	p->next = proc_list;
	proc_list = p;
	zmx_dispatch_defer(c, id, &p->spawn_to);
	p = NULL;
	r = 0;
out:
	/* the command's ends are the reaper's now, or nobody's */
	for (i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (inp[i] >= 0)
			close(inp[i]);
		if (failp[i] >= 0)
			close(failp[i]);
	}
	if (master >= 0)
		close(master);
	if (slave >= 0)
		close(slave);
	if (cwd >= 0)
		close(cwd);
	if (exe >= 0)
		close(exe);
	if (p != NULL) {
		free(p->prog);
		free(p->argv0);
		free(p->cwd);
		free(p);
	}
	return r;
}

/* ---- control ----------------------------------------------------------- */

int
zmx_proc_ctl(struct zmx_op_ctx *c, const struct zmx_msg_proc_ctl *m)
{
	struct winsize ws = { .ws_row = m->arg, .ws_col = m->arg2 };
	struct zmx_proc *p;
	pid_t pg;
	int i;

	if ((p = proc_find(c->s, m->h)) == NULL)
		return zmx_op_fail(c, -ESRCH, "no command %llu",
		    (unsigned long long)m->h);
	switch (m->op) {
	case ZMX_CTL_SIGNAL:
		if (m->arg < 1 || m->arg > 64)
			return zmx_op_fail(c, -EINVAL, "signal %u", m->arg);
		pg = p->c;
		if (p->pty >= 0 && ioctl(p->pty, TIOCGPGRP, &pg) < 0)
			pg = p->c;
		if (pg <= 0 || p->exited)
			break;		/* nothing left there to signal */
		if (kill(-pg, (int)m->arg) < 0 && errno != ESRCH)
			return zmx_op_fail(c, -errno, "signal %u to group %d: "
			    "%s", m->arg, (int)pg, strerror(errno));
		break;
	case ZMX_CTL_KILL_TREE:
		proc_kill_tree(p);
		break;
	case ZMX_CTL_WINCH:
		if (p->pty < 0)
			return zmx_op_fail(c, -ENOTTY, "the command has no pty");
		if (ioctl(p->pty, TIOCSWINSZ, &ws) < 0)
			return -errno;
		break;
	case ZMX_CTL_CLOSE:
		if (m->arg != 1 && m->arg != 2)
			return zmx_op_fail(c, -EINVAL, "close fd %u", m->arg);
		i = m->arg == 1 ? SRC_OUT : SRC_ERR;
		if (p->src[i].fd >= 0) {
			src_close(&p->src[i]);
			if (i == SRC_OUT)
				p->out_open--;
			else
				p->err_open--;
			/* what it held is for nobody now */
			if (i == SRC_OUT)
				p->out.len = 0;
			else
				p->err.len = 0;
			watch_output(p);
			pump_reads(p, now_ms());
		}
		break;
	case ZMX_CTL_DONE:
		proc_forget(p);
		break;
	default:
		return zmx_op_fail(c, -EINVAL, "proc_ctl op %u", m->op);
	}
	c->rep.type = ZMX_MSG_OK;
	return 0;
}

/* ---- the loop ---------------------------------------------------------- */

void
zmx_proc_run(void)
{
	struct epoll_event ev[64];
	struct zmx_proc *p, *next;
	struct proc_src *src;
	int64_t now;
	int n, i;

	if (proc_epfd < 0)
		return;
	while ((n = epoll_wait(proc_epfd, ev, 64, 0)) > 0) {
		for (i = 0; i < n; i++) {
			src = ev[i].data.ptr;
			p = src->p;
			if (src->fd < 0)
				continue;	/* closed earlier in the batch */
			switch (src->kind) {
			case SRC_OUT:
			case SRC_ERR:
			case SRC_PTY:
				read_stream(p, src);
				break;
			case SRC_IN:
				if (ev[i].events & (EPOLLERR | EPOLLHUP))
					input_broken(p);
				else
					pump_writes(p);
				break;
			case SRC_FAIL:
				read_fail(p);
				break;
			case SRC_CTL:
				read_ctl(p);
				break;
			}
		}
		if (n < 64)
			break;
	}
	now = now_ms();
	for (p = proc_list; p != NULL; p = next) {
		next = p->next;
		if (p->src[SRC_CTL].fd < 0 && (p->forgotten || p->s == NULL)) {
			proc_unlink_free(p);
			continue;
		}
		if (!p->forgotten) {
			accept_ahead(p);
			pump_reads(p, now);
		}
	}
}

int
zmx_proc_timeout(int max)
{
	struct zmx_proc *p;
	struct proc_req *q;
	int64_t now = now_ms(), t = max;

	for (p = proc_list; p != NULL; p = p->next) {
		for (q = p->reads; q != NULL; q = q->next)
			if (q->deadline - now < t)
				t = q->deadline - now;
		if (p->exited && !p->ended && (p->out_open || p->err_open) &&
		    p->exited_at + ZMX_PROC_ENDED_MS - now < t)
			t = p->exited_at + ZMX_PROC_ENDED_MS - now;
	}
	return t < 0 ? 0 : (int)t;
}

void
zmx_proc_session_free(struct zmx_session *s)
{
	struct zmx_proc *p;

	for (p = proc_list; p != NULL; p = p->next)
		if (p->s == s) {
			proc_kill_tree(p);
			p->s = NULL;	/* nothing more is answered */
			proc_forget(p);
		}
}

void
zmx_proc_fini(void)
{
	struct zmx_proc *p;
	struct pollfd pf;
	int64_t end = now_ms() + 2000;

	for (p = proc_list; p != NULL; p = p->next) {
		p->s = NULL;
		proc_kill_tree(p);
		proc_forget(p);
	}
	/* each reaper kills its tree and ends: reap them, a while */
	while (proc_list != NULL) {
		p = proc_list;
		pf = (struct pollfd){ .fd = p->src[SRC_CTL].fd,
		    .events = POLLIN };
		if (pf.fd >= 0 && now_ms() < end &&
		    poll(&pf, 1, (int)(end - now_ms())) > 0) {
			read_ctl(p);
			if (p->src[SRC_CTL].fd >= 0)
				continue;
		}
		proc_unlink_free(p);
	}
	if (proc_epfd >= 0)
		close(proc_epfd);
	proc_epfd = -1;
}
