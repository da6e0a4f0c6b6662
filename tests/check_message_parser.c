#include "autoconfig.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mail/message-parser.h"

/* ---- helpers ---- */

/* Describes a part tree compactly: containers as TYPE/SUB{children}, leaves
   as TYPE/SUB[body]lines. */
static void describe(struct strbuf *out, const char *data,
		     const struct message_part *part)
{
	const struct message_part *child;

	strbuf_appendf(out, "%s/%s", part->type, part->subtype);
	if (part->kind != MESSAGE_PART_LEAF) {
		strbuf_appendc(out, '{');
		for (child = part->children; child != NULL; child = child->next)
			describe(out, data, child);
		strbuf_appendc(out, '}');
		return;
	}
	strbuf_appendc(out, '[');
	strbuf_append(out, data + part->body_offset, part->body_size);
	strbuf_appendf(out, "]%zu", part->body_lines);
}

/* Checks what every parse must satisfy, broken input or not; returns the
   deepest depth seen. */
static unsigned int check_invariants(const struct message_parser_result *r)
{
	const struct message_part *part, *child;
	unsigned int count = 0, max_depth = 0, children;

	for (part = r->root; part != NULL; part = message_parser_part_next(part)) {
		count++;
		if (part->depth > max_depth)
			max_depth = part->depth;
		ck_assert_uint_eq(part->body_offset,
				  part->header_offset + part->header_size);
		ck_assert_uint_le(part->body_offset + part->body_size, r->size);
		ck_assert_ptr_nonnull(part->type);
		ck_assert_ptr_nonnull(part->subtype);
		ck_assert(part->is_message == (part->envelope != NULL));
		if (part->kind == MESSAGE_PART_LEAF)
			ck_assert_ptr_null(part->children);
		if (part->kind == MESSAGE_PART_MESSAGE_RFC822)
			ck_assert_uint_le(part->child_count, 1);
		children = 0;
		for (child = part->children; child != NULL; child = child->next) {
			children++;
			ck_assert_ptr_eq(child->parent, part);
			ck_assert_uint_eq(child->depth, part->depth + 1);
			ck_assert_uint_ge(child->header_offset, part->body_offset);
			ck_assert_uint_le(child->body_offset + child->body_size,
					  part->body_offset + part->body_size);
		}
		ck_assert_uint_eq(children, part->child_count);
	}
	ck_assert_uint_eq(count, r->part_count);
	ck_assert_uint_le(count, MESSAGE_PARSER_MAX_PARTS);
	ck_assert_uint_lt(max_depth, MESSAGE_PARSER_MAX_DEPTH);
	return max_depth;
}

/* ---- structure ---- */

struct structure_case {
	const char *msg;
	const char *root_header;     /* expected header bytes of the root */
	const char *expected;        /* describe() of the root */
};

