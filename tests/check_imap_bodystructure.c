#include "autoconfig.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "mail/imap-bodystructure.h"
#include "mail/message-parser.h"

struct bs_case {
	const char *msg;
	const char *body;            /* expected BODY */
	const char *bodystructure;   /* expected BODYSTRUCTURE */
};

static const struct bs_case bs_cases[] = {
	/* simple message: defaults, 13 bytes, 1 line */
	{ "Subject: x\r\n\r\nhello world\r\n",
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 13 1)",
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 13 1 "
	  "NIL NIL NIL NIL)" },
	/* multipart/mixed with a text part and a PDF attachment */
	{ "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n"
	  "Content-Type: text/plain; charset=utf-8\r\n\r\nHi\r\n--b1\r\n"
	  "Content-Type: application/pdf; name=\"a.pdf\"\r\n"
	  "Content-Transfer-Encoding: base64\r\n"
	  "Content-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n"
	  "JVBERi0=\r\n--b1--\r\n",
	  "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 2 1)"
	  "(\"APPLICATION\" \"PDF\" (\"NAME\" \"a.pdf\") NIL NIL \"BASE64\" 8) \"MIXED\")",
	  "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 2 1 NIL NIL "
	  "NIL NIL)(\"APPLICATION\" \"PDF\" (\"NAME\" \"a.pdf\") NIL NIL \"BASE64\" 8 "
	  "NIL (\"ATTACHMENT\" (\"FILENAME\" \"a.pdf\")) NIL NIL) \"MIXED\" "
	  "(\"BOUNDARY\" \"b1\") NIL NIL NIL)" },
	/* message/rfc822: envelope, nested body, 33 bytes in 4 lines */
	{ "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
	  "Content-Type: message/rfc822\n\nFrom: x@y.z\nSubject: inner\n\nhello\n"
	  "--o--\n",
	  "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 33 (NIL \"inner\" "
	  "((NIL NIL \"x\" \"y.z\")) ((NIL NIL \"x\" \"y.z\")) ((NIL NIL \"x\" \"y.z\")) "
	  "NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
	  "\"7BIT\" 5 1) 4) \"MIXED\")",
	  "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 33 (NIL \"inner\" "
	  "((NIL NIL \"x\" \"y.z\")) ((NIL NIL \"x\" \"y.z\")) ((NIL NIL \"x\" \"y.z\")) "
	  "NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
	  "\"7BIT\" 5 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL) \"MIXED\" "
	  "(\"BOUNDARY\" \"o\") NIL NIL NIL)" },
	/* a multipart without parts gets one empty text/plain part */
	{ "Content-Type: multipart/mixed; boundary=zz\n\nnothing\n",
	  "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0) \"MIXED\")",
	  "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0 NIL NIL "
	  "NIL NIL) \"MIXED\" (\"BOUNDARY\" \"zz\") NIL NIL NIL)" },
	/* every single-part field and extension */
	{ "Content-Type: text/html; charset=utf-8\nContent-ID: <c@d>\n"
	  "Content-Description: Desc\nContent-Transfer-Encoding: Quoted-Printable\n"
	  "Content-MD5: bWQ1\nContent-Disposition: inline\n"
	  "Content-Language: en, fr\nContent-Location: page.html\n\n<p>\n",
	  "(\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") \"<c@d>\" \"Desc\" "
	  "\"QUOTED-PRINTABLE\" 4 1)",
	  "(\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") \"<c@d>\" \"Desc\" "
	  "\"QUOTED-PRINTABLE\" 4 1 \"bWQ1\" (\"INLINE\" NIL) (\"en\" \"fr\") "
	  "\"page.html\")" },
	/* multipart extension data: parameters, disposition, language, location */
	{ "Content-Type: multipart/alternative; boundary=a; x=y\n"
	  "Content-Disposition: inline\nContent-Language: de\n"
	  "Content-Location: http://l\n\n--a\n\nq\n--a--\n",
	  "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1 1) "
	  "\"ALTERNATIVE\")",
	  "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1 1 NIL NIL "
	  "NIL NIL) \"ALTERNATIVE\" (\"BOUNDARY\" \"a\" \"X\" \"y\") (\"INLINE\" NIL) "
	  "\"de\" \"http://l\")" },
	/* a basic type without parameters and without a line count */
	{ "Content-Type: image/gif\nContent-Transfer-Encoding: base64\n\nR0lG\n",
	  "(\"IMAGE\" \"GIF\" NIL NIL NIL \"BASE64\" 5)",
	  "(\"IMAGE\" \"GIF\" NIL NIL NIL \"BASE64\" 5 NIL NIL NIL NIL)" },
	/* an 8-bit parameter value goes out as a literal */
	{ "Content-Type: application/octet-stream; name=\"caf\xc3\xa9\"\n\nx",
	  "(\"APPLICATION\" \"OCTET-STREAM\" (\"NAME\" {5}\r\ncaf\xc3\xa9) NIL NIL "
	  "\"7BIT\" 1)",
	  "(\"APPLICATION\" \"OCTET-STREAM\" (\"NAME\" {5}\r\ncaf\xc3\xa9) NIL NIL "
	  "\"7BIT\" 1 NIL NIL NIL NIL)" },
	/* a multipart without boundary is described as text/plain */
	{ "Content-Type: multipart/mixed\nContent-Disposition: attachment\n\nxx\n",
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3 1)",
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3 1 NIL "
	  "(\"ATTACHMENT\" NIL) NIL NIL)" },
	/* the empty message */
	{ "",
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0)",
	  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0 NIL NIL "
	  "NIL NIL)" },
	/* a message/rfc822 part whose header was cut: empty envelope and body */
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	  "Content-Type: message/rfc822\n--b--\n",
	  "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 0 (NIL NIL NIL NIL NIL NIL NIL "
	  "NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
	  "0 0) 0) \"MIXED\")",
	  "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 0 (NIL NIL NIL NIL NIL NIL NIL "
	  "NIL NIL NIL) (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" "
	  "0 0 NIL NIL NIL NIL) 0 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b\") NIL "
	  "NIL NIL)" },
	/* RFC 2231 parameters come out joined, extended ones under NAME* */
	{ "Content-Type: application/x-stuff; a*0=\"x\"; a*1=\"y\";\n"
	  " b*=utf-8''%E2%82%AC\n\nz",
	  "(\"APPLICATION\" \"X-STUFF\" (\"A\" \"xy\" \"B*\" \"utf-8''%E2%82%AC\") NIL "
	  "NIL \"7BIT\" 1)",
	  "(\"APPLICATION\" \"X-STUFF\" (\"A\" \"xy\" \"B*\" \"utf-8''%E2%82%AC\") NIL "
	  "NIL \"7BIT\" 1 NIL NIL NIL NIL)" },
};

