/* The translate-table plugins (xlate/builtin.c, xlate/tcpxlbin.c,
 * xlate/iconv.c), loaded through the kernel's loader from the build tree's
 * .plugins directory, and the kernel's look-up order (kernel/xlate.c).
 * Every case writes its own configuration and table files into a fresh
 * temporary directory. */
#include "autoconfig.h"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vimap/xlate.h>
#include "config.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "xlate.h"

#ifndef XLATE_PLUGIN_DIR
#define XLATE_PLUGIN_DIR ".plugins"
#endif

static char xt_dir[64];          /* this case's temporary directory */
static char xt_tables[128];      /* xt_dir/tables: tcpxlbin's directory */
static struct vimap_config *xt_cfg;
static struct vimap_plugin_ctx *xt_plugin;

/* ---- set-up ---- */

static void xt_setup(void)
{
	const char *error = NULL;

	snprintf(xt_dir, sizeof(xt_dir), "/tmp/vimap-xlate-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(xt_dir));
	snprintf(xt_tables, sizeof(xt_tables), "%s/tables", xt_dir);
	ck_assert_int_eq(mkdir(xt_tables, 0755), 0);
	ck_assert_msg(loader_global_init(&error) == 0, "%s", error);
}

static void xt_teardown(void)
{
	char cmd[128];

	loader_close(&xt_plugin);
	xlate_unload();
	config_free(&xt_cfg);
	loader_global_deinit();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", xt_dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Writes and loads a configuration: `xlate` list (NULL: the default),
   `xlate_table` (NULL: absent), the tcpxlbin directory (NULL: xt_tables). */
static void xt_config(const char *xlate_list, const char *table, const char *tcpxlbin_dir)
{
	char path[160];
	const char *error = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/vimap.yaml", xt_dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "filepoolid: \"%s/pool\"\nbadfileid: \"%s/bad\"\nplugin_dir: \"%s\"\n",
		xt_dir, xt_dir, XLATE_PLUGIN_DIR);
	if (xlate_list != NULL)
		fprintf(f, "xlate: %s\n", xlate_list);
	if (table != NULL)
		fprintf(f, "xlate_table: \"%s\"\n", table);
	fprintf(f, "plugins:\n  tcpxlbin:\n    directory: \"%s\"\n",
		tcpxlbin_dir != NULL ? tcpxlbin_dir : xt_tables);
	ck_assert_int_eq(fclose(f), 0);
	config_free(&xt_cfg);
	ck_assert_msg(config_load(path, &xt_cfg, &error) == 0, "%s", error);
	host_set_config(xt_cfg, "vimapd");
}

/* Loads xlate plugin `name` with the configuration from xt_config(). */
static const struct vimap_xlate_ops *xt_load_plugin(const char *name)
{
	const char *error = NULL;

	if (xt_cfg == NULL)
		xt_config(NULL, NULL, NULL);
	ck_assert_msg(loader_open(XLATE_PLUGIN_DIR, name, VIMAP_PLUGIN_XLATE, &xt_plugin,
				  &error) == 0, "%s", error);
	ck_assert_msg(loader_init(xt_plugin, config_plugin_section(xt_cfg, name), &error) == 0,
		      "%s", error);
	return xt_plugin->desc->ops;
}

/* Asks the loaded plugin for table `name`. */
static int xt_ask(const struct vimap_xlate_ops *ops, const char *name,
		  unsigned char a[256], unsigned char e[256], const char **error_r)
{
	*error_r = NULL;
	return ops->load(xt_plugin->state, name, a, e, error_r);
}

/* Asserts that both tables are permutations and each other's inverse. */
static void xt_assert_reversible(const unsigned char a[256], const unsigned char e[256])
{
	unsigned char seen[256];
	unsigned i;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 256; i++) {
		ck_assert_msg(!seen[a[i]], "to_ascii maps two bytes to 0x%02x", a[i]);
		seen[a[i]] = 1;
		ck_assert_msg(e[a[i]] == i, "0x%02x -> 0x%02x -> 0x%02x", i, a[i], e[a[i]]);
	}
}

