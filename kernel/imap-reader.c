#include "autoconfig.h"
#include <string.h>
#include "imap-reader.h"

/* Commands longer than this keep their buffer only while they last. */
#define IMAP_READER_KEEP 4096

void imap_reader_init(struct imap_reader *r, uint64_t max_literal, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->max_literal = max_literal;
	r->max_line = max_line;
	r->state = IMAP_READER_LINE;
}

void imap_reader_deinit(struct imap_reader *r)
{
	strbuf_free(&r->cmd);
}

void imap_reader_next(struct imap_reader *r)
{
	if (r->cmd.cap > IMAP_READER_KEEP)
		strbuf_free(&r->cmd);
	else
		strbuf_reset(&r->cmd);
	r->state = IMAP_READER_LINE;
	r->scan_from = 0;
	r->text_len = 0;
	r->literal_left = 0;
	r->tag[0] = '\0';
	r->reject_code = NULL;
	r->reject_text = NULL;
	r->reject_no = 0;
}

/* Remembers the tag from the first line, for replies to a refused command. */
static void imap_reader_note_tag(struct imap_reader *r, const char *line, size_t len)
{
	size_t n = 0;

	if (r->tag[0] != '\0')
		return;
	while (n < len && n < sizeof(r->tag) - 1 && line[n] != ' ' &&
	       line[n] != '\r' && line[n] != '\n' && (unsigned char)line[n] > 0x20 &&
	       (unsigned char)line[n] < 0x7f)
		n++;
	memcpy(r->tag, line, n);
	r->tag[n] = '\0';
	if (n == 0)
		strcpy(r->tag, "*");
}

/* Looks at the end of a line (before CRLF or LF) for "{N}" or "{N+}".
   Returns 1 with the size and kind, 0 when the line ends otherwise, -1 when
   the number does not fit in 64 bits. */
