#include "autoconfig.h"
/* `vimap convert-config`: the seed's IMAP CONFIG file to vimap's YAML.
 *
 * The seed's file rules: one statement per line, a case-insensitive keyword
 * followed by blank-separated operands; blank lines are allowed, comment
 * lines begin with ';' (after optional blanks).  The checks below are the
 * ranges of kernel/config.c, so what is converted also loads; a statement
 * vimapd would refuse is refused here, at its line. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "config.h"
#include "convert-config.h"
#include "error.h"
#include "fd-util.h"
#include "strbuf.h"
#include "xalloc.h"

/* Longest operand quoted in full in a message. */
#define CONVERT_SHOW_MAX 64

enum convert_stmt {
	ST_FILEPOOLID, ST_BADFILEID, ST_MAILORIGINID, ST_TRACE, ST_AUTHENTICATE,
	ST_PORT, ST_READERTHREADS, ST_IDLETIMEOUT, ST_ENROLLDEFAULTS, ST_COUNT
};

/* The seed's statements, in the order of its documentation. */
static const struct {
	const char *keyword;
	unsigned min, max;   /* operands */
	const char *usage;
} convert_syntax[ST_COUNT] = {
	[ST_FILEPOOLID] = { "FILEPOOLID", 1, 1, "FILEPOOLID userid" },
	[ST_BADFILEID] = { "BADFILEID", 1, 1, "BADFILEID userid" },
	[ST_MAILORIGINID] = { "MAILORIGINID", 1, CONFIG_MAX_ORIGINS, "MAILORIGINID userid ..." },
	[ST_TRACE] = { "TRACE", 1, 2, "TRACE ALL|CODEFLOW|SOCKLIBCALLS|SOCKETIO [ipaddr]" },
	[ST_AUTHENTICATE] = { "AUTHENTICATE", 1, 1, "AUTHENTICATE CP|ESM" },
	[ST_PORT] = { "PORT", 1, 1, "PORT integer" },
	[ST_READERTHREADS] = { "READERTHREADS", 1, 1, "READERTHREADS integer" },
	[ST_IDLETIMEOUT] = { "IDLETIMEOUT", 2, 2, "IDLETIMEOUT integer integer" },
	[ST_ENROLLDEFAULTS] = { "ENROLLDEFAULTS", 2, 2, "ENROLLDEFAULTS integer integer" },
};

enum convert_trace { TR_ALL, TR_CODEFLOW, TR_SOCKLIBCALLS, TR_SOCKETIO, TR_COUNT };

static const char *const convert_trace_names[TR_COUNT] = {
	"ALL", "CODEFLOW", "SOCKLIBCALLS", "SOCKETIO"
};

/* Where a value came from: its line (0: not given) and the statement. */
struct convert_source {
	unsigned line;
	char *text;
};

struct convert_state {
	const char *name;
	struct strbuf *warnings;
	unsigned line;                          /* the line being read */
	char *text;                             /* its statement, normalised */
	struct convert_source set[ST_COUNT];    /* ST_TRACE unused: see trace[] */
	struct convert_source trace[TR_COUNT];
	struct strbuf origin_comments;          /* one per MAILORIGINID line */
	char *filepoolid, *badfileid;
	char *origins[CONFIG_MAX_ORIGINS];
	unsigned origin_lines[CONFIG_MAX_ORIGINS];
	unsigned origin_count;
	char *socketio_address;                 /* NULL: every address */
	int esm;
	unsigned long long num[ST_COUNT][2];    /* the numeric statements */
};

/* ---- Messages ---- */

static int convert_error(const struct convert_state *st, const char **error_r,
			 const char *fmt, ...) ATTR_FORMAT(3, 4);

/* "NAME:LINE: message" into *error_r; returns -1. */
static int convert_error(const struct convert_state *st, const char **error_r,
			 const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return error_set(error_r, "%s:%u: %s", st->name, st->line, msg);
}

/* An operand for a message, cut at CONVERT_SHOW_MAX bytes. */
static const char *convert_show(const char *s, char *buf, size_t size)
{
	size_t n = strlen(s), max = size - 4;

	if (max > CONVERT_SHOW_MAX)
		max = CONVERT_SHOW_MAX;
	if (n <= max)
		return s;
	memcpy(buf, s, max);
	memcpy(buf + max, "...", 4);
	return buf;
}

