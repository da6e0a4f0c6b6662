#include "autoconfig.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "mail/imap-envelope.h"
#include "mail/message-parser.h"

/* ---- address lists ---- */

struct address_case {
	const char *value;           /* raw header value */
	const char *expected;        /* IMAP address list or NIL */
};

static const struct address_case address_cases[] = {
	/* bare addr-spec */
	{ "a@b.c", "((NIL NIL \"a\" \"b.c\"))" },
	/* display name with an obsolete period, dot-atom local part */
	{ "Joe Q. Public <john.q.public@example.com>",
	  "((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\"))" },
	/* quoted display name with specials and escapes */
	{ "\"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
	  "((\"Giant; \\\"Big\\\" Box\" NIL \"sysservices\" \"example.net\"))" },
	/* a list of three, one name with '?' */
	{ "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
	  "((\"Mary Smith\" NIL \"mary\" \"x.test\")(NIL NIL \"jdoe\" \"example.org\")"
	  "(\"Who?\" NIL \"one\" \"y.test\"))" },
	/* RFC 5322 A.1.3 group */
	{ "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
	  "((NIL NIL \"A Group\" NIL)(\"Ed Jones\" NIL \"c\" \"a.test\")"
	  "(NIL NIL \"joe\" \"where.test\")(\"John\" NIL \"jdoe\" \"one.test\")"
	  "(NIL NIL NIL NIL))" },
	/* empty group */
	{ "Undisclosed recipients:;",
	  "((NIL NIL \"Undisclosed recipients\" NIL)(NIL NIL NIL NIL))" },
	/* group followed by a mailbox */
	{ "g: a@b; c@d",
	  "((NIL NIL \"g\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL)"
	  "(NIL NIL \"c\" \"d\"))" },
	/* unterminated group is closed at the end */
	{ "g: a@b", "((NIL NIL \"g\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL))" },
	/* RFC 5322 A.5: comments everywhere, the display name wins */
	{ "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	  "((\"Pete\" NIL \"pete\" \"silly.test\"))" },
	/* a trailing comment is the name when there is no display name */
	{ "jdoe@example.org (John Doe)",
	  "((\"John Doe\" NIL \"jdoe\" \"example.org\"))" },
	/* obsolete source route */
	{ "<@a.test,@b.test:joe@c.test>",
	  "((NIL \"@a.test,@b.test\" \"joe\" \"c.test\"))" },
	/* encoded words are left as they are */
	{ "=?UTF-8?B?w6lsw6hu?= <e@x.test>",
	  "((\"=?UTF-8?B?w6lsw6hu?=\" NIL \"e\" \"x.test\"))" },
	/* quoted local part is unquoted */
	{ "\"john doe\"@example.com", "((NIL NIL \"john doe\" \"example.com\"))" },
	/* domain literal kept with its brackets */
	{ "x@[192.0.2.1]", "((NIL NIL \"x\" \"[192.0.2.1]\"))" },
	/* a lone word is a local part without domain */
	{ "root", "((NIL NIL \"root\" \"MISSING_DOMAIN\"))" },
	/* a name without an address */
	{ "John Smith", "((\"John Smith\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\"))" },
	/* the null address */
	{ "<>", "((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\"))" },
	/* semicolons used as separators */
	{ "a@b; c@d", "((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\"))" },
	/* folding inside the value */
	{ "Joe\r\n <j@x>", "((\"Joe\" NIL \"j\" \"x\"))" },
	/* unterminated angle address */
	{ "Joe <j@x", "((\"Joe\" NIL \"j\" \"x\"))" },
	/* 8-bit display name goes out as a literal */
	{ "J\xc3\xb6rg <j@x>", "(({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\"))" },
	/* empty and separator-only values have no address */
	{ "", "NIL" },
	{ " , ,; ", "NIL" },
	/* garbage between addresses is skipped */
	{ "a@b, >>> ]]], c@d", "((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\"))" },
	/* an empty quoted display name is NIL */
	{ "\"\" <a@b>", "((NIL NIL \"a\" \"b\"))" },
	/* a group inside a group is not nested */
	{ "g: h: a@b;",
	  "((NIL NIL \"g\" NIL)(NIL NIL \"h\" \"MISSING_DOMAIN\")(NIL NIL \"a\" \"b\")"
	  "(NIL NIL NIL NIL))" },
	/* unterminated quoted string and comment */
	{ "\"abc <a@b>", "((NIL NIL \"abc <a@b>\" \"MISSING_DOMAIN\"))" },
	{ "a@b (unterminated", "((\"unterminated\" NIL \"a\" \"b\"))" },
};

START_TEST(test_addresses)
{
	const struct address_case *c = &address_cases[_i];
	struct strbuf out = STRBUF_INIT;

	imap_envelope_write_addresses(&out, c->value, strlen(c->value));
	ck_assert_str_eq(out.data, c->expected);
	strbuf_free(&out);
}
END_TEST

static void count_cb(const struct imap_envelope_address *addr, void *context)
{
	unsigned int *groups = context;

	if (addr->host == NULL && addr->mailbox != NULL)
		(*groups)++;
}

/* The callback API reports group starts and the count of addresses. */
START_TEST(test_parse_callback)
{
	static const char v[] = "a@b, team: c@d, e@f;, g@h";
	unsigned int groups = 0, n;

	n = imap_envelope_parse_addresses(v, strlen(v), count_cb, &groups);
	ck_assert_uint_eq(n, 6);
	ck_assert_uint_eq(groups, 1);
}
END_TEST

/* ---- whole envelopes ---- */

struct envelope_case {
	const char *msg;
	const char *expected;
};

static const struct envelope_case envelope_cases[] = {
	/* every field present */
	{ "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
	  "From: Fred Foobar <foobar@Blurdybloop.example>\r\n"
	  "Sender: sec@example.com\r\n"
	  "Reply-To: list@example.com\r\n"
	  "Subject: afternoon meeting\r\n"
	  "To: mooch@owatagu.siam.edu.example\r\n"
	  "Cc: a@b, c@d\r\n"
	  "Bcc: e@f\r\n"
	  "In-Reply-To: <prev@host>\r\n"
	  "Message-Id: <B27397-0100000@Blurdybloop.example>\r\n"
	  "\r\nbody\r\n",
	  "(\"Mon, 7 Feb 1994 21:52:25 -0800 (PST)\" \"afternoon meeting\" "
	  "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) "
	  "((NIL NIL \"sec\" \"example.com\")) "
	  "((NIL NIL \"list\" \"example.com\")) "
	  "((NIL NIL \"mooch\" \"owatagu.siam.edu.example\")) "
	  "((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) "
	  "((NIL NIL \"e\" \"f\")) "
	  "\"<prev@host>\" \"<B27397-0100000@Blurdybloop.example>\")" },
	/* sender and reply-to default to from */
	{ "From: a@b\nSubject: s\n\n",
	  "(NIL \"s\" ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) "
	  "((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)" },
	/* present but empty sender and reply-to also default to from */
	{ "From: a@b\nSender: \nReply-To: ,\n\n",
	  "(NIL NIL ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) "
	  "((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)" },
	/* no header at all */
	{ "\nbody", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)" },
	/* empty subject is "", not NIL */
	{ "Subject:\n\n", "(NIL \"\" NIL NIL NIL NIL NIL NIL NIL NIL)" },
	/* encoded words left raw, folding removed, names case-insensitive */
	{ "SUBJECT: =?utf-8?q?caf=C3=A9?=\n =?utf-8?q?_au_lait?=\n\n",
	  "(NIL \"=?utf-8?q?caf=C3=A9?= =?utf-8?q?_au_lait?=\" NIL NIL NIL NIL NIL "
	  "NIL NIL NIL)" },
	/* quotes and backslashes in a subject are escaped */
	{ "subject: say \"hi\" \\o/\n\n",
	  "(NIL \"say \\\"hi\\\" \\\\o/\" NIL NIL NIL NIL NIL NIL NIL NIL)" },
	/* 8-bit subject is sent as a literal */
	{ "Subject: caf\xc3\xa9\n\n",
	  "(NIL {5}\r\ncaf\xc3\xa9 NIL NIL NIL NIL NIL NIL NIL NIL)" },
	/* the first of duplicate fields wins */
	{ "Subject: one\nSubject: two\n\n",
	  "(NIL \"one\" NIL NIL NIL NIL NIL NIL NIL NIL)" },
	/* group syntax in To */
	{ "To: undisclosed-recipients:;\n\n",
	  "(NIL NIL NIL NIL NIL ((NIL NIL \"undisclosed-recipients\" NIL)"
	  "(NIL NIL NIL NIL)) NIL NIL NIL NIL)" },
};

START_TEST(test_envelope)
{
	const struct envelope_case *c = &envelope_cases[_i];
	struct message_parser_result *r = message_parser_parse(c->msg, strlen(c->msg));
	struct strbuf out = STRBUF_INIT;

	imap_envelope_write(&out, c->msg, r->root);
	ck_assert_str_eq(out.data, c->expected);
	strbuf_free(&out);
	message_parser_destroy(&r);
}
END_TEST

/* The envelope of an encapsulated message comes from its own header. */
START_TEST(test_envelope_nested)
{
	static const char msg[] =
		"Subject: outer\nContent-Type: message/rfc822\n\n"
		"Subject: inner\nFrom: in@side\n\nbody\n";
	struct message_parser_result *r = message_parser_parse(msg, strlen(msg));
	struct strbuf out = STRBUF_INIT;

	ck_assert_ptr_nonnull(r->root->children);
	imap_envelope_write(&out, msg, r->root->children);
	ck_assert_str_eq(out.data,
			 "(NIL \"inner\" ((NIL NIL \"in\" \"side\")) "
			 "((NIL NIL \"in\" \"side\")) ((NIL NIL \"in\" \"side\")) "
			 "NIL NIL NIL NIL NIL)");
	strbuf_free(&out);
	message_parser_destroy(&r);
}
END_TEST

static Suite *imap_envelope_suite(void)
{
	Suite *s = suite_create("imap_envelope");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_addresses, 0,
			    sizeof(address_cases) / sizeof(address_cases[0]));
	tcase_add_test(tc, test_parse_callback);
	tcase_add_loop_test(tc, test_envelope, 0,
			    sizeof(envelope_cases) / sizeof(envelope_cases[0]));
	tcase_add_test(tc, test_envelope_nested);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imap_envelope_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
