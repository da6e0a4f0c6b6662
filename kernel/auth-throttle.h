/* Brute-force delays: every failed authentication makes the next attempts
 * from the same client address, and for the same user id, wait longer
 * before they are decided: base_ms after one failure, doubling with each
 * further failure up to max_ms; failures older than `window` seconds are
 * forgotten, and a success clears the address's and the user's count.
 * The delay applies to every attempt, right or wrong, so the time of the
 * answer tells nothing about the password.
 *
 * The wait happens on the worker that decides the attempt, never on an I/O
 * thread; at most half the worker pool waits at once, and attempts beyond
 * that are refused at once (NO [UNAVAILABLE]) without being decided. */
#ifndef VIMAP_AUTH_THROTTLE_H
#define VIMAP_AUTH_THROTTLE_H

#include <stdint.h>

struct auth_throttle;

struct auth_throttle_settings {
	unsigned base_ms;      /* the first delay; 0 turns delays off */
	unsigned max_ms;       /* the cap */
	unsigned window;       /* seconds a failure is remembered */
	unsigned max_waiting;  /* threads that may wait at once (>= 1) */
};

/* A table of recent failures (bounded memory: old entries are evicted).
   Caller destroys. */
struct auth_throttle *auth_throttle_create(const struct auth_throttle_settings *set);
void auth_throttle_destroy(struct auth_throttle **t);

/* The process's table, made on first use from the server's configuration
   (auth_throttle:) and worker count.  Valid for the process's life. */
struct auth_throttle *auth_throttle_global(void);

/* The delay in milliseconds due now for an attempt from `addr` for `user`
   (either may be NULL: not known yet).  Thread-safe. */
unsigned auth_throttle_delay(struct auth_throttle *t, const char *addr, const char *user,
			     int64_t now_ms);

/* Waits the delay due for (addr, user) on the calling thread, which must
   be a worker.  0 when the attempt may be decided now; -1 with a log-safe
   reason when too many threads wait already (refuse the attempt). */
int auth_throttle_wait(struct auth_throttle *t, const char *addr, const char *user,
		       const char **reason_r);

/* Records a failed attempt (user may be NULL), or a success that clears
   both counts.  Thread-safe. */
void auth_throttle_failed(struct auth_throttle *t, const char *addr, const char *user,
			  int64_t now_ms);
void auth_throttle_succeeded(struct auth_throttle *t, const char *addr, const char *user);

/* Monotonic milliseconds, the clock the functions above take. */
int64_t auth_throttle_now_ms(void);

#endif
