/* FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8).  Flags come from the
 * session's view (what the client has been told); dates, sizes and the parse
 * blob from the store's index; message bytes only for body sections. */
#include "autoconfig.h"
#include <string.h>
#include "acl.h"
#include "client.h"
#include "imap-commands.h"
#include "imap-fetch.h"
#include "log.h"
#include "mailbox-view.h"
#include "pool.h"
#include "session.h"

struct fetch_ctx {
	struct session *s;
	struct imap_cmd *cmd;
	const struct imap_fetch *fetch;
	struct strbuf flags;
	unsigned failed;
};

static const char *imap_fetch_flags_of(struct fetch_ctx *ctx, const struct view_msg *m)
{
	strbuf_reset(&ctx->flags);
	mailbox_view_write_msg_flags(m, &ctx->flags);
	return ctx->flags.data;
}

static int imap_fetch_record_cb(void *arg, const struct vimap_message *rec)
{
	struct fetch_ctx *ctx = arg;
	struct mailbox_view *v = ctx->s->view;
	const struct vimap_storage_ops *ops = session_storage(NULL);
	struct vimap_storage_error err;
	struct vimap_message_data data;
	struct imap_msg msg;
	uint32_t seq = mailbox_view_seq_of(v, rec->uid);
	const char *error;

	if (seq == 0)
		return 0;
	memset(&msg, 0, sizeof(msg));
	msg.seq = seq;
	msg.uid = rec->uid;
	msg.flags = v->msgs[seq - 1].flags;
	msg.recent = v->msgs[seq - 1].recent;
	msg.keywords = v->msgs[seq - 1].keywords;
	msg.modseq = rec->modseq;
	msg.internal_date = rec->internal_date;
	msg.tz_offset = rec->tz_offset;
	msg.size = rec->size;
	msg.cache = rec->cache;
	msg.cache_size = rec->cache_size;
	memset(&data, 0, sizeof(data));
	if (ctx->fetch->needs & IMAP_MSG_NEED_DATA) {
		if (ops->open_message(v->box, rec->uid, &data, &err) < 0) {
			log_error("fetch", "user %s: %s UID %u: open_message failed: %s",
				  ctx->s->user, v->name, rec->uid, err.text);
			ctx->failed++;
			return 0;
		}
		msg.data = data.data;
		msg.data_size = data.size;
	}
	if (imap_fetch_render(ctx->fetch, &msg, imap_fetch_flags_of(ctx, &v->msgs[seq - 1]),
			      ctx->cmd->out, &error) < 0) {
		log_error("fetch", "user %s: %s UID %u: %s", ctx->s->user, v->name, rec->uid, error);
		ctx->failed++;
	}
	if (ctx->fetch->needs & IMAP_MSG_NEED_DATA)
		ops->close_message(v->box, &data);
	return 0;
}

/* FLAGS and UID only: the view has everything, no store call. */
static void imap_fetch_from_view(struct fetch_ctx *ctx, const uint32_t *uids, unsigned count)
{
	struct mailbox_view *v = ctx->s->view;
	struct imap_msg msg;
	const char *error;
	unsigned i;

	memset(&msg, 0, sizeof(msg));
	for (i = 0; i < count; i++) {
		uint32_t seq = mailbox_view_seq_of(v, uids[i]);

		msg.seq = seq;
		msg.uid = uids[i];
		(void)imap_fetch_render(ctx->fetch, &msg, imap_fetch_flags_of(ctx, &v->msgs[seq - 1]),
					ctx->cmd->out, &error);
	}
}

static int imap_fetch_seen_cb(void *arg, const struct vimap_message *rec)
{
	struct fetch_ctx *ctx = arg;

	(void)mailbox_view_update(ctx->s->view, rec);
	return 0;
}

/* Reading a body section sets \Seen (6.4.5) on a read-write mailbox. */
static int imap_fetch_set_seen(struct fetch_ctx *ctx, const uint32_t *uids, unsigned count)
{
	struct mailbox_view *v = ctx->s->view;
	struct vimap_storage_error err;
	uint32_t *unseen = pool_alloc(ctx->cmd->pool, (count + 1) * sizeof(uint32_t));
	unsigned i, n = 0;

	for (i = 0; i < count; i++) {
		uint32_t seq = mailbox_view_seq_of(v, uids[i]);

		if (seq > 0 && (v->msgs[seq - 1].flags & VIMAP_FLAG_SEEN) == 0)
			unseen[n++] = uids[i];
	}
	if (n == 0)
		return 0;
	if (session_storage(NULL)->store(v->box, unseen, n, VIMAP_STORE_ADD, VIMAP_FLAG_SEEN,
					 "", imap_fetch_seen_cb, ctx, &err) < 0) {
		session_storage_error(ctx->s, ctx->cmd, "FETCH", &err);
		return -1;
	}
	session_notify_view(ctx->s);
	return 1;
}

void imap_cmd_fetch(struct session *s, struct imap_cmd *cmd)
{
	struct fetch_ctx ctx = { s, cmd, NULL, STRBUF_INIT, 0 };
	struct imap_fetch *fetch;
	struct vimap_storage_error err;
	const char *error;
	uint32_t *uids;
	unsigned count;

	if (cmd->count != 2) {
		session_tagged(cmd, "BAD", NULL, "FETCH takes a set and items.");
		return;
	}
	if (imap_fetch_parse(&cmd->args[1], cmd->uid, cmd->pool, &fetch, &error) < 0) {
		session_tagged(cmd, "BAD", NULL, "%s.", error);
		return;
	}
	if (imap_resolve_set(s, cmd, &cmd->args[0], &uids, &count) < 0)
		return;
	ctx.fetch = fetch;
	if (fetch->sets_seen && !s->view->readonly && (s->view->rights & ACL_SEEN)) {
		int ret = imap_fetch_set_seen(&ctx, uids, count);

		if (ret < 0)
			return;
		if (ret > 0)
			imap_fetch_add_flags(fetch, cmd->pool);
	}
	if (count == 0) {
		/* nothing to fetch */
	} else if ((fetch->needs & IMAP_MSG_NEED_CACHE) == 0 && !imap_fetch_needs_record(fetch)) {
		imap_fetch_from_view(&ctx, uids, count);
	} else if (session_storage(NULL)->fetch(s->view->box, uids, count,
			(fetch->needs & IMAP_MSG_NEED_CACHE) ? VIMAP_WANT_CACHE : 0,
			imap_fetch_record_cb, &ctx, &err) < 0) {
		strbuf_free(&ctx.flags);
		session_storage_error(s, cmd, "FETCH", &err);
		return;
	}
	strbuf_free(&ctx.flags);
	if (ctx.failed > 0)
		session_tagged(cmd, "NO", "SERVERBUG", "Some messages could not be fetched (logged).");
	else
		session_tagged(cmd, "OK", NULL, "FETCH completed.");
}
