/* FETCH ENVELOPE (RFC 3501 7.4.2): the envelope of a message rendered in
 * IMAP syntax from its raw header fields, and the RFC 5322 address-list
 * parser it rests on.  Encoded words (RFC 2047) are left as they are; the
 * client decodes them. */
#ifndef VIMAP_IMAP_ENVELOPE_H
#define VIMAP_IMAP_ENVELOPE_H

#include <stddef.h>
#include "strbuf.h"
#include "message-parser.h"

/* Host and mailbox put in an address whose domain or local part is
   missing (a host of NIL would mean group syntax to the client). */
#define IMAP_ENVELOPE_MISSING_MAILBOX "MISSING_MAILBOX"
#define IMAP_ENVELOPE_MISSING_DOMAIN "MISSING_DOMAIN"

/* One IMAP address: (name adl mailbox host); NULL fields are NIL.  A group
   starts with (NIL NIL "group name" NIL) and ends with (NIL NIL NIL NIL). */
struct imap_envelope_address {
	const char *name;            /* display name, or a comment, unquoted */
	const char *adl;             /* obsolete source route "@a,@b" */
	const char *mailbox;         /* local part, unquoted */
	const char *host;
};

/* Called once per address in order; the strings are valid only during the
   call. */
typedef void imap_envelope_address_cb(const struct imap_envelope_address *addr,
				      void *context);

/* Parses the raw value of an address header (folding allowed, need not be
   NUL-terminated) per RFC 5322 3.4 and its obsolete forms: display names,
   quoted strings, comments, groups, source routes.  Text that is not an
   address is skipped; an address missing its local part or domain gets
   IMAP_ENVELOPE_MISSING_*.  Returns the number of callbacks made. */
unsigned int imap_envelope_parse_addresses(const char *value, size_t len,
					   imap_envelope_address_cb *cb,
					   void *context);

/* Appends an IMAP address list "((...)(...))" for a raw header value, or
   NIL when it holds no address.  Returns the number of addresses. */
unsigned int imap_envelope_write_addresses(struct strbuf *out, const char *value,
					   size_t len);

/* Appends the ENVELOPE of `msg` (a part with is_message set, whose offsets
   are into `data`) as "(date subject from sender reply-to to cc bcc
   in-reply-to message-id)".  Date, subject, in-reply-to and message-id are
   the unfolded, trimmed raw values; sender and reply-to fall back to from
   when absent or empty (RFC 3501 7.4.2).  A part without envelope fields
   gets all NILs. */
void imap_envelope_write(struct strbuf *out, const char *data,
			 const struct message_part *msg);

#endif
