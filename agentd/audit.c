/* audit.c - the audit log (audit.h): who changed what, one write(2) of
 * one line each, on an O_APPEND fd so that lines from a rotated or
 * shared file never interleave. Knows nothing of sessions or sockets. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "err.h"
#include "io.h"
#include "log.h"
#include "msg.h"

#define AUDIT_LINE	(6 * ZMX_MAX_PATH + 512)	/* two paths escaped */

/* The log's fd, -1 when none. Written by open/close only. */
static int audit_fd = -1;

int
zmx_audit_open(const char *path)
{
	int fd;

	if (path == NULL)
		return 0;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) < 0)
		return -errno;
	zmx_audit_close();
	audit_fd = fd;
	return 0;
}

void
zmx_audit_close(void)
{
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = -1;
}

int
zmx_audit_enabled(void)
{
	return audit_fd >= 0;
}

int
zmx_audit_escape(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	for (; *p != '\0'; p++) {
		if (*p < 0x21 || *p >= 0x7f || *p == '%' || *p == '=') {
			if (n + 4 > outlen)
				break;
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		} else {
			if (n + 2 > outlen)
				break;
			out[n++] = (char)*p;
		}
	}
	if (outlen > 0)
		out[n] = '\0';
	return (int)n;
}

/* Appends " name=value" (escaped) at line[*n]. */
static void
add(char *line, size_t *n, const char *name, const char *value)
{
	int m;

	if (value == NULL || *n + 8 >= AUDIT_LINE)
		return;
	m = snprintf(line + *n, AUDIT_LINE - *n, " %s=", name);
	if (m < 0 || (size_t)m >= AUDIT_LINE - *n)
		return;
	*n += m;
	if (*value == '\0')
		value = "-";
	*n += zmx_audit_escape(value, line + *n, AUDIT_LINE - *n - 1);
}

/* Writes line[n] and a newline. */
static void
emit(char *line, size_t n)
{
	int r;

	line[n++] = '\n';
	if ((r = zmx_io_write_all(audit_fd, line, n, -1)) < 0)
		zmx_err("audit log: %s", strerror(-r));
}

/* The line's start: the time, key= and session=. */
static size_t
start(char *line, const char *key, const char *tag)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, 64, "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(line + n, 32, ".%06ldZ", ts.tv_nsec / 1000);
	add(line, &n, "key", key ? key : "-");
	add(line, &n, "session", tag ? tag : "-");
	return n;
}

void
zmx_audit_command(const char *key, const char *tag, char *const *argv,
    const char *cwd, int status, long ms)
{
	static char line[AUDIT_LINE];
	char num[32], esc[4 * 256 + 4];
	const char *sig;
	size_t n, i, k;
	int m;

	if (audit_fd < 0)
		return;
	n = start(line, key, tag);
	add(line, &n, "op", "command");
	add(line, &n, "path", cwd);
	if (n + 8 < AUDIT_LINE)
		n += snprintf(line + n, AUDIT_LINE - n, " argv=");
	for (i = 0; argv[i] != NULL && n + 16 < AUDIT_LINE - 256; i++) {
		/* an argument's commas escaped, so commas split them */
		m = zmx_audit_escape(argv[i], esc, 256);
		if (i > 0)
			line[n++] = ',';
		for (k = 0; k < (size_t)m && n + 8 < AUDIT_LINE - 256; k++) {
			if (esc[k] == ',') {
				memcpy(line + n, "%2C", 3);
				n += 3;
			} else
				line[n++] = esc[k];
		}
	}
	line[n] = '\0';
	if (WIFSIGNALED(status)) {
		sig = sigabbrev_np(WTERMSIG(status));
		snprintf(num, sizeof(num), "%s", sig ? sig : "?");
		add(line, &n, "signal", num);
	} else {
		snprintf(num, sizeof(num), "%d", WEXITSTATUS(status));
		add(line, &n, "exit", num);
	}
	snprintf(num, sizeof(num), "%ld", ms);
	add(line, &n, "ms", num);
	add(line, &n, "result", "ok");
	emit(line, n);
}

void
zmx_audit_log(const char *key, const char *tag, const char *op,
    const char *path, const char *to, const char *peer, int err)
{
	static char line[AUDIT_LINE];	/* too big for the stack */
	size_t n;

	if (audit_fd < 0)
		return;
	n = start(line, key, tag);
	add(line, &n, "op", op);
	add(line, &n, "path", path);
	add(line, &n, "to", to);
	add(line, &n, "peer", peer);
	add(line, &n, "result", err ? zmx_err_name(err) : "ok");
	emit(line, n);
}
