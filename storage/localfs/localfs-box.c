/* localfs: an open mailbox: sync, fetch, message bytes and \Recent.  Reads
 * run in one read transaction, so what a call reports is one consistent
 * snapshot (its records, its expunges and the HIGHESTMODSEQ it returns
 * agree).  Callbacks run inside that snapshot, on the call's connection;
 * a plugin call they make (open_message for FETCH BODY[], say) checks out
 * a connection of its own.  A box handle holds only the mailbox's id:
 * nothing per message is kept between calls. */
#include "autoconfig.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "localfs-private.h"
#include "xalloc.h"

int localfs_box_open(void *user, const char *name, void **box_r,
		     struct vimap_mailbox_info *info_r,
		     struct vimap_storage_error *err)
{
	struct localfs_user *u = user;
	struct localfs_box *box;
	struct localfs_mbox mb;

	if (localfs_mailbox_lookup(u, "mailbox_open", name, &mb, err) < 0)
		return -1;
	box = xcalloc(1, sizeof(*box));
	box->user = u;
	box->id = mb.id;
	box->uidvalidity = mb.uidvalidity;
	box->name = xstrdup(name);
	localfs_mailbox_info(&mb, info_r);
	*box_r = box;
	return 0;
}

void localfs_box_close(void *box)
{
	struct localfs_box *b = box;

	if (b == NULL)
		return;
	free(b->name);
	free(b);
}

int localfs_box_row(struct localfs_db *db, struct localfs_box *box, const char *call,
		    struct localfs_mbox *mb_r, struct vimap_storage_error *err)
{
	int found = localfs_db_mbox_get_id(db, box->id, mb_r, err);

	if (found < 0)
		return -1;
	if (!found || mb_r->noselect || mb_r->uidvalidity != box->uidvalidity)
		return localfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
				    "%s(%s) failed: the mailbox was deleted", call, box->name);
	return 0;
}

int localfs_box_runs(const uint32_t *uids, unsigned count,
		     int (*run_cb)(void *ctx, uint32_t first, uint32_t last),
		     void *ctx)
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

/* Fills a record from a row of a MSG_* query (column order of MSG_COLS). */
static void localfs_box_record(sqlite3_stmt *stmt, int with_cache, struct vimap_message *m)
{
	const char *kw;

	m->uid = (uint32_t)sqlite3_column_int64(stmt, 0);
	m->flags = (uint32_t)sqlite3_column_int(stmt, 1);
	m->modseq = (uint64_t)sqlite3_column_int64(stmt, 2);
	kw = (const char *)sqlite3_column_text(stmt, 3);
	m->keywords = kw != NULL ? kw : "";
	m->internal_date = sqlite3_column_int64(stmt, 4);
	m->tz_offset = sqlite3_column_int(stmt, 5);
	m->size = (uint64_t)sqlite3_column_int64(stmt, 6);
	m->cache = NULL;
	m->cache_size = 0;
	if (with_cache) {
		m->cache = sqlite3_column_blob(stmt, 7);
		m->cache_size = (size_t)sqlite3_column_bytes(stmt, 7);
	}
}

/* Steps a record query, handing each row to cb; resets the statement. */
static int localfs_box_records(struct localfs_db *db, sqlite3_stmt *stmt, enum localfs_stmt id,
			       int with_cache, vimap_message_cb *cb, void *ctx,
			       const char *call, struct vimap_storage_error *err)
{
	struct vimap_message m;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		localfs_box_record(stmt, with_cache, &m);
		if (cb != NULL && cb(ctx, &m) < 0) {
			sqlite3_reset(stmt);
			return localfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL,
					    "%s failed: stopped by the callback", call);
		}
	}
	if (rc != SQLITE_DONE) {
		localfs_db_fail(db, rc, "sqlite3_step", localfs_db_stmt_name(id), err);
		sqlite3_reset(stmt);
		return -1;
	}
	sqlite3_reset(stmt);
	return 0;
}

