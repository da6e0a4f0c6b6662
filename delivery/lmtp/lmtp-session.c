/* One LMTP session (RFC 2033): greeting, then commands, one line each, in
 * the states
 *
 *   start --LHLO--> ready --MAIL--> mail --RCPT(ok)--> rcpt --DATA--> ready
 *
 * (RSET and LHLO return to ready).  A malformed or misplaced command gets
 * its 5xx and the session goes on; after LMTP_MAX_BAD_COMMANDS of them, or
 * when the client is silent for the timeout, or when the server stops
 * between transactions, it ends with 421. */
#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "lmtp-private.h"
#include "xalloc.h"

struct lmtp_session {
	struct lmtp_server *srv;
	struct lmtp_conn conn;
	struct lmtp_txn txn;
	int lhlo;                    /* LHLO was given */
	int mail;                    /* MAIL was accepted: a transaction is open */
	unsigned bad_commands;
	int scratch[2];              /* temporary files for DATA, -1 = none yet */
	char line[LMTP_LINE_MAX + 1];
};

/* What a command handler says about the session. */
enum lmtp_cmd_result {
	LMTP_CMD_OK,                 /* go on */
	LMTP_CMD_BAD,                /* go on; counts towards the bad-command limit */
	LMTP_CMD_CLOSE               /* the connection is over */
};

typedef enum lmtp_cmd_result lmtp_cmd_cb(struct lmtp_session *s, const char *args);

static void lmtp_txn_reset(struct lmtp_session *s)
{
	unsigned i;

	for (i = 0; i < s->txn.rcpt_count; i++) {
		free(s->txn.rcpts[i].addr);
		free(s->txn.rcpts[i].user);
	}
	free(s->txn.rcpts);
	free(s->txn.sender);
	memset(&s->txn, 0, sizeof(s->txn));
	s->mail = 0;
}

/* Says why the session ends, when the client should hear it. */
static void lmtp_session_end(struct lmtp_session *s, enum lmtp_io io)
{
	if (io == LMTP_IO_TIMEOUT)
		lmtp_conn_reply(&s->conn, "421 4.4.2 %s Timeout, closing connection",
				s->srv->set.hostname);
	else if (io == LMTP_IO_STOP)
		lmtp_conn_reply(&s->conn, "421 4.3.2 %s Shutting down", s->srv->set.hostname);
	else
		return;
	(void)lmtp_conn_flush(&s->conn);
}

static enum lmtp_cmd_result lmtp_cmd_lhlo(struct lmtp_session *s, const char *args)
{
	const struct lmtp_settings *set = &s->srv->set;

	if (*args == '\0') {
		lmtp_conn_reply(&s->conn, "501 5.5.4 LHLO needs a host name");
		return LMTP_CMD_BAD;
	}
	lmtp_txn_reset(s);
	s->lhlo = 1;
	lmtp_conn_reply(&s->conn, "250-%s", set->hostname);
	lmtp_conn_reply(&s->conn, "250-PIPELINING");
	lmtp_conn_reply(&s->conn, "250-ENHANCEDSTATUSCODES");
	lmtp_conn_reply(&s->conn, "250-8BITMIME");
	lmtp_conn_reply(&s->conn, "250 SIZE %llu", (unsigned long long)set->max_message_size);
	return LMTP_CMD_OK;
}

static enum lmtp_cmd_result lmtp_cmd_helo(struct lmtp_session *s, const char *args)
{
	(void)args;
	lmtp_conn_reply(&s->conn, "500 5.5.1 This is LMTP: say LHLO");
	return LMTP_CMD_BAD;
}

static enum lmtp_cmd_result lmtp_cmd_mail(struct lmtp_session *s, const char *args)
{
	const char *params, *error;
	char *path;
	uint64_t size;

	if (!s->lhlo || s->mail) {
		lmtp_conn_reply(&s->conn, "503 5.5.1 %s", s->lhlo ? "MAIL already given"
				: "LHLO first");
		return LMTP_CMD_BAD;
	}
	if (lmtp_addr_parse(args, "FROM", &path, &params, &error) < 0) {
		lmtp_conn_reply(&s->conn, "501 5.5.4 %s", error);
		return LMTP_CMD_BAD;
	}
	if (lmtp_addr_mail_params(params, &size, &error) < 0) {
		lmtp_conn_reply(&s->conn, "555 5.5.4 %s", error);
		free(path);
		return LMTP_CMD_BAD;
	}
	if (size > s->srv->set.max_message_size) {
		lmtp_conn_reply(&s->conn, "552 5.3.4 Message too big (limit %llu octets)",
				(unsigned long long)s->srv->set.max_message_size);
		free(path);
		return LMTP_CMD_OK;
	}
	s->txn.sender = path;
	s->mail = 1;
	lmtp_conn_reply(&s->conn, "250 2.1.0 OK");
	return LMTP_CMD_OK;
}

