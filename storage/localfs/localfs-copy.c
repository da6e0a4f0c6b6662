/* localfs: COPY and MOVE within one user, and the message move behind
 * RENAME INBOX.
 *
 * COPY gives each copy a new file id and hard-links the file to it (copying
 * when the file system cannot link), syncs the directories, then inserts
 * the rows: the same order as APPEND, so a crash leaves at worst an orphan
 * link.  MOVE needs no file work at all: the row is re-keyed to the
 * destination (new mailbox, new UID, same file) in the transaction that
 * records the source UID as expunged. */
#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include "localfs-private.h"
#include "xalloc.h"

/* One source message. */
struct localfs_copy_row {
	uint32_t uid;
	uint64_t file_id;
	uint32_t flags;
	char *keywords;
	int64_t internal_date;
	int32_t tz_offset;
	uint64_t size;
};

struct localfs_copy_ctx {
	struct localfs_db *db;
	int64_t mailbox_id;
	struct localfs_copy_row *rows;
	unsigned count, alloc;
	int64_t bytes, blocks, unseen;
	struct vimap_storage_error *err;
};

static void localfs_copy_rows_free(struct localfs_copy_ctx *c)
{
	unsigned i;

	for (i = 0; i < c->count; i++)
		free(c->rows[i].keywords);
	free(c->rows);
	c->rows = NULL;
	c->count = c->alloc = 0;
}

/* Reads the source rows of [first, last]. */
static int localfs_copy_read_run(void *ctx, uint32_t first, uint32_t last)
{
	struct localfs_copy_ctx *c = ctx;
	sqlite3_stmt *stmt = localfs_db_stmt(c->db, LOCALFS_MSG_SOURCE_RANGE, c->err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, c->mailbox_id);
	sqlite3_bind_int64(stmt, 2, first);
	sqlite3_bind_int64(stmt, 3, last);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct localfs_copy_row *r;
		const char *kw = (const char *)sqlite3_column_text(stmt, 3);

		if (c->count == c->alloc) {
			c->alloc = c->alloc == 0 ? 64 : c->alloc * 2;
			c->rows = xrealloc(c->rows, c->alloc * sizeof(*c->rows));
		}
		r = &c->rows[c->count++];
		r->uid = (uint32_t)sqlite3_column_int64(stmt, 0);
		r->file_id = (uint64_t)sqlite3_column_int64(stmt, 1);
		r->flags = (uint32_t)sqlite3_column_int(stmt, 2);
		r->keywords = xstrdup(kw != NULL ? kw : "");
		r->internal_date = sqlite3_column_int64(stmt, 4);
		r->tz_offset = sqlite3_column_int(stmt, 5);
		r->size = (uint64_t)sqlite3_column_int64(stmt, 6);
		c->bytes += (int64_t)r->size;
		c->blocks += (int64_t)localfs_blocks(r->size);
		c->unseen += (r->flags & VIMAP_FLAG_SEEN) == 0;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return localfs_db_fail(c->db, rc, "sqlite3_step", "select messages to copy", c->err);
	return 0;
}

/* Re-keys every row of c into `to` (UIDs from its uidnext) and records the
   sources as expunged in `from`; updates both mailboxes' counters.  `from`
   and `to` may be the same mailbox. */
static int localfs_copy_move_rows(struct localfs_copy_ctx *c, struct localfs_mbox *from,
				  struct localfs_mbox *to)
{
	uint64_t to_modseq = to->highestmodseq + 1;
	sqlite3_stmt *stmt;
	unsigned i;

