/* sfs: an open mailbox: sync, fetch, message bytes and \Recent.  Reads run
 * in one REPEATABLE READ snapshot, so what a call reports is consistent
 * (its records, its expunges and the HIGHESTMODSEQ it returns agree).
 * Records are streamed (libpq's single-row mode) and handed to the callback
 * one at a time, so a sync of 100,000 messages holds one row in memory; a
 * plugin call made from a callback runs on a connection of its own.
 *
 * Message bytes: a body of up to SFS_MEM_MAX octets is read into memory; a
 * larger one is streamed chunk by chunk into an unlinked temporary file
 * (O_TMPFILE in $TMPDIR, else /tmp) which is then mmap()ed, so a 50 MB
 * message never sits whole in the process's heap, and its pages are the
 * kernel's to drop under memory pressure.
 *
 * Read-ahead: a fetch's callback that opens the message it is handed (SEARCH
 * BODY, FETCH BODY[]) would cost a round trip per message; instead the
 * one-chunk bodies of that record and the next ones of the batch come in
 * one statement (SFS_AHEAD_MAX, SFS_AHEAD_BYTES at most; fewer while the
 * callback skips messages), are handed out once each, and what is left is
 * freed when the fetch returns.
 *
 * SELECT (a sync from modseq 0 without the cache blob) is answered from the
 * record list sfs-cache.c kept from an earlier such sync when the mailbox
 * row, read first in one statement, is still the version it was read with;
 * otherwise the sync runs as above and keeps its list for the next one.
 * A fetch (SEARCH, FETCH) is answered from such a list too, its cache
 * blobs included when it was kept with them; a fetch with the blobs of
 * (about) the whole mailbox that the cache cannot answer scans the whole
 * mailbox in one snapshot and keeps the list with its blobs. */
#include "autoconfig.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "sfs-private.h"
#include "strbuf.h"
#include "xalloc.h"

/* What open_message hands out in vimap_message_data.priv. */
struct sfs_bytes {
	void *mem;                   /* malloc()ed, or */
	void *map;                   /* mmap()ed */
	size_t map_len;
};

/* Bodies read ahead for a fetch's callback (sfs_box_open_message). */
struct sfs_ahead {
	unsigned count;              /* items */
	unsigned used;               /* of them taken by open_message */
	struct {
		uint32_t uid;
		struct sfs_bytes *bytes; /* NULL once taken */
		size_t size;
	} items[SFS_AHEAD_MAX];
};

/* Frees what is left of the read-ahead. */
static void sfs_box_ahead_free(struct sfs_box *b)
{
	struct sfs_ahead *a = b->ahead;
	unsigned i;

	if (a == NULL)
		return;
	for (i = 0; i < a->count; i++) {
		if (a->items[i].bytes != NULL) {
			free(a->items[i].bytes->mem);
			free(a->items[i].bytes);
		}
	}
	free(a);
	b->ahead = NULL;
}

int sfs_box_open(void *user, const char *name, void **box_r,
		 struct vimap_mailbox_info *info_r, struct vimap_storage_error *err)
{
	struct sfs_user *u = user;
	struct sfs_box *box;
	struct sfs_mbox mb;

	if (sfs_mailbox_lookup(u, "mailbox_open", name, &mb, err) < 0)
		return -1;
	box = xcalloc(1, sizeof(*box));
	box->user = u;
	box->id = mb.id;
	box->uidvalidity = mb.uidvalidity;
	box->name = xstrdup(name);
	sfs_mailbox_info(&mb, info_r);
	*box_r = box;
	return 0;
}

void sfs_box_close(void *box)
{
	struct sfs_box *b = box;

	if (b == NULL)
		return;
	sfs_box_ahead_free(b);
	free(b->name);
	free(b);
}

int sfs_box_row(struct sfs_conn *c, struct sfs_box *box, const char *call, int lock,
		struct sfs_mbox *mb_r, struct vimap_storage_error *err)
{
	int found = sfs_db_mbox_get_id(c, box->id, lock, mb_r, err);

	if (found < 0)
		return -1;
	if (!found || mb_r->noselect || mb_r->uidvalidity != box->uidvalidity)
		return sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
				"%s(%s) failed: the mailbox was deleted", call, box->name);
	return 0;
}

