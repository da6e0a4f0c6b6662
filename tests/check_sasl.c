/* SASL (kernel/sasl*.c): the strict base64, the mechanism list, PLAIN,
 * LOGIN, SCRAM-SHA-256 (a client written here with OpenSSL) and a plugin's
 * own mechanism, all against a mock auth plugin. */
#include "autoconfig.h"
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sasl-private.h"
#include "strbuf.h"

/* ---- a mock plugin: alice/secret; bob has no SCRAM secret ---- */

static const unsigned char mock_salt[] = "NaCl-0123456789";
static int mock_ends;            /* sasl_end calls */
static int gate_refuses;         /* the gate says no */
static const char *gate_last_user;

static enum vimap_auth_result mock_verify(void *state, const char *user, const char *password,
					  const char **reason_r)
{
	(void)state;
	if ((strcmp(user, "alice") == 0 || strcmp(user, "bob") == 0) &&
	    strcmp(password, "secret") == 0)
		return VIMAP_AUTH_OK;
	*reason_r = "mock: denied";
	return VIMAP_AUTH_DENIED;
}

/* The secret of "secret" with mock_salt, computed as RFC 5802 says. */
static void scram_keys(const char *password, const unsigned char *salt, size_t salt_len,
		       unsigned iter, unsigned char salted[32], unsigned char stored[32],
		       unsigned char server[32], unsigned char client[32])
{
	unsigned len = 32;

	PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, (int)iter,
			  EVP_sha256(), 32, salted);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, client, &len);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Server Key", 10, server, &len);
	SHA256(client, 32, stored);
}

static enum vimap_auth_result mock_scram(void *state, const char *user,
					 struct vimap_scram_secret *secret, const char **reason_r)
{
	unsigned char salted[32], client[32];

	(void)state;
	if (strcmp(user, "alice") != 0) {
		*reason_r = "mock: no secret";
		return VIMAP_AUTH_DENIED;
	}
	secret->iterations = 4096;
	secret->salt_len = sizeof(mock_salt) - 1;
	memcpy(secret->salt, mock_salt, secret->salt_len);
	scram_keys("secret", mock_salt, secret->salt_len, 4096, salted, secret->stored_key,
		   secret->server_key, client);
	return VIMAP_AUTH_OK;
}

/* A plugin mechanism "X-TWO": challenge "who?", then the answer names the
   user ("ok:NAME") or fails ("bad"). */
static const char *const mock_mechs[] = { "X-TWO", "PLAIN", NULL };

static int mock_start(void *state, const char *mech, const char *peer, void **exch_r,
		      const char **error_r)
{
	(void)state;
	(void)error_r;
	ck_assert_str_eq(mech, "X-TWO");
	ck_assert_str_eq(peer, "192.0.2.7");
	*exch_r = calloc(1, 80);
	return 0;
}

static enum vimap_sasl_result mock_step(void *exch, const unsigned char *in, size_t in_len,
					const unsigned char **out_r, size_t *out_len_r,
					const char **user_r, const char **reason_r)
{
	char *st = exch;

	if (in == NULL || st[0] == '\0' || in_len == 0) {
		st[0] = 1;
		*out_r = (const unsigned char *)"who?";
		*out_len_r = 4;
		return VIMAP_SASL_CONTINUE;
	}
	if (in_len > 3 && memcmp(in, "ok:", 3) == 0 && in_len < 70) {
		memcpy(st + 1, in + 3, in_len - 3);
		*user_r = st + 1;
		return VIMAP_SASL_OK;
	}
	*reason_r = "mock: bad answer";
	return VIMAP_SASL_DENIED;
}

static void mock_end(void *exch)
{
	mock_ends++;
	free(exch);
}

