#include "autoconfig.h"
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <vimap/storage.h>
#include "imap-parser.h"
#include "imap-search.h"
#include "pool.h"
#include "strbuf.h"
#include "xalloc.h"

/* ---- the mailbox every table row searches ---- */

/* 1: plain ASCII, seen, keywords; sent 1-Jul-2003 (+0200). */
static const char msg1[] =
	"From: \"John Smith\" <john@example.com>\r\n"
	"To: alice@example.org\r\n"
	"Cc: bob@example.net\r\n"
	"Subject: Meeting tomorrow\r\n"
	"Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
	"\r\n"
	"Hello world\r\n"
	"The budget is attached.\r\n";

/* 2: ISO-8859-1 quoted-printable body, RFC 2047 subject and from; obsolete
   Date (2-digit year, zone name) late on 1-Jul-2003. */
static const char msg2[] =
	"From: =?UTF-8?B?SsO8cmdlbg==?= <juergen@example.de>\r\n"
	"To: john@example.com\r\n"
	"Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus_Berlin?=\r\n"
	"Date: 1 Jul 03 23:30 EST\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Viele Gr=FC=DFe,=\r\n"
	"\r\n"
	"J=FCrgen\r\n";

/* 3: UTF-8 base64 body, Bcc, no Date header. */
static const char msg3[] =
	"From: robot@example.com\r\n"
	"Bcc: hidden@example.com\r\n"
	"Subject: Base64 test\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"w5xuw69jw7Zkw6kgc2VjcmV0IHBocmFzZQ0Kc2Vjb25kIGxpbmUgb2YgdGhlIHRleHQN\r\n"
	"Cg==\r\n";

/* 4: multipart with a text/plain part, a non-text part and a QP
   text/html part; X-Mailer and an empty X-Empty. */
static const char msg4[] =
	"From: Alice <alice@example.org>\r\n"
	"Subject: Multipart\r\n"
	"X-Mailer: Foo Mail 1.0\r\n"
	"X-Empty:\r\n"
	"Date: Wed, 02 Jul 2003 00:00:00 +0000\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n"
	"\r\n"
	"This is a MIME message.\r\n"
	"--XYZ\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"visible text part\r\n"
	"--XYZ\r\n"
	"Content-Type: application/octet-stream\r\n"
	"\r\n"
	"binarysecret\r\n"
	"--XYZ\r\n"
	"Content-Type: text/html; charset=us-ascii\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"<b>bold=20move</b>\r\n"
	"--XYZ--\r\n";

/* 5: folded subject, two Received fields, Date with a comment. */
static const char msg5[] =
	"Received: from a.example by b.example\r\n"
	"Received: from c.example by d.example\r\n"
	"From: someone@example.com\r\n"
	"Subject: Leap\r\n"
	" day report\r\n"
	"Date: Sun, 29 Feb 2004 (comment) 12:00:00 GMT\r\n"
	"\r\n"
	"Nothing to see here.\r\n";

#define MSG_COUNT 5

static struct imap_msg msgs[MSG_COUNT];

static void msgs_init(void)
{
	static const char *const data[MSG_COUNT] = { msg1, msg2, msg3, msg4, msg5 };
	static const uint32_t flags[MSG_COUNT] = {
		VIMAP_FLAG_SEEN,
		VIMAP_FLAG_ANSWERED | VIMAP_FLAG_FLAGGED,
		VIMAP_FLAG_DELETED | VIMAP_FLAG_SEEN,
		VIMAP_FLAG_DRAFT,
		0,
	};
	static const int recent[MSG_COUNT] = { 0, 1, 1, 0, 0 };
	static const char *const keywords[MSG_COUNT] = {
		"$Work Important", "", "$Later", NULL, "important"
	};
	/* 2003-07-01 08:00 UTC; 2003-07-01 23:30 UTC at +0200 (2 Jul local);
	   2003-06-30 23:59:59 UTC; 2003-07-02 03:00 UTC at -0500 (1 Jul
	   local); 2004-02-29 12:00 UTC */
	static const int64_t idate[MSG_COUNT] = {
		1057046400, 1057102200, 1057017599, 1057114800, 1078056000
	};
	static const int32_t tz[MSG_COUNT] = { 0, 120, 0, -300, 0 };
	unsigned i;

	for (i = 0; i < MSG_COUNT; i++) {
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].seq = i + 1;
		msgs[i].uid = (i + 1) * 10;
		msgs[i].flags = flags[i];
		msgs[i].recent = recent[i];
		msgs[i].keywords = keywords[i];
		msgs[i].modseq = (i + 1) * 5;
		msgs[i].internal_date = idate[i];
		msgs[i].tz_offset = tz[i];
		msgs[i].size = (i + 1) * 100;
		msgs[i].data = data[i];
		msgs[i].data_size = strlen(data[i]);
	}
}

/* Parses "T SEARCH <program>" with the real command parser, then the search
   program; -1 when either fails. */
static int parse_program(struct pool *pool, const char *program, int is_uid,
			 struct imap_search **s_r, const char **error_r)
{
	struct imap_command_args cmd;
	char *line;
	int ret;

	line = *program == '\0' ? xstrdup("T SEARCH\r\n") :
		xasprintf("T SEARCH %s\r\n", program);
	ret = imap_parse_command(line, strlen(line), pool, &cmd, error_r);
	if (ret > 0)
		ret = imap_search_parse(cmd.args, cmd.count, is_uid, pool, s_r,
					error_r);
	else
		ret = -1;
	free(line);
	return ret;
}

/* The sequence numbers of the matching messages, "1,3", "" for none; also
   checks that imap_search_prematch() never contradicts the match. */
