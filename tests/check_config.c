#include "autoconfig.h"
/* Unit tests of kernel/config.c: every key with its default and a set
 * value, every class of error with its exact line and column, plugin
 * sections, the file look-up order and the example file.  Each case
 * writes its YAML to a temporary file. */
#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"
#include "strbuf.h"
#include "xalloc.h"

#ifndef EXAMPLE_CONFIG
#error "EXAMPLE_CONFIG must name etc/vimap.yaml.example"
#endif

/* The two required statements, lines 1 and 2 of most cases. */
#define REQ "filepoolid: /srv/mail\nbadfileid: /srv/bad\n"
#define A10 "aaaaaaaaaa"
#define A60 A10 A10 A10 A10 A10 A10

static char tmpdir[PATH_MAX];

/* Writes `len` bytes of `text` to a new file under tmpdir; caller frees
   the returned path. */
static char *write_temp_len(const char *text, size_t len)
{
	char *path = xasprintf("%s/cfgXXXXXX.yaml", tmpdir);
	int fd = mkstemps(path, 5);

	ck_assert_msg(fd >= 0, "mkstemps(%s) failed", path);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static char *write_temp(const char *text)
{
	return write_temp_len(text, strlen(text));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "fopen(%s) failed", path);
	fputs(text, f);
	fclose(f);
}

/* Loads `text`; asserts success. */
static struct vimap_config *load_ok(const char *text)
{
	struct vimap_config *cfg = NULL;
	const char *error = NULL;
	char *path = write_temp(text);

	ck_assert_msg(config_load(path, &cfg, &error) == 0, "load failed: %s\n---\n%s",
		      error, text);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->path, path);
	free(path);
	return cfg;
}

/* Loads `len` bytes of `text`; asserts failure with PATH + suffix. */
static void expect_error_len(const char *text, size_t len, const char *suffix)
{
	struct vimap_config *cfg = (struct vimap_config *)1;
	const char *error = NULL;
	char *path = write_temp_len(text, len);
	char *expected = xasprintf("%s%s", path, suffix);

	ck_assert_int_eq(config_load(path, &cfg, &error), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, expected);
	free(expected);
	free(path);
}

/* ---- Defaults ---- */

START_TEST(test_defaults)
{
	struct vimap_config *cfg = load_ok(REQ);

	ck_assert_str_eq(cfg->filepoolid, "/srv/mail");
	ck_assert_str_eq(cfg->badfileid, "/srv/bad");
	ck_assert_uint_eq(cfg->mailoriginid_count, 1);
	ck_assert_str_eq(cfg->mailoriginid[0], "SMTP");
	ck_assert_uint_eq(cfg->trace, 0);
	ck_assert_ptr_null(cfg->trace_socketio_address);
	ck_assert_str_eq(cfg->authenticate, "cp");
	ck_assert_uint_eq(cfg->port, 143);
	ck_assert_uint_eq(cfg->readerthreads, 1);
	ck_assert_uint_eq(cfg->idle_unauth, 60);
	ck_assert_uint_eq(cfg->idle_auth, 0);
	ck_assert_uint_eq(cfg->enroll_blocks, 100);
	ck_assert_uint_eq(cfg->enroll_storage_group, 2);
	ck_assert_uint_eq(cfg->administrators_count, 0);
	ck_assert_str_eq(cfg->listen_address, "0.0.0.0");
	ck_assert_str_eq(cfg->plugin_dir, PKGLIBDIR);
	ck_assert_str_eq(cfg->storage, "localfs");
	ck_assert_uint_eq(cfg->delivery_count, 0);
	ck_assert_ptr_null(cfg->xlate_table);
	ck_assert_uint_eq(cfg->io_threads, 0);
	ck_assert_uint_eq(cfg->worker_threads, 8);
	ck_assert_uint_eq(cfg->max_literal, 67108864);
	ck_assert_str_eq(cfg->log_target, "stderr");
	ck_assert_int_eq(cfg->log_level, VIMAP_LOG_INFO);
	ck_assert_str_eq(cfg->admin_socket, RUNSTATEDIR "/vimap/admin.sock");
	ck_assert_ptr_null(config_plugin_section(cfg, "localfs"));
	config_free(&cfg);
}
END_TEST

/* ---- Set values ---- */

enum value_type { T_UINT, T_U64, T_LEVEL, T_STR };

struct value_case {
	const char *yaml;
	enum value_type type;
	size_t offset;            /* of the member in struct vimap_config */
	unsigned long long num;   /* T_UINT, T_U64, T_LEVEL */
	const char *str;          /* T_STR; NULL: the member must be NULL */
};

#define M(member) offsetof(struct vimap_config, member)