static const struct vimap_auth_ops ops_verify = {
	.size = sizeof(struct vimap_auth_ops), .verify = mock_verify,
};
static const struct vimap_auth_ops ops_all = {
	.size = sizeof(struct vimap_auth_ops), .verify = mock_verify, .scram_secret = mock_scram,
};
static const struct vimap_auth_ops ops_plugin = {
	.size = sizeof(struct vimap_auth_ops), .verify = mock_verify, .scram_secret = mock_scram,
	.mechanisms = mock_mechs, .sasl_start = mock_start, .sasl_step = mock_step,
	.sasl_end = mock_end,
};
/* An ABI 1.0 plugin: the table ends at verify. */
static const struct vimap_auth_ops ops_old = {
	.size = offsetof(struct vimap_auth_ops, verify) + sizeof(void *), .verify = mock_verify,
	.mechanisms = mock_mechs, .scram_secret = mock_scram,
};

static int mock_gate(void *ctx, const char *peer, const char *user, const char **reason_r)
{
	(void)ctx;
	(void)peer;
	gate_last_user = user;
	if (gate_refuses) {
		*reason_r = "gate: wait";
		return -1;
	}
	return 0;
}

static struct sasl_exchange *start(const struct vimap_auth_ops *ops, const char *mech)
{
	struct sasl_backend b = { ops, NULL, mock_gate, NULL };

	gate_refuses = 0;
	gate_last_user = NULL;
	return sasl_exchange_create(&b, mech, "192.0.2.7");
}

/* One step with a C string (NULL: none); the result, `out` filled. */
static enum sasl_result step(struct sasl_exchange *ex, const void *in, size_t len,
			     struct strbuf *out)
{
	struct strbuf copy = STRBUF_INIT;
	const char *reason;
	enum sasl_result r;

	strbuf_reset(out);
	if (in != NULL)
		strbuf_append(&copy, in, len);
	r = sasl_exchange_step(ex, in != NULL ? (const unsigned char *)(copy.data != NULL ?
									copy.data : "") : NULL,
			       len, out, &reason);
	ck_assert_ptr_nonnull(reason);
	strbuf_free(&copy);
	return r;
}

/* ---- base64 ---- */

struct b64_case {
	const char *in;
	const char *out;     /* NULL: refused */
	size_t out_len;
};

static const struct b64_case b64_cases[] = {
	{ "", "", 0 },                         /* empty decodes to nothing */
	{ "QQ==", "A", 1 },                    /* two pad chars */
	{ "QUI=", "AB", 2 },                   /* one pad char */
	{ "QUJD", "ABC", 3 },                  /* no padding */
	{ "AGFsaWNlAHNlY3JldA==", "\0alice\0secret", 13 }, /* NULs survive */
	{ "+/+/", "\xfb\xff\xbf", 3 },         /* the last two letters */
	{ "QQ", NULL, 0 },                     /* missing padding */
	{ "QQ=", NULL, 0 },                    /* length not a multiple of 4 */
	{ "Q===", NULL, 0 },                   /* three pad chars */
	{ "QR==", NULL, 0 },                   /* non-zero pad bits */
	{ "QUJ=", NULL, 0 },                   /* non-zero pad bits, one pad */
	{ "QQ==QUJD", NULL, 0 },               /* padding in the middle */
	{ "QU I", NULL, 0 },                   /* white space */
	{ "QUJD\n", NULL, 0 },                 /* a line end */
	{ "QU-_", NULL, 0 },                   /* base64url is not base64 */
	{ "=QUJ", NULL, 0 },                   /* leading pad */
	{ "*", NULL, 0 },                      /* the cancel is not base64 */
};

START_TEST(test_base64_decode)
{
	const struct b64_case *tc = &b64_cases[_i];
	struct strbuf out = STRBUF_INIT;
	int r = sasl_base64_decode(tc->in, strlen(tc->in), &out);

	if (tc->out == NULL) {
		ck_assert_msg(r == -1, "'%s' accepted", tc->in);
	} else {
		ck_assert_msg(r == 0, "'%s' refused", tc->in);
		ck_assert_uint_eq(out.len, tc->out_len);
		ck_assert(tc->out_len == 0 || memcmp(out.data, tc->out, tc->out_len) == 0);
	}
	strbuf_free(&out);
}
END_TEST

