#include "autoconfig.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "error.h"
#include "netdata.h"
#include "strbuf.h"
#include "xalloc.h"

/* "INMR0" in EBCDIC; the sixth byte is the EBCDIC digit X'F0' + n. */
static const unsigned char netdata_inmr0[5] = { 0xC9, 0xD5, 0xD4, 0xD9, 0xF0 };

enum netdata_state {
	ND_SEG_LEN,    /* expecting a segment's length byte */
	ND_SEG_FLAGS,  /* expecting its flag byte */
	ND_SEG_DATA,   /* inside its data */
	ND_PAD,        /* after a complete record, bytes that look like padding */
	ND_DONE,       /* the trailer was seen: the rest is padding */
	ND_FAILED
};

struct netdata_parser {
	struct netdata_callbacks cb;
	void *ctx;
	enum netdata_state state;
	unsigned seg_len, seg_need, seg_flags;
	uint64_t offset;            /* bytes consumed */
	uint64_t seg_offset;        /* where the current segment started */
	int in_record, record_control;
	unsigned record_number;     /* records completed */
	int seen_inmr01, notification;
	unsigned char pad_byte;
	char pad_reason[160];       /* the error if the "padding" goes on */
	struct strbuf record;
	/* scratch for text units, reused per control record */
	struct netdata_value *values;
	size_t value_count, value_cap;
	struct netdata_unit *units;
	size_t unit_count, unit_cap;
	char error[320];
};

static const struct {
	uint16_t key;
	const char *name;
} netdata_keys[] = {
	{ 0x0001, "INMDDNAM" }, { 0x0002, "INMDSNAM" }, { 0x0003, "INMMEMBR" },
	{ 0x000B, "INMSECND" }, { 0x000C, "INMDIR" }, { 0x0022, "INMEXPDT" },
	{ 0x0028, "INMTERM" }, { 0x0030, "INMBLKSZ" }, { 0x003C, "INMDSORG" },
	{ 0x0042, "INMLRECL" }, { 0x0049, "INMRECFM" }, { 0x1001, "INMTNODE" },
	{ 0x1002, "INMTUID" }, { 0x1011, "INMFNODE" }, { 0x1012, "INMFUID" },
	{ 0x1020, "INMLREF" }, { 0x1021, "INMLCHG" }, { 0x1022, "INMCREAT" },
	{ 0x1023, "INMFVERS" }, { 0x1024, "INMFTIME" }, { 0x1025, "INMTTIME" },
	{ 0x1026, "INMFACK" }, { 0x1027, "INMERRCD" }, { 0x1028, "INMUTILN" },
	{ 0x1029, "INMUSERP" }, { 0x102A, "INMRECCT" }, { 0x102C, "INMSIZE" },
	{ 0x102D, "INMFFM" }, { 0x102F, "INMNUMF" }, { 0x8012, "INMTYPE" },
	{ 0x8018, "INMLSIZE" }, { 0x8028, "INMEATTR" },
};

const char *netdata_key_name(uint16_t key)
{
	size_t i;

	for (i = 0; i < sizeof(netdata_keys) / sizeof(netdata_keys[0]); i++)
		if (netdata_keys[i].key == key)
			return netdata_keys[i].name;
	return NULL;
}

uint64_t netdata_value_number(const struct netdata_value *value)
{
	uint64_t n = 0;
	size_t i;

	if (value->len == 0 || value->len > 8)
		return 0;
	for (i = 0; i < value->len; i++)
		n = (n << 8) | value->data[i];
	return n;
}

const struct netdata_value *netdata_control_find(const struct netdata_control *rec,
						 uint16_t key)
{
	unsigned i;

	for (i = 0; i < rec->unit_count; i++)
		if (rec->units[i].key == key && rec->units[i].count > 0)
			return &rec->units[i].values[0];
	return NULL;
}

struct netdata_parser *netdata_parser_create(const struct netdata_callbacks *cb,
					     void *ctx)
{
	struct netdata_parser *p = xcalloc(1, sizeof(*p));

	p->cb = *cb;
	p->ctx = ctx;
	p->state = ND_SEG_LEN;
	return p;
}

void netdata_parser_destroy(struct netdata_parser **parser)
{
	struct netdata_parser *p = *parser;

	if (p == NULL)
		return;
	strbuf_free(&p->record);
	free(p->values);
	free(p->units);
	free(p);
	*parser = NULL;
}

