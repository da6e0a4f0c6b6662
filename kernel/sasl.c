#include "autoconfig.h"
#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "loader.h"
#include "log.h"
#include "sasl-private.h"
#include "server.h"
#include "workers.h"
#include "xalloc.h"

/* A plugin's exchange that never ends is cut off here. */
#define SASL_MAX_STEPS 16

/* The kernel's mechanisms, in the order CAPABILITY lists them. */
static const struct sasl_mech *const sasl_kernel_mechs[] = {
	&sasl_mech_scram_sha_256, &sasl_mech_plain, &sasl_mech_login,
};
#define SASL_KERNEL_MECH_COUNT (sizeof(sasl_kernel_mechs) / sizeof(sasl_kernel_mechs[0]))

/* ---- mechanism lists ---- */

/* The plugin's own mechanisms, or NULL when it has none (or lacks the
   functions to run them). */
static const char *const *sasl_plugin_mechs(const struct vimap_auth_ops *ops)
{
	if (ops == NULL || !VIMAP_AUTH_HAS(ops, sasl_end) || ops->mechanisms == NULL ||
	    ops->sasl_start == NULL || ops->sasl_step == NULL || ops->sasl_end == NULL)
		return NULL;
	return ops->mechanisms;
}

static int sasl_plugin_has(const struct vimap_auth_ops *ops, const char *mech)
{
	const char *const *m = sasl_plugin_mechs(ops);

	for (; m != NULL && *m != NULL; m++) {
		if (strcasecmp(*m, mech) == 0)
			return 1;
	}
	return 0;
}

static int sasl_kernel_usable(const struct vimap_auth_ops *ops, const struct sasl_mech *mech)
{
	if (ops == NULL || sasl_plugin_has(ops, mech->name))
		return 0;
	if (mech->needs == SASL_NEEDS_VERIFY)
		return ops->verify != NULL;
	return VIMAP_AUTH_HAS(ops, scram_secret) && ops->scram_secret != NULL;
}

size_t sasl_mechanisms(const struct vimap_auth_ops *ops, const char **names_r, size_t max)
{
	const char *const *m = sasl_plugin_mechs(ops);
	size_t n = 0, i;

	for (; m != NULL && *m != NULL && n < max; m++)
		names_r[n++] = *m;
	for (i = 0; i < SASL_KERNEL_MECH_COUNT && n < max; i++) {
		if (sasl_kernel_usable(ops, sasl_kernel_mechs[i]))
			names_r[n++] = sasl_kernel_mechs[i]->name;
	}
	return n;
}

int sasl_mech_offered(const struct vimap_auth_ops *ops, const char *mech)
{
	size_t i;

	if (sasl_plugin_has(ops, mech))
		return 1;
	for (i = 0; i < SASL_KERNEL_MECH_COUNT; i++) {
		if (strcasecmp(sasl_kernel_mechs[i]->name, mech) == 0)
			return sasl_kernel_usable(ops, sasl_kernel_mechs[i]);
	}
	return 0;
}

int sasl_mech_plaintext(const char *mech)
{
	static const char *const plain[] = { "PLAIN", "LOGIN", "OAUTHBEARER", "XOAUTH2" };
	size_t i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (strcasecmp(plain[i], mech) == 0)
			return 1;
	}
	return 0;
}

static pthread_once_t sasl_caps_once = PTHREAD_ONCE_INIT;
static char *sasl_caps[2];   /* [0] without plaintext mechanisms, [1] all */