int sfs_box_runs(const uint32_t *uids, unsigned count,
		 int (*run_cb)(void *ctx, uint32_t first, uint32_t last), void *ctx)
{
	unsigned i = 0;

	while (i < count) {
		uint32_t first = uids[i], last = uids[i];

		for (i++; i < count && uids[i] == last + 1; i++)
			last = uids[i];
		if (run_cb(ctx, first, last) < 0)
			return -1;
	}
	return 0;
}

struct sfs_select_ctx {
	int (*sel_cb)(void *ctx, uint32_t first, uint32_t last, const char *array);
	void *ctx;
	unsigned runs;
};

static int sfs_box_count_runs(void *ctx, uint32_t first, uint32_t last)
{
	(void)first;
	(void)last;
	((struct sfs_select_ctx *)ctx)->runs++;
	return 0;
}

static int sfs_box_select_run(void *ctx, uint32_t first, uint32_t last)
{
	struct sfs_select_ctx *s = ctx;

	return s->sel_cb(s->ctx, first, last, NULL);
}

int sfs_box_select(const uint32_t *uids, unsigned count,
		   int (*sel_cb)(void *ctx, uint32_t first, uint32_t last, const char *array),
		   void *ctx)
{
	struct sfs_select_ctx s = { sel_cb, ctx, 0 };
	struct strbuf arr = STRBUF_INIT;
	unsigned i;
	int ret;

	sfs_box_runs(uids, count, sfs_box_count_runs, &s);
	if (s.runs <= 4)
		return sfs_box_runs(uids, count, sfs_box_select_run, &s);
	strbuf_appendc(&arr, '{');
	for (i = 0; i < count; i++)
		strbuf_appendf(&arr, "%s%u", i > 0 ? "," : "", uids[i]);
	strbuf_appendc(&arr, '}');
	ret = sel_cb(ctx, uids[0], uids[count - 1], arr.data);
	strbuf_free(&arr);
	return ret;
}

/* Fills a record from row `row` (the column order of MSG_COLS [, cache]). */
static void sfs_box_record(const PGresult *res, int row, int with_cache,
			   struct vimap_message *m)
{
	const char *kw = sfs_get_text(res, row, 3);

	m->uid = (uint32_t)sfs_get_int(res, row, 0);
	m->flags = (uint32_t)sfs_get_int(res, row, 1);
	m->modseq = (uint64_t)sfs_get_int(res, row, 2);
	m->keywords = kw != NULL ? kw : "";
	m->internal_date = sfs_get_int(res, row, 4);
	m->tz_offset = (int32_t)sfs_get_int(res, row, 5);
	m->size = (uint64_t)sfs_get_int(res, row, 6);
	m->cache = NULL;
	m->cache_size = 0;
	if (with_cache && !PQgetisnull(res, row, 7)) {
		m->cache = PQgetvalue(res, row, 7);
		m->cache_size = (size_t)PQgetlength(res, row, 7);
	}
}

/* Runs record query `id` (parameter $2 the UID to go on from) in batches
   of SFS_BATCH rows, handing each record to cb; *delivered_r counts them.
   With `ahead` (a fetch), the batch and row in the callback are shown on
   that box for open_message's read-ahead. */
static int sfs_box_records(struct sfs_conn *c, enum sfs_stmt id, struct sfs_params *p,
			   int with_cache, vimap_message_cb *cb, void *ctx, const char *call,
			   struct sfs_box *ahead, unsigned *delivered_r,
			   struct vimap_storage_error *err)
{
	const PGresult *prev = ahead != NULL ? ahead->batch : NULL;
	int prev_row = ahead != NULL ? ahead->batch_row : 0;
	struct vimap_message m;

	for (;;) {
		PGresult *res = sfs_exec(c, id, p, with_cache, err);
		int i, n, stop = 0;

		if (res == NULL)
			return -1;
		n = PQntuples(res);
		for (i = 0; i < n && !stop; i++) {
			sfs_box_record(res, i, with_cache, &m);
			(*delivered_r)++;
			if (ahead != NULL) {
				ahead->batch = res;
				ahead->batch_row = i;
			}
			stop = cb != NULL && cb(ctx, &m) < 0;
		}
		if (ahead != NULL) {
			ahead->batch = prev;
			ahead->batch_row = prev_row;
		}
		PQclear(res);
		if (stop)
			return sfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL,
					"%s failed: stopped by the callback", call);
		if (n < SFS_BATCH || m.uid == SFS_UID_MAX)
			return 0;
		sfs_p_set_int(p, 1, (int64_t)m.uid + 1);
	}
}

