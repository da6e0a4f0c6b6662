/* SEARCH and UID SEARCH (RFC 3501 6.4.4).  What the index record decides
 * (flags, sizes, dates, UIDs) is decided without touching message bytes;
 * only messages the record leaves open are read. */
#include "autoconfig.h"
#include <string.h>
#include "client.h"
#include "imap-commands.h"
#include "imap-search.h"
#include "log.h"
#include "mail/message-cache.h"
#include "mailbox-view.h"
#include "pool.h"
#include "session.h"

struct search_ctx {
	struct session *s;
	struct imap_cmd *cmd;
	struct imap_search *search;
	unsigned needs;
	uint32_t *hits;          /* sequence numbers or UIDs, in view order */
	uint32_t hit_count;
	unsigned failed;
	struct imap_search_data_ctx *data_ctx; /* for fields the blob lacks */
};

static void imap_search_msg(struct search_ctx *ctx, const struct vimap_message *rec,
			    uint32_t seq, struct imap_msg *msg)
{
	const struct view_msg *vm = &ctx->s->view->msgs[seq - 1];

	memset(msg, 0, sizeof(*msg));
	msg->seq = seq;
	msg->uid = rec->uid;
	msg->flags = vm->flags;
	msg->recent = vm->recent;
	msg->keywords = vm->keywords;
	msg->modseq = rec->modseq;
	msg->internal_date = rec->internal_date;
	msg->tz_offset = rec->tz_offset;
	msg->size = rec->size;
	msg->cache = rec->cache;
	msg->cache_size = rec->cache_size;
}

static const struct imap_search_source imap_search_cached_source;

/* Reads the message and matches it; 1, 0, or -1 when it cannot be read. */
static int imap_search_with_data(struct search_ctx *ctx, struct imap_msg *msg)
{
	const struct vimap_storage_ops *ops = session_storage(NULL);
	struct vimap_storage_error err;
	struct vimap_message_data data;
	int ret;

	if (ops->open_message(ctx->s->view->box, msg->uid, &data, &err) < 0) {
		log_error("search", "user %s: %s UID %u: open_message failed: %s",
			  ctx->s->user, ctx->s->view->name, msg->uid, err.text);
		return -1;
	}
	msg->data = data.data;
	msg->data_size = data.size;
	ret = imap_search_match(ctx->search, msg, &imap_search_cached_source, ctx);
	ops->close_message(ctx->s->view->box, &data);
	return ret;
}

/* Header fields: from the parse blob when it keeps them (Subject, From, To,
   Cc, Bcc, Date), from the message otherwise. */
static int imap_search_header(void *arg, const struct imap_msg *msg, const char *field,
			      struct strbuf *out)
{
	struct search_ctx *ctx = arg;
	const struct vimap_storage_ops *ops = session_storage(NULL);
	struct vimap_storage_error err;
	struct vimap_message_data data;
	struct imap_msg copy;
	const char *headers;
	size_t headers_len;
	int ret;

	if (msg->cache != NULL &&
	    message_cache_search_headers(msg->cache, msg->cache_size, &headers, &headers_len) == 0 &&
	    (ret = message_cache_header_in(headers, headers_len, field, out)) >= 0)
		return ret;
	if (msg->data != NULL)
		return imap_search_source_from_data.header(ctx->data_ctx, msg, field, out);
	if (ops->open_message(ctx->s->view->box, msg->uid, &data, &err) < 0)
		return -1;
	copy = *msg;
	copy.data = data.data;
	copy.data_size = data.size;
	ret = imap_search_source_from_data.header(ctx->data_ctx, &copy, field, out);
	ops->close_message(ctx->s->view->box, &data);
	return ret;
}

static const struct imap_search_source imap_search_cached_source = {
	IMAP_MSG_NEED_CACHE, IMAP_MSG_NEED_DATA, imap_search_header, NULL, NULL
};

static int imap_search_record_cb(void *arg, const struct vimap_message *rec)
{
	struct search_ctx *ctx = arg;
	uint32_t seq = mailbox_view_seq_of(ctx->s->view, rec->uid);
	struct imap_msg msg;
	int ret;

	if (seq == 0)
		return 0;
	imap_search_msg(ctx, rec, seq, &msg);
	switch (imap_search_prematch(ctx->search, &msg)) {
	case IMAP_SEARCH_NO:
		return 0;
	case IMAP_SEARCH_YES:
		ret = 1;
		break;
	default:
		ret = (ctx->needs & IMAP_MSG_NEED_DATA) ? imap_search_with_data(ctx, &msg) :
			imap_search_match(ctx->search, &msg, &imap_search_cached_source, ctx);
		break;
	}
	if (ret < 0)
		ctx->failed++;
	else if (ret > 0)
		ctx->hits[ctx->hit_count++] = ctx->cmd->uid ? rec->uid : seq;
	return 0;
}

static void imap_search_reply(struct search_ctx *ctx)
{
	uint32_t i;

	strbuf_appends(ctx->cmd->out, "* SEARCH");
	for (i = 0; i < ctx->hit_count; i++)
		strbuf_appendf(ctx->cmd->out, " %u", ctx->hits[i]);
	strbuf_appends(ctx->cmd->out, "\r\n");
}

void imap_cmd_search(struct session *s, struct imap_cmd *cmd)
{
	struct search_ctx ctx = { s, cmd, NULL, 0, NULL, 0, 0, NULL };
	struct mailbox_view *v = s->view;
	struct vimap_storage_error err;
	const char *error;
	uint32_t *uids, i;

	if (imap_search_parse(cmd->args, cmd->count, cmd->uid, cmd->pool, &ctx.search,
			      &error) < 0) {
		if (imap_search_error_is_badcharset(error))
			session_tagged(cmd, "NO", "BADCHARSET " IMAP_SEARCH_CHARSETS, "%s", error);
		else
			session_tagged(cmd, "BAD", NULL, "%s", error);
		return;
	}
	imap_search_prepare(ctx.search, v->count, v->count > 0 ? v->msgs[v->count - 1].uid : 0);
	ctx.needs = imap_search_needs(ctx.search, &imap_search_cached_source);
	ctx.data_ctx = imap_search_data_ctx_create();
	ctx.hits = pool_alloc(cmd->pool, (v->count + 1) * sizeof(uint32_t));
	uids = pool_alloc(cmd->pool, (v->count + 1) * sizeof(uint32_t));
	for (i = 0; i < v->count; i++)
		uids[i] = v->msgs[i].uid;
	if (v->count > 0 &&
	    session_storage(NULL)->fetch(v->box, uids, v->count,
					 (ctx.needs & IMAP_MSG_NEED_CACHE) ? VIMAP_WANT_CACHE : 0,
					 imap_search_record_cb, &ctx, &err) < 0) {
		imap_search_destroy(&ctx.search);
		imap_search_data_ctx_destroy(&ctx.data_ctx);
		session_storage_error(s, cmd, "SEARCH", &err);
		return;
	}
	imap_search_destroy(&ctx.search);
	imap_search_data_ctx_destroy(&ctx.data_ctx);
	imap_search_reply(&ctx);
	if (ctx.failed > 0)
		session_tagged(cmd, "NO", "SERVERBUG", "Some messages could not be read (logged).");
	else
		session_tagged(cmd, "OK", NULL, "SEARCH completed.");
}
