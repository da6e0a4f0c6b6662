/* RFC 5322 + MIME (RFC 2045, 2046, 2231) structure parser over a message
 * held in memory.  One pass over the lines of the message builds a tree of
 * parts with the byte ranges of each header and body and the decoded MIME
 * header fields; nothing of the message is copied except those field values.
 *
 * Tree shape (the same as IMAP's view in RFC 3501 6.4.5):
 *   - the root part is the message: its header is the message header;
 *   - a multipart part has one child per body part between its boundaries;
 *   - a message/rfc822 part has exactly one child, the encapsulated message
 *     (whose header is that message's header and whose body is its body);
 *   - every other part is a leaf.
 *
 * Broken input never fails the parse.  Limits keep hostile input bounded:
 * containers nested deeper than MESSAGE_PARSER_MAX_DEPTH and containers met
 * after MESSAGE_PARSER_MAX_PARTS parts are described as text/plain leaves, as
 * are multiparts without a boundary and message/rfc822 parts in a transfer
 * encoding other than 7bit, 8bit or binary (RFC 2046 5.2.1).  A multipart
 * whose boundary never appears has no children.
 *
 * Offsets and sizes are bytes of the given data: line ends are counted as
 * they are (CRLF or bare LF), nothing is converted. */
#ifndef VIMAP_MESSAGE_PARSER_H
#define VIMAP_MESSAGE_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include "strbuf.h"

#define MESSAGE_PARSER_MAX_DEPTH 100
#define MESSAGE_PARSER_MAX_PARTS 10000
/* Parameters kept per Content-Type or Content-Disposition field. */
#define MESSAGE_PARSER_MAX_PARAMS 64
/* Tags kept per Content-Language field. */
#define MESSAGE_PARSER_MAX_LANGUAGES 16

enum message_part_kind {
	MESSAGE_PART_LEAF = 0,
	MESSAGE_PART_MULTIPART,
	MESSAGE_PART_MESSAGE_RFC822,
};

/* The header fields ENVELOPE is made of, in ENVELOPE's order. */
enum message_envelope_field {
	MESSAGE_ENVELOPE_DATE = 0,
	MESSAGE_ENVELOPE_SUBJECT,
	MESSAGE_ENVELOPE_FROM,
	MESSAGE_ENVELOPE_SENDER,
	MESSAGE_ENVELOPE_REPLY_TO,
	MESSAGE_ENVELOPE_TO,
	MESSAGE_ENVELOPE_CC,
	MESSAGE_ENVELOPE_BCC,
	MESSAGE_ENVELOPE_IN_REPLY_TO,
	MESSAGE_ENVELOPE_MESSAGE_ID,
	MESSAGE_ENVELOPE_FIELD_COUNT
};

/* Raw value ranges (after the colon, folding included, final line end
   excluded) of the first occurrence of each envelope field. */
struct message_envelope_fields {
	bool present[MESSAGE_ENVELOPE_FIELD_COUNT];
	size_t offset[MESSAGE_ENVELOPE_FIELD_COUNT];
	size_t size[MESSAGE_ENVELOPE_FIELD_COUNT];
};

/* A MIME parameter.  `name` is uppercased; a name ending in '*' carries an
   RFC 2231 extended value ("charset'language'percent-encoded"), with any
   RFC 2231 continuations (name*0, name*1*, ...) already joined. */
struct message_param {
	const char *name;
	const char *value;
};

struct message_part {
	struct message_part *parent, *next, *children;
	unsigned int child_count;
	unsigned int depth;          /* root is 0 */
	enum message_part_kind kind;
	bool is_message;             /* root or child of a message/rfc822 part */
	bool degraded;               /* described as text/plain, see above */

	size_t header_offset, header_size;  /* header incl. the blank line */
	size_t body_offset, body_size;      /* body_offset = header end */
	size_t body_lines;   /* LFs in the body, +1 for an unterminated last line */

