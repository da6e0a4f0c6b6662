/* localfs: the sharing tables (ABI 1.1): RFC 4314 ACL entries of a user's
 * mailboxes and the SHAREFOLDER links in a user's list.  The kernel checks
 * names and rights and enforces them; this file only keeps the rows. */
#include "autoconfig.h"
#include <string.h>
#include "localfs-private.h"

int localfs_acl_clear(struct localfs_db *db, int64_t mailbox_id,
		      struct vimap_storage_error *err)
{
	static const char sql[] = "DELETE FROM acl WHERE mailbox_id = ?1";
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_prepare_v2(db->db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return localfs_db_fail(db, rc, "sqlite3_prepare", "clear acl", err);
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return localfs_db_fail(db, rc, "sqlite3_step", "clear acl", err);
	return 0;
}

/* The id of the user's selectable-or-not mailbox `name`, in *id_r. */
static int localfs_acl_mailbox(struct localfs_db *db, const char *call, const char *name,
			       int64_t *id_r, struct vimap_storage_error *err)
{
	struct localfs_mbox mb;
	int found = localfs_db_mbox_get(db, name, &mb, err);

	if (found < 0)
		return -1;
	if (found == 0)
		return localfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
				    "%s(%s) failed: no such mailbox", call, name);
	*id_r = mb.id;
	return 0;
}

int localfs_acl_list(void *user, const char *mailbox, vimap_acl_cb *cb, void *ctx,
		     struct vimap_storage_error *err)
{
	struct localfs_conn *c;
	sqlite3_stmt *stmt;
	int64_t id = 0;
	int ret, rc;

	if (localfs_pool_get(user, &c, err) < 0)
		return -1;
	if ((ret = localfs_db_begin_read(&c->db, err)) < 0) {
		localfs_pool_put(&c);
		return -1;
	}
	ret = localfs_acl_mailbox(&c->db, "acl_list", mailbox, &id, err);
	if (ret == 0 && (stmt = localfs_db_stmt(&c->db, LOCALFS_ACL_LIST, err)) == NULL)
		ret = -1;
	if (ret == 0) {
		sqlite3_bind_int64(stmt, 1, id);
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
			cb(ctx, (const char *)sqlite3_column_text(stmt, 0),
			   (const char *)sqlite3_column_text(stmt, 1));
		if (rc != SQLITE_DONE)
			ret = localfs_db_fail(&c->db, rc, "sqlite3_step", "list acl", err);
		sqlite3_reset(stmt);
	}
	localfs_db_end_read(&c->db);
	localfs_pool_put(&c);
	return ret;
}

/* Runs one write statement `id` in its own transaction; binds the texts
   in `args` (NULL-terminated) after an optional mailbox id. */
static int localfs_acl_write(struct localfs_db *db, enum localfs_stmt id,
			     const int64_t *mailbox_id, const char *const *args,
			     struct vimap_storage_error *err)
{
	sqlite3_stmt *stmt = localfs_db_stmt(db, id, err);
	int col = 1;

	if (stmt == NULL)
		return -1;
	if (mailbox_id != NULL)
		sqlite3_bind_int64(stmt, col++, *mailbox_id);
	for (; *args != NULL; args++)
		sqlite3_bind_text(stmt, col++, *args, -1, SQLITE_STATIC);
	return localfs_db_exec(db, stmt, id, err);
}

int localfs_acl_set(void *user, const char *mailbox, const char *identifier,
		    const char *rights, struct vimap_storage_error *err)
{
	const char *set_args[] = { identifier, rights, NULL };
	const char *del_args[] = { identifier, NULL };
	struct localfs_conn *c;
	int64_t id = 0;
	int ret;

	if (localfs_pool_get(user, &c, err) < 0)
		return -1;
	if ((ret = localfs_db_begin_write(&c->db, err)) == 0) {
		ret = localfs_acl_mailbox(&c->db, "acl_set", mailbox, &id, err);
		if (ret == 0)
			ret = rights[0] == '\0'
				? localfs_acl_write(&c->db, LOCALFS_ACL_DEL, &id, del_args, err)
				: localfs_acl_write(&c->db, LOCALFS_ACL_SET, &id, set_args, err);
		if (ret == 0)
			ret = localfs_db_commit_write(&c->db, err);
		else
			localfs_db_rollback_write(&c->db);
	}
	localfs_pool_put(&c);
	return ret;
}

int localfs_link_set(void *user, const char *name, const char *owner,
		     const char *owner_mailbox, struct vimap_storage_error *err)
{
	const char *set_args[] = { name, owner, owner_mailbox, NULL };
	const char *del_args[] = { name, NULL };
	struct localfs_conn *c;
	int ret;

	if (localfs_pool_get(user, &c, err) < 0)
		return -1;
	if ((ret = localfs_db_begin_write(&c->db, err)) == 0) {
		ret = owner != NULL
			? localfs_acl_write(&c->db, LOCALFS_LINK_SET, NULL, set_args, err)
			: localfs_acl_write(&c->db, LOCALFS_LINK_DEL, NULL, del_args, err);
		if (ret < 0 && owner != NULL &&
		    sqlite3_extended_errcode(c->db.db) == SQLITE_CONSTRAINT_PRIMARYKEY)
			localfs_fail(err, VIMAP_STORAGE_ERR_EXISTS,
				     "link_set(%s) failed: the link exists", name);
		else if (ret == 0 && owner == NULL && sqlite3_changes(c->db.db) == 0)
			ret = localfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
					   "link_set(%s) failed: no such link", name);
		if (ret == 0)
			ret = localfs_db_commit_write(&c->db, err);
		else
			localfs_db_rollback_write(&c->db);
	}
	localfs_pool_put(&c);
	return ret;
}

int localfs_link_list(void *user, vimap_link_cb *cb, void *ctx,
		      struct vimap_storage_error *err)
{
	struct localfs_conn *c;
	sqlite3_stmt *stmt;
	int ret = 0, rc;

	if (localfs_pool_get(user, &c, err) < 0)
		return -1;
	if ((stmt = localfs_db_stmt(&c->db, LOCALFS_LINK_LIST, err)) == NULL) {
		ret = -1;
	} else {
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
			cb(ctx, (const char *)sqlite3_column_text(stmt, 0),
			   (const char *)sqlite3_column_text(stmt, 1),
			   (const char *)sqlite3_column_text(stmt, 2));
		if (rc != SQLITE_DONE)
			ret = localfs_db_fail(&c->db, rc, "sqlite3_step", "list links", err);
		sqlite3_reset(stmt);
	}
	localfs_pool_put(&c);
	return ret;
}
