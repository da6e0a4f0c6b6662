/* Sequence sets and IMAP dates. */
#include "autoconfig.h"
#include <check.h>
#include <stdio.h>
#include <string.h>
#include "imap-date.h"
#include "imap-seqset.h"
#include "pool.h"

struct set_case {
	const char *text;
	uint32_t star;
	const char *expect;   /* ranges "a-b,c-d", or NULL when invalid */
};

static const struct set_case sets[] = {
	{ "1", 10, "1-1" },
	{ "1:4,7", 10, "1-4,7-7" },
	{ "4:1", 10, "1-4" },              /* reversed range */
	{ "1:*", 10, "1-10" },
	{ "*", 10, "10-10" },
	{ "5:*", 3, "3-5" },               /* star below: 3:5 (RFC 3501 9) */
	{ "3,1,2,2", 10, "1-3" },          /* sorted and merged */
	{ "1:3,4:6", 10, "1-6" },          /* adjacent merged */
	{ "*", 0, "" },                    /* empty mailbox: matches nothing */
	{ "4294967295", 1, "4294967295-4294967295" },
	{ "0", 10, NULL }, { "1:0", 10, NULL }, { "", 10, NULL }, { "1,", 10, NULL },
	{ "a", 10, NULL }, { "1::2", 10, NULL }, { "4294967296", 10, NULL }, { "01", 10, NULL },
};

START_TEST(test_sets)
{
	const struct set_case *sc = &sets[_i];
	struct pool pool = POOL_INIT;
	struct seqset set;
	const char *error;
	char got[256] = "";
	unsigned r;
	int ret = seqset_parse(sc->text, sc->star, &pool, &set, &error);

	if (sc->expect == NULL) {
		ck_assert_msg(ret == -1, "'%s' accepted", sc->text);
		ck_assert_int_eq(seqset_is_valid(sc->text), 0);
	} else {
		ck_assert_msg(ret == 0, "'%s' refused", sc->text);
		for (r = 0; r < set.count; r++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u-%u",
				 r > 0 ? "," : "", set.ranges[r].first, set.ranges[r].last);
		ck_assert_str_eq(got, sc->expect);
	}
	pool_free(&pool);
}
END_TEST

START_TEST(test_contains)
{
	struct pool pool = POOL_INIT;
	struct seqset set;
	const char *error;

	ck_assert_int_eq(seqset_parse("2:4,9,20:*", 30, &pool, &set, &error), 0);
	ck_assert_int_eq(seqset_contains(&set, 1), 0);
	ck_assert_int_eq(seqset_contains(&set, 2), 1);
	ck_assert_int_eq(seqset_contains(&set, 5), 0);
	ck_assert_int_eq(seqset_contains(&set, 9), 1);
	ck_assert_int_eq(seqset_contains(&set, 25), 1);
	ck_assert_int_eq(seqset_contains(&set, 31), 0);
	pool_free(&pool);
}
END_TEST

START_TEST(test_dates)
{
	int64_t t;
	int32_t tz;
	char out[64];

	/* date-time with zone: stored as UTC seconds plus the zone */
	ck_assert_int_eq(imap_datetime_parse("17-Jul-1996 02:44:25 -0700", &t, &tz), 0);
	ck_assert_int_eq(t, 837596665);
	ck_assert_int_eq(tz, -420);
	imap_datetime_format(t, tz, out);
	ck_assert_str_eq(out, "17-Jul-1996 02:44:25 -0700");
	/* a leading space for one-digit days */
	ck_assert_int_eq(imap_datetime_parse(" 1-Jan-2000 00:00:00 +0000", &t, &tz), 0);
	ck_assert_int_eq(t, 946684800);
	imap_datetime_format(t, 0, out);
	ck_assert_str_eq(out, "01-Jan-2000 00:00:00 +0000");
	/* refused: bad month, day 31 of April, bad zone, trailing junk */
	ck_assert_int_eq(imap_datetime_parse("17-Jux-1996 02:44:25 -0700", &t, &tz), -1);
	ck_assert_int_eq(imap_datetime_parse("31-Apr-1996 02:44:25 -0700", &t, &tz), -1);
	ck_assert_int_eq(imap_datetime_parse("17-Jul-1996 02:44:25 0700", &t, &tz), -1);
	ck_assert_int_eq(imap_datetime_parse("17-Jul-1996 02:44:25 -0700x", &t, &tz), -1);
	/* SEARCH dates, leap years */
	ck_assert_int_eq(imap_date_parse("29-Feb-2024", &t), 0);
	ck_assert_int_eq(t, 1709164800);
	ck_assert_int_eq(imap_date_parse("29-Feb-2023", &t), -1);
	ck_assert_int_eq(imap_date_parse("1-feb-1994", &t), 0);
	/* the day of a time in its zone */
	ck_assert_int_eq(imap_date_day(837596665, -420), 837561600);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("imap_seqset");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_sets, 0, sizeof(sets) / sizeof(sets[0]));
	tcase_add_test(tc, test_contains);
	tcase_add_test(tc, test_dates);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
