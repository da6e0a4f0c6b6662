/* sfs: STORE and EXPUNGE on an open mailbox.
 *
 * Both run one write transaction (user row, then mailbox row locked) and
 * take ONE new modseq for the whole call (RFC 7162 3.1).  The UIDs are one
 * UPDATE or DELETE per run of consecutive UIDs, or one with the UID list
 * as an array when they are scattered (sfs_box_select), so a STORE over a
 * whole mailbox is a single statement.  Callbacks run after the commit, so
 * nothing is reported that is not durable. */
#include "autoconfig.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sfs-private.h"
#include "xalloc.h"

/* A record kept until after the commit. */
struct sfs_change {
	struct vimap_message msg;
	char *keywords;          /* owned */
};

struct sfs_store_ctx {
	struct sfs_conn *c;
	int64_t mailbox_id;
	int64_t keep, set;       /* flags = (flags & keep) | set */
	int seen_set;            /* \Seen becomes (set & SEEN) everywhere */
	int kw_mode;             /* -1: keywords untouched */
	const char *keywords;
	uint64_t modseq;
	int64_t unseen_delta;
	struct sfs_change *changes;
	unsigned count, alloc;
	struct vimap_storage_error *err;
};

/* Keeps a RETURNING row (MSG_COLS, then the \Seen count). */
static void sfs_store_keep(struct sfs_store_ctx *s, const PGresult *res, int row)
{
	struct sfs_change *ch;
	const char *kw = sfs_get_text(res, row, 3);

	if (s->count == s->alloc) {
		s->alloc = s->alloc == 0 ? 64 : s->alloc * 2;
		s->changes = xrealloc(s->changes, s->alloc * sizeof(*s->changes));
	}
	ch = &s->changes[s->count++];
	memset(ch, 0, sizeof(*ch));
	ch->msg.uid = (uint32_t)sfs_get_int(res, row, 0);
	ch->msg.flags = (uint32_t)sfs_get_int(res, row, 1);
	ch->msg.modseq = (uint64_t)sfs_get_int(res, row, 2);
	ch->keywords = xstrdup(kw != NULL ? kw : "");
	ch->msg.internal_date = sfs_get_int(res, row, 4);
	ch->msg.tz_offset = (int32_t)sfs_get_int(res, row, 5);
	ch->msg.size = (uint64_t)sfs_get_int(res, row, 6);
}

static int sfs_store_sel(void *ctx, uint32_t first, uint32_t last, const char *array)
{
	struct sfs_store_ctx *s = ctx;
	struct sfs_params p;
	PGresult *res;
	int i, n;

	sfs_p_init(&p);
	sfs_p_int(&p, s->mailbox_id);
	sfs_p_int(&p, s->keep);
	sfs_p_int(&p, s->set);
	sfs_p_int(&p, (int64_t)s->modseq);
	sfs_p_int(&p, first);
	sfs_p_int(&p, last);
	sfs_p_int(&p, s->kw_mode);
	sfs_p_text(&p, s->keywords);
	sfs_p_text(&p, array);
	sfs_p_int(&p, s->seen_set);
	sfs_p_int(&p, s->set & VIMAP_FLAG_SEEN);
	if ((res = sfs_exec(s->c, SFS_MSG_STORE, &p, 0, s->err)) == NULL)
		return -1;
	n = PQntuples(res);
	for (i = 0; i < n; i++)
		sfs_store_keep(s, res, i);
	/* The messages whose \Seen went to (set & SEEN). */
	if (n > 0 && s->seen_set)
		s->unseen_delta += (s->set & VIMAP_FLAG_SEEN) ? -sfs_get_int(res, 0, 7)
			: sfs_get_int(res, 0, 7);
	PQclear(res);
	return 0;
}

static int sfs_change_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct sfs_change *)a)->msg.uid;
	uint32_t y = ((const struct sfs_change *)b)->msg.uid;

	return x < y ? -1 : x > y;
}

