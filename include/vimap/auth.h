/* vimap plugin ABI: authentication plugins (kind VIMAP_PLUGIN_AUTH).
 *
 * The configuration's `authenticate` names one auth plugin (cp, esm, or a
 * site's exit).  The kernel calls it only from worker threads: a call may
 * block (a slow hash, a PAM conversation, a network look-up). */
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

struct vimap_auth_ops {
	VIMAP_OPS_COMMON;
	/* Checks `password` for `user`.  `reason_r` gets a log-safe reason
	   for DENIED and FAILED ("no such user", "wrong password", ...). */
	enum vimap_auth_result (*verify)(void *state, const char *user,
					 const char *password,
					 const char **reason_r);
};

#ifdef __cplusplus
}
#endif
#endif