static const struct value_case value_cases[] = {
	/* FILEPOOLID: a localfs directory */
	{ REQ, T_STR, M(filepoolid), 0, "/srv/mail" },
	/* FILEPOOLID: an sfs conninfo with spaces */
	{ "filepoolid: \"host=db dbname=vimap\"\nbadfileid: /b\n", T_STR, M(filepoolid), 0,
	  "host=db dbname=vimap" },
	/* BADFILEID */
	{ REQ, T_STR, M(badfileid), 0, "/srv/bad" },
	/* PORT set */
	{ REQ "port: 993\n", T_UINT, M(port), 993, NULL },
	/* PORT lowest */
	{ REQ "port: 1\n", T_UINT, M(port), 1, NULL },
	/* PORT highest */
	{ REQ "port: 65535\n", T_UINT, M(port), 65535, NULL },
	/* a quoted number is still a number */
	{ REQ "port: \"993\"\n", T_UINT, M(port), 993, NULL },
	/* an empty value means the default */
	{ REQ "port:\n", T_UINT, M(port), 143, NULL },
	/* ~ means the default */
	{ REQ "port: ~\n", T_UINT, M(port), 143, NULL },
	/* READERTHREADS highest */
	{ REQ "readerthreads: 64\n", T_UINT, M(readerthreads), 64, NULL },
	/* TRACE ALL */
	{ REQ "trace:\n  all: true\n", T_UINT, M(trace), 7, NULL },
	/* TRACE CODEFLOW, with yes */
	{ REQ "trace:\n  codeflow: yes\n", T_UINT, M(trace), VIMAP_TRACE_CODEFLOW, NULL },
	/* TRACE SOCKLIBCALLS, with On */
	{ REQ "trace:\n  socklibcalls: On\n", T_UINT, M(trace), VIMAP_TRACE_SOCKLIBCALLS, NULL },
	/* TRACE SOCKETIO, with TRUE */
	{ REQ "trace:\n  socketio: TRUE\n", T_UINT, M(trace), VIMAP_TRACE_SOCKETIO, NULL },
	/* all off does not hide a class turned on */
	{ REQ "trace:\n  all: off\n  codeflow: true\n", T_UINT, M(trace), VIMAP_TRACE_CODEFLOW, NULL },
	/* every class off, with no/false/OFF */
	{ REQ "trace:\n  codeflow: no\n  socklibcalls: false\n  socketio: OFF\n", T_UINT, M(trace), 0, NULL },
	/* an empty trace mapping */
	{ REQ "trace: {}\n", T_UINT, M(trace), 0, NULL },
	/* TRACE SOCKETIO ipaddr: on ... */
	{ REQ "trace:\n  socketio: 192.0.2.7\n", T_UINT, M(trace), VIMAP_TRACE_SOCKETIO, NULL },
	/* ... for that address */
	{ REQ "trace:\n  socketio: 192.0.2.7\n", T_STR, M(trace_socketio_address), 0, "192.0.2.7" },
	/* an IPv6 address, unquoted */
	{ REQ "trace:\n  socketio: ::1\n", T_STR, M(trace_socketio_address), 0, "::1" },
	/* all with an address: everything on, socket data for one client */
	{ REQ "trace:\n  all: yes\n  socketio: \"2001:db8::5\"\n", T_UINT, M(trace), 7, NULL },
	/* socketio true: every address */
	{ REQ "trace:\n  socketio: true\n", T_STR, M(trace_socketio_address), 0, NULL },
	/* AUTHENTICATE ESM */
	{ REQ "authenticate: esm\n", T_STR, M(authenticate), 0, "esm" },
	/* the seed's capitals */
	{ REQ "authenticate: ESM\n", T_STR, M(authenticate), 0, "esm" },
	/* CP */
	{ REQ "authenticate: CP\n", T_STR, M(authenticate), 0, "cp" },
	/* an exit */
	{ REQ "authenticate: my-exit_2\n", T_STR, M(authenticate), 0, "my-exit_2" },
	/* an exit name of the longest length */
	{ REQ "authenticate: " A60 "aaaa\n", T_STR, M(authenticate), 0, A60 "aaaa" },
	/* IDLETIMEOUT first */
	{ REQ "idletimeout:\n  unauthenticated: 120\n", T_UINT, M(idle_unauth), 120, NULL },
	/* IDLETIMEOUT first, highest */
	{ REQ "idletimeout:\n  unauthenticated: 86400\n", T_UINT, M(idle_unauth), 86400, NULL },
	/* IDLETIMEOUT second left at infinity when only the first is set */
	{ REQ "idletimeout:\n  unauthenticated: 120\n", T_UINT, M(idle_auth), 0, NULL },
	/* IDLETIMEOUT second: the RFC 3501 floor itself is accepted */
	{ REQ "idletimeout:\n  authenticated: 1800\n", T_UINT, M(idle_auth), 1800, NULL },
	/* IDLETIMEOUT second: 0 (infinite) is accepted */
	{ REQ "idletimeout:\n  authenticated: 0\n", T_UINT, M(idle_auth), 0, NULL },
	/* IDLETIMEOUT second: a year */
	{ REQ "idletimeout:\n  authenticated: 31536000\n", T_UINT, M(idle_auth), 31536000, NULL },
	/* ENROLLDEFAULTS first */
	{ REQ "enrolldefaults:\n  blocks: 2147483647\n", T_UINT, M(enroll_blocks), 2147483647, NULL },
	/* ENROLLDEFAULTS second */
	{ REQ "enrolldefaults:\n  storage_group: 32767\n", T_UINT, M(enroll_storage_group), 32767, NULL },
	/* ENROLLDEFAULTS second, with the first left at its default */
	{ REQ "enrolldefaults:\n  storage_group: 1\n", T_UINT, M(enroll_blocks), 100, NULL },
	/* listen on every IPv6 address */
	{ REQ "listen_address: \"::\"\n", T_STR, M(listen_address), 0, "::" },
	/* listen on loopback */
	{ REQ "listen_address: 127.0.0.1\n", T_STR, M(listen_address), 0, "127.0.0.1" },
	/* plugin directory */
	{ REQ "plugin_dir: /opt/vimap/plugins\n", T_STR, M(plugin_dir), 0, "/opt/vimap/plugins" },
	/* storage plugin */
	{ REQ "storage: sfs\n", T_STR, M(storage), 0, "sfs" },
	/* translate table */
	{ REQ "xlate_table: ibm1047\n", T_STR, M(xlate_table), 0, "ibm1047" },
	/* translate table left to the look-up order */
	{ REQ "xlate_table: ~\n", T_STR, M(xlate_table), 0, NULL },
	/* I/O threads highest */
	{ REQ "io_threads: 256\n", T_UINT, M(io_threads), 256, NULL },
	/* worker threads lowest */
	{ REQ "worker_threads: 1\n", T_UINT, M(worker_threads), 1, NULL },
	/* worker threads highest */
	{ REQ "worker_threads: 1024\n", T_UINT, M(worker_threads), 1024, NULL },
	/* max literal lowest */
	{ REQ "max_literal: 1024\n", T_U64, M(max_literal), 1024, NULL },
	/* max literal highest: 4 GiB */
	{ REQ "max_literal: 4294967296\n", T_U64, M(max_literal), 4294967296ULL, NULL },
	/* log to syslog */
	{ REQ "log:\n  target: syslog\n", T_STR, M(log_target), 0, "syslog" },
	/* log level debug */
	{ REQ "log:\n  level: debug\n", T_LEVEL, M(log_level), VIMAP_LOG_DEBUG, NULL },
	/* log level warning */
	{ REQ "log:\n  level: warning\n", T_LEVEL, M(log_level), VIMAP_LOG_WARNING, NULL },
	/* log level error, in capitals */
	{ REQ "log:\n  level: ERROR\n", T_LEVEL, M(log_level), VIMAP_LOG_ERROR, NULL },
	/* admin socket */
	{ REQ "admin_socket: /run/v/admin.sock\n", T_STR, M(admin_socket), 0, "/run/v/admin.sock" },
	/* flow style for the whole file */
	{ "{filepoolid: /a, badfileid: /b, port: 1143}\n", T_UINT, M(port), 1143, NULL },
	/* comments and blank lines anywhere */
	{ "# vimap\n\nfilepoolid: /a # the pool\n\nbadfileid: /b\nport: 144\n", T_UINT, M(port), 144, NULL },
};

