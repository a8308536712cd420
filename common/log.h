/* log.h - the one logger: level tested before formatting, one write(2)
 * per line, no stdio and no malloc, so the shim may log from anywhere
 * except a signal handler. ZMX_LOG=error|warn|info|debug, ZMX_LOG_FILE. */
#ifndef ZMX_LOG_H
#define ZMX_LOG_H

enum zmx_log_level { ZMX_LOG_ERROR, ZMX_LOG_WARN, ZMX_LOG_INFO,
    ZMX_LOG_DEBUG };

/* Written by zmx_log_init() only, before any thread exists. */
extern int zmx_log_level;

/* prog names the lines ("zmx", "agentd"); reads ZMX_LOG and ZMX_LOG_FILE
 * through the given getenv (the shim passes one that cannot recurse). */
void	zmx_log_init(const char *prog, char *(*get)(const char *));
void	zmx_log_set_level(int level);
/* Parses "warn" etc.; -1 if unknown. */
int	zmx_log_parse_level(const char *s);
void	zmx_log_at(int level, const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define zmx_log_(l, ...) do {						\
	if ((l) <= zmx_log_level)					\
		zmx_log_at((l), __func__, __VA_ARGS__);			\
} while (0)
#define zmx_err(...)	zmx_log_(ZMX_LOG_ERROR, __VA_ARGS__)
#define zmx_warn(...)	zmx_log_(ZMX_LOG_WARN, __VA_ARGS__)
#define zmx_info(...)	zmx_log_(ZMX_LOG_INFO, __VA_ARGS__)
#define zmx_debug(...)	zmx_log_(ZMX_LOG_DEBUG, __VA_ARGS__)

#endif
