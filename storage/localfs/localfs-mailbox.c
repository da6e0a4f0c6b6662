/* localfs: mailboxes and subscriptions of an open user (LIST, CREATE,
 * DELETE, RENAME, STATUS, SUBSCRIBE, LSUB).  Mailbox names live only in the
 * index; no file path is ever built from one.  The hierarchy separator is
 * '/': the children of "a" are the names in ["a/", "a0"), '0' being the
 * byte after '/', so one index range finds them. */
#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include "localfs-private.h"
#include "xalloc.h"

void localfs_mailbox_info(const struct localfs_mbox *mb, struct vimap_mailbox_info *info_r)
{
	memset(info_r, 0, sizeof(*info_r));
	info_r->uidvalidity = mb->uidvalidity;
	info_r->uidnext = mb->uidnext;
	info_r->highestmodseq = mb->highestmodseq;
	info_r->messages = mb->messages;
	info_r->unseen = mb->unseen;
	info_r->first_recent_uid = mb->first_recent_uid;
	info_r->attributes = mb->noselect ? VIMAP_MAILBOX_NOSELECT : 0;
	info_r->special_use = mb->special_use;
	info_r->size = mb->size;
	info_r->recent = mb->recent;
}

/* Inserts a mailbox row (a \Noselect node when `noselect`). */
static int localfs_mailbox_insert(struct localfs_db *db, const char *name, uint32_t special_use,
				  int noselect, int64_t *id_r, struct vimap_storage_error *err)
{
	uint32_t uidvalidity = 0;
	sqlite3_stmt *stmt;

	if (!noselect && localfs_db_next_uidvalidity(db, &uidvalidity, err) < 0)
		return -1;
	if ((stmt = localfs_db_stmt(db, LOCALFS_MB_INSERT, err)) == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, uidvalidity);
	sqlite3_bind_int64(stmt, 3, special_use);
	sqlite3_bind_int(stmt, 4, noselect);
	if (localfs_db_exec(db, stmt, LOCALFS_MB_INSERT, err) < 0)
		return -1;
	if (id_r != NULL)
		*id_r = sqlite3_last_insert_rowid(db->db);
	return 0;
}

/* Creates every missing parent of `name` as a \Noselect node. */
static int localfs_mailbox_parents(struct localfs_db *db, const char *name,
				   struct vimap_storage_error *err)
{
	struct localfs_mbox mb;
	const char *p;
	int ret = 0;

	for (p = strchr(name, '/'); p != NULL && ret == 0; p = strchr(p + 1, '/')) {
		char *parent = xstrndup(name, (size_t)(p - name));

		ret = localfs_db_mbox_get(db, parent, &mb, err);
		if (ret == 0)
			ret = localfs_mailbox_insert(db, parent, 0, 1, NULL, err);
		else if (ret > 0)
			ret = 0;
		free(parent);
	}
	return ret;
}

int localfs_mailbox_create_in(struct localfs_db *db, const char *name,
			      uint32_t special_use, int64_t *id_r,
			      struct vimap_storage_error *err)
{
	struct localfs_mbox mb;
	uint32_t uidvalidity;
	sqlite3_stmt *stmt;
	int found = localfs_db_mbox_get(db, name, &mb, err);

	if (found < 0)
		return -1;
	if (found && !mb.noselect)
		return localfs_fail(err, VIMAP_STORAGE_ERR_EXISTS,
				    "mailbox_create(%s) failed: the mailbox exists", name);
	if (!found) {
		if (localfs_mailbox_parents(db, name, err) < 0)
			return -1;
		return localfs_mailbox_insert(db, name, special_use, 0, id_r, err);
	}
	/* A \Noselect node becomes a real mailbox, with a new UIDVALIDITY. */
	if (localfs_db_next_uidvalidity(db, &uidvalidity, err) < 0 ||
	    (stmt = localfs_db_stmt(db, LOCALFS_MB_REVIVE, err)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, mb.id);
	sqlite3_bind_int64(stmt, 2, uidvalidity);
	sqlite3_bind_int64(stmt, 3, special_use);
	if (localfs_db_exec(db, stmt, LOCALFS_MB_REVIVE, err) < 0)
		return -1;
	*id_r = mb.id;
	return 0;
}

int localfs_mailbox_create(void *user, const char *name, uint32_t special_use,
			   struct vimap_storage_error *err)
{
	struct localfs_conn *c;
	int64_t id;
	int ret;

