#include "autoconfig.h"
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "strbuf.h"
#include "mail/text-match.h"

static const struct {
	uint32_t cp;
	uint32_t folded;
} fold_cases[] = {
	/* ASCII upper case */
	{ 'A', 'a' },
	/* ASCII upper case, last letter */
	{ 'Z', 'z' },
	/* '@' and '[' border the letters and stay */
	{ '@', '@' },
	/* '[' */
	{ '[', '[' },
	/* lower case stays */
	{ 'q', 'q' },
	/* Latin-1: Ä */
	{ 0xC4, 0xE4 },
	/* Latin-1: Þ */
	{ 0xDE, 0xFE },
	/* Latin-1: the multiplication sign is not a letter */
	{ 0xD7, 0xD7 },
	/* ß has no simple folding */
	{ 0xDF, 0xDF },
	/* micro sign folds to Greek mu */
	{ 0xB5, 0x3BC },
	/* Latin Extended-A: Ā */
	{ 0x100, 0x101 },
	/* Latin Extended-A: Ł (odd/even pairs) */
	{ 0x141, 0x142 },
	/* Latin Extended-A: Ÿ folds back into Latin-1 */
	{ 0x178, 0xFF },
	/* long s folds to s */
	{ 0x17F, 's' },
	/* İ has only a full (two-character) folding: it stays */
	{ 0x130, 0x130 },
	/* titlecase Dž and upper case DŽ fold to dž */
	{ 0x1C5, 0x1C6 },
	/* DŽ */
	{ 0x1C4, 0x1C6 },
	/* Ⱥ folds to a 3-byte character */
	{ 0x23A, 0x2C65 },
	/* Greek: Σ */
	{ 0x3A3, 0x3C3 },
	/* Greek: final sigma folds to σ */
	{ 0x3C2, 0x3C3 },
	/* Greek: Ά */
	{ 0x386, 0x3AC },
	/* Cyrillic: Ж */
	{ 0x416, 0x436 },
	/* Cyrillic: Ё */
	{ 0x401, 0x451 },
	/* Armenian: Ա */
	{ 0x531, 0x561 },
	/* Latin Extended Additional: Ḁ (binary-searched runs) */
	{ 0x1E00, 0x1E01 },
	/* capital sharp s folds to ß */
	{ 0x1E9E, 0xDF },
	/* Kelvin sign folds to k */
	{ 0x212A, 'k' },
	/* Ohm sign folds to ω */
	{ 0x2126, 0x3C9 },
	/* Cherokee small letters fold to the capitals */
	{ 0xAB70, 0x13A0 },
	/* Deseret, above the BMP */
	{ 0x10400, 0x10428 },
	/* CJK has no case */
	{ 0x65E5, 0x65E5 },
	/* the last code point */
	{ 0x10FFFF, 0x10FFFF },
};

START_TEST(test_fold_char)
{
	ck_assert_uint_eq(text_match_fold_char(fold_cases[_i].cp),
			  fold_cases[_i].folded);
}
END_TEST

/* Folding long text (done in pieces) with a character across the piece
   boundary at 64 KiB. */
START_TEST(test_fold_long)
{
	size_t len = 140000, i;
	char *in = malloc(len);
	struct strbuf out = STRBUF_INIT;

	for (i = 0; i < len; i++)
		in[i] = "AbC"[i % 3];
	memcpy(in + 65535, "\xce\xa3", 2);  /* Σ across the boundary */
	memcpy(in + len - 1, "\xce", 1);     /* cut at the very end */
	text_match_fold(in, len, &out);
	ck_assert_uint_eq(out.len, len + 2);
	ck_assert(memcmp(out.data + 65535, "\xcf\x83", 2) == 0);
	ck_assert(memcmp(out.data + len - 1, "\xef\xbf\xbd", 3) == 0);
	for (i = 0; i < 65535; i++)
		ck_assert_int_eq(out.data[i], "abc"[i % 3]);
	free(in);
	strbuf_free(&out);
}
END_TEST

struct find_case {
	const char *needle;
	const char *hay;
	int found;
};

