/* Change notification between sessions of this process: a session that
 * changes a mailbox (append, flags, expunge, copy into) calls
 * notify_changed(); every other session with that mailbox selected gets its
 * callback run on its own I/O thread, marks itself out of step, and (in
 * IDLE) syncs at once.  Thread-safe. */
#ifndef VIMAP_MAILBOX_NOTIFY_H
#define VIMAP_MAILBOX_NOTIFY_H

struct ioloop;
struct mailbox_watch;

typedef void notify_cb(void *ctx);

/* Watches (user, mailbox): cb(ctx) runs on `loop` after each change by
   another session, until notify_unwatch().  Returns the watch, owned by
   the caller. */
struct mailbox_watch *notify_watch(const char *user, const char *mailbox,
				   struct ioloop *loop, notify_cb *cb, void *ctx);
/* Stops the watch; a callback already on its way is dropped.  Must be
   called on the watch's loop thread or while no callback can run for it
   there (its client is busy).  Leaves NULL. */
void notify_unwatch(struct mailbox_watch **watch);

/* Tells every watcher of every mailbox: what changed is not known (a
   shared store's change feed was interrupted), so every session syncs. */
void notify_changed_all(void);

/* Tells every watcher of (user, mailbox) but `except` (may be NULL). */
void notify_changed(const char *user, const char *mailbox,
		    const struct mailbox_watch *except);

#endif
