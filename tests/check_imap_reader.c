/* IMAP command reader and parser tests.  Every case is run with the input
 * given whole, one byte at a time, and in 7-byte pieces: the reader must
 * give the same events whatever the split. */
#include "autoconfig.h"
#include <check.h>
#include <stdio.h>
#include <string.h>
#include "imap-parser.h"
#include "imap-reader.h"
#include "pool.h"
#include "strbuf.h"

#define MAX_LITERAL 1000
#define MAX_LINE 200

struct reader_case {
	const char *input;
	size_t input_len;     /* 0: strlen(input) */
	const char *expect;   /* the events, rendered by render_events() */
};

static const struct reader_case cases[] = {
	/* the simplest command */
	{ "a1 NOOP\r\n", 0, "[a1 NOOP]" },
	/* a bare LF ends a line too */
	{ "a1 NOOP\n", 0, "[a1 NOOP]" },
	/* pipelined commands in one read */
	{ "a NOOP\r\nb CAPABILITY\r\n", 0, "[a NOOP][b CAPABILITY]" },
	/* atoms, quoted strings with escapes, NIL */
	{ "t LOGIN \"sm\\\\ith\" \"p\\\"w\"\r\n", 0, "[t LOGIN Q:sm\\ith Q:p\"w]" },
	/* a synchronising literal: "+" is asked for, then the rest */
	{ "t LOGIN {5}\r\nsmith secret\r\n", 0, "+[t LOGIN L:smith A:secret]" },
	/* LITERAL+: no continuation */
	{ "t LOGIN {5+}\r\nsmith {6+}\r\nsecret\r\n", 0, "[t LOGIN L:smith L:secret]" },
	/* an empty literal */
	{ "t SELECT {0}\r\n\r\n", 0, "+[t SELECT L:]" },
	/* a literal holding CRLF and a brace: never scanned for line ends */
	{ "t APPEND INBOX {9+}\r\nab\r\n{3}\r\n\r\n", 0, "[t APPEND A:INBOX L:ab\\r\\n{3}\\r\\n]" },
	/* nested lists and sequence sets */
	{ "f FETCH 1:*,7 (FLAGS (X Y) UID)\r\n", 0, "[f FETCH A:1:*,7 (A:FLAGS (A:X A:Y) A:UID)]" },
	/* a section with spaces and parentheses stays one atom */
	{ "f FETCH 1 BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.10>\r\n", 0,
	  "[f FETCH A:1 A:BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.10>]" },
	/* flags and wildcards are atoms */
	{ "s STORE 1 +FLAGS (\\Seen $Junk)\r\nl LIST \"\" %/*\r\n", 0,
	  "[s STORE A:1 A:+FLAGS (A:\\Seen A:$Junk)][l LIST Q: A:%/*]" },
	/* an empty line is ignored */
	{ "\r\na NOOP\r\n", 0, "[a NOOP]" },
	/* a literal may carry NUL bytes */
	{ "t X {3}\r\na\0b\r\n", 14, "+[t X L:a\\0b]" },
	/* a synchronising literal over the limit: NO [TOOBIG], nothing more read */
	{ "big APPEND INBOX {1001}\r\nz NOOP\r\n", 0, "!big NO TOOBIG![z NOOP]" },
	/* a LITERAL+ over the limit: swallowed, then BAD [TOOBIG]; the next
	   command is served */
	{ "big APPEND INBOX {1001+}\r\n", 0, "" },
	/* a literal size that overflows 64 bits */
	{ "o X {99999999999999999999999}\r\nz NOOP\r\n", 0, "!o NO TOOBIG![z NOOP]" },
	/* syntax errors: each a BAD with the tag when there is one */
	{ "a\r\n", 0, "?a:Missing command name" },
	{ "a  NOOP\r\n", 0, "?a:Missing command name" },
	{ "a NOOP \r\n", 0, "?a:Unexpected space after the command name" },
	{ "a+ NOOP\r\n", 0, "?*:Missing or invalid tag" },
	{ "(a NOOP\r\n", 0, "?*:Missing or invalid tag" },
	{ "a X (b\r\n", 0, "?a:Missing ')'" },
	{ "a X b)\r\n", 0, "?a:Unexpected ')'" },
	{ "a X \"open\r\n", 0, "?a:Missing '\"'" },
	{ "a X \"bad\\q\"\r\n", 0, "?a:Bad escape in quoted string" },
	{ "a X b  c\r\n", 0, "?a:More than one space between arguments" },
	{ "a X (b)c\r\n", 0, "?a:Expected a space between arguments" },
	{ "a X BODY[TEXT\r\n", 0, "?a:Missing ']'" },
	{ "a X {3}x\r\n", 0, "?a:Bad literal: expected '}' and CRLF" },
};

/* Renders an argument like "A:atom", "Q:quoted", "L:literal", "(...)". */
static void render_arg(struct strbuf *sb, const struct imap_arg *a)
{
	size_t i;
	unsigned k;

	switch (a->type) {
	case IMAP_ARG_ATOM: strbuf_appends(sb, "A:"); break;
	case IMAP_ARG_QUOTED: strbuf_appends(sb, "Q:"); break;
	case IMAP_ARG_LITERAL: strbuf_appends(sb, "L:"); break;
	case IMAP_ARG_LIST:
		strbuf_appendc(sb, '(');
		for (k = 0; k < a->count; k++) {
			if (k > 0)
				strbuf_appendc(sb, ' ');
			render_arg(sb, &a->list[k]);
		}
		strbuf_appendc(sb, ')');
		return;
	}
	for (i = 0; i < a->len; i++) {
		if (a->str[i] == '\r')
			strbuf_appends(sb, "\\r");
		else if (a->str[i] == '\n')
			strbuf_appends(sb, "\\n");
		else if (a->str[i] == '\0')
			strbuf_appends(sb, "\\0");
		else
			strbuf_appendc(sb, a->str[i]);
	}
}