static int nd_fail(struct netdata_parser *p, const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int nd_fail(struct netdata_parser *p, const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	p->state = ND_FAILED;
	if (error_r != NULL)
		*error_r = p->error;
	return -1;
}

static unsigned long long nd_card(uint64_t offset)
{
	return (unsigned long long)(offset / NETDATA_CARD + 1);
}

/* Which INMR0n the record's first six bytes name: n, or 0. */
static int nd_control_kind(const unsigned char *rec, size_t len)
{
	unsigned char d;

	if (len < 6 || memcmp(rec, netdata_inmr0, sizeof(netdata_inmr0)) != 0)
		return 0;
	d = rec[5];
	if (d < 0xF1 || d > 0xF7 || d == 0xF5)
		return 0;
	return d - 0xF0;
}

static void nd_value_add(struct netdata_parser *p, const unsigned char *data, size_t len)
{
	if (p->value_count == p->value_cap) {
		p->value_cap = p->value_cap == 0 ? 16 : p->value_cap * 2;
		p->values = xrealloc(p->values, p->value_cap * sizeof(*p->values));
	}
	p->values[p->value_count].data = data;
	p->values[p->value_count].len = len;
	p->value_count++;
}

static void nd_unit_add(struct netdata_parser *p, uint16_t key, uint16_t count,
			size_t first_value)
{
	if (p->unit_count == p->unit_cap) {
		p->unit_cap = p->unit_cap == 0 ? 16 : p->unit_cap * 2;
		p->units = xrealloc(p->units, p->unit_cap * sizeof(*p->units));
	}
	p->units[p->unit_count].key = key;
	p->units[p->unit_count].count = count;
	/* An index until all values are in (the array may move). */
	p->units[p->unit_count].values = (const void *)(uintptr_t)first_value;
	p->unit_count++;
}

static uint16_t nd_be16(const unsigned char *b)
{
	return (uint16_t)((b[0] << 8) | b[1]);
}

/* Splits rec[pos..len) into text units; -1 with the reason. */
static int nd_text_units(struct netdata_parser *p, const char *id, const unsigned char *rec,
			 size_t pos, size_t len, const char **error_r)
{
	size_t i;

	p->value_count = p->unit_count = 0;
	while (pos < len) {
		uint16_t key, count, v;
		size_t first = p->value_count;

		if (len - pos < 4)
			return nd_fail(p, error_r, "%s (record %u): text unit at byte %zu is "
				       "cut short (%zu bytes left, 4 needed)", id,
				       p->record_number, pos, len - pos);
		key = nd_be16(rec + pos);
		count = nd_be16(rec + pos + 2);
		pos += 4;
		for (v = 0; v < count; v++) {
			size_t vlen;

			if (len - pos < 2)
				return nd_fail(p, error_r, "%s (record %u): text unit X'%04X' "
					       "value %u has no length", id, p->record_number,
					       key, v + 1);
			vlen = nd_be16(rec + pos);
			pos += 2;
			if (vlen > len - pos)
				return nd_fail(p, error_r, "%s (record %u): text unit X'%04X' "
					       "value %u of %zu bytes runs past the record "
					       "end", id, p->record_number, key, v + 1, vlen);
			nd_value_add(p, rec + pos, vlen);
			pos += vlen;
		}
		nd_unit_add(p, key, count, first);
	}
	for (i = 0; i < p->unit_count; i++)
		p->units[i].values = p->units[i].count == 0 ? NULL :
			p->values + (uintptr_t)p->units[i].values;
	return 0;
}

/* Checks a control record's place in the file. */
static int nd_control_order(struct netdata_parser *p, int kind, const char **error_r)
{
	if (!p->seen_inmr01 && kind != NETDATA_INMR01)
		return nd_fail(p, error_r, "no INMR01: the first record is INMR0%d", kind);
	if (p->seen_inmr01 && kind == NETDATA_INMR01)
		return nd_fail(p, error_r, "a second INMR01 at record %u", p->record_number);
	if (p->notification)
		return nd_fail(p, error_r, "INMR0%d at record %u follows an INMR07 "
			       "notification", kind, p->record_number);
	return 0;
}

static int nd_control(struct netdata_parser *p, const unsigned char *rec, size_t len,
		      const char **error_r)
{
	struct netdata_control c;
	const char *error;
	size_t pos = 6;
	int kind = nd_control_kind(rec, len);

	if (kind == 0) {
		if (len < 6)
			return nd_fail(p, error_r, "control record %u is %zu bytes, shorter "
				       "than its identifier", p->record_number, len);
		return nd_fail(p, error_r, "control record %u has an unknown identifier "
			       "X'%02X%02X%02X%02X%02X%02X'", p->record_number, rec[0],
			       rec[1], rec[2], rec[3], rec[4], rec[5]);
	}
	if (nd_control_order(p, kind, error_r) < 0)
		return -1;
	memset(&c, 0, sizeof(c));
	c.kind = (enum netdata_control_kind)kind;
	snprintf(c.id, sizeof(c.id), "INMR0%d", kind);
	if (kind == NETDATA_INMR02) {
		if (len < 10)
			return nd_fail(p, error_r, "INMR02 (record %u) has no file number",
				       p->record_number);
		c.file_number = ((uint32_t)rec[6] << 24) | ((uint32_t)rec[7] << 16) |
			((uint32_t)rec[8] << 8) | rec[9];
		pos = 10;
	}
	p->value_count = p->unit_count = 0;
	/* INMR04 is installation specific and INMR06 carries nothing: their
	   contents are not ours to judge. */
	if (kind != NETDATA_INMR04 && kind != NETDATA_INMR06 &&
	    nd_text_units(p, c.id, rec, pos, len, error_r) < 0)
		return -1;
	c.units = p->units;
	c.unit_count = (unsigned)p->unit_count;
	c.raw = rec;
	c.raw_len = len;
	c.record_number = p->record_number;
	if (kind == NETDATA_INMR01)
		p->seen_inmr01 = 1;
	if (kind == NETDATA_INMR07)
		p->notification = 1;
	if (p->cb.control != NULL && p->cb.control(p->ctx, &c, &error) < 0)
		return nd_fail(p, error_r, "%s", error);
	if (kind == NETDATA_INMR06)
		p->state = ND_DONE;
	return 0;
}

static int nd_record_end(struct netdata_parser *p, const char **error_r)
{
	const unsigned char *rec = (const unsigned char *)p->record.data;
	size_t len = p->record.len;
	const char *error;

	p->in_record = 0;
	p->record_number++;
	if (rec == NULL)
		rec = (const unsigned char *)"";
	if (p->record_control)
		return nd_control(p, rec, len, error_r);
	if (!p->seen_inmr01)
		return nd_fail(p, error_r, "data before INMR01: record %u is a data record",
			       p->record_number);
	if (p->notification)
		return nd_fail(p, error_r, "data record %u follows an INMR07 notification",
			       p->record_number);
	if (p->cb.data != NULL && p->cb.data(p->ctx, rec, len, &error) < 0)
		return nd_fail(p, error_r, "%s", error);
	return 0;
}

/* The flag byte of the segment that started at seg_offset. */
static int nd_flags(struct netdata_parser *p, unsigned flags, const char **error_r)
{
	unsigned long long off = (unsigned long long)p->seg_offset;

	if (!p->in_record && !(flags & NETDATA_SEG_FIRST) && p->seg_len == 0x40 &&
	    flags == 0x40) {
		/* X'4040' where a record must start: EBCDIC blank padding
		   unless something else follows. */
		snprintf(p->pad_reason, sizeof(p->pad_reason), "segment at offset %llu "
			 "(card %llu) continues no record", off, nd_card(p->seg_offset));
		p->pad_byte = 0x40;
		p->state = ND_PAD;
		return 0;
	}
	if (flags & NETDATA_SEG_FIRST) {
		if (p->in_record)
			return nd_fail(p, error_r, "segment at offset %llu (card %llu) "
				       "starts a record inside record %u (its last "
				       "segment is missing)", off, nd_card(p->seg_offset),
				       p->record_number + 1);
		p->in_record = 1;
		p->record_control = (flags & NETDATA_SEG_CONTROL) != 0;
		strbuf_reset(&p->record);
	} else if (!p->in_record) {
		return nd_fail(p, error_r, "segment at offset %llu (card %llu) continues "
			       "no record", off, nd_card(p->seg_offset));
	} else if (((flags & NETDATA_SEG_CONTROL) != 0) != p->record_control) {
		return nd_fail(p, error_r, "segment at offset %llu (card %llu) changes the "
			       "control flag inside record %u", off,
			       nd_card(p->seg_offset), p->record_number + 1);
	}
	p->seg_flags = flags;
	p->seg_need = p->seg_len - 2;
	p->state = ND_SEG_DATA;
	return 0;
}

static int nd_segment_end(struct netdata_parser *p, const char **error_r)
{
	p->state = ND_SEG_LEN;
	if (p->seg_flags & NETDATA_SEG_LAST)
		return nd_record_end(p, error_r);
	return 0;
}

/* One step of the state machine over data[0..len): returns the bytes it
   consumed, or -1. */
static long nd_step(struct netdata_parser *p, const unsigned char *data, size_t len,
		    const char **error_r)
{
	size_t n;

	switch (p->state) {
	case ND_SEG_LEN:
		p->seg_offset = p->offset;
		p->seg_len = data[0];
		if (p->seg_len == 0 && !p->in_record) {
			snprintf(p->pad_reason, sizeof(p->pad_reason), "bad segment length "
				 "0 at offset %llu (card %llu)",
				 (unsigned long long)p->offset, nd_card(p->offset));
			p->pad_byte = 0;
			p->state = ND_PAD;
			return 1;
		}
		if (p->seg_len < 2)
			return nd_fail(p, error_r, "bad segment length %u at offset %llu "
				       "(card %llu)", p->seg_len,
				       (unsigned long long)p->offset, nd_card(p->offset));
		p->state = ND_SEG_FLAGS;
		return 1;
	case ND_SEG_FLAGS:
		if (nd_flags(p, data[0], error_r) < 0)
			return -1;
		if (p->state == ND_SEG_DATA && p->seg_need == 0 &&
		    nd_segment_end(p, error_r) < 0)
			return -1;
		return 1;
	case ND_SEG_DATA:
		n = len < p->seg_need ? len : p->seg_need;
		strbuf_append(&p->record, data, n);
		p->seg_need -= (unsigned)n;
		if (p->seg_need == 0 && nd_segment_end(p, error_r) < 0)
			return -1;
		return (long)n;
	case ND_PAD:
		for (n = 0; n < len && data[n] == p->pad_byte; n++)
			;
		if (n < len)
			return nd_fail(p, error_r, "%s", p->pad_reason);
		return (long)n;
	case ND_DONE:
		return (long)len;
	case ND_FAILED:
		break;
	}
	return nd_fail(p, error_r, "%s", p->error);
}

int netdata_parser_feed(struct netdata_parser *parser, const void *data, size_t len,
			const char **error_r)
{
	const unsigned char *d = data;

	if (parser->state == ND_FAILED) {
		*error_r = parser->error;
		return -1;
	}
	while (len > 0) {
		long n;

		if (parser->state == ND_DONE)
			return 0;
		n = nd_step(parser, d, len, error_r);
		if (n < 0)
			return -1;
		d += n;
		len -= (size_t)n;
		parser->offset += (uint64_t)n;
	}
	return 0;
}

int netdata_parser_finish(struct netdata_parser *p, const char **error_r)
{
	switch (p->state) {
	case ND_FAILED:
		*error_r = p->error;
		return -1;
	case ND_DONE:
		return 0;
	case ND_SEG_FLAGS:
	case ND_SEG_DATA:
		return nd_fail(p, error_r, "truncated: the file ends inside the segment at "
			       "offset %llu (card %llu)", (unsigned long long)p->seg_offset,
			       nd_card(p->seg_offset));
	case ND_SEG_LEN:
	case ND_PAD:
		break;
	}
	if (p->in_record)
		return nd_fail(p, error_r, "truncated: the file ends inside record %u (its "
			       "last segment is missing)", p->record_number + 1);
	if (p->record_number == 0)
		return nd_fail(p, error_r, "no INMR01: the file holds no record");
	if (p->notification)
		return 0;
	return nd_fail(p, error_r, "no INMR06 trailer: the file ends after record %u%s",
		       p->record_number,
		       p->state == ND_PAD ? " and card padding" : "");
}

int netdata_parser_done(const struct netdata_parser *parser)
{
	return parser->state == ND_DONE ||
		(parser->notification && parser->state != ND_FAILED &&
		 !parser->in_record);
}

uint64_t netdata_parser_offset(const struct netdata_parser *parser)
{
	return parser->offset;
}

int netdata_parse_buffer(const void *data, size_t len,
			 const struct netdata_callbacks *cb, void *ctx,
			 const char **error_r)
{
	struct netdata_parser *p = netdata_parser_create(cb, ctx);
	const char *error;
	int ret;

	ret = netdata_parser_feed(p, data, len, &error);
	if (ret == 0)
		ret = netdata_parser_finish(p, &error);
	if (ret < 0)
		error_set(error_r, "%s", error);
	netdata_parser_destroy(&p);
	return ret;
}

int netdata_sniff(const void *data, size_t len)
{
	const unsigned char *d = data;

	if (len < 8 || d[0] < 8 || !(d[1] & NETDATA_SEG_FIRST) ||
	    !(d[1] & NETDATA_SEG_CONTROL))
		return 0;
	return nd_control_kind(d + 2, 6) == NETDATA_INMR01;
}