static int localfs_box_expunged_since(struct localfs_db *db, struct localfs_box *box,
				      uint64_t since, vimap_uid_cb *expunged, void *ctx,
				      struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_EXP_SINCE, err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, box->id);
	sqlite3_bind_int64(stmt, 2, (int64_t)since);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		expunged(ctx, (uint32_t)sqlite3_column_int64(stmt, 0));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return localfs_db_fail(db, rc, "sqlite3_step", "select expunged", err);
	return 0;
}

static int localfs_box_sync_in(struct localfs_db *db, struct localfs_box *box,
			       uint64_t since, unsigned want,
			       vimap_message_cb *changed, vimap_uid_cb *expunged,
			       void *ctx, struct vimap_mailbox_info *info_r,
			       struct vimap_storage_error *err)
{
	int with_cache = (want & VIMAP_WANT_CACHE) != 0;
	struct localfs_mbox mb;
	enum localfs_stmt id;
	sqlite3_stmt *stmt;

	if (localfs_box_row(db, box, "mailbox_sync", &mb, err) < 0)
		return -1;
	/* Since 0 (or since before anything changed) is every message: the
	   clustered scan; otherwise the modseq index finds the few. */
	if (since < 2)
		id = with_cache ? LOCALFS_MSG_SCAN_CACHE : LOCALFS_MSG_SCAN;
	else
		id = with_cache ? LOCALFS_MSG_SINCE_CACHE : LOCALFS_MSG_SINCE;
	if (since < mb.highestmodseq && changed != NULL) {
		if ((stmt = localfs_db_stmt(db, id, err)) == NULL)
			return -1;
		sqlite3_bind_int64(stmt, 1, box->id);
		sqlite3_bind_int64(stmt, 2, (int64_t)since);
		if (localfs_box_records(db, stmt, id, with_cache, changed, ctx,
					"mailbox_sync", err) < 0)
			return -1;
	}
	if (since > 0 && since < mb.highestmodseq && expunged != NULL &&
	    localfs_box_expunged_since(db, box, since, expunged, ctx, err) < 0)
		return -1;
	if (info_r == NULL)
		return 0;
	if (localfs_db_mbox_recent(db, &mb, err) < 0)
		return -1;
	localfs_mailbox_info(&mb, info_r);
	return 0;
}

int localfs_box_sync(void *box, uint64_t since_modseq, unsigned want,
		     vimap_message_cb *changed, vimap_uid_cb *expunged,
		     void *ctx, struct vimap_mailbox_info *info_r,
		     struct vimap_storage_error *err)
{
	struct localfs_box *b = box;
	struct localfs_conn *c;
	int ret;

	if (localfs_pool_get(b->user, &c, err) < 0)
		return -1;
	if ((ret = localfs_db_begin_read(&c->db, err)) == 0) {
		ret = localfs_box_sync_in(&c->db, b, since_modseq, want, changed, expunged, ctx,
					  info_r, err);
		localfs_db_end_read(&c->db);
	}
	localfs_pool_put(&c);
	return ret;
}

int localfs_box_claim_recent(void *box, uint32_t *first_recent_r,
			     struct vimap_storage_error *err)
{
	struct localfs_box *b = box;
	struct localfs_conn *c;
	struct localfs_db *db;
	struct localfs_mbox mb;
	sqlite3_stmt *stmt;
	int ret;

	if (localfs_pool_get(b->user, &c, err) < 0)
		return -1;
	db = &c->db;
	if ((ret = localfs_db_begin_write(db, err)) < 0) {
		localfs_pool_put(&c);
		return -1;
	}
	if (localfs_box_row(db, b, "claim_recent", &mb, err) < 0 ||
	    (stmt = localfs_db_stmt(db, LOCALFS_MB_CLAIM_RECENT, err)) == NULL) {
		ret = -1;
	} else {
		sqlite3_bind_int64(stmt, 1, b->id);
		ret = localfs_db_exec(db, stmt, LOCALFS_MB_CLAIM_RECENT, err);
	}
	if (ret == 0)
		ret = localfs_db_commit_write(db, err);
	else
		localfs_db_rollback_write(db);
	localfs_pool_put(&c);
	if (ret == 0)
		*first_recent_r = mb.first_recent_uid;
	return ret;
}

