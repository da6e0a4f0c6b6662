#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "acl.h"
#include "mailbox-view.h"
#include "strbuf.h"
#include "xalloc.h"

/* System flags in the order IMAP clients expect them. */
static const struct {
	uint32_t bit;
	const char *name;
} view_system_flags[] = {
	{ VIMAP_FLAG_ANSWERED, "\\Answered" },
	{ VIMAP_FLAG_FLAGGED, "\\Flagged" },
	{ VIMAP_FLAG_DELETED, "\\Deleted" },
	{ VIMAP_FLAG_SEEN, "\\Seen" },
	{ VIMAP_FLAG_DRAFT, "\\Draft" },
};

struct mailbox_view *mailbox_view_create(const char *name, void *box, int readonly)
{
	struct mailbox_view *v = xcalloc(1, sizeof(*v));

	v->name = xstrdup(name);
	v->store_name = xstrdup(name);
	v->box = box;
	v->readonly = readonly;
	v->rights = ACL_ALL;     /* one's own mailbox */
	return v;
}

static void view_free_strings(char **list, unsigned count)
{
	unsigned i;

	for (i = 0; i < count; i++)
		free(list[i]);
	free(list);
}

void mailbox_view_destroy(struct mailbox_view **viewp, const struct vimap_storage_ops *ops)
{
	struct mailbox_view *v = *viewp;

	if (v == NULL)
		return;
	*viewp = NULL;
	if (v->box != NULL)
		ops->mailbox_close(v->box);
	if (v->owner_user != NULL)
		ops->user_close(v->owner_user);
	free(v->owner);
	free(v->store_name);
	view_free_strings(v->keywords, v->keyword_count);
	view_free_strings(v->known_keywords, v->known_count);
	free(v->msgs);
	free(v->name);
	free(v);
}

/* Records each single keyword of `list` as known (for FLAGS). */
static void view_learn_keywords(struct mailbox_view *v, const char *list)
{
	const char *p = list;

	while (*p != '\0') {
		const char *end = strchr(p, ' ');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		unsigned i;

		for (i = 0; i < v->known_count; i++) {
			if (strlen(v->known_keywords[i]) == len &&
			    strncasecmp(v->known_keywords[i], p, len) == 0)
				break;
		}
		if (i == v->known_count && len > 0) {
			v->known_keywords = xrealloc(v->known_keywords,
						     (v->known_count + 1) * sizeof(char *));
			v->known_keywords[v->known_count++] = xstrndup(p, len);
			v->known_changed = 1;
		}
		p += len;
		while (*p == ' ')
			p++;
	}
}

const char *mailbox_view_intern(struct mailbox_view *v, const char *keywords)
{
	unsigned i;

	if (keywords == NULL || keywords[0] == '\0')
		return "";
	/* Messages share few distinct keyword lists: a short scan, newest
	   first, finds the common ones at once. */
	for (i = v->keyword_count; i > 0; i--) {
		if (strcmp(v->keywords[i - 1], keywords) == 0)
			return v->keywords[i - 1];
	}
	v->keywords = xrealloc(v->keywords, (v->keyword_count + 1) * sizeof(char *));
	v->keywords[v->keyword_count] = xstrdup(keywords);
	view_learn_keywords(v, keywords);
	return v->keywords[v->keyword_count++];
}

uint32_t mailbox_view_seq_of(const struct mailbox_view *v, uint32_t uid)
{
	uint32_t lo = 0, hi = v->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v->msgs[mid].uid < uid)
			lo = mid + 1;
		else if (v->msgs[mid].uid > uid)
			hi = mid;
		else
			return mid + 1;
	}
	return 0;
}

uint32_t mailbox_view_seq_of_ge(const struct mailbox_view *v, uint32_t uid)
{
	uint32_t lo = 0, hi = v->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo + 1;
}

void mailbox_view_write_msg_flags(const struct view_msg *m, struct strbuf *out)
{
	size_t i, start = out->len;

	strbuf_appendc(out, '(');
	for (i = 0; i < sizeof(view_system_flags) / sizeof(view_system_flags[0]); i++) {
		if (m->flags & view_system_flags[i].bit) {
			if (out->len > start + 1)
				strbuf_appendc(out, ' ');
			strbuf_appends(out, view_system_flags[i].name);
		}
	}
	if (m->recent) {
		if (out->len > start + 1)
			strbuf_appendc(out, ' ');
		strbuf_appends(out, "\\Recent");
	}
	if (m->keywords[0] != '\0') {
		if (out->len > start + 1)
			strbuf_appendc(out, ' ');
		strbuf_appends(out, m->keywords);
	}
	strbuf_appendc(out, ')');
}

