/* SASL PLAIN (RFC 4616) over the auth plugin's verify:
 * "authzid NUL authcid NUL password" in one message, the initial response
 * of SASL-IR or the answer to an empty challenge. */
#include "autoconfig.h"
#include <string.h>
#include "sasl-private.h"
#include "userid.h"

struct sasl_plain {
	int asked;      /* the empty challenge was sent */
};

static enum sasl_result sasl_plain_step(struct sasl_exchange *ex, void *mstate,
					const unsigned char *in, size_t in_len,
					struct strbuf *out, const char **reason_r)
{
	struct sasl_plain *st = mstate;
	const char *authzid, *authcid, *password;
	char zcanon[USERID_MAX + 1];

	(void)out;
	if (in == NULL && !st->asked) {
		st->asked = 1;
		return SASL_CONTINUE;
	}
	/* The message is NUL-terminated by the caller's buffer: in[in_len]. */
	if (in == NULL || sasl_plain_split((const char *)in, in_len, &authzid, &authcid,
					   &password) < 0) {
		*reason_r = "malformed PLAIN message";
		return SASL_MALFORMED;
	}
	if (sasl_exchange_set_user(ex, authcid, strlen(authcid)) < 0) {
		*reason_r = "not a valid user id";
		return SASL_DENIED;
	}
	/* Logging in as someone else (proxy authorisation) is not offered. */
	if (authzid[0] != '\0' &&
	    (userid_canonical(authzid, strlen(authzid), zcanon) < 0 ||
	     strcmp(zcanon, sasl_exchange_user(ex)) != 0)) {
		*reason_r = "authorization identity differs from the authentication identity";
		return SASL_DENIED;
	}
	return sasl_exchange_verify(ex, password, reason_r);
}

const struct sasl_mech sasl_mech_plain = {
	.name = "PLAIN",
	.needs = SASL_NEEDS_VERIFY,
	.state_size = sizeof(struct sasl_plain),
	.step = sasl_plain_step,
};
