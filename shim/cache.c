/* cache.c - a direct-mapped table of remote lstat attributes (cache.h).
 * Bounded (a colliding entry replaces the old one) and cleared in O(1)
 * by bumping a generation. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cache.h"

#define CACHE_SLOTS	8192
#define CACHE_PATH	256	/* longer paths are not cached */

struct slot {
	unsigned	gen;
	int64_t		born;		/* monotonic ms */
	struct zmx_attr	st;
	char		path[CACHE_PATH];
};

/* All under lock. A fork child inherits a cache that is still right for
 * the instant of the fork. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *slots;
static unsigned gen = 1;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t
hash(const char *a, const char *b)
{
	uint32_t h = 2166136261u;

	for (; *a; a++)
		h = (h ^ (uint8_t)*a) * 16777619u;
	if (b != NULL) {
		h = (h ^ '/') * 16777619u;
		for (; *b; b++)
			h = (h ^ (uint8_t)*b) * 16777619u;
	}
	return h;
}

int
zmx_cache_get(const char *rpath, int follow, struct zmx_attr *a)
{
	struct slot *s;
	int hit = 0;

	pthread_mutex_lock(&lock);
	if (slots != NULL) {
		s = &slots[hash(rpath, NULL) % CACHE_SLOTS];
		if (s->gen == gen && strcmp(s->path, rpath) == 0 &&
		    now_ms() - s->born < ZMX_CACHE_TTL_MS &&
		    !(follow && S_ISLNK(s->st.mode)) && s->st.mode != 0) {
			*a = s->st;
			hit = 1;
		}
	}
	pthread_mutex_unlock(&lock);
	return hit;
}

void
zmx_cache_put(const char *dir, const char *name, const struct zmx_attr *a)
{
	struct slot *s;
	int n;

	pthread_mutex_lock(&lock);
	if (slots == NULL && (slots = calloc(CACHE_SLOTS, sizeof(*slots))) ==
	    NULL)
		goto out;
	if (name != NULL && strcmp(dir, "/") == 0)
		dir = "";
	s = &slots[(name ? hash(dir[0] ? dir : "", name) :
	    hash(dir, NULL)) % CACHE_SLOTS];
	n = name ? snprintf(s->path, CACHE_PATH, "%s/%s", dir, name) :
	    snprintf(s->path, CACHE_PATH, "%s", dir);
	if (n < 0 || n >= CACHE_PATH) {
		s->gen = 0;
		goto out;
	}
	s->gen = gen;
	s->born = now_ms();
	s->st = *a;
out:
	pthread_mutex_unlock(&lock);
}

void
zmx_cache_invalidate(void)
{
	__atomic_add_fetch(&gen, 1, __ATOMIC_RELAXED);
}
