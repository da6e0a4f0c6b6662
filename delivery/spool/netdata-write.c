#include "autoconfig.h"
#include <string.h>
#include "netdata.h"
#include "netdata-write.h"

void netdata_writer_init(struct netdata_writer *w, unsigned seg_data_max)
{
	memset(w, 0, sizeof(*w));
	if (seg_data_max == 0 || seg_data_max > NETDATA_SEG_MAX - 2)
		seg_data_max = NETDATA_SEG_MAX - 2;
	w->seg_data_max = seg_data_max;
}

void netdata_writer_free(struct netdata_writer *w)
{
	strbuf_free(&w->out);
}

void netdata_write_record(struct netdata_writer *w, int control,
			  const void *data, size_t len)
{
	const unsigned char *d = data;
	size_t pos = 0;

	do {
		size_t n = len - pos < w->seg_data_max ? len - pos : w->seg_data_max;
		unsigned char hdr[2];

		hdr[0] = (unsigned char)(n + 2);
		hdr[1] = (unsigned char)((pos == 0 ? NETDATA_SEG_FIRST : 0) |
					 (pos + n == len ? NETDATA_SEG_LAST : 0) |
					 (control ? NETDATA_SEG_CONTROL : 0));
		strbuf_append(&w->out, hdr, 2);
		if (n > 0)
			strbuf_append(&w->out, d + pos, n);
		pos += n;
		w->written += n + 2;
	} while (pos < len);
}

void netdata_writer_finish(struct netdata_writer *w)
{
	size_t rest = (size_t)(w->written % NETDATA_CARD);

	if (rest == 0)
		return;
	memset(strbuf_reserve(&w->out, NETDATA_CARD - rest), 0x40, NETDATA_CARD - rest);
	strbuf_commit(&w->out, NETDATA_CARD - rest);
}

size_t netdata_writer_cards_ready(const struct netdata_writer *w)
{
	return w->out.len - w->out.len % NETDATA_CARD;
}

void netdata_control_begin(struct strbuf *rec, int kind, uint32_t file_number)
{
	/* "INMR0" in EBCDIC, then the digit. */
	unsigned char id[10] = { 0xC9, 0xD5, 0xD4, 0xD9, 0xF0, 0xF0 };

	id[5] = (unsigned char)(0xF0 + kind);
	strbuf_reset(rec);
	strbuf_append(rec, id, 6);
	if (kind == NETDATA_INMR02) {
		id[6] = (unsigned char)(file_number >> 24);
		id[7] = (unsigned char)(file_number >> 16);
		id[8] = (unsigned char)(file_number >> 8);
		id[9] = (unsigned char)file_number;
		strbuf_append(rec, id + 6, 4);
	}
}

static void nd_put16(struct strbuf *rec, size_t v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	strbuf_append(rec, b, 2);
}

void netdata_unit_append(struct strbuf *rec, uint16_t key, unsigned count,
			 const void *const *values, const size_t *lens)
{
	unsigned i;

	nd_put16(rec, key);
	nd_put16(rec, count);
	for (i = 0; i < count; i++) {
		nd_put16(rec, lens[i]);
		strbuf_append(rec, values[i], lens[i]);
	}
}

void netdata_unit_append1(struct strbuf *rec, uint16_t key, const void *value,
			  size_t len)
{
	netdata_unit_append(rec, key, 1, &value, &len);
}

void netdata_unit_append_number(struct strbuf *rec, uint16_t key, uint64_t value,
				unsigned width)
{
	unsigned char b[8];
	unsigned i;

	if (width == 0 || width > 8)
		width = 8;
	for (i = 0; i < width; i++)
		b[i] = (unsigned char)(value >> (8 * (width - 1 - i)));
	netdata_unit_append1(rec, key, b, width);
}

void netdata_unit_append_text(struct strbuf *rec, uint16_t key, const char *text,
			      const unsigned char to_ebcdic[256])
{
	size_t i, len = strlen(text);
	unsigned char buf[256];

	if (len > sizeof(buf))
		len = sizeof(buf);
	for (i = 0; i < len; i++)
		buf[i] = to_ebcdic[(unsigned char)text[i]];
	netdata_unit_append1(rec, key, buf, len);
}
