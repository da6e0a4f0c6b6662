/* SCRAM-SHA-256 (RFC 7677, RFC 5802) over the auth plugin's scram_secret:
 * the plugin keeps StoredKey and ServerKey, never the password, and the
 * kernel needs no password hashing at login (one HMAC and one SHA-256).
 * Channel binding: "n,," and "y,," only (no -PLUS mechanism is offered).
 *
 *   C: n,,n=user,r=cnonce                          (client-first)
 *   S: r=cnonce+snonce,s=salt,i=4096               (server-first)
 *   C: c=biws,r=cnonce+snonce,p=proof              (client-final)
 *   S: v=signature                                 (server-final)
 *
 * An unknown user (or one without a SCRAM secret) gets a made-up salt that
 * is stable per user name, so the exchange looks the same to the end. */
#include "autoconfig.h"
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "sasl-private.h"

#define SCRAM_MAX_NONCE 128
#define SCRAM_MAX_FIRST 512
#define SCRAM_FAKE_ITERATIONS 4096

struct sasl_scram {
	int state;                             /* 0: client-first, 1: client-final */
	int fake;                              /* no such user: the end fails */
	int asked;                             /* the empty challenge was sent */
	char fake_reason[128];                 /* why the user has no secret */
	char gs2[SCRAM_MAX_FIRST];             /* the gs2 header, as sent */
	char nonce[2 * SCRAM_MAX_NONCE + 1];   /* client nonce + server nonce */
	char first_bare[SCRAM_MAX_FIRST];      /* client-first-message-bare */
	char server_first[SCRAM_MAX_FIRST];
	struct vimap_scram_secret secret;
};

/* ---- the key that makes up salts of unknown users ---- */

static pthread_once_t scram_fake_once = PTHREAD_ONCE_INIT;
static unsigned char scram_fake_key[32];

static void scram_fake_init(void)
{
	if (RAND_bytes(scram_fake_key, sizeof(scram_fake_key)) != 1)
		abort();
}

static void scram_fake_secret(const char *user, struct vimap_scram_secret *secret)
{
	unsigned char mac[32];
	unsigned len = sizeof(mac);
	char what[USERID_MAX + 16];

	pthread_once(&scram_fake_once, scram_fake_init);
	snprintf(what, sizeof(what), "salt:%s", user);
	HMAC(EVP_sha256(), scram_fake_key, sizeof(scram_fake_key),
	     (const unsigned char *)what, strlen(what), mac, &len);
	secret->iterations = SCRAM_FAKE_ITERATIONS;
	secret->salt_len = 16;
	memcpy(secret->salt, mac, 16);
	if (RAND_bytes(secret->stored_key, sizeof(secret->stored_key)) != 1 ||
	    RAND_bytes(secret->server_key, sizeof(secret->server_key)) != 1)
		abort();
}

/* ---- parsing ---- */

/* Decodes a saslname ("=2C" is ',', "=3D" is '=') of in[0..len) into
   out[size]; -1 when malformed or too long. */
static int scram_saslname(const char *in, size_t len, char *out, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char ch = in[i];

		if (ch == '=') {
			if (len - i < 3)
				return -1;
			if (strncmp(in + i, "=2C", 3) == 0)
				ch = ',';
			else if (strncmp(in + i, "=3D", 3) == 0)
				ch = '=';
			else
				return -1;
			i += 2;
		} else if (ch == ',' || ch == '\0') {
			return -1;
		}
		if (o + 1 >= size)
			return -1;
		out[o++] = ch;
	}
	out[o] = '\0';
	return 0;
}

static int scram_printable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return 0;
	}
	return len > 0;
}

/* The length of the attribute at `s` (up to ',' or the end). */
static size_t scram_attr_len(const char *s)
{
	return strcspn(s, ",");
}

/* Reads the client-first message: the gs2 header into st->gs2, the user
   into ex, the nonce into st->nonce.  SASL_CONTINUE, or a failure. */
