/* Check suite for delivery/spool/netdata.c and netdata-write.c: the real
 * NETDATA samples of tests/data/netdata (what two independent readers saw
 * is in expected.json there), parsed whole and one byte at a time; the
 * writer's round trip; and every structural failure with its reason. */
#include "autoconfig.h"
#include <check.h>
#include <iconv.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netdata.h"
#include "netdata-write.h"
#include "strbuf.h"

#ifndef NETDATA_DATA_DIR
#error NETDATA_DATA_DIR must name tests/data/netdata
#endif

/* ---- a collector: everything the parser reports, as plain data ---- */

struct col_key {
	uint16_t key;
	size_t size;          /* value bytes + 2 per extra value (FUNET's count) */
	struct strbuf first;  /* the first value */
};

struct col_control {
	char id[7];
	uint32_t file_number;
	struct col_key keys[64];
	unsigned key_count;
};

struct col_group {
	unsigned records;
	EVP_MD_CTX *sha, *concat;
};

struct collect {
	struct col_control controls[32];
	unsigned control_count;
	struct col_group groups[8];
	unsigned group_count;
	unsigned data_records;
	struct strbuf data;   /* every data record: 4-byte length + bytes */
};

static void col_sha_init(EVP_MD_CTX **ctx)
{
	*ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(*ctx, EVP_sha256(), NULL);
}

static void col_sha_hex(EVP_MD_CTX *ctx, char out[65])
{
	unsigned char md[32];
	unsigned i, n = 0;

	EVP_DigestFinal_ex(ctx, md, &n);
	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	EVP_MD_CTX_free(ctx);
}

static int col_control(void *ctx, const struct netdata_control *rec, const char **error_r)
{
	struct collect *c = ctx;
	struct col_control *cc;
	unsigned i, v;

	(void)error_r;
	ck_assert_uint_lt(c->control_count, 32);
	cc = &c->controls[c->control_count++];
	memcpy(cc->id, rec->id, sizeof(cc->id));
	cc->file_number = rec->file_number;
	for (i = 0; i < rec->unit_count && i < 64; i++) {
		struct col_key *k = &cc->keys[cc->key_count++];

		k->key = rec->units[i].key;
		k->size = 0;
		strbuf_append(&k->first, "", 0);
		for (v = 0; v < rec->units[i].count; v++)
			k->size += rec->units[i].values[v].len + (v > 0 ? 2 : 0);
		if (rec->units[i].count > 0)
			strbuf_append(&k->first, rec->units[i].values[0].data,
				      rec->units[i].values[0].len);
	}
	if (rec->kind == NETDATA_INMR03 && c->group_count < 8) {
		struct col_group *g = &c->groups[c->group_count++];

		col_sha_init(&g->sha);
		col_sha_init(&g->concat);
	}
	return 0;
}

static int col_data(void *ctx, const unsigned char *rec, size_t len, const char **error_r)
{
	struct collect *c = ctx;
	unsigned char be[4] = { (unsigned char)(len >> 24), (unsigned char)(len >> 16),
				(unsigned char)(len >> 8), (unsigned char)len };

	(void)error_r;
	c->data_records++;
	strbuf_append(&c->data, be, 4);
	strbuf_append(&c->data, rec, len);
	if (c->group_count > 0) {
		struct col_group *g = &c->groups[c->group_count - 1];

		g->records++;
		EVP_DigestUpdate(g->sha, be, 4);
		EVP_DigestUpdate(g->sha, rec, len);
		EVP_DigestUpdate(g->concat, rec, len);
	}
	return 0;
}

static const struct netdata_callbacks col_cb = { col_control, col_data };

static void col_free(struct collect *c)
{
	unsigned i, k;

	for (i = 0; i < c->control_count; i++)
		for (k = 0; k < c->controls[i].key_count; k++)
			strbuf_free(&c->controls[i].keys[k].first);
	for (i = 0; i < c->group_count; i++) {
		if (c->groups[i].sha != NULL)
			EVP_MD_CTX_free(c->groups[i].sha);
		if (c->groups[i].concat != NULL)
			EVP_MD_CTX_free(c->groups[i].concat);
	}
	strbuf_free(&c->data);
	memset(c, 0, sizeof(*c));
}

