#include "autoconfig.h"
#include <strings.h>
#include "client.h"
#include "imap-commands.h"
#include "stats.h"
#include "strbuf.h"
#include "trace.h"

#define ANY_STATE (CLIENT_STATE_NOT_AUTHENTICATED | CLIENT_STATE_AUTHENTICATED | \
		   CLIENT_STATE_SELECTED)

struct imap_command_def {
	const char *name;
	unsigned states;          /* enum client_state bits where it is valid */
	imap_command_cb *run;
	unsigned secret_args;     /* trace masks arguments from this one on (0 = none) */
};

static const struct imap_command_def imap_commands[] = {
	{ "CAPABILITY", ANY_STATE, imap_cmd_capability, 0 },
	{ "NOOP", ANY_STATE, imap_cmd_noop, 0 },
	{ "LOGOUT", ANY_STATE, imap_cmd_logout, 0 },
	/* Never run yet, listed so that the trace masks their secrets. */
	{ "LOGIN", 0, NULL, 2 },
	{ "AUTHENTICATE", 0, NULL, 2 },
};

static const struct imap_command_def *imap_command_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(imap_commands) / sizeof(imap_commands[0]); i++) {
		if (strcasecmp(imap_commands[i].name, name) == 0)
			return &imap_commands[i];
	}
	return NULL;
}

void imap_command_run(struct client *c, const struct imap_command_args *cmd)
{
	const struct imap_command_def *def = imap_command_find(cmd->name);

	if (def == NULL || def->run == NULL) {
		client_send_tagged(c, cmd->tag, "BAD", NULL, "Unknown command.");
		return;
	}
	stats_count_command(def->name);
	if ((def->states & c->state) == 0) {
		client_send_tagged(c, cmd->tag, "BAD", NULL,
				   "Command not valid in this state.");
		return;
	}
	def->run(c, cmd);
}

static void imap_command_trace_arg(struct strbuf *sb, const struct imap_arg *arg)
{
	unsigned i;

	switch (arg->type) {
	case IMAP_ARG_ATOM:
		strbuf_append(sb, arg->str, arg->len);
		break;
	case IMAP_ARG_QUOTED:
		strbuf_appendf(sb, "\"%.*s\"", (int)(arg->len > 200 ? 200 : arg->len), arg->str);
		break;
	case IMAP_ARG_LITERAL:
		strbuf_appendf(sb, "{%zu}", arg->len);
		break;
	case IMAP_ARG_LIST:
		strbuf_appendc(sb, '(');
		for (i = 0; i < arg->count; i++) {
			if (i > 0)
				strbuf_appendc(sb, ' ');
			imap_command_trace_arg(sb, &arg->list[i]);
		}
		strbuf_appendc(sb, ')');
		break;
	}
}

void imap_command_trace(struct client *c, const struct imap_command_args *cmd)
{
	const struct imap_command_def *def = imap_command_find(cmd->name);
	struct strbuf sb = STRBUF_INIT;
	unsigned i;

	strbuf_appendf(&sb, "%s %s", cmd->tag, cmd->name);
	for (i = 0; i < cmd->count; i++) {
		strbuf_appendc(&sb, ' ');
		if (def != NULL && def->secret_args > 0 && i + 1 >= def->secret_args)
			strbuf_appends(&sb, "***");
		else
			imap_command_trace_arg(&sb, &cmd->args[i]);
	}
	trace_msg("socketio", "%s C: %s", c->peer, sb.data);
	strbuf_free(&sb);
}