static void run_search(struct imap_search *s, char *out, size_t size)
{
	unsigned i;
	size_t len = 0;

	out[0] = '\0';
	imap_search_prepare(s, MSG_COUNT, MSG_COUNT * 10);
	for (i = 0; i < MSG_COUNT; i++) {
		int ret = imap_search_match(s, &msgs[i], NULL, NULL);
		enum imap_search_prematch_result pre =
			imap_search_prematch(s, &msgs[i]);

		ck_assert_int_ge(ret, 0);
		if (pre != IMAP_SEARCH_MAYBE)
			ck_assert_int_eq((int)pre, ret);
		if (ret == 1)
			len += (size_t)snprintf(out + len, size - len, "%s%u",
						len > 0 ? "," : "", i + 1);
	}
}

static const struct {
	const char *program;
	const char *expect;  /* matching sequence numbers */
} match_cases[] = {
	/* ALL matches everything */
	{ "ALL", "1,2,3,4,5" },
	/* ANSWERED */
	{ "ANSWERED", "2" },
	/* UNANSWERED */
	{ "UNANSWERED", "1,3,4,5" },
	/* DELETED */
	{ "DELETED", "3" },
	/* UNDELETED */
	{ "UNDELETED", "1,2,4,5" },
	/* DRAFT */
	{ "DRAFT", "4" },
	/* UNDRAFT */
	{ "UNDRAFT", "1,2,3,5" },
	/* FLAGGED */
	{ "FLAGGED", "2" },
	/* UNFLAGGED */
	{ "UNFLAGGED", "1,3,4,5" },
	/* SEEN */
	{ "SEEN", "1,3" },
	/* UNSEEN */
	{ "UNSEEN", "2,4,5" },
	/* keys are case-insensitive */
	{ "seen", "1,3" },
	/* RECENT */
	{ "RECENT", "2,3" },
	/* OLD is NOT RECENT */
	{ "OLD", "1,4,5" },
	/* NEW is RECENT UNSEEN: 3 is recent but seen */
	{ "NEW", "2" },
	/* KEYWORD, exact */
	{ "KEYWORD $Work", "1" },
	/* KEYWORD is case-insensitive */
	{ "KEYWORD IMPORTANT", "1,5" },
	/* UNKEYWORD: messages without keywords (empty, NULL) included */
	{ "UNKEYWORD important", "2,3,4" },
	/* KEYWORD that no message has */
	{ "KEYWORD $Missing", "" },
	/* KEYWORD naming a system flag tests the flag */
	{ "KEYWORD \\Seen", "1,3" },
	/* UNKEYWORD naming a system flag */
	{ "UNKEYWORD \\Deleted", "1,2,4,5" },
	/* LARGER is strict: sizes are 100..500 */
	{ "LARGER 300", "4,5" },
	/* LARGER one below a size includes it */
	{ "LARGER 299", "3,4,5" },
	/* LARGER the largest size: none */
	{ "LARGER 500", "" },
	/* LARGER 0: all */
	{ "LARGER 0", "1,2,3,4,5" },
	/* SMALLER is strict */
	{ "SMALLER 300", "1,2" },
	/* SMALLER one above a size includes it */
	{ "SMALLER 301", "1,2,3" },
	/* SMALLER the smallest size: none */
	{ "SMALLER 100", "" },
	/* a 64-bit size argument */
	{ "SMALLER 18446744073709551615", "1,2,3,4,5" },
	/* BEFORE: internal date in its own zone, strictly earlier */
	{ "BEFORE 1-Jul-2003", "3" },
	/* BEFORE the earliest day: none */
	{ "BEFORE 30-Jun-2003", "" },
	/* ON: 1 (UTC) and 4 (22:00 at -0500; 03:00 UTC the next day) */
	{ "ON 1-Jul-2003", "1,4" },
	/* ON with a quoted date: 2 is 23:30 UTC but 01:30 at +0200 */
	{ "ON \"2-Jul-2003\"", "2" },
	/* ON with a two-digit day */
	{ "ON 01-Jul-2003", "1,4" },
	/* SINCE includes the day itself */
	{ "SINCE 1-Jul-2003", "1,2,4,5" },
	/* SINCE a later day */
	{ "SINCE 2-Jul-2003", "2,5" },
	/* ON a leap day */
	{ "ON 29-Feb-2004", "5" },
	/* SENTBEFORE: Date header day; 3 has no Date and never matches */
	{ "SENTBEFORE 2-Jul-2003", "1,2" },
	/* SENTON: the day as written, whatever its zone (2 is EST) */
	{ "SENTON 1-Jul-2003", "1,2" },
	/* SENTON another day */
	{ "SENTON 2-Jul-2003", "4" },
	/* SENTSINCE includes the day itself */
	{ "SENTSINCE 2-Jul-2003", "4,5" },
	/* SENTSINCE the epoch: every message with a Date */
	{ "SENTSINCE 1-Jan-1970", "1,2,4,5" },
	/* NOT SENTON: a message without Date matches the negation */
	{ "NOT SENTON 1-Jul-2003", "3,4,5" },
	/* SENTON a day with a comment inside the Date value */
	{ "SENTON 29-Feb-2004", "5" },
	/* FROM: display name */
	{ "FROM smith", "1" },
	/* FROM: address, case-insensitive */
	{ "FROM JOHN@EXAMPLE", "1" },
	/* FROM: RFC 2047 encoded display name */
	{ "CHARSET UTF-8 FROM \"j\xc3\xbcrgen\"", "2" },
	/* TO */
	{ "TO alice", "1" },
	/* TO: another message */
	{ "TO john@example.com", "2" },
	/* CC */
	{ "CC bob", "1" },
	/* BCC */
	{ "BCC hidden", "3" },
	/* SUBJECT */
	{ "SUBJECT meeting", "1" },
	/* SUBJECT with a mixed-case key name */
	{ "Subject MEETING", "1" },
	/* SUBJECT not present anywhere */
	{ "SUBJECT nothing", "" },
	/* SUBJECT across a folded line */
	{ "SUBJECT \"leap day report\"", "5" },
	/* SUBJECT: RFC 2047 ISO-8859-1 word, needle in a UTF-8 literal with
	   upper case (Ü folds to ü; ß stays) */
	{ "CHARSET UTF-8 SUBJECT {7}\r\nGR\xc3\x9c\xc3\x9f" "E", "2" },
	/* HEADER with a value */
	{ "HEADER X-Mailer foo", "4" },
	/* HEADER: the field name is case-insensitive */
	{ "HEADER x-mailer \"MAIL 1.0\"", "4" },
	/* HEADER with an empty string: the field exists */
	{ "HEADER X-Mailer \"\"", "4" },
	/* HEADER with an empty string on a field with an empty value */
	{ "HEADER X-Empty \"\"", "4" },
	/* HEADER with an empty string on a missing field */
	{ "HEADER X-Missing \"\"", "" },
	/* HEADER on the second occurrence of a field */
	{ "HEADER Received c.example", "5" },
	/* HEADER: occurrences are separate lines, not glued together */
	{ "HEADER Received \"b.examplefrom\"", "" },
	/* HEADER Date: raw header text */
	{ "HEADER Date EST", "2" },
	/* BODY, plain */
	{ "BODY budget", "1" },
	/* BODY does not look at the header */
	{ "BODY meeting", "" },
	/* BODY in a literal */
	{ "BODY {6}\r\nbudget", "1" },
	/* BODY: ISO-8859-1 quoted-printable, needle in UTF-8 */
	{ "CHARSET UTF-8 BODY \"gr\xc3\xbc\xc3\x9f" "e\"", "2" },
	/* BODY: the QP soft line break is gone, the hard one stays */
	{ "CHARSET UTF-8 BODY {8}\r\ne,\r\nJ\xc3\xbcr", "2" },
	/* BODY: "=FC" decoded from ISO-8859-1 */
	{ "CHARSET UTF-8 BODY \"j\xc3\xbcrgen\"", "2" },
	/* BODY: base64 UTF-8 body, needle upper case */
	{ "CHARSET UTF-8 BODY \"\xc3\x9cN\xc3\x8f" "C\xc3\x96" "D\xc3\x89\"", "3" },
	/* BODY: base64, second line */
	{ "BODY \"second line\"", "3" },
	/* BODY: a text/plain part of a multipart */
	{ "BODY \"visible text\"", "4" },
	/* BODY: the QP text/html part of the multipart (=20 decoded) */
	{ "BODY \"bold move\"", "4" },
	/* BODY: a non-text part is not searched */
	{ "BODY binarysecret", "" },
	/* BODY: the MIME preamble is not a text part */
	{ "BODY preamble", "" },
	/* BODY: the base64 text itself is not searched */
	{ "BODY w5xuw69j", "" },
	/* BODY with the US-ASCII charset */
	{ "CHARSET US-ASCII BODY hello", "1" },
	/* BODY with an empty string matches every message */
	{ "BODY \"\"", "1,2,3,4,5" },
	/* TEXT: in the header */
	{ "TEXT meeting", "1" },
	/* TEXT: in the body */
	{ "TEXT budget", "1" },
	/* TEXT: a header field name is header text */
	{ "TEXT x-mailer", "4" },
	/* TEXT: decoded subject and body of 2 */
	{ "CHARSET UTF-8 TEXT \"gr\xc3\xbc\xc3\x9f" "e\"", "2" },
	/* TEXT: Bcc */
	{ "TEXT hidden", "3" },
	/* TEXT not anywhere */
	{ "TEXT zebra", "" },
	/* sequence number */
	{ "1", "1" },
	/* sequence range */
	{ "2:4", "2,3,4" },
	/* "*" is the last message */
	{ "*", "5" },
	/* range to "*" */
	{ "4:*", "4,5" },
	/* reversed range with "*" */
	{ "*:4", "4,5" },
	/* a list of numbers */
	{ "1,3,5", "1,3,5" },
	/* beyond the last message: 6:* is 5:6 */
	{ "6:*", "5" },
	/* beyond the last message, no "*" */
	{ "7:9", "" },
	/* UID range */
	{ "UID 20:30", "2,3" },
	/* UID "*" is the largest UID */
	{ "UID *", "5" },
	/* UID range to "*" */
	{ "UID 35:*", "4,5" },
	/* UID range above the largest UID still holds "*" */
	{ "UID 60:*", "5" },
	/* UIDs no message has */
	{ "UID 1:9", "" },
	/* a UID list */
	{ "UID 10,50", "1,5" },
	/* NOT */
	{ "NOT SEEN", "2,4,5" },
	/* NOT NOT */
	{ "NOT NOT SEEN", "1,3" },
	/* NOT of a multi-flag key */
	{ "NOT NEW", "1,3,4,5" },
	/* OR */
	{ "OR SEEN FLAGGED", "1,2,3" },
	/* OR with a list */
	{ "OR (SEEN DELETED) DRAFT", "3,4" },
	/* NOT OR */
	{ "NOT OR SEEN DRAFT", "2,5" },
	/* nested OR */
	{ "OR OR ANSWERED DRAFT KEYWORD $Later", "2,3,4" },
	/* NOT of a list */
	{ "NOT (SEEN UNDELETED)", "2,3,4,5" },
	/* OR of text keys */
	{ "OR BODY budget SUBJECT multipart", "1,4" },
	/* OR mixing a text key and a flag */
	{ "OR DRAFT BODY budget", "1,4" },
	/* NOT of a text key */
	{ "NOT BODY budget", "2,3,4,5" },
	/* implicit AND */
	{ "SEEN UNDELETED", "1" },
	/* AND of lists */
	{ "(SEEN) (UNDELETED)", "1" },
	/* nested lists */
	{ "((SEEN (UNDELETED)))", "1" },
	/* contradictory flags */
	{ "SEEN UNSEEN", "" },
	/* AND of a flag and a text key */
	{ "SEEN BODY budget", "1" },
	/* AND where the flag fails */
	{ "UNSEEN BODY budget", "" },
	/* AND of a sequence set and a flag */
	{ "1:3 SEEN", "1,3" },
	/* AND of two text keys on the same field */
	{ "SUBJECT meeting SUBJECT tomorrow", "1" },
	/* AND of two text keys on the same field, one failing */
	{ "SUBJECT meeting SUBJECT yesterday", "" },
	/* AND of date keys: a range */
	{ "SINCE 1-Jul-2003 BEFORE 2-Jul-2003", "1,4" },
	/* ALL inside an AND */
	{ "ALL DRAFT", "4" },
	/* MODSEQ: modseqs are 5..25 */
	{ "MODSEQ 15", "3,4,5" },
	/* MODSEQ with an entry name and type */
	{ "MODSEQ \"/flags/\\\\Seen\" all 20", "4,5" },
	/* MODSEQ 0 */
	{ "MODSEQ 0", "1,2,3,4,5" },
};

