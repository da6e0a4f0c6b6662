/* sfs: the per-process cache of mailboxes' record lists, for SELECT.
 *
 * A mailbox_sync from modseq 0 without the cache blob (what SELECT asks
 * for) hands out every record of the mailbox: uid, flags, keywords, modseq,
 * internal date and size.  The list is kept here after such a sync, keyed
 * by the mailbox id and tagged with the mailbox row it was read with (in
 * the same snapshot): uidvalidity, uidnext, highestmodseq and the message
 * count.  Every change to a mailbox's messages (append, store, expunge,
 * copy or move in or out, delete) raises its highestmodseq or changes its
 * uidvalidity, in the transaction that makes it, whichever process or
 * machine makes it; so a list whose tag equals the row read now is the
 * mailbox's list now, and the next such sync is served from memory after
 * reading the row alone (one statement instead of a transaction and a scan).
 *
 * Bounded: the lists' bytes are counted, the least recently used ones go
 * first.  Threads: a mutex guards the table; a list being handed out holds
 * a reference, so the callbacks run without the lock (they may call the
 * plugin) and an eviction meanwhile frees it after the last reader. */
#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include "sfs-private.h"
#include "strbuf.h"
#include "xalloc.h"

#define SFS_CACHE_BUCKETS 1024u

/* One record, without its keywords' text. */
struct sfs_cache_rec {
	uint32_t uid, flags;
	uint64_t modseq, size;
	int64_t internal_date;
	int32_t tz_offset;
	uint32_t kw;                 /* offset in the list's kw text; 0 is "" */
};

/* A mailbox's record list. */
struct sfs_cache_entry {
	struct sfs_cache_entry *hnext;           /* in its bucket */
	struct sfs_cache_entry *prev, *next;     /* LRU list, most recent first */
	int64_t id;
	uint32_t uidvalidity, uidnext, messages;
	uint64_t highestmodseq;
	struct sfs_cache_rec *recs;
	unsigned count;
	char *kw;                    /* NUL-separated keyword lists, kw[0] = '\0' */
	size_t bytes;                /* counted against the cache's budget */
	unsigned refs;               /* the table's (while in it) and readers' */
};

struct sfs_cache {
	pthread_mutex_t lock;
	size_t max_bytes, bytes;
	struct sfs_cache_entry *head, *tail;
	struct sfs_cache_entry *buckets[SFS_CACHE_BUCKETS];
};

/* A list being read by a sync's scan. */
struct sfs_cache_fill {
	struct sfs_cache_rec *recs;
	unsigned count, alloc;
	struct strbuf kw;
	size_t max_bytes;
	int overflow;                /* too large to keep */
};

struct sfs_cache *sfs_cache_new(size_t max_bytes)
{
	struct sfs_cache *cache = xcalloc(1, sizeof(*cache));

	pthread_mutex_init(&cache->lock, NULL);
	cache->max_bytes = max_bytes;
	return cache;
}

static void sfs_cache_entry_free(struct sfs_cache_entry *e)
{
	free(e->recs);
	free(e->kw);
	free(e);
}

/* Drops a reference; under the lock. */
static void sfs_cache_unref(struct sfs_cache_entry *e)
{
	if (--e->refs == 0)
		sfs_cache_entry_free(e);
}

static struct sfs_cache_entry **sfs_cache_bucket(struct sfs_cache *cache, int64_t id)
{
	return &cache->buckets[(uint64_t)id % SFS_CACHE_BUCKETS];
}

/* Takes e out of the table and the LRU list; under the lock. */
static void sfs_cache_detach(struct sfs_cache *cache, struct sfs_cache_entry *e)
{
	struct sfs_cache_entry **pp = sfs_cache_bucket(cache, e->id);

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		cache->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		cache->tail = e->prev;
	cache->bytes -= e->bytes;
	sfs_cache_unref(e);
}

/* Puts e first in the LRU list; under the lock. */
static void sfs_cache_push_front(struct sfs_cache *cache, struct sfs_cache_entry *e)
{
	e->prev = NULL;
	e->next = cache->head;
	if (cache->head != NULL)
		cache->head->prev = e;
	cache->head = e;
	if (cache->tail == NULL)
		cache->tail = e;
}

static struct sfs_cache_entry *sfs_cache_find(struct sfs_cache *cache, int64_t id)
{
	struct sfs_cache_entry *e = *sfs_cache_bucket(cache, id);

	while (e != NULL && e->id != id)
		e = e->hnext;
	return e;
}

void sfs_cache_free(struct sfs_cache **cachep)
{
	struct sfs_cache *cache = *cachep;

	if (cache == NULL)
		return;
	while (cache->head != NULL)
		sfs_cache_detach(cache, cache->head);
	pthread_mutex_destroy(&cache->lock);
	free(cache);
	*cachep = NULL;
}

static int sfs_cache_matches(const struct sfs_cache_entry *e, const struct sfs_mbox *mb)
{
	return e->uidvalidity == mb->uidvalidity && e->uidnext == mb->uidnext &&
		e->messages == mb->messages && e->highestmodseq == mb->highestmodseq;
}

/* The list of mailbox mb as it is now, with a reference (and made the most
   recently used), or NULL; a list of another version is dropped. */
