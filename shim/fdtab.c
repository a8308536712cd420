/* fdtab.c - the fd table (fdtab.h). The array is read without a lock; it
 * is only ever replaced by a bigger copy, and old copies are never freed,
 * so a reader holding a stale pointer still reads valid memory. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fdtab.h"

#define FDTAB_MIN	1024
#define FDTAB_MAX	(1 << 20)

/* Written under lock; tab and cap read lock-free (acquire loads). A fork
 * child keeps the table: its fds are the parent's. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct zmx_file **tab;
static int cap;

struct zmx_file *
zmx_file_new(int kind, const char *lpath, const char *rpath)
{
	struct zmx_file *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->refs = 1;		/* the caller's */
	f->kind = kind;
	if ((f->lpath = strdup(lpath)) == NULL ||
	    (f->rpath = strdup(rpath)) == NULL) {
		free(f->lpath);
		free(f);
		return NULL;
	}
	return f;
}

static void
file_free(struct zmx_file *f)
{
	free(f->lpath);
	free(f->rpath);
	free(f->list);
	free(f);
}

struct zmx_file *
zmx_fdtab_get(int fd)
{
	struct zmx_file **t = __atomic_load_n(&tab, __ATOMIC_ACQUIRE);
	int c = __atomic_load_n(&cap, __ATOMIC_ACQUIRE);

	if (fd < 0 || fd >= c || t == NULL)
		return NULL;
	return __atomic_load_n(&t[fd], __ATOMIC_ACQUIRE);
}

static int
grow(int fd)
{
	struct zmx_file **n;
	int c = cap ? cap : FDTAB_MIN;

	while (c <= fd)
		c *= 2;
	if (fd >= FDTAB_MAX || (n = calloc(c, sizeof(*n))) == NULL)
		return -ENOMEM;
	if (tab != NULL)
		memcpy(n, tab, cap * sizeof(*n));
	/* the old array is leaked on purpose: lock-free readers */
	__atomic_store_n(&tab, n, __ATOMIC_RELEASE);
	__atomic_store_n(&cap, c, __ATOMIC_RELEASE);
	return 0;
}

int
zmx_fdtab_set(int fd, struct zmx_file *f)
{
	struct zmx_file *old;
	int r = 0;

	if (fd < 0)
		return -EBADF;
	pthread_mutex_lock(&lock);
	if (fd >= cap && (r = grow(fd)) < 0)
		goto out;
	old = tab[fd];
	f->refs++;
	__atomic_store_n(&tab[fd], f, __ATOMIC_RELEASE);
	if (old != NULL && --old->refs == 0)
		file_free(old);
out:
	pthread_mutex_unlock(&lock);
	return r;
}

struct zmx_file *
zmx_fdtab_take(int fd, int *last)
{
	struct zmx_file *f = NULL;

	*last = 0;
	pthread_mutex_lock(&lock);
	if (fd >= 0 && fd < cap && (f = tab[fd]) != NULL) {
		__atomic_store_n(&tab[fd], NULL, __ATOMIC_RELEASE);
		/* the table's reference passes to the caller */
		*last = f->refs == 1;
	}
	pthread_mutex_unlock(&lock);
	return f;
}

void
zmx_fdtab_unref(struct zmx_file *f)
{
	int gone;

	if (f == NULL)
		return;
	pthread_mutex_lock(&lock);
	gone = --f->refs == 0;
	pthread_mutex_unlock(&lock);
	if (gone)
		file_free(f);
}

void
zmx_fdtab_each(void (*fn)(int, struct zmx_file *, void *), void *arg)
{
	int fd;

	pthread_mutex_lock(&lock);
	for (fd = 0; fd < cap; fd++)
		if (tab[fd] != NULL)
			fn(fd, tab[fd], arg);
	pthread_mutex_unlock(&lock);
}

int
zmx_fdtab_collect(int (*match)(const struct zmx_file *, const void *),
    const void *arg, struct zmx_fdref **out)
{
	struct zmx_fdref *v = NULL, *nv;
	int fd, n = 0, cap_ = 0;

	*out = NULL;
	pthread_mutex_lock(&lock);
	for (fd = 0; fd < cap; fd++) {
		if (tab[fd] == NULL || !match(tab[fd], arg))
			continue;
		if (n == cap_) {
			cap_ = cap_ ? 2 * cap_ : 8;
			if ((nv = realloc(v, cap_ * sizeof(*v))) == NULL) {
				pthread_mutex_unlock(&lock);
				zmx_fdtab_release(v, n);
				return -ENOMEM;
			}
			v = nv;
		}
		tab[fd]->refs++;
		v[n].fd = fd;
		v[n++].f = tab[fd];
	}
	pthread_mutex_unlock(&lock);
	*out = v;
	return n;
}

void
zmx_fdtab_release(struct zmx_fdref *v, int n)
{
	while (n > 0)
		zmx_fdtab_unref(v[--n].f);
	free(v);
}

void
zmx_fdtab_fork(int phase)
{
	if (phase == 0)
		pthread_mutex_lock(&lock);
	else
		pthread_mutex_unlock(&lock);
}
