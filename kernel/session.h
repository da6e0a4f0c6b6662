/* A client's IMAP session once it runs commands on the worker pool: the
 * user's open store, the selected mailbox's view, and the responses a
 * command builds.  While a command runs on a worker the session belongs to
 * that worker alone (the client's input is held); the client's I/O thread
 * touches it only between commands. */
#ifndef VIMAP_SESSION_H
#define VIMAP_SESSION_H

#include <stdatomic.h>
#include <vimap/storage.h>
#include "imap-parser.h"
#include "strbuf.h"

struct client;
struct mailbox_view;
struct mailbox_watch;
struct imap_command_def;

/* A command as its handler sees it: the parsed arguments (after "UID" for
   the UID forms) and where its responses go. */
struct imap_cmd {
	const char *tag;
	const char *name;            /* canonical upper-case name */
	const struct imap_arg *args;
	unsigned count;
	int uid;                     /* UID FETCH / STORE / COPY / MOVE / SEARCH / EXPUNGE */
	const struct imap_command_def *def;
	struct strbuf *out;          /* untagged responses */
	struct strbuf *tagged;       /* the tagged response, sent last */
	struct pool *pool;           /* the command's memory */
};

struct session {
	struct client *client;
	char *user;                  /* canonical user id, once logged in */
	void *store_user;            /* the storage plugin's user handle */
	struct mailbox_view *view;   /* the selected mailbox, or NULL */
	struct mailbox_watch *watch; /* change notification for the view */
	struct strbuf out;           /* responses of the command running */
	int new_state;               /* client state to enter after the command (0: same) */
	atomic_int dirty;            /* another session changed the mailbox */
	unsigned enabled;            /* ENABLEd extensions (SESSION_ENABLED_*) */
};

#define SESSION_ENABLED_UTF8 0x01u

/* The storage plugin's ops and state. */
const struct vimap_storage_ops *session_storage(void **state_r);

/* Lower-cases and checks a user id (letters, digits, . _ - + @; 1 to 64
   bytes) into `out`.  0, or -1 when it cannot be a user id. */
int session_canonical_user(const char *user, size_t len, char out[65]);

struct session *session_create(struct client *c);
/* Closes the view and the user's store, frees; leaves NULL. */
void session_destroy(struct session **s);

/* Closes the selected mailbox's view and stops watching it. */
void session_unselect(struct session *s);

/* Sets the command's tagged response "TAG STATUS [CODE] text" (sent after
   every untagged one, including those a sync adds). */
void session_tagged(struct imap_cmd *cmd, const char *status, const char *code,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Answers NO with the RFC 5530 code of a storage error, and logs the
   errors that are the server's fault. */
void session_storage_error(struct session *s, struct imap_cmd *cmd,
			   const char *what, const struct vimap_storage_error *err);

/* Tells other sessions of this user that `mailbox` changed. */
void session_notify(struct session *s, const char *mailbox);
/* For a shared mailbox selected: reads the rights again, so a grant taken
   back takes effect at the session's next command (RFC 4314 5.1.1 allows
   caching; a mail service should not).  0, or -1 when the right to read
   is gone: a BYE is in `out` and the session ends. */
int session_refresh_rights(struct session *s, struct strbuf *out);
/* Tells every other session watching the selected mailbox (its owner's
   and those of users it is shared with) that it changed. */
void session_notify_view(struct session *s);

#endif