/* Parses data[0..len) fed in pieces of `step` bytes (0 = whole). */
static int col_parse(struct collect *c, const void *data, size_t len, size_t step,
		     const char **error_r)
{
	struct netdata_parser *p = netdata_parser_create(&col_cb, c);
	const unsigned char *d = data;
	size_t pos = 0;
	int ret = 0;
	static char reason[400];

	memset(c, 0, sizeof(*c));
	if (step == 0)
		step = len > 0 ? len : 1;
	while (ret == 0 && pos < len) {
		size_t n = len - pos < step ? len - pos : step;

		ret = netdata_parser_feed(p, d + pos, n, error_r);
		pos += n;
	}
	if (ret == 0)
		ret = netdata_parser_finish(p, error_r);
	if (ret < 0) {
		snprintf(reason, sizeof(reason), "%s", *error_r);
		*error_r = reason;
	}
	netdata_parser_destroy(&p);
	return ret;
}

/* ---- helpers ---- */

static char *read_file(const char *name, size_t *len_r)
{
	char path[1024];
	FILE *f;
	long len;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", NETDATA_DATA_DIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*len_r = (size_t)len;
	return buf;
}

/* EBCDIC (code page 037, as expected.json says) to ASCII. */
static void cp037(const struct strbuf *in, char *out, size_t out_size)
{
	iconv_t cd = iconv_open("ISO-8859-1", "IBM037");
	char *ip = in->data != NULL ? in->data : (char *)"", *op = out;
	size_t il = in->len, ol = out_size - 1;

	ck_assert(cd != (iconv_t)-1);
	iconv(cd, &ip, &il, &op, &ol);
	*op = '\0';
	iconv_close(cd);
}

/* The key named like expected.json names it ("INMTUID" or "X'8012'"). */
static void key_label(uint16_t key, char out[16])
{
	const char *name = netdata_key_name(key);

	/* FUNET does not know INMTYPE: expected.json shows it in hex. */
	if (name == NULL || key == 0x8012)
		snprintf(out, 16, "X'%04X'", key);
	else
		snprintf(out, 16, "%s", name);
}

static const struct col_key *find_key(const struct col_control *cc, const char *label)
{
	unsigned i;
	char l[16];

	for (i = 0; i < cc->key_count; i++) {
		key_label(cc->keys[i].key, l);
		if (strcmp(l, label) == 0)
			return &cc->keys[i];
	}
	return NULL;
}

static json_t *expected_samples(void)
{
	char path[1024];
	json_error_t jerr;
	json_t *root;

	snprintf(path, sizeof(path), "%s/expected.json", NETDATA_DATA_DIR);
	root = json_load_file(path, 0, &jerr);
	ck_assert_msg(root != NULL, "expected.json: %s", jerr.text);
	return root;
}

/* ---- samples ---- */

static void check_inmr01(const char *file, const struct collect *c, json_t *exp)
{
	const char *key;
	json_t *value;
	char text[256];
	const struct col_key *k;

	json_object_foreach(json_object_get(exp, "inmr01"), key, value) {
		k = find_key(&c->controls[0], key);
		ck_assert_msg(k != NULL, "%s: INMR01 has no %s", file, key);
		cp037(&k->first, text, sizeof(text));
		ck_assert_msg(strcmp(text, json_string_value(value)) == 0,
			      "%s: %s is '%s', expected '%s'", file, key, text,
			      json_string_value(value));
	}
	k = find_key(&c->controls[0], "INMFTIME");
	ck_assert(k != NULL);
	cp037(&k->first, text, sizeof(text));
	ck_assert_str_eq(text, json_string_value(json_object_get(exp, "inmr01_ftime")));
}

static void check_controls(const char *file, const struct collect *c, json_t *list)
{
	size_t i, j;
	json_t *rec;
	char label[16];

	if (json_is_null(list))
		return;
	ck_assert_uint_eq(c->control_count, json_array_size(list));
	json_array_foreach(list, i, rec) {
		const struct col_control *cc = &c->controls[i];
		json_t *keys = json_object_get(rec, "keys"), *kv;

		ck_assert_str_eq(cc->id, json_string_value(json_object_get(rec, "id")));
		ck_assert_msg(cc->key_count == json_array_size(keys), "%s: %s has %u keys",
			      file, cc->id, cc->key_count);
		json_array_foreach(keys, j, kv) {
			key_label(cc->keys[j].key, label);
			ck_assert_msg(strcmp(label, json_string_value(json_array_get(kv, 0))) == 0,
				      "%s: %s key %zu is %s", file, cc->id, j, label);
			ck_assert_uint_eq(cc->keys[j].size,
					  (size_t)json_integer_value(json_array_get(kv, 1)));
		}
	}
}

