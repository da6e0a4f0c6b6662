/* The cp user directory: the analogue of VM's CP directory for vimap.  A
 * text file, one user a line:
 *
 *     # comment
 *     smith:$y$j9T$...        (a crypt(3) hash: yescrypt, SHA-512-crypt, ...)
 *     jones:{PLAIN}secret     (plaintext: accepted for migration, warned of)
 *     brown:$y$j9T$...:SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>
 *     green:SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>
 *
 * A SCRAM-SHA-256 secret (RFC 5803 form, base64 values) may follow the
 * crypt hash after a ':' or stand alone: it serves AUTHENTICATE
 * SCRAM-SHA-256, and alone it also checks plaintext passwords (one
 * PBKDF2), so no password needs to be stored in any recoverable form.
 *
 * User ids are case-insensitive, as on VM: they are kept in lower case. */
#ifndef VIMAP_USERDIR_H
#define VIMAP_USERDIR_H

#include <stddef.h>
#include <vimap/auth.h>
#include "userid.h"

#define USERDIR_MAX_USER USERID_MAX

#define USERDIR_SCRAM_PREFIX "SCRAM-SHA-256$"
/* The iterations `vimap passwd` uses (RFC 7677 asks for at least 4096). */
#define USERDIR_SCRAM_ITERATIONS 4096

struct userdir_entry {
	char *user;   /* lower case */
	char *secret; /* the crypt hash or {PLAIN} as in the file, or NULL */
	char *scram;  /* the SCRAM-SHA-256 secret as in the file, or NULL */
};

struct userdir {
	struct userdir_entry *entries; /* sorted by user */
	size_t count;
	size_t plaintext_count;        /* entries with {PLAIN} secrets */
};

/* Lower-cases `user` into `out` (USERDIR_MAX_USER + 1 bytes) by the one
   user-id rule (kernel/userid.h).  Returns 0, or -1 when it cannot be a
   user id. */
int userdir_canonical_user(const char *user, char out[USERDIR_MAX_USER + 1]);

/* Reads the file at `path`.  Returns 0 and a directory the caller frees
   with userdir_free(), or -1 with "PATH:LINE: what is wrong". */
int userdir_load(const char *path, struct userdir **dir_r, const char **error_r);
void userdir_free(struct userdir **dir);

/* The entry for canonical `user`, or NULL.  Valid until userdir_free. */
const struct userdir_entry *userdir_find(const struct userdir *dir, const char *user);

/* 1 when `password` matches `secret` (a crypt(3) hash or {PLAIN}), 0 when
   not, -1 when the hash is of a kind this system cannot compute. */
int userdir_check_secret(const char *secret, const char *password);

/* Parses an RFC 5803 "SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY" string.
   0, or -1 when malformed. */
int userdir_scram_parse(const char *text, struct vimap_scram_secret *secret);

/* Writes into `out` (caller's buffer of `size` bytes, 256 is enough) the
   RFC 5803 string of a new SCRAM-SHA-256 secret for `password`: a fresh
   random 16-byte salt, `iterations` rounds of PBKDF2-HMAC-SHA-256.  0, or
   -1 with an error. */
int userdir_scram_make(const char *password, unsigned iterations, char *out, size_t size,
		       const char **error_r);

/* 1 when `password` matches the SCRAM secret (PBKDF2 with its salt and
   iterations, then StoredKey compared), 0 when not. */
int userdir_scram_check(const struct vimap_scram_secret *secret, const char *password);

/* Writes a yescrypt hash of `password` into `out` (caller's buffer of
   `size` bytes, 256 is enough).  0, or -1 with an error. */
int userdir_hash_password(const char *password, char *out, size_t size,
			  const char **error_r);

#endif
