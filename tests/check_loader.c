/* Loader tests: fixture plugins (tests/fixtures/) for a good plugin and for
 * each way a plugin must be refused before any of its code runs. */
#include "autoconfig.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vimap/auth.h>
#include "config.h"
#include "loader.h"

struct refusal_case {
	const char *name;          /* plugin file in FIXTURE_DIR */
	enum vimap_plugin_kind kind;
	const char *expect[3];     /* substrings the one-line error must hold */
};

/* The version strings the loader prints, from the ABI numbers. */
#define ABI_STR_(x) #x
#define ABI_STR(x) ABI_STR_(x)
#define KERNEL_ABI "kernel ABI " ABI_STR(VIMAP_ABI_MAJOR) "." ABI_STR(VIMAP_ABI_MINOR)

static const struct refusal_case refusals[] = {
	/* another ABI major: both versions named */
	{ "fixmajor", VIMAP_PLUGIN_AUTH, { "fixmajor.so", "plugin ABI 2.", KERNEL_ABI } },
	/* a newer minor than the kernel's */
	{ "fixminor", VIMAP_PLUGIN_AUTH, { "fixminor.so", "plugin ABI 1.", KERNEL_ABI } },
	/* same numbers, another build signature */
	{ "fixsig", VIMAP_PLUGIN_AUTH, { "fixsig.so", "'vimap-other-build'", VIMAP_BUILD_SIGNATURE } },
	/* a shared object without the descriptor */
	{ "fixnosym", VIMAP_PLUGIN_AUTH, { "fixnosym.so", "no 'vimap_plugin' descriptor", KERNEL_ABI } },
	/* a storage plugin configured as the auth plugin */
	{ "fixkind", VIMAP_PLUGIN_AUTH, { "fixkind.so", "is a storage plugin", "configured as auth" } },
	/* no such file */
	{ "fixabsent", VIMAP_PLUGIN_AUTH, { "fixabsent", "cannot load auth plugin", NULL } },
	/* a name that would escape the plugin directory */
	{ "../fixgood", VIMAP_PLUGIN_AUTH, { "not a plain name", NULL, NULL } },
	/* an empty name */
	{ "", VIMAP_PLUGIN_AUTH, { "not a plain name", NULL, NULL } },
};

START_TEST(test_refusals)
{
	const struct refusal_case *rc = &refusals[_i];
	struct vimap_plugin_ctx *p = NULL;
	const char *error = NULL;
	unsigned k;

	ck_assert_int_eq(loader_open(FIXTURE_DIR, rc->name, rc->kind, &p, &error), -1);
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(error);
	ck_assert_ptr_null(strchr(error, '\n'));
	for (k = 0; k < 3 && rc->expect[k] != NULL; k++) {
		if (strstr(error, rc->expect[k]) == NULL)
			ck_abort_msg("case %s: '%s' not in: %s", rc->name, rc->expect[k], error);
	}
}
END_TEST

START_TEST(test_good_plugin)
{
	struct vimap_plugin_ctx *p = NULL;
	const struct vimap_auth_ops *ops;
	const char *error = NULL, *reason = NULL;

	ck_assert_int_eq(loader_open(FIXTURE_DIR, "fixgood", VIMAP_PLUGIN_AUTH, &p, &error), 0);
	ck_assert_str_eq(p->desc->name, "fixgood");
	ck_assert_str_eq(p->desc->version, "1.0");
	ck_assert_int_eq(p->desc->header.abi_major, VIMAP_ABI_MAJOR);
	ck_assert_int_eq(p->initialized, 0);
	ck_assert_int_eq(loader_init(p, NULL, &error), 0);
	ck_assert_int_eq(p->initialized, 1);
	ck_assert_ptr_nonnull(p->state);
	ops = p->desc->ops;
	ck_assert_int_eq(ops->verify(p->state, "u", "right", &reason), VIMAP_AUTH_OK);
	ck_assert_int_eq(ops->verify(p->state, "u", "wrong", &reason), VIMAP_AUTH_DENIED);
	ck_assert_str_eq(reason, "wrong password");
	loader_close(&p);
	ck_assert_ptr_null(p);
}
END_TEST

/* An older minor is accepted (there is none at ABI x.0: it equals good). */
START_TEST(test_older_minor_accepted)
{
	struct vimap_plugin_ctx *p = NULL;
	const char *error = NULL;

	ck_assert_int_eq(loader_open(FIXTURE_DIR, "fixolder", VIMAP_PLUGIN_AUTH, &p, &error), 0);
	ck_assert_uint_le(p->desc->header.abi_minor, VIMAP_ABI_MINOR);
	loader_close(&p);
}
END_TEST

/* A plugin file renamed: its descriptor's name no longer matches. */
START_TEST(test_name_mismatch)
{
	char dir[] = "/tmp/vimap-loader-XXXXXX", link_path[256];
	struct vimap_plugin_ctx *p = NULL;
	const char *error = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(link_path, sizeof(link_path), "%s/other.so", dir);
	ck_assert_int_eq(symlink(FIXTURE_DIR "/fixgood.so", link_path), 0);
	ck_assert_int_eq(loader_open(dir, "other", VIMAP_PLUGIN_AUTH, &p, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "calls itself 'fixgood', configured as 'other'"));
	unlink(link_path);
	rmdir(dir);
}
END_TEST

/* init() failing: the plugin's own reason, prefixed with its name; its
   section comes from the configuration file. */
START_TEST(test_init_failure_and_section)
{
	char path[] = "/tmp/vimap-loader-cfg-XXXXXX";
	const char *yaml = "filepoolid: /tmp/store\nbadfileid: /tmp/bad\n"
		"plugins:\n  fixgood:\n    mode: fail\n";
	struct vimap_config *cfg = NULL;
	struct vimap_plugin_ctx *p = NULL;
	const char *error = NULL;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, yaml, strlen(yaml)), (int)strlen(yaml));
	close(fd);
	ck_assert_int_eq(config_load(path, &cfg, &error), 0);
	ck_assert_int_eq(loader_open(FIXTURE_DIR, "fixgood", VIMAP_PLUGIN_AUTH, &p, &error), 0);
	ck_assert_int_eq(loader_init(p, config_plugin_section(cfg, "fixgood"), &error), -1);
	ck_assert_str_eq(error, "fixgood: init failed: configured to fail");
	ck_assert_int_eq(p->initialized, 0);
	loader_close(&p);
	config_free(&cfg);
	unlink(path);
}
END_TEST

static Suite *loader_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_refusals, 0, sizeof(refusals) / sizeof(refusals[0]));
	tcase_add_test(tc, test_good_plugin);
	tcase_add_test(tc, test_older_minor_accepted);
	tcase_add_test(tc, test_name_mismatch);
	tcase_add_test(tc, test_init_failure_and_section);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(loader_suite());
	const char *error;
	int failed;

	if (loader_global_init(&error) < 0) {
		fprintf(stderr, "%s\n", error);
		return 1;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	loader_global_deinit();
	return failed == 0 ? 0 : 1;
}
