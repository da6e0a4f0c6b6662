#include "autoconfig.h"
#include <check.h>
#include <pthread.h>
#include <string.h>
#include "strbuf.h"
#include "mail/charset.h"
#include "mail/transfer-decode.h"

/* The suites for transfer-decode and for charset, the two steps that turn
 * a MIME body into UTF-8 text. */

struct decode_case {
	const char *in;
	const char *out;
	size_t out_len; /* 0: strlen(out) */
};

static const struct decode_case base64_cases[] = {
	/* padded */
	{ "SGVsbG8=", "Hello", 0 },
	/* padding missing: the final group still yields its bytes */
	{ "SGVsbG8", "Hello", 0 },
	/* CRLF line breaks inside the data */
	{ "SGVs\r\nbG8=\r\n", "Hello", 0 },
	/* spaces and tabs are skipped */
	{ " SG Vs\tbG8=", "Hello", 0 },
	/* characters outside the alphabet are skipped */
	{ "SGVs*bG8!=", "Hello", 0 },
	/* decoding stops at the first '=' */
	{ "SGVsbG8=SGVsbG8=", "Hello", 0 },
	/* one byte, two '=' */
	{ "QQ==", "A", 0 },
	/* two bytes, one '=' */
	{ "QUI=", "AB", 0 },
	/* a single character holds no whole byte */
	{ "Q", "", 0 },
	/* empty input */
	{ "", "", 0 },
	/* binary output with NUL bytes */
	{ "AP8A", "\0\xff\0", 3 },
	/* '/' and '+' */
	{ "////+++/", "\xff\xff\xff\xfb\xef\xbf", 0 },
	/* the URL-safe alphabet's '-' and '_' are not base64 here */
	{ "QU-_JD", "ABC", 0 },
	/* a long line (76 characters, RFC 2045's maximum) */
	{ "VGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIHRoZSBsYXp5IGRvZyB0d2ljZSB0b2RheS4=",
	  "The quick brown fox jumps over the lazy dog twice today.", 0 },
};

static const struct decode_case qp_cases[] = {
	/* plain text */
	{ "abc", "abc", 0 },
	/* hex escapes */
	{ "caf=C3=A9", "caf\xc3\xa9", 0 },
	/* lower-case hex is accepted */
	{ "caf=c3=a9", "caf\xc3\xa9", 0 },
	/* "=3D" is '=' */
	{ "a=3Db", "a=b", 0 },
	/* "=00" is a NUL byte */
	{ "a=00b", "a\0b", 3 },
	/* soft line break with CRLF */
	{ "soft=\r\nbreak", "softbreak", 0 },
	/* soft line break with bare LF */
	{ "soft=\nbreak", "softbreak", 0 },
	/* blanks after the '=' of a soft line break */
	{ "soft= \t\r\nbreak", "softbreak", 0 },
	/* a blank before a soft break is data */
	{ "x =\r\ny", "x y", 0 },
	/* '=' at the very end: soft break, no final newline */
	{ "end=", "end", 0 },
	/* '=' and blanks at the very end */
	{ "end= ", "end", 0 },
	/* invalid escape kept literally */
	{ "a=ZZb", "a=ZZb", 0 },
	/* half-invalid escape kept literally */
	{ "a=4xb", "a=4xb", 0 },
	/* escape truncated by the end of input kept literally */
	{ "a=4", "a=4", 0 },
	/* '=' before a bare CR is not a soft break */
	{ "a=\rb", "a=\rb", 0 },
	/* trailing blanks before CRLF dropped */
	{ "trailing  \t\r\nnext", "trailing\r\nnext", 0 },
	/* trailing blanks before LF dropped */
	{ "tab\t\nx", "tab\nx", 0 },
	/* trailing blanks at the end of input dropped */
	{ "trail  ", "trail", 0 },
	/* blanks inside a line kept */
	{ "in the \t middle", "in the \t middle", 0 },
	/* hard line breaks kept as they are */
	{ "line1\r\nline2\nline3", "line1\r\nline2\nline3", 0 },
	/* 8-bit bytes that should have been encoded pass through */
	{ "caf\xe9", "caf\xe9", 0 },
	/* empty input */
	{ "", "", 0 },
};

