/* SAMPLE AUTHENTICATE exit: OAUTHBEARER (RFC 7628) with tokens signed by a
 * key the site shares with its token issuer.  Copy this directory, rename
 * the plugin, replace token_check() with your own rule (a call to your
 * identity provider, a JWT library, ...), and build it out of tree:
 *
 *     make                          # uses `pkg-config vimap`
 *     make install                  # into pkg-config's plugindir
 *
 * then in vimap.yaml:
 *
 *     authenticate: oauthbearer
 *     plugins:
 *       oauthbearer:
 *         key_file: /etc/vimap/oauthbearer.key
 *
 * The token of this sample is "USER:EXPIRY:SIGNATURE": EXPIRY in seconds
 * since the epoch, SIGNATURE the lower-case hex HMAC-SHA-256 of
 * "USER:EXPIRY" under the key file's contents (a trailing newline is not
 * part of the key).  For example, in a shell:
 *
 *     msg="smith:$(( $(date +%s) + 3600 ))"
 *     sig=$(printf %s "$msg" | openssl dgst -sha256 -hmac "$(cat key)" -r | cut -d' ' -f1)
 *     echo "$msg:$sig"
 *
 * What the ABI asks of an exit (<vimap/auth.h>, docs/plugin-guide.md):
 *  - one exported symbol, the descriptor VIMAP_PLUGIN_DEFINE makes;
 *  - everything from the kernel through the host table (log, config);
 *  - sasl_start/sasl_step/sasl_end for each exchange, called from worker
 *    threads (they may block), never two at once for one exchange;
 *  - memory handed back (challenge, user, reason) stays the exchange's
 *    until the next step or sasl_end;
 *  - never log or return a credential in a reason.
 * The kernel does the rest: base64, SASL-IR, the "*" cancel, the
 * brute-force delay, the enrolment check, and the log line with the
 * client's address. */
#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <vimap/auth.h>

#define OB_MAX_KEY 1024
#define OB_MAX_USER 64

/* The plugin's state: made by init, freed by deinit. */
struct ob_state {
	struct vimap_plugin_ctx *ctx;
	const struct vimap_host *host;
	unsigned char key[OB_MAX_KEY];
	size_t key_len;
	unsigned denied_counter;
};

/* One exchange: made by sasl_start, freed by sasl_end. */
struct ob_exchange {
	struct ob_state *st;
	int failed;                 /* the error challenge was sent */
	char user[OB_MAX_USER + 1]; /* from the token (or authzid) */
	const char *reason;         /* static strings only */
};

static const char *const ob_keys[] = { "key_file", NULL };
static const char *const ob_mechanisms[] = { "OAUTHBEARER", NULL };

/* RFC 7628 3.2.2: the error challenge.  The client answers it with a
   single %x01 and the server then fails the exchange. */
static const char ob_error_json[] = "{\"status\":\"invalid_token\",\"scope\":\"imap\"}";

static int ob_read_key(struct ob_state *st, const char *path, const char **error_r)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		*error_r = "plugins.oauthbearer.key_file: cannot open the file";
		return -1;
	}
	n = fread(st->key, 1, sizeof(st->key), f);
	fclose(f);
	while (n > 0 && (st->key[n - 1] == '\n' || st->key[n - 1] == '\r'))
		n--;
	if (n < 16) {
		*error_r = "plugins.oauthbearer.key_file: the key needs at least 16 bytes";
		return -1;
	}
	st->key_len = n;
	return 0;
}

static int ob_init(struct vimap_plugin_ctx *ctx, const struct vimap_host *host,
		   void **state_r, const char **error_r)
{
	struct ob_state *st;
	const char *path;

	if (host->config_check_keys(ctx, ob_keys, error_r) < 0 ||
	    host->config_string(ctx, "key_file", NULL, &path, error_r) < 0)
		return -1;
	if (path == NULL) {
		*error_r = "plugins.oauthbearer.key_file: required";
		return -1;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	st->ctx = ctx;
	st->host = host;
	if (ob_read_key(st, path, error_r) < 0 ||
	    host->counter_register(ctx, "denied", &st->denied_counter, error_r) < 0) {
		OPENSSL_cleanse(st, sizeof(*st));
		free(st);
		return -1;
	}
	host->log(ctx, VIMAP_LOG_INFO, "OAUTHBEARER tokens checked with the key in %s", path);
	*state_r = st;
	return 0;
}

static void ob_deinit(void *state)
{
	OPENSSL_cleanse(state, sizeof(struct ob_state));
	free(state);
}

/* ---- the site's rule: replace this function ---- */

/* Checks "USER:EXPIRY:HEXSIG".  Returns 1 with the user in user_r, or 0
   with a log-safe reason (and the claimed user, when readable). */
static int token_check(const struct ob_state *st, const char *token, size_t len,
		       char user_r[OB_MAX_USER + 1], const char **reason_r)
{
	unsigned char mac[32];
	unsigned mac_len = sizeof(mac);
	char hex[65];
	const char *c1 = memchr(token, ':', len), *c2;
	long long expiry;
	size_t ulen, i;

	c2 = c1 != NULL ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - token)) : NULL;
	if (c2 == NULL || (ulen = (size_t)(c1 - token)) == 0 || ulen > OB_MAX_USER) {
		*reason_r = "malformed token";
		return 0;
	}
	memcpy(user_r, token, ulen);
	user_r[ulen] = '\0';
	HMAC(EVP_sha256(), st->key, (int)st->key_len, (const unsigned char *)token,
	     (size_t)(c2 - token), mac, &mac_len);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	if ((size_t)(token + len - (c2 + 1)) != 64 || CRYPTO_memcmp(hex, c2 + 1, 64) != 0) {
		*reason_r = "bad token signature";
		return 0;
	}
	expiry = strtoll(c1 + 1, NULL, 10);
	if (expiry <= (long long)time(NULL)) {
		*reason_r = "token expired";
		return 0;
	}
	return 1;
}