	if (localfs_pool_get(user, &c, err) < 0)
		return -1;
	if ((ret = localfs_db_begin_write(&c->db, err)) == 0) {
		if (localfs_mailbox_create_in(&c->db, name, special_use, &id, err) < 0) {
			localfs_db_rollback_write(&c->db);
			ret = -1;
		} else {
			ret = localfs_db_commit_write(&c->db, err);
		}
	}
	localfs_pool_put(&c);
	return ret;
}

static int localfs_names_read(struct localfs_db *db, enum localfs_stmt id,
			      struct storage_names *nl, struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, id, err);
	struct vimap_mailbox_info info;
	int rc;

	if (stmt == NULL)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int present = id != LOCALFS_SUB_LIST || sqlite3_column_type(stmt, 3) != SQLITE_NULL;

		memset(&info, 0, sizeof(info));
		info.special_use = (uint32_t)sqlite3_column_int64(stmt, 1);
		info.attributes = sqlite3_column_int(stmt, 2) ? VIMAP_MAILBOX_NOSELECT : 0;
		storage_names_add(nl, (const char *)sqlite3_column_text(stmt, 0),
				  present ? &info : NULL);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return localfs_db_fail(db, rc, "sqlite3_step", localfs_db_stmt_name(id), err);
	return 0;
}

static int localfs_mailbox_names(struct localfs_user *u, enum localfs_stmt id,
				 vimap_name_cb *cb, void *ctx, struct vimap_storage_error *err)
{
	struct storage_names nl = STORAGE_NAMES_INIT;
	struct localfs_conn *c;
	int ret;

	if (localfs_pool_get(u, &c, err) < 0)
		return -1;
	ret = localfs_names_read(&c->db, id, &nl, err);
	localfs_pool_put(&c);
	if (ret < 0) {
		storage_names_free(&nl);
		return -1;
	}
	storage_names_emit(&nl, cb, ctx);
	storage_names_free(&nl);
	return 0;
}

int localfs_mailbox_list(void *user, vimap_name_cb *cb, void *ctx,
			 struct vimap_storage_error *err)
{
	return localfs_mailbox_names(user, LOCALFS_MB_LIST, cb, ctx, err);
}

/* The subscribed names; `info` is the mailbox's attributes when it exists,
   NULL when the subscribed name has no mailbox. */
int localfs_mailbox_subscriptions(void *user, vimap_name_cb *cb, void *ctx,
				  struct vimap_storage_error *err)
{
	return localfs_mailbox_names(user, LOCALFS_SUB_LIST, cb, ctx, err);
}

int localfs_mailbox_subscribe(void *user, const char *name, int on,
			      struct vimap_storage_error *err)
{
	enum localfs_stmt id = on ? LOCALFS_SUB_ADD : LOCALFS_SUB_DEL;
	struct localfs_conn *c;
	sqlite3_stmt *stmt;
	int ret;

	if (localfs_pool_get(user, &c, err) < 0)
		return -1;
	if ((ret = localfs_db_begin_write(&c->db, err)) == 0) {
		if ((stmt = localfs_db_stmt(&c->db, id, err)) == NULL) {
			ret = -1;
		} else {
			sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
			ret = localfs_db_exec(&c->db, stmt, id, err);
		}
		if (ret == 0)
			ret = localfs_db_commit_write(&c->db, err);
		else
			localfs_db_rollback_write(&c->db);
	}
	localfs_pool_put(&c);
	return ret;
}

int localfs_mailbox_lookup(struct localfs_user *user, const char *call, const char *name,
			   struct localfs_mbox *mb_r, struct vimap_storage_error *err)
{
	struct localfs_conn *c;
	int found;

	if (localfs_pool_get(user, &c, err) < 0)
		return -1;
	/* One snapshot: the counters and the recent count agree. */
	if ((found = localfs_db_begin_read(&c->db, err)) == 0) {
		found = localfs_db_mbox_get(&c->db, name, mb_r, err);
		if (found > 0 && !mb_r->noselect && localfs_db_mbox_recent(&c->db, mb_r, err) < 0)
			found = -1;
		localfs_db_end_read(&c->db);
	}
	localfs_pool_put(&c);
	if (found < 0)
		return -1;
	if (!found || mb_r->noselect)
		return localfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
				    "%s(%s) failed: %s", call, name,
				    found ? "a \\Noselect node" : "no such mailbox");
	return 0;
}

int localfs_mailbox_status(void *user, const char *name,
			   struct vimap_mailbox_info *info_r,
			   struct vimap_storage_error *err)
{
	struct localfs_mbox mb;

	if (localfs_mailbox_lookup(user, "mailbox_status", name, &mb, err) < 0)
		return -1;
	localfs_mailbox_info(&mb, info_r);
	return 0;
}