START_TEST(test_values)
{
	const struct value_case *c = &value_cases[_i];
	struct vimap_config *cfg = load_ok(c->yaml);
	const char *base = (const char *)cfg;

	switch (c->type) {
	case T_UINT:
		ck_assert_uint_eq(*(const unsigned *)(base + c->offset), c->num);
		break;
	case T_U64:
		ck_assert_uint_eq(*(const uint64_t *)(base + c->offset), c->num);
		break;
	case T_LEVEL:
		ck_assert_uint_eq(*(const enum vimap_log_level *)(base + c->offset), c->num);
		break;
	case T_STR:
		if (c->str == NULL)
			ck_assert_ptr_null(*(char *const *)(base + c->offset));
		else
			ck_assert_str_eq(*(char *const *)(base + c->offset), c->str);
		break;
	}
	config_free(&cfg);
}
END_TEST

/* ---- Lists ---- */

enum list_which { L_ORIGINS, L_ADMINS, L_DELIVERY };

struct list_case {
	const char *yaml;
	enum list_which which;
	const char *joined;       /* the entries joined with ',' */
};

static const struct list_case list_cases[] = {
	/* MAILORIGINID default */
	{ REQ, L_ORIGINS, "SMTP" },
	/* MAILORIGINID as one string */
	{ REQ "mailoriginid: MAILER\n", L_ORIGINS, "MAILER" },
	/* MAILORIGINID as a flow list */
	{ REQ "mailoriginid: [SMTP, SMTP2]\n", L_ORIGINS, "SMTP,SMTP2" },
	/* MAILORIGINID as a block list */
	{ REQ "mailoriginid:\n  - smtp\n  - postfix\n  - exim\n", L_ORIGINS, "smtp,postfix,exim" },
	/* MAILORIGINID empty value: the default */
	{ REQ "mailoriginid:\n", L_ORIGINS, "SMTP" },
	/* administrators default: none */
	{ REQ, L_ADMINS, "" },
	/* administrators listed */
	{ REQ "administrators: [root, alice]\n", L_ADMINS, "root,alice" },
	/* one administrator as a string */
	{ REQ "administrators: alice\n", L_ADMINS, "alice" },
	/* an empty list */
	{ REQ "administrators: []\n", L_ADMINS, "" },
	/* delivery default: none */
	{ REQ, L_DELIVERY, "" },
	/* delivery plugins */
	{ REQ "delivery: [spool, lmtp]\n", L_DELIVERY, "spool,lmtp" },
};

START_TEST(test_lists)
{
	const struct list_case *c = &list_cases[_i];
	struct vimap_config *cfg = load_ok(c->yaml);
	struct strbuf sb = STRBUF_INIT;
	char **list = cfg->mailoriginid;
	unsigned i, n = cfg->mailoriginid_count;

	if (c->which == L_ADMINS) {
		list = cfg->administrators;
		n = cfg->administrators_count;
	} else if (c->which == L_DELIVERY) {
		list = cfg->delivery;
		n = cfg->delivery_count;
	}
	strbuf_appends(&sb, "");
	for (i = 0; i < n; i++)
		strbuf_appendf(&sb, "%s%s", i > 0 ? "," : "", list[i]);
	ck_assert_str_eq(sb.data, c->joined);
	strbuf_free(&sb);
	config_free(&cfg);
}
END_TEST

/* ---- Errors ---- */

struct error_case {
	const char *yaml;
	const char *error;        /* what follows the file's path */
};

