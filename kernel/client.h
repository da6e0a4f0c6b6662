/* A client connection: its socket, input assembly, output buffer, idle
 * timer and IMAP state.  A client lives on one I/O thread and is touched
 * only there; work that blocks runs on the worker pool through
 * client_run_blocking() and its result comes back to the client's thread. */
#ifndef VIMAP_CLIENT_H
#define VIMAP_CLIENT_H

#include <stdint.h>
#include <netinet/in.h>
#include "imap-parser.h"
#include "imap-reader.h"
#include "ioloop.h"
#include "pool.h"
#include "strbuf.h"

struct io_thread;
struct session;
struct sasl_exchange;
struct ssl_st;

enum client_state {
	CLIENT_STATE_NOT_AUTHENTICATED = 1 << 0,
	CLIENT_STATE_AUTHENTICATED = 1 << 1,
	CLIENT_STATE_SELECTED = 1 << 2,
	CLIENT_STATE_LOGOUT = 1 << 3
};

struct client {
	struct io io;
	struct io_thread *thread;
	char peer[INET6_ADDRSTRLEN]; /* the client's address, for logs and trace */
	struct ssl_st *ssl;          /* the TLS session, NULL while plaintext */
	/* Not bit-fields: read by client_plaintext_ok() from workers. */
	unsigned char loopback;      /* the peer is a loopback address */
	unsigned char tls_active;    /* over TLS (from the handshake on: no command
					runs before it ends); never reset */

	enum client_state state;
	char *user;                  /* once authenticated */
	struct session *sess;        /* made by the first command that needs one */

	struct imap_reader reader;
	struct pool cmd_pool;        /* the current command's memory */
	struct strbuf out;           /* output not yet written */
	struct strbuf pending;       /* input read but held while busy */

	/* Idle timer: the thread keeps its clients in last-activity order. */
	struct client *idle_prev, *idle_next;
	int64_t last_activity;

	uint32_t alert_seen;         /* generation of the last ALERT sent */
	unsigned refcount;           /* the connection, plus jobs in flight */
	unsigned busy:1;             /* a command waits for the worker pool */
	unsigned closing:1;          /* closed: no more input is processed */
	unsigned input_stalled:1;    /* input waits (busy or output backlog) */
	unsigned idle_auth:1;        /* on the authenticated idle list */
	unsigned idling:1;           /* in IDLE: waiting for DONE */
	unsigned bye_pending:1;      /* shutting down: BYE once the command ends */
	unsigned idle_syncing:1;     /* an IDLE sync job is on its way */
	unsigned starttls_pending:1; /* STARTTLS answered: TLS starts once it is written */
	unsigned tls_want_write:1;   /* a TLS read waits for the socket to be writable */
	unsigned tls_want_read:1;    /* a TLS write waits for the socket to be readable */
	unsigned tls_kick:1;         /* a read of TLS-buffered input is posted */
	unsigned tls_logged:1;       /* the handshake's end was logged */
	char *idle_tag;              /* the IDLE command's tag, while idling */
	char *sasl_tag;              /* AUTHENTICATE waiting for the client's line */
	struct sasl_exchange *sasl;  /* ...and its exchange (imap-cmd-auth.c) */
};

/* Takes over `fd` (a connected, non-blocking socket) on `thread`, sends
   the greeting and starts reading; with `implicit_tls` (the TLS port) the
   TLS handshake comes first.  On failure the fd is closed. */
void client_create(struct io_thread *thread, int fd, const struct sockaddr *addr,
		   int implicit_tls);

/* Appends to the output; written when the current round of input ends or
   when the socket is writable.  No-ops once the client is closing. */
void client_send(struct client *c, const char *data, size_t len);
void client_sendf(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sends "TAG STATUS [CODE] text" (code may be NULL). */
void client_send_tagged(struct client *c, const char *tag, const char *status,
			const char *code, const char *text);

/* Writes what is buffered and closes the connection; `reason` goes to the
   log.  Safe to call more than once; memory goes after the round. */
void client_close(struct client *c, const char *reason);

/* Sends "* BYE text" and closes (shutdown, timeouts, protocol errors). */
void client_bye(struct client *c, const char *text, const char *reason);

/* Runs `work(ctx)` on the worker pool, then `done(c, ctx)` back on the
   client's thread; input is held meanwhile, so commands stay in order.
   When the client closed in between, `done` still runs (it must free ctx)
   with c->closing set. */
typedef void client_work_cb(void *ctx);
typedef void client_done_cb(struct client *c, void *ctx);
void client_run_blocking(struct client *c, client_work_cb *work,
			 client_done_cb *done, void *ctx);

/* Moves the client to the authenticated state (starts its idle timer
   over with the authenticated timeout). */
void client_set_authenticated(struct client *c, const char *user);

/* Enters a new state after a command: AUTHENTICATED from the session's
   user (idle timer starts over), SELECTED, or LOGOUT (closes). */
void client_enter_state(struct client *c, int state);

/* Another session changed the selected mailbox: a client in IDLE is told
   at once (a sync job); others hear of it after their next command. */
void client_mailbox_changed(struct client *c);

/* IDLE (RFC 2177): answers "+ idling" and holds the session until DONE,
   telling the client of changes as they happen. */
void client_start_idle(struct client *c, const char *tag);

/* Whether a plaintext password (LOGIN, AUTHENTICATE PLAIN/LOGIN) may be
   accepted on this connection: 1 when TLS is active, or the peer is on
   loopback and `tls: require` is "non-loopback" (the default), or require
   is "never"; 0 otherwise. */
int client_plaintext_ok(const struct client *c);

/* STARTTLS, after its tagged OK was queued: the rest of the input already
   received is discarded (RFC 3501 6.2.1: no plaintext command may ride
   into the TLS session), and the handshake begins once the OK is written.
   The caller checked that TLS is configured and not active yet. */
void client_start_tls(struct client *c);

/* The capability list for this connection's state (STARTTLS, LOGINDISABLED
   and AUTH= depend on it).  A static string. */
const char *client_capability(const struct client *c);

/* Called by the thread once a second: closes clients idle too long. */
void client_check_idle(struct io_thread *thread);

/* Sends BYE to every client of the thread and closes it (shutdown).  A
   client with a command in flight is closed when the command has been
   answered, unless `force`. */
void client_shutdown_all(struct io_thread *thread, const char *text, int force);

#endif
