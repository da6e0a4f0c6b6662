#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "error.h"
#include "imap-date.h"
#include "imap-fetch.h"
#include "mail/imap-quote.h"
#include "mail/message-cache.h"
#include "pool.h"
#include "strbuf.h"

#define FETCH_MAX_ITEMS 64

static struct imap_fetch_item *imap_fetch_add(struct imap_fetch *f,
					      enum imap_fetch_type type, const char *name)
{
	struct imap_fetch_item *it = &f->items[f->count++];

	memset(it, 0, sizeof(*it));
	it->type = type;
	it->name = name;
	return it;
}

/* Reads "<origin.count>" (or nothing) at p. */
static int imap_fetch_partial(const char *p, struct imap_fetch_item *it)
{
	char *end;

	if (*p == '\0')
		return 0;
	if (*p != '<' || p[1] < '0' || p[1] > '9')
		return -1;
	it->origin = strtoull(p + 1, &end, 10);
	if (*end != '.' || end[1] < '1' || end[1] > '9')
		return -1;
	it->count = strtoull(end + 1, &end, 10);
	if (strcmp(end, ">") != 0)
		return -1;
	it->partial = 1;
	return 0;
}

/* Checks a section-spec's shape (RFC 3501 section-spec): part numbers, then
   HEADER, HEADER.FIELDS[.NOT], TEXT or (after numbers) MIME. */
static int imap_fetch_section_ok(const char *spec)
{
	const char *p = spec;
	int numbers = 0;

	while (*p >= '1' && *p <= '9') {
		while (*p >= '0' && *p <= '9')
			p++;
		numbers++;
		if (*p == '\0')
			return 1;
		if (*p++ != '.')
			return 0;
	}
	if (numbers > 0 && *p == '\0')
		return 0;
	return *p == '\0' || strcasecmp(p, "HEADER") == 0 || strcasecmp(p, "TEXT") == 0 ||
	       strcasecmp(p, "HEADER.FIELDS") == 0 || strcasecmp(p, "HEADER.FIELDS.NOT") == 0 ||
	       (numbers > 0 && strcasecmp(p, "MIME") == 0);
}

/* Splits "HEADER.FIELDS (A B)" in place into the keyword part and fields. */
static int imap_fetch_fields(char *spec, struct imap_fetch_item *it, struct pool *pool)
{
	char *open = strchr(spec, '('), *close, *p, *kw_end;
	size_t kwlen;
	unsigned cap = 1;

	if (open == NULL)
		return strchr(spec, ')') == NULL && strchr(spec, ' ') == NULL ? 0 : -1;
	close = strchr(open, ')');
	if (close == NULL || close[1] != '\0' || open == spec || open[-1] != ' ')
		return -1;
	kw_end = open - 1;
	*kw_end = '\0';
	kwlen = strlen(spec);
	if (kwlen >= 13 && strcasecmp(spec + kwlen - 13, "HEADER.FIELDS") == 0)
		it->fields_not = 0;
	else if (kwlen >= 17 && strcasecmp(spec + kwlen - 17, "HEADER.FIELDS.NOT") == 0)
		it->fields_not = 1;
	else
		return -1;
	for (p = open; p < close; p++)
		cap += *p == ' ';
	it->fields = pool_alloc(pool, cap * sizeof(char *));
	*close = '\0';
	for (p = open + 1; p != NULL && *p != '\0';) {
		char *end = strchr(p, ' ');

		if (end != NULL)
			*end++ = '\0';
		if (*p != '\0') {
			if (strpbrk(p, ":\"()") != NULL)
				return -1;
			it->fields[it->field_count++] = p;
		}
		p = end;
	}
	return it->field_count > 0 ? 0 : -1;
}

/* BODY[...]<..>, BODY.PEEK[...]<..>: `atom` is the whole item. */
static int imap_fetch_parse_section(struct imap_fetch *f, const char *atom,
				    struct pool *pool, const char **error_r)
{
	const char *open = strchr(atom, '['), *close = strrchr(atom, ']');
	size_t plen = (size_t)(open - atom);
	struct imap_fetch_item *it;
	struct strbuf name = STRBUF_INIT;
	char *spec;
	int peek;

