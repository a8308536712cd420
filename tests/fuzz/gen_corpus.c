/* gen_corpus.c - writes the seed corpus of every fuzz target into DIR
 * (tests/fuzz/corpus by `make fuzz-corpus`): a valid frame for each row of
 * msg.def made with zmx_msg_encode(), and small key, policy and
 * authorized-keys files, good and bad. Also writes DIR/../fuzz_msg.dict,
 * the field and message names as the fuzzer should find them in a frame.
 * The output is deterministic, so regenerating changes nothing unless
 * msg.def did. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "msg.h"

static const char *outdir;

static void
put(const char *target, const char *name, const void *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
put_text(const char *target, const char *name, const char *text)
{
	put(target, name, text, strlen(text));
}

/* ---- fuzz_msg: one frame per row, fields filled from their names ------ */

static const struct zmx_dirent seed_ents[2] = {
	{ "a.c", { .mode = 0100644, .size = 4096, .ino = 7, .nlink = 1 } },
	{ "sub", { .mode = 040755, .nlink = 2, .mtime_nsec = 999999999 } },
};

static void
fill_attr(struct zmx_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->dev = 0xfd01;
	a->ino = 1234567;
	a->mode = 0100644;
	a->nlink = 1;
	a->uid = 1000;
	a->gid = 1000;
	a->size = 4096;
	a->blksize = 4096;
	a->blocks = 8;
	a->atime_sec = a->mtime_sec = a->ctime_sec = 1764000000;
	a->mtime_nsec = 123456789;
	a->xflags = ZMX_ATTR_NOXATTR;
}

#define U32(f)	b->f = 0644;
#define U64(f)	b->f = 4096;
#define I32(f)	b->f = -2;
#define I64(f)	b->f = -1;
#define STR(f)	b->f = "/ws/src/" #f ".c";
#define BIN(f)	b->f = "hello\n"; b->f##_len = 6;
#define ATTR(f)	fill_attr(&b->f);
#define ENTS(f)	b->f = seed_ents; b->f##_count = 2;
#define MSG(N, n, num, kind, fields)					\
static void fill_msg_##n(struct zmx_msg_##n *b) { (void)b; fields }
#include "msg.def"
#undef MSG
#undef U32
#undef U64
#undef I32
#undef I64
#undef STR
#undef BIN
#undef ATTR
#undef ENTS

static void
put_msg(const struct zmx_msg *m, const char *name)
{
	struct zmx_buf b = { 0 };

	if (zmx_msg_encode(m, &b) < 0) {
		fprintf(stderr, "gen_corpus: cannot encode %s\n", name);
		exit(1);
	}
	put("fuzz_msg", name, b.data, b.len);
	zmx_buf_free(&b);
}

