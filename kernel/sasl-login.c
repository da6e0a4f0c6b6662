/* SASL LOGIN (draft-murchison-sasl-login): the server asks "Username:",
 * then "Password:"; with SASL-IR the initial response is the user name. */
#include "autoconfig.h"
#include <openssl/crypto.h>
#include <string.h>
#include "sasl-private.h"

#define SASL_LOGIN_MAX_PASSWORD 1024

struct sasl_login {
	int state;      /* 0: nothing yet, 1: asked for the name, 2: for the password */
};

static enum sasl_result sasl_login_step(struct sasl_exchange *ex, void *mstate,
					const unsigned char *in, size_t in_len,
					struct strbuf *out, const char **reason_r)
{
	struct sasl_login *st = mstate;
	char password[SASL_LOGIN_MAX_PASSWORD + 1];
	enum sasl_result r;

	if (st->state < 2 && in == NULL) {
		st->state = 1;
		strbuf_appends(out, "Username:");
		return SASL_CONTINUE;
	}
	if (in == NULL || memchr(in, '\0', in_len) != NULL) {
		*reason_r = "malformed LOGIN response";
		return SASL_MALFORMED;
	}
	if (st->state < 2) {
		/* An invalid name is only told at the end, like a wrong password. */
		(void)sasl_exchange_set_user(ex, (const char *)in, in_len);
		st->state = 2;
		strbuf_appends(out, "Password:");
		return SASL_CONTINUE;
	}
	if (in_len > SASL_LOGIN_MAX_PASSWORD) {
		*reason_r = "password too long";
		return SASL_DENIED;
	}
	memcpy(password, in, in_len);
	password[in_len] = '\0';
	r = sasl_exchange_verify(ex, password, reason_r);
	OPENSSL_cleanse(password, sizeof(password));
	return r;
}

const struct sasl_mech sasl_mech_login = {
	.name = "LOGIN",
	.needs = SASL_NEEDS_VERIFY,
	.state_size = sizeof(struct sasl_login),
	.step = sasl_login_step,
};