	if (close == NULL || close < open)
		return error_set(error_r, "Invalid section");
	if (plen == 4 && strncasecmp(atom, "BODY", 4) == 0)
		peek = 0;
	else if (plen == 9 && strncasecmp(atom, "BODY.PEEK", 9) == 0)
		peek = 1;
	else
		return error_set(error_r, "Unknown FETCH item");
	it = imap_fetch_add(f, FETCH_SECTION, NULL);
	spec = pool_strndup(pool, open + 1, (size_t)(close - open - 1));
	strbuf_appends(&name, "BODY[");
	strbuf_appends(&name, spec);
	strbuf_appendc(&name, ']');
	if (imap_fetch_partial(close + 1, it) < 0 || imap_fetch_fields(spec, it, pool) < 0 ||
	    !imap_fetch_section_ok(spec) ||
	    (it->field_count == 0 && strcasestr(spec, "FIELDS") != NULL)) {
		strbuf_free(&name);
		return error_set(error_r, "Invalid section");
	}
	if (it->partial)
		strbuf_appendf(&name, "<%llu>", (unsigned long long)it->origin);
	it->name = pool_strndup(pool, name.data, name.len);
	it->section = spec;
	strbuf_free(&name);
	f->needs |= IMAP_MSG_NEED_CACHE | IMAP_MSG_NEED_DATA;
	if (!peek)
		f->sets_seen = 1;
	return 0;
}

static int imap_fetch_parse_one(struct imap_fetch *f, const struct imap_arg *a,
				struct pool *pool, const char **error_r)
{
	const char *s = a->str;

	if (a->type != IMAP_ARG_ATOM)
		return error_set(error_r, "Invalid FETCH item");
	if (f->count + 4 > FETCH_MAX_ITEMS)
		return error_set(error_r, "Too many FETCH items");
	if (strchr(s, '[') != NULL)
		return imap_fetch_parse_section(f, s, pool, error_r);
	if (strcasecmp(s, "UID") == 0) {
		/* UID FETCH has put it first already. */
		if (f->count == 0 || f->items[0].type != FETCH_UID)
			imap_fetch_add(f, FETCH_UID, "UID");
	}
	else if (strcasecmp(s, "FLAGS") == 0)
		f->has_flags = (imap_fetch_add(f, FETCH_FLAGS, "FLAGS"), 1);
	else if (strcasecmp(s, "INTERNALDATE") == 0)
		imap_fetch_add(f, FETCH_INTERNALDATE, "INTERNALDATE");
	else if (strcasecmp(s, "RFC822.SIZE") == 0)
		imap_fetch_add(f, FETCH_SIZE, "RFC822.SIZE");
	else if (strcasecmp(s, "ENVELOPE") == 0)
		f->needs |= (imap_fetch_add(f, FETCH_ENVELOPE, "ENVELOPE"), IMAP_MSG_NEED_CACHE);
	else if (strcasecmp(s, "BODYSTRUCTURE") == 0)
		f->needs |= (imap_fetch_add(f, FETCH_BODYSTRUCTURE, "BODYSTRUCTURE"), IMAP_MSG_NEED_CACHE);
	else if (strcasecmp(s, "BODY") == 0)
		f->needs |= (imap_fetch_add(f, FETCH_BODY, "BODY"), IMAP_MSG_NEED_CACHE);
	else if (strcasecmp(s, "RFC822") == 0 || strcasecmp(s, "RFC822.TEXT") == 0 ||
		 strcasecmp(s, "RFC822.HEADER") == 0) {
		struct imap_fetch_item *it = imap_fetch_add(f, FETCH_SECTION, NULL);

		it->section = strcasecmp(s, "RFC822") == 0 ? "" :
			strcasecmp(s, "RFC822.TEXT") == 0 ? "TEXT" : "HEADER";
		it->name = strcasecmp(s, "RFC822") == 0 ? "RFC822" :
			strcasecmp(s, "RFC822.TEXT") == 0 ? "RFC822.TEXT" : "RFC822.HEADER";
		f->needs |= IMAP_MSG_NEED_CACHE | IMAP_MSG_NEED_DATA;
		if (strcasecmp(s, "RFC822.HEADER") != 0)
			f->sets_seen = 1;
	} else {
		return error_set(error_r, "Unknown FETCH item %.40s", s);
	}
	return 0;
}

