#include "autoconfig.h"
#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "auth-throttle.h"
#include "config.h"
#include "server.h"
#include "xalloc.h"

/* Slots in the table (a power of two) and how far a key probes. */
#define THROTTLE_SLOTS 8192
#define THROTTLE_PROBE 8
#define THROTTLE_KEY_MAX 80

struct throttle_slot {
	char key[THROTTLE_KEY_MAX];   /* "a:ADDR" or "u:USER"; "" = free */
	unsigned failures;
	int64_t last_ms;              /* the latest failure */
};

struct auth_throttle {
	struct auth_throttle_settings set;
	pthread_mutex_t lock;
	uint64_t seed;                /* random: keys cannot be made to collide */
	unsigned waiting;             /* threads in auth_throttle_wait now */
	struct throttle_slot *slots;
};

int64_t auth_throttle_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct auth_throttle *auth_throttle_create(const struct auth_throttle_settings *set)
{
	struct auth_throttle *t = xcalloc(1, sizeof(*t));

	t->set = *set;
	if (t->set.max_waiting == 0)
		t->set.max_waiting = 1;
	if (t->set.max_ms < t->set.base_ms)
		t->set.max_ms = t->set.base_ms;
	pthread_mutex_init(&t->lock, NULL);
	if (RAND_bytes((unsigned char *)&t->seed, sizeof(t->seed)) != 1)
		t->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
	t->slots = xcalloc(THROTTLE_SLOTS, sizeof(*t->slots));
	return t;
}

void auth_throttle_destroy(struct auth_throttle **tp)
{
	struct auth_throttle *t = *tp;

	if (t == NULL)
		return;
	*tp = NULL;
	pthread_mutex_destroy(&t->lock);
	free(t->slots);
	free(t);
}

static pthread_once_t throttle_once = PTHREAD_ONCE_INIT;
static struct auth_throttle *throttle_global;

static void throttle_global_init(void)
{
	struct auth_throttle_settings set = { 250, 4000, 300, 1 };
	const struct vimap_config *cfg = server.config;

	if (cfg != NULL) {
		set.base_ms = cfg->auth_throttle_base_ms;
		set.max_ms = cfg->auth_throttle_max_ms;
		set.window = cfg->auth_throttle_window;
		set.max_waiting = cfg->worker_threads / 2;
	}
	throttle_global = auth_throttle_create(&set);
}

struct auth_throttle *auth_throttle_global(void)
{
	pthread_once(&throttle_once, throttle_global_init);
	return throttle_global;
}

/* FNV-1a from a random seed. */
static uint64_t throttle_hash(const struct auth_throttle *t, const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ t->seed;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

static void throttle_key(char out[THROTTLE_KEY_MAX], char kind, const char *name)
{
	snprintf(out, THROTTLE_KEY_MAX, "%c:%s", kind, name);
}

/* The slot of `key`, or NULL.  With `make`, the key gets a slot: a free
   one, an expired one, else the one failed longest ago.  Lock held. */
static struct throttle_slot *throttle_find(struct auth_throttle *t, const char *key,
					   int64_t now_ms, int make)
{
	uint64_t h = throttle_hash(t, key);
	struct throttle_slot *victim = NULL;
	unsigned i;

	for (i = 0; i < THROTTLE_PROBE; i++) {
		struct throttle_slot *s = &t->slots[(h + i) & (THROTTLE_SLOTS - 1)];

		if (strcmp(s->key, key) == 0) {
			if (now_ms - s->last_ms > (int64_t)t->set.window * 1000)
				s->failures = 0;
			return s;
		}
		if (victim == NULL || s->key[0] == '\0' ||
		    (victim->key[0] != '\0' && s->last_ms < victim->last_ms))
			victim = s;
	}
	if (!make)
		return NULL;
	snprintf(victim->key, sizeof(victim->key), "%s", key);
	victim->failures = 0;
	victim->last_ms = now_ms;
	return victim;
}

static unsigned throttle_failures(struct auth_throttle *t, char kind, const char *name,
				  int64_t now_ms)
{
	char key[THROTTLE_KEY_MAX];
	struct throttle_slot *s;

	if (name == NULL)
		return 0;
	throttle_key(key, kind, name);
	s = throttle_find(t, key, now_ms, 0);
	return s != NULL ? s->failures : 0;
}

unsigned auth_throttle_delay(struct auth_throttle *t, const char *addr, const char *user,
			     int64_t now_ms)
{
	unsigned fa, fu, f;
	uint64_t ms;

	if (t->set.base_ms == 0)
		return 0;
	pthread_mutex_lock(&t->lock);
	fa = throttle_failures(t, 'a', addr, now_ms);
	fu = throttle_failures(t, 'u', user, now_ms);
	pthread_mutex_unlock(&t->lock);
	f = fa > fu ? fa : fu;
	if (f == 0)
		return 0;
	ms = (uint64_t)t->set.base_ms << (f - 1 > 20 ? 20 : f - 1);
	return ms > t->set.max_ms ? t->set.max_ms : (unsigned)ms;
}

int auth_throttle_wait(struct auth_throttle *t, const char *addr, const char *user,
		       const char **reason_r)
{
	int64_t now_ms = auth_throttle_now_ms();
	unsigned ms = auth_throttle_delay(t, addr, user, now_ms);
	struct timespec ts;
	int ok;

	if (ms == 0)
		return 0;
	pthread_mutex_lock(&t->lock);
	/* The cap on waiting workers protects the pool from floods, which
	   fail and so come from addresses with failures.  An address with
	   none (the real user, delayed only because someone else guessed at
	   the name) always gets its turn: otherwise an attacker could keep
	   the pool full and lock any user out. */
	ok = t->waiting < t->set.max_waiting || throttle_failures(t, 'a', addr, now_ms) == 0;
	if (ok)
		t->waiting++;
	pthread_mutex_unlock(&t->lock);
	if (!ok) {
		*reason_r = "too many delayed authentications at once";
		return -1;
	}
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&t->lock);
	t->waiting--;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static void throttle_bump(struct auth_throttle *t, char kind, const char *name, int64_t now_ms)
{
	char key[THROTTLE_KEY_MAX];
	struct throttle_slot *s;

	if (name == NULL)
		return;
	throttle_key(key, kind, name);
	s = throttle_find(t, key, now_ms, 1);
	if (s->failures < 1000)
		s->failures++;
	s->last_ms = now_ms;
}

void auth_throttle_failed(struct auth_throttle *t, const char *addr, const char *user,
			  int64_t now_ms)
{
	pthread_mutex_lock(&t->lock);
	throttle_bump(t, 'a', addr, now_ms);
	throttle_bump(t, 'u', user, now_ms);
	pthread_mutex_unlock(&t->lock);
}

static void throttle_clear(struct auth_throttle *t, char kind, const char *name)
{
	char key[THROTTLE_KEY_MAX];
	struct throttle_slot *s;

	if (name == NULL)
		return;
	throttle_key(key, kind, name);
	s = throttle_find(t, key, auth_throttle_now_ms(), 0);
	if (s != NULL)
		s->failures = 0;
}

void auth_throttle_succeeded(struct auth_throttle *t, const char *addr, const char *user)
{
	pthread_mutex_lock(&t->lock);
	throttle_clear(t, 'a', addr);
	throttle_clear(t, 'u', user);
	pthread_mutex_unlock(&t->lock);
}
