/* localfs: APPEND, with group commit.
 *
 * Each caller writes its message files to tmp/, syncs them and renames
 * them into msg/ (in parallel with everyone else), then queues a commit
 * request on its user's shared record.  One of the waiting callers becomes
 * the leader: it takes every queued request, syncs the msg/NN directories
 * the batch renamed into (each once), runs the requests in ONE write
 * transaction (each inside its own
 * SAVEPOINT, so a request that fails -- over quota, no such mailbox --
 * changes nothing and does not spoil the others), commits once (one WAL
 * fsync for the whole batch) and wakes the callers.  A caller returns only
 * after the commit that holds its own rows, so its acknowledgement is as
 * durable as a commit of its own.  Only the leader holds a connection while
 * it commits; the callers hold one only for the checks before writing. */
#include "autoconfig.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "localfs-private.h"
#include "xalloc.h"

struct localfs_commit_req {
	struct localfs_commit_req *next;
	const char *mailbox;
	const struct vimap_append *msgs;
	const uint64_t *ids;
	unsigned count;
	uint32_t *uids_r;
	const char *delivery_id;   /* append_once: the id to check and record */
	int duplicate;             /* ... it was delivered before: nothing done */
	uint32_t uidvalidity;
	int64_t instance;          /* the index it is for (meta.instance) */
	int done;                  /* under the shared lock */
	int ret;
	enum vimap_storage_code code;
	char *errtext;             /* on failure; the caller frees */
};

/* Takes a new block of file ids from meta.next_file_id. */
static int localfs_append_reserve_block(struct localfs_user *u, struct localfs_db *db,
					uint64_t n, struct vimap_storage_error *err)
{
	struct localfs_shared *sh = u->shared;
	sqlite3_stmt *stmt;
	int64_t end;
	int rc;

	if (localfs_db_begin_write(db, err) < 0)
		return -1;
	if ((stmt = localfs_db_stmt(db, LOCALFS_META_RESERVE, err)) == NULL) {
		localfs_db_rollback_write(db);
		return -1;
	}
	sqlite3_bind_text(stmt, 1, "next_file_id", -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (int64_t)n);
	rc = sqlite3_step(stmt);
	end = sqlite3_column_int64(stmt, 0);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			localfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL, "index: meta next_file_id missing");
		else
			localfs_db_fail(db, rc, "sqlite3_step", "reserve file ids", err);
		sqlite3_reset(stmt);
		localfs_db_rollback_write(db);
		return -1;
	}
	sqlite3_reset(stmt);
	if (localfs_db_commit_write(db, err) < 0)
		return -1;
	sh->id_next = (uint64_t)end - n;
	sh->id_end = (uint64_t)end;
	sh->id_pid = getpid();
	sh->id_instance = u->instance;
	return 0;
}

int localfs_append_reserve_ids(struct localfs_user *u, struct localfs_db *db,
			       uint64_t *ids_r, unsigned count,
			       struct vimap_storage_error *err)
{
	struct localfs_shared *sh = u->shared;
	unsigned i;

	pthread_mutex_lock(&sh->id_lock);
	/* Ids reserved by a parent process before fork(), or from an index
	   since removed and enrolled again, are not ours to give. */
	if (sh->id_pid != getpid() || sh->id_instance != u->instance)
		sh->id_next = sh->id_end = 0;
	for (i = 0; i < count; i++) {
		if (sh->id_next == sh->id_end &&
		    localfs_append_reserve_block(u, db, count - i > LOCALFS_ID_BLOCK ? count - i
						 : LOCALFS_ID_BLOCK, err) < 0) {
			pthread_mutex_unlock(&sh->id_lock);
			return -1;
		}
		ids_r[i] = sh->id_next++;
	}
	pthread_mutex_unlock(&sh->id_lock);
	return 0;
}

/* Inserts one message row and its cache blob. */
static int localfs_append_row(struct localfs_db *db, int64_t mailbox_id, uint32_t uid,
			      uint64_t file_id, uint64_t modseq,
			      const struct vimap_append *msg, struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_MSG_INSERT, err);
	char *keywords;
	int ret;

	if (stmt == NULL)
		return -1;
	keywords = localfs_db_keywords(NULL, VIMAP_STORE_REPLACE,
				       msg->keywords != NULL ? msg->keywords : "");
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, uid);
	sqlite3_bind_int64(stmt, 3, (int64_t)file_id);
	sqlite3_bind_int64(stmt, 4, msg->flags & VIMAP_FLAG_ALL);
	sqlite3_bind_text(stmt, 5, keywords, -1, free);
	sqlite3_bind_int64(stmt, 6, (int64_t)modseq);
	sqlite3_bind_int64(stmt, 7, msg->internal_date);
	sqlite3_bind_int64(stmt, 8, msg->tz_offset);
	sqlite3_bind_int64(stmt, 9, (int64_t)msg->size);
	ret = localfs_db_exec(db, stmt, LOCALFS_MSG_INSERT, err);
	if (ret < 0 || msg->cache == NULL || msg->cache_size == 0)
		return ret;
	if ((stmt = localfs_db_stmt(db, LOCALFS_CACHE_INSERT, err)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, (int64_t)file_id);
	sqlite3_bind_blob64(stmt, 2, msg->cache, msg->cache_size, SQLITE_STATIC);
	return localfs_db_exec(db, stmt, LOCALFS_CACHE_INSERT, err);
}

