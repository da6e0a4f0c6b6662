/* sfs: mailboxes and subscriptions of an open user (LIST, CREATE, DELETE,
 * RENAME, STATUS, SUBSCRIBE, LSUB).  The hierarchy separator is '/': the
 * children of "a" are the names in ["a/", "a0") ('0' is the byte after '/'
 * and names compare bytewise, COLLATE "C"), so one index range finds them.
 * ACL entries are keyed by mailbox id: a rename takes them along, a delete
 * (the row's cascade) takes them away. */
#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include "sfs-private.h"
#include "xalloc.h"

/* Inserts a mailbox row (a \Noselect node when `noselect`). */
static int sfs_mailbox_insert(struct sfs_conn *c, int64_t user_id, const char *name,
			      uint32_t special_use, int noselect, int64_t *id_r,
			      struct vimap_storage_error *err)
{
	uint32_t uidvalidity = 0;
	struct sfs_params p;
	PGresult *res;

	if (!noselect && sfs_db_uidvalidity(c, user_id, &uidvalidity, err) < 0)
		return -1;
	sfs_p_init(&p);
	sfs_p_int(&p, user_id);
	sfs_p_text(&p, name);
	sfs_p_int(&p, uidvalidity);
	sfs_p_int(&p, special_use);
	sfs_p_int(&p, noselect);
	if ((res = sfs_exec(c, SFS_MB_INSERT, &p, 0, err)) == NULL)
		return -1;
	if (id_r != NULL)
		*id_r = sfs_get_int(res, 0, 0);
	PQclear(res);
	return 0;
}

/* Creates every missing parent of `name` as a \Noselect node. */
static int sfs_mailbox_parents(struct sfs_conn *c, int64_t user_id, const char *name,
			       struct vimap_storage_error *err)
{
	struct sfs_mbox mb;
	const char *p;
	int ret = 0;

	for (p = strchr(name, '/'); p != NULL && ret == 0; p = strchr(p + 1, '/')) {
		char *parent = xstrndup(name, (size_t)(p - name));

		ret = sfs_db_mbox_get(c, user_id, parent, 0, &mb, err);
		if (ret == 0)
			ret = sfs_mailbox_insert(c, user_id, parent, 0, 1, NULL, err);
		else if (ret > 0)
			ret = 0;
		free(parent);
	}
	return ret;
}

int sfs_mailbox_create_in(struct sfs_conn *c, int64_t user_id, const char *name,
			  uint32_t special_use, int64_t *id_r, struct vimap_storage_error *err)
{
	struct sfs_mbox mb;
	uint32_t uidvalidity;
	struct sfs_params p;
	int found = sfs_db_mbox_get(c, user_id, name, 1, &mb, err);

	if (found < 0)
		return -1;
	if (found && !mb.noselect)
		return sfs_fail(err, VIMAP_STORAGE_ERR_EXISTS,
				"mailbox_create(%s) failed: the mailbox exists", name);
	if (!found) {
		if (sfs_mailbox_parents(c, user_id, name, err) < 0)
			return -1;
		return sfs_mailbox_insert(c, user_id, name, special_use, 0, id_r, err);
	}
	/* A \Noselect node becomes a real mailbox, with a new UIDVALIDITY. */
	if (sfs_db_uidvalidity(c, user_id, &uidvalidity, err) < 0)
		return -1;
	sfs_p_init(&p);
	sfs_p_int(&p, mb.id);
	sfs_p_int(&p, uidvalidity);
	sfs_p_int(&p, special_use);
	if (sfs_run(c, SFS_MB_REVIVE, &p, err) < 0)
		return -1;
	if (id_r != NULL)
		*id_r = mb.id;
	return 0;
}

int sfs_mailbox_create(void *user, const char *name, uint32_t special_use,
		       struct vimap_storage_error *err)
{
	struct sfs_user *u = user;
	struct sfs_conn *c;
	int ret;

