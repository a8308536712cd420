/* zmxreq.c - a raw zmx client for tests: sends HELLO and then requests
 * (or arbitrary bytes) to agentd and prints each reply on one line, so
 * shell tests can check security and bad-input behaviour exactly.
 *
 *   zmxreq -e ENDPOINT [-k KEY -S SERVER.pub] [-t TOKENHEX] [-T MS]
 *          [-i ID] [--send-only [--conns N]] [--no-hello] [--invals]
 *          [-v] OP ARGS... [:: OP ARGS...]
 *   zmxreq -e ENDPOINT --raw HEXBYTES | --frame-file FILE
 *   zmxreq -e ENDPOINT [-k KEY -S SERVER.pub] --flood-hellos N
 *   zmxreq --keygen BASE
 *
 * Request ids are a random nonce in the high 32 bits and a count from 1
 * below (zmx-protocol(7)); -i gives the first id, so that a test can
 * repeat a request as a client's retry would. --send-only sends every
 * request without reading a reply, on N connections of one session
 * (--conns, default 1), then waits -T ms: a peer that does not read. --flood-hellos sends N HELLOs, each with a fresh token on a
 * connection of its own closed after the answer, and prints how many
 * were welcomed. --invals prints the INVAL frames agentd sends unasked
 * (id 0) where they arrive among the replies; the op "wait MS" waits MS
 * ms for them.
 *
 * Exit 0 if every reply arrived (whatever it said), 3 on a timeout,
 * 2 on bad usage. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "cookie.h"
#include "hex.h"
#include "keys.h"
#include "msg.h"
#include "wire.h"

#define REQ_EXIT_USAGE		2
#define REQ_EXIT_TIMEOUT	3

static int req_verbose;
static int req_invals;		/* print INVAL frames */
/* without keys: the cookie of agentd's user ($ZMX_COOKIE, cookie.h) */
static uint8_t cookie[ZMX_COOKIE_LEN];
static size_t cookie_len;

static void
usage(void)
{
	fprintf(stderr,
"usage: zmxreq -e ENDPOINT [-k KEYFILE -S SERVERPUBFILE] [-t TOKENHEX]\n"
"              [-T MS] [-i ID] [--send-only [--conns N]] [--no-hello]\n"
"              [--invals] [-v]\n"
"              OP ARGS... [:: OP ARGS...]\n"
"       zmxreq -e ENDPOINT [-k KEYFILE -S SERVERPUBFILE] --flood-hellos N\n"
"       zmxreq -e ENDPOINT [--no-hello] --raw HEXBYTES | --frame-file F\n"
"       zmxreq --keygen BASE\n"
"ops: hello | ping [STAMP] | stat P | lstat P | access P r,w,x|f [nofollow]\n"
"     open P [w,creat,excl,trunc,nofollow,dir,append] [MODE] [MAX]\n"
"     pread P OFF LEN | put P DATA [begin,commit] [OFF] [MODE] [SIZE\n"
"         [ASEC ANSEC|now|omit MSEC MNSEC|now|omit]]\n"
"     pwrite P OFF DATA | readdir P | mkdir P [MODE] | rmdir P | unlink P\n"
"     mknod P MODE [RDEV]   (MODE octal, with the type: 010644 a fifo)\n"
"     rename A B [noreplace|exchange] | link A B [follow] | symlink T P\n"
"     readlink P | realpath P | chmod P MODE [nofollow]\n"
"     chown P UID|- GID|- [nofollow] | truncate P LEN\n"
"     utimens P ASEC ANSEC|now|omit MSEC MNSEC|now|omit [nofollow]\n"
"     getxattr P NAME [nofollow] | listxattr P [nofollow]\n"
"     setxattr P NAME VALUE [nofollow,create,replace]\n"
"     removexattr P NAME [nofollow]\n"
"     wait MS (with --invals: the INVALs that come meanwhile)\n"
"     spawn H PATH CWD FLAGS [ARG...]  FLAGS: comma list of search, stage,\n"
"         pipein, capture, tty=N, digest=HEX, rawargv=HEX, env=N=V, - none;\n"
"         ARGs are argv from argv[0] (default: PATH)\n"
"     pread_out H SEQ [WAIT] | pwrite_in H SEQ DATA [eof]\n"
"     proc_ctl H signal|kill|winch|close|done|N [ARG [ARG2]]\n"
"     drain H [WAIT] (pread_out from seq 0 to the exit, one line)\n"
"     stage FILE [HEX] (whole file by 1 MiB chunks; the last reply)\n"
"     stage_query HEX\n");
	exit(REQ_EXIT_USAGE);
}

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "zmxreq: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(REQ_EXIT_USAGE);
}

static unsigned long long
num(const char *s, int base)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end != '\0' || *s == '\0')
		die("not a number: '%s'", s);
	return v;
}

static long long
snum(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || *end != '\0' || *s == '\0')
		die("not a number: '%s'", s);
	return v;
}

/* A nanoseconds argument: a number, "now" or "omit". */
static long long
nsec(const char *s)
{
	if (strcmp(s, "now") == 0)
		return ZMX_UTIME_NOW;
	if (strcmp(s, "omit") == 0)
		return ZMX_UTIME_OMIT;
	return snum(s);
}

