/* op_proc.c - the command requests (zmx-protocol(7), COMMANDS): SPAWN,
 * PREAD_OUT, PWRITE_IN, PROC_CTL and STAGE. Each checks what the wire
 * gave and leaves the commands to proc.c, the programs to stage.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"
#include "op.h"
#include "proc.h"
#include "session.h"
#include "stage.h"
#include "strv.h"

#define OP_SPAWN_FLAGS	(ZMX_SPAWN_SEARCH | ZMX_SPAWN_MAY_STAGE | \
	ZMX_SPAWN_PIPE_IN | ZMX_SPAWN_CAPTURE | ZMX_SPAWN_MERGE_ERR)

/* Every command request is refused on a read-only key. */
static int
writable(struct zmx_op_ctx *c, const char *what)
{
	if (c->s->ro)
		return zmx_op_fail(c, -EROFS, "%s: key %s is read-only", what,
		    c->s->key);
	return 0;
}

int
op_spawn(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_spawn *sp = &m->u.spawn;
	char **argv = NULL, **envp = NULL;
	size_t argc, envc;
	int cwd = -1, exe = -1, r, paused;

	c->path = sp->path;
	if ((r = writable(c, sp->path)) < 0)
		return r;
	if (sp->h == 0)
		return zmx_op_fail(c, -EINVAL, "handle 0");
	if ((r = zmx_proc_respawn(c, m->id, sp->h)) > 0)
		return 0;
	if (r == 0)
		return zmx_op_fail(c, -EEXIST, "command %llu exists",
		    (unsigned long long)sp->h);
	if (zmx_proc_count(c->s->quota) >= zmx_limits.procs_per_key)
		return zmx_op_fail(c, -EAGAIN, "key %s runs %d commands, its "
		    "limit (agentd --max-procs)", c->s->key,
		    zmx_limits.procs_per_key);
	if ((sp->flags & ~OP_SPAWN_FLAGS) || (sp->tty & ~7u) ||
	    (sp->digest_len != 0 && sp->digest_len != ZMX_DIGEST_LEN))
		return zmx_op_fail(c, -EINVAL, "spawn %s: bad flags, tty or "
		    "digest", sp->path);
	if (zmx_strv_parse(sp->argv, sp->argv_len, &argv, &argc) < 0 ||
	    argc == 0) {
		r = zmx_op_fail(c, -EINVAL, "spawn %s: argv is not NUL-ended "
		    "strings, or none", sp->path);
		goto out;
	}
	if (zmx_strv_parse(sp->env, sp->env_len, &envp, &envc) < 0) {
		r = zmx_op_fail(c, -EINVAL, "spawn %s: env is not NUL-ended "
		    "strings", sp->path);
		goto out;
	}
	if (sp->path[0] == '\0' && !(sp->flags & ZMX_SPAWN_SEARCH) &&
	    sp->digest_len == 0) {
		r = zmx_op_fail(c, -ENOENT, "spawn: no program");
		goto out;
	}
	if ((cwd = zmx_op_open(c, sp->cwd, O_PATH | O_DIRECTORY, 0)) < 0) {
		r = cwd;
		goto out;
	}
	if (sp->digest_len != 0) {
		/* the store is agentd's own */
		paused = zmx_creds_pause();
		exe = zmx_stage_prog(c->s->key, sp->digest);
		zmx_creds_resume(&c->s->creds, paused);
		if (exe < 0) {
			r = zmx_op_fail(c, exe, "%s: %s", sp->path, exe ==
			    -ENOPKG ? "not staged" : strerror(-exe));
			exe = -1;
			goto out;
		}
	}
	r = zmx_proc_spawn(c, m->id, sp, argv, envp, cwd, exe);
	cwd = exe = -1;			/* spawn closed them */
out:
	if (r < 0)
		zmx_debug("session %s: spawn %s: %s", c->s->tag, sp->path,
		    c->detail[0] ? c->detail : strerror(-r));
	if (cwd >= 0)
		close(cwd);
	if (exe >= 0)
		close(exe);
	free(argv);
	free(envp);
	return r;
}

int
op_pread_out(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	int r;

	if ((r = writable(c, "pread_out")) < 0)
		return r;
	return zmx_proc_read(c, m->id, &m->u.pread_out);
}

int
op_pwrite_in(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	int r;

	if ((r = writable(c, "pwrite_in")) < 0)
		return r;
	return zmx_proc_write(c, m->id, &m->u.pwrite_in);
}

int
op_proc_ctl(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	int r;

	if ((r = writable(c, "proc_ctl")) < 0)
		return r;
	return zmx_proc_ctl(c, &m->u.proc_ctl);
}

int
op_stage(struct zmx_op_ctx *c, const struct zmx_msg *m)
{
	const struct zmx_msg_stage *st = &m->u.stage;
	static char hex[2 * ZMX_DIGEST_LEN + 1];
	int r, paused, i;

	for (i = 0; i < ZMX_DIGEST_LEN && (size_t)i < st->digest_len; i++)
		snprintf(hex + 2 * i, 3, "%02x",
		    ((const unsigned char *)st->digest)[i]);
	hex[2 * i] = '\0';
	c->path = hex;
	if ((r = writable(c, "stage")) < 0)
		return r;
	if (st->digest_len != ZMX_DIGEST_LEN)
		return zmx_op_fail(c, -EINVAL, "stage: a digest is %d bytes",
		    ZMX_DIGEST_LEN);
	if (st->data_len > ZMX_CHUNK)
		return zmx_op_fail(c, -EINVAL, "stage: chunks are at most %u "
		    "bytes", ZMX_CHUNK);
	paused = zmx_creds_pause();
	r = zmx_stage_put(c->s->key, c->s, st->digest, st->off, st->data,
	    st->data_len, st->size);
	zmx_creds_resume(&c->s->creds, paused);
	if (r == -EFBIG)
		return zmx_op_fail(c, r, "stage %s: %llu bytes, more than "
		    "agentd --stage-max", hex, (unsigned long long)st->size);
	if (r == -ENOENT)
		return zmx_op_fail(c, r, "stage %s: not staged", hex);
	if (r == -EBADMSG)
		return zmx_op_fail(c, r, "stage %s: the program's sha256 is "
		    "not that", hex);
	if (r < 0)
		return r;
	/* the last chunk installed a program: audited */
	if (st->off + st->data_len == st->size && st->data_len > 0)
		c->audit = 1;
	c->rep.type = ZMX_MSG_OK;
	return 0;
}
