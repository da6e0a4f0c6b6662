#include "autoconfig.h"
#include <ltdl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <vimap/auth.h>
#include <vimap/delivery.h>
#include <vimap/storage.h>
#include <vimap/xlate.h>
#include "error.h"
#include "host.h"
#include "loader.h"
#include "xalloc.h"

/* The smallest descriptor an ABI 1.0 plugin can have. */
#define LOADER_MIN_DESC_SIZE (offsetof(struct vimap_plugin, ops) + sizeof(void *))

/* The smallest ops table of each kind at ABI 1.0: the members the kernel
   calls without checking the table's size first. */
static size_t loader_min_ops_size(unsigned kind)
{
	switch (kind) {
	case VIMAP_PLUGIN_AUTH:
		return offsetof(struct vimap_auth_ops, verify) + sizeof(void *);
	case VIMAP_PLUGIN_STORAGE:
		return offsetof(struct vimap_storage_ops, is_enrolled) + sizeof(void *);
	case VIMAP_PLUGIN_DELIVERY:
		return offsetof(struct vimap_delivery_ops, stop) + sizeof(void *);
	case VIMAP_PLUGIN_XLATE:
		return offsetof(struct vimap_xlate_ops, load) + sizeof(void *);
	default:
		return 0;
	}
}

const char *loader_kind_name(unsigned kind)
{
	switch (kind) {
	case VIMAP_PLUGIN_AUTH: return "auth";
	case VIMAP_PLUGIN_STORAGE: return "storage";
	case VIMAP_PLUGIN_DELIVERY: return "delivery";
	case VIMAP_PLUGIN_XLATE: return "xlate";
	default: return "unknown";
	}
}

int loader_global_init(const char **error_r)
{
	if (lt_dlinit() != 0)
		return error_set(error_r, "lt_dlinit() failed: %s", lt_dlerror());
	return 0;
}

void loader_global_deinit(void)
{
	(void)lt_dlexit();
}

/* A plugin name becomes part of a path: only plain names are allowed. */
static int loader_name_ok(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* The common ops header every kind's table starts with. */
struct loader_ops_common {
	VIMAP_OPS_COMMON;
};

static int loader_check_header(const char *path, const struct vimap_plugin *d,
			       const char **error_r)
{
	const struct vimap_plugin_header *h = &d->header;

	if (h->abi_major != VIMAP_ABI_MAJOR || h->abi_minor > VIMAP_ABI_MINOR)
		return error_set(error_r, "%s: plugin ABI %u.%u, kernel ABI %d.%d: "
				 "rebuild the plugin against this vimap",
				 path, h->abi_major, h->abi_minor,
				 VIMAP_ABI_MAJOR, VIMAP_ABI_MINOR);
	if (h->struct_size < LOADER_MIN_DESC_SIZE)
		return error_set(error_r, "%s: plugin descriptor of %u bytes, kernel "
				 "ABI %d.%d needs at least %zu", path, h->struct_size,
				 VIMAP_ABI_MAJOR, VIMAP_ABI_MINOR, LOADER_MIN_DESC_SIZE);
	if (h->signature == NULL || strcmp(h->signature, VIMAP_BUILD_SIGNATURE) != 0)
		return error_set(error_r, "%s: plugin build signature '%s', kernel "
				 "build signature '%s' (ABI %u.%u, kernel %d.%d): "
				 "rebuild the plugin with this vimap's headers", path,
				 h->signature != NULL ? h->signature : "(none)",
				 VIMAP_BUILD_SIGNATURE, h->abi_major, h->abi_minor,
				 VIMAP_ABI_MAJOR, VIMAP_ABI_MINOR);
	return 0;
}

static int loader_check_body(const char *path, const struct vimap_plugin *d,
			     const char *name, unsigned kind, const char **error_r)
{
	const struct loader_ops_common *ops = d->ops;

	if (d->kind != kind)
		return error_set(error_r, "%s: is a %s plugin, configured as %s",
				 path, loader_kind_name(d->kind), loader_kind_name(kind));
	if (d->name == NULL || strcmp(d->name, name) != 0)
		return error_set(error_r, "%s: plugin calls itself '%s', configured as '%s'",
				 path, d->name != NULL ? d->name : "(none)", name);
	if (ops == NULL || ops->size < loader_min_ops_size(kind) || ops->init == NULL)
		return error_set(error_r, "%s: %s ops table missing or smaller than ABI %d.%d "
				 "requires", path, loader_kind_name(kind),
				 VIMAP_ABI_MAJOR, VIMAP_ABI_MINOR);
	return 0;
}

int loader_open(const char *dir, const char *name, enum vimap_plugin_kind kind,
		struct vimap_plugin_ctx **plugin_r, const char **error_r)
{
	struct vimap_plugin_ctx *p;
	const struct vimap_plugin *d;
	lt_dlhandle handle;
	char *path;

	if (!loader_name_ok(name))
		return error_set(error_r, "plugin name '%s' is not a plain name "
				 "([A-Za-z0-9_-], 1 to 64 characters)", name);
	path = xasprintf("%s/%s", dir, name);
	handle = lt_dlopenext(path);
	if (handle == NULL) {
		error_set(error_r, "%s.so: cannot load %s plugin '%s': %s", path,
			  loader_kind_name(kind), name, lt_dlerror());
		free(path);
		return -1;
	}
	free(path);
	path = xstrdup(lt_dlgetinfo(handle) != NULL && lt_dlgetinfo(handle)->filename != NULL ?
		       lt_dlgetinfo(handle)->filename : name);
	d = lt_dlsym(handle, VIMAP_PLUGIN_SYMBOL);
	if (d == NULL) {
		error_set(error_r, "%s: no '%s' descriptor: not a vimap plugin "
			  "(kernel ABI %d.%d)", path, VIMAP_PLUGIN_SYMBOL,
			  VIMAP_ABI_MAJOR, VIMAP_ABI_MINOR);
	} else if (loader_check_header(path, d, error_r) == 0 &&
		   loader_check_body(path, d, name, kind, error_r) == 0) {
		p = xcalloc(1, sizeof(*p));
		p->name = xstrdup(name);
		p->path = path;
		p->handle = handle;
		p->desc = d;
		*plugin_r = p;
		return 0;
	}
	free(path);
	lt_dlclose(handle);
	return -1;
}

int loader_init(struct vimap_plugin_ctx *p, const struct config_section *section,
		const char **error_r)
{
	const struct loader_ops_common *ops = p->desc->ops;
	const char *error = "unknown error";

	p->section = section;
	if (ops->init(p, host_table(), &p->state, &error) < 0)
		return error_set(error_r, "%s: init failed: %s", p->name, error);
	p->initialized = 1;
	return 0;
}

void loader_close(struct vimap_plugin_ctx **pp)
{
	struct vimap_plugin_ctx *p = *pp;
	const struct loader_ops_common *ops;

	if (p == NULL)
		return;
	*pp = NULL;
	ops = p->desc->ops;
	if (p->initialized && ops->deinit != NULL)
		ops->deinit(p->state);
	lt_dlclose(p->handle);
	free(p->name);
	free(p->path);
	free(p);
}
