#include "autoconfig.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vimap/delivery.h>
#include "error.h"
#include "spool-private.h"
#include "xalloc.h"

static const char *const spool_keys[] = {
	"directory", "passthrough", "poll_interval", "retry_interval", "retry_max",
	NULL
};

static void spool_free(struct spool *s)
{
	unsigned i;

	for (i = 0; i < s->origin_count; i++)
		free(s->origins[i]);
	free(s->origins);
	free(s->dir);
	free(s->passthrough);
	free(s->bad_dir);
	free(s->readers);
	pthread_mutex_destroy(&s->mutex);
	pthread_cond_destroy(&s->cond);
	free(s);
}

/* MAILORIGINID as the host gives it: ids separated by one space. */
static void spool_origins(struct spool *s, const char *list)
{
	char *copy = xstrdup(list != NULL ? list : "SMTP"), *save = NULL, *tok;

	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		s->origins = xrealloc(s->origins, (s->origin_count + 1) * sizeof(char *));
		s->origins[s->origin_count++] = xstrdup(tok);
	}
	free(copy);
}

static int spool_config(struct spool *s, const char **error_r)
{
	struct vimap_plugin_ctx *ctx = s->ctx;
	const struct vimap_host *h = s->host;
	const char *dir, *pass, *bad;

	if (h->config_check_keys(ctx, spool_keys, error_r) < 0 ||
	    h->config_string(ctx, "directory", NULL, &dir, error_r) < 0 ||
	    h->config_string(ctx, "passthrough", NULL, &pass, error_r) < 0 ||
	    h->config_int(ctx, "poll_interval", 60, 1, 86400, &s->poll_interval,
			  error_r) < 0 ||
	    h->config_int(ctx, "retry_interval", 30, 1, 86400, &s->retry_interval,
			  error_r) < 0 ||
	    h->config_int(ctx, "retry_max", 3600, 1, 7 * 86400, &s->retry_max,
			  error_r) < 0)
		return -1;
	if (dir == NULL || *dir == '\0')
		return error_set(error_r, "plugins: spool: 'directory' (the spool "
				 "directory) is required");
	bad = h->setting(ctx, "badfileid");
	if (bad == NULL || *bad == '\0')
		return error_set(error_r, "badfileid (the bad-file directory) is not set");
	s->dir = xstrdup(dir);
	s->passthrough = pass != NULL && *pass != '\0' ? xstrdup(pass) : NULL;
	s->bad_dir = xstrdup(bad);
	spool_origins(s, h->setting(ctx, "mailoriginid"));
	return 0;
}

static int spool_init(struct vimap_plugin_ctx *ctx, const struct vimap_host *host,
		      void **state_r, const char **error_r)
{
	struct spool *s = xcalloc(1, sizeof(*s));

	s->ctx = ctx;
	s->host = host;
	s->dir_fd = s->work_fd = s->bad_fd = s->pass_fd = s->lock_fd = -1;
	s->inotify_fd = s->wake_fd = -1;
	pthread_mutex_init(&s->mutex, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (!VIMAP_HOST_HAS(host, xlate_table)) {
		spool_free(s);
		return error_set(error_r, "the kernel's host table is older than ABI 1.1 "
				 "(no deliver/xlate_table)");
	}
	if (spool_config(s, error_r) < 0 ||
	    host->counter_register(ctx, "delivered", &s->c_delivered, error_r) < 0 ||
	    host->counter_register(ctx, "passed_through", &s->c_passed, error_r) < 0 ||
	    host->counter_register(ctx, "bad", &s->c_bad, error_r) < 0 ||
	    host->counter_register(ctx, "tempfail", &s->c_tempfail, error_r) < 0) {
		spool_free(s);
		return -1;
	}
	*state_r = s;
	return 0;
}

static int spool_open_dir(const char *path, int *fd_r, const char **error_r)
{
	if (spool_mkdirs(path, error_r) < 0)
		return -1;
	*fd_r = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd_r < 0)
		return error_set(error_r, "open(%s) failed: %s", path, strerror(errno));
	return 0;
}

/* Opens (creating when missing) every directory and locks the spool: one
   server per spool directory, or two would both read .work/ at start-up. */
