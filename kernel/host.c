#include "autoconfig.h"
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "config.h"
#include "deliver.h"
#include "error.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "mailbox-notify.h"
#include "sources.h"
#include "stats.h"
#include "trace.h"
#include "workers.h"
#include "xlate.h"

static struct workers *_Atomic host_workers;

void host_set_workers(struct workers *pool)
{
	atomic_store(&host_workers, pool);
}

static void host_log(struct vimap_plugin_ctx *ctx, enum vimap_log_level level,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void host_log(struct vimap_plugin_ctx *ctx, enum vimap_log_level level,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, ctx->name, fmt, ap);
	va_end(ap);
}

static int host_trace_enabled(struct vimap_plugin_ctx *ctx, unsigned cls)
{
	return trace_on(cls, NULL);
}

static void host_trace(struct vimap_plugin_ctx *ctx, unsigned cls,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void host_trace(struct vimap_plugin_ctx *ctx, unsigned cls,
		       const char *fmt, ...)
{
	va_list ap;

	if (!trace_on(cls, NULL))
		return;
	va_start(ap, fmt);
	trace_vmsg(ctx->name, fmt, ap);
	va_end(ap);
}

static int host_config_string(struct vimap_plugin_ctx *ctx, const char *key,
			      const char *def, const char **value_r,
			      const char **error_r)
{
	return config_section_string(ctx->section, key, def, value_r, error_r);
}

static int host_config_int(struct vimap_plugin_ctx *ctx, const char *key,
			   long long def, long long min, long long max,
			   long long *value_r, const char **error_r)
{
	return config_section_int(ctx->section, key, def, min, max, value_r, error_r);
}

static int host_config_bool(struct vimap_plugin_ctx *ctx, const char *key,
			    int def, int *value_r, const char **error_r)
{
	return config_section_bool(ctx->section, key, def, value_r, error_r);
}

static int host_config_check_keys(struct vimap_plugin_ctx *ctx,
				  const char *const *known, const char **error_r)
{
	return config_section_check_keys(ctx->section, known, error_r);
}

static int host_counter_register(struct vimap_plugin_ctx *ctx, const char *name,
				 unsigned *id_r, const char **error_r)
{
	char full[128];

	snprintf(full, sizeof(full), "%s.%s", ctx->name, name);
	return stats_register(full, 0, id_r, error_r);
}

static void host_counter_add(struct vimap_plugin_ctx *ctx, unsigned id,
			     int64_t delta)
{
	stats_add(id, delta);
}

static int host_submit(struct vimap_plugin_ctx *ctx, vimap_work_cb *work_cb,
		       void *arg, const char **error_r)
{
	struct workers *pool = atomic_load(&host_workers);

	if (pool == NULL || workers_submit(pool, work_cb, arg) < 0)
		return error_set(error_r, "submit() failed: worker pool is not running");
	return 0;
}

static const struct vimap_config *_Atomic host_config;
static const char *_Atomic host_server_name;

/* Settings that are lists or numbers in the configuration, as strings. */
static char host_origins[CONFIG_MAX_ORIGINS * 66];
static char host_readerthreads[16];

void host_set_config(const struct vimap_config *config, const char *server_name)
{
	unsigned i;
	size_t len = 0;

	host_origins[0] = '\0';
	for (i = 0; config != NULL && i < config->mailoriginid_count; i++)
		len += (size_t)snprintf(host_origins + len, sizeof(host_origins) - len,
					"%s%s", i > 0 ? " " : "", config->mailoriginid[i]);
	snprintf(host_readerthreads, sizeof(host_readerthreads), "%u",
		 config != NULL ? config->readerthreads : 1);
	atomic_store(&host_config, config);
	atomic_store(&host_server_name, server_name);
}

static const char *host_setting(struct vimap_plugin_ctx *ctx, const char *key)
{
	const struct vimap_config *cfg = atomic_load(&host_config);

	if (cfg == NULL)
		return NULL;
	if (strcmp(key, "filepoolid") == 0)
		return cfg->filepoolid;
	if (strcmp(key, "badfileid") == 0)
		return cfg->badfileid;
	if (strcmp(key, "servername") == 0)
		return atomic_load(&host_server_name);
	if (strcmp(key, "mailoriginid") == 0)
		return host_origins;
	if (strcmp(key, "readerthreads") == 0)
		return host_readerthreads;
	return NULL;
}

static int host_user_enrolled(struct vimap_plugin_ctx *ctx, const char *user,
			      const char **error_r)
{
	return deliver_user_enrolled(user, error_r);
}

static enum vimap_deliver_result host_deliver(struct vimap_plugin_ctx *ctx,
					      const struct vimap_delivery *msg,
					      const char **error_r)
{
	return deliver_message(msg, error_r);
}

static int host_xlate_table(struct vimap_plugin_ctx *ctx, unsigned char to_ascii[256],
			    unsigned char to_ebcdic[256], const char **name_r,
			    const char **error_r)
{
	const struct xlate_table *t = sources_xlate_table();

	if (t == NULL)
		return error_set(error_r, "xlate_table() failed: no translate table is loaded");
	memcpy(to_ascii, t->to_ascii, 256);
	memcpy(to_ebcdic, t->to_ebcdic, 256);
	*name_r = t->name;
	return 0;
}

static void host_mailbox_changed(struct vimap_plugin_ctx *ctx, const char *user,
				 const char *mailbox)
{
	if (user == NULL)
		notify_changed_all();
	else
		notify_changed(user, mailbox, NULL);
}

static const struct vimap_host host = {
	.version = VIMAP_HOST_VERSION,
	.size = sizeof(struct vimap_host),
	.log = host_log,
	.trace_enabled = host_trace_enabled,
	.trace = host_trace,
	.config_string = host_config_string,
	.config_int = host_config_int,
	.config_bool = host_config_bool,
	.config_check_keys = host_config_check_keys,
	.counter_register = host_counter_register,
	.counter_add = host_counter_add,
	.submit = host_submit,
	.setting = host_setting,
	.user_enrolled = host_user_enrolled,
	.deliver = host_deliver,
	.xlate_table = host_xlate_table,
	.mailbox_changed = host_mailbox_changed,
};

const struct vimap_host *host_table(void)
{
	return &host;
}