/* Whether the comma list s holds word. */
static int
has(const char *s, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = s; (p = strstr(p, word)) != NULL; p += n)
		if ((p == s || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Decodes hex (spaces allowed) into a new buffer. */
static unsigned char *
unhex(const char *s, size_t *lenp)
{
	unsigned char *b = malloc(strlen(s) / 2 + 1);
	size_t n = 0;
	int hi, lo;

	if (b == NULL)
		exit(1);
	while (*s) {
		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if ((hi = zmx_hex_value(s[0])) < 0 || (lo = zmx_hex_value(s[1])) < 0)
			die("bad hex near '%s'", s);
		b[n++] = (unsigned char)(hi << 4 | lo);
		s += 2;
	}
	*lenp = n;
	return b;
}

static void
print_escaped(const void *p, size_t len, size_t max)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len && i < max; i++) {
		if (c[i] == '\\')
			printf("\\\\");
		else if (c[i] == '\n')
			printf("\\n");
		else if (c[i] < 0x20 || c[i] >= 0x7f || c[i] == ' ')
			printf("\\x%02x", c[i]);
		else
			putchar(c[i]);
	}
	if (len > max)
		printf("...");
}

static void
print_attr(const struct zmx_attr *a)
{
	printf("mode=0%o size=%lld uid=%u gid=%u nlink=%u", a->mode,
	    (long long)a->size, a->uid, a->gid, a->nlink);
	if (req_verbose)
		printf(" ino=%llu dev=%llu atime=%lld.%09lld mtime=%lld.%09lld "
		    "ctime=%lld.%09lld blocks=%lld blksize=%lld",
		    (unsigned long long)a->ino, (unsigned long long)a->dev,
		    (long long)a->atime_sec, (long long)a->atime_nsec,
		    (long long)a->mtime_sec, (long long)a->mtime_nsec,
		    (long long)a->ctime_sec, (long long)a->ctime_nsec,
		    (long long)a->blocks, (long long)a->blksize);
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct zmx_dirent *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static void
print_reply(const struct zmx_msg *m)
{
	struct zmx_dirent *e;
	size_t i;

	switch (m->type) {
	case ZMX_MSG_OK:
		printf("OK");
		break;
	case ZMX_MSG_ERROR:
		printf("ERROR %s %s", m->u.error.errname, m->u.error.detail);
		break;
	case ZMX_MSG_WELCOME:
		printf("WELCOME version=%u server=%s root=%s flags=0x%x",
		    m->u.welcome.version, m->u.welcome.server,
		    m->u.welcome.root, m->u.welcome.flags);
		break;
	case ZMX_MSG_PONG:
		printf("PONG stamp=%llu server=%s",
		    (unsigned long long)m->u.pong.stamp, m->u.pong.server);
		break;
	case ZMX_MSG_ATTR:
		printf("ATTR ");
		print_attr(&m->u.attr.st);
		break;
	case ZMX_MSG_OPENED:
		printf("OPENED ");
		print_attr(&m->u.opened.st);
		printf(" len=%zu data=", m->u.opened.data_len);
		print_escaped(m->u.opened.data, m->u.opened.data_len, 64);
		break;
	case ZMX_MSG_DATA:
		printf("DATA ");
		print_attr(&m->u.data.st);
		printf(" len=%zu data=", m->u.data.data_len);
		print_escaped(m->u.data.data, m->u.data.data_len, 64);
		break;
	case ZMX_MSG_PATH:
		printf("PATH %s", m->u.path.path);
		break;
	case ZMX_MSG_XATTR:
		printf("XATTR len=%zu value=", m->u.xattr.value_len);
		print_escaped(m->u.xattr.value, m->u.xattr.value_len, 64);
		break;
	case ZMX_MSG_INVAL:
		printf("INVAL %s 0x%x", m->u.inval.path, m->u.inval.flags);
		break;
	case ZMX_MSG_OUTPUT:
		printf("OUTPUT seq=%llu flags=0x%x status=%d out=",
		    (unsigned long long)m->u.output.seq, m->u.output.flags,
		    m->u.output.status);
		print_escaped(m->u.output.out, m->u.output.out_len, 256);
		printf(" err=");
		print_escaped(m->u.output.err, m->u.output.err_len, 256);
		break;
	case ZMX_MSG_ENTRIES:
		printf("ENTRIES");
		if ((e = calloc(m->u.entries.ents_count + 1, sizeof(*e))) ==
		    NULL)
			exit(1);
		memcpy(e, m->u.entries.ents, m->u.entries.ents_count *
		    sizeof(*e));
		qsort(e, m->u.entries.ents_count, sizeof(*e), ent_cmp);
		for (i = 0; i < m->u.entries.ents_count; i++) {
			printf(" %s", e[i].name);
			if (req_verbose)
				printf(":0%o", e[i].st.mode);
		}
		free(e);
		break;
	default:
		printf("%s", zmx_msg_name(m->type) ? zmx_msg_name(m->type) :
		    "?");
	}
	printf("\n");
	fflush(stdout);
}

/* The value of "name=" in the comma list s, or NULL (into buf). */
static const char *
opt_val(const char *s, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);
	const char *p, *end;

	for (p = s; p != NULL && *p; p = end ? end + 1 : NULL) {
		end = strchr(p, ',');
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			snprintf(buf, len, "%.*s", (int)((end ? end :
			    p + strlen(p)) - p - n - 1), p + n + 1);
			return buf;
		}
		if (end == NULL)
			break;
	}
	return NULL;
}

/* argv of a spawn: its strings, each with its NUL. */
static void *
join(int argc, char **argv, size_t *lenp)
{
	size_t len = 0;
	char *b;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if ((b = malloc(len + 1)) == NULL)
		exit(1);
	*lenp = len;
	for (len = 0, i = 0; i < argc; i++) {
		strcpy(b + len, argv[i]);
		len += strlen(argv[i]) + 1;
	}
	return b;
}