static const struct structure_case structure_cases[] = {
	/* simple message with CRLF line ends */
	{ "From: a@b\r\nSubject: x\r\n\r\nhello\r\nworld\r\n",
	  "From: a@b\r\nSubject: x\r\n\r\n", "TEXT/PLAIN[hello\r\nworld\r\n]2" },
	/* bare LF and an unterminated last line, which still counts */
	{ "Subject: x\n\nhello\nworld", "Subject: x\n\n", "TEXT/PLAIN[hello\nworld]2" },
	/* no blank line: everything is header, the body is empty */
	{ "Subject: x\r\nFrom: y", "Subject: x\r\nFrom: y", "TEXT/PLAIN[]0" },
	/* the empty message */
	{ "", "", "TEXT/PLAIN[]0" },
	/* a message that is only a blank line */
	{ "\r\nbody\r\n", "\r\n", "TEXT/PLAIN[body\r\n]1" },
	/* multipart/mixed with preamble and epilogue, which belong to no part */
	{ "Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n"
	  "preamble\r\n--xx\r\n\r\npart one\r\n--xx\r\n"
	  "Content-Type: application/octet-stream\r\n\r\nQUJD\r\n"
	  "--xx--\r\nepilogue\r\n",
	  "Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n",
	  "MULTIPART/MIXED{TEXT/PLAIN[part one]1APPLICATION/OCTET-STREAM[QUJD]1}" },
	/* missing final boundary: the last part runs to the end */
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n"
	  "Content-Type: text/html\n\n<p>two</p>\n", NULL,
	  "MULTIPART/MIXED{TEXT/PLAIN[one]1TEXT/HTML[<p>two</p>\n]1}" },
	/* boundary lines with trailing whitespace */
	{ "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b  \r\n\r\none\r\n"
	  "--b--\t\r\n", NULL, "MULTIPART/MIXED{TEXT/PLAIN[one]1}" },
	/* multipart/alternative nested in multipart/mixed */
	{ "Content-Type: multipart/mixed; boundary=out\n\n--out\n"
	  "Content-Type: multipart/alternative; boundary=alt\n\n--alt\n"
	  "Content-Type: text/plain\n\nplain\n--alt\nContent-Type: text/html\n\n"
	  "<b>html</b>\n--alt--\n--out\nContent-Type: image/png\n"
	  "Content-Transfer-Encoding: base64\n\niVBO\n--out--\n", NULL,
	  "MULTIPART/MIXED{MULTIPART/ALTERNATIVE{TEXT/PLAIN[plain]1"
	  "TEXT/HTML[<b>html</b>]1}IMAGE/PNG[iVBO]1}" },
	/* message/rfc822 attachment holding its own multipart */
	{ "Content-Type: multipart/mixed; boundary=o\n\n--o\n\nsee attached\n--o\n"
	  "Content-Type: message/rfc822\n\nSubject: inner\n"
	  "Content-Type: multipart/alternative; boundary=i\n\n--i\n\na\n--i--\n"
	  "--o--\n", NULL,
	  "MULTIPART/MIXED{TEXT/PLAIN[see attached]1"
	  "MESSAGE/RFC822{MULTIPART/ALTERNATIVE{TEXT/PLAIN[a]1}}}" },
	/* a top-level message/rfc822 */
	{ "Content-Type: message/rfc822\n\nSubject: in\n\nbody\n", NULL,
	  "MESSAGE/RFC822{TEXT/PLAIN[body\n]1}" },
	/* multipart/digest: parts default to message/rfc822 */
	{ "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\n"
	  "body one\n--d\nContent-Type: text/plain\n\nnot a message\n--d--\n", NULL,
	  "MULTIPART/DIGEST{MESSAGE/RFC822{TEXT/PLAIN[body one]1}"
	  "TEXT/PLAIN[not a message]1}" },
	/* multipart without a boundary parameter is text/plain */
	{ "Content-Type: multipart/mixed\n\n--x\n\nfoo\n", NULL,
	  "TEXT/PLAIN[--x\n\nfoo\n]3" },
	/* a boundary that never appears: a multipart without parts */
	{ "Content-Type: multipart/mixed; boundary=zz\n\nno parts here\n", NULL,
	  "MULTIPART/MIXED{}" },
	/* message/rfc822 in base64 is not parsed as a message */
	{ "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
	  "U3ViamVjdDogeA==\n", NULL, "TEXT/PLAIN[U3ViamVjdDogeA==\n]1" },
	/* "--b2" matches both b and b2: the longest boundary wins */
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	  "Content-Type: multipart/mixed; boundary=b2\n\n--b2\n\nx\n--b2--\n"
	  "--b\n\ny\n--b--\n", NULL,
	  "MULTIPART/MIXED{MULTIPART/MIXED{TEXT/PLAIN[x]1}TEXT/PLAIN[y]1}" },
	/* an inner multipart missing its close delimiter ends at the outer one */
	{ "Content-Type: multipart/mixed; boundary=outer\n\n--outer\n"
	  "Content-Type: multipart/mixed; boundary=inner\n\n--inner\n\nx\n"
	  "--outer\n\ny\n--outer--\n", NULL,
	  "MULTIPART/MIXED{MULTIPART/MIXED{TEXT/PLAIN[x]1}TEXT/PLAIN[y]1}" },
	/* two delimiters in a row make an empty part */
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\nz\n--b--\n",
	  NULL, "MULTIPART/MIXED{TEXT/PLAIN[]0TEXT/PLAIN[z]1}" },
	/* a part header cut by the next delimiter (no blank line) */
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	  "Content-Type: text/html\n--b--\n", NULL,
	  "MULTIPART/MIXED{TEXT/HTML[]0}" },
	/* an empty message/rfc822 part right before the close delimiter */
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	  "Content-Type: message/rfc822\n\n--b--\n", NULL,
	  "MULTIPART/MIXED{MESSAGE/RFC822{TEXT/PLAIN[]0}}" },
	/* an invalid Content-Type (no subtype) falls back to text/plain */
	{ "Content-Type: text\n\nx\n", NULL, "TEXT/PLAIN[x\n]1" },
	/* the same boundary reused by a nested multipart: innermost wins */
	{ "Content-Type: multipart/mixed; boundary=s\n\n--s\n"
	  "Content-Type: multipart/mixed; boundary=s\n\n--s\n\nin\n--s--\n"
	  "after\n--s--\n", NULL,
	  "MULTIPART/MIXED{MULTIPART/MIXED{TEXT/PLAIN[in]1}}" },
	/* a line merely starting with "--" is body text */
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n-- \nsig\n--b--\n",
	  NULL, "MULTIPART/MIXED{TEXT/PLAIN[-- \nsig]2}" },
};