/* Asks the store about the recipient and answers RCPT. */
static void lmtp_rcpt_check(struct lmtp_session *s, char *addr)
{
	struct lmtp_server *srv = s->srv;
	char *user = lmtp_addr_user(addr, srv->set.recipient_delimiter);
	const char *error = NULL;
	struct lmtp_rcpt *r;
	int ret = srv->host->user_enrolled(srv->ctx, user, &error);

	if (ret <= 0) {
		if (ret == 0) {
			lmtp_conn_reply(&s->conn, "550 5.1.1 <%s> User unknown", addr);
			lmtp_count(srv, LMTP_COUNTER_REJECTED);
		} else {
			lmtp_log(srv, VIMAP_LOG_WARNING, "%s: user_enrolled(%s) failed: %s",
				 s->conn.peer, user, error);
			lmtp_conn_reply(&s->conn, "451 4.3.0 <%s> Store unavailable, try later", addr);
			lmtp_count(srv, LMTP_COUNTER_TEMPFAIL);
		}
		free(user);
		free(addr);
		return;
	}
	if (s->txn.rcpt_count == s->txn.rcpt_alloc) {
		s->txn.rcpt_alloc = s->txn.rcpt_alloc == 0 ? 4 : s->txn.rcpt_alloc * 2;
		s->txn.rcpts = xrealloc(s->txn.rcpts, s->txn.rcpt_alloc * sizeof(*r));
	}
	r = &s->txn.rcpts[s->txn.rcpt_count++];
	r->addr = addr;
	r->user = user;
	lmtp_conn_reply(&s->conn, "250 2.1.5 OK");
}

static enum lmtp_cmd_result lmtp_cmd_rcpt(struct lmtp_session *s, const char *args)
{
	const char *params, *error;
	char *path;

	if (!s->mail) {
		lmtp_conn_reply(&s->conn, "503 5.5.1 MAIL first");
		return LMTP_CMD_BAD;
	}
	if (lmtp_addr_parse(args, "TO", &path, &params, &error) < 0) {
		lmtp_conn_reply(&s->conn, "501 5.5.4 %s", error);
		return LMTP_CMD_BAD;
	}
	if (*path == '\0' || *params != '\0') {
		lmtp_conn_reply(&s->conn, *path == '\0' ? "501 5.1.3 Empty recipient"
				: "555 5.5.4 RCPT parameters are not supported");
		free(path);
		return LMTP_CMD_BAD;
	}
	if (s->txn.rcpt_count >= s->srv->set.max_recipients) {
		lmtp_conn_reply(&s->conn, "452 4.5.3 Too many recipients");
		lmtp_count(s->srv, LMTP_COUNTER_TEMPFAIL);
		free(path);
		return LMTP_CMD_OK;
	}
	lmtp_rcpt_check(s, path);
	return LMTP_CMD_OK;
}

static enum lmtp_cmd_result lmtp_cmd_data(struct lmtp_session *s, const char *args)
{
	enum lmtp_io io;

	if (*args != '\0') {
		lmtp_conn_reply(&s->conn, "501 5.5.4 DATA takes no argument");
		return LMTP_CMD_BAD;
	}
	if (!s->mail || s->txn.rcpt_count == 0) {
		lmtp_conn_reply(&s->conn, "503 5.5.1 %s", s->mail ? "No valid recipients"
				: "MAIL first");
		return LMTP_CMD_BAD;
	}
	lmtp_conn_reply(&s->conn, "354 Start mail input; end with <CRLF>.<CRLF>");
	io = lmtp_data_run(&s->conn, &s->txn, s->scratch);
	lmtp_txn_reset(s);
	if (io != LMTP_IO_OK)
		lmtp_session_end(s, io);
	return io == LMTP_IO_OK ? LMTP_CMD_OK : LMTP_CMD_CLOSE;
}

static enum lmtp_cmd_result lmtp_cmd_rset(struct lmtp_session *s, const char *args)
{
	(void)args;
	lmtp_txn_reset(s);
	lmtp_conn_reply(&s->conn, "250 2.0.0 OK");
	return LMTP_CMD_OK;
}

static enum lmtp_cmd_result lmtp_cmd_noop(struct lmtp_session *s, const char *args)
{
	(void)args;
	lmtp_conn_reply(&s->conn, "250 2.0.0 OK");
	return LMTP_CMD_OK;
}

static enum lmtp_cmd_result lmtp_cmd_vrfy(struct lmtp_session *s, const char *args)
{
	if (*args == '\0') {
		lmtp_conn_reply(&s->conn, "501 5.5.4 VRFY needs an argument");
		return LMTP_CMD_BAD;
	}
	lmtp_conn_reply(&s->conn, "252 2.5.0 Cannot VRFY user, but will accept message");
	return LMTP_CMD_OK;
}