	if (sfs_begin(u->st, 0, &c, err) < 0)
		return -1;
	ret = sfs_db_lock_user(c, u, "mailbox_create", err);
	if (ret == 0)
		ret = sfs_mailbox_create_in(c, u->id, name, special_use, NULL, err);
	return sfs_end(u->st, &c, ret, err);
}

static int sfs_names_read(struct sfs_conn *c, enum sfs_stmt id, int64_t user_id,
			  struct storage_names *nl, struct vimap_storage_error *err)
{
	struct vimap_mailbox_info info;
	struct sfs_params p;
	PGresult *res;
	int i, n;

	sfs_p_init(&p);
	sfs_p_int(&p, user_id);
	if ((res = sfs_exec(c, id, &p, 0, err)) == NULL)
		return -1;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		int present = id != SFS_SUB_LIST || !PQgetisnull(res, i, 3);

		memset(&info, 0, sizeof(info));
		info.special_use = (uint32_t)sfs_get_int(res, i, 1);
		info.attributes = sfs_get_int(res, i, 2) ? VIMAP_MAILBOX_NOSELECT : 0;
		storage_names_add(nl, sfs_get_text(res, i, 0), present ? &info : NULL);
	}
	PQclear(res);
	return 0;
}

static int sfs_mailbox_names(struct sfs_user *u, enum sfs_stmt id, vimap_name_cb *cb,
			     void *ctx, struct vimap_storage_error *err)
{
	struct storage_names nl = STORAGE_NAMES_INIT;
	struct sfs_conn *c;
	int ret;

	if (sfs_begin(u->st, 1, &c, err) < 0)
		return -1;
	ret = sfs_end(u->st, &c, sfs_names_read(c, id, u->id, &nl, err), err);
	if (ret == 0)
		storage_names_emit(&nl, cb, ctx);
	storage_names_free(&nl);
	return ret;
}

int sfs_mailbox_list(void *user, vimap_name_cb *cb, void *ctx,
		     struct vimap_storage_error *err)
{
	return sfs_mailbox_names(user, SFS_MB_LIST, cb, ctx, err);
}

int sfs_mailbox_subscriptions(void *user, vimap_name_cb *cb, void *ctx,
			      struct vimap_storage_error *err)
{
	return sfs_mailbox_names(user, SFS_SUB_LIST, cb, ctx, err);
}

int sfs_mailbox_subscribe(void *user, const char *name, int on,
			  struct vimap_storage_error *err)
{
	struct sfs_user *u = user;
	struct sfs_params p;
	struct sfs_conn *c;

	if (sfs_begin(u->st, 0, &c, err) < 0)
		return -1;
	sfs_p_init(&p);
	sfs_p_int(&p, u->id);
	sfs_p_text(&p, name);
	return sfs_end(u->st, &c, sfs_run(c, on ? SFS_SUB_ADD : SFS_SUB_DEL, &p, err), err);
}

int sfs_mailbox_lookup(struct sfs_user *u, const char *call, const char *name,
		       struct sfs_mbox *mb_r, struct vimap_storage_error *err)
{
	/* One statement: the counters and the recent count agree. */
	int found = sfs_db_mbox_status(u->st, NULL, u->id, name, 0, mb_r, err);

	if (found < 0)
		return -1;
	if (!found || mb_r->noselect)
		return sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT, "%s(%s) failed: %s", call,
				name, found ? "a \\Noselect node" : "no such mailbox");
	return 0;
}

int sfs_mailbox_status(void *user, const char *name, struct vimap_mailbox_info *info_r,
		       struct vimap_storage_error *err)
{
	struct sfs_mbox mb;

	if (sfs_mailbox_lookup(user, "mailbox_status", name, &mb, err) < 0)
		return -1;
	sfs_mailbox_info(&mb, info_r);
	return 0;
}

/* 1 when `name` has children, 0 when not, -1 on error. */
static int sfs_mailbox_has_children(struct sfs_conn *c, int64_t user_id, const char *name,
				    struct vimap_storage_error *err)
{
	char *lo = xasprintf("%s/", name), *hi = xasprintf("%s0", name);
	struct sfs_params p;
	PGresult *res;
	int ret = -1;

