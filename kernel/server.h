/* The running server: configuration, loaded plugins, I/O threads, the
 * listener, the worker pool, and the start-up and shutdown sequence. */
#ifndef VIMAP_SERVER_H
#define VIMAP_SERVER_H

#include <pthread.h>
#include <stdint.h>
#include "ioloop.h"

struct client;
struct vimap_config;
struct vimap_plugin_ctx;
struct workers;

/* One I/O thread and the clients it serves. */
struct io_thread {
	pthread_t thread;
	unsigned index;
	struct ioloop *loop;
	struct io listen_io;              /* the shared listening socket */
	struct io tls_listen_io;          /* the implicit TLS port's, when open */
	unsigned client_count;
	/* Idle order (oldest activity first), one list per timeout. */
	struct client *unauth_head, *unauth_tail;
	struct client *auth_head, *auth_tail;
	int stopping;                     /* shutting down: stop once no client is left */
	int64_t stop_deadline;            /* ...or at this time, whatever is left */
};

/* Called by a client as it closes: ends a stopping thread's loop once its
   last client is gone. */
void server_thread_client_gone(struct io_thread *thread);

struct server {
	struct vimap_config *config;
	struct vimap_plugin_ctx *auth;     /* the `authenticate` plugin */
	struct vimap_plugin_ctx *storage;  /* the `storage` plugin */
	struct workers *workers;
	int listen_fd;
	int tls_listen_fd;                 /* implicit TLS port, -1 when none */
	unsigned thread_count;
	struct io_thread *threads;
	int shutting_down;
	int64_t started;                   /* time(NULL) at start-up */
};

/* The one server of the process. */
extern struct server server;

/* Starts the worker pool, loads the plugins, binds the listeners and the
   admin socket (what may need root).  0, or -1 with a one-line reason
   (start-up then stops). */
int server_start(struct vimap_config *config, const char **error_r);
/* Starts serving what server_start() bound: the I/O threads (accepting
   clients), the delivery sources and the console.  Called after privileges
   are dropped, so no network input is ever parsed with more.  0, or -1. */
int server_serve(const char **error_r);

/* Waits for SIGTERM/SIGINT (shutdown) and SIGHUP (reloads the TLS
   certificate and key), then stops: BYE to every client, threads joined,
   plugins unloaded. */
void server_run_until_signal(void);

/* Stops everything server_start() started; safe after a partial start. */
void server_stop(void);

/* What server_capability() describes; 0 is a plaintext connection before
   login where TLS is not offered and passwords are allowed. */
enum server_cap_flags {
	SERVER_CAP_AUTHENTICATED = 1 << 0, /* logged in (== 1: `authenticated`) */
	SERVER_CAP_STARTTLS = 1 << 1,      /* TLS is offered and not active */
	SERVER_CAP_LOGINDISABLED = 1 << 2  /* no plaintext password allowed */
};

/* The capabilities for a connection state made of enum server_cap_flags
   (no leading space); a static string.  client_capability() knows a
   client's flags. */
const char *server_capability(unsigned flags);

#endif
