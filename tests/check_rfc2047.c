#include "autoconfig.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "strbuf.h"
#include "mail/charset.h"
#include "mail/rfc2047.h"

static const struct {
	const char *in;
	const char *out;
	int decoded; /* rfc2047_decode()'s return value */
} cases[] = {
	/* RFC 2047 section 8: From: =?US-ASCII?Q?Keith_Moore?= */
	{ "=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>",
	  "Keith Moore <moore@cs.utk.edu>", 1 },
	/* section 8: To: Keld Jørn Simonsen */
	{ "=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>",
	  "Keld J\xc3\xb8rn Simonsen <keld@dkuug.dk>", 1 },
	/* section 8: CC: André Pirard, the space after the word is kept */
	{ "=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
	  "Andr\xc3\xa9 Pirard <PIRARD@vm1.ulg.ac.be>", 1 },
	/* section 8: Subject, two B words in two charsets over a fold */
	{ "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
	  "    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
	  "If you can read this you understand the example.", 1 },
	/* section 8: From: Olle Järnefors */
	{ "=?ISO-8859-1?Q?Olle_J=E4rnefors?= <ojarnef@admin.kth.se>",
	  "Olle J\xc3\xa4rnefors <ojarnef@admin.kth.se>", 1 },
	/* section 8: Hebrew in a comment after a folded line */
	{ "Nathaniel Borenstein <nsb@thumper.bellcore.com>\r\n"
	  "    (=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=)",
	  "Nathaniel Borenstein <nsb@thumper.bellcore.com>    ("
	  "\xd7\x9d\xd7\x95\xd7\x9c\xd7\xa9 \xd7\x9f\xd7\x91 "
	  "\xd7\x99\xd7\x9c\xd7\x98\xd7\xa4\xd7\xa0)", 1 },
	/* section 8: Patrik Fältström between literal text */
	{ "Patrik =?ISO-8859-1?Q?F=E4ltstr=F6m?= <paf@nada.kth.se>",
	  "Patrik F\xc3\xa4ltstr\xc3\xb6m <paf@nada.kth.se>", 1 },
	/* section 8 table: (=?ISO-8859-1?Q?a?=) */
	{ "(=?ISO-8859-1?Q?a?=)", "(a)", 1 },
	/* section 8 table: a word then literal text keeps the space */
	{ "(=?ISO-8859-1?Q?a?= b)", "(a b)", 1 },
	/* section 8 table: one space between words is dropped */
	{ "(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)", 1 },
	/* section 8 table: two spaces between words are dropped */
	{ "(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)", 1 },
	/* section 8 table: a folded line between words is dropped */
	{ "(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)", 1 },
	/* section 8 table: '_' is a space */
	{ "(=?ISO-8859-1?Q?a_b?=)", "(a b)", 1 },
	/* section 8 table: a space encoded in the second word survives */
	{ "(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)", 1 },
	/* RFC 2231 section 5: a language suffix is ignored */
	{ "=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore", 1 },
	/* RFC 2231 language with a region */
	{ "=?utf-8*en-US?B?w6k=?=", "\xc3\xa9", 1 },
	/* a UTF-8 character split across two Q words is joined */
	{ "=?utf-8?q?caf=C3?= =?UTF-8?Q?=A9?=", "caf\xc3\xa9", 1 },
	/* a UTF-8 character split across two B words */
	{ "=?utf-8?b?8J+Y?= =?utf-8?b?gA==?=", "\xf0\x9f\x98\x80", 1 },
	/* B without padding */
	{ "=?utf-8?B?w6k?=", "\xc3\xa9", 1 },
	/* lower-case hex in Q */
	{ "=?iso-8859-1?q?caf=e9?=", "caf\xc3\xa9", 1 },
	/* an invalid Q escape stays literal inside the word */
	{ "=?utf-8?q?a=ZZ?=", "a=ZZ", 1 },
	/* empty encoded text */
	{ "x=?utf-8?q?\?=y", "xy", 1 },
	/* words glued to text are decoded all the same */
	{ "foo=?utf-8?q?bar?=baz", "foobarbaz", 1 },
	/* two words with nothing between */
	{ "=?utf-8?q?a?==?utf-8?q?b?=", "ab", 1 },
	/* spaces between a word and text are kept */
	{ "=?utf-8?q?a?=  x", "a  x", 1 },
	/* a stateful charset: ISO-2022-JP "こんにちは" */
	{ "=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=",
	  "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf", 1 },
	/* malformed: unknown encoding letter */
	{ "=?utf-8?x?abc?=", "=?utf-8?x?abc?=", 0 },
	/* malformed: unterminated */
	{ "=?utf-8?q?abc", "=?utf-8?q?abc", 0 },
	/* malformed: empty charset */
	{ "=??q?abc?=", "=??q?abc?=", 0 },
	/* malformed: empty charset before a language */
	{ "=?*en?q?abc?=", "=?*en?q?abc?=", 0 },
	/* malformed: characters outside base64 */
	{ "=?utf-8?b?w6k*?=", "=?utf-8?b?w6k*?=", 0 },
	/* malformed: data after base64 padding */
	{ "=?utf-8?b?w6k=w?=", "=?utf-8?b?w6k=w?=", 0 },
	/* malformed: a space inside the encoded text */
	{ "=?utf-8?q?a b?=", "=?utf-8?q?a b?=", 0 },
	/* unknown charset: literal */
	{ "=?x-unknown?q?abc?=", "=?x-unknown?q?abc?=", 0 },
	/* a literal word keeps the whitespace after it */
	{ "=?x-unknown?q?a?= =?utf-8?q?b?=", "=?x-unknown?q?a?= b", 1 },
	/* a malformed word before a good one */
	{ "=?utf-8?q?=?utf-8?q?ok?=", "=?utf-8?q?ok", 1 },
	/* literal 8-bit text that is not UTF-8 becomes U+FFFD */
	{ "caf\xe9 =?utf-8?q?x?=", "caf\xef\xbf\xbd x", 1 },
	/* literal UTF-8 text is kept */
	{ "caf\xc3\xa9", "caf\xc3\xa9", 0 },
	/* folded plain text is unfolded */
	{ "Subject line\r\n continued\n\tagain", "Subject line continued\tagain", 0 },
	/* a line break not followed by a blank is not a fold */
	{ "a\r\nb", "a\r\nb", 0 },
	/* no encoded words at all */
	{ "just text = ? ?=", "just text = ? ?=", 0 },
	/* empty */
	{ "", "", 0 },
};

