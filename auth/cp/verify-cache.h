/* A bounded cache of recent successful password checks, so a burst of
 * logins (a client pool reconnecting, 10,000 IDLE sessions after a restart)
 * does not pay a full yescrypt each.  An entry holds an HMAC-SHA-256, under
 * a key made fresh at start-up and never stored, of the user and password:
 * the password itself is never kept.  Entries expire after `ttl` seconds,
 * and all of them when the user directory changes (a new password takes
 * effect at once). */
#ifndef VIMAP_VERIFY_CACHE_H
#define VIMAP_VERIFY_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct verify_cache;

/* `slots` entries (rounded to a power of two); NULL with an error when the
   random key cannot be made. */
struct verify_cache *verify_cache_create(size_t slots, time_t ttl, const char **error_r);
void verify_cache_destroy(struct verify_cache **cache);

/* 1 when (user, password) was verified within the TTL since the last
   invalidation, else 0.  Thread-safe. */
int verify_cache_check(struct verify_cache *cache, const char *user, const char *password);
/* The current generation: take it before reading the secret a check uses. */
uint64_t verify_cache_generation(struct verify_cache *cache);
/* Records a successful check made against the directory of `generation`;
   dropped when the directory changed since.  Thread-safe. */
void verify_cache_store(struct verify_cache *cache, const char *user, const char *password,
			uint64_t generation);
/* Forgets every entry (the directory changed). */
void verify_cache_invalidate(struct verify_cache *cache);

#endif