START_TEST(test_base64_round_trip)
{
	unsigned char data[300];
	struct strbuf enc = STRBUF_INIT, dec = STRBUF_INIT;
	size_t len, i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + 11);
	for (len = 0; len <= sizeof(data); len += 1 + len / 7) {
		strbuf_reset(&enc);
		strbuf_reset(&dec);
		sasl_base64_encode(data, len, &enc);
		ck_assert_uint_eq(enc.len, (len + 2) / 3 * 4);
		ck_assert_int_eq(sasl_base64_decode(enc.data != NULL ? enc.data : "", enc.len,
						    &dec), 0);
		ck_assert_uint_eq(dec.len, len);
		ck_assert(len == 0 || memcmp(dec.data, data, len) == 0);
	}
	strbuf_free(&enc);
	strbuf_free(&dec);
}
END_TEST

/* ---- the mechanism list ---- */

struct list_case {
	const struct vimap_auth_ops *ops;
	const char *expect;
};

static const struct list_case list_cases[] = {
	{ &ops_verify, "PLAIN LOGIN" },                 /* verify only */
	{ &ops_all, "SCRAM-SHA-256 PLAIN LOGIN" },      /* verify and SCRAM secrets */
	{ &ops_plugin, "X-TWO PLAIN SCRAM-SHA-256 LOGIN" }, /* the plugin's PLAIN wins */
	{ &ops_old, "PLAIN LOGIN" },                    /* ABI 1.0: new members unread */
};

START_TEST(test_mechanism_list)
{
	const struct list_case *tc = &list_cases[_i];
	const char *names[16];
	char got[256] = "";
	size_t n = sasl_mechanisms(tc->ops, names, 16), i;

	for (i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i > 0 ? " " : "",
			 names[i]);
	ck_assert_str_eq(got, tc->expect);
	ck_assert_int_eq(sasl_mech_offered(tc->ops, "plain"), 1);
	ck_assert_int_eq(sasl_mech_offered(tc->ops, "X-NONE"), 0);
	ck_assert_int_eq(sasl_mech_plaintext("login"), 1);
	ck_assert_int_eq(sasl_mech_plaintext("SCRAM-SHA-256"), 0);
}
END_TEST

/* ---- PLAIN and LOGIN ---- */

struct plain_case {
	const char *msg;
	size_t len;
	enum sasl_result expect;
	const char *user;       /* sasl_exchange_user() after, or NULL */
};

static const struct plain_case plain_cases[] = {
	{ "\0alice\0secret", 13, SASL_OK, "alice" },          /* right */
	{ "alice\0ALICE\0secret", 18, SASL_OK, "alice" },     /* authzid = authcid, any case */
	{ "\0alice\0wrong", 12, SASL_DENIED, "alice" },       /* wrong password */
	{ "bob\0alice\0secret", 16, SASL_DENIED, "alice" },   /* someone else's authzid */
	{ "\0a/b\0secret", 11, SASL_DENIED, NULL },           /* not a user id */
	{ "\0alice", 6, SASL_MALFORMED, NULL },               /* one NUL */
	{ "alice secret", 12, SASL_MALFORMED, NULL },         /* no NUL */
	{ "\0alice\0sec\0ret", 14, SASL_MALFORMED, NULL },    /* three NULs */
	{ "", 0, SASL_MALFORMED, NULL },                      /* empty */
};

