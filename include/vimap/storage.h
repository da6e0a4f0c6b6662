/* vimap plugin ABI: storage plugins (kind VIMAP_PLUGIN_STORAGE).
 *
 * The configuration's `storage` names one storage plugin; its `filepoolid`
 * says where the store is (a directory for localfs, a PostgreSQL connection
 * string for sfs).  Calls come from worker threads only and may block; the
 * plugin must be thread-safe. */
#ifndef VIMAP_STORAGE_H
#define VIMAP_STORAGE_H

#include <vimap/host.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vimap_storage_ops {
	VIMAP_OPS_COMMON;
	/* 1 when `user` is enrolled in the store, 0 when not, -1 on failure. */
	int (*is_enrolled)(void *state, const char *user, const char **error_r);
};

#ifdef __cplusplus
}
#endif
#endif
