#include "autoconfig.h"
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "acl.h"
#include "error.h"
#include "session.h"
#include "xalloc.h"

int acl_rights_parse(const char *text, uint32_t *rights_r, const char **error_r)
{
	uint32_t rights = 0;
	const char *p;

	for (p = text; *p != '\0'; p++) {
		const char *at = strchr(ACL_RIGHTS_ORDER, *p);

		/* RFC 4314 2.1.1 with RIGHTS=texk: c is k, d is x t e. */
		if (*p == 'c')
			rights |= ACL_CREATE;
		else if (*p == 'd')
			rights |= ACL_DELETE | ACL_DELMSG | ACL_EXPUNGE;
		else if (at != NULL && *p != '\0')
			rights |= 1u << (at - ACL_RIGHTS_ORDER);
		else
			return error_set(error_r, "'%c' is not an RFC 4314 right (%s)", *p,
					 ACL_RIGHTS_ORDER);
	}
	*rights_r = rights;
	return 0;
}

const char *acl_rights_str(uint32_t rights, char *buf)
{
	size_t i, n = 0;

	for (i = 0; ACL_RIGHTS_ORDER[i] != '\0'; i++) {
		if (rights & (1u << i))
			buf[n++] = ACL_RIGHTS_ORDER[i];
	}
	buf[n] = '\0';
	return buf;
}

int acl_identifier(const char *id, char out[USERID_MAX + 1])
{
	if (strcasecmp(id, "anyone") == 0) {
		strcpy(out, "anyone");
		return 1;
	}
	return userid_canonical(id, strlen(id), out) == 0;
}

uint32_t acl_settable_flags(uint32_t rights, int *keywords_r)
{
	uint32_t flags = 0;

	if (rights & ACL_SEEN)
		flags |= VIMAP_FLAG_SEEN;
	if (rights & ACL_DELMSG)
		flags |= VIMAP_FLAG_DELETED;
	if (rights & ACL_WRITE)
		flags |= VIMAP_FLAG_ALL & ~(VIMAP_FLAG_SEEN | VIMAP_FLAG_DELETED);
	*keywords_r = (rights & ACL_WRITE) != 0;
	return flags;
}

int acl_supported(void)
{
	const struct vimap_storage_ops *ops = session_storage(NULL);

	return ops->size >= offsetof(struct vimap_storage_ops, link_list) +
		sizeof(ops->link_list) && ops->acl_list != NULL && ops->acl_set != NULL &&
		ops->link_set != NULL && ops->link_list != NULL;
}

struct acl_rights_ctx {
	const char *user;
	uint32_t rights;
};

static void acl_rights_cb(void *arg, const char *identifier, const char *rights)
{
	struct acl_rights_ctx *ctx = arg;
	uint32_t bits;
	const char *error;

	if (strcmp(identifier, ctx->user) != 0 && strcmp(identifier, "anyone") != 0)
		return;
	/* A broken row grants nothing. */
	if (acl_rights_parse(rights, &bits, &error) == 0)
		ctx->rights |= bits;
}

int acl_rights_of(void *owner_handle, const char *owner, const char *mailbox,
		  const char *user, uint32_t *rights_r, struct vimap_storage_error *err)
{
	struct acl_rights_ctx ctx = { user, 0 };

	if (strcmp(owner, user) == 0) {
		*rights_r = ACL_ALL;
		return 0;
	}
	if (!acl_supported()) {
		*rights_r = 0;
		return 0;
	}
	if (session_storage(NULL)->acl_list(owner_handle, mailbox, acl_rights_cb, &ctx, err) < 0)
		return -1;
	*rights_r = ctx.rights;
	return 0;
}

/* ---- links ---- */

struct acl_find_ctx {
	const char *name;
	char *owner, *owner_mailbox;   /* the link's target, copied */
};

static void acl_find_cb(void *arg, const char *name, const char *owner,
			const char *owner_mailbox)
{
	struct acl_find_ctx *ctx = arg;

	if (ctx->owner == NULL && strcmp(name, ctx->name) == 0) {
		ctx->owner = xstrdup(owner);
		ctx->owner_mailbox = xstrdup(owner_mailbox);
	}
}

int acl_links(void *user_handle, acl_link_cb *cb, void *ctx,
	      struct vimap_storage_error *err)
{
	if (!acl_supported())
		return 0;
	return session_storage(NULL)->link_list(user_handle, cb, ctx, err);
}

/* The owner's handle and rights for the link target. */
static int mailbox_ref_shared(const char *user, const char *owner, const char *owner_mailbox,
			      struct mailbox_ref *ref, struct vimap_storage_error *err)
{
	const struct vimap_storage_ops *ops = session_storage(NULL);
	void *state;

	session_storage(&state);
	if (userid_canonical(owner, strlen(owner), ref->owner) < 0) {
		err->code = VIMAP_STORAGE_ERR_NONEXISTENT;
		err->text = "no such mailbox (a link to a bad user id)";
		return -1;
	}
	if (ops->user_open(state, ref->owner, &ref->user, err) < 0) {
		/* Only "not enrolled" means the folder is gone; a store that is
		   down must not make clients think so (TRYCREATE). */
		if (err->code == VIMAP_STORAGE_ERR_NONEXISTENT)
			err->text = "the shared folder's owner is no longer enrolled";
		ref->user = NULL;
		return -1;
	}
	ref->shared = 1;
	ref->name = xstrdup(owner_mailbox);
	if (acl_rights_of(ref->user, ref->owner, ref->name, user, &ref->rights, err) < 0)
		return -1;
	/* Without any of l, r, i or a the folder does not exist for this
	   user (an 'i'-only folder is a drop box: APPEND works, SELECT not). */
	if ((ref->rights & (ACL_LOOKUP | ACL_READ | ACL_INSERT | ACL_ADMIN)) == 0) {
		err->code = VIMAP_STORAGE_ERR_NONEXISTENT;
		err->text = "no such mailbox (the owner grants no access to it)";
		return -1;
	}
	return 0;
}

int mailbox_ref_resolve(const char *user, void *user_handle, const char *name,
			struct mailbox_ref *ref, struct vimap_storage_error *err)
{
	struct acl_find_ctx link = { name, NULL, NULL };
	int ret = 0;

	memset(ref, 0, sizeof(*ref));
	if (strcmp(name, "INBOX") != 0 && acl_supported() &&
	    session_storage(NULL)->link_list(user_handle, acl_find_cb, &link, err) < 0) {
		free(link.owner);
		free(link.owner_mailbox);
		return -1;
	}
	if (link.owner != NULL) {
		ret = mailbox_ref_link(user, link.owner, link.owner_mailbox, ref, err);
	} else {
		ref->user = user_handle;
		snprintf(ref->owner, sizeof(ref->owner), "%s", user);
		ref->name = xstrdup(name);
		ref->rights = ACL_ALL;
	}
	free(link.owner);
	free(link.owner_mailbox);
	return ret;
}

int mailbox_ref_link(const char *user, const char *owner, const char *owner_mailbox,
		     struct mailbox_ref *ref, struct vimap_storage_error *err)
{
	memset(ref, 0, sizeof(*ref));
	if (mailbox_ref_shared(user, owner, owner_mailbox, ref, err) == 0)
		return 0;
	mailbox_ref_release(ref);
	return -1;
}

void mailbox_ref_release(struct mailbox_ref *ref)
{
	if (ref->shared && ref->user != NULL)
		session_storage(NULL)->user_close(ref->user);
	free(ref->name);
	memset(ref, 0, sizeof(*ref));
}
