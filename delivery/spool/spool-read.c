#include "autoconfig.h"
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "error.h"
#include "netdata.h"
#include "spool-private.h"
#include "strbuf.h"
#include "userid.h"

#define SPOOL_FLUSH_AT 65536
#define SPOOL_ENVELOPE_MAX 4096

/* An anonymous file in the spool's file system for the translated copy. */
int spool_tmpfile(struct spool *s)
{
	char name[4096];
	int fd = openat(s->work_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	/* No O_TMPFILE here: a named file, unlinked at once. */
	snprintf(name, sizeof(name), "%s/%s/.tmp-msg-XXXXXX", s->dir, SPOOL_WORK_DIR);
	if ((fd = mkostemp(name, O_CLOEXEC)) >= 0)
		unlink(name);
	return fd;
}

static int msg_flush(struct spool_msg *m)
{
	size_t done = 0;

	while (!m->io_error && done < m->out.len) {
		ssize_t n = write(m->out_fd, m->out.data + done, m->out.len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			m->io_error = 1;
			snprintf(m->reason, sizeof(m->reason), "write(temporary file) "
				 "failed: %s", n < 0 ? strerror(errno) : "no progress");
			break;
		}
		done += (size_t)n;
	}
	m->length += done;
	strbuf_reset(&m->out);
	return m->io_error ? -1 : 0;
}

/* Appends an EBCDIC record as one ASCII line with CRLF. */
static int msg_record(struct spool_msg *m, const unsigned char *rec, size_t len)
{
	const unsigned char *to_ascii = m->s->to_ascii;
	char *p;
	size_t i;

	if ((m->recfm & 0xC000) == NETDATA_RECFM_F)
		while (len > 0 && rec[len - 1] == 0x40)
			len--;
	if (len == 1 && rec[0] == 0x40)
		len = 0; /* CMS has no empty records: one blank is an empty line */
	p = strbuf_reserve(&m->out, len + 2);
	for (i = 0; i < len; i++)
		p[i] = (char)to_ascii[rec[i]];
	p[len] = '\r';
	p[len + 1] = '\n';
	strbuf_commit(&m->out, len + 2);
	m->records++;
	if (m->out.len >= SPOOL_FLUSH_AT)
		return msg_flush(m);
	return 0;
}

/* An INMR01 value translated to ASCII, trailing blanks dropped, control
   characters made '?'. */
static void msg_id(struct spool_msg *m, const struct netdata_value *v, char *out)
{
	size_t i, len = v->len < SPOOL_ID_MAX - 1 ? v->len : SPOOL_ID_MAX - 1;

	for (i = 0; i < len; i++) {
		unsigned char c = m->s->to_ascii[v->data[i]];

		out[i] = c < 0x20 || c == 0x7F ? '?' : (char)c;
	}
	while (len > 0 && out[len - 1] == ' ')
		len--;
	out[len] = '\0';
}

static int nd_control_cb(void *ctx, const struct netdata_control *rec,
			 const char **error_r)
{
	struct spool_msg *m = ctx;
	const struct netdata_value *v;

	(void)error_r;
	if (rec->kind == NETDATA_INMR01) {
		if ((v = netdata_control_find(rec, NETDATA_INMTUID)) != NULL) {
			msg_id(m, v, m->recipient);
			m->have_recipient = 1;
		}
		if ((v = netdata_control_find(rec, NETDATA_INMFUID)) != NULL) {
			msg_id(m, v, m->origin);
			m->have_origin = 1;
		}
	} else if (rec->kind == NETDATA_INMR02 || rec->kind == NETDATA_INMR03) {
		/* INMR03 describes the data that follows; an INMR02 only until
		   then. */
		if ((v = netdata_control_find(rec, NETDATA_INMRECFM)) != NULL)
			m->recfm = v->len == 1 ? (unsigned)v->data[0] << 8 :
				(unsigned)netdata_value_number(v);
	} else if (rec->kind == NETDATA_INMR07) {
		m->notification = 1;
	}
	return 0;
}

static int nd_data_cb(void *ctx, const unsigned char *rec, size_t len,
		      const char **error_r)
{
	struct spool_msg *m = ctx;

	if (msg_record(m, rec, len) < 0)
		return error_set(error_r, "%s", m->reason);
	return 0;
}

/* 0, or -1 with m->reason (broken file, or io_error set). */
static int spool_read_netdata(struct spool_msg *m, const unsigned char *map, size_t len)
{
	static const struct netdata_callbacks cb = { nd_control_cb, nd_data_cb };
	const char *error;

	if (netdata_parse_buffer(map, len, &cb, m, &error) < 0) {
		if (!m->io_error)
			snprintf(m->reason, sizeof(m->reason), "%s", error);
		return -1;
	}
	return msg_flush(m);
}

/* One envelope line "X-Vimap-Name: value" into the message; -1 when it
   is no envelope line. */
static int spool_envelope_line(struct spool_msg *m, const char *line, size_t len)
{
	static const struct {
		const char *name;
		size_t off_value, off_flag;
	} keys[] = {
		{ "X-Vimap-Recipient:", offsetof(struct spool_msg, recipient),
		  offsetof(struct spool_msg, have_recipient) },
		{ "X-Vimap-Origin:", offsetof(struct spool_msg, origin),
		  offsetof(struct spool_msg, have_origin) },
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t n = strlen(keys[i].name);
		char *value = (char *)m + keys[i].off_value;

		if (len < n || strncasecmp(line, keys[i].name, n) != 0)
			continue;
		line += n;
		len -= n;
		while (len > 0 && (*line == ' ' || *line == '\t'))
			line++, len--;
		while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= SPOOL_ID_MAX || memchr(line, '\0', len) != NULL)
			return -1;
		memcpy(value, line, len);
		value[len] = '\0';
		*(int *)((char *)m + keys[i].off_flag) = 1;
		return 0;
	}
	return -1;
}

