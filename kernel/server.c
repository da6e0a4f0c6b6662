#include "autoconfig.h"
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <vimap/storage.h>
#include "admin.h"
#include "auth-proxy.h"
#include "client.h"
#include "console.h"
#include "config.h"
#include "error.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "sasl.h"
#include "server.h"
#include "sources.h"
#include "tls.h"
#include "workers.h"
#include "xalloc.h"

struct server server = { .listen_fd = -1, .tls_listen_fd = -1 };

/* Accepts taken per readiness event before other work gets a turn. */
#define SERVER_ACCEPT_BATCH 64

#define SERVER_CAP_BASE "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS " \
	"UNSELECT CHILDREN MOVE SPECIAL-USE ACL RIGHTS=texk"

const char *server_capability(unsigned flags)
{
	/* Only what is implemented is advertised.  AUTH= and SASL-IR matter
	   before login; the rest is the same in both states.  Without TLS
	   where TLS is required, LOGINDISABLED replaces the plaintext
	   mechanisms (RFC 3501 6.2.3, 11.1). */
	if (flags & SERVER_CAP_AUTHENTICATED)
		return SERVER_CAP_BASE;
	if (flags & SERVER_CAP_LOGINDISABLED)
		return sasl_capability_join(flags & SERVER_CAP_STARTTLS ?
					    SERVER_CAP_BASE " STARTTLS LOGINDISABLED" :
					    SERVER_CAP_BASE " LOGINDISABLED", 0);
	return sasl_capability_join(flags & SERVER_CAP_STARTTLS ?
				    SERVER_CAP_BASE " STARTTLS" : SERVER_CAP_BASE, 1);
}

/* ---- listener ---- */

/* A listening socket on the configured address and `port`, in *fd_r. */
static int server_listen(const struct vimap_config *cfg, unsigned port, int *fd_r,
			 const char **error_r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, cfg->listen_address,
		      &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, cfg->listen_address,
			     &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		len = sizeof(struct sockaddr_in6);
	} else {
		return error_set(error_r, "listen address '%s' is not an IP address",
				 cfg->listen_address);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_set(error_r, "socket() failed: %s", strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1024) < 0) {
		error_set(error_r, "bind(%s port %u) failed: %s", cfg->listen_address,
			  port, strerror(errno));
		close(fd);
		return -1;
	}
	*fd_r = fd;
	return 0;
}

static void server_accept(struct io_thread *t, int listen_fd, int implicit_tls)
{
	int i;

	for (i = 0; i < SERVER_ACCEPT_BATCH && !server.shutting_down; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(listen_fd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				log_error("listener", "accept() failed: %s: raise the "
					  "descriptor limit", strerror(errno));
			else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_error("listener", "accept() failed: %s", strerror(errno));
			return;
		}
		client_create(t, fd, (struct sockaddr *)&ss, implicit_tls);
	}
}

static void server_accept_cb(void *ctx, uint32_t events)
{
	(void)events;
	server_accept(ctx, server.listen_fd, 0);
}

static void server_accept_tls_cb(void *ctx, uint32_t events)
{
	(void)events;
	server_accept(ctx, server.tls_listen_fd, 1);
}

/* ---- I/O threads ---- */

/* A command still running at shutdown gets this long to finish. */
#define SERVER_SHUTDOWN_GRACE 10

static void server_tick_cb(void *ctx)
{
	struct io_thread *t = ctx;

	if (t->stopping && ioloop_now(t->loop) >= t->stop_deadline) {
		client_shutdown_all(t, "Server shutting down.", 1);
		ioloop_stop(t->loop);
		return;
	}
	client_check_idle(t);
}

void server_thread_client_gone(struct io_thread *t)
{
	if (t->stopping && t->client_count == 0)
		ioloop_stop(t->loop);
}

static void *server_thread_main(void *arg)
{
	struct io_thread *t = arg;

	ioloop_run(t->loop);
	return NULL;
}

static int server_start_threads(const char **error_r)
{
	unsigned i, n = server.config->io_threads;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (n == 0)
		n = cpus > 0 ? (unsigned)cpus : 1;
	server.threads = xcalloc(n, sizeof(*server.threads));
	for (i = 0; i < n; i++) {
		struct io_thread *t = &server.threads[i];

		t->index = i;
		t->tls_listen_io.fd = -1;
		t->loop = ioloop_create(error_r);
		if (t->loop == NULL)
			return -1;
		/* EPOLLEXCLUSIVE: one thread wakes per connection, not all. */
		if (ioloop_add(t->loop, &t->listen_io, server.listen_fd,
			       EPOLLIN | EPOLLEXCLUSIVE, server_accept_cb, t, error_r) < 0)
			return -1;
		if (server.tls_listen_fd >= 0 &&
		    ioloop_add(t->loop, &t->tls_listen_io, server.tls_listen_fd,
			       EPOLLIN | EPOLLEXCLUSIVE, server_accept_tls_cb, t, error_r) < 0)
			return -1;
		ioloop_set_tick(t->loop, server_tick_cb, t);
		if (pthread_create(&t->thread, NULL, server_thread_main, t) != 0) {
			ioloop_destroy(&t->loop);
			return error_set(error_r, "pthread_create() failed");
		}
		server.thread_count = i + 1;
	}
	return 0;
}

/* ---- plugins ---- */

static int server_load_plugin(const char *name, enum vimap_plugin_kind kind,
			      struct vimap_plugin_ctx **plugin_r, const char **error_r)
{
	const struct vimap_config *cfg = server.config;

	if (loader_open(cfg->plugin_dir, name, kind, plugin_r, error_r) < 0)
		return -1;
	if (loader_init(*plugin_r, config_plugin_section(cfg, name), error_r) < 0) {
		loader_close(plugin_r);
		return -1;
	}
	log_info("loader", "loaded %s plugin %s %s from %s", loader_kind_name(kind),
		 name, (*plugin_r)->desc->version, (*plugin_r)->path);
	return 0;
}

