#include "autoconfig.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "error.h"
#include "workers.h"
#include "xalloc.h"

struct workers_job {
	struct workers_job *next;
	workers_job_cb *cb;
	void *arg;
};

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct workers_job *head, **tail;
	unsigned queued;
	int stopping;
	unsigned thread_count;
	pthread_t *threads;
};

static void *workers_main(void *arg)
{
	struct workers *pool = arg;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		struct workers_job *job;

		while (pool->head == NULL && !pool->stopping)
			pthread_cond_wait(&pool->cond, &pool->lock);
		job = pool->head;
		if (job == NULL)
			break; /* stopping and drained */
		pool->head = job->next;
		if (pool->head == NULL)
			pool->tail = &pool->head;
		pthread_mutex_unlock(&pool->lock);
		job->cb(job->arg);
		free(job);
		pthread_mutex_lock(&pool->lock);
		pool->queued--;
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

struct workers *workers_create(unsigned threads, const char **error_r)
{
	struct workers *pool = xcalloc(1, sizeof(*pool));
	unsigned i;
	int ret;

	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->tail = &pool->head;
	pool->threads = xcalloc(threads, sizeof(pthread_t));
	for (i = 0; i < threads; i++) {
		ret = pthread_create(&pool->threads[i], NULL, workers_main, pool);
		if (ret != 0) {
			error_set(error_r, "pthread_create() failed: %s", strerror(ret));
			pool->thread_count = i;
			workers_destroy(&pool);
			return NULL;
		}
	}
	pool->thread_count = threads;
	return pool;
}

void workers_destroy(struct workers **poolp)
{
	struct workers *pool = *poolp;
	unsigned i;

	if (pool == NULL)
		return;
	*poolp = NULL;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (i = 0; i < pool->thread_count; i++)
		pthread_join(pool->threads[i], NULL);
	free(pool->threads);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

int workers_submit(struct workers *pool, workers_job_cb *cb, void *arg)
{
	struct workers_job *job = xmalloc(sizeof(*job));

	job->cb = cb;
	job->arg = arg;
	job->next = NULL;
	pthread_mutex_lock(&pool->lock);
	if (pool->stopping) {
		pthread_mutex_unlock(&pool->lock);
		free(job);
		return -1;
	}
	*pool->tail = job;
	pool->tail = &job->next;
	pool->queued++;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

unsigned workers_queued(struct workers *pool)
{
	unsigned n;

	pthread_mutex_lock(&pool->lock);
	n = pool->queued;
	pthread_mutex_unlock(&pool->lock);
	return n;
}