static const struct error_case error_cases[] = {
	/* a misspelt statement, with its position */
	{ REQ "prot: 143\n", ":3:1: unknown key 'prot'" },
	/* the seed's capitals get a hint */
	{ REQ "PORT: 143\n", ":3:1: unknown key 'PORT' (keys are lower case: 'port')" },
	/* not an integer */
	{ REQ "port: abc\n", ":3:7: port: expected an integer 1..65535, got 'abc'" },
	/* above the range */
	{ REQ "port: 70000\n", ":3:7: port: 70000 is out of range 1..65535" },
	/* below the range */
	{ REQ "port: 0\n", ":3:7: port: 0 is out of range 1..65535" },
	/* no sign where no negative is allowed */
	{ REQ "port: -1\n", ":3:7: port: expected an integer 1..65535, got '-1'" },
	/* no plus sign */
	{ REQ "port: +143\n", ":3:7: port: expected an integer 1..65535, got '+143'" },
	/* no leading zero (never octal) */
	{ REQ "port: 0143\n", ":3:7: port: expected an integer 1..65535, got '0143'" },
	/* no hex */
	{ REQ "port: 0x8f\n", ":3:7: port: expected an integer 1..65535, got '0x8f'" },
	/* no fraction */
	{ REQ "port: 1.5\n", ":3:7: port: expected an integer 1..65535, got '1.5'" },
	/* overflow of 64 bits is out of range, not wrapped */
	{ REQ "port: 99999999999999999999999\n",
	  ":3:7: port: 99999999999999999999999 is out of range 1..65535" },
	/* a list where a number belongs */
	{ REQ "port: [143]\n", ":3:7: port: expected an integer 1..65535, got a list" },
	/* READERTHREADS above */
	{ REQ "readerthreads: 65\n", ":3:16: readerthreads: 65 is out of range 1..64" },
	/* READERTHREADS zero */
	{ REQ "readerthreads: 0\n", ":3:16: readerthreads: 0 is out of range 1..64" },
	/* trace as a word, the seed's way */
	{ REQ "trace: all\n", ":3:8: trace: expected a mapping, got a string" },
	/* a trace class that does not exist */
	{ REQ "trace:\n  sockio: true\n", ":4:3: trace: unknown key 'sockio'" },
	/* not a boolean */
	{ REQ "trace:\n  codeflow: maybe\n",
	  ":4:13: trace.codeflow: expected true or false (or yes/no, on/off), got 'maybe'" },
	/* a list for a boolean */
	{ REQ "trace:\n  all: [1]\n",
	  ":4:8: trace.all: expected true or false (or yes/no, on/off), got a list" },
	/* socketio: not an address */
	{ REQ "trace:\n  socketio: 300.1.1.1\n",
	  ":4:13: trace.socketio: expected true, false or an IP address, got '300.1.1.1'" },
	/* socketio: a host name is not an address */
	{ REQ "trace:\n  socketio: client.example.com\n",
	  ":4:13: trace.socketio: expected true, false or an IP address, got 'client.example.com'" },
	/* AUTHENTICATE: not a name */
	{ REQ "authenticate: \"Bad Exit\"\n",
	  ":3:15: authenticate: expected cp, esm or an exit name ([a-z0-9_-], at most 64 characters), got 'Bad Exit'" },
	/* AUTHENTICATE: a name one too long (the message quotes 60 bytes) */
	{ REQ "authenticate: " A60 "aaaaa\n",
	  ":3:15: authenticate: expected cp, esm or an exit name ([a-z0-9_-], at most 64 characters), got '" A60 "...'" },
	/* AUTHENTICATE: a mapping */
	{ REQ "authenticate: {exit: x}\n", ":3:15: authenticate: expected a string, got a mapping" },
	/* IDLETIMEOUT as the seed's two numbers */
	{ REQ "idletimeout: 60 0\n", ":3:14: idletimeout: expected a mapping, got a string" },
	/* IDLETIMEOUT: misspelt key */
	{ REQ "idletimeout:\n  authenticted: 1800\n", ":4:3: idletimeout: unknown key 'authenticted'" },
	/* IDLETIMEOUT first: zero */
	{ REQ "idletimeout:\n  unauthenticated: 0\n",
	  ":4:20: idletimeout.unauthenticated: 0 is out of range 1..86400" },
	/* IDLETIMEOUT first: above a day */
	{ REQ "idletimeout:\n  unauthenticated: 86401\n",
	  ":4:20: idletimeout.unauthenticated: 86401 is out of range 1..86400" },
	/* IDLETIMEOUT second: one below the RFC 3501 floor */
	{ REQ "idletimeout:\n  authenticated: 1799\n",
	  ":4:18: idletimeout.authenticated: 1799 seconds is too short: RFC 3501 section 5.4 requires at least 1800 seconds (30 minutes); use 0 for no limit" },
	/* IDLETIMEOUT second: 1 */
	{ REQ "idletimeout:\n  authenticated: 1\n",
	  ":4:18: idletimeout.authenticated: 1 seconds is too short: RFC 3501 section 5.4 requires at least 1800 seconds (30 minutes); use 0 for no limit" },
	/* IDLETIMEOUT second: above a year */
	{ REQ "idletimeout:\n  authenticated: 31536001\n",
	  ":4:18: idletimeout.authenticated: 31536001 is out of range 0 or 1800..31536000" },
	/* IDLETIMEOUT second: a word */
	{ REQ "idletimeout:\n  authenticated: never\n",
	  ":4:18: idletimeout.authenticated: expected an integer 0 or 1800..31536000, got 'never'" },
	/* ENROLLDEFAULTS first: zero */
	{ REQ "enrolldefaults:\n  blocks: 0\n", ":4:11: enrolldefaults.blocks: 0 is out of range 1..2147483647" },
	/* ENROLLDEFAULTS first: 2^31 */
	{ REQ "enrolldefaults:\n  blocks: 2147483648\n",
	  ":4:11: enrolldefaults.blocks: 2147483648 is out of range 1..2147483647" },
	/* ENROLLDEFAULTS second: above */
	{ REQ "enrolldefaults:\n  storage_group: 32768\n",
	  ":4:18: enrolldefaults.storage_group: 32768 is out of range 1..32767" },
	/* ENROLLDEFAULTS as a list */
	{ REQ "enrolldefaults: [100, 2]\n", ":3:17: enrolldefaults: expected a mapping, got a list" },
	/* administrators: a mapping */
	{ REQ "administrators: {root: yes}\n", ":3:17: administrators: expected a list of strings, got a mapping" },
	/* administrators: a nested list */
	{ REQ "administrators:\n  - [root]\n", ":4:5: administrators: expected a list of strings, got a list in the list" },
	/* administrators: a name with a space */
	{ REQ "administrators: [\"a b\"]\n", ":3:18: administrators: 'a b' is not a user name" },
	/* administrators: twice the same */
	{ REQ "administrators: [root, root]\n", ":3:24: administrators: 'root' is listed twice" },
	/* MAILORIGINID: none */
	{ REQ "mailoriginid: []\n", ":3:15: mailoriginid: expected 1..32 ids, got none" },
	/* MAILORIGINID: an empty id */
	{ REQ "mailoriginid: [SMTP, \"\"]\n", ":3:22: mailoriginid: '' is not a user id" },
	/* listen_address: a host name */
	{ REQ "listen_address: localhost\n", ":3:17: listen_address: 'localhost' is not an IPv4 or IPv6 address" },
	/* storage: not a plugin name */
	{ REQ "storage: Local/FS\n",
	  ":3:10: storage: 'Local/FS' is not a plugin name ([a-z0-9_-], at most 64 characters)" },
	/* storage: a mapping */
	{ REQ "storage: {name: sfs}\n", ":3:10: storage: expected a string, got a mapping" },
	/* delivery: twice the same */
	{ REQ "delivery: [spool, spool]\n", ":3:19: delivery: 'spool' is listed twice" },
	/* delivery: not a plugin name */
	{ REQ "delivery: [Spool]\n",
	  ":3:12: delivery: 'Spool' is not a plugin name ([a-z0-9_-], at most 64 characters)" },
	/* io_threads above */
	{ REQ "io_threads: 257\n", ":3:13: io_threads: 257 is out of range 0..256" },
	/* worker_threads zero */
	{ REQ "worker_threads: 0\n", ":3:17: worker_threads: 0 is out of range 1..1024" },
	/* worker_threads above */
	{ REQ "worker_threads: 1025\n", ":3:17: worker_threads: 1025 is out of range 1..1024" },
	/* max_literal below 1 KiB */
	{ REQ "max_literal: 1023\n", ":3:14: max_literal: 1023 is out of range 1024..4294967296" },
	/* max_literal above 4 GiB */
	{ REQ "max_literal: 4294967297\n", ":3:14: max_literal: 4294967297 is out of range 1024..4294967296" },
	/* max_literal with a unit */
	{ REQ "max_literal: 64M\n", ":3:14: max_literal: expected an integer 1024..4294967296, got '64M'" },
	/* log as a word */
	{ REQ "log: syslog\n", ":3:6: log: expected a mapping, got a string" },
	/* log target unknown */
	{ REQ "log:\n  target: file\n", ":4:11: log.target: expected stderr or syslog, got 'file'" },
	/* log level unknown */
	{ REQ "log:\n  level: verbose\n",
	  ":4:10: log.level: expected debug, info, warning or error, got 'verbose'" },
	/* an empty string where a path belongs */
	{ REQ "admin_socket: \"\"\n", ":3:15: admin_socket: expected a non-empty string" },
	/* plugin_dir: an empty string */
	{ REQ "plugin_dir: ''\n", ":3:13: plugin_dir: expected a non-empty string" },
	/* xlate_table: a list */
	{ REQ "xlate_table: [a]\n", ":3:14: xlate_table: expected a string, got a list" },
	/* a NUL byte inside a quoted string */
	{ REQ "xlate_table: \"a\\0b\"\n", ":3:14: xlate_table: contains a NUL byte" },
	/* plugins: a string */
	{ REQ "plugins: localfs\n", ":3:10: plugins: expected a mapping, got a string" },
	/* plugins: a list */
	{ REQ "plugins: [localfs]\n", ":3:10: plugins: expected a mapping, got a list" },
	/* a plugin section that is not a mapping */
	{ REQ "plugins:\n  localfs: /srv\n", ":4:12: plugins.localfs: expected a mapping, got a string" },
	/* a plugin section under a bad name */
	{ REQ "plugins:\n  Local!: {}\n",
	  ":4:3: plugins: 'Local!' is not a plugin name ([a-z0-9_-], at most 64 characters)" },
	/* a duplicate statement */
	{ REQ "port: 143\nport: 144\n", ":4:1: duplicate key 'port' (first at line 3, column 1)" },
	/* a duplicate key in a nested mapping */
	{ REQ "trace:\n  all: no\n  all: yes\n", ":5:3: duplicate key 'all' (first at line 4, column 3)" },
	/* a duplicate key in a plugin section */
	{ REQ "plugins:\n  p:\n    k: 1\n    k: 2\n", ":6:5: duplicate key 'k' (first at line 5, column 5)" },
	/* a key that is a list */
	{ REQ "? [port]\n: 143\n", ":3:3: expected a string as key, got a list" },
	/* YAML syntax: an unclosed flow list */
	{ REQ "port: [1\n",
	  ":4:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 3, column 7)" },
	/* YAML syntax: bad indentation */
	{ REQ "  port: 1\n", ":3:7: YAML syntax error: mapping values are not allowed in this context" },
	/* YAML syntax: an unclosed quote */
	{ REQ "port: \"143\n",
	  ":4:1: YAML syntax error: found unexpected end of stream (while scanning a quoted scalar at line 3, column 7)" },
	/* YAML: an alias to nothing */
	{ REQ "port: *nope\n", ":3:7: YAML syntax error: found undefined alias" },
	/* not UTF-8 */
	{ REQ "port: \xff\n", ":3:7: not valid YAML text: invalid leading UTF-8 octet (byte 0xff)" },
	/* a second document */
	{ REQ "---\nport: 1\n", ":3:1: a second YAML document: the file must hold one" },
	/* an empty file */
	{ "", ":1:1: the file is empty: expected a mapping of statements" },
	/* only comments */
	{ "# nothing here\n\n", ":1:1: the file is empty: expected a mapping of statements" },
	/* a list at the top */
	{ "- filepoolid\n", ":1:1: expected a mapping of statements at the top level, got a list" },
	/* the seed's own syntax is one string to YAML */
	{ "FILEPOOLID VMSYSU\nBADFILEID POSTMAST\n",
	  ":1:1: expected a mapping of statements at the top level, got a string" },
	/* FILEPOOLID missing */
	{ "badfileid: /b\n",
	  ": required statement 'filepoolid' (FILEPOOLID: the mailstore's filepool) is missing" },
	/* BADFILEID missing */
	{ "filepoolid: /a\n",
	  ": required statement 'badfileid' (BADFILEID: where undeliverable mail goes) is missing" },
	/* both missing */
	{ "port: 143\n",
	  ": required statements 'filepoolid' (FILEPOOLID: the mailstore's filepool) and 'badfileid' (BADFILEID: where undeliverable mail goes) are missing" },
	/* given without a value counts as missing */
	{ "filepoolid:\nbadfileid: /b\n",
	  ": required statement 'filepoolid' (FILEPOOLID: the mailstore's filepool) is missing" },
	/* given as an empty string */
	{ "filepoolid: \"\"\nbadfileid: /b\n",
	  ":1:13: filepoolid: expected a non-empty string (FILEPOOLID: the mailstore's filepool)" },
	/* given as a list */
	{ "filepoolid: [a]\nbadfileid: /b\n", ":1:13: filepoolid: expected a string, got a list" },
	/* an unknown key is found before a missing statement */
	{ "prot: 143\n", ":1:1: unknown key 'prot'" },
};

