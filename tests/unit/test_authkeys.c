/* test_authkeys.c - the authorized-keys parser takes good lines, refuses
 * each kind of bad line naming its number, and survives random bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authkeys.h"
#include "tap.h"

#define K1 "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define K2 "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"

static int
parse(const char *text, struct zmx_authkeys **ak, char *why)
{
	return zmx_authkeys_parse(text, strlen(text), ak, why, 256);
}

static void
bad(const char *text, const char *want, const char *what)
{
	struct zmx_authkeys *ak = (void *)1;
	char why[256];
	int r = parse(text, &ak, why);

	ok(r == -EINVAL && ak == NULL && strstr(why, want) != NULL,
	    "refused: %s", what);
	if (r != -EINVAL || strstr(why, want) == NULL)
		printf("#   r=%d why='%s' want '%s'\n", r, why, want);
}

int
main(void)
{
	struct zmx_authkeys *ak = NULL;
	char why[256], buf[4096];
	int i, j, r;

	r = parse("# comment\n\n   \t\n" K1 " root=/ws,rw alice\r\n"
	    "  " K2 "\troot=/srv/x  \n", &ak, why);
	ok(r == 0 && ak != NULL && ak->n == 2, "two keys, comments, blanks");
	if (r == 0) {
		is_str(ak->v[0].name, "alice", "the name");
		is_str(ak->v[0].root, "/ws", "the root");
		ok(ak->v[0].ro == 0, "rw");
		ok(ak->v[0].user == NULL, "no user= means agentd's user");
		ok(ak->v[0].line == 4, "line number kept");
		is_str(ak->v[1].name, "Yne@$w-v", "the default name is 8 key "
		    "characters");
		ok(ak->v[1].ro == 1, "ro by default");
		ok(zmx_authkeys_find_key(ak, K2) == &ak->v[1], "find by key");
		ok(zmx_authkeys_find_name(ak, "alice") == &ak->v[0],
		    "find by name");
		ok(zmx_authkeys_find_name(ak, "bob") == NULL, "unknown name");
	}
	zmx_authkeys_free(ak);
	r = parse(K1 " ro,root=/a,user=nobody\n", &ak, why);
	ok(r == 0 && ak->n == 1 && strcmp(ak->v[0].user, "nobody") == 0 &&
	    ak->v[0].ro, "options in any order, user=");
	zmx_authkeys_free(ak);
	r = parse("", &ak, why);
	ok(r == 0 && ak->n == 0, "an empty file has no keys");
	zmx_authkeys_free(ak);

	bad("nonsense\n", "1: ", "one word");
	bad("\n\n" K1 "\n", "3: ", "a key alone");
	bad(K1 "x root=/a\n", "Z85", "a key of 41 characters");
	bad(K1 " ro\n", "no root=", "no root");
	bad(K1 " root=a\n", "absolute", "a relative root");
	bad(K1 " root=/a,root=/b\n", "twice", "root twice");
	bad(K1 " root=/a,ro,rw\n", "twice", "ro and rw");
	bad(K1 " root=/a,,ro\n", "empty option", "an empty option");
	bad(K1 " root=/a,sudo\n", "unknown option 'sudo'", "unknown option");
	bad(K1 " root=/a,user=a:b\n", "user name", "a bad user name");
	bad(K1 " root=/a na=me\n", "name is", "a bad name");
	bad(K1 " root=/a x y\n", "three fields", "four fields");
	bad(K1 " root=/a a\n" K1 " root=/b b\n", "2: key already listed",
	    "a key twice");
	bad(K1 " root=/a a\n" K2 " root=/b a\n", "already used",
	    "a name twice");
	ok(zmx_authkeys_parse(K1 " root=/a\0x\n", sizeof(K1 " root=/a\0x\n")
	    - 1, &ak, why, sizeof(why)) == -EINVAL && strstr(why, "NUL"),
	    "a NUL byte");

	/* random and mutated bytes: never a crash (ASan build too) */
	srand(1);
	for (i = 0; i < 20000; i++) {
		int n = rand() % (int)sizeof(buf);

		if (i % 2)
			for (j = 0; j < n; j++)
				buf[j] = (char)rand();
		else {
			n = snprintf(buf, sizeof(buf), "%s root=/w,rw,user=x "
			    "name\n%s ro,root=/\n", K1, K2);
			for (j = 0; j < 4; j++)
				buf[rand() % n] = (char)rand();
		}
		r = zmx_authkeys_parse(buf, n, &ak, why, i % 7 ? sizeof(why) :
		    0);
		zmx_authkeys_free(ak);
		ak = NULL;
	}
	ok(1, "20000 random inputs parsed without a crash");
	return tap_done();
}