static void sasl_caps_build(void)
{
	const struct vimap_auth_ops *ops = server.auth != NULL ? server.auth->desc->ops : NULL;
	const char *names[64];
	struct strbuf sb[2] = { STRBUF_INIT, STRBUF_INIT };
	size_t n = sasl_mechanisms(ops, names, 64), i;
	int k;

	if (ops != NULL && VIMAP_AUTH_HAS(ops, mechanisms) && ops->mechanisms != NULL &&
	    sasl_plugin_mechs(ops) == NULL)
		log_warning("auth", "%s lists SASL mechanisms but lacks sasl_start, sasl_step "
			    "or sasl_end: they are not offered", server.auth->name);

	for (k = 0; k < 2; k++) {
		strbuf_appends(&sb[k], "");
		for (i = 0; i < n; i++) {
			if (k == 0 && sasl_mech_plaintext(names[i]))
				continue;
			strbuf_appendf(&sb[k], "%sAUTH=%s", sb[k].len > 0 ? " " : "", names[i]);
		}
		sasl_caps[k] = strbuf_steal(&sb[k]);
	}
}

const char *sasl_capabilities(int plaintext_ok)
{
	pthread_once(&sasl_caps_once, sasl_caps_build);
	return sasl_caps[plaintext_ok ? 1 : 0];
}

struct sasl_joined {
	const char *head;
	int plaintext_ok;
	char *line;
	struct sasl_joined *next;
};

static pthread_mutex_t sasl_joined_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sasl_joined *sasl_joined_list;

const char *sasl_capability_join(const char *head, int plaintext_ok)
{
	const char *mechs = sasl_capabilities(plaintext_ok);
	struct sasl_joined *j;
	const char *line;

	pthread_mutex_lock(&sasl_joined_lock);
	for (j = sasl_joined_list; j != NULL; j = j->next) {
		if (j->head == head && j->plaintext_ok == plaintext_ok)
			break;
	}
	if (j == NULL) {
		/* A handful of heads at most; kept for the process's life. */
		j = xcalloc(1, sizeof(*j));
		j->head = head;
		j->plaintext_ok = plaintext_ok;
		j->line = xasprintf("%s%s%s", head, mechs[0] != '\0' ? " " : "", mechs);
		j->next = sasl_joined_list;
		sasl_joined_list = j;
	}
	line = j->line;
	pthread_mutex_unlock(&sasl_joined_lock);
	return line;
}

/* ---- the exchange ---- */

struct sasl_exchange *sasl_exchange_create(const struct sasl_backend *backend,
					   const char *mech, const char *peer)
{
	const struct vimap_auth_ops *ops = backend->ops;
	const char *const *pm = sasl_plugin_mechs(ops);
	struct sasl_exchange *ex;
	size_t i;

	if (!sasl_mech_offered(ops, mech))
		return NULL;
	ex = xcalloc(1, sizeof(*ex));
	ex->backend = *backend;
	ex->peer = xstrdup(peer);
	for (; pm != NULL && *pm != NULL; pm++) {
		if (strcasecmp(*pm, mech) == 0)
			ex->mech_name = xstrdup(*pm);
	}
	for (i = 0; ex->mech_name == NULL && i < SASL_KERNEL_MECH_COUNT; i++) {
		if (strcasecmp(sasl_kernel_mechs[i]->name, mech) == 0) {
			ex->mech = sasl_kernel_mechs[i];
			ex->mech_name = xstrdup(ex->mech->name);
			ex->mstate = xcalloc(1, ex->mech->state_size);
		}
	}
	return ex;
}

/* A reason the plugin gave lives in its exchange memory: copied so it
   survives sasl_end. */
static const char *sasl_keep_reason(struct sasl_exchange *ex, const char *reason)
{
	free(ex->reason);
	ex->reason = xstrdup(reason != NULL ? reason : "no reason given");
	return ex->reason;
}

