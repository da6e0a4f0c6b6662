/* Commands valid in every state: CAPABILITY, NOOP, LOGOUT (RFC 3501 6.1). */
#include "autoconfig.h"
#include "client.h"
#include "imap-commands.h"
#include "server.h"

static int imap_cmd_no_args(struct client *c, const struct imap_command_args *cmd)
{
	if (cmd->count == 0)
		return 1;
	client_send_tagged(c, cmd->tag, "BAD", NULL, "This command takes no arguments.");
	return 0;
}

void imap_cmd_capability(struct client *c, const struct imap_command_args *cmd)
{
	if (!imap_cmd_no_args(c, cmd))
		return;
	client_sendf(c, "* CAPABILITY %s\r\n",
		     server_capability(c->state != CLIENT_STATE_NOT_AUTHENTICATED));
	client_send_tagged(c, cmd->tag, "OK", NULL, "Capability completed.");
}

void imap_cmd_noop(struct client *c, const struct imap_command_args *cmd)
{
	if (!imap_cmd_no_args(c, cmd))
		return;
	client_send_tagged(c, cmd->tag, "OK", NULL, "NOOP completed.");
}

void imap_cmd_logout(struct client *c, const struct imap_command_args *cmd)
{
	if (!imap_cmd_no_args(c, cmd))
		return;
	client_send(c, "* BYE Logging out.\r\n", 20);
	client_send_tagged(c, cmd->tag, "OK", NULL, "Logout completed.");
	c->state = CLIENT_STATE_LOGOUT;
	client_close(c, "logged out");
}
