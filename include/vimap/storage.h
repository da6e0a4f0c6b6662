/* vimap plugin ABI: storage plugins (kind VIMAP_PLUGIN_STORAGE).
 *
 * The configuration's `storage` names one storage plugin; the server-wide
 * setting "filepoolid" (host->setting) says where the store is: a directory
 * for localfs, a PostgreSQL connection string for sfs.
 *
 * Threads: the kernel calls these only from worker threads, and they may
 * block.  The plugin must be thread-safe: two sessions of one user, on two
 * workers, may call it at the same time (a `user` or `box` handle, though,
 * is used by one thread at a time).
 *
 * Names and ids: user ids arrive canonical (lower case letters, digits and
 * . _ - + @, 1 to 64 bytes: always a safe single path component).  Mailbox
 * names are UTF-8, hierarchy separator '/', "INBOX" always in upper case;
 * the kernel has checked them (no empty, "." or ".." component, no control
 * character, at most 1000 bytes), but a plugin must still never build a
 * file path from one.
 *
 * Errors: every call that can fail returns 0 or -1 and fills `err`.  Its
 * text is log-safe and stays valid until the plugin's next call on the
 * same thread.  Durability: when a call that changes the store returns 0,
 * the change must survive kill -9 of the server at any instant.
 *
 * Append-only ABI: members are only added at the end of these structs. */
#ifndef VIMAP_STORAGE_H
#define VIMAP_STORAGE_H

#include <stdint.h>
#include <vimap/host.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What went wrong; the kernel maps each to an RFC 5530 response code. */
enum vimap_storage_code {
	VIMAP_STORAGE_ERR_INTERNAL = 1, /* a bug or corruption: [SERVERBUG] */
	VIMAP_STORAGE_ERR_UNAVAILABLE,  /* temporary (database down): [UNAVAILABLE] */
	VIMAP_STORAGE_ERR_NONEXISTENT,  /* no such user or mailbox: [NONEXISTENT] */
	VIMAP_STORAGE_ERR_EXISTS,       /* the mailbox exists: [ALREADYEXISTS] */
	VIMAP_STORAGE_ERR_OVERQUOTA,    /* over the block quota: [OVERQUOTA] */
	VIMAP_STORAGE_ERR_NOPERM,       /* not allowed: [NOPERM] */
	VIMAP_STORAGE_ERR_CANNOT,       /* never possible (delete INBOX): [CANNOT] */
	VIMAP_STORAGE_ERR_INUSE,        /* locked by another operation: [INUSE] */
	VIMAP_STORAGE_ERR_LIMIT         /* a store limit was hit: [LIMIT] */
};

struct vimap_storage_error {
	enum vimap_storage_code code;
	const char *text;
};

/* System flags, as bits. */
#define VIMAP_FLAG_SEEN     0x01u
#define VIMAP_FLAG_ANSWERED 0x02u
#define VIMAP_FLAG_FLAGGED  0x04u
#define VIMAP_FLAG_DELETED  0x08u
#define VIMAP_FLAG_DRAFT    0x10u
#define VIMAP_FLAG_ALL      0x1fu

/* Special-use attributes (RFC 6154), as bits. */
#define VIMAP_SPECIAL_DRAFTS  0x01u
#define VIMAP_SPECIAL_SENT    0x02u
#define VIMAP_SPECIAL_TRASH   0x04u
#define VIMAP_SPECIAL_JUNK    0x08u
#define VIMAP_SPECIAL_ARCHIVE 0x10u
#define VIMAP_SPECIAL_ALL     0x20u
#define VIMAP_SPECIAL_FLAGGED 0x40u

/* Mailbox attribute bits in vimap_mailbox_info.attributes. */
#define VIMAP_MAILBOX_NOSELECT 0x01u   /* a hierarchy node holding no messages */

struct vimap_mailbox_info {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;   /* the largest modseq given in this mailbox */
	uint32_t messages;
	uint32_t unseen;          /* messages without \Seen */
	uint32_t first_recent_uid;/* messages from this UID on are \Recent */
	uint32_t attributes;      /* VIMAP_MAILBOX_* */
	uint32_t special_use;     /* VIMAP_SPECIAL_* */
	uint64_t size;            /* bytes of all its messages */
	uint32_t recent;          /* messages from first_recent_uid on */
};

