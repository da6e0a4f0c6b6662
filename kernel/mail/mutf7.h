/* Modified UTF-7, the mailbox-name encoding of IMAP4rev1 (RFC 3501 5.1.3),
 * to and from UTF-8.  Decoding is strict: only the one canonical encoding of
 * a name is accepted, so that two different wire names can never be the
 * same mailbox (utf8_to_mutf7(mutf7_to_utf8(x)) == x for every valid x). */
#ifndef VIMAP_MUTF7_H
#define VIMAP_MUTF7_H

#include <stddef.h>

struct strbuf;

/* Decodes the modified UTF-7 in in[0..len) and appends the UTF-8 to out.
   Rejected: bytes outside printable ASCII (0x20..0x7e) and NUL; '&' not
   followed by '-' or a '-'-terminated modified-BASE64 run; characters outside
   the modified-BASE64 alphabet; runs that encode printable ASCII (which must
   appear directly, '&' as "&-"), U+0000, unpaired UTF-16 surrogates; runs with
   superfluous characters or non-zero padding bits; two runs in a row (they
   must be one run).  Returns 0, or -1 with *error_r set (valid until this
   thread's next error) and out left as it was. */
int mutf7_to_utf8(const char *in, size_t len, struct strbuf *out,
		  const char **error_r);

/* Encodes the UTF-8 in in[0..len) as modified UTF-7 appended to out.
   Rejected: ill-formed UTF-8 (overlong forms, surrogates, values above
   U+10FFFF, truncated or stray bytes) and U+0000.  Returns 0, or -1 with
   *error_r set (valid until this thread's next error) and out left as it
   was. */
int utf8_to_mutf7(const char *in, size_t len, struct strbuf *out,
		  const char **error_r);

/* Returns 1 when in[0..len) is valid (canonical) modified UTF-7, else 0;
   exactly when mutf7_to_utf8() would succeed. */
int mutf7_is_valid(const char *in, size_t len);

#endif
