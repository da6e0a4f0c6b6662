/* Mailbox names from the wire to storage form, and LIST patterns. */
#include "autoconfig.h"
#include <check.h>
#include <string.h>
#include "mailbox-name.h"
#include "strbuf.h"

struct name_case {
	const char *wire;      /* as a client sends it */
	const char *stored;    /* storage form, or NULL when refused */
};

static const struct name_case names[] = {
	/* INBOX in any case is INBOX */
	{ "inbox", "INBOX" }, { "InBoX/Sub", "INBOX/Sub" },
	/* other names keep their case */
	{ "Inboxes", "Inboxes" }, { "Work/2026", "Work/2026" },
	/* modified UTF-7 becomes UTF-8 (RFC 3501 5.1.3's example) */
	{ "~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
	/* '&' itself */
	{ "A&-B", "A&B" },
	/* empty levels, dot levels, leading and trailing separators */
	{ "", NULL }, { "/abs", NULL }, { "a//b", NULL }, { "a/", NULL },
	{ "..", NULL }, { "a/../b", NULL }, { "./a", NULL }, { "a/.", NULL },
	/* a level that merely contains dots is fine */
	{ "a..b/.x", "a..b/.x" },
	/* control characters */
	{ "a\x01" "b", NULL }, { "a\x7f", NULL },
	/* invalid modified UTF-7: unterminated, ASCII encoded, bad base64 */
	{ "&Jjo", NULL }, { "&AGE-", NULL }, { "&*-", NULL },
	/* 8-bit bytes are not modified UTF-7 */
	{ "caf\xc3\xa9", NULL },
};

START_TEST(test_names)
{
	const struct name_case *nc = &names[_i];
	struct strbuf out = STRBUF_INIT;
	const char *error = NULL;
	int ret = mailbox_name_from_imap(nc->wire, strlen(nc->wire), &out, &error);

	if (nc->stored == NULL) {
		ck_assert_msg(ret == -1, "'%s' accepted as '%s'", nc->wire, out.data);
		ck_assert_ptr_nonnull(error);
	} else {
		ck_assert_msg(ret == 0, "'%s' refused: %s", nc->wire, error);
		ck_assert_str_eq(out.data, nc->stored);
	}
	strbuf_free(&out);
}
END_TEST

/* NUL inside a literal name is refused. */
START_TEST(test_nul_refused)
{
	struct strbuf out = STRBUF_INIT;
	const char *error;

	ck_assert_int_eq(mailbox_name_from_imap("a\0b", 3, &out, &error), -1);
	strbuf_free(&out);
}
END_TEST

/* Stored names go back to the wire as modified UTF-7. */
START_TEST(test_to_imap)
{
	struct strbuf out = STRBUF_INIT;

	mailbox_name_to_imap("A&B/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", &out);
	ck_assert_str_eq(out.data, "A&-B/&ZeVnLIqe-");
	strbuf_free(&out);
}
END_TEST

struct pattern_case {
	const char *pattern, *name;
	int match;
};

static const struct pattern_case patterns[] = {
	{ "*", "a/b/c", 1 },            /* * crosses levels */
	{ "%", "a", 1 }, { "%", "a/b", 0 }, /* % does not */
	{ "a/%", "a/b", 1 }, { "a/%", "a/b/c", 0 }, { "a/*", "a/b/c", 1 },
	{ "a%", "abc", 1 }, { "a%c", "abc", 1 }, { "a%c", "a/c", 0 },
	{ "INBOX", "INBOX", 1 }, { "INBOX", "INBOX/x", 0 },
	{ "", "a", 0 }, { "*b", "ab", 1 }, { "*b", "a/b", 1 }, { "%b", "a/b", 0 },
	/* a hostile pattern against a long name answers quickly */
	{ "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
};

START_TEST(test_patterns)
{
	const struct pattern_case *pc = &patterns[_i];

	ck_assert_msg(mailbox_pattern_match(pc->pattern, pc->name) == pc->match,
		      "'%s' vs '%s'", pc->pattern, pc->name);
}
END_TEST

/* LIST's reference and pattern are joined, and "inbox" canonicalised. */
START_TEST(test_pattern_from_imap)
{
	struct strbuf out = STRBUF_INIT;
	const char *error;

	ck_assert_int_eq(mailbox_pattern_from_imap("Work/", 5, "%", 1, &out, &error), 0);
	ck_assert_str_eq(out.data, "Work/%");
	strbuf_reset(&out);
	ck_assert_int_eq(mailbox_pattern_from_imap("Work/", 5, "/x", 2, &out, &error), 0);
	ck_assert_str_eq(out.data, "/x");
	strbuf_reset(&out);
	ck_assert_int_eq(mailbox_pattern_from_imap("", 0, "inbox*", 6, &out, &error), 0);
	ck_assert_str_eq(out.data, "INBOX*");
	strbuf_free(&out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mailbox_name");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_names, 0, sizeof(names) / sizeof(names[0]));
	tcase_add_test(tc, test_nul_refused);
	tcase_add_test(tc, test_to_imap);
	tcase_add_loop_test(tc, test_patterns, 0, sizeof(patterns) / sizeof(patterns[0]));
	tcase_add_test(tc, test_pattern_from_imap);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