/* append_once: 1 (and the earlier UID) when r's delivery id is recorded,
   0 when not, -1 on error. */
static int localfs_append_seen(struct localfs_db *db, struct localfs_commit_req *r,
			       struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_DLV_GET, err);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, r->delivery_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		r->uids_r[0] = (uint32_t)sqlite3_column_int64(stmt, 0);
		sqlite3_reset(stmt);
		return 1;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return localfs_db_fail(db, rc, "sqlite3_step", "select delivery", err);
	return 0;
}

/* Records r's delivery id with its UID; one in 64 inserts also forgets
   ids older than LOCALFS_DELIVERY_KEEP, so the table stays small. */
static int localfs_append_record(struct localfs_db *db, struct localfs_commit_req *r,
				 int64_t mailbox_id, struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_DLV_ADD, err);
	int64_t now = (int64_t)time(NULL);

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, r->delivery_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, mailbox_id);
	sqlite3_bind_int64(stmt, 3, r->uids_r[0]);
	sqlite3_bind_int64(stmt, 4, now);
	if (localfs_db_exec(db, stmt, LOCALFS_DLV_ADD, err) < 0)
		return -1;
	if ((r->uids_r[0] & 63) != 0)
		return 0;
	if ((stmt = localfs_db_stmt(db, LOCALFS_DLV_PRUNE, err)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, now - LOCALFS_DELIVERY_KEEP);
	return localfs_db_exec(db, stmt, LOCALFS_DLV_PRUNE, err);
}

/* One request, inside the batch's transaction. */
static int localfs_append_apply(struct localfs_db *db, struct localfs_commit_req *r,
				struct vimap_storage_error *err)
{
	struct localfs_mbox mb;
	int64_t bytes = 0, blocks = 0, unseen = 0;
	uint64_t modseq;
	unsigned i;
	int found;

	if (r->delivery_id != NULL && (found = localfs_append_seen(db, r, err)) != 0) {
		r->duplicate = found > 0;
		return found > 0 ? 0 : -1;
	}
	if ((found = localfs_db_mbox_get(db, r->mailbox, &mb, err)) <= 0 || mb.noselect)
		return found < 0 ? -1 : localfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
						     "append(%s) failed: %s", r->mailbox,
						     found ? "a \\Noselect node" : "no such mailbox");
	if ((uint64_t)mb.uidnext + r->count > LOCALFS_UID_MAX)
		return localfs_fail(err, VIMAP_STORAGE_ERR_LIMIT,
				    "append(%s) failed: no UIDs left", r->mailbox);
	for (i = 0; i < r->count; i++) {
		bytes += (int64_t)r->msgs[i].size;
		blocks += (int64_t)localfs_blocks(r->msgs[i].size);
		unseen += (r->msgs[i].flags & VIMAP_FLAG_SEEN) == 0;
	}
	if (localfs_db_quota_add(db, bytes, blocks, "append", err) < 0)
		return -1;
	modseq = mb.highestmodseq + 1;
	for (i = 0; i < r->count; i++) {
		if (localfs_append_row(db, mb.id, mb.uidnext + i, r->ids[i], modseq,
				       &r->msgs[i], err) < 0)
			return -1;
		r->uids_r[i] = mb.uidnext + i;
	}
	if (r->delivery_id != NULL && localfs_append_record(db, r, mb.id, err) < 0)
		return -1;
	mb.uidnext += r->count;
	if (r->count > 0)
		mb.highestmodseq = modseq;
	r->uidvalidity = mb.uidvalidity;
	return localfs_db_mbox_counts(db, &mb, r->count, unseen, bytes, err);
}

static void localfs_append_set_error(struct localfs_commit_req *r,
				     const struct vimap_storage_error *err)
{
	r->ret = -1;
	r->code = err->code;
	free(r->errtext);
	r->errtext = xstrdup(err->text != NULL ? err->text : "append failed");
}

/* Fails every request of the batch that has not failed yet. */
static void localfs_append_fail_all(struct localfs_commit_req *batch,
				    const struct vimap_storage_error *err)
{
	for (; batch != NULL; batch = batch->next) {
		if (batch->ret == 0)
			localfs_append_set_error(batch, err);
	}
}