static void check_counts(const struct collect *c, json_t *counts)
{
	const char *id;
	json_t *n;

	if (json_is_null(counts))
		return;
	json_object_foreach(counts, id, n) {
		unsigned i, have = 0;

		for (i = 0; i < c->control_count; i++)
			have += strcmp(c->controls[i].id, id) == 0;
		ck_assert_msg(have == json_integer_value(n), "%s: %u, expected %lld", id,
			      have, (long long)json_integer_value(n));
	}
}

static void check_groups(const char *file, struct collect *c, json_t *groups)
{
	size_t i;
	json_t *g;
	char hex[65];

	ck_assert_uint_eq(c->group_count, json_array_size(groups));
	json_array_foreach(groups, i, g) {
		struct col_group *cg = &c->groups[i];
		json_t *records = json_object_get(g, "records");
		json_t *sha = json_object_get(g, "sha256");

		if (!json_is_null(records))
			ck_assert_uint_eq(cg->records, (unsigned)json_integer_value(records));
		col_sha_hex(cg->sha, hex);
		cg->sha = NULL;
		if (!json_is_null(sha))
			ck_assert_msg(strcmp(hex, json_string_value(sha)) == 0,
				      "%s: group %zu sha256 differs", file, i);
		col_sha_hex(cg->concat, hex);
		cg->concat = NULL;
		ck_assert_str_eq(hex, json_string_value(json_object_get(g, "concat_sha256")));
	}
}

/* Every sample, as the two independent readers saw it. */
START_TEST(test_samples)
{
	json_t *root = expected_samples(), *exp;
	const char *file;

	json_object_foreach(json_object_get(root, "samples"), file, exp) {
		struct collect c;
		const char *error = NULL;
		size_t len;
		char *data = read_file(file, &len);
		json_t *n = json_object_get(exp, "data_records");

		ck_assert_msg(col_parse(&c, data, len, 0, &error) == 0, "%s: %s", file, error);
		ck_assert_str_eq(c.controls[0].id, "INMR01");
		check_inmr01(file, &c, exp);
		check_controls(file, &c, json_object_get(exp, "control_records"));
		check_counts(&c, json_object_get(exp, "control_counts"));
		if (!json_is_null(n))
			ck_assert_uint_eq(c.data_records, (unsigned)json_integer_value(n));
		check_groups(file, &c, json_object_get(exp, "groups"));
		col_free(&c);
		free(data);
	}
	json_decref(root);
}
END_TEST

/* Fed one byte (and 79 bytes) at a time, each sample gives exactly what
   it gives whole: the parser keeps its state across feeds. */
START_TEST(test_samples_bytewise)
{
	json_t *root = expected_samples(), *exp;
	const char *file;

	json_object_foreach(json_object_get(root, "samples"), file, exp) {
		static const size_t steps[] = { 1, 79, 253 };
		struct collect whole, part;
		const char *error;
		size_t len, i;
		char *data = read_file(file, &len);

		ck_assert_int_eq(col_parse(&whole, data, len, 0, &error), 0);
		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			ck_assert_int_eq(col_parse(&part, data, len, steps[i], &error), 0);
			ck_assert_uint_eq(part.control_count, whole.control_count);
			ck_assert_uint_eq(part.data.len, whole.data.len);
			ck_assert(memcmp(part.data.data, whole.data.data, whole.data.len) == 0);
			col_free(&part);
		}
		col_free(&whole);
		free(data);
	}
	json_decref(root);
}
END_TEST

/* A sample cut at every card boundary before its end is broken with a
   reason, never accepted, never a crash. */
START_TEST(test_samples_cut)
{
	static const char *const files[] = { "funetnje-cmsnote.netdata",
					     "funetnje-mvsnd.netdata" };
	size_t f;

	for (f = 0; f < 2; f++) {
		struct collect c;
		const char *error;
		size_t len, cut;
		char *data = read_file(files[f], &len);

		/* the INMR06 ends in the last card but one at most */
		for (cut = 0; cut + 2 * NETDATA_CARD <= len; cut += NETDATA_CARD) {
			ck_assert_msg(col_parse(&c, data, cut, 0, &error) < 0,
				      "%s cut at %zu accepted", files[f], cut);
			ck_assert(strstr(error, "truncated") != NULL ||
				  strstr(error, "no INMR06") != NULL ||
				  strstr(error, "no INMR01") != NULL);
			col_free(&c);
		}
		free(data);
	}
}
END_TEST