/* ---- the SASL exchange ---- */

static int ob_sasl_start(void *state, const char *mech, const char *peer,
			 void **exch_r, const char **error_r)
{
	struct ob_exchange *ex = calloc(1, sizeof(*ex));

	(void)mech;   /* the only one listed */
	(void)peer;   /* the kernel logs it */
	if (ex == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	ex->st = state;
	*exch_r = ex;
	return 0;
}

/* Finds "auth=Bearer TOKEN" among the %x01-separated pairs of the client's
   message (after the gs2 header); sets the authzid (may be empty). */
static int ob_parse(const char *msg, size_t len, const char **authzid_r, size_t *authzid_len_r,
		    const char **token_r, size_t *token_len_r)
{
	const char *end = msg + len, *p = msg, *kv;

	if (len < 3 || (p[0] != 'n' && p[0] != 'y') || p[1] != ',')
		return -1;
	p += 2;
	*authzid_r = p;
	*authzid_len_r = 0;
	if (end - p >= 2 && strncmp(p, "a=", 2) == 0) {
		*authzid_r = p + 2;
		while (p < end && *p != ',')
			p++;
		*authzid_len_r = (size_t)(p - *authzid_r);
	}
	if (p >= end || *p != ',' || p + 1 >= end || p[1] != '\x01')
		return -1;
	for (kv = p + 2; kv < end && *kv != '\x01';) {
		const char *e = memchr(kv, '\x01', (size_t)(end - kv));

		if (e == NULL)
			return -1;
		if (e - kv > 12 && strncasecmp(kv, "auth=Bearer ", 12) == 0) {
			*token_r = kv + 12;
			*token_len_r = (size_t)(e - kv - 12);
			return 0;
		}
		kv = e + 1;
	}
	return -1;
}

static enum vimap_sasl_result ob_first(struct ob_exchange *ex, const unsigned char *in,
				       size_t in_len, const unsigned char **out_r,
				       size_t *out_len_r, const char **user_r)
{
	const char *authzid, *token;
	size_t authzid_len, token_len;

	if (ob_parse((const char *)in, in_len, &authzid, &authzid_len, &token, &token_len) < 0) {
		ex->reason = "malformed OAUTHBEARER message";
		return VIMAP_SASL_MALFORMED;
	}
	if (token_check(ex->st, token, token_len, ex->user, &ex->reason) &&
	    (authzid_len == 0 ||
	     (authzid_len == strlen(ex->user) && strncasecmp(authzid, ex->user, authzid_len) == 0))) {
		*user_r = ex->user;
		return VIMAP_SASL_OK;
	}
	if (ex->reason == NULL)
		ex->reason = "authzid differs from the token's user";
	*user_r = ex->user[0] != '\0' ? ex->user : NULL;
	/* RFC 7628 3.2.2: tell the client why, then fail after its %x01. */
	ex->failed = 1;
	*out_r = (const unsigned char *)ob_error_json;
	*out_len_r = sizeof(ob_error_json) - 1;
	return VIMAP_SASL_CONTINUE;
}

static enum vimap_sasl_result ob_sasl_step(void *exch, const unsigned char *in, size_t in_len,
					   const unsigned char **out_r, size_t *out_len_r,
					   const char **user_r, const char **reason_r)
{
	struct ob_exchange *ex = exch;

	*out_r = NULL;
	*out_len_r = 0;
	if (in == NULL)       /* no initial response: ask with an empty challenge */
		return VIMAP_SASL_CONTINUE;
	if (!ex->failed) {
		enum vimap_sasl_result r = ob_first(ex, in, in_len, out_r, out_len_r, user_r);

		*reason_r = ex->reason;
		return r;
	}
	*user_r = ex->user[0] != '\0' ? ex->user : NULL;
	*reason_r = ex->reason;
	if (in_len != 1 || in[0] != 0x01) {
		*reason_r = "expected %x01 after the error challenge";
		return VIMAP_SASL_MALFORMED;
	}
	ex->st->host->counter_add(ex->st->ctx, ex->st->denied_counter, 1);
	return VIMAP_SASL_DENIED;
}

static void ob_sasl_end(void *exch)
{
	OPENSSL_cleanse(exch, sizeof(struct ob_exchange));
	free(exch);
}

static const struct vimap_auth_ops ob_ops = {
	.size = sizeof(struct vimap_auth_ops),
	.init = ob_init,
	.deinit = ob_deinit,
	.verify = NULL,              /* no passwords: LOGIN and PLAIN are not offered */
	.mechanisms = ob_mechanisms,
	.sasl_start = ob_sasl_start,
	.sasl_step = ob_sasl_step,
	.sasl_end = ob_sasl_end,
};

VIMAP_PLUGIN_DEFINE(VIMAP_PLUGIN_AUTH, "oauthbearer", "1.0", &ob_ops);
