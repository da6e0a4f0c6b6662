#include "autoconfig.h"
#include <string.h>
#include <strings.h>
#include "imap-quote.h"

/* Whether the bytes can travel as a quoted string: TEXT-CHAR is any 7-bit
   CHAR except CR and LF (and NUL, which is not a CHAR at all). */
static int quote_is_quotable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0' || c == '\r' || c == '\n' || c >= 0x80)
			return 0;
	}
	return 1;
}

static void quote_append_quoted(struct strbuf *out, const char *s, size_t len)
{
	size_t i, start = 0;

	strbuf_appendc(out, '"');
	for (i = 0; i < len; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		strbuf_append(out, s + start, i - start);
		strbuf_appendc(out, '\\');
		start = i;
	}
	strbuf_append(out, s + start, len - start);
	strbuf_appendc(out, '"');
}

static void quote_append_literal(struct strbuf *out, const char *s, size_t len)
{
	char *dst;
	size_t i;

	strbuf_appendf(out, "{%zu}\r\n", len);
	dst = strbuf_reserve(out, len);
	for (i = 0; i < len; i++)
		dst[i] = s[i] == '\0' ? (char)0x80 : s[i];
	strbuf_commit(out, len);
}

void imap_quote_string(struct strbuf *out, const char *s, size_t len)
{
	if (len == 0) {
		strbuf_append(out, "\"\"", 2);
		return;
	}
	if (quote_is_quotable(s, len))
		quote_append_quoted(out, s, len);
	else
		quote_append_literal(out, s, len);
}

void imap_quote_nstring(struct strbuf *out, const char *s, size_t len)
{
	if (s == NULL)
		strbuf_append(out, "NIL", 3);
	else
		imap_quote_string(out, s, len);
}

void imap_quote_nstring_cstr(struct strbuf *out, const char *s)
{
	imap_quote_nstring(out, s, s == NULL ? 0 : strlen(s));
}

/* ASTRING-CHAR: ATOM-CHAR or ']'; ATOM-CHAR excludes atom-specials, i.e.
   "(" ")" "{" SP CTL "%" "*" '"' "\" and "]" (which astrings allow). */
static int quote_is_astring_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return strchr("(){%*\"\\", c) == NULL;
}

void imap_quote_astring(struct strbuf *out, const char *s, size_t len)
{
	size_t i;

	if (len == 0 || (len == 3 && strncasecmp(s, "NIL", 3) == 0)) {
		imap_quote_string(out, s, len);
		return;
	}
	for (i = 0; i < len; i++) {
		if (!quote_is_astring_char((unsigned char)s[i])) {
			imap_quote_string(out, s, len);
			return;
		}
	}
	strbuf_append(out, s, len);
}
