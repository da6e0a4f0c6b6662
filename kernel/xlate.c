#include "autoconfig.h"
#include <stdio.h>
#include <stdlib.h>
#include <vimap/xlate.h>
#include "config.h"
#include "error.h"
#include "loader.h"
#include "log.h"
#include "xalloc.h"
#include "xlate.h"

static struct vimap_plugin_ctx **xlate_plugins;
static unsigned xlate_plugin_count;

static int xlate_load_plugins(const struct vimap_config *cfg, const char **error_r)
{
	unsigned i;

	xlate_plugins = xcalloc(cfg->xlate_count, sizeof(*xlate_plugins));
	for (i = 0; i < cfg->xlate_count; i++) {
		struct vimap_plugin_ctx **p = &xlate_plugins[i];

		if (loader_open(cfg->plugin_dir, cfg->xlate[i], VIMAP_PLUGIN_XLATE,
				p, error_r) < 0)
			return -1;
		xlate_plugin_count = i + 1;
		if (loader_init(*p, config_plugin_section(cfg, cfg->xlate[i]), error_r) < 0)
			return -1;
	}
	return 0;
}

/* Asks every plugin, in order, for table `name`: 1 found, 0 none, -1 a
   broken table (start-up stops: a site that named a table means it). */
static int xlate_ask(const char *name, struct xlate_table *table, const char **error_r)
{
	unsigned i;

	for (i = 0; i < xlate_plugin_count; i++) {
		struct vimap_plugin_ctx *p = xlate_plugins[i];
		const struct vimap_xlate_ops *ops = p->desc->ops;
		const char *error;
		int ret;

		ret = ops->load(p->state, name, table->to_ascii, table->to_ebcdic, &error);
		if (ret < 0)
			return error_set(error_r, "translate table '%s' (plugin %s): %s",
					 name, p->name, error);
		if (ret > 0) {
			snprintf(table->name, sizeof(table->name), "%s:%s", p->name, name);
			return 1;
		}
	}
	return 0;
}

int xlate_load(const struct vimap_config *cfg, struct xlate_table *table,
	       const char **error_r)
{
	const char *order[] = { cfg->xlate_table, "imap", "standard", "builtin" };
	unsigned i;
	int ret;

	if (xlate_load_plugins(cfg, error_r) < 0)
		return -1;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (order[i] == NULL)
			continue;
		if ((ret = xlate_ask(order[i], table, error_r)) < 0)
			return -1;
		if (ret > 0) {
			log_info("xlate", "using translate table %s", table->name);
			return 0;
		}
		if (i == 0)
			/* A table the site named but no plugin has is a typo
			   to report, not a reason to fall back silently. */
			return error_set(error_r, "xlate_table: no xlate plugin (%s) has a table '%s'",
					 cfg->xlate_count > 0 ? cfg->xlate[0] : "none",
					 cfg->xlate_table);
	}
	return error_set(error_r, "no translate table: none of the xlate plugins has "
			 "'imap', 'standard' or 'builtin' (add 'builtin' to 'xlate')");
}

void xlate_unload(void)
{
	unsigned i;

	for (i = 0; i < xlate_plugin_count; i++)
		loader_close(&xlate_plugins[i]);
	free(xlate_plugins);
	xlate_plugins = NULL;
	xlate_plugin_count = 0;
}
