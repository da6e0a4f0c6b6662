/* auth plugin `esm`: the host's security manager through PAM, the analogue
 * of VM's AUTHENTICATE ESM (an external security manager such as RACF).
 * The kernel's LOGIN, PLAIN and LOGIN mechanisms check passwords with
 * pam_authenticate() and pam_acct_mgmt() on the configured PAM service
 * (`service`, default "vimap"), answering PAM's password prompt through a
 * conversation.  PAM's own delay after a failure is turned off: the
 * kernel's brute-force delay (auth_throttle) applies instead, without a
 * worker sleeping inside PAM.
 *
 * Reading the shadow database needs privilege: as root, pam_unix reads it
 * itself; otherwise it runs its setgid helper unix_chkpwd, which checks
 * only the calling user's password. */
#include "autoconfig.h"
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>
#include <vimap/auth.h>
#include "xalloc.h"

struct esm_state {
	struct vimap_plugin_ctx *ctx;
	const struct vimap_host *host;
	char *service;
	unsigned denied_counter;
};

/* What the conversation answers with. */
struct esm_conv {
	const char *user;
	const char *password;
};

static const char *const esm_keys[] = { "service", NULL };

static int esm_init(struct vimap_plugin_ctx *ctx, const struct vimap_host *host,
		    void **state_r, const char **error_r)
{
	struct esm_state *st;
	const char *service;

	if (host->config_check_keys(ctx, esm_keys, error_r) < 0 ||
	    host->config_string(ctx, "service", "vimap", &service, error_r) < 0)
		return -1;
	if (service[0] == '\0' || strchr(service, '/') != NULL) {
		*error_r = "plugins.esm.service: expected a PAM service name (no '/')";
		return -1;
	}
	st = xcalloc(1, sizeof(*st));
	st->ctx = ctx;
	st->host = host;
	st->service = xstrdup(service);
	if (host->counter_register(ctx, "denied", &st->denied_counter, error_r) < 0) {
		free(st->service);
		free(st);
		return -1;
	}
	host->log(ctx, VIMAP_LOG_INFO, "checking passwords with PAM service '%s'", service);
	*state_r = st;
	return 0;
}

static void esm_deinit(void *state)
{
	struct esm_state *st = state;

	free(st->service);
	free(st);
}

static void esm_free_replies(struct pam_response *replies, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (replies[i].resp != NULL) {
			memset(replies[i].resp, 0, strlen(replies[i].resp));
			free(replies[i].resp);
		}
	}
	free(replies);
}

/* PAM asks; the password answers a hidden prompt, the user id a visible
   one; messages are dropped.  PAM frees the replies (with free()), so
   they are made with strdup, not xstrdup's abort. */
static int esm_conversation(int n, const struct pam_message **msgs,
			    struct pam_response **replies_r, void *arg)
{
	const struct esm_conv *conv = arg;
	struct pam_response *replies;
	int i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	replies = calloc((size_t)n, sizeof(*replies));
	if (replies == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		const char *answer = NULL;

		switch (msgs[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			answer = conv->password;
			break;
		case PAM_PROMPT_ECHO_ON:
			answer = conv->user;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			continue;
		default:
			esm_free_replies(replies, n);
			return PAM_CONV_ERR;
		}
		if ((replies[i].resp = strdup(answer)) == NULL) {
			esm_free_replies(replies, n);
			return PAM_BUF_ERR;
		}
	}
	*replies_r = replies;
	return PAM_SUCCESS;
}

/* PAM's delay after a failure: none here (see the top of the file). */
static void esm_no_delay(int retval, unsigned usec_delay, void *appdata)
{
	(void)retval;
	(void)usec_delay;
	(void)appdata;
}

static enum vimap_auth_result esm_result(struct esm_state *st, int rc)
{
	switch (rc) {
	case PAM_SUCCESS:
		return VIMAP_AUTH_OK;
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_MAXTRIES:
	case PAM_ACCT_EXPIRED:
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_PERM_DENIED:
	case PAM_CRED_INSUFFICIENT:
		st->host->counter_add(st->ctx, st->denied_counter, 1);
		return VIMAP_AUTH_DENIED;
	default:
		return VIMAP_AUTH_FAILED;
	}
}

static enum vimap_auth_result esm_verify(void *state, const char *user,
					 const char *password, const char **reason_r)
{
	struct esm_state *st = state;
	struct esm_conv data = { user, password };
	struct pam_conv conv = { esm_conversation, &data };
	pam_handle_t *pamh = NULL;
	enum vimap_auth_result res;
	int rc;

	rc = pam_start(st->service, user, &conv, &pamh);
	if (rc != PAM_SUCCESS) {
		*reason_r = "pam_start failed";
		return VIMAP_AUTH_FAILED;
	}
	(void)pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)esm_no_delay);
	rc = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	/* The password is right; the account may still be expired or locked. */
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	/* pam_strerror's text is static and names no credential. */
	*reason_r = rc == PAM_SUCCESS ? "ok" : pam_strerror(pamh, rc);
	res = esm_result(st, rc);
	pam_end(pamh, rc);
	return res;
}

static const struct vimap_auth_ops esm_ops = {
	.size = sizeof(struct vimap_auth_ops),
	.init = esm_init,
	.deinit = esm_deinit,
	.verify = esm_verify,
};

VIMAP_PLUGIN_DEFINE(VIMAP_PLUGIN_AUTH, "esm", PACKAGE_VERSION, &esm_ops);