static enum lmtp_cmd_result lmtp_cmd_quit(struct lmtp_session *s, const char *args)
{
	(void)args;
	lmtp_conn_reply(&s->conn, "221 2.0.0 %s closing connection", s->srv->set.hostname);
	(void)lmtp_conn_flush(&s->conn);
	return LMTP_CMD_CLOSE;
}

static const struct {
	const char *name;
	lmtp_cmd_cb *cb;
} lmtp_commands[] = {
	{ "LHLO", lmtp_cmd_lhlo }, { "MAIL", lmtp_cmd_mail }, { "RCPT", lmtp_cmd_rcpt },
	{ "DATA", lmtp_cmd_data }, { "RSET", lmtp_cmd_rset }, { "NOOP", lmtp_cmd_noop },
	{ "QUIT", lmtp_cmd_quit }, { "VRFY", lmtp_cmd_vrfy }, { "HELO", lmtp_cmd_helo },
	{ "EHLO", lmtp_cmd_helo },
};

/* Runs the command in s->line (CRLF stripped, NUL-terminated). */
static enum lmtp_cmd_result lmtp_dispatch(struct lmtp_session *s, size_t len)
{
	size_t verb = strcspn(s->line, " ");
	const char *args = s->line + verb;
	unsigned i;

	if (strlen(s->line) != len) {
		lmtp_conn_reply(&s->conn, "500 5.5.2 NUL in command line");
		return LMTP_CMD_BAD;
	}
	while (*args == ' ')
		args++;
	for (i = 0; i < sizeof(lmtp_commands) / sizeof(lmtp_commands[0]); i++) {
		if (verb == 4 && strncasecmp(s->line, lmtp_commands[i].name, 4) == 0)
			return lmtp_commands[i].cb(s, args);
	}
	lmtp_conn_reply(&s->conn, "500 5.5.2 Unknown command");
	return LMTP_CMD_BAD;
}

/* Reads one command line into s->line.  LMTP_IO_OK with *len_r, or with
   *len_r = (size_t)-1 for a line that was too long (read and dropped). */
static enum lmtp_io lmtp_read_command(struct lmtp_session *s, size_t *len_r)
{
	const char *data;
	size_t len;
	int lf, too_long = 0;
	enum lmtp_io io;

	for (;;) {
		io = lmtp_conn_next(&s->conn, LMTP_LINE_MAX, 1, &data, &len, &lf);
		if (io != LMTP_IO_OK)
			return io;
		if (lf)
			break;
		too_long = 1;
	}
	if (too_long) {
		*len_r = (size_t)-1;
		return LMTP_IO_OK;
	}
	len--;
	if (len > 0 && data[len - 1] == '\r')
		len--;
	memcpy(s->line, data, len);
	s->line[len] = '\0';
	if (s->conn.trace)
		s->srv->host->trace(s->srv->ctx, VIMAP_TRACE_SOCKETIO, "%s > %s",
				    s->conn.peer, s->line);
	*len_r = len;
	return LMTP_IO_OK;
}

void lmtp_session_run(struct lmtp_server *srv, int fd, const char *peer)
{
	struct lmtp_session *s = xcalloc(1, sizeof(*s));
	enum lmtp_cmd_result res = LMTP_CMD_OK;
	enum lmtp_io io;
	size_t len;

	s->srv = srv;
	s->scratch[0] = s->scratch[1] = -1;
	lmtp_conn_init(&s->conn, srv, fd, peer);
	lmtp_conn_reply(&s->conn, "220 %s LMTP vimap ready", srv->set.hostname);
	while (res != LMTP_CMD_CLOSE) {
		if ((io = lmtp_read_command(s, &len)) != LMTP_IO_OK) {
			lmtp_session_end(s, io);
			break;
		}
		if (len == (size_t)-1) {
			lmtp_conn_reply(&s->conn, "500 5.5.2 Line too long");
			res = LMTP_CMD_BAD;
		} else {
			res = lmtp_dispatch(s, len);
		}
		if (res == LMTP_CMD_BAD && ++s->bad_commands > LMTP_MAX_BAD_COMMANDS) {
			lmtp_conn_reply(&s->conn, "421 4.7.0 %s Too many errors, closing connection",
					srv->set.hostname);
			(void)lmtp_conn_flush(&s->conn);
			break;
		}
	}
	lmtp_txn_reset(s);
	lmtp_conn_deinit(&s->conn);
	if (s->scratch[0] >= 0)
		close(s->scratch[0]);
	if (s->scratch[1] >= 0)
		close(s->scratch[1]);
	free(s);
}
