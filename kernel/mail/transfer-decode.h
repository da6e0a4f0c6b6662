/* Content-Transfer-Encoding decoding of MIME bodies (RFC 2045 section 6).
 * Decoding is tolerant, as a mail server's must be: what real mailers get
 * wrong is skipped or kept rather than refused, so these never fail on the
 * data itself. */
#ifndef VIMAP_TRANSFER_DECODE_H
#define VIMAP_TRANSFER_DECODE_H

#include <stddef.h>

struct strbuf;

enum transfer_encoding {
	TRANSFER_ENCODING_UNKNOWN = -1,
	TRANSFER_ENCODING_7BIT,
	TRANSFER_ENCODING_8BIT,
	TRANSFER_ENCODING_BINARY,
	TRANSFER_ENCODING_BASE64,
	TRANSFER_ENCODING_QUOTED_PRINTABLE,
};

/* Maps a Content-Transfer-Encoding value (case-insensitive, surrounding
   whitespace ignored) to its enum; NULL or empty is 7bit (the RFC 2045
   default); anything else is TRANSFER_ENCODING_UNKNOWN. */
enum transfer_encoding transfer_encoding_from_name(const char *name);

/* Decodes base64 from in[0..len), appending the bytes to out.  Whitespace
   and characters outside the alphabet are skipped; decoding stops at the
   first '=' (padding); a final incomplete group yields the whole bytes it
   holds. */
void transfer_decode_base64(const char *in, size_t len, struct strbuf *out);

/* Decodes quoted-printable from in[0..len), appending to out.  "=XY" (hex
   digits of either case) is the byte XY; '=' followed by optional spaces or
   tabs and a line break ("\r\n" or "\n") or the end of input is a soft line
   break and disappears; any other '=' is kept literally; spaces and tabs at
   the end of a line are dropped; line breaks are kept as they are. */
void transfer_decode_qp(const char *in, size_t len, struct strbuf *out);

/* Decodes in[0..len) according to the Content-Transfer-Encoding named
   `encoding` (as transfer_encoding_from_name() reads it; 7bit, 8bit and
   binary copy the data unchanged) and appends the result to out.  Returns 0,
   or -1 with *error_r set (valid until this thread's next error) and out
   unchanged for an unknown encoding, leaving the caller to decide (RFC 2045
   says to treat such a body as application/octet-stream). */
int transfer_decode(const char *encoding, const char *in, size_t len,
		    struct strbuf *out, const char **error_r);

#endif