START_TEST(test_plain)
{
	const struct plain_case *tc = &plain_cases[_i];
	struct sasl_exchange *ex = start(&ops_verify, "PLAIN");
	struct strbuf out = STRBUF_INIT;

	ck_assert_ptr_nonnull(ex);
	ck_assert_int_eq(step(ex, tc->msg, tc->len, &out), tc->expect);
	if (tc->user != NULL)
		ck_assert_str_eq(sasl_exchange_user(ex), tc->user);
	else
		ck_assert_ptr_null(sasl_exchange_user(ex));
	/* Over: another step is refused. */
	ck_assert_int_eq(step(ex, "x", 1, &out), SASL_MALFORMED);
	sasl_exchange_destroy(&ex);
	ck_assert_ptr_null(ex);
	strbuf_free(&out);
}
END_TEST

START_TEST(test_plain_without_initial_response)
{
	struct sasl_exchange *ex = start(&ops_verify, "plain");
	struct strbuf out = STRBUF_INIT;

	ck_assert_int_eq(step(ex, NULL, 0, &out), SASL_CONTINUE);
	ck_assert_uint_eq(out.len, 0);                 /* an empty challenge */
	ck_assert_int_eq(step(ex, "\0alice\0secret", 13, &out), SASL_OK);
	ck_assert_str_eq(sasl_exchange_mech(ex), "PLAIN");
	ck_assert_int_eq(sasl_exchange_succeeded(ex), 1);
	ck_assert_str_eq(gate_last_user, "alice");     /* the gate saw the user */
	sasl_exchange_destroy(&ex);
	strbuf_free(&out);
}
END_TEST

START_TEST(test_gate_refuses)
{
	struct sasl_exchange *ex = start(&ops_verify, "PLAIN");
	struct strbuf out = STRBUF_INIT;

	gate_refuses = 1;
	ck_assert_int_eq(step(ex, "\0alice\0secret", 13, &out), SASL_FAILED);
	sasl_exchange_destroy(&ex);
	strbuf_free(&out);
}
END_TEST

START_TEST(test_login)
{
	struct sasl_exchange *ex = start(&ops_verify, "LOGIN");
	struct strbuf out = STRBUF_INIT;

	ck_assert_int_eq(step(ex, NULL, 0, &out), SASL_CONTINUE);
	ck_assert_str_eq(out.data, "Username:");
	ck_assert_int_eq(step(ex, "Alice", 5, &out), SASL_CONTINUE);
	ck_assert_str_eq(out.data, "Password:");
	ck_assert_int_eq(step(ex, "secret", 6, &out), SASL_OK);
	ck_assert_str_eq(sasl_exchange_user(ex), "alice");
	sasl_exchange_destroy(&ex);
	/* SASL-IR: the user name first; a wrong password. */
	ex = start(&ops_verify, "LOGIN");
	ck_assert_int_eq(step(ex, "alice", 5, &out), SASL_CONTINUE);
	ck_assert_str_eq(out.data, "Password:");
	ck_assert_int_eq(step(ex, "nope", 4, &out), SASL_DENIED);
	sasl_exchange_destroy(&ex);
	/* A NUL in the password is malformed. */
	ex = start(&ops_verify, "LOGIN");
	ck_assert_int_eq(step(ex, "alice", 5, &out), SASL_CONTINUE);
	ck_assert_int_eq(step(ex, "sec\0ret", 7, &out), SASL_MALFORMED);
	sasl_exchange_destroy(&ex);
	strbuf_free(&out);
}
END_TEST

/* ---- SCRAM-SHA-256 ---- */

/* The client-final message for `server_first`, and the ServerSignature
   the server must send; the password and gs2 header given. */
