/* An auth plugin built out of tree against the installed headers only, as
 * a site would build its own exit (tests/proto/test_plugin_abi.py).  It
 * accepts the password "hello-USER" for any USER. */
#include <stdio.h>
#include <string.h>
#include <vimap/auth.h>

static int hello_init(struct vimap_plugin_ctx *ctx, const struct vimap_host *host,
		      void **state_r, const char **error_r)
{
	static const char *const keys[] = { "greeting", NULL };
	const char *greeting;

	if (host->config_check_keys(ctx, keys, error_r) < 0 ||
	    host->config_string(ctx, "greeting", "hello", &greeting, error_r) < 0)
		return -1;
	host->log(ctx, VIMAP_LOG_INFO, "ready, greeting '%s'", greeting);
	*state_r = (void *)greeting;
	return 0;
}

static enum vimap_auth_result hello_verify(void *state, const char *user,
					   const char *password, const char **reason_r)
{
	char want[128];

	snprintf(want, sizeof(want), "%s-%s", (const char *)state, user);
	if (strcmp(password, want) == 0)
		return VIMAP_AUTH_OK;
	*reason_r = "not the greeting";
	return VIMAP_AUTH_DENIED;
}

static const struct vimap_auth_ops hello_ops = {
	.size = sizeof(struct vimap_auth_ops),
	.init = hello_init,
	.verify = hello_verify,
};

VIMAP_PLUGIN_DEFINE(VIMAP_PLUGIN_AUTH, "hello", "1.0", &hello_ops);