/* ---- the writer ---- */

static void write_sample(struct netdata_writer *w, unsigned seg, const char *const *lines,
			 size_t n)
{
	struct strbuf rec = STRBUF_INIT;
	const void *vals[3] = { "A", "BB", "CCC" };
	const size_t lens[3] = { 1, 2, 3 };
	size_t i;

	netdata_writer_init(w, seg);
	netdata_control_begin(&rec, NETDATA_INMR01, 0);
	netdata_unit_append1(&rec, NETDATA_INMTUID, "\xD4\xC5\xC1", 3);
	netdata_unit_append1(&rec, NETDATA_INMFUID, "\xE2\xD4\xE3\xD7", 4);
	netdata_unit_append(&rec, 0x7777, 3, vals, lens);  /* unknown: kept */
	netdata_write_record(w, 1, rec.data, rec.len);
	netdata_control_begin(&rec, NETDATA_INMR02, 7);
	netdata_unit_append_number(&rec, NETDATA_INMRECFM, 0x8000, 2);
	netdata_unit_append(&rec, NETDATA_INMTERM, 0, NULL, NULL);
	netdata_write_record(w, 1, rec.data, rec.len);
	netdata_control_begin(&rec, NETDATA_INMR03, 0);
	netdata_write_record(w, 1, rec.data, rec.len);
	for (i = 0; i < n; i++)
		netdata_write_record(w, 0, lines[i], strlen(lines[i]));
	netdata_control_begin(&rec, NETDATA_INMR06, 0);
	netdata_write_record(w, 1, rec.data, rec.len);
	netdata_writer_finish(w);
	strbuf_free(&rec);
}

/* What the writer writes, the parser reads back: records of every length
   (empty, one segment, many segments, across cards), with segments of 1,
   2, 79 and 253 data bytes; the output is whole padded cards. */