	sfs_p_init(&p);
	sfs_p_int(&p, user_id);
	sfs_p_text(&p, lo);
	sfs_p_text(&p, hi);
	if ((res = sfs_exec(c, SFS_MB_CHILD, &p, 0, err)) != NULL)
		ret = PQntuples(res) > 0;
	PQclear(res);
	free(lo);
	free(hi);
	return ret;
}

/* Deletes every message and expunge record of mailbox `id` and gives their
   blocks back to the quota. */
static int sfs_mailbox_empty(struct sfs_conn *c, int64_t user_id, int64_t id,
			     struct vimap_storage_error *err)
{
	struct sfs_params p;
	PGresult *res;
	int64_t bytes, blocks;

	sfs_p_init(&p);
	sfs_p_int(&p, id);
	if ((res = sfs_exec(c, SFS_MSG_DELETE_ALL, &p, 0, err)) == NULL)
		return -1;
	bytes = sfs_get_int(res, 0, 0);
	blocks = sfs_get_int(res, 0, 1);
	PQclear(res);
	if (sfs_run(c, SFS_EXP_DELETE_ALL, &p, err) < 0)
		return -1;
	return sfs_db_quota_add(c, user_id, -bytes, -blocks, NULL, err);
}

static int sfs_mailbox_delete_in(struct sfs_conn *c, struct sfs_user *u, const char *name,
				 struct vimap_storage_error *err)
{
	struct sfs_params p;
	struct sfs_mbox mb;
	int found, children;

	if ((found = sfs_db_mbox_get(c, u->id, name, 1, &mb, err)) <= 0)
		return found < 0 ? -1 : sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
						 "mailbox_delete(%s) failed: no such mailbox", name);
	if ((children = sfs_mailbox_has_children(c, u->id, name, err)) < 0)
		return -1;
	if (children && mb.noselect)
		return sfs_fail(err, VIMAP_STORAGE_ERR_CANNOT, "mailbox_delete(%s) failed: "
				"a \\Noselect node with children", name);
	if (sfs_mailbox_empty(c, u->id, mb.id, err) < 0)
		return -1;
	sfs_p_init(&p);
	sfs_p_int(&p, mb.id);
	if (!children)
		return sfs_run(c, SFS_MB_DELETE, &p, err);
	/* With children it stays as a \Noselect node (RFC 3501 6.3.4); its
	   ACL goes as with a mailbox deleted. */
	if (sfs_run(c, SFS_ACL_DELETE_ALL, &p, err) < 0)
		return -1;
	return sfs_run(c, SFS_MB_NOSELECT, &p, err);
}

int sfs_mailbox_delete(void *user, const char *name, struct vimap_storage_error *err)
{
	struct sfs_user *u = user;
	struct sfs_conn *c;
	int ret;

	if (strcmp(name, "INBOX") == 0)
		return sfs_fail(err, VIMAP_STORAGE_ERR_CANNOT,
				"mailbox_delete(INBOX) failed: INBOX cannot be deleted");
	if (sfs_begin(u->st, 0, &c, err) < 0)
		return -1;
	ret = sfs_db_lock_user(c, u, "mailbox_delete", err);
	if (ret == 0)
		ret = sfs_mailbox_delete_in(c, u, name, err);
	if (ret == 0)
		ret = sfs_notify(u->st, c, u->name, name, err);
	return sfs_end(u->st, &c, ret, err);
}

/* RENAME INBOX: a new mailbox `to` takes INBOX's messages (RFC 3501 6.3.5). */
static int sfs_mailbox_rename_inbox(struct sfs_conn *c, int64_t user_id, const char *to,
				    struct vimap_storage_error *err)
{
	struct sfs_mbox inbox, dest;
	int64_t id;
	int found;

