#include "autoconfig.h"
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mail/imap-bodystructure.h"
#include "mail/imap-envelope.h"
#include "mail/message-cache.h"
#include "mail/message-parser.h"

static const char multi_msg[] =
	"From: a@b.c\r\n"
	"Subject: s\r\n"
	"Content-Type: multipart/mixed; boundary=o\r\n"
	"\r\n"
	"--o\r\n"
	"Content-Type: multipart/alternative; boundary=i\r\n"
	"\r\n"
	"--i\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"plain\r\n"
	"--i\r\n"
	"Content-Type: text/html\r\n"
	"\r\n"
	"<b>html</b>\r\n"
	"--i--\r\n"
	"--o\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: inner\r\n"
	"Content-Type: multipart/mixed; boundary=x\r\n"
	"\r\n"
	"--x\r\n"
	"\r\n"
	"inner one\r\n"
	"--x\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"inner two\r\n"
	"--x--\r\n"
	"--o--\r\n";

static const char simple_msg[] = "Subject: x\r\n\r\nbody\r\n";

static const char wrapped_msg[] =
	"Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nbody\r\n";

static void build_view(const char *msg, struct strbuf *blob,
		       struct message_cache_view *view)
{
	const char *error = NULL;

	strbuf_reset(blob);
	ck_assert_int_eq(message_cache_build(msg, strlen(msg), blob, &error), 0);
	ck_assert_int_eq(message_cache_open(blob->data, blob->len, view, &error), 0);
}

/* ---- sections ---- */

#define NO_PART ((const char *)1)

struct section_case {
	const char *msg;
	const char *section;
	const char *expected;        /* content, NO_PART for 0, NULL for -1 */
	enum message_cache_section_kind kind;
};

