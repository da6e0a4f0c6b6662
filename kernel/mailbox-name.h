/* Mailbox names: between the wire (modified UTF-7, RFC 3501 5.1.3) and the
 * storage plugins (UTF-8, '/' as hierarchy separator, "INBOX" in upper case).
 * Every name a client sends passes through here before any plugin sees it,
 * so a plugin never meets an empty, "." or ".." component, a control
 * character or an over-long name. */
#ifndef VIMAP_MAILBOX_NAME_H
#define VIMAP_MAILBOX_NAME_H

#include <stddef.h>

struct strbuf;

#define MAILBOX_NAME_MAX 1000
#define MAILBOX_SEPARATOR '/'

/* Converts a client's name (modified UTF-7) to the storage form and checks
   it.  Appends to `out`; 0, or -1 with a reason for the client. */
int mailbox_name_from_imap(const char *name, size_t len, struct strbuf *out,
			   const char **error_r);

/* Converts a stored name (UTF-8) to modified UTF-7 for the wire. */
void mailbox_name_to_imap(const char *name, struct strbuf *out);

/* 1 when `name` is INBOX or under it ("INBOX/x"): already canonical. */
int mailbox_name_is_inbox(const char *name);

/* LIST pattern matching on storage names: '*' matches anything, '%'
   anything but the separator.  `pattern` is in storage form (converted
   with mailbox_pattern_from_imap).  1 or 0. */
int mailbox_pattern_match(const char *pattern, const char *name);

/* Joins LIST's reference and pattern and converts them to storage form
   (modified UTF-7 decoded, a leading "inbox" canonicalised).  0 or -1. */
int mailbox_pattern_from_imap(const char *reference, size_t ref_len,
			      const char *pattern, size_t pat_len,
			      struct strbuf *out, const char **error_r);

#endif