	if (sfs_mailbox_create_in(c, user_id, to, 0, &id, err) < 0)
		return -1;
	if ((found = sfs_db_mbox_get(c, user_id, "INBOX", 1, &inbox, err)) > 0)
		found = sfs_db_mbox_get_id(c, id, 1, &dest, err);
	if (found <= 0)
		return found < 0 ? -1 : sfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL,
						 "mailbox_rename(INBOX, %s) failed: a mailbox "
						 "row vanished", to);
	return sfs_copy_move_all(c, &inbox, &dest, err);
}

/* Renames `from` and each child to `to` and the same suffix. */
static int sfs_mailbox_rename_tree(struct sfs_conn *c, int64_t user_id, const char *from,
				   const char *to, struct vimap_storage_error *err)
{
	char *lo = xasprintf("%s/", from), *hi = xasprintf("%s0", from);
	size_t from_len = strlen(from);
	struct sfs_params p;
	PGresult *res;
	int i, n, ret = 0;

	sfs_p_init(&p);
	sfs_p_int(&p, user_id);
	sfs_p_text(&p, lo);
	sfs_p_text(&p, hi);
	res = sfs_exec(c, SFS_MB_CHILDREN, &p, 0, err);
	free(lo);
	free(hi);
	if (res == NULL)
		return -1;
	ret = sfs_mailbox_parents(c, user_id, to, err);
	n = PQntuples(res);
	/* The mailbox itself (row -1), then its children. */
	for (i = -1; ret == 0 && i < n; i++) {
		const char *old = i < 0 ? from : sfs_get_text(res, i, 1);
		char *newname = xasprintf("%s%s", to, old + from_len);
		struct sfs_mbox mb;
		int found = sfs_db_mbox_get(c, user_id, old, 1, &mb, err);

		if (found == 0)
			ret = sfs_fail(err, VIMAP_STORAGE_ERR_INTERNAL, "mailbox_rename failed: "
				       "%s vanished", old);
		else if (found < 0)
			ret = -1;
		if (ret == 0) {
			sfs_p_init(&p);
			sfs_p_int(&p, mb.id);
			sfs_p_text(&p, newname);
			ret = sfs_run(c, SFS_MB_RENAME, &p, err);
		}
		free(newname);
	}
	PQclear(res);
	return ret;
}

static int sfs_mailbox_rename_in(struct sfs_conn *c, int64_t user_id, const char *from,
				 const char *to, struct vimap_storage_error *err)
{
	struct sfs_mbox mb, dest;
	size_t from_len = strlen(from);
	int found;

	if ((found = sfs_db_mbox_get(c, user_id, from, 1, &mb, err)) <= 0)
		return found < 0 ? -1 : sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
						 "mailbox_rename(%s, %s) failed: no such mailbox",
						 from, to);
	if ((found = sfs_db_mbox_get(c, user_id, to, 0, &dest, err)) != 0 ||
	    strcmp(to, "INBOX") == 0)
		return found < 0 ? -1 : sfs_fail(err, VIMAP_STORAGE_ERR_EXISTS,
						 "mailbox_rename(%s, %s) failed: %s exists",
						 from, to, to);
	if (strncmp(to, from, from_len) == 0 && to[from_len] == '/')
		return sfs_fail(err, VIMAP_STORAGE_ERR_CANNOT, "mailbox_rename(%s, %s) failed: "
				"a mailbox cannot move under itself", from, to);
	if (strcmp(from, "INBOX") == 0)
		return sfs_mailbox_rename_inbox(c, user_id, to, err);
	return sfs_mailbox_rename_tree(c, user_id, from, to, err);
}

int sfs_mailbox_rename(void *user, const char *from, const char *to,
		       struct vimap_storage_error *err)
{
	struct sfs_user *u = user;
	struct sfs_conn *c;
	int ret;

	if (sfs_begin(u->st, 0, &c, err) < 0)
		return -1;
	ret = sfs_db_lock_user(c, u, "mailbox_rename", err);
	if (ret == 0)
		ret = sfs_mailbox_rename_in(c, u->id, from, to, err);
	if (ret == 0)
		ret = sfs_notify(u->st, c, u->name, from, err);
	return sfs_end(u->st, &c, ret, err);
}
