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
 * A list read by a scan with the cache blobs (a sync from 0 or a fetch of
 * the whole mailbox with VIMAP_WANT_CACHE: SEARCH on headers) keeps the
 * blobs too, and then serves fetch() of any UIDs of the mailbox, with or
 * without them, after the same one-statement check of the row.
 *
 * Bounded: the lists' bytes (blobs included) are counted, the least recently used ones go
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
	uint32_t blob_size;
	int64_t blob;                /* offset in the list's blobs; -1: none */
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
	char *blobs;                 /* the cache blobs, 8-byte aligned each */
	int with_blobs;              /* read with the blobs (else none kept) */
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
	struct strbuf blobs;
	int with_blobs;
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
	free(e->blobs);
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

int sfs_cache_has(struct sfs_cache *cache, int64_t id, int with_blobs)
{
	struct sfs_cache_entry *e;
	int found;

	pthread_mutex_lock(&cache->lock);
	e = sfs_cache_find(cache, id);
	found = e != NULL && (!with_blobs || e->with_blobs);
	pthread_mutex_unlock(&cache->lock);
	return found;
}

/* Record r of list e as a vimap_message (pointing into e). */
static void sfs_cache_message(const struct sfs_cache_entry *e, const struct sfs_cache_rec *r,
			      int with_blobs, struct vimap_message *m)
{
	m->uid = r->uid;
	m->flags = r->flags;
	m->modseq = r->modseq;
	m->keywords = e->kw + r->kw;
	m->internal_date = r->internal_date;
	m->tz_offset = r->tz_offset;
	m->size = r->size;
	m->cache = NULL;
	m->cache_size = 0;
	if (with_blobs && r->blob >= 0) {
		m->cache = e->blobs + r->blob;
		m->cache_size = r->blob_size;
	}
}

static int sfs_cache_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* uids in ascending order without repeats: uids itself when it is, else a
   sorted copy in *copy_r (caller frees). */
static const uint32_t *sfs_cache_sorted(const uint32_t *uids, unsigned *count,
					uint32_t **copy_r)
{
	unsigned i, n;

	*copy_r = NULL;
	for (i = 1; i < *count; i++) {
		if (uids[i] <= uids[i - 1])
			break;
	}
	if (i >= *count)
		return uids;
	*copy_r = xmalloc(*count * sizeof(**copy_r));
	memcpy(*copy_r, uids, *count * sizeof(**copy_r));
	qsort(*copy_r, *count, sizeof(**copy_r), sfs_cache_uid_cmp);
	for (i = 1, n = 1; i < *count; i++) {
		if ((*copy_r)[i] != (*copy_r)[n - 1])
			(*copy_r)[n++] = (*copy_r)[i];
	}
	*count = n;
	return *copy_r;
}

/* Calls cb for win[k] with win (n records) shown on ahead (when not NULL)
   meanwhile, as the fetch's current batch; what a fetch around showed
   there is put back after. */
static int sfs_cache_call(vimap_message_cb *cb, void *ctx, const struct vimap_message *win,
			  const struct vimap_message *all, unsigned n, unsigned k,
			  struct sfs_box *ahead)
{
	const PGresult *batch = NULL;
	const struct vimap_message *mbatch = NULL;
	unsigned mcount = 0;
	int row = 0, ret;

	if (ahead != NULL) {
		batch = ahead->batch;
		mbatch = ahead->mbatch;
		mcount = ahead->mbatch_count;
		row = ahead->batch_row;
		ahead->batch = NULL;
		ahead->mbatch = all;
		ahead->mbatch_count = n;
		ahead->batch_row = (int)k;
	}
	ret = cb(ctx, win);
	if (ahead != NULL) {
		ahead->batch = batch;
		ahead->mbatch = mbatch;
		ahead->mbatch_count = mcount;
		ahead->batch_row = row;
	}
	return ret;
}

/* Hands the records of e that are in uids (ascending; all when NULL) to
   cb, SFS_AHEAD_MAX at a time shown on `ahead` (when not NULL) for the
   body read-ahead: 1, or -1 when cb returned -1. */