static void scram_client_final(const char *first_bare, const char *server_first,
			       const char *gs2, const char *password, struct strbuf *final,
			       unsigned char server_sig[32])
{
	unsigned char salted[32], stored[32], server[32], client[32], sig[32], proof[32];
	struct strbuf salt = STRBUF_INIT, am = STRBUF_INIT, nonce = STRBUF_INIT;
	const char *s = strstr(server_first, ",s="), *i = strstr(server_first, ",i=");
	unsigned len = 32, k;

	ck_assert(s != NULL && i != NULL && strncmp(server_first, "r=", 2) == 0);
	strbuf_append(&nonce, server_first + 2, (size_t)(s - server_first - 2));
	ck_assert_int_eq(sasl_base64_decode(s + 3, (size_t)(i - s - 3), &salt), 0);
	scram_keys(password, (unsigned char *)salt.data, salt.len, (unsigned)atoi(i + 3), salted,
		   stored, server, client);
	strbuf_reset(final);
	strbuf_appends(final, "c=");
	sasl_base64_encode(gs2, strlen(gs2), final);
	strbuf_appendf(final, ",r=%s", nonce.data);
	strbuf_appendf(&am, "%s,%s,%s", first_bare, server_first, final->data);
	HMAC(EVP_sha256(), stored, 32, (unsigned char *)am.data, am.len, sig, &len);
	for (k = 0; k < 32; k++)
		proof[k] = client[k] ^ sig[k];
	HMAC(EVP_sha256(), server, 32, (unsigned char *)am.data, am.len, server_sig, &len);
	strbuf_appends(final, ",p=");
	sasl_base64_encode(proof, 32, final);
	strbuf_free(&salt);
	strbuf_free(&am);
	strbuf_free(&nonce);
}

struct scram_case {
	const char *user;
	const char *password;
	const char *gs2;
	enum sasl_result expect;
};

static const struct scram_case scram_cases[] = {
	{ "alice", "secret", "n,,", SASL_OK },          /* right */
	{ "alice", "secret", "y,,", SASL_OK },          /* client could bind, server cannot */
	{ "alice", "secret", "n,a=alice,", SASL_OK },   /* authzid = the user */
	{ "alice", "wrong", "n,,", SASL_DENIED },       /* wrong password */
	{ "bob", "secret", "n,,", SASL_DENIED },        /* no SCRAM secret: made-up salt */
	{ "carol", "secret", "n,,", SASL_DENIED },      /* unknown user */
	{ "alice", "secret", "n,a=bob,", SASL_DENIED }, /* someone else's authzid */
};

START_TEST(test_scram)
{
	const struct scram_case *tc = &scram_cases[_i];
	struct sasl_exchange *ex = start(&ops_all, "SCRAM-SHA-256");
	struct strbuf out = STRBUF_INIT, first = STRBUF_INIT, bare = STRBUF_INIT;
	struct strbuf final = STRBUF_INIT, expect_v = STRBUF_INIT;
	unsigned char server_sig[32];
	enum sasl_result r;

	strbuf_appendf(&bare, "n=%s,r=fyko+d2lbbFgONRv9qkxdawL", tc->user);
	strbuf_appendf(&first, "%s%s", tc->gs2, bare.data);
	r = step(ex, first.data, first.len, &out);
	if (strstr(tc->gs2, "a=bob") != NULL) {
		ck_assert_int_eq(r, tc->expect);
		goto done;
	}
	ck_assert_int_eq(r, SASL_CONTINUE);
	ck_assert_msg(strncmp(out.data, "r=fyko+d2lbbFgONRv9qkxdawL", 26) == 0, "%s", out.data);
	ck_assert(strstr(out.data, ",i=4096") != NULL);
	scram_client_final(bare.data, out.data, tc->gs2, tc->password, &final, server_sig);
	ck_assert_int_eq(step(ex, final.data, final.len, &out), tc->expect);
	ck_assert_str_eq(gate_last_user, tc->user);
	if (tc->expect == SASL_OK) {
		strbuf_appends(&expect_v, "v=");
		sasl_base64_encode(server_sig, 32, &expect_v);
		ck_assert_str_eq(out.data, expect_v.data);
	}
done:
	sasl_exchange_destroy(&ex);
	strbuf_free(&out);
	strbuf_free(&first);
	strbuf_free(&bare);
	strbuf_free(&final);
	strbuf_free(&expect_v);
}
END_TEST

