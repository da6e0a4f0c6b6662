#include "autoconfig.h"
#include <string.h>
#include <strings.h>
#include "client.h"
#include "imap-commands.h"
#include "log.h"
#include "mailbox-view.h"
#include "server.h"
#include "session.h"
#include "stats.h"
#include "strbuf.h"
#include "trace.h"
#include "workers.h"

#define NOT_AUTH CLIENT_STATE_NOT_AUTHENTICATED
#define AUTH (CLIENT_STATE_AUTHENTICATED | CLIENT_STATE_SELECTED)
#define SELECTED CLIENT_STATE_SELECTED
#define ANY_STATE (NOT_AUTH | AUTH)

static const struct imap_command_def imap_commands[] = {
	/* any state */
	{ "CAPABILITY", ANY_STATE, imap_cmd_capability, NULL, 0, 0 },
	{ "NOOP", NOT_AUTH, imap_cmd_noop, NULL, 0, 0 },
	{ "NOOP", AUTH, NULL, imap_cmd_noop_work, CMD_SYNC_FULL | CMD_SYNC_ALWAYS, 0 },
	{ "LOGOUT", ANY_STATE, imap_cmd_logout, NULL, 0, 0 },
	{ "ID", ANY_STATE, imap_cmd_id, NULL, 0, 0 },
	/* not authenticated */
	{ "LOGIN", NOT_AUTH, NULL, imap_cmd_login, 0, 2 },
	{ "AUTHENTICATE", NOT_AUTH, imap_cmd_authenticate, NULL, 0, 2 },
	{ "STARTTLS", NOT_AUTH, imap_cmd_starttls, NULL, 0, 0 },
	/* authenticated */
	{ "SELECT", AUTH, NULL, imap_cmd_select, 0, 0 },
	{ "EXAMINE", AUTH, NULL, imap_cmd_select, 0, 0 },
	{ "CREATE", AUTH, NULL, imap_cmd_create, CMD_SYNC_FULL, 0 },
	{ "DELETE", AUTH, NULL, imap_cmd_delete, CMD_SYNC_FULL, 0 },
	{ "RENAME", AUTH, NULL, imap_cmd_rename, CMD_SYNC_FULL, 0 },
	{ "SUBSCRIBE", AUTH, NULL, imap_cmd_subscribe, CMD_SYNC_FULL, 0 },
	{ "UNSUBSCRIBE", AUTH, NULL, imap_cmd_subscribe, CMD_SYNC_FULL, 0 },
	{ "LIST", AUTH, NULL, imap_cmd_list, CMD_SYNC_FULL, 0 },
	{ "LSUB", AUTH, NULL, imap_cmd_list, CMD_SYNC_FULL, 0 },
	{ "STATUS", AUTH, NULL, imap_cmd_status, CMD_SYNC_FULL, 0 },
	{ "APPEND", AUTH, NULL, imap_cmd_append, CMD_SYNC_FULL, 0 },
	{ "NAMESPACE", AUTH, imap_cmd_namespace, NULL, 0, 0 },
	{ "SETACL", AUTH, NULL, imap_cmd_setacl, CMD_SYNC_FULL, 0 },
	{ "DELETEACL", AUTH, NULL, imap_cmd_setacl, CMD_SYNC_FULL, 0 },
	{ "GETACL", AUTH, NULL, imap_cmd_getacl, CMD_SYNC_FULL, 0 },
	{ "LISTRIGHTS", AUTH, NULL, imap_cmd_listrights, CMD_SYNC_FULL, 0 },
	{ "MYRIGHTS", AUTH, NULL, imap_cmd_myrights, CMD_SYNC_FULL, 0 },
	{ "ENABLE", AUTH, imap_cmd_enable, NULL, 0, 0 },
	{ "IDLE", AUTH, imap_cmd_idle, NULL, 0, 0 },
	/* selected */
	{ "CHECK", SELECTED, NULL, imap_cmd_noop_work, CMD_SYNC_FULL | CMD_SYNC_ALWAYS, 0 },
	{ "CLOSE", SELECTED, NULL, imap_cmd_close, 0, 0 },
	{ "UNSELECT", SELECTED, NULL, imap_cmd_close, 0, 0 },
	{ "EXPUNGE", SELECTED, NULL, imap_cmd_expunge, CMD_SYNC_FULL | CMD_UID, 0 },
	{ "FETCH", SELECTED, NULL, imap_cmd_fetch, CMD_SYNC_NO_EXPUNGE | CMD_UID, 0 },
	{ "SEARCH", SELECTED, NULL, imap_cmd_search, CMD_SYNC_NO_EXPUNGE | CMD_UID, 0 },
	{ "STORE", SELECTED, NULL, imap_cmd_store, CMD_SYNC_NO_EXPUNGE | CMD_UID, 0 },
	{ "COPY", SELECTED, NULL, imap_cmd_copy, CMD_SYNC_NO_EXPUNGE | CMD_UID, 0 },
	{ "MOVE", SELECTED, NULL, imap_cmd_copy, CMD_SYNC_FULL | CMD_UID, 0 },
};

/* The entry for `name`; a name listed twice (NOOP) has one entry per set
   of states, and the one valid in `state` wins. */
static const struct imap_command_def *imap_command_find_in(const char *name,
							   unsigned state)
{
	const struct imap_command_def *found = NULL;
	size_t i;

	for (i = 0; i < sizeof(imap_commands) / sizeof(imap_commands[0]); i++) {
		if (strcasecmp(imap_commands[i].name, name) != 0)
			continue;
		if (found == NULL || (imap_commands[i].states & state) != 0)
			found = &imap_commands[i];
	}
	return found;
}

static const struct imap_command_def *imap_command_find(const char *name)
{
	return imap_command_find_in(name, 0);
}

