/* The admin sharing commands.  The seed's SHAREFOLDER put an entry in
 * to_user's mailbox list for a folder of owning_user and left granting the
 * authority to the site's tools; vimap grants with GRANT / REVOKE (and the
 * owner's own RFC 4314 SETACL), and SHAREFOLDER refuses unless the owner
 * has granted to_user (or anyone) an authority on the folder. */
#include "autoconfig.h"
#include <stdio.h>
#include <string.h>
#include "acl.h"
#include "admin-reply.h"
#include "mailbox-name.h"
#include "mailbox-notify.h"
#include "session.h"
#include "strbuf.h"

/* Canonical user id of args[i], or -1. */
static int share_user(const char *in, char out[USERID_MAX + 1])
{
	return userid_canonical(in, strlen(in), out);
}

/* A folder name as a client would type it (modified UTF-7) in storage
   form; NULL with *error_r. */
static const char *share_folder(const char *in, struct strbuf *buf, const char **error_r)
{
	strbuf_reset(buf);
	if (mailbox_name_from_imap(in, strlen(in), buf, error_r) < 0)
		return NULL;
	return buf->data;
}

/* Opens `user`'s store; NULL with *error_r. */
static void *share_open(const char *user, const char **error_r)
{
	struct vimap_storage_error err;
	void *state, *handle = NULL;
	const struct vimap_storage_ops *ops = session_storage(&state);

	if (ops->user_open(state, user, &handle, &err) < 0) {
		*error_r = err.code == VIMAP_STORAGE_ERR_NONEXISTENT ? "is not enrolled" : err.text;
		return NULL;
	}
	return handle;
}

struct share_entry {
	const char *id;
	char rights[16];
};

static void share_find_cb(void *arg, const char *identifier, const char *rights)
{
	struct share_entry *e = arg;

	if (strcmp(identifier, e->id) == 0)
		snprintf(e->rights, sizeof(e->rights), "%s", rights);
}

/* GRANT (add) and REVOKE (remove) `rights` of `id` on owner's folder. */
static json_t *share_change(const char *const *args, unsigned argc, int grant)
{
	const char *verb = grant ? "GRANT" : "REVOKE", *folder, *error;
	struct strbuf buf = STRBUF_INIT;
	struct vimap_storage_error err = { VIMAP_STORAGE_ERR_INTERNAL, "a stored entry is broken" };
	struct share_entry cur;
	char owner[USERID_MAX + 1], id[USERID_MAX + 1], text[16];
	uint32_t bits, have = 0;
	void *handle = NULL;
	json_t *res;

	memset(&cur, 0, sizeof(cur));
	cur.id = id;
	if (!acl_supported())
		return admin_fail("%s: the storage plugin keeps no access control lists", verb);
	if (share_user(args[0], owner) < 0 || !acl_identifier(args[2], id))
		return admin_fail("usage: %s owner folder userid|anyone [rights]", verb);
	if (strcmp(owner, id) == 0)
		return admin_fail("%s: the owner always has every right on their folders", verb);
	if (acl_rights_parse(argc > 3 ? args[3] : grant ? "lr" : ACL_RIGHTS_ORDER, &bits,
			     &error) < 0)
		return admin_fail("%s: %s", verb, error);
	if ((folder = share_folder(args[1], &buf, &error)) == NULL) {
		res = admin_fail("%s: bad folder name '%s': %s", verb, args[1], error);
	} else if ((handle = share_open(owner, &error)) == NULL) {
		res = admin_fail("%s: %s %s", verb, owner, error);
	} else if (session_storage(NULL)->acl_list(handle, folder, share_find_cb, &cur, &err) < 0 ||
		   acl_rights_parse(cur.rights, &have, &error) < 0 ||
		   session_storage(NULL)->acl_set(handle, folder, id,
						  acl_rights_str(grant ? have | bits : have & ~bits,
								 text), &err) < 0) {
		res = admin_fail("%s %s %s failed: %s", verb, owner, args[1], err.text);
	} else {
		notify_changed(owner, folder, NULL);  /* rights are read again */
		res = admin_ok(json_pack("{s:s, s:s, s:s, s:s}", "owner", owner, "folder", folder,
					 "identifier", id, "rights", text),
			       "%s now has rights '%s' on %s's %s", id, text, owner, folder);
	}
	if (handle != NULL)
		session_storage(NULL)->user_close(handle);
	strbuf_free(&buf);
	return res;
}

