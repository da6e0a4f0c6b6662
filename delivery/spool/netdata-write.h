/* Writing NETDATA (see netdata.h): records cut into segments, segments
 * packed into 80-byte cards with no regard for card boundaries, the last
 * card padded with EBCDIC blanks.  Used by vimap-punch (the MTA-side exit)
 * and by the tests, which also write deliberately odd files (tiny
 * segments, records split across cards). */
#ifndef VIMAP_NETDATA_WRITE_H
#define VIMAP_NETDATA_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include "strbuf.h"

struct netdata_writer {
	struct strbuf out;      /* the cards written so far (the caller may
				   take whole cards from the front) */
	unsigned seg_data_max;  /* data bytes per segment, 1..253 */
	uint64_t written;       /* stream bytes produced, padding excluded */
};

/* Starts a writer that puts at most `seg_data_max` data bytes in a segment
   (0 or more than 253 means 253). */
void netdata_writer_init(struct netdata_writer *w, unsigned seg_data_max);
/* Frees the output buffer. */
void netdata_writer_free(struct netdata_writer *w);

/* Appends one record (control or data) as segments.  An empty data record
   is one segment with no data. */
void netdata_write_record(struct netdata_writer *w, int control,
			  const void *data, size_t len);
/* Pads the last card with X'40' so the output is whole cards. */
void netdata_writer_finish(struct netdata_writer *w);
/* How many bytes at the front of w->out are whole cards (safe to write
   out and strbuf_consume() before finishing). */
size_t netdata_writer_cards_ready(const struct netdata_writer *w);

/* Starts control record `kind` (1..7) in `rec` (reset first): the EBCDIC
   identifier, and for INMR02 the 4-byte file number. */
void netdata_control_begin(struct strbuf *rec, int kind, uint32_t file_number);
/* Appends a text unit with `count` values, values[i] of lens[i] bytes. */
void netdata_unit_append(struct strbuf *rec, uint16_t key, unsigned count,
			 const void *const *values, const size_t *lens);
/* A text unit with one value. */
void netdata_unit_append1(struct strbuf *rec, uint16_t key, const void *value,
			  size_t len);
/* A text unit with one big-endian number of `width` bytes (1..8). */
void netdata_unit_append_number(struct strbuf *rec, uint16_t key, uint64_t value,
				unsigned width);
/* A text unit whose one value is `text` (ASCII) through `to_ebcdic`. */
void netdata_unit_append_text(struct strbuf *rec, uint16_t key, const char *text,
			      const unsigned char to_ebcdic[256]);

#endif