START_TEST(test_decode)
{
	struct strbuf out = STRBUF_INIT;

	strbuf_appends(&out, ">");
	ck_assert_int_eq(rfc2047_decode(cases[_i].in, strlen(cases[_i].in), &out),
			 cases[_i].decoded);
	ck_assert_str_eq(out.data + 1, cases[_i].out);
	ck_assert_int_eq(charset_utf8_is_valid(out.data, out.len), 1);
	strbuf_free(&out);
}
END_TEST

/* Every prefix of every case decodes without reading past its end and
   yields valid UTF-8 (malformed tails stay literal). */
START_TEST(test_prefixes)
{
	const char *in = cases[_i].in;
	size_t len = strlen(in), n;

	for (n = 0; n <= len; n++) {
		struct strbuf out = STRBUF_INIT;
		char *copy = strndup(in, n);

		rfc2047_decode(copy, n, &out);
		ck_assert_int_eq(charset_utf8_is_valid(out.data, out.len), 1);
		free(copy);
		strbuf_free(&out);
	}
}
END_TEST

static Suite *rfc2047_suite(void)
{
	Suite *s = suite_create("rfc2047");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_decode, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_loop_test(tc, test_prefixes, 0, sizeof(cases) / sizeof(cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rfc2047_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	charset_thread_deinit();
	return failed > 0 ? 1 : 0;
}