/* ALL, FAST and FULL (6.4.5). */
static int imap_fetch_macro(struct imap_fetch *f, const char *s)
{
	int all = strcasecmp(s, "ALL") == 0, full = strcasecmp(s, "FULL") == 0;

	if (!all && !full && strcasecmp(s, "FAST") != 0)
		return 0;
	f->has_flags = (imap_fetch_add(f, FETCH_FLAGS, "FLAGS"), 1);
	imap_fetch_add(f, FETCH_INTERNALDATE, "INTERNALDATE");
	imap_fetch_add(f, FETCH_SIZE, "RFC822.SIZE");
	if (all || full)
		f->needs |= (imap_fetch_add(f, FETCH_ENVELOPE, "ENVELOPE"), IMAP_MSG_NEED_CACHE);
	if (full)
		imap_fetch_add(f, FETCH_BODY, "BODY");
	return 1;
}

int imap_fetch_parse(const struct imap_arg *arg, int uid, struct pool *pool,
		     struct imap_fetch **fetch_r, const char **error_r)
{
	struct imap_fetch *f = pool_alloc(pool, sizeof(*f));
	unsigned i;

	f->items = pool_alloc(pool, FETCH_MAX_ITEMS * sizeof(*f->items));
	/* A UID FETCH always answers with the UID (6.4.8). */
	if (uid)
		imap_fetch_add(f, FETCH_UID, "UID");
	if (arg->type == IMAP_ARG_ATOM && imap_fetch_macro(f, arg->str)) {
		*fetch_r = f;
		return 0;
	}
	if (arg->type != IMAP_ARG_LIST) {
		if (imap_fetch_parse_one(f, arg, pool, error_r) < 0)
			return -1;
	} else {
		if (arg->count == 0)
			return error_set(error_r, "Empty FETCH item list");
		for (i = 0; i < arg->count; i++) {
			if (imap_fetch_parse_one(f, &arg->list[i], pool, error_r) < 0)
				return -1;
		}
	}
	*fetch_r = f;
	return 0;
}

int imap_fetch_needs_record(const struct imap_fetch *f)
{
	unsigned i;

	for (i = 0; i < f->count; i++) {
		if (f->items[i].type != FETCH_UID && f->items[i].type != FETCH_FLAGS)
			return 1;
	}
	return 0;
}

void imap_fetch_add_flags(struct imap_fetch *f, struct pool *pool)
{
	if (!f->has_flags && f->count < FETCH_MAX_ITEMS)
		f->has_flags = (imap_fetch_add(f, FETCH_FLAGS, "FLAGS"), 1);
}

/* ---- rendering ---- */

/* 1 when the header line starting at p (name up to ':') is in the list. */
static int imap_fetch_field_wanted(const struct imap_fetch_item *it, const char *p,
				   size_t len)
{
	const char *colon = memchr(p, ':', len);
	size_t nlen;
	unsigned i;

	if (colon == NULL)
		return 0;
	nlen = (size_t)(colon - p);
	while (nlen > 0 && (p[nlen - 1] == ' ' || p[nlen - 1] == '\t'))
		nlen--;
	for (i = 0; i < it->field_count; i++) {
		if (strlen(it->fields[i]) == nlen && strncasecmp(it->fields[i], p, nlen) == 0)
			return 1;
	}
	return 0;
}

/* HEADER.FIELDS(.NOT): the header's fields (with their continuation
   lines) that are (not) listed, then the blank line. */
static void imap_fetch_filter_header(const struct imap_fetch_item *it, const char *h,
				     size_t len, struct strbuf *out)
{
	size_t pos = 0;
	int keep = 0;

	while (pos < len) {
		const char *lf = memchr(h + pos, '\n', len - pos);
		size_t end = lf != NULL ? (size_t)(lf - h) + 1 : len;
		size_t llen = end - pos;

		if (llen <= 2 && (h[pos] == '\r' || h[pos] == '\n'))
			break; /* the blank line ending the header */
		if (h[pos] != ' ' && h[pos] != '\t')
			keep = imap_fetch_field_wanted(it, h + pos, llen) != it->fields_not;
		if (keep)
			strbuf_append(out, h + pos, llen);
		pos = end;
	}
	strbuf_appends(out, "\r\n");
}

