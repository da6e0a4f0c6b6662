/* Commands valid in every state (RFC 3501 6.1), ID (RFC 2971), and the
 * authenticated-state commands that need no store: NAMESPACE (RFC 2342) and
 * ENABLE (RFC 5161). */
#include "autoconfig.h"
#include <strings.h>
#include "client.h"
#include "imap-commands.h"
#include "server.h"
#include "session.h"
#include "tls.h"

static int imap_cmd_no_args(struct client *c, struct imap_cmd *cmd)
{
	if (cmd->count == 0)
		return 1;
	client_send_tagged(c, cmd->tag, "BAD", NULL, "This command takes no arguments.");
	return 0;
}

void imap_cmd_capability(struct client *c, struct imap_cmd *cmd)
{
	if (!imap_cmd_no_args(c, cmd))
		return;
	client_sendf(c, "* CAPABILITY %s\r\n", client_capability(c));
	client_send_tagged(c, cmd->tag, "OK", NULL, "Capability completed.");
}

void imap_cmd_noop_work(struct session *s, struct imap_cmd *cmd)
{
	session_tagged(cmd, "OK", NULL, "%s completed.", cmd->name);
}

void imap_cmd_noop(struct client *c, struct imap_cmd *cmd)
{
	if (!imap_cmd_no_args(c, cmd))
		return;
	client_send_tagged(c, cmd->tag, "OK", NULL, "NOOP completed.");
}

void imap_cmd_logout(struct client *c, struct imap_cmd *cmd)
{
	if (!imap_cmd_no_args(c, cmd))
		return;
	client_send(c, "* BYE Logging out.\r\n", 20);
	client_send_tagged(c, cmd->tag, "OK", NULL, "Logout completed.");
	client_close(c, "logged out");
}

/* STARTTLS (RFC 3501 6.2.1): the OK goes out in plaintext, then the
   handshake; whatever the client pipelined behind it is discarded. */
void imap_cmd_starttls(struct client *c, struct imap_cmd *cmd)
{
	if (!imap_cmd_no_args(c, cmd))
		return;
	if (c->ssl != NULL) {
		client_send_tagged(c, cmd->tag, "BAD", NULL, "TLS is already active.");
		return;
	}
	if (!tls_enabled()) {
		client_send_tagged(c, cmd->tag, "BAD", NULL, "TLS is not configured.");
		return;
	}
	client_send_tagged(c, cmd->tag, "OK", NULL, "Begin TLS negotiation now.");
	client_start_tls(c);
}

/* ID (RFC 2971): takes the client's list or NIL, answers with ours. */
void imap_cmd_id(struct client *c, struct imap_cmd *cmd)
{
	const struct imap_arg *a = cmd->count == 1 ? &cmd->args[0] : NULL;

	if (a == NULL || !(a->type == IMAP_ARG_LIST ||
			   (a->type == IMAP_ARG_ATOM && strcasecmp(a->str, "NIL") == 0)) ||
	    (a->type == IMAP_ARG_LIST && (a->count % 2 != 0 || a->count > 60))) {
		client_send_tagged(c, cmd->tag, "BAD", NULL,
				   "ID takes NIL or a list of field-value pairs.");
		return;
	}
	client_sendf(c, "* ID (\"name\" \"vimap\" \"version\" \"%s\")\r\n", PACKAGE_VERSION);
	client_send_tagged(c, cmd->tag, "OK", NULL, "ID completed.");
}

/* One namespace, personal, with '/' as separator (RFC 2342). */
void imap_cmd_namespace(struct client *c, struct imap_cmd *cmd)
{
	static const char reply[] = "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n";

	if (!imap_cmd_no_args(c, cmd))
		return;
	/* sizeof, not a counted length: a miscount once sent a NUL byte
	   that mbsync rightly rejected. */
	client_send(c, reply, sizeof(reply) - 1);
	client_send_tagged(c, cmd->tag, "OK", NULL, "NAMESPACE completed.");
}

/* ENABLE (RFC 5161): none of the extensions it can switch on is built yet,
   so it enables nothing and says so with an empty ENABLED. */
void imap_cmd_enable(struct client *c, struct imap_cmd *cmd)
{
	unsigned i;

	if (cmd->count == 0) {
		client_send_tagged(c, cmd->tag, "BAD", NULL, "ENABLE needs capability names.");
		return;
	}
	for (i = 0; i < cmd->count; i++) {
		if (cmd->args[i].type != IMAP_ARG_ATOM) {
			client_send_tagged(c, cmd->tag, "BAD", NULL,
					   "ENABLE takes capability names.");
			return;
		}
	}
	client_send(c, "* ENABLED\r\n", 11);
	client_send_tagged(c, cmd->tag, "OK", NULL, "ENABLE completed.");
}

/* IDLE (RFC 2177): the client's thread holds it; changes are synced on a
   worker as they are notified. */
void imap_cmd_idle(struct client *c, struct imap_cmd *cmd)
{
	if (!imap_cmd_no_args(c, cmd))
		return;
	client_start_idle(c, cmd->tag);
}