/* Builds the request for argv[0..argc); dies on bad usage. */
static void
build(struct zmx_msg *m, int argc, char **argv)
{
	const char *op = argv[0];
	const char *f;

#define NEED(n) do { if (argc < (n) + 1) die("%s: missing arguments", op); \
	} while (0)
#define OPT(i) (argc > (i) ? argv[i] : "")
	memset(m, 0, sizeof(*m));
	if (strcmp(op, "ping") == 0) {
		m->type = ZMX_MSG_PING;
		m->u.ping.stamp = argc > 1 ? num(argv[1], 0) :
		    (uint64_t)time(NULL);
	} else if (strcmp(op, "stat") == 0 || strcmp(op, "lstat") == 0) {
		NEED(1);
		m->type = ZMX_MSG_STAT;
		m->u.stat.path = argv[1];
		m->u.stat.flags = op[0] == 'l' ? ZMX_NOFOLLOW : 0;
	} else if (strcmp(op, "access") == 0) {
		NEED(2);
		m->type = ZMX_MSG_ACCESS;
		m->u.access.path = argv[1];
		f = argv[2];
		m->u.access.mode = (has(f, "r") ? R_OK : 0) |
		    (has(f, "w") ? W_OK : 0) | (has(f, "x") ? X_OK : 0);
		m->u.access.flags = has(OPT(3), "nofollow") ? ZMX_NOFOLLOW : 0;
	} else if (strcmp(op, "open") == 0) {
		NEED(1);
		m->type = ZMX_MSG_OPEN;
		m->u.open.path = argv[1];
		f = OPT(2);
		m->u.open.flags = (has(f, "w") ? ZMX_O_WRITE : 0) |
		    (has(f, "creat") ? ZMX_O_CREAT : 0) |
		    (has(f, "excl") ? ZMX_O_EXCL : 0) |
		    (has(f, "trunc") ? ZMX_O_TRUNC : 0) |
		    (has(f, "nofollow") ? ZMX_O_NOFOLLOW : 0) |
		    (has(f, "dir") ? ZMX_O_DIRECTORY : 0) |
		    (has(f, "append") ? ZMX_O_APPEND : 0);
		m->u.open.mode = argc > 3 ? (uint32_t)num(argv[3], 8) : 0644;
		m->u.open.max = argc > 4 ? num(argv[4], 0) : ZMX_CHUNK;
	} else if (strcmp(op, "pread") == 0) {
		NEED(3);
		m->type = ZMX_MSG_PREAD;
		m->u.pread.path = argv[1];
		m->u.pread.off = num(argv[2], 0);
		m->u.pread.len = num(argv[3], 0);
	} else if (strcmp(op, "put") == 0) {
		NEED(2);
		m->type = ZMX_MSG_PUT;
		m->u.put.path = argv[1];
		m->u.put.data = argv[2];
		m->u.put.data_len = strlen(argv[2]);
		f = argc > 3 ? argv[3] : "begin,commit";
		m->u.put.flags = (has(f, "begin") ? ZMX_PUT_BEGIN : 0) |
		    (has(f, "commit") ? ZMX_PUT_COMMIT : 0);
		m->u.put.off = argc > 4 ? num(argv[4], 0) : 0;
		m->u.put.mode = argc > 5 ? (uint32_t)num(argv[5], 8) : 0644;
		/* the final size: by default, this chunk's end */
		m->u.put.size = argc > 6 ? num(argv[6], 0) :
		    m->u.put.off + m->u.put.data_len;
		m->u.put.atime_sec = argc > 10 ? snum(argv[7]) : 0;
		m->u.put.atime_nsec = argc > 10 ? nsec(argv[8]) :
		    ZMX_UTIME_OMIT;
		m->u.put.mtime_sec = argc > 10 ? snum(argv[9]) : 0;
		m->u.put.mtime_nsec = argc > 10 ? nsec(argv[10]) :
		    ZMX_UTIME_OMIT;
	} else if (strcmp(op, "pwrite") == 0) {
		NEED(3);
		m->type = ZMX_MSG_PWRITE;
		m->u.pwrite.path = argv[1];
		m->u.pwrite.off = num(argv[2], 0);
		m->u.pwrite.data = argv[3];
		m->u.pwrite.data_len = strlen(argv[3]);
	} else if (strcmp(op, "readdir") == 0) {
		NEED(1);
		m->type = ZMX_MSG_READDIR;
		m->u.readdir.path = argv[1];
	} else if (strcmp(op, "mkdir") == 0) {
		NEED(1);
		m->type = ZMX_MSG_MKDIR;
		m->u.mkdir.path = argv[1];
		m->u.mkdir.mode = argc > 2 ? (uint32_t)num(argv[2], 8) : 0755;
	} else if (strcmp(op, "mknod") == 0) {
		NEED(2);
		m->type = ZMX_MSG_MKNOD;
		m->u.mknod.path = argv[1];
		m->u.mknod.mode = (uint32_t)num(argv[2], 8);
		m->u.mknod.rdev = argc > 3 ? num(argv[3], 0) : 0;
	} else if (strcmp(op, "rmdir") == 0) {
		NEED(1);
		m->type = ZMX_MSG_RMDIR;
		m->u.rmdir.path = argv[1];
	} else if (strcmp(op, "unlink") == 0) {
		NEED(1);
		m->type = ZMX_MSG_UNLINK;
		m->u.unlink.path = argv[1];
	} else if (strcmp(op, "rename") == 0) {
		NEED(2);
		m->type = ZMX_MSG_RENAME;
		m->u.rename.from = argv[1];
		m->u.rename.to = argv[2];
		f = OPT(3);
		m->u.rename.flags = (has(f, "noreplace") ?
		    ZMX_RENAME_NOREPLACE : 0) | (has(f, "exchange") ?
		    ZMX_RENAME_EXCHANGE : 0);
	} else if (strcmp(op, "link") == 0) {
		NEED(2);
		m->type = ZMX_MSG_LINK;
		m->u.link.from = argv[1];
		m->u.link.to = argv[2];
		m->u.link.flags = has(OPT(3), "follow") ? 0x4 : 0;
	} else if (strcmp(op, "symlink") == 0) {
		NEED(2);
		m->type = ZMX_MSG_SYMLINK;
		m->u.symlink.target = argv[1];
		m->u.symlink.path = argv[2];
	} else if (strcmp(op, "readlink") == 0) {
		NEED(1);
		m->type = ZMX_MSG_READLINK;
		m->u.readlink.path = argv[1];
	} else if (strcmp(op, "realpath") == 0) {
		NEED(1);
		m->type = ZMX_MSG_REALPATH;
		m->u.realpath.path = argv[1];
	} else if (strcmp(op, "chmod") == 0) {
		NEED(2);
		m->type = ZMX_MSG_CHMOD;
		m->u.chmod.path = argv[1];
		m->u.chmod.mode = (uint32_t)num(argv[2], 8);
		m->u.chmod.flags = has(OPT(3), "nofollow") ? ZMX_NOFOLLOW : 0;
	} else if (strcmp(op, "chown") == 0) {
		NEED(3);
		m->type = ZMX_MSG_CHOWN;
		m->u.chown.path = argv[1];
		m->u.chown.uid = strcmp(argv[2], "-") == 0 ? ZMX_ID_KEEP :
		    (uint32_t)num(argv[2], 10);
		m->u.chown.gid = strcmp(argv[3], "-") == 0 ? ZMX_ID_KEEP :
		    (uint32_t)num(argv[3], 10);
		m->u.chown.flags = has(OPT(4), "nofollow") ? ZMX_NOFOLLOW : 0;
	} else if (strcmp(op, "utimens") == 0) {
		NEED(5);
		m->type = ZMX_MSG_UTIMENS;
		m->u.utimens.path = argv[1];
		m->u.utimens.atime_sec = snum(argv[2]);
		m->u.utimens.atime_nsec = nsec(argv[3]);
		m->u.utimens.mtime_sec = snum(argv[4]);
		m->u.utimens.mtime_nsec = nsec(argv[5]);
		m->u.utimens.flags = has(OPT(6), "nofollow") ? ZMX_NOFOLLOW : 0;
	} else if (strcmp(op, "truncate") == 0) {
		NEED(2);
		m->type = ZMX_MSG_TRUNCATE;
		m->u.truncate.path = argv[1];
		m->u.truncate.len = num(argv[2], 0);
	} else if (strcmp(op, "getxattr") == 0) {
		NEED(2);
		m->type = ZMX_MSG_GETXATTR;
		m->u.getxattr.path = argv[1];
		m->u.getxattr.name = argv[2];
		m->u.getxattr.flags = has(OPT(3), "nofollow") ? ZMX_NOFOLLOW :
		    0;
	} else if (strcmp(op, "listxattr") == 0) {
		NEED(1);
		m->type = ZMX_MSG_LISTXATTR;
		m->u.listxattr.path = argv[1];
		m->u.listxattr.flags = has(OPT(2), "nofollow") ? ZMX_NOFOLLOW :
		    0;
	} else if (strcmp(op, "setxattr") == 0) {
		NEED(3);
		m->type = ZMX_MSG_SETXATTR;
		m->u.setxattr.path = argv[1];
		m->u.setxattr.name = argv[2];
		m->u.setxattr.value = argv[3];
		m->u.setxattr.value_len = strlen(argv[3]);
		f = OPT(4);
		m->u.setxattr.flags = (has(f, "nofollow") ? ZMX_NOFOLLOW : 0) |
		    (has(f, "create") ? ZMX_XATTR_CREATE : 0) |
		    (has(f, "replace") ? ZMX_XATTR_REPLACE : 0);
	} else if (strcmp(op, "removexattr") == 0) {
		NEED(2);
		m->type = ZMX_MSG_REMOVEXATTR;
		m->u.removexattr.path = argv[1];
		m->u.removexattr.name = argv[2];
		m->u.removexattr.flags = has(OPT(3), "nofollow") ?
		    ZMX_NOFOLLOW : 0;
	} else if (strcmp(op, "spawn") == 0) {
		static char envbuf[4096], val[65536];
		static void *av;
		const char *v;
		size_t n;

		NEED(4);
		m->type = ZMX_MSG_SPAWN;
		m->u.spawn.h = num(argv[1], 0);
		m->u.spawn.path = argv[2];
		m->u.spawn.cwd = argv[3];
		f = argv[4];
		m->u.spawn.flags = (has(f, "search") ? ZMX_SPAWN_SEARCH : 0) |
		    (has(f, "stage") ? ZMX_SPAWN_MAY_STAGE : 0) |
		    (has(f, "pipein") ? ZMX_SPAWN_PIPE_IN : 0) |
		    (has(f, "capture") ? ZMX_SPAWN_CAPTURE : 0);
		if ((v = opt_val(f, "tty", val, sizeof(val))) != NULL)
			m->u.spawn.tty = (uint32_t)num(v, 0);
		m->u.spawn.rows = 24;
		m->u.spawn.cols = 80;
		m->u.spawn.umask = 022;
		free(av);
		if ((v = opt_val(f, "rawargv", val, sizeof(val))) != NULL) {
			av = unhex(v, &n);
			m->u.spawn.argv = av;
			m->u.spawn.argv_len = n;
		} else if (argc > 5) {
			av = join(argc - 5, argv + 5, &n);
			m->u.spawn.argv = av;
			m->u.spawn.argv_len = n;
		} else {
			av = join(1, argv + 2, &n);
			m->u.spawn.argv = av;
			m->u.spawn.argv_len = n;
		}
		n = (size_t)snprintf(envbuf, sizeof(envbuf), "%s",
		    "PATH=/usr/local/bin:/usr/bin:/bin") + 1;
		if ((v = opt_val(f, "env", val, sizeof(val))) != NULL)
			n += (size_t)snprintf(envbuf + n, sizeof(envbuf) - n,
			    "%s", v) + 1;
		m->u.spawn.env = envbuf;
		m->u.spawn.env_len = n;
		m->u.spawn.termios = "";
		if ((v = opt_val(f, "digest", val, sizeof(val))) != NULL) {
			static unsigned char *dg;

			free(dg);
			dg = unhex(v, &n);
			m->u.spawn.digest = dg;
			m->u.spawn.digest_len = n;
		} else
			m->u.spawn.digest = "";
	} else if (strcmp(op, "pread_out") == 0) {
		NEED(2);
		m->type = ZMX_MSG_PREAD_OUT;
		m->u.pread_out.h = num(argv[1], 0);
		m->u.pread_out.seq = num(argv[2], 0);
		m->u.pread_out.wait = argc > 3 ? (uint32_t)num(argv[3], 0) :
		    1000;
	} else if (strcmp(op, "pwrite_in") == 0) {
		NEED(3);
		m->type = ZMX_MSG_PWRITE_IN;
		m->u.pwrite_in.h = num(argv[1], 0);
		m->u.pwrite_in.seq = num(argv[2], 0);
		m->u.pwrite_in.data = argv[3];
		m->u.pwrite_in.data_len = strlen(argv[3]);
		m->u.pwrite_in.flags = has(OPT(4), "eof") ? ZMX_IN_EOF : 0;
	} else if (strcmp(op, "proc_ctl") == 0) {
		static const char *ops[] = { "", "signal", "kill", "winch",
		    "close", "done" };
		unsigned k;

		NEED(2);
		m->type = ZMX_MSG_PROC_CTL;
		m->u.proc_ctl.h = num(argv[1], 0);
		for (k = 1; k < 6; k++)
			if (strcmp(argv[2], ops[k]) == 0)
				break;
		m->u.proc_ctl.op = k < 6 ? k : (uint32_t)num(argv[2], 0);
		m->u.proc_ctl.arg = argc > 3 ? (uint32_t)num(argv[3], 0) : 0;
		m->u.proc_ctl.arg2 = argc > 4 ? (uint32_t)num(argv[4], 0) : 0;
	} else if (strcmp(op, "stage_query") == 0) {
		static unsigned char *dg;
		size_t n;

		NEED(1);
		free(dg);
		dg = unhex(argv[1], &n);
		m->type = ZMX_MSG_STAGE;
		m->u.stage.digest = dg;
		m->u.stage.digest_len = n;
		m->u.stage.data = "";
	} else
		die("unknown op '%s'", op);
