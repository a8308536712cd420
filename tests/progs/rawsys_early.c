/* rawsys_early.c - a library whose constructor starts a thread before
 * libzmx.so's constructor runs (a DT_NEEDED library is initialised
 * before the preloaded one). The thread later runs a job the program
 * hands it, whose raw syscalls must be trapped too: the shim signals
 * such threads to arm themselves. Linked into rawsys by sud.t. */
#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static void (*job)(void);
static int done;

static void *
early_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (job == NULL)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	job();
	pthread_mutex_lock(&lock);
	done = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	return NULL;
}

__attribute__((constructor)) static void
early_start(void)
{
	pthread_t t;

	pthread_create(&t, NULL, early_thread, NULL);
	pthread_detach(t);
}

/* Runs fn on the early thread and waits for it. */
void
early_run(void (*fn)(void))
{
	pthread_mutex_lock(&lock);
	job = fn;
	pthread_cond_broadcast(&cond);
	while (!done)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}