/* ---- table files ---- */

enum xt_file {
	XT_GOOD_EBCDIC_HEADER,   /* "*..." in EBCDIC, identity tables, 3 records */
	XT_GOOD_ASCII_HEADER,    /* "*..." in ASCII, identity tables, 4 records */
	XT_SHORT,                /* 2 records */
	XT_EMPTY,                /* 0 bytes */
	XT_ODD_SIZE,             /* 3 records and 44 bytes */
	XT_BAD_HEADER            /* record 1 starts with 'A' */
};

/* Writes table file `file` (a name in xt_tables) of kind `kind`.  The good
   kinds hold tables with to_ascii[i] = i ^ `mark` so cases can tell them
   apart. */
static void xt_write_table(const char *file, enum xt_file kind, unsigned char mark)
{
	unsigned char rec[4][256];
	size_t len = 3 * 256;
	char path[256];
	unsigned i;
	FILE *f;

	memset(rec[0], 0x40, 256);
	memcpy(rec[0], "\x5c\xe3\xc3\xd7\x61\xc9\xd7", 7);  /* "*TCP/IP" in EBCDIC */
	for (i = 0; i < 256; i++) {
		rec[2][i] = (unsigned char)(i ^ mark);
		rec[1][i ^ mark] = (unsigned char)i;
		rec[3][i] = 0xfe;
	}
	switch (kind) {
	case XT_GOOD_EBCDIC_HEADER:
		break;
	case XT_GOOD_ASCII_HEADER:
		memset(rec[0], ' ', 256);
		memcpy(rec[0], "*TCP/IP translate tables", 24);
		len = 4 * 256;
		break;
	case XT_SHORT:
		len = 2 * 256;
		break;
	case XT_EMPTY:
		len = 0;
		break;
	case XT_ODD_SIZE:
		len = 3 * 256 + 44;
		break;
	case XT_BAD_HEADER:
		rec[0][0] = 0xc1;
		break;
	}
	snprintf(path, sizeof(path), "%s/%s", xt_tables, file);
	ck_assert_ptr_nonnull(f = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(rec, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* ---- builtin ---- */

struct xt_pair {
	unsigned char ebcdic, ascii;
};

/* Code page 1047 facts (IBM CDRA 1047 <-> 819). */
static const struct xt_pair builtin_pairs[] = {
	{ 0xc1, 'A' },    /* capital letters start at 0xC1 */
	{ 0xc9, 'I' },    /* ... with a gap after I */
	{ 0xd1, 'J' },
	{ 0xe9, 'Z' },
	{ 0x81, 'a' },    /* small letters at 0x81 */
	{ 0xa9, 'z' },
	{ 0xf0, '0' },    /* digits at 0xF0 */
	{ 0xf9, '9' },
	{ 0x40, ' ' },    /* space */
	{ 0x4b, '.' },
	{ 0x7c, '@' },
	{ 0x5c, '*' },    /* the comment mark of a TCPXLBIN header */
	{ 0xad, '[' },    /* 1047's brackets (037 has them elsewhere) */
	{ 0xbd, ']' },
	{ 0x5f, '^' },    /* 1047: caret at 0x5F, not-sign at 0xB0 */
	{ 0xb0, 0xac },
	{ 0x25, 0x0a },   /* LF */
	{ 0x15, 0x85 },   /* NL is ISO 8859-1 NEL, so the table stays reversible */
	{ 0x0d, 0x0d },   /* CR */
	{ 0x00, 0x00 },
	{ 0xff, 0x9f },
};

START_TEST(test_builtin_reversible)
{
	const struct vimap_xlate_ops *ops = xt_load_plugin("builtin");
	unsigned char a[256], e[256];
	const char *error;

	ck_assert_int_eq(xt_ask(ops, "builtin", a, e, &error), 1);
	xt_assert_reversible(a, e);
}
END_TEST

START_TEST(test_builtin_pairs)
{
	const struct xt_pair *p = &builtin_pairs[_i];
	const struct vimap_xlate_ops *ops = xt_load_plugin("builtin");
	unsigned char a[256], e[256];
	const char *error;

	ck_assert_int_eq(xt_ask(ops, "builtin", a, e, &error), 1);
	ck_assert_msg(a[p->ebcdic] == p->ascii, "EBCDIC 0x%02x -> 0x%02x, want 0x%02x",
		      p->ebcdic, a[p->ebcdic], p->ascii);
	ck_assert_uint_eq(e[p->ascii], p->ebcdic);
}
END_TEST

struct xt_name {
	const char *name;
	int want;
};

static const struct xt_name builtin_names[] = {
	{ "builtin", 1 },      /* the kernel's last resort */
	{ "BUILTIN", 1 },      /* names are case-insensitive */
	{ "1047", 1 },         /* the code page */
	{ "10470819", 1 },     /* IBM's hhhhwwww name */
	{ "imap", 0 },         /* the kernel asks first: not ours */
	{ "standard", 0 },
	{ "037", 0 },          /* another code page */
	{ "", 0 },
};

START_TEST(test_builtin_names)
{
	const struct xt_name *n = &builtin_names[_i];
	const struct vimap_xlate_ops *ops = xt_load_plugin("builtin");
	unsigned char a[256], e[256];
	const char *error;

	ck_assert_int_eq(xt_ask(ops, n->name, a, e, &error), n->want);
}
END_TEST

/* ---- tcpxlbin ---- */

struct xt_good {
	const char *file;       /* written into the directory */
	enum xt_file kind;
	const char *ask;        /* the name asked for */
};

static const struct xt_good tcpxlbin_good[] = {
	/* lower-case file, EBCDIC header */
	{ "site.tcpxlbin", XT_GOOD_EBCDIC_HEADER, "site" },
	/* the VM spelling, asked in lower case */
	{ "SITE.TCPXLBIN", XT_GOOD_EBCDIC_HEADER, "site" },
	/* ASCII header and a fourth (DBCS) record, ignored */
	{ "dbcs.tcpxlbin", XT_GOOD_ASCII_HEADER, "dbcs" },
	/* an hhhhwwww name */
	{ "10470819.TCPXLBIN", XT_GOOD_ASCII_HEADER, "10470819" },
};

START_TEST(test_tcpxlbin_good)
{
	const struct xt_good *g = &tcpxlbin_good[_i];
	const struct vimap_xlate_ops *ops;
	unsigned char a[256], e[256];
	const char *error;
	unsigned i;

	xt_write_table(g->file, g->kind, 0x5a);
	ops = xt_load_plugin("tcpxlbin");
	ck_assert_msg(xt_ask(ops, g->ask, a, e, &error) == 1, "%s", error);
	for (i = 0; i < 256; i++) {
		ck_assert_uint_eq(a[i], i ^ 0x5a);   /* record 3 */
		ck_assert_uint_eq(e[i ^ 0x5a], i);   /* record 2 */
	}
}
END_TEST

struct xt_broken {
	enum xt_file kind;
	const char *expect;     /* in the error */
};

static const struct xt_broken tcpxlbin_broken[] = {
	/* two records: no EBCDIC -> ASCII table */
	{ XT_SHORT, "2 record(s), a table needs at least 3" },
	/* an empty file */
	{ XT_EMPTY, "0 record(s)" },
	/* not whole records */
	{ XT_ODD_SIZE, "size 812 is not a multiple of the 256-byte record length" },
	/* record 1 is not a comment */
	{ XT_BAD_HEADER, "starts with byte 0xC1" },
};

START_TEST(test_tcpxlbin_broken)
{
	const struct xt_broken *b = &tcpxlbin_broken[_i];
	const struct vimap_xlate_ops *ops;
	unsigned char a[256], e[256];
	const char *error;

	xt_write_table("bad.tcpxlbin", b->kind, 0);
	ops = xt_load_plugin("tcpxlbin");
	ck_assert_int_eq(xt_ask(ops, "bad", a, e, &error), -1);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strstr(error, b->expect) != NULL, "'%s' not in: %s", b->expect, error);
	ck_assert_msg(strstr(error, "bad.tcpxlbin") != NULL, "no file name in: %s", error);
}
END_TEST

START_TEST(test_tcpxlbin_not_regular)
{
	const struct vimap_xlate_ops *ops;
	unsigned char a[256], e[256];
	char path[256];
	const char *error;

	snprintf(path, sizeof(path), "%s/dir.tcpxlbin", xt_tables);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ops = xt_load_plugin("tcpxlbin");
	ck_assert_int_eq(xt_ask(ops, "dir", a, e, &error), -1);
	ck_assert_msg(strstr(error, "not a regular file") != NULL, "%s", error);
}
END_TEST

static const struct xt_name tcpxlbin_absent[] = {
	{ "nosuch", 0 },          /* no file of that name */
	{ "../tables/site", 0 },  /* a path: never leaves the directory */
	{ "tables/site", 0 },
	{ ".site", 0 },           /* hidden names are not tables */
	{ "..", 0 },
	{ "", 0 },
	{ "site x", 0 },          /* no blanks */
};

START_TEST(test_tcpxlbin_absent)
{
	const struct xt_name *n = &tcpxlbin_absent[_i];
	const struct vimap_xlate_ops *ops;
	unsigned char a[256], e[256];
	const char *error;

	xt_write_table("site.tcpxlbin", XT_GOOD_EBCDIC_HEADER, 0);
	xt_write_table(".site.tcpxlbin", XT_GOOD_EBCDIC_HEADER, 0);
	ops = xt_load_plugin("tcpxlbin");
	ck_assert_int_eq(xt_ask(ops, n->name, a, e, &error), n->want);
}
END_TEST

START_TEST(test_tcpxlbin_no_directory)
{
	const struct vimap_xlate_ops *ops;
	unsigned char a[256], e[256];
	char path[256];
	const char *error;

	snprintf(path, sizeof(path), "%s/absent", xt_dir);
	xt_config(NULL, NULL, path);
	ops = xt_load_plugin("tcpxlbin");
	ck_assert_int_eq(xt_ask(ops, "imap", a, e, &error), 0);
}
END_TEST

/* ---- iconv ---- */

/* IBM037 as Python's cp037 codec maps it (bytes([b]).decode("cp037")). */
static const struct xt_pair cp037_pairs[] = {
	{ 0x40, 0x20 },   /* space */
	{ 0x4a, 0xa2 },   /* cent sign */
	{ 0x4f, 0x7c },   /* vertical line */
	{ 0x5a, 0x21 },   /* exclamation mark (1047 too) */
	{ 0x5f, 0xac },   /* not sign: 037 differs from 1047 here */
	{ 0x6a, 0xa6 },   /* broken bar */
	{ 0x79, 0x60 },   /* grave accent */
	{ 0x9f, 0xa4 },   /* currency sign */
	{ 0xa1, 0x7e },   /* tilde */
	{ 0xad, 0xdd },   /* Y acute: 1047 has '[' here */
	{ 0xb0, 0x5e },   /* circumflex */
	{ 0xba, 0x5b },   /* left bracket */
	{ 0xbb, 0x5d },   /* right bracket */
	{ 0xbd, 0xa8 },   /* diaeresis */
	{ 0xc0, 0x7b },   /* left brace */
	{ 0xd0, 0x7d },   /* right brace */
	{ 0xe0, 0x5c },   /* backslash */
	{ 0x15, 0x85 },   /* NL */
	{ 0x25, 0x0a },   /* LF */
	{ 0xff, 0x9f },
	{ 0x41, 0xa0 },   /* no-break space */
	{ 0x74, 0xc8 },   /* E grave */
	{ 0xc1, 'A' },
	{ 0x81, 'a' },
	{ 0xf0, '0' },
};

START_TEST(test_iconv_cp037)
{
	const struct xt_pair *p = &cp037_pairs[_i];
	const struct vimap_xlate_ops *ops = xt_load_plugin("iconv");
	unsigned char a[256], e[256];
	const char *error;

	ck_assert_msg(xt_ask(ops, "IBM037", a, e, &error) == 1, "%s", error);
	ck_assert_msg(a[p->ebcdic] == p->ascii, "IBM037 0x%02x -> 0x%02x, want 0x%02x",
		      p->ebcdic, a[p->ebcdic], p->ascii);
	ck_assert_uint_eq(e[p->ascii], p->ebcdic);
}
END_TEST

static const struct xt_name iconv_names[] = {
	{ "IBM037", 1 },          /* US/Canada */
	{ "CP037", 1 },           /* its alias */
	{ "IBM500", 1 },          /* international */
	{ "IBM1047", 1 },         /* Open Systems Latin-1 */
	{ "IBM1140", 1 },         /* 037 with the euro: paired with the currency sign */
	{ "imap", 0 },            /* no code page: the kernel's first names */
	{ "standard", 0 },
	{ "builtin", 0 },
	{ "NO-SUCH-CODEPAGE", 0 },
	{ "IBM037//TRANSLIT", 0 },/* no iconv suffixes */
	{ "../IBM037", 0 },
	{ "UTF-8", -1 },          /* known, but not single-byte */
};

START_TEST(test_iconv_names)
{
	const struct xt_name *n = &iconv_names[_i];
	const struct vimap_xlate_ops *ops = xt_load_plugin("iconv");
	unsigned char a[256], e[256];
	const char *error;
	int ret = xt_ask(ops, n->name, a, e, &error);

	ck_assert_msg(ret == n->want, "%s: %d, want %d (%s)", n->name, ret, n->want,
		      error != NULL ? error : "");
	if (ret == 1)
		xt_assert_reversible(a, e);
	if (ret < 0)
		ck_assert_msg(strstr(error, "not a single-byte") != NULL, "%s", error);
}
END_TEST

START_TEST(test_iconv_1047_is_builtin)
{
	const struct vimap_xlate_ops *ops = xt_load_plugin("iconv");
	unsigned char a[256], e[256], ba[256], be[256];
	const char *error;

	ck_assert_int_eq(xt_ask(ops, "IBM1047", a, e, &error), 1);
	loader_close(&xt_plugin);
	ops = xt_load_plugin("builtin");
	ck_assert_int_eq(xt_ask(ops, "builtin", ba, be, &error), 1);
	ck_assert_mem_eq(a, ba, 256);
	ck_assert_mem_eq(e, be, 256);
}
END_TEST

/* ---- the kernel's look-up order ---- */

struct xt_order {
	const char *files[2];   /* table files written (good, identity ^ 0x11) */
	const char *broken;     /* a broken table file written, or NULL */
	const char *list;       /* the `xlate` key, NULL = default */
	const char *table;      /* `xlate_table`, NULL = absent */
	const char *want;       /* the chosen table's name, or NULL */
	const char *error;      /* the error expected when want is NULL */
};

static const struct xt_order order_cases[] = {
	/* nothing on disk: the built-in table */
	{ { NULL, NULL }, NULL, NULL, NULL, "builtin:builtin", NULL },
	/* an imap table wins over the built-in one */
	{ { "imap.tcpxlbin", NULL }, NULL, NULL, NULL, "tcpxlbin:imap", NULL },
	/* ... and over standard */
	{ { "standard.tcpxlbin", "IMAP.TCPXLBIN" }, NULL, NULL, NULL, "tcpxlbin:imap", NULL },
	/* standard when there is no imap */
	{ { "STANDARD.TCPXLBIN", NULL }, NULL, NULL, NULL, "tcpxlbin:standard", NULL },
	/* a configured table comes first */
	{ { "imap.tcpxlbin", "site.tcpxlbin" }, NULL, NULL, "site", "tcpxlbin:site", NULL },
	/* a configured code page, from iconv */
	{ { "imap.tcpxlbin", NULL }, NULL, NULL, "IBM037", "iconv:IBM037", NULL },
	/* a configured name nobody has is a typo, not a fall-back */
	{ { NULL, NULL }, NULL, NULL, "nosuch", NULL, "no xlate plugin (tcpxlbin) has a table 'nosuch'" },
	/* a broken imap table stops start-up with its name and reason */
	{ { "standard.tcpxlbin", NULL }, "imap.tcpxlbin", NULL, NULL, NULL,
	  "translate table 'imap' (plugin tcpxlbin)" },
	/* plugins are asked in the configured order */
	{ { "imap.tcpxlbin", NULL }, NULL, "[builtin, tcpxlbin]", "1047", "builtin:1047", NULL },
	/* without the builtin plugin and no files: no table at all */
	{ { NULL, NULL }, NULL, "[tcpxlbin]", NULL, NULL, "no translate table" },
};

START_TEST(test_xlate_order)
{
	const struct xt_order *o = &order_cases[_i];
	struct xlate_table table;
	const char *error = NULL;
	unsigned i;
	int ret;

	for (i = 0; i < 2; i++) {
		if (o->files[i] != NULL)
			xt_write_table(o->files[i], XT_GOOD_EBCDIC_HEADER, 0x11);
	}
	if (o->broken != NULL)
		xt_write_table(o->broken, XT_ODD_SIZE, 0);
	xt_config(o->list, o->table, NULL);
	memset(&table, 0, sizeof(table));
	ret = xlate_load(xt_cfg, &table, &error);
	if (o->want != NULL) {
		ck_assert_msg(ret == 0, "%s", error);
		ck_assert_str_eq(table.name, o->want);
		if (strncmp(o->want, "tcpxlbin:", 9) == 0)
			ck_assert_uint_eq(table.to_ascii[0xc1], 0xc1 ^ 0x11);
		else
			xt_assert_reversible(table.to_ascii, table.to_ebcdic);
	} else {
		ck_assert_int_eq(ret, -1);
		ck_assert_msg(strstr(error, o->error) != NULL, "'%s' not in: %s", o->error, error);
	}
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *xlate_suite(void)
{
	Suite *s = suite_create("xlate");
	TCase *b = tcase_create("builtin"), *t = tcase_create("tcpxlbin");
	TCase *i = tcase_create("iconv"), *o = tcase_create("order");

	tcase_add_checked_fixture(b, xt_setup, xt_teardown);
	tcase_add_test(b, test_builtin_reversible);
	tcase_add_loop_test(b, test_builtin_pairs, 0, N(builtin_pairs));
	tcase_add_loop_test(b, test_builtin_names, 0, N(builtin_names));
	suite_add_tcase(s, b);
	tcase_add_checked_fixture(t, xt_setup, xt_teardown);
	tcase_add_loop_test(t, test_tcpxlbin_good, 0, N(tcpxlbin_good));
	tcase_add_loop_test(t, test_tcpxlbin_broken, 0, N(tcpxlbin_broken));
	tcase_add_test(t, test_tcpxlbin_not_regular);
	tcase_add_loop_test(t, test_tcpxlbin_absent, 0, N(tcpxlbin_absent));
	tcase_add_test(t, test_tcpxlbin_no_directory);
	suite_add_tcase(s, t);
	tcase_add_checked_fixture(i, xt_setup, xt_teardown);
	tcase_add_loop_test(i, test_iconv_cp037, 0, N(cp037_pairs));
	tcase_add_loop_test(i, test_iconv_names, 0, N(iconv_names));
	tcase_add_test(i, test_iconv_1047_is_builtin);
	suite_add_tcase(s, i);
	tcase_add_checked_fixture(o, xt_setup, xt_teardown);
	tcase_add_loop_test(o, test_xlate_order, 0, N(order_cases));
	suite_add_tcase(s, o);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(xlate_suite());
	int failed;

	log_init("check_xlate", 0, VIMAP_LOG_WARNING);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? 1 : 0;
}
