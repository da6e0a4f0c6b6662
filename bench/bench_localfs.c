/* Benchmark of a storage plugin (default localfs) through the ABI, as the
 * kernel drives it:
 *
 *   bench/bench_localfs [messages [threads [appends-per-thread]]]
 *
 *   VIMAP_BENCH_FILEPOOL    filepool directory (default: a new directory
 *                           under /var/tmp, removed at the end)
 *   VIMAP_BENCH_PLUGIN_DIR  plugin directory (default the build tree's)
 *   VIMAP_BENCH_PLUGIN      plugin name (default localfs)
 *   VIMAP_BENCH_NO_POOL     set: no worker pool behind host->submit (the
 *                           plugin's after-commit clean-up then runs
 *                           inside the call that needs it)
 *
 * 1. fills one mailbox with `messages` (default 100,000) messages of mixed
 *    sizes (median about 5 KB) and a 600-byte cache blob each, in APPENDs of
 *    1000 with fsync off (filling is not what is measured);
 * 2. with fsync on (the default configuration) times, on that mailbox:
 *    mailbox_sync(since 0) without the cache, fetch of every record with
 *    the cache, STORE +FLAGS (\Seen) on every message, EXPUNGE of 10%
 *    (every tenth message) and the background clean-up it leaves to the
 *    worker pool (4 threads, as vimapd's host->submit);
 * 3. times APPEND throughput with fsync on from `threads` (default 20)
 *    threads, each appending `appends-per-thread` (default 200) single
 *    messages: first one user per thread, then all threads on one user. */
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
#include "stats.h"
#include "workers.h"

#ifndef BENCH_PLUGIN_DIR
#define BENCH_PLUGIN_DIR ".plugins"
#endif

static const char *bench_dir, *bench_name, *bench_pool;
static struct vimap_config *bench_cfg;
static struct workers *bench_pool_workers;
static struct vimap_plugin_ctx *bench_plugin;
static const struct vimap_storage_ops *ops;
static void *state;

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_die(const char *what, const char *why)
{
	fprintf(stderr, "bench_localfs: %s: %s\n", what, why != NULL ? why : "?");
	exit(1);
}

/* Loads the plugin with `fsync` on or off (a fresh configuration). */
static void bench_load(int fsync_on)
{
	char path[] = "/tmp/vimap-bench-cfg-XXXXXX";
	const char *error = NULL;
	int fd = mkstemp(path);
	FILE *f;

	if (bench_plugin != NULL)
		loader_close(&bench_plugin);
	if (bench_cfg != NULL)
		config_free(&bench_cfg);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
		bench_die("mkstemp", strerror(errno));
	fprintf(f, "filepoolid: \"%s\"\nbadfileid: \"%s/bad\"\nplugins:\n  %s: {fsync: %s}\n",
		bench_pool, bench_pool, bench_name, fsync_on ? "true" : "false");
	fclose(f);
	if (config_load(path, &bench_cfg, &error) < 0)
		bench_die("config_load", error);
	unlink(path);
	host_set_config(bench_cfg, "vimapd");
	if (loader_open(bench_dir, bench_name, VIMAP_PLUGIN_STORAGE, &bench_plugin, &error) < 0 ||
	    loader_init(bench_plugin, config_plugin_section(bench_cfg, bench_name), &error) < 0)
		bench_die("loading the plugin", error);
	ops = bench_plugin->desc->ops;
	state = bench_plugin->state;
}

/* A size with median about 5 KB: 5000 * e^N(0,1), 300 B to 2 MB. */
static size_t bench_size(unsigned *seed)
{
	double u1 = (rand_r(seed) + 1.0) / (RAND_MAX + 2.0);
	double u2 = (rand_r(seed) + 1.0) / (RAND_MAX + 2.0);
	double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
	double s = 5000 * exp(z);

	return s < 300 ? 300 : s > 2e6 ? 2000000 : (size_t)s;
}

static char bench_text[2100000];

static void bench_enroll(const char *user)
{
	struct vimap_storage_error err = { 0, NULL };

	if (ops->is_enrolled(state, user, &err) == 1)
		ops->unenroll(state, user, &err);
	if (ops->enroll(state, user, UINT64_C(1) << 40, 2, &err) < 0)
		bench_die("enroll", err.text);
}

static void *bench_open(const char *user)
{
	struct vimap_storage_error err = { 0, NULL };
	void *u;

	if (ops->user_open(state, user, &u, &err) < 0)
		bench_die("user_open", err.text);
	return u;
}

