/* session_procs.c - the session's part in remote commands: a SPAWN waits
 * for every changed file to be written back (a command may read any),
 * a program that is not on agentd is staged (DESIGN.md decision 7: the
 * local file uploaded once into agentd's content-addressed store, then
 * run from there), and a command whose zmx-exec is gone (its session
 * connection dropped, even by SIGKILL) has its whole process tree
 * killed on agentd. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
#include "session.h"

#define STAGE_WINDOW	8		/* STAGE chunks out at once */

/* A command a client started, until it said DONE. */
struct sproc {
	uint64_t	 h;
	uint64_t	 serial;	/* its client: zmx-exec's connection */
	struct sproc	*next;
};

/* A local program staged in this session: what it was when hashed. */
struct staged {
	char		 path[PATH_MAX];	/* as SPAWN named it */
	char		 local[PATH_MAX];	/* the file here */
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
	unsigned char	 digest[ZMX_DIGEST_LEN];
	struct job	*uploader;	/* the job uploading it, or NULL */
	struct job	*waiting;	/* jobs that wait for that upload */
	struct staged	*next;
};

/* A request for a command whose SPAWN is still on its way (behind a
 * barrier, or staging): it goes once the command runs. */
struct held {
	struct zmx_buf	 req;
	struct held	*next;
};

/* One SPAWN on its way. */
struct job {
	uint64_t	 serial, id;	/* the client and its request id */
	uint64_t	 h;
	int		 sent;		/* the SPAWN is out (not staging) */
	int		 orphan;	/* its client is gone: kill it once it
					 * runs */
	struct held	*held, **held_tail;
	struct job	*next;
	struct zmx_buf	 req;		/* the client's SPAWN */
	struct staged	*st;		/* the program as staged, or NULL */
	int		 uploaded;	/* tried once */
	int		 fd;		/* the local program, uploading */
	off_t		 off, size;
	int		 out;		/* STAGE chunks in flight */
	int		 err;		/* the upload's first failure */
	struct job	*wnext;		/* in its staged's waiting list */
};

static struct sproc *procs;
static struct staged *stages;
static struct job *jobs;	/* SPAWNs on their way */

static void	send_spawn(struct job *j);
static zmx_link_done_fn	forgotten;

/* The requests held for j's command go on (ok), or are refused. */
static void
release_held(struct job *j, int ok)
{
	struct held *x;
	struct zmx_msg m;
	char why[128];

	while ((x = j->held) != NULL) {
		j->held = x->next;
		if (zmx_msg_decode(&m, x->req.data, x->req.len, why,
		    sizeof(why)) == 0) {
			if (ok)
				zmx_local_forward(j->serial, &m);
			else
				zmx_local_error(j->serial, m.id, ESRCH,
				    "the command did not start");
		}
		zmx_msg_close(&m);
		zmx_buf_free(&x->req);
		free(x);
	}
}

