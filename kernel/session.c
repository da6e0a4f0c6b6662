#include "autoconfig.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "acl.h"
#include "client.h"
#include "loader.h"
#include "log.h"
#include "mailbox-notify.h"
#include "mailbox-view.h"
#include "server.h"
#include "session.h"
#include "userid.h"
#include "xalloc.h"

const struct vimap_storage_ops *session_storage(void **state_r)
{
	if (state_r != NULL)
		*state_r = server.storage->state;
	return server.storage->desc->ops;
}

int session_canonical_user(const char *user, size_t len, char out[65])
{
	return userid_canonical(user, len, out);
}

struct session *session_create(struct client *c)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->client = c;
	atomic_init(&s->dirty, 0);
	return s;
}

void session_unselect(struct session *s)
{
	notify_unwatch(&s->watch);
	mailbox_view_destroy(&s->view, session_storage(NULL));
}

void session_destroy(struct session **sp)
{
	struct session *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	session_unselect(s);
	if (s->store_user != NULL)
		session_storage(NULL)->user_close(s->store_user);
	strbuf_free(&s->out);
	free(s->user);
	free(s);
}

void session_tagged(struct imap_cmd *cmd, const char *status, const char *code,
		    const char *fmt, ...)
{
	va_list ap;
	char text[512];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	strbuf_reset(cmd->tagged);
	if (code != NULL)
		strbuf_appendf(cmd->tagged, "%s %s [%s] %s\r\n", cmd->tag, status, code, text);
	else
		strbuf_appendf(cmd->tagged, "%s %s %s\r\n", cmd->tag, status, text);
}

static const char *session_error_code(enum vimap_storage_code code)
{
	switch (code) {
	case VIMAP_STORAGE_ERR_UNAVAILABLE: return "UNAVAILABLE";
	case VIMAP_STORAGE_ERR_NONEXISTENT: return "NONEXISTENT";
	case VIMAP_STORAGE_ERR_EXISTS: return "ALREADYEXISTS";
	case VIMAP_STORAGE_ERR_OVERQUOTA: return "OVERQUOTA";
	case VIMAP_STORAGE_ERR_NOPERM: return "NOPERM";
	case VIMAP_STORAGE_ERR_CANNOT: return "CANNOT";
	case VIMAP_STORAGE_ERR_INUSE: return "INUSE";
	case VIMAP_STORAGE_ERR_LIMIT: return "LIMIT";
	default: return "SERVERBUG";
	}
}

void session_storage_error(struct session *s, struct imap_cmd *cmd,
			   const char *what, const struct vimap_storage_error *err)
{
	const char *code = session_error_code(err->code);
	const char *text = err->text != NULL ? err->text : "unknown error";

	switch (err->code) {
	case VIMAP_STORAGE_ERR_INTERNAL:
	case VIMAP_STORAGE_ERR_UNAVAILABLE:
		/* The server's fault: the operator needs the detail, the
		   client a stable answer. */
		log_error("storage", "user %s: %s failed: %s",
			  s->user != NULL ? s->user : "-", what, text);
		session_tagged(cmd, "NO", code, "%s failed: %s", what,
			       err->code == VIMAP_STORAGE_ERR_UNAVAILABLE ?
			       "the mailstore is unavailable, try again later" :
			       "internal error (logged)");
		break;
	default:
		session_tagged(cmd, "NO", code, "%s failed: %s", what, text);
		break;
	}
}

void session_notify(struct session *s, const char *mailbox)
{
	notify_changed(s->user, mailbox, s->watch);
}

int session_refresh_rights(struct session *s, struct strbuf *out)
{
	struct mailbox_view *v = s->view;
	struct vimap_storage_error err;
	uint32_t rights;

	if (v == NULL || v->owner == NULL)
		return 0;
	/* A store that cannot say now keeps the rights known: the command's
	   own storage call reports the trouble. */
	if (acl_rights_of(v->owner_user, v->owner, v->store_name, s->user, &rights, &err) < 0)
		return 0;
	if ((rights & ACL_READ) == 0) {
		strbuf_appends(out, "* BYE Access to this shared mailbox was revoked.\r\n");
		s->new_state = CLIENT_STATE_LOGOUT;
		return -1;
	}
	v->rights = rights;
	if ((rights & (ACL_SEEN | ACL_WRITE | ACL_DELMSG | ACL_EXPUNGE)) == 0)
		v->readonly = 1;
	return 0;
}

void session_notify_view(struct session *s)
{
	notify_changed(s->view->owner != NULL ? s->view->owner : s->user,
		       s->view->store_name, s->watch);
}