static const struct section_case section_cases[] = {
	/* the whole message */
	{ multi_msg, "", multi_msg, MESSAGE_CACHE_SECTION_ALL },
	/* the top-level header includes the blank line */
	{ multi_msg, "HEADER", "From: a@b.c\r\nSubject: s\r\n"
	  "Content-Type: multipart/mixed; boundary=o\r\n\r\n",
	  MESSAGE_CACHE_SECTION_HEADER },
	/* HEADER.FIELDS gives the header range for the caller to filter */
	{ multi_msg, "HEADER.FIELDS (FROM)", "From: a@b.c\r\nSubject: s\r\n"
	  "Content-Type: multipart/mixed; boundary=o\r\n\r\n",
	  MESSAGE_CACHE_SECTION_HEADER_FIELDS },
	/* the top-level text starts after the blank line */
	{ multi_msg, "TEXT", multi_msg + 70, MESSAGE_CACHE_SECTION_TEXT },
	/* part 1 is the whole multipart/alternative body */
	{ multi_msg, "1", "--i\r\nContent-Type: text/plain\r\n\r\nplain\r\n--i\r\n"
	  "Content-Type: text/html\r\n\r\n<b>html</b>\r\n--i--",
	  MESSAGE_CACHE_SECTION_PART },
	/* its MIME header */
	{ multi_msg, "1.MIME", "Content-Type: multipart/alternative; boundary=i\r\n\r\n",
	  MESSAGE_CACHE_SECTION_MIME },
	/* nested parts */
	{ multi_msg, "1.1", "plain", MESSAGE_CACHE_SECTION_PART },
	{ multi_msg, "1.2", "<b>html</b>", MESSAGE_CACHE_SECTION_PART },
	{ multi_msg, "1.2.MIME", "Content-Type: text/html\r\n\r\n",
	  MESSAGE_CACHE_SECTION_MIME },
	/* HEADER of a part that is not message/rfc822 does not exist */
	{ multi_msg, "1.HEADER", NO_PART, 0 },
	/* part 2 is the encapsulated message */
	{ multi_msg, "2", "Subject: inner\r\nContent-Type: multipart/mixed; "
	  "boundary=x\r\n\r\n--x\r\n\r\ninner one\r\n--x\r\nContent-Type: "
	  "text/plain\r\n\r\ninner two\r\n--x--", MESSAGE_CACHE_SECTION_PART },
	{ multi_msg, "2.MIME", "Content-Type: message/rfc822\r\n\r\n",
	  MESSAGE_CACHE_SECTION_MIME },
	/* HEADER and TEXT of a message/rfc822 part: the encapsulated message */
	{ multi_msg, "2.HEADER", "Subject: inner\r\nContent-Type: multipart/mixed; "
	  "boundary=x\r\n\r\n", MESSAGE_CACHE_SECTION_HEADER },
	{ multi_msg, "2.header.fields.not (Subject)", "Subject: inner\r\n"
	  "Content-Type: multipart/mixed; boundary=x\r\n\r\n",
	  MESSAGE_CACHE_SECTION_HEADER_FIELDS_NOT },
	{ multi_msg, "2.TEXT", "--x\r\n\r\ninner one\r\n--x\r\nContent-Type: "
	  "text/plain\r\n\r\ninner two\r\n--x--", MESSAGE_CACHE_SECTION_TEXT },
	/* numbers under message/rfc822 address the encapsulated multipart */
	{ multi_msg, "2.1", "inner one", MESSAGE_CACHE_SECTION_PART },
	{ multi_msg, "2.2", "inner two", MESSAGE_CACHE_SECTION_PART },
	{ multi_msg, "2.2.MIME", "Content-Type: text/plain\r\n\r\n",
	  MESSAGE_CACHE_SECTION_MIME },
	/* a part with no header fields: its MIME header is the blank line */
	{ multi_msg, "2.1.MIME", "\r\n", MESSAGE_CACHE_SECTION_MIME },
	/* parts that do not exist */
	{ multi_msg, "3", NO_PART, 0 },
	{ multi_msg, "1.3", NO_PART, 0 },
	{ multi_msg, "2.3", NO_PART, 0 },
	{ multi_msg, "1.1.1", NO_PART, 0 },
	{ multi_msg, "2.1.1", NO_PART, 0 },
	{ multi_msg, "4000000000", NULL, 0 },
	/* keywords are case-insensitive */
	{ multi_msg, "2.text", "--x\r\n\r\ninner one\r\n--x\r\nContent-Type: "
	  "text/plain\r\n\r\ninner two\r\n--x--", MESSAGE_CACHE_SECTION_TEXT },
	/* part 1 of a non-multipart message is its body */
	{ simple_msg, "1", "body\r\n", MESSAGE_CACHE_SECTION_PART },
	{ simple_msg, "1.MIME", "Subject: x\r\n\r\n", MESSAGE_CACHE_SECTION_MIME },
	{ simple_msg, "TEXT", "body\r\n", MESSAGE_CACHE_SECTION_TEXT },
	{ simple_msg, "HEADER", "Subject: x\r\n\r\n", MESSAGE_CACHE_SECTION_HEADER },
	{ simple_msg, "2", NO_PART, 0 },
	{ simple_msg, "1.1", NO_PART, 0 },
	{ simple_msg, "1.HEADER", NO_PART, 0 },
	/* a top-level message/rfc822 around a non-multipart message */
	{ wrapped_msg, "1", "Subject: in\r\n\r\nbody\r\n", MESSAGE_CACHE_SECTION_PART },
	{ wrapped_msg, "1.1", "body\r\n", MESSAGE_CACHE_SECTION_PART },
	{ wrapped_msg, "1.HEADER", "Subject: in\r\n\r\n", MESSAGE_CACHE_SECTION_HEADER },
	{ wrapped_msg, "1.TEXT", "body\r\n", MESSAGE_CACHE_SECTION_TEXT },
	{ wrapped_msg, "1.2", NO_PART, 0 },
	/* malformed section specs */
	{ simple_msg, "0", NULL, 0 },
	{ simple_msg, "01", NULL, 0 },
	{ simple_msg, "1.", NULL, 0 },
	{ simple_msg, ".1", NULL, 0 },
	{ simple_msg, "1..2", NULL, 0 },
	{ simple_msg, "MIME", NULL, 0 },
	{ simple_msg, "1.FOO", NULL, 0 },
	{ simple_msg, "HEADERX", NULL, 0 },
	{ simple_msg, "TEXT2", NULL, 0 },
	{ simple_msg, "1 ", NULL, 0 },
	{ simple_msg, "HEADER (FROM)", NULL, 0 },
};

