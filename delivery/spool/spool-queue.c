#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include "spool-private.h"
#include "xalloc.h"

static unsigned spool_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h % SPOOL_HASH_SIZE;
}

static struct spool_item *spool_hash_find(struct spool *s, const char *name)
{
	struct spool_item *it;

	for (it = s->hash[spool_hash(name)]; it != NULL; it = it->hnext)
		if (strcmp(it->name, name) == 0)
			return it;
	return NULL;
}

static void spool_hash_remove(struct spool *s, struct spool_item *item)
{
	struct spool_item **pp = &s->hash[spool_hash(item->name)];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == item) {
			*pp = item->hnext;
			return;
		}
	}
}

static void spool_enqueue(struct spool *s, struct spool_item *it)
{
	it->next = NULL;
	if (s->tail != NULL)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
	pthread_cond_signal(&s->cond);
}

void spool_queue_add(struct spool *s, const char *name, int claimed)
{
	struct spool_item *it;
	unsigned h;

	pthread_mutex_lock(&s->mutex);
	if (s->stopping || spool_hash_find(s, name) != NULL) {
		pthread_mutex_unlock(&s->mutex);
		return;
	}
	it = xcalloc(1, sizeof(*it));
	it->name = xstrdup(name);
	it->claimed = claimed;
	h = spool_hash(name);
	it->hnext = s->hash[h];
	s->hash[h] = it;
	spool_enqueue(s, it);
	pthread_mutex_unlock(&s->mutex);
}

struct spool_item *spool_queue_take(struct spool *s)
{
	struct spool_item *it = NULL;

	pthread_mutex_lock(&s->mutex);
	while (!s->stopping && s->head == NULL)
		pthread_cond_wait(&s->cond, &s->mutex);
	if (!s->stopping) {
		it = s->head;
		s->head = it->next;
		if (s->head == NULL)
			s->tail = NULL;
		it->next = NULL;
	}
	pthread_mutex_unlock(&s->mutex);
	return it;
}

static void spool_item_free(struct spool_item *it)
{
	free(it->name);
	free(it);
}

void spool_queue_done(struct spool *s, struct spool_item *item)
{
	pthread_mutex_lock(&s->mutex);
	spool_hash_remove(s, item);
	pthread_mutex_unlock(&s->mutex);
	spool_item_free(item);
}

void spool_queue_retry(struct spool *s, struct spool_item *item, long long delay)
{
	pthread_mutex_lock(&s->mutex);
	item->retry_at = time(NULL) + (time_t)delay;
	item->next = s->retry;
	s->retry = item;
	pthread_mutex_unlock(&s->mutex);
}

long long spool_queue_due(struct spool *s, long long max_wait)
{
	struct spool_item **pp, *it;
	time_t now = time(NULL);
	long long wait = max_wait;

	pthread_mutex_lock(&s->mutex);
	pp = &s->retry;
	while ((it = *pp) != NULL) {
		if (it->retry_at <= now && !s->stopping) {
			*pp = it->next;
			spool_enqueue(s, it);
			continue;
		}
		if ((long long)(it->retry_at - now) < wait)
			wait = (long long)(it->retry_at - now);
		pp = &it->next;
	}
	pthread_mutex_unlock(&s->mutex);
	return wait;
}

void spool_queue_stop(struct spool *s)
{
	pthread_mutex_lock(&s->mutex);
	s->stopping = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mutex);
}

void spool_queue_clear(struct spool *s)
{
	unsigned i;

	pthread_mutex_lock(&s->mutex);
	for (i = 0; i < SPOOL_HASH_SIZE; i++) {
		while (s->hash[i] != NULL) {
			struct spool_item *it = s->hash[i];

			s->hash[i] = it->hnext;
			spool_item_free(it);
		}
	}
	s->head = s->tail = s->retry = NULL;
	pthread_mutex_unlock(&s->mutex);
}