START_TEST(test_errors)
{
	const struct error_case *c = &error_cases[_i];

	expect_error_len(c->yaml, strlen(c->yaml), c->error);
}
END_TEST

/* A NUL byte in the file itself is not YAML text. */
START_TEST(test_error_nul_byte)
{
	static const char text[] = REQ "port: 1\0\n";

	expect_error_len(text, sizeof(text) - 1,
			 ":3:8: not valid YAML text: control characters are not allowed (byte 0x00)");
}
END_TEST

/* 32 origin ids are accepted, a 33rd is refused where it stands. */
START_TEST(test_origins_limit)
{
	struct strbuf sb = STRBUF_INIT;
	struct vimap_config *cfg;
	unsigned i;

	strbuf_appends(&sb, REQ "mailoriginid:\n");
	for (i = 1; i <= CONFIG_MAX_ORIGINS; i++)
		strbuf_appendf(&sb, "  - ORIG%u\n", i);
	cfg = load_ok(sb.data);
	ck_assert_uint_eq(cfg->mailoriginid_count, 32);
	ck_assert_str_eq(cfg->mailoriginid[0], "ORIG1");
	ck_assert_str_eq(cfg->mailoriginid[31], "ORIG32");
	config_free(&cfg);

	strbuf_appends(&sb, "  - ORIG33\n");
	/* line 3 is "mailoriginid:", the 33rd entry is on line 36 */
	expect_error_len(sb.data, sb.len, ":36:5: mailoriginid: at most 32 ids may be listed, got 33");
	strbuf_free(&sb);
}
END_TEST

