/* test_msg.c - every row of msg.def survives encode then decode, and the
 * decoder refuses each kind of bad frame with a reason naming the field. */
#include <errno.h>
#include <stdlib.h>

#include <msgpack.h>

#include "err.h"
#include "msg.h"
#include "tap.h"

static struct zmx_dirent test_ents[3] = {
	{ "a.c", { .mode = 0100644, .size = 12, .ino = 7 } },
	{ "sub", { .mode = 040755, .nlink = 2, .mtime_nsec = 999999999 } },
	{ "gone", { 0 } },
};

static void
fill_attr(struct zmx_attr *a, int seed)
{
	a->dev = 0xfd01ull + seed;
	a->ino = 0x123456789abcull;
	a->mode = 0100644;
	a->nlink = 3;
	a->uid = 1000;
	a->gid = 4294967295u;
	a->rdev = 0;
	a->size = (int64_t)1 << 40;
	a->blksize = 4096;
	a->blocks = 8;
	a->atime_sec = -5;
	a->atime_nsec = 1;
	a->mtime_sec = 1764000000;
	a->mtime_nsec = 999999999;
	a->ctime_sec = 0;
	a->ctime_nsec = ZMX_UTIME_OMIT;
	a->xflags = ZMX_ATTR_NOXATTR;
}

static int
attr_eq(const struct zmx_attr *a, const struct zmx_attr *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Fill every field of every row with a value derived from its name. */
#define U32(f)	b->f = 4000000000u - sizeof(#f);
#define U64(f)	b->f = 0xfedcba9876543210ull - sizeof(#f);
#define I32(f)	b->f = -2000000000 + (int)sizeof(#f);
#define I64(f)	b->f = -((int64_t)1 << 62) + (int64_t)sizeof(#f);
#define STR(f)	b->f = "/ws/" #f "/\xc3\xa9t\xc3\xa9";
#define BIN(f)	b->f = "\0\1\2bin" #f; b->f##_len = sizeof("\0\1\2bin" #f);
#define ATTR(f)	fill_attr(&b->f, sizeof(#f));
#define ENTS(f)	b->f = test_ents; b->f##_count = 3;
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

static int
ents_eq(const struct zmx_dirent *a, const struct zmx_dirent *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].name, b[i].name) != 0 ||
		    !attr_eq(&a[i].st, &b[i].st))
			return 0;
	return 1;
}

