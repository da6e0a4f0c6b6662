/* auth plugin `cp`: checks passwords against the cp user directory file
 * (userdir.h), the analogue of VM's AUTHENTICATE CP, and hands the kernel
 * the users' SCRAM-SHA-256 secrets for AUTHENTICATE SCRAM-SHA-256.  The file is read at
 * start-up and again whenever it changes, so `vimap passwd` takes effect
 * without a restart. */
#include "autoconfig.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <openssl/crypto.h>
#include <vimap/auth.h>
#include "userdir.h"
#include "verify-cache.h"
#include "xalloc.h"

struct cp_state {
	struct vimap_plugin_ctx *ctx;
	const struct vimap_host *host;
	char *path;
	pthread_rwlock_t lock;      /* guards dir and the file identity */
	struct userdir *dir;
	struct stat loaded;         /* identity of the file as last read */
	char dummy_hash[256];       /* hashed for unknown users: same timing */
	struct verify_cache *cache; /* recent successful checks, or NULL */
	unsigned denied_counter;
};

static const char *const cp_keys[] = { "directory", "cache_size", "cache_ttl", NULL };

static int cp_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Reads the file when it changed.  Called with the write lock held.  A
   broken new file is logged and the old directory kept: a typo in the file
   must not lock every user out. */
static int cp_reload(struct cp_state *st, const char **error_r)
{
	struct userdir *dir;
	struct stat sb;

	if (stat(st->path, &sb) < 0) {
		*error_r = "cannot stat the user directory";
		return st->dir != NULL ? 0 : -1;
	}
	if (st->dir != NULL && cp_same_file(&sb, &st->loaded))
		return 0;
	if (userdir_load(st->path, &dir, error_r) < 0) {
		if (st->dir == NULL)
			return -1;
		st->host->log(st->ctx, VIMAP_LOG_ERROR, "reload failed, keeping the "
			      "previous directory: %s", *error_r);
		return 0;
	}
	if (dir->plaintext_count > 0)
		st->host->log(st->ctx, VIMAP_LOG_WARNING, "%s: %zu plaintext {PLAIN} "
			      "passwords: replace them with hashes (vimap passwd USER)",
			      st->path, dir->plaintext_count);
	userdir_free(&st->dir);
	st->dir = dir;
	st->loaded = sb;
	if (st->cache != NULL)
		verify_cache_invalidate(st->cache);
	st->host->log(st->ctx, VIMAP_LOG_INFO, "read %zu users from %s", dir->count, st->path);
	return 0;
}

static int cp_init(struct vimap_plugin_ctx *ctx, const struct vimap_host *host,
		   void **state_r, const char **error_r)
{
	struct cp_state *st;
	const char *path;
	long long cache_size, cache_ttl;

	if (host->config_check_keys(ctx, cp_keys, error_r) < 0 ||
	    host->config_string(ctx, "directory", SYSCONFDIR "/vimap/users", &path,
				error_r) < 0 ||
	    host->config_int(ctx, "cache_size", 16384, 0, 1 << 24, &cache_size, error_r) < 0 ||
	    host->config_int(ctx, "cache_ttl", 600, 1, 86400, &cache_ttl, error_r) < 0)
		return -1;
	st = xcalloc(1, sizeof(*st));
	st->ctx = ctx;
	st->host = host;
	st->path = xstrdup(path);
	pthread_rwlock_init(&st->lock, NULL);
	if (cp_reload(st, error_r) < 0 ||
	    userdir_hash_password("vimap-dummy", st->dummy_hash, sizeof(st->dummy_hash),
				  error_r) < 0 ||
	    host->counter_register(ctx, "denied", &st->denied_counter, error_r) < 0 ||
	    (cache_size > 0 &&
	     (st->cache = verify_cache_create((size_t)cache_size, (time_t)cache_ttl,
					      error_r)) == NULL)) {
		userdir_free(&st->dir);
		pthread_rwlock_destroy(&st->lock);
		free(st->path);
		free(st);
		return -1;
	}
	*state_r = st;
	return 0;
}

static void cp_deinit(void *state)
{
	struct cp_state *st = state;

	verify_cache_destroy(&st->cache);
	userdir_free(&st->dir);
	pthread_rwlock_destroy(&st->lock);
	free(st->path);
	free(st);
}

/* One stat() per check: cheap next to the hash, and a `vimap passwd`
   takes effect for the very next login. */