static int sfs_box_expunged_since(struct sfs_conn *c, struct sfs_box *box, uint64_t since,
				  vimap_uid_cb *expunged, void *ctx,
				  struct vimap_storage_error *err)
{
	struct sfs_params p;
	PGresult *res;
	int i, n;

	sfs_p_init(&p);
	sfs_p_int(&p, box->id);
	sfs_p_int(&p, (int64_t)since);
	if ((res = sfs_exec(c, SFS_EXP_SINCE, &p, 0, err)) == NULL)
		return -1;
	n = PQntuples(res);
	for (i = 0; i < n; i++)
		expunged(ctx, (uint32_t)sfs_get_int(res, i, 0));
	PQclear(res);
	return 0;
}

/* The box's row with its recent count, on c (NULL: on a connection of its
   own, outside any transaction), checked to be the one opened. */
static int sfs_box_status(struct sfs_conn *c, struct sfs_box *box, const char *call,
			  struct sfs_mbox *mb_r, struct vimap_storage_error *err)
{
	int found = sfs_db_mbox_status(box->user->st, c, 0, NULL, box->id, mb_r, err);

	if (found < 0)
		return -1;
	if (!found || mb_r->noselect || mb_r->uidvalidity != box->uidvalidity)
		return sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
				"%s(%s) failed: the mailbox was deleted", call, box->name);
	return 0;
}

/* A sync's record callback that also keeps each record for the cache. */
struct sfs_box_fill_ctx {
	struct sfs_cache_fill *fill;
	vimap_message_cb *changed;
	void *ctx;
};

static int sfs_box_fill_cb(void *ctx, const struct vimap_message *m)
{
	struct sfs_box_fill_ctx *f = ctx;

	sfs_cache_fill_add(f->fill, m);
	return f->changed(f->ctx, m);
}

/* The changes and expunges, in the caller's snapshot; the records are
   also kept in fill (when not NULL: a sync from modseq 0) for the cache. */
static int sfs_box_sync_in(struct sfs_conn *c, struct sfs_box *box, uint64_t since,
			   unsigned want, vimap_message_cb *changed, vimap_uid_cb *expunged,
			   void *ctx, struct sfs_mbox *mb, struct sfs_cache_fill *fill,
			   struct vimap_storage_error *err)
{
	int with_cache = (want & VIMAP_WANT_CACHE) != 0;
	struct sfs_box_fill_ctx fc = { fill, changed, ctx };
	vimap_message_cb *rec_cb = fill != NULL ? sfs_box_fill_cb : changed;
	void *rec_ctx = fill != NULL ? (void *)&fc : ctx;
	unsigned delivered = 0;
	enum sfs_stmt id;
	struct sfs_params p;

	if (sfs_box_status(c, box, "mailbox_sync", mb, err) < 0)
		return -1;
	if (since < mb->highestmodseq && changed != NULL) {
		/* Since 0 (or before anything changed) is every message. */
		if (since < 2)
			id = with_cache ? SFS_MSG_SCAN_CACHE : SFS_MSG_SCAN;
		else
			id = with_cache ? SFS_MSG_SINCE_CACHE : SFS_MSG_SINCE;
		sfs_p_init(&p);
		sfs_p_int(&p, box->id);
		sfs_p_int(&p, 1);
		if (since >= 2)
			sfs_p_int(&p, (int64_t)since);
		if (sfs_box_records(c, id, &p, with_cache, rec_cb, rec_ctx, "mailbox_sync",
				    NULL, &delivered, err) < 0)
			return -1;
	}
	if (since > 0 && since < mb->highestmodseq && expunged != NULL &&
	    sfs_box_expunged_since(c, box, since, expunged, ctx, err) < 0)
		return -1;
	return 0;
}

/* A sync from modseq 0 without the cache blob (SELECT), from the record
   list cached for the mailbox row read now, in one statement: 1 served,
   0 not cached, -1 error. */
