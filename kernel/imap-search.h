/* The IMAP SEARCH engine (RFC 3501 6.4.4, RFC 9051 6.4.4, and the simple
 * MODSEQ key of RFC 7162): a search program parsed once from the command's
 * argument tree, then evaluated message by message.  Pure: it does no I/O and
 * never calls the storage; the text it searches comes from a source (a small
 * vtable the caller provides, or the built-in one that reads msg->data).
 *
 * Lifecycle of one SEARCH command:
 *   imap_search_parse()     once, from the arguments;
 *   imap_search_prepare()   with the view's message count and largest UID
 *                           (resolves "*" in sequence sets);
 *   imap_search_needs()     what to load of each message;
 *   imap_search_prematch()  optional, per message, before loading anything:
 *                           decides from flags, UID, size, dates... alone
 *                           when it can;
 *   imap_search_match()     per message that is still undecided;
 *   imap_search_destroy()   before the parse pool is cleared.
 *
 * Text keys compare after Unicode simple case folding (mail/text-match.h);
 * header values are RFC 2047-decoded and message bodies decoded from their
 * transfer encoding and charset to UTF-8 before comparing. */
#ifndef VIMAP_IMAP_SEARCH_H
#define VIMAP_IMAP_SEARCH_H

#include <stddef.h>
#include <stdint.h>
#include "imap-msg.h"

struct imap_arg;
struct pool;
struct strbuf;
struct imap_search;

/* NOT, OR and parenthesised lists nested deeper than this are refused. */
#define IMAP_SEARCH_MAX_DEPTH 64
/* The charsets SEARCH accepts, as the BADCHARSET response code lists them. */
#define IMAP_SEARCH_CHARSETS "(US-ASCII UTF-8)"

/* Where the text of a message comes from.  Each callback appends to `out`,
   which is empty on entry and owned by the engine; `ctx` is the src_ctx
   given to imap_search_match(); `msg` is only read during the call.  Text
   is UTF-8; ill-formed bytes are allowed and compare as U+FFFD.  A callback
   left NULL is replaced by the built-in one (imap_search_source_from_data,
   which reads msg->data, with a context the search owns): a caller that
   has header fields in an index can provide only `header`. */
struct imap_search_source {
	/* IMAP_MSG_NEED_* bits `header` and `header_all` read of each
	   message (0 when the caller has the fields elsewhere, e.g. in an
	   index). */
	unsigned header_needs;
	/* IMAP_MSG_NEED_* bits body_text reads of each message. */
	unsigned body_needs;
	/* Every occurrence of header field `field` (case-insensitive name) of
	   the message header: values unfolded, RFC 2047-decoded, leading
	   whitespace trimmed, joined with "\n".  Returns 1 when the field
	   occurs (even with an empty value), 0 when it does not, -1 when the
	   message cannot be read. */
	int (*header)(void *ctx, const struct imap_msg *msg, const char *field,
		      struct strbuf *out);
	/* The whole message header as "Name: decoded value\n" lines (for
	   TEXT).  Returns 0, or -1 when the message cannot be read. */
	int (*header_all)(void *ctx, const struct imap_msg *msg,
			  struct strbuf *out);
	/* Every text/ body part (those of encapsulated messages included),
	   decoded from its transfer encoding and its charset, joined with
	   "\n".  Returns 0, or -1 when the message cannot be read. */
	int (*body_text)(void *ctx, const struct imap_msg *msg,
			 struct strbuf *out);
};

/* The built-in source: reads only msg->data (NULL data: the callbacks
   return -1), with mail/message-parser.h, rfc2047.h, transfer-decode.h and
   charset.h.  Its src_ctx is a struct imap_search_data_ctx. */
extern const struct imap_search_source imap_search_source_from_data;

struct imap_search_data_ctx;

/* Scratch buffers for imap_search_source_from_data, reused from message to
   message.  One thread at a time.  Caller frees with
   imap_search_data_ctx_destroy(). */
struct imap_search_data_ctx *imap_search_data_ctx_create(void);
void imap_search_data_ctx_destroy(struct imap_search_data_ctx **ctx);

