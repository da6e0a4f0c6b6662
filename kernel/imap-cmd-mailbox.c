/* Mailbox commands (RFC 3501 6.3): SELECT, EXAMINE, CREATE, DELETE, RENAME,
 * SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS; with the CHILDREN (RFC 3348)
 * and SPECIAL-USE (RFC 6154) attributes in LIST. */
#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "acl.h"
#include "client.h"
#include "imap-commands.h"
#include "mail/imap-quote.h"
#include "mailbox-name.h"
#include "mailbox-notify.h"
#include "mailbox-view.h"
#include "pool.h"
#include "server.h"
#include "session.h"
#include "xalloc.h"

const char *imap_mailbox_arg_strip(struct imap_cmd *cmd, unsigned i, int strip_separator)
{
	const char *raw = imap_cmd_astring(cmd, i), *error;
	struct strbuf sb = STRBUF_INIT;
	size_t len;
	char *name;

	if (raw == NULL) {
		session_tagged(cmd, "BAD", NULL, "%s needs a mailbox name.", cmd->name);
		return NULL;
	}
	len = cmd->args[i].len;
	if (strip_separator && len > 1 && raw[len - 1] == MAILBOX_SEPARATOR)
		len--;
	if (mailbox_name_from_imap(raw, len, &sb, &error) < 0) {
		session_tagged(cmd, "NO", "CANNOT", "%s", error);
		strbuf_free(&sb);
		return NULL;
	}
	name = pool_strndup(cmd->pool, sb.data, sb.len);
	strbuf_free(&sb);
	return name;
}

const char *imap_mailbox_arg(struct imap_cmd *cmd, unsigned i)
{
	return imap_mailbox_arg_strip(cmd, i, 0);
}

static void imap_client_mailbox_changed(void *ctx)
{
	struct client *c = ctx;

	if (c->sess != NULL)
		atomic_store(&c->sess->dirty, 1);
	client_mailbox_changed(c);
}

static void imap_select_write(struct session *s, struct imap_cmd *cmd, uint32_t recent)
{
	struct mailbox_view *v = s->view;
	uint32_t unseen = mailbox_view_first_unseen(v);

	mailbox_view_write_flags(v, cmd->out);
	strbuf_appendf(cmd->out, "* %u EXISTS\r\n* %u RECENT\r\n", v->count, recent);
	if (unseen > 0)
		strbuf_appendf(cmd->out, "* OK [UNSEEN %u] First unseen.\r\n", unseen);
	strbuf_appendf(cmd->out, "* OK [UIDVALIDITY %u] UIDs valid.\r\n"
		       "* OK [UIDNEXT %u] Predicted next UID.\r\n",
		       v->info.uidvalidity, v->info.uidnext);
}

/* The view takes over what the resolution of a shared name opened. */
static void imap_select_take_ref(struct mailbox_view *v, struct mailbox_ref *ref)
{
	v->rights = ref->rights;
	if (ref->shared) {
		v->owner = xstrdup(ref->owner);
		free(v->store_name);
		v->store_name = xstrdup(ref->name);
		v->owner_user = ref->user;
		ref->user = NULL;
	}
	mailbox_ref_release(ref);
}

