/* fs_dir.c - remote directories: opendir and friends hand out DIR handles
 * from a pool of our own (glibc's DIR is opaque and its readdir uses an
 * internal getdents we cannot see), and getdents64 is served from the
 * same listing. One READDIR brings names and attributes; the session
 * keeps the attributes, so the stat that follows costs no round trip. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "fs.h"
#include "memfd.h"
#include "real.h"
#include "shim.h"

#define DIR_POOL	1024

struct zdir {
	int		 used;
	int		 fd;		/* a remote DIR fd in fdtab */
	size_t		 pos;
	struct dirent	 ent;
};

/* Slots are claimed and released under lock; a slot is used by one
 * thread at a time (POSIX: a DIR is not shared without the caller's own
 * locking). Address range tells our handles from glibc's, lock-free. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zdir pool[DIR_POOL];

int
zmx_fs_is_dir_handle(const DIR *d)
{
	const char *p = (const char *)d;

	return p >= (const char *)pool && p < (const char *)(pool + DIR_POOL);
}

static unsigned char
dtype(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:	return DT_REG;
	case S_IFDIR:	return DT_DIR;
	case S_IFLNK:	return DT_LNK;
	case S_IFCHR:	return DT_CHR;
	case S_IFBLK:	return DT_BLK;
	case S_IFIFO:	return DT_FIFO;
	case S_IFSOCK:	return DT_SOCK;
	default:	return DT_UNKNOWN;
	}
}

/* Builds f->list from an ENTRIES reply, with "." and ".." first as the
 * kernel gives them. */
static int
make_list(struct zmx_file *f, const struct zmx_msg_entries *e)
{
	struct zmx_dirlist *l;
	size_t i, n = e->ents_count + 2, names = 5, head;
	char *s;

	for (i = 0; i < e->ents_count; i++)
		names += strlen(e->ents[i].name) + 1;
	head = offsetof(struct zmx_dirlist, e) + n * sizeof(l->e[0]);
	if ((l = malloc(head + names)) == NULL)
		return -ENOMEM;
	s = (char *)l + head;
	l->n = n;
	l->e[0].name = strcpy(s, ".");
	l->e[0].ino = e->st.ino;
	l->e[0].type = DT_DIR;
	s += 2;
	l->e[1].name = strcpy(s, "..");
	l->e[1].ino = 0;
	l->e[1].type = DT_DIR;
	s += 3;
	for (i = 0; i < e->ents_count; i++) {
		l->e[i + 2].name = strcpy(s, e->ents[i].name);
		l->e[i + 2].ino = e->ents[i].st.ino;
		l->e[i + 2].type = dtype(e->ents[i].st.mode);
		s += strlen(s) + 1;
	}
	free(f->list);
	f->list = l;
	f->st = e->st;
	return 0;
}

int
zmx_fs_list(struct zmx_file *f)
{
	struct zmx_msg req = { 0 };
	struct zmx_frame rep = { 0 };
	int r;

	req.type = ZMX_MSG_READDIR;
	req.u.readdir.path = f->rpath;
	if ((r = zmx_conn_call(&req, &rep, ZMX_MSG_ENTRIES)) == 0)
		r = make_list(f, &rep.msg.u.entries);
	zmx_frame_close(&rep);
	return r;
}

static DIR *
dir_new(int fd, int *err)
{
	int i;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < DIR_POOL && pool[i].used; i++)
		;
	if (i < DIR_POOL) {
		pool[i].used = 1;
		pool[i].fd = fd;
		pool[i].pos = 0;
	}
	pthread_mutex_unlock(&pool_lock);
	if (i == DIR_POOL) {
		*err = EMFILE;
		return NULL;
	}
	return (DIR *)&pool[i];
}

DIR *
zmx_fs_opendir(const char *path, int *err)
{
	struct zmx_file *f = NULL;
	struct zmx_where w;
	DIR *d;
	int fd = -1, r;

	*err = 0;
	if ((r = zmx_where(AT_FDCWD, path, 0, &w)) != ZMX_REMOTE) {
		if (r < 0)
			*err = -r;
		else if (r == ZMX_LOCAL_ABS)
			return real_opendir(w.lpath) ?: (*err = errno, NULL);
		return NULL;
	}
	/* one round trip: the listing says whether it is a directory */
	if ((f = zmx_file_new(ZMX_FILE_DIR, w.lpath, w.rpath)) == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = zmx_fs_list(f)) < 0)
		goto fail;
	if ((fd = zmx_memfd_dir(w.lpath, O_CLOEXEC)) < 0) {
		r = fd;
		goto fail;
	}
	if ((r = zmx_memfd_map(fd, f)) < 0)
		goto fail;
	zmx_fdtab_unref(f);	/* the table holds it now */
	f = NULL;
	if ((d = dir_new(fd, err)) == NULL) {
		(void)zmx_fs_close(fd);
		return NULL;
	}
	return d;
