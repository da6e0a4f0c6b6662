/* vimap plugin ABI: authentication plugins (kind VIMAP_PLUGIN_AUTH).
 *
 * The configuration's `authenticate` names one auth plugin (cp, esm, or a
 * site's exit).  The kernel calls it only from worker threads: a call may
 * block (a slow hash, a PAM conversation, a network look-up).
 *
 * A plugin checks passwords (verify: the kernel builds LOGIN, PLAIN and
 * the SASL LOGIN mechanism on it), hands out SCRAM secrets (scram_secret:
 * the kernel runs SCRAM-SHA-256), and/or runs SASL mechanisms of its own
 * (mechanisms, sasl_start/step/end).  docs/plugin-guide.md walks through
 * writing one; auth/oauthbearer-sample/ is a complete exit. */
#ifndef VIMAP_AUTH_H
#define VIMAP_AUTH_H

#include <vimap/host.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Results of a password check.  The client sees the same answer for every
   failure; the distinction is for the log and the statistics. */
enum vimap_auth_result {
	VIMAP_AUTH_OK = 1,          /* the password is right */
	VIMAP_AUTH_DENIED = 0,      /* wrong password, or no such user */
	VIMAP_AUTH_FAILED = -1      /* could not decide (error_r says why) */
};

/* ---- since ABI 1.1: SASL (AUTHENTICATE, RFC 3501 6.2.2, RFC 4422) ---- */

/* What one step of a plugin's SASL exchange decided. */
enum vimap_sasl_result {
	VIMAP_SASL_CONTINUE = 2,    /* send *out_r as a challenge, wait for the
				       client's next response */
	VIMAP_SASL_OK = 1,          /* authenticated as *user_r */
	VIMAP_SASL_DENIED = 0,      /* wrong credentials, or no such user */
	VIMAP_SASL_FAILED = -1,     /* could not decide now (a back end is down) */
	VIMAP_SASL_MALFORMED = -2   /* the response breaks the mechanism's
				       syntax: the client is told BAD */
};

/* A user's SCRAM-SHA-256 secret (RFC 5802 section 3, RFC 7677): what a
   store keeps instead of the password.  The kernel owns the struct; the
   plugin fills it. */
#define VIMAP_SCRAM_SALT_MAX 64
struct vimap_scram_secret {
	uint32_t iterations;                       /* PBKDF2 rounds, >= 4096 */
	uint32_t salt_len;                         /* 1..VIMAP_SCRAM_SALT_MAX */
	unsigned char salt[VIMAP_SCRAM_SALT_MAX];  /* raw, not base64 */
	unsigned char stored_key[32];              /* SHA-256(ClientKey) */
	unsigned char server_key[32];              /* HMAC(SaltedPassword, "Server Key") */
};

struct vimap_auth_ops {
	VIMAP_OPS_COMMON;
	/* Checks `password` for `user`.  `reason_r` gets a log-safe reason
	   for DENIED and FAILED ("no such user", "wrong password", ...).
	   May be NULL (since ABI 1.1) for a plugin that only offers its own
	   mechanisms: LOGIN, PLAIN and the SASL LOGIN mechanism are then not
	   offered. */
	enum vimap_auth_result (*verify)(void *state, const char *user,
					 const char *password,
					 const char **reason_r);

	/* ---- since ABI 1.1 (check with VIMAP_AUTH_HAS before use) ----
	 *
	 * A plugin may implement SASL mechanisms itself (the four members
	 * mechanisms, sasl_start, sasl_step, sasl_end: all or none), and/or
	 * hand the kernel SCRAM secrets (scram_secret) so that the kernel runs
	 * SCRAM-SHA-256 for it.  With `verify` alone the kernel offers PLAIN
	 * and LOGIN; with `scram_secret` also SCRAM-SHA-256.  Every member
	 * left NULL is simply not used.  All of them are called from worker
	 * threads and may block; calls for one exchange never overlap, but
	 * may come from different threads one after the other. */

	/* The names of the mechanisms the plugin implements (upper case, as
	   AUTHENTICATE and CAPABILITY spell them: "OAUTHBEARER"), ended by
	   NULL.  Static: valid as long as the plugin is loaded.  A name the
	   kernel also implements (PLAIN, LOGIN, SCRAM-SHA-256) is then the
	   plugin's. */
	const char *const *mechanisms;
	/* Begins one exchange of `mech` (one of `mechanisms`, in their
	   spelling) for a client at `peer` (its IP address as text, valid for
	   the call only).  Returns 0 with the plugin's per-exchange state in
	   *exch_r, or -1 with an error (the client is told NO). */
	int (*sasl_start)(void *state, const char *mech, const char *peer,
			  void **exch_r, const char **error_r);
	/* One step.  `in` is the client's response, base64-decoded by the
	   kernel: `in_len` octets that may hold NULs.  On the first step `in`
	   is the initial response of SASL-IR (RFC 4959; "=" on the wire is an
	   empty one: `in` not NULL, `in_len` 0), or NULL when the client sent
	   none; a mechanism that starts with the client's message then answers
	   CONTINUE with an empty challenge.  Later steps always have `in`.
	   Returns
	     CONTINUE: *out_r (*out_len_r octets) is the challenge to send (may be 0
	               octets; the kernel base64-encodes it);
	     OK:       *user_r is the authenticated user id (the kernel
	               canonicalises it and requires it to be enrolled);
	               *out_r, when not NULL, is the server's final message
	               (RFC 4422 "additional data with success"), which the
	               kernel sends as one more challenge and confirms once
	               the client answers it with an empty response;
	     DENIED, FAILED, MALFORMED: *reason_r is a log-safe reason
	               (never a credential); *user_r may name the user the
	               client claimed, for the log and the brute-force delay.
	   *out_r, *user_r and *reason_r point into the exchange's memory and
	   stay valid until the next step or sasl_end. */
	enum vimap_sasl_result (*sasl_step)(void *exch, const unsigned char *in,
					    size_t in_len,
					    const unsigned char **out_r,
					    size_t *out_len_r,
					    const char **user_r,
					    const char **reason_r);
	/* Ends the exchange and frees `exch`: after the last step, when the
	   client cancelled with "*", sent a malformed response, or went away.
	   Called exactly once per successful sasl_start. */
	void (*sasl_end)(void *exch);

	/* Fills `secret` with `user`'s SCRAM-SHA-256 secret.  Returns OK,
	   DENIED when there is no such user or the user has no SCRAM secret
	   (the kernel then runs the exchange to its failing end, so that an
	   unknown user looks like a wrong password), or FAILED with a
	   log-safe reason.  `user` is canonical (lower case). */
	enum vimap_auth_result (*scram_secret)(void *state, const char *user,
					       struct vimap_scram_secret *secret,
					       const char **reason_r);
};

/* True when the plugin's ops table (built against an older minor, maybe)
   has member `m`. */
#define VIMAP_AUTH_HAS(ops, m) \
	((ops)->size >= offsetof(struct vimap_auth_ops, m) + sizeof((ops)->m))

#ifdef __cplusplus
}
#endif
#endif
