/* test_stage.c - the staging store: a program uploaded in chunks is
 * stored under its digest (0755, in a 0711 directory per key), a query
 * finds it, a chunk out of order or a wrong digest is refused and leaves
 * no temp file, repeated chunks are answered again, a session's
 * unfinished upload goes with it, temp files of a killed agentd go at
 * start, and the store keeps the programs run last within its cap. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "stage.h"
#include "tap.h"

static char state[] = "/var/tmp/test_stage.XXXXXX";
static char kdir[4200];

/* How many temp files the key's directory holds. */
static int
temps(void)
{
	struct dirent *e;
	DIR *d;
	int n = 0;

	if ((d = opendir(kdir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, ".up-", 4) == 0;
	closedir(d);
	return n;
}

static void
digest(const char *s, size_t n, uint8_t d[32])
{
	crypto_hash_sha256(d, (const unsigned char *)s, n);
}

int
main(void)
{
	const char *prog = "#!/bin/sh\necho staged\n";
	size_t plen = strlen(prog);
	uint8_t d[32], d2[32], d3[32];
	char key[33], path[4400];
	struct stat st;
	int owner, other, fd;

	if (mkdtemp(state) == NULL || sodium_init() < 0)
		return 1;
	umask(022);
	ok(zmx_stage_open(state) == 0, "the store opens");
	zmx_stage_keydir("alice", key);
	snprintf(kdir, sizeof(kdir), "%s/stage/%s", state, key);
	digest(prog, plen, d);

	ok(zmx_stage_put("alice", &owner, d, 0, "", 0, plen) == -ENOENT,
	    "a query for a program not stored: ENOENT");
	ok(zmx_stage_prog("alice", d) == -ENOPKG, "and it cannot run: ENOPKG");
	ok(zmx_stage_put("alice", &owner, d, 5, prog + 5, 5, plen) == -EINVAL,
	    "an upload that does not start at 0: EINVAL");
	ok(zmx_stage_put("alice", &owner, d, 0, prog, 10, plen) == 0,
	    "the first chunk");
	ok(zmx_stage_put("alice", &owner, d, 0, prog, 10, plen) == 0,
	    "the first chunk repeated: OK again");
	ok(zmx_stage_put("alice", &owner, d, 12, prog + 12, 2, plen) ==
	    -EINVAL, "a chunk past a gap: EINVAL");
	ok(temps() == 1, "one temp file while it is under way");
	ok(zmx_stage_put("alice", &owner, d, 10, prog + 10, plen - 10, plen) ==
	    0, "the last chunk stores it");
	ok(temps() == 0, "no temp file left");
	ok(zmx_stage_put("alice", &owner, d, 10, prog + 10, plen - 10, plen) ==
	    0, "the last chunk repeated: OK again");
	ok(zmx_stage_put("alice", &other, d, 0, "", 0, plen) == 0,
	    "a query finds it, from any session of the key");
	ok(zmx_stage_put("bob", &other, d, 0, "", 0, plen) == -ENOENT,
	    "but not for another key");
	snprintf(path, sizeof(path), "%s/", kdir);
	for (size_t i = 0; i < 32; i++)
		snprintf(path + strlen(path), 3, "%02x", d[i]);
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0755,
	    "stored 0755 under its digest's hex");
	ok(stat(kdir, &st) == 0 && (st.st_mode & 07777) == 0711,
	    "in a 0711 directory of the key");
	fd = zmx_stage_prog("alice", d);
	ok(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == (off_t)plen,
	    "it opens to run");
	if (fd >= 0)
		close(fd);

	digest("xyz", 3, d2);
	ok(zmx_stage_put("alice", &owner, d2, 0, "abc", 3, 3) == -EBADMSG,
	    "a wrong digest: EBADMSG");
	ok(temps() == 0, "and its temp file is gone");
	ok(zmx_stage_put("alice", &owner, d2, 0, "", 0, 3) == -ENOENT,
	    "nothing was stored under it");

	digest("12345678", 8, d3);
	ok(zmx_stage_put("alice", &owner, d3, 0, "1234", 4, 8) == 0 &&
	    temps() == 1, "an upload left unfinished");
	zmx_stage_drop(&owner);
	ok(temps() == 0, "goes with its session");
	ok(zmx_stage_put("alice", &owner, d3, 0, "1234", 4, 8) == 0,
	    "another left unfinished");
	zmx_stage_close();
	fd = open(path, O_RDONLY);
	ok(zmx_stage_open(state) == 0 && temps() == 0,
	    "a killed agentd's temp file goes at the next start");
	if (fd >= 0)
		close(fd);

	/* a cap of 30 bytes: the program (23) and xyz-like ones (8) */
	zmx_stage_max = 30;
	ok(zmx_stage_put("alice", &owner, d3, 0, "12345678", 8, 8) == 0,
	    "a second program within the cap");
	sleep(1);
	fd = zmx_stage_prog("alice", d3);	/* d3 run last */
	if (fd >= 0)
		close(fd);
	digest("abcdefgh", 8, d2);
	ok(zmx_stage_put("alice", &owner, d2, 0, "abcdefgh", 8, 8) == 0,
	    "a third, over the cap");
	ok(zmx_stage_put("alice", &owner, d, 0, "", 0, 0) == -ENOENT,
	    "the one run longest ago is gone");
	ok(zmx_stage_put("alice", &owner, d3, 0, "", 0, 0) == 0 &&
	    zmx_stage_put("alice", &owner, d2, 0, "", 0, 0) == 0,
	    "the others stay");
	ok(zmx_stage_put("alice", &owner, d, 0, prog, 10, 31) == -EFBIG,
	    "a program bigger than the cap: EFBIG");
	zmx_stage_close();
	snprintf(path, sizeof(path), "rm -rf %s", state);
	(void)!system(path);
	return tap_done();
}