static int imap_reader_literal_marker(const char *line, size_t len,
				      uint64_t *size_r, int *nonsync_r)
{
	size_t end = len, i;
	uint64_t n = 0;

	if (end > 0 && line[end - 1] == '\n')
		end--;
	if (end > 0 && line[end - 1] == '\r')
		end--;
	if (end < 3 || line[end - 1] != '}')
		return 0;
	end--;
	*nonsync_r = line[end - 1] == '+';
	if (*nonsync_r)
		end--;
	i = end;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
		i--;
	if (i == end || i == 0 || line[i - 1] != '{')
		return 0;
	if (end - i > 20)
		return -1;
	for (; i < end; i++) {
		unsigned d = (unsigned)(line[i] - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*size_r = n;
	return 1;
}

static enum imap_reader_result imap_reader_reject(struct imap_reader *r, int no,
						  const char *code, const char *text)
{
	r->reject_no = no;
	r->reject_code = code;
	r->reject_text = text;
	return IMAP_READER_REJECT;
}

/* A line of the command is complete in cmd[line_start..cmd.len). */
static enum imap_reader_result imap_reader_line_done(struct imap_reader *r,
						     size_t line_start)
{
	const char *line = r->cmd.data + line_start;
	size_t len = r->cmd.len - line_start;
	uint64_t size;
	int nonsync, m;

	imap_reader_note_tag(r, r->cmd.data, r->cmd.len);
	m = imap_reader_literal_marker(line, len, &size, &nonsync);
	if (m == 0)
		return IMAP_READER_COMMAND;
	if (m < 0 || size > r->max_literal) {
		if (!nonsync) {
			/* The client waits for "+": refuse now, it sends nothing more. */
			return imap_reader_reject(r, 1, "TOOBIG", "Literal larger than the server accepts");
		}
		/* A non-synchronising literal is on its way: swallow it and the
		   rest of the command, then refuse the whole command. */
		r->state = m < 0 ? IMAP_READER_SKIP_LINE : IMAP_READER_SKIP_LITERAL;
		r->literal_left = m < 0 ? 0 : size;
		r->reject_code = "TOOBIG";
		r->reject_text = "Literal larger than the server accepts";
		return IMAP_READER_AGAIN;
	}
	/* An empty literal has no bytes to wait for: the line goes on. */
	r->state = size > 0 ? IMAP_READER_LITERAL : IMAP_READER_LINE;
	r->literal_left = size;
	if (size > 0)
		strbuf_reserve(&r->cmd, size < 65536 ? (size_t)size : 65536);
	return nonsync ? IMAP_READER_AGAIN : IMAP_READER_CONTINUE;
}

/* LINE state: copies bytes up to and including the next LF. */
static enum imap_reader_result imap_reader_feed_line(struct imap_reader *r,
						     const char *data, size_t len,
						     size_t *used_r)
{
	const char *lf = memchr(data, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - data) + 1 : len;
	size_t line_start = r->scan_from;

	if (r->text_len + n > r->max_line) {
		imap_reader_note_tag(r, r->cmd.data != NULL ? r->cmd.data : data,
				     r->cmd.data != NULL ? r->cmd.len : len);
		r->state = IMAP_READER_SKIP_LINE;
		r->reject_code = "TOOBIG";
		r->reject_text = "Command line too long";
		*used_r = 0;
		return IMAP_READER_AGAIN;
	}
	strbuf_append(&r->cmd, data, n);
	r->text_len += n;
	*used_r = n;
	if (lf == NULL)
		return IMAP_READER_AGAIN;
	r->scan_from = r->cmd.len;
	return imap_reader_line_done(r, line_start);
}

/* SKIP_LINE: drops bytes to the end of the line, then handles a literal
   marker on it (more to skip) or ends the refused command. */
static enum imap_reader_result imap_reader_skip_line(struct imap_reader *r,
						     const char *data, size_t len,
						     size_t *used_r)
{
	const char *lf = memchr(data, '\n', len);
	uint64_t size;
	int nonsync;

	/* Keep only a short tail: enough to see a literal marker. */
	*used_r = lf != NULL ? (size_t)(lf - data) + 1 : len;
	strbuf_append(&r->cmd, data, *used_r);
	if (r->cmd.len > 64)
		strbuf_consume(&r->cmd, r->cmd.len - 64);
	if (lf == NULL)
		return IMAP_READER_AGAIN;
	if (imap_reader_literal_marker(r->cmd.data, r->cmd.len, &size, &nonsync) == 1 &&
	    nonsync) {
		r->state = IMAP_READER_SKIP_LITERAL;
		r->literal_left = size;
		strbuf_reset(&r->cmd);
		return IMAP_READER_AGAIN;
	}
	/* A synchronising literal here will not come: we never send "+". */
	return imap_reader_reject(r, 0, r->reject_code, r->reject_text);
}

enum imap_reader_result imap_reader_feed(struct imap_reader *r, const char *data,
					 size_t len, size_t *used_r)
{
	size_t n;

	*used_r = 0;
	if (len == 0)
		return IMAP_READER_AGAIN;
	switch (r->state) {
	case IMAP_READER_LINE:
		return imap_reader_feed_line(r, data, len, used_r);
	case IMAP_READER_LITERAL:
		n = r->literal_left < len ? (size_t)r->literal_left : len;
		strbuf_append(&r->cmd, data, n);
		r->literal_left -= n;
		*used_r = n;
		if (r->literal_left == 0) {
			r->state = IMAP_READER_LINE;
			r->scan_from = r->cmd.len;
		}
		return IMAP_READER_AGAIN;
	case IMAP_READER_SKIP_LITERAL:
		n = r->literal_left < len ? (size_t)r->literal_left : len;
		r->literal_left -= n;
		*used_r = n;
		if (r->literal_left == 0) {
			r->state = IMAP_READER_SKIP_LINE;
			strbuf_reset(&r->cmd);
		}
		return IMAP_READER_AGAIN;
	case IMAP_READER_SKIP_LINE:
		return imap_reader_skip_line(r, data, len, used_r);
	}
	return IMAP_READER_AGAIN;
}
