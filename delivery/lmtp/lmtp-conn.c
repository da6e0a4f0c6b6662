/* One LMTP connection's socket I/O: a fixed input buffer read with
 * timeouts, and an output buffer of replies sent only when the session is
 * about to wait for input.  That gives PIPELINING (RFC 2920) its point:
 * replies to a pipelined group go out in one write. */
#include "autoconfig.h"
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "lmtp-private.h"

void lmtp_conn_init(struct lmtp_conn *conn, struct lmtp_server *srv, int fd,
		    const char *peer)
{
	int on = 1;

	conn->srv = srv;
	conn->fd = fd;
	snprintf(conn->peer, sizeof(conn->peer), "%s", peer);
	conn->in_start = conn->in_end = 0;
	conn->stop_deadline = 0;
	memset(&conn->out, 0, sizeof(conn->out));
	conn->trace = srv->host->trace_enabled(srv->ctx, VIMAP_TRACE_SOCKETIO);
	/* Replies are written whole; Nagle would only delay them. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

void lmtp_conn_deinit(struct lmtp_conn *conn)
{
	if (conn->fd >= 0)
		close(conn->fd);
	conn->fd = -1;
	strbuf_free(&conn->out);
}

void lmtp_conn_reply(struct lmtp_conn *conn, const char *fmt, ...)
{
	va_list ap;
	char line[1024];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	strbuf_appends(&conn->out, line);
	strbuf_append(&conn->out, "\r\n", 2);
	if (conn->trace)
		conn->srv->host->trace(conn->srv->ctx, VIMAP_TRACE_SOCKETIO, "%s < %s",
				       conn->peer, line);
}

static int64_t lmtp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to the timeout for `events` on the socket, also watching the
   stop eventfd.  With `watch_stop` a stop ends the wait (LMTP_IO_STOP);
   without (a message is being read or replies sent), the session goes on
   but has at most LMTP_STOP_GRACE_MS from the stop to finish, so a stalled
   client cannot hold the server's shutdown for the whole timeout. */
static enum lmtp_io lmtp_conn_wait(struct lmtp_conn *conn, short events, int watch_stop)
{
	int64_t timeout = conn->srv->set.timeout_ms;
	int ret;

	for (;;) {
		struct pollfd pfd[2] = { { conn->fd, events, 0 },
					 { conn->srv->stop_fd, POLLIN, 0 } };
		int stopping = conn->stop_deadline != 0;

		if (stopping && watch_stop)
			return LMTP_IO_STOP;
		if (stopping) {
			int64_t left = conn->stop_deadline - lmtp_now_ms();

			timeout = left < 0 ? 0 : left < timeout ? left : timeout;
		}
		ret = poll(pfd, stopping ? 1 : 2, (int)timeout);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			lmtp_log(conn->srv, VIMAP_LOG_ERROR, "%s: poll() failed: %s", conn->peer,
				 strerror(errno));
			return LMTP_IO_ERROR;
		}
		if (ret == 0)
			return LMTP_IO_TIMEOUT;
		if (!stopping && pfd[1].revents != 0 && watch_stop)
			return LMTP_IO_STOP;
		if (pfd[0].revents != 0)
			return LMTP_IO_OK;
		conn->stop_deadline = lmtp_now_ms() + LMTP_STOP_GRACE_MS;
	}
}

enum lmtp_io lmtp_conn_flush(struct lmtp_conn *conn)
{
	size_t done = 0;
	enum lmtp_io io;

	while (done < conn->out.len) {
		ssize_t n = send(conn->fd, conn->out.data + done, conn->out.len - done,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n >= 0) {
			done += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			lmtp_log(conn->srv, VIMAP_LOG_INFO, "%s: send() failed: %s",
				 conn->peer, strerror(errno));
			return LMTP_IO_ERROR;
		}
		if ((io = lmtp_conn_wait(conn, POLLOUT, 0)) != LMTP_IO_OK)
			return io;
	}
	strbuf_reset(&conn->out);
	return LMTP_IO_OK;
}

/* Reads more input (after sending pending replies).  Room is made by
   moving unread data to the front. */
static enum lmtp_io lmtp_conn_fill(struct lmtp_conn *conn, int watch_stop)
{
	enum lmtp_io io;
	ssize_t n;

	if ((io = lmtp_conn_flush(conn)) != LMTP_IO_OK)
		return io;
	if (conn->in_start > 0) {
		memmove(conn->in, conn->in + conn->in_start, conn->in_end - conn->in_start);
		conn->in_end -= conn->in_start;
		conn->in_start = 0;
	}
	for (;;) {
		n = recv(conn->fd, conn->in + conn->in_end, sizeof(conn->in) - conn->in_end,
			 MSG_DONTWAIT);
		if (n > 0) {
			conn->in_end += (size_t)n;
			return LMTP_IO_OK;
		}
		if (n == 0)
			return LMTP_IO_EOF;
		if (errno == EINTR)
			continue;
		if (errno == ECONNRESET)
			return LMTP_IO_EOF;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			lmtp_log(conn->srv, VIMAP_LOG_INFO, "%s: recv() failed: %s",
				 conn->peer, strerror(errno));
			return LMTP_IO_ERROR;
		}
		if ((io = lmtp_conn_wait(conn, POLLIN, watch_stop)) != LMTP_IO_OK)
			return io;
	}
}

int lmtp_conn_has_line(const struct lmtp_conn *conn)
{
	return memchr(conn->in + conn->in_start, '\n', conn->in_end - conn->in_start) != NULL;
}

enum lmtp_io lmtp_conn_next(struct lmtp_conn *conn, size_t max, int watch_stop,
			    const char **data_r, size_t *len_r, int *lf_r)
{
	enum lmtp_io io;

	if (max > sizeof(conn->in))
		max = sizeof(conn->in);
	for (;;) {
		const char *start = conn->in + conn->in_start;
		size_t avail = conn->in_end - conn->in_start;
		const char *lf = memchr(start, '\n', avail < max ? avail : max);

		if (lf != NULL || avail >= max) {
			size_t len = lf != NULL ? (size_t)(lf - start) + 1 : max;

			/* Keep a trailing CR back: its LF may come next. */
			if (lf == NULL && len > 1 && start[len - 1] == '\r')
				len--;
			*data_r = start;
			*len_r = len;
			*lf_r = lf != NULL;
			conn->in_start += len;
			return LMTP_IO_OK;
		}
		/* Only block when nothing complete is buffered. */
		if ((io = lmtp_conn_fill(conn, watch_stop)) != LMTP_IO_OK)
			return io;
	}
}
