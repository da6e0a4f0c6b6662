/* vimap plugin ABI: translate tables (kind VIMAP_PLUGIN_XLATE).
 *
 * A translate table maps EBCDIC bytes to ASCII/ISO 8859-1 bytes and back,
 * 256 entries each way, as a TCPXLBIN file does. */
#ifndef VIMAP_XLATE_H
#define VIMAP_XLATE_H

#include <vimap/host.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vimap_xlate_ops {
	VIMAP_OPS_COMMON;
	/* Fills the two tables for the table called `name`.  Returns 1 when
	   loaded, 0 when this plugin has no table of that name, -1 when the
	   table exists but is broken (error_r names what is wrong). */
	int (*load)(void *state, const char *name, unsigned char to_ascii[256],
		    unsigned char to_ebcdic[256], const char **error_r);
};

#ifdef __cplusplus
}
#endif
#endif