static const struct {
	const char *encoding;
	const char *in;
	int ret;
	const char *out;
} dispatch_cases[] = {
	/* base64, lower case */
	{ "base64", "SGk=", 0, "Hi" },
	/* names are case-insensitive */
	{ "BASE64", "SGk=", 0, "Hi" },
	/* surrounding whitespace ignored */
	{ " Base64\t", "SGk=", 0, "Hi" },
	/* quoted-printable */
	{ "quoted-printable", "H=69", 0, "Hi" },
	/* quoted-printable, mixed case */
	{ "Quoted-Printable", "H=69", 0, "Hi" },
	/* 7bit passes through */
	{ "7bit", "H=69", 0, "H=69" },
	/* 8bit passes through */
	{ "8BIT", "caf\xc3\xa9", 0, "caf\xc3\xa9" },
	/* binary passes through */
	{ "binary", "SGk=", 0, "SGk=" },
	/* no header: the RFC 2045 default, 7bit */
	{ NULL, "SGk=", 0, "SGk=" },
	/* empty value: 7bit */
	{ "", "SGk=", 0, "SGk=" },
	/* unknown encodings fail */
	{ "x-uuencode", "begin", -1, NULL },
	/* a near miss is unknown too */
	{ "base-64", "SGk=", -1, NULL },
};

static void check_output(const struct strbuf *out, const struct decode_case *c)
{
	size_t len = c->out_len != 0 ? c->out_len : strlen(c->out);

	ck_assert_uint_eq(out->len, len);
	if (len > 0)
		ck_assert(memcmp(out->data, c->out, len) == 0);
	if (out->data != NULL)
		ck_assert_int_eq(out->data[out->len], '\0');
}

START_TEST(test_base64)
{
	struct strbuf out = STRBUF_INIT;
	const struct decode_case *c = &base64_cases[_i];

	transfer_decode_base64(c->in, strlen(c->in), &out);
	check_output(&out, c);
	strbuf_free(&out);
}
END_TEST

START_TEST(test_qp)
{
	struct strbuf out = STRBUF_INIT;
	const struct decode_case *c = &qp_cases[_i];

	transfer_decode_qp(c->in, strlen(c->in), &out);
	check_output(&out, c);
	strbuf_free(&out);
}
END_TEST

START_TEST(test_dispatch)
{
	struct strbuf out = STRBUF_INIT;
	const char *error = NULL;
	const char *in = dispatch_cases[_i].in;

	strbuf_appends(&out, ">");
	ck_assert_int_eq(transfer_decode(dispatch_cases[_i].encoding, in,
					 strlen(in), &out, &error),
			 dispatch_cases[_i].ret);
	if (dispatch_cases[_i].ret == 0) {
		ck_assert_str_eq(out.data + 1, dispatch_cases[_i].out);
	} else {
		ck_assert_str_eq(out.data, ">");
		ck_assert_ptr_nonnull(strstr(error, dispatch_cases[_i].encoding));
	}
	strbuf_free(&out);
}
END_TEST

/* A body appended to existing output keeps what was there. */
START_TEST(test_appends)
{
	struct strbuf out = STRBUF_INIT;

	strbuf_appends(&out, "A:");
	transfer_decode_base64("Qg==", 4, &out);
	transfer_decode_qp("=43", 3, &out);
	ck_assert_str_eq(out.data, "A:BC");
	strbuf_free(&out);
}
END_TEST

static Suite *transfer_decode_suite(void)
{
	Suite *s = suite_create("transfer-decode");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_base64, 0,
			    sizeof(base64_cases) / sizeof(base64_cases[0]));
	tcase_add_loop_test(tc, test_qp, 0, sizeof(qp_cases) / sizeof(qp_cases[0]));
	tcase_add_loop_test(tc, test_dispatch, 0,
			    sizeof(dispatch_cases) / sizeof(dispatch_cases[0]));
	tcase_add_test(tc, test_appends);
	suite_add_tcase(s, tc);
	return s;
}

/* ---- charset ---- */

