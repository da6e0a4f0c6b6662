/* The same storage workload against several storage plugins, figures side
 * by side (bench/storagebench.py runs it against localfs and sfs, with a
 * throw-away PostgreSQL cluster for sfs):
 *
 *   bench/bench_storage [messages] PLUGIN=FILEPOOL [PLUGIN=FILEPOOL...]
 *
 * e.g. bench_storage 20000 localfs=/var/tmp/pool "sfs=host=/tmp/pg dbname=vimap".
 * Each plugin is loaded with its defaults (localfs: fsync on; sfs: the
 * server's own durability, fsync on in storagebench.py), through the
 * kernel's loader and host table, as vimapd drives it.  Measured:
 *   append 1 thread     single-message APPENDs, one session: messages/s
 *   append 4 users      four threads, one user each: messages/s
 *   select              mailbox_open + mailbox_sync(0) of `messages`
 *                       messages without the cache (SELECT): ms, best of 5
 *   fetch flags         fetch of every record without the cache (FETCH
 *                       1:* FLAGS): ms, best of 3
 *   search headers      fetch of every record with its cache blob (what
 *                       SEARCH on headers reads): ms, best of 3
 *   search bodies       open_message of 500 messages (SEARCH BODY): ms
 *   store flags         STORE +FLAGS (\Seen) on every message: ms
 *   status              mailbox_status, 1000 calls: microseconds each
 * The mailbox is filled with `messages` (default 20000) messages of mixed
 * sizes (median about 5 KB) and a 600-byte cache blob, in APPENDs of 500
 * (not measured); it is removed at the end unless BENCH_KEEP is set (to
 * look at the store afterwards). */
#include "autoconfig.h"
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <vimap/storage.h>
#include "config.h"
#include "host.h"
#include "loader.h"
#include "log.h"

#ifndef BENCH_PLUGIN_DIR
#define BENCH_PLUGIN_DIR ".plugins"
#endif

#define BENCH_MAX_PLUGINS 4
#define BENCH_APPENDS 1000      /* single-message appends, one thread */
#define BENCH_THREAD_APPENDS 500 /* per thread, four threads */

enum bench_item {
	B_APPEND1, B_APPEND4, B_SELECT, B_FETCH_FLAGS, B_SEARCH_HEADERS, B_SEARCH_BODIES,
	B_STORE, B_STATUS, B_COUNT
};

static const struct {
	const char *name;
	const char *unit;
	int higher_better;
} bench_items[B_COUNT] = {
	[B_APPEND1] = { "append, 1 thread", "msg/s", 1 },
	[B_APPEND4] = { "append, 4 threads/users", "msg/s", 1 },
	[B_SELECT] = { "select (open + sync all)", "ms", 0 },
	[B_FETCH_FLAGS] = { "fetch flags, all", "ms", 0 },
	[B_SEARCH_HEADERS] = { "search headers (records+cache)", "ms", 0 },
	[B_SEARCH_BODIES] = { "search bodies (500 messages)", "ms", 0 },
	[B_STORE] = { "store +FLAGS (\\Seen), all", "ms", 0 },
	[B_STATUS] = { "status (per call)", "us", 0 },
};

static const struct vimap_storage_ops *ops;
static void *state;
static char bench_text[2100000];

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_die(const char *what, const char *why)
{
	fprintf(stderr, "bench_storage: %s: %s\n", what, why != NULL ? why : "?");
	exit(1);
}

/* A size with median about 5 KB: 5000 * e^N(0,1), 300 B to 2 MB. */
static size_t bench_size(unsigned *seed)
{
	double u1 = (rand_r(seed) + 1.0) / (RAND_MAX + 2.0);
	double u2 = (rand_r(seed) + 1.0) / (RAND_MAX + 2.0);
	double s = 5000 * exp(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));

	return s < 300 ? 300 : s > 2e6 ? 2000000 : (size_t)s;
}

static struct vimap_plugin_ctx *bench_load(const char *dir, const char *name, const char *pool,
					   struct vimap_config **cfg_r)
{
	char path[] = "/tmp/vimap-bench-cfg-XXXXXX";
	struct vimap_plugin_ctx *plugin = NULL;
	const char *error = NULL;
	int fd = mkstemp(path);
	FILE *f;

	if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
		bench_die("mkstemp", strerror(errno));
	fprintf(f, "filepoolid: \"%s\"\nbadfileid: \"/tmp/vimap-bench-bad\"\n", pool);
	fclose(f);
	if (config_load(path, cfg_r, &error) < 0)
		bench_die("config_load", error);
	unlink(path);
	host_set_config(*cfg_r, "vimapd");
	if (loader_open(dir, name, VIMAP_PLUGIN_STORAGE, &plugin, &error) < 0 ||
	    loader_init(plugin, config_plugin_section(*cfg_r, name), &error) < 0)
		bench_die("loading the plugin", error);
	ops = plugin->desc->ops;
	state = plugin->state;
	return plugin;
}