static void
job_free(struct job *j)
{
	struct job **pp;

	for (pp = &jobs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	release_held(j, 0);
	if (j->fd >= 0)
		close(j->fd);
	zmx_buf_free(&j->req);
	free(j);
}

static void
job_fail(struct job *j, int err, const char *detail)
{
	zmx_local_error(j->serial, j->id, err, detail);
	job_free(j);
}

/* Whether st still describes its local file. */
static int
stage_fresh(const struct staged *st)
{
	struct stat sb;

	return stat(st->local, &sb) == 0 && sb.st_dev == st->dev &&
	    sb.st_ino == st->ino && sb.st_size == st->size &&
	    sb.st_mtim.tv_sec == st->mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == st->mtime.tv_nsec;
}

static struct staged *
stage_find(const char *path)
{
	struct staged *st;

	for (st = stages; st != NULL; st = st->next)
		if (strcmp(st->path, path) == 0)
			return stage_fresh(st) ? st : NULL;
	return NULL;
}

/* The local file a SPAWN names: its path, or a name looked up in the
 * PATH of the command's environment, as execvp would. */
static int
local_program(const struct zmx_msg_spawn *s, char *out, size_t len)
{
	const char *p = s->env, *end = p + s->env_len, *path = NULL, *e;
	struct stat sb;
	size_t n;

	if (!(s->flags & ZMX_SPAWN_SEARCH)) {
		if (s->path[0] != '/' || stat(s->path, &sb) < 0 ||
		    !S_ISREG(sb.st_mode) || access(s->path, X_OK) < 0)
			return -ENOENT;
		snprintf(out, len, "%s", s->path);
		return 0;
	}
	while (p < end) {
		n = strnlen(p, end - p);
		if (strncmp(p, "PATH=", 5) == 0)
			path = p + 5;
		p += n + 1;
	}
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (; *path != '\0'; path = *e ? e + 1 : e) {
		e = path + strcspn(path, ":");
		if ((size_t)snprintf(out, len, "%.*s%s%s", (int)(e - path),
		    path, e > path ? "/" : "", s->path) >= len)
			continue;
		if (stat(out, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    access(out, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* Hashes the local program into a new staged entry. */
static struct staged *
stage_new(const char *path, const char *local)
{
	struct staged *st;
	struct stat sb;
	int fd;

	/* hashed for another command of it a moment ago: no second hash */
	if ((st = stage_find(path)) != NULL)
		return st;
	if ((fd = open(local, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		close(fd);
		return NULL;
	}
	if (zmx_digest_file(fd, local, st->digest, &sb) < 0) {
		close(fd);
		free(st);
		return NULL;
	}
	close(fd);
	snprintf(st->path, sizeof(st->path), "%s", path);
	snprintf(st->local, sizeof(st->local), "%s", local);
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	st->size = sb.st_size;
	st->mtime = sb.st_mtim;
	st->next = stages;
	stages = st;
	return st;
}

static void	stage_more(struct job *j);

static void
stage_done(void *arg, struct zmx_frame *rep, int err)
{
	struct job *j = arg, *waiting, *w;

	j->out--;
	if (err == 0)
		err = zmx_msg_result(&rep->msg, ZMX_MSG_OK);
	if (err < 0 && j->err == 0)
		j->err = err;
	if (j->out > 0 || (j->err == 0 && j->off < j->size)) {
		if (j->err == 0)
			stage_more(j);
		return;
	}
	close(j->fd);
	j->fd = -1;
	/* the commands that waited for this upload go now: to the store,
	 * or (it failed) to an upload of their own */
	waiting = j->st->waiting;
	j->st->waiting = NULL;
	j->st->uploader = NULL;
	if (j->err < 0) {
		char why[PATH_MAX + 64];

		snprintf(why, sizeof(why), "%s: staging it on agentd: %s",
		    j->st->local, strerror(-j->err));
		job_fail(j, -j->err == ENOPKG ? EIO : -j->err, why);
	} else
		send_spawn(j);
	while ((w = waiting) != NULL) {
		waiting = w->wnext;
		send_spawn(w);
	}
}

/* Sends STAGE chunks while the window has room. */
static void
stage_more(struct job *j)
{
	struct zmx_msg m = { .type = ZMX_MSG_STAGE };
	unsigned char *buf;
	ssize_t n;
	size_t want;

	while (j->out < STAGE_WINDOW && (j->off < j->size ||
	    (j->size == 0 && j->off == 0 && j->out == 0 && !j->uploaded))) {
		j->uploaded = 1;
		want = j->size - j->off > ZMX_CHUNK ? ZMX_CHUNK :
		    (size_t)(j->size - j->off);
		if ((buf = malloc(want ? want : 1)) == NULL ||
		    (n = pread(j->fd, buf, want, j->off)) != (ssize_t)want) {
			free(buf);
			j->err = j->err ? j->err : -EIO;
			if (j->out == 0) {
				j->out = 1;
				stage_done(j, NULL, j->err);
			}
			return;
		}
		m.u.stage.digest = j->st->digest;
		m.u.stage.digest_len = ZMX_DIGEST_LEN;
		m.u.stage.off = (uint64_t)j->off;
		m.u.stage.data = buf;
		m.u.stage.data_len = want;
		m.u.stage.size = (uint64_t)j->size;
		zmx_link_call(&m, stage_done, j);	/* encoded: buf goes */
		free(buf);
		j->off += (off_t)want;
		j->out++;
		if (want == 0)
			break;
	}
}

static void
stage_start(struct job *j)
{
	struct stat sb;

	if ((j->fd = open(j->st->local, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(j->fd, &sb) < 0) {
		job_fail(j, ENOENT, j->st->local);
		return;
	}
	zmx_info("session: staging %s (%lld bytes) on agentd", j->st->local,
	    (long long)sb.st_size);
	j->size = sb.st_size;
	j->off = 0;
	stage_more(j);
}

static void
spawned(void *arg, struct zmx_frame *rep, int err)
{
	struct job *j = arg;
	const struct zmx_msg_spawn *s;
	struct zmx_msg m;
	struct sproc *p;
	char local[PATH_MAX], why[256];

	if (err < 0) {
		job_fail(j, -err, "the session could not reach agentd");
		return;
	}
	if ((err = zmx_msg_result(&rep->msg, ZMX_MSG_OK)) == 0 && j->orphan) {
		/* its zmx-exec died while the SPAWN waited */
		m = (struct zmx_msg){ .type = ZMX_MSG_PROC_CTL };
		m.u.proc_ctl.h = j->h;
		m.u.proc_ctl.op = ZMX_CTL_KILL_TREE;
		zmx_link_call(&m, forgotten, NULL);
		job_free(j);
		return;
	}
	if (err == 0) {
		if ((p = calloc(1, sizeof(*p))) != NULL &&
		    zmx_msg_decode(&m, j->req.data, j->req.len, why,
		    sizeof(why)) == 0) {
			p->h = m.u.spawn.h;
			p->serial = j->serial;
			p->next = procs;
			procs = p;
			zmx_msg_close(&m);
		} else
			free(p);
		rep->msg.id = j->id;
		zmx_local_reply(j->serial, &rep->msg, -1);
		release_held(j, 1);
		job_free(j);
		return;
	}
	j->sent = 0;
	if (err != -ENOPKG) {
		rep->msg.id = j->id;
		zmx_local_reply(j->serial, &rep->msg, -1);
		job_free(j);
		return;
	}
	/* not on agentd: stage the local program, once */
	if (zmx_msg_decode(&m, j->req.data, j->req.len, why,
	    sizeof(why)) < 0) {
		job_fail(j, EIO, why);
		return;
	}
	s = &m.u.spawn;
	if (j->st == NULL) {
		if (local_program(s, local, sizeof(local)) < 0 ||
		    (j->st = stage_new(s->path, local)) == NULL) {
			snprintf(why, sizeof(why), "%s: not found on agentd "
			    "nor here", s->path);
			zmx_msg_close(&m);
			job_fail(j, ENOENT, why);
			return;
		}
		zmx_msg_close(&m);
		send_spawn(j);	/* it may be in agentd's store already */
		return;
	}
	zmx_msg_close(&m);
	if (j->uploaded) {
		job_fail(j, EIO, "agentd lost a program just staged");
		return;
	}
	/* another command of the same program is uploading it (Claude
	 * Code runs itself as bfs and ugrep at once): one upload */
	if (j->st->uploader != NULL) {
		j->wnext = j->st->waiting;
		j->st->waiting = j;
		return;
	}
	j->st->uploader = j;
	stage_start(j);
}

/* The client's SPAWN, with the staged program's digest if there is
 * one. */
static void
send_spawn(struct job *j)
{
	struct zmx_msg m;
	char why[256];

	if (zmx_msg_decode(&m, j->req.data, j->req.len, why,
	    sizeof(why)) < 0) {
		job_fail(j, EIO, why);
		return;
	}
	if (j->st != NULL) {
		m.u.spawn.digest = j->st->digest;
		m.u.spawn.digest_len = ZMX_DIGEST_LEN;
	}
	j->sent = 1;
	zmx_link_call(&m, spawned, j);
	zmx_msg_close(&m);
}

static void
barrier_passed(void *arg)
{
	send_spawn(arg);
}

void
zmx_procs_spawn(uint64_t serial, const struct zmx_msg *m)
{
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		zmx_local_error(serial, m->id, ENOMEM, "session out of memory");
		return;
	}
	j->serial = serial;
	j->id = m->id;
	j->h = m->u.spawn.h;
	j->fd = -1;
	j->held_tail = &j->held;
	j->next = jobs;
	jobs = j;
	if (zmx_msg_encode(m, &j->req) < 0) {
		job_fail(j, ENOMEM, "session out of memory");
		return;
	}
	if ((m->u.spawn.flags & ZMX_SPAWN_MAY_STAGE) &&
	    m->u.spawn.digest_len == 0)
		j->st = stage_find(m->u.spawn.path);
	/* what the agent changed is on agentd before the command starts */
	if (zmx_files_barrier(m, barrier_passed, j))
		return;
	send_spawn(j);
}

static struct job *
job_find(uint64_t serial, uint64_t h)
{
	struct job *j;

	for (j = jobs; j != NULL; j = j->next)
		if (j->h == h && j->serial == serial)
			return j;
	return NULL;
}

static int
hold(struct job *j, const struct zmx_msg *m)
{
	struct held *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return 0;
	if (zmx_msg_encode(m, &x->req) < 0) {
		free(x);
		return 0;
	}
	*j->held_tail = x;
	j->held_tail = &x->next;
	return 1;
}

/* A request that went out right behind its command's SPAWN (so that the
 * first output costs no round trip of its own). */
struct early {
	uint64_t	 serial, id, h;
	struct zmx_buf	 req;
};

static void
early_done(void *arg, struct zmx_frame *rep, int err)
{
	struct early *e = arg;
	struct zmx_msg m;
	struct sproc *p;
	struct job *j;
	char why[128];

	if (err == 0 && zmx_msg_result(&rep->msg, ZMX_MSG_OK) == -ESRCH &&
	    zmx_msg_decode(&m, e->req.data, e->req.len, why,
	    sizeof(why)) == 0) {
		/* it overtook its SPAWN, or the SPAWN is being staged: it
		 * goes again behind it */
		m.id = e->id;
		for (p = procs; p != NULL && p->h != e->h; p = p->next)
			;
		if ((j = job_find(e->serial, e->h)) != NULL && hold(j, &m)) {
			zmx_msg_close(&m);
			goto out;
		}
		if (p != NULL) {
			zmx_local_forward(e->serial, &m);
			zmx_msg_close(&m);
			goto out;
		}
		zmx_msg_close(&m);
	}
	if (err < 0)
		zmx_local_error(e->serial, e->id, -err, "the session could "
		    "not reach agentd");
	else {
		rep->msg.id = e->id;
		zmx_local_reply(e->serial, &rep->msg, -1);
	}
out:
	zmx_buf_free(&e->req);
	free(e);
}

int
zmx_procs_hold(uint64_t serial, const struct zmx_msg *m)
{
	struct early *e;
	struct zmx_msg copy;
	struct job *j;
	uint64_t h;

	switch (m->type) {
	case ZMX_MSG_PREAD_OUT:
		h = m->u.pread_out.h;
		break;
	case ZMX_MSG_PWRITE_IN:
		h = m->u.pwrite_in.h;
		break;
	case ZMX_MSG_PROC_CTL:
		h = m->u.proc_ctl.h;
		break;
	default:
		return 0;
	}
	if ((j = job_find(serial, h)) == NULL)
		return 0;
	if (!j->sent)
		return hold(j, m);
	/* the SPAWN is on its way: this one follows it at once */
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return hold(j, m);
	if (zmx_msg_encode(m, &e->req) < 0) {
		free(e);
		return hold(j, m);
	}
	e->serial = serial;
	e->id = m->id;
	e->h = h;
	copy = *m;
	zmx_link_call(&copy, early_done, e);
	return 1;
}

static void
forgotten(void *arg, struct zmx_frame *rep, int err)
{
	(void)arg;
	(void)rep;
	(void)err;
}

void
zmx_procs_ctl(const struct zmx_msg *m)
{
	struct sproc **pp, *p;

	if (m->u.proc_ctl.op != ZMX_CTL_DONE)
		return;
	for (pp = &procs; (p = *pp) != NULL; pp = &p->next)
		if (p->h == m->u.proc_ctl.h) {
			*pp = p->next;
			free(p);
			return;
		}
}

void
zmx_procs_client_gone(uint64_t serial)
{
	struct sproc **pp, *p;
	struct zmx_msg m = { .type = ZMX_MSG_PROC_CTL };
	struct job *j;

	for (j = jobs; j != NULL; j = j->next)
		if (j->serial == serial)
			j->orphan = 1;
	for (pp = &procs; (p = *pp) != NULL; ) {
		if (p->serial != serial) {
			pp = &p->next;
			continue;
		}
		/* its zmx-exec died before the command did: nothing of
		 * the command may outlive it */
		zmx_info("session: the zmx-exec of command %016llx is gone: "
		    "killing its processes", (unsigned long long)p->h);
		m.u.proc_ctl.h = p->h;
		m.u.proc_ctl.op = ZMX_CTL_KILL_TREE;
		zmx_link_call(&m, forgotten, NULL);
		*pp = p->next;
		free(p);
	}
}

void
zmx_procs_kill_all(void)
{
	struct zmx_msg m = { .type = ZMX_MSG_PROC_CTL };
	struct sproc *p;

	while ((p = procs) != NULL) {
		zmx_info("session: ending: killing command %016llx",
		    (unsigned long long)p->h);
		m.u.proc_ctl.h = p->h;
		m.u.proc_ctl.op = ZMX_CTL_KILL_TREE;
		zmx_link_call(&m, forgotten, NULL);
		procs = p->next;
		free(p);
	}
}

void
zmx_procs_fini(void)
{
	struct staged *st;
	struct sproc *p;

	while ((p = procs) != NULL) {
		procs = p->next;
		free(p);
	}
	while ((st = stages) != NULL) {
		stages = st->next;
		free(st);
	}
}