static int spool_open(struct spool *s, const char **error_r)
{
	if (spool_open_dir(s->dir, &s->dir_fd, error_r) < 0 ||
	    spool_open_dir(s->bad_dir, &s->bad_fd, error_r) < 0 ||
	    (s->passthrough != NULL &&
	     spool_open_dir(s->passthrough, &s->pass_fd, error_r) < 0))
		return -1;
	if (mkdirat(s->dir_fd, SPOOL_WORK_DIR, 0750) < 0 && errno != EEXIST)
		return error_set(error_r, "mkdir(%s/%s) failed: %s", s->dir,
				 SPOOL_WORK_DIR, strerror(errno));
	s->work_fd = openat(s->dir_fd, SPOOL_WORK_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->work_fd < 0)
		return error_set(error_r, "open(%s/%s) failed: %s", s->dir, SPOOL_WORK_DIR,
				 strerror(errno));
	s->lock_fd = openat(s->dir_fd, SPOOL_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (s->lock_fd < 0)
		return error_set(error_r, "open(%s/%s) failed: %s", s->dir,
				 SPOOL_LOCK_FILE, strerror(errno));
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return error_set(error_r, "spool directory %s is in use by another "
				 "server (flock(%s): %s)", s->dir, SPOOL_LOCK_FILE,
				 strerror(errno));
	return 0;
}

static void *spool_reader_thread(void *arg)
{
	struct spool *s = arg;
	struct spool_item *it;

	while ((it = spool_queue_take(s)) != NULL)
		spool_file_process(s, it);
	return NULL;
}

static int spool_add_reader(void *state, const char **error_r)
{
	struct spool *s = state;
	pthread_t t;
	int err;

	pthread_mutex_lock(&s->mutex);
	if (s->stopping) {
		pthread_mutex_unlock(&s->mutex);
		return error_set(error_r, "the spool is stopping");
	}
	if ((err = pthread_create(&t, NULL, spool_reader_thread, s)) != 0) {
		pthread_mutex_unlock(&s->mutex);
		return error_set(error_r, "pthread_create() failed: %s", strerror(err));
	}
	if (s->reader_count == s->reader_cap) {
		s->reader_cap = s->reader_cap == 0 ? 4 : s->reader_cap * 2;
		s->readers = xrealloc(s->readers, s->reader_cap * sizeof(*s->readers));
	}
	s->readers[s->reader_count++] = t;
	pthread_mutex_unlock(&s->mutex);
	spool_log(s, VIMAP_LOG_INFO, "reader %u started on %s", s->reader_count, s->dir);
	return 0;
}

static int spool_start(void *state, unsigned threads, const char **error_r)
{
	struct spool *s = state;
	const char *error;
	unsigned i;

	if (s->host->xlate_table(s->ctx, s->to_ascii, (unsigned char[256]){ 0 },
				 &s->table_name, &error) < 0)
		return error_set(error_r, "%s", error);
	if (spool_open(s, error_r) < 0)
		return -1;
	s->started = 1;
	for (i = 0; i < (threads > 0 ? threads : 1); i++)
		if (spool_add_reader(s, error_r) < 0)
			return -1;
	if (spool_watch_start(s, error_r) < 0)
		return -1;
	spool_log(s, VIMAP_LOG_INFO, "watching %s with %u readers, translate table %s, "
		  "bad files to %s, passthrough %s", s->dir, s->reader_count,
		  s->table_name, s->bad_dir, s->passthrough ? s->passthrough : "(none)");
	return 0;
}

static void spool_stop(void *state)
{
	struct spool *s = state;
	unsigned i, n;

	spool_queue_stop(s);
	spool_watch_stop(s);
	pthread_mutex_lock(&s->mutex);
	n = s->reader_count;
	pthread_mutex_unlock(&s->mutex);
	/* Readers finish the file in hand, then see `stopping`. */
	for (i = 0; i < n; i++)
		pthread_join(s->readers[i], NULL);
	s->reader_count = 0;
	spool_queue_clear(s);
	s->started = 0;
}

static void spool_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void spool_deinit(void *state)
{
	struct spool *s = state;

	if (s->started || s->reader_count > 0 || s->watcher_running)
		spool_stop(s);
	spool_close_fd(&s->dir_fd);
	spool_close_fd(&s->work_fd);
	spool_close_fd(&s->bad_fd);
	spool_close_fd(&s->pass_fd);
	spool_close_fd(&s->lock_fd);
	spool_free(s);
}

static const struct vimap_delivery_ops spool_ops = {
	.size = sizeof(struct vimap_delivery_ops),
	.init = spool_init,
	.deinit = spool_deinit,
	.start = spool_start,
	.add_reader = spool_add_reader,
	.stop = spool_stop,
};

VIMAP_PLUGIN_DEFINE(VIMAP_PLUGIN_DELIVERY, "spool", PACKAGE_VERSION, &spool_ops);
