/* DATA: the message after 354, dot-unstuffed and with every line ended by
 * CRLF, is streamed through a small buffer into an unlinked temporary file
 * (O_TMPFILE, else mkstemp + unlink), never held whole in memory; the
 * session keeps that file and empties it for its next message.  The
 * file starts with the first recipient's Return-Path and Delivered-To
 * lines; each further recipient gets its own file with its own two lines
 * and a kernel-side copy of the body (copy_file_range).  Then host->deliver
 * stores it for each recipient in RCPT order and each gets its reply: 250
 * only once deliver said the message is durable. */
#include "autoconfig.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fd-util.h"
#include "lmtp-private.h"
#include "xalloc.h"

#define LMTP_SPOOL_BUF (64 * 1024)

struct lmtp_spool {
	struct lmtp_conn *conn;
	const struct lmtp_txn *txn;
	int fd;                      /* scratch[0]; -1 when it could not be made */
	int *scratch;                /* the session's two scratch files */
	int write_errno;             /* the first write error, 0 = none */
	int too_big;                 /* over max_message_size: not stored */
	size_t head_len;             /* the first recipient's header lines */
	uint64_t body_len;           /* octets of the message proper */
	char *buf;
	size_t buf_len;
};

/* An unlinked file in temp_dir, or -1 (errno set). */
static int lmtp_spool_tmpfile(const char *dir)
{
	char *path;
	int fd;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
#endif
	path = xasprintf("%s/vimap-lmtp-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		(void)unlink(path);
	free(path);
	return fd;
}

/* The session's scratch file *fd emptied for the next message, made on
   first use.  Reusing one file per session rather than one per message
   spares the file system an inode allocation and a deletion per message
   (ext4 without a journal scans past recently deleted inodes on every
   create).  The descriptor, or -1 (errno set). */
static int lmtp_spool_scratch(const char *dir, int *fd)
{
	if (*fd >= 0 && (ftruncate(*fd, 0) < 0 || lseek(*fd, 0, SEEK_SET) < 0)) {
		close(*fd);
		*fd = -1;
	}
	if (*fd < 0)
		*fd = lmtp_spool_tmpfile(dir);
	return *fd;
}

static void lmtp_spool_flush(struct lmtp_spool *sp)
{
	if (sp->buf_len > 0 && sp->fd >= 0 && sp->write_errno == 0 &&
	    fd_write_all(sp->fd, sp->buf, sp->buf_len) < 0)
		sp->write_errno = errno;
	sp->buf_len = 0;
}

/* Appends to the file through the buffer; `body` octets count towards the
   size limit. */
static void lmtp_spool_write(struct lmtp_spool *sp, const char *data, size_t len, int body)
{
	if (body) {
		if (sp->too_big || sp->body_len + len > sp->conn->srv->set.max_message_size) {
			sp->too_big = 1;
			return;
		}
		sp->body_len += len;
	}
	if (sp->buf_len + len > LMTP_SPOOL_BUF)
		lmtp_spool_flush(sp);
	if (len > LMTP_SPOOL_BUF) {
		if (sp->fd >= 0 && sp->write_errno == 0 && fd_write_all(sp->fd, data, len) < 0)
			sp->write_errno = errno;
		return;
	}
	memcpy(sp->buf + sp->buf_len, data, len);
	sp->buf_len += len;
}

/* The trace lines a recipient's copy starts with. */
static char *lmtp_spool_header(const struct lmtp_txn *txn, unsigned i)
{
	return xasprintf("Return-Path: <%s>\r\nDelivered-To: %s\r\n", txn->sender,
			 txn->rcpts[i].addr);
}

/* Reads the dot-terminated message into the spool.  LMTP_IO_OK at the
   lone dot, else the connection's failure. */
static enum lmtp_io lmtp_spool_read(struct lmtp_spool *sp)
{
	const char *data;
	size_t len;
	int lf, bol = 1;
	enum lmtp_io io;

	for (;;) {
		io = lmtp_conn_next(sp->conn, LMTP_INBUF_SIZE, 0, &data, &len, &lf);
		if (io != LMTP_IO_OK)
			return io;
		if (bol && data[0] == '.') {
			if (lf && (len == 2 || (len == 3 && data[1] == '\r')))
				return LMTP_IO_OK;
			/* Dot-stuffing: a leading dot was doubled. */
			data++;
			len--;
		}
		if (!lf) {
			lmtp_spool_write(sp, data, len, 1);
			bol = 0;
			continue;
		}
		len--;
		if (len > 0 && data[len - 1] == '\r')
			len--;
		lmtp_spool_write(sp, data, len, 1);
		lmtp_spool_write(sp, "\r\n", 2, 1);
		bol = 1;
	}
}

/* A copy of the message for recipient i > 0: its own header lines, then
   the body from the first file.  The descriptor, or -1 (errno set). */
static int lmtp_spool_copy(const struct lmtp_spool *sp, unsigned i, uint64_t *length_r)
{
	char *head = lmtp_spool_header(sp->txn, i);
	size_t head_len = strlen(head);
	loff_t in_off = (loff_t)sp->head_len;
	uint64_t left = sp->body_len;
	int fd = lmtp_spool_scratch(sp->conn->srv->set.temp_dir, &sp->scratch[1]);

	if (fd < 0 || fd_write_all(fd, head, head_len) < 0)
		goto fail;
	while (left > 0) {
		ssize_t n = copy_file_range(sp->fd, &in_off, fd, NULL, left, 0);
		char buf[8192];

		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
			      errno == EOPNOTSUPP)) {
			/* No in-kernel copy here: copy through a buffer. */
			n = pread(sp->fd, buf, left < sizeof(buf) ? left : sizeof(buf), in_off);
			if (n > 0 && fd_write_all(fd, buf, (size_t)n) < 0)
				goto fail;
			if (n > 0)
				in_off += n;
		}
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto fail;
		}
		left -= (uint64_t)n;
	}
	free(head);
	*length_r = head_len + sp->body_len;
	return fd;