/* "name/" and "name0": the bounds of name's children. */
static void localfs_mailbox_bounds(const char *name, char **lo_r, char **hi_r)
{
	*lo_r = xasprintf("%s/", name);
	*hi_r = xasprintf("%s0", name);
}

/* 1 when `name` has children, 0 when not, -1 on error. */
static int localfs_mailbox_has_children(struct localfs_db *db, const char *name,
					struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_MB_CHILD, err);
	char *lo, *hi;
	int rc, ret;

	if (stmt == NULL)
		return -1;
	localfs_mailbox_bounds(name, &lo, &hi);
	sqlite3_bind_text(stmt, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, hi, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	ret = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0
		: localfs_db_fail(db, rc, "sqlite3_step", "select child mailbox", err);
	sqlite3_reset(stmt);
	free(lo);
	free(hi);
	return ret;
}

/* Deletes every message and expunge record of mailbox `id`, and gives
   their blocks back to the quota. */
static int localfs_mailbox_empty(struct localfs_db *db, int64_t id,
				 struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_MSG_DELETE_ALL, err);
	int64_t bytes = 0, blocks = 0;
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t size = sqlite3_column_int64(stmt, 0);

		bytes += size;
		blocks += (int64_t)localfs_blocks((uint64_t)size);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return localfs_db_fail(db, rc, "sqlite3_step", "delete mailbox messages", err);
	if ((stmt = localfs_db_stmt(db, LOCALFS_EXP_DELETE_ALL, err)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	if (localfs_db_exec(db, stmt, LOCALFS_EXP_DELETE_ALL, err) < 0)
		return -1;
	return localfs_db_quota_add(db, -bytes, -blocks, NULL, err);
}

/* The body of mailbox_delete, inside its transaction. */
static int localfs_mailbox_delete_in(struct localfs_db *db, const char *name,
				     struct vimap_storage_error *err)
{
	struct localfs_mbox mb;
	enum localfs_stmt id;
	sqlite3_stmt *stmt;
	int found, children;

	if ((found = localfs_db_mbox_get(db, name, &mb, err)) <= 0)
		return found < 0 ? -1 : localfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
						     "mailbox_delete(%s) failed: no such mailbox",
						     name);
	if ((children = localfs_mailbox_has_children(db, name, err)) < 0)
		return -1;
	if (children && mb.noselect)
		return localfs_fail(err, VIMAP_STORAGE_ERR_CANNOT, "mailbox_delete(%s) failed: "
				    "a \\Noselect node with children", name);
	if (localfs_mailbox_empty(db, mb.id, err) < 0)
		return -1;
	/* With children it stays as a \Noselect node (RFC 3501 6.3.4). */
	id = children ? LOCALFS_MB_NOSELECT : LOCALFS_MB_DELETE;
	if ((stmt = localfs_db_stmt(db, id, err)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, mb.id);
	if (localfs_db_exec(db, stmt, id, err) < 0)
		return -1;
	/* Grants go with the mailbox even when its node stays: a mailbox made
	   again under that name must not inherit them. */
	return children ? localfs_acl_clear(db, mb.id, err) : 0;
}

int localfs_mailbox_delete(void *user, const char *name, struct vimap_storage_error *err)
{
	struct localfs_user *u = user;
	struct localfs_conn *c;
	int ret;

	if (strcmp(name, "INBOX") == 0)
		return localfs_fail(err, VIMAP_STORAGE_ERR_CANNOT,
				    "mailbox_delete(INBOX) failed: INBOX cannot be deleted");
	if (localfs_pool_get(u, &c, err) < 0)
		return -1;
	if ((ret = localfs_db_begin_write(&c->db, err)) == 0) {
		if (localfs_mailbox_delete_in(&c->db, name, err) < 0) {
			localfs_db_rollback_write(&c->db);
			ret = -1;
		} else {
			ret = localfs_db_commit_write(&c->db, err);
		}
	}
	localfs_pool_put(&c);
	/* Its files and cache blobs go after the commit (localfs-gc.c). */
	if (ret == 0)
		localfs_gc_schedule(u->st, u->shared);
	return ret;
}

/* RENAME INBOX: a new mailbox `to` takes INBOX's messages (RFC 3501 6.3.5). */
static int localfs_mailbox_rename_inbox(struct localfs_db *db, const char *to,
					struct vimap_storage_error *err)
{
	struct localfs_mbox inbox, dest;
	int64_t id;
	int found;

	if (localfs_mailbox_create_in(db, to, 0, &id, err) < 0)
		return -1;
	if ((found = localfs_db_mbox_get(db, "INBOX", &inbox, err)) > 0)
		found = localfs_db_mbox_get_id(db, id, &dest, err);
	if (found <= 0)
		return found < 0 ? -1 : localfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL,
						     "mailbox_rename(INBOX, %s) failed: a "
						     "mailbox row vanished", to);
	return localfs_copy_move_all(db, &inbox, &dest, err);
}

