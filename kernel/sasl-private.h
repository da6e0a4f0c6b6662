/* The kernel's SASL mechanisms (sasl-plain.c, sasl-login.c, sasl-scram.c)
 * as a vtable the exchange (sasl.c) drives, and the exchange services they
 * use.  In-tree only, never installed. */
#ifndef VIMAP_SASL_PRIVATE_H
#define VIMAP_SASL_PRIVATE_H

#include "sasl.h"
#include "userid.h"

/* What a kernel mechanism needs from the plugin. */
enum sasl_mech_needs {
	SASL_NEEDS_VERIFY,      /* ops->verify */
	SASL_NEEDS_SCRAM        /* ops->scram_secret */
};

struct sasl_mech {
	const char *name;
	enum sasl_mech_needs needs;
	/* The mechanism's per-exchange state: zeroed memory of this size,
	   freed (after being cleansed) by the exchange. */
	size_t state_size;
	/* One step, same contract as sasl_exchange_step(); `mstate` is the
	   mechanism's state.  `in` is NULL only on a first step without an
	   initial response. */
	enum sasl_result (*step)(struct sasl_exchange *ex, void *mstate,
				 const unsigned char *in, size_t in_len,
				 struct strbuf *out, const char **reason_r);
};

extern const struct sasl_mech sasl_mech_plain;
extern const struct sasl_mech sasl_mech_login;
extern const struct sasl_mech sasl_mech_scram_sha_256;

struct sasl_exchange {
	struct sasl_backend backend;
	const struct sasl_mech *mech;   /* NULL: the plugin's mechanism */
	void *mstate;                   /* the kernel mechanism's state */
	char *mech_name;                /* as offered */
	char *peer;
	char user[USERID_MAX + 1];
	int have_user;
	unsigned steps;
	int over;                       /* a final result was returned */
	int succeeded;                  /* ...and it was SASL_OK */
	void *plugin_exch;              /* from the plugin's sasl_start */
	int plugin_started;
	char *reason;                   /* a reason copied out of the plugin */
};

/* Records the user the client names (the authentication identity) in
   canonical form.  0, or -1 when it cannot be a user id. */
int sasl_exchange_set_user(struct sasl_exchange *ex, const char *user, size_t len);

/* Passes the gate for the exchange's user (or NULL): 0, or -1 with a
   reason. */
int sasl_exchange_gate(struct sasl_exchange *ex, const char *user, const char **reason_r);

/* Checks `password` for the exchange's user with the plugin's verify,
   after the gate.  OK, DENIED or FAILED with *reason_r. */
enum sasl_result sasl_exchange_verify(struct sasl_exchange *ex, const char *password,
				      const char **reason_r);

/* Splits a PLAIN-like "authzid NUL authcid NUL password" message; the
   same rule serves the fuzz target.  0 with pointers into `msg` (which is
   NUL-terminated at msg_len), or -1 when malformed. */
int sasl_plain_split(const char *msg, size_t msg_len, const char **authzid_r,
		     const char **authcid_r, const char **password_r);

#endif