START_TEST(test_section)
{
	const struct section_case *c = &section_cases[_i];
	struct strbuf blob = STRBUF_INIT;
	struct message_cache_view view;
	struct message_cache_range range;
	const char *error = NULL;
	int ret;

	build_view(c->msg, &blob, &view);
	ret = message_cache_find_section(&view, c->section, &range, &error);
	if (c->expected == NULL) {
		ck_assert_int_eq(ret, -1);
		ck_assert_ptr_nonnull(error);
	} else if (c->expected == NO_PART) {
		ck_assert_int_eq(ret, 0);
	} else {
		ck_assert_int_eq(ret, 1);
		ck_assert_int_eq(range.kind, c->kind);
		ck_assert_uint_eq(range.size, strlen(c->expected));
		ck_assert_mem_eq(c->msg + range.offset, c->expected, range.size);
	}
	strbuf_free(&blob);
}
END_TEST

/* ---- round trip ---- */

static const char *const roundtrip_msgs[] = {
	simple_msg,
	multi_msg,
	wrapped_msg,
	"",
	"From: \"Q\" <q@x>\nTo: g:a@b;\nSubject: =?utf-8?q?x?=\n\nbody",
};

/* The blob holds exactly what the renderers produce, zero-copy. */
START_TEST(test_roundtrip)
{
	const char *msg = roundtrip_msgs[_i];
	struct message_parser_result *r = message_parser_parse(msg, strlen(msg));
	struct strbuf blob = STRBUF_INIT, env = STRBUF_INIT, body = STRBUF_INIT,
		bs = STRBUF_INIT;
	struct message_cache_view view;
	const char *error;

	strbuf_append(&blob, "prefix", 6);
	message_cache_serialize(r, &blob);
	ck_assert_int_eq(message_cache_open(blob.data + 6, blob.len - 6, &view,
					    &error), 0);
	imap_envelope_write(&env, msg, r->root);
	imap_bodystructure_write(&body, msg, r->root, false);
	imap_bodystructure_write(&bs, msg, r->root, true);
	ck_assert_str_eq(view.envelope, env.data);
	ck_assert_uint_eq(view.envelope_len, env.len);
	ck_assert_str_eq(view.body, body.data);
	ck_assert_uint_eq(view.body_len, body.len);
	ck_assert_str_eq(view.bodystructure, bs.data);
	ck_assert_uint_eq(view.bodystructure_len, bs.len);
	ck_assert_uint_eq(view.message_size, strlen(msg));
	ck_assert_uint_eq(view.part_count, r->part_count);
	ck_assert(view.envelope > blob.data && view.envelope < blob.data + blob.len);
	/* overhead beyond the rendered strings stays small */
	ck_assert_uint_lt(blob.len - 7 - env.len - body.len - bs.len - view.search_headers_len,
			  40 + 12 * r->part_count);
	strbuf_free(&blob);
	strbuf_free(&env);
	strbuf_free(&body);
	strbuf_free(&bs);
	message_parser_destroy(&r);
}
END_TEST

/* A copy of the blob at another address opens the same way. */
START_TEST(test_position_independent)
{
	struct strbuf blob = STRBUF_INIT;
	struct message_cache_view view, view2;
	struct message_cache_range range;
	const char *error;
	char *copy;

	build_view(multi_msg, &blob, &view);
	copy = malloc(blob.len + 1);
	memcpy(copy + 1, blob.data, blob.len);
	ck_assert_int_eq(message_cache_open(copy + 1, blob.len, &view2, &error), 0);
	ck_assert_str_eq(view.bodystructure, view2.bodystructure);
	ck_assert_int_eq(message_cache_find_section(&view2, "2.2", &range, &error), 1);
	ck_assert_mem_eq(multi_msg + range.offset, "inner two", 9);
	free(copy);
	strbuf_free(&blob);
}
END_TEST

/* ---- rejection ---- */

/* Every truncation of a valid blob is rejected. */
START_TEST(test_reject_truncated)
{
	struct strbuf blob = STRBUF_INIT;
	struct message_cache_view view;
	const char *error;
	size_t len;

	build_view(multi_msg, &blob, &view);
	for (len = 0; len < blob.len; len++) {
		error = NULL;
		ck_assert_int_eq(message_cache_open(blob.data, len, &view, &error), -1);
		ck_assert_ptr_nonnull(error);
	}
	ck_assert_int_eq(message_cache_open(NULL, 10, &view, &error), -1);
	strbuf_free(&blob);
}
END_TEST

