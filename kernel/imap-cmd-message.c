/* Message commands (RFC 3501 6.3.11, 6.4): APPEND, CLOSE, UNSELECT
 * (RFC 3691), EXPUNGE, STORE, COPY, MOVE (RFC 6851) and their UID forms,
 * with the UIDPLUS response codes (RFC 4315). */
#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "acl.h"
#include "client.h"
#include "imap-commands.h"
#include "imap-date.h"
#include "imap-flags.h"
#include "imap-seqset.h"
#include "mail/message-cache.h"
#include "mailbox-notify.h"
#include "mailbox-view.h"
#include "pool.h"
#include "session.h"

/* ---- sequence sets to UIDs ---- */

int imap_resolve_set(struct session *s, struct imap_cmd *cmd, const struct imap_arg *arg,
		     uint32_t **uids_r, unsigned *count_r)
{
	struct mailbox_view *v = s->view;
	uint32_t star = cmd->uid ? (v->count > 0 ? v->msgs[v->count - 1].uid : 0) : v->count;
	struct seqset set;
	const char *error;
	uint32_t *uids, i;
	unsigned r, n = 0;

	if (arg->type != IMAP_ARG_ATOM || seqset_parse(arg->str, star, cmd->pool, &set, &error) < 0) {
		session_tagged(cmd, "BAD", NULL, "Invalid sequence set.");
		return -1;
	}
	uids = pool_alloc(cmd->pool, (v->count + 1) * sizeof(uint32_t));
	for (r = 0; r < set.count; r++) {
		const struct seq_range *rg = &set.ranges[r];

		if (!cmd->uid) {
			if (rg->last > v->count) {
				session_tagged(cmd, "BAD", NULL, "Sequence number %u does not exist.",
					       rg->last);
				return -1;
			}
			for (i = rg->first; i <= rg->last; i++)
				uids[n++] = v->msgs[i - 1].uid;
		} else {
			/* UIDs not in the mailbox are ignored (6.4.8). */
			for (i = mailbox_view_seq_of_ge(v, rg->first); i > 0 && i <= v->count &&
			     v->msgs[i - 1].uid <= rg->last; i++)
				uids[n++] = v->msgs[i - 1].uid;
		}
	}
	*uids_r = uids;
	*count_r = n;
	return 0;
}

/* ---- APPEND ---- */

struct append_args {
	const char *mailbox;
	uint32_t flags;
	struct strbuf keywords;
	int64_t date;
	int32_t tz;
	const struct imap_arg *message;
};

static int imap_append_parse(struct imap_cmd *cmd, struct append_args *a)
{
	unsigned i = 1;
	const char *error;

	if (cmd->count < 2 || cmd->count > 4) {
		session_tagged(cmd, "BAD", NULL, "APPEND takes a mailbox, flags, a date and a message.");
		return -1;
	}
	if (cmd->args[i].type == IMAP_ARG_LIST) {
		if (imap_flags_parse(&cmd->args[i], &a->flags, &a->keywords, &error) < 0) {
			session_tagged(cmd, "BAD", NULL, "%s.", error);
			return -1;
		}
		i++;
	}
	if (i + 1 < cmd->count) {
		if (cmd->args[i].type != IMAP_ARG_QUOTED ||
		    imap_datetime_parse(cmd->args[i].str, &a->date, &a->tz) < 0) {
			session_tagged(cmd, "BAD", NULL, "Invalid date-time.");
			return -1;
		}
		i++;
	}
	if (i + 1 != cmd->count || cmd->args[i].type == IMAP_ARG_LIST) {
		session_tagged(cmd, "BAD", NULL, "APPEND needs the message as a literal.");
		return -1;
	}
	a->message = &cmd->args[i];
	return 0;
}

static void imap_append_now(int64_t *date_r, int32_t *tz_r)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	*date_r = (int64_t)now;
	*tz_r = (int32_t)(tm.tm_gmtoff / 60);
}

/* Drops the flags and keywords the user has no right to store (RFC 4314
   4: they are silently not kept, the message is). */
static void imap_append_mask(struct vimap_append *msg, uint32_t rights)
{
	int keywords;

	msg->flags &= acl_settable_flags(rights, &keywords);
	if (!keywords)
		msg->keywords = "";
}