/* Runs one request under its savepoint; -1 only when the whole
   transaction is gone (SQLite rolled it back). */
static int localfs_append_one(struct localfs_db *db, struct localfs_commit_req *r)
{
	struct vimap_storage_error err = { 0, NULL };

	if (localfs_db_run(db, LOCALFS_SAVEPOINT, &err) < 0) {
		localfs_append_set_error(r, &err);
		return sqlite3_get_autocommit(db->db) ? -1 : 0;
	}
	if (localfs_append_apply(db, r, &err) == 0) {
		if (localfs_db_run(db, LOCALFS_RELEASE, &err) == 0)
			return 0;
		localfs_append_set_error(r, &err);
		return -1;
	}
	localfs_append_set_error(r, &err);
	if (sqlite3_get_autocommit(db->db))
		return -1;
	/* A later failure here takes the whole transaction: r already failed,
	   and its text says why; the others get the same text. */
	if (localfs_db_run(db, LOCALFS_ROLLBACK_TO, NULL) < 0 ||
	    localfs_db_run(db, LOCALFS_RELEASE, NULL) < 0)
		return -1;
	return 0;
}

/* Syncs the msg/NN directories (under dirfd) of every file in the batch,
   once each, before the commit that makes the files visible. */
static int localfs_append_sync_batch(struct localfs_user *u, int dirfd,
				     struct localfs_commit_req *batch,
				     struct vimap_storage_error *err)
{
	struct localfs_commit_req *r;
	unsigned n = 0;
	uint64_t *ids;
	int ret;

	if (!u->st->fsync)
		return 0;
	for (r = batch; r != NULL; r = r->next)
		n += r->count;
	ids = xmalloc((n > 0 ? n : 1) * sizeof(*ids));
	n = 0;
	for (r = batch; r != NULL; r = r->next) {
		memcpy(ids + n, r->ids, r->count * sizeof(*ids));
		n += r->count;
	}
	ret = localfs_file_sync_dirs(dirfd, ids, n, 1, err);
	free(ids);
	return ret;
}

/* The batch's transaction on db; -1 when none of it was committed (err,
   or each request's own error, says why). */
static int localfs_append_batch_in(struct localfs_db *db, struct localfs_commit_req *batch,
				   struct vimap_storage_error *err)
{
	struct localfs_commit_req *r;

	if (localfs_db_begin_write(db, err) < 0)
		return -1;
	for (r = batch; r != NULL; r = r->next) {
		if (localfs_append_one(db, r) < 0) {
			/* Anything already applied went with the transaction. */
			localfs_db_rollback_write(db);
			err->code = r->code;
			err->text = r->errtext;
			return -1;
		}
	}
	return localfs_db_commit_write(db, err);
}

/* The leader's work: one transaction for the whole batch. */
static void localfs_append_batch(struct localfs_user *u, struct localfs_commit_req *batch)
{
	struct vimap_storage_error err = { 0, NULL };
	struct localfs_commit_req *r;
	struct localfs_conn *c = NULL;
	int ret;

	ret = localfs_pool_get(u, &c, &err);
	if (ret == 0)
		ret = localfs_append_sync_batch(u, c->dirfd, batch, &err);
	if (ret == 0)
		ret = localfs_append_batch_in(&c->db, batch, &err);
	localfs_pool_put(&c);
	if (ret < 0) {
		localfs_append_fail_all(batch, &err);
		return;
	}
	localfs_count(u->st, u->st->ctr_commits, 1);
	for (r = batch; r != NULL; r = r->next) {
		if (r->ret == 0)
			localfs_count(u->st, u->st->ctr_appended, r->count);
	}
}

/* Takes the queued requests for u's index out of the queue.  Requests of
   another index (a handle opened before the user was removed and enrolled
   again) stay for a leader of their own. */
static struct localfs_commit_req *localfs_append_take(struct localfs_shared *sh,
						      int64_t instance)
{
	struct localfs_commit_req *batch = NULL, *blast = NULL, *r, *next;

	sh->queue_tail = NULL;
	r = sh->queue_head;
	sh->queue_head = NULL;
	for (; r != NULL; r = next) {
		next = r->next;
		r->next = NULL;
		if (r->instance == instance) {
			if (blast != NULL)
				blast->next = r;
			else
				batch = r;
			blast = r;
		} else {
			if (sh->queue_tail != NULL)
				sh->queue_tail->next = r;
			else
				sh->queue_head = r;
			sh->queue_tail = r;
		}
	}
	return batch;
}

/* Queues `req` and returns once a commit holding it (or its failure) is
   done, committing batches itself while no other thread leads. */