static const struct {
	const char *charset;
	const char *in;
	size_t in_len; /* 0: strlen(in) */
	const char *out;
} charset_cases[] = {
	/* ISO-8859-1: é */
	{ "iso-8859-1", "caf\xe9", 0, "caf\xc3\xa9" },
	/* ISO-8859-1 maps 0x80 to U+0080, not to the euro sign */
	{ "ISO-8859-1", "\x80", 0, "\xc2\x80" },
	/* the latin1 alias, 0xFF */
	{ "latin1", "\xff", 0, "\xc3\xbf" },
	/* windows-1252: 0x80 is the euro sign */
	{ "windows-1252", "\x80", 0, "\xe2\x82\xac" },
	/* windows-1252: curly quotes */
	{ "Windows-1252", "\x93quoted\x94", 0, "\xe2\x80\x9cquoted\xe2\x80\x9d" },
	/* windows-1252: 0x81 is unassigned, replaced by U+FFFD */
	{ "windows-1252", "a\x81" "b", 0, "a\xef\xbf\xbd" "b" },
	/* KOI8-R: "Привет" */
	{ "koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", 0,
	  "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
	/* ISO-2022-JP, a stateful encoding: "こんにちは" */
	{ "iso-2022-jp", "\x1b$B$3$s$K$A$O\x1b(B", 0,
	  "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf" },
	/* Shift_JIS: "あ" */
	{ "shift_jis", "\x82\xa0", 0, "\xe3\x81\x82" },
	/* GB2312 with its last character cut: one U+FFFD */
	{ "gb2312", "\xd6\xd0\xce", 0, "\xe4\xb8\xad\xef\xbf\xbd" },
	/* ks_c_5601-1987 is Microsoft's name for CP949: "한국" */
	{ "ks_c_5601-1987", "\xc7\xd1\xb1\xb9", 0, "\xed\x95\x9c\xea\xb5\xad" },
	/* UTF-8, valid: unchanged */
	{ "utf-8", "\xe6\x97\xa5 ok", 0, "\xe6\x97\xa5 ok" },
	/* UTF-8 with an invalid byte */
	{ "UTF-8", "a\xff" "b", 0, "a\xef\xbf\xbd" "b" },
	/* UTF-8 cut in the middle of a character: one U+FFFD */
	{ "utf-8", "ab\xe6\x97", 0, "ab\xef\xbf\xbd" },
	/* UTF-8 surrogate: each byte is a maximal subpart of its own */
	{ "utf8", "\xed\xa0\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	/* UTF-8 overlong '/' */
	{ "utf-8", "\xc0\xaf", 0, "\xef\xbf\xbd\xef\xbf\xbd" },
	/* UTF-8 NUL is a character */
	{ "utf-8", "a\0b", 3, "a" },
	/* US-ASCII is read as UTF-8: 8-bit UTF-8 in it survives */
	{ "us-ascii", "caf\xc3\xa9", 0, "caf\xc3\xa9" },
	/* US-ASCII with a stray 8-bit byte */
	{ "US-ASCII", "caf\xe9", 0, "caf\xef\xbf\xbd" },
	/* empty input */
	{ "koi8-r", "", 0, "" },
};

START_TEST(test_charset_convert)
{
	struct strbuf out = STRBUF_INIT;
	const char *error = NULL, *in = charset_cases[_i].in;
	size_t in_len = charset_cases[_i].in_len != 0 ?
			charset_cases[_i].in_len : strlen(in);

	strbuf_appends(&out, ">");
	ck_assert_int_eq(charset_to_utf8(charset_cases[_i].charset, in, in_len,
					 &out, &error), 0);
	ck_assert_str_eq(out.data + 1, charset_cases[_i].out);
	ck_assert_int_eq(charset_utf8_is_valid(out.data, out.len), 1);
	if (charset_cases[_i].in_len != 0)
		ck_assert_uint_eq(out.len, 1 + in_len);
	strbuf_free(&out);
}
END_TEST

static const struct {
	const char *name;
	int known;
} charset_names[] = {
	/* the UTF-8 fast path */
	{ "utf-8", 1 },
	/* US-ASCII, upper case */
	{ "US-ASCII", 1 },
	/* ISO-8859-1 fast path */
	{ "ISO-8859-1", 1 },
	/* through iconv */
	{ "koi8-r", 1 },
	/* through iconv, mixed case */
	{ "Windows-1252", 1 },
	/* an alias of ours */
	{ "ks_c_5601-1987", 1 },
	/* unknown */
	{ "x-unknown-charset", 0 },
	/* glibc suffixes are not charset names */
	{ "utf-8//TRANSLIT", 0 },
	/* neither are paths */
	{ "../../etc/passwd", 0 },
	/* empty */
	{ "", 0 },
	/* whitespace */
	{ "utf 8", 0 },
	/* over 64 characters */
	{ "iso-8859-1-iso-8859-1-iso-8859-1-iso-8859-1-iso-8859-1-iso-8859-1-x", 0 },
};

START_TEST(test_charset_known)
{
	ck_assert_int_eq(charset_is_known(charset_names[_i].name),
			 charset_names[_i].known);
	/* asking twice answers from the cache, the same way */
	ck_assert_int_eq(charset_is_known(charset_names[_i].name),
			 charset_names[_i].known);
}
END_TEST

START_TEST(test_charset_unknown)
{
	struct strbuf out = STRBUF_INIT;
	const char *error = NULL;

	if (charset_names[_i].known)
		return;
	strbuf_appends(&out, "keep");
	ck_assert_int_eq(charset_to_utf8(charset_names[_i].name, "abc", 3, &out,
					 &error), -1);
	ck_assert_ptr_nonnull(error);
	ck_assert(strncmp(error, "charset: ", 9) == 0);
	ck_assert_str_eq(out.data, "keep");
	strbuf_free(&out);
}
END_TEST

/* No charset at all is RFC 2045's default, us-ascii. */
START_TEST(test_charset_null)
{
	struct strbuf out = STRBUF_INIT;

	ck_assert_int_eq(charset_to_utf8(NULL, "a\xc3\xa9\xff", 4, &out, NULL), 0);
	ck_assert_str_eq(out.data, "a\xc3\xa9\xef\xbf\xbd");
	ck_assert_int_eq(charset_is_known(NULL), 0);
	strbuf_free(&out);
}
END_TEST

/* More charsets than the cache holds, twice over, convert correctly. */
START_TEST(test_charset_cache_cycle)
{
	static const char *const names[] = {
		"koi8-r", "koi8-u", "iso-8859-2", "iso-8859-5", "iso-8859-7",
		"iso-8859-15", "windows-1250", "windows-1251", "windows-1253",
		"cp866", "mac",
	};
	size_t round, i;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			struct strbuf out = STRBUF_INIT;

			ck_assert_int_eq(charset_to_utf8(names[i], "plain", 5, &out,
							 NULL), 0);
			ck_assert_str_eq(out.data, "plain");
			strbuf_free(&out);
		}
	}
	charset_thread_deinit();
	charset_thread_deinit(); /* twice is harmless */
}
END_TEST