static void cp_maybe_reload(struct cp_state *st)
{
	const char *error;
	struct stat sb;
	int same;

	if (stat(st->path, &sb) < 0)
		return;
	pthread_rwlock_rdlock(&st->lock);
	same = cp_same_file(&sb, &st->loaded);
	pthread_rwlock_unlock(&st->lock);
	if (same)
		return;
	pthread_rwlock_wrlock(&st->lock);
	if (cp_reload(st, &error) < 0)
		st->host->log(st->ctx, VIMAP_LOG_ERROR, "%s", error);
	pthread_rwlock_unlock(&st->lock);
}

/* Checks `password` against an entry's secrets: the crypt hash when there
   is one, else the SCRAM secret.  1, 0, or -1 (a hash this system cannot
   compute). */
static int cp_check(const char *secret, const char *scram, const char *password)
{
	struct vimap_scram_secret parsed;
	int ok;

	if (secret != NULL)
		return userdir_check_secret(secret, password);
	if (userdir_scram_parse(scram, &parsed) < 0)
		return -1;
	ok = userdir_scram_check(&parsed, password);
	OPENSSL_cleanse(&parsed, sizeof(parsed));
	return ok;
}

static void cp_free_secret(char **secret)
{
	if (*secret != NULL)
		OPENSSL_cleanse(*secret, strlen(*secret));
	free(*secret);
	*secret = NULL;
}

static enum vimap_auth_result cp_verify(void *state, const char *user,
					const char *password, const char **reason_r)
{
	struct cp_state *st = state;
	const struct userdir_entry *e;
	char canon[USERDIR_MAX_USER + 1], *secret = NULL, *scram = NULL;
	uint64_t generation = 0;
	int ok, found = 0;

	cp_maybe_reload(st);
	if (userdir_canonical_user(user, canon) == 0) {
		if (st->cache != NULL) {
			if (verify_cache_check(st->cache, canon, password))
				return VIMAP_AUTH_OK;
			generation = verify_cache_generation(st->cache);
		}
		pthread_rwlock_rdlock(&st->lock);
		e = userdir_find(st->dir, canon);
		if (e != NULL) {
			found = 1;
			secret = e->secret != NULL ? xstrdup(e->secret) : NULL;
			scram = e->scram != NULL ? xstrdup(e->scram) : NULL;
		}
		pthread_rwlock_unlock(&st->lock);
	}
	if (!found) {
		/* Spend the time a real check takes: no user enumeration by timing. */
		(void)userdir_check_secret(st->dummy_hash, password);
		st->host->counter_add(st->ctx, st->denied_counter, 1);
		*reason_r = "no such user in the directory";
		return VIMAP_AUTH_DENIED;
	}
	ok = cp_check(secret, scram, password);
	cp_free_secret(&secret);
	cp_free_secret(&scram);
	if (ok > 0 && st->cache != NULL)
		verify_cache_store(st->cache, canon, password, generation);
	if (ok < 0) {
		*reason_r = "the stored hash is of a kind this system cannot compute";
		return VIMAP_AUTH_FAILED;
	}
	if (ok == 0) {
		st->host->counter_add(st->ctx, st->denied_counter, 1);
		*reason_r = "wrong password";
		return VIMAP_AUTH_DENIED;
	}
	return VIMAP_AUTH_OK;
}

static enum vimap_auth_result cp_scram_secret(void *state, const char *user,
					      struct vimap_scram_secret *secret,
					      const char **reason_r)
{
	struct cp_state *st = state;
	const struct userdir_entry *e;
	char canon[USERDIR_MAX_USER + 1];
	int ret = -2;

	cp_maybe_reload(st);
	if (userdir_canonical_user(user, canon) < 0) {
		*reason_r = "not a valid user id";
		return VIMAP_AUTH_DENIED;
	}
	pthread_rwlock_rdlock(&st->lock);
	e = userdir_find(st->dir, canon);
	if (e != NULL && e->scram != NULL)
		ret = userdir_scram_parse(e->scram, secret);
	else if (e != NULL)
		ret = -3;
	pthread_rwlock_unlock(&st->lock);
	if (ret == 0)
		return VIMAP_AUTH_OK;
	st->host->counter_add(st->ctx, st->denied_counter, 1);
	*reason_r = ret == -2 ? "no such user in the directory" :
		"the user has no SCRAM-SHA-256 secret (set the password again with vimap passwd)";
	return VIMAP_AUTH_DENIED;
}

static const struct vimap_auth_ops cp_ops = {
	.size = sizeof(struct vimap_auth_ops),
	.init = cp_init,
	.deinit = cp_deinit,
	.verify = cp_verify,
	.scram_secret = cp_scram_secret,
};

VIMAP_PLUGIN_DEFINE(VIMAP_PLUGIN_AUTH, "cp", PACKAGE_VERSION, &cp_ops);
