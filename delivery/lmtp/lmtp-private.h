/* The LMTP delivery source (RFC 2033): declarations shared by its files.
 *
 *   lmtp.c          plugin glue: configuration, counters, start/stop
 *   lmtp-listen.c   the listening socket, the accept thread, session threads
 *   lmtp-conn.c     one connection's buffered, timed socket I/O
 *   lmtp-addr.c     MAIL FROM / RCPT TO argument parsing
 *   lmtp-session.c  the command state machine
 *   lmtp-data.c     DATA: streaming to a temporary file, delivery, replies
 *
 * One thread per connection: an LMTP session spends its time waiting on
 * the client or on a durable write (host->deliver blocks), so a plain
 * blocking thread is the simplest correct shape; `start(threads)` does not
 * size anything (sessions are per connection, bounded by max_sessions). */
#ifndef LMTP_PRIVATE_H
#define LMTP_PRIVATE_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <vimap/delivery.h>
#include "strbuf.h"

#define LMTP_INBUF_SIZE (64 * 1024)
#define LMTP_LINE_MAX 2048           /* a command line, CRLF included */
#define LMTP_MAX_BAD_COMMANDS 20     /* then 421 and close */
#define LMTP_STOP_GRACE_MS 30000     /* a session in DATA has this long after stop */

struct lmtp_settings {
	char *listen;                /* "host:port", "[v6]:port" or "unix:/path" */
	char *hostname;              /* in the greeting and the LHLO reply */
	char *temp_dir;              /* where DATA is spooled (unlinked files) */
	char *recipient_delimiter;   /* "+" : user+detail -> user; "" = none */
	uint64_t max_message_size;   /* octets, after dot-unstuffing */
	unsigned max_recipients;
	unsigned max_sessions;
	unsigned timeout_ms;         /* waiting for the client, any state */
	unsigned socket_mode;        /* of a Unix socket */
};

enum lmtp_counter {
	LMTP_COUNTER_DELIVERED,      /* recipients answered 250 after DATA */
	LMTP_COUNTER_REJECTED,       /* recipients answered 5xx (RCPT or DATA) */
	LMTP_COUNTER_TEMPFAIL,       /* recipients answered 4xx (RCPT or DATA) */
	LMTP_COUNTER_CONNECTIONS,    /* sessions accepted */
	LMTP_COUNTER_COUNT
};

struct lmtp_thread;

/* The plugin's state, from init to deinit. */
struct lmtp_server {
	struct vimap_plugin_ctx *ctx;
	const struct vimap_host *host;
	struct lmtp_settings set;
	unsigned counters[LMTP_COUNTER_COUNT];

	int listen_fd;
	int stop_fd;                 /* eventfd: readable once stop() began */
	int started;
	pthread_t accept_thread;
	pthread_mutex_t lock;        /* protects threads and active */
	struct lmtp_thread *threads; /* session threads not yet joined */
	unsigned active;             /* of those, still running */
};

/* ---- lmtp.c ---- */

