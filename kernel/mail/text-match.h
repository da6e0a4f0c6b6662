/* Case-insensitive substring search over UTF-8 text, for IMAP SEARCH (RFC
 * 3501 6.4.4: BODY, TEXT, SUBJECT, ... match "case-insensitively").  Needle
 * and haystack are compared after Unicode simple case folding (CaseFolding.txt
 * statuses C and S: ASCII, Latin, Greek, Cyrillic, Armenian, Georgian, ...;
 * "ß" does not become "ss").  Ill-formed UTF-8 on either side folds to U+FFFD.
 *
 * Pure-ASCII stretches of the haystack are searched in place, without
 * folding them into a copy; other stretches are folded block by block.  The
 * time is linear in the haystack whatever the needle. */
#ifndef VIMAP_TEXT_MATCH_H
#define VIMAP_TEXT_MATCH_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;
struct text_matcher;
struct text_matcher_stream;

/* Returns the simple case folding of code point cp (cp itself when it has
   none). */
uint32_t text_match_fold_char(uint32_t cp);

/* Appends the case-folded form of the UTF-8 text in[0..len) to out. */
void text_match_fold(const char *in, size_t len, struct strbuf *out);

/* Creates a matcher for needle_utf8[0..len), folded once here.  Caller frees
   with text_matcher_destroy().  The matcher is immutable: any number of
   threads may use it at once.  An empty needle matches everything. */
struct text_matcher *text_matcher_create(const char *needle_utf8, size_t len);

/* Returns 1 when the needle occurs in hay[0..len), else 0. */
int text_matcher_find(const struct text_matcher *m, const char *hay,
		      size_t len);

void text_matcher_destroy(struct text_matcher **m);

/* A search through a haystack given in chunks (a message body as it is
   read or decoded), finding matches that cross chunk boundaries; it keeps
   only the last needle-length folded bytes between chunks.  Chunks much
   longer than the needle are cheapest.  `m` must outlive the stream; one
   stream belongs to one thread at a time.  Caller frees with
   text_matcher_stream_destroy(). */
struct text_matcher_stream *
text_matcher_stream_create(const struct text_matcher *m);

/* Searches the next chunk[0..len) of the haystack.  Returns 1 once the
   needle has been found (in this or an earlier chunk; later chunks are then
   ignored), else 0.  A UTF-8 character cut by a chunk boundary is completed
   from the next chunk. */
int text_matcher_feed(struct text_matcher_stream *s, const char *chunk,
		      size_t len);

/* Ends the input: a character still cut at the end of the last chunk
   counts as ill-formed (U+FFFD), which matters only to needles containing
   U+FFFD.  Returns the final answer, 1 (found) or 0. */
int text_matcher_finish(struct text_matcher_stream *s);

/* Forgets all input, to search another haystack with the same needle. */
void text_matcher_stream_reset(struct text_matcher_stream *s);

void text_matcher_stream_destroy(struct text_matcher_stream **s);

#endif