fail:
	free(head);
	return -1;
}

/* Delivers to recipient i: the host's answer, or TEMPFAIL with *error_r
   when its copy could not be made. */
static enum vimap_deliver_result lmtp_spool_deliver(const struct lmtp_spool *sp, unsigned i,
						    const char **error_r)
{
	struct lmtp_server *srv = sp->conn->srv;
	struct vimap_delivery d;
	enum vimap_deliver_result res;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.user = sp->txn->rcpts[i].user;
	d.fd = sp->fd;
	d.length = sp->head_len + sp->body_len;
	d.source = "lmtp";
	if (i > 0 && (d.fd = lmtp_spool_copy(sp, i, &d.length)) < 0) {
		*error_r = strerror(errno);
		return VIMAP_DELIVER_TEMPFAIL;
	}
	res = srv->host->deliver(srv->ctx, &d, error_r);
	return res;
}

/* The reply (code, enhanced code, text) and counter for a result. */
static void lmtp_reply_result(struct lmtp_conn *conn, const struct lmtp_rcpt *r,
			      enum vimap_deliver_result res)
{
	static const struct {
		const char *code, *text;
		enum lmtp_counter counter;
	} replies[] = {
		[VIMAP_DELIVER_OK] = { "250 2.0.0", "Saved", LMTP_COUNTER_DELIVERED },
		[VIMAP_DELIVER_NOUSER] = { "550 5.1.1", "User unknown", LMTP_COUNTER_REJECTED },
		[VIMAP_DELIVER_OVERQUOTA] = { "452 4.2.2", "Mailbox full, over quota",
					      LMTP_COUNTER_TEMPFAIL },
		[VIMAP_DELIVER_TEMPFAIL] = { "451 4.3.0", "Temporary failure, try later",
					     LMTP_COUNTER_TEMPFAIL },
		[VIMAP_DELIVER_TOOBIG] = { "552 5.3.4", "Message too big", LMTP_COUNTER_REJECTED },
		[VIMAP_DELIVER_FAILED] = { "554 5.0.0", "Delivery failed", LMTP_COUNTER_REJECTED },
	};

	if ((unsigned)res >= sizeof(replies) / sizeof(replies[0]))
		res = VIMAP_DELIVER_FAILED;
	lmtp_conn_reply(conn, "%s <%s> %s", replies[res].code, r->addr, replies[res].text);
	lmtp_count(conn->srv, replies[res].counter);
}

/* Delivers the spooled message to every recipient and queues the replies. */
static void lmtp_spool_finish(struct lmtp_spool *sp)
{
	struct lmtp_server *srv = sp->conn->srv;
	unsigned i;

	for (i = 0; i < sp->txn->rcpt_count; i++) {
		const struct lmtp_rcpt *r = &sp->txn->rcpts[i];
		enum vimap_deliver_result res;
		const char *error = NULL;

		if (sp->too_big)
			res = VIMAP_DELIVER_TOOBIG;
		else if (sp->fd < 0 || sp->write_errno != 0)
			res = VIMAP_DELIVER_TEMPFAIL;
		else
			res = lmtp_spool_deliver(sp, i, &error);
		lmtp_reply_result(sp->conn, r, res);
		if (res == VIMAP_DELIVER_OK)
			lmtp_log(srv, VIMAP_LOG_INFO, "%s: from=<%s> to=<%s> user=%s size=%llu: saved",
				 sp->conn->peer, sp->txn->sender, r->addr, r->user,
				 (unsigned long long)sp->body_len);
		else
			lmtp_log(srv, VIMAP_LOG_INFO, "%s: from=<%s> to=<%s> user=%s: not saved "
				 "(result %d): %s", sp->conn->peer, sp->txn->sender, r->addr,
				 r->user, (int)res, error != NULL ? error
				 : sp->too_big ? "over max_message_size"
				 : sp->write_errno != 0 ? strerror(sp->write_errno)
				 : "no temporary file");
	}
}

enum lmtp_io lmtp_data_run(struct lmtp_conn *conn, const struct lmtp_txn *txn,
			   int scratch[2])
{
	struct lmtp_spool sp;
	char *head;
	enum lmtp_io io;

	memset(&sp, 0, sizeof(sp));
	sp.conn = conn;
	sp.txn = txn;
	sp.buf = xmalloc(LMTP_SPOOL_BUF);
	sp.scratch = scratch;
	sp.fd = lmtp_spool_scratch(conn->srv->set.temp_dir, &scratch[0]);
	if (sp.fd < 0)
		lmtp_log(conn->srv, VIMAP_LOG_ERROR, "open(%s, O_TMPFILE) failed: %s",
			 conn->srv->set.temp_dir, strerror(errno));
	head = lmtp_spool_header(txn, 0);
	sp.head_len = strlen(head);
	lmtp_spool_write(&sp, head, sp.head_len, 0);
	free(head);
	io = lmtp_spool_read(&sp);
	lmtp_spool_flush(&sp);
	if (io == LMTP_IO_OK)
		lmtp_spool_finish(&sp);
	free(sp.buf);
	return io;
}