/* Appends msg, with what the rights let stay, to the resolved mailbox. */
static int imap_append_store(const struct vimap_storage_ops *ops, const struct mailbox_ref *ref,
			     struct vimap_append *msg, uint32_t *uidvalidity_r, uint32_t *uid_r,
			     struct vimap_storage_error *err)
{
	imap_append_mask(msg, ref->rights);
	return ops->append(ref->user, ref->name, msg, 1, uidvalidity_r, uid_r, err);
}

static void imap_append_error(struct session *s, struct imap_cmd *cmd,
			      const struct vimap_storage_error *err)
{
	if (err->code == VIMAP_STORAGE_ERR_NONEXISTENT)
		session_tagged(cmd, "NO", "TRYCREATE", "Mailbox does not exist.");
	else
		session_storage_error(s, cmd, "APPEND", err);
}

void imap_cmd_append(struct session *s, struct imap_cmd *cmd)
{
	const struct vimap_storage_ops *ops = session_storage(NULL);
	struct mailbox_ref ref;
	struct append_args a;
	struct strbuf blob = STRBUF_INIT;
	struct vimap_storage_error err;
	struct vimap_append msg;
	uint32_t uidvalidity, uid;
	const char *error;

	memset(&a, 0, sizeof(a));
	imap_append_now(&a.date, &a.tz);
	if (imap_append_parse(cmd, &a) < 0 || (a.mailbox = imap_mailbox_arg(cmd, 0)) == NULL) {
		strbuf_free(&a.keywords);
		return;
	}
	if (message_cache_build(a.message->str, a.message->len, &blob, &error) < 0) {
		session_tagged(cmd, "NO", "PARSE", "The message could not be parsed: %s.", error);
		strbuf_free(&a.keywords);
		return;
	}
	memset(&msg, 0, sizeof(msg));
	msg.data = a.message->str;
	msg.size = a.message->len;
	msg.flags = a.flags;
	msg.keywords = a.keywords.data != NULL ? a.keywords.data : "";
	msg.internal_date = a.date;
	msg.tz_offset = a.tz;
	msg.cache = blob.data;
	msg.cache_size = blob.len;
	if (mailbox_ref_resolve(s->user, s->store_user, a.mailbox, &ref, &err) < 0) {
		imap_append_error(s, cmd, &err);
	} else if ((ref.rights & ACL_INSERT) == 0) {
		session_tagged(cmd, "NO", "NOPERM", "No right to append to this mailbox.");
	} else if (imap_append_store(ops, &ref, &msg, &uidvalidity, &uid, &err) < 0) {
		imap_append_error(s, cmd, &err);
	} else {
		notify_changed(ref.owner, ref.name, s->watch);
		if (s->view != NULL && strcmp(s->view->name, a.mailbox) == 0)
			atomic_store(&s->dirty, 1);
		session_tagged(cmd, "OK", NULL, "[APPENDUID %u %u] APPEND completed.",
			       uidvalidity, uid);
	}
	mailbox_ref_release(&ref);
	strbuf_free(&blob);
	strbuf_free(&a.keywords);
}

/* ---- CLOSE, UNSELECT, EXPUNGE ---- */

static void imap_ignore_uid(void *ctx, uint32_t uid)
{
}

void imap_cmd_close(struct session *s, struct imap_cmd *cmd)
{
	struct vimap_storage_error err;

	if (cmd->count != 0) {
		session_tagged(cmd, "BAD", NULL, "%s takes no arguments.", cmd->name);
		return;
	}
	/* CLOSE expunges silently (6.4.2); UNSELECT does not (RFC 3691). */
	if (strcasecmp(cmd->name, "CLOSE") == 0 && !s->view->readonly &&
	    (s->view->rights & ACL_EXPUNGE)) {
		if (session_storage(NULL)->expunge(s->view->box, NULL, 0, imap_ignore_uid,
						   NULL, &err) < 0) {
			session_storage_error(s, cmd, "CLOSE", &err);
			return;
		}
		session_notify_view(s);
	}
	session_unselect(s);
	s->new_state = CLIENT_STATE_AUTHENTICATED;
	session_tagged(cmd, "OK", NULL, "%s completed.", cmd->name);
}

