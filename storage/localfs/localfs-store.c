/* localfs: STORE and EXPUNGE on an open mailbox.
 *
 * Both run one write transaction and take ONE new modseq for the whole
 * call (RFC 7162 3.1: every STORE command gets its own, larger modseq;
 * messages changed by one command may share it).  The UIDs arrive
 * ascending and are split into runs of consecutive UIDs; each run is one
 * UPDATE or DELETE over a UID range (rows missing from the range are simply
 * not there), so a STORE over a whole mailbox is a single statement.
 * Callbacks run after the commit, with the connection checked in, so
 * nothing is reported that is not durable; a callback's -1 then only
 * stops the reporting. */
#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include "localfs-private.h"
#include "xalloc.h"

/* A record kept until after the commit. */
struct localfs_change {
	struct vimap_message msg;
	char *keywords;          /* owned; NULL when "" */
};

struct localfs_store_ctx {
	struct localfs_db *db;
	int64_t mailbox_id;
	enum localfs_stmt id;
	int64_t keep, set;       /* flags = (flags & keep) | set */
	int mode;
	const char *keywords;
	int count_seen;          /* the store can change \Seen */
	uint64_t modseq;
	int64_t unseen_delta;
	struct localfs_change *changes;
	unsigned count, alloc;
	struct vimap_storage_error *err;
};

static int localfs_store_unseen(struct localfs_store_ctx *s, uint32_t first, uint32_t last,
				int64_t *count_r)
{
	sqlite3_stmt *stmt = localfs_db_stmt(s->db, LOCALFS_MSG_UNSEEN_RANGE, s->err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, s->mailbox_id);
	sqlite3_bind_int64(stmt, 2, first);
	sqlite3_bind_int64(stmt, 3, last);
	rc = sqlite3_step(stmt);
	*count_r = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return localfs_db_fail(s->db, rc, "sqlite3_step", "count unseen", s->err);
	return 0;
}

static void localfs_store_keep(struct localfs_store_ctx *s, sqlite3_stmt *stmt)
{
	struct localfs_change *c;
	const char *kw;

	if (s->count == s->alloc) {
		s->alloc = s->alloc == 0 ? 64 : s->alloc * 2;
		s->changes = xrealloc(s->changes, s->alloc * sizeof(*s->changes));
	}
	c = &s->changes[s->count++];
	c->msg.uid = (uint32_t)sqlite3_column_int64(stmt, 0);
	c->msg.flags = (uint32_t)sqlite3_column_int(stmt, 1);
	c->msg.modseq = (uint64_t)sqlite3_column_int64(stmt, 2);
	kw = (const char *)sqlite3_column_text(stmt, 3);
	c->keywords = kw != NULL && *kw != '\0' ? xstrdup(kw) : NULL;
	c->msg.internal_date = sqlite3_column_int64(stmt, 4);
	c->msg.tz_offset = sqlite3_column_int(stmt, 5);
	c->msg.size = (uint64_t)sqlite3_column_int64(stmt, 6);
	c->msg.cache = NULL;
	c->msg.cache_size = 0;
}

/* One UPDATE over [first, last]. */
static int localfs_store_run(void *ctx, uint32_t first, uint32_t last)
{
	struct localfs_store_ctx *s = ctx;
	int64_t before = 0, after = 0;
	sqlite3_stmt *stmt;
	int rc;

	if (s->count_seen && localfs_store_unseen(s, first, last, &before) < 0)
		return -1;
	if ((stmt = localfs_db_stmt(s->db, s->id, s->err)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, s->mailbox_id);
	sqlite3_bind_int64(stmt, 2, s->keep);
	sqlite3_bind_int64(stmt, 3, s->set);
	sqlite3_bind_int64(stmt, 4, (int64_t)s->modseq);
	sqlite3_bind_int64(stmt, 5, first);
	sqlite3_bind_int64(stmt, 6, last);
	if (s->id == LOCALFS_MSG_STORE_KW) {
		sqlite3_bind_int(stmt, 7, s->mode);
		sqlite3_bind_text(stmt, 8, s->keywords, -1, SQLITE_STATIC);
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		localfs_store_keep(s, stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return localfs_db_fail(s->db, rc, "sqlite3_step", localfs_db_stmt_name(s->id),
				       s->err);
	if (s->count_seen && localfs_store_unseen(s, first, last, &after) < 0)
		return -1;
	s->unseen_delta += after - before;
	return 0;
}

static int localfs_change_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct localfs_change *)a)->msg.uid;
	uint32_t y = ((const struct localfs_change *)b)->msg.uid;

	return x < y ? -1 : x > y;
}