static int sfs_box_sync_cached(struct sfs_box *b, int with_cache, vimap_message_cb *changed,
			       void *ctx, struct sfs_mbox *mb, struct vimap_storage_error *err)
{
	int ret;

	if (sfs_box_status(NULL, b, "mailbox_sync", mb, err) < 0)
		return -1;
	ret = sfs_cache_serve_uids(b->user->st->cache, mb, NULL, 0, with_cache, changed, ctx,
				   NULL);
	if (ret < 0)
		return sfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL,
				"mailbox_sync failed: stopped by the callback");
	return ret;
}

int sfs_box_sync(void *box, uint64_t since_modseq, unsigned want,
		 vimap_message_cb *changed, vimap_uid_cb *expunged, void *ctx,
		 struct vimap_mailbox_info *info_r, struct vimap_storage_error *err)
{
	struct sfs_box *b = box;
	struct sfs_state *st = b->user->st;
	struct sfs_cache_fill *fill = NULL;
	struct sfs_conn *c;
	struct sfs_mbox mb;
	int ret, quick = since_modseq > 0 || (changed == NULL && expunged == NULL);

	/* Nothing changed since (the usual NOOP and IDLE wake-up): one
	   statement, no transaction. */
	if (quick && sfs_box_status(NULL, b, "mailbox_sync", &mb, err) < 0)
		return -1;
	if (quick && (since_modseq >= mb.highestmodseq ||
		      (changed == NULL && expunged == NULL))) {
		if (info_r != NULL)
			sfs_mailbox_info(&mb, info_r);
		return 0;
	}
	/* SELECT: every record, from the cache when it has this version. */
	if (!quick && (want & ~VIMAP_WANT_CACHE) == 0 && changed != NULL && st->cache != NULL &&
	    sfs_cache_has(st->cache, b->id, (want & VIMAP_WANT_CACHE) != 0)) {
		if ((ret = sfs_box_sync_cached(b, (want & VIMAP_WANT_CACHE) != 0, changed, ctx,
					       &mb, err)) < 0)
			return -1;
		if (ret > 0) {
			if (info_r != NULL)
				sfs_mailbox_info(&mb, info_r);
			return 0;
		}
	}
	if (!quick && changed != NULL && st->cache != NULL)
		fill = sfs_cache_fill_new(st->cache, (want & VIMAP_WANT_CACHE) != 0);
	if (sfs_begin(st, 1, &c, err) < 0) {
		sfs_cache_fill_free(&fill);
		return -1;
	}
	ret = sfs_box_sync_in(c, b, since_modseq, want, changed, expunged, ctx, &mb, fill,
			      err);
	if (sfs_end(st, &c, ret, err) < 0) {
		sfs_cache_fill_free(&fill);
		return -1;
	}
	if (fill != NULL)
		sfs_cache_fill_done(st->cache, &fill, &mb);
	if (info_r != NULL)
		sfs_mailbox_info(&mb, info_r);
	return 0;
}

int sfs_box_claim_recent(void *box, uint32_t *first_recent_r,
			 struct vimap_storage_error *err)
{
	struct sfs_box *b = box;
	struct sfs_params p;
	struct sfs_conn *c;
	struct sfs_mbox mb;
	int ret;

	if (sfs_begin(b->user->st, 0, &c, err) < 0)
		return -1;
	/* Only the mailbox row is locked: no other lock is waited for while
	   holding it, so this cannot deadlock with the user-first writers. */
	ret = sfs_box_row(c, b, "claim_recent", 1, &mb, err);
	if (ret == 0) {
		sfs_p_init(&p);
		sfs_p_int(&p, b->id);
		ret = sfs_run(c, SFS_MB_CLAIM_RECENT, &p, err);
	}
	if (sfs_end(b->user->st, &c, ret, err) < 0)
		return -1;
	*first_recent_r = mb.first_recent_uid;
	return 0;
}

struct sfs_fetch_ctx {
	struct sfs_conn *c;
	struct sfs_box *box;
	int with_cache;
	vimap_message_cb *cb;
	void *ctx;
	unsigned delivered;
	struct vimap_storage_error *err;
};