static int sfs_cache_hand_out(const struct sfs_cache_entry *e, const uint32_t *uids,
			      unsigned count, int with_blobs, vimap_message_cb *cb, void *ctx,
			      struct sfs_box *ahead)
{
	struct vimap_message win[SFS_AHEAD_MAX];
	unsigned i = 0, j = 0, n, k;

	while (i < e->count) {
		for (n = 0; n < SFS_AHEAD_MAX && i < e->count; i++) {
			const struct sfs_cache_rec *r = &e->recs[i];

			if (uids != NULL) {
				while (j < count && uids[j] < r->uid)
					j++;
				if (j >= count) {
					i = e->count;
					break;
				}
				if (uids[j] != r->uid)
					continue;
			}
			sfs_cache_message(e, r, with_blobs, &win[n++]);
		}
		for (k = 0; k < n; k++) {
			if (sfs_cache_call(cb, ctx, &win[k], win, n, k, ahead) < 0)
				return -1;
		}
	}
	return 1;
}

int sfs_cache_serve_uids(struct sfs_cache *cache, const struct sfs_mbox *mb,
			 const uint32_t *uids, unsigned count, int with_blobs,
			 vimap_message_cb *cb, void *ctx, struct sfs_box *ahead)
{
	struct sfs_cache_entry *e = sfs_cache_get(cache, mb);
	const uint32_t *sorted = NULL;
	uint32_t *copy = NULL;
	int ret;

	if (e == NULL)
		return 0;
	if (with_blobs && !e->with_blobs) {
		pthread_mutex_lock(&cache->lock);
		sfs_cache_unref(e);
		pthread_mutex_unlock(&cache->lock);
		return 0;
	}
	if (uids != NULL)
		sorted = sfs_cache_sorted(uids, &count, &copy);
	ret = sfs_cache_hand_out(e, sorted, count, with_blobs, cb, ctx, ahead);
	free(copy);
	pthread_mutex_lock(&cache->lock);
	sfs_cache_unref(e);
	pthread_mutex_unlock(&cache->lock);
	return ret;
}

int sfs_cache_serve(struct sfs_cache *cache, const struct sfs_mbox *mb,
		    vimap_message_cb *cb, void *ctx)
{
	return sfs_cache_serve_uids(cache, mb, NULL, 0, 0, cb, ctx, NULL);
}

struct sfs_cache_fill *sfs_cache_fill_new(struct sfs_cache *cache, int with_blobs)
{
	struct sfs_cache_fill *f = xcalloc(1, sizeof(*f));

	f->with_blobs = with_blobs;
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
	strbuf_free(&f->blobs);
	free(f);
	*fp = NULL;
}

static size_t sfs_cache_fill_bytes(const struct sfs_cache_fill *f)
{
	return sizeof(struct sfs_cache_entry) + f->count * sizeof(*f->recs) + f->kw.len + 1 +
		f->blobs.len;
}

void sfs_cache_fill_add(struct sfs_cache_fill *f, const struct vimap_message *m)
{
	static const char pad[8];
	struct sfs_cache_rec *r;
	size_t blob = f->with_blobs && m->cache != NULL ? m->cache_size + 7 : 0;

	if (f->overflow)
		return;
	if (sfs_cache_fill_bytes(f) + sizeof(*r) + strlen(m->keywords) + 1 + blob >
	    f->max_bytes) {
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
	r->blob = -1;
	r->blob_size = 0;
	if (f->with_blobs && m->cache != NULL) {
		if (f->blobs.len % 8 != 0)
			strbuf_append(&f->blobs, pad, 8 - f->blobs.len % 8);
		r->blob = (int64_t)f->blobs.len;
		r->blob_size = (uint32_t)m->cache_size;
		strbuf_append(&f->blobs, m->cache, m->cache_size);
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
	e->blobs = strbuf_steal(&f->blobs);
	e->with_blobs = f->with_blobs;
	e->refs = 1;
	f->recs = NULL;
	sfs_cache_fill_free(fp);

	pthread_mutex_lock(&cache->lock);
	/* A list read later of a newer version is kept instead (a thread's
	   older read may finish last). */
	old = sfs_cache_find(cache, e->id);
	if (old != NULL && old->uidvalidity == e->uidvalidity &&
	    (old->highestmodseq > e->highestmodseq ||
	     (sfs_cache_matches(old, mb) && old->with_blobs && !e->with_blobs))) {
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
