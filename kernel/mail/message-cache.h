/* The parse result of one message as the storage keeps it: a compact,
 * versioned, position-independent blob built once at APPEND or delivery and
 * stored opaquely in the mailbox index, from which FETCH answers ENVELOPE,
 * BODY, BODYSTRUCTURE and BODY[section] without re-parsing the message.
 *
 * Layout (all integers unsigned LEB128 varints unless noted):
 *   u8 version (MESSAGE_CACHE_VERSION)
 *   message size
 *   envelope length, bytes, NUL
 *   BODY length, bytes, NUL
 *   BODYSTRUCTURE length, bytes, NUL
 *   search headers length, bytes, NUL ("name:value\n" lines: Subject, From,
 *     To, Cc, Bcc RFC 2047-decoded, Date raw; one line per occurrence)
 *   part count, then per part in preorder:
 *     u8 flags (1 multipart, 2 message/rfc822), child count,
 *     header offset minus the parent's body offset (the root's: itself),
 *     header size, body size
 *   u32 little-endian FNV-1a checksum of every byte before it
 * A reader checks the version, the checksum, that every length fits, that
 * the part tree is consistent and that every range lies inside its parent
 * and the message; anything else is rejected. */
#ifndef VIMAP_MESSAGE_CACHE_H
#define VIMAP_MESSAGE_CACHE_H

#include <stddef.h>
#include "strbuf.h"
#include "message-parser.h"

#define MESSAGE_CACHE_VERSION 2

/* A validated blob.  Every pointer points into the blob (zero copy) and is
   valid as long as the blob is; the strings are NUL-terminated. */
struct message_cache_view {
	const char *envelope;        /* "(date subject ...)" */
	size_t envelope_len;
	const char *body;            /* BODY */
	size_t body_len;
	const char *bodystructure;   /* BODYSTRUCTURE */
	size_t bodystructure_len;
	const char *search_headers;  /* "name:decoded value\n" lines for SEARCH */
	size_t search_headers_len;
	size_t message_size;         /* bytes of the message it was built from */
	unsigned int part_count;
	const unsigned char *parts;  /* private: the encoded part tree */
	size_t parts_len;
};

enum message_cache_section_kind {
	MESSAGE_CACHE_SECTION_ALL = 0,      /* BODY[]: the whole message */
	MESSAGE_CACHE_SECTION_PART,         /* BODY[1.2]: a part's body */
	MESSAGE_CACHE_SECTION_HEADER,       /* a message header, blank line incl. */
	MESSAGE_CACHE_SECTION_HEADER_FIELDS,     /* same range; caller filters */
	MESSAGE_CACHE_SECTION_HEADER_FIELDS_NOT, /* same range; caller filters */
	MESSAGE_CACHE_SECTION_TEXT,         /* a message body */
	MESSAGE_CACHE_SECTION_MIME,         /* a part's MIME header */
};

struct message_cache_range {
	size_t offset, size;         /* bytes of the message */
	enum message_cache_section_kind kind;
};

/* Parses the message at `data` (`size` bytes) and appends its blob to
   `blob_out` (the caller owns the buffer).  Broken MIME is not an error; fails
   only when `data` is NULL with a non-zero size. */
int message_cache_build(const char *data, size_t size, struct strbuf *blob_out,
			const char **error_r);

/* Appends the blob of an existing parse result to `blob_out`. */
void message_cache_serialize(const struct message_parser_result *result,
			     struct strbuf *blob_out);

/* Validates the blob at `blob` (`size` bytes) and fills *view_r with
   pointers into it.  Returns -1 with an error for anything that is not a
   complete blob of this version. */
int message_cache_open(const void *blob, size_t size,
		       struct message_cache_view *view_r, const char **error_r);

/* Resolves a FETCH section-spec (RFC 3501 6.4.5) without its brackets:
   "" (whole message), "HEADER", "TEXT", "HEADER.FIELDS ..." and
   "HEADER.FIELDS.NOT ..." (anything after the keyword is left to the caller),
   "1.2.3", "1.2.MIME", "2.HEADER", "2.TEXT", ...; keywords are
   case-insensitive.  Part 1 of a non-multipart message is its body; numbers
   under a message/rfc822 part address its encapsulated message, and HEADER
   and TEXT after numbers need such a part.  Returns 1 with the byte range
   in *range_r, 0 when the section names no existing part (FETCH then sends
   an empty string), -1 with an error when the spec is malformed. */
int message_cache_find_section(const struct message_cache_view *view,
			       const char *section,
			       struct message_cache_range *range_r,
			       const char **error_r);

/* SEARCH's header fields from the blob: every occurrence of `field`
   (Subject, From, To, Cc, Bcc or Date, any case), decoded, joined with
   "\n" and appended to out.  1 when present, 0 when absent, -1 when the
   blob does not keep that field (the caller reads the message). */
int message_cache_header(const struct message_cache_view *view, const char *field,
			 struct strbuf *out);

/* SEARCH's fast path: the search-header lines of a blob without checking
   its checksum or part tree (SEARCH SUBJECT over 100,000 messages must not
   hash 100,000 blobs).  Every length is still bounds-checked, so a damaged
   blob can give a wrong match, never a read outside it.  0, or -1 when the
   blob is not of this version or is cut short. */
int message_cache_search_headers(const void *blob, size_t size, const char **headers_r,
				 size_t *len_r);
/* message_cache_header() on lines found by message_cache_search_headers(). */
int message_cache_header_in(const char *headers, size_t headers_len, const char *field,
			    struct strbuf *out);

#endif