void imap_cmd_select(struct session *s, struct imap_cmd *cmd)
{
	const struct vimap_storage_ops *ops = session_storage(NULL);
	int readonly = strcasecmp(cmd->name, "EXAMINE") == 0;
	struct mailbox_ref ref;
	struct vimap_storage_error err;
	struct vimap_mailbox_info info;
	const char *name;
	void *box;
	uint32_t recent;

	if (cmd->count != 1) {
		session_tagged(cmd, "BAD", NULL, "%s takes one mailbox name.", cmd->name);
		return;
	}
	if (s->view != NULL) {
		/* RFC 7162 3.2.11: the old mailbox is closed first, in any case. */
		session_unselect(s);
		strbuf_appends(cmd->out, "* OK [CLOSED] Previous mailbox closed.\r\n");
		s->new_state = CLIENT_STATE_AUTHENTICATED;
	}
	if ((name = imap_mailbox_arg(cmd, 0)) == NULL)
		return;
	if (mailbox_ref_resolve(s->user, s->store_user, name, &ref, &err) < 0) {
		session_storage_error(s, cmd, cmd->name, &err);
		return;
	}
	if ((ref.rights & ACL_READ) == 0) {
		mailbox_ref_release(&ref);
		session_tagged(cmd, "NO", "NOPERM", "No right to read %s.", name);
		return;
	}
	if (ops->mailbox_open(ref.user, ref.name, &box, &info, &err) < 0) {
		mailbox_ref_release(&ref);
		session_storage_error(s, cmd, cmd->name, &err);
		return;
	}
	/* Without a right to change anything a shared mailbox is read-only. */
	if ((ref.rights & (ACL_SEEN | ACL_WRITE | ACL_DELMSG | ACL_EXPUNGE)) == 0)
		readonly = 1;
	s->view = mailbox_view_create(name, box, readonly);
	s->view->info = info;
	imap_select_take_ref(s->view, &ref);
	/* Watch before the first sync: a change between the two is then
	   never missed, at worst synced twice. */
	atomic_store(&s->dirty, 0);
	s->watch = notify_watch(s->view->owner != NULL ? s->view->owner : s->user,
				s->view->store_name, s->client->thread->loop,
				imap_client_mailbox_changed, s->client);
	if (mailbox_view_sync(s->view, ops, VIEW_SYNC_FULL, 0, cmd->out, &err) < 0) {
		session_unselect(s);
		session_storage_error(s, cmd, cmd->name, &err);
		return;
	}
	recent = mailbox_view_claim_recent(s->view, ops);
	imap_select_write(s, cmd, recent);
	s->new_state = CLIENT_STATE_SELECTED;
	session_tagged(cmd, "OK", readonly ? "READ-ONLY" : "READ-WRITE", "%s completed.",
		       cmd->name);
}

struct imap_link_find {
	const char *name;
	int under;               /* a name below a link counts too */
	int found;
};

static void imap_link_find_cb(void *arg, const char *name, const char *owner,
			      const char *owner_mailbox)
{
	struct imap_link_find *f = arg;
	size_t len = strlen(name);

	if (strcmp(name, f->name) == 0 ||
	    (f->under && strncmp(f->name, name, len) == 0 && f->name[len] == MAILBOX_SEPARATOR))
		f->found = 1;
}

/* 1 when `name` is a SHAREFOLDER link of the user (or, with `under`, lies
   below one: a link has no children of the user's own), 0 when not, -1
   when the store failed (answered). */
static int imap_link_check(struct session *s, struct imap_cmd *cmd, const char *name,
			   int under)
{
	struct imap_link_find f = { name, under, 0 };
	struct vimap_storage_error err;

	if (acl_links(s->store_user, imap_link_find_cb, &f, &err) < 0) {
		session_storage_error(s, cmd, cmd->name, &err);
		return -1;
	}
	return f.found;
}

static int imap_is_link(struct session *s, struct imap_cmd *cmd, const char *name)
{
	return imap_link_check(s, cmd, name, 0);
}

static int imap_in_link(struct session *s, struct imap_cmd *cmd, const char *name)
{
	return imap_link_check(s, cmd, name, 1);
}

void imap_cmd_create(struct session *s, struct imap_cmd *cmd)
{
	struct vimap_storage_error err;
	const char *name;
	int link;

	if (cmd->count != 1) {
		session_tagged(cmd, "BAD", NULL, "CREATE takes one mailbox name.");
		return;
	}
	/* "foo/" announces a hierarchy: the server creates "foo" (6.3.3). */
	if ((name = imap_mailbox_arg_strip(cmd, 0, 1)) == NULL)
		return;
	if (strcmp(name, "INBOX") == 0) {
		session_tagged(cmd, "NO", "ALREADYEXISTS", "INBOX always exists.");
		return;
	}
	if ((link = imap_in_link(s, cmd, name)) != 0) {
		if (link > 0)
			session_tagged(cmd, "NO", "ALREADYEXISTS", "%s is (or is below) a "
				       "shared folder.", name);
		return;
	}
	if (session_storage(NULL)->mailbox_create(s->store_user, name, 0, &err) < 0) {
		session_storage_error(s, cmd, "CREATE", &err);
		return;
	}
	session_tagged(cmd, "OK", NULL, "CREATE completed.");
}