static void render_command(struct strbuf *sb, struct imap_reader *r)
{
	struct pool pool = POOL_INIT;
	struct imap_command_args cmd;
	const char *error;
	unsigned k;
	int ret = imap_parse_command(r->cmd.data, r->cmd.len, &pool, &cmd, &error);

	if (ret < 0) {
		strbuf_appendf(sb, "?%s:%s", cmd.tag != NULL ? cmd.tag : "*", error);
	} else if (ret > 0) {
		strbuf_appendf(sb, "[%s %s", cmd.tag, cmd.name);
		for (k = 0; k < cmd.count; k++) {
			strbuf_appendc(sb, ' ');
			render_arg(sb, &cmd.args[k]);
		}
		strbuf_appendc(sb, ']');
	}
	pool_free(&pool);
}

/* Feeds `input` in pieces of `chunk` bytes and renders every event. */
static void render_events(const char *input, size_t len, size_t chunk, struct strbuf *sb)
{
	struct imap_reader r;
	size_t off = 0;

	imap_reader_init(&r, MAX_LITERAL, MAX_LINE);
	while (off < len) {
		size_t piece = len - off < chunk ? len - off : chunk;

		while (piece > 0) {
			size_t used = 0;

			switch (imap_reader_feed(&r, input + off, piece, &used)) {
			case IMAP_READER_AGAIN:
				break;
			case IMAP_READER_CONTINUE:
				strbuf_appendc(sb, '+');
				break;
			case IMAP_READER_COMMAND:
				render_command(sb, &r);
				imap_reader_next(&r);
				break;
			case IMAP_READER_REJECT:
				strbuf_appendf(sb, "!%s %s %s!", r.tag, r.reject_no ? "NO" : "BAD",
					       r.reject_code);
				imap_reader_next(&r);
				break;
			}
			off += used;
			piece -= used;
		}
	}
	imap_reader_deinit(&r);
}

START_TEST(test_reader_cases)
{
	const struct reader_case *rc = &cases[_i];
	size_t len = rc->input_len != 0 ? rc->input_len : strlen(rc->input);
	static const size_t chunks[] = { 1 << 20, 1, 7 };
	unsigned k;

	for (k = 0; k < 3; k++) {
		struct strbuf sb = STRBUF_INIT;

		render_events(rc->input, len, chunks[k], &sb);
		if (strcmp(sb.data != NULL ? sb.data : "", rc->expect) != 0)
			ck_abort_msg("case %d (chunk %zu): got '%s', expected '%s'", _i,
				     chunks[k], sb.data != NULL ? sb.data : "", rc->expect);
		strbuf_free(&sb);
	}
}
END_TEST

/* A LITERAL+ over the limit: its bytes are swallowed, the command is
   refused with BAD [TOOBIG], and the following command is served. */
START_TEST(test_nonsync_too_big_is_skipped)
{
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
	unsigned i;

	strbuf_appends(&in, "big APPEND INBOX {1500+}\r\n");
	for (i = 0; i < 1500; i++)
		strbuf_appendc(&in, i % 50 == 0 ? '\n' : 'x');
	strbuf_appends(&in, "\r\nz NOOP\r\n");
	render_events(in.data, in.len, 1 << 20, &out);
	ck_assert_str_eq(out.data, "!big BAD TOOBIG![z NOOP]");
	strbuf_reset(&out);
	render_events(in.data, in.len, 1, &out);
	ck_assert_str_eq(out.data, "!big BAD TOOBIG![z NOOP]");
	strbuf_free(&in);
	strbuf_free(&out);
}
END_TEST

/* A line over the limit is refused with its tag; the next one is served. */
START_TEST(test_line_too_long)
{
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
	unsigned i;

	strbuf_appends(&in, "long SEARCH");
	for (i = 0; i < 100; i++)
		strbuf_appends(&in, " TEXT");
	strbuf_appends(&in, "\r\nz NOOP\r\n");
	render_events(in.data, in.len, 1 << 20, &out);
	ck_assert_str_eq(out.data, "!long BAD TOOBIG![z NOOP]");
	strbuf_reset(&out);
	render_events(in.data, in.len, 3, &out);
	ck_assert_str_eq(out.data, "!long BAD TOOBIG![z NOOP]");
	strbuf_free(&in);
	strbuf_free(&out);
}
END_TEST

/* Lists nested deeper than the parser allows are refused, not recursed. */
START_TEST(test_deep_nesting_refused)
{
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
	unsigned i;

	strbuf_appends(&in, "d X ");
	for (i = 0; i < 60; i++)
		strbuf_appendc(&in, '(');
	for (i = 0; i < 60; i++)
		strbuf_appendc(&in, ')');
	strbuf_appends(&in, "\r\n");
	render_events(in.data, in.len, 1 << 20, &out);
	ck_assert_str_eq(out.data, "?d:Lists nested too deep");
	strbuf_free(&in);
	strbuf_free(&out);
}
END_TEST

static Suite *reader_suite(void)
{
	Suite *s = suite_create("imap_reader");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_reader_cases, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_nonsync_too_big_is_skipped);
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_deep_nesting_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(reader_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