START_TEST(test_writer_round_trip)
{
	static const unsigned segs[] = { 1, 2, 79, 253 };
	char long_line[1200];
	const char *lines[] = { "", "x", "a line of text", long_line, "" };
	size_t i, r;

	memset(long_line, 'L', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	for (i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		struct netdata_writer w;
		struct collect c;
		const char *error;
		size_t pos = 0;

		write_sample(&w, segs[i], lines, 5);
		ck_assert_uint_eq(w.out.len % NETDATA_CARD, 0);
		ck_assert_int_eq(netdata_sniff(w.out.data, w.out.len), segs[i] >= 6);
		ck_assert_msg(col_parse(&c, w.out.data, w.out.len, 0, &error) == 0,
			      "seg %u: %s", segs[i], error);
		ck_assert_uint_eq(c.control_count, 4);
		ck_assert_uint_eq(c.controls[1].file_number, 7);
		ck_assert_uint_eq(c.controls[0].key_count, 3);
		ck_assert_uint_eq(c.controls[0].keys[2].key, 0x7777);
		ck_assert_uint_eq(c.controls[0].keys[2].size, 1 + 2 + 2 + 3 + 2);
		ck_assert_uint_eq(c.controls[1].keys[1].key, NETDATA_INMTERM);
		ck_assert_uint_eq(c.data_records, 5);
		for (r = 0; r < 5; r++) {
			const unsigned char *d = (const unsigned char *)c.data.data + pos;
			size_t len = ((size_t)d[0] << 24) | ((size_t)d[1] << 16) |
				((size_t)d[2] << 8) | d[3];

			ck_assert_uint_eq(len, strlen(lines[r]));
			ck_assert(memcmp(d + 4, lines[r], len) == 0);
			pos += 4 + len;
		}
		col_free(&c);
		netdata_writer_free(&w);
	}
}
END_TEST

/* Text unit numbers and the key table. */
START_TEST(test_values)
{
	struct netdata_value v = { (const unsigned char *)"\x01\x02", 2 };
	struct netdata_value big = { (const unsigned char *)"123456789", 9 };

	ck_assert_uint_eq(netdata_value_number(&v), 0x0102);
	ck_assert_uint_eq(netdata_value_number(&big), 0);
	ck_assert_str_eq(netdata_key_name(NETDATA_INMTUID), "INMTUID");
	ck_assert_str_eq(netdata_key_name(NETDATA_INMFUID), "INMFUID");
	ck_assert_ptr_null(netdata_key_name(0x7777));
}
END_TEST

/* ---- broken files ---- */

#define R01 "\xC9\xD5\xD4\xD9\xF0\xF1"     /* INMR01 */
#define R02 "\xC9\xD5\xD4\xD9\xF0\xF2"
#define R03 "\xC9\xD5\xD4\xD9\xF0\xF3"
#define R06 "\xC9\xD5\xD4\xD9\xF0\xF6"
#define R07 "\xC9\xD5\xD4\xD9\xF0\xF7"

static const struct broken_case {
	const char *what;
	const char *bytes;
	size_t len;
	int ok;               /* 1: must parse */
	const char *reason;   /* a substring of the reason */
} broken_cases[] = {
	/* nothing at all */
	{ "empty", "", 0, 0, "no INMR01: the file holds no record" },
	/* a length byte of 1 cannot hold its own flag byte */
	{ "length 1", "\x01\xE0", 2, 0, "bad segment length 1 at offset 0" },
	/* a zero length inside a record */
	{ "length 0 in record", "\x08\xA0" R01 "\x00", 9, 0, "bad segment length 0 at offset 8" },
	/* the first record is INMR02: no header */
	{ "no INMR01", "\x0C\xE0" R02 "\0\0\0\1", 12, 0, "no INMR01: the first record is INMR02" },
	/* a data record comes first */
	{ "data before INMR01", "\x05\xC0" "abc" "\x08\xE0" R01, 13, 0,
	  "data before INMR01: record 1 is a data record" },
	/* header and data, no trailer */
	{ "no INMR06", "\x08\xE0" R01 "\x05\xC0" "abc", 13, 0,
	  "no INMR06 trailer: the file ends after record 2" },
	/* the same, the last card padded with EBCDIC blanks */
	{ "no INMR06, padded", "\x08\xE0" R01 "\x05\xC0" "abc" "\x40\x40\x40\x40", 17, 0,
	  "no INMR06 trailer: the file ends after record 2 and card padding" },
	/* the same, padded with zeros */
	{ "no INMR06, zero padded", "\x08\xE0" R01 "\x00\x00\x00", 11, 0,
	  "no INMR06 trailer: the file ends after record 1 and card padding" },
	/* zeros, then something that is not padding */
	{ "zeros then bytes", "\x08\xE0" R01 "\x00\x00\x08", 11, 0,
	  "bad segment length 0 at offset 8" },
	/* the file ends inside a segment */
	{ "truncated segment", "\x08\xE0" R01 "\x10\xC0" "abc", 13, 0,
	  "truncated: the file ends inside the segment at offset 8 (card 1)" },
	/* the file ends after a length byte */
	{ "truncated after length", "\x08\xE0" R01 "\x10", 9, 0,
	  "truncated: the file ends inside the segment at offset 8" },
	/* the file ends after a first segment without its last */
	{ "truncated record", "\x08\xE0" R01 "\x05\x80" "abc", 13, 0,
	  "truncated: the file ends inside record 2" },
	/* a continuation segment with no record started */
	{ "continues nothing", "\x08\xE0" R01 "\x05\x40" "abc", 13, 0,
	  "segment at offset 8 (card 1) continues no record" },
	/* a first segment while a record is open */
	{ "first inside record", "\x08\xE0" R01 "\x05\x80" "abc" "\x05\xC0" "def", 18, 0,
	  "starts a record inside record 2" },
	/* a control segment inside a data record */
	{ "control flag changes", "\x08\xE0" R01 "\x05\x80" "abc" "\x05\x60" "def", 18, 0,
	  "changes the control flag inside record 2" },
	/* a text unit whose value runs past the record */
	{ "text unit too long", "\x0E\xE0" R01 "\x10\x02\x00\x01\x00\x09", 14, 0,
	  "text unit X'1002' value 1 of 9 bytes runs past the record end" },
	/* a text unit header cut short */
	{ "text unit cut", "\x0B\xE0" R01 "\x10\x02\x00", 11, 0,
	  "text unit at byte 6 is cut short" },
	/* INMR02 without its file number */
	{ "INMR02 short", "\x08\xE0" R01 "\x0A\xE0" R02 "\0\0", 18, 0,
	  "INMR02 (record 2) has no file number" },
	/* two headers */
	{ "second INMR01", "\x08\xE0" R01 "\x08\xE0" R01, 16, 0, "a second INMR01 at record 2" },
	/* a control record named nothing we know */
	{ "unknown control", "\x08\xE0" R01 "\x08\xE0" "\xC9\xD5\xD4\xD9\xF0\xF9", 16, 0,
	  "control record 2 has an unknown identifier X'C9D5D4D9F0F9'" },
	/* a control record shorter than an identifier */
	{ "short control", "\x08\xE0" R01 "\x04\xE0" "ab", 12, 0,
	  "control record 2 is 2 bytes, shorter than its identifier" },
	/* the smallest whole file: header and trailer */
	{ "minimal", "\x08\xE0" R01 "\x08\xE0" R06, 16, 1, NULL },
	/* unknown text unit keys are skipped, not rejected */
	{ "unknown key", "\x0E\xE0" R01 "\x77\x77\x00\x01\x00\x00" "\x08\xE0" R06, 22, 1, NULL },
	/* whatever follows the trailer is padding */
	{ "garbage after INMR06", "\x08\xE0" R01 "\x08\xE0" R06 "\x01\x02\x03", 19, 1, NULL },
	/* an acknowledgement: INMR01 then INMR07, no trailer needed */
	{ "notification", "\x08\xE0" R01 "\x08\xE0" R07, 16, 1, NULL },
	/* ... but no data after it */
	{ "data after INMR07", "\x08\xE0" R01 "\x08\xE0" R07 "\x03\xC0" "a", 19, 0,
	  "data record 3 follows an INMR07 notification" },
	/* a zero-length data record (one segment of two bytes) is fine */
	{ "empty data record", "\x08\xE0" R01 "\x02\xC0" "\x08\xE0" R06, 18, 1, NULL },
};

START_TEST(test_broken)
{
	const struct broken_case *t = &broken_cases[_i];
	struct collect c;
	const char *error = NULL;
	size_t steps[] = { 0, 1 };
	unsigned s;

	for (s = 0; s < 2; s++) {
		int ret = col_parse(&c, t->bytes, t->len, steps[s], &error);

		if (t->ok) {
			ck_assert_msg(ret == 0, "%s: %s", t->what, error);
		} else {
			ck_assert_msg(ret < 0, "%s: accepted", t->what);
			ck_assert_msg(strstr(error, t->reason) != NULL,
				      "%s: reason '%s', expected '%s'", t->what, error, t->reason);
		}
		col_free(&c);
	}
}
END_TEST

/* netdata_sniff: what the spool takes for NETDATA. */
START_TEST(test_sniff)
{
	ck_assert_int_eq(netdata_sniff("\x08\xE0" R01, 8), 1);
	ck_assert_int_eq(netdata_sniff("\x08\xE0" R02, 8), 0);
	ck_assert_int_eq(netdata_sniff("\x08\xC0" R01, 8), 0);
	ck_assert_int_eq(netdata_sniff("X-Vimap-Recipient: a\n", 21), 0);
	ck_assert_int_eq(netdata_sniff("\x08", 1), 0);
}
END_TEST

/* The parser accepts a callback's refusal as the file's reason. */
static int refuse_data(void *ctx, const unsigned char *rec, size_t len,
		       const char **error_r)
{
	(void)ctx;
	(void)rec;
	(void)len;
	*error_r = "no thanks";
	return -1;
}

START_TEST(test_callback_error)
{
	static const struct netdata_callbacks cb = { NULL, refuse_data };
	const char *error;

	ck_assert_int_eq(netdata_parse_buffer("\x08\xE0" R01 "\x03\xC0" "a", 11, &cb, NULL,
					      &error), -1);
	ck_assert_str_eq(error, "no thanks");
}
END_TEST

static Suite *netdata_suite(void)
{
	Suite *s = suite_create("netdata");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_samples);
	tcase_add_test(tc, test_samples_bytewise);
	tcase_add_test(tc, test_samples_cut);
	tcase_add_test(tc, test_writer_round_trip);
	tcase_add_test(tc, test_values);
	tcase_add_loop_test(tc, test_broken, 0,
			    (int)(sizeof(broken_cases) / sizeof(broken_cases[0])));
	tcase_add_test(tc, test_sniff);
	tcase_add_test(tc, test_callback_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(netdata_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
