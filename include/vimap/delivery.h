/* vimap plugin ABI: delivery sources (kind VIMAP_PLUGIN_DELIVERY).
 *
 * A delivery source (the reader spool, LMTP) runs its own threads between
 * start and stop; the kernel's START command asks it for one more reader. */
#ifndef VIMAP_DELIVERY_H
#define VIMAP_DELIVERY_H

#include <vimap/host.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vimap_delivery_ops {
	VIMAP_OPS_COMMON;
	/* Starts `threads` readers.  0, or -1 with an error. */
	int (*start)(void *state, unsigned threads, const char **error_r);
	/* Adds one reader (admin START).  0, or -1 with an error. */
	int (*add_reader)(void *state, const char **error_r);
	/* Stops accepting new work, finishes what is in flight, returns. */
	void (*stop)(void *state);
};

#ifdef __cplusplus
}
#endif
#endif