static const struct find_case find_cases[] = {
	/* German: ÄPFEL finds äpfel */
	{ "\xc3\x84PFEL", "rote \xc3\xa4pfel", 1 },
	/* and the other way round */
	{ "\xc3\xa4pfel", "ROTE \xc3\x84PFEL", 1 },
	/* Greek: ΣΟΦΙΑ finds σοφια */
	{ "\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91",
	  "\xce\xb7 \xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1", 1 },
	/* Greek: final sigma matches Σ */
	{ "\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91\xce\xa3",
	  "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1\xcf\x82", 1 },
	/* Cyrillic: москва finds МОСКВА */
	{ "\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0",
	  "\xd0\x9c\xd0\x9e\xd0\xa1\xd0\x9a\xd0\x92\xd0\x90", 1 },
	/* ASCII, mixed case */
	{ "hello", "say HeLLo world", 1 },
	/* ASCII miss */
	{ "hello", "help hell hallo", 0 },
	/* match at the very start */
	{ "SAY", "say hello", 1 },
	/* match at the very end */
	{ "WORLD", "hello world", 1 },
	/* haystack equal to the needle */
	{ "x", "X", 1 },
	/* the empty needle matches an empty haystack */
	{ "", "", 1 },
	/* the empty needle matches anything */
	{ "", "abc", 1 },
	/* a needle cannot be found in nothing */
	{ "a", "", 0 },
	/* a needle longer than the haystack */
	{ "abcd", "abc", 0 },
	/* Kelvin sign in the haystack matches k */
	{ "kelvin", "\xe2\x84\xaa" "ELVIN", 1 },
	/* long s matches s */
	{ "ss", "\xc5\xbfS", 1 },
	/* simple folding: ß is not ss */
	{ "stra\xc3\x9f" "e", "STRASSE", 0 },
	/* ASCII needle, plain */
	{ "STRASSE", "strasse", 1 },
	/* the haystack folds longer (2 bytes to 3) */
	{ "\xe2\xb1\xa5", "\xc8\xba", 1 },
	/* é is not e */
	{ "\xc3\xa9", "cafe", 0 },
	/* ASCII needle after non-ASCII text */
	{ "world", "\xd0\xbf\xd1\x80\xd0\xb8 WORLD", 1 },
	/* mixed needle, mixed haystack */
	{ "\xd0\xbf\xd1\x80\xd0\xb8 world", "\xd0\x9f\xd0\xa0\xd0\x98 WORLD", 1 },
	/* '@' and '`' differ only in bit 0x20 but are not a case pair */
	{ "a@b", "A`B", 0 },
	/* neither are '[' and '{' */
	{ "{x", "[X", 0 },
	/* digits are not folded */
	{ "1", "!", 0 },
	/* an ill-formed byte folds to U+FFFD on both sides */
	{ "\xff", "a\xfe" "b", 1 },
	/* U+FFFD itself matches an ill-formed byte */
	{ "\xef\xbf\xbd", "\xc3", 1 },
	/* a cut character does not match a whole one */
	{ "\xc3\xa9", "\xc3", 0 },
	/* a needle starting with a continuation-less byte */
	{ "\xc3\xa9t\xc3\xa9", "\xc3\x89T\xc3\x89", 1 },
};

START_TEST(test_find)
{
	const struct find_case *c = &find_cases[_i];
	struct text_matcher *m = text_matcher_create(c->needle, strlen(c->needle));

	ck_assert_int_eq(text_matcher_find(m, c->hay, strlen(c->hay)), c->found);
	text_matcher_destroy(&m);
	ck_assert_ptr_null(m);
	text_matcher_destroy(&m); /* NULL is fine */
}
END_TEST

/* Feeds one chunk from a scratch copy that is clobbered afterwards, as a
   reader's buffer would be: the stream must not keep pointers into it. */
static int feed_copy(struct text_matcher_stream *s, const char *chunk,
		     size_t len)
{
	char *copy = malloc(len + 1);
	int ret;

	memcpy(copy, chunk, len);
	ret = text_matcher_feed(s, copy, len);
	memset(copy, '?', len);
	free(copy);
	return ret;
}

/* Feeds hay in pieces cut at the offsets in cuts[0..ncuts) (ascending). */
static int feed_cut(const struct text_matcher *m, const char *hay, size_t len,
		    const size_t *cuts, size_t ncuts)
{
	struct text_matcher_stream *s = text_matcher_stream_create(m);
	size_t prev = 0, i;
	int ret = 0;

	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		ret = feed_copy(s, hay + prev, end - prev);
		prev = end;
	}
	/* finishing never takes a match back */
	ck_assert_int_ge(text_matcher_finish(s), ret);
	ret = text_matcher_finish(s);
	text_matcher_stream_destroy(&s);
	ck_assert_ptr_null(s);
	return ret;
}

/* Every two- and three-piece split, and one byte at a time, give the same
   answer as the whole haystack; cuts fall inside UTF-8 characters too. */
START_TEST(test_chunk_boundaries)
{
	const struct find_case *c = &find_cases[_i];
	struct text_matcher *m = text_matcher_create(c->needle, strlen(c->needle));
	size_t len = strlen(c->hay), a, b, cuts[2];
	struct text_matcher_stream *s;

	for (a = 0; a <= len; a++) {
		cuts[0] = a;
		ck_assert_int_eq(feed_cut(m, c->hay, len, cuts, 1), c->found);
		for (b = a; b <= len; b++) {
			cuts[1] = b;
			ck_assert_int_eq(feed_cut(m, c->hay, len, cuts, 2), c->found);
		}
	}
	s = text_matcher_stream_create(m);
	for (a = 0; a < len; a++)
		feed_copy(s, c->hay + a, 1);
	ck_assert_int_eq(text_matcher_finish(s), c->found);
	text_matcher_stream_destroy(&s);
	text_matcher_destroy(&m);
}
END_TEST