/* A statement given again: the later wins, with a warning naming both. */
static void convert_again(struct convert_state *st, struct convert_source *src,
			  const char *what)
{
	if (src->line != 0 && st->warnings != NULL)
		strbuf_appendf(st->warnings,
			       "%s:%u: warning: %s given again (earlier at line %u): line %u wins\n",
			       st->name, st->line, what, src->line, st->line);
	free(src->text);
	src->line = st->line;
	src->text = xstrdup(st->text);
}

/* ---- Operands ---- */

/* Decimal digits only (leading zeros are read as decimal); stores the
   value in min..max.  `range` is how the range is shown. */
static int convert_number(const struct convert_state *st, const char *what,
			  const char *s, unsigned long long min, unsigned long long max,
			  const char *range, unsigned long long *value_r, const char **error_r)
{
	unsigned long long v = 0;
	char buf[CONVERT_SHOW_MAX + 4];
	const char *p;
	int overflow = 0;

	for (p = s; *p >= '0' && *p <= '9'; p++) {
		if (v > (ULLONG_MAX - (unsigned)(*p - '0')) / 10)
			overflow = 1;
		else
			v = v * 10 + (unsigned)(*p - '0');
	}
	if (p == s || *p != '\0')
		return convert_error(st, error_r, "%s: expected an integer %s, got '%s'",
				     what, range, convert_show(s, buf, sizeof(buf)));
	if (overflow || v < min || v > max)
		return convert_error(st, error_r, "%s: %s is out of range %s",
				     what, convert_show(s, buf, sizeof(buf)), range);
	*value_r = v;
	return 0;
}

/* A user id as vimap's mailoriginid takes it (kernel/config.c): no ':' or
   '/', not starting with '-' (blanks and controls never reach here). */
static int convert_is_id(const char *s)
{
	return *s != '\0' && *s != '-' && strpbrk(s, ":/") == NULL;
}

static int convert_is_ip(const char *s)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

/* ---- Statements ---- */

static void convert_userid(struct convert_state *st, enum convert_stmt stmt, char **args)
{
	char **dst = stmt == ST_FILEPOOLID ? &st->filepoolid : &st->badfileid;

	convert_again(st, &st->set[stmt], convert_syntax[stmt].keyword);
	free(*dst);
	*dst = xstrdup(args[0]);
}

static int convert_origins(struct convert_state *st, char **args, unsigned n,
			   const char **error_r)
{
	char buf[CONVERT_SHOW_MAX + 4];
	unsigned i, j;

	if (st->origin_count + n > CONFIG_MAX_ORIGINS)
		return convert_error(st, error_r,
				     "MAILORIGINID: at most %u ids may be listed in all, this line brings the total to %u",
				     CONFIG_MAX_ORIGINS, st->origin_count + n);
	for (i = 0; i < n; i++) {
		if (!convert_is_id(args[i]))
			return convert_error(st, error_r,
					     "MAILORIGINID: '%s' is not a user id (no ':' or '/', not starting with '-')",
					     convert_show(args[i], buf, sizeof(buf)));
		for (j = 0; j < st->origin_count + i; j++) {
			if (strcmp(j < st->origin_count ? st->origins[j] : args[j - st->origin_count],
				   args[i]) == 0)
				return convert_error(st, error_r,
						     "MAILORIGINID: '%s' is listed twice (first at line %u)",
						     convert_show(args[i], buf, sizeof(buf)),
						     j < st->origin_count ? st->origin_lines[j] : st->line);
		}
	}
	for (i = 0; i < n; i++) {
		st->origin_lines[st->origin_count] = st->line;
		st->origins[st->origin_count++] = xstrdup(args[i]);
	}
	if (st->set[ST_MAILORIGINID].line == 0)
		st->set[ST_MAILORIGINID].line = st->line;
	strbuf_appendf(&st->origin_comments, "# line %u: %s\n", st->line, st->text);
	return 0;
}

