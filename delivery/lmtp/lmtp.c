/* The delivery source `lmtp`: RFC 2033 LMTP on a TCP address or a Unix
 * socket, for an MTA's last hop into the store.  This file is the plugin
 * glue: configuration, counters, start and stop.  See lmtp-private.h for
 * the other files and docs/delivery-lmtp.md for the configuration.
 *
 * Configuration (`plugins: lmtp:`):
 *   listen               "127.0.0.1:2424", "[::1]:2424", "unix:/path" (required)
 *   hostname             greeting and LHLO name (default: servername)
 *   max_message_size     octets (default 50 MiB)
 *   max_recipients       per transaction (default 100)
 *   max_sessions         concurrent connections (default 100)
 *   timeout              seconds of client silence before 421 (default 300)
 *   temp_dir             where DATA is spooled, unlinked (default /var/tmp)
 *   recipient_delimiter  "+" (default): user+detail@domain is user; "" off
 *   socket_mode          octal mode of a Unix socket (default "0660") */
#include "autoconfig.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "error.h"
#include "lmtp-private.h"
#include "xalloc.h"

#define LMTP_DEFAULT_MAX_SIZE (50ULL * 1024 * 1024)

static const char *const lmtp_keys[] = {
	"listen", "hostname", "max_message_size", "max_recipients", "max_sessions",
	"timeout", "temp_dir", "recipient_delimiter", "socket_mode", NULL
};

static const char *const lmtp_counter_names[LMTP_COUNTER_COUNT] = {
	[LMTP_COUNTER_DELIVERED] = "delivered",
	[LMTP_COUNTER_REJECTED] = "rejected",
	[LMTP_COUNTER_TEMPFAIL] = "tempfail",
	[LMTP_COUNTER_CONNECTIONS] = "connections",
};

void lmtp_log(struct lmtp_server *srv, enum vimap_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	srv->host->log(srv->ctx, level, "%s", line);
}

void lmtp_count(struct lmtp_server *srv, enum lmtp_counter counter)
{
	srv->host->counter_add(srv->ctx, srv->counters[counter], 1);
}

/* Reads the string keys into srv->set. */
static int lmtp_config_strings(struct lmtp_server *srv, const char **error_r)
{
	const struct vimap_host *host = srv->host;
	const char *listen, *hostname, *temp_dir, *delim, *mode, *server_name;
	char *end;
	long m;

	server_name = host->setting(srv->ctx, "servername");
	if (host->config_string(srv->ctx, "listen", NULL, &listen, error_r) < 0 ||
	    host->config_string(srv->ctx, "hostname",
				server_name != NULL ? server_name : "vimap",
				&hostname, error_r) < 0 ||
	    host->config_string(srv->ctx, "temp_dir", "/var/tmp", &temp_dir, error_r) < 0 ||
	    host->config_string(srv->ctx, "recipient_delimiter", "+", &delim, error_r) < 0 ||
	    host->config_string(srv->ctx, "socket_mode", "0660", &mode, error_r) < 0)
		return -1;
	if (listen == NULL || *listen == '\0')
		return error_set(error_r, "plugins.lmtp.listen is required "
				 "(e.g. \"127.0.0.1:2424\" or \"unix:/run/vimap/lmtp.sock\")");
	if (strpbrk(hostname, " \t\r\n") != NULL || *hostname == '\0')
		return error_set(error_r, "plugins.lmtp.hostname: '%s' is no host name", hostname);
	errno = 0;
	m = strtol(mode, &end, 8);
	if (errno != 0 || *end != '\0' || m < 0 || m > 0777)
		return error_set(error_r, "plugins.lmtp.socket_mode: '%s' is no octal mode", mode);
	srv->set.listen = xstrdup(listen);
	srv->set.hostname = xstrdup(hostname);
	srv->set.temp_dir = xstrdup(temp_dir);
	srv->set.recipient_delimiter = xstrdup(delim);
	srv->set.socket_mode = (unsigned)m;
	return 0;
}

