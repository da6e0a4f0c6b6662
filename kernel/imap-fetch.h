/* FETCH (RFC 3501 6.4.5): the items a client asks for, parsed once per
 * command, and the rendering of one message's FETCH response from its
 * index record, its parse blob and (only for body sections) its bytes. */
#ifndef VIMAP_IMAP_FETCH_H
#define VIMAP_IMAP_FETCH_H

#include <stdint.h>
#include "imap-msg.h"
#include "imap-parser.h"

struct pool;
struct strbuf;

enum imap_fetch_type {
	FETCH_UID, FETCH_FLAGS, FETCH_INTERNALDATE, FETCH_SIZE, FETCH_ENVELOPE,
	FETCH_BODY, FETCH_BODYSTRUCTURE, FETCH_SECTION
};

struct imap_fetch_item {
	enum imap_fetch_type type;
	const char *name;        /* as the response names it, e.g. "BODY[TEXT]" */
	const char *section;     /* FETCH_SECTION: the spec inside [ ], fields cut off */
	const char **fields;     /* HEADER.FIELDS(.NOT): the field names */
	unsigned field_count;
	int fields_not;          /* HEADER.FIELDS.NOT */
	int partial;             /* <origin.count> given */
	uint64_t origin, count;
};

struct imap_fetch {
	struct imap_fetch_item *items;
	unsigned count;
	unsigned needs;          /* IMAP_MSG_NEED_* */
	int sets_seen;           /* a non-PEEK body section: \Seen is set */
	int has_flags;           /* FLAGS asked for */
};

/* Parses the FETCH items (one atom, or a list; or the ALL, FAST, FULL
   macros).  `uid` adds UID (UID FETCH).  Memory from `pool`.  0, or -1
   with a reason for BAD. */
int imap_fetch_parse(const struct imap_arg *arg, int uid, struct pool *pool,
		     struct imap_fetch **fetch_r, const char **error_r);

/* 1 when an item needs the index record (dates, sizes), not just the view. */
int imap_fetch_needs_record(const struct imap_fetch *fetch);

/* Adds FLAGS to a fetch (after an implicit \Seen the client must hear). */
void imap_fetch_add_flags(struct imap_fetch *fetch, struct pool *pool);

/* Appends "* SEQ FETCH (...)\r\n" for `msg` to out.  `flags_text` is the
   message's rendered flag list "(...)" (the view has it).  Returns 0, or
   -1 when the message's cache blob is missing or broken (the caller logs;
   the response is then left out). */
int imap_fetch_render(const struct imap_fetch *fetch, const struct imap_msg *msg,
		      const char *flags_text, struct strbuf *out, const char **error_r);

#endif
