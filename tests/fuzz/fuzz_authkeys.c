/* fuzz_authkeys.c - libFuzzer target for zmx_authkeys_parse()
 * (agentd/authkeys.c): the authorized-keys file decides who may connect
 * and where, so any bytes must parse into well-formed entries or be
 * refused with "LINE: reason". Users are not resolved here (that reads
 * /etc/passwd), only parsed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authkeys.h"

#define FUZZ_NAME "fuzz_authkeys"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zmx_authkeys *ak = (void *)1;
	const struct zmx_authkey *k;
	char why[256], *text;
	size_t i, j;
	int r;

	/* exact size, not NUL-terminated: ASan sees any read past the end */
	if ((text = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	why[0] = '\0';
	r = zmx_authkeys_parse(text, size, &ak, why, sizeof(why));
	CHECK(r == 0 || r == -EINVAL || r == -ENOMEM, "unexpected error");
	if (r < 0) {
		CHECK(ak == NULL, "*akp set on failure");
		CHECK(r == -ENOMEM || (why[0] >= '1' && why[0] <= '9'),
		    "a refusal without 'LINE: reason'");
		CHECK(memchr(why, '\0', sizeof(why)) != NULL,
		    "why[] not terminated");
		goto out;
	}
	CHECK(ak != NULL, "no table on success");
	for (i = 0; i < ak->n; i++) {
		k = &ak->v[i];
		CHECK(zmx_keys_valid_z85(k->key, strlen(k->key)),
		    "a listed key is not Z85");
		CHECK(k->name[0] != '\0' &&
		    strlen(k->name) <= ZMX_AUTHKEY_NAME_MAX, "name");
		CHECK(k->root != NULL && k->root[0] == '/', "root");
		CHECK(k->ro == 0 || k->ro == 1, "ro");
		CHECK(k->user == NULL || k->user[0] != '\0', "user");
		CHECK(k->line >= 1, "line");
		CHECK(zmx_authkeys_find_key(ak, k->key) == k,
		    "find_key does not find a listed key");
		CHECK(zmx_authkeys_find_name(ak, k->name) == k,
		    "find_name does not find a listed name");
		for (j = 0; j < i; j++) {
			CHECK(strcmp(ak->v[j].key, k->key) != 0,
			    "a key listed twice");
			CHECK(strcmp(ak->v[j].name, k->name) != 0,
			    "a name listed twice");
		}
	}
out:
	zmx_authkeys_free(ak);
	free(text);
	return 0;
}
