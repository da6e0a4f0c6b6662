/* sfs: COPY and MOVE within one user, and the message move behind RENAME
 * INBOX.  No bytes are copied: a copy is a new message row sharing the
 * source's body (the body's reference count follows, by trigger); a move
 * re-keys the row to the destination (new mailbox, new UID) in the
 * transaction that records the source UID as expunged.  Either is one
 * INSERT ... SELECT or UPDATE for all the messages. */
#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include "sfs-private.h"
#include "strbuf.h"
#include "xalloc.h"

/* One source message. */
struct sfs_copy_row {
	uint32_t uid;
	uint32_t flags;
	uint64_t size;
};

struct sfs_copy_ctx {
	struct sfs_conn *c;
	int64_t mailbox_id;
	struct sfs_copy_row *rows;
	unsigned count, alloc;
	int64_t bytes, blocks, unseen;
	struct vimap_storage_error *err;
};

/* Reads the source rows of a selection. */
static int sfs_copy_read_sel(void *ctx, uint32_t first, uint32_t last, const char *array)
{
	struct sfs_copy_ctx *c = ctx;
	struct sfs_params p;
	PGresult *res;
	int i, n;

	sfs_p_init(&p);
	sfs_p_int(&p, c->mailbox_id);
	sfs_p_int(&p, first);
	sfs_p_int(&p, last);
	sfs_p_text(&p, array);
	if ((res = sfs_exec(c->c, SFS_MSG_SOURCE_RANGE, &p, 0, c->err)) == NULL)
		return -1;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		struct sfs_copy_row *r;

		if (c->count == c->alloc) {
			c->alloc = c->alloc == 0 ? 64 : c->alloc * 2;
			c->rows = xrealloc(c->rows, c->alloc * sizeof(*c->rows));
		}
		r = &c->rows[c->count++];
		r->uid = (uint32_t)sfs_get_int(res, i, 0);
		r->flags = (uint32_t)sfs_get_int(res, i, 1);
		r->size = (uint64_t)sfs_get_int(res, i, 2);
		c->bytes += (int64_t)r->size;
		c->blocks += (int64_t)sfs_blocks(r->size);
		c->unseen += (r->flags & VIMAP_FLAG_SEEN) == 0;
	}
	PQclear(res);
	return 0;
}

/* Copies (or moves) every row of c to `to` from its uidnext, in one
   statement; `to` is not updated. */
static int sfs_copy_rows(struct sfs_copy_ctx *c, const struct sfs_mbox *from,
			 const struct sfs_mbox *to, uint64_t modseq, int move)
{
	struct strbuf arr = STRBUF_INIT;
	struct sfs_params p;
	unsigned i;
	int ret;

	strbuf_appendc(&arr, '{');
	for (i = 0; i < c->count; i++)
		strbuf_appendf(&arr, "%s%u", i > 0 ? "," : "", c->rows[i].uid);
	strbuf_appendc(&arr, '}');
	sfs_p_init(&p);
	sfs_p_int(&p, from->id);
	sfs_p_int(&p, c->rows[0].uid);
	sfs_p_int(&p, c->rows[c->count - 1].uid);
	sfs_p_int(&p, to->id);
	sfs_p_int(&p, to->uidnext);
	sfs_p_int(&p, (int64_t)modseq);
	sfs_p_text(&p, arr.data);
	ret = sfs_run(c->c, move ? SFS_MSG_MOVE : SFS_MSG_COPY, &p, c->err);
	strbuf_free(&arr);
	return ret;
}

/* MOVE: re-keys the rows into `to`, records the sources expunged in
   `from`, and updates both mailboxes' counters (they may be the same). */
static int sfs_copy_move_rows(struct sfs_copy_ctx *c, struct sfs_mbox *from,
			      struct sfs_mbox *to)
{
	uint64_t to_modseq = to->highestmodseq + 1;
	uint32_t *uids;
	unsigned i;
	int ret;

	if (sfs_copy_rows(c, from, to, to_modseq, 1) < 0)
		return -1;
	to->uidnext += c->count;
	to->highestmodseq = to_modseq;
	if (from->id == to->id)
		from->highestmodseq = to_modseq - 1;
	uids = xmalloc(c->count * sizeof(*uids));
	for (i = 0; i < c->count; i++)
		uids[i] = c->rows[i].uid;
	ret = sfs_db_record_expunged(c->c, from->id, uids, c->count, from->highestmodseq + 1,
				     c->err);
	free(uids);
	if (ret < 0)
		return -1;
	if (from->id == to->id)
		return sfs_db_mbox_counts(c->c, to, 0, 0, 0, c->err);
	from->highestmodseq++;
	if (sfs_db_mbox_counts(c->c, from, -(int64_t)c->count, -c->unseen, -c->bytes,
			       c->err) < 0)
		return -1;
	return sfs_db_mbox_counts(c->c, to, c->count, c->unseen, c->bytes, c->err);
}

