/* sfs: queries on rows that several operations share (user lock, mailbox
 * rows, counters, quota, UIDVALIDITY) and keyword lists. */
#include "autoconfig.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "sfs-private.h"
#include "strbuf.h"
#include "xalloc.h"

int sfs_db_lock_user(struct sfs_conn *c, struct sfs_user *u, const char *call,
		     struct vimap_storage_error *err)
{
	struct sfs_params p;
	PGresult *res;
	int rows;

	sfs_p_init(&p);
	sfs_p_int(&p, u->id);
	if ((res = sfs_exec(c, SFS_USER_LOCK, &p, 0, err)) == NULL)
		return -1;
	rows = PQntuples(res);
	PQclear(res);
	if (rows == 0)
		return sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT, "%s failed: user %s is no "
				"longer enrolled", call, u->name);
	return 0;
}

static void sfs_db_read_mbox(const PGresult *res, struct sfs_mbox *mb)
{
	const char *name = sfs_get_text(res, 0, 10);

	mb->id = sfs_get_int(res, 0, 0);
	mb->uidvalidity = (uint32_t)sfs_get_int(res, 0, 1);
	mb->uidnext = (uint32_t)sfs_get_int(res, 0, 2);
	mb->highestmodseq = (uint64_t)sfs_get_int(res, 0, 3);
	mb->first_recent_uid = (uint32_t)sfs_get_int(res, 0, 4);
	mb->special_use = (uint32_t)sfs_get_int(res, 0, 5);
	mb->noselect = sfs_get_int(res, 0, 6) != 0;
	mb->messages = (uint32_t)sfs_get_int(res, 0, 7);
	mb->unseen = (uint32_t)sfs_get_int(res, 0, 8);
	mb->size = (uint64_t)sfs_get_int(res, 0, 9);
	mb->recent = PQnfields(res) > 11 ? (uint32_t)sfs_get_int(res, 0, 11) : 0;
	snprintf(mb->name, sizeof(mb->name), "%s", name != NULL ? name : "");
}

static int sfs_db_mbox_query(struct sfs_conn *c, enum sfs_stmt id, const struct sfs_params *p,
			     struct sfs_mbox *mb_r, struct vimap_storage_error *err)
{
	PGresult *res = sfs_exec(c, id, p, 0, err);
	int found;

	if (res == NULL)
		return -1;
	found = PQntuples(res) > 0;
	if (found)
		sfs_db_read_mbox(res, mb_r);
	PQclear(res);
	return found;
}

int sfs_db_mbox_get(struct sfs_conn *c, int64_t user_id, const char *name, int lock,
		    struct sfs_mbox *mb_r, struct vimap_storage_error *err)
{
	struct sfs_params p;

	sfs_p_init(&p);
	sfs_p_int(&p, user_id);
	sfs_p_text(&p, name);
	return sfs_db_mbox_query(c, lock ? SFS_MB_GET_LOCK : SFS_MB_GET, &p, mb_r, err);
}

int sfs_db_mbox_get_id(struct sfs_conn *c, int64_t id, int lock,
		       struct sfs_mbox *mb_r, struct vimap_storage_error *err)
{
	struct sfs_params p;

	sfs_p_init(&p);
	sfs_p_int(&p, id);
	return sfs_db_mbox_query(c, lock ? SFS_MB_GET_ID_LOCK : SFS_MB_GET_ID, &p, mb_r, err);
}

int sfs_db_mbox_status(struct sfs_state *st, struct sfs_conn *c, int64_t user_id,
		       const char *name, int64_t id, struct sfs_mbox *mb_r,
		       struct vimap_storage_error *err)
{
	enum sfs_stmt stmt = name != NULL ? SFS_MB_STATUS : SFS_MB_STATUS_ID;
	struct sfs_conn *own = NULL;
	struct sfs_params p;
	PGresult *res;
	int found;

	sfs_p_init(&p);
	if (name != NULL) {
		sfs_p_int(&p, user_id);
		sfs_p_text(&p, name);
	} else {
		sfs_p_int(&p, id);
	}
	if (c != NULL)
		res = sfs_exec(c, stmt, &p, 0, err);
	else if (sfs_query(st, &own, stmt, &p, 0, &res, err) < 0)
		return -1;
	if (res == NULL)
		return -1;
	found = PQntuples(res) > 0;
	if (found)
		sfs_db_read_mbox(res, mb_r);
	PQclear(res);
	sfs_pool_put(st, &own);
	return found;
}

