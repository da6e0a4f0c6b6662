#include "autoconfig.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "alert.h"
#include "client.h"
#include "config.h"
#include "error.h"
#include "imap-commands.h"
#include "log.h"
#include "mailbox-view.h"
#include "mailbox-notify.h"
#include "sasl.h"
#include "session.h"
#include "server.h"
#include "stats.h"
#include "tls.h"
#include "trace.h"
#include "workers.h"
#include "xalloc.h"

/* Largest command line without its literals. */
#define CLIENT_MAX_LINE (64 * 1024)
/* Input is held while this much output waits: a client that does not read
   its responses cannot make the server buffer without bound. */
#define CLIENT_MAX_OUTPUT (1024 * 1024)
#define CLIENT_READ_CHUNK 16384
/* Output buffers larger than this are given back once written. */
#define CLIENT_KEEP_OUTPUT 4096

static void client_process(struct client *c, const char *data, size_t len);
static void client_flush(struct client *c);
static void client_update_events(struct client *c);

/* ---- idle lists ---- */

static struct client **client_idle_head(struct client *c)
{
	return c->idle_auth ? &c->thread->auth_head : &c->thread->unauth_head;
}

static struct client **client_idle_tail(struct client *c)
{
	return c->idle_auth ? &c->thread->auth_tail : &c->thread->unauth_tail;
}

static void client_idle_unlink(struct client *c)
{
	struct client **head = client_idle_head(c), **tail = client_idle_tail(c);

	if (c->idle_prev != NULL)
		c->idle_prev->idle_next = c->idle_next;
	else if (*head == c)
		*head = c->idle_next;
	if (c->idle_next != NULL)
		c->idle_next->idle_prev = c->idle_prev;
	else if (*tail == c)
		*tail = c->idle_prev;
	c->idle_prev = c->idle_next = NULL;
}

static void client_idle_append(struct client *c)
{
	struct client **head, **tail;

	c->idle_auth = c->state != CLIENT_STATE_NOT_AUTHENTICATED;
	head = client_idle_head(c);
	tail = client_idle_tail(c);

	c->idle_prev = *tail;
	c->idle_next = NULL;
	if (*tail != NULL)
		(*tail)->idle_next = c;
	else
		*head = c;
	*tail = c;
	c->last_activity = ioloop_now(c->thread->loop);
}

/* Activity: the client goes to the young end of its idle list. */
static void client_touch(struct client *c)
{
	client_idle_unlink(c);
	client_idle_append(c);
}

/* ---- lifetime ---- */

static void client_session_destroy_job(void *arg)
{
	struct session *s = arg;

	session_destroy(&s);
}

static void client_free(void *arg)
{
	struct client *c = arg;

	if (c->sess != NULL) {
		/* Here, on the client's thread: no notification may reach the
		   client once it is freed. */
		notify_unwatch(&c->sess->watch);
		/* Closing the store may block: not on an I/O thread. */
		if (workers_submit(server.workers, client_session_destroy_job, c->sess) < 0)
			session_destroy(&c->sess);
		c->sess = NULL;
	}
	imap_reader_deinit(&c->reader);
	pool_free(&c->cmd_pool);
	strbuf_free(&c->out);
	strbuf_free(&c->pending);
	free(c->user);
	free(c->idle_tag);
	free(c->sasl_tag);
	sasl_exchange_release(&c->sasl);
	free(c);
}

static void client_unref(struct client *c)
{
	/* Freed after the round: an event later in it may still name c. */
	if (--c->refcount == 0)
		ioloop_defer(c->thread->loop, client_free, c);
}

static void client_io_cb(void *ctx, uint32_t events);

static void client_peer_name(struct client *c, const struct sockaddr *addr)
{
	const void *a = addr->sa_family == AF_INET6 ?
		(const void *)&((const struct sockaddr_in6 *)addr)->sin6_addr :
		(const void *)&((const struct sockaddr_in *)addr)->sin_addr;

	if (inet_ntop(addr->sa_family, a, c->peer, sizeof(c->peer)) == NULL)
		strcpy(c->peer, "unknown");
	/* An IPv4 client on a dual-stack socket: show it as IPv4. */
	if (strncmp(c->peer, "::ffff:", 7) == 0 && strchr(c->peer, '.') != NULL)
		memmove(c->peer, c->peer + 7, strlen(c->peer + 7) + 1);
}