json_t *admin_grant(const char *const *args, unsigned argc)
{
	return share_change(args, argc, 1);
}

json_t *admin_revoke(const char *const *args, unsigned argc)
{
	return share_change(args, argc, 0);
}

/* The checks of SHAREFOLDER on the owner's side: the folder exists and
   `to` has an authority on it (l or r to see it, i for a drop box).
   NULL, or the reply. */
static json_t *share_check_owner(const char *owner, const char *folder, const char *to)
{
	struct vimap_storage_error err;
	const char *error;
	uint32_t rights = 0;
	void *handle = share_open(owner, &error);
	json_t *res = NULL;

	if (handle == NULL)
		return admin_fail("SHAREFOLDER: owning user %s %s", owner, error);
	if (acl_rights_of(handle, owner, folder, to, &rights, &err) < 0)
		res = admin_fail("SHAREFOLDER: %s's folder %s: %s", owner, folder, err.text);
	else if ((rights & (ACL_LOOKUP | ACL_READ | ACL_INSERT)) == 0)
		res = admin_fail("SHAREFOLDER refused: %s has not granted %s authority on %s "
				 "(run: GRANT %s %s %s lr)", owner, to, folder, owner, folder, to);
	session_storage(NULL)->user_close(handle);
	return res;
}

struct share_taken {
	const char *name;
	int taken;
};

static void share_taken_cb(void *arg, const char *name, const struct vimap_mailbox_info *info)
{
	struct share_taken *t = arg;
	size_t len = strlen(t->name);

	/* The name itself (a \Noselect node too), or a folder below it. */
	if (strncmp(name, t->name, len) == 0 && (name[len] == '\0' || name[len] == '/'))
		t->taken = 1;
}

/* The checks on to_user's side, then the link.  `name` must be free. */
static json_t *share_link(const char *to, const char *name, const char *owner,
			  const char *folder)
{
	struct vimap_storage_error err;
	struct share_taken taken = { name, 0 };
	const char *error;
	void *handle = share_open(to, &error);
	json_t *res;

	if (handle == NULL)
		return admin_fail("SHAREFOLDER: to_user %s %s", to, error);
	if (session_storage(NULL)->mailbox_list(handle, share_taken_cb, &taken, &err) < 0)
		res = admin_fail("SHAREFOLDER: %s's folders: %s", to, err.text);
	else if (taken.taken)
		res = admin_fail("SHAREFOLDER: %s already has a folder %s", to, name);
	else if (session_storage(NULL)->link_set(handle, name, owner, folder, &err) < 0)
		res = admin_fail("SHAREFOLDER failed: %s", err.text);
	else
		res = admin_ok(json_pack("{s:s, s:s, s:s, s:s}", "to_user", to, "name", name,
					 "owner", owner, "folder", folder),
			       "%s's folder %s now appears as %s in %s's list", owner, folder,
			       name, to);
	session_storage(NULL)->user_close(handle);
	return res;
}

json_t *admin_sharefolder(const char *const *args, unsigned argc)
{
	struct strbuf b1 = STRBUF_INIT, b2 = STRBUF_INIT;
	char to[USERID_MAX + 1], owner[USERID_MAX + 1];
	const char *name, *folder, *error;
	json_t *res;

	if (!acl_supported())
		return admin_fail("SHAREFOLDER: the storage plugin keeps no sharing tables");
	if (share_user(args[0], to) < 0 || share_user(args[2], owner) < 0)
		return admin_fail("usage: SHAREFOLDER to_user foldername owning_user foldername");
	if (strcmp(to, owner) == 0)
		return admin_fail("SHAREFOLDER: to_user and owning_user are the same user");
	if ((name = share_folder(args[1], &b1, &error)) == NULL ||
	    (folder = share_folder(args[3], &b2, &error)) == NULL)
		res = admin_fail("SHAREFOLDER: bad folder name: %s", error);
	else if (strcmp(name, "INBOX") == 0 || mailbox_name_is_inbox(name))
		res = admin_fail("SHAREFOLDER: INBOX is always the user's own");
	else if ((res = share_check_owner(owner, folder, to)) == NULL)
		res = share_link(to, name, owner, folder);
	strbuf_free(&b1);
	strbuf_free(&b2);
	return res;
}