int sfs_db_mbox_counts(struct sfs_conn *c, const struct sfs_mbox *mb, int64_t messages,
		       int64_t unseen, int64_t size, struct vimap_storage_error *err)
{
	struct sfs_params p;

	sfs_p_init(&p);
	sfs_p_int(&p, mb->id);
	sfs_p_int(&p, messages);
	sfs_p_int(&p, unseen);
	sfs_p_int(&p, size);
	sfs_p_int(&p, mb->uidnext);
	sfs_p_int(&p, (int64_t)mb->highestmodseq);
	return sfs_run(c, SFS_MB_COUNTS, &p, err);
}

int sfs_db_quota_add(struct sfs_conn *c, int64_t user_id, int64_t bytes, int64_t blocks,
		     const char *check_call, struct vimap_storage_error *err)
{
	struct sfs_params p;
	PGresult *res;
	int64_t used, limit;

	sfs_p_init(&p);
	sfs_p_int(&p, user_id);
	sfs_p_int(&p, bytes);
	sfs_p_int(&p, blocks);
	if ((res = sfs_exec(c, SFS_USER_QUOTA_ADD, &p, 0, err)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
				"%s failed: the user is no longer enrolled",
				check_call != NULL ? check_call : "quota");
	}
	used = sfs_get_int(res, 0, 0);
	limit = sfs_get_int(res, 0, 1);
	PQclear(res);
	/* The caller rolls the transaction back on failure: the update goes. */
	if (check_call != NULL && blocks > 0 && used > limit)
		return sfs_fail(err, VIMAP_STORAGE_ERR_OVERQUOTA,
				"%s failed: over quota: %lld blocks needed, %lld of %lld in use",
				check_call, (long long)blocks, (long long)(used - blocks),
				(long long)limit);
	return 0;
}

int sfs_db_uidvalidity(struct sfs_conn *c, int64_t user_id, uint32_t *uidvalidity_r,
		       struct vimap_storage_error *err)
{
	struct sfs_params p;
	PGresult *res;
	int64_t v;

	sfs_p_init(&p);
	sfs_p_int(&p, user_id);
	sfs_p_int(&p, (int64_t)time(NULL));
	if ((res = sfs_exec(c, SFS_USER_UIDVALIDITY, &p, 0, err)) == NULL)
		return -1;
	v = PQntuples(res) > 0 ? sfs_get_int(res, 0, 0) : -1;
	PQclear(res);
	if (v < 0)
		return sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
				"uidvalidity failed: the user is no longer enrolled");
	if (v > (int64_t)UINT32_MAX)
		return sfs_fail(err, VIMAP_STORAGE_ERR_LIMIT, "UIDVALIDITY would pass 2^32-1");
	*uidvalidity_r = (uint32_t)v;
	return 0;
}

void sfs_mailbox_info(const struct sfs_mbox *mb, struct vimap_mailbox_info *info_r)
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

/* ---- keyword lists (the same rules as vimap_kw() in the schema) ---- */

/* 1 when word w (n bytes) is in the space-separated list. */
static int sfs_db_has_word(const char *list, const char *w, size_t n)
{
	while (list != NULL && *list != '\0') {
		size_t len;

		while (*list == ' ')
			list++;
		len = strcspn(list, " ");
		if (len == n && strncasecmp(list, w, n) == 0)
			return 1;
		list += len;
	}
	return 0;
}

/* Appends the words of `s` to out, skipping those in `skip` and those out
   already has. */
static void sfs_db_add_words(struct strbuf *out, const char *s, const char *skip)
{
	while (s != NULL && *s != '\0') {
		size_t n;

		while (*s == ' ')
			s++;
		n = strcspn(s, " ");
		if (n > 0 && !sfs_db_has_word(skip, s, n) && !sfs_db_has_word(out->data, s, n)) {
			if (out->len > 0)
				strbuf_appendc(out, ' ');
			strbuf_append(out, s, n);
		}
		s += n;
	}
}

char *sfs_db_keywords(const char *old, int mode, const char *arg)
{
	struct strbuf out = STRBUF_INIT;

	if (mode != VIMAP_STORE_REPLACE)
		sfs_db_add_words(&out, old, mode == VIMAP_STORE_REMOVE ? arg : NULL);
	if (mode != VIMAP_STORE_REMOVE)
		sfs_db_add_words(&out, arg, NULL);
	if (out.data == NULL)
		return xstrdup("");
	return strbuf_steal(&out);
}