/* COPY: quota, rows sharing the bodies, counters of `to`. */
static int sfs_copy_copy_rows(struct sfs_copy_ctx *c, int64_t user_id,
			      const struct sfs_mbox *from, struct sfs_mbox *to)
{
	uint64_t modseq = to->highestmodseq + 1;

	if (sfs_db_quota_add(c->c, user_id, c->bytes, c->blocks, "copy", c->err) < 0 ||
	    sfs_copy_rows(c, from, to, modseq, 0) < 0)
		return -1;
	to->uidnext += c->count;
	to->highestmodseq = modseq;
	return sfs_db_mbox_counts(c->c, to, c->count, c->unseen, c->bytes, c->err);
}

/* Fills dest_uids_r: the new UID of each uids[i] that was copied, else 0. */
static void sfs_copy_map(const struct sfs_copy_ctx *c, const uint32_t *uids, unsigned count,
			 uint32_t first_uid, uint32_t *dest_uids_r)
{
	unsigned i, j = 0;

	for (i = 0; i < count; i++) {
		while (j < c->count && c->rows[j].uid < uids[i])
			j++;
		dest_uids_r[i] = j < c->count && c->rows[j].uid == uids[i] ? first_uid + j : 0;
	}
}

struct sfs_copy_args {
	const uint32_t *uids;
	unsigned count;
	const char *dest;
	int move;
	uint32_t uidvalidity;
	uint32_t *dest_uids_r;
};

static int sfs_copy_in(struct sfs_box *b, struct sfs_copy_ctx *c, struct sfs_copy_args *a)
{
	const char *call = a->move ? "move" : "copy";
	struct sfs_mbox from, to;
	uint32_t first_uid;
	int found;

	if (sfs_db_lock_user(c->c, b->user, call, c->err) < 0 ||
	    sfs_box_row(c->c, b, call, 1, &from, c->err) < 0)
		return -1;
	if ((found = sfs_db_mbox_get(c->c, b->user->id, a->dest, 1, &to, c->err)) <= 0 ||
	    to.noselect)
		return found < 0 ? -1 : sfs_fail(c->err, VIMAP_STORAGE_ERR_NONEXISTENT,
						 "%s(%s) failed: %s", call, a->dest, found
						 ? "a \\Noselect node" : "no such mailbox");
	c->mailbox_id = from.id;
	if (a->count > 0 && sfs_box_select(a->uids, a->count, sfs_copy_read_sel, c) < 0)
		return -1;
	if ((uint64_t)to.uidnext + c->count > SFS_UID_MAX)
		return sfs_fail(c->err, VIMAP_STORAGE_ERR_LIMIT, "%s(%s) failed: no UIDs left",
				call, a->dest);
	first_uid = to.uidnext;
	a->uidvalidity = to.uidvalidity;
	if (c->count > 0) {
		if (from.id == to.id)
			to = from;
		if (a->move ? sfs_copy_move_rows(c, &from, &to) < 0
		    : sfs_copy_copy_rows(c, b->user->id, &from, &to) < 0)
			return -1;
		if (sfs_notify(b->user->st, c->c, b->user->name, to.name, c->err) < 0 ||
		    (a->move && from.id != to.id &&
		     sfs_notify(b->user->st, c->c, b->user->name, from.name, c->err) < 0))
			return -1;
	}
	sfs_copy_map(c, a->uids, a->count, first_uid, a->dest_uids_r);
	return 0;
}

int sfs_copy(void *box, const uint32_t *uids, unsigned count, const char *dest, int move,
	     uint32_t *uidvalidity_r, uint32_t *dest_uids_r, vimap_uid_cb *expunged,
	     void *ctx, struct vimap_storage_error *err)
{
	struct sfs_box *b = box;
	struct sfs_copy_args a = { uids, count, dest, move, 0, dest_uids_r };
	struct sfs_copy_ctx c;
	unsigned i;
	int ret;

	memset(&c, 0, sizeof(c));
	c.err = err;
	if (sfs_begin(b->user->st, 0, &c.c, err) < 0)
		return -1;
	ret = sfs_end(b->user->st, &c.c, sfs_copy_in(b, &c, &a), err);
	if (ret == 0) {
		*uidvalidity_r = a.uidvalidity;
		for (i = 0; move && expunged != NULL && i < c.count; i++)
			expunged(ctx, c.rows[i].uid);
	}
	free(c.rows);
	return ret;
}

int sfs_copy_move_all(struct sfs_conn *conn, const struct sfs_mbox *from,
		      const struct sfs_mbox *to, struct vimap_storage_error *err)
{
	struct sfs_mbox f = *from, t = *to;
	struct sfs_copy_ctx c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.c = conn;
	c.err = err;
	c.mailbox_id = from->id;
	ret = sfs_copy_read_sel(&c, 1, SFS_UID_MAX, NULL);
	if (ret == 0 && c.count > 0)
		ret = sfs_copy_move_rows(&c, &f, &t);
	free(c.rows);
	return ret;
}
