/* The plugin loader (libltdl).  A plugin named NAME is the file NAME.so (or
 * NAME.la) in the plugin directory.  Before any plugin function is called
 * the loader checks the descriptor: present, ABI major equal, minor not
 * newer, struct size, build signature, kind, name and ops table.  The one
 * line it gives on refusal names the file and both versions.
 *
 * Plugins must not carry ELF constructors: dlopen runs those before any
 * check is possible, so vimap plugins do all their set-up in init(). */
#ifndef VIMAP_LOADER_H
#define VIMAP_LOADER_H

#include <vimap/plugin.h>
#include <vimap/host.h>

struct config_section;

/* The kernel's record of a loaded plugin; plugins see it only as an opaque
   `struct vimap_plugin_ctx *`. */
struct vimap_plugin_ctx {
	char *name;                          /* as configured */
	char *path;                          /* the file opened */
	void *handle;                        /* lt_dlhandle */
	const struct vimap_plugin *desc;     /* in the plugin's memory */
	const struct config_section *section;/* its `plugins: NAME:`, may be NULL */
	void *state;                         /* from its init() */
	int initialized;
};

/* Prepares libltdl; once per process.  0 or -1. */
int loader_global_init(const char **error_r);
void loader_global_deinit(void);

/* Opens plugin `name` of kind `kind` from `dir` and checks its descriptor
   without calling any of its functions.  Returns 0 and a record the caller
   closes with loader_close(), or -1 with a one-line reason. */
int loader_open(const char *dir, const char *name, enum vimap_plugin_kind kind,
		struct vimap_plugin_ctx **plugin_r, const char **error_r);

/* Calls the plugin's init() with the host table and its config section
   (may be NULL).  0, or -1 with the plugin's error prefixed by its name. */
int loader_init(struct vimap_plugin_ctx *plugin,
		const struct config_section *section, const char **error_r);

/* Calls deinit() when init succeeded, unloads, frees; leaves NULL. */
void loader_close(struct vimap_plugin_ctx **plugin);

/* The kind's name ("auth", "storage", ...) for messages. */
const char *loader_kind_name(unsigned kind);

#endif
