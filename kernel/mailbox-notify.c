#include "autoconfig.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ioloop.h"
#include "mailbox-notify.h"
#include "xalloc.h"

#define NOTIFY_BUCKETS 1024

struct mailbox_watch {
	struct mailbox_watch *next;   /* in its bucket */
	char *key;                    /* "user\0mailbox" */
	size_t key_len;
	struct ioloop *loop;
	notify_cb *cb;
	void *ctx;
	int active;                   /* guarded by notify_lock */
	atomic_uint refs;             /* the watcher, plus deliveries on the way */
};

static pthread_mutex_t notify_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mailbox_watch *notify_buckets[NOTIFY_BUCKETS];

static char *notify_key(const char *user, const char *mailbox, size_t *len_r)
{
	size_t ulen = strlen(user), mlen = strlen(mailbox);
	char *key = xmalloc(ulen + mlen + 2);

	memcpy(key, user, ulen + 1);
	memcpy(key + ulen + 1, mailbox, mlen + 1);
	*len_r = ulen + mlen + 1;
	return key;
}

static unsigned notify_hash(const char *key, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	return h % NOTIFY_BUCKETS;
}

static void notify_unref(struct mailbox_watch *w)
{
	if (atomic_fetch_sub(&w->refs, 1) == 1) {
		free(w->key);
		free(w);
	}
}

struct mailbox_watch *notify_watch(const char *user, const char *mailbox,
				   struct ioloop *loop, notify_cb *cb, void *ctx)
{
	struct mailbox_watch *w = xcalloc(1, sizeof(*w));
	unsigned b;

	w->key = notify_key(user, mailbox, &w->key_len);
	w->loop = loop;
	w->cb = cb;
	w->ctx = ctx;
	w->active = 1;
	atomic_init(&w->refs, 1);
	b = notify_hash(w->key, w->key_len);
	pthread_mutex_lock(&notify_lock);
	w->next = notify_buckets[b];
	notify_buckets[b] = w;
	pthread_mutex_unlock(&notify_lock);
	return w;
}

void notify_unwatch(struct mailbox_watch **wp)
{
	struct mailbox_watch *w = *wp, **pp;

	if (w == NULL)
		return;
	*wp = NULL;
	pthread_mutex_lock(&notify_lock);
	w->active = 0;
	for (pp = &notify_buckets[notify_hash(w->key, w->key_len)]; *pp != NULL;
	     pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&notify_lock);
	notify_unref(w);
}

static void notify_deliver(void *arg)
{
	struct mailbox_watch *w = arg;
	int active;

	pthread_mutex_lock(&notify_lock);
	active = w->active;
	pthread_mutex_unlock(&notify_lock);
	if (active)
		w->cb(w->ctx);
	notify_unref(w);
}

/* Posts w's callback to its loop (a reference held until it ran). */
static void notify_post(struct mailbox_watch *w)
{
	atomic_fetch_add(&w->refs, 1);
	if (ioloop_post(w->loop, notify_deliver, w) < 0)
		atomic_fetch_sub(&w->refs, 1);
}

void notify_changed_all(void)
{
	struct mailbox_watch *w;
	size_t b;

	pthread_mutex_lock(&notify_lock);
	for (b = 0; b < NOTIFY_BUCKETS; b++)
		for (w = notify_buckets[b]; w != NULL; w = w->next)
			notify_post(w);
	pthread_mutex_unlock(&notify_lock);
}

void notify_changed(const char *user, const char *mailbox,
		    const struct mailbox_watch *except)
{
	struct mailbox_watch *w;
	size_t len;
	char *key = notify_key(user, mailbox, &len);

	pthread_mutex_lock(&notify_lock);
	for (w = notify_buckets[notify_hash(key, len)]; w != NULL; w = w->next) {
		if (w == except || w->key_len != len || memcmp(w->key, key, len) != 0)
			continue;
		notify_post(w);
	}
	pthread_mutex_unlock(&notify_lock);
	free(key);
}