/* A store that must be made (sfs's schema) is made. */
static void bench_prepare(void)
{
	struct vimap_storage_error err = { 0, NULL };

	if (ops->size < offsetof(struct vimap_storage_ops, upgrade) + sizeof(ops->upgrade) ||
	    ops->check_format == NULL || ops->upgrade == NULL ||
	    ops->check_format(state, &err) == 0)
		return;
	if (ops->upgrade(state, NULL, NULL, &err) < 0)
		bench_die("upgrade", err.text);
}

static void *bench_user(const char *user)
{
	struct vimap_storage_error err = { 0, NULL };
	void *u;

	if (ops->is_enrolled(state, user, &err) == 1)
		ops->unenroll(state, user, &err);
	if (ops->enroll(state, user, UINT64_C(1) << 40, 2, &err) < 0)
		bench_die("enroll", err.text);
	if (ops->user_open(state, user, &u, &err) < 0)
		bench_die("user_open", err.text);
	return u;
}

static void bench_fill(void *u, unsigned n)
{
	static char blob[600];
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_append *a = calloc(500, sizeof(*a));
	uint32_t *uids = calloc(500, sizeof(*uids)), uidv;
	unsigned seed = 1, done = 0, i;

	memset(blob, 'c', sizeof(blob));
	while (done < n) {
		unsigned batch = n - done < 500 ? n - done : 500;

		for (i = 0; i < batch; i++)
			a[i] = (struct vimap_append){ bench_text, bench_size(&seed), 0, "",
				1700000000 + done + i, 0, blob, sizeof(blob) };
		if (ops->append(u, "INBOX", a, batch, &uidv, uids, &err) < 0)
			bench_die("append", err.text);
		done += batch;
	}
	free(a);
	free(uids);
}

struct bench_thread {
	char user[32];
	unsigned count, seed;
};

static void *bench_thread_run(void *arg)
{
	struct bench_thread *t = arg;
	struct vimap_storage_error err = { 0, NULL };
	void *u;
	unsigned i;

	if (ops->user_open(state, t->user, &u, &err) < 0)
		bench_die("user_open", err.text);
	for (i = 0; i < t->count; i++) {
		struct vimap_append a = { bench_text, bench_size(&t->seed), 0, "", 1700000000, 0,
					  bench_text, 400 };
		uint32_t uid, uidv;

		if (ops->append(u, "INBOX", &a, 1, &uidv, &uid, &err) < 0)
			bench_die("append", err.text);
	}
	ops->user_close(u);
	return NULL;
}

/* Messages per second of `threads` threads appending `per` each. */
static double bench_appends(const char *prefix, unsigned threads, unsigned per)
{
	struct bench_thread t[8];
	pthread_t th[8];
	double t0;
	unsigned i;

	for (i = 0; i < threads; i++) {
		snprintf(t[i].user, sizeof(t[i].user), "%s-%u", prefix, i);
		t[i].count = per;
		t[i].seed = 100 + i;
		ops->user_close(bench_user(t[i].user));
	}
	t0 = bench_now();
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, bench_thread_run, &t[i]);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	return threads * per / (bench_now() - t0);
}

static int bench_count_cb(void *ctx, const struct vimap_message *m)
{
	(void)m;
	(*(unsigned *)ctx)++;
	return 0;
}

/* Best time (ms) of `rounds` fetches of uids[0..n) with `want`. */
static double bench_fetch(void *box, const uint32_t *uids, unsigned n, unsigned want,
			  unsigned rounds)
{
	struct vimap_storage_error err = { 0, NULL };
	double best = 1e9, t0;
	unsigned k, count;

	for (k = 0; k < rounds; k++) {
		count = 0;
		t0 = bench_now();
		if (ops->fetch(box, uids, n, want, bench_count_cb, &count, &err) < 0)
			bench_die("fetch", err.text);
		t0 = bench_now() - t0;
		best = t0 < best ? t0 : best;
		if (count != n)
			bench_die("fetch", "records missing");
	}
	return best * 1e3;
}