void imap_cmd_delete(struct session *s, struct imap_cmd *cmd)
{
	struct vimap_storage_error err;
	const char *name;
	int link;

	if (cmd->count != 1) {
		session_tagged(cmd, "BAD", NULL, "DELETE takes one mailbox name.");
		return;
	}
	if ((name = imap_mailbox_arg(cmd, 0)) == NULL)
		return;
	if (strcmp(name, "INBOX") == 0) {
		session_tagged(cmd, "NO", "CANNOT", "INBOX cannot be deleted.");
		return;
	}
	if ((link = imap_is_link(s, cmd, name)) < 0)
		return;
	if (link > 0) {
		/* Only the entry in this user's list goes: the owner's mail stays. */
		if (session_storage(NULL)->link_set(s->store_user, name, NULL, NULL, &err) < 0)
			session_storage_error(s, cmd, "DELETE", &err);
		else
			session_tagged(cmd, "OK", NULL, "DELETE completed (shared folder removed "
				       "from the list).");
		return;
	}
	if (session_storage(NULL)->mailbox_delete(s->store_user, name, &err) < 0) {
		session_storage_error(s, cmd, "DELETE", &err);
		return;
	}
	session_notify(s, name);
	session_tagged(cmd, "OK", NULL, "DELETE completed.");
}

void imap_cmd_rename(struct session *s, struct imap_cmd *cmd)
{
	struct vimap_storage_error err;
	const char *from, *to;
	int link;

	if (cmd->count != 2) {
		session_tagged(cmd, "BAD", NULL, "RENAME takes two mailbox names.");
		return;
	}
	if ((from = imap_mailbox_arg(cmd, 0)) == NULL || (to = imap_mailbox_arg(cmd, 1)) == NULL)
		return;
	if (strcmp(to, "INBOX") == 0) {
		session_tagged(cmd, "NO", "ALREADYEXISTS", "INBOX always exists.");
		return;
	}
	if ((link = imap_is_link(s, cmd, from)) != 0 ||
	    (link = imap_in_link(s, cmd, to)) != 0) {
		if (link > 0)
			session_tagged(cmd, "NO", "CANNOT", "A shared folder cannot be renamed "
				       "(ask the administrator to share it under another name).");
		return;
	}
	if (session_storage(NULL)->mailbox_rename(s->store_user, from, to, &err) < 0) {
		session_storage_error(s, cmd, "RENAME", &err);
		return;
	}
	session_notify(s, from);
	session_tagged(cmd, "OK", NULL, "RENAME completed.");
}

void imap_cmd_subscribe(struct session *s, struct imap_cmd *cmd)
{
	int on = strcasecmp(cmd->name, "SUBSCRIBE") == 0;
	struct vimap_storage_error err;
	const char *name;

	if (cmd->count != 1) {
		session_tagged(cmd, "BAD", NULL, "%s takes one mailbox name.", cmd->name);
		return;
	}
	if ((name = imap_mailbox_arg(cmd, 0)) == NULL)
		return;
	if (session_storage(NULL)->subscribe(s->store_user, name, on, &err) < 0) {
		session_storage_error(s, cmd, cmd->name, &err);
		return;
	}
	session_tagged(cmd, "OK", NULL, "%s completed.", cmd->name);
}

/* ---- LIST and LSUB ---- */

struct list_entry {
	char *name;
	uint32_t attributes;
	uint32_t special_use;
};

struct list_ctx {
	struct list_entry *entries;
	unsigned count, cap;
};