/* Logs through the host, prefixed "lmtp: " by the host. */
void lmtp_log(struct lmtp_server *srv, enum vimap_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void lmtp_count(struct lmtp_server *srv, enum lmtp_counter counter);

/* ---- lmtp-listen.c ---- */

/* Opens the listening socket of srv->set.listen into srv->listen_fd.
   0, or -1 with an error naming the address. */
int lmtp_listen_open(struct lmtp_server *srv, const char **error_r);
/* Starts the accept thread.  0 or -1. */
int lmtp_listen_start(struct lmtp_server *srv, const char **error_r);
/* Stops accepting, then waits for every session to end (sessions in DATA
   finish their message first).  Closes the socket (and unlinks a Unix
   one). */
void lmtp_listen_stop(struct lmtp_server *srv);

/* ---- lmtp-conn.c ---- */

enum lmtp_io {
	LMTP_IO_OK = 0,
	LMTP_IO_EOF,                 /* the client closed */
	LMTP_IO_TIMEOUT,             /* nothing for timeout_ms */
	LMTP_IO_STOP,                /* the server is stopping */
	LMTP_IO_ERROR                /* a socket error (logged) */
};

struct lmtp_conn {
	struct lmtp_server *srv;
	int fd;
	char peer[80];               /* for the log */
	char in[LMTP_INBUF_SIZE];
	size_t in_start, in_end;
	struct strbuf out;           /* replies not yet sent */
	int64_t stop_deadline;       /* CLOCK_MONOTONIC ms; 0 = no stop seen */
	int trace;                   /* SOCKETIO tracing on */
};

/* Sets `conn` up on connected socket `fd` (taken over: closed by
   lmtp_conn_deinit). */
void lmtp_conn_init(struct lmtp_conn *conn, struct lmtp_server *srv, int fd,
		    const char *peer);
void lmtp_conn_deinit(struct lmtp_conn *conn);
/* The next piece of input: up to and including the next LF (*lf_r = 1),
   or, when no LF comes within `max` octets, that many without one
   (*lf_r = 0; a CR at its end is held back for the next call so CR LF is
   never split).  Pending replies are sent before it waits.  With
   `watch_stop` a stopping server ends the wait with LMTP_IO_STOP.  The
   data stay valid until the next call. */
enum lmtp_io lmtp_conn_next(struct lmtp_conn *conn, size_t max, int watch_stop,
			    const char **data_r, size_t *len_r, int *lf_r);
/* 1 when a whole line is already buffered (the client pipelines). */
int lmtp_conn_has_line(const struct lmtp_conn *conn);
/* Queues one reply line; CRLF is added. */
void lmtp_conn_reply(struct lmtp_conn *conn, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sends every queued reply.  LMTP_IO_OK or an error. */
enum lmtp_io lmtp_conn_flush(struct lmtp_conn *conn);

/* ---- lmtp-addr.c ---- */

/* Parses the argument of MAIL or RCPT after the verb: `keyword` is
   "FROM" or "TO"; `args` the rest of the line.  On success returns 0,
   *path_r the address between the angle brackets (caller frees; may be
   empty for MAIL) and *params_r where the parameters start (in `args`).
   -1 with the reason for a 501 otherwise. */
int lmtp_addr_parse(const char *args, const char *keyword, char **path_r,
		    const char **params_r, const char **error_r);
/* The user id in address `addr`: the local part (unquoted), cut at the
   first `delimiter` character when it has one.  Caller frees. */
char *lmtp_addr_user(const char *addr, const char *delimiter);
/* Reads MAIL parameters: SIZE=n (*size_r, 0 when absent) and BODY=7BIT or
   8BITMIME.  0, or -1 with the reason for a 555/501. */
int lmtp_addr_mail_params(const char *params, uint64_t *size_r, const char **error_r);

/* ---- lmtp-session.c ---- */

/* Runs one LMTP session on `fd` (taken over) to its end. */
void lmtp_session_run(struct lmtp_server *srv, int fd, const char *peer);

/* ---- lmtp-data.c ---- */

struct lmtp_rcpt {
	char *addr;                  /* as given in RCPT TO */
	char *user;                  /* the user id */
};

struct lmtp_txn {
	char *sender;                /* MAIL FROM path, "" for <> */
	struct lmtp_rcpt *rcpts;     /* accepted recipients, in order */
	unsigned rcpt_count, rcpt_alloc;
};

/* Reads the message after 354 up to the lone dot, spools it, delivers it
   to every recipient of `txn` and queues one reply per recipient, in
   order.  `scratch` holds the session's two temporary files (-1 until
   made here; the session closes them at its end).  LMTP_IO_OK when the
   session goes on; otherwise the connection failed (nothing was answered,
   nothing was delivered). */
enum lmtp_io lmtp_data_run(struct lmtp_conn *conn, const struct lmtp_txn *txn,
			   int scratch[2]);

#endif