static int sfs_box_fetch_sel(void *ctx, uint32_t first, uint32_t last, const char *array)
{
	struct sfs_fetch_ctx *f = ctx;
	struct sfs_params p;
	enum sfs_stmt id;

	sfs_p_init(&p);
	sfs_p_int(&p, f->box->id);
	sfs_p_int(&p, first);
	if (array != NULL) {
		sfs_p_text(&p, array);
		id = f->with_cache ? SFS_MSG_LIST_CACHE : SFS_MSG_LIST;
	} else {
		sfs_p_int(&p, last);
		id = f->with_cache ? SFS_MSG_RANGE_CACHE : SFS_MSG_RANGE;
	}
	return sfs_box_records(f->c, id, &p, f->with_cache, f->cb, f->ctx, "fetch",
			       f->box, &f->delivered, f->err);
}

/* A whole-mailbox scan's record callback: keeps every record for the
   cache, hands on those asked for (uids ascending). */
struct sfs_box_scan_ctx {
	struct sfs_cache_fill *fill;
	const uint32_t *uids;
	unsigned count, next;
	vimap_message_cb *cb;
	void *ctx;
};

static int sfs_box_scan_cb(void *ctx, const struct vimap_message *m)
{
	struct sfs_box_scan_ctx *s = ctx;

	sfs_cache_fill_add(s->fill, m);
	while (s->next < s->count && s->uids[s->next] < m->uid)
		s->next++;
	if (s->next < s->count && s->uids[s->next] == m->uid)
		return s->cb(s->ctx, m);
	return 0;
}

static int sfs_box_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* A fetch with the blobs as a scan of the whole mailbox in one snapshot,
   whose list (with the blobs) the cache keeps. */
static int sfs_box_fetch_fill(struct sfs_box *b, const uint32_t *uids, unsigned count,
			      vimap_message_cb *cb, void *ctx, struct vimap_storage_error *err)
{
	struct sfs_state *st = b->user->st;
	struct sfs_box_scan_ctx s = { NULL, NULL, count, 0, cb, ctx };
	uint32_t *sorted = xmalloc(count * sizeof(*sorted));
	unsigned delivered = 0;
	struct sfs_params p;
	struct sfs_conn *c;
	struct sfs_mbox mb;
	int ret;

	memcpy(sorted, uids, count * sizeof(*sorted));
	qsort(sorted, count, sizeof(*sorted), sfs_box_uid_cmp);
	s.uids = sorted;
	if (sfs_begin(st, 1, &c, err) < 0) {
		free(sorted);
		return -1;
	}
	s.fill = sfs_cache_fill_new(st->cache, 1);
	ret = sfs_box_status(c, b, "fetch", &mb, err);
	if (ret == 0) {
		sfs_p_init(&p);
		sfs_p_int(&p, b->id);
		sfs_p_int(&p, 1);
		ret = sfs_box_records(c, SFS_MSG_SCAN_CACHE, &p, 1, sfs_box_scan_cb, &s,
				      "fetch", b, &delivered, err);
	}
	free(sorted);
	if (sfs_end(st, &c, ret, err) < 0) {
		sfs_cache_fill_free(&s.fill);
		return -1;
	}
	sfs_cache_fill_done(st->cache, &s.fill, &mb);
	return 0;
}

/* A fetch from the list cached for the mailbox row read now (1), or with
   the blobs of about the whole mailbox by a scan that keeps the list (1);
   0 when neither (nothing handed out), -1 error. */
static int sfs_box_fetch_cached(struct sfs_box *b, const uint32_t *uids, unsigned count,
				int with_cache, vimap_message_cb *cb, void *ctx,
				struct vimap_storage_error *err)
{
	struct sfs_cache *cache = b->user->st->cache;
	int have = sfs_cache_has(cache, b->id, with_cache), ret;
	struct sfs_mbox mb;

	if (!have && !(with_cache && count >= SFS_FILL_MIN))
		return 0;
	if (sfs_box_status(NULL, b, "fetch", &mb, err) < 0)
		return -1;
	if (have) {
		ret = sfs_cache_serve_uids(cache, &mb, uids, count, with_cache, cb, ctx, b);
		if (ret < 0)
			return sfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL,
					"fetch failed: stopped by the callback");
		if (ret > 0)
			return 1;
	}
	if (with_cache && count >= SFS_FILL_MIN && (uint64_t)count * 2 >= mb.messages)
		return sfs_box_fetch_fill(b, uids, count, cb, ctx, err) < 0 ? -1 : 1;
	return 0;
}