static void imap_list_collect(void *arg, const char *name,
			      const struct vimap_mailbox_info *info)
{
	struct list_ctx *ctx = arg;

	if (ctx->count == ctx->cap) {
		ctx->cap = ctx->cap == 0 ? 32 : ctx->cap * 2;
		ctx->entries = xrealloc(ctx->entries, ctx->cap * sizeof(*ctx->entries));
	}
	ctx->entries[ctx->count].name = xstrdup(name);
	ctx->entries[ctx->count].attributes = info != NULL ? info->attributes : 0;
	ctx->entries[ctx->count].special_use = info != NULL ? info->special_use : 0;
	ctx->count++;
}

static int imap_list_cmp(const void *a, const void *b)
{
	return strcmp(((const struct list_entry *)a)->name, ((const struct list_entry *)b)->name);
}

static void imap_list_free(struct list_ctx *ctx)
{
	unsigned i;

	for (i = 0; i < ctx->count; i++)
		free(ctx->entries[i].name);
	free(ctx->entries);
}

/* 1 when some entry is a child of entries[i] (the list is sorted). */
static int imap_list_has_children(const struct list_ctx *ctx, unsigned i)
{
	size_t len = strlen(ctx->entries[i].name);
	unsigned j;

	for (j = i + 1; j < ctx->count; j++) {
		const char *n = ctx->entries[j].name;

		if (strncmp(n, ctx->entries[i].name, len) != 0)
			return 0;
		if (n[len] == MAILBOX_SEPARATOR)
			return 1;
	}
	return 0;
}

static void imap_list_write_attrs(struct strbuf *out, const struct list_entry *e,
				  int children, int lsub)
{
	static const struct { uint32_t bit; const char *name; } special[] = {
		{ VIMAP_SPECIAL_DRAFTS, "\\Drafts" }, { VIMAP_SPECIAL_SENT, "\\Sent" },
		{ VIMAP_SPECIAL_TRASH, "\\Trash" }, { VIMAP_SPECIAL_JUNK, "\\Junk" },
		{ VIMAP_SPECIAL_ARCHIVE, "\\Archive" }, { VIMAP_SPECIAL_ALL, "\\All" },
		{ VIMAP_SPECIAL_FLAGGED, "\\Flagged" },
	};
	size_t start = out->len, i;

	strbuf_appendc(out, '(');
	if (e->attributes & VIMAP_MAILBOX_NOSELECT)
		strbuf_appends(out, "\\Noselect");
	if (!lsub) {
		if (out->len > start + 1)
			strbuf_appendc(out, ' ');
		strbuf_appends(out, children ? "\\HasChildren" : "\\HasNoChildren");
		for (i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
			if (e->special_use & special[i].bit) {
				strbuf_appendc(out, ' ');
				strbuf_appends(out, special[i].name);
			}
		}
	}
	strbuf_appendc(out, ')');
}

static void imap_list_write(struct imap_cmd *cmd, const struct list_ctx *ctx,
			    const char *pattern, int lsub)
{
	struct strbuf wire = STRBUF_INIT;
	unsigned i;

	for (i = 0; i < ctx->count; i++) {
		const struct list_entry *e = &ctx->entries[i];

		if (!mailbox_pattern_match(pattern, e->name))
			continue;
		strbuf_appendf(cmd->out, "* %s ", lsub ? "LSUB" : "LIST");
		imap_list_write_attrs(cmd->out, e, imap_list_has_children(ctx, i), lsub);
		strbuf_appends(cmd->out, " \"/\" ");
		strbuf_reset(&wire);
		mailbox_name_to_imap(e->name, &wire);
		imap_quote_astring(cmd->out, wire.data, wire.len);
		strbuf_appends(cmd->out, "\r\n");
	}
	strbuf_free(&wire);
}

/* LSUB with '%' (RFC 3501 6.3.9): a subscribed "foo/bar" under an
   unsubscribed "foo" shows "foo" as \Noselect when "%" stops at it. */
