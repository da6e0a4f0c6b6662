/* Decoding of RFC 2047 encoded words ("=?charset?B?...?=" and
 * "=?charset?Q?...?=", with the RFC 2231 section 5 language suffix
 * "charset*lang") in header values, into UTF-8. */
#ifndef VIMAP_RFC2047_H
#define VIMAP_RFC2047_H

#include <stddef.h>

struct strbuf;

/* Decodes the header value in[0..len) and appends it to out as valid UTF-8.
   Encoded words are recognized wherever they occur (mailers put them inside
   words, quotes and comments); whitespace, line folds included, between two
   adjacent encoded words is dropped, and adjacent words in the same charset
   are joined before conversion, so a character split across them survives.
   A malformed encoded word, or one in a charset that charset_to_utf8() does
   not know, stays as literal text.  Folded lines are unfolded (a line break
   followed by a space or tab is removed); literal text that is not valid
   UTF-8 has each bad sequence replaced by U+FFFD.  Returns 1 when at least
   one encoded word was decoded, 0 when the value had none. */
int rfc2047_decode(const char *in, size_t len, struct strbuf *out);

#endif
