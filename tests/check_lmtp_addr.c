/* delivery/lmtp/lmtp-addr.c: MAIL FROM / RCPT TO arguments, the user id
 * in a recipient address, MAIL parameters. */
#include "autoconfig.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "lmtp-private.h"

struct parse_case {
	const char *args;        /* after the verb */
	const char *keyword;
	const char *path;        /* expected, NULL = refused */
	const char *params;      /* expected rest, or the error substring */
};

static const struct parse_case parse_cases[] = {
	/* the usual form */
	{ " FROM:<a@example.org>", "FROM", "a@example.org", "" },
	/* keyword in any case, parameters after a blank */
	{ " from:<a@x> SIZE=10 BODY=8BITMIME", "FROM", "a@x", "SIZE=10 BODY=8BITMIME" },
	/* the null reverse path */
	{ " FROM:<>", "FROM", "", "" },
	/* a blank after the colon (some clients) */
	{ " TO: <b@x>", "TO", "b@x", "" },
	/* a quoted local part keeps its blank and '>' */
	{ " TO:<\"a b>c\"@x>", "TO", "\"a b>c\"@x", "" },
	/* a source route is dropped */
	{ " TO:<@relay1,@relay2:user@x>", "TO", "user@x", "" },
	/* no angle brackets */
	{ " FROM:a@x", "FROM", NULL, "angle brackets" },
	/* the wrong keyword */
	{ " TO:<a@x>", "FROM", NULL, "syntax" },
	/* no colon */
	{ " FROM <a@x>", "FROM", NULL, "syntax" },
	/* unterminated */
	{ " FROM:<a@x", "FROM", NULL, "no '>'" },
	/* a control character could forge a header line */
	{ " FROM:<a\x01@x>", "FROM", NULL, "control character" },
	/* ... also when escaped inside quotes */
	{ " FROM:<\"a\\\rX-Injected: 1\"@x>", "FROM", NULL, "control character" },
	/* text glued to '>' */
	{ " FROM:<a@x>SIZE=1", "FROM", NULL, "without a blank" },
	/* a blank inside an unquoted address */
	{ " TO:<a b@x>", "TO", NULL, "' ' in the address" },
};

START_TEST(test_parse)
{
	const struct parse_case *c = &parse_cases[_i];
	const char *params = NULL, *error = NULL;
	char *path = NULL;
	int ret = lmtp_addr_parse(c->args, c->keyword, &path, &params, &error);

	if (c->path == NULL) {
		ck_assert_int_eq(ret, -1);
		ck_assert_msg(strstr(error, c->params) != NULL, "%s: '%s' not in '%s'",
			      c->args, c->params, error);
		return;
	}
	ck_assert_msg(ret == 0, "%s: %s", c->args, error);
	ck_assert_str_eq(path, c->path);
	ck_assert_str_eq(params, c->params);
	free(path);
}
END_TEST

struct user_case {
	const char *addr, *delimiter, *user;
};

static const struct user_case user_cases[] = {
	/* the local part */
	{ "alice@example.org", "+", "alice" },
	/* the detail is cut */
	{ "alice+lists@example.org", "+", "alice" },
	/* only at the first delimiter */
	{ "alice+a+b@x", "+", "alice" },
	/* several delimiter characters */
	{ "alice-news@x", "+-", "alice" },
	/* no delimiter configured: the whole local part */
	{ "alice+lists@x", "", "alice+lists" },
	/* no domain */
	{ "postmaster", "+", "postmaster" },
	/* quoted local part, '@' inside the quotes */
	{ "\"al@ice\"@x", "+", "al@ice" },
	/* a lone detail stays whole (no empty user id) */
	{ "+lists@x", "+", "+lists" },
	/* case is the store's business */
	{ "Alice@X", "+", "Alice" },
};

START_TEST(test_user)
{
	const struct user_case *c = &user_cases[_i];
	char *user = lmtp_addr_user(c->addr, c->delimiter);

	ck_assert_str_eq(user, c->user);
	free(user);
}
END_TEST

struct params_case {
	const char *params;
	int ret;
	unsigned long long size;
};

static const struct params_case params_cases[] = {
	{ "", 0, 0 },                           /* none */
	{ "SIZE=1234", 0, 1234 },               /* a size */
	{ "size=5 body=7bit", 0, 5 },           /* any case, BODY=7BIT */
	{ "BODY=8BITMIME  SIZE=9", 0, 9 },      /* two blanks between */
	{ "SIZE=", -1, 0 },                     /* empty size */
	{ "SIZE=12a", -1, 0 },                  /* not a number */
	{ "SIZE=99999999999999999999", -1, 0 }, /* too many digits */
	{ "BODY=BINARYMIME", -1, 0 },           /* not offered */
	{ "SMTPUTF8", -1, 0 },                  /* not offered */
	{ "AUTH=<>", -1, 0 },                   /* not offered */
};

START_TEST(test_params)
{
	const struct params_case *c = &params_cases[_i];
	const char *error = NULL;
	uint64_t size = 77;
	int ret = lmtp_addr_mail_params(c->params, &size, &error);

	ck_assert_msg(ret == c->ret, "'%s': %d (%s)", c->params, ret, error ? error : "");
	if (ret == 0)
		ck_assert_uint_eq(size, c->size);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int main(void)
{
	Suite *s = suite_create("lmtp_addr");
	TCase *tc = tcase_create("addr");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_parse, 0, N(parse_cases));
	tcase_add_loop_test(tc, test_user, 0, N(user_cases));
	tcase_add_loop_test(tc, test_params, 0, N(params_cases));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? 1 : 0;
}
