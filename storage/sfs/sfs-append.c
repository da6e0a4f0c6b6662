/* sfs: APPEND.  One transaction per call: the bodies are written first,
 * chunk by chunk (each chunk one parameter of one statement, so no copy of
 * a whole large message is made, and the user's lock is not held while a
 * large message uploads); then the user's row is locked by the quota
 * update, the mailbox row locked, the UIDs taken from its uidnext, the
 * message rows inserted and the counters moved on.  Two processes
 * appending to one mailbox queue on the row locks, so their UIDs never
 * collide; a failure (over quota, no such mailbox, lost connection) rolls
 * everything back, bodies included. */
#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sfs-private.h"
#include "xalloc.h"

/* Writes one message's body; *body_r is its id. */
static int sfs_append_body(struct sfs_conn *c, struct sfs_user *u,
			   const struct vimap_append *msg, int64_t *body_r,
			   struct vimap_storage_error *err)
{
	size_t first = msg->size < SFS_CHUNK ? msg->size : SFS_CHUNK, off;
	struct sfs_params p;
	PGresult *res;
	int seq;

	sfs_p_init(&p);
	sfs_p_int(&p, u->id);
	sfs_p_int(&p, u->group);
	sfs_p_int(&p, (int64_t)msg->size);
	sfs_p_bin(&p, msg->data, first);
	if ((res = sfs_exec(c, SFS_BODY_INSERT, &p, 0, err)) == NULL)
		return -1;
	*body_r = sfs_get_int(res, 0, 0);
	PQclear(res);
	for (off = first, seq = 1; off < msg->size; off += SFS_CHUNK, seq++) {
		size_t n = msg->size - off < SFS_CHUNK ? msg->size - off : SFS_CHUNK;

		sfs_p_init(&p);
		sfs_p_int(&p, u->group);
		sfs_p_int(&p, *body_r);
		sfs_p_int(&p, seq);
		sfs_p_bin(&p, msg->data + off, n);
		if (sfs_run(c, SFS_CHUNK_INSERT, &p, err) < 0)
			return -1;
	}
	return 0;
}

/* Inserts one message row. */
static int sfs_append_row(struct sfs_conn *c, int64_t mailbox_id, uint32_t uid,
			  int64_t body_id, uint64_t modseq, const struct vimap_append *msg,
			  struct vimap_storage_error *err)
{
	char *keywords = sfs_db_keywords(NULL, VIMAP_STORE_REPLACE,
					 msg->keywords != NULL ? msg->keywords : "");
	struct sfs_params p;
	int ret;

	sfs_p_init(&p);
	sfs_p_int(&p, mailbox_id);
	sfs_p_int(&p, uid);
	sfs_p_int(&p, body_id);
	sfs_p_int(&p, msg->flags & VIMAP_FLAG_ALL);
	sfs_p_text(&p, keywords);
	sfs_p_int(&p, (int64_t)modseq);
	sfs_p_int(&p, msg->internal_date);
	sfs_p_int(&p, msg->tz_offset);
	sfs_p_int(&p, (int64_t)msg->size);
	if (msg->cache != NULL && msg->cache_size > 0)
		sfs_p_bin(&p, msg->cache, msg->cache_size);
	else
		sfs_p_text(&p, NULL);
	ret = sfs_run(c, SFS_MSG_INSERT, &p, err);
	free(keywords);
	return ret;
}

/* append_once: 1 (with the earlier UID and UIDVALIDITY) when the user's
   store saw `id`, 0 when not, -1 on error.  Under the user's lock. */
static int sfs_append_seen(struct sfs_conn *c, struct sfs_user *u, const char *id,
			   uint32_t *uidvalidity_r, uint32_t *uid_r,
			   struct vimap_storage_error *err)
{
	struct sfs_params p;
	PGresult *res;
	int found;

	sfs_p_init(&p);
	sfs_p_int(&p, u->id);
	sfs_p_text(&p, id);
	if ((res = sfs_exec(c, SFS_DLV_GET, &p, 0, err)) == NULL)
		return -1;
	found = PQntuples(res) > 0;
	if (found) {
		*uid_r = (uint32_t)sfs_get_int(res, 0, 0);
		*uidvalidity_r = (uint32_t)sfs_get_int(res, 0, 1);
	}
	PQclear(res);
	return found;
}

/* Records delivery `id` as UID uid of mailbox_id; one call in 64 also
   forgets the user's ids older than SFS_DELIVERY_KEEP. */
static int sfs_append_record(struct sfs_conn *c, struct sfs_user *u, const char *id,
			     int64_t mailbox_id, uint32_t uid, struct vimap_storage_error *err)
{
	int64_t now = (int64_t)time(NULL);
	struct sfs_params p;

	sfs_p_init(&p);
	sfs_p_int(&p, u->id);
	sfs_p_text(&p, id);
	sfs_p_int(&p, mailbox_id);
	sfs_p_int(&p, uid);
	sfs_p_int(&p, now);
	if (sfs_run(c, SFS_DLV_ADD, &p, err) < 0)
		return -1;
	if ((uid & 63) != 0)
		return 0;
	sfs_p_init(&p);
	sfs_p_int(&p, u->id);
	sfs_p_int(&p, now - SFS_DELIVERY_KEEP);
	return sfs_run(c, SFS_DLV_PRUNE, &p, err);
}