const char *imap_cmd_astring(const struct imap_cmd *cmd, unsigned i)
{
	if (i >= cmd->count || cmd->args[i].type == IMAP_ARG_LIST)
		return NULL;
	return cmd->args[i].str;
}

/* ---- commands on the worker pool ---- */

struct imap_job {
	struct session *session;
	struct imap_cmd cmd;
	struct strbuf tagged;
};

/* After the command: tell what other sessions changed, where allowed. */
static void imap_command_sync(struct session *s, struct imap_cmd *cmd)
{
	unsigned flags = cmd->def->flags;
	int dirty = atomic_exchange(&s->dirty, 0);
	struct vimap_storage_error err;
	enum view_sync_mode mode;

	if (s->view == NULL || (flags & (CMD_SYNC_FULL | CMD_SYNC_NO_EXPUNGE)) == 0)
		return;
	if (!dirty && (flags & CMD_SYNC_ALWAYS) == 0)
		return;
	/* The UID forms may report expunges (RFC 3501 7.4.1). */
	mode = (flags & CMD_SYNC_FULL) || cmd->uid ? VIEW_SYNC_FULL : VIEW_SYNC_NO_EXPUNGE;
	if (mailbox_view_sync(s->view, session_storage(NULL), mode, cmd->uid,
			      cmd->out, &err) < 0) {
		if (err.code == VIMAP_STORAGE_ERR_NONEXISTENT) {
			strbuf_appends(cmd->out, "* BYE The selected mailbox was deleted.\r\n");
			s->new_state = CLIENT_STATE_LOGOUT;
		} else {
			log_error("storage", "user %s: sync of %s failed: %s", s->user,
				  s->view->name, err.text);
			atomic_store(&s->dirty, 1);
		}
	}
}

/* On a worker: the session is this job's alone until done. */
static void imap_job_work(void *arg)
{
	struct imap_job *job = arg;
	struct session *s = job->session;

	strbuf_reset(&s->out);
	job->cmd.out = &s->out;
	if (session_refresh_rights(s, job->cmd.out) < 0)
		session_tagged(&job->cmd, "NO", "NOPERM", "Access to the mailbox was revoked.");
	else
		job->cmd.def->work(s, &job->cmd);
	imap_command_sync(s, &job->cmd);
	if (job->tagged.len == 0)
		session_tagged(&job->cmd, "NO", "SERVERBUG", "Command ended without an answer.");
}

/* Back on the client's thread: send, then enter the state asked for. */
static void imap_job_done(struct client *c, void *arg)
{
	struct imap_job *job = arg;
	struct session *s = job->session;
	int new_state = s->new_state;

	s->new_state = 0;
	if (!c->closing) {
		client_send(c, s->out.data != NULL ? s->out.data : "", s->out.len);
		client_send(c, job->tagged.data, job->tagged.len);
	}
	strbuf_free(&job->tagged);
	if (s->out.cap > 65536)
		strbuf_free(&s->out);
	else
		strbuf_reset(&s->out);
	if (new_state != 0 && !c->closing)
		client_enter_state(c, new_state);
}

static void imap_command_submit(struct client *c, struct imap_cmd *cmd)
{
	struct imap_job *job = pool_alloc(cmd->pool, sizeof(*job));

	if (c->sess == NULL)
		c->sess = session_create(c);
	job->session = c->sess;
	job->cmd = *cmd;
	job->cmd.tagged = &job->tagged;
	client_run_blocking(c, imap_job_work, imap_job_done, job);
}

/* ---- dispatch ---- */

/* "UID FETCH ...": the sub-command's definition, arguments after it. */
static const struct imap_command_def *imap_command_uid(struct client *c,
						       struct imap_cmd *cmd)
{
	const struct imap_command_def *def;

	if (cmd->count == 0 || cmd->args[0].type != IMAP_ARG_ATOM) {
		client_send_tagged(c, cmd->tag, "BAD", NULL, "UID needs a command.");
		return NULL;
	}
	def = imap_command_find_in(cmd->args[0].str, c->state);
	if (def == NULL || (def->flags & CMD_UID) == 0) {
		client_send_tagged(c, cmd->tag, "BAD", NULL, "Unknown UID command.");
		return NULL;
	}
	cmd->uid = 1;
	cmd->args++;
	cmd->count--;
	return def;
}

void imap_command_run(struct client *c, const struct imap_command_args *args)
{
	struct imap_cmd cmd;
	const struct imap_command_def *def;

	memset(&cmd, 0, sizeof(cmd));
	cmd.tag = args->tag;
	cmd.args = args->args;
	cmd.count = args->count;
	cmd.pool = &c->cmd_pool;
	if (strcasecmp(args->name, "UID") == 0) {
		if (c->state != CLIENT_STATE_SELECTED) {
			client_send_tagged(c, cmd.tag, "BAD", NULL, "No mailbox selected.");
			return;
		}
		if ((def = imap_command_uid(c, &cmd)) == NULL)
			return;
	} else {
		def = imap_command_find_in(args->name, c->state);
		if (def == NULL || (def->run == NULL && def->work == NULL)) {
			client_send_tagged(c, cmd.tag, "BAD", NULL, "Unknown command.");
			return;
		}
	}
	cmd.def = def;
	cmd.name = def->name;
	stats_count_command(def->name);
	if ((def->states & c->state) == 0) {
		client_send_tagged(c, cmd.tag, "BAD", NULL, c->state == CLIENT_STATE_NOT_AUTHENTICATED ?
				   "Log in first." : "Command not valid in this state.");
		return;
	}
	if (def->work != NULL)
		imap_command_submit(c, &cmd);
	else
		def->run(c, &cmd);
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