/* Once found, a stream stays found; reset starts over. */
START_TEST(test_stream_reset)
{
	struct text_matcher *m = text_matcher_create("needle", 6);
	struct text_matcher_stream *s = text_matcher_stream_create(m);

	ck_assert_int_eq(text_matcher_feed(s, "hay NEE", 7), 0);
	ck_assert_int_eq(text_matcher_feed(s, "DLE hay", 7), 1);
	ck_assert_int_eq(text_matcher_feed(s, "more", 4), 1);
	text_matcher_stream_reset(s);
	ck_assert_int_eq(text_matcher_feed(s, "DLE hay", 7), 0);
	ck_assert_int_eq(text_matcher_feed(s, "needl", 5), 0);
	ck_assert_int_eq(text_matcher_feed(s, "E", 1), 1);
	text_matcher_stream_destroy(&s);
	text_matcher_destroy(&m);
}
END_TEST

/* The reference: fold both, then memmem. */
static int reference_find(const char *needle, size_t nlen, const char *hay,
			  size_t hlen)
{
	struct strbuf fn = STRBUF_INIT, fh = STRBUF_INIT;
	int found;

	text_match_fold(needle, nlen, &fn);
	text_match_fold(hay, hlen, &fh);
	found = fn.len == 0 ||
		(fh.len >= fn.len && memmem(fh.data, fh.len, fn.data, fn.len) != NULL);
	strbuf_free(&fn);
	strbuf_free(&fh);
	return found;
}

static uint32_t rng_next(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

/* Pieces random haystacks are built from: ASCII of both cases, characters
   that fold, ill-formed bytes and cut characters. */
static const char *const pieces[] = {
	"a", "b", "A", "B", " ", "ab", "AB", "\r\n",
	"\xc3\xa9", "\xc3\x89", "\xcf\x83", "\xce\xa3", "\xcf\x82",
	"\xe2\x84\xaa", "k", "\xc8\xba", "\xe2\xb1\xa5", "\xff", "\xc3",
	"\xf0\x9f\x98\x80", "\xd0\x96", "\xd0\xb6",
};

/* Appends n random pieces; with ascii_bias most of them are 'a'/'b'. */
static void random_text(uint32_t *state, size_t n, int ascii_bias,
			struct strbuf *out)
{
	size_t i, npieces = sizeof(pieces) / sizeof(pieces[0]);

	for (i = 0; i < n; i++) {
		uint32_t r = rng_next(state);

		if (ascii_bias && r % 64 != 0)
			strbuf_appendc(out, "abAB "[r / 64 % 5]);
		else
			strbuf_appends(out, pieces[r / 64 % npieces]);
	}
}

/* Feeds hay in random-sized chunks. */
static int feed_random(uint32_t *state, const struct text_matcher *m,
		       const char *hay, size_t len)
{
	struct text_matcher_stream *s = text_matcher_stream_create(m);
	size_t pos = 0;
	int ret = text_matcher_feed(s, "", 0);

	while (pos < len) {
		size_t n = rng_next(state) % 3 == 0 ? rng_next(state) % 8 :
			   rng_next(state) % 9000;

		if (n > len - pos)
			n = len - pos;
		ret = feed_copy(s, hay + pos, n);
		pos += n;
	}
	ck_assert_int_ge(text_matcher_finish(s), ret);
	ret = text_matcher_finish(s);
	text_matcher_stream_destroy(&s);
	return ret;
}

/* One-shot and streamed searches agree with the reference over random
   haystacks long enough to cross the internal 4 KiB and 64 KiB steps. */
START_TEST(test_random_against_reference)
{
	uint32_t state = 4242;
	int round, hits = 0;

	for (round = 0; round < 300; round++) {
		struct strbuf hay = STRBUF_INIT, needle = STRBUF_INIT;
		struct text_matcher *m;
		size_t hay_pieces = rng_next(&state) % 4 == 0 ?
				    rng_next(&state) % 90000 : rng_next(&state) % 300;
		int expected;

		random_text(&state, hay_pieces, round % 2, &hay);
		if (hay.len > 0 && rng_next(&state) % 2 == 0) {
			/* a slice of the haystack, so that matches happen */
			size_t at = rng_next(&state) % hay.len;
			size_t n = 1 + rng_next(&state) % 12;

			strbuf_append(&needle, hay.data + at,
				      n < hay.len - at ? n : hay.len - at);
		} else {
			random_text(&state, 1 + rng_next(&state) % 6, round % 2,
				    &needle);
		}
		strbuf_appends(&hay, "");
		strbuf_appends(&needle, "");
		expected = reference_find(needle.data, needle.len, hay.data, hay.len);
		hits += expected;
		m = text_matcher_create(needle.data, needle.len);
		ck_assert_int_eq(text_matcher_find(m, hay.data, hay.len), expected);
		ck_assert_int_eq(feed_random(&state, m, hay.data, hay.len), expected);
		text_matcher_destroy(&m);
		strbuf_free(&hay);
		strbuf_free(&needle);
	}
	/* the generator exercises both answers */
	ck_assert_int_gt(hits, 30);
	ck_assert_int_lt(hits, 270);
}
END_TEST

/* A match across the internal step boundaries at 4 KiB and 64 KiB, in
   ASCII text and after a non-ASCII character, for an ASCII needle (searched
   in place) and a non-ASCII one (found by folding). */
START_TEST(test_long_boundaries)
{
	static const size_t offsets[] = { 4090, 4096, 65530, 65536, 65537, 131070 };
	static const char *const needles[] = { "NeedleX", "Needle\xc3\x89" };
	static const char *const inserted[] = { "NEEDLEx", "NEEDLE\xc3\xa9" };
	size_t i, lead, k;

	for (k = 0; k < 2; k++) {
		size_t nlen = strlen(needles[k]);
		struct text_matcher *m = text_matcher_create(needles[k], nlen);

		for (lead = 0; lead < 2; lead++) {
			for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
				size_t len = 140000, at = offsets[i] - 3;
				char *hay = malloc(len);

				memset(hay, 'n', len);
				if (lead)
					memcpy(hay + 10, "\xc3\xa9", 2);
				memcpy(hay + at, inserted[k], nlen);
				ck_assert_int_eq(text_matcher_find(m, hay, len), 1);
				hay[at + 3] = 'x';
				ck_assert_int_eq(text_matcher_find(m, hay, len), 0);
				free(hay);
			}
		}
		text_matcher_destroy(&m);
	}
}
END_TEST