/* PERMANENTFLAGS lists only what the user may change (RFC 4314 5.1.1):
   \Seen with s, \Deleted with t, the others and keywords with w. */
static void view_write_permanentflags(const struct mailbox_view *v, const char *keywords,
				      struct strbuf *out)
{
	size_t start;

	strbuf_appends(out, "* OK [PERMANENTFLAGS (");
	start = out->len;
	if (v->rights & ACL_WRITE)
		strbuf_appends(out, "\\Answered \\Flagged \\Draft");
	if (v->rights & ACL_DELMSG)
		strbuf_appends(out, out->len > start ? " \\Deleted" : "\\Deleted");
	if (v->rights & ACL_SEEN)
		strbuf_appends(out, out->len > start ? " \\Seen" : "\\Seen");
	if (v->rights & ACL_WRITE)
		strbuf_appendf(out, "%s \\*", keywords);
	strbuf_appends(out, ")] Flags permitted.\r\n");
}

void mailbox_view_write_flags(struct mailbox_view *v, struct strbuf *out)
{
	unsigned i;
	struct strbuf kw = STRBUF_INIT;

	for (i = 0; i < v->known_count; i++) {
		strbuf_appendc(&kw, ' ');
		strbuf_appends(&kw, v->known_keywords[i]);
	}
	strbuf_appendf(out, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s)\r\n",
		       kw.data != NULL ? kw.data : "");
	if (v->readonly)
		strbuf_appends(out, "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n");
	else
		view_write_permanentflags(v, kw.data != NULL ? kw.data : "", out);
	strbuf_free(&kw);
	v->known_changed = 0;
}

int mailbox_view_update(struct mailbox_view *v, const struct vimap_message *msg)
{
	uint32_t seq = mailbox_view_seq_of(v, msg->uid);
	struct view_msg *m;
	const char *kw;

	if (seq == 0)
		return 0;
	m = &v->msgs[seq - 1];
	kw = mailbox_view_intern(v, msg->keywords);
	if (msg->modseq > m->modseq)
		m->modseq = msg->modseq;
	if (m->flags == msg->flags && m->keywords == kw)
		return 0;
	m->flags = msg->flags;
	m->keywords = kw;
	return 1;
}

uint32_t mailbox_view_recent_count(const struct mailbox_view *v)
{
	uint32_t i, n = 0;

	for (i = 0; i < v->count; i++)
		n += v->msgs[i].recent;
	return n;
}

uint32_t mailbox_view_first_unseen(const struct mailbox_view *v)
{
	uint32_t i;

	for (i = 0; i < v->count; i++) {
		if ((v->msgs[i].flags & VIMAP_FLAG_SEEN) == 0)
			return i + 1;
	}
	return 0;
}

uint32_t mailbox_view_claim_recent(struct mailbox_view *v, const struct vimap_storage_ops *ops)
{
	struct vimap_storage_error err;
	uint32_t first, i;

	/* EXAMINE never takes \Recent away from other sessions; and with no
	   message past the first recent UID there is nothing to claim (a
	   claim is a write transaction: not worth one per SELECT). */
	if (v->readonly || v->info.first_recent_uid >= v->info.uidnext) {
		first = v->info.first_recent_uid;
	} else if (ops->claim_recent(v->box, &first, &err) < 0) {
		return mailbox_view_recent_count(v);
	}
	for (i = v->count; i > 0 && v->msgs[i - 1].uid >= first; i--)
		v->msgs[i - 1].recent = 1;
	return mailbox_view_recent_count(v);
}

/* ---- sync ---- */

struct view_sync_ctx {
	struct mailbox_view *view;
	uint32_t *changed;      /* UIDs whose flags the client must hear of */
	unsigned changed_count, changed_cap;
	uint32_t appended;      /* new messages */
};

static void view_note_changed(struct view_sync_ctx *ctx, uint32_t uid)
{
	if (ctx->changed_count == ctx->changed_cap) {
		ctx->changed_cap = ctx->changed_cap == 0 ? 16 : ctx->changed_cap * 2;
		ctx->changed = xrealloc(ctx->changed, ctx->changed_cap * sizeof(uint32_t));
	}
	ctx->changed[ctx->changed_count++] = uid;
}

