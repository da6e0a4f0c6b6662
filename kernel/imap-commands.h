/* The IMAP command table: which commands exist, in which states each is
 * allowed, and the handler that runs it.  Handlers live in files by command
 * family (imap-cmd-*.c). */
#ifndef VIMAP_IMAP_COMMANDS_H
#define VIMAP_IMAP_COMMANDS_H

#include "imap-parser.h"

struct client;

/* A command handler.  It either answers (tagged response) before it
   returns, or hands work to client_run_blocking() and answers from the
   done callback.  `cmd` and its strings live in the client's command pool
   until the tagged response is sent. */
typedef void imap_command_cb(struct client *c, const struct imap_command_args *cmd);

/* Looks `cmd->name` up and runs it, or answers BAD when it is unknown or
   not allowed in the client's state. */
void imap_command_run(struct client *c, const struct imap_command_args *cmd);

/* Writes the command to the SOCKETIO trace, with passwords masked. */
void imap_command_trace(struct client *c, const struct imap_command_args *cmd);

/* Handlers of the commands valid in every state (imap-cmd-any.c). */
void imap_cmd_capability(struct client *c, const struct imap_command_args *cmd);
void imap_cmd_noop(struct client *c, const struct imap_command_args *cmd);
void imap_cmd_logout(struct client *c, const struct imap_command_args *cmd);

#endif
