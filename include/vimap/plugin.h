/* vimap plugin ABI: the descriptor every plugin exports.
 *
 * A plugin is a shared object that exports exactly one data symbol,
 * `vimap_plugin`, a const struct vimap_plugin filled with VIMAP_PLUGIN_DEFINE.
 * The kernel checks its header (ABI major and minor, struct size, build
 * signature) before it calls any plugin code, then hands the kind's ops
 * table a host table (host.h) in its init call.
 *
 * ABI rule: members are only ever appended at the end of a struct (minor
 * bump); anything else is a major bump.  The size fields tell the kernel
 * which members a plugin built against an older minor has. */
#ifndef VIMAP_PLUGIN_H
#define VIMAP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <vimap/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vimap_plugin_kind {
	VIMAP_PLUGIN_AUTH = 1,     /* password checks and SASL mechanisms (auth.h) */
	VIMAP_PLUGIN_STORAGE = 2,  /* the mailstore (storage.h) */
	VIMAP_PLUGIN_DELIVERY = 3, /* sources of incoming mail (delivery.h) */
	VIMAP_PLUGIN_XLATE = 4     /* EBCDIC translate tables (xlate.h) */
};

/* Filled only by VIMAP_PLUGIN_HEADER, never by hand. */
struct vimap_plugin_header {
	uint32_t abi_major;
	uint32_t abi_minor;
	uint32_t struct_size;      /* sizeof(struct vimap_plugin) as built */
	const char *signature;     /* VIMAP_BUILD_SIGNATURE as built */
};

struct vimap_plugin {
	struct vimap_plugin_header header;
	uint32_t kind;             /* enum vimap_plugin_kind */
	const char *name;          /* short name, as configuration names it */
	const char *version;       /* the plugin's own version, free form */
	const void *ops;           /* the kind's ops table, e.g. vimap_auth_ops */
};

#define VIMAP_PLUGIN_HEADER \
	{ VIMAP_ABI_MAJOR, VIMAP_ABI_MINOR, (uint32_t)sizeof(struct vimap_plugin), \
	  VIMAP_BUILD_SIGNATURE }

#if defined(__GNUC__)
#define VIMAP_EXPORT __attribute__((visibility("default")))
#else
#define VIMAP_EXPORT
#endif

/* The name of the one exported symbol. */
#define VIMAP_PLUGIN_SYMBOL "vimap_plugin"

/* Defines the plugin's descriptor.  Use once per plugin, at file scope:
 *   VIMAP_PLUGIN_DEFINE(VIMAP_PLUGIN_AUTH, "cp", "1.0", &cp_ops);  */
#define VIMAP_PLUGIN_DEFINE(kind_, name_, version_, ops_) \
	VIMAP_EXPORT extern const struct vimap_plugin vimap_plugin; \
	VIMAP_EXPORT const struct vimap_plugin vimap_plugin = { \
		VIMAP_PLUGIN_HEADER, (kind_), (name_), (version_), (ops_) }

#ifdef __cplusplus
}
#endif
#endif