/* Renames one row `name` to `newname`, which must be free. */
static int localfs_mailbox_rename_one(struct localfs_db *db, const char *name,
				      const char *newname, struct vimap_storage_error *err)
{
	struct localfs_mbox mb, other;
	sqlite3_stmt *stmt;
	int found;

	if ((found = localfs_db_mbox_get(db, newname, &other, err)) != 0)
		return found < 0 ? -1 : localfs_fail(err, VIMAP_STORAGE_ERR_EXISTS,
						     "mailbox_rename failed: %s exists", newname);
	if ((found = localfs_db_mbox_get(db, name, &mb, err)) <= 0)
		return found < 0 ? -1 : localfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL,
						     "mailbox_rename failed: %s vanished", name);
	if ((stmt = localfs_db_stmt(db, LOCALFS_MB_RENAME, err)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, mb.id);
	sqlite3_bind_text(stmt, 2, newname, -1, SQLITE_STATIC);
	return localfs_db_exec(db, stmt, LOCALFS_MB_RENAME, err);
}

/* Renames `from` and each child to `to` and the same suffix. */
static int localfs_mailbox_rename_tree(struct localfs_db *db, const char *from,
				       const char *to, struct vimap_storage_error *err)
{
	struct storage_names nl = STORAGE_NAMES_INIT;
	sqlite3_stmt *stmt = localfs_db_stmt(db, LOCALFS_MB_CHILDREN, err);
	size_t from_len = strlen(from);
	char *lo, *hi;
	int rc, ret = 0;
	unsigned i;

	if (stmt == NULL)
		return -1;
	localfs_mailbox_bounds(from, &lo, &hi);
	sqlite3_bind_text(stmt, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, hi, -1, SQLITE_STATIC);
	storage_names_add(&nl, from, NULL);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		storage_names_add(&nl, (const char *)sqlite3_column_text(stmt, 1), NULL);
	sqlite3_reset(stmt);
	free(lo);
	free(hi);
	if (rc != SQLITE_DONE)
		ret = localfs_db_fail(db, rc, "sqlite3_step", "select child mailboxes", err);
	if (ret == 0)
		ret = localfs_mailbox_parents(db, to, err);
	for (i = 0; ret == 0 && i < nl.count; i++) {
		char *newname = xasprintf("%s%s", to, nl.names[i] + from_len);

		ret = localfs_mailbox_rename_one(db, nl.names[i], newname, err);
		free(newname);
	}
	storage_names_free(&nl);
	return ret;
}

static int localfs_mailbox_rename_in(struct localfs_db *db, const char *from, const char *to,
				     struct vimap_storage_error *err)
{
	struct localfs_mbox mb, dest;
	size_t from_len = strlen(from);
	int found;

	if ((found = localfs_db_mbox_get(db, from, &mb, err)) <= 0)
		return found < 0 ? -1 : localfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
						     "mailbox_rename(%s, %s) failed: no such "
						     "mailbox", from, to);
	if ((found = localfs_db_mbox_get(db, to, &dest, err)) != 0 || strcmp(to, "INBOX") == 0)
		return found < 0 ? -1 : localfs_fail(err, VIMAP_STORAGE_ERR_EXISTS,
						     "mailbox_rename(%s, %s) failed: %s exists",
						     from, to, to);
	if (strncmp(to, from, from_len) == 0 && to[from_len] == '/')
		return localfs_fail(err, VIMAP_STORAGE_ERR_CANNOT, "mailbox_rename(%s, %s) "
				    "failed: a mailbox cannot move under itself", from, to);
	if (strcmp(from, "INBOX") == 0)
		return localfs_mailbox_rename_inbox(db, to, err);
	return localfs_mailbox_rename_tree(db, from, to, err);
}

int localfs_mailbox_rename(void *user, const char *from, const char *to,
			   struct vimap_storage_error *err)
{
	struct localfs_conn *c;
	int ret;

	if (localfs_pool_get(user, &c, err) < 0)
		return -1;
	if ((ret = localfs_db_begin_write(&c->db, err)) == 0) {
		if (localfs_mailbox_rename_in(&c->db, from, to, err) < 0) {
			localfs_db_rollback_write(&c->db);
			ret = -1;
		} else {
			ret = localfs_db_commit_write(&c->db, err);
		}
	}
	localfs_pool_put(&c);
	return ret;
}