/* Client-first messages the server must call malformed. */
static const char *const scram_bad_first[] = {
	"p=tls-server-end-point,,n=alice,r=abc",   /* channel binding asked */
	"x,,n=alice,r=abc",                         /* unknown cbind flag */
	"n,n=alice,r=abc",                          /* gs2 header cut short */
	"n,,m=ext,n=alice,r=abc",                   /* mandatory extension */
	"n,,r=abc,n=alice",                         /* attributes out of order */
	"n,,n=alice",                               /* no nonce */
	"n,,n=alice,r=",                            /* empty nonce */
	"n,,n=al=2Xce,r=abc",                       /* bad escape */
	"n,,n=alice,r=a\x7f" "b",                   /* nonce not printable */
	"n,a=,n=alice,r=abc",                       /* empty authzid */
	"",                                         /* nothing */
};

START_TEST(test_scram_bad_first)
{
	const char *msg = scram_bad_first[_i];
	struct sasl_exchange *ex = start(&ops_all, "SCRAM-SHA-256");
	struct strbuf out = STRBUF_INIT;

	ck_assert_int_eq(step(ex, msg, strlen(msg), &out), SASL_MALFORMED);
	sasl_exchange_destroy(&ex);
	strbuf_free(&out);
}
END_TEST

/* Client-final messages: each a change to a good one. */
struct final_case {
	const char *from;     /* replaced in the good message ... */
	const char *to;       /* ... by this (from NULL: `to` is the message) */
	enum sasl_result expect;
};

static const struct final_case final_cases[] = {
	{ "c=biws", "c=eSws", SASL_MALFORMED },    /* gs2 header differs */
	{ ",r=", ",r=X", SASL_MALFORMED },         /* nonce differs */
	{ ",p=", ",x=1,p=", SASL_DENIED },         /* an extension: well formed, but the
						      proof was made without it */
	{ NULL, "c=biws", SASL_MALFORMED },        /* no nonce, no proof */
	{ ",p=", ",p=AAAA", SASL_MALFORMED },      /* proof too short */
};

START_TEST(test_scram_bad_final)
{
	const struct final_case *tc = &final_cases[_i];
	struct sasl_exchange *ex = start(&ops_all, "SCRAM-SHA-256");
	struct strbuf out = STRBUF_INIT, final = STRBUF_INIT, bad = STRBUF_INIT;
	const char *bare = "n=alice,r=nonce1";
	unsigned char sig[32];
	char first[64];
	const char *at;

	snprintf(first, sizeof(first), "n,,%s", bare);
	ck_assert_int_eq(step(ex, first, strlen(first), &out), SASL_CONTINUE);
	scram_client_final(bare, out.data, "n,,", "secret", &final, sig);
	if (tc->from == NULL) {
		strbuf_appends(&bad, tc->to);
	} else {
		at = strstr(final.data, tc->from);
		ck_assert_ptr_nonnull(at);
		strbuf_append(&bad, final.data, (size_t)(at - final.data));
		strbuf_appends(&bad, tc->to);
		strbuf_appends(&bad, at + strlen(tc->from));
	}
	ck_assert_int_eq(step(ex, bad.data, bad.len, &out), tc->expect);
	sasl_exchange_destroy(&ex);
	strbuf_free(&out);
	strbuf_free(&final);
	strbuf_free(&bad);
}
END_TEST

/* ---- a plugin's mechanism ---- */