/* Fills INBOX of `user` with n messages in APPENDs of 1000. */
static void bench_fill(void *u, unsigned n)
{
	static char blob[600];
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_append *a = calloc(1000, sizeof(*a));
	uint32_t *uids = calloc(1000, sizeof(*uids)), uidv;
	unsigned seed = 1, done = 0, i;
	uint64_t bytes = 0;
	double t0 = bench_now();

	memset(blob, 'c', sizeof(blob));
	while (done < n) {
		unsigned batch = n - done < 1000 ? n - done : 1000;

		for (i = 0; i < batch; i++) {
			a[i] = (struct vimap_append){ bench_text, bench_size(&seed), 0, "",
				1700000000 + done + i, 0, blob, sizeof(blob) };
			bytes += a[i].size;
		}
		if (ops->append(u, "INBOX", a, batch, &uidv, uids, &err) < 0)
			bench_die("append", err.text);
		done += batch;
	}
	printf("fill: %u messages, %.1f MB, %.1f s (fsync off, APPENDs of 1000)\n", n,
	       (double)bytes / 1e6, bench_now() - t0);
	free(a);
	free(uids);
}

static int bench_count_cb(void *ctx, const struct vimap_message *m)
{
	unsigned *n = ctx;

	(*n)++;
	return 0;
}

static void bench_uid_cb(void *ctx, uint32_t uid)
{
	unsigned *n = ctx;

	(*n)++;
}

static void bench_report(const char *what, double secs, double target_ms, unsigned n)
{
	printf("%-40s %8.1f ms  (%u records; target < %.0f ms: %s)\n", what, secs * 1e3, n,
	       target_ms, secs * 1e3 < target_ms ? "met" : "MISSED");
}

/* EXPUNGE of every tenth message, and the clean-up it queues. */
static void bench_expunge(void *box, const uint32_t *uids, unsigned n)
{
	struct vimap_storage_error err = { 0, NULL };
	uint32_t *del = calloc(n / 10 + 1, sizeof(*del));
	unsigned count, i, ndel = 0;
	double t0;

	for (i = 0; i < n; i += 10)
		del[ndel++] = uids[i];
	t0 = bench_now();
	if (ops->store(box, del, ndel, VIMAP_STORE_ADD, VIMAP_FLAG_DELETED, "", NULL, NULL,
		       &err) < 0)
		bench_die("store", err.text);
	printf("%-40s %8.1f ms\n", "store +FLAGS (\\Deleted) on 10%", (bench_now() - t0) * 1e3);
	count = 0;
	t0 = bench_now();
	if (ops->expunge(box, NULL, 0, bench_uid_cb, &count, &err) < 0)
		bench_die("expunge", err.text);
	bench_report(bench_pool_workers != NULL ? "expunge 10% (clean-up queued)"
		     : "expunge 10% (clean-up included)", bench_now() - t0, 400, count);
	if (bench_pool_workers != NULL) {
		t0 = bench_now();
		workers_destroy(&bench_pool_workers);
		host_set_workers(NULL);
		printf("%-40s %8.1f ms\n", "  its background clean-up (files, cache)",
		       (bench_now() - t0) * 1e3);
	}
	free(del);
}

/* The four mailbox operations on the filled mailbox. */
static void bench_mailbox(void *u, unsigned n)
{
	struct vimap_storage_error err = { 0, NULL };
	struct vimap_mailbox_info info;
	uint32_t *uids = calloc(n, sizeof(*uids));
	unsigned count, i, k;
	void *box;
	double t0, best;

	if (ops->mailbox_open(u, "INBOX", &box, &info, &err) < 0)
		bench_die("mailbox_open", err.text);
	for (k = 0, best = 1e9; k < 5; k++) {
		count = 0;
		t0 = bench_now();
		if (ops->mailbox_sync(box, 0, 0, bench_count_cb, bench_uid_cb, &count, &info,
				      &err) < 0)
			bench_die("mailbox_sync", err.text);
		t0 = bench_now() - t0;
		if (k == 0)
			printf("%-40s %8.1f ms\n", "mailbox_sync(0), first run", t0 * 1e3);
		best = t0 < best ? t0 : best;
	}
	bench_report("mailbox_sync(0) without cache, best of 5", best, 50, count);
	for (i = 0; i < n; i++)
		uids[i] = i + 1;
	for (k = 0, best = 1e9; k < 3; k++) {
		count = 0;
		t0 = bench_now();
		if (ops->fetch(box, uids, n, VIMAP_WANT_CACHE, bench_count_cb, &count, &err) < 0)
			bench_die("fetch", err.text);
		t0 = bench_now() - t0;
		best = t0 < best ? t0 : best;
	}
	bench_report("fetch all with cache, best of 3", best, 200, count);
	count = 0;
	t0 = bench_now();
	if (ops->store(box, uids, n, VIMAP_STORE_ADD, VIMAP_FLAG_SEEN, "", bench_count_cb, &count,
		       &err) < 0)
		bench_die("store", err.text);
	bench_report("store +FLAGS (\\Seen) on all", bench_now() - t0, 400, count);
	bench_expunge(box, uids, n);
	ops->mailbox_close(box);
	free(uids);
}

struct bench_thread {
	char user[32];
	unsigned count;
	unsigned seed;
	double latency_max;
};