static enum sasl_result scram_read_first(struct sasl_exchange *ex, struct sasl_scram *st,
					 const char *msg, size_t len, const char **reason_r)
{
	char authzid[4 * USERID_MAX], user[4 * USERID_MAX];
	const char *p = msg, *bare;
	size_t n;

	if (len >= SCRAM_MAX_FIRST || strlen(msg) != len)
		return (*reason_r = "client-first message too long or holds NUL", SASL_MALFORMED);
	if (p[0] == 'p')
		return (*reason_r = "channel binding asked for, not offered", SASL_MALFORMED);
	if ((p[0] != 'n' && p[0] != 'y') || p[1] != ',')
		return (*reason_r = "bad gs2 header", SASL_MALFORMED);
	p += 2;
	authzid[0] = '\0';
	if (strncmp(p, "a=", 2) == 0) {
		n = scram_attr_len(p + 2);
		if (scram_saslname(p + 2, n, authzid, sizeof(authzid)) < 0 || n == 0)
			return (*reason_r = "bad authzid", SASL_MALFORMED);
		p += 2 + n;
	}
	if (*p != ',')
		return (*reason_r = "bad gs2 header", SASL_MALFORMED);
	p++;
	memcpy(st->gs2, msg, (size_t)(p - msg));
	st->gs2[p - msg] = '\0';
	bare = p;
	if (strncmp(p, "m=", 2) == 0)
		return (*reason_r = "mandatory extension not supported", SASL_MALFORMED);
	if (strncmp(p, "n=", 2) != 0)
		return (*reason_r = "no user name", SASL_MALFORMED);
	n = scram_attr_len(p + 2);
	if (scram_saslname(p + 2, n, user, sizeof(user)) < 0)
		return (*reason_r = "bad user name", SASL_MALFORMED);
	p += 2 + n;
	if (strncmp(p, ",r=", 3) != 0)
		return (*reason_r = "no nonce", SASL_MALFORMED);
	n = scram_attr_len(p + 3);
	if (n > SCRAM_MAX_NONCE || !scram_printable(p + 3, n))
		return (*reason_r = "bad nonce", SASL_MALFORMED);
	memcpy(st->nonce, p + 3, n);
	st->nonce[n] = '\0';
	strcpy(st->first_bare, bare);
	if (sasl_exchange_set_user(ex, user, strlen(user)) < 0)
		return (*reason_r = "not a valid user id", SASL_DENIED);
	if (authzid[0] != '\0' && strcasecmp(authzid, sasl_exchange_user(ex)) != 0)
		return (*reason_r = "authorization identity differs from the authentication "
			"identity", SASL_DENIED);
	return SASL_CONTINUE;
}

/* ---- the steps ---- */

static enum sasl_result scram_server_first(struct sasl_exchange *ex, struct sasl_scram *st,
					   struct strbuf *out, const char **reason_r)
{
	const struct vimap_auth_ops *ops = ex->backend.ops;
	unsigned char rnd[18];
	struct strbuf sb = STRBUF_INIT;
	const char *reason = NULL;