static int sfs_store_in(struct sfs_box *b, struct sfs_store_ctx *s, const uint32_t *uids,
			unsigned count)
{
	struct sfs_mbox mb;

	if (sfs_db_lock_user(s->c, b->user, "store", s->err) < 0 ||
	    sfs_box_row(s->c, b, "store", 1, &mb, s->err) < 0)
		return -1;
	s->mailbox_id = mb.id;
	s->modseq = mb.highestmodseq + 1;
	if (sfs_box_select(uids, count, sfs_store_sel, s) < 0)
		return -1;
	if (s->count == 0)
		return 0;
	mb.highestmodseq = s->modseq;
	if (sfs_db_mbox_counts(s->c, &mb, 0, s->unseen_delta, 0, s->err) < 0)
		return -1;
	return sfs_notify(b->user->st, s->c, b->user->name, mb.name, s->err);
}

/* Reports the changes in UID order (after the commit) and frees them. */
static int sfs_store_report(struct sfs_store_ctx *s, vimap_message_cb *changed, void *ctx)
{
	unsigned i;
	int ret = 0;

	if (s->count > 1)
		qsort(s->changes, s->count, sizeof(*s->changes), sfs_change_cmp);
	for (i = 0; i < s->count; i++) {
		s->changes[i].msg.keywords = s->changes[i].keywords;
		if (ret == 0 && changed != NULL && changed(ctx, &s->changes[i].msg) < 0)
			ret = sfs_fail(s->err, VIMAP_STORAGE_ERR_INTERNAL,
				       "store failed: stopped by the callback");
		free(s->changes[i].keywords);
	}
	free(s->changes);
	return ret;
}

int sfs_store(void *box, const uint32_t *uids, unsigned count, enum vimap_store_mode mode,
	      uint32_t flags, const char *keywords, vimap_message_cb *changed, void *ctx,
	      struct vimap_storage_error *err)
{
	struct sfs_box *b = box;
	struct sfs_store_ctx s;
	int ret;

	memset(&s, 0, sizeof(s));
	s.err = err;
	s.keywords = keywords != NULL ? keywords : "";
	flags &= VIMAP_FLAG_ALL;
	s.keep = mode == VIMAP_STORE_REPLACE ? 0 : mode == VIMAP_STORE_ADD
		? (int64_t)VIMAP_FLAG_ALL : (int64_t)(VIMAP_FLAG_ALL & ~flags);
	s.set = mode == VIMAP_STORE_REMOVE ? 0 : flags;
	s.seen_set = (s.keep & VIMAP_FLAG_SEEN) == 0 || (s.set & VIMAP_FLAG_SEEN) != 0;
	s.kw_mode = mode == VIMAP_STORE_REPLACE || *s.keywords != '\0' ? (int)mode : -1;
	if (count == 0)
		return 0;
	if (sfs_begin(b->user->st, 0, &s.c, err) < 0)
		return -1;
	ret = sfs_end(b->user->st, &s.c, sfs_store_in(b, &s, uids, count), err);
	if (ret == 0)
		return sfs_store_report(&s, changed, ctx);
	sfs_store_report(&s, NULL, NULL);
	return -1;
}

/* ---- EXPUNGE ---- */

struct sfs_expunge_ctx {
	struct sfs_conn *c;
	int64_t mailbox_id;
	uint32_t *uids;
	unsigned count, alloc;
	int64_t bytes, blocks, unseen;
	struct vimap_storage_error *err;
};

