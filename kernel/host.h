/* The host table the kernel hands to every plugin (<vimap/host.h>). */
#ifndef VIMAP_KERNEL_HOST_H
#define VIMAP_KERNEL_HOST_H

#include <vimap/host.h>

struct workers;

/* The one host table; valid for the life of the process. */
const struct vimap_host *host_table(void);

struct vimap_config;

/* The configuration behind host->setting, and the server name; both must
   outlive every plugin. */
void host_set_config(const struct vimap_config *config, const char *server_name);

/* The pool behind host->submit; NULL until set (submit then fails). */
void host_set_workers(struct workers *pool);

#endif