	/* Effective content type, uppercased (defaults filled in). */
	const char *type, *subtype;
	const struct message_param *params;
	unsigned int param_count;
	const char *encoding;        /* uppercased token, NULL when absent */
	const char *id, *description, *md5, *location; /* unfolded, NULL if absent */
	const char *disposition;     /* uppercased token, NULL when absent */
	const struct message_param *disp_params;
	unsigned int disp_param_count;
	const char *const *languages;
	unsigned int language_count;

	/* Non-NULL exactly when is_message. */
	const struct message_envelope_fields *envelope;
};

struct message_parser_result {
	const char *data;            /* the parsed message, not owned */
	size_t size;
	struct message_part *root;
	unsigned int part_count;
	bool depth_limited;          /* a container was cut by the depth limit */
	bool part_limited;           /* parts were cut by the part limit */
	struct message_parser_arena *arena; /* private */
};

/* Parses the message at `data` (`size` bytes, need not be NUL-terminated).
   Never fails: broken MIME is described as well as it can be.  The result
   points into `data`, which must outlive it; free with
   message_parser_destroy(). */
struct message_parser_result *message_parser_parse(const char *data, size_t size);

/* Frees a result and everything it points to; leaves NULL. */
void message_parser_destroy(struct message_parser_result **result);

/* Returns the value of parameter `name` (case-insensitive, without the
   RFC 2231 '*') of the part's Content-Type, or NULL.  For an extended
   value (name*) the charset and language prefix is skipped and the
   percent-encoding is decoded into `scratch`, which then holds the result
   (valid until `scratch` changes).  Other results point into the part. */
const char *message_parser_param_get(const struct message_part *part,
				     const char *name, struct strbuf *scratch);

/* Preorder successor of `part` within its tree, or NULL at the end. */
const struct message_part *message_parser_part_next(const struct message_part *part);

/* Iterator over the fields of one header block (a message or MIME header).
   Stops at the blank line that ends the header.  Lines without a colon,
   names with spaces or controls, and continuation lines with no field
   before them are skipped. */
struct message_parser_header_iter {
	const char *data;
	size_t pos, end;
};

struct message_header_field {
	const char *name;            /* points into the message */
	size_t name_len;             /* without trailing whitespace */
	const char *value;           /* raw, after the colon, folds included */
	size_t value_len;            /* without the final line end */
	size_t offset, size;         /* whole field incl. its final line end */
};

/* Starts iterating the header at data[offset .. offset+size). */
void message_parser_header_iter_init(struct message_parser_header_iter *iter,
				     const char *data, size_t offset, size_t size);
/* Fills *field_r with the next field; returns false at the end.  The
   pointers are into the message. */
bool message_parser_header_iter_next(struct message_parser_header_iter *iter,
				     struct message_header_field *field_r);

/* Appends a raw header value to `out` unfolded (CR and LF removed) and with
   leading and trailing whitespace trimmed. */
void message_parser_unfold(struct strbuf *out, const char *value, size_t len);

/* A text part as SEARCH needs it. */
struct message_text_part {
	const struct message_part *part;
	const char *subtype;         /* uppercased, e.g. "PLAIN", "HTML" */
	const char *charset;         /* as in the message; "US-ASCII" when
					absent or empty (RFC 2045 default) */
	const char *encoding;        /* uppercased; "7BIT" if none */
	size_t body_offset, body_size;
};

/* Iterator over the text/ leaves of a parsed message, in preorder,
   including those inside encapsulated messages. */
struct message_parser_text_iter {
	const struct message_part *next;
	struct strbuf scratch;
};

/* Starts iterating over `result`, which must outlive the iterator. */
void message_parser_text_iter_init(struct message_parser_text_iter *iter,
				   const struct message_parser_result *result);
/* Fills *text_r and returns true, or returns false at the end.  Strings in
   *text_r stay valid until the next call or message_parser_text_iter_deinit
   (and no longer than the result). */
bool message_parser_text_iter_next(struct message_parser_text_iter *iter,
				   struct message_text_part *text_r);
/* Frees the iterator's scratch buffer. */
void message_parser_text_iter_deinit(struct message_parser_text_iter *iter);

#endif