	for (i = 0; i < c->count; i++) {
		if ((stmt = localfs_db_stmt(c->db, LOCALFS_MSG_MOVE, c->err)) == NULL)
			return -1;
		sqlite3_bind_int64(stmt, 1, from->id);
		sqlite3_bind_int64(stmt, 2, c->rows[i].uid);
		sqlite3_bind_int64(stmt, 3, to->id);
		sqlite3_bind_int64(stmt, 4, (int64_t)to->uidnext + i);
		sqlite3_bind_int64(stmt, 5, (int64_t)to_modseq);
		if (localfs_db_exec(c->db, stmt, LOCALFS_MSG_MOVE, c->err) < 0)
			return -1;
	}
	to->uidnext += c->count;
	to->highestmodseq = to_modseq;
	if (from->id == to->id)
		from->highestmodseq = to_modseq - 1;
	for (i = 0; i < c->count; i++) {
		if ((stmt = localfs_db_stmt(c->db, LOCALFS_EXP_INSERT, c->err)) == NULL)
			return -1;
		sqlite3_bind_int64(stmt, 1, from->id);
		sqlite3_bind_int64(stmt, 2, c->rows[i].uid);
		sqlite3_bind_int64(stmt, 3, (int64_t)from->highestmodseq + 1);
		if (localfs_db_exec(c->db, stmt, LOCALFS_EXP_INSERT, c->err) < 0)
			return -1;
	}
	if (from->id == to->id)
		return localfs_db_mbox_counts(c->db, to, 0, 0, 0, c->err);
	from->highestmodseq++;
	if (localfs_db_mbox_counts(c->db, from, -(int64_t)c->count, -c->unseen, -c->bytes,
				   c->err) < 0)
		return -1;
	return localfs_db_mbox_counts(c->db, to, c->count, c->unseen, c->bytes, c->err);
}

/* Inserts a copy of row r into `to` as uid, file new_id. */
static int localfs_copy_insert(struct localfs_db *db, const struct localfs_copy_row *r,
			       int64_t mailbox_id, uint32_t uid, uint64_t new_id, uint64_t modseq,
			       struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_MSG_INSERT, err);

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, uid);
	sqlite3_bind_int64(stmt, 3, (int64_t)new_id);
	sqlite3_bind_int64(stmt, 4, r->flags);
	sqlite3_bind_text(stmt, 5, r->keywords, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, (int64_t)modseq);
	sqlite3_bind_int64(stmt, 7, r->internal_date);
	sqlite3_bind_int64(stmt, 8, r->tz_offset);
	sqlite3_bind_int64(stmt, 9, (int64_t)r->size);
	if (localfs_db_exec(db, stmt, LOCALFS_MSG_INSERT, err) < 0)
		return -1;
	if ((stmt = localfs_db_stmt(db, LOCALFS_CACHE_COPY, err)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, (int64_t)r->file_id);
	sqlite3_bind_int64(stmt, 2, (int64_t)new_id);
	return localfs_db_exec(db, stmt, LOCALFS_CACHE_COPY, err);
}

/* COPY proper: links (under `dirfd`, the user's directory) then rows;
   *linked_r counts the links made. */
static int localfs_copy_rows(struct localfs_state *st, int dirfd, struct localfs_copy_ctx *c,
			     struct localfs_mbox *to, const uint64_t *ids, unsigned *linked_r)
{
	uint64_t modseq = to->highestmodseq + 1;
	unsigned i;

	if (localfs_db_quota_add(c->db, c->bytes, c->blocks, "copy", c->err) < 0)
		return -1;
	for (*linked_r = 0; *linked_r < c->count; (*linked_r)++) {
		i = *linked_r;
		if (localfs_file_link(dirfd, c->rows[i].file_id, ids[i], st->fsync, c->err) < 0)
			return -1;
	}
	if (localfs_file_sync_dirs(dirfd, ids, c->count, st->fsync, c->err) < 0)
		return -1;
	for (i = 0; i < c->count; i++) {
		if (localfs_copy_insert(c->db, &c->rows[i], to->id, to->uidnext + i, ids[i],
					modseq, c->err) < 0)
			return -1;
	}
	to->uidnext += c->count;
	if (c->count > 0)
		to->highestmodseq = modseq;
	return localfs_db_mbox_counts(c->db, to, c->count, c->unseen, c->bytes, c->err);
}

/* Fills dest_uids_r: the new UID of each uids[i] that was copied, else 0. */
static void localfs_copy_map(const struct localfs_copy_ctx *c, const uint32_t *uids,
			     unsigned count, uint32_t first_uid, uint32_t *dest_uids_r)
{
	unsigned i, j = 0;

	for (i = 0; i < count; i++) {
		while (j < c->count && c->rows[j].uid < uids[i])
			j++;
		dest_uids_r[i] = j < c->count && c->rows[j].uid == uids[i] ? first_uid + j : 0;
	}
}

struct localfs_copy_args {
	int dirfd;                 /* the user's directory */
	const uint32_t *uids;
	unsigned count;
	const char *dest;
	int move;
	const uint64_t *ids;
	unsigned linked;
	uint32_t uidvalidity;
	uint32_t *dest_uids_r;
};

