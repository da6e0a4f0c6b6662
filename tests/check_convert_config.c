#include "autoconfig.h"
/* Unit tests of tools/convert-config.c (`vimap convert-config`): every seed
 * statement, comments, blank lines and case, every class of error with its
 * exact line, the 1800-second floor, the 32-id limit, TRACE combinations,
 * repeated statements, and the atomic write.  Every converted file is
 * loaded back with the real config_load() and its values checked. */
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"
#include "convert-config.h"
#include "strbuf.h"
#include "xalloc.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
/* What every case's seed file is called in messages. */
#define NAME "IMAP CONFIG"
/* The two required statements, lines 1 and 2 of most cases. */
#define REQ "FILEPOOLID VMSERV1\nBADFILEID MAINT\n"

static char tmpdir[PATH_MAX];

/* ---- Helpers ---- */

/* A stream holding `len` bytes of `text` (NUL bytes included). */
static FILE *stream_of(const char *text, size_t len)
{
	FILE *f = tmpfile();

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	rewind(f);
	return f;
}

/* Runs convert_config() on `text`; returns its result. */
static int convert_text(const char *text, size_t len, struct strbuf *out,
			struct strbuf *warnings, const char **error_r)
{
	FILE *in = stream_of(text, len);
	int ret = convert_config(in, NAME, out, warnings, error_r);

	fclose(in);
	return ret;
}

static char *temp_path(const char *what)
{
	static unsigned counter;

	/* Each test runs in a process of its own: the pid keeps names apart. */
	return xasprintf("%s/%s%d-%u.yaml", tmpdir, what, (int)getpid(), counter++);
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "fopen(%s) failed", path);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

/* The whole file at `path` (caller frees), or NULL when it does not exist. */
static char *read_file(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_append(&sb, buf, n);
	fclose(f);
	strbuf_appends(&sb, "");
	return strbuf_steal(&sb);
}

/* Loads converted YAML with the real parser; asserts success. */
static struct vimap_config *load_yaml(const char *yaml)
{
	struct vimap_config *cfg = NULL;
	const char *error = NULL;
	char *path = temp_path("converted");

	write_file(path, yaml, strlen(yaml));
	ck_assert_msg(config_load(path, &cfg, &error) == 0, "config_load failed: %s\n---\n%s",
		      error, yaml);
	free(path);
	return cfg;
}

/* The ids joined by single blanks; caller frees. */
static char *joined_origins(const struct vimap_config *cfg)
{
	struct strbuf sb = STRBUF_INIT;
	unsigned i;

	for (i = 0; i < cfg->mailoriginid_count; i++)
		strbuf_appendf(&sb, "%s%s", i > 0 ? " " : "", cfg->mailoriginid[i]);
	strbuf_appends(&sb, "");
	return strbuf_steal(&sb);
}

/* ---- Conversions that succeed ---- */

/* What config_load() must read from the converted file. */
struct expect {
	const char *filepoolid, *badfileid;
	const char *origins;       /* the ids, joined by one blank */
	unsigned trace;            /* VIMAP_TRACE_* bits */
	const char *socketio;      /* NULL: socket I/O for every address */
	const char *authenticate;
	unsigned port, readerthreads, idle_unauth, idle_auth, blocks, group;
};

#define DEFAULTS "VMSERV1", "MAINT", "SMTP", 0, NULL, "cp", 143, 1, 60, 0, 100, 2
#define CF VIMAP_TRACE_CODEFLOW
#define SL VIMAP_TRACE_SOCKLIBCALLS
#define SI VIMAP_TRACE_SOCKETIO

struct value_case {
	const char *seed;
	struct expect want;
	const char *snippet;       /* must appear in the YAML; NULL: none */
	const char *warnings;      /* exact warnings ("" for none) */
};

