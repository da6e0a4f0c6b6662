#include "autoconfig.h"
#include <stdlib.h>
#include <vimap/delivery.h>
#include "config.h"
#include "error.h"
#include "loader.h"
#include "log.h"
#include "sources.h"
#include "stats.h"
#include "xalloc.h"
#include "xlate.h"

static struct vimap_plugin_ctx **sources;
static unsigned source_count;
static int *source_started;
static struct xlate_table sources_table;
static int sources_have_table;

static const struct vimap_delivery_ops *source_ops(unsigned i)
{
	return sources[i]->desc->ops;
}

static int sources_load(const struct vimap_config *cfg, const char **error_r)
{
	unsigned i;

	sources = xcalloc(cfg->delivery_count, sizeof(*sources));
	source_started = xcalloc(cfg->delivery_count, sizeof(*source_started));
	for (i = 0; i < cfg->delivery_count; i++) {
		const char *name = cfg->delivery[i];

		if (loader_open(cfg->plugin_dir, name, VIMAP_PLUGIN_DELIVERY,
				&sources[i], error_r) < 0)
			return -1;
		source_count = i + 1;
		if (loader_init(sources[i], config_plugin_section(cfg, name), error_r) < 0)
			return -1;
		log_info("loader", "loaded delivery plugin %s %s from %s", name,
			 sources[i]->desc->version, sources[i]->path);
	}
	return 0;
}

int sources_start(const struct vimap_config *cfg, const char **error_r)
{
	unsigned i;

	if (cfg->delivery_count == 0)
		return 0;
	if (xlate_load(cfg, &sources_table, error_r) < 0)
		return -1;
	sources_have_table = 1;
	if (sources_load(cfg, error_r) < 0)
		return -1;
	for (i = 0; i < source_count; i++) {
		const char *error;

		if (source_ops(i)->start(sources[i]->state, cfg->readerthreads, &error) < 0)
			return error_set(error_r, "delivery %s: start failed: %s",
					 sources[i]->name, error);
		source_started[i] = 1;
		/* Only a source with readers (the spool) counts them: LMTP
		   serves a thread per connection instead. */
		if (source_ops(i)->add_reader != NULL)
			stats_add(STATS_READER_THREADS, cfg->readerthreads);
	}
	return 0;
}

int sources_add_reader(const char **error_r)
{
	unsigned i;
	int added = 0;

	if (source_count == 0)
		return error_set(error_r, "no delivery source is configured (key 'delivery')");
	for (i = 0; i < source_count; i++) {
		const char *error;

		if (!source_started[i] || source_ops(i)->add_reader == NULL)
			continue;
		if (source_ops(i)->add_reader(sources[i]->state, &error) < 0)
			return error_set(error_r, "delivery %s: %s", sources[i]->name, error);
		added++;
	}
	if (added == 0)
		return error_set(error_r, "no delivery source takes more readers");
	return added;
}

void sources_stop(void)
{
	unsigned i;

	for (i = 0; i < source_count; i++) {
		if (source_started[i])
			source_ops(i)->stop(sources[i]->state);
		source_started[i] = 0;
	}
	for (i = 0; i < source_count; i++)
		loader_close(&sources[i]);
	free(sources);
	free(source_started);
	sources = NULL;
	source_started = NULL;
	source_count = 0;
	xlate_unload();
	sources_have_table = 0;
}

const struct xlate_table *sources_xlate_table(void)
{
	return sources_have_table ? &sources_table : NULL;
}