/* The mailbox figures on a mailbox of n messages. */
static void bench_mailbox(void *u, unsigned n, double *r)
{
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_mailbox_info info;
	uint32_t *uids = calloc(n, sizeof(*uids));
	struct vimap_message_data md;
	double best = 1e9, t0;
	unsigned i, k, count;
	void *box = NULL;

	for (k = 0; k < 5; k++) {
		if (box != NULL)
			ops->mailbox_close(box);
		count = 0;
		t0 = bench_now();
		if (ops->mailbox_open(u, "INBOX", &box, &info, &err) < 0 ||
		    ops->mailbox_sync(box, 0, 0, bench_count_cb, NULL, &count, &info, &err) < 0)
			bench_die("select", err.text);
		t0 = bench_now() - t0;
		best = t0 < best ? t0 : best;
	}
	r[B_SELECT] = best * 1e3;
	for (i = 0; i < n; i++)
		uids[i] = i + 1;
	r[B_FETCH_FLAGS] = bench_fetch(box, uids, n, 0, 3);
	r[B_SEARCH_HEADERS] = bench_fetch(box, uids, n, VIMAP_WANT_CACHE, 3);
	t0 = bench_now();
	for (i = 0; i < 500 && i < n; i++) {
		if (ops->open_message(box, uids[(i * 37) % n], &md, &err) < 0)
			bench_die("open_message", err.text);
		ops->close_message(box, &md);
	}
	r[B_SEARCH_BODIES] = (bench_now() - t0) * 1e3;
	t0 = bench_now();
	if (ops->store(box, uids, n, VIMAP_STORE_ADD, VIMAP_FLAG_SEEN, "", NULL, NULL, &err) < 0)
		bench_die("store", err.text);
	r[B_STORE] = (bench_now() - t0) * 1e3;
	t0 = bench_now();
	for (i = 0; i < 1000; i++) {
		if (ops->mailbox_status(u, "INBOX", &info, &err) < 0)
			bench_die("mailbox_status", err.text);
	}
	r[B_STATUS] = (bench_now() - t0) * 1e3;
	ops->mailbox_close(box);
	free(uids);
}

static void bench_plugin(const char *dir, const char *name, const char *pool, unsigned n,
			 double *r)
{
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_config *cfg = NULL;
	struct vimap_plugin_ctx *plugin = bench_load(dir, name, pool, &cfg);
	void *u;
	double t0;

	bench_prepare();
	fprintf(stderr, "bench_storage: %s: appends...\n", name);
	r[B_APPEND1] = bench_appends("bench-a1", 1, BENCH_APPENDS);
	r[B_APPEND4] = bench_appends("bench-a4", 4, BENCH_THREAD_APPENDS);
	u = bench_user("bench-box");
	t0 = bench_now();
	bench_fill(u, n);
	fprintf(stderr, "bench_storage: %s: filled %u messages in %.1f s\n", name, n,
		bench_now() - t0);
	bench_mailbox(u, n, r);
	ops->user_close(u);
	if (getenv("BENCH_KEEP") == NULL)
		ops->unenroll(state, "bench-box", &err);
	loader_close(&plugin);
	config_free(&cfg);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("VIMAP_BENCH_PLUGIN_DIR") ? getenv("VIMAP_BENCH_PLUGIN_DIR")
		: BENCH_PLUGIN_DIR, *error = NULL;
	double r[BENCH_MAX_PLUGINS][B_COUNT];
	char *names[BENCH_MAX_PLUGINS];
	unsigned n = 20000, np = 0, i, k;
	int arg = 1;
	size_t j;

	if (argc > 1 && strchr(argv[1], '=') == NULL)
		n = (unsigned)atoi(argv[arg++]);
	for (j = 0; j < sizeof(bench_text); j++)
		bench_text[j] = j % 72 == 70 ? '\r' : j % 72 == 71 ? '\n' : (char)('a' + j % 26);
	log_init("bench", 0, VIMAP_LOG_WARNING);
	if (loader_global_init(&error) < 0)
		bench_die("loader_global_init", error);
	for (; arg < argc && np < BENCH_MAX_PLUGINS; arg++, np++) {
		char *eq = strchr(argv[arg], '=');

		if (eq == NULL)
			bench_die(argv[arg], "not PLUGIN=FILEPOOL");
		names[np] = strndup(argv[arg], (size_t)(eq - argv[arg]));
		bench_plugin(dir, names[np], eq + 1, n, r[np]);
	}
	if (np == 0)
		bench_die("usage", "bench_storage [messages] PLUGIN=FILEPOOL...");
	printf("%u messages in the mailbox; same workload on each plugin\n", n);
	printf("%-32s %-6s", "", "");
	for (k = 0; k < np; k++)
		printf(" %12s", names[k]);
	printf(np > 1 ? "  %s/%s\n" : "\n", names[np > 1 ? 1 : 0], names[0]);
	for (i = 0; i < B_COUNT; i++) {
		printf("%-32s %-6s", bench_items[i].name, bench_items[i].unit);
		for (k = 0; k < np; k++)
			printf(" %12.1f", r[k][i]);
		/* The slow-down factor of the second plugin: > 1 is slower. */
		if (np > 1)
			printf("  %8.2fx", bench_items[i].higher_better ? r[0][i] / r[1][i]
			       : r[1][i] / r[0][i]);
		printf("\n");
	}
	for (k = 0; k < np; k++)
		free(names[k]);
	loader_global_deinit();
	return 0;
}