START_TEST(test_match)
{
	struct pool pool = POOL_INIT;
	struct imap_search *s = NULL;
	const char *error = NULL;
	char got[64];

	msgs_init();
	if (parse_program(&pool, match_cases[_i].program, 0, &s, &error) < 0)
		ck_abort_msg("%s: %s", match_cases[_i].program, error);
	run_search(s, got, sizeof(got));
	ck_assert_msg(strcmp(got, match_cases[_i].expect) == 0,
		      "%s: got \"%s\", expected \"%s\"",
		      match_cases[_i].program, got, match_cases[_i].expect);
	imap_search_destroy(&s);
	ck_assert_ptr_null(s);
	pool_free(&pool);
}
END_TEST

static const struct {
	const char *program;
	int badcharset;
} error_cases[] = {
	/* no search key */
	{ "", 0 },
	/* CHARSET without a name */
	{ "CHARSET", 0 },
	/* CHARSET without keys */
	{ "CHARSET UTF-8", 0 },
	/* an unsupported charset */
	{ "CHARSET KOI8-R ALL", 1 },
	/* a charset iconv knows is still refused */
	{ "CHARSET ISO-8859-1 BODY x", 1 },
	/* unsupported charset, quoted */
	{ "CHARSET \"x-unknown\" ALL", 1 },
	/* an unknown key */
	{ "FROB", 0 },
	/* an unknown key after a good one */
	{ "SEEN FROB", 0 },
	/* a quoted string where a key is expected */
	{ "\"SEEN\"", 0 },
	/* BODY without its string */
	{ "BODY", 0 },
	/* BODY with a list for its string */
	{ "BODY (x)", 0 },
	/* HEADER without anything */
	{ "HEADER", 0 },
	/* HEADER without its string */
	{ "HEADER Subject", 0 },
	/* HEADER with an empty field name */
	{ "HEADER \"\" x", 0 },
	/* HEADER with a colon in the field name */
	{ "HEADER \"a:b\" x", 0 },
	/* KEYWORD without its flag */
	{ "KEYWORD", 0 },
	/* BEFORE without a date */
	{ "BEFORE", 0 },
	/* SINCE with a bad month */
	{ "SINCE 1-Foo-2003", 0 },
	/* ON with a word */
	{ "ON yesterday", 0 },
	/* SENTON with a date-time */
	{ "SENTON \"1-Jul-2003 10:00:00 +0000\"", 0 },
	/* LARGER without a number */
	{ "LARGER", 0 },
	/* LARGER with a word */
	{ "LARGER abc", 0 },
	/* LARGER with a negative number */
	{ "LARGER -1", 0 },
	/* SMALLER overflowing 64 bits */
	{ "SMALLER 18446744073709551616", 0 },
	/* UID without a set */
	{ "UID", 0 },
	/* UID with junk */
	{ "UID abc", 0 },
	/* UID 0 is not a UID */
	{ "UID 0", 0 },
	/* a sequence set with 0 */
	{ "1:0", 0 },
	/* NOT without a key */
	{ "NOT", 0 },
	/* OR with one key */
	{ "OR SEEN", 0 },
	/* an empty list */
	{ "()", 0 },
	/* a list holding a bad key */
	{ "(SEEN FROB)", 0 },
	/* unbalanced: the command parser refuses it */
	{ "(SEEN", 0 },
	/* unbalanced the other way */
	{ "SEEN)", 0 },
	/* MODSEQ without a value */
	{ "MODSEQ", 0 },
	/* MODSEQ with a bad entry type */
	{ "MODSEQ \"/flags/\\\\Seen\" bogus 5", 0 },
	/* MODSEQ with an entry but no value */
	{ "MODSEQ \"/flags/\\\\Seen\" all", 0 },
};

