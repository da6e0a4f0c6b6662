/* libFuzzer target for the SASL decoders: strict base64 (a decode that
 * succeeds must encode back to the same text), the PLAIN splitter, and
 * whole PLAIN, LOGIN and SCRAM-SHA-256 exchanges whose responses come from
 * the input, against a mock plugin.  Build: make fuzz-sasl.
 *
 * Input: the first byte picks the target; the rest is the responses,
 * separated by '\n'.  In a response, "@N" stands for the nonce of the
 * server's last challenge ("r=..."), which is random: so the fuzzer gets
 * past SCRAM's nonce check to the proof. */
#include "autoconfig.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "sasl-private.h"
#include "server.h"
#include "strbuf.h"
#include "workers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* sasl.c's links to the rest of the kernel, stubbed. */
struct server server;

int workers_submit(struct workers *pool, workers_job_cb *cb, void *arg)
{
	(void)pool;
	(void)cb;
	(void)arg;
	return -1;
}

void log_msg(enum vimap_log_level level, const char *subsystem, const char *fmt, ...)
{
	(void)level;
	(void)subsystem;
	(void)fmt;
}

static struct vimap_scram_secret fuzz_secret;

static enum vimap_auth_result fuzz_verify(void *state, const char *user, const char *password,
					  const char **reason_r)
{
	(void)state;
	if (strcmp(user, "alice") == 0 && strcmp(password, "secret") == 0)
		return VIMAP_AUTH_OK;
	*reason_r = "denied";
	return VIMAP_AUTH_DENIED;
}

static enum vimap_auth_result fuzz_scram(void *state, const char *user,
					 struct vimap_scram_secret *secret, const char **reason_r)
{
	(void)state;
	if (strcmp(user, "alice") != 0) {
		*reason_r = "no secret";
		return VIMAP_AUTH_DENIED;
	}
	*secret = fuzz_secret;
	return VIMAP_AUTH_OK;
}

static const struct vimap_auth_ops fuzz_ops = {
	.size = sizeof(struct vimap_auth_ops), .verify = fuzz_verify,
	.scram_secret = fuzz_scram,
};

/* The secret of "secret", made once: PBKDF2 per input would be slow. */
static void fuzz_init_secret(void)
{
	static int done;
	unsigned char salted[32], client[32];
	unsigned len = 32;

	if (done)
		return;
	done = 1;
	fuzz_secret.iterations = 4096;
	fuzz_secret.salt_len = 8;
	memcpy(fuzz_secret.salt, "saltsalt", 8);
	PKCS5_PBKDF2_HMAC("secret", 6, fuzz_secret.salt, 8, 4096, EVP_sha256(), 32, salted);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, client, &len);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Server Key", 10,
	     fuzz_secret.server_key, &len);
	SHA256(client, 32, fuzz_secret.stored_key);
}

static void fuzz_base64(const uint8_t *data, size_t size)
{
	struct strbuf dec = STRBUF_INIT, enc = STRBUF_INIT;
	const char *z, *c, *p;

	if (sasl_base64_decode((const char *)data, size, &dec) == 0) {
		sasl_base64_encode(dec.data != NULL ? dec.data : "", dec.len, &enc);
		if (enc.len != size || (size > 0 && memcmp(enc.data, data, size) != 0))
			abort();
		if (dec.data != NULL)
			(void)sasl_plain_split(dec.data, dec.len, &z, &c, &p);
	}
	strbuf_free(&dec);
	strbuf_free(&enc);
}

/* Appends `part` to `in` with "@N" replaced by the nonce in `challenge`. */
static void fuzz_substitute(const uint8_t *part, size_t len, const struct strbuf *challenge,
			    struct strbuf *in)
{
	const char *r = challenge->data != NULL ? strstr(challenge->data, "r=") : NULL;
	size_t rlen = r != NULL ? strcspn(r + 2, ",") : 0, i;

	for (i = 0; i < len; i++) {
		if (part[i] == '@' && i + 1 < len && part[i + 1] == 'N' && r != NULL) {
			strbuf_append(in, r + 2, rlen);
			i++;
		} else {
			strbuf_appendc(in, (char)part[i]);
		}
	}
}

/* Runs one exchange; each '\n'-separated part of the input is a response
   (the first part may be absent: no initial response). */
static void fuzz_exchange(const char *mech, const uint8_t *data, size_t size)
{
	struct sasl_backend b = { &fuzz_ops, NULL, NULL, NULL };
	struct sasl_exchange *ex = sasl_exchange_create(&b, mech, "192.0.2.1");
	struct strbuf out = STRBUF_INIT, in = STRBUF_INIT;
	enum sasl_result r = SASL_CONTINUE;
	const char *reason;
	size_t pos = 0;

	if (ex == NULL)
		abort();
	if (size > 0 && data[0] == '!') {
		r = sasl_exchange_step(ex, NULL, 0, &out, &reason);
		pos = 1;
	}
	while (r == SASL_CONTINUE && pos <= size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl != NULL ? (size_t)(nl - (data + pos)) : size - pos;

		strbuf_reset(&in);
		fuzz_substitute(data + pos, len, &out, &in);
		strbuf_reset(&out);
		r = sasl_exchange_step(ex, (const unsigned char *)(in.data != NULL ? in.data : ""),
				       in.len, &out, &reason);
		if (reason == NULL)
			abort();
		pos += len + 1;
	}
	if (r == SASL_OK && sasl_exchange_user(ex) == NULL)
		abort();
	sasl_exchange_destroy(&ex);
	strbuf_free(&out);
	strbuf_free(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const mechs[] = { "PLAIN", "LOGIN", "SCRAM-SHA-256" };

	if (size == 0)
		return 0;
	fuzz_init_secret();
	if (data[0] % 4 == 0)
		fuzz_base64(data + 1, size - 1);
	else
		fuzz_exchange(mechs[data[0] % 4 - 1], data + 1, size - 1);
	return 0;
}