static int view_sync_changed_cb(void *arg, const struct vimap_message *msg)
{
	struct view_sync_ctx *ctx = arg;
	struct mailbox_view *v = ctx->view;
	struct view_msg *m;

	if (v->count == 0 || msg->uid > v->msgs[v->count - 1].uid) {
		/* New: UIDs only grow, so it goes at the end. */
		if (v->count == v->cap) {
			v->cap = v->cap < 64 ? 64 : v->cap * 2;
			v->msgs = xrealloc(v->msgs, v->cap * sizeof(*v->msgs));
		}
		m = &v->msgs[v->count++];
		memset(m, 0, sizeof(*m));
		m->uid = msg->uid;
		m->flags = msg->flags;
		m->keywords = mailbox_view_intern(v, msg->keywords);
		m->modseq = msg->modseq;
		ctx->appended++;
		return 0;
	}
	if (mailbox_view_update(v, msg))
		view_note_changed(ctx, msg->uid);
	return 0;
}

static void view_sync_expunged_cb(void *arg, uint32_t uid)
{
	struct view_sync_ctx *ctx = arg;
	uint32_t seq = mailbox_view_seq_of(ctx->view, uid);

	if (seq > 0 && !ctx->view->msgs[seq - 1].expunged) {
		ctx->view->msgs[seq - 1].expunged = 1;
		ctx->view->pending_expunges++;
	}
}

/* Tells the client of held-back expunges and takes them out of the view.
   Highest first: removing a message never renumbers the lower ones. */
static void view_flush_expunges(struct mailbox_view *v, struct strbuf *out)
{
	uint32_t i, kept = 0;

	if (v->pending_expunges == 0)
		return;
	for (i = v->count; i > 0; i--) {
		if (v->msgs[i - 1].expunged)
			strbuf_appendf(out, "* %u EXPUNGE\r\n", i);
	}
	for (i = 0; i < v->count; i++) {
		if (!v->msgs[i].expunged)
			v->msgs[kept++] = v->msgs[i];
	}
	v->count = kept;
	v->pending_expunges = 0;
}

static void view_write_changes(struct mailbox_view *v, struct view_sync_ctx *ctx,
			       int uid_fetch, struct strbuf *out)
{
	unsigned i;

	for (i = 0; i < ctx->changed_count; i++) {
		uint32_t seq = mailbox_view_seq_of(v, ctx->changed[i]);

		if (seq == 0)
			continue;
		strbuf_appendf(out, "* %u FETCH (", seq);
		if (uid_fetch)
			strbuf_appendf(out, "UID %u ", ctx->changed[i]);
		strbuf_appends(out, "FLAGS ");
		mailbox_view_write_msg_flags(&v->msgs[seq - 1], out);
		strbuf_appends(out, ")\r\n");
	}
}

int mailbox_view_sync(struct mailbox_view *v, const struct vimap_storage_ops *ops,
		      enum view_sync_mode mode, int uid_fetch, struct strbuf *out,
		      struct vimap_storage_error *err)
{
	struct view_sync_ctx ctx = { v, NULL, 0, 0, 0 };
	struct vimap_mailbox_info info;
	uint32_t old_uidvalidity = v->info.uidvalidity;
	int initial = !v->loaded;

	if (ops->mailbox_sync(v->box, v->synced_modseq, 0, view_sync_changed_cb,
			      view_sync_expunged_cb, &ctx, &info, err) < 0) {
		free(ctx.changed);
		return -1;
	}
	if (!initial && info.uidvalidity != old_uidvalidity) {
		free(ctx.changed);
		err->code = VIMAP_STORAGE_ERR_NONEXISTENT;
		err->text = "the mailbox was deleted and created again";
		return -1;
	}
	v->info = info;
	v->synced_modseq = info.highestmodseq;
	v->loaded = 1;
	if (initial) {
		free(ctx.changed);
		return 0;
	}
	if (mode == VIEW_SYNC_FULL)
		view_flush_expunges(v, out);
	if (ctx.appended > 0) {
		strbuf_appendf(out, "* %u EXISTS\r\n", v->count);
		strbuf_appendf(out, "* %u RECENT\r\n", mailbox_view_claim_recent(v, ops));
	}
	if (v->known_changed)
		mailbox_view_write_flags(v, out);
	view_write_changes(v, &ctx, uid_fetch, out);
	free(ctx.changed);
	return 0;
}
