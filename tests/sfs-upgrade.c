/* tests/sfs-upgrade CONFIG: loads the configuration's storage plugin (from
 * its plugin_dir) through the kernel's loader, as vimapd does, and calls
 * its upgrade op, then check_format: what `vimap upgrade-store` does, for
 * the tests (tests/proto/test_sfs.py) until that command is there.  Prints
 * the progress and the result; exit status 0 when the store checks. */
#include "autoconfig.h"
#include <stddef.h>
#include <stdio.h>
#include <vimap/storage.h>
#include "config.h"
#include "host.h"
#include "loader.h"
#include "log.h"

static void upgrade_progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	printf("sfs-upgrade: step %llu of %llu\n", (unsigned long long)done,
	       (unsigned long long)total);
}

int main(int argc, char **argv)
{
	struct vimap_storage_error err = { 0, NULL };
	const struct vimap_storage_ops *ops;
	struct vimap_plugin_ctx *plugin = NULL;
	struct vimap_config *cfg = NULL;
	const char *error = NULL;
	int ret = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: sfs-upgrade CONFIG\n");
		return 2;
	}
	log_init("sfs-upgrade", 0, VIMAP_LOG_WARNING);
	if (config_load(argv[1], &cfg, &error) < 0 || loader_global_init(&error) < 0) {
		fprintf(stderr, "sfs-upgrade: %s\n", error);
		return 1;
	}
	host_set_config(cfg, "vimapd");
	if (loader_open(cfg->plugin_dir, cfg->storage, VIMAP_PLUGIN_STORAGE, &plugin,
			&error) < 0 ||
	    loader_init(plugin, config_plugin_section(cfg, cfg->storage), &error) < 0) {
		fprintf(stderr, "sfs-upgrade: %s\n", error);
	} else if ((ops = plugin->desc->ops)->size < offsetof(struct vimap_storage_ops, upgrade) +
		   sizeof(ops->upgrade) || ops->upgrade == NULL || ops->check_format == NULL) {
		fprintf(stderr, "sfs-upgrade: %s has no upgrade op\n", cfg->storage);
	} else if (ops->upgrade(plugin->state, upgrade_progress, NULL, &err) < 0 ||
		   ops->check_format(plugin->state, &err) < 0) {
		fprintf(stderr, "sfs-upgrade: %s\n", err.text);
	} else {
		printf("sfs-upgrade: the store is in %s's format\n", cfg->storage);
		ret = 0;
	}
	loader_close(&plugin);
	loader_global_deinit();
	config_free(&cfg);
	return ret;
}