/* Every single-byte change of a valid blob is rejected. */
START_TEST(test_reject_garbled)
{
	struct strbuf blob = STRBUF_INIT;
	struct message_cache_view view;
	const char *error;
	size_t i;
	unsigned int bit;

	build_view(simple_msg, &blob, &view);
	for (i = 0; i < blob.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			blob.data[i] ^= (char)(1 << bit);
			ck_assert_int_eq(message_cache_open(blob.data, blob.len,
							    &view, &error), -1);
			blob.data[i] ^= (char)(1 << bit);
		}
	}
	/* appending a byte is rejected too */
	strbuf_appendc(&blob, 0);
	ck_assert_int_eq(message_cache_open(blob.data, blob.len, &view, &error), -1);
	strbuf_free(&blob);
}
END_TEST

static uint32_t fnv1a(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u;

	while (len-- > 0) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

/* Appends the checksum so that only the structure checks can reject. */
static void seal(struct strbuf *b)
{
	uint32_t h = fnv1a((const unsigned char *)b->data, b->len);
	int i;

	for (i = 0; i < 4; i++)
		strbuf_appendc(b, (char)((h >> (8 * i)) & 0xff));
}

struct forged_case {
	const char *bytes;           /* blob before the checksum */
	size_t len;
	int expected;                /* message_cache_open() result */
};

#define B(s) s, sizeof(s) - 1

static const struct forged_case forged_cases[] = {
	/* a minimal valid blob: size 5, "E", "B", "S", no search headers,
	   one part, header 2 */
	{ B("\x02\x05\x01" "E\0" "\x01" "B\0" "\x01" "S\0" "\x00" "\0" "\x01"
	    "\x00\x00\x00\x02\x03"), 0 },
	/* wrong version */
	{ B("\x03\x05\x01" "E\0" "\x01" "B\0" "\x01" "S\0" "\x00" "\0" "\x01"
	    "\x00\x00\x00\x02\x03"), -1 },
	/* a string without its NUL */
	{ B("\x02\x05\x01" "EX" "\x01" "B\0" "\x01" "S\0" "\x00" "\0" "\x01"
	    "\x00\x00\x00\x02\x03"), -1 },
	/* a string longer than the blob */
	{ B("\x02\x05\x7f" "E\0"), -1 },
	/* zero parts */
	{ B("\x02\x05\x01" "E\0" "\x01" "B\0" "\x01" "S\0" "\x00" "\0" "\x00"), -1 },
	/* body range past the end of the message */
	{ B("\x02\x05\x01" "E\0" "\x01" "B\0" "\x01" "S\0" "\x00" "\0" "\x01"
	    "\x00\x00\x00\x02\x04"), -1 },
	/* a leaf that claims children */
	{ B("\x02\x05\x01" "E\0" "\x01" "B\0" "\x01" "S\0" "\x00" "\0" "\x01"
	    "\x00\x01\x00\x02\x03"), -1 },
	/* a multipart whose child is missing */
	{ B("\x02\x05\x01" "E\0" "\x01" "B\0" "\x01" "S\0" "\x00" "\0" "\x01"
	    "\x01\x01\x00\x02\x03"), -1 },
	/* more parts than the tree holds */
	{ B("\x02\x05\x01" "E\0" "\x01" "B\0" "\x01" "S\0" "\x00" "\0" "\x02"
	    "\x00\x00\x00\x02\x03" "\x00\x00\x00\x00\x00"), -1 },
	/* a child outside its parent's body */
	{ B("\x02\x05\x01" "E\0" "\x01" "B\0" "\x01" "S\0" "\x00" "\0" "\x02"
	    "\x01\x01\x00\x02\x01" "\x00\x00\x02\x00\x00"), -1 },
	/* a valid multipart with one child */
	{ B("\x02\x05\x01" "E\0" "\x01" "B\0" "\x01" "S\0" "\x00" "\0" "\x02"
	    "\x01\x01\x00\x02\x03" "\x00\x00\x01\x01\x01"), 0 },
	/* message/rfc822 with two children */
	{ B("\x02\x05\x01" "E\0" "\x01" "B\0" "\x01" "S\0" "\x00" "\0" "\x03"
	    "\x02\x02\x00\x01\x04" "\x00\x00\x00\x00\x00" "\x00\x00\x00\x00\x00"), -1 },
	/* unknown flag bits */
	{ B("\x02\x05\x01" "E\0" "\x01" "B\0" "\x01" "S\0" "\x00" "\0" "\x01"
	    "\x08\x00\x00\x02\x03"), -1 },
	/* an overlong varint */
	{ B("\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), -1 },
	/* trailing bytes after the parts */
	{ B("\x02\x05\x01" "E\0" "\x01" "B\0" "\x01" "S\0" "\x00" "\0" "\x01"
	    "\x00\x00\x00\x02\x03" "\x00"), -1 },
};

START_TEST(test_forged)
{
	const struct forged_case *c = &forged_cases[_i];
	struct strbuf b = STRBUF_INIT;
	struct message_cache_view view;
	const char *error;

	strbuf_append(&b, c->bytes, c->len);
	seal(&b);
	ck_assert_int_eq(message_cache_open(b.data, b.len, &view, &error), c->expected);
	if (c->expected == 0) {
		ck_assert_str_eq(view.envelope, "E");
		ck_assert_uint_eq(view.message_size, 5);
	}
	strbuf_free(&b);
}
END_TEST

/* Random bytes with a valid checksum never crash the reader, and whatever
   opens resolves sections inside the message. */
START_TEST(test_random_sealed)
{
	static const char *const sections[] = { "1", "1.1", "2.MIME", "1.TEXT", "TEXT" };
	struct message_cache_view view;
	struct message_cache_range range;
	struct strbuf b = STRBUF_INIT;
	uint32_t state = 12345;
	const char *error;
	unsigned int iter, i, len;

	for (iter = 0; iter < 20000; iter++) {
		strbuf_reset(&b);
		strbuf_appendc(&b, 1);
		len = iter % 40;
		for (i = 0; i < len; i++) {
			state = state * 1103515245u + 12345u;
			strbuf_appendc(&b, (char)((state >> 16) & (iter & 1 ? 0x07 : 0xff)));
		}
		seal(&b);
		if (message_cache_open(b.data, b.len, &view, &error) < 0)
			continue;
		for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
			if (message_cache_find_section(&view, sections[i], &range,
						       &error) == 1)
				ck_assert_uint_le(range.offset + range.size,
						  view.message_size);
		}
	}
	strbuf_free(&b);
}
END_TEST

/* ---- hostile messages through the whole path ---- */

START_TEST(test_hostile_blob)
{
	struct strbuf msg = STRBUF_INIT, blob = STRBUF_INIT, sec = STRBUF_INIT;
	struct message_cache_view view;
	struct message_cache_range range;
	const char *error;
	unsigned int i;

	for (i = 0; i < 1000; i++)
		strbuf_appendf(&msg, "Content-Type: multipart/mixed; boundary=\"d%04u\"\n"
			       "\n--d%04u\n", i, i);
	strbuf_appends(&msg, "\nleaf\n");
	ck_assert_int_eq(message_cache_build(msg.data, msg.len, &blob, &error), 0);
	ck_assert_int_eq(message_cache_open(blob.data, blob.len, &view, &error), 0);
	ck_assert_uint_eq(view.part_count, MESSAGE_PARSER_MAX_DEPTH);
	/* 1.1.1...: 99 levels exist, the 100th does not */
	strbuf_append(&sec, "1", 1);
	for (i = 1; i < MESSAGE_PARSER_MAX_DEPTH - 1; i++)
		strbuf_append(&sec, ".1", 2);
	ck_assert_int_eq(message_cache_find_section(&view, sec.data, &range, &error), 1);
	strbuf_append(&sec, ".1", 2);
	ck_assert_int_eq(message_cache_find_section(&view, sec.data, &range, &error), 0);
	strbuf_free(&sec);

	strbuf_reset(&msg);
	strbuf_reset(&blob);
	strbuf_appends(&msg, "Content-Type: multipart/mixed; boundary=x\n\n");
	for (i = 0; i < 100000; i++)
		strbuf_appends(&msg, "--x\n\na\n");
	ck_assert_int_eq(message_cache_build(msg.data, msg.len, &blob, &error), 0);
	ck_assert_int_eq(message_cache_open(blob.data, blob.len, &view, &error), 0);
	ck_assert_uint_eq(view.part_count, MESSAGE_PARSER_MAX_PARTS);
	ck_assert_int_eq(message_cache_find_section(&view, "9999", &range, &error), 1);
	ck_assert_mem_eq(msg.data + range.offset, "a", 1);
	ck_assert_int_eq(message_cache_find_section(&view, "10000", &range, &error), 0);
	strbuf_free(&msg);
	strbuf_free(&blob);
}
END_TEST

START_TEST(test_build_null)
{
	struct strbuf blob = STRBUF_INIT;
	const char *error = NULL;

	ck_assert_int_eq(message_cache_build(NULL, 5, &blob, &error), -1);
	ck_assert_ptr_nonnull(error);
	ck_assert_int_eq(message_cache_build(NULL, 0, &blob, &error), 0);
	strbuf_free(&blob);
}
END_TEST

/* SEARCH's header fields come decoded from the blob; others are not kept. */
START_TEST(test_search_headers)
{
	static const char msg[] =
		"Subject: =?iso-8859-1?q?Gr=FC=DFe?= aus\r\n"
		"To: a@example.org\r\nTo: b@example.org\r\n"
		"From: =?utf-8?b?w4RwZmVs?= <x@example.org>\r\n"
		"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
		"X-Other: kept out\r\n\r\nbody\r\n";
	struct strbuf blob = STRBUF_INIT, out = STRBUF_INIT;
	struct message_cache_view view;
	const char *error;

	ck_assert_int_eq(message_cache_build(msg, sizeof(msg) - 1, &blob, &error), 0);
	ck_assert_int_eq(message_cache_open(blob.data, blob.len, &view, &error), 0);
	/* decoded from RFC 2047 */
	ck_assert_int_eq(message_cache_header(&view, "SUBJECT", &out), 1);
	ck_assert_str_eq(out.data, "Gr\xc3\xbc\xc3\x9f" "e aus");
	strbuf_reset(&out);
	/* every occurrence, one per line */
	ck_assert_int_eq(message_cache_header(&view, "to", &out), 1);
	ck_assert_str_eq(out.data, "a@example.org\nb@example.org");
	strbuf_reset(&out);
	ck_assert_int_eq(message_cache_header(&view, "From", &out), 1);
	ck_assert_str_eq(out.data, "\xc3\x84pfel <x@example.org>");
	strbuf_reset(&out);
	/* the Date stays raw for the date parser */
	ck_assert_int_eq(message_cache_header(&view, "date", &out), 1);
	ck_assert_str_eq(out.data, "Mon, 7 Feb 1994 21:52:25 -0800");
	/* kept but absent; not kept at all */
	ck_assert_int_eq(message_cache_header(&view, "cc", &out), 0);
	ck_assert_int_eq(message_cache_header(&view, "X-Other", &out), -1);
	/* the fast path finds the same lines without the checksum ... */
	{
		const char *h;
		size_t hlen;

		strbuf_reset(&out);
		ck_assert_int_eq(message_cache_search_headers(blob.data, blob.len, &h, &hlen), 0);
		ck_assert_int_eq(message_cache_header_in(h, hlen, "to", &out), 1);
		ck_assert_str_eq(out.data, "a@example.org\nb@example.org");
		/* ... and a blob cut short is refused, not overread */
		ck_assert_int_eq(message_cache_search_headers(blob.data, 12, &h, &hlen), -1);
	}
	strbuf_free(&blob);
	strbuf_free(&out);
}
END_TEST

static Suite *message_cache_suite(void)
{
	Suite *s = suite_create("message_cache");
	TCase *tc = tcase_create("core");
	TCase *hostile = tcase_create("hostile");

	tcase_add_loop_test(tc, test_section, 0,
			    sizeof(section_cases) / sizeof(section_cases[0]));
	tcase_add_loop_test(tc, test_roundtrip, 0,
			    sizeof(roundtrip_msgs) / sizeof(roundtrip_msgs[0]));
	tcase_add_test(tc, test_position_independent);
	tcase_add_test(tc, test_reject_truncated);
	tcase_add_test(tc, test_reject_garbled);
	tcase_add_loop_test(tc, test_forged, 0,
			    sizeof(forged_cases) / sizeof(forged_cases[0]));
	tcase_add_test(tc, test_build_null);
	tcase_add_test(tc, test_search_headers);
	suite_add_tcase(s, tc);
	tcase_set_timeout(hostile, 60);
	tcase_add_test(hostile, test_random_sealed);
	tcase_add_test(hostile, test_hostile_blob);
	suite_add_tcase(s, hostile);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(message_cache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