/* One message's index record.  Strings and the cache blob are valid only
   during the callback that receives the record. */
struct vimap_message {
	uint32_t uid;
	uint32_t flags;           /* VIMAP_FLAG_* */
	uint64_t modseq;          /* changes whenever flags or keywords change */
	const char *keywords;     /* space-separated, as set; "" when none */
	int64_t internal_date;    /* seconds since the epoch */
	int32_t tz_offset;        /* of the internal date: minutes east of UTC */
	uint64_t size;            /* octets (RFC822.SIZE) */
	const void *cache;        /* the kernel's parse blob, when asked for */
	size_t cache_size;
};

/* What a record callback needs: the cache blob costs I/O, so it is read
   only when asked. */
#define VIMAP_WANT_CACHE 0x01u

/* Called once per message, in ascending UID order.  Return 0 to go on,
   -1 to stop (the call then fails with the error the callback set). */
typedef int vimap_message_cb(void *ctx, const struct vimap_message *msg);
/* Called once per UID (expunged ones, for example), ascending. */
typedef void vimap_uid_cb(void *ctx, uint32_t uid);
/* Called once per mailbox or subscription name. */
typedef void vimap_name_cb(void *ctx, const char *name,
			   const struct vimap_mailbox_info *info);

/* Called once per ACL entry: `identifier` has `rights`. */
typedef void vimap_acl_cb(void *ctx, const char *identifier, const char *rights);
/* Called once per link: `name` points at `owner`'s `owner_mailbox`. */
typedef void vimap_link_cb(void *ctx, const char *name, const char *owner,
			   const char *owner_mailbox);

/* Progress of a long operation: `done` of `total` units. */
typedef void vimap_progress_cb(void *ctx, uint64_t done, uint64_t total);

/* A message to append.  `data` holds the whole message (CRLF line ends);
   `cache` the kernel's parse blob, stored as is and handed back in
   vimap_message.cache. */
struct vimap_append {
	const char *data;
	size_t size;
	uint32_t flags;
	const char *keywords;     /* space-separated, "" for none */
	int64_t internal_date;
	int32_t tz_offset;
	const void *cache;
	size_t cache_size;
};

/* A message's bytes for FETCH, from open_message. */
struct vimap_message_data {
	const char *data;         /* valid until close_message */
	size_t size;
	void *priv;               /* the plugin's */
};

enum vimap_store_mode {
	VIMAP_STORE_REPLACE = 0,  /* FLAGS */
	VIMAP_STORE_ADD = 1,      /* +FLAGS */
	VIMAP_STORE_REMOVE = 2    /* -FLAGS */
};

struct vimap_storage_ops {
	VIMAP_OPS_COMMON;

	/* ---- administration (ENROLL, DELETE, MODIFY) ---- */

	/* 1 when `user` is enrolled, 0 when not, -1 on failure. */
	int (*is_enrolled)(void *state, const char *user,
			   struct vimap_storage_error *err);
	/* Enrols `user` with a quota of `blocks` 4 KB blocks in `group`:
	   creates INBOX and Drafts, Sent, Trash and Junk with their
	   special-use attributes.  EXISTS when already enrolled. */
	int (*enroll)(void *state, const char *user, uint64_t blocks,
		      unsigned storage_group, struct vimap_storage_error *err);
	/* Removes the user and all their mail and folders. */
	int (*unenroll)(void *state, const char *user,
			struct vimap_storage_error *err);
	/* The quota in blocks and the blocks in use (4 KB each). */
	int (*quota_get)(void *state, const char *user, uint64_t *limit_r,
			 uint64_t *used_r, struct vimap_storage_error *err);
	/* Sets the quota; never below what is in use unless `force`. */
	int (*quota_set)(void *state, const char *user, uint64_t blocks,
			 int force, struct vimap_storage_error *err);

	/* ---- a user's session ---- */

	/* Opens `user`'s store: NONEXISTENT when not enrolled.  The handle is
	   the plugin's, used by one thread at a time. */
	int (*user_open)(void *state, const char *user, void **user_r,
			 struct vimap_storage_error *err);
	void (*user_close)(void *user);

