/* msg.c - the msgpack codec for every row of msg.def: names, kinds, an
 * encoder and a bounds-checked decoder, all generated from the table.
 * Knows nothing about sockets; wire.c moves the frames. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <msgpack.h>

#include "err.h"
#include "msg.h"

/* ---- names and kinds ---------------------------------------------------- */

static const char *const msg_names[ZMX_MSG_MAX] = {
#define MSG(N, n, id, kind, fields) [id] = #n,
#include "msg.def"
#undef MSG
};

static const signed char msg_kinds[ZMX_MSG_MAX] = {
#define MSG(N, n, id, kind, fields) [id] = 1 + ZMX_##kind,
#include "msg.def"
#undef MSG
};

const char *
zmx_msg_name(uint32_t type)
{
	return type < ZMX_MSG_MAX ? msg_names[type] : NULL;
}

int
zmx_msg_kind(uint32_t type)
{
	return type < ZMX_MSG_MAX && msg_kinds[type] ? msg_kinds[type] - 1 : -1;
}

/* Field names per message, NULL-terminated: the decoder reports missing
 * fields by name and tells which bit of "seen" a field owns. */
#define U32(f)	#f,
#define U64(f)	#f,
#define I32(f)	#f,
#define I64(f)	#f,
#define STR(f)	#f,
#define BIN(f)	#f,
#define ATTR(f)	#f,
#define ENTS(f)	#f,
#define MSG(N, n, id, kind, fields) \
	static const char *const fields_##n[] = { fields NULL };
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

/* ---- encoder ------------------------------------------------------------ */

void
zmx_buf_free(struct zmx_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int
buf_write(void *data, const char *p, size_t len)
{
	struct zmx_buf *b = data;
	size_t cap;
	char *n;

	if (len > SIZE_MAX - b->len)
		return -1;
	if (b->len + len > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + len)
			cap *= 2;
		if ((n = realloc(b->data, cap)) == NULL)
			return -1;
		b->data = n;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	return 0;
}

static void
enc_key(msgpack_packer *pk, const char *name)
{
	size_t len = strlen(name);

	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, name, len);
}

static void
enc_str(msgpack_packer *pk, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s ? s : "", len);
}

static void
enc_bin(msgpack_packer *pk, const void *p, size_t len)
{
	msgpack_pack_bin(pk, len);
	msgpack_pack_bin_body(pk, len ? p : "", len);
}

static void
enc_attr(msgpack_packer *pk, const struct zmx_attr *a)
{
	msgpack_pack_array(pk, ZMX_ATTR_FIELDS);
	msgpack_pack_uint64(pk, a->dev);
	msgpack_pack_uint64(pk, a->ino);
	msgpack_pack_uint32(pk, a->mode);
	msgpack_pack_uint32(pk, a->nlink);
	msgpack_pack_uint32(pk, a->uid);
	msgpack_pack_uint32(pk, a->gid);
	msgpack_pack_uint64(pk, a->rdev);
	msgpack_pack_int64(pk, a->size);
	msgpack_pack_int64(pk, a->blksize);
	msgpack_pack_int64(pk, a->blocks);
	msgpack_pack_int64(pk, a->atime_sec);
	msgpack_pack_int64(pk, a->atime_nsec);
	msgpack_pack_int64(pk, a->mtime_sec);
	msgpack_pack_int64(pk, a->mtime_nsec);
	msgpack_pack_int64(pk, a->ctime_sec);
	msgpack_pack_int64(pk, a->ctime_nsec);
	msgpack_pack_uint32(pk, a->xflags);
}

static void
enc_ents(msgpack_packer *pk, const struct zmx_dirent *e, size_t n)
{
	size_t i;

	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++) {
		msgpack_pack_array(pk, 2);
		enc_str(pk, e[i].name);
		enc_attr(pk, &e[i].st);
	}
}