START_TEST(test_errors)
{
	struct pool pool = POOL_INIT;
	struct imap_search *s = NULL;
	const char *error = NULL;

	ck_assert_msg(parse_program(&pool, error_cases[_i].program, 0, &s,
				    &error) < 0, "%s: accepted",
		      error_cases[_i].program);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(error);
	ck_assert_int_eq(imap_search_error_is_badcharset(error),
			 error_cases[_i].badcharset);
	pool_free(&pool);
}
END_TEST

/* Builds "NOT NOT ... SEEN" with n NOTs. */
static char *nots(unsigned n)
{
	char *p = xmalloc(n * 4 + 8), *out = p;
	unsigned i;

	for (i = 0; i < n; i++, p += 4)
		memcpy(p, "NOT ", 4);
	strcpy(p, "SEEN");
	return out;
}

static const struct {
	unsigned count;  /* NOTs */
	int ok;
} depth_cases[] = {
	/* 64 NOTs: at the limit, even: SEEN */
	{ 64, 1 },
	/* 63 NOTs: odd: UNSEEN */
	{ 63, 1 },
	/* 65 NOTs: beyond the limit */
	{ 65, 0 },
	/* 100,000 NOTs: refused without recursing that deep */
	{ 100000, 0 },
};

START_TEST(test_depth_not)
{
	struct pool pool = POOL_INIT;
	struct imap_search *s = NULL;
	const char *error = NULL;
	char *program = nots(depth_cases[_i].count);
	char got[64];
	int ret;

	msgs_init();
	ret = parse_program(&pool, program, 0, &s, &error);
	free(program);
	if (!depth_cases[_i].ok) {
		ck_assert_int_eq(ret, -1);
		ck_assert_int_eq(imap_search_error_is_badcharset(error), 0);
	} else {
		ck_assert_int_eq(ret, 0);
		run_search(s, got, sizeof(got));
		ck_assert_str_eq(got, depth_cases[_i].count % 2 == 0 ?
				 "1,3" : "2,4,5");
		imap_search_destroy(&s);
	}
	pool_free(&pool);
}
END_TEST