/* A store of an older format is refused with the command that upgrades
   it (the seed's IMAP5TO6), before any client can touch it. */
static int server_check_store_format(const char **error_r)
{
	const struct vimap_storage_ops *ops = server.storage->desc->ops;
	struct vimap_storage_error err = { 0, NULL };

	if (ops->size < offsetof(struct vimap_storage_ops, check_format) +
	    sizeof(ops->check_format) || ops->check_format == NULL)
		return 0;
	if (ops->check_format(server.storage->state, &err) < 0)
		return error_set(error_r, "storage %s: %s", server.storage->name, err.text);
	return 0;
}

static int server_load_plugins(const char **error_r)
{
	const struct vimap_config *cfg = server.config;

	if (loader_global_init(error_r) < 0)
		return -1;
	/* A configured plugin that does not load stops start-up: an auth
	   plugin is never skipped (STYLE 5).  Under privilege separation the
	   auth process has it, and server.auth is the proxy to it. */
	server.auth = auth_proxy_plugin();
	if (server.auth == NULL &&
	    server_load_plugin(cfg->authenticate, VIMAP_PLUGIN_AUTH, &server.auth,
			       error_r) < 0)
		return -1;
	if (server_load_plugin(cfg->storage, VIMAP_PLUGIN_STORAGE, &server.storage,
			       error_r) < 0)
		return -1;
	return server_check_store_format(error_r);
}

/* ---- start and stop ---- */

/* 10,000 connections need more descriptors than the usual 1024. */
static void server_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			log_info("server", "descriptor limit raised from %llu to %llu",
				 (unsigned long long)old, (unsigned long long)rl.rlim_cur);
	} else {
		log_info("server", "descriptor limit is %llu", (unsigned long long)rl.rlim_cur);
	}
}

int server_start(struct vimap_config *config, const char **error_r)
{
	server.config = config;
	server.started = (int64_t)time(NULL);
	server_raise_fd_limit();
	server.workers = workers_create(config->worker_threads, error_r);
	if (server.workers == NULL)
		return -1;
	host_set_workers(server.workers);
	/* A certificate that does not load stops start-up here, before
	   any plugin is loaded. */
	if (tls_init(config, error_r) < 0)
		return -1;
	if (server_load_plugins(error_r) < 0)
		return -1;
	if (server_listen(config, config->port, &server.listen_fd, error_r) < 0)
		return -1;
	if (tls_enabled() && config->tls_port != 0 &&
	    server_listen(config, config->tls_port, &server.tls_listen_fd, error_r) < 0)
		return -1;
	return admin_start(config, error_r);
}

int server_serve(const char **error_r)
{
	const struct vimap_config *config = server.config;

	if (server_start_threads(error_r) < 0)
		return -1;
	if (sources_start(config, error_r) < 0 || console_start(error_r) < 0)
		return -1;
	log_info("server", "listening on %s port %u with %u I/O threads and %u workers",
		 config->listen_address, config->port, server.thread_count,
		 config->worker_threads);
	if (server.tls_listen_fd >= 0)
		log_info("server", "implicit TLS on %s port %u", config->listen_address,
			 config->tls_port);
	return 0;
}

static void server_thread_shutdown(void *arg)
{
	struct io_thread *t = arg;

	ioloop_remove(t->loop, &t->listen_io);
	ioloop_remove(t->loop, &t->tls_listen_io);
	t->stopping = 1;
	t->stop_deadline = ioloop_now(t->loop) + SERVER_SHUTDOWN_GRACE;
	/* Idle clients go now; a command in flight finishes and is answered
	   first, so nothing a client was told is done is cut short. */
	client_shutdown_all(t, "Server shutting down.", 0);
	if (t->client_count == 0)
		ioloop_stop(t->loop);
}

void server_stop(void)
{
	unsigned i;

	server.shutting_down = 1;
	admin_stop();
	console_stop();
	/* Deliveries in flight finish while the store is still open. */
	sources_stop();
	for (i = 0; i < server.thread_count; i++)
		(void)ioloop_post(server.threads[i].loop, server_thread_shutdown,
				  &server.threads[i]);
	for (i = 0; i < server.thread_count; i++)
		pthread_join(server.threads[i].thread, NULL);
	/* Workers finish what they hold before plugins go away. */
	host_set_workers(NULL);
	workers_destroy(&server.workers);
	for (i = 0; i < server.thread_count; i++)
		ioloop_destroy(&server.threads[i].loop);
	free(server.threads);
	server.threads = NULL;
	server.thread_count = 0;
	if (server.listen_fd >= 0)
		close(server.listen_fd);
	server.listen_fd = -1;
	if (server.tls_listen_fd >= 0)
		close(server.tls_listen_fd);
	server.tls_listen_fd = -1;
	tls_deinit();
	loader_close(&server.storage);
	loader_close(&server.auth);
	loader_global_deinit();
}

/* SIGHUP: new certificate and key for new connections; the rest of the
   configuration needs a restart. */
static void server_reload(void)
{
	const char *error;

	if (!tls_enabled())
		log_info("server", "SIGHUP received: nothing to reload "
			 "(configuration changes need a restart)");
	else if (tls_reload(&error) < 0)
		log_error("server", "SIGHUP: TLS reload failed, keeping the old "
			  "certificate: %s", error);
	else
		log_info("server", "SIGHUP: TLS certificate and key reloaded");
}

void server_run_until_signal(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			server_reload();
			continue;
		}
		log_info("server", "%s received: shutting down",
			 sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
	server_stop();
	log_info("server", "stopped");
}