static int client_addr_is_loopback(const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (addr->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return 1;
		/* ::ffff:127.x.y.z on a dual-stack socket */
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return 0;
}

int client_plaintext_ok(const struct client *c)
{
	if (c->tls_active)
		return 1;
	switch (server.config->tls_require) {
	case CONFIG_TLS_REQUIRE_NEVER:
		return 1;
	case CONFIG_TLS_REQUIRE_ALWAYS:
		return 0;
	default:
		return c->loopback;
	}
}

const char *client_capability(const struct client *c)
{
	unsigned flags = 0;

	if (c->state != CLIENT_STATE_NOT_AUTHENTICATED)
		return server_capability(SERVER_CAP_AUTHENTICATED);
	if (c->ssl == NULL && tls_enabled())
		flags |= SERVER_CAP_STARTTLS;
	if (!client_plaintext_ok(c))
		flags |= SERVER_CAP_LOGINDISABLED;
	return server_capability(flags);
}

void client_create(struct io_thread *thread, int fd, const struct sockaddr *addr,
		   int implicit_tls)
{
	struct client *c = xcalloc(1, sizeof(*c));
	const char *error;
	int one = 1;

	c->thread = thread;
	c->state = CLIENT_STATE_NOT_AUTHENTICATED;
	c->refcount = 1;
	client_peer_name(c, addr);
	c->loopback = client_addr_is_loopback(addr);
	imap_reader_init(&c->reader, server.config->max_literal, CLIENT_MAX_LINE);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (implicit_tls) {
		if ((c->ssl = tls_new(fd, &error)) == NULL) {
			log_error("client", "%s: %s", c->peer, error);
			close(fd);
			client_free(c);
			return;
		}
		c->tls_active = 1;
	}
	if (ioloop_add(thread->loop, &c->io, fd, EPOLLIN | EPOLLRDHUP, client_io_cb,
		       c, &error) < 0) {
		log_error("client", "%s", error);
		tls_free(&c->ssl);
		close(fd);
		client_free(c);
		return;
	}
	thread->client_count++;
	stats_add(STATS_CONNECTIONS_NOW, 1);
	stats_add(STATS_CONNECTIONS_TOTAL, 1);
	client_idle_append(c);
	if (trace_on(VIMAP_TRACE_SOCKLIBCALLS, NULL))
		trace_msg("socket", "accept() = %d from %s%s", fd, c->peer,
			  implicit_tls ? " (TLS)" : "");
	/* On the TLS port the greeting waits in `out` for the handshake. */
	client_sendf(c, "* OK [CAPABILITY %s] vimap ready.\r\n", client_capability(c));
	client_flush(c);
}

void client_close(struct client *c, const char *reason)
{
	int fd = c->io.fd;

	if (c->closing)
		return;
	c->closing = 1;
	client_flush(c);
	ioloop_remove(c->thread->loop, &c->io);
	if (trace_on(VIMAP_TRACE_SOCKLIBCALLS, NULL))
		trace_msg("socket", "close(%d) for %s", fd, c->peer);
	tls_free(&c->ssl);
	close(fd);
	client_idle_unlink(c);
	c->thread->client_count--;
	stats_add(STATS_CONNECTIONS_NOW, -1);
	server_thread_client_gone(c->thread);
	log_info("client", "%s%s%s: connection closed: %s", c->peer,
		 c->user != NULL ? " user " : "", c->user != NULL ? c->user : "",
		 reason);
	client_unref(c);
}

void client_bye(struct client *c, const char *text, const char *reason)
{
	client_sendf(c, "* BYE %s\r\n", text);
	client_close(c, reason);
}

/* ---- output ---- */

static void client_trace_io(struct client *c, const char *dir,
			    const char *data, size_t len)
{
	size_t start = 0;

	while (start < len) {
		const char *lf = memchr(data + start, '\n', len - start);
		size_t end = lf != NULL ? (size_t)(lf - data) : len;
		size_t show = end - start;

		if (show > 0 && data[start + show - 1] == '\r')
			show--;
		trace_msg("socketio", "%s %s %.*s", c->peer, dir,
			  (int)(show > 400 ? 400 : show), data + start);
		start = end + 1;
	}
}

void client_send(struct client *c, const char *data, size_t len)
{
	if (c->closing)
		return;
	if (trace_on(VIMAP_TRACE_SOCKETIO, c->peer))
		client_trace_io(c, "S:", data, len);
	strbuf_append(&c->out, data, len);
}

void client_sendf(struct client *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		/* Longer lines are rare: build them in a buffer of their own. */
		char *big = xmalloc((size_t)n + 1);

		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		client_send(c, big, (size_t)n);
		free(big);
		return;
	}
	client_send(c, line, (size_t)n);
}

