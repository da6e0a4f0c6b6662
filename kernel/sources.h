/* The delivery sources (`delivery` in the configuration: spool, lmtp) and
 * the translate table they use.  Started after the store is open, stopped
 * before it closes, so a delivery in flight always finishes. */
#ifndef VIMAP_SOURCES_H
#define VIMAP_SOURCES_H

struct vimap_config;
struct xlate_table;

/* Resolves the translate table (when any source is configured), loads every
   configured delivery plugin and starts it with `readerthreads` readers.
   0, or -1 with a one-line reason (start-up then stops). */
int sources_start(const struct vimap_config *cfg, const char **error_r);

/* The admin START: one more reader for every source that takes one.
   Returns how many sources added a reader (>= 1), or -1 with a reason. */
int sources_add_reader(const char **error_r);

/* Stops every source (each finishes what it has in flight) and unloads
   them and the xlate plugins.  Safe after a partial start. */
void sources_stop(void);

/* The table chosen at start-up, or NULL when no source is configured. */
const struct xlate_table *sources_xlate_table(void);

#endif