/* The part after the bodies: lock, check, UIDs, rows, counters.  With a
   delivery id seen before: 1, nothing stored (the caller rolls back). */
static int sfs_append_rows(struct sfs_conn *c, struct sfs_user *u, const char *mailbox,
			   const struct vimap_append *msgs, unsigned count,
			   const int64_t *bodies, const char *delivery_id,
			   uint32_t *uidvalidity_r, uint32_t *uids_r,
			   struct vimap_storage_error *err)
{
	int64_t bytes = 0, blocks = 0, unseen = 0;
	struct sfs_mbox mb;
	uint64_t modseq;
	unsigned i;
	int found;

	for (i = 0; i < count; i++) {
		bytes += (int64_t)msgs[i].size;
		blocks += (int64_t)sfs_blocks(msgs[i].size);
		unseen += (msgs[i].flags & VIMAP_FLAG_SEEN) == 0;
	}
	/* The quota update is the user's lock. */
	if (sfs_db_quota_add(c, u->id, bytes, blocks, "append", err) < 0)
		return -1;
	if (delivery_id != NULL &&
	    (found = sfs_append_seen(c, u, delivery_id, uidvalidity_r, uids_r, err)) != 0)
		return found;
	if ((found = sfs_db_mbox_get(c, u->id, mailbox, 1, &mb, err)) <= 0 || mb.noselect)
		return found < 0 ? -1 : sfs_fail(err, VIMAP_STORAGE_ERR_NONEXISTENT,
						 "append(%s) failed: %s", mailbox,
						 found ? "a \\Noselect node" : "no such mailbox");
	if ((uint64_t)mb.uidnext + count > SFS_UID_MAX)
		return sfs_fail(err, VIMAP_STORAGE_ERR_LIMIT, "append(%s) failed: no UIDs left",
				mailbox);
	modseq = mb.highestmodseq + 1;
	for (i = 0; i < count; i++) {
		if (sfs_append_row(c, mb.id, mb.uidnext + i, bodies[i], modseq, &msgs[i], err) < 0)
			return -1;
		uids_r[i] = mb.uidnext + i;
	}
	if (delivery_id != NULL && count > 0 &&
	    sfs_append_record(c, u, delivery_id, mb.id, mb.uidnext, err) < 0)
		return -1;
	mb.uidnext += count;
	if (count > 0)
		mb.highestmodseq = modseq;
	*uidvalidity_r = mb.uidvalidity;
	if (sfs_db_mbox_counts(c, &mb, count, unseen, bytes, err) < 0)
		return -1;
	return sfs_notify(u->st, c, u->name, mb.name, err);
}

/* append and append_once; *duplicate_r (may be NULL without an id). */
static int sfs_append_run(struct sfs_user *u, const char *mailbox,
			  const struct vimap_append *msgs, unsigned count,
			  const char *delivery_id, uint32_t *uidvalidity_r, uint32_t *uids_r,
			  int *duplicate_r, struct vimap_storage_error *err)
{
	int64_t *bodies = xcalloc(count > 0 ? count : 1, sizeof(*bodies));
	struct sfs_conn *c;
	unsigned i;
	int ret = 0;

	if (sfs_begin(u->st, 0, &c, err) < 0) {
		free(bodies);
		return -1;
	}
	for (i = 0; ret == 0 && i < count; i++)
		ret = sfs_append_body(c, u, &msgs[i], &bodies[i], err);
	if (ret == 0)
		ret = sfs_append_rows(c, u, mailbox, msgs, count, bodies, delivery_id,
				      uidvalidity_r, uids_r, err);
	free(bodies);
	if (duplicate_r != NULL)
		*duplicate_r = ret > 0;
	if (ret > 0) {
		/* Seen before: the bodies just written go with the rollback. */
		sfs_rollback(u->st, &c);
		return 0;
	}
	return sfs_end(u->st, &c, ret, err);
}

int sfs_append(void *user, const char *mailbox, const struct vimap_append *msgs,
	       unsigned count, uint32_t *uidvalidity_r, uint32_t *uids_r,
	       struct vimap_storage_error *err)
{
	return sfs_append_run(user, mailbox, msgs, count, NULL, uidvalidity_r, uids_r, NULL,
			      err);
}

int sfs_append_once(void *user, const char *mailbox, const struct vimap_append *msg,
		    const char *delivery_id, uint32_t *uidvalidity_r, uint32_t *uid_r,
		    int *duplicate_r, struct vimap_storage_error *err)
{
	return sfs_append_run(user, mailbox, msg, 1, delivery_id, uidvalidity_r, uid_r,
			      duplicate_r, err);
}