void client_send_tagged(struct client *c, const char *tag, const char *status,
			const char *code, const char *text)
{
	if (code != NULL)
		client_sendf(c, "%s %s [%s] %s\r\n", tag, status, code, text);
	else
		client_sendf(c, "%s %s %s\r\n", tag, status, text);
}

static void client_tls_begin(struct client *c);

/* One write of the output: 1 and *n_r bytes written, 0 when the socket
   cannot take more now, -1 on failure with the reason in *reason_r. */
static int client_write_some(struct client *c, size_t *n_r, const char **reason_r)
{
	const char *error;

	if (c->ssl != NULL) {
		switch (tls_write(c->ssl, c->out.data, c->out.len, n_r, &error)) {
		case TLS_IO_OK:
			return 1;
		case TLS_IO_WANT_WRITE:
			return 0;
		case TLS_IO_WANT_READ:
			/* The handshake (or a key update) needs the peer first. */
			c->tls_want_read = 1;
			return 0;
		case TLS_IO_CLOSED:
			*reason_r = "disconnected by the client";
			return -1;
		default:
			*reason_r = error_fmt("TLS write failed: %s", error);
			return -1;
		}
	}
	for (;;) {
		ssize_t n = write(c->io.fd, c->out.data, c->out.len);

		if (n >= 0) {
			*n_r = (size_t)n;
			return 1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return 0;
		*reason_r = "write failed";
		return -1;
	}
}

/* Writes what it can without blocking; waits for EPOLLOUT for the rest. */
static void client_flush(struct client *c)
{
	while (c->out.len > 0) {
		const char *reason;
		size_t n;
		int ret = client_write_some(c, &n, &reason);

		if (ret < 0) {
			if (!c->closing) {
				strbuf_reset(&c->out);
				client_close(c, reason);
				return;
			}
			break;
		}
		if (ret == 0)
			break;
		stats_add(STATS_BYTES_OUT, (int64_t)n);
		strbuf_consume(&c->out, n);
	}
	if (c->out.len == 0 && c->out.cap > CLIENT_KEEP_OUTPUT)
		strbuf_free(&c->out);
	/* STARTTLS: its OK has gone out in plaintext; TLS from here on. */
	if (c->out.len == 0 && c->starttls_pending && !c->closing)
		client_tls_begin(c);
	if (!c->closing)
		client_update_events(c);
}

static void client_tls_kick(struct client *c);

/* Reads while there is no command in flight and the output is drained
   enough; writes while output waits. */
static void client_update_events(struct client *c)
{
	uint32_t ev = 0;

	c->input_stalled = c->busy || c->out.len > CLIENT_MAX_OUTPUT ||
		c->starttls_pending;
	/* Level-triggered: a stalled client must not be told of input (or of
	   the peer's half-close) over and over until it can take it. */
	if (!c->input_stalled || c->tls_want_read)
		ev |= EPOLLIN | EPOLLRDHUP;
	/* Output that waits for the peer's handshake bytes waits for EPOLLIN:
	   EPOLLOUT would fire at once, again and again. */
	if ((c->out.len > 0 && !c->tls_want_read) || c->tls_want_write)
		ev |= EPOLLOUT;
	(void)ioloop_modify(c->thread->loop, &c->io, ev);
	if (!c->input_stalled && c->ssl != NULL && tls_has_pending(c->ssl))
		client_tls_kick(c);
}

/* ---- input ---- */

static void client_reject(struct client *c)
{
	struct imap_reader *r = &c->reader;

	client_send_tagged(c, r->tag[0] != '\0' ? r->tag : "*",
			   r->reject_no ? "NO" : "BAD", r->reject_code, r->reject_text);
	imap_reader_next(r);
}

static void client_end_idle(struct client *c, const char *line, size_t len);

static void client_run_command(struct client *c)
{
	char alert[512];
	struct imap_command_args cmd;
	const char *error;
	int ret;

	if (c->idling) {
		client_end_idle(c, c->reader.cmd.data, c->reader.cmd.len);
		imap_reader_next(&c->reader);
		return;
	}
	if (c->sasl_tag != NULL) {
		char *tag = c->sasl_tag;

		c->sasl_tag = NULL;
		imap_auth_continue(c, tag, c->reader.cmd.data, c->reader.cmd.len);
		free(tag);
		imap_reader_next(&c->reader);
		if (!c->busy)
			pool_clear(&c->cmd_pool);
		return;
	}
	ret = imap_parse_command(c->reader.cmd.data, c->reader.cmd.len,
				 &c->cmd_pool, &cmd, &error);
	if (ret > 0 && trace_on(VIMAP_TRACE_SOCKETIO, c->peer))
		imap_command_trace(c, &cmd);
	imap_reader_next(&c->reader);
	if (ret == 0) {
		pool_clear(&c->cmd_pool);
		return;
	}
	if (ret < 0) {
		client_send_tagged(c, cmd.tag != NULL ? cmd.tag : "*", "BAD", NULL, error);
		pool_clear(&c->cmd_pool);
		return;
	}
	if (alert_take(&c->alert_seen, alert, sizeof(alert)))
		client_sendf(c, "* OK [ALERT] %s\r\n", alert);
	imap_command_run(c, &cmd);
	if (!c->busy)
		pool_clear(&c->cmd_pool);
}

/* Feeds bytes to the reader and runs each command that completes.  Stops
   when a command goes to the worker pool; the rest waits in `pending`. */
static void client_process(struct client *c, const char *data, size_t len)
{
	while (len > 0 && !c->closing && !c->busy && !c->starttls_pending) {
		size_t used;

		switch (imap_reader_feed(&c->reader, data, len, &used)) {
		case IMAP_READER_AGAIN:
			break;
		case IMAP_READER_CONTINUE:
			client_send(c, "+ OK\r\n", 6);
			break;
		case IMAP_READER_REJECT:
			client_reject(c);
			break;
		case IMAP_READER_COMMAND:
			client_run_command(c);
			break;
		}
		data += used;
		len -= used;
	}
	if (c->starttls_pending) {
		/* Pipelined behind STARTTLS in plaintext: never executed. */
		if (len > 0)
			log_info("client", "%s: %zu bytes sent after STARTTLS before TLS "
				 "discarded", c->peer, len);
		return;
	}
	if (len > 0 && !c->closing)
		strbuf_append(&c->pending, data, len);
}

/* The handshake just finished: the channel is private from now on. */
static void client_tls_established(struct client *c)
{
	char desc[128];

	c->tls_logged = 1;
	log_info("client", "%s: TLS established: %s", c->peer,
		 tls_describe(c->ssl, desc, sizeof(desc)));
}

/* One TLS read: as client_read_some. */
static int client_tls_read(struct client *c, char *buf, size_t size, size_t *n_r)
{
	const char *error;
	enum tls_io_result ret = tls_read(c->ssl, buf, size, n_r, &error);

	if (!c->tls_logged && tls_handshake_done(c->ssl))
		client_tls_established(c);
	switch (ret) {
	case TLS_IO_OK:
		return 1;
	case TLS_IO_WANT_READ:
		return 0;
	case TLS_IO_WANT_WRITE:
		c->tls_want_write = 1;
		return 0;
	case TLS_IO_CLOSED:
		client_close(c, "disconnected by the client");
		return -1;
	default:
		client_close(c, error_fmt("%s: %s", c->tls_logged ? "TLS error" :
					  "TLS handshake failed", error));
		return -1;
	}
}

/* One read: 1 and *n_r bytes, 0 when nothing more is there now, -1 when
   the connection ended (it is closed). */
static int client_read_some(struct client *c, char *buf, size_t size, size_t *n_r)
{
	ssize_t n;

	if (c->ssl != NULL)
		return client_tls_read(c, buf, size, n_r);
	do {
		n = read(c->io.fd, buf, size);
	} while (n < 0 && errno == EINTR);
	if (n == 0) {
		client_close(c, "disconnected by the client");
		return -1;
	}
	if (n < 0) {
		if (errno == EAGAIN)
			return 0;
		client_close(c, errno == ECONNRESET ? "connection reset" : "read failed");
		return -1;
	}
	*n_r = (size_t)n;
	return 1;
}

static void client_read(struct client *c)
{
	char buf[CLIENT_READ_CHUNK];
	int rounds = 0;

	/* A bounded number of reads per event: one busy client cannot starve
	   the others on this thread. */
	while (!c->closing && !c->busy && !c->starttls_pending &&
	       c->out.len <= CLIENT_MAX_OUTPUT && rounds++ < 8) {
		size_t n;

		if (client_read_some(c, buf, sizeof(buf), &n) <= 0)
			return;
		stats_add(STATS_BYTES_IN, (int64_t)n);
		client_touch(c);
		if (trace_on(VIMAP_TRACE_SOCKLIBCALLS, NULL))
			trace_msg("socket", "%s(%d) = %zu", c->ssl != NULL ? "SSL_read" : "read",
				  c->io.fd, n);
		client_process(c, buf, n);
		/* A short plaintext read emptied the socket; TLS reads are
		   short by the record, so TLS reads on until it says WANT_READ. */
		if (c->ssl == NULL && n < sizeof(buf))
			return;
	}
}

/* ---- TLS ---- */

void client_start_tls(struct client *c)
{
	c->starttls_pending = 1;
	/* Input held behind a command before STARTTLS: plaintext too. */
	strbuf_free(&c->pending);
}

static void client_tls_begin(struct client *c)
{
	const char *error;

	c->starttls_pending = 0;
	c->ssl = tls_new(c->io.fd, &error);
	if (c->ssl == NULL) {
		log_error("client", "%s: %s", c->peer, error);
		client_close(c, "TLS set-up failed");
		return;
	}
	c->tls_active = 1;
	if (trace_on(VIMAP_TRACE_SOCKLIBCALLS, NULL))
		trace_msg("socket", "STARTTLS: TLS handshake on %d", c->io.fd);
}

static void client_tls_kick_run(void *arg)
{
	struct client *c = arg;

	c->tls_kick = 0;
	if (!c->closing && !c->input_stalled)
		client_read(c);
	if (!c->closing)
		client_flush(c);
	client_unref(c);
}

/* Input decrypted and buffered inside the TLS session raises no epoll
   event: read it on the next round. */
static void client_tls_kick(struct client *c)
{
	if (c->tls_kick)
		return;
	c->tls_kick = 1;
	c->refcount++;
	if (ioloop_post(c->thread->loop, client_tls_kick_run, c) < 0) {
		c->tls_kick = 0;
		c->refcount--;
	}
}

static void client_io_cb(void *ctx, uint32_t events)
{
	struct client *c = ctx;

	c->refcount++; /* c stays whole until this event is handled */
	/* TLS: a read that waited for writability, a write for readability. */
	if (c->tls_want_write && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		c->tls_want_write = 0;
		events |= EPOLLIN;
	}
	if (c->tls_want_read && (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
		c->tls_want_read = 0;
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) && !c->input_stalled)
		client_read(c);
	else if (events & (EPOLLERR | EPOLLHUP))
		client_close(c, "connection lost");
	if (!c->closing)
		client_flush(c);
	client_unref(c);
}

/* ---- blocking work ---- */

struct client_job {
	struct client *c;
	client_work_cb *work;
	client_done_cb *done;
	void *ctx;
};

static void client_job_done(void *arg)
{
	struct client_job *job = arg;
	struct client *c = job->c;

	c->busy = 0;
	job->done(c, job->ctx);
	free(job);
	if (c->bye_pending && !c->closing) {
		client_bye(c, "Server shutting down.", "server shutting down");
	} else if (!c->closing) {
		struct strbuf held = c->pending;

		pool_clear(&c->cmd_pool);
		/* Input that arrived behind the command runs now, in order. */
		memset(&c->pending, 0, sizeof(c->pending));
		client_process(c, held.data != NULL ? held.data : "", held.len);
		strbuf_free(&held);
		client_flush(c);
	}
	client_unref(c);
}

static void client_job_run(void *arg)
{
	struct client_job *job = arg;

	job->work(job->ctx);
	if (ioloop_post(job->c->thread->loop, client_job_done, job) < 0) {
		/* The loop has stopped (shutdown): nobody will read the answer. */
		free(job);
	}
}

void client_run_blocking(struct client *c, client_work_cb *work,
			 client_done_cb *done, void *ctx)
{
	struct client_job *job = xmalloc(sizeof(*job));

	job->c = c;
	job->work = work;
	job->done = done;
	job->ctx = ctx;
	c->busy = 1;
	c->refcount++;
	if (workers_submit(server.workers, client_job_run, job) < 0) {
		free(job);
		c->busy = 0;
		c->refcount--;
		done(c, ctx);
		return;
	}
	client_update_events(c);
}

/* ---- IDLE ---- */

struct client_idle_job {
	struct session *s;
};

static void client_idle_work(void *arg)
{
	struct client_idle_job *job = arg;
	struct session *s = job->s;
	struct vimap_storage_error err;

	strbuf_reset(&s->out);
	atomic_store(&s->dirty, 0);
	if (session_refresh_rights(s, &s->out) < 0)
		return;
	if (s->view != NULL &&
	    mailbox_view_sync(s->view, session_storage(NULL), VIEW_SYNC_FULL, 0,
			      &s->out, &err) < 0) {
		if (err.code == VIMAP_STORAGE_ERR_NONEXISTENT) {
			strbuf_appends(&s->out, "* BYE The selected mailbox was deleted.\r\n");
			s->new_state = CLIENT_STATE_LOGOUT;
		} else {
			log_error("storage", "user %s: sync of %s failed: %s", s->user,
				  s->view->name, err.text);
		}
	}
}

static void client_idle_done(struct client *c, void *arg)
{
	struct client_idle_job *job = arg;
	struct session *s = job->s;

	free(job);
	c->idle_syncing = 0;
	if (c->closing)
		return;
	client_send(c, s->out.data != NULL ? s->out.data : "", s->out.len);
	strbuf_reset(&s->out);
	if (s->new_state == CLIENT_STATE_LOGOUT) {
		s->new_state = 0;
		client_enter_state(c, CLIENT_STATE_LOGOUT);
		return;
	}
	/* Changes that came while this sync ran: one more round. */
	if (c->idling && atomic_load(&s->dirty))
		client_mailbox_changed(c);
}

void client_mailbox_changed(struct client *c)
{
	struct client_idle_job *job;

	if (c->closing || !c->idling || c->busy || c->idle_syncing || c->sess == NULL)
		return;
	job = xmalloc(sizeof(*job));
	job->s = c->sess;
	c->idle_syncing = 1;
	client_run_blocking(c, client_idle_work, client_idle_done, job);
}

void client_start_idle(struct client *c, const char *tag)
{
	c->idling = 1;
	free(c->idle_tag);
	c->idle_tag = xstrdup(tag);
	client_send(c, "+ idling\r\n", 10);
	if (c->sess != NULL && atomic_load(&c->sess->dirty))
		client_mailbox_changed(c);
}

/* The line after IDLE: DONE ends it; anything else is a protocol error
   that also ends it (RFC 2177 3). */
static void client_end_idle(struct client *c, const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	c->idling = 0;
	if (len == 4 && strncasecmp(line, "DONE", 4) == 0)
		client_send_tagged(c, c->idle_tag, "OK", NULL, "IDLE terminated.");
	else
		client_send_tagged(c, c->idle_tag, "BAD", NULL, "Expected DONE.");
	free(c->idle_tag);
	c->idle_tag = NULL;
}

/* ---- state and timers ---- */

void client_enter_state(struct client *c, int state)
{
	if (state == CLIENT_STATE_LOGOUT) {
		client_close(c, "session ended by the server");
		return;
	}
	if (c->state == CLIENT_STATE_NOT_AUTHENTICATED && c->sess != NULL &&
	    c->sess->user != NULL) {
		/* The authenticated timeout applies from now on. */
		client_idle_unlink(c);
		c->state = (enum client_state)state;
		free(c->user);
		c->user = xstrdup(c->sess->user);
		client_idle_append(c);
		return;
	}
	c->state = (enum client_state)state;
}

static void client_expire(struct client *head, int64_t now, unsigned timeout)
{
	while (head != NULL && now - head->last_activity >= (int64_t)timeout) {
		struct client *next = head->idle_next;

		/* A command in flight is activity, not idleness. */
		if (!head->busy) {
			stats_add(STATS_IDLE_TIMEOUTS, 1);
			client_bye(head, "Idle timeout, closing connection.", "idle timeout");
		}
		head = next;
	}
}

void client_check_idle(struct io_thread *t)
{
	int64_t now = ioloop_now(t->loop);

	client_expire(t->unauth_head, now, server.config->idle_unauth);
	if (server.config->idle_auth > 0)
		client_expire(t->auth_head, now, server.config->idle_auth);
}

static void client_shutdown_list(struct client *c, const char *text, int force)
{
	while (c != NULL) {
		struct client *next = c->idle_next;

		if (c->busy && !force)
			c->bye_pending = 1;
		else
			client_bye(c, text, "server shutting down");
		c = next;
	}
}

void client_shutdown_all(struct io_thread *t, const char *text, int force)
{
	client_shutdown_list(t->unauth_head, text, force);
	client_shutdown_list(t->auth_head, text, force);
}