static void imap_fetch_write_literal(struct strbuf *out, const char *data, size_t len)
{
	char *dst;
	size_t i;

	strbuf_appendf(out, "{%zu}\r\n", len);
	dst = strbuf_reserve(out, len);
	memcpy(dst, data, len);
	/* NUL may not appear in a literal (RFC 3501 CHAR8). */
	for (i = 0; i < len; i++) {
		if (dst[i] == '\0')
			dst[i] = (char)0x80;
	}
	strbuf_commit(out, len);
}

static int imap_fetch_render_section(const struct imap_fetch_item *it,
				     const struct imap_msg *msg,
				     const struct message_cache_view *view,
				     struct strbuf *out, const char **error_r)
{
	struct message_cache_range range;
	struct strbuf filtered = STRBUF_INIT;
	const char *data = "";
	size_t len = 0;
	int found = message_cache_find_section(view, it->section, &range, error_r);

	if (found < 0)
		return -1;
	if (found > 0 && range.offset + range.size <= msg->data_size) {
		data = msg->data + range.offset;
		len = range.size;
		if (it->field_count > 0) {
			imap_fetch_filter_header(it, data, len, &filtered);
			data = filtered.data;
			len = filtered.len;
		}
	}
	if (it->partial) {
		uint64_t from = it->origin < len ? it->origin : len;
		uint64_t n = len - from < it->count ? len - from : it->count;

		data += from;
		len = (size_t)n;
	}
	strbuf_appends(out, it->name);
	strbuf_appendc(out, ' ');
	imap_fetch_write_literal(out, data, len);
	strbuf_free(&filtered);
	return 0;
}

static int imap_fetch_render_item(const struct imap_fetch_item *it, const struct imap_msg *msg,
				  const char *flags_text, const struct message_cache_view *view,
				  struct strbuf *out, const char **error_r)
{
	char date[64];

	switch (it->type) {
	case FETCH_UID:
		strbuf_appendf(out, "UID %u", msg->uid);
		return 0;
	case FETCH_FLAGS:
		strbuf_appendf(out, "FLAGS %s", flags_text);
		return 0;
	case FETCH_INTERNALDATE:
		imap_datetime_format(msg->internal_date, msg->tz_offset, date);
		strbuf_appendf(out, "INTERNALDATE \"%s\"", date);
		return 0;
	case FETCH_SIZE:
		strbuf_appendf(out, "RFC822.SIZE %llu", (unsigned long long)msg->size);
		return 0;
	case FETCH_ENVELOPE:
		strbuf_appends(out, "ENVELOPE ");
		strbuf_append(out, view->envelope, view->envelope_len);
		return 0;
	case FETCH_BODY:
		strbuf_appends(out, "BODY ");
		strbuf_append(out, view->body, view->body_len);
		return 0;
	case FETCH_BODYSTRUCTURE:
		strbuf_appends(out, "BODYSTRUCTURE ");
		strbuf_append(out, view->bodystructure, view->bodystructure_len);
		return 0;
	case FETCH_SECTION:
		return imap_fetch_render_section(it, msg, view, out, error_r);
	}
	return 0;
}

int imap_fetch_render(const struct imap_fetch *f, const struct imap_msg *msg,
		      const char *flags_text, struct strbuf *out, const char **error_r)
{
	struct message_cache_view view;
	size_t start = out->len;
	unsigned i;

	memset(&view, 0, sizeof(view));
	if ((f->needs & IMAP_MSG_NEED_CACHE) &&
	    message_cache_open(msg->cache, msg->cache_size, &view, error_r) < 0)
		return -1;
	if ((f->needs & IMAP_MSG_NEED_DATA) && msg->data == NULL)
		return error_set(error_r, "message data not loaded");
	strbuf_appendf(out, "* %u FETCH (", msg->seq);
	for (i = 0; i < f->count; i++) {
		if (i > 0)
			strbuf_appendc(out, ' ');
		if (imap_fetch_render_item(&f->items[i], msg, flags_text, &view, out, error_r) < 0) {
			out->len = start;
			out->data[start] = '\0';
			return -1;
		}
	}
	strbuf_appends(out, ")\r\n");
	return 0;
}