static const struct value_case value_cases[] = {
	/* only the two required statements: everything else keeps its default */
	{ REQ, { DEFAULTS },
	  "# line 1: FILEPOOLID VMSERV1\n", "" },
	/* FILEPOOLID: written as given, with what it must become */
	{ REQ, { DEFAULTS },
	  "# was the SFS server's user id VMSERV1: set to the mailstore directory\n"
	  "# (storage: localfs) or a PostgreSQL conninfo (storage: sfs)\n"
	  "filepoolid: \"VMSERV1\"\n", "" },
	/* BADFILEID: written as given, with what it must become */
	{ REQ, { DEFAULTS },
	  "# line 2: BADFILEID MAINT\n"
	  "# was the user id MAINT, to whom undeliverable reader files were sent:\n"
	  "# set to the directory that undeliverable mail is moved into\n"
	  "badfileid: \"MAINT\"\n", "" },
	/* keywords in any case; the comment shows the keyword in capitals */
	{ "filepoolid vmserv1\nBadFileId maint\n",
	  { "vmserv1", "maint", "SMTP", 0, NULL, "cp", 143, 1, 60, 0, 100, 2 },
	  "# line 2: BADFILEID maint\n", "" },
	/* comment lines (also after blanks), blank lines and blank-only lines */
	{ "; IMAP CONFIG\n\n   ; indented comment\n \t \nFILEPOOLID VMSERV1\n\n;x\nBADFILEID MAINT\n",
	  { DEFAULTS }, "# line 8: BADFILEID MAINT\n", "" },
	/* leading blanks and tabs, several blanks between the words */
	{ "   FILEPOOLID \t  VMSERV1   \n\t\tBADFILEID MAINT\t\n  PORT    1143\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "cp", 1143, 1, 60, 0, 100, 2 },
	  "# line 3: PORT 1143\nport: 1143\n", "" },
	/* CRLF line ends (a file moved from the VM by text-mode FTP) */
	{ "FILEPOOLID VMSERV1\r\nBADFILEID MAINT\r\nPORT 993\r\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "cp", 993, 1, 60, 0, 100, 2 }, NULL, "" },
	/* no newline after the last line */
	{ "FILEPOOLID VMSERV1\nBADFILEID MAINT", { DEFAULTS }, NULL, "" },
	/* values YAML would otherwise read as null, booleans, numbers or syntax */
	{ "FILEPOOLID null\nBADFILEID yes\n",
	  { "null", "yes", "SMTP", 0, NULL, "cp", 143, 1, 60, 0, 100, 2 }, NULL, "" },
	/* ... and as a number, an alias, a flow list or a comment */
	{ "FILEPOOLID 0143\nBADFILEID *bad\nMAILORIGINID [a] #b ~ &c {d}\n",
	  { "0143", "*bad", "[a] #b ~ &c {d}", 0, NULL, "cp", 143, 1, 60, 0, 100, 2 },
	  "mailoriginid: [\"[a]\", \"#b\", \"~\", \"&c\", \"{d}\"]\n", "" },
	/* quotes and backslashes are escaped */
	{ "FILEPOOLID a\"b\\c\nBADFILEID 'x'\n",
	  { "a\"b\\c", "'x'", "SMTP", 0, NULL, "cp", 143, 1, 60, 0, 100, 2 },
	  "filepoolid: \"a\\\"b\\\\c\"\n", "" },
	/* MAILORIGINID: one id */
	{ REQ "MAILORIGINID MAILER\n",
	  { "VMSERV1", "MAINT", "MAILER", 0, NULL, "cp", 143, 1, 60, 0, 100, 2 },
	  "# line 3: MAILORIGINID MAILER\nmailoriginid: [\"MAILER\"]\n", "" },
	/* MAILORIGINID: several ids */
	{ REQ "MAILORIGINID SMTP SMTP2 MAILER\n",
	  { "VMSERV1", "MAINT", "SMTP SMTP2 MAILER", 0, NULL, "cp", 143, 1, 60, 0, 100, 2 },
	  NULL, "" },
	/* MAILORIGINID repeated: the ids add up, each line commented, no warning */
	{ REQ "MAILORIGINID SMTP\nPORT 1143\nmailoriginid SMTP2 smtp\n",
	  { "VMSERV1", "MAINT", "SMTP SMTP2 smtp", 0, NULL, "cp", 1143, 1, 60, 0, 100, 2 },
	  "# line 3: MAILORIGINID SMTP\n# line 5: MAILORIGINID SMTP2 smtp\n"
	  "mailoriginid: [\"SMTP\", \"SMTP2\", \"smtp\"]\n", "" },
	/* TRACE ALL */
	{ REQ "TRACE ALL\n",
	  { "VMSERV1", "MAINT", "SMTP", CF | SL | SI, NULL, "cp", 143, 1, 60, 0, 100, 2 },
	  "trace:\n  # line 3: TRACE ALL\n  all: true\n", "" },
	/* TRACE CODEFLOW */
	{ REQ "TRACE CODEFLOW\n",
	  { "VMSERV1", "MAINT", "SMTP", CF, NULL, "cp", 143, 1, 60, 0, 100, 2 },
	  "  codeflow: true\n", "" },
	/* TRACE SOCKLIBCALLS */
	{ REQ "TRACE SOCKLIBCALLS\n",
	  { "VMSERV1", "MAINT", "SMTP", SL, NULL, "cp", 143, 1, 60, 0, 100, 2 },
	  "  socklibcalls: true\n", "" },
	/* TRACE SOCKETIO: every address */
	{ REQ "TRACE SOCKETIO\n",
	  { "VMSERV1", "MAINT", "SMTP", SI, NULL, "cp", 143, 1, 60, 0, 100, 2 },
	  "  socketio: true\n", "" },
	/* TRACE SOCKETIO ipaddr: one IPv4 address */
	{ REQ "TRACE SOCKETIO 192.0.2.7\n",
	  { "VMSERV1", "MAINT", "SMTP", SI, "192.0.2.7", "cp", 143, 1, 60, 0, 100, 2 },
	  "  socketio: \"192.0.2.7\"\n", "" },
	/* TRACE SOCKETIO ipaddr: an IPv6 address */
	{ REQ "TRACE SOCKETIO 2001:db8::7\n",
	  { "VMSERV1", "MAINT", "SMTP", SI, "2001:db8::7", "cp", 143, 1, 60, 0, 100, 2 },
	  NULL, "" },
	/* TRACE: class names in any case */
	{ REQ "trace codeflow\nTrace SockLibCalls\n",
	  { "VMSERV1", "MAINT", "SMTP", CF | SL, NULL, "cp", 143, 1, 60, 0, 100, 2 },
	  "  # line 3: TRACE codeflow\n  codeflow: true\n"
	  "  # line 4: TRACE SockLibCalls\n  socklibcalls: true\n", "" },
	/* TRACE: several statements combine into one mapping */
	{ REQ "TRACE CODEFLOW\nPORT 1143\nTRACE SOCKLIBCALLS\nTRACE SOCKETIO 10.0.0.1\n",
	  { "VMSERV1", "MAINT", "SMTP", CF | SL | SI, "10.0.0.1", "cp", 1143, 1, 60, 0, 100, 2 },
	  NULL, "" },
	/* TRACE ALL and TRACE SOCKETIO ipaddr: all on, socket I/O for one address */
	{ REQ "TRACE ALL\nTRACE SOCKETIO 192.0.2.9\n",
	  { "VMSERV1", "MAINT", "SMTP", CF | SL | SI, "192.0.2.9", "cp", 143, 1, 60, 0, 100, 2 },
	  "  all: true\n  # line 4: TRACE SOCKETIO 192.0.2.9\n  socketio: \"192.0.2.9\"\n", "" },
	/* TRACE SOCKETIO twice: the later (every address) wins, with a warning */
	{ REQ "TRACE SOCKETIO 192.0.2.9\nTRACE SOCKETIO\n",
	  { "VMSERV1", "MAINT", "SMTP", SI, NULL, "cp", 143, 1, 60, 0, 100, 2 },
	  "  socketio: true\n",
	  NAME ":4: warning: TRACE SOCKETIO given again (earlier at line 3): line 4 wins\n" },
	/* AUTHENTICATE CP */
	{ REQ "AUTHENTICATE CP\n", { DEFAULTS }, "authenticate: cp\n", "" },
	/* AUTHENTICATE ESM */
	{ REQ "AUTHENTICATE ESM\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "esm", 143, 1, 60, 0, 100, 2 },
	  "# line 3: AUTHENTICATE ESM\n# esm: the host's external security manager (PAM)\n"
	  "authenticate: esm\n", "" },
	/* AUTHENTICATE: the operand in any case */
	{ REQ "authenticate esm\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "esm", 143, 1, 60, 0, 100, 2 }, NULL, "" },
	/* PORT: the lowest */
	{ REQ "PORT 1\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "cp", 1, 1, 60, 0, 100, 2 }, "port: 1\n", "" },
	/* PORT: the highest */
	{ REQ "PORT 65535\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "cp", 65535, 1, 60, 0, 100, 2 }, NULL, "" },
	/* PORT: a leading zero is decimal, written without it (YAML refuses 0143) */
	{ REQ "PORT 0143\n", { DEFAULTS }, "# line 3: PORT 0143\nport: 143\n", "" },
	/* READERTHREADS: the lowest */
	{ REQ "READERTHREADS 1\n", { DEFAULTS }, "readerthreads: 1\n", "" },
	/* READERTHREADS: vimap's highest */
	{ REQ "READERTHREADS 64\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "cp", 143, 64, 60, 0, 100, 2 }, NULL, "" },
	/* IDLETIMEOUT: the seed's defaults, 0 meaning no limit */
	{ REQ "IDLETIMEOUT 60 0\n", { DEFAULTS },
	  "# line 3: IDLETIMEOUT 60 0\nidletimeout:\n  unauthenticated: 60\n  authenticated: 0\n",
	  "" },
	/* IDLETIMEOUT: exactly the RFC's 1800-second floor */
	{ REQ "IDLETIMEOUT 1 1800\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "cp", 143, 1, 1, 1800, 100, 2 }, NULL, "" },
	/* IDLETIMEOUT: the highest of both */
	{ REQ "IDLETIMEOUT 86400 31536000\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "cp", 143, 1, 86400, 31536000, 100, 2 },
	  NULL, "" },
	/* ENROLLDEFAULTS */
	{ REQ "ENROLLDEFAULTS 200 3\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "cp", 143, 1, 60, 0, 200, 3 },
	  "# line 3: ENROLLDEFAULTS 200 3\nenrolldefaults:\n  blocks: 200\n  storage_group: 3\n",
	  "" },
	/* ENROLLDEFAULTS: the lowest */
	{ REQ "ENROLLDEFAULTS 1 1\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "cp", 143, 1, 60, 0, 1, 1 }, NULL, "" },
	/* ENROLLDEFAULTS: the highest */
	{ REQ "ENROLLDEFAULTS 2147483647 32767\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "cp", 143, 1, 60, 0, 2147483647, 32767 },
	  NULL, "" },
	/* every statement at once, in an order of their own */
	{ "ENROLLDEFAULTS 50 4\nIDLETIMEOUT 300 3600\nREADERTHREADS 4\nPORT 10143\n"
	  "AUTHENTICATE ESM\nTRACE CODEFLOW\nMAILORIGINID SMTP MAILER\nBADFILEID OPER\n"
	  "FILEPOOLID IMAPFP\n",
	  { "IMAPFP", "OPER", "SMTP MAILER", CF, NULL, "esm", 10143, 4, 300, 3600, 50, 4 },
	  NULL, "" },
	/* PORT twice: the later wins, the warning names both lines */
	{ REQ "PORT 1143\n; changed\nPORT 2143\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "cp", 2143, 1, 60, 0, 100, 2 },
	  "# line 5: PORT 2143\nport: 2143\n",
	  NAME ":5: warning: PORT given again (earlier at line 3): line 5 wins\n" },
	/* three times: one warning per repetition, each naming the one before */
	{ REQ "READERTHREADS 2\nREADERTHREADS 3\nREADERTHREADS 4\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "cp", 143, 4, 60, 0, 100, 2 }, NULL,
	  NAME ":4: warning: READERTHREADS given again (earlier at line 3): line 4 wins\n"
	  NAME ":5: warning: READERTHREADS given again (earlier at line 4): line 5 wins\n" },
	/* FILEPOOLID twice: the later wins */
	{ "FILEPOOLID OLDPOOL\nBADFILEID MAINT\nfilepoolid VMSERV1\n", { DEFAULTS },
	  "# line 3: FILEPOOLID VMSERV1\n",
	  NAME ":3: warning: FILEPOOLID given again (earlier at line 1): line 3 wins\n" },
	/* IDLETIMEOUT, ENROLLDEFAULTS and AUTHENTICATE twice: the later wins */
	{ REQ "IDLETIMEOUT 90 0\nENROLLDEFAULTS 5 5\nAUTHENTICATE ESM\n"
	  "IDLETIMEOUT 30 1800\nENROLLDEFAULTS 6 6\nAUTHENTICATE CP\n",
	  { "VMSERV1", "MAINT", "SMTP", 0, NULL, "cp", 143, 1, 30, 1800, 6, 6 }, NULL,
	  NAME ":6: warning: IDLETIMEOUT given again (earlier at line 3): line 6 wins\n"
	  NAME ":7: warning: ENROLLDEFAULTS given again (earlier at line 4): line 7 wins\n"
	  NAME ":8: warning: AUTHENTICATE given again (earlier at line 5): line 8 wins\n" },
	/* TRACE ALL twice: warned; other classes are not repetitions */
	{ REQ "TRACE ALL\nTRACE CODEFLOW\nTRACE ALL\n",
	  { "VMSERV1", "MAINT", "SMTP", CF | SL | SI, NULL, "cp", 143, 1, 60, 0, 100, 2 }, NULL,
	  NAME ":5: warning: TRACE ALL given again (earlier at line 3): line 5 wins\n" },
	/* a comment may hold any byte: only statements are checked */
	{ "; caf\xc3\xa9 \x01\x7f\n" REQ, { DEFAULTS }, NULL, "" },
};

START_TEST(test_values)
{
	const struct value_case *c = &value_cases[_i];
	const struct expect *w = &c->want;
	struct strbuf out = STRBUF_INIT, warnings = STRBUF_INIT;
	struct vimap_config *cfg;
	const char *error = NULL;
	char *origins;

	ck_assert_msg(convert_text(c->seed, strlen(c->seed), &out, &warnings, &error) == 0,
		      "convert failed: %s", error);
	ck_assert_str_eq(warnings.len > 0 ? warnings.data : "", c->warnings);
	if (c->snippet != NULL)
		ck_assert_msg(strstr(out.data, c->snippet) != NULL, "missing\n%s\nin\n%s",
			      c->snippet, out.data);
	cfg = load_yaml(out.data);
	ck_assert_str_eq(cfg->filepoolid, w->filepoolid);
	ck_assert_str_eq(cfg->badfileid, w->badfileid);
	origins = joined_origins(cfg);
	ck_assert_str_eq(origins, w->origins);
	free(origins);
	ck_assert_uint_eq(cfg->trace, w->trace);
	if (w->socketio == NULL)
		ck_assert_ptr_null(cfg->trace_socketio_address);
	else
		ck_assert_str_eq(cfg->trace_socketio_address, w->socketio);
	ck_assert_str_eq(cfg->authenticate, w->authenticate);
	ck_assert_uint_eq(cfg->port, w->port);
	ck_assert_uint_eq(cfg->readerthreads, w->readerthreads);
	ck_assert_uint_eq(cfg->idle_unauth, w->idle_unauth);
	ck_assert_uint_eq(cfg->idle_auth, w->idle_auth);
	ck_assert_uint_eq(cfg->enroll_blocks, w->blocks);
	ck_assert_uint_eq(cfg->enroll_storage_group, w->group);
	/* vimap's own keys were left out: their defaults apply */
	ck_assert_uint_eq(cfg->administrators_count, 0);
	ck_assert_str_eq(cfg->storage, "localfs");
	ck_assert_uint_eq(cfg->worker_threads, 8);
	config_free(&cfg);
	strbuf_free(&out);
	strbuf_free(&warnings);
}
END_TEST

/* ---- Refusals ---- */

struct error_case {
	const char *seed;
	size_t len;                /* 0: strlen(seed) */
	const char *error;         /* exact, after NAME */
};

static const struct error_case error_cases[] = {
	/* an unknown statement, at its line */
	{ REQ "\nPROT 143\n", 0,
	  ":4: unknown statement 'PROT' (expected FILEPOOLID, BADFILEID, MAILORIGINID, TRACE, AUTHENTICATE, PORT, READERTHREADS, IDLETIMEOUT or ENROLLDEFAULTS)" },
	/* a statement of vimap's YAML is not a seed statement */
	{ REQ "port: 143\n", 0,
	  ":3: unknown statement 'port:' (expected FILEPOOLID, BADFILEID, MAILORIGINID, TRACE, AUTHENTICATE, PORT, READERTHREADS, IDLETIMEOUT or ENROLLDEFAULTS)" },
	/* a '#' line is not a comment in the seed's format */
	{ "# comment\n" REQ, 0,
	  ":1: unknown statement '#' (expected FILEPOOLID, BADFILEID, MAILORIGINID, TRACE, AUTHENTICATE, PORT, READERTHREADS, IDLETIMEOUT or ENROLLDEFAULTS)" },
	/* FILEPOOLID without its operand */
	{ "FILEPOOLID\nBADFILEID MAINT\n", 0,
	  ":1: FILEPOOLID: expected 1 operand, got 0 (usage: FILEPOOLID userid)" },
	/* FILEPOOLID with two operands */
	{ "FILEPOOLID VMSERV1 VMSERV2\nBADFILEID MAINT\n", 0,
	  ":1: FILEPOOLID: expected 1 operand, got 2 (usage: FILEPOOLID userid)" },
	/* BADFILEID without its operand, blanks after the keyword */
	{ "FILEPOOLID VMSERV1\nBADFILEID   \n", 0,
	  ":2: BADFILEID: expected 1 operand, got 0 (usage: BADFILEID userid)" },
	/* a comment after a statement: an operand too many, with a hint */
	{ REQ "PORT 143 ; the IMAP port\n", 0,
	  ":3: PORT: expected 1 operand, got 5 (usage: PORT integer); a comment must be a line of its own, starting with ';'" },
	/* MAILORIGINID without ids */
	{ REQ "MAILORIGINID\n", 0,
	  ":3: MAILORIGINID: expected 1 to 32 operands, got 0 (usage: MAILORIGINID userid ...)" },
	/* MAILORIGINID: an id with ':' */
	{ REQ "MAILORIGINID SMTP a:b\n", 0,
	  ":3: MAILORIGINID: 'a:b' is not a user id (no ':' or '/', not starting with '-')" },
	/* MAILORIGINID: an id with '/' */
	{ REQ "MAILORIGINID a/b\n", 0,
	  ":3: MAILORIGINID: 'a/b' is not a user id (no ':' or '/', not starting with '-')" },
	/* MAILORIGINID: an id starting with '-' */
	{ REQ "MAILORIGINID -smtp\n", 0,
	  ":3: MAILORIGINID: '-smtp' is not a user id (no ':' or '/', not starting with '-')" },
	/* MAILORIGINID: an id twice on one line */
	{ REQ "MAILORIGINID SMTP MAILER SMTP\n", 0,
	  ":3: MAILORIGINID: 'SMTP' is listed twice (first at line 3)" },
	/* MAILORIGINID: an id again on a later line */
	{ REQ "MAILORIGINID SMTP\nMAILORIGINID MAILER SMTP\n", 0,
	  ":4: MAILORIGINID: 'SMTP' is listed twice (first at line 3)" },
	/* TRACE without a class */
	{ REQ "TRACE\n", 0,
	  ":3: TRACE: expected 1 to 2 operands, got 0 (usage: TRACE ALL|CODEFLOW|SOCKLIBCALLS|SOCKETIO [ipaddr])" },
	/* TRACE with an unknown class */
	{ REQ "TRACE EVERYTHING\n", 0,
	  ":3: TRACE: expected ALL, CODEFLOW, SOCKLIBCALLS or SOCKETIO, got 'EVERYTHING'" },
	/* TRACE ALL ON: the admin command's syntax, not the file's */
	{ REQ "TRACE ALL ON\n", 0,
	  ":3: TRACE ALL: expected no operand after ALL, got 'ON' (usage: TRACE ALL|CODEFLOW|SOCKLIBCALLS|SOCKETIO [ipaddr])" },
	/* only SOCKETIO takes an address */
	{ REQ "TRACE CODEFLOW 192.0.2.7\n", 0,
	  ":3: TRACE CODEFLOW: expected no operand after CODEFLOW, got '192.0.2.7' (usage: TRACE ALL|CODEFLOW|SOCKLIBCALLS|SOCKETIO [ipaddr])" },
	/* TRACE SOCKETIO: an incomplete IPv4 address */
	{ REQ "TRACE SOCKETIO 192.0.2\n", 0,
	  ":3: TRACE SOCKETIO: '192.0.2' is not an IPv4 or IPv6 address" },
	/* TRACE SOCKETIO: an octet out of range */
	{ REQ "TRACE SOCKETIO 192.0.2.256\n", 0,
	  ":3: TRACE SOCKETIO: '192.0.2.256' is not an IPv4 or IPv6 address" },
	/* TRACE SOCKETIO: a host name is not an address */
	{ REQ "TRACE SOCKETIO mail.example.org\n", 0,
	  ":3: TRACE SOCKETIO: 'mail.example.org' is not an IPv4 or IPv6 address" },
	/* TRACE SOCKETIO: a malformed IPv6 address */
	{ REQ "TRACE SOCKETIO 2001:db8:::1\n", 0,
	  ":3: TRACE SOCKETIO: '2001:db8:::1' is not an IPv4 or IPv6 address" },
	/* TRACE SOCKETIO: two addresses */
	{ REQ "TRACE SOCKETIO 192.0.2.1 192.0.2.2\n", 0,
	  ":3: TRACE: expected 1 to 2 operands, got 3 (usage: TRACE ALL|CODEFLOW|SOCKLIBCALLS|SOCKETIO [ipaddr])" },
	/* AUTHENTICATE: neither CP nor ESM */
	{ REQ "AUTHENTICATE RACF\n", 0, ":3: AUTHENTICATE: expected CP or ESM, got 'RACF'" },
	/* AUTHENTICATE: both */
	{ REQ "AUTHENTICATE CP ESM\n", 0,
	  ":3: AUTHENTICATE: expected 1 operand, got 2 (usage: AUTHENTICATE CP|ESM)" },
	/* PORT: not a number */
	{ REQ "PORT imap\n", 0, ":3: PORT: expected an integer 1..65535, got 'imap'" },
	/* PORT: a sign is not a digit */
	{ REQ "PORT +143\n", 0, ":3: PORT: expected an integer 1..65535, got '+143'" },
	/* PORT: negative */
	{ REQ "PORT -1\n", 0, ":3: PORT: expected an integer 1..65535, got '-1'" },
	/* PORT: a fraction */
	{ REQ "PORT 143.5\n", 0, ":3: PORT: expected an integer 1..65535, got '143.5'" },
	/* PORT: hexadecimal */
	{ REQ "PORT 0x8f\n", 0, ":3: PORT: expected an integer 1..65535, got '0x8f'" },
	/* PORT: zero */
	{ REQ "PORT 0\n", 0, ":3: PORT: 0 is out of range 1..65535" },
	/* PORT: one too high */
	{ REQ "PORT 65536\n", 0, ":3: PORT: 65536 is out of range 1..65535" },
	/* PORT: beyond 64 bits */
	{ REQ "PORT 99999999999999999999999\n", 0,
	  ":3: PORT: 99999999999999999999999 is out of range 1..65535" },
	/* PORT without a number */
	{ REQ "PORT\n", 0, ":3: PORT: expected 1 operand, got 0 (usage: PORT integer)" },
	/* READERTHREADS: zero */
	{ REQ "READERTHREADS 0\n", 0, ":3: READERTHREADS: 0 is out of range 1..64" },
	/* READERTHREADS: above vimap's limit */
	{ REQ "READERTHREADS 65\n", 0, ":3: READERTHREADS: 65 is out of range 1..64" },
	/* READERTHREADS: not a number */
	{ REQ "READERTHREADS two\n", 0,
	  ":3: READERTHREADS: expected an integer 1..64, got 'two'" },
	/* IDLETIMEOUT: one number only */
	{ REQ "IDLETIMEOUT 60\n", 0,
	  ":3: IDLETIMEOUT: expected 2 operands, got 1 (usage: IDLETIMEOUT integer integer)" },
	/* IDLETIMEOUT: three numbers */
	{ REQ "IDLETIMEOUT 60 0 0\n", 0,
	  ":3: IDLETIMEOUT: expected 2 operands, got 3 (usage: IDLETIMEOUT integer integer)" },
	/* IDLETIMEOUT: 1799 is under RFC 2060's 30 minutes */
	{ REQ "IDLETIMEOUT 60 1799\n", 0,
	  ":3: IDLETIMEOUT (second operand, authenticated): 1799 seconds is too short: RFC 2060 section 5.4 (and RFC 3501 section 5.4 after it) requires at least 1800 seconds (30 minutes); use 0 for no limit" },
	/* IDLETIMEOUT: 1 second, the lowest non-zero value */
	{ REQ "IDLETIMEOUT 60 1\n", 0,
	  ":3: IDLETIMEOUT (second operand, authenticated): 1 seconds is too short: RFC 2060 section 5.4 (and RFC 3501 section 5.4 after it) requires at least 1800 seconds (30 minutes); use 0 for no limit" },
	/* IDLETIMEOUT: above a year */
	{ REQ "IDLETIMEOUT 60 31536001\n", 0,
	  ":3: IDLETIMEOUT (second operand, authenticated): 31536001 is out of range 0 or 1800..31536000" },
	/* IDLETIMEOUT: the second not a number */
	{ REQ "IDLETIMEOUT 60 forever\n", 0,
	  ":3: IDLETIMEOUT (second operand, authenticated): expected an integer 0 or 1800..31536000, got 'forever'" },
	/* IDLETIMEOUT: the first zero (vimap has no unlimited pre-login idle) */
	{ REQ "IDLETIMEOUT 0 0\n", 0,
	  ":3: IDLETIMEOUT (first operand, unauthenticated): 0 is out of range 1..86400" },
	/* IDLETIMEOUT: the first above a day */
	{ REQ "IDLETIMEOUT 86401 0\n", 0,
	  ":3: IDLETIMEOUT (first operand, unauthenticated): 86401 is out of range 1..86400" },
	/* ENROLLDEFAULTS: one number only */
	{ REQ "ENROLLDEFAULTS 100\n", 0,
	  ":3: ENROLLDEFAULTS: expected 2 operands, got 1 (usage: ENROLLDEFAULTS integer integer)" },
	/* ENROLLDEFAULTS: zero blocks */
	{ REQ "ENROLLDEFAULTS 0 2\n", 0,
	  ":3: ENROLLDEFAULTS (first operand, blocks): 0 is out of range 1..2147483647" },
	/* ENROLLDEFAULTS: blocks above 2^31-1 */
	{ REQ "ENROLLDEFAULTS 2147483648 2\n", 0,
	  ":3: ENROLLDEFAULTS (first operand, blocks): 2147483648 is out of range 1..2147483647" },
	/* ENROLLDEFAULTS: storage group zero */
	{ REQ "ENROLLDEFAULTS 100 0\n", 0,
	  ":3: ENROLLDEFAULTS (second operand, storage group): 0 is out of range 1..32767" },
	/* ENROLLDEFAULTS: storage group too high */
	{ REQ "ENROLLDEFAULTS 100 32768\n", 0,
	  ":3: ENROLLDEFAULTS (second operand, storage group): 32768 is out of range 1..32767" },
	/* ENROLLDEFAULTS: the storage group not a number */
	{ REQ "ENROLLDEFAULTS 100 x2\n", 0,
	  ":3: ENROLLDEFAULTS (second operand, storage group): expected an integer 1..32767, got 'x2'" },
	/* the error's line counts comment and blank lines too */
	{ "; seed\n\n" REQ "; more\n\nPORT 143\n\nPORT 70000\n", 0,
	  ":9: PORT: 70000 is out of range 1..65535" },
	/* the first error is reported, not a later one */
	{ REQ "PORT x\nPORT y\n", 0, ":3: PORT: expected an integer 1..65535, got 'x'" },
	/* a control character in a statement */
	{ REQ "PORT 14\x03" "3\n", 0, ":3: contains a control character (0x03)" },
	/* a NUL byte in a statement */
	{ REQ "PORT 1\0" "43\n", sizeof(REQ "PORT 1\0" "43\n") - 1, ":3: contains a NUL byte" },
	/* a non-ASCII byte in a statement */
	{ REQ "FILEPOOLID caf\xc3\xa9\n", 0,
	  ":3: contains a non-ASCII byte (0xC3): statements are ASCII" },
	/* a long operand is cut in the message */
	{ REQ "PORT 12345678901234567890123456789012345678901234567890123456789012345678901234567890\n",
	  0, ":3: PORT: 1234567890123456789012345678901234567890123456789012345678901234... is out of range 1..65535" },
	/* FILEPOOLID missing */
	{ "BADFILEID MAINT\nPORT 143\n", 0,
	  ": required statement FILEPOOLID (the mailstore's filepool) is missing" },
	/* BADFILEID missing */
	{ "FILEPOOLID VMSERV1\n", 0,
	  ": required statement BADFILEID (where undeliverable mail goes) is missing" },
	/* both missing */
	{ "PORT 143\n", 0,
	  ": required statements FILEPOOLID (the mailstore's filepool) and BADFILEID (where undeliverable mail goes) are missing" },
	/* an empty file */
	{ "", 0,
	  ": required statements FILEPOOLID (the mailstore's filepool) and BADFILEID (where undeliverable mail goes) are missing" },
	/* only comments and blank lines */
	{ "; FILEPOOLID VMSERV1\n\n;BADFILEID MAINT\n", 0,
	  ": required statements FILEPOOLID (the mailstore's filepool) and BADFILEID (where undeliverable mail goes) are missing" },
};

START_TEST(test_errors)
{
	const struct error_case *c = &error_cases[_i];
	struct strbuf out = STRBUF_INIT, warnings = STRBUF_INIT;
	const char *error = NULL;
	char *expected = xasprintf(NAME "%s", c->error);

	strbuf_appends(&out, "before\n");
	ck_assert_int_eq(convert_text(c->seed, c->len > 0 ? c->len : strlen(c->seed),
				      &out, &warnings, &error), -1);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, expected);
	/* nothing was written */
	ck_assert_str_eq(out.data, "before\n");
	free(expected);
	strbuf_free(&out);
	strbuf_free(&warnings);
}
END_TEST

/* ---- The 32-id limit of MAILORIGINID ---- */

struct origins_case {
	unsigned per_line[4];      /* ids on each MAILORIGINID line; 0 ends */
	unsigned error_line;       /* 0: converts */
	const char *error;         /* after "NAME:LINE: " */
};

static const struct origins_case origins_cases[] = {
	/* 32 ids on one line: the limit */
	{ { 32 }, 0, NULL },
	/* 32 ids over three lines */
	{ { 10, 20, 2 }, 0, NULL },
	/* 33 on one line */
	{ { 33 }, 3,
	  "MAILORIGINID: expected 1 to 32 operands, got 33 (usage: MAILORIGINID userid ...)" },
	/* 32, then one more on the next line */
	{ { 32, 1 }, 4,
	  "MAILORIGINID: at most 32 ids may be listed in all, this line brings the total to 33" },
	/* 33 over three lines: refused at the third */
	{ { 1, 30, 2 }, 5,
	  "MAILORIGINID: at most 32 ids may be listed in all, this line brings the total to 33" },
};

START_TEST(test_origins_limit)
{
	const struct origins_case *c = &origins_cases[_i];
	struct strbuf seed = STRBUF_INIT, out = STRBUF_INIT;
	struct vimap_config *cfg;
	const char *error = NULL;
	unsigned line, i, id = 0;

	strbuf_appends(&seed, REQ);
	for (line = 0; line < 4 && c->per_line[line] > 0; line++) {
		strbuf_appends(&seed, "MAILORIGINID");
		for (i = 0; i < c->per_line[line]; i++)
			strbuf_appendf(&seed, " ID%u", ++id);
		strbuf_appendc(&seed, '\n');
	}
	if (c->error_line == 0) {
		ck_assert_msg(convert_text(seed.data, seed.len, &out, NULL, &error) == 0,
			      "%s", error);
		cfg = load_yaml(out.data);
		ck_assert_uint_eq(cfg->mailoriginid_count, id);
		ck_assert_str_eq(cfg->mailoriginid[0], "ID1");
		ck_assert_str_eq(cfg->mailoriginid[id - 1], "ID32");
		config_free(&cfg);
	} else {
		char *expected = xasprintf(NAME ":%u: %s", c->error_line, c->error);

		ck_assert_int_eq(convert_text(seed.data, seed.len, &out, NULL, &error), -1);
		ck_assert_str_eq(error, expected);
		ck_assert_uint_eq(out.len, 0);
		free(expected);
	}
	strbuf_free(&seed);
	strbuf_free(&out);
}
END_TEST

/* ---- The shape of the output ---- */

static const char *const seed_keys[] = {
	"filepoolid", "badfileid", "mailoriginid", "trace", "authenticate", "port",
	"readerthreads", "idletimeout", "enrolldefaults",
};

/* Every top-level line is a comment, blank, or one of the seed's keys
   preceded by the "# line N: STATEMENT" it came from (trace: each of its
   keys is, inside the mapping). */
START_TEST(test_output_shape)
{
	static const char seed[] =
		REQ "MAILORIGINID SMTP\nTRACE ALL\nAUTHENTICATE CP\nPORT 143\n"
		"READERTHREADS 2\nIDLETIMEOUT 60 0\nENROLLDEFAULTS 100 2\n";
	struct strbuf out = STRBUF_INIT;
	const char *error = NULL, *line, *last_source = NULL;
	unsigned keys = 0, i;

	ck_assert_int_eq(convert_text(seed, strlen(seed), &out, NULL, &error), 0);
	for (line = out.data; *line != '\0'; line = strchr(line, '\n') + 1) {
		size_t len = strcspn(line, ":\n");

		if (strncmp(line, "# line ", 7) == 0)
			last_source = line;
		if (*line == '#' || *line == '\n' || *line == ' ')
			continue;
		for (i = 0; i < N(seed_keys); i++) {
			if (strlen(seed_keys[i]) == len && strncmp(line, seed_keys[i], len) == 0)
				break;
		}
		ck_assert_msg(i < N(seed_keys), "unexpected line: %.*s", (int)len, line);
		if (strncmp(line, "trace:\n", 7) == 0)
			last_source = strstr(line, "\n  # line ") == line + 6 ? line : NULL;
		ck_assert_msg(last_source != NULL, "no source comment before %.*s", (int)len, line);
		last_source = NULL;
		keys++;
	}
	ck_assert_uint_eq(keys, N(seed_keys));
	strbuf_free(&out);
}
END_TEST

/* The header: converted from FILE by vimap convert-config on DATE. */
START_TEST(test_header)
{
	static const char prefix[] = "# Converted from IMAP CONFIG by vimap convert-config on ";
	struct strbuf out = STRBUF_INIT;
	const char *error = NULL, *date;
	unsigned y, mo, d, h, mi, s;
	char z = 0, dot = 0;

	ck_assert_int_eq(convert_text(REQ, strlen(REQ), &out, NULL, &error), 0);
	ck_assert_int_eq(strncmp(out.data, prefix, strlen(prefix)), 0);
	date = out.data + strlen(prefix);
	ck_assert_int_eq(sscanf(date, "%4u-%2u-%2uT%2u:%2u:%2u%c%c", &y, &mo, &d, &h, &mi, &s,
				&z, &dot), 8);
	ck_assert_int_eq(z, 'Z');
	ck_assert_int_eq(dot, '.');
	ck_assert_uint_ge(y, 2024);
	ck_assert_uint_le(mo, 12);
	ck_assert_int_eq(date[21], '\n');
	strbuf_free(&out);
}
END_TEST

/* A file name with a newline cannot break out of the header comment. */
START_TEST(test_header_odd_name)
{
	struct strbuf out = STRBUF_INIT;
	const char *error = NULL;
	FILE *in = stream_of(REQ, strlen(REQ));
	struct vimap_config *cfg;

	ck_assert_int_eq(convert_config(in, "a\nport: 1\xff", &out, NULL, &error), 0);
	fclose(in);
	ck_assert_int_eq(strncmp(out.data, "# Converted from a?port: 1? by", 30), 0);
	cfg = load_yaml(out.data);
	ck_assert_uint_eq(cfg->port, 143);
	config_free(&cfg);
	strbuf_free(&out);
}
END_TEST

/* ---- convert_config_write ---- */

/* The number of entries in tmpdir whose name starts with `prefix`. */
static unsigned count_entries(const char *prefix)
{
	DIR *dir = opendir(tmpdir);
	struct dirent *de;
	unsigned n = 0;

	ck_assert_ptr_nonnull(dir);
	while ((de = readdir(dir)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(dir);
	return n;
}

START_TEST(test_write_new)
{
	struct strbuf data = STRBUF_INIT;
	char *path = xasprintf("%s/new.yaml", tmpdir), *text;
	const char *error = NULL;
	struct stat st;
	mode_t mask = umask(022);

	strbuf_appends(&data, "filepoolid: /srv/mail\nbadfileid: /srv/bad\n");
	ck_assert_msg(convert_config_write(path, &data, 0, &error) == 0, "%s", error);
	text = read_file(path);
	ck_assert_str_eq(text, data.data);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	/* the temporary file is gone */
	ck_assert_uint_eq(count_entries("new.yaml"), 1);
	umask(mask);
	free(text);
	free(path);
	strbuf_free(&data);
}
END_TEST

START_TEST(test_write_refuses_existing)
{
	struct strbuf data = STRBUF_INIT;
	char *path = xasprintf("%s/exists.yaml", tmpdir), *text, *expected;
	const char *error = NULL;

	write_file(path, "old\n", 4);
	strbuf_appends(&data, "new\n");
	ck_assert_int_eq(convert_config_write(path, &data, 0, &error), -1);
	expected = xasprintf("%s exists: add --force to replace it", path);
	ck_assert_str_eq(error, expected);
	text = read_file(path);
	ck_assert_str_eq(text, "old\n");
	ck_assert_uint_eq(count_entries("exists.yaml"), 1);
	free(text);
	free(expected);
	free(path);
	strbuf_free(&data);
}
END_TEST

START_TEST(test_write_force)
{
	struct strbuf data = STRBUF_INIT;
	char *path = xasprintf("%s/forced.yaml", tmpdir), *text;
	const char *error = NULL;
	struct stat st;

	write_file(path, "old\n", 4);
	ck_assert_int_eq(chmod(path, 0640), 0);
	strbuf_appends(&data, "new\n");
	ck_assert_msg(convert_config_write(path, &data, 1, &error) == 0, "%s", error);
	text = read_file(path);
	ck_assert_str_eq(text, "new\n");
	/* the replaced file's permissions are kept */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_uint_eq(count_entries("forced.yaml"), 1);
	free(text);
	free(path);
	strbuf_free(&data);
}
END_TEST

START_TEST(test_write_no_directory)
{
	struct strbuf data = STRBUF_INIT;
	char *path = xasprintf("%s/missing/out.yaml", tmpdir);
	const char *error = NULL;

	strbuf_appends(&data, "x\n");
	ck_assert_int_eq(convert_config_write(path, &data, 0, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "No such file or directory"));
	free(path);
	strbuf_free(&data);
}
END_TEST

/* ---- convert_config_command (each test runs in its own process) ---- */

struct command_case {
	const char *args[5];       /* after "convert-config"; "@IN", "@OUT" replaced */
	const char *seed;          /* written to IN */
	const char *existing;      /* OUT's content beforehand; NULL: absent */
	int status;
	int converted;             /* OUT then loads, with port 1143 */
	const char *stderr_start;  /* what standard error begins with ("@IN" replaced) */
};

#define SEED_OK REQ "PORT 1143\n"

static const struct command_case command_cases[] = {
	/* SEEDFILE to a new OUTFILE */
	{ { "@IN", "@OUT" }, SEED_OK, NULL, 0, 1, "vimap: converted;" },
	/* an existing OUTFILE is refused */
	{ { "@IN", "@OUT" }, SEED_OK, "old\n", 1, 0, "vimap: @OUT exists: add --force" },
	/* ... and replaced with --force */
	{ { "--force", "@IN", "@OUT" }, SEED_OK, "old\n", 0, 1, "vimap: converted;" },
	/* --force may follow the files */
	{ { "@IN", "@OUT", "--force" }, SEED_OK, "old\n", 0, 1, "vimap: converted;" },
	/* a refused seed: FILE:LINE: message, and no OUTFILE */
	{ { "@IN", "@OUT" }, REQ "PORT 70000\n", NULL, 1, 0,
	  "@IN:3: PORT: 70000 is out of range 1..65535\n" },
	/* warnings come before the note */
	{ { "@IN", "@OUT" }, SEED_OK "PORT 1143\n", NULL, 0, 1,
	  "@IN:4: warning: PORT given again (earlier at line 3): line 4 wins\nvimap: converted;" },
	/* a missing SEEDFILE */
	{ { "@OUT.absent", "@OUT" }, SEED_OK, NULL, 1, 0, "vimap: @OUT.absent: cannot open" },
	/* three files: usage */
	{ { "@IN", "@OUT", "x" }, SEED_OK, NULL, 2, 0, "usage: vimap convert-config" },
	/* an unknown option: usage */
	{ { "--frce", "@IN" }, SEED_OK, NULL, 2, 0, "vimap: convert-config: unknown option --frce" },
	/* the seed file itself as OUTFILE */
	{ { "--force", "@IN", "@IN" }, SEED_OK, NULL, 1, 0,
	  "vimap: @IN is the seed file itself" },
};

/* `s` with "@IN" and "@OUT" replaced; caller frees. */
static char *expand(const char *s, const char *in, const char *out)
{
	struct strbuf sb = STRBUF_INIT;

	while (*s != '\0') {
		if (strncmp(s, "@IN", 3) == 0) {
			strbuf_appends(&sb, in);
			s += 3;
		} else if (strncmp(s, "@OUT", 4) == 0) {
			strbuf_appends(&sb, out);
			s += 4;
		} else {
			strbuf_appendc(&sb, *s++);
		}
	}
	strbuf_appends(&sb, "");
	return strbuf_steal(&sb);
}

START_TEST(test_command)
{
	const struct command_case *c = &command_cases[_i];
	char *in = temp_path("seed"), *out = temp_path("out"), *err = temp_path("stderr");
	char *argv[6], *errors, *want;
	struct vimap_config *cfg;
	int argc = 1, status;

	write_file(in, c->seed, strlen(c->seed));
	if (c->existing != NULL)
		write_file(out, c->existing, strlen(c->existing));
	argv[0] = xstrdup("convert-config");
	for (; argc < 6 && c->args[argc - 1] != NULL; argc++)
		argv[argc] = expand(c->args[argc - 1], in, out);
	ck_assert_ptr_nonnull(freopen(err, "w", stderr));
	status = convert_config_command(argc, argv);
	fflush(stderr);
	ck_assert_int_eq(status, c->status);
	errors = read_file(err);
	want = expand(c->stderr_start, in, out);
	ck_assert_msg(strncmp(errors, want, strlen(want)) == 0, "stderr:\n%s\nwanted:\n%s",
		      errors, want);
	if (c->converted) {
		char *text = read_file(out);

		cfg = load_yaml(text);
		ck_assert_uint_eq(cfg->port, 1143);
		config_free(&cfg);
		free(text);
	} else if (c->existing != NULL) {
		char *text = read_file(out);

		ck_assert_str_eq(text, c->existing);
		free(text);
	} else {
		ck_assert_int_eq(access(out, F_OK), -1);
	}
	free(want);
	free(errors);
	while (argc > 0)
		free(argv[--argc]);
	free(in);
	free(out);
	free(err);
}
END_TEST

/* Standard input to standard output: no files named, or "-" for both. */
START_TEST(test_command_stdio)
{
	char *in = temp_path("stdin"), *out = temp_path("stdout"), *err = temp_path("stderr");
	char *text, *argv[] = { (char *)"convert-config", (char *)"-", (char *)"-", NULL };
	struct vimap_config *cfg;

	write_file(in, SEED_OK, strlen(SEED_OK));
	ck_assert_ptr_nonnull(freopen(in, "r", stdin));
	ck_assert_ptr_nonnull(freopen(out, "w", stdout));
	ck_assert_ptr_nonnull(freopen(err, "w", stderr));
	ck_assert_int_eq(convert_config_command(_i == 0 ? 1 : 3, argv), 0);
	fflush(stdout);
	fflush(stderr);
	text = read_file(err);
	ck_assert_int_eq(strncmp(text, "vimap: converted;", 17), 0);
	free(text);
	text = read_file(out);
	ck_assert_int_eq(strncmp(text, "# Converted from <stdin> by vimap convert-config", 48), 0);
	cfg = load_yaml(text);
	ck_assert_uint_eq(cfg->port, 1143);
	config_free(&cfg);
	free(text);
	free(in);
	free(out);
	free(err);
}
END_TEST

static Suite *convert_config_suite(void)
{
	Suite *s = suite_create("convert_config");
	TCase *tc = tcase_create("convert");

	tcase_add_loop_test(tc, test_values, 0, N(value_cases));
	tcase_add_loop_test(tc, test_errors, 0, N(error_cases));
	tcase_add_loop_test(tc, test_origins_limit, 0, N(origins_cases));
	tcase_add_test(tc, test_output_shape);
	tcase_add_test(tc, test_header);
	tcase_add_test(tc, test_header_odd_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("write");
	tcase_add_test(tc, test_write_new);
	tcase_add_test(tc, test_write_refuses_existing);
	tcase_add_test(tc, test_write_force);
	tcase_add_test(tc, test_write_no_directory);
	suite_add_tcase(s, tc);

	tc = tcase_create("command");
	tcase_add_loop_test(tc, test_command, 0, N(command_cases));
	tcase_add_loop_test(tc, test_command_stdio, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	SRunner *sr;
	int failed;

	snprintf(tmpdir, sizeof(tmpdir), "%s/check_convert_config.XXXXXX",
		 base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	sr = srunner_create(convert_config_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failed > 0 ? 1 : 0;
}
