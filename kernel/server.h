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
	unsigned thread_count;
	struct io_thread *threads;
	int shutting_down;
	int64_t started;                   /* time(NULL) at start-up */
};

/* The one server of the process. */
extern struct server server;

/* Loads the plugins, opens the listener, starts the worker pool and the I/O
   threads.  0, or -1 with a one-line reason (start-up then stops). */
int server_start(struct vimap_config *config, const char **error_r);

/* Waits for SIGTERM/SIGINT (shutdown) and SIGHUP (logged), then stops:
   BYE to every client, threads joined, plugins unloaded. */
void server_run_until_signal(void);

/* Stops everything server_start() started; safe after a partial start. */
void server_stop(void);

/* The capabilities for the current connection state (no leading space). */
const char *server_capability(int authenticated);

#endif
