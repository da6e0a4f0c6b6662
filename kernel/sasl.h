/* SASL for AUTHENTICATE (RFC 4422, RFC 3501 6.2.2): the mechanisms the
 * kernel implements on top of the auth plugin (PLAIN and LOGIN over its
 * verify, SCRAM-SHA-256 over its scram_secret) and the plugin's own
 * mechanisms, behind one exchange interface; and the strict base64 (RFC
 * 4648 section 4) that AUTHENTICATE speaks.
 *
 * An exchange runs its steps on worker threads (a step may call the plugin,
 * which may block); it is owned by one client and never used by two
 * threads at once.  Nothing here touches a socket. */
#ifndef VIMAP_SASL_H
#define VIMAP_SASL_H

#include <stddef.h>
#include <vimap/auth.h>
#include "strbuf.h"

/* The outcome of one step; the values mirror enum vimap_sasl_result. */
enum sasl_result {
	SASL_CONTINUE = 2,   /* send the challenge, wait for the next response */
	SASL_OK = 1,         /* authenticated (sasl_exchange_user) */
	SASL_DENIED = 0,     /* wrong credentials or no such user */
	SASL_FAILED = -1,    /* could not decide now, or refused by the gate */
	SASL_MALFORMED = -2  /* the response breaks the mechanism's syntax */
};

/* Where credentials are checked: the auth plugin's ops and state, and a
   gate the kernel puts in front of every decision (the brute-force delay).
   The backend is copied into each exchange; the pointers must stay valid
   until the exchange is destroyed. */
struct sasl_backend {
	const struct vimap_auth_ops *ops;
	void *state;
	/* Called on the step's thread right before a mechanism decides for
	   `user` (canonical; NULL when the mechanism does not know it yet, as
	   before each step of a plugin's mechanism) from the client at `peer`.
	   0 to go on; -1 refuses with a log-safe *reason_r and the step
	   returns SASL_FAILED.  May block.  NULL: no gate. */
	int (*gate)(void *ctx, const char *peer, const char *user, const char **reason_r);
	void *gate_ctx;
};

struct sasl_exchange;

/* Fills names_r[0..max) with the mechanisms offered with `ops` (the
   plugin's own first, then SCRAM-SHA-256, PLAIN and LOGIN when the plugin
   has what they need and does not implement them itself).  Returns how
   many; the strings are static or the plugin's (valid while it is loaded). */
size_t sasl_mechanisms(const struct vimap_auth_ops *ops, const char **names_r, size_t max);

/* 1 when `mech` (any case) is offered with `ops`, else 0. */
int sasl_mech_offered(const struct vimap_auth_ops *ops, const char *mech);

/* 1 when `mech` sends a reusable secret in the clear (PLAIN, LOGIN,
   OAUTHBEARER, XOAUTH2): refused where plaintext passwords are. */
int sasl_mech_plaintext(const char *mech);

/* "AUTH=M1 AUTH=M2 ..." for CAPABILITY, from the loaded auth plugin
   (server.auth); the plaintext mechanisms are left out when
   `plaintext_ok` is 0.  Built once; a static string valid for the life of
   the process.  Any thread. */
const char *sasl_capabilities(int plaintext_ok);

/* `head` (a capability list, e.g. "IMAP4rev1 ... STARTTLS"), a space and
   sasl_capabilities(plaintext_ok), as one static string made once per
   distinct `head` pointer and flag (pass string literals) and valid for
   the life of the process.  Any thread. */
const char *sasl_capability_join(const char *head, int plaintext_ok);

/* Begins an exchange of `mech` (any case, one sasl_mech_offered()) for a
   client at `peer` (copied).  Cheap and non-blocking: a plugin's
   sasl_start runs in the first step.  Returns the exchange (caller
   destroys) or NULL when the mechanism is not offered. */
struct sasl_exchange *sasl_exchange_create(const struct sasl_backend *backend,
					   const char *mech, const char *peer);

/* Runs one step with the client's decoded response in[0..in_len), which
   must be followed by a NUL at in[in_len] (a strbuf's data is).  `in` is
   NULL only on the first step, when the client sent no initial
   response.  Appends to `out` the raw challenge (CONTINUE) or the
   server's final message (OK; nothing appended when there is none).
   *reason_r gets a log-safe reason for DENIED, FAILED and MALFORMED
   (valid until the next step or destroy).  After any result but CONTINUE
   the exchange is over: further steps return SASL_MALFORMED.  May block. */
enum sasl_result sasl_exchange_step(struct sasl_exchange *ex, const unsigned char *in,
				    size_t in_len, struct strbuf *out,
				    const char **reason_r);

/* The canonical user id the client claimed (once a step has read it) or
   authenticated as; NULL when not known.  Valid until destroy. */
const char *sasl_exchange_user(const struct sasl_exchange *ex);

/* The mechanism's name as offered (upper case).  Valid until destroy. */
const char *sasl_exchange_mech(const struct sasl_exchange *ex);

/* 1 when the exchange ended with SASL_OK, else 0. */
int sasl_exchange_succeeded(const struct sasl_exchange *ex);

/* The client's address given at create.  Valid until destroy. */
const char *sasl_exchange_peer(const struct sasl_exchange *ex);

/* Ends the exchange (calls the plugin's sasl_end when its sasl_start
   succeeded) and frees it; leaves NULL (a NULL exchange is a no-op).  May
   block for a plugin's mechanism: call it where a step could run. */
void sasl_exchange_destroy(struct sasl_exchange **ex);

/* sasl_exchange_destroy() on the worker pool, for an I/O thread (a client
   that went away mid-exchange); leaves NULL. */
void sasl_exchange_release(struct sasl_exchange **ex);

/* Appends the strict base64 decoding of in[0..len) to `out`: the RFC 4648
   alphabet, '=' padding to a multiple of 4, no white space, zero pad bits;
   "" decodes to nothing.  0, or -1 when it is not such base64 (`out` may
   then have grown).  At most SASL_MAX_RESPONSE input octets. */
#define SASL_MAX_RESPONSE (64 * 1024)
int sasl_base64_decode(const char *in, size_t len, struct strbuf *out);

/* Appends the base64 encoding of in[0..len) to `out`. */
void sasl_base64_encode(const void *in, size_t len, struct strbuf *out);

#endif