static void imap_lsub_add_parents(struct list_ctx *ctx, const char *pattern)
{
	unsigned i, j, count = ctx->count;

	if (strchr(pattern, '%') == NULL)
		return;
	for (i = 0; i < count; i++) {
		char *name = xstrdup(ctx->entries[i].name), *slash;

		while ((slash = strrchr(name, MAILBOX_SEPARATOR)) != NULL) {
			*slash = '\0';
			if (!mailbox_pattern_match(pattern, name))
				continue;
			for (j = 0; j < ctx->count && strcmp(ctx->entries[j].name, name) != 0; j++)
				;
			if (j == ctx->count) {
				struct vimap_mailbox_info info;

				memset(&info, 0, sizeof(info));
				info.attributes = VIMAP_MAILBOX_NOSELECT;
				imap_list_collect(ctx, name, &info);
			}
			break;
		}
		free(name);
	}
}

/* The user's links, read whole before any owner's store is opened. */
struct list_links {
	char **names, **owners, **boxes;
	unsigned count, cap;
};

static void imap_list_link_cb(void *arg, const char *name, const char *owner,
			      const char *owner_mailbox)
{
	struct list_links *l = arg;

	if (l->count == l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		l->names = xrealloc(l->names, l->cap * sizeof(*l->names));
		l->owners = xrealloc(l->owners, l->cap * sizeof(*l->owners));
		l->boxes = xrealloc(l->boxes, l->cap * sizeof(*l->boxes));
	}
	l->names[l->count] = xstrdup(name);
	l->owners[l->count] = xstrdup(owner);
	l->boxes[l->count] = xstrdup(owner_mailbox);
	l->count++;
}

static void imap_list_links_free(struct list_links *l)
{
	unsigned i;

	for (i = 0; i < l->count; i++) {
		free(l->names[i]);
		free(l->owners[i]);
		free(l->boxes[i]);
	}
	free(l->names);
	free(l->owners);
	free(l->boxes);
}

/* Adds the user's SHAREFOLDER links that still grant the lookup right:
   a link whose owner revoked it is not shown. */
static int imap_list_links(struct session *s, struct list_ctx *ctx,
			   struct vimap_storage_error *err)
{
	struct list_links links = { NULL, NULL, NULL, 0, 0 };
	struct vimap_storage_error ignored;
	unsigned i;
	int ret = acl_links(s->store_user, imap_list_link_cb, &links, err);

	for (i = 0; ret == 0 && i < links.count; i++) {
		struct mailbox_ref ref;

		if (mailbox_ref_link(s->user, links.owners[i], links.boxes[i], &ref,
				     &ignored) < 0)
			continue;
		if (ref.rights & ACL_LOOKUP)
			imap_list_collect(ctx, links.names[i], NULL);
		mailbox_ref_release(&ref);
	}
	imap_list_links_free(&links);
	return ret;
}

void imap_cmd_list(struct session *s, struct imap_cmd *cmd)
{
	int lsub = strcasecmp(cmd->name, "LSUB") == 0;
	const char *ref = imap_cmd_astring(cmd, 0), *pat = imap_cmd_astring(cmd, 1), *error;
	struct strbuf pattern = STRBUF_INIT;
	struct vimap_storage_error err;
	struct list_ctx ctx = { NULL, 0, 0 };
	const struct vimap_storage_ops *ops = session_storage(NULL);
	int ret;

	if (cmd->count != 2 || ref == NULL || pat == NULL) {
		session_tagged(cmd, "BAD", NULL, "%s takes a reference and a pattern.", cmd->name);
		return;
	}
	if (!lsub && cmd->args[1].len == 0) {
		/* The hierarchy separator and root (6.3.8). */
		strbuf_appends(cmd->out, "* LIST (\\Noselect) \"/\" \"\"\r\n");
		session_tagged(cmd, "OK", NULL, "LIST completed.");
		return;
	}
	if (mailbox_pattern_from_imap(ref, cmd->args[0].len, pat, cmd->args[1].len,
				      &pattern, &error) < 0) {
		session_tagged(cmd, "OK", NULL, "%s completed (pattern matches nothing: %s).",
			       cmd->name, error);
		return;
	}
	ret = lsub ? ops->subscriptions(s->store_user, imap_list_collect, &ctx, &err) :
		ops->mailbox_list(s->store_user, imap_list_collect, &ctx, &err);
	if (ret == 0 && !lsub)
		ret = imap_list_links(s, &ctx, &err);
	if (ret < 0) {
		session_storage_error(s, cmd, cmd->name, &err);
	} else {
		if (lsub)
			imap_lsub_add_parents(&ctx, pattern.data != NULL ? pattern.data : "");
		/* qsort(NULL, 0) is undefined: an LSUB with no subscription. */
		if (ctx.count > 0)
			qsort(ctx.entries, ctx.count, sizeof(*ctx.entries), imap_list_cmp);
		imap_list_write(cmd, &ctx, pattern.data != NULL ? pattern.data : "", lsub);
		session_tagged(cmd, "OK", NULL, "%s completed.", cmd->name);
	}
	imap_list_free(&ctx);
	strbuf_free(&pattern);
}

