/* Character sets: conversion of text in a named charset to UTF-8 (through
 * glibc's iconv, with fast paths for US-ASCII, UTF-8 and ISO-8859-1), and the
 * strict UTF-8 primitives the other text modules share.  Nothing here fails
 * on bad input bytes: ill-formed sequences become U+FFFD, because mail is
 * full of mislabelled text and a search must still see the rest.  Every
 * function is thread-safe. */
#ifndef VIMAP_CHARSET_H
#define VIMAP_CHARSET_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* What charset_utf8_decode() stores for a sequence that is not a character. */
#define CHARSET_UTF8_BAD 0xFFFFFFFFu   /* ill-formed */
#define CHARSET_UTF8_SHORT 0xFFFFFFFEu /* well-formed so far, cut by the end */
/* U+FFFD REPLACEMENT CHARACTER in UTF-8 (3 bytes). */
#define CHARSET_REPLACEMENT_UTF8 "\xEF\xBF\xBD"

/* Decodes the UTF-8 character at in[0] (len >= 1) strictly: no overlong
   forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.  Returns the
   number of bytes it covers (>= 1) and sets *cp_r: to the code point for a
   character; to CHARSET_UTF8_BAD for an ill-formed sequence, covering its
   maximal subpart (Unicode 15, 3.9 "U+FFFD substitution of maximal
   subparts"); to CHARSET_UTF8_SHORT when the bytes are a valid prefix that
   the end of input cuts off (it then covers all len bytes; a caller with no
   more input treats it as BAD). */
size_t charset_utf8_decode(const char *in, size_t len, uint32_t *cp_r);

/* Appends the UTF-8 encoding of cp, which must be a Unicode scalar value
   (<= U+10FFFF, not a surrogate); anything else appends U+FFFD. */
void charset_utf8_append(struct strbuf *out, uint32_t cp);

/* Appends in[0..len) to out, replacing each ill-formed subsequence with
   U+FFFD.  Returns 1 when the input was valid UTF-8 (copied unchanged), 0
   when something was replaced. */
int charset_utf8_sanitize(const char *in, size_t len, struct strbuf *out);

/* Returns 1 when in[0..len) is valid UTF-8, else 0. */
int charset_utf8_is_valid(const char *in, size_t len);

/* Returns 1 when charset_to_utf8() can convert from charset `name`
   (case-insensitive; MIME names and common aliases), else 0 (also for
   NULL). */
int charset_is_known(const char *name);

/* Converts in[0..len), text in charset `charset` (NULL: us-ascii, the
   RFC 2045 default), to UTF-8 appended to out.  US-ASCII is treated as
   UTF-8 (8-bit bytes in "us-ascii" text are usually UTF-8); invalid or
   unconvertible sequences become U+FFFD, so the output is always valid
   UTF-8.  Returns 0, or -1 with *error_r set (valid until this thread's
   next error) and out unchanged when the charset is unknown or its name
   malformed; the caller then decides (raw bytes, ISO-8859-1, ...). */
int charset_to_utf8(const char *charset, const char *in, size_t len,
		    struct strbuf *out, const char **error_r);

/* Frees the calling thread's cache of iconv descriptors.  Threads ending
   through pthread_exit() or returning from their start routine free it
   automatically; the main thread may call this before exit to keep leak
   checkers quiet.  Safe to call when there is no cache. */
void charset_thread_deinit(void);

#endif