#undef NEED
#undef OPT
}

/* Waits for the reply to id (any reply if id is 0), prints it. 0, or
 * -ETIMEDOUT. */
static int
await(void *sock, uint64_t id, int timeout_ms, int print)
{
	struct zmx_frame f = { 0 };
	zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
	struct timespec t0, t1;
	char why[256];
	long left;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = timeout_ms - ((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || zmq_poll(&it, 1, left) <= 0)
			return -ETIMEDOUT;
		r = zmx_wire_recv(sock, &f, ZMQ_DONTWAIT, why, sizeof(why));
		if (r == -EAGAIN) {
			zmx_frame_close(&f);
			continue;
		}
		if (r < 0) {
			printf("BADREPLY %s\n", why);
			zmx_frame_close(&f);
			return 0;
		}
		if (f.msg.id == 0 && f.msg.type == ZMX_MSG_INVAL) {
			if (req_invals)
				print_reply(&f.msg);
			zmx_frame_close(&f);
			continue;
		}
		if (id != 0 && f.msg.id != id) {
			zmx_frame_close(&f);
			continue;
		}
		if (print)
			print_reply(&f.msg);
		r = f.msg.type == ZMX_MSG_ERROR ? 1 : 0;
		zmx_frame_close(&f);
		return r;
	}
}

