/* times.c - sets times with every libc call that can: utime, utimes,
 * lutimes, futimes, futimesat, utimensat and futimens, each on a file
 * of the cwd named after it, with UTIME_OMIT and UTIME_NOW in one field
 * only, so that tests/integration/identity.t can check each file
 * remotely. Prints the calls that failed; exit 1 if any did. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

static int fails;

static void
check(const char *what, int r)
{
	if (r < 0) {
		perror(what);
		fails++;
	}
}

int
main(void)
{
	struct utimbuf ub = { 1000000001, 1000000002 };
	struct timeval tv[2] = { { 1000000003, 4 }, { 1000000005, 6 } };
	struct timespec omit_a[2] = { { 0, UTIME_OMIT }, { 1000000007, 8 } };
	struct timespec omit_m[2] = { { 1000000009, 10 }, { 0, UTIME_OMIT } };
	struct timespec now_m[2] = { { 1000000011, 12 }, { 0, UTIME_NOW } };
	int fd;

	check("utime", utime("utime", &ub));
	check("utime NULL", utime("utime-null", NULL));
	check("utimes", utimes("utimes", tv));
	check("lutimes", lutimes("lutimes", tv));
	fd = open("futimes", O_RDONLY);
	check("futimes", futimes(fd, tv));
	close(fd);
	check("futimesat", futimesat(AT_FDCWD, "futimesat", tv));
	check("utimensat", utimensat(AT_FDCWD, "omit-a", omit_a, 0));
	fd = open("omit-m", O_WRONLY);
	check("futimens", futimens(fd, omit_m));
	close(fd);
	check("utimensat NOW", utimensat(AT_FDCWD, "now-m", now_m, 0));
	return fails != 0;
}
