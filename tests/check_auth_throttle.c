/* Brute-force delays (kernel/auth-throttle.c): the delay schedule per
 * address and per user, the window, the reset on success, the cap on
 * threads waiting. */
#include "autoconfig.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include "auth-throttle.h"

/* Events on one table, in order; each row checks the delay then due. */
struct throttle_row {
	char what;              /* 'f' failure, 's' success, 'd' just check */
	const char *addr;
	const char *user;
	int64_t at_ms;          /* the clock */
	unsigned delay;         /* the delay due at `at_ms` before the event */
};

static const struct throttle_row rows[] = {
	{ 'f', "192.0.2.1", "alice", 0, 0 },        /* a first failure costs nothing */
	{ 'f', "192.0.2.1", "alice", 10, 100 },     /* then base_ms */
	{ 'f', "192.0.2.1", "alice", 20, 200 },     /* doubling */
	{ 'f', "192.0.2.1", "alice", 30, 400 },
	{ 'f', "192.0.2.1", "alice", 40, 800 },
	{ 'f', "192.0.2.1", "alice", 50, 1000 },    /* capped at max_ms */
	{ 'd', "192.0.2.2", "alice", 60, 1000 },    /* the user's count, from elsewhere */
	{ 'd', "192.0.2.1", "bob", 60, 1000 },      /* the address's count, for another user */
	{ 'd', "192.0.2.2", "bob", 60, 0 },         /* neither */
	{ 'd', "192.0.2.2", NULL, 60, 0 },          /* user not known yet */
	{ 's', "192.0.2.2", "alice", 70, 1000 },    /* a success clears alice ... */
	{ 'd', "192.0.2.3", "alice", 80, 0 },
	{ 'd', "192.0.2.1", NULL, 80, 1000 },       /* ... but not 192.0.2.1 */
	{ 'd', "192.0.2.1", NULL, 50 + 60000, 1000 }, /* still within the window */
	{ 'd', "192.0.2.1", NULL, 51 + 60000, 0 },  /* the window passed */
	{ 'f', "192.0.2.1", "carol", 70000, 0 },    /* counting starts over */
	{ 'd', "192.0.2.1", "dave", 70001, 100 },
};

START_TEST(test_schedule)
{
	struct auth_throttle_settings set = { 100, 1000, 60, 2 };
	struct auth_throttle *t = auth_throttle_create(&set);
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct throttle_row *r = &rows[i];

		ck_assert_msg(auth_throttle_delay(t, r->addr, r->user, r->at_ms) == r->delay,
			      "row %zu: delay %u, expected %u", i,
			      auth_throttle_delay(t, r->addr, r->user, r->at_ms), r->delay);
		if (r->what == 'f')
			auth_throttle_failed(t, r->addr, r->user, r->at_ms);
		else if (r->what == 's')
			auth_throttle_succeeded(t, r->addr, r->user);
	}
	auth_throttle_destroy(&t);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_off)
{
	struct auth_throttle_settings set = { 0, 1000, 60, 2 };
	struct auth_throttle *t = auth_throttle_create(&set);
	int i;

	for (i = 0; i < 10; i++)
		auth_throttle_failed(t, "192.0.2.1", "alice", i);
	ck_assert_uint_eq(auth_throttle_delay(t, "192.0.2.1", "alice", 20), 0);
	auth_throttle_destroy(&t);
}
END_TEST

START_TEST(test_many_keys_stay_bounded)
{
	struct auth_throttle_settings set = { 100, 1000, 60, 2 };
	struct auth_throttle *t = auth_throttle_create(&set);
	char addr[32];
	int i;

	/* Far more addresses than slots: old ones are evicted, the newest kept. */
	for (i = 0; i < 100000; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		auth_throttle_failed(t, addr, NULL, i);
		auth_throttle_failed(t, addr, NULL, i);
	}
	ck_assert_uint_eq(auth_throttle_delay(t, addr, NULL, 100000), 200);
	auth_throttle_destroy(&t);
}
END_TEST

START_TEST(test_wait)
{
	struct auth_throttle_settings set = { 20, 20, 60, 1 };
	struct auth_throttle *t = auth_throttle_create(&set);
	const char *reason = NULL;
	int64_t t0;

	ck_assert_int_eq(auth_throttle_wait(t, "192.0.2.1", "alice", &reason), 0);
	auth_throttle_failed(t, "192.0.2.1", "alice", auth_throttle_now_ms());
	t0 = auth_throttle_now_ms();
	ck_assert_int_eq(auth_throttle_wait(t, "192.0.2.1", "alice", &reason), 0);
	ck_assert_int_ge(auth_throttle_now_ms() - t0, 19);
	auth_throttle_destroy(&t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth_throttle");
	TCase *tc = tcase_create("auth_throttle");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_schedule);
	tcase_add_test(tc, test_off);
	tcase_add_test(tc, test_many_keys_stay_bounded);
	tcase_add_test(tc, test_wait);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