static int lmtp_config(struct lmtp_server *srv, const char **error_r)
{
	const struct vimap_host *host = srv->host;
	long long size, rcpts, sessions, timeout;

	if (host->config_check_keys(srv->ctx, lmtp_keys, error_r) < 0 ||
	    lmtp_config_strings(srv, error_r) < 0 ||
	    host->config_int(srv->ctx, "max_message_size", (long long)LMTP_DEFAULT_MAX_SIZE,
			     1024, 1LL << 40, &size, error_r) < 0 ||
	    host->config_int(srv->ctx, "max_recipients", 100, 1, 100000, &rcpts, error_r) < 0 ||
	    host->config_int(srv->ctx, "max_sessions", 100, 1, 100000, &sessions, error_r) < 0 ||
	    host->config_int(srv->ctx, "timeout", 300, 1, 86400, &timeout, error_r) < 0)
		return -1;
	srv->set.max_message_size = (uint64_t)size;
	srv->set.max_recipients = (unsigned)rcpts;
	srv->set.max_sessions = (unsigned)sessions;
	srv->set.timeout_ms = (unsigned)timeout * 1000;
	return 0;
}

static void lmtp_deinit(void *state);

static int lmtp_init(struct vimap_plugin_ctx *ctx, const struct vimap_host *host,
		     void **state_r, const char **error_r)
{
	struct lmtp_server *srv = xcalloc(1, sizeof(*srv));
	unsigned i;

	srv->ctx = ctx;
	srv->host = host;
	srv->listen_fd = -1;
	srv->stop_fd = -1;
	pthread_mutex_init(&srv->lock, NULL);
	if (!VIMAP_HOST_HAS(host, deliver) || !VIMAP_HOST_HAS(host, user_enrolled)) {
		lmtp_deinit(srv);
		return error_set(error_r, "the kernel's host table has no deliver() "
				 "(ABI 1.1 needed)");
	}
	for (i = 0; i < LMTP_COUNTER_COUNT; i++) {
		if (host->counter_register(ctx, lmtp_counter_names[i], &srv->counters[i],
					   error_r) < 0) {
			lmtp_deinit(srv);
			return -1;
		}
	}
	if (lmtp_config(srv, error_r) < 0) {
		lmtp_deinit(srv);
		return -1;
	}
	*state_r = srv;
	return 0;
}

static int lmtp_start(void *state, unsigned threads, const char **error_r)
{
	struct lmtp_server *srv = state;

	/* LMTP sessions are per connection: `threads` (READERTHREADS) sizes
	   nothing here. */
	(void)threads;
	srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->stop_fd < 0)
		return error_set(error_r, "eventfd() failed: %s", strerror(errno));
	if (lmtp_listen_open(srv, error_r) < 0 || lmtp_listen_start(srv, error_r) < 0)
		return -1;
	srv->started = 1;
	lmtp_log(srv, VIMAP_LOG_INFO, "listening on %s", srv->set.listen);
	return 0;
}

static void lmtp_stop(void *state)
{
	struct lmtp_server *srv = state;

	if (!srv->started)
		return;
	lmtp_listen_stop(srv);
	srv->started = 0;
}

static void lmtp_deinit(void *state)
{
	struct lmtp_server *srv = state;

	lmtp_stop(srv);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->stop_fd >= 0)
		close(srv->stop_fd);
	pthread_mutex_destroy(&srv->lock);
	free(srv->set.listen);
	free(srv->set.hostname);
	free(srv->set.temp_dir);
	free(srv->set.recipient_delimiter);
	free(srv);
}

static const struct vimap_delivery_ops lmtp_ops = {
	.size = sizeof(struct vimap_delivery_ops),
	.init = lmtp_init,
	.deinit = lmtp_deinit,
	.start = lmtp_start,
	/* No readers to add: a session is a connection (admin START skips
	   sources without add_reader). */
	.add_reader = NULL,
	.stop = lmtp_stop,
};

VIMAP_PLUGIN_DEFINE(VIMAP_PLUGIN_DELIVERY, "lmtp", PACKAGE_VERSION, &lmtp_ops);