void imap_cmd_expunge(struct session *s, struct imap_cmd *cmd)
{
	struct vimap_storage_error err;
	uint32_t *uids = NULL;
	unsigned count = 0;

	if (cmd->count != (cmd->uid ? 1u : 0u)) {
		session_tagged(cmd, "BAD", NULL, "Wrong number of arguments.");
		return;
	}
	if (s->view->readonly) {
		session_tagged(cmd, "NO", "READ-ONLY", "Mailbox is read-only.");
		return;
	}
	if ((s->view->rights & ACL_EXPUNGE) == 0) {
		session_tagged(cmd, "NO", "NOPERM", "No right to expunge in this mailbox.");
		return;
	}
	if (cmd->uid && imap_resolve_set(s, cmd, &cmd->args[0], &uids, &count) < 0)
		return;
	if ((!cmd->uid || count > 0) &&
	    session_storage(NULL)->expunge(s->view->box, cmd->uid ? uids : NULL, count,
					   imap_ignore_uid, NULL, &err) < 0) {
		session_storage_error(s, cmd, "EXPUNGE", &err);
		return;
	}
	session_notify_view(s);
	/* The sync after the command reports the EXPUNGEs, ours and others'. */
	atomic_store(&s->dirty, 1);
	session_tagged(cmd, "OK", NULL, "EXPUNGE completed.");
}

/* ---- STORE ---- */

struct store_ctx {
	struct session *s;
	struct imap_cmd *cmd;
	int silent;
};

static int imap_store_changed(void *arg, const struct vimap_message *msg)
{
	struct store_ctx *ctx = arg;
	struct mailbox_view *v = ctx->s->view;
	uint32_t seq;

	if (!mailbox_view_update(v, msg) || ctx->silent)
		return 0;
	seq = mailbox_view_seq_of(v, msg->uid);
	strbuf_appendf(ctx->cmd->out, "* %u FETCH (", seq);
	if (ctx->cmd->uid)
		strbuf_appendf(ctx->cmd->out, "UID %u ", msg->uid);
	strbuf_appends(ctx->cmd->out, "FLAGS ");
	mailbox_view_write_msg_flags(&v->msgs[seq - 1], ctx->cmd->out);
	strbuf_appends(ctx->cmd->out, ")\r\n");
	return 0;
}

static int imap_store_mode(struct imap_cmd *cmd, enum vimap_store_mode *mode_r, int *silent_r)
{
	const char *item = cmd->args[1].type == IMAP_ARG_ATOM ? cmd->args[1].str : "";
	size_t len = strlen(item);

	*silent_r = len > 7 && strcasecmp(item + len - 7, ".SILENT") == 0;
	if (*silent_r)
		len -= 7;
	*mode_r = item[0] == '+' ? VIMAP_STORE_ADD :
		item[0] == '-' ? VIMAP_STORE_REMOVE : VIMAP_STORE_REPLACE;
	if (item[0] == '+' || item[0] == '-') {
		item++;
		len--;
	}
	return len == 5 && strncasecmp(item, "FLAGS", 5) == 0 ? 0 : -1;
}

/* RFC 4314 4: \Seen needs s, \Deleted t, any other flag or keyword w.
   +FLAGS and -FLAGS change what the rights allow and leave the rest (the
   RFC says the STORE SHOULD NOT fail); FLAGS replaces every flag, so it
   needs all three.  0, or -1 when nothing may be done. */
static int imap_store_allowed(uint32_t rights, enum vimap_store_mode mode,
			      uint32_t *flags, struct strbuf *keywords)
{
	int keywords_ok;
	uint32_t settable = acl_settable_flags(rights, &keywords_ok);

	if (mode == VIMAP_STORE_REPLACE)
		return settable == VIMAP_FLAG_ALL && keywords_ok ? 0 : -1;
	if (*flags != 0 && (*flags & settable) == 0 && (keywords->len == 0 || !keywords_ok))
		return -1;
	*flags &= settable;
	if (!keywords_ok)
		strbuf_reset(keywords);
	return 0;
}

void imap_cmd_store(struct session *s, struct imap_cmd *cmd)
{
	struct store_ctx ctx = { s, cmd, 0 };
	struct strbuf keywords = STRBUF_INIT;
	struct vimap_storage_error err;
	enum vimap_store_mode mode;
	uint32_t *uids, flags;
	unsigned count;
	const char *error;

	if (cmd->count != 3 || imap_store_mode(cmd, &mode, &ctx.silent) < 0) {
		session_tagged(cmd, "BAD", NULL, "STORE takes a set, FLAGS[.SILENT] and flags.");
		return;
	}
	if (imap_flags_parse(&cmd->args[2], &flags, &keywords, &error) < 0) {
		session_tagged(cmd, "BAD", NULL, "%s.", error);
	} else if (imap_resolve_set(s, cmd, &cmd->args[0], &uids, &count) < 0) {
		/* answered */
	} else if (s->view->readonly) {
		session_tagged(cmd, "NO", "READ-ONLY", "Mailbox is read-only.");
	} else if (imap_store_allowed(s->view->rights, mode, &flags, &keywords) < 0) {
		session_tagged(cmd, "NO", "NOPERM", "No right to change those flags here.");
	} else if (count > 0 &&
		   session_storage(NULL)->store(s->view->box, uids, count, mode, flags,
						keywords.data != NULL ? keywords.data : "",
						imap_store_changed, &ctx, &err) < 0) {
		session_storage_error(s, cmd, "STORE", &err);
	} else {
		if (count > 0)
			session_notify_view(s);
		session_tagged(cmd, "OK", NULL, "STORE completed.");
	}
	strbuf_free(&keywords);
}