/* Nested lists deeper than the command parser allows, built by hand:
   (((...(SEEN)...))) with `depth` lists. */
static struct imap_arg *nested_lists(struct pool *pool, unsigned depth)
{
	struct imap_arg *arg = pool_alloc(pool, sizeof(*arg));

	arg->type = IMAP_ARG_ATOM;
	arg->str = "SEEN";
	arg->len = 4;
	while (depth-- > 0) {
		struct imap_arg *list = pool_alloc(pool, sizeof(*list));

		list->type = IMAP_ARG_LIST;
		list->list = arg;
		list->count = 1;
		arg = list;
	}
	return arg;
}

static const struct {
	unsigned lists;
	int ok;
} list_depth_cases[] = {
	/* 64 nested lists: at the limit */
	{ 64, 1 },
	/* 65 nested lists: refused */
	{ 65, 0 },
	/* 50,000 nested lists: refused */
	{ 50000, 0 },
};

START_TEST(test_depth_lists)
{
	struct pool pool = POOL_INIT;
	struct imap_search *s = NULL;
	const char *error = NULL;
	struct imap_arg *arg = nested_lists(&pool, list_depth_cases[_i].lists);
	int ret = imap_search_parse(arg, 1, 0, &pool, &s, &error);

	msgs_init();
	ck_assert_int_eq(ret, list_depth_cases[_i].ok ? 0 : -1);
	if (ret == 0) {
		imap_search_prepare(s, MSG_COUNT, 50);
		ck_assert_int_eq(imap_search_match(s, &msgs[0], NULL, NULL), 1);
		ck_assert_int_eq(imap_search_match(s, &msgs[1], NULL, NULL), 0);
		imap_search_destroy(&s);
	}
	pool_free(&pool);
}
END_TEST

/* ---- a caller-provided source that counts its calls ---- */

struct mock {
	unsigned header_calls, header_all_calls, body_calls;
	int fail;
};

static int mock_header(void *ctx, const struct imap_msg *msg,
		       const char *field, struct strbuf *out)
{
	struct mock *m = ctx;

	m->header_calls++;
	if (m->fail)
		return -1;
	if (strcasecmp(field, "Subject") == 0) {
		strbuf_appendf(out, "subject of %u", msg->uid);
		return 1;
	}
	if (strcasecmp(field, "Date") == 0) {
		strbuf_appends(out, "Tue, 1 Jul 2003 10:52:37 +0200");
		return 1;
	}
	return 0;
}

static int mock_header_all(void *ctx, const struct imap_msg *msg,
			   struct strbuf *out)
{
	struct mock *m = ctx;

	(void)msg;
	m->header_all_calls++;
	strbuf_appends(out, "Subject: whatever\n");
	return m->fail ? -1 : 0;
}

static int mock_body(void *ctx, const struct imap_msg *msg,
		     struct strbuf *out)
{
	struct mock *m = ctx;

	(void)msg;
	m->body_calls++;
	strbuf_appends(out, "the body text");
	return m->fail ? -1 : 0;
}

static const struct imap_search_source mock_source = {
	0, IMAP_MSG_NEED_DATA, mock_header, mock_header_all, mock_body
};