/* ---- STATUS ---- */

static int imap_status_items(struct imap_cmd *cmd, const struct imap_arg *list,
			     const struct vimap_mailbox_info *info, struct strbuf *out)
{
	unsigned i;

	for (i = 0; i < list->count; i++) {
		const struct imap_arg *a = &list->list[i];

		if (i > 0)
			strbuf_appendc(out, ' ');
		if (imap_arg_is_atom(a, "MESSAGES"))
			strbuf_appendf(out, "MESSAGES %u", info->messages);
		else if (imap_arg_is_atom(a, "RECENT"))
			strbuf_appendf(out, "RECENT %u", info->recent);
		else if (imap_arg_is_atom(a, "UIDNEXT"))
			strbuf_appendf(out, "UIDNEXT %u", info->uidnext);
		else if (imap_arg_is_atom(a, "UIDVALIDITY"))
			strbuf_appendf(out, "UIDVALIDITY %u", info->uidvalidity);
		else if (imap_arg_is_atom(a, "UNSEEN"))
			strbuf_appendf(out, "UNSEEN %u", info->unseen);
		else if (imap_arg_is_atom(a, "SIZE"))
			strbuf_appendf(out, "SIZE %llu", (unsigned long long)info->size);
		else
			return -1;
	}
	return 0;
}

/* STATUS of own or shared `name`: 0, or -1 answered. */
static int imap_status_get(struct session *s, struct imap_cmd *cmd, const char *name,
			   struct vimap_mailbox_info *info)
{
	struct vimap_storage_error err;
	struct mailbox_ref ref;
	int ret = -1;

	if (mailbox_ref_resolve(s->user, s->store_user, name, &ref, &err) < 0) {
		session_storage_error(s, cmd, "STATUS", &err);
		return -1;
	}
	if ((ref.rights & ACL_READ) == 0)
		session_tagged(cmd, "NO", "NOPERM", "No right to read %s.", name);
	else if (session_storage(NULL)->mailbox_status(ref.user, ref.name, info, &err) < 0)
		session_storage_error(s, cmd, "STATUS", &err);
	else
		ret = 0;
	mailbox_ref_release(&ref);
	return ret;
}

void imap_cmd_status(struct session *s, struct imap_cmd *cmd)
{
	struct vimap_mailbox_info info;
	struct strbuf items = STRBUF_INIT, wire = STRBUF_INIT;
	const char *name;

	if (cmd->count != 2 || cmd->args[1].type != IMAP_ARG_LIST || cmd->args[1].count == 0) {
		session_tagged(cmd, "BAD", NULL, "STATUS takes a mailbox and a list of items.");
		return;
	}
	if ((name = imap_mailbox_arg(cmd, 0)) == NULL)
		return;
	memset(&info, 0, sizeof(info));
	if (imap_status_get(s, cmd, name, &info) < 0)
		return;
	if (imap_status_items(cmd, &cmd->args[1], &info, &items) < 0) {
		session_tagged(cmd, "BAD", NULL, "Unknown STATUS item.");
	} else {
		mailbox_name_to_imap(name, &wire);
		strbuf_appends(cmd->out, "* STATUS ");
		imap_quote_astring(cmd->out, wire.data, wire.len);
		strbuf_appendf(cmd->out, " (%s)\r\n", items.data);
		session_tagged(cmd, "OK", NULL, "STATUS completed.");
	}
	strbuf_free(&items);
	strbuf_free(&wire);
}
