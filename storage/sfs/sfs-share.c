/* sfs: the two small tables behind sharing (RFC 4314 ACL, SHAREFOLDER):
 * vimap_acl, keyed by mailbox id (so an entry follows its mailbox through
 * a rename and goes with it on delete), and vimap_links, the user's names
 * for other users' mailboxes.  The kernel checks rights and opens the
 * owner's mailbox itself; these calls only keep the rows. */
#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include "sfs-private.h"
#include "xalloc.h"

/* Rows of (a, b[, c]) read before any callback runs. */
struct sfs_rows {
	char **v;
	unsigned cols, count, alloc;
};

static int sfs_rows_read(struct sfs_conn *c, enum sfs_stmt id, const struct sfs_params *p,
			 unsigned cols, struct sfs_rows *rows, struct vimap_storage_error *err)
{
	PGresult *res = sfs_exec(c, id, p, 0, err);
	int i, n;
	unsigned k;

	if (res == NULL)
		return -1;
	n = PQntuples(res);
	rows->cols = cols;
	rows->count = (unsigned)n;
	rows->v = xcalloc((size_t)n * cols + 1, sizeof(*rows->v));
	for (i = 0; i < n; i++) {
		for (k = 0; k < cols; k++) {
			const char *s = sfs_get_text(res, i, (int)k);

			rows->v[(size_t)i * cols + k] = xstrdup(s != NULL ? s : "");
		}
	}
	PQclear(res);
	return 0;
}

static void sfs_rows_free(struct sfs_rows *rows)
{
	unsigned i;

	for (i = 0; i < rows->count * rows->cols; i++)
		free(rows->v[i]);
	free(rows->v);
}

/* The id of the user's mailbox `name`: NONEXISTENT (naming call) when none. */
static int sfs_share_mailbox(struct sfs_conn *c, struct sfs_user *u, const char *call,
			     const char *name, int lock, int64_t *id_r,
			     struct vimap_storage_error *err)
{
	struct sfs_mbox mb;
	int found = sfs_db_mbox_get(c, u->id, name, lock, &mb, err);

	if (found <= 0)
		return found < 0 ? -1 : sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
						 "%s(%s) failed: no such mailbox", call, name);
	*id_r = mb.id;
	return 0;
}

int sfs_acl_list(void *user, const char *mailbox, vimap_acl_cb *cb, void *ctx,
		 struct vimap_storage_error *err)
{
	struct sfs_user *u = user;
	struct sfs_rows rows = { NULL, 0, 0, 0 };
	struct sfs_params p;
	struct sfs_conn *c;
	int64_t id = 0;
	unsigned i;
	int ret;

	if (sfs_begin(u->st, 1, &c, err) < 0)
		return -1;
	ret = sfs_share_mailbox(c, u, "acl_list", mailbox, 0, &id, err);
	if (ret == 0) {
		sfs_p_init(&p);
		sfs_p_int(&p, id);
		ret = sfs_rows_read(c, SFS_ACL_LIST, &p, 2, &rows, err);
	}
	ret = sfs_end(u->st, &c, ret, err);
	for (i = 0; ret == 0 && i < rows.count; i++)
		cb(ctx, rows.v[i * 2], rows.v[i * 2 + 1]);
	sfs_rows_free(&rows);
	return ret;
}

int sfs_acl_set(void *user, const char *mailbox, const char *identifier,
		const char *rights, struct vimap_storage_error *err)
{
	struct sfs_user *u = user;
	struct sfs_params p;
	struct sfs_conn *c;
	int64_t id = 0;
	int ret;

	if (sfs_begin(u->st, 0, &c, err) < 0)
		return -1;
	ret = sfs_db_lock_user(c, u, "acl_set", err);
	if (ret == 0)
		ret = sfs_share_mailbox(c, u, "acl_set", mailbox, 1, &id, err);
	if (ret == 0) {
		sfs_p_init(&p);
		sfs_p_int(&p, id);
		sfs_p_text(&p, identifier);
		if (rights == NULL || *rights == '\0') {
			ret = sfs_run(c, SFS_ACL_DEL, &p, err);
		} else {
			sfs_p_text(&p, rights);
			ret = sfs_run(c, SFS_ACL_SET, &p, err);
		}
	}
	return sfs_end(u->st, &c, ret, err);
}

static int sfs_link_set_in(struct sfs_conn *c, struct sfs_user *u, const char *name,
			   const char *owner, const char *owner_mailbox,
			   struct vimap_storage_error *err)
{
	struct sfs_params p;
	PGresult *res;
	int rows;

	if (sfs_db_lock_user(c, u, "link_set", err) < 0)
		return -1;
	sfs_p_init(&p);
	sfs_p_int(&p, u->id);
	sfs_p_text(&p, name);
	if (owner != NULL) {
		sfs_p_text(&p, owner);
		sfs_p_text(&p, owner_mailbox != NULL ? owner_mailbox : "");
	}
	if ((res = sfs_exec(c, owner != NULL ? SFS_LINK_ADD : SFS_LINK_DEL, &p, 0, err)) == NULL)
		return -1;
	rows = PQntuples(res);
	PQclear(res);
	if (rows > 0)
		return 0;
	if (owner != NULL)
		return sfs_fail(err, VIMAP_STORAGE_ERR_EXISTS, "link_set(%s) failed: the link "
				"exists", name);
	return sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT, "link_set(%s) failed: no such "
			"link", name);
}

int sfs_link_set(void *user, const char *name, const char *owner,
		 const char *owner_mailbox, struct vimap_storage_error *err)
{
	struct sfs_user *u = user;
	struct sfs_conn *c;

	if (sfs_begin(u->st, 0, &c, err) < 0)
		return -1;
	return sfs_end(u->st, &c, sfs_link_set_in(c, u, name, owner, owner_mailbox, err), err);
}

int sfs_link_list(void *user, vimap_link_cb *cb, void *ctx, struct vimap_storage_error *err)
{
	struct sfs_user *u = user;
	struct sfs_rows rows = { NULL, 0, 0, 0 };
	struct sfs_params p;
	struct sfs_conn *c;
	unsigned i;
	int ret;

	if (sfs_begin(u->st, 1, &c, err) < 0)
		return -1;
	sfs_p_init(&p);
	sfs_p_int(&p, u->id);
	ret = sfs_end(u->st, &c, sfs_rows_read(c, SFS_LINK_LIST, &p, 3, &rows, err), err);
	for (i = 0; ret == 0 && i < rows.count; i++)
		cb(ctx, rows.v[i * 3], rows.v[i * 3 + 1], rows.v[i * 3 + 2]);
	sfs_rows_free(&rows);
	return ret;
}
