/* log.c - the one logger (log.h). A line is formatted into a stack buffer
 * and written with one raw write(2), so concurrent lines never interleave
 * and an interposed write() never sees the shim's own logging. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

int zmx_log_level = ZMX_LOG_WARN;

/* Set once by zmx_log_init(), before threads; read everywhere. */
static const char *log_prog = "zmx";
static int log_fd = 2;

static const char *const level_names[] = { "error", "warn", "info",
    "debug" };

int
zmx_log_parse_level(const char *s)
{
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i <= ZMX_LOG_DEBUG; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void
zmx_log_set_level(int level)
{
	if (level >= ZMX_LOG_ERROR && level <= ZMX_LOG_DEBUG)
		zmx_log_level = level;
}

void
zmx_log_init(const char *prog, char *(*get)(const char *))
{
	const char *s;
	int fd;

	log_prog = prog;
	if (get == NULL)
		get = getenv;
	zmx_log_set_level(zmx_log_parse_level(get("ZMX_LOG")));
	if ((s = get("ZMX_LOG_FILE")) != NULL && *s != '\0') {
		fd = (int)syscall(SYS_openat, AT_FDCWD, s,
		    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			log_fd = fd;
	}
}

/* Copies src into dst (at most dstlen - 1 bytes), writing control bytes
 * and the backslash as \xNN: a peer's path or field name that holds a
 * newline must not start a forged line of its own. Returns the length. */
static size_t
log_escape(char *dst, size_t dstlen, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)src;
	size_t n = 0;

	for (; *p != '\0' && n + 1 < dstlen; p++) {
		if (*p >= 0x20 && *p != 0x7f && *p != '\\') {
			dst[n++] = (char)*p;
			continue;
		}
		if (n + 5 > dstlen)
			break;
		dst[n++] = '\\';
		dst[n++] = 'x';
		dst[n++] = hex[*p >> 4];
		dst[n++] = hex[*p & 15];
	}
	dst[n] = '\0';
	return n;
}

void
zmx_log_at(int level, const char *func, const char *fmt, ...)
{
	char line[1024], msg[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "%s[%ld.%ld] %s %s: ", log_prog,
	    (long)syscall(SYS_getpid), (long)syscall(SYS_gettid),
	    level_names[level], func);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	n += (int)log_escape(line + n, sizeof(line) - n - 1, msg);
	line[n++] = '\n';
	(void)syscall(SYS_write, log_fd, line, (size_t)n);
}