static const struct {
	const char *program;
	unsigned needs_mock;     /* imap_search_needs() with the mock */
	unsigned needs_default;  /* ... with the built-in source */
	int match_seen;          /* on a seen message */
	int match_unseen;        /* on an unseen message */
	unsigned header_calls, header_all_calls, body_calls; /* over both */
} source_cases[] = {
	/* flags only: nothing to load, no source call */
	{ "SEEN UID 1:*", 0, 0, 1, 0, 0, 0, 0 },
	/* SUBJECT with header fields from the caller: nothing to load */
	{ "SUBJECT \"of 7\"", 0, IMAP_MSG_NEED_DATA, 1, 0, 2, 0, 0 },
	/* the same field twice: read once per message */
	{ "SUBJECT subject SUBJECT 7", 0, IMAP_MSG_NEED_DATA, 1, 0, 2, 0, 0 },
	/* HEADER and SENTON share the Date field */
	{ "HEADER Date 2003 SENTON 1-Jul-2003", 0, IMAP_MSG_NEED_DATA, 1, 1,
	  2, 0, 0 },
	/* a missing field is asked once and does not match */
	{ "HEADER X-None \"\"", 0, IMAP_MSG_NEED_DATA, 0, 0, 2, 0, 0 },
	/* BODY: the cheap key runs first; BODY only for the seen message */
	{ "BODY body SEEN", IMAP_MSG_NEED_DATA, IMAP_MSG_NEED_DATA, 1, 0,
	  0, 0, 1 },
	/* OR: the flag decides the seen message without the body */
	{ "OR BODY nothing SEEN", IMAP_MSG_NEED_DATA, IMAP_MSG_NEED_DATA, 1,
	  0, 0, 0, 1 },
	/* two BODY keys: the body is read once per message */
	{ "BODY the BODY text", IMAP_MSG_NEED_DATA, IMAP_MSG_NEED_DATA, 1, 1,
	  0, 0, 2 },
	/* TEXT found in the header: the body is not read */
	{ "TEXT whatever", IMAP_MSG_NEED_DATA, IMAP_MSG_NEED_DATA, 1, 1,
	  0, 2, 0 },
	/* TEXT not in the header: the body is read too */
	{ "TEXT body", IMAP_MSG_NEED_DATA, IMAP_MSG_NEED_DATA, 1, 1, 0, 2, 2 },
	/* NOT short-circuits inside an AND */
	{ "NOT SEEN SUBJECT x", 0, IMAP_MSG_NEED_DATA, 0, 0, 1, 0, 0 },
};

START_TEST(test_source)
{
	struct pool pool = POOL_INIT;
	struct imap_search *s = NULL;
	const char *error = NULL;
	struct mock m = { 0, 0, 0, 0 };
	struct imap_msg seen = { 0 }, unseen = { 0 };

	seen.seq = 1;
	seen.uid = 7;
	seen.flags = VIMAP_FLAG_SEEN;
	seen.keywords = "";
	unseen.seq = 2;
	unseen.uid = 8;
	unseen.keywords = "";
	if (parse_program(&pool, source_cases[_i].program, 1, &s, &error) < 0)
		ck_abort_msg("%s: %s", source_cases[_i].program, error);
	ck_assert_int_eq(imap_search_is_uid(s), 1);
	imap_search_prepare(s, 2, 8);
	ck_assert_uint_eq(imap_search_needs(s, &mock_source),
			  source_cases[_i].needs_mock);
	ck_assert_uint_eq(imap_search_needs(s, NULL),
			  source_cases[_i].needs_default);
	ck_assert_int_eq(imap_search_match(s, &seen, &mock_source, &m),
			 source_cases[_i].match_seen);
	ck_assert_int_eq(imap_search_match(s, &unseen, &mock_source, &m),
			 source_cases[_i].match_unseen);
	ck_assert_uint_eq(m.header_calls, source_cases[_i].header_calls);
	ck_assert_uint_eq(m.header_all_calls, source_cases[_i].header_all_calls);
	ck_assert_uint_eq(m.body_calls, source_cases[_i].body_calls);
	imap_search_destroy(&s);
	pool_free(&pool);
}
END_TEST

/* A failing source makes the match fail; the default source fails without
   message data. */
START_TEST(test_source_failure)
{
	struct pool pool = POOL_INIT;
	struct imap_search *s = NULL;
	const char *error = NULL;
	struct mock m = { 0, 0, 0, 1 };
	struct imap_msg msg = { 0 };

	msg.seq = 1;
	msg.uid = 1;
	msg.flags = VIMAP_FLAG_SEEN;
	ck_assert_int_eq(parse_program(&pool, "SEEN SUBJECT x", 0, &s, &error), 0);
	imap_search_prepare(s, 1, 1);
	/* the source fails */
	ck_assert_int_eq(imap_search_match(s, &msg, &mock_source, &m), -1);
	/* the built-in source without data */
	ck_assert_int_eq(imap_search_match(s, &msg, NULL, NULL), -1);
	/* the flag decides first: no data needed */
	msg.flags = 0;
	ck_assert_int_eq(imap_search_match(s, &msg, NULL, NULL), 0);
	imap_search_destroy(&s);
	/* destroying twice is harmless */
	imap_search_destroy(&s);
	pool_free(&pool);
}
END_TEST

/* Only `header` from the caller: the built-in source reads the body. */
static const struct imap_search_source mock_header_only = {
	0, 0, mock_header, NULL, NULL
};

static const struct {
	const char *program;
	unsigned needs;          /* imap_search_needs() with mock_header_only */
	const char *expect;      /* matching sequence numbers */
} partial_cases[] = {
	/* the header from the caller: nothing to load */
	{ "SUBJECT \"of 10\"", 0, "1" },
	/* the body from the data */
	{ "SUBJECT \"of 10\" BODY budget", IMAP_MSG_NEED_DATA, "1" },
	/* the body from the data, not matching */
	{ "SUBJECT \"of 10\" BODY zebra", IMAP_MSG_NEED_DATA, "" },
	/* TEXT: header_all from the data too */
	{ "TEXT x-mailer", IMAP_MSG_NEED_DATA, "4" },
	/* the Date from the caller's header: every message sent 1-Jul-2003 */
	{ "SENTON 1-Jul-2003", 0, "1,2,3,4,5" },
};