/* Needles that defeat the first/last-byte filter ("aaab" in "aaaa...")
   still give the right answer (the linear fallback). */
START_TEST(test_adversarial)
{
	size_t len = 1 << 20;
	char *hay = malloc(len), needle[1000];
	struct text_matcher *m;

	memset(hay, 'a', len);
	memset(needle, 'A', sizeof(needle));
	needle[sizeof(needle) - 1] = 'a';
	needle[sizeof(needle) / 2] = 'b';
	m = text_matcher_create(needle, sizeof(needle));
	ck_assert_int_eq(text_matcher_find(m, hay, len), 0);
	memcpy(hay + len - 1000, needle, 1000);
	ck_assert_int_eq(text_matcher_find(m, hay, len), 1);
	text_matcher_destroy(&m);
	free(hay);
}
END_TEST

/* One matcher, several threads at once: the matcher is read-only. */
static void *match_thread(void *arg)
{
	const struct text_matcher *m = arg;
	size_t i, j, nfind = sizeof(find_cases) / sizeof(find_cases[0]);

	for (i = 0; i < 2000; i++) {
		for (j = 0; j < nfind; j++) {
			const char *hay = find_cases[j].hay;

			if (text_matcher_find(m, hay, strlen(hay)) !=
			    (strstr(hay, "\xc3\x84") != NULL ||
			     strstr(hay, "\xc3\xa4") != NULL))
				return (void *)1;
		}
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct text_matcher *m = text_matcher_create("\xc3\xa4", 2);
	pthread_t threads[4];
	size_t i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL, match_thread, m), 0);
	for (i = 0; i < 4; i++) {
		void *ret = (void *)1;

		ck_assert_int_eq(pthread_join(threads[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	text_matcher_destroy(&m);
}
END_TEST

static Suite *text_match_suite(void)
{
	Suite *s = suite_create("text-match");
	TCase *tc = tcase_create("core");
	size_t nfind = sizeof(find_cases) / sizeof(find_cases[0]);

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_fold_char, 0,
			    sizeof(fold_cases) / sizeof(fold_cases[0]));
	tcase_add_test(tc, test_fold_long);
	tcase_add_loop_test(tc, test_find, 0, (int)nfind);
	tcase_add_loop_test(tc, test_chunk_boundaries, 0, (int)nfind);
	tcase_add_test(tc, test_stream_reset);
	tcase_add_test(tc, test_random_against_reference);
	tcase_add_test(tc, test_long_boundaries);
	tcase_add_test(tc, test_adversarial);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(text_match_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? 1 : 0;
}
