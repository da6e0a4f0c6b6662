/* The IMAP command reader: a resumable state machine that assembles one
 * whole command (its line and any literals, RFC 3501 7.5 and RFC 7888
 * LITERAL+) from bytes as they arrive, in any split.  It never scans a
 * literal's bytes for line ends, refuses a literal over the limit before
 * any of its bytes are read, and bounds the non-literal part of a command.
 * The finished command goes to imap_parse_command() (imap-parser.h). */
#ifndef VIMAP_IMAP_READER_H
#define VIMAP_IMAP_READER_H

#include <stddef.h>
#include <stdint.h>
#include "strbuf.h"

enum imap_reader_result {
	IMAP_READER_AGAIN,    /* all input taken; need more */
	IMAP_READER_COMMAND,  /* a whole command is in `cmd` */
	IMAP_READER_CONTINUE, /* a synchronising literal may come: send "+ " */
	IMAP_READER_REJECT    /* the command was refused: reply with `reject_*` */
};

enum imap_reader_state {
	IMAP_READER_LINE,
	IMAP_READER_LITERAL,
	IMAP_READER_SKIP_LITERAL,
	IMAP_READER_SKIP_LINE
};

struct imap_reader {
	uint64_t max_literal;     /* largest literal accepted */
	size_t max_line;          /* largest command without its literals */

	enum imap_reader_state state;
	struct strbuf cmd;        /* the command so far, CRLFs and literals in */
	size_t scan_from;         /* where to look for the next LF in cmd */
	size_t text_len;          /* non-literal bytes of the command so far */
	uint64_t literal_left;    /* bytes of the current literal still due */
	char tag[64];             /* the tag, kept for a rejection */
	const char *reject_code;  /* e.g. "TOOBIG", or NULL */
	const char *reject_text;  /* human text for the rejection */
	int reject_no;            /* 1: reply NO (sync literal refused), 0: BAD */
};

/* Sets up a reader; limits in bytes. */
void imap_reader_init(struct imap_reader *r, uint64_t max_literal, size_t max_line);
void imap_reader_deinit(struct imap_reader *r);

/* Takes bytes from data[0..len).  *used_r says how many were taken; call
   again with the rest after acting on the result.  After COMMAND or
   REJECT, call imap_reader_next() before feeding more. */
enum imap_reader_result imap_reader_feed(struct imap_reader *r, const char *data,
					 size_t len, size_t *used_r);

/* Forgets the finished command, keeping a small buffer. */
void imap_reader_next(struct imap_reader *r);

#endif
