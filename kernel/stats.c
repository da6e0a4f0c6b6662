#include "autoconfig.h"
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "error.h"
#include "stats.h"
#include "xalloc.h"

struct stats_counter {
	char *name;
	int is_gauge;
	atomic_llong value;
};

static struct stats_counter stats_counters[STATS_MAX_COUNTERS];
static atomic_uint stats_count;
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const stats_kernel_names[STATS_KERNEL_COUNT] = {
	"connections.now", "connections.total", "logins.ok", "logins.failed",
	"bytes.in", "bytes.out", "idle.timeouts", "reader_threads"
};

void stats_init(void)
{
	unsigned i, id;

	for (i = 0; i < STATS_KERNEL_COUNT; i++)
		(void)stats_register(stats_kernel_names[i], i == STATS_CONNECTIONS_NOW || i == STATS_READER_THREADS,
				     &id, NULL);
}

static int stats_find(const char *name, unsigned count)
{
	unsigned i;

	for (i = 0; i < count; i++) {
		if (strcmp(stats_counters[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

int stats_register(const char *name, int is_gauge, unsigned *id_r,
		   const char **error_r)
{
	unsigned count;
	int found;

	pthread_mutex_lock(&stats_lock);
	count = atomic_load(&stats_count);
	found = stats_find(name, count);
	if (found >= 0) {
		pthread_mutex_unlock(&stats_lock);
		*id_r = (unsigned)found;
		return 0;
	}
	if (count == STATS_MAX_COUNTERS) {
		pthread_mutex_unlock(&stats_lock);
		return error_set(error_r, "stats_register(%s) failed: all %d counters in use",
				 name, STATS_MAX_COUNTERS);
	}
	stats_counters[count].name = xstrdup(name);
	stats_counters[count].is_gauge = is_gauge;
	atomic_store(&stats_counters[count].value, 0);
	/* Published last: readers see only fully set-up counters. */
	atomic_store(&stats_count, count + 1);
	pthread_mutex_unlock(&stats_lock);
	*id_r = count;
	return 0;
}

void stats_add(unsigned id, int64_t delta)
{
	if (id < atomic_load(&stats_count))
		atomic_fetch_add(&stats_counters[id].value, delta);
}

int64_t stats_get(unsigned id)
{
	if (id >= atomic_load(&stats_count))
		return 0;
	return atomic_load(&stats_counters[id].value);
}

void stats_count_command(const char *name)
{
	char key[48];
	size_t i, n = strlen(name);
	unsigned id;

	if (n > 24)
		n = 24;
	memcpy(key, "commands.", 9);
	for (i = 0; i < n; i++)
		key[9 + i] = (char)tolower((unsigned char)name[i]);
	key[9 + n] = '\0';
	if (stats_register(key, 0, &id, NULL) == 0)
		stats_add(id, 1);
}

void stats_foreach(stats_foreach_cb *cb, void *ctx)
{
	unsigned i, count = atomic_load(&stats_count);

	for (i = 0; i < count; i++)
		cb(stats_counters[i].name, atomic_load(&stats_counters[i].value), ctx);
}

void stats_reset(void)
{
	unsigned i, count = atomic_load(&stats_count);

	for (i = 0; i < count; i++) {
		if (!stats_counters[i].is_gauge)
			atomic_store(&stats_counters[i].value, 0);
	}
}
