/* The ACL extension (RFC 4314): SETACL, DELETEACL, GETACL, LISTRIGHTS,
 * MYRIGHTS.  The owner of a mailbox administers its ACL; a user the owner
 * granted 'a' may do so through a shared folder.  Identifiers are user ids
 * and "anyone"; negative rights ("-user") are not supported. */
#include "autoconfig.h"
#include <stdio.h>
#include <string.h>
#include "acl.h"
#include "imap-commands.h"
#include "mail/imap-quote.h"
#include "mailbox-notify.h"
#include "mailbox-name.h"
#include "session.h"
#include "strbuf.h"

/* Resolves the mailbox argument and checks the session may administer it
   (`need` is ACL_ADMIN, or 0 for MYRIGHTS).  0, or -1 answered. */
static int acl_cmd_mailbox(struct session *s, struct imap_cmd *cmd, uint32_t need,
			   struct mailbox_ref *ref)
{
	struct vimap_storage_error err;
	const char *name;

	if (!acl_supported()) {
		session_tagged(cmd, "NO", "CANNOT", "This store keeps no access control lists.");
		return -1;
	}
	if ((name = imap_mailbox_arg(cmd, 0)) == NULL)
		return -1;
	if (mailbox_ref_resolve(s->user, s->store_user, name, ref, &err) < 0) {
		session_storage_error(s, cmd, cmd->name, &err);
		return -1;
	}
	if ((ref->rights & need) != need) {
		mailbox_ref_release(ref);
		session_tagged(cmd, "NO", "NOPERM", "No right to administer this mailbox.");
		return -1;
	}
	return 0;
}

/* Writes the mailbox argument as the client gave it (quoted). */
static void acl_cmd_write_name(struct imap_cmd *cmd)
{
	imap_quote_astring(cmd->out, cmd->args[0].str, cmd->args[0].len);
}

/* The identifier argument i, canonical; -1 answered when it is bad. */
static int acl_cmd_identifier(struct imap_cmd *cmd, unsigned i, const struct mailbox_ref *ref,
			      char id[USERID_MAX + 1])
{
	const char *text = imap_cmd_astring(cmd, i);

	if (text == NULL) {
		session_tagged(cmd, "BAD", NULL, "%s needs an identifier.", cmd->name);
		return -1;
	}
	if (text[0] == '-') {
		session_tagged(cmd, "NO", "CANNOT", "Negative rights are not supported.");
		return -1;
	}
	if (!acl_identifier(text, id)) {
		session_tagged(cmd, "BAD", NULL, "'%s' is not a user id or \"anyone\".", text);
		return -1;
	}
	if (strcmp(id, ref->owner) == 0) {
		session_tagged(cmd, "NO", "CANNOT", "The owner always has every right.");
		return -1;
	}
	return 0;
}

struct acl_find {
	const char *id;
	uint32_t rights;
};

static void acl_find_cb(void *arg, const char *identifier, const char *rights)
{
	struct acl_find *f = arg;
	const char *error;

	if (strcmp(identifier, f->id) == 0)
		(void)acl_rights_parse(rights, &f->rights, &error);
}

/* The new rights of SETACL: "+rights" adds, "-rights" removes, plain
   replaces.  0, or -1 answered. */
static int acl_cmd_new_rights(struct session *s, struct imap_cmd *cmd,
			      const struct mailbox_ref *ref, const char *id, uint32_t *rights_r)
{
	const char *text = imap_cmd_astring(cmd, 2), *error;
	struct acl_find cur = { id, 0 };
	struct vimap_storage_error err;
	uint32_t bits;
	char mod = text != NULL ? text[0] : '\0';

	if (text == NULL) {
		session_tagged(cmd, "BAD", NULL, "SETACL takes a mailbox, an identifier and rights.");
		return -1;
	}
	if (acl_rights_parse(mod == '+' || mod == '-' ? text + 1 : text, &bits, &error) < 0) {
		session_tagged(cmd, "BAD", NULL, "%s.", error);
		return -1;
	}
	if (mod == '+' || mod == '-') {
		if (session_storage(NULL)->acl_list(ref->user, ref->name, acl_find_cb, &cur,
						    &err) < 0) {
			session_storage_error(s, cmd, cmd->name, &err);
			return -1;
		}
		bits = mod == '+' ? (cur.rights | bits) : (cur.rights & ~bits);
	}
	*rights_r = bits;
	return 0;
}

