/* NETDATA: IBM's transmission format (TSO/E TRANSMIT, CMS SENDFILE, VM
 * SMTP's hand-over of local mail), as ../shared/specs/netdata.md describes
 * it.  A file is 80-byte cards whose concatenation is a stream of segments
 * (length byte counting itself and the flag byte, flag byte, data); the
 * data of a record's segments make one record, either a control record
 * (INMR01..INMR07, text units after the identifier) or a data record.
 *
 * The parser is a resumable state machine: it takes the stream in pieces
 * of any size (one byte at a time works), calls back once per complete
 * record, and stops at the INMR06 trailer (whatever follows it is card
 * padding and is ignored).  Every structural failure gets one reason that
 * names the record or offset.  Character data stays EBCDIC: translating is
 * the caller's business (identifiers INMR01.. are compared as EBCDIC,
 * whose letters and digits are the same in every code page). */
#ifndef VIMAP_NETDATA_H
#define VIMAP_NETDATA_H

#include <stddef.h>
#include <stdint.h>

#define NETDATA_CARD 80          /* bytes per card (reader/punch record) */
#define NETDATA_SEG_MAX 255      /* the largest segment, header included */

/* Segment flags. */
#define NETDATA_SEG_FIRST 0x80
#define NETDATA_SEG_LAST 0x40
#define NETDATA_SEG_CONTROL 0x20
#define NETDATA_SEG_RECNUM 0x10

/* Text unit keys (the spec's list and the ones real files carry). */
#define NETDATA_INMDSNAM 0x0002
#define NETDATA_INMMEMBR 0x0003
#define NETDATA_INMDIR 0x000C
#define NETDATA_INMTERM 0x0028
#define NETDATA_INMBLKSZ 0x0030
#define NETDATA_INMDSORG 0x003C
#define NETDATA_INMLRECL 0x0042
#define NETDATA_INMRECFM 0x0049
#define NETDATA_INMTNODE 0x1001
#define NETDATA_INMTUID 0x1002
#define NETDATA_INMFNODE 0x1011
#define NETDATA_INMFUID 0x1012
#define NETDATA_INMLCHG 0x1021
#define NETDATA_INMFVERS 0x1023
#define NETDATA_INMFTIME 0x1024
#define NETDATA_INMFACK 0x1026
#define NETDATA_INMUTILN 0x1028
#define NETDATA_INMRECCT 0x102A
#define NETDATA_INMSIZE 0x102C
#define NETDATA_INMFFM 0x102D
#define NETDATA_INMNUMF 0x102F

/* INMRECFM bits that matter here: fixed is X'8000' without X'4000'. */
#define NETDATA_RECFM_F 0x8000
#define NETDATA_RECFM_V 0x4000

enum netdata_control_kind {
	NETDATA_INMR01 = 1,   /* header: who to whom, when */
	NETDATA_INMR02 = 2,   /* file utility control: file number + units */
	NETDATA_INMR03 = 3,   /* data control: units describing the data */
	NETDATA_INMR04 = 4,   /* user control: installation specific, ignored */
	NETDATA_INMR06 = 6,   /* trailer */
	NETDATA_INMR07 = 7    /* notification (acknowledgement, not mail) */
};

/* One value of a text unit: points into the record being reported. */
struct netdata_value {
	const unsigned char *data;
	size_t len;
};

/* One text unit: key, and `count` values. */
struct netdata_unit {
	uint16_t key;
	uint16_t count;
	const struct netdata_value *values;
};

/* A complete control record, as handed to the control callback.  Every
   pointer is valid only during that callback. */
struct netdata_control {
	enum netdata_control_kind kind;
	char id[7];                   /* "INMR01" in ASCII */
	uint32_t file_number;         /* INMR02 only, else 0 */
	const struct netdata_unit *units;
	unsigned unit_count;
	const unsigned char *raw;     /* the whole record, identifier included */
	size_t raw_len;
	unsigned record_number;       /* 1-based among all records */
};

struct netdata_callbacks {
	/* A control record.  Return 0 to go on, -1 (with *error_r) to stop:
	   the parse then fails with that reason. */
	int (*control)(void *ctx, const struct netdata_control *rec,
		       const char **error_r);
	/* A data record (EBCDIC bytes, valid during the call).  Same returns. */
	int (*data)(void *ctx, const unsigned char *rec, size_t len,
		    const char **error_r);
};

struct netdata_parser;

/* A parser calling `cb` (copied) with `ctx`.  Caller destroys it. */
struct netdata_parser *netdata_parser_create(const struct netdata_callbacks *cb,
					     void *ctx);
/* Frees the parser and leaves NULL. */
void netdata_parser_destroy(struct netdata_parser **parser);

/* Feeds the next `len` bytes of the file.  0, or -1 with the reason the
   file is broken (valid until the parser is destroyed); after -1 every
   further call fails with the same reason. */
int netdata_parser_feed(struct netdata_parser *parser, const void *data,
			size_t len, const char **error_r);
/* Declares the end of the file: 0 when a whole transmission (INMR01 ..
   INMR06, or INMR01 .. INMR07 for a notification) was seen, else -1 with
   the reason ("no INMR06 trailer", "truncated: ..."). */
int netdata_parser_finish(struct netdata_parser *parser, const char **error_r);

/* 1 once the INMR06 trailer (or an INMR07 notification) ended the
   transmission, else 0. */
int netdata_parser_done(const struct netdata_parser *parser);
/* Bytes consumed up to the end of the transmission's last segment (or so
   far): cards counted from it are (offset + 79) / 80. */
uint64_t netdata_parser_offset(const struct netdata_parser *parser);

/* Parses a whole buffer: create, feed, finish, destroy.  0 or -1 with the
   reason (per-thread buffer: valid until the thread's next error). */
int netdata_parse_buffer(const void *data, size_t len,
			 const struct netdata_callbacks *cb, void *ctx,
			 const char **error_r);

/* 1 when data[0..len) starts like a NETDATA file: a first segment of a
   control record whose data starts with INMR01.  0 otherwise. */
int netdata_sniff(const void *data, size_t len);

/* The name of a text unit key ("INMTUID"), or NULL when unknown. */
const char *netdata_key_name(uint16_t key);

/* A text unit value as an unsigned big-endian number (values of 1..8
   bytes); 0 for an empty or longer value. */
uint64_t netdata_value_number(const struct netdata_value *value);

/* The first value of the unit with `key` in `rec`, or NULL. */
const struct netdata_value *netdata_control_find(const struct netdata_control *rec,
						 uint16_t key);

#endif
