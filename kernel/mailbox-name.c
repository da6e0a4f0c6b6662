#include "autoconfig.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "error.h"
#include "mail/mutf7.h"
#include "mailbox-name.h"
#include "strbuf.h"
#include "xalloc.h"

/* "inbox", "InBox/child": INBOX is case-insensitive (RFC 3501 5.1). */
static size_t mailbox_inbox_prefix(const char *name, size_t len)
{
	if (len >= 5 && strncasecmp(name, "INBOX", 5) == 0 &&
	    (len == 5 || name[5] == MAILBOX_SEPARATOR))
		return 5;
	return 0;
}

static int mailbox_name_check(const char *name, size_t len, const char **error_r)
{
	size_t i, comp_start = 0;

	if (len == 0)
		return error_set(error_r, "Empty mailbox name");
	if (len > MAILBOX_NAME_MAX)
		return error_set(error_r, "Mailbox name too long");
	for (i = 0; i <= len; i++) {
		unsigned char ch = i < len ? (unsigned char)name[i] : MAILBOX_SEPARATOR;

		if (ch < 0x20 || ch == 0x7f)
			return error_set(error_r, "Control character in mailbox name");
		if (ch != MAILBOX_SEPARATOR)
			continue;
		if (i == comp_start)
			return error_set(error_r, "Empty hierarchy level in mailbox name");
		if ((i - comp_start == 1 && name[comp_start] == '.') ||
		    (i - comp_start == 2 && name[comp_start] == '.' && name[comp_start + 1] == '.'))
			return error_set(error_r, "'.' and '..' are not valid mailbox name levels");
		comp_start = i + 1;
	}
	return 0;
}

int mailbox_name_from_imap(const char *name, size_t len, struct strbuf *out,
			   const char **error_r)
{
	size_t start = out->len, inbox = mailbox_inbox_prefix(name, len);

	if (memchr(name, '\0', len) != NULL)
		return error_set(error_r, "NUL in mailbox name");
	if (inbox > 0) {
		strbuf_appends(out, "INBOX");
		name += inbox;
		len -= inbox;
	}
	if (mutf7_to_utf8(name, len, out, error_r) < 0) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return error_set(error_r, "Mailbox name is not valid modified UTF-7");
	}
	if (mailbox_name_check(out->data != NULL ? out->data + start : "", out->len - start,
			       error_r) < 0) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}

void mailbox_name_to_imap(const char *name, struct strbuf *out)
{
	const char *error;

	/* Stored names are valid UTF-8: they came through from_imap. */
	if (utf8_to_mutf7(name, strlen(name), out, &error) < 0)
		strbuf_appends(out, name);
}

int mailbox_name_is_inbox(const char *name)
{
	return strncmp(name, "INBOX", 5) == 0 &&
	       (name[5] == '\0' || name[5] == MAILBOX_SEPARATOR);
}

int mailbox_pattern_match(const char *p, const char *n)
{
	/* Dynamic programming over name positions: cur[j] says whether the
	   pattern so far can match n[0..j).  O(|p| * |n|) on any pattern, so
	   a hostile "*a*a*a*..." cannot make LIST take exponential time. */
	size_t nlen = strlen(n), j;
	unsigned char small[2][256], *cur, *next;
	unsigned char *heap = NULL;
	int ret;

	if (nlen + 1 <= sizeof(small[0])) {
		cur = small[0];
		next = small[1];
	} else {
		heap = xcalloc(2, nlen + 1);
		cur = heap;
		next = heap + nlen + 1;
	}
	memset(cur, 0, nlen + 1);
	cur[0] = 1;
	for (; *p != '\0'; p++) {
		memset(next, 0, nlen + 1);
		for (j = 0; j <= nlen; j++) {
			if (!cur[j])
				continue;
			if (*p == '*' || *p == '%') {
				/* Zero characters, then extend while allowed. */
				next[j] = 1;
				while (j < nlen && (*p == '*' || n[j] != MAILBOX_SEPARATOR)) {
					j++;
					next[j] = 1;
				}
				/* j advanced inside: the outer loop goes on from there. */
			} else if (j < nlen && n[j] == *p) {
				next[j + 1] = 1;
			}
		}
		{
			unsigned char *t = cur;

			cur = next;
			next = t;
		}
	}
	ret = cur[nlen];
	free(heap);
	return ret;
}

int mailbox_pattern_from_imap(const char *reference, size_t ref_len,
			      const char *pattern, size_t pat_len,
			      struct strbuf *out, const char **error_r)
{
	struct strbuf joined = STRBUF_INIT;
	size_t inbox;
	int ret = 0;

	/* RFC 3501 6.3.8: the reference is prefixed; a pattern starting
	   with the separator stands alone. */
	if (pat_len > 0 && pattern[0] == MAILBOX_SEPARATOR)
		ref_len = 0;
	strbuf_append(&joined, reference, ref_len);
	strbuf_append(&joined, pattern, pat_len);
	if (joined.len == 0) {
		strbuf_free(&joined);
		return 0;
	}
	inbox = mailbox_inbox_prefix(joined.data, joined.len);
	/* "inbox*" and "inbox%" name INBOX too. */
	if (inbox == 0 && joined.len > 5 && strncasecmp(joined.data, "INBOX", 5) == 0 &&
	    (joined.data[5] == '*' || joined.data[5] == '%'))
		inbox = 5;
	if (inbox > 0)
		strbuf_appends(out, "INBOX");
	if (memchr(joined.data, '\0', joined.len) != NULL ||
	    mutf7_to_utf8(joined.data + inbox, joined.len - inbox, out, error_r) < 0)
		ret = error_set(error_r, "Pattern is not valid modified UTF-7");
	strbuf_free(&joined);
	return ret;
}
