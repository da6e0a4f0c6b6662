#include "autoconfig.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "mail/imap-quote.h"

enum quote_kind { Q_STRING, Q_NSTRING, Q_ASTRING };

struct quote_case {
	enum quote_kind kind;
	const char *in;              /* NULL for NIL */
	size_t len;
	const char *expected;
	size_t expected_len;
};

#define S(s) s, sizeof(s) - 1

static const struct quote_case quote_cases[] = {
	/* plain text is quoted */
	{ Q_STRING, S("hello world"), S("\"hello world\"") },
	/* the empty string is "" */
	{ Q_STRING, S(""), S("\"\"") },
	/* '"' and '\' are escaped inside a quoted string */
	{ Q_STRING, S("a\"b\\c"), S("\"a\\\"b\\\\c\"") },
	/* CR or LF forces a literal */
	{ Q_STRING, S("a\r\nb"), S("{4}\r\na\r\nb") },
	/* 8-bit bytes force a literal */
	{ Q_STRING, S("caf\xc3\xa9"), S("{5}\r\ncaf\xc3\xa9") },
	/* NUL cannot be sent: it becomes 0x80 inside a literal */
	{ Q_STRING, S("a\0b"), S("{3}\r\na\x80" "b") },
	/* nstring: NULL is NIL */
	{ Q_NSTRING, NULL, 0, S("NIL") },
	/* nstring: the text "NIL" is a quoted string, not NIL */
	{ Q_NSTRING, S("NIL"), S("\"NIL\"") },
	/* astring: an atom stays bare */
	{ Q_ASTRING, S("INBOX.Sent"), S("INBOX.Sent") },
	/* astring: ']' is an ASTRING-CHAR */
	{ Q_ASTRING, S("a]b"), S("a]b") },
	/* astring: space needs quoting */
	{ Q_ASTRING, S("My Folder"), S("\"My Folder\"") },
	/* astring: list wildcards and parens need quoting */
	{ Q_ASTRING, S("a%b"), S("\"a%b\"") },
	/* astring: empty and NIL must be quoted */
	{ Q_ASTRING, S(""), S("\"\"") },
	{ Q_ASTRING, S("nil"), S("\"nil\"") },
	/* astring: 8-bit needs a literal */
	{ Q_ASTRING, S("\xe2\x82\xac"), S("{3}\r\n\xe2\x82\xac") },
};

START_TEST(test_quote_table)
{
	const struct quote_case *c = &quote_cases[_i];
	struct strbuf out = STRBUF_INIT;

	strbuf_append(&out, "x ", 2);
	switch (c->kind) {
	case Q_STRING:
		imap_quote_string(&out, c->in, c->len);
		break;
	case Q_NSTRING:
		imap_quote_nstring(&out, c->in, c->len);
		break;
	case Q_ASTRING:
		imap_quote_astring(&out, c->in, c->len);
		break;
	}
	ck_assert_uint_eq(out.len, c->expected_len + 2);
	ck_assert_mem_eq(out.data, "x ", 2);
	ck_assert_mem_eq(out.data + 2, c->expected, c->expected_len);
	ck_assert_int_eq(out.data[out.len], '\0');
	strbuf_free(&out);
}
END_TEST

START_TEST(test_quote_cstr)
{
	struct strbuf out = STRBUF_INIT;

	imap_quote_nstring_cstr(&out, NULL);
	strbuf_appendc(&out, ' ');
	imap_quote_nstring_cstr(&out, "x");
	ck_assert_str_eq(out.data, "NIL \"x\"");
	strbuf_free(&out);
}
END_TEST

static Suite *imap_quote_suite(void)
{
	Suite *s = suite_create("imap_quote");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_quote_table, 0,
			    sizeof(quote_cases) / sizeof(quote_cases[0]));
	tcase_add_test(tc, test_quote_cstr);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imap_quote_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