static int convert_trace(struct convert_state *st, char **args, unsigned n,
			 const char **error_r)
{
	char buf[CONVERT_SHOW_MAX + 4], what[32];
	unsigned c;

	for (c = 0; c < TR_COUNT; c++) {
		if (strcasecmp(args[0], convert_trace_names[c]) == 0)
			break;
	}
	if (c == TR_COUNT)
		return convert_error(st, error_r,
				     "TRACE: expected ALL, CODEFLOW, SOCKLIBCALLS or SOCKETIO, got '%s'",
				     convert_show(args[0], buf, sizeof(buf)));
	if (n > 1 && c != TR_SOCKETIO)
		return convert_error(st, error_r,
				     "TRACE %s: expected no operand after %s, got '%s' (usage: %s)",
				     convert_trace_names[c], convert_trace_names[c],
				     convert_show(args[1], buf, sizeof(buf)),
				     convert_syntax[ST_TRACE].usage);
	if (n > 1 && !convert_is_ip(args[1]))
		return convert_error(st, error_r,
				     "TRACE SOCKETIO: '%s' is not an IPv4 or IPv6 address",
				     convert_show(args[1], buf, sizeof(buf)));
	snprintf(what, sizeof(what), "TRACE %s", convert_trace_names[c]);
	convert_again(st, &st->trace[c], what);
	if (c == TR_SOCKETIO) {
		free(st->socketio_address);
		st->socketio_address = n > 1 ? xstrdup(args[1]) : NULL;
	}
	return 0;
}

static int convert_authenticate(struct convert_state *st, char **args,
				const char **error_r)
{
	char buf[CONVERT_SHOW_MAX + 4];
	int esm = strcasecmp(args[0], "ESM") == 0;

	if (!esm && strcasecmp(args[0], "CP") != 0)
		return convert_error(st, error_r, "AUTHENTICATE: expected CP or ESM, got '%s'",
				     convert_show(args[0], buf, sizeof(buf)));
	convert_again(st, &st->set[ST_AUTHENTICATE], "AUTHENTICATE");
	st->esm = esm;
	return 0;
}

/* PORT, READERTHREADS, IDLETIMEOUT, ENROLLDEFAULTS: vimap's ranges. */
static int convert_numbers(struct convert_state *st, enum convert_stmt stmt,
			   char **args, const char **error_r)
{
	unsigned long long v[2] = { 0, 0 };
	int ret;

	switch (stmt) {
	case ST_PORT:
		ret = convert_number(st, "PORT", args[0], 1, 65535, "1..65535", &v[0], error_r);
		break;
	case ST_READERTHREADS:
		ret = convert_number(st, "READERTHREADS", args[0], 1, 64, "1..64", &v[0], error_r);
		break;
	case ST_IDLETIMEOUT:
		ret = convert_number(st, "IDLETIMEOUT (first operand, unauthenticated)", args[0],
				     1, 86400, "1..86400", &v[0], error_r);
		if (ret == 0)
			ret = convert_number(st, "IDLETIMEOUT (second operand, authenticated)",
					     args[1], 0, 31536000, "0 or 1800..31536000",
					     &v[1], error_r);
		if (ret == 0 && v[1] > 0 && v[1] < 1800)
			ret = convert_error(st, error_r,
					    "IDLETIMEOUT (second operand, authenticated): %llu seconds is too short: RFC 2060 section 5.4 (and RFC 3501 section 5.4 after it) requires at least 1800 seconds (30 minutes); use 0 for no limit",
					    v[1]);
		break;
	default:
		ret = convert_number(st, "ENROLLDEFAULTS (first operand, blocks)", args[0],
				     1, INT_MAX, "1..2147483647", &v[0], error_r);
		if (ret == 0)
			ret = convert_number(st, "ENROLLDEFAULTS (second operand, storage group)",
					     args[1], 1, 32767, "1..32767", &v[1], error_r);
		break;
	}
	if (ret < 0)
		return -1;
	convert_again(st, &st->set[stmt], convert_syntax[stmt].keyword);
	st->num[stmt][0] = v[0];
	st->num[stmt][1] = v[1];
	return 0;
}