static void
gen_msg(void)
{
	struct zmx_msg m;
	char name[64];
	/* hand-made frames the encoder would never write */
	static const unsigned char bad_type[] = { 0x93, 0xcc, 0xfe, 0x01, 0x80 };
	static const unsigned char bad_shape[] = { 0x92, 0x0a, 0x01 };
	static const unsigned char dup_field[] = { 0x93, 0x0a, 0x01, 0x82,
	    0xa5, 'f', 'l', 'a', 'g', 's', 0x00,
	    0xa5, 'f', 'l', 'a', 'g', 's', 0x01 };
	static const unsigned char trailing[] = { 0x93, 0x04, 0x01, 0x80,
	    0xc0 };
	/* container counts far beyond the frame: msgpack-c allocated them
	 * up front (found by this fuzzer, fixed in ee243e8) */
	static const unsigned char huge_array[] = { 0x93, 0x0a, 0xdd, 0xff,
	    0xff, 0xff, 0xff };
	static const unsigned char huge_map[] = { 0x93, 0x0a, 0x01, 0xdf,
	    0xff, 0xff, 0xff, 0xff, 0xa4, 'p', 'a', 't', 'h', 0xa0 };

#define MSG(N, n, num, kind, fields)					\
	memset(&m, 0, sizeof(m));					\
	m.type = ZMX_MSG_##N;						\
	m.id = 1;							\
	fill_msg_##n(&m.u.n);						\
	put_msg(&m, #n);						\
	memset(&m, 0, sizeof(m));	/* every field zero or "" */	\
	m.type = ZMX_MSG_##N;						\
	m.id = 0xffffffffffffffffull;					\
	snprintf(name, sizeof(name), "%s-zero", #n);			\
	put_msg(&m, name);
#include "msg.def"
#undef MSG
	put("fuzz_msg", "bad-type", bad_type, sizeof(bad_type));
	put("fuzz_msg", "bad-shape", bad_shape, sizeof(bad_shape));
	put("fuzz_msg", "bad-dup-field", dup_field, sizeof(dup_field));
	put("fuzz_msg", "bad-trailing", trailing, sizeof(trailing));
	put("fuzz_msg", "bad-huge-array", huge_array, sizeof(huge_array));
	put("fuzz_msg", "bad-huge-map", huge_map, sizeof(huge_map));
}

/* Dictionary: each field and message name as a msgpack fixstr (how a
 * key appears in a body), and the ATTRS array header. */
static void
dict_word(FILE *f, const char *w)
{
	static const char *seen[256];
	static size_t nseen;
	size_t i, n = strlen(w);

	for (i = 0; i < nseen; i++)
		if (strcmp(seen[i], w) == 0)
			return;
	if (nseen < sizeof(seen) / sizeof(seen[0]))
		seen[nseen++] = w;
	fprintf(f, "\"\\x%02x%s\"\n", 0xa0 | (unsigned)n, w);
}

static void
gen_dict(void)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/../fuzz_msg.dict", outdir);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fprintf(f, "# generated from msg.def by gen_corpus.c\n");
	fprintf(f, "\"\\x93\"\n\"\\xdc\\x00\\x%02x\"\n\"\\x9f\"\n\"\\xdc\"\n"
	    "\"\\xdd\"\n\"\\xde\"\n\"\\xdf\"\n\"\\xc4\"\n\"\\xc5\"\n"
	    "\"\\xc6\"\n\"\\xd9\"\n\"\\xda\"\n\"\\xdb\"\n",
	    ZMX_ATTR_FIELDS);
#define U32(f)	dict_word(fp, #f);
#define U64(f)	dict_word(fp, #f);
#define I32(f)	dict_word(fp, #f);
#define I64(f)	dict_word(fp, #f);
#define STR(f)	dict_word(fp, #f);
#define BIN(f)	dict_word(fp, #f);
#define ATTR(f)	dict_word(fp, #f);
#define ENTS(f)	dict_word(fp, #f);
#define MSG(N, n, num, kind, fields)	{ FILE *fp = f; fields (void)fp; }
#include "msg.def"
#undef MSG
#undef U32
#undef U64
#undef I32
#undef I64
#undef STR
#undef BIN
#undef ATTR
#undef ENTS
	if (fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* ---- text decoders ------------------------------------------------------ */

#define PUB	"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define SEC	"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
#define PUB2	"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

static void
gen_keys(void)
{
	/* the first byte is need_secret (bit 0) for fuzz_keys */
	put_text("fuzz_keys", "secret-file", "\001# zmx secret key: keep "
	    "private\npublic " PUB "\nsecret " SEC "\n");
	put("fuzz_keys", "public-file", "\0# zmx public key\npublic " PUB
	    "\n", sizeof("\0# zmx public key\npublic " PUB "\n") - 1);
	put_text("fuzz_keys", "crlf-blanks", "\001public " PUB " \r\n\r\n"
	    "\tsecret " SEC "\t\r\n");
	put_text("fuzz_keys", "short-key", "\001public abc\n");
	put_text("fuzz_keys", "no-public", "\001secret " SEC "\n");
	put_text("fuzz_keys", "bad-char", "\001public " "Yne@$w-vo<fVvi]a<NY6"
	    "T1ed:M$fCG*[IaLV{h\"D\n");
}

static void
gen_policy(void)
{
	/* RULES '\0' PATH '\0' PATH ... */
	static const char zmxrun[] = "local /proc\nlocal /sys\nlocal /dev\n"
	    "local /tmp/cc-socks\nremote /home/u/ws\nremote /tmp\n"
	    "\0/home/u/ws/src/a.c\0/tmp/cc-socks/1.sock\0/tmp/x\0"
	    "/home/u/wsx\0/home/u/ws/../ws/./b\0rel/path\0/";

	put("fuzz_policy", "zmx-run-defaults", zmxrun, sizeof(zmxrun) - 1);
	put_text("fuzz_policy", "semicolons", "remote /ws /srv/ws; local "
	    "/ws/.git # comment;remote /");
	put_text("fuzz_policy", "root-remote", "remote / /r");
	put_text("fuzz_policy", "bad-relative", "remote ws");
	put_text("fuzz_policy", "bad-dotdot", "remote /a/../b");
	put_text("fuzz_policy", "bad-word", "mount /a");
	put_text("fuzz_policy", "too-many-words", "remote /a /b /c");
}

static void
gen_authkeys(void)
{
	put_text("fuzz_authkeys", "one-key", PUB " root=/srv/ws,rw alice\n");
	put_text("fuzz_authkeys", "options", "# comment\n\n  " PUB
	    "\troot=/,ro,user=bob+1 \r\n" PUB2 " root=/srv user=nobody\n");
	put_text("fuzz_authkeys", "default-name", PUB " root=/srv\n");
	put_text("fuzz_authkeys", "dup-key", PUB " root=/a a\n" PUB
	    " root=/b b\n");
	put_text("fuzz_authkeys", "dup-name", PUB " root=/a a\n" PUB2
	    " root=/b a\n");
	put_text("fuzz_authkeys", "bad-option", PUB " root=/a,rx\n");
	put_text("fuzz_authkeys", "bad-root", PUB " root=rel\n");
	put_text("fuzz_authkeys", "no-root", PUB " rw\n");
	put_text("fuzz_authkeys", "empty-option", PUB " root=/a,,rw\n");
	put_text("fuzz_authkeys", "four-fields", PUB " root=/a n x\n");
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	gen_msg();
	gen_dict();
	gen_keys();
	gen_policy();
	gen_authkeys();
	return 0;
}