/* The body of store, inside its transaction. */
static int localfs_store_in(struct localfs_box *b, struct localfs_store_ctx *s,
			    const uint32_t *uids, unsigned count)
{
	struct localfs_mbox mb;

	if (localfs_box_row(s->db, b, "store", &mb, s->err) < 0)
		return -1;
	s->mailbox_id = mb.id;
	s->modseq = mb.highestmodseq + 1;
	if (localfs_box_runs(uids, count, localfs_store_run, s) < 0)
		return -1;
	if (s->count == 0)
		return 0;
	mb.highestmodseq = s->modseq;
	return localfs_db_mbox_counts(s->db, &mb, 0, s->unseen_delta, 0, s->err);
}

/* Reports the changes in UID order; -1 when the callback stopped. */
static int localfs_store_report(struct localfs_store_ctx *s, vimap_message_cb *changed,
				void *ctx)
{
	unsigned i;
	int ret = 0;

	if (s->count > 1)
		qsort(s->changes, s->count, sizeof(*s->changes), localfs_change_cmp);
	for (i = 0; i < s->count; i++) {
		s->changes[i].msg.keywords = s->changes[i].keywords != NULL
			? s->changes[i].keywords : "";
		if (ret == 0 && changed != NULL && changed(ctx, &s->changes[i].msg) < 0)
			ret = localfs_fail(s->err, VIMAP_STORAGE_ERR_INTERNAL,
					   "store failed: stopped by the callback");
		free(s->changes[i].keywords);
	}
	return ret;
}

int localfs_store(void *box, const uint32_t *uids, unsigned count,
		  enum vimap_store_mode mode, uint32_t flags,
		  const char *keywords, vimap_message_cb *changed, void *ctx,
		  struct vimap_storage_error *err)
{
	struct localfs_box *b = box;
	struct localfs_store_ctx s;
	struct localfs_conn *c;
	int ret;

	memset(&s, 0, sizeof(s));
	s.err = err;
	s.mode = mode;
	s.keywords = keywords != NULL ? keywords : "";
	flags &= VIMAP_FLAG_ALL;
	s.keep = mode == VIMAP_STORE_REPLACE ? 0 : mode == VIMAP_STORE_ADD
		? (int64_t)VIMAP_FLAG_ALL : (int64_t)(VIMAP_FLAG_ALL & ~flags);
	s.set = mode == VIMAP_STORE_REMOVE ? 0 : flags;
	s.count_seen = mode == VIMAP_STORE_REPLACE || (flags & VIMAP_FLAG_SEEN) != 0;
	s.id = mode == VIMAP_STORE_REPLACE || *s.keywords != '\0'
		? LOCALFS_MSG_STORE_KW : LOCALFS_MSG_STORE_FLAGS;
	if (localfs_pool_get(b->user, &c, err) < 0)
		return -1;
	s.db = &c->db;
	if (localfs_db_begin_write(s.db, err) < 0) {
		ret = -1;
	} else if (localfs_store_in(b, &s, uids, count) < 0) {
		localfs_db_rollback_write(s.db);
		ret = -1;
	} else {
		ret = localfs_db_commit_write(s.db, err);
	}
	localfs_pool_put(&c);
	if (ret == 0)
		ret = localfs_store_report(&s, changed, ctx);
	else
		localfs_store_report(&s, NULL, NULL);
	free(s.changes);
	return ret;
}

/* ---- EXPUNGE ---- */

struct localfs_expunge_ctx {
	struct localfs_db *db;
	int64_t mailbox_id;
	uint32_t *uids;
	unsigned count, alloc;
	int64_t bytes, blocks, unseen;
	struct vimap_storage_error *err;
};

