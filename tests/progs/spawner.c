/* spawner.c - starts a command every way libc offers, for exec.t: each
 * line it prints names the way and what the command's exit status was
 * (or the call's error), so the test sees that each one ran remotely.
 *
 *   spawner WAY PROGRAM [ARG...]
 * WAY: execve execv execvp execvpe execl execlp execle fexecve
 *      posix_spawn posix_spawnp system popen vfork */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

extern char **environ;

static int
report(const char *way, int st)
{
	if (WIFEXITED(st))
		printf("%s: exit %d\n", way, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: signal %d\n", way, WTERMSIG(st));
	return 0;
}

/* fork, run the exec in the child, report its status */
static int
in_child(const char *way, char **av)
{
	pid_t pid;
	int st;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		if (strcmp(way, "execve") == 0)
			execve(av[0], av, environ);
		else if (strcmp(way, "execv") == 0)
			execv(av[0], av);
		else if (strcmp(way, "execvp") == 0)
			execvp(av[0], av);
		else if (strcmp(way, "execvpe") == 0)
			execvpe(av[0], av, environ);
		else if (strcmp(way, "execl") == 0)
			execl(av[0], av[0], av[1], (char *)NULL);
		else if (strcmp(way, "execlp") == 0)
			execlp(av[0], av[0], av[1], (char *)NULL);
		else if (strcmp(way, "execle") == 0)
			execle(av[0], av[0], av[1], (char *)NULL, environ);
		else if (strcmp(way, "fexecve") == 0) {
			int fd = open(av[0], O_RDONLY | O_CLOEXEC);

			fexecve(fd, av, environ);
		}
		printf("%s: error %s\n", way, strerror(errno));
		fflush(stdout);
		_exit(99);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 99 ? 0 : report(way, st);
}

int
main(int argc, char **argv)
{
	const char *way;
	char **av, cmd[4096] = "", buf[4096];
	pid_t pid;
	int st, r, i;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: spawner WAY PROGRAM [ARG...]\n");
		return 2;
	}
	way = argv[1];
	av = argv + 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 2; i < argc; i++) {
		strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 2);
		strcat(cmd, " ");
	}
	if (strcmp(way, "posix_spawn") == 0 ||
	    strcmp(way, "posix_spawnp") == 0) {
		r = (way[11] == 'p' ? posix_spawnp : posix_spawn)(&pid, av[0],
		    NULL, NULL, av, environ);
		if (r != 0)
			return printf("%s: error %s\n", way, strerror(r)), 0;
		waitpid(pid, &st, 0);
		return report(way, st);
	}
	if (strcmp(way, "system") == 0)
		return report(way, system(cmd));
	if (strcmp(way, "popen") == 0) {
		if ((f = popen(cmd, "r")) == NULL)
			return printf("popen: error %s\n", strerror(errno)), 0;
		while (fgets(buf, sizeof(buf), f) != NULL)
			printf("popen read: %s", buf);
		return report(way, pclose(f));
	}
	if (strcmp(way, "vfork") == 0) {
		fflush(stdout);
		if ((pid = vfork()) == 0) {
			execve(av[0], av, environ);
			_exit(errno == ENOENT ? 127 : 126);
		}
		waitpid(pid, &st, 0);
		return report(way, st);
	}
	return in_child(way, av);
}