/* Threads converting at once each use their own iconv descriptors (and
   free them when they end). */
static void *charset_thread(void *arg)
{
	size_t i, j, ncases = sizeof(charset_cases) / sizeof(charset_cases[0]);

	(void)arg;
	for (i = 0; i < 200; i++) {
		for (j = 0; j < ncases; j++) {
			struct strbuf out = STRBUF_INIT;
			const char *in = charset_cases[j].in;
			size_t len = charset_cases[j].in_len != 0 ?
				     charset_cases[j].in_len : strlen(in);

			if (charset_to_utf8(charset_cases[j].charset, in, len, &out,
					    NULL) < 0 ||
			    strcmp(out.len > 0 ? out.data : "", charset_cases[j].out) != 0)
				return (void *)1;
			strbuf_free(&out);
		}
	}
	return NULL;
}

START_TEST(test_charset_threads)
{
	pthread_t threads[4];
	size_t i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL, charset_thread,
						NULL), 0);
	for (i = 0; i < 4; i++) {
		void *ret = (void *)1;

		ck_assert_int_eq(pthread_join(threads[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
}
END_TEST

static const struct {
	const char *in;
	uint32_t cp;
	size_t used;
} utf8_decode_cases[] = {
	/* ASCII */
	{ "A", 'A', 1 },
	/* 2 bytes */
	{ "\xc3\xa9", 0xe9, 2 },
	/* 3 bytes */
	{ "\xe2\x82\xac", 0x20ac, 3 },
	/* 4 bytes, the last code point */
	{ "\xf4\x8f\xbf\xbf", 0x10ffff, 4 },
	/* cut after 2 of 3 bytes */
	{ "\xe2\x82", CHARSET_UTF8_SHORT, 2 },
	/* lead byte then ASCII: the maximal subpart is the lead byte */
	{ "\xe2(", CHARSET_UTF8_BAD, 1 },
	/* a continuation byte alone */
	{ "\x80", CHARSET_UTF8_BAD, 1 },
	/* overlong 3-byte form: E0 needs A0..BF next */
	{ "\xe0\x9f\xbf", CHARSET_UTF8_BAD, 1 },
	/* surrogate: ED needs 80..9F next */
	{ "\xed\xa0\x80", CHARSET_UTF8_BAD, 1 },
	/* third byte bad: the first two are the maximal subpart */
	{ "\xe2\x82(", CHARSET_UTF8_BAD, 2 },
};

START_TEST(test_utf8_decode)
{
	uint32_t cp = 0;
	const char *in = utf8_decode_cases[_i].in;

	ck_assert_uint_eq(charset_utf8_decode(in, strlen(in), &cp),
			  utf8_decode_cases[_i].used);
	ck_assert_uint_eq(cp, utf8_decode_cases[_i].cp);
}
END_TEST

static Suite *charset_suite(void)
{
	Suite *s = suite_create("charset");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_charset_convert, 0,
			    sizeof(charset_cases) / sizeof(charset_cases[0]));
	tcase_add_loop_test(tc, test_charset_known, 0,
			    sizeof(charset_names) / sizeof(charset_names[0]));
	tcase_add_loop_test(tc, test_charset_unknown, 0,
			    sizeof(charset_names) / sizeof(charset_names[0]));
	tcase_add_test(tc, test_charset_cache_cycle);
	tcase_add_test(tc, test_charset_threads);
	tcase_add_test(tc, test_charset_null);
	tcase_add_loop_test(tc, test_utf8_decode, 0,
			    sizeof(utf8_decode_cases) / sizeof(utf8_decode_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(transfer_decode_suite());
	int failed;

	srunner_add_suite(sr, charset_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? 1 : 0;
}