static unsigned char *read_file(const char *path, size_t *lenp);

/* One request, its reply kept in *f (closed by the caller). 0, or
 * -ETIMEDOUT. */
static int
call(void *sock, struct zmx_buf *buf, struct zmx_msg *m, uint64_t id,
    struct zmx_frame *f, int timeout_ms)
{
	zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
	char why[256];

	m->id = id;
	if (zmx_wire_send(sock, m, buf, 0) < 0)
		return -ETIMEDOUT;
	for (;;) {
		if (zmq_poll(&it, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		if (zmx_wire_recv(sock, f, ZMQ_DONTWAIT, why,
		    sizeof(why)) < 0) {
			zmx_frame_close(f);
			continue;
		}
		if (f->msg.id == id)
			return 0;
		if (f->msg.id == 0 && f->msg.type == ZMX_MSG_INVAL &&
		    req_invals)
			print_reply(&f->msg);
		zmx_frame_close(f);
	}
}

/* PREAD_OUT h from seq 0 until ZMX_OUT_EXIT (or an error), printed as
 * one line: "EXIT status=N flags=0x.. out=... err=...". */
static int
drain(void *sock, struct zmx_buf *buf, uint64_t *id, uint64_t h,
    uint32_t wait, int timeout)
{
	struct zmx_buf out = { 0 }, err = { 0 };
	struct zmx_frame f = { 0 };
	struct zmx_msg m;
	uint64_t seq = 0;
	int r, status = 0, chunks = 0;
	uint32_t flags = 0;

	for (;;) {
		memset(&m, 0, sizeof(m));
		m.type = ZMX_MSG_PREAD_OUT;
		m.u.pread_out.h = h;
		m.u.pread_out.seq = seq;
		m.u.pread_out.wait = wait;
		if ((r = call(sock, buf, &m, (*id)++, &f, timeout +
		    (int)wait)) < 0)
			return r;
		if (f.msg.type != ZMX_MSG_OUTPUT) {
			print_reply(&f.msg);
			zmx_frame_close(&f);
			break;
		}
		flags = f.msg.u.output.flags;
		if (!(flags & ZMX_OUT_IDLE)) {
			seq++;
			chunks++;
			if (out.len + f.msg.u.output.out_len > out.cap) {
				out.cap = 2 * (out.len +
				    f.msg.u.output.out_len) + 1;
				out.data = realloc(out.data, out.cap);
			}
			if (f.msg.u.output.out_len > 0)
				memcpy(out.data + out.len, f.msg.u.output.out,
				    f.msg.u.output.out_len);
			out.len += f.msg.u.output.out_len;
			if (err.len + f.msg.u.output.err_len > err.cap) {
				err.cap = 2 * (err.len +
				    f.msg.u.output.err_len) + 1;
				err.data = realloc(err.data, err.cap);
			}
			if (f.msg.u.output.err_len > 0)
				memcpy(err.data + err.len, f.msg.u.output.err,
				    f.msg.u.output.err_len);
			err.len += f.msg.u.output.err_len;
		}
		status = f.msg.u.output.status;
		zmx_frame_close(&f);
		if (flags & ZMX_OUT_EXIT) {
			printf("EXIT status=%d flags=0x%x outlen=%zu out=",
			    status, flags, out.len);
			print_escaped(out.data, out.len, 256);
			printf(" err=");
			print_escaped(err.data, err.len, 256);
			printf("\n");
			fflush(stdout);
			break;
		}
	}
	free(out.data);
	free(err.data);
	return 0;
}

/* Uploads file by 1 MiB chunks under its sha256 (or hex), printing the
 * first error or the last reply. */
static int
stage(void *sock, struct zmx_buf *buf, uint64_t *id, const char *file,
    const char *hex, int timeout)
{
	struct zmx_frame f = { 0 };
	struct zmx_msg m;
	unsigned char *data, *dg = NULL, sum[crypto_hash_sha256_BYTES];
	size_t len, off = 0, n, dlen;
	int r;

	data = read_file(file, &len);
	if (hex != NULL)
		dg = unhex(hex, &dlen);
	else {
		crypto_hash_sha256(sum, data, len);
		dlen = sizeof(sum);
	}
	do {
		n = len - off < ZMX_CHUNK ? len - off : ZMX_CHUNK;
		memset(&m, 0, sizeof(m));
		m.type = ZMX_MSG_STAGE;
		m.u.stage.digest = dg ? dg : sum;
		m.u.stage.digest_len = dlen;
		m.u.stage.off = off;
		m.u.stage.data = data + off;
		m.u.stage.data_len = n;
		m.u.stage.size = len;
		if ((r = call(sock, buf, &m, (*id)++, &f, timeout)) < 0)
			break;
		off += n;
		if (f.msg.type != ZMX_MSG_OK || off >= len)
			print_reply(&f.msg);
		r = f.msg.type == ZMX_MSG_OK ? 0 : 1;
		zmx_frame_close(&f);
	} while (r == 0 && off < len);
	free(data);
	free(dg);
	return r < 0 ? r : 0;
}

/* A HELLO joining session token, with the cookie when there is one. */
static void
hello_msg(struct zmx_msg *m, uint64_t id, const unsigned char *token,
    const char *client)
{
	memset(m, 0, sizeof(*m));
	m->type = ZMX_MSG_HELLO;
	m->id = id;
	m->u.hello.version = ZMX_PROTO_VERSION;
	m->u.hello.token = token;
	m->u.hello.token_len = ZMX_TOKEN_LEN;
	m->u.hello.client = client;
	m->u.hello.cookie = cookie;
	m->u.hello.cookie_len = cookie_len;
}

/* A socket to ep with the keys, or NULL after a message. With
 * send_only, one that takes in next to nothing: its libzmq would
 * otherwise read replies off the wire on its own, up to 1000 of them. */
static void *
connect_to(void *ctx, const char *ep, const struct zmx_keypair *kp,
    const struct zmx_keypair *spub, int send_only)
{
	void *sock = zmq_socket(ctx, ZMQ_DEALER);
	int one = 1, small = 4096;

	if (sock != NULL && send_only &&
	    (zmq_setsockopt(sock, ZMQ_RCVHWM, &one, sizeof(one)) < 0 ||
	    zmq_setsockopt(sock, ZMQ_RCVBUF, &small, sizeof(small)) < 0)) {
		zmq_close(sock);
		sock = NULL;
	}
	if (sock == NULL || zmx_wire_common_opts(sock) < 0 ||
	    zmx_wire_client_keys(sock, kp, spub ? spub->public : NULL) < 0 ||
	    zmq_connect(sock, ep) < 0) {
		fprintf(stderr, "zmxreq: %s: %s\n", ep, zmq_strerror(errno));
		if (sock != NULL)
			zmq_close(sock);
		return NULL;
	}
	return sock;
}

/* A peer that never reads: on each of n connections (one session), a
 * HELLO and every request, then a wait of timeout ms, connected. */
static int
send_only(void *ctx, const char *ep, const struct zmx_keypair *kp,
    const struct zmx_keypair *spub, const unsigned char *token, long n,
    int argc, char **argv, int timeout)
{
	struct zmx_buf buf = { 0 };
	struct zmx_msg m;
	uint32_t nonce;
	uint64_t id, sent = 0;
	void **socks;
	long k;
	int i, start, status = 0;

	if ((socks = calloc(n, sizeof(*socks))) == NULL)
		return 1;
	for (k = 0; k < n && status == 0; k++) {
		if ((socks[k] = connect_to(ctx, ep, kp, spub, 1)) == NULL ||
		    getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce)) {
			status = 1;
			break;
		}
		id = (uint64_t)nonce << 32 | 1;
		hello_msg(&m, id++, token, "zmxreq send-only");
		if (zmx_wire_send(socks[k], &m, &buf, 0) < 0)
			status = 1;
		for (start = 0; start < argc && status == 0; start = i + 1) {
			for (i = start; i < argc && strcmp(argv[i], "::") != 0;
			    i++)
				;
			if (i == start)
				continue;
			build(&m, i - start, argv + start);
			m.id = id++;
			if (zmx_wire_send(socks[k], &m, &buf, 0) < 0)
				status = 1;
			else
				sent++;
		}
	}
	if (status != 0)
		fprintf(stderr, "zmxreq: send: %s\n", zmq_strerror(errno));
	printf("sent %llu requests on %ld connections\n",
	    (unsigned long long)sent, k);
	fflush(stdout);
	usleep((useconds_t)timeout * 1000);
	for (k = 0; k < n; k++)
		if (socks[k] != NULL)
			zmq_close(socks[k]);
	free(socks);
	zmx_buf_free(&buf);
	zmq_ctx_term(ctx);
	return status;
}

/* N HELLOs with fresh tokens, each on its own short-lived connection. */
static int
flood_hellos(void *ctx, const char *ep, const struct zmx_keypair *kp,
    const struct zmx_keypair *spub, long n, int timeout)
{
	struct zmx_buf buf = { 0 };
	struct zmx_frame f = { 0 };
	zmq_pollitem_t it = { 0 };
	unsigned char token[ZMX_TOKEN_LEN];
	char why[256], last[512] = "";
	long i, welcomed = 0, refused = 0, silent = 0;
	struct zmx_msg m;
	void *sock;

	for (i = 0; i < n; i++) {
		if ((sock = connect_to(ctx, ep, kp, spub, 0)) == NULL)
			return 1;
		if (getrandom(token, sizeof(token), 0) != sizeof(token))
			die("%s", "getrandom failed");
		hello_msg(&m, 1, token, "zmxreq flood");
		it = (zmq_pollitem_t){ sock, 0, ZMQ_POLLIN, 0 };
		if (zmx_wire_send(sock, &m, &buf, 0) < 0 ||
		    zmq_poll(&it, 1, timeout) <= 0)
			silent++;
		else if (zmx_wire_recv(sock, &f, 0, why, sizeof(why)) == 0 &&
		    f.msg.type == ZMX_MSG_WELCOME)
			welcomed++;
		else {
			refused++;
			if (f.open && f.msg.type == ZMX_MSG_ERROR)
				snprintf(last, sizeof(last), "%s %s",
				    f.msg.u.error.errname,
				    f.msg.u.error.detail);
		}
		zmx_frame_close(&f);
		zmq_close(sock);
	}
	printf("welcomed %ld refused %ld silent %ld%s%s\n", welcomed, refused,
	    silent, last[0] ? " last: " : "", last);
	zmx_buf_free(&buf);
	return silent ? REQ_EXIT_TIMEOUT : 0;
}

static int
keygen(const char *base)
{
	struct zmx_keypair *kp;
	int r;

	if ((kp = zmx_keys_generate()) == NULL) {
		fprintf(stderr, "zmxreq: cannot make a key pair\n");
		return 1;
	}
	if ((r = zmx_keys_save(kp, base)) < 0) {
		fprintf(stderr, "zmxreq: %s: %s\n", base, strerror(-r));
		zmx_keys_free(kp);
		return 1;
	}
	printf("%s\n", kp->public);
	zmx_keys_free(kp);
	return 0;
}

static unsigned char *
read_file(const char *path, size_t *lenp)
{
	unsigned char *b = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0)
		die("cannot open %s", path);
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((b = realloc(b, cap)) == NULL)
				exit(1);
		}
		if ((n = read(fd, b + len, cap - len)) <= 0)
			break;
		len += n;
	}
	close(fd);
	*lenp = len;
	return b;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "key", required_argument, NULL, 'k' },
		{ "server-key", required_argument, NULL, 'S' },
		{ "token", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "no-hello", no_argument, NULL, 'H' },
		{ "raw", required_argument, NULL, 'R' },
		{ "frame-file", required_argument, NULL, 'F' },
		{ "keygen", required_argument, NULL, 'G' },
		{ "id", required_argument, NULL, 'i' },
		{ "send-only", no_argument, NULL, 'O' },
		{ "conns", required_argument, NULL, 'C' },
		{ "flood-hellos", required_argument, NULL, 'L' },
		{ "invals", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 }
	};
	struct zmx_keypair *kp = NULL, *spub = NULL;
	struct zmx_buf buf = { 0 };
	struct zmx_msg m;
	unsigned char token[ZMX_TOKEN_LEN], *raw = NULL, *tok;
	const char *ep = NULL, *keyfile = NULL, *spubfile = NULL;
	const char *tokenhex = NULL;
	char why[256];
	size_t rawlen = 0, toklen;
	void *ctx, *sock;
	uint64_t id = 1, first = 0;
	uint32_t nonce;
	long flood = 0;
	int ch, timeout = 2000, hello = 1, i, start, r, status = 0, onlyhello;
	int sendonly = 0;
	long nconns = 1;

	while ((ch = getopt_long(argc, argv, "+e:k:S:t:T:i:v", opts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'e': ep = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'S': spubfile = optarg; break;
		case 't': tokenhex = optarg; break;
		case 'T': timeout = (int)num(optarg, 10); break;
		case 'v': req_verbose = 1; break;
		case 'H': hello = 0; break;
		case 'R': raw = unhex(optarg, &rawlen); break;
		case 'F': raw = read_file(optarg, &rawlen); break;
		case 'G': return keygen(optarg);
		case 'i': first = num(optarg, 0); break;
		case 'O': sendonly = 1; break;
		case 'C': nconns = (long)num(optarg, 10); break;
		case 'L': flood = (long)num(optarg, 10); break;
		case 'N': req_invals = 1; break;
		default: usage();
		}
	}
	if (ep == NULL || (raw == NULL && flood == 0 && optind >= argc))
		usage();
	onlyhello = raw == NULL && flood == 0 &&
	    strcmp(argv[optind], "hello") == 0;
	if ((keyfile == NULL) != (spubfile == NULL))
		die("%s", "-k and -S go together");
	if (keyfile != NULL && (zmx_keys_load(keyfile, 1, &kp, why,
	    sizeof(why)) < 0 || zmx_keys_load(spubfile, 0, &spub, why,
	    sizeof(why)) < 0))
		die("key file: %s", why);
	if (tokenhex != NULL) {
		tok = unhex(tokenhex, &toklen);
		if (toklen != ZMX_TOKEN_LEN)
			die("a token is %s hex digits", "64");
		memcpy(token, tok, ZMX_TOKEN_LEN);
		free(tok);
	} else if (getrandom(token, sizeof(token), 0) != sizeof(token))
		die("%s", "getrandom failed");

	if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
		die("%s", "getrandom failed");
	cookie_len = zmx_cookie_client(cookie);
	id = first ? first : (uint64_t)nonce << 32 | 1;
	ctx = zmq_ctx_new();
	if (flood > 0)
		return flood_hellos(ctx, ep, kp, spub, flood, timeout);
	if (sendonly)
		return send_only(ctx, ep, kp, spub, token, nconns, argc - optind,
		    argv + optind, timeout);
	if ((sock = connect_to(ctx, ep, kp, spub, 0)) == NULL)
		return 1;
	if (hello || onlyhello) {
		hello_msg(&m, id, token, "zmxreq");
		if (zmx_wire_send(sock, &m, &buf, 0) < 0 ||
		    (r = await(sock, id, timeout, onlyhello || req_verbose)) ==
		    -ETIMEDOUT) {
			fprintf(stderr, "zmxreq: no answer from %s\n", ep);
			status = REQ_EXIT_TIMEOUT;
			goto out;
		}
		id++;
		if (onlyhello)
			optind++;	/* printed; go on with the rest */
	}
	if (raw != NULL) {
		if (zmq_send(sock, raw, rawlen, 0) < 0 ||
		    await(sock, 0, timeout, 1) == -ETIMEDOUT) {
			fprintf(stderr, "zmxreq: no answer from %s\n", ep);
			status = REQ_EXIT_TIMEOUT;
		}
		goto out;
	}
	/* requests separated by "::", one reply line each */
	for (start = optind; start < argc; start = i + 1) {
		for (i = start; i < argc && strcmp(argv[i], "::") != 0; i++)
			;
		if (i == start || strcmp(argv[start], "hello") == 0)
			continue;
		if (strcmp(argv[start], "wait") == 0) {
			if (i - start < 2)
				die("%s: missing arguments", "wait");
			/* nothing has id 0 but INVAL: this only waits */
			(void)await(sock, 0, (int)num(argv[start + 1], 10), 0);
			continue;
		}
		if (strcmp(argv[start], "drain") == 0 ||
		    strcmp(argv[start], "stage") == 0) {
			if (i - start < 2)
				die("%s: missing arguments", argv[start]);
			r = argv[start][0] == 'd' ? drain(sock, &buf, &id,
			    num(argv[start + 1], 0), i - start > 2 ?
			    (uint32_t)num(argv[start + 2], 0) : 1000, timeout) :
			    stage(sock, &buf, &id, argv[start + 1], i - start > 2 ?
			    argv[start + 2] : NULL, timeout);
			if (r == -ETIMEDOUT) {
				fprintf(stderr, "zmxreq: no answer from %s\n",
				    ep);
				status = REQ_EXIT_TIMEOUT;
				goto out;
			}
			continue;
		}
		build(&m, i - start, argv + start);
		m.id = id;
		if (zmx_wire_send(sock, &m, &buf, 0) < 0 ||
		    await(sock, id, timeout, 1) == -ETIMEDOUT) {
			fprintf(stderr, "zmxreq: no answer from %s\n", ep);
			status = REQ_EXIT_TIMEOUT;
			goto out;
		}
		id++;
	}
out:
	zmx_buf_free(&buf);
	free(raw);
	zmx_keys_free(kp);
	zmx_keys_free(spub);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return status;
}