struct localfs_fetch_ctx {
	struct localfs_db *db;
	struct localfs_box *box;
	sqlite3_stmt *stmt;
	enum localfs_stmt id;
	int with_cache;
	vimap_message_cb *cb;
	void *ctx;
	struct vimap_storage_error *err;
};

static int localfs_box_fetch_run(void *ctx, uint32_t first, uint32_t last)
{
	struct localfs_fetch_ctx *f = ctx;

	sqlite3_bind_int64(f->stmt, 1, f->box->id);
	sqlite3_bind_int64(f->stmt, 2, first);
	sqlite3_bind_int64(f->stmt, 3, last);
	return localfs_box_records(f->db, f->stmt, f->id, f->with_cache, f->cb,
				   f->ctx, "fetch", f->err);
}

int localfs_box_fetch(void *box, const uint32_t *uids, unsigned count,
		      unsigned want, vimap_message_cb *cb, void *ctx,
		      struct vimap_storage_error *err)
{
	struct localfs_box *b = box;
	struct localfs_fetch_ctx f = { NULL, b, NULL, LOCALFS_MSG_RANGE, 0, cb, ctx, err };
	struct localfs_conn *c;
	struct localfs_mbox mb;
	int ret = -1;

	f.with_cache = (want & VIMAP_WANT_CACHE) != 0;
	if (f.with_cache)
		f.id = LOCALFS_MSG_RANGE_CACHE;
	if (localfs_pool_get(b->user, &c, err) < 0)
		return -1;
	f.db = &c->db;
	if (localfs_db_begin_read(f.db, err) == 0) {
		if (localfs_box_row(f.db, b, "fetch", &mb, err) == 0 &&
		    (f.stmt = localfs_db_stmt(f.db, f.id, err)) != NULL)
			ret = localfs_box_runs(uids, count, localfs_box_fetch_run, &f);
		localfs_db_end_read(f.db);
	}
	localfs_pool_put(&c);
	return ret;
}

/* The file id and size of `uid`: 1 found, 0 not, -1 error. */
static int localfs_box_file(struct localfs_db *db, struct localfs_box *box, uint32_t uid,
			    uint64_t *id_r, uint64_t *size_r, struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_MSG_FILE, err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, box->id);
	sqlite3_bind_int64(stmt, 2, uid);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*id_r = (uint64_t)sqlite3_column_int64(stmt, 0);
		*size_r = (uint64_t)sqlite3_column_int64(stmt, 1);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return localfs_db_fail(db, rc, "sqlite3_step", "select message file", err);
}

int localfs_box_open_message(void *box, uint32_t uid,
			     struct vimap_message_data *out,
			     struct vimap_storage_error *err)
{
	struct localfs_box *b = box;
	struct localfs_conn *c;
	uint64_t id, size;
	int found, ret = -1;

	if (localfs_pool_get(b->user, &c, err) < 0)
		return -1;
	found = localfs_box_file(&c->db, b, uid, &id, &size, err);
	if (found == 0)
		localfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
			     "open_message(%s, %u) failed: no such message", b->name, uid);
	else if (found > 0 && (ret = localfs_file_map(c->dirfd, id, size, out, err)) < 0 &&
		 localfs_box_file(&c->db, b, uid, &id, &size, NULL) == 0)
		/* Expunged by another session between the look-up and the open. */
		localfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
			     "open_message(%s, %u) failed: expunged", b->name, uid);
	localfs_pool_put(&c);
	return ret;
}

void localfs_box_close_message(void *box, struct vimap_message_data *data)
{
	if (data != NULL)
		localfs_file_unmap(data);
}
