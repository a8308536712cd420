/* cache.c - a set-associative table of remote lstat attributes
 * (cache.h): a path hashes to a set of CACHE_WAYS slots, so a directory
 * listing of thousands of names keeps them all (a direct-mapped table
 * lost one in eight to collisions). Bounded: a full set gives up its
 * oldest slot. Cleared in O(1) by bumping a generation. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cache.h"

#define CACHE_SETS	2048
#define CACHE_WAYS	4
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
static struct slot *slots;	/* CACHE_SETS * CACHE_WAYS */
static unsigned gen = 1;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t
hash(const char *p)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h;
}

static int
valid(const struct slot *s, int64_t now)
{
	return s->gen == gen && now - s->born < ZMX_CACHE_TTL_MS;
}

int
zmx_cache_get(const char *rpath, int follow, struct zmx_attr *a)
{
	struct slot *s;
	int64_t now;
	int hit = 0, i;

	pthread_mutex_lock(&lock);
	if (slots == NULL)
		goto out;
	now = now_ms();
	s = &slots[(hash(rpath) % CACHE_SETS) * CACHE_WAYS];
	for (i = 0; i < CACHE_WAYS; i++, s++) {
		if (!valid(s, now) || strcmp(s->path, rpath) != 0)
			continue;
		if (!(follow && S_ISLNK(s->st.mode)) && s->st.mode != 0) {
			*a = s->st;
			hit = 1;
		}
		break;
	}
out:
	pthread_mutex_unlock(&lock);
	return hit;
}

void
zmx_cache_put(const char *dir, const char *name, const struct zmx_attr *a)
{
	struct slot *set, *s, *victim;
	char path[CACHE_PATH];
	int64_t now;
	int i, n;

	if (name != NULL && strcmp(dir, "/") == 0)
		dir = "";
	n = name ? snprintf(path, sizeof(path), "%s/%s", dir, name) :
	    snprintf(path, sizeof(path), "%s", dir);
	if (n < 0 || n >= CACHE_PATH)
		return;
	pthread_mutex_lock(&lock);
	if (slots == NULL && (slots = calloc(CACHE_SETS * CACHE_WAYS,
	    sizeof(*slots))) == NULL)
		goto out;
	now = now_ms();
	set = &slots[(hash(path) % CACHE_SETS) * CACHE_WAYS];
	victim = set;
	for (i = 0, s = set; i < CACHE_WAYS; i++, s++) {
		if (valid(s, now) && strcmp(s->path, path) == 0) {
			victim = s;		/* the same path: update */
			break;
		}
		if (!valid(s, now))
			victim = s;		/* a free slot */
		else if (valid(victim, now) && s->born < victim->born)
			victim = s;		/* the oldest so far */
	}
	memcpy(victim->path, path, n + 1);
	victim->gen = gen;
	victim->born = now;
	victim->st = *a;
out:
	pthread_mutex_unlock(&lock);
}

void
zmx_cache_invalidate(void)
{
	__atomic_add_fetch(&gen, 1, __ATOMIC_RELAXED);
}

void
zmx_cache_fork(int phase)
{
	if (phase == 0)
		pthread_mutex_lock(&lock);
	else
		pthread_mutex_unlock(&lock);
}