/* ---- COPY and MOVE ---- */

/* Writes a UID set "1:3,7" for COPYUID from UIDs in the given order. */
static void imap_write_uid_list(struct strbuf *out, const uint32_t *uids, unsigned count)
{
	unsigned i = 0;

	while (i < count) {
		unsigned j = i;

		while (j + 1 < count && uids[j + 1] == uids[j] + 1)
			j++;
		if (i > 0)
			strbuf_appendc(out, ',');
		if (j > i)
			strbuf_appendf(out, "%u:%u", uids[i], uids[j]);
		else
			strbuf_appendf(out, "%u", uids[i]);
		i = j + 1;
	}
}

static void imap_copy_reply(struct imap_cmd *cmd, int move, uint32_t uidvalidity,
			    const uint32_t *src, const uint32_t *dst, unsigned count)
{
	struct strbuf code = STRBUF_INIT;
	uint32_t *s2 = pool_alloc(cmd->pool, (count + 1) * sizeof(uint32_t));
	uint32_t *d2 = pool_alloc(cmd->pool, (count + 1) * sizeof(uint32_t));
	unsigned i, n = 0;

	for (i = 0; i < count; i++) {
		if (dst[i] != 0) {
			s2[n] = src[i];
			d2[n++] = dst[i];
		}
	}
	strbuf_appendf(&code, "COPYUID %u ", uidvalidity);
	imap_write_uid_list(&code, s2, n);
	strbuf_appendc(&code, ' ');
	imap_write_uid_list(&code, d2, n);
	if (n == 0) {
		session_tagged(cmd, "OK", NULL, "%s completed (nothing to do).", cmd->name);
	} else if (move) {
		/* RFC 6851 3.3: COPYUID comes untagged, before the EXPUNGEs. */
		strbuf_appendf(cmd->out, "* OK [%s] Moved.\r\n", code.data);
		session_tagged(cmd, "OK", NULL, "MOVE completed.");
	} else {
		session_tagged(cmd, "OK", code.data, "COPY completed.");
	}
	strbuf_free(&code);
}

static int imap_store_ignore(void *ctx, const struct vimap_message *msg)
{
	return 0;
}

/* One message copied between two users' stores: its record (flags,
   keywords, date, parse blob) and its bytes, appended to the destination. */
struct cross_copy {
	struct session *s;
	const struct mailbox_ref *dest;
	uint32_t uidvalidity, new_uid;
	struct vimap_storage_error *err;
};