START_TEST(test_partial_source)
{
	struct pool pool = POOL_INIT;
	struct imap_search *s = NULL;
	const char *error = NULL;
	struct mock m = { 0, 0, 0, 0 };
	char got[64];
	size_t len = 0;
	unsigned i;

	msgs_init();
	got[0] = '\0';
	ck_assert_int_eq(parse_program(&pool, partial_cases[_i].program, 0,
				       &s, &error), 0);
	imap_search_prepare(s, MSG_COUNT, 50);
	ck_assert_uint_eq(imap_search_needs(s, &mock_header_only),
			  partial_cases[_i].needs);
	for (i = 0; i < MSG_COUNT; i++) {
		int ret = imap_search_match(s, &msgs[i], &mock_header_only, &m);

		ck_assert_int_ge(ret, 0);
		if (ret == 1)
			len += (size_t)snprintf(got + len, sizeof(got) - len,
						"%s%u", len > 0 ? "," : "", i + 1);
	}
	ck_assert_str_eq(got, partial_cases[_i].expect);
	imap_search_destroy(&s);
	pool_free(&pool);
}
END_TEST

static const struct {
	const char *program;
	uint32_t flags;
	int expect;  /* enum imap_search_prematch_result */
} prematch_cases[] = {
	/* flag only, matching */
	{ "SEEN", VIMAP_FLAG_SEEN, IMAP_SEARCH_YES },
	/* flag only, not matching */
	{ "SEEN", 0, IMAP_SEARCH_NO },
	/* AND: the flag fails: no need for the body */
	{ "SEEN BODY x", 0, IMAP_SEARCH_NO },
	/* AND: the flag holds: the body decides */
	{ "SEEN BODY x", VIMAP_FLAG_SEEN, IMAP_SEARCH_MAYBE },
	/* OR: the flag holds */
	{ "OR SEEN BODY x", VIMAP_FLAG_SEEN, IMAP_SEARCH_YES },
	/* OR: the flag fails */
	{ "OR SEEN BODY x", 0, IMAP_SEARCH_MAYBE },
	/* NOT of an unknown stays unknown */
	{ "NOT BODY x", 0, IMAP_SEARCH_MAYBE },
	/* NOT of an OR that holds */
	{ "NOT OR SEEN HEADER a b", VIMAP_FLAG_SEEN, IMAP_SEARCH_NO },
};

START_TEST(test_prematch)
{
	struct pool pool = POOL_INIT;
	struct imap_search *s = NULL;
	const char *error = NULL;
	struct imap_msg msg = { 0 };

	msg.seq = 1;
	msg.uid = 1;
	msg.flags = prematch_cases[_i].flags;
	ck_assert_int_eq(parse_program(&pool, prematch_cases[_i].program, 0,
				       &s, &error), 0);
	imap_search_prepare(s, 1, 1);
	ck_assert_int_eq((int)imap_search_prematch(s, &msg),
			 prematch_cases[_i].expect);
	imap_search_destroy(&s);
	pool_free(&pool);
}
END_TEST

/* Sequence sets are resolved by imap_search_prepare(), again whenever the
   view changes. */
START_TEST(test_prepare)
{
	struct pool pool = POOL_INIT;
	struct imap_search *s = NULL;
	const char *error = NULL;
	struct imap_msg msg = { 0 };

	ck_assert_int_eq(parse_program(&pool, "*", 0, &s, &error), 0);
	msg.seq = 3;
	msg.uid = 3;
	/* before prepare: sets match nothing */
	ck_assert_int_eq(imap_search_match(s, &msg, NULL, NULL), 0);
	/* empty mailbox: "*" matches nothing */
	imap_search_prepare(s, 0, 0);
	ck_assert_int_eq(imap_search_match(s, &msg, NULL, NULL), 0);
	/* three messages: 3 is "*" */
	imap_search_prepare(s, 3, 3);
	ck_assert_int_eq(imap_search_match(s, &msg, NULL, NULL), 1);
	/* a fourth arrived: 3 is no longer "*" */
	imap_search_prepare(s, 4, 4);
	ck_assert_int_eq(imap_search_match(s, &msg, NULL, NULL), 0);
	ck_assert_int_eq(imap_search_has_modseq(s), 0);
	ck_assert_int_eq(imap_search_is_uid(s), 0);
	imap_search_destroy(&s);
	ck_assert_int_eq(parse_program(&pool, "MODSEQ 1", 0, &s, &error), 0);
	ck_assert_int_eq(imap_search_has_modseq(s), 1);
	imap_search_destroy(&s);
	pool_free(&pool);
}
END_TEST

/* ---- RFC 5322 dates ---- */