/* Without a transaction: each batch is consistent in itself, and the
   kernel asks for records it knows, which an expunge may only take away. */
int sfs_box_fetch(void *box, const uint32_t *uids, unsigned count, unsigned want,
		  vimap_message_cb *cb, void *ctx, struct vimap_storage_error *err)
{
	struct sfs_box *b = box;
	struct sfs_fetch_ctx f = { NULL, b, (want & VIMAP_WANT_CACHE) != 0, cb, ctx, 0, err };
	int tries, ret = 0;

	if (count > 0 && b->user->st->cache != NULL) {
		ret = sfs_box_fetch_cached(b, uids, count, f.with_cache, cb, ctx, err);
		sfs_box_ahead_free(b);
		if (ret != 0)
			return ret < 0 ? -1 : 0;
	}

	for (tries = 0; count > 0 && tries < 2; tries++) {
		if (sfs_pool_get(b->user->st, &f.c, err) < 0)
			return -1;
		ret = sfs_box_select(uids, count, sfs_box_fetch_sel, &f);
		if (ret == 0 || f.delivered > 0 || !f.c->reused ||
		    PQstatus(f.c->pg) == CONNECTION_OK) {
			sfs_pool_put(b->user->st, &f.c);
			break;
		}
		/* A pooled connection that died: the server restarted. */
		sfs_pool_put(b->user->st, &f.c);
		sfs_pool_flush(b->user->st);
	}
	/* What was read ahead is for this fetch only. */
	sfs_box_ahead_free(b);
	return ret;
}

/* ---- message bytes ---- */

/* A file for a large body: unlinked from the start. */
static int sfs_box_tmpfile(struct vimap_storage_error *err)
{
	const char *dir = getenv("TMPDIR") != NULL && *getenv("TMPDIR") != '\0'
		? getenv("TMPDIR") : "/tmp";
	char *path;
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	path = xasprintf("%s/vimap-sfs-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd >= 0)
		unlink(path);
	else
		sfs_fail(err, VIMAP_STORAGE_ERR_UNAVAILABLE, "mkstemp(%s) failed: %s", path,
			 strerror(errno));
	free(path);
	return fd;
}

/* Copies the rest of the chunk rows (streamed on c) after `first` (the
   first row) to dest (memory) or fd. */
static int sfs_box_read_chunks(struct sfs_conn *c, PGresult *first, char *dest, int fd,
			       uint64_t size, struct vimap_storage_error *err)
{
	PGresult *res = first;
	uint64_t got = 0;
	int more = 1, ret = 0;

	while (more > 0) {
		size_t n = (size_t)PQgetlength(res, 0, 1);
		const char *data = PQgetvalue(res, 0, 1);

		if (ret == 0 && got + n > size)
			ret = sfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL, "body longer than its "
				       "recorded %llu octets", (unsigned long long)size);
		else if (ret == 0 && dest != NULL)
			memcpy(dest + got, data, n);
		while (ret == 0 && fd >= 0 && n > 0) {
			ssize_t w = write(fd, data, n);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				ret = sfs_fail(err, VIMAP_STORAGE_ERR_UNAVAILABLE, "write(temporary "
					       "file) failed: %s", strerror(errno));
				break;
			}
			data += w;
			n -= (size_t)w;
			got += (uint64_t)w;
		}
		if (ret == 0 && fd < 0)
			got += n;
		PQclear(res);
		more = sfs_next_row(c, &res, err);
	}
	if (more < 0)
		return -1;
	if (ret == 0 && got != size)
		ret = sfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL, "body has %llu of its %llu "
			       "octets", (unsigned long long)got, (unsigned long long)size);
	return ret;
}

/* Reads the body whose first chunk row is `first` into out. */
static int sfs_box_read_body(struct sfs_conn *c, PGresult *first,
			     struct vimap_message_data *out, struct vimap_storage_error *err)
{
	uint64_t size = (uint64_t)sfs_get_int(first, 0, 0);
	struct sfs_bytes *b = xcalloc(1, sizeof(*b));
	int fd = -1, ret;

