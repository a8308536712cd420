/* wrap_exec.c - the exec and spawn calls that take an environment. The
 * virtual cwd lives in this process's memory, which exec discards, so the
 * new program learns it from ZMX_CWD: kept current in environ by chdir
 * (for execv, execvp, system, popen...) and put into an explicit envp
 * here (bash passes its own). Commands still run locally in this
 * version; rewriting them to zmx-exec will start from these wrappers.
 *
 * An exec may run in a vfork child that shares the parent's memory: no
 * malloc here, the new environment is built on the stack. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"
#include "real.h"
#include "shim.h"

#define CWD_VAR		"ZMX_CWD="
#define CWD_VAR_LEN	(sizeof(CWD_VAR) - 1)
#define ENV_MAX		65536	/* entries copied; past that, as given */

static size_t
env_count(char *const envp[])
{
	size_t n = 0;

	while (envp != NULL && envp[n] != NULL)
		n++;
	return n;
}

/* Copies envp into ne[] (n + 2 slots) with ZMX_CWD set from the vcwd,
 * using var[] (PATH_MAX + CWD_VAR_LEN + 1) for the entry. */
static char **
env_with_cwd(char *const envp[], size_t n, char **ne, char *var)
{
	size_t i, j = 0;
	int len;

	memcpy(var, CWD_VAR, CWD_VAR_LEN);
	len = zmx_vcwd_get(var + CWD_VAR_LEN, PATH_MAX);
	var[CWD_VAR_LEN + (len > 0 ? len : 0)] = '\0';
	for (i = 0; i < n; i++)
		if (strncmp(envp[i], CWD_VAR, CWD_VAR_LEN) != 0)
			ne[j++] = envp[i];
	ne[j++] = var;
	ne[j] = NULL;
	return ne;
}

/* Runs call with env replaced by a copy carrying ZMX_CWD. */
#define WITH_CWD_ENV(env, call) do {					\
	size_t n_ = env_count(env);					\
	if (!zmx_policy.any_remote || n_ > ENV_MAX)			\
		return (call);						\
	{								\
		char *ne_[n_ + 2], var_[PATH_MAX + CWD_VAR_LEN + 1];	\
		char *const *env_saved_ = (env);			\
		int r_;							\
		(env) = env_with_cwd(env_saved_, n_, ne_, var_);	\
		r_ = (call);						\
		(env) = env_saved_;					\
		return r_;						\
	}								\
} while (0)

ZMX_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
	zmx_real_ensure();
	WITH_CWD_ENV(envp, real_execve(path, argv, envp));
}

ZMX_EXPORT int
execvpe(const char *file, char *const argv[], char *const envp[])
{
	zmx_real_ensure();
	WITH_CWD_ENV(envp, real_execvpe(file, argv, envp));
}

ZMX_EXPORT int
fexecve(int fd, char *const argv[], char *const envp[])
{
	zmx_real_ensure();
	WITH_CWD_ENV(envp, real_fexecve(fd, argv, envp));
}

ZMX_EXPORT int
execle(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t n = 1;
	char *const *envp;

	va_start(ap, arg);
	while (va_arg(ap, char *) != NULL)
		n++;
	va_end(ap);
	{
		char *argv[n + 1];
		size_t i;

		va_start(ap, arg);
		argv[0] = (char *)arg;
		for (i = 1; i <= n; i++)
			argv[i] = va_arg(ap, char *);	/* ends with NULL */
		envp = va_arg(ap, char *const *);
		va_end(ap);
		return execve(path, argv, envp);
	}
}

ZMX_EXPORT int
posix_spawn(pid_t *pid, const char *path,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[])
{
	zmx_real_ensure();
	WITH_CWD_ENV(envp, real_posix_spawn(pid, path, fa, attr, argv, envp));
}

ZMX_EXPORT int
posix_spawnp(pid_t *pid, const char *file,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[])
{
	zmx_real_ensure();
	WITH_CWD_ENV(envp, real_posix_spawnp(pid, file, fa, attr, argv,
	    envp));
}