	/* Calls cb for every mailbox of the user (any order); info has
	   attributes and special_use only (counts are for status). */
	int (*mailbox_list)(void *user, vimap_name_cb *cb, void *ctx,
			    struct vimap_storage_error *err);
	/* Creates `name` and any missing parents (as \Noselect nodes when
	   they did not exist).  EXISTS when it exists. */
	int (*mailbox_create)(void *user, const char *name, uint32_t special_use,
			      struct vimap_storage_error *err);
	/* Deletes `name`: its messages go.  A mailbox with children becomes a
	   \Noselect node instead (RFC 3501 6.3.4).  INBOX: CANNOT. */
	int (*mailbox_delete)(void *user, const char *name,
			      struct vimap_storage_error *err);
	/* Renames `from` and its children to `to` (missing parents made).
	   Renaming INBOX moves its messages to a new mailbox `to` and leaves
	   INBOX empty (RFC 3501 6.3.5). */
	int (*mailbox_rename)(void *user, const char *from, const char *to,
			      struct vimap_storage_error *err);
	/* Counts for STATUS, without opening the mailbox. */
	int (*mailbox_status)(void *user, const char *name,
			      struct vimap_mailbox_info *info_r,
			      struct vimap_storage_error *err);
	/* Subscribes (on=1) or unsubscribes `name`; the name need not exist. */
	int (*subscribe)(void *user, const char *name, int on,
			 struct vimap_storage_error *err);
	/* Calls cb for every subscribed name (any order).  When the name is a
	   mailbox, info has its attributes and special_use (counts are for
	   status); for a subscribed name with no mailbox, info may be NULL,
	   and the callback must accept that. */
	int (*subscriptions)(void *user, vimap_name_cb *cb, void *ctx,
			     struct vimap_storage_error *err);

	/* Appends `count` messages to `mailbox` in one transaction: all or
	   none.  On success the new UIDs are in uids_r (count of them) and
	   the mailbox's UIDVALIDITY in *uidvalidity_r.  OVERQUOTA when the
	   messages do not fit. */
	int (*append)(void *user, const char *mailbox,
		      const struct vimap_append *msgs, unsigned count,
		      uint32_t *uidvalidity_r, uint32_t *uids_r,
		      struct vimap_storage_error *err);

	/* ---- an open mailbox ---- */

	/* Opens `name` (NOSELECT: NONEXISTENT).  The handle is used by one
	   thread at a time.  `info_r` as of opening. */
	int (*mailbox_open)(void *user, const char *name, void **box_r,
			    struct vimap_mailbox_info *info_r,
			    struct vimap_storage_error *err);
	void (*mailbox_close)(void *box);
	/* Reports what changed since `since_modseq`: `changed` for every
	   message with a larger modseq (every message when 0), `expunged`
	   for every UID expunged after since_modseq (none when 0), then fills
	   info_r.  `want` is VIMAP_WANT_* for the records. */
	int (*mailbox_sync)(void *box, uint64_t since_modseq, unsigned want,
			    vimap_message_cb *changed, vimap_uid_cb *expunged,
			    void *ctx, struct vimap_mailbox_info *info_r,
			    struct vimap_storage_error *err);
	/* Moves the mailbox's first recent UID to its UIDNEXT and returns the
	   previous one: messages from it on are \Recent to the caller alone. */
	int (*claim_recent)(void *box, uint32_t *first_recent_r,
			    struct vimap_storage_error *err);
	/* The records of `uids` (ascending; missing ones are skipped). */
	int (*fetch)(void *box, const uint32_t *uids, unsigned count,
		     unsigned want, vimap_message_cb *cb, void *ctx,
		     struct vimap_storage_error *err);
	/* The bytes of message `uid`, until close_message. */
	int (*open_message)(void *box, uint32_t uid, struct vimap_message_data *out,
			    struct vimap_storage_error *err);
	void (*close_message)(void *box, struct vimap_message_data *data);
	/* Changes flags and keywords of `uids` (ascending); `changed` gets the
	   new record of each message that changed, with its new modseq. */
	int (*store)(void *box, const uint32_t *uids, unsigned count,
		     enum vimap_store_mode mode, uint32_t flags,
		     const char *keywords, vimap_message_cb *changed, void *ctx,
		     struct vimap_storage_error *err);
	/* Expunges `uids` (ascending) that have \Deleted; all \Deleted
	   messages when uids is NULL.  `expunged` gets each UID removed. */
	int (*expunge)(void *box, const uint32_t *uids, unsigned count,
		       vimap_uid_cb *expunged, void *ctx,
		       struct vimap_storage_error *err);
	/* Copies `uids` (ascending) into mailbox `dest` of the same user in
	   one transaction; dest_uids_r[i] is the new UID of uids[i] (0 when
	   that UID no longer existed).  With `move` set the sources are
	   expunged in the same transaction and reported to `expunged`. */
	int (*copy)(void *box, const uint32_t *uids, unsigned count,
		    const char *dest, int move, uint32_t *uidvalidity_r,
		    uint32_t *dest_uids_r, vimap_uid_cb *expunged, void *ctx,
		    struct vimap_storage_error *err);

