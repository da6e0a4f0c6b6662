/* A session's view of its selected mailbox: the sequence numbers it has
 * told the client about, each message's UID, flags and keywords as the
 * client last saw them, and the modseq up to which it is in step with the
 * store.  Syncing brings the view up to date and writes the untagged
 * responses (EXPUNGE, EXISTS, RECENT, FETCH FLAGS) that tell the client,
 * at the points RFC 3501 7.4.1 allows.
 *
 * A view is used by one thread at a time: the worker running the session's
 * command. */
#ifndef VIMAP_MAILBOX_VIEW_H
#define VIMAP_MAILBOX_VIEW_H

#include <stdint.h>
#include <vimap/storage.h>

struct strbuf;

struct view_msg {
	uint32_t uid;
	uint32_t flags;          /* VIMAP_FLAG_* */
	const char *keywords;    /* interned in the view; "" for none */
	uint64_t modseq;
	uint8_t recent;          /* \Recent for this session */
	uint8_t expunged;        /* gone from the store, not yet told */
};

struct mailbox_view {
	char *name;              /* storage form */
	void *box;               /* the storage plugin's handle */
	int readonly;            /* EXAMINE, or no right to change anything */
	uint32_t rights;         /* ACL_* of the session's user (own: all) */
	char *owner;             /* a shared mailbox's owner, NULL for one's own */
	char *store_name;        /* its name in the owner's store */
	void *owner_user;        /* the owner's storage handle (shared), closed
				    after `box` */
	struct vimap_mailbox_info info;
	struct view_msg *msgs;   /* index = sequence number - 1 */
	uint32_t count, cap;
	uint64_t synced_modseq;
	int loaded;              /* the first sync (SELECT's) has run */
	uint32_t pending_expunges;
	char **keywords;         /* interned keyword lists, and known keywords */
	unsigned keyword_count;
	char **known_keywords;   /* every single keyword seen: the FLAGS response */
	unsigned known_count;
	unsigned known_changed:1;/* a new keyword: FLAGS must be sent again */
};

/* Makes an empty view of `name` over storage handle `box` (taken over).
   The caller loads it with mailbox_view_sync(since 0). */
struct mailbox_view *mailbox_view_create(const char *name, void *box, int readonly);
/* Closes the storage handle through `ops` and frees the view; NULL after. */
void mailbox_view_destroy(struct mailbox_view **view,
			  const struct vimap_storage_ops *ops);

/* How much a sync may tell (RFC 3501 7.4.1): expunges are held back
   during FETCH, STORE and SEARCH (not their UID forms). */
enum view_sync_mode {
	VIEW_SYNC_FULL,          /* everything */
	VIEW_SYNC_NO_EXPUNGE     /* new messages and flag changes only */
};

/* Brings the view up to date from the store and appends the untagged
   responses to `out`.  `uid_fetch` adds UID to FETCH responses (a UID
   command runs).  Returns 0, or -1 with the storage error in `err` (for
   NONEXISTENT or a changed UIDVALIDITY the session must end: the mailbox
   is gone). */
int mailbox_view_sync(struct mailbox_view *view, const struct vimap_storage_ops *ops,
		      enum view_sync_mode mode, int uid_fetch, struct strbuf *out,
		      struct vimap_storage_error *err);

/* Claims \Recent for messages that arrived since the last claim and marks
   them in the view.  Returns how many messages of the view are \Recent. */
uint32_t mailbox_view_claim_recent(struct mailbox_view *view,
				   const struct vimap_storage_ops *ops);

/* The sequence number of `uid` (1-based), or 0 when it is not in the view. */
uint32_t mailbox_view_seq_of(const struct mailbox_view *view, uint32_t uid);

/* The sequence number of the first message with a UID >= uid, or
   count + 1 when there is none. */
uint32_t mailbox_view_seq_of_ge(const struct mailbox_view *view, uint32_t uid);

/* Applies a changed record (from STORE) to the view; 1 when the client must
   be told (flags differ from what it saw), else 0. */
int mailbox_view_update(struct mailbox_view *view, const struct vimap_message *msg);

/* Writes "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" for the view. */
void mailbox_view_write_flags(struct mailbox_view *view, struct strbuf *out);
/* Writes a message's flags as "(\Seen kw ...)", with \Recent when set. */
void mailbox_view_write_msg_flags(const struct view_msg *m, struct strbuf *out);

/* The number of \Recent messages and the first unseen sequence number. */
uint32_t mailbox_view_recent_count(const struct mailbox_view *view);
uint32_t mailbox_view_first_unseen(const struct mailbox_view *view);

/* Interns a keyword list (space-separated); the view owns the string. */
const char *mailbox_view_intern(struct mailbox_view *view, const char *keywords);

#endif