fail:
	if (fd >= 0)
		real_close(fd);
	zmx_fdtab_unref(f);
	*err = -r;
	return NULL;
}

DIR *
zmx_fs_fdopendir(int fd, int *err)
{
	struct zmx_file *f = zmx_fdtab_get(fd);

	*err = 0;
	if (f == NULL)
		return NULL;
	if (f->kind != ZMX_FILE_DIR) {
		*err = ENOTDIR;
		return NULL;
	}
	return dir_new(fd, err);
}

struct dirent *
zmx_fs_readdir(DIR *dp, int *err)
{
	struct zdir *d = (struct zdir *)dp;
	struct zmx_file *f = zmx_fdtab_get(d->fd);
	size_t n;
	int r;

	*err = 0;
	if (f == NULL) {
		*err = EBADF;
		return NULL;
	}
	if (f->list == NULL && (r = zmx_fs_list(f)) < 0) {
		*err = -r;
		return NULL;
	}
	if (d->pos >= f->list->n)
		return NULL;
	n = strlen(f->list->e[d->pos].name);
	if (n >= sizeof(d->ent.d_name))
		n = sizeof(d->ent.d_name) - 1;
	memcpy(d->ent.d_name, f->list->e[d->pos].name, n);
	d->ent.d_name[n] = '\0';
	d->ent.d_ino = f->list->e[d->pos].ino ? f->list->e[d->pos].ino : 1;
	d->ent.d_type = f->list->e[d->pos].type;
	d->ent.d_reclen = sizeof(d->ent);
	d->pos++;
	d->ent.d_off = (off_t)d->pos;
	return &d->ent;
}

int
zmx_fs_closedir(DIR *dp)
{
	struct zdir *d = (struct zdir *)dp;
	int fd = d->fd;

	pthread_mutex_lock(&pool_lock);
	d->used = 0;
	pthread_mutex_unlock(&pool_lock);
	return zmx_fs_close(fd);
}

void
zmx_fs_rewinddir(DIR *dp)
{
	struct zdir *d = (struct zdir *)dp;
	struct zmx_file *f = zmx_fdtab_get(d->fd);

	d->pos = 0;
	if (f != NULL) {
		free(f->list);		/* read the directory anew */
		f->list = NULL;
	}
}

long
zmx_fs_telldir(DIR *dp)
{
	return (long)((struct zdir *)dp)->pos;
}

void
zmx_fs_seekdir(DIR *dp, long pos)
{
	if (pos >= 0)
		((struct zdir *)dp)->pos = (size_t)pos;
}

int
zmx_fs_dirfd(DIR *dp)
{
	return ((struct zdir *)dp)->fd;
}

struct linux_dirent64 {
	uint64_t	d_ino;
	int64_t		d_off;
	unsigned short	d_reclen;
	unsigned char	d_type;
	char		d_name[];
};

ssize_t
zmx_fs_getdents64(int fd, void *buf, size_t len)
{
	struct zmx_file *f = zmx_fdtab_get(fd);
	struct linux_dirent64 *d;
	size_t off = 0, n, rec;
	int r;

	if (f == NULL)
		return -EBADF;	/* callers check zmx_fdtab_get() first */
	if (f->kind != ZMX_FILE_DIR)
		return -ENOTDIR;
	if (f->list == NULL && (r = zmx_fs_list(f)) < 0)
		return r;
	while (f->pos < f->list->n) {
		n = strlen(f->list->e[f->pos].name);
		rec = (offsetof(struct linux_dirent64, d_name) + n + 1 + 7) &
		    ~(size_t)7;
		if (off + rec > len)
			break;
		d = (struct linux_dirent64 *)((char *)buf + off);
		d->d_ino = f->list->e[f->pos].ino ? f->list->e[f->pos].ino : 1;
		d->d_off = (int64_t)f->pos + 1;
		d->d_reclen = (unsigned short)rec;
		d->d_type = f->list->e[f->pos].type;
		memcpy(d->d_name, f->list->e[f->pos].name, n + 1);
		off += rec;
		f->pos++;
	}
	if (off == 0 && f->pos < f->list->n)
		return -EINVAL;		/* buffer too small for one entry */
	return (ssize_t)off;
}

void
zmx_dir_fork(int phase)
{
	if (phase == 0)
		pthread_mutex_lock(&pool_lock);
	else
		pthread_mutex_unlock(&pool_lock);
}