/* One DELETE: the \Deleted rows of the selection go. */
static int sfs_expunge_sel(void *ctx, uint32_t first, uint32_t last, const char *array)
{
	struct sfs_expunge_ctx *x = ctx;
	struct sfs_params p;
	PGresult *res;
	int i, n;

	sfs_p_init(&p);
	sfs_p_int(&p, x->mailbox_id);
	sfs_p_int(&p, first);
	sfs_p_int(&p, last);
	sfs_p_text(&p, array);
	if ((res = sfs_exec(x->c, SFS_MSG_EXPUNGE_RANGE, &p, 0, x->err)) == NULL)
		return -1;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		uint64_t size = (uint64_t)sfs_get_int(res, i, 1);

		if (x->count == x->alloc) {
			x->alloc = x->alloc == 0 ? 64 : x->alloc * 2;
			x->uids = xrealloc(x->uids, x->alloc * sizeof(*x->uids));
		}
		x->uids[x->count++] = (uint32_t)sfs_get_int(res, i, 0);
		x->bytes += (int64_t)size;
		x->blocks += (int64_t)sfs_blocks(size);
		x->unseen += (sfs_get_int(res, i, 2) & VIMAP_FLAG_SEEN) == 0;
	}
	PQclear(res);
	return 0;
}

static int sfs_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int sfs_db_record_expunged(struct sfs_conn *c, int64_t mailbox_id, const uint32_t *uids,
			   unsigned count, uint64_t modseq, struct vimap_storage_error *err)
{
	char *arr = xmalloc((size_t)count * 11 + 3), *p = arr;
	struct sfs_params prm;
	unsigned i;
	int ret;

	*p++ = '{';
	for (i = 0; i < count; i++)
		p += sprintf(p, "%s%u", i > 0 ? "," : "", uids[i]);
	*p++ = '}';
	*p = '\0';
	sfs_p_init(&prm);
	sfs_p_int(&prm, mailbox_id);
	sfs_p_int(&prm, (int64_t)modseq);
	sfs_p_text(&prm, arr);
	ret = sfs_run(c, SFS_EXP_INSERT, &prm, err);
	free(arr);
	return ret;
}

static int sfs_expunge_in(struct sfs_box *b, struct sfs_expunge_ctx *x, const uint32_t *uids,
			  unsigned count)
{
	struct sfs_mbox mb;
	int ret;

	if (sfs_db_lock_user(x->c, b->user, "expunge", x->err) < 0 ||
	    sfs_box_row(x->c, b, "expunge", 1, &mb, x->err) < 0)
		return -1;
	x->mailbox_id = mb.id;
	if (uids == NULL)
		ret = sfs_expunge_sel(x, 1, SFS_UID_MAX, NULL);
	else
		ret = sfs_box_select(uids, count, sfs_expunge_sel, x);
	if (ret < 0 || x->count == 0)
		return ret;
	qsort(x->uids, x->count, sizeof(*x->uids), sfs_uid_cmp);
	mb.highestmodseq++;
	if (sfs_db_record_expunged(x->c, mb.id, x->uids, x->count, mb.highestmodseq,
				   x->err) < 0 ||
	    sfs_db_mbox_counts(x->c, &mb, -(int64_t)x->count, -x->unseen, -x->bytes,
			       x->err) < 0 ||
	    sfs_db_quota_add(x->c, b->user->id, -x->bytes, -x->blocks, NULL, x->err) < 0)
		return -1;
	return sfs_notify(b->user->st, x->c, b->user->name, mb.name, x->err);
}

int sfs_expunge(void *box, const uint32_t *uids, unsigned count, vimap_uid_cb *expunged,
		void *ctx, struct vimap_storage_error *err)
{
	struct sfs_box *b = box;
	struct sfs_expunge_ctx x;
	unsigned i;
	int ret;

	memset(&x, 0, sizeof(x));
	x.err = err;
	if (uids != NULL && count == 0)
		return 0;
	if (sfs_begin(b->user->st, 0, &x.c, err) < 0)
		return -1;
	ret = sfs_end(b->user->st, &x.c, sfs_expunge_in(b, &x, uids, count), err);
	for (i = 0; ret == 0 && expunged != NULL && i < x.count; i++)
		expunged(ctx, x.uids[i]);
	free(x.uids);
	return ret;
}