static void *bench_thread_run(void *arg)
{
	struct bench_thread *t = arg;
	struct vimap_storage_error err = { 0, NULL };
	void *u = bench_open(t->user);
	unsigned i;

	for (i = 0; i < t->count; i++) {
		struct vimap_append a = { bench_text, bench_size(&t->seed), 0, "", 1700000000, 0,
					  bench_text, 400 };
		uint32_t uid, uidv;
		double t0 = bench_now();

		if (ops->append(u, "INBOX", &a, 1, &uidv, &uid, &err) < 0)
			bench_die("append", err.text);
		t0 = bench_now() - t0;
		if (t0 > t->latency_max)
			t->latency_max = t0;
	}
	ops->user_close(u);
	return NULL;
}

static void bench_counter_cb(const char *name, int64_t value, void *ctx)
{
	int64_t *v = ctx;

	if (strcmp(name, "localfs.appended") == 0)
		v[0] = value;
	else if (strcmp(name, "localfs.append_commits") == 0)
		v[1] = value;
}

/* `threads` threads append `per` messages each: one user per thread, or
   all on one user. */
static void bench_appends(unsigned threads, unsigned per, int one_user)
{
	struct bench_thread *t = calloc(threads, sizeof(*t));
	pthread_t *th = calloc(threads, sizeof(*th));
	double t0, secs, worst = 0;
	int64_t before[2] = { 0, 0 }, after[2] = { 0, 0 };
	unsigned i;

	stats_foreach(bench_counter_cb, before);
	for (i = 0; i < threads; i++) {
		snprintf(t[i].user, sizeof(t[i].user), one_user ? "bench-one" : "bench-%u", i);
		t[i].count = per;
		t[i].seed = 100 + i;
		if (!one_user || i == 0)
			bench_enroll(t[i].user);
	}
	t0 = bench_now();
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, bench_thread_run, &t[i]);
	for (i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		worst = t[i].latency_max > worst ? t[i].latency_max : worst;
	}
	secs = bench_now() - t0;
	stats_foreach(bench_counter_cb, after);
	printf("append, fsync on, %2u threads, %2u user%s %8.0f messages/s  (%u in %.2f s, "
	       "slowest append %.1f ms; target 1100/s: %s)\n", threads, one_user ? 1 : threads,
	       one_user ? ": " : "s:", threads * per / secs, threads * per, secs,
	       worst * 1e3, threads * per / secs >= 1100 ? "met" : "MISSED");
	if (after[1] > before[1])
		printf("  %.1f messages per commit on average (group commit)\n",
		       (double)(after[0] - before[0]) / (double)(after[1] - before[1]));
	free(t);
	free(th);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 100000;
	unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 20;
	unsigned per = argc > 3 ? (unsigned)atoi(argv[3]) : 200;
	char tmp[] = "/var/tmp/vimap-bench-XXXXXX";
	const char *error = NULL;
	size_t i;
	void *u;

	bench_dir = getenv("VIMAP_BENCH_PLUGIN_DIR") ? getenv("VIMAP_BENCH_PLUGIN_DIR")
		: BENCH_PLUGIN_DIR;
	bench_name = getenv("VIMAP_BENCH_PLUGIN") ? getenv("VIMAP_BENCH_PLUGIN") : "localfs";
	bench_pool = getenv("VIMAP_BENCH_FILEPOOL");
	if (bench_pool == NULL) {
		if (mkdtemp(tmp) == NULL)
			bench_die("mkdtemp", strerror(errno));
		bench_pool = tmp;
	}
	for (i = 0; i < sizeof(bench_text); i++)
		bench_text[i] = i % 72 == 70 ? '\r' : i % 72 == 71 ? '\n' : (char)('a' + i % 26);
	log_init("bench", 0, VIMAP_LOG_WARNING);
	if (loader_global_init(&error) < 0)
		bench_die("loader_global_init", error);
	printf("plugin %s, filepool %s\n", bench_name, bench_pool);
	bench_load(0);
	bench_enroll("bench-box");
	u = bench_open("bench-box");
	if (n > 0)
		bench_fill(u, n);
	ops->user_close(u);
	bench_load(1);
	if (getenv("VIMAP_BENCH_NO_POOL") == NULL) {
		if ((bench_pool_workers = workers_create(4, &error)) == NULL)
			bench_die("workers_create", error);
		host_set_workers(bench_pool_workers);
	}
	u = bench_open("bench-box");
	if (n > 0)
		bench_mailbox(u, n);
	ops->user_close(u);
	if (threads > 0 && per > 0) {
		bench_appends(threads, per, 0);
		bench_appends(threads, per, 1);
	}
	loader_close(&bench_plugin);
	config_free(&bench_cfg);
	if (getenv("VIMAP_BENCH_FILEPOOL") == NULL) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_localfs: could not remove %s\n", tmp);
	}
	return 0;
}