START_TEST(test_structure)
{
	const struct structure_case *c = &structure_cases[_i];
	struct message_parser_result *r;
	struct strbuf out = STRBUF_INIT;

	r = message_parser_parse(c->msg, strlen(c->msg));
	check_invariants(r);
	describe(&out, c->msg, r->root);
	ck_assert_str_eq(out.data, c->expected);
	if (c->root_header != NULL) {
		ck_assert_uint_eq(r->root->header_offset, 0);
		ck_assert_uint_eq(r->root->header_size, strlen(c->root_header));
		ck_assert_mem_eq(c->msg, c->root_header, r->root->header_size);
	}
	strbuf_free(&out);
	message_parser_destroy(&r);
	ck_assert_ptr_null(r);
}
END_TEST

/* ---- MIME header fields ---- */

struct field_case {
	const char *msg;
	const char *type;            /* TYPE/SUBTYPE */
	const char *params;          /* NAME=value;... */
	const char *encoding, *id, *description, *disposition, *languages,
		*location, *md5;
};

#define FC(msg, type, params) \
	{ msg, type, params, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

static const struct field_case field_cases[] = {
	/* case folding of names, values kept as written */
	FC("Content-Type: Text/Plain; Charset=\"ISO-8859-1\"; format=flowed\n\n",
	  "TEXT/PLAIN", "CHARSET=ISO-8859-1;FORMAT=flowed"),
	/* comments and whitespace around every token */
	FC("Content-Type: text/plain (comment) ; charset = \"us-ascii\" "
	  "(another (nested) comment)\n\n", "TEXT/PLAIN", "CHARSET=us-ascii"),
	/* quoted-pair escapes inside a quoted value */
	FC("Content-Type: application/octet-stream; name=\"a \\\"b\\\" \\\\c.txt\"\n\n",
	  "APPLICATION/OCTET-STREAM", "NAME=a \"b\" \\c.txt"),
	/* folded header, unquoted value with '=' in it */
	FC("Content-Type: multipart/mixed;\n\tboundary=----=_Part_1\n\n",
	  "MULTIPART/MIXED", "BOUNDARY=----=_Part_1"),
	/* RFC 2231 continuations are joined */
	FC("Content-Type: application/x-stuff;\n title*0=\"This is \";\n"
	  " title*1=\"long\"\n\n", "APPLICATION/X-STUFF", "TITLE=This is long"),
	/* RFC 2231 extended value kept encoded under NAME* */
	FC("Content-Type: application/x-stuff;\n title*=us-ascii'en-us'This%20is%20"
	  "%2A%2A%2Afun%2A%2A%2A\n\n", "APPLICATION/X-STUFF",
	  "TITLE*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"),
	/* RFC 2231 example: extended and plain segments mixed */
	FC("Content-Type: application/x-stuff;\n"
	  " title*0*=us-ascii'en'This%20is%20even%20more%20;\n"
	  " title*1*=%2A%2A%2Afun%2A%2A%2A%20;\n title*2=\"isn't it!\"\n\n",
	  "APPLICATION/X-STUFF",
	  "TITLE*=us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20"
	  "isn%27t%20it!"),
	/* continuations out of order */
	FC("Content-Type: image/gif; name*1=\"b\"; name*0=\"a\"\n\n", "IMAGE/GIF",
	  "NAME=ab"),
	/* a gap in the continuations ends the value */
	FC("Content-Type: image/gif; name*0=a; name*2=c\n\n", "IMAGE/GIF", "NAME=a"),
	/* a text type without charset is given US-ASCII */
	FC("Content-Type: text/html\n\n", "TEXT/HTML", "CHARSET=US-ASCII"),
	/* no Content-Type at all: the RFC 2045 default */
	FC("Subject: x\n\n", "TEXT/PLAIN", "CHARSET=US-ASCII"),
	/* the first Content-Type wins */
	FC("Content-Type: text/html\nContent-Type: image/gif\n\n", "TEXT/HTML",
	  "CHARSET=US-ASCII"),
	/* garbage Content-Type: the default */
	FC("Content-Type: ;;; =\n\n", "TEXT/PLAIN", "CHARSET=US-ASCII"),
	/* unterminated quoted string runs to the end */
	FC("Content-Type: text/plain; charset=\"utf-8\n\n", "TEXT/PLAIN",
	  "CHARSET=utf-8"),
	/* a parameter without value is dropped, the rest kept */
	FC("Content-Type: text/plain; foo; charset=x\n\n", "TEXT/PLAIN", "CHARSET=x"),
	/* an empty quoted value */
	FC("Content-Type: image/png; name=\"\"\n\n", "IMAGE/PNG", "NAME="),
	/* every other MIME field */
	{ "Content-Transfer-Encoding: Base64 (comment)\n"
	  "Content-ID: <abc@def>\n"
	  "Content-Description: =?utf-8?q?caf=C3=A9?=\n folded\n"
	  "Content-Disposition: Attachment; filename=\"r\xc3\xa9sum\xc3\xa9.pdf\";"
	  " size=12\n"
	  "Content-Language: en-US, de (German)\n"
	  "Content-Location: http://example.com/a\n"
	  "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n\n",
	  "TEXT/PLAIN", "CHARSET=US-ASCII", "BASE64", "<abc@def>",
	  "=?utf-8?q?caf=C3=A9?= folded",
	  "ATTACHMENT;FILENAME=r\xc3\xa9sum\xc3\xa9.pdf;SIZE=12", "en-US,de",
	  "http://example.com/a", "Q2hlY2sgSW50ZWdyaXR5IQ==" },
	/* a disposition without parameters */
	{ "Content-Disposition: inline\n\n", "TEXT/PLAIN", "CHARSET=US-ASCII",
	  NULL, NULL, NULL, "INLINE", NULL, NULL, NULL },
};

static void format_params(struct strbuf *out, const char *first,
			  const struct message_param *params, unsigned int count)
{
	unsigned int i;

	if (first != NULL)
		strbuf_appends(out, first);
	for (i = 0; i < count; i++) {
		if (out->len > 0)
			strbuf_appendc(out, ';');
		strbuf_appendf(out, "%s=%s", params[i].name, params[i].value);
	}
}

static void assert_opt_str(const char *got, const char *expected)
{
	if (expected == NULL)
		ck_assert_ptr_null(got);
	else
		ck_assert_str_eq(got, expected);
}

START_TEST(test_fields)
{
	const struct field_case *c = &field_cases[_i];
	struct message_parser_result *r;
	const struct message_part *p;
	struct strbuf s = STRBUF_INIT;
	unsigned int i;

	r = message_parser_parse(c->msg, strlen(c->msg));
	check_invariants(r);
	p = r->root;
	strbuf_appendf(&s, "%s/%s", p->type, p->subtype);
	ck_assert_str_eq(s.data, c->type);
	strbuf_reset(&s);
	strbuf_append(&s, "", 0);
	format_params(&s, NULL, p->params, p->param_count);
	ck_assert_str_eq(s.data, c->params);
	assert_opt_str(p->encoding, c->encoding);
	assert_opt_str(p->id, c->id);
	assert_opt_str(p->description, c->description);
	assert_opt_str(p->location, c->location);
	assert_opt_str(p->md5, c->md5);
	if (c->disposition == NULL) {
		ck_assert_ptr_null(p->disposition);
	} else {
		strbuf_reset(&s);
		format_params(&s, p->disposition, p->disp_params,
			      p->disp_param_count);
		ck_assert_str_eq(s.data, c->disposition);
	}
	strbuf_reset(&s);
	strbuf_append(&s, "", 0);
	for (i = 0; i < p->language_count; i++)
		strbuf_appendf(&s, "%s%s", i > 0 ? "," : "", p->languages[i]);
	ck_assert_str_eq(s.data, c->languages == NULL ? "" : c->languages);
	strbuf_free(&s);
	message_parser_destroy(&r);
}
END_TEST

/* message_parser_param_get() decodes RFC 2231 extended values. */
START_TEST(test_param_get)
{
	static const char msg[] =
		"Content-Type: text/plain; charset*=utf-8'en'iso-8859-1;"
		" name*=UTF-8''%E2%82%AC%20rates.txt; format=Flowed\n\nx";
	struct message_parser_result *r = message_parser_parse(msg, strlen(msg));
	struct strbuf scratch = STRBUF_INIT;
	const char *v;

	v = message_parser_param_get(r->root, "charset", &scratch);
	ck_assert_str_eq(v, "iso-8859-1");
	v = message_parser_param_get(r->root, "NAME", &scratch);
	ck_assert_str_eq(v, "\xe2\x82\xac rates.txt");
	ck_assert_str_eq(message_parser_param_get(r->root, "format", &scratch),
			 "Flowed");
	ck_assert_ptr_null(message_parser_param_get(r->root, "nope", &scratch));
	strbuf_free(&scratch);
	message_parser_destroy(&r);
}
END_TEST

/* ---- header iteration ---- */

struct header_case {
	const char *header;
	const char *expected;        /* "name|value\n" per field, raw values */
};

static const struct header_case header_cases[] = {
	/* folding kept raw, empty value, lines that are not fields skipped */
	{ "From: a\r\nSubject: multi\r\n line\r\nX-Empty:\r\nNo colon line\r\n"
	  "  orphan?\r\nBad Name: x\r\nX-Tab\t: y\r\n\r\nbody: no header\r\n",
	  "From| a\nSubject| multi\r\n line\nX-Empty|\nX-Tab| y\n" },
	/* bare LF and no final line end */
	{ "A: 1\nB: 2", "A| 1\nB| 2\n" },
	/* a continuation line before any field is skipped */
	{ " x\nA: 1\n\n", "A| 1\n" },
	/* a value containing colons */
	{ "Date: Mon, 1 Jan 2024 10:00:00 +0000\n\n",
	  "Date| Mon, 1 Jan 2024 10:00:00 +0000\n" },
	/* an mbox From_ line has a space in its "name" */
	{ "From a@b Mon Jan  1 10:00:00 2024\nTo: c\n\n", "To| c\n" },
	/* the empty header */
	{ "\r\nA: not a header\r\n", "" },
};

START_TEST(test_header_iter)
{
	const struct header_case *c = &header_cases[_i];
	struct message_parser_header_iter iter;
	struct message_header_field f;
	struct strbuf s = STRBUF_INIT;
	size_t len = strlen(c->header);

	strbuf_append(&s, "", 0);
	message_parser_header_iter_init(&iter, c->header, 0, len);
	while (message_parser_header_iter_next(&iter, &f)) {
		ck_assert_ptr_eq(f.name, c->header + f.offset);
		ck_assert_uint_le(f.offset + f.size, len);
		ck_assert(f.value >= f.name + f.name_len);
		ck_assert(f.value + f.value_len <= c->header + f.offset + f.size);
		strbuf_append(&s, f.name, f.name_len);
		strbuf_appendc(&s, '|');
		strbuf_append(&s, f.value, f.value_len);
		strbuf_appendc(&s, '\n');
	}
	ck_assert_str_eq(s.data, c->expected);
	strbuf_free(&s);
}
END_TEST

/* A field's range covers its continuation lines and final line end. */
START_TEST(test_header_field_range)
{
	static const char h[] = "A: 1\r\nB: 2\r\n 3\r\nC: 4\r\n\r\n";
	struct message_parser_header_iter iter;
	struct message_header_field f;

	message_parser_header_iter_init(&iter, h, 0, strlen(h));
	ck_assert(message_parser_header_iter_next(&iter, &f));
	ck_assert_uint_eq(f.offset, 0);
	ck_assert_uint_eq(f.size, 6);
	ck_assert(message_parser_header_iter_next(&iter, &f));
	ck_assert_uint_eq(f.offset, 6);
	ck_assert_uint_eq(f.size, 10);
	ck_assert(message_parser_header_iter_next(&iter, &f));
	ck_assert_uint_eq(f.offset, 16);
	ck_assert(!message_parser_header_iter_next(&iter, &f));
}
END_TEST

struct unfold_case {
	const char *in;
	const char *expected;
};

static const struct unfold_case unfold_cases[] = {
	/* leading and trailing whitespace trimmed */
	{ "  hello  ", "hello" },
	/* folding removed, the whitespace after it kept */
	{ " a\r\n b\n\tc", "a b\tc" },
	/* nothing but whitespace */
	{ " \r\n ", "" },
};

START_TEST(test_unfold)
{
	struct strbuf s = STRBUF_INIT;

	strbuf_append(&s, "", 0);
	message_parser_unfold(&s, unfold_cases[_i].in, strlen(unfold_cases[_i].in));
	ck_assert_str_eq(s.data, unfold_cases[_i].expected);
	strbuf_free(&s);
}
END_TEST

/* ---- text parts for SEARCH ---- */

START_TEST(test_text_iter)
{
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: text/plain; charset=UTF-8\n"
		"Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9\n"
		"--b\nContent-Type: image/png\n\nPNG\n"
		"--b\nContent-Type: text/html\n\n<p>x</p>\n"
		"--b\nContent-Type: message/rfc822\n\nSubject: in\n\ninner body\n"
		"--b\nContent-Type: text/plain; charset=\"\"\n\nempty charset\n"
		"--b--\n";
	struct message_parser_result *r = message_parser_parse(msg, strlen(msg));
	struct message_parser_text_iter iter;
	struct message_text_part t;
	struct strbuf s = STRBUF_INIT;

	message_parser_text_iter_init(&iter, r);
	while (message_parser_text_iter_next(&iter, &t)) {
		strbuf_appendf(&s, "%s %s %s [", t.subtype, t.charset, t.encoding);
		strbuf_append(&s, msg + t.body_offset, t.body_size);
		strbuf_append(&s, "]\n", 2);
	}
	message_parser_text_iter_deinit(&iter);
	ck_assert_str_eq(s.data,
			 "PLAIN UTF-8 QUOTED-PRINTABLE [caf=C3=A9]\n"
			 "HTML US-ASCII 7BIT [<p>x</p>]\n"
			 "PLAIN US-ASCII 7BIT [inner body]\n"
			 "PLAIN US-ASCII 7BIT [empty charset]\n");
	strbuf_free(&s);
	message_parser_destroy(&r);
}
END_TEST

/* ---- hostile input ---- */

static char *build_repeated(const char *head, const char *unit, unsigned int n,
			    const char *tail, size_t *len_r)
{
	struct strbuf s = STRBUF_INIT;
	unsigned int i;

	strbuf_appends(&s, head);
	for (i = 0; i < n; i++)
		strbuf_appends(&s, unit);
	strbuf_appends(&s, tail);
	*len_r = s.len;
	return strbuf_steal(&s);
}

/* 1000 nested multiparts stop at the depth limit. */
START_TEST(test_hostile_deep_multipart)
{
	struct strbuf s = STRBUF_INIT;
	struct message_parser_result *r;
	unsigned int i, depth;

	for (i = 0; i < 1000; i++)
		strbuf_appendf(&s, "Content-Type: multipart/mixed; boundary=\"b%04u\"\n"
			       "\n--b%04u\n", i, i);
	strbuf_appends(&s, "Content-Type: text/plain\n\nleaf\n");
	for (i = 1000; i-- > 0; )
		strbuf_appendf(&s, "--b%04u--\n", i);
	r = message_parser_parse(s.data, s.len);
	depth = check_invariants(r);
	ck_assert(r->depth_limited);
	ck_assert_uint_eq(depth, MESSAGE_PARSER_MAX_DEPTH - 1);
	ck_assert_uint_eq(r->part_count, MESSAGE_PARSER_MAX_DEPTH);
	message_parser_destroy(&r);
	strbuf_free(&s);
}
END_TEST

/* 1000 nested message/rfc822 stop at the depth limit too. */
START_TEST(test_hostile_deep_rfc822)
{
	size_t len;
	char *msg = build_repeated("", "Subject: x\nContent-Type: message/rfc822\n\n",
				   1000, "Subject: last\n\nbody\n", &len);
	struct message_parser_result *r = message_parser_parse(msg, len);

	check_invariants(r);
	ck_assert(r->depth_limited);
	ck_assert_uint_eq(r->part_count, MESSAGE_PARSER_MAX_DEPTH);
	message_parser_destroy(&r);
	free(msg);
}
END_TEST

/* 100000 parts stop at the part limit; the rest stays in the multipart. */
START_TEST(test_hostile_many_parts)
{
	size_t len;
	char *msg = build_repeated("Content-Type: multipart/mixed; boundary=x\n\n",
				   "--x\n\na\n", 100000, "--x--\n", &len);
	struct message_parser_result *r = message_parser_parse(msg, len);

	check_invariants(r);
	ck_assert(r->part_limited);
	ck_assert_uint_eq(r->part_count, MESSAGE_PARSER_MAX_PARTS);
	ck_assert_uint_eq(r->root->child_count, MESSAGE_PARSER_MAX_PARTS - 1);
	ck_assert_uint_eq(r->root->body_offset + r->root->body_size, len);
	message_parser_destroy(&r);
	free(msg);
}
END_TEST

/* Many multiparts each opening a container: containers are refused once
   the budget is spent, so the count stays bounded. */
START_TEST(test_hostile_many_containers)
{
	size_t len;
	char *msg = build_repeated("Content-Type: multipart/mixed; boundary=x\n\n",
				   "--x\nContent-Type: message/rfc822\n\n"
				   "Content-Type: multipart/mixed; boundary=y\n\n"
				   "--y\n\nz\n", 20000, "--x--\n", &len);
	struct message_parser_result *r = message_parser_parse(msg, len);

	check_invariants(r);
	ck_assert(r->part_limited);
	message_parser_destroy(&r);
	free(msg);
}
END_TEST

/* A 4 MB header field and 100000 header fields parse in linear time. */
START_TEST(test_hostile_huge_header)
{
	size_t len;
	char *msg = build_repeated("Subject: ", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				   "xxxxxxxxxxxxxxxxxxxxxxxxxx\n ", 65536,
				   "\nContent-Type: text/html\n\nbody", &len);
	struct message_parser_result *r = message_parser_parse(msg, len);

	check_invariants(r);
	ck_assert_str_eq(r->root->subtype, "HTML");
	ck_assert_uint_eq(r->root->body_size, 4);
	ck_assert(r->root->envelope->present[MESSAGE_ENVELOPE_SUBJECT]);
	message_parser_destroy(&r);
	free(msg);

	msg = build_repeated("", "X-Filler: 1\n", 100000,
			     "Content-Type: image/gif\n\nGIF", &len);
	r = message_parser_parse(msg, len);
	check_invariants(r);
	ck_assert_str_eq(r->root->type, "IMAGE");
	ck_assert_uint_eq(r->root->header_size, len - 3);
	message_parser_destroy(&r);
	free(msg);
}
END_TEST

/* A huge Content-Type with thousands of parameters keeps only the first
   MESSAGE_PARSER_MAX_PARAMS. */
START_TEST(test_hostile_many_params)
{
	size_t len;
	char *msg = build_repeated("Content-Type: text/plain", "; a*1*=b", 50000,
				   "\n\nx", &len);
	struct message_parser_result *r = message_parser_parse(msg, len);

	check_invariants(r);
	ck_assert_uint_le(r->root->param_count, MESSAGE_PARSER_MAX_PARAMS + 1);
	message_parser_destroy(&r);
	free(msg);
}
END_TEST

/* Every prefix of a multipart message parses cleanly (truncation). */
START_TEST(test_truncated_prefixes)
{
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
		"Content-Type: message/rfc822\r\n\r\nSubject: in\r\n"
		"Content-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n\r\n"
		"a\r\n--i--\r\n--o\r\nContent-Type: text/plain\r\n\r\nb\r\n--o--\r\n";
	size_t len;

	for (len = 0; len <= sizeof(msg) - 1; len++) {
		struct message_parser_result *r = message_parser_parse(msg, len);

		check_invariants(r);
		message_parser_destroy(&r);
	}
}
END_TEST

static Suite *message_parser_suite(void)
{
	Suite *s = suite_create("message_parser");
	TCase *tc = tcase_create("core");
	TCase *hostile = tcase_create("hostile");

	tcase_add_loop_test(tc, test_structure, 0,
			    sizeof(structure_cases) / sizeof(structure_cases[0]));
	tcase_add_loop_test(tc, test_fields, 0,
			    sizeof(field_cases) / sizeof(field_cases[0]));
	tcase_add_test(tc, test_param_get);
	tcase_add_loop_test(tc, test_header_iter, 0,
			    sizeof(header_cases) / sizeof(header_cases[0]));
	tcase_add_test(tc, test_header_field_range);
	tcase_add_loop_test(tc, test_unfold, 0,
			    sizeof(unfold_cases) / sizeof(unfold_cases[0]));
	tcase_add_test(tc, test_text_iter);
	tcase_add_test(tc, test_truncated_prefixes);
	suite_add_tcase(s, tc);

	tcase_set_timeout(hostile, 60);
	tcase_add_test(hostile, test_hostile_deep_multipart);
	tcase_add_test(hostile, test_hostile_deep_rfc822);
	tcase_add_test(hostile, test_hostile_many_parts);
	tcase_add_test(hostile, test_hostile_many_containers);
	tcase_add_test(hostile, test_hostile_huge_header);
	tcase_add_test(hostile, test_hostile_many_params);
	suite_add_tcase(s, hostile);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(message_parser_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
