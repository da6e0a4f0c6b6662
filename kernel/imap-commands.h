/* The IMAP command table: which commands exist, in which states each is
 * allowed, where it runs and what it may tell of others' changes.  Handlers
 * live in files by command family (imap-cmd-*.c).
 *
 * Two kinds of handler: `run` on the client's I/O thread, for commands that
 * never block (CAPABILITY, NOOP without a mailbox, ...), and `work` on the
 * worker pool, for everything that reaches the store or checks a password.
 * A `work` handler has the session to itself, writes untagged responses to
 * cmd->out and ends with session_tagged(); the kernel then adds what other
 * sessions changed (as RFC 3501 7.4.1 allows) before the tagged line. */
#ifndef VIMAP_IMAP_COMMANDS_H
#define VIMAP_IMAP_COMMANDS_H

#include "imap-parser.h"
#include "session.h"

struct client;

typedef void imap_command_cb(struct client *c, struct imap_cmd *cmd);
typedef void imap_work_cb(struct session *s, struct imap_cmd *cmd);

/* What the kernel may tell of other sessions' changes after the command. */
#define CMD_SYNC_NONE       0x00u  /* nothing (no mailbox, or the command did it) */
#define CMD_SYNC_NO_EXPUNGE 0x01u  /* FETCH, STORE, SEARCH, COPY: no EXPUNGE */
#define CMD_SYNC_FULL       0x02u  /* everything */
#define CMD_SYNC_ALWAYS     0x04u  /* ask the store even when not told of a change */
#define CMD_UID             0x08u  /* has a UID form */

struct imap_command_def {
	const char *name;
	unsigned states;          /* enum client_state bits where it is valid */
	imap_command_cb *run;     /* on the I/O thread, or NULL */
	imap_work_cb *work;       /* on a worker, or NULL */
	unsigned flags;           /* CMD_* */
	unsigned secret_args;     /* the trace masks arguments from this one on */
};

/* Looks `args->name` up and runs it, or answers BAD when it is unknown or
   not allowed in the client's state. */
void imap_command_run(struct client *c, const struct imap_command_args *args);

/* Writes the command to the SOCKETIO trace, with passwords masked. */
void imap_command_trace(struct client *c, const struct imap_command_args *cmd);

/* Handlers of the commands valid in every state (imap-cmd-any.c). */
void imap_cmd_capability(struct client *c, struct imap_cmd *cmd);
void imap_cmd_starttls(struct client *c, struct imap_cmd *cmd);
void imap_cmd_noop(struct client *c, struct imap_cmd *cmd);
void imap_cmd_noop_work(struct session *s, struct imap_cmd *cmd);
void imap_cmd_logout(struct client *c, struct imap_cmd *cmd);
void imap_cmd_id(struct client *c, struct imap_cmd *cmd);
void imap_cmd_idle(struct client *c, struct imap_cmd *cmd);

/* Authentication (imap-cmd-auth.c). */
void imap_cmd_login(struct session *s, struct imap_cmd *cmd);
void imap_cmd_authenticate(struct client *c, struct imap_cmd *cmd);
/* The client's line after "+ " in AUTHENTICATE; `tag` is the command's. */
void imap_auth_continue(struct client *c, const char *tag, const char *line, size_t len);


/* Mailboxes (imap-cmd-mailbox.c). */
void imap_cmd_select(struct session *s, struct imap_cmd *cmd);
void imap_cmd_create(struct session *s, struct imap_cmd *cmd);
void imap_cmd_delete(struct session *s, struct imap_cmd *cmd);
void imap_cmd_rename(struct session *s, struct imap_cmd *cmd);
void imap_cmd_subscribe(struct session *s, struct imap_cmd *cmd);
void imap_cmd_list(struct session *s, struct imap_cmd *cmd);
void imap_cmd_status(struct session *s, struct imap_cmd *cmd);
void imap_cmd_namespace(struct client *c, struct imap_cmd *cmd);
void imap_cmd_enable(struct client *c, struct imap_cmd *cmd);

/* Access control lists, RFC 4314 (imap-cmd-acl.c). */
void imap_cmd_setacl(struct session *s, struct imap_cmd *cmd);   /* and DELETEACL */
void imap_cmd_getacl(struct session *s, struct imap_cmd *cmd);
void imap_cmd_listrights(struct session *s, struct imap_cmd *cmd);
void imap_cmd_myrights(struct session *s, struct imap_cmd *cmd);

/* Messages (imap-cmd-message.c). */
void imap_cmd_append(struct session *s, struct imap_cmd *cmd);
void imap_cmd_close(struct session *s, struct imap_cmd *cmd);
void imap_cmd_expunge(struct session *s, struct imap_cmd *cmd);
void imap_cmd_store(struct session *s, struct imap_cmd *cmd);
void imap_cmd_copy(struct session *s, struct imap_cmd *cmd);
void imap_cmd_fetch(struct session *s, struct imap_cmd *cmd);
void imap_cmd_search(struct session *s, struct imap_cmd *cmd);

/* Reads mailbox argument i into storage form (imap-cmd-mailbox.c); on a
   bad name answers the command itself and returns NULL.  The name lives in
   the command's pool.  With strip_separator, one trailing '/' is dropped. */
const char *imap_mailbox_arg(struct imap_cmd *cmd, unsigned i);
const char *imap_mailbox_arg_strip(struct imap_cmd *cmd, unsigned i, int strip_separator);

/* Resolves a sequence set (or, for UID commands, a UID set) against the
   selected view into ascending UIDs in the command's pool.  Non-existent
   sequence numbers are an error (BAD, answered); unknown UIDs are skipped. */
int imap_resolve_set(struct session *s, struct imap_cmd *cmd, const struct imap_arg *arg,
		     uint32_t **uids_r, unsigned *count_r);

/* Helpers for handlers: read one astring argument (atom, quoted or
   literal), or NULL when args[i] is missing or a list. */
const char *imap_cmd_astring(const struct imap_cmd *cmd, unsigned i);

#endif