/* A Unix socket path must fit sun_path (107 bytes and the NUL). */
START_TEST(test_admin_socket_length)
{
	char path[109], *yaml;
	struct vimap_config *cfg;

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[107] = '\0';
	yaml = xasprintf(REQ "admin_socket: %s\n", path);
	cfg = load_ok(yaml);
	ck_assert_uint_eq(strlen(cfg->admin_socket), 107);
	config_free(&cfg);
	free(yaml);

	path[107] = 'x';
	path[108] = '\0';
	yaml = xasprintf(REQ "admin_socket: %s\n", path);
	expect_error_len(yaml, strlen(yaml),
			 ":3:15: admin_socket: the path is 108 bytes long; a Unix socket path holds at most 107");
	free(yaml);
}
END_TEST

/* A file that cannot be read. */
START_TEST(test_unreadable)
{
	struct vimap_config *cfg = (struct vimap_config *)1;
	const char *error;
	char *path = xasprintf("%s/does-not-exist.yaml", tmpdir);
	char *expected = xasprintf("%s: cannot open: No such file or directory", path);

	ck_assert_int_eq(config_load(path, &cfg, &error), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(error, expected);
	free(expected);
	free(path);

	/* a directory opens but does not read */
	expected = xasprintf("%s: cannot read: Is a directory", tmpdir);
	ck_assert_int_eq(config_load(tmpdir, &cfg, &error), -1);
	ck_assert_str_eq(error, expected);
	free(expected);
}
END_TEST

/* ---- Plugin sections ---- */

static const char section_yaml[] =
	REQ                                    /* lines 1-2 */
	"plugins:\n"                           /* 3 */
	"  localfs:\n"                         /* 4 */
	"    root: /var/mail\n"                /* 5 */
	"    fsync: no\n"                      /* 6 */
	"    depth: 3\n"                       /* 7 */
	"    offset: -5\n"                     /* 8 */
	"    nothing:\n"                       /* 9 */
	"    list: [a]\n"                      /* 10 */
	"    big: 99999999999999999999\n"      /* 11 */
	"  quiet:\n";                          /* 12 */

enum getter { G_STRING, G_INT, G_BOOL };
enum which_section { S_LOCALFS, S_QUIET, S_NONE };

struct section_case {
	enum which_section section;
	enum getter getter;
	const char *key;
	long long def, min, max;   /* def also the string getter's "1"/NULL */
	int rc;
	long long num;             /* G_INT, G_BOOL result */
	const char *str;           /* G_STRING result, or the error suffix */
};

static const struct section_case section_cases[] = {
	/* a string */
	{ S_LOCALFS, G_STRING, "root", 0, 0, 0, 0, 0, "/var/mail" },
	/* an absent string: the default */
	{ S_LOCALFS, G_STRING, "absent", 1, 0, 0, 0, 0, "default" },
	/* an empty value: the default */
	{ S_LOCALFS, G_STRING, "nothing", 1, 0, 0, 0, 0, "default" },
	/* an absent string with a NULL default */
	{ S_LOCALFS, G_STRING, "absent", 0, 0, 0, 0, 0, NULL },
	/* a number read as a string */
	{ S_LOCALFS, G_STRING, "depth", 0, 0, 0, 0, 0, "3" },
	/* a list read as a string */
	{ S_LOCALFS, G_STRING, "list", 0, 0, 0, -1, 0,
	  ":10:11: plugins.localfs.list: expected a string, got a list" },
	/* an integer */
	{ S_LOCALFS, G_INT, "depth", 7, 0, 10, 0, 3, NULL },
	/* an absent integer: the default */
	{ S_LOCALFS, G_INT, "absent", 42, 0, 100, 0, 42, NULL },
	/* out of the plugin's range */
	{ S_LOCALFS, G_INT, "depth", 7, 4, 10, -1, 0,
	  ":7:12: plugins.localfs.depth: 3 is out of range 4..10" },
	/* a negative integer where the range allows it */
	{ S_LOCALFS, G_INT, "offset", 0, -10, 10, 0, -5, NULL },
	/* a negative integer where the range does not */
	{ S_LOCALFS, G_INT, "offset", 0, 0, 10, -1, 0,
	  ":8:13: plugins.localfs.offset: expected an integer 0..10, got '-5'" },
	/* a string read as an integer */
	{ S_LOCALFS, G_INT, "root", 0, 0, 10, -1, 0,
	  ":5:11: plugins.localfs.root: expected an integer 0..10, got '/var/mail'" },
	/* overflow of the whole 64-bit range */
	{ S_LOCALFS, G_INT, "big", 0, LLONG_MIN, LLONG_MAX, -1, 0,
	  ":11:10: plugins.localfs.big: 99999999999999999999 is out of range -9223372036854775808..9223372036854775807" },
	/* a boolean */
	{ S_LOCALFS, G_BOOL, "fsync", 1, 0, 0, 0, 0, NULL },
	/* an absent boolean: the default */
	{ S_LOCALFS, G_BOOL, "absent", 1, 0, 0, 0, 1, NULL },
	/* a string read as a boolean */
	{ S_LOCALFS, G_BOOL, "root", 0, 0, 0, -1, 0,
	  ":5:11: plugins.localfs.root: expected true or false (or yes/no, on/off), got '/var/mail'" },
	/* a section given with no keys: defaults */
	{ S_QUIET, G_STRING, "root", 1, 0, 0, 0, 0, "default" },
	/* ... for integers too */
	{ S_QUIET, G_INT, "depth", 9, 0, 10, 0, 9, NULL },
	/* no section at all (NULL): defaults */
	{ S_NONE, G_STRING, "root", 1, 0, 0, 0, 0, "default" },
	/* ... integers */
	{ S_NONE, G_INT, "depth", 5, 0, 10, 0, 5, NULL },
	/* ... booleans */
	{ S_NONE, G_BOOL, "fsync", 0, 0, 0, 0, 0, NULL },
};

START_TEST(test_section_getters)
{
	static const char *const names[] = { "localfs", "quiet", "nosuch" };
	const struct section_case *c = &section_cases[_i];
	struct vimap_config *cfg = load_ok(section_yaml);
	const struct config_section *s = config_plugin_section(cfg, names[c->section]);
	const char *error = NULL, *str = NULL;
	long long num = -999;
	int b = -999, rc = 0;

	if (c->section == S_NONE)
		ck_assert_ptr_null(s);
	else
		ck_assert_ptr_nonnull(s);
	switch (c->getter) {
	case G_STRING:
		rc = config_section_string(s, c->key, c->def ? "default" : NULL, &str, &error);
		break;
	case G_INT:
		rc = config_section_int(s, c->key, c->def, c->min, c->max, &num, &error);
		break;
	case G_BOOL:
		rc = config_section_bool(s, c->key, (int)c->def, &b, &error);
		num = b;
		break;
	}
	ck_assert_int_eq(rc, c->rc);
	if (rc < 0) {
		char *expected = xasprintf("%s%s", cfg->path, c->str);

		ck_assert_str_eq(error, expected);
		free(expected);
	} else if (c->getter == G_STRING) {
		if (c->str == NULL)
			ck_assert_ptr_null(str);
		else
			ck_assert_str_eq(str, c->str);
	} else {
		ck_assert_int_eq(num, c->num);
	}
	config_free(&cfg);
}
END_TEST

START_TEST(test_section_check_keys)
{
	static const char *const all[] = {
		"root", "fsync", "depth", "offset", "nothing", "list", "big", NULL
	};
	static const char *const no_big[] = {
		"root", "fsync", "depth", "offset", "nothing", "list", NULL
	};
	static const char *const none[] = { NULL };
	struct vimap_config *cfg = load_ok(section_yaml);
	const struct config_section *s = config_plugin_section(cfg, "localfs");
	const char *error = NULL;
	char *expected;

	ck_assert_int_eq(config_section_check_keys(s, all, &error), 0);
	ck_assert_int_eq(config_section_check_keys(s, no_big, &error), -1);
	expected = xasprintf("%s:11:5: plugins.localfs: unknown key 'big'", cfg->path);
	ck_assert_str_eq(error, expected);
	free(expected);
	ck_assert_int_eq(config_section_check_keys(s, none, &error), -1);
	expected = xasprintf("%s:5:5: plugins.localfs: unknown key 'root'", cfg->path);
	ck_assert_str_eq(error, expected);
	free(expected);
	/* an empty section and no section have no unknown keys */
	ck_assert_int_eq(config_section_check_keys(config_plugin_section(cfg, "quiet"),
						   none, &error), 0);
	ck_assert_int_eq(config_section_check_keys(NULL, none, &error), 0);
	config_free(&cfg);
}
END_TEST

/* An alias may point back at its own mapping: loading must not loop. */
START_TEST(test_section_alias_cycle)
{
	struct vimap_config *cfg = load_ok(REQ "plugins:\n  p: &x\n    k: *x\n");
	const struct config_section *s = config_plugin_section(cfg, "p");
	const char *error, *str;
	/* libyaml resolves an alias to its anchored node: the error names
	   where that node starts (the anchor, line 4) */
	char *expected = xasprintf("%s:4:6: plugins.p.k: expected a string, got a mapping",
				   cfg->path);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(config_section_string(s, "k", NULL, &str, &error), -1);
	ck_assert_str_eq(error, expected);
	free(expected);
	config_free(&cfg);
}
END_TEST

/* ---- config_find ---- */

enum { HAS_SERVER = 1, HAS_GENERIC = 2, HAS_EXPLICIT = 4, SERVER_IS_DIR = 8 };

struct find_case {
	unsigned files;           /* HAS_* present in the directory */
	const char *server_name;
	const char *explicit_name;/* file name under the directory, or NULL */
	const char *dir_suffix;   /* appended to the directory given */
	const char *found;        /* file name expected, or NULL */
	const char *error;        /* with '@' for the directory */
};

static const struct find_case find_cases[] = {
	/* both exist: the server's own file wins */
	{ HAS_SERVER | HAS_GENERIC, "imap1", NULL, "", "imap1.yaml", NULL },
	/* only vimap.yaml: the fallback */
	{ HAS_GENERIC, "imap1", NULL, "", "vimap.yaml", NULL },
	/* only the server's file */
	{ HAS_SERVER, "imap1", NULL, "", "imap1.yaml", NULL },
	/* --config wins over both */
	{ HAS_SERVER | HAS_GENERIC | HAS_EXPLICIT, "imap1", "explicit.yaml", "", "explicit.yaml", NULL },
	/* --config naming a missing file is an error even when others exist */
	{ HAS_SERVER | HAS_GENERIC, "imap1", "explicit.yaml", "", NULL,
	  "@/explicit.yaml: cannot open: No such file or directory" },
	/* none found: every file tried is named */
	{ 0, "imap1", NULL, "", NULL,
	  "no configuration file found: tried @/imap1.yaml and @/vimap.yaml" },
	/* the server called vimap: one file tried */
	{ 0, "vimap", NULL, "", NULL, "no configuration file found: tried @/vimap.yaml" },
	/* no server name: vimap.yaml only */
	{ HAS_SERVER | HAS_GENERIC, NULL, NULL, "", "vimap.yaml", NULL },
	/* a trailing slash on the directory is not doubled */
	{ HAS_GENERIC, "imap1", NULL, "/", "vimap.yaml", NULL },
	/* a server name with '/' */
	{ HAS_GENERIC, "../imap1", NULL, "", NULL,
	  "server name '../imap1' is not valid: it must be non-empty and contain no '/'" },
	/* an empty server name */
	{ HAS_GENERIC, "", NULL, "", NULL,
	  "server name '' is not valid: it must be non-empty and contain no '/'" },
	/* the server's name is a directory: an error, not a silent fallback */
	{ SERVER_IS_DIR | HAS_GENERIC, "imap1", NULL, "", NULL,
	  "@/imap1.yaml: cannot open: Is a directory" },
};

/* `tmpl` with every '@' replaced by `dir`; caller frees. */
static char *expand(const char *tmpl, const char *dir)
{
	struct strbuf sb = STRBUF_INIT;

	for (; *tmpl != '\0'; tmpl++) {
		if (*tmpl == '@')
			strbuf_appends(&sb, dir);
		else
			strbuf_appendc(&sb, *tmpl);
	}
	return strbuf_steal(&sb);
}

START_TEST(test_find)
{
	const struct find_case *c = &find_cases[_i];
	char *dir = xasprintf("%s/find%d", tmpdir, _i);
	char *file, *given, *explicit_path = NULL, *path = NULL;
	const char *error = NULL;
	int rc;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	if (c->files & HAS_SERVER) {
		file = xasprintf("%s/imap1.yaml", dir);
		write_file(file, REQ);
		free(file);
	}
	if (c->files & SERVER_IS_DIR) {
		file = xasprintf("%s/imap1.yaml", dir);
		ck_assert_int_eq(mkdir(file, 0700), 0);
		free(file);
	}
	if (c->files & HAS_GENERIC) {
		file = xasprintf("%s/vimap.yaml", dir);
		write_file(file, REQ);
		free(file);
	}
	if (c->files & HAS_EXPLICIT) {
		file = xasprintf("%s/explicit.yaml", dir);
		write_file(file, REQ);
		free(file);
	}
	if (c->explicit_name != NULL)
		explicit_path = xasprintf("%s/%s", dir, c->explicit_name);
	given = xasprintf("%s%s", dir, c->dir_suffix);
	rc = config_find(given, c->server_name, explicit_path, &path, &error);
	if (c->found != NULL) {
		char *want = xasprintf("%s/%s", dir, c->found);

		ck_assert_msg(rc == 0, "config_find failed: %s", error);
		ck_assert_str_eq(path, want);
		free(want);
	} else {
		char *want = expand(c->error, dir);

		ck_assert_int_eq(rc, -1);
		ck_assert_ptr_null(path);
		ck_assert_str_eq(error, want);
		free(want);
	}
	free(path);
	free(given);
	free(explicit_path);
	free(dir);
}
END_TEST

/* With no directory given, the installed SYSCONFDIR/vimap is searched. */
START_TEST(test_find_default_dir)
{
	char *path = NULL;
	const char *error = NULL;
	int rc = config_find(NULL, "no-such-server-xyz", NULL, &path, &error);

	if (rc == 0) {
		/* a vimap.yaml is installed on this machine */
		ck_assert_str_eq(path, SYSCONFDIR "/vimap/vimap.yaml");
		free(path);
		return;
	}
	ck_assert_str_eq(error, "no configuration file found: tried " SYSCONFDIR
			 "/vimap/no-such-server-xyz.yaml and " SYSCONFDIR "/vimap/vimap.yaml");
}
END_TEST

/* ---- Life cycle and the example ---- */

START_TEST(test_free_leaves_null)
{
	struct vimap_config *cfg = load_ok(REQ "plugins:\n  p:\n    k: v\n");

	config_free(&cfg);
	ck_assert_ptr_null(cfg);
	/* freeing nothing is allowed */
	config_free(&cfg);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_null(config_plugin_section(NULL, "p"));
}
END_TEST

/* The annotated example ships with every key: it must load, and its
   commented defaults leave the defaults. */
START_TEST(test_example_file)
{
	struct vimap_config *cfg = NULL;
	const char *error = NULL;

	ck_assert_msg(config_load(EXAMPLE_CONFIG, &cfg, &error) == 0,
		      "example: %s", error);
	ck_assert_ptr_nonnull(cfg->filepoolid);
	ck_assert_ptr_nonnull(cfg->badfileid);
	ck_assert_uint_eq(cfg->port, 143);
	ck_assert_uint_eq(cfg->idle_auth, 0);
	ck_assert_str_eq(cfg->authenticate, "cp");
	ck_assert_str_eq(cfg->storage, "localfs");
	config_free(&cfg);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("load");

	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_values, 0, N(value_cases));
	tcase_add_loop_test(tc, test_lists, 0, N(list_cases));
	tcase_add_loop_test(tc, test_errors, 0, N(error_cases));
	tcase_add_test(tc, test_error_nul_byte);
	tcase_add_test(tc, test_origins_limit);
	tcase_add_test(tc, test_admin_socket_length);
	tcase_add_test(tc, test_unreadable);
	tcase_add_test(tc, test_free_leaves_null);
	tcase_add_test(tc, test_example_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("sections");
	tcase_add_loop_test(tc, test_section_getters, 0, N(section_cases));
	tcase_add_test(tc, test_section_check_keys);
	tcase_add_test(tc, test_section_alias_cycle);
	suite_add_tcase(s, tc);

	tc = tcase_create("find");
	tcase_add_loop_test(tc, test_find, 0, N(find_cases));
	tcase_add_test(tc, test_find_default_dir);
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

	snprintf(tmpdir, sizeof(tmpdir), "%s/check_config.XXXXXX",
		 base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failed > 0 ? 1 : 0;
}