static enum sasl_result sasl_plugin_step(struct sasl_exchange *ex, const unsigned char *in,
					 size_t in_len, struct strbuf *out,
					 const char **reason_r)
{
	const struct vimap_auth_ops *ops = ex->backend.ops;
	const unsigned char *data = NULL;
	const char *user = NULL, *reason = NULL, *error = NULL;
	enum vimap_sasl_result r;
	size_t data_len = 0;

	if (sasl_exchange_gate(ex, NULL, reason_r) < 0)
		return SASL_FAILED;
	if (!ex->plugin_started) {
		if (ops->sasl_start(ex->backend.state, ex->mech_name, ex->peer,
				    &ex->plugin_exch, &error) < 0) {
			*reason_r = sasl_keep_reason(ex, error);
			return SASL_FAILED;
		}
		ex->plugin_started = 1;
	}
	r = ops->sasl_step(ex->plugin_exch, in, in_len, &data, &data_len, &user, &reason);
	if (user != NULL && sasl_exchange_set_user(ex, user, strlen(user)) < 0 &&
	    r == VIMAP_SASL_OK) {
		*reason_r = "the mechanism named an invalid user id";
		return SASL_DENIED;
	}
	switch (r) {
	case VIMAP_SASL_CONTINUE:
	case VIMAP_SASL_OK:
		if (data != NULL)
			strbuf_append(out, data, data_len);
		if (r == VIMAP_SASL_OK && !ex->have_user) {
			*reason_r = "the mechanism named no user";
			return SASL_FAILED;
		}
		return r == VIMAP_SASL_OK ? SASL_OK : SASL_CONTINUE;
	case VIMAP_SASL_DENIED:
		*reason_r = sasl_keep_reason(ex, reason);
		return SASL_DENIED;
	case VIMAP_SASL_MALFORMED:
		*reason_r = sasl_keep_reason(ex, reason);
		return SASL_MALFORMED;
	default:
		*reason_r = sasl_keep_reason(ex, reason);
		return SASL_FAILED;
	}
}

enum sasl_result sasl_exchange_step(struct sasl_exchange *ex, const unsigned char *in,
				    size_t in_len, struct strbuf *out,
				    const char **reason_r)
{
	enum sasl_result r;

	*reason_r = "unknown";
	if (ex->over || (in == NULL && ex->steps > 0)) {
		*reason_r = "the exchange is over";
		return SASL_MALFORMED;
	}
	if (++ex->steps > SASL_MAX_STEPS) {
		ex->over = 1;
		*reason_r = "too many steps";
		return SASL_MALFORMED;
	}
	if (ex->mech != NULL)
		r = ex->mech->step(ex, ex->mstate, in, in_len, out, reason_r);
	else
		r = sasl_plugin_step(ex, in, in_len, out, reason_r);
	if (r != SASL_CONTINUE)
		ex->over = 1;
	ex->succeeded = r == SASL_OK;
	return r;
}

const char *sasl_exchange_user(const struct sasl_exchange *ex)
{
	return ex->have_user ? ex->user : NULL;
}

const char *sasl_exchange_mech(const struct sasl_exchange *ex)
{
	return ex->mech_name;
}

int sasl_exchange_succeeded(const struct sasl_exchange *ex)
{
	return ex->succeeded;
}

const char *sasl_exchange_peer(const struct sasl_exchange *ex)
{
	return ex->peer;
}

void sasl_exchange_destroy(struct sasl_exchange **exp)
{
	struct sasl_exchange *ex = *exp;

	if (ex == NULL)
		return;
	*exp = NULL;
	if (ex->plugin_started)
		ex->backend.ops->sasl_end(ex->plugin_exch);
	if (ex->mstate != NULL) {
		OPENSSL_cleanse(ex->mstate, ex->mech->state_size);
		free(ex->mstate);
	}
	free(ex->mech_name);
	free(ex->peer);
	free(ex->reason);
	free(ex);
}

static void sasl_destroy_job(void *arg)
{
	struct sasl_exchange *ex = arg;

	sasl_exchange_destroy(&ex);
}

void sasl_exchange_release(struct sasl_exchange **exp)
{
	struct sasl_exchange *ex = *exp;

	if (ex == NULL)
		return;
	*exp = NULL;
	/* Only a plugin's sasl_end may block; the rest is memory. */
	if (!ex->plugin_started || server.workers == NULL ||
	    workers_submit(server.workers, sasl_destroy_job, ex) < 0)
		sasl_exchange_destroy(&ex);
}

/* ---- services for the mechanisms ---- */