/* One DELETE over [first, last]: the \Deleted rows go. */
static int localfs_expunge_run(void *ctx, uint32_t first, uint32_t last)
{
	struct localfs_expunge_ctx *x = ctx;
	sqlite3_stmt *stmt = localfs_db_stmt(x->db, LOCALFS_MSG_EXPUNGE_RANGE, x->err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, x->mailbox_id);
	sqlite3_bind_int64(stmt, 2, first);
	sqlite3_bind_int64(stmt, 3, last);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint64_t size = (uint64_t)sqlite3_column_int64(stmt, 1);

		if (x->count == x->alloc) {
			x->alloc = x->alloc == 0 ? 64 : x->alloc * 2;
			x->uids = xrealloc(x->uids, x->alloc * sizeof(*x->uids));
		}
		x->uids[x->count++] = (uint32_t)sqlite3_column_int64(stmt, 0);
		x->bytes += (int64_t)size;
		x->blocks += (int64_t)localfs_blocks(size);
		x->unseen += (sqlite3_column_int(stmt, 2) & VIMAP_FLAG_SEEN) == 0;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return localfs_db_fail(x->db, rc, "sqlite3_step", "delete messages", x->err);
	return 0;
}

static int localfs_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Records each expunged UID with `modseq` for mailbox_sync. */
static int localfs_expunge_record(struct localfs_db *db, int64_t mailbox_id,
				  const uint32_t *uids, unsigned count, uint64_t modseq,
				  struct vimap_storage_error *err)
{
	unsigned i;

	for (i = 0; i < count; i++) {
		sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_EXP_INSERT, err);

		if (stmt == NULL)
			return -1;
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		sqlite3_bind_int64(stmt, 2, uids[i]);
		sqlite3_bind_int64(stmt, 3, (int64_t)modseq);
		if (localfs_db_exec(db, stmt, LOCALFS_EXP_INSERT, err) < 0)
			return -1;
	}
	return 0;
}

static int localfs_expunge_in(struct localfs_box *b, struct localfs_expunge_ctx *x,
			      const uint32_t *uids, unsigned count)
{
	static const uint32_t all[2] = { 1, LOCALFS_UID_MAX };
	struct localfs_mbox mb;
	int ret;

	if (localfs_box_row(x->db, b, "expunge", &mb, x->err) < 0)
		return -1;
	x->mailbox_id = mb.id;
	if (uids == NULL)
		ret = localfs_expunge_run(x, all[0], all[1]);
	else
		ret = localfs_box_runs(uids, count, localfs_expunge_run, x);
	if (ret < 0 || x->count == 0)
		return ret;
	qsort(x->uids, x->count, sizeof(*x->uids), localfs_uid_cmp);
	mb.highestmodseq++;
	if (localfs_expunge_record(x->db, mb.id, x->uids, x->count, mb.highestmodseq,
				   x->err) < 0 ||
	    localfs_db_mbox_counts(x->db, &mb, -(int64_t)x->count, -x->unseen, -x->bytes,
				   x->err) < 0)
		return -1;
	return localfs_db_quota_add(x->db, -x->bytes, -x->blocks, NULL, x->err);
}

int localfs_expunge(void *box, const uint32_t *uids, unsigned count,
		    vimap_uid_cb *expunged, void *ctx,
		    struct vimap_storage_error *err)
{
	struct localfs_box *b = box;
	struct localfs_state *st = b->user->st;
	struct localfs_expunge_ctx x;
	struct localfs_conn *c;
	unsigned i;
	int ret;

	memset(&x, 0, sizeof(x));
	x.err = err;
	if (localfs_pool_get(b->user, &c, err) < 0)
		return -1;
	x.db = &c->db;
	if (localfs_db_begin_write(x.db, err) < 0) {
		ret = -1;
	} else if (localfs_expunge_in(b, &x, uids, count) < 0) {
		localfs_db_rollback_write(x.db);
		ret = -1;
	} else {
		ret = localfs_db_commit_write(x.db, err);
	}
	localfs_pool_put(&c);
	if (ret == 0) {
		/* Files and cache blobs go after the commit (localfs-gc.c). */
		localfs_count(st, st->ctr_expunged, x.count);
		if (x.count > 0)
			localfs_gc_schedule(st, b->user->shared);
		for (i = 0; expunged != NULL && i < x.count; i++)
			expunged(ctx, x.uids[i]);
	}
	free(x.uids);
	return ret;
}