static const struct {
	const char *text;
	int ok;
	int y, mon, d, hh, mm, ss, tz; /* expected when ok; tz in minutes */
} date_cases[] = {
	/* the usual form */
	{ "Tue, 1 Jul 2003 10:52:37 +0200", 1, 2003, 7, 1, 10, 52, 37, 120 },
	/* two-digit day, negative zone */
	{ "01 Jul 2003 10:52:37 -0700", 1, 2003, 7, 1, 10, 52, 37, -420 },
	/* -0000: unknown zone, UTC */
	{ "1 Jul 2003 10:52:37 -0000", 1, 2003, 7, 1, 10, 52, 37, 0 },
	/* obsolete: 2-digit year below 50, no seconds, zone name */
	{ "1 Jul 03 10:52 EST", 1, 2003, 7, 1, 10, 52, 0, -300 },
	/* obsolete: 2-digit year from 50 */
	{ "Thu, 1 Jul 99 10:52 PDT", 1, 1999, 7, 1, 10, 52, 0, -420 },
	/* obsolete: 3-digit year */
	{ "1 Jul 103 10:52:00 GMT", 1, 2003, 7, 1, 10, 52, 0, 0 },
	/* obsolete: whitespace around the colons, nested comments */
	{ "Tue,  1 Jul 2003 10 : 52 : 37 (a (nested) comment) +0200", 1,
	  2003, 7, 1, 10, 52, 37, 120 },
	/* a trailing zone comment */
	{ "Tue, 1 Jul 2003 10:52:37 +0200 (CEST)", 1, 2003, 7, 1, 10, 52, 37, 120 },
	/* a military zone counts as +0000 */
	{ "1 Jul 2003 10:52:37 A", 1, 2003, 7, 1, 10, 52, 37, 0 },
	/* UT */
	{ "1 Jul 2003 10:52:37 UT", 1, 2003, 7, 1, 10, 52, 37, 0 },
	/* CDT */
	{ "1 Jul 2003 10:52:37 cdt", 1, 2003, 7, 1, 10, 52, 37, -300 },
	/* MST */
	{ "1 Jul 2003 10:52:37 MST", 1, 2003, 7, 1, 10, 52, 37, -420 },
	/* asctime order, no zone */
	{ "Tue Jul  1 10:52:37 2003", 1, 2003, 7, 1, 10, 52, 37, 0 },
	/* dashes between the fields */
	{ "1-Jul-2003 10:52:37 +0200", 1, 2003, 7, 1, 10, 52, 37, 120 },
	/* a full month name, no time */
	{ "1 July 2003", 1, 2003, 7, 1, 0, 0, 0, 0 },
	/* a leap day */
	{ "Sun, 29 Feb 2004 12:00:00 Z", 1, 2004, 2, 29, 12, 0, 0, 0 },
	/* a comment between date and time */
	{ "Sun, 29 Feb 2004 (comment) 12:00:00 GMT", 1, 2004, 2, 29, 12, 0, 0, 0 },
	/* a leap second */
	{ "31 Dec 2016 23:59:60 +0000", 1, 2016, 12, 31, 23, 59, 60, 0 },
	/* a zone with bad minutes is ignored */
	{ "1 Jul 2003 10:52:37 +0260", 1, 2003, 7, 1, 10, 52, 37, 0 },
	/* empty */
	{ "", 0, 0, 0, 0, 0, 0, 0, 0 },
	/* junk */
	{ "garbage", 0, 0, 0, 0, 0, 0, 0, 0 },
	/* 29 Feb of a common year */
	{ "29 Feb 2003 10:00:00 +0000", 0, 0, 0, 0, 0, 0, 0, 0 },
	/* 30 Feb */
	{ "30 Feb 2004 10:00:00 +0000", 0, 0, 0, 0, 0, 0, 0, 0 },
	/* an unknown month */
	{ "1 Foo 2003 10:00:00 +0000", 0, 0, 0, 0, 0, 0, 0, 0 },
	/* no day */
	{ "Jul 2003", 0, 0, 0, 0, 0, 0, 0, 0 },
	/* no year */
	{ "1 Jul", 0, 0, 0, 0, 0, 0, 0, 0 },
	/* hour 25 */
	{ "1 Jul 2003 25:00:00 +0000", 0, 0, 0, 0, 0, 0, 0, 0 },
	/* minute 61 */
	{ "1 Jul 2003 10:61:00 +0000", 0, 0, 0, 0, 0, 0, 0, 0 },
	/* day 0 */
	{ "0 Jul 2003", 0, 0, 0, 0, 0, 0, 0, 0 },
};

START_TEST(test_date)
{
	int64_t t = 0;
	int32_t tz = 0;
	int ret = imap_search_date_parse(date_cases[_i].text,
					 strlen(date_cases[_i].text), &t, &tz);

	ck_assert_msg(ret == (date_cases[_i].ok ? 0 : -1), "%s: %d",
		      date_cases[_i].text, ret);
	if (ret == 0) {
		struct tm tm = { 0 };
		int64_t expect;

		tm.tm_year = date_cases[_i].y - 1900;
		tm.tm_mon = date_cases[_i].mon - 1;
		tm.tm_mday = date_cases[_i].d;
		tm.tm_hour = date_cases[_i].hh;
		tm.tm_min = date_cases[_i].mm;
		tm.tm_sec = date_cases[_i].ss;
		expect = (int64_t)timegm(&tm) - (int64_t)date_cases[_i].tz * 60;
		ck_assert_msg(t == expect, "%s: %lld, expected %lld",
			      date_cases[_i].text, (long long)t,
			      (long long)expect);
		ck_assert_int_eq(tz, date_cases[_i].tz);
	}
}
END_TEST

static Suite *imap_search_suite(void)
{
	Suite *s = suite_create("imap_search");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_match, 0,
			    sizeof(match_cases) / sizeof(match_cases[0]));
	tcase_add_loop_test(tc, test_errors, 0,
			    sizeof(error_cases) / sizeof(error_cases[0]));
	tcase_add_loop_test(tc, test_depth_not, 0,
			    sizeof(depth_cases) / sizeof(depth_cases[0]));
	tcase_add_loop_test(tc, test_depth_lists, 0,
			    sizeof(list_depth_cases) / sizeof(list_depth_cases[0]));
	tcase_add_loop_test(tc, test_source, 0,
			    sizeof(source_cases) / sizeof(source_cases[0]));
	tcase_add_test(tc, test_source_failure);
	tcase_add_loop_test(tc, test_partial_source, 0,
			    sizeof(partial_cases) / sizeof(partial_cases[0]));
	tcase_add_loop_test(tc, test_prematch, 0,
			    sizeof(prematch_cases) / sizeof(prematch_cases[0]));
	tcase_add_test(tc, test_prepare);
	tcase_add_loop_test(tc, test_date, 0,
			    sizeof(date_cases) / sizeof(date_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(imap_search_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