	/* ---- since ABI 1.1: sharing (SHAREFOLDER, GRANT, RFC 4314 ACL) ----
	 *
	 * The plugin only keeps two small tables per user; the kernel does
	 * everything else (it checks rights, opens the owner's mailbox through
	 * user_open(owner) for a link, and enforces read-only access).
	 *
	 * Rights are RFC 4314 letters in the canonical order "lrswipkxtea".
	 * Identifiers are canonical user ids or "anyone". */

	/* Calls cb once per ACL entry of the user's own `mailbox` (any
	   order).  NONEXISTENT when the mailbox does not exist. */
	int (*acl_list)(void *user, const char *mailbox, vimap_acl_cb *cb,
			void *ctx, struct vimap_storage_error *err);
	/* Sets `identifier`'s rights on the user's own `mailbox`; an empty
	   `rights` removes the entry.  Entries go with the mailbox on delete
	   and follow it on rename. */
	int (*acl_set)(void *user, const char *mailbox, const char *identifier,
		       const char *rights, struct vimap_storage_error *err);
	/* Makes `name` in the user's mailbox list a link to `owner`'s mailbox
	   `owner_mailbox`; `owner` NULL removes the link `name` (NONEXISTENT
	   when there is none).  EXISTS when `name` is already a link; the
	   kernel has checked it is no mailbox of the user's. */
	int (*link_set)(void *user, const char *name, const char *owner,
			const char *owner_mailbox, struct vimap_storage_error *err);
	/* Calls cb once per link of the user (any order). */
	int (*link_list)(void *user, vimap_link_cb *cb, void *ctx,
			 struct vimap_storage_error *err);

	/* ---- since ABI 1.1: the store's format (the seed's IMAP5TO6) ----
	 *
	 * vimapd calls check_format once after init and refuses to start when
	 * it fails; `vimap upgrade-store` calls upgrade with no server running
	 * on the store.  init itself must succeed on an old store. */

	/* 0 when the store is in this plugin's format; -1 otherwise, with a
	   text that names both formats and the command that upgrades
	   ("store format 1 is older than 2: run 'vimap upgrade-store'"). */
	int (*check_format)(void *state, struct vimap_storage_error *err);
	/* Converts the store in place to this plugin's format (creates it when
	   empty, for sfs's schema).  Safe when interrupted: running it again
	   finishes the job, and no mail is lost either way.  progress(ctx,
	   done, total) may be NULL.  0, or -1 with the error. */
	int (*upgrade)(void *state, vimap_progress_cb *progress, void *ctx,
		       struct vimap_storage_error *err);

	/* ---- since ABI 1.1: exactly-once delivery ---- */

	/* Appends `msg` to `mailbox` unless a message with `delivery_id` was
	   appended to this user's store before: then nothing is stored,
	   *duplicate_r is 1 and *uid_r the earlier UID.  The id is recorded in
	   the same transaction as the message, so a delivery source that dies
	   after the commit and delivers again on restart never makes a second
	   copy.  Ids are kept at least 7 days.  May be NULL (the kernel then
	   appends without the check). */
	int (*append_once)(void *user, const char *mailbox, const struct vimap_append *msg,
			   const char *delivery_id, uint32_t *uidvalidity_r, uint32_t *uid_r,
			   int *duplicate_r, struct vimap_storage_error *err);
};

#ifdef __cplusplus
}
#endif
#endif