static int convert_statement(struct convert_state *st, enum convert_stmt stmt,
			     char **args, unsigned n, const char **error_r)
{
	switch (stmt) {
	case ST_FILEPOOLID:
	case ST_BADFILEID:
		convert_userid(st, stmt, args);
		return 0;
	case ST_MAILORIGINID:
		return convert_origins(st, args, n, error_r);
	case ST_TRACE:
		return convert_trace(st, args, n, error_r);
	case ST_AUTHENTICATE:
		return convert_authenticate(st, args, error_r);
	default:
		return convert_numbers(st, stmt, args, error_r);
	}
}

/* ---- Lines ---- */

/* Statement lines are printable ASCII and blanks: anything else could not
   be a VM user id or number, and would have to be escaped in the YAML. */
static int convert_check_bytes(const struct convert_state *st, const char *s, size_t len,
			       const char **error_r)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0')
			return convert_error(st, error_r, "contains a NUL byte");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return convert_error(st, error_r, "contains a control character (0x%02X)", c);
		if (c >= 0x80)
			return convert_error(st, error_r,
					     "contains a non-ASCII byte (0x%02X): statements are ASCII",
					     c);
	}
	return 0;
}

static int convert_operand_count(const struct convert_state *st, enum convert_stmt stmt,
				 char **args, unsigned n, const char **error_r)
{
	unsigned min = convert_syntax[stmt].min, max = convert_syntax[stmt].max, i;
	const char *hint = "";

	if (n >= min && n <= max)
		return 0;
	for (i = 0; i < n; i++) {
		if (args[i][0] == ';')
			hint = "; a comment must be a line of its own, starting with ';'";
	}
	if (min == max)
		return convert_error(st, error_r, "%s: expected %u operand%s, got %u (usage: %s)%s",
				     convert_syntax[stmt].keyword, min, min == 1 ? "" : "s", n,
				     convert_syntax[stmt].usage, hint);
	return convert_error(st, error_r, "%s: expected %u to %u operands, got %u (usage: %s)%s",
			     convert_syntax[stmt].keyword, min, max, n,
			     convert_syntax[stmt].usage, hint);
}

/* Splits `s` at blanks in place; returns the number of words in *words_r
   (caller frees the array, not the words). */