int sasl_exchange_set_user(struct sasl_exchange *ex, const char *user, size_t len)
{
	if (userid_canonical(user, len, ex->user) < 0) {
		ex->have_user = 0;
		return -1;
	}
	ex->have_user = 1;
	return 0;
}

int sasl_exchange_gate(struct sasl_exchange *ex, const char *user, const char **reason_r)
{
	if (ex->backend.gate == NULL)
		return 0;
	return ex->backend.gate(ex->backend.gate_ctx, ex->peer, user, reason_r);
}

enum sasl_result sasl_exchange_verify(struct sasl_exchange *ex, const char *password,
				      const char **reason_r)
{
	const struct vimap_auth_ops *ops = ex->backend.ops;
	const char *reason = NULL;

	if (!ex->have_user) {
		*reason_r = "not a valid user id";
		return SASL_DENIED;
	}
	if (sasl_exchange_gate(ex, ex->user, reason_r) < 0)
		return SASL_FAILED;
	switch (ops->verify(ex->backend.state, ex->user, password, &reason)) {
	case VIMAP_AUTH_OK:
		return SASL_OK;
	case VIMAP_AUTH_DENIED:
		*reason_r = sasl_keep_reason(ex, reason);
		return SASL_DENIED;
	default:
		*reason_r = sasl_keep_reason(ex, reason);
		return SASL_FAILED;
	}
}

int sasl_plain_split(const char *msg, size_t msg_len, const char **authzid_r,
		     const char **authcid_r, const char **password_r)
{
	const char *authcid, *password;

	authcid = memchr(msg, '\0', msg_len);
	if (authcid == NULL)
		return -1;
	authcid++;
	password = memchr(authcid, '\0', msg_len - (size_t)(authcid - msg));
	if (password == NULL)
		return -1;
	password++;
	/* No third NUL: the password runs to the end. */
	if (memchr(password, '\0', msg_len - (size_t)(password - msg)) != NULL)
		return -1;
	*authzid_r = msg;
	*authcid_r = authcid;
	*password_r = password;
	return 0;
}

/* ---- base64 ---- */

static int sasl_b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* The strict form: checked here, since EVP_DecodeBlock skips white space
   and ignores padding rules. */
static int sasl_b64_check(const char *in, size_t len, size_t *pad_r)
{
	size_t i, pad = 0;

	if (len % 4 != 0 || len > SASL_MAX_RESPONSE)
		return -1;
	if (len >= 1 && in[len - 1] == '=')
		pad++;
	if (len >= 2 && in[len - 2] == '=')
		pad++;
	for (i = 0; i < len - pad; i++) {
		if (sasl_b64_value((unsigned char)in[i]) < 0)
			return -1;
	}
	/* The bits the padding leaves over must be zero (one encoding per
	   value). */
	if (pad == 1 && (sasl_b64_value((unsigned char)in[len - 2]) & 0x03) != 0)
		return -1;
	if (pad == 2 && (sasl_b64_value((unsigned char)in[len - 3]) & 0x0f) != 0)
		return -1;
	*pad_r = pad;
	return 0;
}

int sasl_base64_decode(const char *in, size_t len, struct strbuf *out)
{
	unsigned char *dst;
	size_t pad;
	int n;

	if (sasl_b64_check(in, len, &pad) < 0)
		return -1;
	if (len == 0)
		return 0;
	dst = (unsigned char *)strbuf_reserve(out, len / 4 * 3 + 1);
	n = EVP_DecodeBlock(dst, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n != len / 4 * 3)
		return -1;
	strbuf_commit(out, (size_t)n - pad);
	return 0;
}

void sasl_base64_encode(const void *in, size_t len, struct strbuf *out)
{
	size_t n = (len + 2) / 3 * 4;
	unsigned char *dst = (unsigned char *)strbuf_reserve(out, n + 1);

	(void)EVP_EncodeBlock(dst, in, (int)len);
	strbuf_commit(out, n);
}