void imap_cmd_setacl(struct session *s, struct imap_cmd *cmd)
{
	int delete = strcasecmp(cmd->name, "DELETEACL") == 0;
	struct vimap_storage_error err;
	struct mailbox_ref ref;
	char id[USERID_MAX + 1], buf[16];
	uint32_t rights = 0;

	if (cmd->count != (delete ? 2u : 3u)) {
		session_tagged(cmd, "BAD", NULL, "%s takes a mailbox, an identifier%s.", cmd->name,
			       delete ? "" : " and rights");
		return;
	}
	if (acl_cmd_mailbox(s, cmd, ACL_ADMIN, &ref) < 0)
		return;
	if (acl_cmd_identifier(cmd, 1, &ref, id) == 0 &&
	    (delete || acl_cmd_new_rights(s, cmd, &ref, id, &rights) == 0)) {
		if (session_storage(NULL)->acl_set(ref.user, ref.name, id,
						   acl_rights_str(rights, buf), &err) < 0) {
			session_storage_error(s, cmd, cmd->name, &err);
		} else {
			/* Sessions on the folder (IDLE too) read their rights
			   again: a revoked one ends at once. */
			notify_changed(ref.owner, ref.name, NULL);
			session_tagged(cmd, "OK", NULL, "%s completed.", cmd->name);
		}
	}
	mailbox_ref_release(&ref);
}

static void acl_write_entry(void *arg, const char *identifier, const char *rights)
{
	struct imap_cmd *cmd = arg;

	strbuf_appendc(cmd->out, ' ');
	imap_quote_astring(cmd->out, identifier, strlen(identifier));
	strbuf_appendc(cmd->out, ' ');
	imap_quote_astring(cmd->out, rights, strlen(rights));
}

void imap_cmd_getacl(struct session *s, struct imap_cmd *cmd)
{
	struct vimap_storage_error err;
	struct mailbox_ref ref;
	size_t start;

	if (cmd->count != 1) {
		session_tagged(cmd, "BAD", NULL, "GETACL takes one mailbox name.");
		return;
	}
	if (acl_cmd_mailbox(s, cmd, ACL_ADMIN, &ref) < 0)
		return;
	start = cmd->out->len;
	strbuf_appends(cmd->out, "* ACL ");
	acl_cmd_write_name(cmd);
	acl_write_entry(cmd, ref.owner, ACL_RIGHTS_ORDER);
	if (session_storage(NULL)->acl_list(ref.user, ref.name, acl_write_entry, cmd, &err) < 0) {
		cmd->out->len = start;
		cmd->out->data[start] = '\0';
		session_storage_error(s, cmd, "GETACL", &err);
	} else {
		strbuf_appends(cmd->out, "\r\n");
		session_tagged(cmd, "OK", NULL, "GETACL completed.");
	}
	mailbox_ref_release(&ref);
}

void imap_cmd_listrights(struct session *s, struct imap_cmd *cmd)
{
	struct mailbox_ref ref;
	char id[USERID_MAX + 1];
	const char *text;

	if (cmd->count != 2 || (text = imap_cmd_astring(cmd, 1)) == NULL) {
		session_tagged(cmd, "BAD", NULL, "LISTRIGHTS takes a mailbox and an identifier.");
		return;
	}
	if (acl_cmd_mailbox(s, cmd, ACL_ADMIN, &ref) < 0)
		return;
	if (!acl_identifier(text, id)) {
		session_tagged(cmd, "NO", "CANNOT", "'%s' is not a user id or \"anyone\".", text);
	} else {
		strbuf_appends(cmd->out, "* LISTRIGHTS ");
		acl_cmd_write_name(cmd);
		strbuf_appendc(cmd->out, ' ');
		imap_quote_astring(cmd->out, text, strlen(text));
		/* The owner holds every right for good; anyone else may be
		   given each right on its own. */
		strbuf_appends(cmd->out, strcmp(id, ref.owner) == 0 ? " " ACL_RIGHTS_ORDER "\r\n" :
			       " \"\" l r s w i p k x t e a\r\n");
		session_tagged(cmd, "OK", NULL, "LISTRIGHTS completed.");
	}
	mailbox_ref_release(&ref);
}

static void acl_ignore_entry(void *arg, const char *identifier, const char *rights)
{
}

void imap_cmd_myrights(struct session *s, struct imap_cmd *cmd)
{
	struct vimap_storage_error err;
	struct mailbox_ref ref;
	char buf[16];

	if (cmd->count != 1) {
		session_tagged(cmd, "BAD", NULL, "MYRIGHTS takes one mailbox name.");
		return;
	}
	if (acl_cmd_mailbox(s, cmd, 0, &ref) < 0)
		return;
	/* The look-up also says whether the mailbox exists. */
	if (session_storage(NULL)->acl_list(ref.user, ref.name, acl_ignore_entry, NULL, &err) < 0) {
		session_storage_error(s, cmd, "MYRIGHTS", &err);
	} else {
		strbuf_appends(cmd->out, "* MYRIGHTS ");
		acl_cmd_write_name(cmd);
		strbuf_appendf(cmd->out, " %s\r\n", acl_rights_str(ref.rights, buf));
		session_tagged(cmd, "OK", NULL, "MYRIGHTS completed.");
	}
	mailbox_ref_release(&ref);
}