	if (size <= SFS_MEM_MAX)
		b->mem = xmalloc(size + 1);
	else if ((fd = sfs_box_tmpfile(err)) < 0) {
		PQclear(first);
		while (sfs_next_row(c, &first, NULL) > 0)
			PQclear(first);
		free(b);
		return -1;
	}
	ret = sfs_box_read_chunks(c, first, b->mem, fd, size, err);
	if (ret == 0 && fd >= 0) {
		b->map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (b->map == MAP_FAILED) {
			b->map = NULL;
			ret = sfs_fail(err, VIMAP_STORAGE_ERR_UNAVAILABLE, "mmap(%llu octets) "
				       "failed: %s", (unsigned long long)size, strerror(errno));
		}
		b->map_len = size;
	}
	if (fd >= 0)
		close(fd);
	if (ret < 0) {
		free(b->mem);
		free(b);
		return -1;
	}
	out->data = b->mem != NULL ? b->mem : b->map;
	out->size = (size_t)size;
	out->priv = b;
	return 0;
}

/* One statement, its own snapshot: the body's chunks streamed, the first
   row telling the size (and none: no such message). */
static int sfs_box_open_message_on(struct sfs_conn *c, struct sfs_box *b, uint32_t uid,
				   struct vimap_message_data *out,
				   struct vimap_storage_error *err)
{
	struct sfs_params p;
	PGresult *first;
	int got;

	sfs_p_init(&p);
	sfs_p_int(&p, b->id);
	sfs_p_int(&p, uid);
	if (sfs_stream(c, SFS_MSG_BODY, &p, 1, err) < 0)
		return -1;
	if ((got = sfs_next_row(c, &first, err)) <= 0)
		return got < 0 ? -1 : sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
					       "open_message(%s, %u) failed: no such message",
					       b->name, uid);
	return sfs_box_read_body(c, first, out, err);
}

/* Hands out uid's body from the read-ahead: 1 done, 0 not there. */
static int sfs_box_ahead_take(struct sfs_box *b, uint32_t uid, struct vimap_message_data *out)
{
	struct sfs_ahead *a = b->ahead;
	unsigned i;

	for (i = 0; a != NULL && i < a->count; i++) {
		if (a->items[i].uid != uid || a->items[i].bytes == NULL)
			continue;
		out->data = a->items[i].bytes->mem;
		out->size = a->items[i].size;
		out->priv = a->items[i].bytes;
		a->items[i].bytes = NULL;
		a->used++;
		return 1;
	}
	return 0;
}

/* The next read-ahead's size: doubled while the callback opens what was
   read ahead, halved when it skips some (a search whose other keys rule
   most messages out need not read their bodies). */
static void sfs_box_ahead_adapt(struct sfs_box *b)
{
	struct sfs_ahead *a = b->ahead;

	if (b->ahead_window == 0)
		b->ahead_window = 8;
	if (a == NULL || a->count == 0)
		return;
	if (a->used * 4 >= a->count * 3)
		b->ahead_window = b->ahead_window * 2 > SFS_AHEAD_MAX ? SFS_AHEAD_MAX
			: b->ahead_window * 2;
	else if (b->ahead_window > 1)
		b->ahead_window /= 2;
}

/* The fetch's current batch (a result or cached records): its rows, the
   UID and the size of row `row`. */
static int sfs_box_batch_rows(const struct sfs_box *b)
{
	return b->batch != NULL ? PQntuples(b->batch) : (int)b->mbatch_count;
}

static uint32_t sfs_box_batch_uid(const struct sfs_box *b, int row)
{
	return b->batch != NULL ? (uint32_t)sfs_get_int(b->batch, row, 0) : b->mbatch[row].uid;
}

static uint64_t sfs_box_batch_size(const struct sfs_box *b, int row)
{
	return b->batch != NULL ? (uint64_t)sfs_get_int(b->batch, row, 6) : b->mbatch[row].size;
}

/* The array literal of the UIDs to read ahead from the batch's current
   row on: one-chunk bodies, up to the window and SFS_AHEAD_BYTES.  NULL
   when the current one is not such a body.  Caller frees. */