#define U32(f)	enc_key(pk, #f); msgpack_pack_uint32(pk, b->f);
#define U64(f)	enc_key(pk, #f); msgpack_pack_uint64(pk, b->f);
#define I32(f)	enc_key(pk, #f); msgpack_pack_int32(pk, b->f);
#define I64(f)	enc_key(pk, #f); msgpack_pack_int64(pk, b->f);
#define STR(f)	enc_key(pk, #f); enc_str(pk, b->f);
#define BIN(f)	enc_key(pk, #f); enc_bin(pk, b->f, b->f##_len);
#define ATTR(f)	enc_key(pk, #f); enc_attr(pk, &b->f);
#define ENTS(f)	enc_key(pk, #f); enc_ents(pk, b->f, b->f##_count);
#define MSG(N, n, id, kind, fields)					\
static void								\
enc_msg_##n(msgpack_packer *pk, const struct zmx_msg_##n *b)		\
{									\
	(void)b;							\
	msgpack_pack_map(pk, sizeof(fields_##n) / sizeof(char *) - 1);	\
	fields								\
}
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

int
zmx_msg_encode(const struct zmx_msg *m, struct zmx_buf *b)
{
	msgpack_packer pk;
	size_t start = b->len;

	msgpack_packer_init(&pk, b, buf_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint32(&pk, m->type);
	msgpack_pack_uint64(&pk, m->id);
	switch (m->type) {
#define MSG(N, n, id, kind, fields) \
	case ZMX_MSG_##N: enc_msg_##n(&pk, &m->u.n); break;
#include "msg.def"
#undef MSG
	default:
		b->len = start;
		return -EINVAL;
	}
	/* buf_write fails only on allocation; msgpack_pack_* then stop
	 * writing but the packer does not remember, so check the cap. */
	if (b->len > b->cap || b->data == NULL) {
		b->len = start;
		return -ENOMEM;
	}
	return 0;
}

void
zmx_msg_error(struct zmx_msg *m, uint64_t id, int err, const char *detail)
{
	memset(m, 0, sizeof(*m));
	m->type = ZMX_MSG_ERROR;
	m->id = id;
	m->u.error.err = err;
	m->u.error.errname = zmx_err_name(err);
	m->u.error.detail = detail ? detail : "";
}

/* ---- decoder ------------------------------------------------------------ */

struct dec {
	msgpack_unpacked	 unp;
	char			*why;
	size_t			 whylen;
	const char		*msg;		/* the message's name */
	const char		*field;		/* the field being read */
};

static int
fail(struct dec *d, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (d->whylen == 0)
		return -EPROTO;
	if (d->msg)
		n = snprintf(d->why, d->whylen, "%s: ", d->msg);
	if (d->field && n >= 0 && (size_t)n < d->whylen)
		n += snprintf(d->why + n, d->whylen - n, "field '%s': ",
		    d->field);
	if (n >= 0 && (size_t)n < d->whylen) {
		va_start(ap, fmt);
		vsnprintf(d->why + n, d->whylen - n, fmt, ap);
		va_end(ap);
	}
	return -EPROTO;
}

static int
dec_uint(struct dec *d, const msgpack_object *o, uint64_t max, uint64_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return fail(d, "not an unsigned integer");
	if (o->via.u64 > max)
		return fail(d, "%llu out of range",
		    (unsigned long long)o->via.u64);
	*v = o->via.u64;
	return 0;
}

static int
dec_int(struct dec *d, const msgpack_object *o, int64_t min, int64_t max,
    int64_t *v)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (o->via.u64 > (uint64_t)max)
			return fail(d, "%llu out of range",
			    (unsigned long long)o->via.u64);
		*v = (int64_t)o->via.u64;
		return 0;
	}
	if (o->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return fail(d, "not an integer");
	if (o->via.i64 < min)
		return fail(d, "%lld out of range", (long long)o->via.i64);
	*v = o->via.i64;
	return 0;
}

static int
dec_u32(struct dec *d, const msgpack_object *o, uint32_t *v)
{
	uint64_t x = 0;
	int r;

	if ((r = dec_uint(d, o, UINT32_MAX, &x)) == 0)
		*v = (uint32_t)x;
	return r;
}

static int
dec_u64(struct dec *d, const msgpack_object *o, uint64_t *v)
{
	return dec_uint(d, o, UINT64_MAX, v);
}

static int
dec_i32(struct dec *d, const msgpack_object *o, int32_t *v)
{
	int64_t x = 0;
	int r;

	if ((r = dec_int(d, o, INT32_MIN, INT32_MAX, &x)) == 0)
		*v = (int32_t)x;
	return r;
}

static int
dec_i64(struct dec *d, const msgpack_object *o, int64_t *v)
{
	return dec_int(d, o, INT64_MIN, INT64_MAX, v);
}

/* Strings are copied into the unpacker's zone to add the NUL; a NUL
 * inside would silently shorten a path, so it is refused. */
static int
dec_str(struct dec *d, const msgpack_object *o, const char **v)
{
	char *s;

	if (o->type != MSGPACK_OBJECT_STR)
		return fail(d, "not a string");
	if (o->via.str.size > ZMX_MAX_PATH)
		return fail(d, "%u bytes, more than %u", o->via.str.size,
		    ZMX_MAX_PATH);
	if (memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
		return fail(d, "contains a NUL byte");
	if ((s = msgpack_zone_malloc(d->unp.zone, o->via.str.size + 1)) == NULL)
		return -ENOMEM;
	memcpy(s, o->via.str.ptr, o->via.str.size);
	s[o->via.str.size] = '\0';
	*v = s;
	return 0;
}

static int
dec_bin(struct dec *d, const msgpack_object *o, const void **v, size_t *len)
{
	if (o->type != MSGPACK_OBJECT_BIN)
		return fail(d, "not binary data");
	if (o->via.bin.size > ZMX_MAX_DATA)
		return fail(d, "%u bytes, more than %u", o->via.bin.size,
		    ZMX_MAX_DATA);
	*v = o->via.bin.ptr;
	*len = o->via.bin.size;
	return 0;
}

static int
dec_attr(struct dec *d, const msgpack_object *o, struct zmx_attr *a)
{
	const msgpack_object *v;
	uint64_t u[10], x = 0;
	int64_t s[6];
	unsigned i;
	int r;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		return fail(d, "attributes are not an array");
	/* more than 17 is allowed: later versions may append fields; 16,
	 * without xflags, says nothing about extended attributes */
	if (o->via.array.size < ZMX_ATTR_MIN)
		return fail(d, "%u attributes, need %u", o->via.array.size,
		    ZMX_ATTR_MIN);
	v = o->via.array.ptr;
	for (i = 0; i < 7; i++)
		if ((r = dec_uint(d, &v[i], i >= 2 && i < 6 ? UINT32_MAX :
		    UINT64_MAX, &u[i])) < 0)
			return r;
	for (i = 7; i < 10; i++) {
		if ((r = dec_int(d, &v[i], INT64_MIN, INT64_MAX, &s[0])) < 0)
			return r;
		u[i] = (uint64_t)s[0];
	}
	for (i = 0; i < 6; i++)
		if ((r = dec_int(d, &v[10 + i], INT64_MIN, INT64_MAX, &s[i])) < 0)
			return r;
	if (o->via.array.size > 16 &&
	    (r = dec_uint(d, &v[16], UINT32_MAX, &x)) < 0)
		return r;
	a->dev = u[0];
	a->ino = u[1];
	a->mode = (uint32_t)u[2];
	a->nlink = (uint32_t)u[3];
	a->uid = (uint32_t)u[4];
	a->gid = (uint32_t)u[5];
	a->rdev = u[6];
	a->size = (int64_t)u[7];
	a->blksize = (int64_t)u[8];
	a->blocks = (int64_t)u[9];
	a->atime_sec = s[0];
	a->atime_nsec = s[1];
	a->mtime_sec = s[2];
	a->mtime_nsec = s[3];
	a->ctime_sec = s[4];
	a->ctime_nsec = s[5];
	a->xflags = (uint32_t)x;
	return 0;
}

static int
dec_ents(struct dec *d, const msgpack_object *o,
    const struct zmx_dirent **v, size_t *count)
{
	struct zmx_dirent *e;
	const msgpack_object *p;
	uint32_t i, n;
	int r;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		return fail(d, "entries are not an array");
	if ((n = o->via.array.size) > ZMX_MAX_ENTS)
		return fail(d, "%u entries, more than %u", n, ZMX_MAX_ENTS);
	e = msgpack_zone_malloc(d->unp.zone, (n ? n : 1) * sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	memset(e, 0, (n ? n : 1) * sizeof(*e));	/* padding too */
	for (i = 0; i < n; i++) {
		p = &o->via.array.ptr[i];
		if (p->type != MSGPACK_OBJECT_ARRAY || p->via.array.size != 2)
			return fail(d, "entry %u is not [name, attributes]", i);
		if ((r = dec_str(d, &p->via.array.ptr[0], &e[i].name)) < 0)
			return r;
		if ((r = dec_attr(d, &p->via.array.ptr[1], &e[i].st)) < 0)
			return r;
	}
	*v = e;
	*count = n;
	return 0;
}

/* Which field a key names: its index in fields[], or -1. */
static int
field_index(const char *const *fields, const msgpack_object *key)
{
	int i;

	if (key->type != MSGPACK_OBJECT_STR)
		return -1;
	for (i = 0; fields[i] != NULL; i++)
		if (strlen(fields[i]) == key->via.str.size &&
		    memcmp(fields[i], key->via.str.ptr, key->via.str.size) == 0)
			return i;
	return -1;
}

/* The body loop: each field macro tests whether this key is its own. */
#define FIELD(f, call)							\
	if (idx == fi) {						\
		d->field = #f;						\
		if ((r = (call)) < 0)					\
			return r;					\
		continue;						\
	}								\
	fi++;
#define U32(f)	FIELD(f, dec_u32(d, val, &b->f))
#define U64(f)	FIELD(f, dec_u64(d, val, &b->f))
#define I32(f)	FIELD(f, dec_i32(d, val, &b->f))
#define I64(f)	FIELD(f, dec_i64(d, val, &b->f))
#define STR(f)	FIELD(f, dec_str(d, val, &b->f))
#define BIN(f)	FIELD(f, dec_bin(d, val, &b->f, &b->f##_len))
#define ATTR(f)	FIELD(f, dec_attr(d, val, &b->f))
#define ENTS(f)	FIELD(f, dec_ents(d, val, &b->f, &b->f##_count))
#define MSG(N, n, id, kind, fields)					\
static int								\
dec_msg_##n(struct dec *d, const msgpack_object_map *map,			\
    struct zmx_msg_##n *b)						\
{									\
	uint64_t seen = 0;						\
	uint32_t i;							\
	int fi, idx, r;							\
									\
	(void)b;							\
	(void)r;							\
	for (i = 0; i < map->size; i++) {				\
		const msgpack_object *val = &map->ptr[i].val;		\
									\
		(void)val;						\
		d->field = NULL;					\
		idx = field_index(fields_##n, &map->ptr[i].key);	\
		if (idx < 0)						\
			return unknown_key(d, &map->ptr[i].key);	\
		if (seen & (1ull << idx))				\
			return fail(d, "field '%s' twice",		\
			    fields_##n[idx]);				\
		seen |= 1ull << idx;					\
		fi = 0;							\
		fields							\
	}								\
	d->field = NULL;						\
	for (fi = 0; fields_##n[fi] != NULL; fi++)			\
		if (!(seen & (1ull << fi)))				\
			return fail(d, "field '%s' missing",		\
			    fields_##n[fi]);				\
	return 0;							\
}

static int
unknown_key(struct dec *d, const msgpack_object *key)
{
	if (key->type != MSGPACK_OBJECT_STR)
		return fail(d, "a key that is not a string");
	return fail(d, "unknown field '%.*s'",
	    (int)(key->via.str.size > 64 ? 64 : key->via.str.size),
	    key->via.str.ptr);
}

#include "msg.def"
#undef MSG
#undef FIELD
#undef U32
#undef U64
#undef I32
#undef I64
#undef STR
#undef BIN
#undef ATTR
#undef ENTS

/* msgpack-c allocates what a container header declares before it reads
 * the elements: a 20-byte frame could ask for 64 GiB. Walk the headers
 * first and refuse any count that the remaining bytes cannot hold (each
 * element takes at least one byte). Linear, no allocation. */
uint32_t zmx_msg_max_elements;

static int
precheck(struct dec *d, const uint8_t *p, size_t len)
{
	static const uint8_t fixed[32] = {	/* 0xc0..0xdf: bytes after */
		0, 0, 0, 0, 1, 2, 4, 1, 2, 4, 4, 8, 1, 2, 4, 8,
		1, 2, 4, 8, 2, 3, 5, 9, 17, 1, 2, 4, 2, 4, 2, 4,
	};
	size_t pos = 0, k, i;
	uint64_t need = 1, n, v, total = 1;
	uint8_t b;

	while (need > 0 && pos < len) {
		b = p[pos++];
		need--;
		n = 0;
		if (b <= 0x7f || b >= 0xe0)
			continue;
		if (b <= 0x8f) {		/* fixmap */
			n = 2u * (b & 0x0f);
			goto count;
		}
		if (b <= 0x9f) {		/* fixarray */
			n = b & 0x0f;
			goto count;
		}
		if (b <= 0xbf) {		/* fixstr */
			pos += b & 0x1f;
			continue;
		}
		if (b == 0xc1)
			return fail(d, "reserved byte 0xc1 at offset %zu",
			    pos - 1);
		k = fixed[b - 0xc0];
		if (pos + k > len)
			break;			/* truncated: unpack says so */
		for (v = 0, i = 0; i < k && k <= 8; i++)
			v = v << 8 | p[pos + i];
		switch (b) {
		case 0xc4: case 0xc5: case 0xc6:	/* bin */
		case 0xd9: case 0xda: case 0xdb:	/* str */
			pos += k + v;
			continue;
		case 0xc7: case 0xc8: case 0xc9:	/* ext: size, type */
			pos += k + 1 + v;
			continue;
		case 0xdc: case 0xdd:			/* array */
			n = v;
			pos += k;
			goto count;
		case 0xde: case 0xdf:			/* map */
			n = 2 * v;
			pos += k;
			goto count;
		default:				/* scalars */
			pos += k;
			continue;
		}
count:
		need += n;
		total += n;
		if (need > len - pos)
			return fail(d, "a container of %llu elements in %zu "
			    "bytes", (unsigned long long)n, len - pos);
		if (zmx_msg_max_elements && total > zmx_msg_max_elements)
			return fail(d, "more than %u elements",
			    zmx_msg_max_elements);
	}
	return 0;
}

int
zmx_msg_decode(struct zmx_msg *m, const void *buf, size_t len, char *why,
    size_t whylen)
{
	struct dec *d;
	const msgpack_object *o, *a;
	msgpack_unpack_return ur;
	size_t off = 0;
	uint64_t u = 0;
	int r;

	memset(m, 0, sizeof(*m));
	if (whylen)
		why[0] = '\0';
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	d->why = why;
	d->whylen = whylen;
	msgpack_unpacked_init(&d->unp);
	m->priv = d;
	if (len > ZMX_MAX_FRAME) {
		r = fail(d, "frame of %zu bytes, more than %u", len,
		    ZMX_MAX_FRAME);
		goto out;
	}
	if ((r = precheck(d, buf, len)) < 0)
		goto out;
	ur = msgpack_unpack_next(&d->unp, buf, len, &off);
	if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
		r = -ENOMEM;
		goto out;
	}
	if (ur != MSGPACK_UNPACK_SUCCESS) {
		r = fail(d, "not a msgpack frame");
		goto out;
	}
	if (off != len) {
		r = fail(d, "%zu bytes after the frame", len - off);
		goto out;
	}
	o = &d->unp.data;
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3) {
		r = fail(d, "frame is not [type, id, body]");
		goto out;
	}
	a = o->via.array.ptr;
	/* the id first: even a frame refused for its type gets its answer */
	if ((r = dec_u64(d, &a[1], &m->id)) < 0)
		goto out;
	if ((r = dec_uint(d, &a[0], UINT32_MAX, &u)) < 0)
		goto out;
	if (zmx_msg_name((uint32_t)u) == NULL) {
		r = fail(d, "unknown message type %llu",
		    (unsigned long long)u);
		goto out;
	}
	m->type = (uint32_t)u;
	d->msg = zmx_msg_name(m->type);
	if (a[2].type != MSGPACK_OBJECT_MAP) {
		r = fail(d, "body is not a map");
		goto out;
	}
	switch (m->type) {
#define MSG(N, n, id, kind, fields)					\
	case ZMX_MSG_##N:						\
		r = dec_msg_##n(d, &a[2].via.map, &m->u.n);			\
		break;
#include "msg.def"
#undef MSG
	default:
		r = fail(d, "unknown message type");
	}
out:
	return r;
}

void
zmx_msg_close(struct zmx_msg *m)
{
	struct dec *d;

	if (m == NULL || (d = m->priv) == NULL)
		return;
	msgpack_unpacked_destroy(&d->unp);
	free(d);
	m->priv = NULL;
}

void
zmx_frame_close(struct zmx_frame *f)
{
	if (f->has_fd)
		(void)syscall(SYS_close, f->fd);	/* the shim's close() is
							 * interposed */
	f->has_fd = 0;
	if (!f->open)
		return;
	zmx_msg_close(&f->msg);
	if (f->release != NULL)
		f->release(f->mem);
	f->mem = NULL;
	f->release = NULL;
	f->open = 0;
}

int
zmx_frame_take_fd(struct zmx_frame *f)
{
	if (!f->has_fd)
		return -1;
	f->has_fd = 0;
	return f->fd;
}

int
zmx_msg_result(const struct zmx_msg *rep, unsigned want)
{
	int e;

	if (rep->type == want)
		return 0;
	if (rep->type == ZMX_MSG_ERROR &&
	    (e = zmx_err_from_name(rep->u.error.errname)) > 0)
		return -e;
	return -EIO;
}

/* ---- a reply's result without allocating (a vfork child's exec) ---- */

struct peek {
	const unsigned char *p, *end;
};

static int
peek_uint(struct peek *k, size_t n, uint64_t *v)
{
	if ((size_t)(k->end - k->p) < n)
		return -1;
	for (*v = 0; n > 0; n--)
		*v = *v << 8 | *k->p++;
	return 0;
}

/* The next element's header: its kind ('i' integer, 's' str or bin,
 * 'm' map, 'a' array) and its value (a negative one as two's
 * complement), length or count. */
static int
peek_next(struct peek *k, int *kind, uint64_t *v)
{
	static const unsigned char ilen[] = { 1, 2, 4, 8 };
	unsigned c;
	size_t n;

	if (k->p >= k->end)
		return -1;
	c = *k->p++;
	*kind = 'i';
	if (c <= 0x7f || c >= 0xe0) {
		*v = c <= 0x7f ? c : (uint64_t)(int64_t)(int8_t)c;
		return 0;
	}
	if (c >= 0x80 && c <= 0x9f) {
		*kind = c <= 0x8f ? 'm' : 'a';
		*v = c & 0x0f;
		return 0;
	}
	if (c >= 0xcc && c <= 0xd3) {
		n = ilen[(c - 0xcc) & 3];
		if (peek_uint(k, n, v) < 0)
			return -1;
		if (c >= 0xd0 && n < 8 && (*v >> (8 * n - 1)))
			*v |= ~0ull << (8 * n);	/* sign-extend */
		return 0;
	}
	if (c == 0xc0 || c == 0xc2 || c == 0xc3) {	/* nil, false, true */
		*kind = 'n';
		*v = 0;
		return 0;
	}
	if (c == 0xca || c == 0xcb || (c >= 0xd4 && c <= 0xd8)) {
		/* float 32/64, fixext 1/2/4/8/16 (a type byte first) */
		n = c == 0xca ? 4 : c == 0xcb ? 8 : 1 + (1u << (c - 0xd4));
		if ((size_t)(k->end - k->p) < n)
			return -1;
		k->p += n;
		*kind = 'n';
		*v = 0;
		return 0;
	}
	if (c >= 0xc7 && c <= 0xc9) {			/* ext 8/16/32 */
		if (peek_uint(k, (size_t)1 << (c - 0xc7), v) < 0 ||
		    *v >= (uint64_t)(k->end - k->p))
			return -1;
		k->p += *v + 1;
		*kind = 'n';
		return 0;
	}
	if (c == 0xdc || c == 0xdd || c == 0xde || c == 0xdf) {
		if (peek_uint(k, c == 0xdc || c == 0xde ? 2 : 4, v) < 0)
			return -1;
		*kind = c <= 0xdd ? 'a' : 'm';
		return 0;
	}
	*kind = 's';
	if (c >= 0xa0 && c <= 0xbf)
		*v = c & 0x1f;
	else if (c == 0xd9 || c == 0xc4)
		n = 1;
	else if (c == 0xda || c == 0xc5)
		n = 2;
	else if (c == 0xdb || c == 0xc6)
		n = 4;
	else
		return -1;
	if (!(c >= 0xa0 && c <= 0xbf) && peek_uint(k, n, v) < 0)
		return -1;
	if (*v > (uint64_t)(k->end - k->p))
		return -1;
	return 0;
}

/* Skips one element whose header said kind and v, and what it holds. */
static int
peek_skip(struct peek *k, int kind, uint64_t v, int depth)
{
	uint64_t i, n, w;
	int kd;

	if (kind == 's') {
		k->p += v;
		return 0;
	}
	if (kind != 'a' && kind != 'm')
		return 0;
	if (depth > 32)
		return -1;
	n = kind == 'm' ? 2 * v : v;
	if (n > (uint64_t)(k->end - k->p))	/* each takes a byte */
		return -1;
	for (i = 0; i < n; i++)
		if (peek_next(k, &kd, &w) < 0 ||
		    peek_skip(k, kd, w, depth + 1) < 0)
			return -1;
	return 0;
}

int
zmx_msg_peek_result(const void *frame, size_t len, unsigned want,
    uint64_t *idp)
{
	struct peek k = { frame, (const unsigned char *)frame + len };
	char name[32];
	uint64_t type, id, n, v, klen, i;
	const unsigned char *key;
	int kind, err = EIO;

	if (peek_next(&k, &kind, &n) < 0 || kind != 'a' || n != 3 ||
	    peek_next(&k, &kind, &type) < 0 || kind != 'i' ||
	    peek_next(&k, &kind, &id) < 0 || kind != 'i' ||
	    peek_next(&k, &kind, &n) < 0 || kind != 'm')
		return -EIO;
	if (idp != NULL)
		*idp = id;
	if (type == want)
		return 0;
	if (type != ZMX_MSG_ERROR)
		return -EIO;
	for (i = 0; i < n; i++) {
		if (peek_next(&k, &kind, &klen) < 0 || kind != 's')
			return -EIO;
		key = k.p;
		k.p += klen;
		if (peek_next(&k, &kind, &v) < 0)
			return -EIO;
		if (kind == 's' && klen == 7 && memcmp(key, "errname", 7) == 0) {
			if (v > 0 && v < sizeof(name)) {
				memcpy(name, k.p, (size_t)v);
				name[v] = '\0';
				err = zmx_err_from_name(name);
			} else
				err = EIO;
		}
		if (peek_skip(&k, kind, v, 0) < 0)
			return -EIO;
	}
	return -(err > 0 ? err : EIO);
}