START_TEST(test_bodystructure)
{
	const struct bs_case *c = &bs_cases[_i];
	struct message_parser_result *r = message_parser_parse(c->msg, strlen(c->msg));
	struct strbuf out = STRBUF_INIT;

	imap_bodystructure_write(&out, c->msg, r->root, false);
	ck_assert_str_eq(out.data, c->body);
	strbuf_reset(&out);
	imap_bodystructure_write(&out, c->msg, r->root, true);
	ck_assert_str_eq(out.data, c->bodystructure);
	strbuf_free(&out);
	message_parser_destroy(&r);
}
END_TEST

/* Parentheses stay balanced outside strings for a deeply nested message. */
START_TEST(test_bodystructure_deep_balanced)
{
	struct strbuf msg = STRBUF_INIT, out = STRBUF_INIT;
	struct message_parser_result *r;
	unsigned int i;
	int depth = 0, max = 0;
	bool in_quote = false;
	size_t k;

	for (i = 0; i < 500; i++)
		strbuf_appendf(&msg, "Content-Type: multipart/mixed; boundary=\"q%04u\"\n"
			       "\n--q%04u\nContent-Type: message/rfc822\n\n", i, i);
	r = message_parser_parse(msg.data, msg.len);
	imap_bodystructure_write(&out, msg.data, r->root, true);
	for (k = 0; k < out.len; k++) {
		char c = out.data[k];

		if (in_quote && c == '\\')
			k++;
		else if (c == '"')
			in_quote = !in_quote;
		else if (!in_quote && c == '(' && ++depth > max)
			max = depth;
		else if (!in_quote && c == ')')
			depth--;
		ck_assert_int_ge(depth, 0);
	}
	ck_assert_int_eq(depth, 0);
	ck_assert(!in_quote);
	ck_assert_int_lt(max, 3 * MESSAGE_PARSER_MAX_DEPTH);
	message_parser_destroy(&r);
	strbuf_free(&msg);
	strbuf_free(&out);
}
END_TEST

static Suite *imap_bodystructure_suite(void)
{
	Suite *s = suite_create("imap_bodystructure");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_bodystructure, 0,
			    sizeof(bs_cases) / sizeof(bs_cases[0]));
	tcase_add_test(tc, test_bodystructure_deep_balanced);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imap_bodystructure_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