START_TEST(test_plugin_mechanism)
{
	struct sasl_exchange *ex = start(&ops_plugin, "x-two");
	struct strbuf out = STRBUF_INIT;
	int ends = mock_ends;

	ck_assert_str_eq(sasl_exchange_mech(ex), "X-TWO");
	ck_assert_int_eq(step(ex, NULL, 0, &out), SASL_CONTINUE);
	ck_assert_str_eq(out.data, "who?");
	ck_assert_ptr_null(gate_last_user);   /* gated by address only */
	ck_assert_int_eq(step(ex, "ok:Carol", 8, &out), SASL_OK);
	ck_assert_str_eq(sasl_exchange_user(ex), "carol");
	sasl_exchange_destroy(&ex);
	ck_assert_int_eq(mock_ends, ends + 1);
	/* Denied; then an exchange never started ends without sasl_end. */
	ex = start(&ops_plugin, "X-TWO");
	ck_assert_int_eq(step(ex, "anything", 8, &out), SASL_CONTINUE);
	ck_assert_int_eq(step(ex, "bad", 3, &out), SASL_DENIED);
	sasl_exchange_destroy(&ex);
	ex = start(&ops_plugin, "X-TWO");
	sasl_exchange_destroy(&ex);
	ck_assert_int_eq(mock_ends, ends + 2);
	/* The plugin's PLAIN, not the kernel's. */
	ex = start(&ops_plugin, "PLAIN");
	ck_assert_ptr_null(ex->mech);
	sasl_exchange_destroy(&ex);
	strbuf_free(&out);
}
END_TEST

START_TEST(test_step_limit)
{
	struct sasl_exchange *ex = start(&ops_plugin, "X-TWO");
	struct strbuf out = STRBUF_INIT;
	enum sasl_result r = SASL_CONTINUE;
	int n = 0;

	/* "who?" forever: the exchange is cut off. */
	while (r == SASL_CONTINUE && n++ < 100)
		r = step(ex, n == 1 ? NULL : "", 0, &out);
	ck_assert_int_eq(r, SASL_MALFORMED);
	ck_assert_int_lt(n, 100);
	sasl_exchange_destroy(&ex);
	strbuf_free(&out);
}
END_TEST

/* ---- the PLAIN splitter the fuzz target shares ---- */

START_TEST(test_plain_split)
{
	const char *z, *c, *p;

	ck_assert_int_eq(sasl_plain_split("a\0b\0c", 5, &z, &c, &p), 0);
	ck_assert_str_eq(z, "a");
	ck_assert_str_eq(c, "b");
	ck_assert_str_eq(p, "c");
	ck_assert_int_eq(sasl_plain_split("\0\0", 2, &z, &c, &p), 0);   /* all empty */
	ck_assert_str_eq(p, "");
	ck_assert_int_eq(sasl_plain_split("a\0b", 3, &z, &c, &p), -1);
	ck_assert_int_eq(sasl_plain_split("a\0b\0c\0", 6, &z, &c, &p), -1);
}
END_TEST

static Suite *sasl_suite(void)
{
	Suite *s = suite_create("sasl");
	TCase *tc = tcase_create("sasl");

	tcase_add_loop_test(tc, test_base64_decode, 0, sizeof(b64_cases) / sizeof(b64_cases[0]));
	tcase_add_test(tc, test_base64_round_trip);
	tcase_add_loop_test(tc, test_mechanism_list, 0,
			    sizeof(list_cases) / sizeof(list_cases[0]));
	tcase_add_loop_test(tc, test_plain, 0, sizeof(plain_cases) / sizeof(plain_cases[0]));
	tcase_add_test(tc, test_plain_without_initial_response);
	tcase_add_test(tc, test_gate_refuses);
	tcase_add_test(tc, test_login);
	tcase_add_loop_test(tc, test_scram, 0, sizeof(scram_cases) / sizeof(scram_cases[0]));
	tcase_add_loop_test(tc, test_scram_bad_first, 0,
			    sizeof(scram_bad_first) / sizeof(scram_bad_first[0]));
	tcase_add_loop_test(tc, test_scram_bad_final, 0,
			    sizeof(final_cases) / sizeof(final_cases[0]));
	tcase_add_test(tc, test_plugin_mechanism);
	tcase_add_test(tc, test_step_limit);
	tcase_add_test(tc, test_plain_split);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sasl_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
