/* LOGIN (RFC 3501 6.2.3).  As in the seed, a login succeeds only when the
 * password is right AND the user is enrolled in the store; every failure
 * looks the same to the client (no user enumeration), the log says which. */
#include "autoconfig.h"
#include <ctype.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>
#include <vimap/auth.h>
#include "client.h"
#include "imap-commands.h"
#include "loader.h"
#include "log.h"
#include "pool.h"
#include "server.h"
#include "session.h"
#include "stats.h"
#include "xalloc.h"

/* Checks user and password; 0 with the user's store opened into the
   session, or -1 with a log-safe reason. */
static int imap_login_check(struct session *s, const char *user_in, size_t user_len,
			    const char *password, const char **reason_r)
{
	const struct vimap_auth_ops *auth = server.auth->desc->ops;
	struct vimap_storage_error err;
	const struct vimap_storage_ops *store;
	void *store_state, *handle;
	char user[65];
	int enrolled;

	if (session_canonical_user(user_in, user_len, user) < 0) {
		*reason_r = "not a valid user id";
		return -1;
	}
	switch (auth->verify(server.auth->state, user, password, reason_r)) {
	case VIMAP_AUTH_OK:
		break;
	case VIMAP_AUTH_DENIED:
		return -1;
	default:
		log_error("auth", "%s: verify(%s) failed: %s", server.auth->name, user, *reason_r);
		return -1;
	}
	store = session_storage(&store_state);
	enrolled = store->is_enrolled(store_state, user, &err);
	if (enrolled <= 0) {
		*reason_r = enrolled == 0 ? "password right but not enrolled in the store" :
			err.text;
		return -1;
	}
	if (store->user_open(store_state, user, &handle, &err) < 0) {
		*reason_r = err.text;
		return -1;
	}
	s->user = xstrdup(user);
	s->store_user = handle;
	return 0;
}

void imap_cmd_login(struct session *s, struct imap_cmd *cmd)
{
	const char *user = imap_cmd_astring(cmd, 0), *password = imap_cmd_astring(cmd, 1);
	const char *reason = "unknown";

	if (user == NULL || password == NULL || cmd->count != 2) {
		session_tagged(cmd, "BAD", NULL, "LOGIN needs a user id and a password.");
		return;
	}
	if (imap_login_check(s, user, cmd->args[0].len, password, &reason) < 0) {
		stats_add(STATS_LOGINS_FAILED, 1);
		log_info("auth", "%s: login of '%.64s' refused: %s", s->client->peer, user, reason);
		session_tagged(cmd, "NO", "AUTHENTICATIONFAILED", "Authentication failed.");
		return;
	}
	stats_add(STATS_LOGINS_OK, 1);
	log_info("auth", "%s: user %s logged in", s->client->peer, s->user);
	s->new_state = CLIENT_STATE_AUTHENTICATED;
	session_tagged(cmd, "OK", NULL, "[CAPABILITY %s] Logged in.", server_capability(1));
}

/* ---- AUTHENTICATE PLAIN (RFC 4616), with SASL-IR (RFC 4959) ---- */

/* Decodes strict base64 into a pool string; -1 when it is not base64. */
static int imap_auth_base64(struct pool *pool, const char *in, size_t len,
			    char **out_r, size_t *out_len_r)
{
	unsigned char *out;
	size_t i, pad = 0;
	int n;

	if (len == 0 || len % 4 != 0 || len > 8192)
		return -1;
	for (i = 0; i < len; i++) {
		char ch = in[i];

		if (ch == '=' && i >= len - 2) {
			pad++;
			continue;
		}
		if (pad > 0 || !(isalnum((unsigned char)ch) || ch == '+' || ch == '/'))
			return -1;
	}
	out = pool_alloc(pool, len / 4 * 3 + 1);
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -1;
	*out_len_r = (size_t)n - pad;
	out[*out_len_r] = '\0';
	*out_r = (char *)out;
	return 0;
}

/* Checks "authzid NUL authcid NUL password" and runs the LOGIN check on a
   worker.  Answers the client itself on malformed input. */
static void imap_auth_plain(struct client *c, const char *tag, const char *b64, size_t len)
{
	struct imap_arg *args;
	struct imap_cmd cmd;
	char *raw, *authcid, *password;
	size_t rawlen;

	if (len == 1 && b64[0] == '=') {
		client_send_tagged(c, tag, "NO", "AUTHENTICATIONFAILED", "Authentication failed.");
		return;
	}
	if (imap_auth_base64(&c->cmd_pool, b64, len, &raw, &rawlen) < 0) {
		client_send_tagged(c, tag, "BAD", NULL, "Invalid base64 in the response.");
		return;
	}
	authcid = memchr(raw, '\0', rawlen);
	password = authcid != NULL ? memchr(authcid + 1, '\0', rawlen - (size_t)(authcid + 1 - raw)) : NULL;
	if (authcid == NULL || password == NULL ||
	    memchr(password + 1, '\0', rawlen - (size_t)(password + 1 - raw)) != NULL) {
		client_send_tagged(c, tag, "BAD", NULL, "Malformed PLAIN response.");
		return;
	}
	authcid++;
	password++;
	/* Logging in as someone else (a proxy authorisation) is not offered. */
	if (raw[0] != '\0' && strcmp(raw, authcid) != 0) {
		client_send_tagged(c, tag, "NO", "AUTHORIZATIONFAILED", "Authorization identity refused.");
		return;
	}
	args = pool_alloc(&c->cmd_pool, 2 * sizeof(*args));
	args[0].type = args[1].type = IMAP_ARG_QUOTED;
	args[0].str = authcid;
	args[0].len = strlen(authcid);
	args[1].str = password;
	args[1].len = strlen(password);
	memset(&cmd, 0, sizeof(cmd));
	cmd.tag = pool_strndup(&c->cmd_pool, tag, strlen(tag));
	cmd.args = args;
	cmd.count = 2;
	cmd.pool = &c->cmd_pool;
	imap_command_submit_login(c, &cmd);
}

void imap_cmd_authenticate(struct client *c, struct imap_cmd *cmd)
{
	const char *mech = imap_cmd_astring(cmd, 0);

	if (mech == NULL || cmd->count > 2 || cmd->args[0].type != IMAP_ARG_ATOM) {
		client_send_tagged(c, cmd->tag, "BAD", NULL, "AUTHENTICATE takes a mechanism.");
		return;
	}
	if (strcasecmp(mech, "PLAIN") != 0) {
		client_send_tagged(c, cmd->tag, "NO", "CANNOT", "Unsupported authentication mechanism.");
		return;
	}
	if (cmd->count == 2) {
		if (cmd->args[1].type != IMAP_ARG_ATOM) {
			client_send_tagged(c, cmd->tag, "BAD", NULL, "Invalid initial response.");
			return;
		}
		imap_auth_plain(c, cmd->tag, cmd->args[1].str, cmd->args[1].len);
		return;
	}
	client_expect_sasl(c, cmd->tag);
}

void imap_auth_continue(struct client *c, const char *tag, const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 1 && line[0] == '*') {
		client_send_tagged(c, tag, "BAD", NULL, "AUTHENTICATE cancelled.");
		return;
	}
	imap_auth_plain(c, tag, line, len);
}