/* Parses the search program args[0..count) (after "SEARCH", or after
   "RETURN (...)" for ESEARCH): an optional leading "CHARSET name", then one
   or more search keys, ANDed.  Key names are case-insensitive; strings are
   atoms, quoted strings or literals; dates may be quoted.  is_uid_command
   records whether this is UID SEARCH (keys mean the same either way; see
   imap_search_is_uid()).

   On success returns 0 and *search_r, allocated from `pool`, which must
   outlive it; string arguments are copied, so `args` need not.  The caller
   must call imap_search_destroy() before clearing the pool (it frees the
   matchers and scratch buffers held outside the pool).  On failure returns
   -1 with *error_r (valid until this thread's next error) and nothing to
   free: a syntax error (BAD), or a charset other than US-ASCII and UTF-8,
   which imap_search_error_is_badcharset() recognises (NO [BADCHARSET
   IMAP_SEARCH_CHARSETS]). */
int imap_search_parse(const struct imap_arg *args, unsigned count,
		      int is_uid_command, struct pool *pool,
		      struct imap_search **search_r, const char **error_r);

/* 1 when `error`, as set by the last failed imap_search_parse() of this
   thread, is an unsupported-charset error, else 0. */
int imap_search_error_is_badcharset(const char *error);

/* Resolves the sequence sets ("*" included) of the search against the
   view: max_seq messages, largest UID max_uid (0 and 0 for an empty
   mailbox).  Must be called before matching (again whenever the view
   changes); memory from the parse pool.  Sequence-set keys match nothing
   until it is called. */
void imap_search_prepare(struct imap_search *s, uint32_t max_seq,
			 uint32_t max_uid);

/* The IMAP_MSG_NEED_* bits to load for each message before
   imap_search_match() with source `src` (NULL: the built-in source; NULL
   callbacks count as the built-in ones, which need IMAP_MSG_NEED_DATA): 0
   for searches that read only flags, UIDs, sizes, internal dates, keywords
   and modseqs, or header fields when src->header_needs is 0.  Even then,
   imap_search_prematch() tells which messages need loading at all. */
unsigned imap_search_needs(const struct imap_search *s,
			   const struct imap_search_source *src);

/* 1 when the search has a MODSEQ key (the SEARCH response then carries
   "(MODSEQ n)", RFC 7162 3.1.5), else 0. */
int imap_search_has_modseq(const struct imap_search *s);

/* is_uid_command as given to imap_search_parse(). */
int imap_search_is_uid(const struct imap_search *s);

enum imap_search_prematch_result {
	IMAP_SEARCH_NO = 0,     /* cannot match, whatever the message holds */
	IMAP_SEARCH_YES = 1,    /* matches, whatever the message holds */
	IMAP_SEARCH_MAYBE = 2,  /* depends on its text: call imap_search_match() */
};

/* Evaluates what the search can from the index record of `msg` alone
   (seq, uid, flags, recent, keywords, modseq, internal date, size), so the
   caller loads message data only for IMAP_SEARCH_MAYBE. */
enum imap_search_prematch_result
imap_search_prematch(const struct imap_search *s, const struct imap_msg *msg);

/* Returns 1 when `msg` matches, 0 when it does not, -1 when a source
   callback failed.  Text comes from `src` with `src_ctx` (src NULL, or
   imap_search_source_from_data with src_ctx NULL: the built-in source with
   a context the search owns).  Cheap keys are
   evaluated first and AND/OR/NOT short-circuit, so the source is called
   only when needed, at most once per field and message.  The search keeps
   per-message scratch: one thread at a time per search.  `msg` is only
   read during the call. */
int imap_search_match(const struct imap_search *s, const struct imap_msg *msg,
		      const struct imap_search_source *src, void *src_ctx);

/* Frees what the search holds outside its pool; leaves NULL. */
void imap_search_destroy(struct imap_search **s);

/* Parses an RFC 5322 date-time (Date: header value) tolerantly: optional
   day of week, 1-2 digit day, month name, 2-, 3- or 4-digit year (obsolete
   forms: 2 digits < 50 are 20xx, else 19xx; 3 digits are + 1900), optional
   time hh:mm[:ss] (whitespace around colons allowed), zone +hhmm/-hhmm or a
   name (UT, UTC, GMT, Z, EST, EDT, CST, CDT, MST, MDT, PST, PDT; military
   letters and unknown names count as +0000); comments and commas are
   skipped.  *time_r is seconds since the epoch (UTC), *tz_r the zone in
   minutes east of UTC.  Returns 0, or -1 when no valid date is found. */
int imap_search_date_parse(const char *text, size_t len, int64_t *time_r,
			   int32_t *tz_r);

#endif
