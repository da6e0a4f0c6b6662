#include "autoconfig.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "error.h"
#include "verify-cache.h"
#include "xalloc.h"

#define VERIFY_DIGEST 32

struct verify_entry {
	unsigned char digest[VERIFY_DIGEST]; /* HMAC(key, user NUL password) */
	uint64_t generation;
	time_t expires;
};

struct verify_cache {
	pthread_mutex_t lock;
	unsigned char key[32];
	struct verify_entry *slots;
	size_t mask;
	time_t ttl;
	uint64_t generation;
};

struct verify_cache *verify_cache_create(size_t slots, time_t ttl, const char **error_r)
{
	struct verify_cache *c = xcalloc(1, sizeof(*c));
	size_t n = 1;

	while (n < slots)
		n <<= 1;
	if (RAND_bytes(c->key, sizeof(c->key)) != 1) {
		free(c);
		error_set(error_r, "RAND_bytes() failed: no key for the verification cache");
		return NULL;
	}
	c->slots = xcalloc(n, sizeof(*c->slots));
	c->mask = n - 1;
	c->ttl = ttl;
	c->generation = 1;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void verify_cache_destroy(struct verify_cache **cp)
{
	struct verify_cache *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	OPENSSL_cleanse(c->key, sizeof(c->key));
	free(c->slots);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void verify_digest(const struct verify_cache *c, const char *user,
			  const char *password, unsigned char out[VERIFY_DIGEST])
{
	size_t ulen = strlen(user), plen = strlen(password);
	unsigned char *msg = xmalloc(ulen + plen + 1);
	unsigned int len = VERIFY_DIGEST;

	memcpy(msg, user, ulen);
	msg[ulen] = '\0';
	memcpy(msg + ulen + 1, password, plen);
	HMAC(EVP_sha256(), c->key, (int)sizeof(c->key), msg, ulen + plen + 1, out, &len);
	OPENSSL_cleanse(msg, ulen + plen + 1);
	free(msg);
}

/* The slot of a user: a hash of the digest's first bytes spreads users. */
static struct verify_entry *verify_slot(struct verify_cache *c, const unsigned char *digest)
{
	uint64_t h;

	memcpy(&h, digest, sizeof(h));
	return &c->slots[h & c->mask];
}

int verify_cache_check(struct verify_cache *c, const char *user, const char *password)
{
	unsigned char digest[VERIFY_DIGEST];
	struct verify_entry *e;
	int hit;

	verify_digest(c, user, password, digest);
	pthread_mutex_lock(&c->lock);
	e = verify_slot(c, digest);
	hit = e->generation == c->generation && e->expires > time(NULL) &&
	      CRYPTO_memcmp(e->digest, digest, VERIFY_DIGEST) == 0;
	pthread_mutex_unlock(&c->lock);
	return hit;
}

uint64_t verify_cache_generation(struct verify_cache *c)
{
	uint64_t g;

	pthread_mutex_lock(&c->lock);
	g = c->generation;
	pthread_mutex_unlock(&c->lock);
	return g;
}

void verify_cache_store(struct verify_cache *c, const char *user, const char *password,
			uint64_t generation)
{
	unsigned char digest[VERIFY_DIGEST];
	struct verify_entry *e;

	verify_digest(c, user, password, digest);
	pthread_mutex_lock(&c->lock);
	if (generation != c->generation) {
		/* Checked against a directory that has changed since. */
		pthread_mutex_unlock(&c->lock);
		return;
	}
	e = verify_slot(c, digest);
	memcpy(e->digest, digest, VERIFY_DIGEST);
	e->generation = c->generation;
	e->expires = time(NULL) + c->ttl;
	pthread_mutex_unlock(&c->lock);
}

void verify_cache_invalidate(struct verify_cache *c)
{
	pthread_mutex_lock(&c->lock);
	c->generation++;
	pthread_mutex_unlock(&c->lock);
}