static void localfs_append_commit(struct localfs_user *u, struct localfs_commit_req *req)
{
	struct localfs_shared *sh = u->shared;

	pthread_mutex_lock(&sh->lock);
	if (sh->queue_tail != NULL)
		sh->queue_tail->next = req;
	else
		sh->queue_head = req;
	sh->queue_tail = req;
	while (!req->done) {
		struct localfs_commit_req *batch, *next;

		if (sh->leader) {
			pthread_cond_wait(&sh->cond, &sh->lock);
			continue;
		}
		sh->leader = 1;
		batch = localfs_append_take(sh, u->instance);
		pthread_mutex_unlock(&sh->lock);
		localfs_append_batch(u, batch);
		pthread_mutex_lock(&sh->lock);
		for (; batch != NULL; batch = next) {
			next = batch->next;
			batch->done = 1; /* its owner may return and free it now */
		}
		sh->leader = 0;
		pthread_cond_broadcast(&sh->cond);
	}
	pthread_mutex_unlock(&sh->lock);
}

/* Fails early, before any file is written, when the mailbox is missing
   (the transaction checks again, and checks the quota); reserves the file
   ids. */
static int localfs_append_prepare(struct localfs_user *u, const char *mailbox,
				  uint64_t *ids_r, unsigned count,
				  struct vimap_storage_error *err)
{
	struct localfs_conn *c;
	struct localfs_mbox mb;
	int found;

	if (localfs_pool_get(u, &c, err) < 0)
		return -1;
	found = localfs_db_mbox_get(&c->db, mailbox, &mb, err);
	if (found == 0 || (found > 0 && mb.noselect))
		found = localfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT, "append(%s) failed: %s",
				     mailbox, found ? "a \\Noselect node" : "no such mailbox");
	else if (found > 0)
		found = localfs_append_reserve_ids(u, &c->db, ids_r, count, err);
	localfs_pool_put(&c);
	return found;
}

/* append and append_once: the files first, then one queued commit. */
static int localfs_append_run(struct localfs_user *u, const char *mailbox,
			      const struct vimap_append *msgs, unsigned count,
			      const char *delivery_id, uint32_t *uidvalidity_r,
			      uint32_t *uids_r, int *duplicate_r,
			      struct vimap_storage_error *err)
{
	struct localfs_commit_req req;
	uint64_t *ids = xcalloc(count > 0 ? count : 1, sizeof(*ids));
	unsigned i, stored = 0;
	int ret = -1, dirfd = -1;

	if (localfs_append_prepare(u, mailbox, ids, count, err) < 0) {
		free(ids);
		return -1;
	}
	/* The files are written without a connection: only a descriptor on
	   the user's directory, for this call. */
	dirfd = open(u->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		localfs_fail(err, localfs_errno_code(errno), "append(%s) failed: open(%s): %s",
			     mailbox, u->dir, strerror(errno));
		free(ids);
		return -1;
	}
	for (i = 0; i < count; i++, stored++) {
		if (localfs_file_store(dirfd, ids[i], msgs[i].data, msgs[i].size,
				       u->st->fsync, err) < 0) {
			localfs_fail(err, err->code, "append(%s) failed: %s", mailbox, err->text);
			break;
		}
	}
	if (stored == count) {
		memset(&req, 0, sizeof(req));
		req.mailbox = mailbox;
		req.msgs = msgs;
		req.ids = ids;
		req.count = count;
		req.uids_r = uids_r;
		req.delivery_id = delivery_id;
		req.instance = u->instance;
		localfs_append_commit(u, &req);
		ret = req.ret;
		if (ret == 0)
			*uidvalidity_r = req.uidvalidity;
		else
			localfs_fail(err, req.code, "%s", req.errtext);
		free(req.errtext);
		*duplicate_r = req.duplicate;
	}
	/* A duplicate's file was written for nothing: it goes like a failure's. */
	if (ret < 0 || (ret == 0 && *duplicate_r))
		localfs_file_unlink(u->st, dirfd, ids, stored);
	close(dirfd);
	free(ids);
	return ret;
}

int localfs_append(void *user, const char *mailbox,
		   const struct vimap_append *msgs, unsigned count,
		   uint32_t *uidvalidity_r, uint32_t *uids_r,
		   struct vimap_storage_error *err)
{
	int duplicate = 0;

	return localfs_append_run(user, mailbox, msgs, count, NULL, uidvalidity_r, uids_r,
				  &duplicate, err);
}

int localfs_append_once(void *user, const char *mailbox, const struct vimap_append *msg,
			const char *delivery_id, uint32_t *uidvalidity_r, uint32_t *uid_r,
			int *duplicate_r, struct vimap_storage_error *err)
{
	*duplicate_r = 0;
	return localfs_append_run(user, mailbox, msg, 1, delivery_id, uidvalidity_r, uid_r,
				  duplicate_r, err);
}
