#include "autoconfig.h"
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "strbuf.h"
#include "mail/charset.h"
#include "mail/mutf7.h"

/* Names valid in both directions: mutf7 <-> utf8. */
static const struct {
	const char *mutf7;
	const char *utf8;
} valid_cases[] = {
	/* RFC 3501 5.1.3's example: "~peter/mail/台北/日本語" */
	{ "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
	  "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
	/* plain ASCII passes through */
	{ "INBOX.Sent Items", "INBOX.Sent Items" },
	/* the empty name */
	{ "", "" },
	/* '&' is "&-" */
	{ "&-", "&" },
	/* '&' inside a name */
	{ "a&-b", "a&b" },
	/* a run inside a word: "Entwürfe" */
	{ "Entw&APw-rfe", "Entw\xc3\xbcrfe" },
	/* several runs separated by direct characters, and a direct '&' */
	{ "&ANw-n&AO8-c&APY-d&AOk- &- more",
	  "\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 & more" },
	/* a surrogate pair: U+1F600 */
	{ "a&2D3eAA-b", "a\xf0\x9f\x98\x80" "b" },
	/* a run followed by "&-" is canonical ("日本語&") */
	{ "&ZeVnLIqe-&-", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e&" },
	/* "&-" followed by a run ("&é") */
	{ "&-&AOk-", "&\xc3\xa9" },
	/* a run followed by a literal '-' ("é-") */
	{ "&AOk--", "\xc3\xa9-" },
	/* two 16-bit units: 32 bits in 6 characters, 4 zero padding bits */
	{ "&AOkA6Q-", "\xc3\xa9\xc3\xa9" },
	/* Greek, 8 units: 128 bits in 22 characters */
	{ "&A5UDuwO7A7cDvQO5A7oDrA-",
	  "\xce\x95\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac" },
	/* control characters are encoded, not direct */
	{ "&AAE-", "\x01" },
	/* DEL (0x7f) is encoded */
	{ "&AH8-", "\x7f" },
};

/* Modified UTF-7 that mutf7_to_utf8() must reject, one per class. */
static const struct {
	const char *in;
	size_t len; /* 0: strlen(in) */
} invalid_mutf7[] = {
	/* printable ASCII 'a' encoded in a run (must be direct) */
	{ "&AGE-", 0 },
	/* '&' encoded in a run (must be "&-") */
	{ "&ACY-", 0 },
	/* U+0000 encoded */
	{ "&AAA-", 0 },
	/* unpaired high surrogate at the end of the run */
	{ "&2D0-", 0 },
	/* unpaired low surrogate */
	{ "&3gA-", 0 },
	/* high surrogate followed by a non-surrogate */
	{ "&2D0A6Q-", 0 },
	/* unterminated run */
	{ "&AOk", 0 },
	/* unterminated run at the end of a longer name */
	{ "INBOX/&U,BTFw", 0 },
	/* a lone '&' at the end */
	{ "abc&", 0 },
	/* '/' is not in the modified BASE64 alphabet */
	{ "&AO/-", 0 },
	/* '=' padding is not allowed */
	{ "&AOk=-", 0 },
	/* '&' inside a run */
	{ "&&-", 0 },
	/* a superfluous character: 24 bits for one 16-bit unit */
	{ "&AOkA-", 0 },
	/* a run of one character holds no unit at all */
	{ "&A-", 0 },
	/* non-zero padding bits ('l' instead of 'k') */
	{ "&AOl-", 0 },
	/* two runs in a row must be one run */
	{ "&AOk-&AOk-", 0 },
	/* raw 8-bit UTF-8 is not modified UTF-7 */
	{ "caf\xc3\xa9", 0 },
	/* a raw control character */
	{ "a\x01" "b", 0 },
	/* a raw DEL */
	{ "a\x7f", 0 },
	/* a raw NUL */
	{ "a\0b", 3 },
};

/* UTF-8 that utf8_to_mutf7() must reject. */
static const struct {
	const char *in;
	size_t len; /* 0: strlen(in) */
} invalid_utf8[] = {
	/* overlong '/' (2 bytes) */
	{ "\xc0\xaf", 0 },
	/* overlong '/' (3 bytes) */
	{ "\xe0\x80\xaf", 0 },
	/* overlong U+FFFF (4 bytes) */
	{ "\xf0\x8f\xbf\xbf", 0 },
	/* UTF-16 surrogate U+D800 */
	{ "\xed\xa0\x80", 0 },
	/* UTF-16 surrogate U+DFFF */
	{ "\xed\xbf\xbf", 0 },
	/* U+110000, above the Unicode range */
	{ "\xf4\x90\x80\x80", 0 },
	/* 0xF5 lead byte */
	{ "\xf5\x80\x80\x80", 0 },
	/* truncated 3-byte sequence at the end */
	{ "ab\xe6\x97", 0 },
	/* stray continuation byte */
	{ "a\x80", 0 },
	/* lead byte followed by ASCII */
	{ "\xc3(", 0 },
	/* 0xFF never appears in UTF-8 */
	{ "\xff", 0 },
	/* NUL */
	{ "a\0b", 3 },
};

static size_t case_len(const char *s, size_t len)
{
	return len != 0 ? len : strlen(s);
}

START_TEST(test_decode_valid)
{
	struct strbuf out = STRBUF_INIT;
	const char *error = NULL;
	const char *in = valid_cases[_i].mutf7;

	strbuf_appends(&out, "prefix:");
	ck_assert_int_eq(mutf7_to_utf8(in, strlen(in), &out, &error), 0);
	ck_assert_str_eq(out.data + 7, valid_cases[_i].utf8);
	ck_assert_int_eq(mutf7_is_valid(in, strlen(in)), 1);
	strbuf_free(&out);
}
END_TEST

START_TEST(test_encode_valid)
{
	struct strbuf out = STRBUF_INIT;
	const char *error = NULL;
	const char *in = valid_cases[_i].utf8;

	ck_assert_int_eq(utf8_to_mutf7(in, strlen(in), &out, &error), 0);
	ck_assert_str_eq(out.len > 0 ? out.data : "", valid_cases[_i].mutf7);
	strbuf_free(&out);
}
END_TEST

START_TEST(test_decode_invalid)
{
	struct strbuf out = STRBUF_INIT;
	const char *error = NULL;
	const char *in = invalid_mutf7[_i].in;
	size_t len = case_len(in, invalid_mutf7[_i].len);

	strbuf_appends(&out, "keep");
	ck_assert_int_eq(mutf7_to_utf8(in, len, &out, &error), -1);
	ck_assert_ptr_nonnull(error);
	ck_assert(strncmp(error, "mutf7: ", 7) == 0);
	/* the output is left as it was */
	ck_assert_uint_eq(out.len, 4);
	ck_assert_str_eq(out.data, "keep");
	ck_assert_int_eq(mutf7_is_valid(in, len), 0);
	strbuf_free(&out);
}
END_TEST

START_TEST(test_encode_invalid)
{
	struct strbuf out = STRBUF_INIT;
	const char *error = NULL;
	const char *in = invalid_utf8[_i].in;

	strbuf_appends(&out, "keep");
	ck_assert_int_eq(utf8_to_mutf7(in, case_len(in, invalid_utf8[_i].len),
				       &out, &error), -1);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(out.data, "keep");
	strbuf_free(&out);
}
END_TEST

/* A fixed-seed generator, so failures reproduce. */
static uint32_t rng_next(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

/* A random scalar value, mixing printable ASCII (with '&'), controls, and
   2-, 3- and 4-byte UTF-8. */
static uint32_t random_char(uint32_t *state)
{
	uint32_t cp;

	switch (rng_next(state) % 6) {
	case 0:
		return rng_next(state) % 2 ? '&' : 0x20 + rng_next(state) % 95;
	case 1:
		return 0x20 + rng_next(state) % 95;
	case 2:
		cp = rng_next(state) % 33;
		return cp == 0 ? 0x7f : cp; /* 0x01..0x1f, 0x7f; never NUL */
	case 3:
		return 0x80 + rng_next(state) % (0x800 - 0x80);
	case 4:
		do
			cp = 0x800 + rng_next(state) % (0x10000 - 0x800);
		while (cp >= 0xD800 && cp <= 0xDFFF);
		return cp;
	default:
		return 0x10000 + rng_next(state) % (0x110000 - 0x10000);
	}
}

START_TEST(test_random_round_trip)
{
	uint32_t state = 20240611;
	int n;

	for (n = 0; n < 2000; n++) {
		struct strbuf utf8 = STRBUF_INIT, mutf7 = STRBUF_INIT;
		struct strbuf back = STRBUF_INIT;
		const char *error = NULL;
		size_t i, chars = rng_next(&state) % 24;

		for (i = 0; i < chars; i++)
			charset_utf8_append(&utf8, random_char(&state));
		strbuf_appends(&utf8, ""); /* allocate even when empty */
		ck_assert_int_eq(utf8_to_mutf7(utf8.data, utf8.len, &mutf7, &error), 0);
		strbuf_appends(&mutf7, "");
		for (i = 0; i < mutf7.len; i++)
			ck_assert(mutf7.data[i] >= 0x20 && mutf7.data[i] <= 0x7e);
		ck_assert_int_eq(mutf7_is_valid(mutf7.data, mutf7.len), 1);
		ck_assert_int_eq(mutf7_to_utf8(mutf7.data, mutf7.len, &back, &error), 0);
		strbuf_appends(&back, "");
		ck_assert_uint_eq(back.len, utf8.len);
		ck_assert(memcmp(back.data, utf8.data, utf8.len) == 0);
		strbuf_free(&utf8);
		strbuf_free(&mutf7);
		strbuf_free(&back);
	}
}
END_TEST

/* Every strictly valid input re-encodes to itself: checked over all
   printable strings of up to 4 characters from a small alphabet. */
START_TEST(test_canonical_exhaustive)
{
	static const char alphabet[] = "&-AOkl,/";
	size_t nalpha = strlen(alphabet), total = 1, n, k;
	char in[8];

	for (k = 0; k < 5; k++, total *= nalpha) {
		for (n = 0; n < total; n++) {
			struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
			size_t v = n, i;

			for (i = 0; i < k; i++, v /= nalpha)
				in[i] = alphabet[v % nalpha];
			if (mutf7_to_utf8(in, k, &a, NULL) == 0) {
				strbuf_appends(&a, "");
				ck_assert_int_eq(utf8_to_mutf7(a.data, a.len, &b, NULL), 0);
				strbuf_appends(&b, "");
				ck_assert_uint_eq(b.len, k);
				ck_assert(memcmp(b.data, in, k) == 0);
			}
			strbuf_free(&a);
			strbuf_free(&b);
		}
	}
}
END_TEST

static Suite *mutf7_suite(void)
{
	Suite *s = suite_create("mutf7");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_decode_valid, 0,
			    sizeof(valid_cases) / sizeof(valid_cases[0]));
	tcase_add_loop_test(tc, test_encode_valid, 0,
			    sizeof(valid_cases) / sizeof(valid_cases[0]));
	tcase_add_loop_test(tc, test_decode_invalid, 0,
			    sizeof(invalid_mutf7) / sizeof(invalid_mutf7[0]));
	tcase_add_loop_test(tc, test_encode_invalid, 0,
			    sizeof(invalid_utf8) / sizeof(invalid_utf8[0]));
	tcase_add_test(tc, test_random_round_trip);
	tcase_add_test(tc, test_canonical_exhaustive);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mutf7_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? 1 : 0;
}