static int imap_cross_copy_cb(void *arg, const struct vimap_message *rec)
{
	struct cross_copy *cc = arg;
	const struct vimap_storage_ops *ops = session_storage(NULL);
	struct vimap_message_data data;
	struct vimap_append a;
	int ret;

	if (ops->open_message(cc->s->view->box, rec->uid, &data, cc->err) < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.data = data.data;
	a.size = data.size;
	a.flags = rec->flags;
	a.keywords = rec->keywords;
	imap_append_mask(&a, cc->dest->rights);
	a.internal_date = rec->internal_date;
	a.tz_offset = rec->tz_offset;
	a.cache = rec->cache;
	a.cache_size = rec->cache_size;
	ret = ops->append(cc->dest->user, cc->dest->name, &a, 1, &cc->uidvalidity,
			  &cc->new_uid, cc->err);
	ops->close_message(cc->s->view->box, &data);
	return ret;
}

/* COPY/MOVE where the source or the destination is another user's (a
   shared folder): message by message through the two stores.  0, or -1
   with err (the messages copied before the failure stay). */
static int imap_cross_copy(struct session *s, const uint32_t *uids, unsigned count,
			   const struct mailbox_ref *dest, int move, uint32_t *uidvalidity_r,
			   uint32_t *dest_uids, struct vimap_storage_error *err)
{
	const struct vimap_storage_ops *ops = session_storage(NULL);
	struct cross_copy cc = { s, dest, 0, 0, err };
	unsigned i;

	for (i = 0; i < count; i++) {
		cc.new_uid = 0;
		if (ops->fetch(s->view->box, &uids[i], 1, VIMAP_WANT_CACHE, imap_cross_copy_cb,
			       &cc, err) < 0)
			return -1;
		dest_uids[i] = cc.new_uid;
	}
	*uidvalidity_r = cc.uidvalidity;
	if (!move)
		return 0;
	if (ops->store(s->view->box, uids, count, VIMAP_STORE_ADD, VIMAP_FLAG_DELETED, "",
		       imap_store_ignore, NULL, err) < 0)
		return -1;
	return ops->expunge(s->view->box, uids, count, imap_ignore_uid, NULL, err);
}

/* Copies within one store when it can, across stores otherwise. */
static int imap_copy_run(struct session *s, struct imap_cmd *cmd, const uint32_t *uids,
			 unsigned count, const struct mailbox_ref *dref, int move,
			 uint32_t *uidvalidity_r, uint32_t *dest_uids)
{
	struct vimap_storage_error err;
	int ret;

	if (!dref->shared && s->view->owner == NULL)
		ret = session_storage(NULL)->copy(s->view->box, uids, count, dref->name, move,
						  uidvalidity_r, dest_uids, imap_ignore_uid,
						  NULL, &err);
	else
		ret = imap_cross_copy(s, uids, count, dref, move, uidvalidity_r, dest_uids,
				      &err);
	if (ret == 0)
		return 0;
	if (err.code == VIMAP_STORAGE_ERR_NONEXISTENT)
		session_tagged(cmd, "NO", "TRYCREATE", "Mailbox does not exist.");
	else
		session_storage_error(s, cmd, cmd->name, &err);
	return -1;
}

void imap_cmd_copy(struct session *s, struct imap_cmd *cmd)
{
	int move = strcasecmp(cmd->name, "MOVE") == 0;
	struct vimap_storage_error err;
	struct mailbox_ref dref;
	uint32_t *uids, *dest_uids, uidvalidity = 0;
	unsigned count;
	const char *dest;

	if (cmd->count != 2) {
		session_tagged(cmd, "BAD", NULL, "%s takes a set and a mailbox.", cmd->name);
		return;
	}
	if (imap_resolve_set(s, cmd, &cmd->args[0], &uids, &count) < 0 ||
	    (dest = imap_mailbox_arg(cmd, 1)) == NULL)
		return;
	if (move && s->view->readonly) {
		session_tagged(cmd, "NO", "READ-ONLY", "Mailbox is read-only.");
		return;
	}
	if (move && (s->view->rights & (ACL_DELMSG | ACL_EXPUNGE)) !=
	    (ACL_DELMSG | ACL_EXPUNGE)) {
		session_tagged(cmd, "NO", "NOPERM", "No right to move messages out of here.");
		return;
	}
	if (count == 0) {
		session_tagged(cmd, "OK", NULL, "%s completed (nothing to do).", cmd->name);
		return;
	}
	if (mailbox_ref_resolve(s->user, s->store_user, dest, &dref, &err) < 0) {
		if (err.code == VIMAP_STORAGE_ERR_NONEXISTENT)
			session_tagged(cmd, "NO", "TRYCREATE", "Mailbox does not exist.");
		else
			session_storage_error(s, cmd, cmd->name, &err);
		return;
	}
	if ((dref.rights & ACL_INSERT) == 0) {
		mailbox_ref_release(&dref);
		session_tagged(cmd, "NO", "NOPERM", "No right to copy into %s.", dest);
		return;
	}
	dest_uids = pool_alloc(cmd->pool, count * sizeof(uint32_t));
	if (imap_copy_run(s, cmd, uids, count, &dref, move, &uidvalidity, dest_uids) < 0) {
		mailbox_ref_release(&dref);
		return;
	}
	notify_changed(dref.owner, dref.name, s->watch);
	mailbox_ref_release(&dref);
	if (strcmp(dest, s->view->name) == 0 || move) {
		atomic_store(&s->dirty, 1);
		if (move)
			session_notify_view(s);
	}
	imap_copy_reply(cmd, move, uidvalidity, uids, dest_uids, count);
}
