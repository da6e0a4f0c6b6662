/* Sharing: RFC 4314 rights and the resolution of a mailbox name to the
 * store that holds it.  A user's own mailboxes carry every right; a name
 * that is a SHAREFOLDER link stands for another user's mailbox and carries
 * the rights that user granted (to this user, plus "anyone").  The storage
 * plugin only keeps the ACL and link rows; every check is made here. */
#ifndef VIMAP_ACL_H
#define VIMAP_ACL_H

#include <stdint.h>
#include <vimap/storage.h>
#include "userid.h"

/* The rights, in RFC 4314's canonical order "lrswipkxtea". */
#define ACL_RIGHTS_ORDER "lrswipkxtea"
#define ACL_LOOKUP  0x001u  /* l: LIST shows it */
#define ACL_READ    0x002u  /* r: SELECT, FETCH, SEARCH, STATUS, COPY from */
#define ACL_SEEN    0x004u  /* s: keep \Seen */
#define ACL_WRITE   0x008u  /* w: other flags and keywords */
#define ACL_INSERT  0x010u  /* i: APPEND, COPY into */
#define ACL_POST    0x020u  /* p: send mail to it (not used by IMAP) */
#define ACL_CREATE  0x040u  /* k: create children */
#define ACL_DELETE  0x080u  /* x: delete the mailbox */
#define ACL_DELMSG  0x100u  /* t: set \Deleted */
#define ACL_EXPUNGE 0x200u  /* e: EXPUNGE */
#define ACL_ADMIN   0x400u  /* a: administer the ACL */
#define ACL_ALL     0x7ffu

/* Parses RFC 4314 rights letters (the obsolete c = k x and d = x t e are
   accepted).  0 and the bits, or -1 naming the bad letter. */
int acl_rights_parse(const char *text, uint32_t *rights_r, const char **error_r);
/* Writes the bits as letters in canonical order into buf (>= 12 bytes). */
const char *acl_rights_str(uint32_t rights, char *buf);
/* 1 when `id` is a valid ACL identifier ("anyone" or a user id), written
   canonical into `out`; 0 otherwise. */
int acl_identifier(const char *id, char out[USERID_MAX + 1]);

/* A mailbox name as the store sees it. */
struct mailbox_ref {
	void *user;            /* the handle to call the storage plugin with */
	char owner[USERID_MAX + 1]; /* whose mailbox it is */
	char *name;            /* its name in the owner's store (caller frees
				  through mailbox_ref_release) */
	uint32_t rights;       /* ACL_* bits of the session's user on it */
	int shared;            /* `user` is the owner's handle, opened here */
};

/* Resolves `name` of `user` (handle `user_handle`): the user's own mailbox
   (all rights) or the mailbox a link of that name points at (the rights
   granted; NONEXISTENT when none at all, so a link reveals nothing the
   owner did not grant).  0, or -1 with err.  Release with
   mailbox_ref_release. */
int mailbox_ref_resolve(const char *user, void *user_handle, const char *name,
			struct mailbox_ref *ref, struct vimap_storage_error *err);
void mailbox_ref_release(struct mailbox_ref *ref);
/* The same for a link already read (owner's `owner_mailbox`), without
   looking the link up again: LIST resolves every link it lists. */
int mailbox_ref_link(const char *user, const char *owner, const char *owner_mailbox,
		     struct mailbox_ref *ref, struct vimap_storage_error *err);

/* The rights `user` has on `owner_handle`'s mailbox `mailbox` from its ACL
   (own: ACL_ALL).  0 or -1. */
int acl_rights_of(void *owner_handle, const char *owner, const char *mailbox,
		  const char *user, uint32_t *rights_r, struct vimap_storage_error *err);

/* The system flags (VIMAP_FLAG_*) a user with `rights` may set on a
   message it stores (RFC 4314 4: \Seen needs s, \Deleted t, the others
   w); *keywords_r is 1 when keywords may be kept (w). */
uint32_t acl_settable_flags(uint32_t rights, int *keywords_r);

/* 1 when the storage plugin has the ABI 1.1 sharing ops. */
int acl_supported(void);

/* Calls cb for each link of the user (a copy of the rows). */
typedef void acl_link_cb(void *ctx, const char *name, const char *owner,
			 const char *owner_mailbox);
int acl_links(void *user_handle, acl_link_cb *cb, void *ctx,
	      struct vimap_storage_error *err);

#endif