static struct sfs_cache_entry *sfs_cache_get(struct sfs_cache *cache,
					     const struct sfs_mbox *mb)
{
	struct sfs_cache_entry *e;

	pthread_mutex_lock(&cache->lock);
	e = sfs_cache_find(cache, mb->id);
	if (e != NULL && !sfs_cache_matches(e, mb)) {
		sfs_cache_detach(cache, e);
		e = NULL;
	}
	if (e != NULL) {
		e->refs++;
		if (cache->head != e) {
			e->prev->next = e->next;
			if (e->next != NULL)
				e->next->prev = e->prev;
			else
				cache->tail = e->prev;
			sfs_cache_push_front(cache, e);
		}
	}
	pthread_mutex_unlock(&cache->lock);
	return e;
}

int sfs_cache_serve(struct sfs_cache *cache, const struct sfs_mbox *mb,
		    vimap_message_cb *cb, void *ctx)
{
	struct sfs_cache_entry *e = sfs_cache_get(cache, mb);
	struct vimap_message m;
	unsigned i;
	int ret = 1;

	if (e == NULL)
		return 0;
	memset(&m, 0, sizeof(m));
	for (i = 0; i < e->count && ret > 0; i++) {
		const struct sfs_cache_rec *r = &e->recs[i];

		m.uid = r->uid;
		m.flags = r->flags;
		m.modseq = r->modseq;
		m.keywords = e->kw + r->kw;
		m.internal_date = r->internal_date;
		m.tz_offset = r->tz_offset;
		m.size = r->size;
		if (cb(ctx, &m) < 0)
			ret = -1;
	}
	pthread_mutex_lock(&cache->lock);
	sfs_cache_unref(e);
	pthread_mutex_unlock(&cache->lock);
	return ret;
}

struct sfs_cache_fill *sfs_cache_fill_new(struct sfs_cache *cache)
{
	struct sfs_cache_fill *f = xcalloc(1, sizeof(*f));

	f->max_bytes = cache->max_bytes;
	strbuf_appendc(&f->kw, '\0');
	return f;
}

void sfs_cache_fill_free(struct sfs_cache_fill **fp)
{
	struct sfs_cache_fill *f = *fp;

	if (f == NULL)
		return;
	free(f->recs);
	strbuf_free(&f->kw);
	free(f);
	*fp = NULL;
}

static size_t sfs_cache_fill_bytes(const struct sfs_cache_fill *f)
{
	return sizeof(struct sfs_cache_entry) + f->count * sizeof(*f->recs) + f->kw.len + 1;
}

void sfs_cache_fill_add(struct sfs_cache_fill *f, const struct vimap_message *m)
{
	struct sfs_cache_rec *r;

	if (f->overflow)
		return;
	if (sfs_cache_fill_bytes(f) + sizeof(*r) + strlen(m->keywords) + 1 > f->max_bytes) {
		f->overflow = 1;
		return;
	}
	if (f->count == f->alloc) {
		f->alloc = f->alloc == 0 ? 64 : f->alloc * 2;
		f->recs = xrealloc(f->recs, f->alloc * sizeof(*f->recs));
	}
	r = &f->recs[f->count++];
	r->uid = m->uid;
	r->flags = m->flags;
	r->modseq = m->modseq;
	r->size = m->size;
	r->internal_date = m->internal_date;
	r->tz_offset = m->tz_offset;
	r->kw = 0;
	if (m->keywords[0] != '\0') {
		r->kw = (uint32_t)f->kw.len;
		strbuf_append(&f->kw, m->keywords, strlen(m->keywords) + 1);
	}
}

/* Makes room for `bytes` by dropping the least recently used lists; under
   the lock. */
static void sfs_cache_evict(struct sfs_cache *cache, size_t bytes)
{
	while (cache->tail != NULL && cache->bytes + bytes > cache->max_bytes)
		sfs_cache_detach(cache, cache->tail);
}

void sfs_cache_fill_done(struct sfs_cache *cache, struct sfs_cache_fill **fp,
			 const struct sfs_mbox *mb)
{
	struct sfs_cache_fill *f = *fp;
	struct sfs_cache_entry *e, *old;

	/* A list that is not the whole mailbox is no use (nor kept). */
	if (f->overflow || f->count != mb->messages) {
		sfs_cache_fill_free(fp);
		return;
	}
	e = xcalloc(1, sizeof(*e));
	e->id = mb->id;
	e->uidvalidity = mb->uidvalidity;
	e->uidnext = mb->uidnext;
	e->messages = mb->messages;
	e->highestmodseq = mb->highestmodseq;
	e->recs = f->recs;
	e->count = f->count;
	e->bytes = sfs_cache_fill_bytes(f);
	e->kw = strbuf_steal(&f->kw);
	e->refs = 1;
	f->recs = NULL;
	sfs_cache_fill_free(fp);

	pthread_mutex_lock(&cache->lock);
	/* A list read later of a newer version is kept instead (a thread's
	   older read may finish last). */
	old = sfs_cache_find(cache, e->id);
	if (old != NULL && old->uidvalidity == e->uidvalidity &&
	    old->highestmodseq > e->highestmodseq) {
		pthread_mutex_unlock(&cache->lock);
		sfs_cache_unref(e);
		return;
	}
	if (old != NULL)
		sfs_cache_detach(cache, old);
	sfs_cache_evict(cache, e->bytes);
	e->hnext = *sfs_cache_bucket(cache, e->id);
	*sfs_cache_bucket(cache, e->id) = e;
	sfs_cache_push_front(cache, e);
	cache->bytes += e->bytes;
	pthread_mutex_unlock(&cache->lock);
}