static char *sfs_box_ahead_uids(struct sfs_box *b)
{
	int row, n = sfs_box_batch_rows(b);
	struct strbuf arr = STRBUF_INIT;
	uint64_t bytes = 0;
	unsigned k = 0;

	if (sfs_box_batch_size(b, b->batch_row) > SFS_CHUNK)
		return NULL;
	strbuf_appendc(&arr, '{');
	for (row = b->batch_row; row < n && k < b->ahead_window; row++) {
		uint64_t size = sfs_box_batch_size(b, row);

		if (size > SFS_CHUNK)
			continue;
		if (k > 0 && bytes + size > SFS_AHEAD_BYTES)
			break;
		strbuf_appendf(&arr, "%s%lu", k > 0 ? "," : "",
			       (unsigned long)sfs_box_batch_uid(b, row));
		bytes += size;
		k++;
	}
	strbuf_appendc(&arr, '}');
	return strbuf_steal(&arr);
}

/* Reads ahead, in one statement, the bodies of the records the fetch
   hands out next (from the current one on), replacing what was read
   ahead before. */
static int sfs_box_ahead_read(struct sfs_box *b, struct vimap_storage_error *err)
{
	struct sfs_params p;
	struct sfs_conn *c;
	struct sfs_ahead *a;
	PGresult *res;
	char *uids;
	int i, n;

	sfs_box_ahead_adapt(b);
	sfs_box_ahead_free(b);
	if ((uids = sfs_box_ahead_uids(b)) == NULL)
		return 0;
	sfs_p_init(&p);
	sfs_p_int(&p, b->id);
	sfs_p_text(&p, uids);
	i = sfs_query(b->user->st, &c, SFS_MSG_BODIES, &p, 1, &res, err);
	free(uids);
	if (i < 0)
		return -1;
	a = xcalloc(1, sizeof(*a));
	n = PQntuples(res);
	for (i = 0; i < n && a->count < SFS_AHEAD_MAX; i++) {
		size_t size = (size_t)sfs_get_int(res, i, 1);
		struct sfs_bytes *bytes;

		if ((size_t)PQgetlength(res, i, 2) != size)
			continue;       /* open_message's own read says what is wrong */
		bytes = xcalloc(1, sizeof(*bytes));
		bytes->mem = xmalloc(size + 1);
		memcpy(bytes->mem, PQgetvalue(res, i, 2), size);
		a->items[a->count].uid = (uint32_t)sfs_get_int(res, i, 0);
		a->items[a->count].bytes = bytes;
		a->items[a->count].size = size;
		a->count++;
	}
	PQclear(res);
	sfs_pool_put(b->user->st, &c);
	b->ahead = a;
	return 0;
}

/* From a fetch's callback, for the record it is handed, the bodies of that
   record and of the next ones come in one statement (at most
   SFS_AHEAD_MAX, SFS_AHEAD_BYTES); each is handed out once.  A message
   expunged meanwhile is still read: as if the expunge came just after. */
int sfs_box_open_message(void *box, uint32_t uid, struct vimap_message_data *out,
			 struct vimap_storage_error *err)
{
	struct sfs_box *b = box;
	struct sfs_conn *c;
	int tries, ret = -1;

	if (sfs_box_ahead_take(b, uid, out))
		return 0;
	if ((b->batch != NULL || b->mbatch != NULL) && sfs_box_batch_uid(b, b->batch_row) == uid) {
		if (sfs_box_ahead_read(b, err) < 0)
			return -1;
		if (sfs_box_ahead_take(b, uid, out))
			return 0;
	}

	for (tries = 0; tries < 2; tries++) {
		if (sfs_pool_get(b->user->st, &c, err) < 0)
			return -1;
		ret = sfs_box_open_message_on(c, b, uid, out, err);
		if (ret == 0 || !c->reused || PQstatus(c->pg) == CONNECTION_OK) {
			sfs_pool_put(b->user->st, &c);
			break;
		}
		sfs_pool_put(b->user->st, &c);
		sfs_pool_flush(b->user->st);
	}
	return ret;
}

void sfs_box_close_message(void *box, struct vimap_message_data *data)
{
	struct sfs_bytes *b;

	(void)box;
	if (data == NULL || data->priv == NULL)
		return;
	b = data->priv;
	if (b->map != NULL)
		munmap(b->map, b->map_len);
	free(b->mem);
	free(b);
	data->priv = NULL;
	data->data = NULL;
	data->size = 0;
}