static unsigned convert_split(char *s, char ***words_r)
{
	char **words = NULL, *save = NULL, *w;
	unsigned n = 0;

	for (w = strtok_r(s, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		words = xrealloc(words, (n + 1) * sizeof(*words));
		words[n++] = w;
	}
	*words_r = words;
	return n;
}

static void convert_set_text(struct convert_state *st, enum convert_stmt stmt,
			     char **args, unsigned n)
{
	struct strbuf sb = STRBUF_INIT;
	unsigned i;

	strbuf_appends(&sb, convert_syntax[stmt].keyword);
	for (i = 0; i < n; i++)
		strbuf_appendf(&sb, " %s", args[i]);
	free(st->text);
	st->text = strbuf_steal(&sb);
}

/* One line of `len` bytes (its newline removed). */
static int convert_line(struct convert_state *st, char *line, size_t len,
			const char **error_r)
{
	char buf[CONVERT_SHOW_MAX + 4], **words;
	unsigned n, stmt;
	int ret;

	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (len == 0 || *line == ';')
		return 0;
	if (convert_check_bytes(st, line, len, error_r) < 0)
		return -1;
	n = convert_split(line, &words);
	for (stmt = 0; stmt < ST_COUNT; stmt++) {
		if (strcasecmp(words[0], convert_syntax[stmt].keyword) == 0)
			break;
	}
	if (stmt == ST_COUNT)
		ret = convert_error(st, error_r,
				    "unknown statement '%s' (expected FILEPOOLID, BADFILEID, MAILORIGINID, TRACE, AUTHENTICATE, PORT, READERTHREADS, IDLETIMEOUT or ENROLLDEFAULTS)",
				    convert_show(words[0], buf, sizeof(buf)));
	else if ((ret = convert_operand_count(st, stmt, words + 1, n - 1, error_r)) == 0) {
		convert_set_text(st, stmt, words + 1, n - 1);
		ret = convert_statement(st, stmt, words + 1, n - 1, error_r);
	}
	free(words);
	return ret;
}

/* Names every required statement that is missing, as vimapd does. */
static int convert_check_required(const struct convert_state *st, const char **error_r)
{
	static const char fp[] = "FILEPOOLID (the mailstore's filepool)";
	static const char bf[] = "BADFILEID (where undeliverable mail goes)";
	int no_fp = st->filepoolid == NULL, no_bf = st->badfileid == NULL;

	if (no_fp && no_bf)
		return error_set(error_r, "%s: required statements %s and %s are missing",
				 st->name, fp, bf);
	if (no_fp || no_bf)
		return error_set(error_r, "%s: required statement %s is missing",
				 st->name, no_fp ? fp : bf);
	return 0;
}

/* ---- Output ---- */

static void convert_quote(struct strbuf *out, const char *s)
{
	strbuf_appendc(out, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_appendc(out, '\\');
		strbuf_appendc(out, *s);
	}
	strbuf_appendc(out, '"');
}

static void convert_emit_header(const struct convert_state *st, struct strbuf *out)
{
	char date[32];
	struct tm tm;
	time_t now = time(NULL);
	const char *p;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	strbuf_appends(out, "# Converted from ");
	/* A comment holds one line of printable ASCII, whatever the name. */
	for (p = st->name; *p != '\0'; p++)
		strbuf_appendc(out, (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f ? *p : '?');
	strbuf_appendf(out, " by vimap convert-config on %s.\n", date);
	strbuf_appends(out,
		       "# Only the seed's statements are here; every other key keeps its\n"
		       "# default (docs/config.md lists them all).  Each key says which line of\n"
		       "# the seed file it came from.\n");
}

static void convert_emit_source(const struct convert_source *src, const char *indent,
				struct strbuf *out)
{
	strbuf_appendf(out, "%s# line %u: %s\n", indent, src->line, src->text);
}

static void convert_emit_ids(const struct convert_state *st, struct strbuf *out)
{
	const struct convert_source *fp = &st->set[ST_FILEPOOLID], *bf = &st->set[ST_BADFILEID];

	strbuf_appendc(out, '\n');
	convert_emit_source(fp, "", out);
	strbuf_appendf(out,
		       "# was the SFS server's user id %s: set to the mailstore directory\n"
		       "# (storage: localfs) or a PostgreSQL conninfo (storage: sfs)\n"
		       "filepoolid: ", st->filepoolid);
	convert_quote(out, st->filepoolid);
	strbuf_appends(out, "\n\n");
	convert_emit_source(bf, "", out);
	strbuf_appendf(out,
		       "# was the user id %s, to whom undeliverable reader files were sent:\n"
		       "# set to the directory that undeliverable mail is moved into\n"
		       "badfileid: ", st->badfileid);
	convert_quote(out, st->badfileid);
	strbuf_appendc(out, '\n');
}

static void convert_emit_origins_trace(const struct convert_state *st, struct strbuf *out)
{
	static const char *const keys[TR_COUNT] = { "all", "codeflow", "socklibcalls", "socketio" };
	unsigned i, any = 0;

	if (st->origin_count > 0) {
		strbuf_appendf(out, "\n%smailoriginid: [", st->origin_comments.data);
		for (i = 0; i < st->origin_count; i++) {
			if (i > 0)
				strbuf_appends(out, ", ");
			convert_quote(out, st->origins[i]);
		}
		strbuf_appends(out, "]\n");
	}
	for (i = 0; i < TR_COUNT; i++) {
		if (st->trace[i].line == 0)
			continue;
		if (any++ == 0)
			strbuf_appends(out, "\ntrace:\n");
		convert_emit_source(&st->trace[i], "  ", out);
		strbuf_appendf(out, "  %s: ", keys[i]);
		if (i == TR_SOCKETIO && st->socketio_address != NULL)
			convert_quote(out, st->socketio_address);
		else
			strbuf_appends(out, "true");
		strbuf_appendc(out, '\n');
	}
}

static void convert_emit_rest(const struct convert_state *st, struct strbuf *out)
{
	const struct convert_source *s = st->set;

	if (s[ST_AUTHENTICATE].line != 0) {
		strbuf_appendc(out, '\n');
		convert_emit_source(&s[ST_AUTHENTICATE], "", out);
		strbuf_appends(out, st->esm ?
			       "# esm: the host's external security manager (PAM)\nauthenticate: esm\n" :
			       "# cp: the cp plugin's user directory file (vimap passwd)\nauthenticate: cp\n");
	}
	if (s[ST_PORT].line != 0) {
		strbuf_appendc(out, '\n');
		convert_emit_source(&s[ST_PORT], "", out);
		strbuf_appendf(out, "port: %llu\n", st->num[ST_PORT][0]);
	}
	if (s[ST_READERTHREADS].line != 0) {
		strbuf_appendc(out, '\n');
		convert_emit_source(&s[ST_READERTHREADS], "", out);
		strbuf_appendf(out, "readerthreads: %llu\n", st->num[ST_READERTHREADS][0]);
	}
	if (s[ST_IDLETIMEOUT].line != 0) {
		strbuf_appendc(out, '\n');
		convert_emit_source(&s[ST_IDLETIMEOUT], "", out);
		strbuf_appendf(out, "idletimeout:\n  unauthenticated: %llu\n  authenticated: %llu\n",
			       st->num[ST_IDLETIMEOUT][0], st->num[ST_IDLETIMEOUT][1]);
	}
	if (s[ST_ENROLLDEFAULTS].line != 0) {
		strbuf_appendc(out, '\n');
		convert_emit_source(&s[ST_ENROLLDEFAULTS], "", out);
		strbuf_appendf(out, "enrolldefaults:\n  blocks: %llu\n  storage_group: %llu\n",
			       st->num[ST_ENROLLDEFAULTS][0], st->num[ST_ENROLLDEFAULTS][1]);
	}
}

static void convert_state_free(struct convert_state *st)
{
	unsigned i;

	for (i = 0; i < ST_COUNT; i++)
		free(st->set[i].text);
	for (i = 0; i < TR_COUNT; i++)
		free(st->trace[i].text);
	for (i = 0; i < st->origin_count; i++)
		free(st->origins[i]);
	strbuf_free(&st->origin_comments);
	free(st->text);
	free(st->filepoolid);
	free(st->badfileid);
	free(st->socketio_address);
}

int convert_config(FILE *in, const char *in_name, struct strbuf *out,
		   struct strbuf *warnings, const char **error_r)
{
	struct convert_state st;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int ret = 0;

	memset(&st, 0, sizeof(st));
	st.name = in_name;
	st.warnings = warnings;
	while (ret == 0 && (n = getline(&line, &cap, in)) >= 0) {
		st.line++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		ret = convert_line(&st, line, (size_t)n, error_r);
	}
	free(line);
	if (ret == 0 && ferror(in))
		ret = error_set(error_r, "%s: read failed: %s", in_name, strerror(errno));
	if (ret == 0)
		ret = convert_check_required(&st, error_r);
	if (ret == 0) {
		convert_emit_header(&st, out);
		convert_emit_ids(&st, out);
		convert_emit_origins_trace(&st, out);
		convert_emit_rest(&st, out);
	}
	convert_state_free(&st);
	return ret;
}

/* ---- Writing the file ---- */

/* The mode of the file written: the replaced file's, else 0666 & ~umask. */
static mode_t convert_mode(const char *path, int force)
{
	struct stat st;
	mode_t mask;

	if (force && stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return st.st_mode & 07777;
	mask = umask(0);
	umask(mask);
	return 0666 & ~mask;
}

/* Puts the finished temporary file in place. */
static int convert_install(const char *tmp, const char *path, int force,
			   const char **error_r)
{
	char *dircopy;
	int dfd;

	if (force) {
		if (rename(tmp, path) < 0)
			return error_set(error_r, "rename(%s, %s) failed: %s",
					 tmp, path, strerror(errno));
	} else if (link(tmp, path) < 0) {
		/* link() never replaces: an existing file is kept, even one
		   made since the command started. */
		if (errno == EEXIST)
			return error_set(error_r, "%s exists: add --force to replace it", path);
		return error_set(error_r, "link(%s, %s) failed: %s", tmp, path, strerror(errno));
	} else {
		(void)unlink(tmp);
	}
	/* The new name must survive a crash too. */
	dircopy = xstrdup(path);
	if ((dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(dircopy);
	return 0;
}

int convert_config_write(const char *path, const struct strbuf *data, int force,
			 const char **error_r)
{
	char *tmp = xasprintf("%s.XXXXXX", path);
	mode_t mode = convert_mode(path, force);
	int fd = mkostemp(tmp, O_CLOEXEC), ret = 0;

	if (fd < 0) {
		ret = error_set(error_r, "cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return ret;
	}
	if (fchmod(fd, mode) < 0 || fd_write_all(fd, data->data, data->len) < 0 ||
	    fsync(fd) < 0) {
		ret = error_set(error_r, "writing %s failed: %s", tmp, strerror(errno));
		close(fd);
	} else if (close(fd) < 0) {
		ret = error_set(error_r, "writing %s failed: %s", tmp, strerror(errno));
	} else {
		ret = convert_install(tmp, path, force, error_r);
	}
	if (ret < 0)
		(void)unlink(tmp);
	free(tmp);
	return ret;
}

/* ---- The command ---- */

static int convert_usage(void)
{
	fprintf(stderr, "usage: vimap convert-config [--force] [SEEDFILE [OUTFILE]]\n"
		"       (SEEDFILE absent or '-': standard input; OUTFILE absent or '-':\n"
		"       standard output; --force replaces an existing OUTFILE)\n");
	return 2;
}

/* 1 when `a` and `b` name the same existing file. */
static int convert_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
		sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int convert_output(const char *out_path, const struct strbuf *data, int force)
{
	const char *error;

	if (out_path != NULL) {
		if (convert_config_write(out_path, data, force, &error) < 0) {
			fprintf(stderr, "vimap: %s\n", error);
			return 1;
		}
	} else if (fwrite(data->data, 1, data->len, stdout) != data->len ||
		   fflush(stdout) != 0) {
		fprintf(stderr, "vimap: writing standard output failed: %s\n", strerror(errno));
		return 1;
	}
	fprintf(stderr, "vimap: converted; filepoolid and badfileid still hold the seed's user ids: "
		"set them as their comments say before starting vimapd\n");
	return 0;
}

/* Converts `in_path` (NULL: standard input) to `out_path` (NULL: standard
   output). */
static int convert_run(const char *in_path, const char *out_path, int force)
{
	struct strbuf data = STRBUF_INIT, warnings = STRBUF_INIT;
	FILE *in = stdin;
	const char *error;
	int ret;

	if (out_path != NULL && !force && access(out_path, F_OK) == 0) {
		fprintf(stderr, "vimap: %s exists: add --force to replace it\n", out_path);
		return 1;
	}
	if (in_path != NULL && out_path != NULL && convert_same_file(in_path, out_path)) {
		fprintf(stderr, "vimap: %s is the seed file itself: write elsewhere\n", out_path);
		return 1;
	}
	if (in_path != NULL && (in = fopen(in_path, "r")) == NULL) {
		fprintf(stderr, "vimap: %s: cannot open: %s\n", in_path, strerror(errno));
		return 1;
	}
	ret = convert_config(in, in_path != NULL ? in_path : "<stdin>", &data, &warnings, &error);
	if (in != stdin)
		fclose(in);
	if (warnings.len > 0)
		fputs(warnings.data, stderr);
	if (ret < 0) {
		fprintf(stderr, "%s\n", error);
		ret = 1;
	} else {
		ret = convert_output(out_path, &data, force);
	}
	strbuf_free(&data);
	strbuf_free(&warnings);
	return ret;
}

int convert_config_command(int argc, char **argv)
{
	const char *paths[2] = { NULL, NULL };
	int i, npaths = 0, force = 0, options = 1;

	for (i = 1; i < argc; i++) {
		if (options && strcmp(argv[i], "--") == 0) {
			options = 0;
		} else if (options && strcmp(argv[i], "--force") == 0) {
			force = 1;
		} else if (options && argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "vimap: convert-config: unknown option %s\n", argv[i]);
			return convert_usage();
		} else if (npaths == 2) {
			return convert_usage();
		} else {
			paths[npaths++] = strcmp(argv[i], "-") == 0 ? NULL : argv[i];
		}
	}
	return convert_run(paths[0], paths[1], force);
}