/* Reads the envelope; returns the offset of the message, or 0 with
   m->reason. */
static size_t spool_envelope(struct spool_msg *m, const char *map, size_t len)
{
	size_t pos = 0;
	unsigned line_no = 0;

	while (pos < len && pos < SPOOL_ENVELOPE_MAX) {
		const char *nl = memchr(map + pos, '\n', len - pos);
		size_t end, next;

		if (nl == NULL)
			break;
		next = (size_t)(nl - map) + 1;
		end = next - 1;
		if (end > pos && map[end - 1] == '\r')
			end--;
		line_no++;
		if (end == pos)
			return next;
		if (spool_envelope_line(m, map + pos, end - pos) < 0) {
			snprintf(m->reason, sizeof(m->reason), "envelope line %u is not "
				 "'X-Vimap-Recipient: user' or 'X-Vimap-Origin: id'", line_no);
			return 0;
		}
		pos = next;
	}
	snprintf(m->reason, sizeof(m->reason), "the envelope does not end with an empty "
		 "line within %d bytes", SPOOL_ENVELOPE_MAX);
	return 0;
}

/* A plain RFC 5322 message after the envelope: line ends made CRLF. */
static int spool_read_plain(struct spool_msg *m, const char *map, size_t len)
{
	size_t pos = spool_envelope(m, map, len);

	if (pos == 0)
		return -1;
	while (pos < len) {
		const char *nl = memchr(map + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - map) : len;
		size_t stop = end > pos && map[end - 1] == '\r' ? end - 1 : end;

		strbuf_append(&m->out, map + pos, stop - pos);
		strbuf_append(&m->out, "\r\n", 2);
		m->records++;
		pos = end + 1;
		if (m->out.len >= SPOOL_FLUSH_AT && msg_flush(m) < 0)
			return -1;
	}
	return msg_flush(m);
}

int spool_msg_read(struct spool_msg *m, const unsigned char *map, size_t len)
{
	static const char env[] = "X-Vimap-";

	if (len >= sizeof(env) - 1 && strncasecmp((const char *)map, env, sizeof(env) - 1) == 0)
		return spool_read_plain(m, (const char *)map, len);
	return spool_read_netdata(m, map, len);
}
