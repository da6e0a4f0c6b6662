/* storage plugin `localfs`: the embedded default mailstore, one directory
 * tree per user under the filepool directory (FILEPOOLID):
 *
 *     FILEPOOL/users/USER/      an enrolled user's tree
 *
 * User ids reach the plugin already canonical (lower case letters, digits
 * and . _ - + @), so a user id is always one safe path component. */
#include "autoconfig.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vimap/storage.h>
#include "error.h"
#include "xalloc.h"

struct localfs_state {
	struct vimap_plugin_ctx *ctx;
	const struct vimap_host *host;
	char *root;       /* the filepool directory */
	char *users_dir;  /* root/users */
};

static const char *const localfs_keys[] = { NULL };

/* Makes `path` a directory (mode 0700) unless it is one already. */
static int localfs_mkdir(const char *path, const char **error_r)
{
	struct stat sb;

	if (mkdir(path, 0700) == 0 || errno == EEXIST) {
		if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
			return 0;
		return error_set(error_r, "%s exists and is not a directory", path);
	}
	return error_set(error_r, "mkdir(%s) failed: %s", path, strerror(errno));
}

static int localfs_init(struct vimap_plugin_ctx *ctx, const struct vimap_host *host,
			void **state_r, const char **error_r)
{
	struct localfs_state *st;
	const char *root = host->setting(ctx, "filepoolid");

	if (host->config_check_keys(ctx, localfs_keys, error_r) < 0)
		return -1;
	if (root == NULL || root[0] != '/')
		return error_set(error_r, "filepoolid '%s' is not an absolute directory path",
				 root != NULL ? root : "");
	st = xcalloc(1, sizeof(*st));
	st->ctx = ctx;
	st->host = host;
	st->root = xstrdup(root);
	st->users_dir = xasprintf("%s/users", root);
	if (localfs_mkdir(st->root, error_r) < 0 || localfs_mkdir(st->users_dir, error_r) < 0) {
		free(st->users_dir);
		free(st->root);
		free(st);
		return -1;
	}
	host->log(ctx, VIMAP_LOG_INFO, "mailstore at %s", st->root);
	*state_r = st;
	return 0;
}

static void localfs_deinit(void *state)
{
	struct localfs_state *st = state;

	free(st->users_dir);
	free(st->root);
	free(st);
}

static int localfs_is_enrolled(void *state, const char *user, const char **error_r)
{
	struct localfs_state *st = state;
	struct stat sb;
	char *path = xasprintf("%s/%s", st->users_dir, user);
	int ret;

	if (stat(path, &sb) == 0)
		ret = S_ISDIR(sb.st_mode) ? 1 : 0;
	else if (errno == ENOENT)
		ret = 0;
	else
		ret = error_set(error_r, "stat(%s) failed: %s", path, strerror(errno));
	free(path);
	return ret;
}

static const struct vimap_storage_ops localfs_ops = {
	.size = sizeof(struct vimap_storage_ops),
	.init = localfs_init,
	.deinit = localfs_deinit,
	.is_enrolled = localfs_is_enrolled,
};

VIMAP_PLUGIN_DEFINE(VIMAP_PLUGIN_STORAGE, "localfs", PACKAGE_VERSION, &localfs_ops);