#define U32(f)	if (a->f != b->f) return #f;
#define U64(f)	if (a->f != b->f) return #f;
#define I32(f)	if (a->f != b->f) return #f;
#define I64(f)	if (a->f != b->f) return #f;
#define STR(f)	if (strcmp(a->f, b->f) != 0) return #f;
#define BIN(f)	if (a->f##_len != b->f##_len ||				\
		    memcmp(a->f, b->f, a->f##_len) != 0) return #f;
#define ATTR(f)	if (!attr_eq(&a->f, &b->f)) return #f;
#define ENTS(f)	if (a->f##_count != b->f##_count ||			\
		    !ents_eq(a->f, b->f, a->f##_count)) return #f;
#define MSG(N, n, num, kind, fields)					\
static const char *							\
diff_msg_##n(const struct zmx_msg_##n *a, const struct zmx_msg_##n *b)	\
{ (void)a; (void)b; fields return NULL; }
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
round_trip_all(void)
{
	struct zmx_buf buf = { 0 };
	struct zmx_msg in, out;
	const char *d;
	char why[256];
	int r;

#define MSG(N, n, num, kind, fields)					\
	memset(&in, 0, sizeof(in));					\
	in.type = ZMX_MSG_##N;						\
	in.id = 0x1122334455667788ull + num;				\
	fill_msg_##n(&in.u.n);						\
	buf.len = 0;							\
	r = zmx_msg_encode(&in, &buf);					\
	ok(r == 0, "encode " #n);					\
	r = zmx_msg_decode(&out, buf.data, buf.len, why, sizeof(why));	\
	ok(r == 0, "decode " #n " %s", why);				\
	ok(out.type == ZMX_MSG_##N && out.id == in.id, #n " type, id");	\
	d = r == 0 ? diff_msg_##n(&in.u.n, &out.u.n) : "decode";		\
	ok(d == NULL, #n " fields equal (first difference: %s)",	\
	    d ? d : "none");						\
	is_str(zmx_msg_name(ZMX_MSG_##N), #n, #n " has its name");	\
	ok(zmx_msg_kind(ZMX_MSG_##N) == ZMX_##kind, #n " kind");	\
	zmx_msg_close(&out);
#include "msg.def"
#undef MSG
	zmx_buf_free(&buf);
}

/* A hand-made frame: [type, id, body] where body is built by the caller. */
static void
pack_head(msgpack_sbuffer *sb, msgpack_packer *pk, uint32_t type,
    uint32_t nfields)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint32(pk, type);
	msgpack_pack_uint64(pk, 42);
	msgpack_pack_map(pk, nfields);
}

static void
pack_kstr(msgpack_packer *pk, const char *k, const char *v, size_t vlen)
{
	msgpack_pack_str_with_body(pk, k, strlen(k));
	msgpack_pack_str_with_body(pk, v, vlen);
}

static void
expect_bad(msgpack_sbuffer *sb, const char *want, const char *what)
{
	struct zmx_msg m;
	char why[256];
	int r;

	r = zmx_msg_decode(&m, sb->data, sb->size, why, sizeof(why));
	ok(r == -EPROTO && strstr(why, want) != NULL, "%s refused (%s)",
	    what, why);
	zmx_msg_close(&m);
	msgpack_sbuffer_destroy(sb);
}

static void
bad_frames(void)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct zmx_msg m;
	char why[256], big[ZMX_MAX_PATH + 2];

	pack_head(&sb, &pk, ZMX_MSG_STAT, 3);
	pack_kstr(&pk, "path", "/a", 2);
	msgpack_pack_str_with_body(&pk, "flags", 5);
	msgpack_pack_uint32(&pk, 0);
	pack_kstr(&pk, "colour", "red", 3);
	expect_bad(&sb, "unknown field 'colour'", "unknown key");

	pack_head(&sb, &pk, ZMX_MSG_STAT, 1);
	pack_kstr(&pk, "path", "/a", 2);
	expect_bad(&sb, "field 'flags' missing", "missing field");

	pack_head(&sb, &pk, ZMX_MSG_STAT, 2);
	pack_kstr(&pk, "path", "/a", 2);
	pack_kstr(&pk, "flags", "x", 1);
	expect_bad(&sb, "field 'flags': not an unsigned integer", "wrong type");

	pack_head(&sb, &pk, ZMX_MSG_STAT, 2);
	pack_kstr(&pk, "path", "/a\0/etc/passwd", 14);
	msgpack_pack_str_with_body(&pk, "flags", 5);
	msgpack_pack_uint32(&pk, 0);
	expect_bad(&sb, "contains a NUL", "NUL inside a path");

	memset(big, 'a', sizeof(big));
	pack_head(&sb, &pk, ZMX_MSG_STAT, 2);
	pack_kstr(&pk, "path", big, sizeof(big));
	msgpack_pack_str_with_body(&pk, "flags", 5);
	msgpack_pack_uint32(&pk, 0);
	expect_bad(&sb, "more than 4096", "overlong path");

	pack_head(&sb, &pk, ZMX_MSG_STAT, 3);
	pack_kstr(&pk, "path", "/a", 2);
	pack_kstr(&pk, "path", "/b", 2);
	msgpack_pack_str_with_body(&pk, "flags", 5);
	msgpack_pack_uint32(&pk, 0);
	expect_bad(&sb, "twice", "duplicate key");

	pack_head(&sb, &pk, 9999, 0);
	expect_bad(&sb, "unknown message type 9999", "unknown type");

	pack_head(&sb, &pk, ZMX_MSG_CHOWN, 4);
	pack_kstr(&pk, "path", "/a", 2);
	msgpack_pack_str_with_body(&pk, "uid", 3);
	msgpack_pack_uint64(&pk, 1ull << 33);
	msgpack_pack_str_with_body(&pk, "gid", 3);
	msgpack_pack_uint32(&pk, 0);
	msgpack_pack_str_with_body(&pk, "flags", 5);
	msgpack_pack_uint32(&pk, 0);
	expect_bad(&sb, "out of range", "uid over 32 bits");

	pack_head(&sb, &pk, ZMX_MSG_OK, 0);
	msgpack_pack_nil(&pk);
	expect_bad(&sb, "bytes after the frame", "trailing bytes");

	ok(zmx_msg_decode(&m, "\xc1", 1, why, sizeof(why)) == -EPROTO,
	    "reserved byte 0xc1 refused (%s)", why);
	zmx_msg_close(&m);
	ok(zmx_msg_decode(&m, "\x93\x0a", 2, why, sizeof(why)) == -EPROTO,
	    "truncated frame refused (%s)", why);
	zmx_msg_close(&m);
	/* a map32 header declaring 4 billion pairs in a 20-byte frame */
	ok(zmx_msg_decode(&m, "\x93\x29\xdf\xff\xff\xff\x82\xa4path\xa0"
	    "\xa3len\x00", 18, why, sizeof(why)) == -EPROTO &&
	    strstr(why, "container") != NULL,
	    "an impossible element count is refused before allocating (%s)",
	    why);
	zmx_msg_close(&m);
	ok(zmx_msg_decode(&m, "", 0, why, sizeof(why)) == -EPROTO,
	    "empty frame refused (%s)", why);
	zmx_msg_close(&m);
}

/* Encodes then decodes in into out; 0 or the decoder's error. */
static int
round_trip(const struct zmx_msg *in, struct zmx_msg *out, struct zmx_buf *b)
{
	char why[256];
	int r;

	b->len = 0;
	if ((r = zmx_msg_encode(in, b)) < 0)
		return r;
	if ((r = zmx_msg_decode(out, b->data, b->len, why, sizeof(why))) < 0)
		printf("# %s\n", why);
	return r;
}

/* The values that mean something in PUT, the xattr rows and MKNOD:
 * special nanoseconds, the largest size, a value as large as the kernel
 * allows with NULs in it, a name list. */
static void
identity_rows(void)
{
	static char value[ZMX_XATTR_MAX];
	static const char names[] = "user.a\0trusted.b\0";
	struct zmx_buf buf = { 0 };
	struct zmx_msg in, out;
	size_t i;

	ok(((ZMX_XATTR_CREATE | ZMX_XATTR_REPLACE) & (ZMX_NOFOLLOW |
	    ZMX_EACCESS | ZMX_FOLLOW)) == 0,
	    "SETXATTR's flags are clear of the path flags");

	memset(&in, 0, sizeof(in));
	in.type = ZMX_MSG_PUT;
	in.u.put.path = "/ws/f";
	in.u.put.data = "";
	in.u.put.flags = ZMX_PUT_BEGIN | ZMX_PUT_COMMIT;
	in.u.put.size = INT64_MAX;
	in.u.put.atime_nsec = ZMX_UTIME_OMIT;
	in.u.put.mtime_sec = -1;
	in.u.put.mtime_nsec = ZMX_UTIME_NOW;
	ok(round_trip(&in, &out, &buf) == 0 &&
	    out.u.put.size == (uint64_t)INT64_MAX &&
	    out.u.put.atime_nsec == ZMX_UTIME_OMIT &&
	    out.u.put.mtime_sec == -1 &&
	    out.u.put.mtime_nsec == ZMX_UTIME_NOW && out.u.put.data_len == 0,
	    "PUT: the largest size, UTIME_OMIT, UTIME_NOW, empty data");
	zmx_msg_close(&out);

	for (i = 0; i < sizeof(value); i++)
		value[i] = (char)(i * 7);	/* NULs every 256 bytes */
	memset(&in, 0, sizeof(in));
	in.type = ZMX_MSG_XATTR;
	in.u.xattr.value = value;
	in.u.xattr.value_len = sizeof(value);
	ok(round_trip(&in, &out, &buf) == 0 &&
	    out.u.xattr.value_len == sizeof(value) &&
	    memcmp(out.u.xattr.value, value, sizeof(value)) == 0,
	    "XATTR: a 64 KiB value with NUL bytes, whole");
	zmx_msg_close(&out);
	in.u.xattr.value = names;
	in.u.xattr.value_len = sizeof(names) - 1;
	ok(round_trip(&in, &out, &buf) == 0 &&
	    out.u.xattr.value_len == sizeof(names) - 1 &&
	    memcmp(out.u.xattr.value, names, sizeof(names) - 1) == 0,
	    "XATTR: a name list, each name ending in NUL");
	zmx_msg_close(&out);

	memset(&in, 0, sizeof(in));
	in.type = ZMX_MSG_SETXATTR;
	in.u.setxattr.path = "/ws/f";
	in.u.setxattr.name = "user.empty";
	in.u.setxattr.value = "";
	in.u.setxattr.flags = ZMX_NOFOLLOW | ZMX_XATTR_CREATE;
	ok(round_trip(&in, &out, &buf) == 0 &&
	    out.u.setxattr.value_len == 0 &&
	    strcmp(out.u.setxattr.name, "user.empty") == 0 &&
	    out.u.setxattr.flags == (ZMX_NOFOLLOW | ZMX_XATTR_CREATE),
	    "SETXATTR: an empty value and its flags");
	zmx_msg_close(&out);

	memset(&in, 0, sizeof(in));
	in.type = ZMX_MSG_MKNOD;
	in.u.mknod.path = "/ws/fifo";
	in.u.mknod.mode = 010640;
	in.u.mknod.rdev = UINT64_MAX;
	ok(round_trip(&in, &out, &buf) == 0 &&
	    out.u.mknod.mode == 010640 && out.u.mknod.rdev == UINT64_MAX,
	    "MKNOD: the type bits and a 64-bit rdev");
	zmx_msg_close(&out);
	zmx_buf_free(&buf);
}

/* An ATTR reply whose attributes are n integers, 1 each. */
static void
pack_attr_n(msgpack_sbuffer *sb, unsigned n)
{
	msgpack_packer pk;
	unsigned i;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint32(&pk, ZMX_MSG_ATTR);
	msgpack_pack_uint64(&pk, 42);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "st", 2);
	msgpack_pack_array(&pk, n);
	for (i = 0; i < n; i++)
		msgpack_pack_uint32(&pk, 1);
}

/* 16 elements, from a peer before xflags, say nothing about extended
 * attributes; 18 are a later version's, the 18th ignored. */
static void
attr_lengths(void)
{
	msgpack_sbuffer sb;
	struct zmx_msg m;
	char why[256];

	pack_attr_n(&sb, 16);
	ok(zmx_msg_decode(&m, sb.data, sb.size, why, sizeof(why)) == 0 &&
	    m.u.attr.st.ctime_nsec == 1 && m.u.attr.st.xflags == 0,
	    "16 attributes decode, xflags 0 (%s)", why);
	zmx_msg_close(&m);
	msgpack_sbuffer_destroy(&sb);
	pack_attr_n(&sb, 18);
	ok(zmx_msg_decode(&m, sb.data, sb.size, why, sizeof(why)) == 0 &&
	    m.u.attr.st.xflags == ZMX_ATTR_NOXATTR,
	    "18 attributes decode, the 17th is xflags (%s)", why);
	zmx_msg_close(&m);
	msgpack_sbuffer_destroy(&sb);
	pack_attr_n(&sb, 15);
	expect_bad(&sb, "15 attributes, need 16", "15 attributes");
}

static void
errnames(void)
{
	is_str(zmx_err_name(ENOENT), "ENOENT", "ENOENT has its name");
	is_str(zmx_err_name(-EXDEV), "EXDEV", "negative errno named too");
	ok(zmx_err_from_name("ENOTEMPTY") == ENOTEMPTY, "ENOTEMPTY back");
	ok(zmx_err_from_name("EMARTIAN") == EIO, "unknown name is EIO");
	is_str(zmx_err_name(4000), "EIO", "unknown number is EIO");
}

int
main(void)
{
	round_trip_all();
	identity_rows();
	attr_lengths();
	bad_frames();
	errnames();
	return tap_done();
}
