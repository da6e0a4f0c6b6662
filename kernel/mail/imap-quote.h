/* IMAP string output (RFC 3501 section 4.3 and 9): every string a server
 * sends is either a quoted string or a literal.  These helpers pick the
 * quoted form when the bytes allow it and fall back to a literal otherwise,
 * so callers never have to think about escaping. */
#ifndef VIMAP_IMAP_QUOTE_H
#define VIMAP_IMAP_QUOTE_H

#include <stddef.h>
#include "strbuf.h"

/* Appends the `len` bytes at `s` to `out` as an IMAP string.  The quoted
   form ("...", with '"' and '\' escaped) is used when every byte is 7-bit
   and none is CR or LF; otherwise a literal "{n}\r\n" followed by the bytes.
   NUL cannot appear in either form, so each NUL byte is sent as 0x80 (an
   8-bit byte, which forces the literal form).  `s` may be NULL only when
   `len` is 0.  Nothing is retained. */
void imap_quote_string(struct strbuf *out, const char *s, size_t len);

/* As imap_quote_string(), but appends NIL when `s` is NULL. */
void imap_quote_nstring(struct strbuf *out, const char *s, size_t len);

/* As imap_quote_nstring() for a NUL-terminated string (or NULL). */
void imap_quote_nstring_cstr(struct strbuf *out, const char *s);

/* Appends an astring: a bare atom when the bytes are all ASTRING-CHARs and
   the value is not empty and not "NIL" (any case), otherwise the string
   form of imap_quote_string(). */
void imap_quote_astring(struct strbuf *out, const char *s, size_t len);

#endif
