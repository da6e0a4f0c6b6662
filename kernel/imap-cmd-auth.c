/* LOGIN (RFC 3501 6.2.3) and AUTHENTICATE (RFC 3501 6.2.2) with every SASL
 * mechanism kernel/sasl.h offers, the initial response of SASL-IR (RFC
 * 4959) and the "*" cancel.  As in the seed, a login succeeds only when
 * the credentials are right AND the user is enrolled in the store; every
 * failure looks the same to the client (no user enumeration), the log
 * says which, with the client's address and the user, never a password.
 *
 * Each step of an exchange runs on the worker pool (the plugin may block,
 * and the brute-force delay waits there); the client's input is held
 * meanwhile, and the exchange lives in c->sasl between steps. */
#include "autoconfig.h"
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <vimap/auth.h>
#include "auth-throttle.h"
#include "client.h"
#include "imap-commands.h"
#include "loader.h"
#include "log.h"
#include "sasl.h"
#include "server.h"
#include "session.h"
#include "stats.h"
#include "xalloc.h"

/* Opens the store of `user` (canonical) into the session once the
   credentials were right; 0, or -1 with a log-safe reason. */
static int imap_auth_open_user(struct session *s, const char *user, const char **reason_r)
{
	struct vimap_storage_error err;
	const struct vimap_storage_ops *store;
	void *store_state, *handle;
	int enrolled;

	store = session_storage(&store_state);
	enrolled = store->is_enrolled(store_state, user, &err);
	if (enrolled <= 0) {
		*reason_r = enrolled == 0 ? "credentials right but not enrolled in the store" :
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

/* The brute-force gate: waits the delay due for the peer and user. */
static int imap_auth_gate(void *ctx, const char *peer, const char *user,
			  const char **reason_r)
{
	(void)ctx;
	return auth_throttle_wait(auth_throttle_global(), peer, user, reason_r);
}

/* ---- LOGIN ---- */

/* Checks user and password, on a worker; 0 with the user's store opened
   into the session, 1 when refused for now (try later), or -1 (denied)
   with a log-safe reason. */
static int imap_login_check(struct session *s, const char *user_in, size_t user_len,
			    const char *password, const char **reason_r)
{
	const struct vimap_auth_ops *auth = server.auth->desc->ops;
	struct auth_throttle *throttle = auth_throttle_global();
	const char *peer = s->client->peer;
	char user[65];

	if (session_canonical_user(user_in, user_len, user) < 0) {
		*reason_r = "not a valid user id";
		auth_throttle_failed(throttle, peer, NULL, auth_throttle_now_ms());
		return -1;
	}
	if (auth_throttle_wait(throttle, peer, user, reason_r) < 0)
		return 1;
	if (auth->verify == NULL) {
		*reason_r = "the auth plugin checks no passwords (use AUTHENTICATE)";
		return -1;
	}
	switch (auth->verify(server.auth->state, user, password, reason_r)) {
	case VIMAP_AUTH_OK:
		break;
	case VIMAP_AUTH_DENIED:
		auth_throttle_failed(throttle, peer, user, auth_throttle_now_ms());
		return -1;
	default:
		log_error("auth", "%s: verify(%s) failed: %s", server.auth->name, user, *reason_r);
		return 1;
	}
	if (imap_auth_open_user(s, user, reason_r) < 0) {
		auth_throttle_failed(throttle, peer, user, auth_throttle_now_ms());
		return -1;
	}
	auth_throttle_succeeded(throttle, peer, user);
	return 0;
}

void imap_cmd_login(struct session *s, struct imap_cmd *cmd)
{
	const char *user = imap_cmd_astring(cmd, 0), *password = imap_cmd_astring(cmd, 1);
	const char *reason = "unknown";
	int ret;

	if (user == NULL || password == NULL || cmd->count != 2) {
		session_tagged(cmd, "BAD", NULL, "LOGIN needs a user id and a password.");
		return;
	}
	/* A literal may carry NUL; a password cut at it would be checked as
	   something the client did not send. */
	if (memchr(password, '\0', cmd->args[1].len) != NULL) {
		session_tagged(cmd, "BAD", NULL, "A password must not contain NUL.");
		return;
	}
	if (!client_plaintext_ok(s->client)) {
		log_info("auth", "%s: login of '%.64s' refused: plaintext password without TLS",
			 s->client->peer, user);
		session_tagged(cmd, "NO", "PRIVACYREQUIRED", "LOGIN needs TLS (STARTTLS) first.");
		return;
	}
	ret = imap_login_check(s, user, cmd->args[0].len, password, &reason);
	if (ret != 0) {
		stats_add(STATS_LOGINS_FAILED, 1);
		log_info("auth", "%s: login of '%.64s' refused: %s", s->client->peer, user, reason);
		if (ret > 0)
			session_tagged(cmd, "NO", "UNAVAILABLE", "Authentication is not possible now.");
		else
			session_tagged(cmd, "NO", "AUTHENTICATIONFAILED", "Authentication failed.");
		return;
	}
	stats_add(STATS_LOGINS_OK, 1);
	log_info("auth", "%s: user %s logged in", s->client->peer, s->user);
	s->new_state = CLIENT_STATE_AUTHENTICATED;
	session_tagged(cmd, "OK", NULL, "[CAPABILITY %s] Logged in.",
		       server_capability(SERVER_CAP_AUTHENTICATED));
}

/* ---- AUTHENTICATE ---- */

/* One step of an exchange on its way through the worker pool. */
struct imap_auth_job {
	struct session *s;
	struct sasl_exchange *ex;
	char *tag;
	struct strbuf in;          /* the decoded response */
	int has_in;                /* 0: first step without an initial response */
	int confirm;               /* the client confirmed the server's final message */
	struct strbuf out;         /* the challenge or the server's final message */
	enum sasl_result result;
	char *reason;              /* log-safe */
	int opened;                /* the user's store is open in the session */
};

static void imap_auth_job_free(struct imap_auth_job *job)
{
	if (job->in.data != NULL)
		OPENSSL_cleanse(job->in.data, job->in.len);
	strbuf_free(&job->in);
	strbuf_free(&job->out);
	free(job->tag);
	free(job->reason);
	free(job);
}

/* On a worker: the step, and on success the store. */
static void imap_auth_work(void *arg)
{
	struct imap_auth_job *job = arg;
	struct auth_throttle *throttle = auth_throttle_global();
	const char *peer = sasl_exchange_peer(job->ex), *reason = "unknown", *user;

	if (!job->confirm)
		job->result = sasl_exchange_step(job->ex, job->has_in ? (unsigned char *)
						 (job->in.data != NULL ? job->in.data : "") : NULL,
						 job->in.len, &job->out, &reason);
	else
		job->result = SASL_OK;
	user = sasl_exchange_user(job->ex);
	if (job->result == SASL_OK && (job->out.len == 0 || job->confirm)) {
		if (imap_auth_open_user(job->s, user, &reason) < 0)
			job->result = SASL_DENIED;
		else
			job->opened = 1;
	}
	if (job->result == SASL_DENIED)
		auth_throttle_failed(throttle, peer, user, auth_throttle_now_ms());
	else if (job->opened)
		auth_throttle_succeeded(throttle, peer, user);
	free(job->reason);
	job->reason = xstrdup(reason);
}

static void imap_auth_refused(struct client *c, struct imap_auth_job *job)
{
	const char *user = sasl_exchange_user(job->ex);

	stats_add(STATS_LOGINS_FAILED, 1);
	log_info("auth", "%s: AUTHENTICATE %s of '%s' refused: %s", c->peer,
		 sasl_exchange_mech(job->ex), user != NULL ? user : "(unknown)", job->reason);
	switch (job->result) {
	case SASL_MALFORMED:
		client_send_tagged(c, job->tag, "BAD", NULL, "Malformed authentication exchange.");
		break;
	case SASL_FAILED:
		client_send_tagged(c, job->tag, "NO", "UNAVAILABLE",
				   "Authentication is not possible now.");
		break;
	default:
		client_send_tagged(c, job->tag, "NO", "AUTHENTICATIONFAILED",
				   "Authentication failed.");
		break;
	}
}

/* Sends "+ BASE64" and waits for the client's next line. */
static void imap_auth_challenge(struct client *c, struct imap_auth_job *job)
{
	struct strbuf line = STRBUF_INIT;

	strbuf_appends(&line, "+ ");
	sasl_base64_encode(job->out.data, job->out.len, &line);
	strbuf_appends(&line, "\r\n");
	client_send(c, line.data, line.len);
	strbuf_free(&line);
	free(c->sasl_tag);
	c->sasl_tag = job->tag;
	job->tag = NULL;
	c->sasl = job->ex;
	job->ex = NULL;
}

/* Back on the client's thread: answer, or ask for the next response. */
static void imap_auth_done(struct client *c, void *arg)
{
	struct imap_auth_job *job = arg;

	if (c->closing) {
		sasl_exchange_release(&job->ex);
	} else if (job->result == SASL_CONTINUE ||
		   (job->result == SASL_OK && !job->opened)) {
		imap_auth_challenge(c, job);
	} else if (job->result == SASL_OK) {
		stats_add(STATS_LOGINS_OK, 1);
		log_info("auth", "%s: user %s logged in (AUTHENTICATE %s)", c->peer,
			 c->sess->user, sasl_exchange_mech(job->ex));
		client_sendf(c, "%s OK [CAPABILITY %s] Logged in.\r\n", job->tag,
			     server_capability(SERVER_CAP_AUTHENTICATED));
		sasl_exchange_release(&job->ex);
		client_enter_state(c, CLIENT_STATE_AUTHENTICATED);
	} else {
		imap_auth_refused(c, job);
		sasl_exchange_release(&job->ex);
	}
	imap_auth_job_free(job);
}

/* Hands the exchange's next step to the worker pool.  `in` (NULL: no
   response yet) is copied. */
static void imap_auth_submit(struct client *c, const char *tag, struct sasl_exchange *ex,
			     const struct strbuf *in, int confirm)
{
	struct imap_auth_job *job = xcalloc(1, sizeof(*job));

	if (c->sess == NULL)
		c->sess = session_create(c);
	job->s = c->sess;
	job->ex = ex;
	job->tag = xstrdup(tag);
	job->confirm = confirm;
	/* What the client hears when the pool is shutting down. */
	job->result = SASL_FAILED;
	job->reason = xstrdup("the server is shutting down");
	if (in != NULL) {
		job->has_in = 1;
		strbuf_append(&job->in, in->data != NULL ? in->data : "", in->len);
	}
	client_run_blocking(c, imap_auth_work, imap_auth_done, job);
}

/* Decodes a response line: "=" is empty only as an initial response.
   0, or -1 when it is not base64. */
static int imap_auth_decode(const char *b64, size_t len, int initial, struct strbuf *out)
{
	if (initial && len == 1 && b64[0] == '=')
		return 0;
	return sasl_base64_decode(b64, len, out);
}

void imap_cmd_authenticate(struct client *c, struct imap_cmd *cmd)
{
	struct sasl_backend backend = { NULL, NULL, imap_auth_gate, NULL };
	const char *mech = imap_cmd_astring(cmd, 0);
	struct strbuf in = STRBUF_INIT;
	struct sasl_exchange *ex;

	if (mech == NULL || cmd->count > 2 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    (cmd->count == 2 && cmd->args[1].type != IMAP_ARG_ATOM)) {
		client_send_tagged(c, cmd->tag, "BAD", NULL,
				   "AUTHENTICATE takes a mechanism and an initial response.");
		return;
	}
	backend.ops = server.auth->desc->ops;
	backend.state = server.auth->state;
	if (!sasl_mech_offered(backend.ops, mech)) {
		client_send_tagged(c, cmd->tag, "NO", "CANNOT", "Unsupported authentication mechanism.");
		return;
	}
	if (sasl_mech_plaintext(mech) && !client_plaintext_ok(c)) {
		log_info("auth", "%s: AUTHENTICATE %.32s refused: plaintext mechanism without TLS",
			 c->peer, mech);
		client_send_tagged(c, cmd->tag, "NO", "PRIVACYREQUIRED",
				   "This mechanism needs TLS (STARTTLS) first.");
		return;
	}
	if (cmd->count == 2 &&
	    imap_auth_decode(cmd->args[1].str, cmd->args[1].len, 1, &in) < 0) {
		strbuf_free(&in);
		client_send_tagged(c, cmd->tag, "BAD", NULL, "Invalid base64 in the initial response.");
		return;
	}
	ex = sasl_exchange_create(&backend, mech, c->peer);
	imap_auth_submit(c, cmd->tag, ex, cmd->count == 2 ? &in : NULL, 0);
	if (in.data != NULL)
		OPENSSL_cleanse(in.data, in.len);
	strbuf_free(&in);
}

void imap_auth_continue(struct client *c, const char *tag, const char *line, size_t len)
{
	struct sasl_exchange *ex = c->sasl;
	struct strbuf in = STRBUF_INIT;
	int confirm;

	c->sasl = NULL;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (ex == NULL) {
		client_send_tagged(c, tag, "BAD", NULL, "No authentication exchange in progress.");
		return;
	}
	if (len == 1 && line[0] == '*') {
		log_info("auth", "%s: AUTHENTICATE %s cancelled by the client", c->peer,
			 sasl_exchange_mech(ex));
		sasl_exchange_release(&ex);
		client_send_tagged(c, tag, "BAD", NULL, "AUTHENTICATE cancelled.");
		return;
	}
	/* After the server's final message only an empty line confirms. */
	confirm = sasl_exchange_succeeded(ex);
	if (imap_auth_decode(line, len, 0, &in) < 0 || (confirm && in.len > 0)) {
		log_info("auth", "%s: AUTHENTICATE %s refused: malformed response", c->peer,
			 sasl_exchange_mech(ex));
		sasl_exchange_release(&ex);
		strbuf_free(&in);
		client_send_tagged(c, tag, "BAD", NULL, confirm ? "Expected an empty response." :
				   "Invalid base64 in the response.");
		return;
	}
	imap_auth_submit(c, tag, ex, &in, confirm);
	if (in.data != NULL)
		OPENSSL_cleanse(in.data, in.len);
	strbuf_free(&in);
}