/* The body of copy, inside its transaction. */
static int localfs_copy_in(struct localfs_box *b, struct localfs_copy_ctx *c,
			   struct localfs_copy_args *a)
{
	struct localfs_mbox from, to;
	uint32_t first_uid;
	int found;

	if (localfs_box_row(c->db, b, a->move ? "move" : "copy", &from, c->err) < 0)
		return -1;
	if ((found = localfs_db_mbox_get(c->db, a->dest, &to, c->err)) <= 0 || to.noselect)
		return found < 0 ? -1 : localfs_fail(c->err, VIMAP_STORAGE_ERR_NONEXISTENT,
						     "copy(%s) failed: %s", a->dest, found
						     ? "a \\Noselect node" : "no such mailbox");
	c->mailbox_id = from.id;
	if (localfs_box_runs(a->uids, a->count, localfs_copy_read_run, c) < 0)
		return -1;
	if ((uint64_t)to.uidnext + c->count > LOCALFS_UID_MAX)
		return localfs_fail(c->err, VIMAP_STORAGE_ERR_LIMIT,
				    "copy(%s) failed: no UIDs left", a->dest);
	first_uid = to.uidnext;
	a->uidvalidity = to.uidvalidity;
	if (c->count == 0) {
		localfs_copy_map(c, a->uids, a->count, first_uid, a->dest_uids_r);
		return 0;
	}
	if (from.id == to.id)
		to = from;
	if (a->move ? localfs_copy_move_rows(c, &from, &to) < 0
	    : localfs_copy_rows(b->user->st, a->dirfd, c, &to, a->ids, &a->linked) < 0)
		return -1;
	localfs_copy_map(c, a->uids, a->count, first_uid, a->dest_uids_r);
	return 0;
}

int localfs_copy(void *box, const uint32_t *uids, unsigned count,
		 const char *dest, int move, uint32_t *uidvalidity_r,
		 uint32_t *dest_uids_r, vimap_uid_cb *expunged, void *ctx,
		 struct vimap_storage_error *err)
{
	struct localfs_box *b = box;
	struct localfs_copy_ctx c;
	struct localfs_copy_args a = { -1, uids, count, dest, move, NULL, 0, 0, dest_uids_r };
	struct localfs_conn *conn;
	uint64_t *ids = NULL;
	unsigned i;
	int ret = -1;

	memset(&c, 0, sizeof(c));
	c.err = err;
	if (localfs_pool_get(b->user, &conn, err) < 0)
		return -1;
	c.db = &conn->db;
	a.dirfd = conn->dirfd;
	if (!move) {
		ids = xcalloc(count > 0 ? count : 1, sizeof(*ids));
		a.ids = ids;
	}
	if ((move || localfs_append_reserve_ids(b->user, c.db, ids, count, err) == 0) &&
	    localfs_db_begin_write(c.db, err) == 0) {
		if (localfs_copy_in(b, &c, &a) < 0) {
			localfs_db_rollback_write(c.db);
			ret = -1;
		} else {
			ret = localfs_db_commit_write(c.db, err);
		}
	}
	if (ret < 0 && a.linked > 0)
		localfs_file_unlink(b->user->st, a.dirfd, ids, a.linked);
	localfs_pool_put(&conn);
	if (ret == 0) {
		*uidvalidity_r = a.uidvalidity;
		for (i = 0; move && expunged != NULL && i < c.count; i++)
			expunged(ctx, c.rows[i].uid);
	}
	localfs_copy_rows_free(&c);
	free(ids);
	return ret;
}

int localfs_copy_move_all(struct localfs_db *db, const struct localfs_mbox *from,
			  const struct localfs_mbox *to, struct vimap_storage_error *err)
{
	struct localfs_copy_ctx c;
	struct localfs_mbox f = *from, t = *to;
	int ret;

	memset(&c, 0, sizeof(c));
	c.db = db;
	c.err = err;
	c.mailbox_id = from->id;
	ret = localfs_copy_read_run(&c, 1, LOCALFS_UID_MAX);
	if (ret == 0 && c.count > 0)
		ret = localfs_copy_move_rows(&c, &f, &t);
	localfs_copy_rows_free(&c);
	return ret;
}