	switch (ops->scram_secret(ex->backend.state, sasl_exchange_user(ex), &st->secret,
				  &reason)) {
	case VIMAP_AUTH_OK:
		if (st->secret.iterations > 0 && st->secret.salt_len > 0 &&
		    st->secret.salt_len <= VIMAP_SCRAM_SALT_MAX)
			break;
		*reason_r = "the plugin gave a malformed SCRAM secret";
		return SASL_FAILED;
	case VIMAP_AUTH_DENIED:
		st->fake = 1;
		snprintf(st->fake_reason, sizeof(st->fake_reason), "%s",
			 reason != NULL ? reason : "no such user, or no SCRAM secret");
		scram_fake_secret(sasl_exchange_user(ex), &st->secret);
		break;
	default:
		*reason_r = reason != NULL ? reason : "the SCRAM secret could not be read";
		return SASL_FAILED;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return (*reason_r = "RAND_bytes failed", SASL_FAILED);
	sasl_base64_encode(rnd, sizeof(rnd), &sb);
	/* base64 has no ',' and is printable: a valid nonce. */
	strcat(st->nonce, sb.data);
	strbuf_reset(&sb);
	strbuf_appendf(&sb, "r=%s,s=", st->nonce);
	sasl_base64_encode(st->secret.salt, st->secret.salt_len, &sb);
	strbuf_appendf(&sb, ",i=%u", (unsigned)st->secret.iterations);
	snprintf(st->server_first, sizeof(st->server_first), "%s", sb.data);
	strbuf_append(out, sb.data, sb.len);
	strbuf_free(&sb);
	st->state = 1;
	return SASL_CONTINUE;
}

/* Checks c= and r= of client-final-message-without-proof. */
static int scram_check_final(const struct sasl_scram *st, const char *msg, size_t len)
{
	struct strbuf cb = STRBUF_INIT;
	size_t n = 0, nlen = strlen(st->nonce);
	int ok;

	sasl_base64_encode(st->gs2, strlen(st->gs2), &cb);
	ok = len > 2 && strncmp(msg, "c=", 2) == 0 && (n = scram_attr_len(msg + 2)) == cb.len &&
	     memcmp(msg + 2, cb.data, cb.len) == 0 &&
	     len >= 2 + n + 3 + nlen && strncmp(msg + 2 + n, ",r=", 3) == 0 &&
	     memcmp(msg + 2 + n + 3, st->nonce, nlen) == 0 &&
	     (len == 2 + n + 3 + nlen || msg[2 + n + 3 + nlen] == ',');
	strbuf_free(&cb);
	return ok;
}

static enum sasl_result scram_client_final(struct sasl_exchange *ex, struct sasl_scram *st,
					   const char *msg, size_t len, struct strbuf *out,
					   const char **reason_r)
{
	unsigned char sig[32], key[32], hash[32];
	unsigned siglen = sizeof(sig);
	struct strbuf am = STRBUF_INIT, proof = STRBUF_INIT;
	const char *p = strlen(msg) == len ? strstr(msg, ",p=") : NULL;
	enum sasl_result r;
	size_t i, wlen;

	/* The proof is the last attribute and base64 has no ','. */
	while (p != NULL && strstr(p + 1, ",p=") != NULL)
		p = strstr(p + 1, ",p=");
	if (p == NULL || !scram_check_final(st, msg, wlen = (size_t)(p - msg)) ||
	    sasl_base64_decode(p + 3, strlen(p + 3), &proof) < 0 || proof.len != 32) {
		strbuf_free(&proof);
		*reason_r = "malformed client-final message";
		return SASL_MALFORMED;
	}
	if (sasl_exchange_gate(ex, sasl_exchange_user(ex), reason_r) < 0) {
		strbuf_free(&proof);
		return SASL_FAILED;
	}
	strbuf_appendf(&am, "%s,%s,", st->first_bare, st->server_first);
	strbuf_append(&am, msg, wlen);
	HMAC(EVP_sha256(), st->secret.stored_key, 32, (unsigned char *)am.data, am.len,
	     sig, &siglen);
	for (i = 0; i < 32; i++)
		key[i] = (unsigned char)proof.data[i] ^ sig[i];
	SHA256(key, sizeof(key), hash);
	if (CRYPTO_memcmp(hash, st->secret.stored_key, 32) != 0 || st->fake) {
		*reason_r = st->fake ? st->fake_reason : "wrong password";
		r = SASL_DENIED;
	} else {
		HMAC(EVP_sha256(), st->secret.server_key, 32, (unsigned char *)am.data, am.len,
		     sig, &siglen);
		strbuf_appends(out, "v=");
		sasl_base64_encode(sig, sizeof(sig), out);
		r = SASL_OK;
	}
	OPENSSL_cleanse(key, sizeof(key));
	strbuf_free(&am);
	strbuf_free(&proof);
	return r;
}

static enum sasl_result sasl_scram_step(struct sasl_exchange *ex, void *mstate,
					const unsigned char *in, size_t in_len,
					struct strbuf *out, const char **reason_r)
{
	struct sasl_scram *st = mstate;
	enum sasl_result r;

	if (in == NULL && !st->asked) {
		st->asked = 1;
		return SASL_CONTINUE;
	}
	if (in == NULL)
		return (*reason_r = "no response", SASL_MALFORMED);
	if (st->state == 0) {
		r = scram_read_first(ex, st, (const char *)in, in_len, reason_r);
		if (r != SASL_CONTINUE)
			return r;
		return scram_server_first(ex, st, out, reason_r);
	}
	return scram_client_final(ex, st, (const char *)in, in_len, out, reason_r);
}

const struct sasl_mech sasl_mech_scram_sha_256 = {
	.name = "SCRAM-SHA-256",
	.needs = SASL_NEEDS_SCRAM,
	.state_size = sizeof(struct sasl_scram),
	.step = sasl_scram_step,
};
