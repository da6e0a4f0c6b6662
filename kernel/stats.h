/* Statistics counters for the admin STATS command: a fixed-size registry of
 * named 64-bit counters.  The kernel registers its own at start-up; plugins
 * register theirs through the host table.  Adding is lock-free. */
#ifndef VIMAP_STATS_H
#define VIMAP_STATS_H

#include <stdint.h>

#define STATS_MAX_COUNTERS 512

/* Kernel counters, registered by stats_init() in this order. */
enum stats_kernel_counter {
	STATS_CONNECTIONS_NOW,    /* a gauge: not cleared by RESET */
	STATS_CONNECTIONS_TOTAL,
	STATS_LOGINS_OK,
	STATS_LOGINS_FAILED,
	STATS_BYTES_IN,
	STATS_BYTES_OUT,
	STATS_IDLE_TIMEOUTS,
	STATS_READER_THREADS,     /* a gauge: readers of the delivery sources */
	STATS_KERNEL_COUNT
};

void stats_init(void);

/* Registers `name` (copied) and returns its id in *id_r; registering an
   existing name returns the same id.  -1 when the registry is full. */
int stats_register(const char *name, int is_gauge, unsigned *id_r,
		   const char **error_r);
void stats_add(unsigned id, int64_t delta);
int64_t stats_get(unsigned id);
/* Counts one command by name (case-folded, at most 64 distinct names). */
void stats_count_command(const char *name);

typedef void stats_foreach_cb(const char *name, int64_t value, void *ctx);
/* Calls cb for every counter in registration order. */
void stats_foreach(stats_foreach_cb *cb, void *ctx);
/* Zeroes every counter that is not a gauge. */
void stats_reset(void);

#endif
